import type { CallRecord, TurnMetrics } from './records';

export interface Percentiles {
  p50: number | null;
  p95: number | null;
}

export interface CallMetrics {
  calls: number;
  /** Over calls that ended: their mean duration. */
  averageHandlingSeconds: number | null;
  /** Ended calls the agent handled alone: neither transferred nor abandoned. */
  containmentRate: number | null;
  transferRate: number | null;
  abandonmentRate: number | null;
  latencyMs: {
    endOfUtterance: Percentiles;
    llmTtft: Percentiles;
    ttsTtfb: Percentiles;
    endToEnd: Percentiles;
  };
  /** What the calls cost: the agent's reported usage and each analysis. */
  costUsd: number;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Nearest-rank percentile: a value that was measured, never one between two turns. */
function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: null, p95: null };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
  return { p50: rank(50), p95: rank(95) };
}

function rate(count: number, total: number): number | null {
  return total === 0 ? null : round(count / total, 4);
}

export function callMetrics(records: readonly CallRecord[]): CallMetrics {
  const ended = records.filter((r) => r.status === 'ended');
  const durations = ended.flatMap((r) => (r.durationSeconds === undefined ? [] : [r.durationSeconds]));
  const transferred = ended.filter((r) => r.transferredAt).length;
  const abandoned = ended.filter((r) => r.abandoned).length;
  const contained = ended.filter((r) => !r.transferredAt && !r.abandoned).length;
  const turns = records.flatMap((r) => r.turns);
  const of = (key: keyof TurnMetrics) =>
    percentiles(turns.flatMap((t) => (typeof t[key] === 'number' ? [t[key]] : [])));
  const cost = records.reduce((sum, r) => sum + (r.report?.costUsd ?? 0) + (r.analysis?.costUsd ?? 0), 0);
  return {
    calls: records.length,
    averageHandlingSeconds: durations.length
      ? round(durations.reduce((a, b) => a + b, 0) / durations.length, 1)
      : null,
    containmentRate: rate(contained, ended.length),
    transferRate: rate(transferred, ended.length),
    abandonmentRate: rate(abandoned, ended.length),
    latencyMs: {
      endOfUtterance: of('endOfUtteranceMs'),
      llmTtft: of('llmTtftMs'),
      ttsTtfb: of('ttsTtfbMs'),
      endToEnd: of('endToEndMs'),
    },
    costUsd: round(cost, 6),
  };
}
