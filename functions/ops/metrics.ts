import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { usageBetween } from '../ai/usage';
import { InvalidInputError } from '../platform/errors';
import { parseInput } from '../platform/input';
import type { DurableHttp } from './durableHttp';
import type { HealthHistory } from './healthHistory';
import type { Runs, RunSummary } from './runs';

/** The capabilities' own figures over the range. */
export interface Headlines {
  dossiersGenerated: number;
  mailsAnswered: number;
  postsPublished: number;
  callsHandled: number;
}

const DAY_MS = 86_400_000;
/** Longest range one request reads: a quarter. */
const MAX_RANGE_DAYS = 92;
/** Most runs one request reads. */
const MAX_RUNS = 50_000;

const dateParam = z
  .string()
  .refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO 8601 date or date-time')
  .transform((v) => new Date(v));

const querySchema = z.strictObject({ from: dateParam.optional(), to: dateParam.optional() });

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
}

/** The kind of an error: its name or leading phrase, so similar failures group together. */
export function errorType(message: string): string {
  const head = message.split('\n')[0] ?? message;
  const named = /^([A-Z][A-Za-z]*(Error|Exception))\b/.exec(head);
  if (named?.[1]) return named[1];
  return (
    head
      .replace(/["'].*?["']/g, '…')
      .replace(/\d+/g, 'N')
      .slice(0, 60)
      .trim() || 'unknown'
  );
}

function perWorkflow(runs: readonly RunSummary[]) {
  const groups = new Map<string, RunSummary[]>();
  for (const run of runs) groups.set(run.workflow, [...(groups.get(run.workflow) ?? []), run]);
  return Object.fromEntries(
    [...groups].map(([workflow, list]) => {
      const count = (status: string) => list.filter((r) => r.status === status).length;
      const completed = count('Completed');
      const failed = count('Failed');
      const finished = completed + failed + count('Terminated');
      const durations = list
        .filter((r) => ['Completed', 'Failed', 'Terminated'].includes(r.status))
        .map((r) => r.durationSeconds)
        .sort((a, b) => a - b);
      const errors: Record<string, number> = {};
      for (const run of list)
        if (run.failure) errors[errorType(run.failure)] = (errors[errorType(run.failure)] ?? 0) + 1;
      return [
        workflow,
        {
          runs: list.length,
          completed,
          failed,
          successRate: finished ? Math.round((completed / finished) * 1000) / 1000 : null,
          durationP50Seconds: percentile(durations, 50),
          durationP95Seconds: percentile(durations, 95),
          errors,
        },
      ];
    }),
  );
}

/** Per workflow runs, AI usage, the capabilities' headline figures and the health history over a range. */
export async function opsMetrics(
  deps: {
    runs: Runs;
    history: HealthHistory;
    aiCalls: TableClient;
    headlines: (range: { from: Date; to: Date; runs: readonly RunSummary[] }) => Promise<Headlines>;
    clock: () => Date;
  },
  durable: DurableHttp,
  rawQuery: Record<string, string>,
) {
  const query = parseInput(querySchema, rawQuery, 'query');
  const to = query.to ?? deps.clock();
  const from = query.from ?? new Date(to.getTime() - 7 * DAY_MS);
  if (from > to) throw new InvalidInputError('query.from', 'must be before query.to');
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) {
    throw new InvalidInputError('query.from', `the range may span at most ${MAX_RANGE_DAYS} days`);
  }
  const runs = await deps.runs.all(durable, { from, to }, MAX_RUNS);
  const [ai, headlines, health] = await Promise.all([
    usageBetween(deps.aiCalls, from, to),
    deps.headlines({ from, to, runs }),
    deps.history.between(from, to),
  ]);
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    workflows: perWorkflow(runs),
    ai,
    headlines,
    health: health.map((r) => ({ at: r.checkedAt, score: r.score, status: r.status })),
  };
}
