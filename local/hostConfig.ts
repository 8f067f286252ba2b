import { z } from 'zod';

/** A .NET TimeSpan as host.json writes it: `[d.]hh:mm:ss[.fraction]`; returns milliseconds. */
function parseTimeSpan(text: string): number | undefined {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/.exec(text.trim());
  if (!match) return undefined;
  const [, days = '0', hours = '0', minutes = '0', seconds = '0', fraction = '0'] = match;
  return (
    ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 +
    Number(seconds) * 1000 +
    Math.round(Number(`0.${fraction}`) * 1000)
  );
}

const timeSpan = z.union([
  // Functions v1 wrote some intervals as milliseconds.
  z.number().nonnegative(),
  z.string().transform((text, ctx) => {
    const ms = parseTimeSpan(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a TimeSpan (hh:mm:ss)` });
      return z.NEVER;
    }
    return ms;
  }),
]);

const queuesSchema = z.object({
  maxPollingInterval: timeSpan.optional(),
  visibilityTimeout: timeSpan.optional(),
  batchSize: z.number().int().min(1).max(32).optional(),
  newBatchThreshold: z.number().int().min(0).optional(),
  maxDequeueCount: z.number().int().min(1).optional(),
  messageEncoding: z.enum(['base64', 'none']).optional(),
});

/** The parts of host.json the local host reads; anything else in the file is left alone. */
export const hostJsonSchema = z.object({
  extensions: z
    .object({
      durableTask: z
        .object({
          hubName: z.string().optional(),
          maxConcurrentActivityFunctions: z.number().int().positive().optional(),
          maxConcurrentOrchestratorFunctions: z.number().int().positive().optional(),
        })
        .optional(),
      http: z.object({ routePrefix: z.string().optional() }).optional(),
      queues: queuesSchema.optional(),
    })
    .optional(),
});

export type HostJson = z.input<typeof hostJsonSchema>;

export interface QueuesOptions {
  batchSize: number;
  newBatchThreshold: number;
  maxDequeueCount: number;
  /** How long a failed message stays invisible before its next attempt. */
  visibilityTimeoutMs: number;
  maxPollingIntervalMs: number;
  messageEncoding: 'base64' | 'none';
}

/** `extensions.queues` with the Functions host's defaults for what it leaves out. */
export function queuesOptions(hostJson: HostJson | undefined): QueuesOptions {
  const queues = hostJsonSchema.parse(hostJson ?? {}).extensions?.queues ?? {};
  const batchSize = queues.batchSize ?? 16;
  return {
    batchSize,
    newBatchThreshold: queues.newBatchThreshold ?? Math.floor(batchSize / 2),
    maxDequeueCount: queues.maxDequeueCount ?? 5,
    visibilityTimeoutMs: queues.visibilityTimeout ?? 0,
    maxPollingIntervalMs: Math.max(queues.maxPollingInterval ?? 60_000, MIN_POLLING_INTERVAL_MS),
    messageEncoding: queues.messageEncoding ?? 'base64',
  };
}

/** The host never polls an empty queue more often than this. */
export const MIN_POLLING_INTERVAL_MS = 100;
