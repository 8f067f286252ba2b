import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { jsonTable } from '../platform/jsonTable';
import { healthReportSchema, type HealthScoreReport } from './healthChecks';

export const alertSchema = z.object({
  /** The email's idempotency key: one email per decision, however often the activity runs. */
  key: z.string(),
  kind: z.enum(['degraded', 'recovered']),
  reportId: z.string(),
  score: z.number(),
  status: z.string(),
  decidedAt: z.string(),
});
export type Alert = z.infer<typeof alertSchema>;

const alertStateSchema = z.object({
  alerting: z.boolean(),
  lastAlertAt: z.string().nullable(),
  /** The last report decided on, and what was decided: a retried activity gets the same answer. */
  lastReportId: z.string().nullable(),
  lastDecision: alertSchema.nullable(),
  /** An alert decided and not yet sent (the email provider was down): sent with the next run. */
  pending: alertSchema.nullable(),
});
type AlertState = z.infer<typeof alertStateSchema>;

const STATE_ID = 'state';
const LATEST_ID = 'latest';

export interface AlertPolicy {
  threshold: number;
  cooldownMinutes: number;
  /** False when no recipient is set: nothing is decided to send. */
  enabled: boolean;
}

/** Row keys that sort newest first (Azure Tables sort by key ascending). */
const newestFirst = (at: string) => String(9_999_999_999_999 - Date.parse(at)).padStart(13, '0');

/** Health reports kept over time, the latest one, and the alert state with its cooldown. */
export function healthHistory(table: TableClient, now: () => Date) {
  const history = jsonTable({
    table,
    partition: 'history',
    schema: healthReportSchema,
    what: 'health report',
    id: (r) => `${newestFirst(r.checkedAt)}-${r.id}`,
    columns: (r) => ({ checkedAt: r.checkedAt, score: r.score }),
  });
  const latest = jsonTable({
    table,
    partition: 'latest',
    schema: healthReportSchema,
    what: 'latest health report',
    id: () => LATEST_ID,
  });
  const alerts = jsonTable({
    table,
    partition: 'alert',
    schema: alertStateSchema,
    what: 'alert state',
    id: () => STATE_ID,
  });

  async function keepLatest(report: HealthScoreReport): Promise<void> {
    if (await latest.create(report)) return;
    await latest.mutate(LATEST_ID, (current) =>
      Date.parse(current.checkedAt) > Date.parse(report.checkedAt) ? undefined : report,
    );
  }

  return {
    latest: async (): Promise<HealthScoreReport | undefined> => {
      const found = await latest.get(LATEST_ID);
      if (!found) return undefined;
      const { etag: _etag, ...report } = found;
      return report;
    },

    /** Reports checked between the two dates, oldest first. */
    between: async (from: Date, to: Date): Promise<HealthScoreReport[]> =>
      (
        await history.list(odata`checkedAt ge ${from.toISOString()} and checkedAt le ${to.toISOString()}`)
      ).sort((a, b) => a.checkedAt.localeCompare(b.checkedAt)),

    /**
     * Keeps the report and decides, under the alert state's ETag, whether it warrants an email: the first
     * report below the threshold does, then one per cooldown while it stays below, and the first report
     * back above it sends "recovered". Returns what to send now (this decision, or one left unsent).
     */
    async record(report: HealthScoreReport, policy: AlertPolicy): Promise<Alert | null> {
      await history.create(report);
      await keepLatest(report);
      const initial: AlertState = {
        alerting: false,
        lastAlertAt: null,
        lastReportId: null,
        lastDecision: null,
        pending: null,
      };
      await alerts.create(initial);
      const result = await alerts.mutate(STATE_ID, (state) => {
        if (state.lastReportId === report.id) return undefined;
        const decided = decide(state, report, policy, now());
        return {
          ...decided.state,
          lastReportId: report.id,
          lastDecision: decided.alert,
          pending: decided.alert ?? state.pending,
        };
      });
      return result?.doc.pending ?? null;
    },

    /** The alert went out: it is no longer pending. */
    async sent(key: string): Promise<void> {
      await alerts.mutate(STATE_ID, (state) =>
        state.pending?.key === key ? { ...state, pending: null } : undefined,
      );
    },
  };
}

export type HealthHistory = ReturnType<typeof healthHistory>;

function decide(
  state: AlertState,
  report: HealthScoreReport,
  policy: AlertPolicy,
  at: Date,
): { state: AlertState; alert: Alert | null } {
  const below = report.score < policy.threshold;
  const alert = (kind: Alert['kind']): Alert => ({
    key: `ops-health-${kind}:${report.id}`,
    kind,
    reportId: report.id,
    score: report.score,
    status: report.status,
    decidedAt: at.toISOString(),
  });
  if (below) {
    const cooled =
      !state.lastAlertAt || at.getTime() - Date.parse(state.lastAlertAt) >= policy.cooldownMinutes * 60_000;
    const send = policy.enabled && (!state.alerting || cooled);
    return {
      state: { ...state, alerting: true, lastAlertAt: send ? at.toISOString() : state.lastAlertAt },
      alert: send ? alert('degraded') : null,
    };
  }
  if (state.alerting) {
    return {
      state: { ...state, alerting: false },
      alert: policy.enabled ? alert('recovered') : null,
    };
  }
  return { state, alert: null };
}
