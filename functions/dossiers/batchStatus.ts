import type { BatchStatus, BatchSummary, StatusCounts } from './batchRun';

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

export interface InstanceView {
  runtimeStatus: string;
  customStatus?: unknown;
  output?: unknown;
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
  const status = (batch.customStatus ?? undefined) as BatchStatus | undefined;
  const summary = batch.runtimeStatus === 'Completed' ? (batch.output as BatchSummary) : undefined;
  const laneCounts = lanes.map((lane) => (lane?.customStatus ?? null) as StatusCounts | null);
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
