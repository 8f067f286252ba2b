import { statfs } from 'node:fs/promises';
import { tmpdir, totalmem } from 'node:os';
import { z } from 'zod';
import { errorSummary } from '../platform/errors';
import type { DurableHttp } from './durableHttp';
import { elapsed, withTimeout, type DependencyProbe } from './health';
import type { RunSummary } from './runs';

export const CHECK_OUTCOMES = ['pass', 'warn', 'fail'] as const;
export type CheckOutcome = (typeof CHECK_OUTCOMES)[number];

export const checkResultSchema = z.object({
  name: z.string(),
  weight: z.number(),
  critical: z.boolean(),
  outcome: z.enum(CHECK_OUTCOMES),
  latencyMs: z.number(),
  detail: z.string(),
  action: z.string().nullable(),
});
export type CheckResult = z.infer<typeof checkResultSchema>;

export const HEALTH_STATUSES = ['healthy', 'degraded', 'unhealthy'] as const;

export const healthReportSchema = z.object({
  id: z.string(),
  checkedAt: z.string(),
  score: z.number().int().min(0).max(100),
  status: z.enum(HEALTH_STATUSES),
  checks: z.array(checkResultSchema),
});
export type HealthScoreReport = z.infer<typeof healthReportSchema>;

interface Verdict {
  outcome: CheckOutcome;
  detail: string;
  action?: string;
}

/** One weighted check; a critical one that fails caps the score at 40. */
export interface HealthCheck {
  name: string;
  weight: number;
  critical: boolean;
  /** What to do when the check throws (it is then `fail` with the error as detail). */
  action: string;
  run(signal: AbortSignal): Promise<Verdict>;
}

/** A reachability probe as a check: passes when it answers. */
export function probeCheck(probe: DependencyProbe, weight: number, action: string): HealthCheck {
  return {
    name: probe.name,
    weight,
    critical: probe.required,
    action,
    run: async (signal) => {
      await probe.check(signal);
      return { outcome: 'pass', detail: 'Answers.' };
    },
  };
}

/** Pending instances that no worker took up within 5 minutes mean the task hub is not being served. */
export function durableBacklogCheck(durable: () => DurableHttp, now: () => Date): HealthCheck {
  return {
    name: 'durable:backlog',
    weight: 10,
    critical: false,
    action: 'Check that the Function App is running and its storage account is reachable.',
    run: async () => {
      const stale = await durable().list({
        runtimeStatus: ['Pending'],
        createdTimeTo: new Date(now().getTime() - 5 * 60_000),
        top: 100,
      });
      const count = stale.instances.length;
      if (count === 0) return { outcome: 'pass', detail: 'No run waits to start.' };
      return {
        outcome: count >= 10 ? 'fail' : 'warn',
        detail: `${count}${stale.continuation ? '+' : ''} run(s) pending for more than 5 minutes.`,
        action:
          'Runs wait for a worker: check the app is running and not out of instances (scale-out limit).',
      };
    },
  };
}

/** Runs of the last day per kind; a kind failing often needs a look even if every service answers. */
export function failureRateCheck(recentRuns: () => Promise<RunSummary[]>): HealthCheck {
  return {
    name: 'runs:failure-rate',
    weight: 10,
    critical: false,
    action: 'Open the failed runs in the console and read their failure details.',
    run: async () => {
      const byKind = new Map<string, { finished: number; failed: number }>();
      for (const run of await recentRuns()) {
        if (!['Completed', 'Failed', 'Terminated'].includes(run.status)) continue;
        const entry = byKind.get(run.workflow) ?? { finished: 0, failed: 0 };
        entry.finished++;
        if (run.status === 'Failed') entry.failed++;
        byKind.set(run.workflow, entry);
      }
      const rates = [...byKind].map(([kind, { finished, failed }]) => ({
        kind,
        failed,
        finished,
        rate: failed / finished,
      }));
      const failing = rates.filter((r) => r.failed > 0).sort((a, b) => b.rate - a.rate);
      if (failing.length === 0) {
        return { outcome: 'pass', detail: `No failed run in the last 24 h (${rates.length} kind(s) ran).` };
      }
      const worst = failing[0]?.rate ?? 0;
      const detail = failing
        .map((r) => `${r.kind} ${r.failed}/${r.finished} failed (${Math.round(r.rate * 100)} %)`)
        .join('; ');
      return {
        outcome: worst > 0.5 ? 'fail' : worst > 0.2 ? 'warn' : 'pass',
        detail: `Last 24 h: ${detail}.`,
        action: 'Open the failed runs in the console and read their failure details.',
      };
    },
  };
}

