import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { renderDossierDocx, type DossierDocxInput } from './dossierDocx';

export type DocxRenderer = (input: DossierDocxInput) => Promise<Buffer>;

interface Pending {
  resolve: (docx: Buffer) => void;
  reject: (error: Error) => void;
}

/**
 * Renders dossiers to DOCX on worker threads, one per spare core (at most 4): building a DOCX costs a few
 * milliseconds of CPU that would otherwise hold up the event loop serving every other activity. On one
 * core, or when running from TypeScript sources (tests), it renders in-process.
 */
export function createDocxRenderer(workers = Math.min(4, availableParallelism() - 1)): DocxRenderer {
  const script = path.join(__dirname, 'docxWorker.js');
  if (workers < 1 || !existsSync(script)) return renderDossierDocx;
  const pending = new Map<number, Pending>();
  let pool: Worker[] | undefined;
  let nextId = 0;
  // Idle workers must not keep the process alive, busy ones must: ref while anything is pending.
  const settle = () => {
    if (pending.size === 0) for (const worker of pool ?? []) worker.unref();
  };
  const startPool = (): Worker[] =>
    Array.from({ length: workers }, () => {
      const worker = new Worker(script);
      // A worker that dies takes its requests with it: fail them rather than leave them waiting.
      worker.on('error', (error) => {
        for (const waiting of pending.values()) waiting.reject(error);
        pending.clear();
        settle();
      });
      worker.on('message', (message: { id: number; bytes?: Uint8Array; error?: string }) => {
        const waiting = pending.get(message.id);
        pending.delete(message.id);
        settle();
        if (message.bytes) {
          waiting?.resolve(
            Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength),
          );
        } else waiting?.reject(new Error(message.error ?? 'DOCX rendering failed'));
      });
      return worker;
    });
  return (input) =>
    new Promise((resolve, reject) => {
      // Started on first use: an instance that never renders a dossier never pays for the threads.
      pool ??= startPool();
      const id = nextId++;
      if (pending.size === 0) for (const worker of pool) worker.ref();
      pending.set(id, { resolve, reject });
      pool[id % pool.length]?.postMessage({ id, input });
    });
}
