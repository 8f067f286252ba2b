import { RestError } from '@azure/core-rest-pipeline';
import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { ensureContainer, readBlob } from '../platform/blobs';

export const logEntrySchema = z.object({
  at: z.string(),
  level: z.enum(['info', 'warn', 'error']),
  step: z.string(),
  message: z.string(),
  data: z.unknown().optional(),
});
export type LogEntry = z.infer<typeof logEntrySchema>;

/** Most entries the log route returns: a run's own steps, not a firehose. */
const MAX_ENTRIES = 5000;

/**
 * Each ops run's step log, `{runId}/log.jsonl` in an append blob: activities append their steps as
 * they go (an activity run twice logs twice: it is a log, not a ledger).
 */
export function runLog(container: ContainerClient, now: () => Date, redact: (text: string) => string) {
  const blobOf = (runId: string) => container.getAppendBlobClient(`${runId}/log.jsonl`);

  return {
    async append(runId: string, entry: Omit<LogEntry, 'at'>): Promise<void> {
      await ensureContainer(container);
      const blob = blobOf(runId);
      const line = `${redact(JSON.stringify({ at: now().toISOString(), ...entry }))}\n`;
      try {
        await blob.appendBlock(line, Buffer.byteLength(line));
      } catch (error) {
        if (!(error instanceof RestError && error.statusCode === 404)) throw error;
        await blob.createIfNotExists({ blobHTTPHeaders: { blobContentType: 'application/x-ndjson' } });
        await blob.appendBlock(line, Buffer.byteLength(line));
      }
    },

    /** The entries in order; a line that is not an entry is shown as such rather than dropped. */
    async read(runId: string): Promise<LogEntry[]> {
      const body = await readBlob(container, `${runId}/log.jsonl`);
      if (!body) return [];
      return body
        .toString('utf8')
        .split('\n')
        .filter((line) => line.trim())
        .slice(-MAX_ENTRIES)
        .map((line, index) => {
          try {
            const parsed = logEntrySchema.safeParse(JSON.parse(line));
            if (parsed.success) return parsed.data;
          } catch {
            // Falls through to the raw line.
          }
          return {
            at: '',
            level: 'warn' as const,
            step: 'log',
            message: `Line ${index + 1}: ${line.slice(0, 500)}`,
          };
        });
    },
  };
}

export type RunLog = ReturnType<typeof runLog>;
