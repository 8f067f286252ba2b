import { InvalidInputError, NotFoundError } from '../platform/errors';
import type { InstanceView, Orchestrations } from '../platform/durable';
import { BATCH_ID_RULE, isBatchId } from './batchStart';
import type { BatchWorkStore } from './batchStore';
import {
  batchStatusSchema,
  batchSummarySchema,
  laneInstanceId,
  statusCountsSchema,
  type BatchStatus,
  type StatusCounts,
} from './contracts';

/** What `GET /api/dossiers/batches/{batchId}` answers. */
export interface BatchProgressView {
  batchId: string;
  instanceId: string;
  runtimeStatus: string;
  stage: BatchStatus['stage'] | undefined;
  progress: { total: number; done: number; generated: number; skipped: number; failed: number };
  etaSeconds: number | null;
  report: string[] | null;
  error: string | null;
}

/**
 * Progress of a run: the batch's custom status for the stage, and the lanes' custom statuses for the
 * counts while pairs are being generated. The ETA extrapolates the pace so far.
 */
export function batchProgress(
  batchId: string,
  instanceId: string,
  batch: InstanceView,
  lanes: readonly (InstanceView | undefined)[],
  now: Date,
): BatchProgressView {
  // Custom statuses and outputs were written by the orchestrators; anything else reads as unknown.
  const status = batchStatusSchema.safeParse(batch.customStatus).data;
  const summary =
    batch.runtimeStatus === 'Completed' ? batchSummarySchema.safeParse(batch.output).data : undefined;
  const laneCounts = lanes.map((lane) => statusCountsSchema.safeParse(lane?.customStatus).data ?? null);
  const counts =
    summary ??
    status?.counts ??
    laneCounts.reduce<StatusCounts>(
      (sum, c) => ({
        done: sum.done + (c?.done ?? 0),
        generated: sum.generated + (c?.generated ?? 0),
        skipped: sum.skipped + (c?.skipped ?? 0),
        failed: sum.failed + (c?.failed ?? 0),
      }),
      { done: 0, generated: 0, skipped: 0, failed: 0 },
    );
  const total = status?.total ?? 0;
  let etaSeconds: number | null = null;
  if (status?.stage === 'generating' && counts.done > 0 && total > counts.done) {
    const elapsed = (now.getTime() - Date.parse(status.startedAt)) / 1000;
    etaSeconds = Math.round((elapsed / counts.done) * (total - counts.done));
  }
  return {
    batchId,
    instanceId,
    runtimeStatus: batch.runtimeStatus,
    stage: status?.stage,
    progress: {
      total,
      done: counts.done,
      generated: counts.generated,
      skipped: counts.skipped,
      failed: counts.failed,
    },
    etaSeconds,
    report: summary?.report ?? null,
    // The first line says what went wrong; the rest is a stack trace.
    error: batch.runtimeStatus === 'Failed' ? (String(batch.output).split('\n')[0] ?? '').trim() : null,
  };
}

/**
 * `GET /api/dossiers/batches/{batchId}`: the latest run of the batch, with the lanes' counts while it
 * generates (each lane is its own instance, named by `laneInstanceId`).
 */
export async function getBatchProgress(
  batchId: string,
  deps: { work: BatchWorkStore; orchestrations: Orchestrations; clock: () => Date },
): Promise<BatchProgressView> {
  if (!isBatchId(batchId)) throw new InvalidInputError('batchId', BATCH_ID_RULE);
  const run = await deps.work.latestRun(batchId);
  if (!run) throw new NotFoundError(`No batch ${batchId}.`);
  const batch = await deps.orchestrations.status(run.instanceId);
  if (!batch) throw new NotFoundError(`Batch ${batchId} has no run yet.`);
  const lanes = batchStatusSchema.safeParse(batch.customStatus).data?.lanes ?? 0;
  const laneViews =
    batch.runtimeStatus === 'Running'
      ? await Promise.all(
          Array.from({ length: lanes }, (_, lane) =>
            deps.orchestrations.status(laneInstanceId(run.instanceId, lane)),
          ),
        )
      : [];
  return batchProgress(batchId, run.instanceId, batch, laneViews, deps.clock());
}
