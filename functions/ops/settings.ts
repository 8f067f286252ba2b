import { defineSettings, optionalEmail, optionalSchedule, wholeNumber } from '../platform/settings';

export interface HealthSettings {
  /** Time limit of each dependency probe. */
  timeoutMs: number;
}

export const healthSettings = defineSettings({
  entries: {
    HEALTH_TIMEOUT_MS: {
      schema: wholeNumber(100, 30_000, 'milliseconds'),
      default: '`3000`',
      doc: 'Time limit for each dependency probe of `/api/health/details` and of the `health` workflow (100–30000).',
    },
  },
  build: (s): HealthSettings => ({ timeoutMs: s.HEALTH_TIMEOUT_MS ?? 3000 }),
});

export interface OpsSettings {
  healthSchedule: string;
  alertThreshold: number;
  alertEmail: string | undefined;
  alertCooldownMinutes: number;
  documentsConcurrency: number;
  documentMaxBytes: number;
  documentMaxPages: number;
  retentionDays: number;
}

const DEFAULT_HEALTH_SCHEDULE = '0 */15 * * * *';

export const opsSettings = defineSettings({
  entries: {
    OPS_HEALTH_SCHEDULE: {
      schema: optionalSchedule,
      default: `\`${DEFAULT_HEALTH_SCHEDULE}\` (every 15 minutes)`,
      doc: 'NCRONTAB schedule of the `opsHealthTimer` timer, which runs the `health` workflow and keeps its history.',
    },
    OPS_ALERT_THRESHOLD: {
      schema: wholeNumber(1, 100, 'points'),
      default: '`75`',
      doc: 'A health score below this sends an alert email (then at most once per cooldown) and a "recovered" email when the score is back.',
    },
    OPS_ALERT_EMAIL: {
      schema: optionalEmail,
      required: 'for alerts',
      doc: 'Who gets health alerts. Unset: scores are kept and shown, no email is sent.',
    },
    OPS_ALERT_COOLDOWN_MINUTES: {
      schema: wholeNumber(1, 10_080, 'minutes'),
      default: '`60`',
      doc: 'Least time between two alert emails while the app stays below the threshold.',
    },
    OPS_DOCUMENTS_CONCURRENCY: {
      schema: wholeNumber(1, 16, 'documents'),
      default: '`3`',
      doc: 'Documents of a `documents` batch extracted and summarised at once.',
    },
    OPS_DOCUMENT_MAX_BYTES: {
      schema: wholeNumber(1024, 100 * 1024 * 1024, 'bytes'),
      default: '`20971520` (20 MiB)',
      doc: 'Largest document accepted; a larger one fails as `too-large`, the rest of its batch goes on.',
    },
    OPS_DOCUMENT_MAX_PAGES: {
      schema: wholeNumber(1, 5000, 'pages'),
      default: '`300`',
      doc: 'Most pages read from a PDF; a longer one fails as `too-many-pages`.',
    },
    OPS_RETENTION_DAYS: {
      schema: wholeNumber(1, 3650, 'days'),
      default: '`30`',
      doc: 'Working blobs (uploaded CSVs, dossier run plans, raw mails, run logs, dropped documents) older than this are removed by the `maintenance` workflow.',
    },
  },
  build: (s): OpsSettings => ({
    healthSchedule: s.OPS_HEALTH_SCHEDULE ?? DEFAULT_HEALTH_SCHEDULE,
    alertThreshold: s.OPS_ALERT_THRESHOLD ?? 75,
    alertEmail: s.OPS_ALERT_EMAIL,
    alertCooldownMinutes: s.OPS_ALERT_COOLDOWN_MINUTES ?? 60,
    documentsConcurrency: s.OPS_DOCUMENTS_CONCURRENCY ?? 3,
    documentMaxBytes: s.OPS_DOCUMENT_MAX_BYTES ?? 20 * 1024 * 1024,
    documentMaxPages: s.OPS_DOCUMENT_MAX_PAGES ?? 300,
    retentionDays: s.OPS_RETENTION_DAYS ?? 30,
  }),
});