/** LinkedIn tokens last 60 days; posts stop when one expires, so it is flagged a week ahead. */
export function linkedinAccountsCheck(
  accounts: () => Promise<{ name: string; status: string; expiresAt: string }[]>,
): HealthCheck {
  return {
    name: 'linkedin:accounts',
    weight: 5,
    critical: false,
    action: 'Reconnect the account from GET /api/linkedin/connect.',
    run: async () => {
      const list = await accounts();
      if (list.length === 0) return { outcome: 'pass', detail: 'No account connected.' };
      const expired = list.filter((a) => a.status === 'reconnect-required');
      const expiring = list.filter((a) => a.status === 'expiring');
      if (expired.length) {
        return {
          outcome: 'fail',
          detail: `Reconnect needed: ${expired.map((a) => a.name).join(', ')}; their posts are paused.`,
          action: 'Reconnect the account from GET /api/linkedin/connect; paused posts then resume.',
        };
      }
      if (expiring.length) {
        return {
          outcome: 'warn',
          detail: `Expiring within 7 days: ${expiring.map((a) => `${a.name} (${a.expiresAt.slice(0, 10)})`).join(', ')}.`,
          action: 'Reconnect the account before it expires (GET /api/linkedin/connect).',
        };
      }
      return { outcome: 'pass', detail: `${list.length} account(s) connected.` };
    },
  };
}

/** The instance's memory: a worker near its limit is recycled mid-run. */
export function memoryCheck(): HealthCheck {
  return {
    name: 'instance:memory',
    weight: 5,
    critical: false,
    action: 'Lower the batch sizes or concurrency settings, or choose a larger instance memory size.',
    run: () => {
      // The cgroup limit when there is one (containers, Flex Consumption), else the machine's memory
      // (without a limit, constrainedMemory() answers 0 or a huge number, depending on the platform).
      const limit = Math.min(process.constrainedMemory() || Infinity, totalmem());
      const rss = process.memoryUsage.rss();
      const share = rss / limit;
      const detail = `${Math.round(rss / 1048576)} MB of ${Math.round(limit / 1048576)} MB (${Math.round(share * 100)} %).`;
      const outcome = share >= 0.95 ? 'fail' : share >= 0.8 ? 'warn' : 'pass';
      return Promise.resolve({ outcome, detail });
    },
  };
}

/** Free space of the temporary disk, where the SDKs and the document extraction buffer. */
export function tempDiskCheck(directory = tmpdir()): HealthCheck {
  return {
    name: 'instance:temp-disk',
    weight: 5,
    critical: false,
    action: 'Free the temporary disk (restart the app) or lower the document size limit.',
    run: async () => {
      const stats = await statfs(directory);
      const free = stats.bavail * stats.bsize;
      const share = stats.blocks ? stats.bavail / stats.blocks : 0;
      const detail = `${Math.round(free / 1048576)} MB free (${Math.round(share * 100)} %).`;
      const outcome = share < 0.02 ? 'fail' : share < 0.1 ? 'warn' : 'pass';
      return { outcome, detail };
    },
  };
}

const VALUE: Record<CheckOutcome, number> = { pass: 1, warn: 0.5, fail: 0 };

/** Every check in parallel, each within the time limit; one that throws fails with the reason. */
export async function runChecks(
  checks: readonly HealthCheck[],
  timeoutMs: number,
  redact: (text: string) => string,
): Promise<CheckResult[]> {
  return Promise.all(
    checks.map(async (check) => {
      const started = performance.now();
      const base = { name: check.name, weight: check.weight, critical: check.critical };
      try {
        const verdict = await withTimeout((signal) => check.run(signal), timeoutMs);
        return {
          ...base,
          outcome: verdict.outcome,
          latencyMs: elapsed(started),
          detail: redact(verdict.detail),
          action: verdict.outcome === 'pass' ? null : (verdict.action ?? check.action),
        };
      } catch (error) {
        return {
          ...base,
          outcome: 'fail' as const,
          latencyMs: elapsed(started),
          detail: redact(errorSummary(error)),
          action: check.action,
        };
      }
    }),
  );
}

/** 0–100 by weight (pass 1, warn ½, fail 0); a failed critical check caps it at 40. */
export function scoreOf(checks: readonly CheckResult[]): Pick<HealthScoreReport, 'score' | 'status'> {
  const total = checks.reduce((sum, c) => sum + c.weight, 0);
  const earned = checks.reduce((sum, c) => sum + c.weight * VALUE[c.outcome], 0);
  let score = total ? Math.round((earned / total) * 100) : 100;
  if (checks.some((c) => c.critical && c.outcome === 'fail')) score = Math.min(score, 40);
  // Below 50 is unhealthy, so a failed critical check (capped at 40) always is.
  const status = score >= 75 ? 'healthy' : score >= 50 ? 'degraded' : 'unhealthy';
  return { score, status };
}
