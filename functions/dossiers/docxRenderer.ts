import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { renderDossierDocx, type DossierDocxInput } from './dossierDocx';
import { renderTemplate, templateData } from './docxTemplate';

export interface DossierRenderInput extends DossierDocxInput {
  /** When the dossier was written (ISO 8601): a template may show the date. */
  generatedAt: string;
  /** A firm's checked template (`validateTemplate`); the built-in layout without one. */
  template?: Uint8Array;
}

export type DocxRenderer = (input: DossierRenderInput) => Promise<Buffer>;

/** One dossier's DOCX: the firm's template filled with its data, or the built-in layout. */
export async function renderDossier(input: DossierRenderInput): Promise<Buffer> {
  if (!input.template) return renderDossierDocx(input);
  return renderTemplate(input.template, templateData(input, new Date(input.generatedAt)));
}

export interface DocxRendererOptions {
  /** Worker threads; default one per spare core, at most 4. Below 1, renders run in-process. */
  workers?: number;
  /** The worker script; default the compiled `docxWorker.js` beside this file. */
  script?: string;
}

interface Pending {
  resolve: (docx: Buffer) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  /** Renders sent to this worker and not answered yet: a crash fails these and no others. */
  pending: Map<number, Pending>;
  crash: Error | undefined;
}

/**
 * Renders dossiers to DOCX on worker threads: building or filling a DOCX costs milliseconds of CPU that
 * would otherwise hold up the event loop serving every other activity. On one core, or when running
 * from TypeScript sources (tests), it renders in-process.
 *
 * A worker that crashes (uncaught error, exit) fails the renders it held with an error saying so, and
 * leaves its slot empty; the next render for that slot starts a replacement. Starting it on demand
 * rather than at once means a worker that cannot start fails renders instead of restarting in a loop.
 */
export function createDocxRenderer(options: DocxRendererOptions = {}): DocxRenderer {
  const size = options.workers ?? Math.min(4, availableParallelism() - 1);
  const script = options.script ?? path.join(__dirname, 'docxWorker.js');
  if (size < 1 || !existsSync(script)) return renderDossier;
  // Started on first use, slot by slot: an instance that never renders a dossier never pays for them.
  const slots: (PoolWorker | undefined)[] = Array.from({ length: size }, () => undefined);
  let inFlight = 0;
  let nextId = 0;

  // Idle workers must not keep the process alive, busy ones must: ref while anything is in flight.
  const settle = (answered: number) => {
    inFlight -= answered;
    if (inFlight === 0) for (const slot of slots) slot?.worker.unref();
  };

  const start = (index: number): PoolWorker => {
    const entry: PoolWorker = { worker: new Worker(script), pending: new Map(), crash: undefined };
    entry.worker.on('message', (message: { id: number; bytes?: Uint8Array; error?: string }) => {
      const waiting = entry.pending.get(message.id);
      if (!waiting) return;
      entry.pending.delete(message.id);
      settle(1);
      if (message.bytes) {
        waiting.resolve(
          Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength),
        );
      } else waiting.reject(new Error(message.error ?? 'DOCX rendering failed'));
    });
    // An uncaught error is followed by 'exit': keep it so the failed renders say what happened.
    entry.worker.on('error', (error) => (entry.crash = error));
    entry.worker.on('exit', (code) => {
      if (slots[index] === entry) slots[index] = undefined;
      const reason = new Error(
        entry.crash
          ? `DOCX worker crashed: ${entry.crash.message}`
          : `DOCX worker stopped unexpectedly (exit code ${code})`,
        { cause: entry.crash },
      );
      const failed = [...entry.pending.values()];
      entry.pending.clear();
      settle(failed.length);
      for (const waiting of failed) waiting.reject(reason);
    });
    return entry;
  };

  return (input) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const index = id % size;
      const entry = (slots[index] ??= start(index));
      if (inFlight === 0) for (const slot of slots) slot?.worker.ref();
      inFlight++;
      entry.pending.set(id, { resolve, reject });
      entry.worker.postMessage({ id, input });
    });
}
