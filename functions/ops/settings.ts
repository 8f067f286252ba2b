import { defineSettings, wholeNumber } from '../platform/settings';

export interface HealthSettings {
  /** Time limit of each dependency probe. */
  timeoutMs: number;
}

export const healthSettings = defineSettings({
  entries: {
    HEALTH_TIMEOUT_MS: {
      schema: wholeNumber(100, 30_000, 'milliseconds'),
      default: '`3000`',
      doc: 'Time limit for each dependency probe of `/api/health/details` (100–30000).',
    },
  },
  build: (s): HealthSettings => ({ timeoutMs: s.HEALTH_TIMEOUT_MS ?? 3000 }),
});
