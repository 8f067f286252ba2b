import { z } from 'zod';

/**
 * Every app setting the suite reads, validated once at start-up. Names are a contract with
 * local.settings.sample.json, infra/bicep and the README (a drift test keeps them in step).
 */

/** Settings whose values must never reach a log line or an error message. */
export const SECRET_SETTINGS = ['AzureWebJobsStorage', 'APPLICATIONINSIGHTS_CONNECTION_STRING'] as const;

/**
 * Deployed names that stand for a setting in Azure. Identity-based storage replaces the
 * AzureWebJobsStorage connection string with its `__accountName` / `__credential` / `__clientId` form.
 */
export const DEPLOYED_FORMS: Readonly<Record<string, readonly string[]>> = {
  AzureWebJobsStorage: ['AzureWebJobsStorage__accountName'],
};

// App settings arrive as strings; an empty value means "not set" (local.settings.json keeps such keys).
const optionalText = z.preprocess((v) => (v === '' ? undefined : v), z.string().trim().min(1).optional());

const settingsSchema = z
  .object({
    AzureWebJobsStorage: optionalText,
    AzureWebJobsStorage__accountName: optionalText,
    AzureWebJobsStorage__clientId: optionalText,
    FUNCTIONS_WORKER_RUNTIME: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z.literal('node', { message: 'must be "node"' }).optional(),
    ),
    DURABLE_TASK_HUB: z
      .string({ message: 'is required' })
      .regex(/^[A-Za-z][A-Za-z0-9]{2,44}$/, 'must be 3 to 45 letters or digits and start with a letter'),
    APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText,
    HEALTH_TIMEOUT_MS: z.coerce
      .number({ message: 'must be a number of milliseconds' })
      .int('must be a whole number of milliseconds')
      .min(100, 'must be at least 100')
      .max(30_000, 'must be at most 30000')
      .default(3000),
  })
  .superRefine((s, ctx) => {
    if (!s.AzureWebJobsStorage && !s.AzureWebJobsStorage__accountName) {
      ctx.addIssue({
        code: 'custom',
        path: ['AzureWebJobsStorage'],
        message:
          'is required (a connection string, or AzureWebJobsStorage__accountName for managed identity)',
      });
    }
  });

/** The names of every setting read here, in schema order. */
export const SETTING_NAMES: readonly string[] = Object.keys(settingsSchema.shape);

export type StorageTarget =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; accountName: string; clientId: string | undefined };

export interface Settings {
  storage: StorageTarget;
  taskHub: string;
  appInsightsConfigured: boolean;
  healthTimeoutMs: number;
  /** The values of the secret settings that are set, for log redaction. */
  secretValues: string[];
}

export interface SettingIssue {
  setting: string;
  message: string;
}

/** Raised when app settings are missing or invalid; names each setting, never shows a value. */
export class SettingsError extends Error {
  constructor(readonly issues: SettingIssue[]) {
    super(`Invalid app settings: ${issues.map((i) => `${i.setting} ${i.message}`).join('; ')}`);
    this.name = 'SettingsError';
  }
}

export function loadSettings(env: NodeJS.ProcessEnv): Settings {
  const raw = Object.fromEntries(SETTING_NAMES.map((name) => [name, env[name]]));
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new SettingsError(
      parsed.error.issues.map((issue) => ({
        setting: String(issue.path[0] ?? 'settings'),
        message: issue.message,
      })),
    );
  }
  const s = parsed.data;
  const storage: StorageTarget = s.AzureWebJobsStorage
    ? { kind: 'connectionString', connectionString: s.AzureWebJobsStorage }
    : {
        kind: 'identity',
        accountName: s.AzureWebJobsStorage__accountName ?? '',
        clientId: s.AzureWebJobsStorage__clientId,
      };
  return {
    storage,
    taskHub: s.DURABLE_TASK_HUB,
    appInsightsConfigured: Boolean(s.APPLICATIONINSIGHTS_CONNECTION_STRING),
    healthTimeoutMs: s.HEALTH_TIMEOUT_MS,
    secretValues: SECRET_SETTINGS.map((name) => s[name]).filter((v): v is string => Boolean(v)),
  };
}
