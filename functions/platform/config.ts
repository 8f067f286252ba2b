import { z } from 'zod';

/**
 * Every app setting the suite reads, validated once at start-up. Names are a contract with
 * local.settings.sample.json, infra/bicep and the README (a drift test keeps them in step).
 */

/** Settings whose values must never reach a log line or an error message. */
export const SECRET_SETTINGS = [
  'AzureWebJobsStorage',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'AZURE_OPENAI_API_KEY',
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
] as const;

/**
 * Deployed names that stand for a setting in Azure. Identity-based storage replaces the
 * AzureWebJobsStorage connection string with its `__accountName` / `__credential` / `__clientId` form.
 */
export const DEPLOYED_FORMS: Readonly<Record<string, readonly string[]>> = {
  AzureWebJobsStorage: ['AzureWebJobsStorage__accountName'],
};

export const AI_PROVIDERS = ['offline', 'azure-openai', 'openai', 'anthropic'] as const;
export type AiProviderName = (typeof AI_PROVIDERS)[number];

/** A call's whole retry budget must end before the Functions timeout (10 minutes in host.json). */
export const AI_CALL_BUDGET_MS = 540_000;
/** The longest pause between two attempts of one AI call. */
export const AI_MAX_BACKOFF_MS = 20_000;

// App settings arrive as strings; an empty value means "not set" (local.settings.json keeps such keys).
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);
const optionalText = z.preprocess(unsetIfEmpty, z.string().trim().min(1).optional());
const optionalUrl = z.preprocess(unsetIfEmpty, z.url({ message: 'must be an http(s) URL' }).optional());

function wholeNumber(min: number, max: number, unit: string) {
  return z.preprocess(
    unsetIfEmpty,
    z.coerce
      .number({ message: `must be a number of ${unit}` })
      .int(`must be a whole number of ${unit}`)
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`)
      .optional(),
  );
}

const optionalBoolean = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() ? v.trim().toLowerCase() : undefined),
  z.enum(['true', 'false'], { message: 'must be true or false' }).optional(),
);

const providerName = z.enum(AI_PROVIDERS, { message: `must be one of ${AI_PROVIDERS.join(', ')}` });

const priceTable = z.record(
  z.string(),
  z.object(
    { input: z.number().min(0), output: z.number().min(0) },
    { message: 'needs input and output USD prices per 1M tokens' },
  ),
);

const settingsSchema = z
  .object({
    AzureWebJobsStorage: optionalText,
    AzureWebJobsStorage__accountName: optionalText,
    AzureWebJobsStorage__clientId: optionalText,
    FUNCTIONS_WORKER_RUNTIME: z.preprocess(
      unsetIfEmpty,
      z.literal('node', { message: 'must be "node"' }).optional(),
    ),
    DURABLE_TASK_HUB: z
      .string({ message: 'is required' })
      .regex(/^[A-Za-z][A-Za-z0-9]{2,44}$/, 'must be 3 to 45 letters or digits and start with a letter'),
    APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText,
    HEALTH_TIMEOUT_MS: wholeNumber(100, 30_000, 'milliseconds'),

    AI_PROVIDER: z.preprocess(unsetIfEmpty, providerName.optional()),
    AZURE_OPENAI_ENDPOINT: optionalUrl,
    AZURE_OPENAI_DEPLOYMENT: optionalText,
    AZURE_OPENAI_API_VERSION: optionalText,
    AZURE_OPENAI_API_KEY: optionalText,
    OPENAI_BASE_URL: optionalUrl,
    OPENAI_API_KEY: optionalText,
    OPENAI_MODEL: optionalText,
    ANTHROPIC_API_KEY: optionalText,
    ANTHROPIC_MODEL: optionalText,
    ANTHROPIC_BASE_URL: optionalUrl,
    AI_FALLBACK: z.preprocess(
      (v) => (typeof v === 'string' && v.trim() ? v.split(',').map((p) => p.trim()) : undefined),
      z.array(providerName).optional(),
    ),
    AI_RPM: wholeNumber(1, 10_000_000, 'requests per minute'),
    AI_TPM: wholeNumber(1, 1_000_000_000, 'tokens per minute'),
    AI_MAX_CONCURRENCY: wholeNumber(1, 1000, 'calls'),
    AI_TIMEOUT_MS: wholeNumber(100, AI_CALL_BUDGET_MS, 'milliseconds'),
    AI_MAX_RETRIES: wholeNumber(0, 10, 'retries'),
    AI_CACHE_TTL_HOURS: wholeNumber(0, 24 * 365, 'hours'),
    AI_PRICES: z.preprocess((v) => {
      if (typeof v !== 'string' || !v.trim()) return undefined;
      try {
        return JSON.parse(v) as unknown;
      } catch {
        return v;
      }
    }, priceTable.optional()),
    AI_OUTPUT_BLOCKLIST: z.preprocess(
      (v) =>
        typeof v === 'string' && v.trim()
          ? v
              .split(',')
              .map((p) => p.trim())
              .filter(Boolean)
          : undefined,
      z.array(z.string()).optional(),
    ),

    DOSSIERS_TOP_K: wholeNumber(1, 10_000, 'consultants'),
    DOSSIERS_MIN_SCORE: wholeNumber(0, 100, 'points'),
    DOSSIERS_LANGUAGE: z.preprocess(
      unsetIfEmpty,
      z.enum(['fr', 'en'], { message: 'must be fr or en' }).optional(),
    ),
    DOSSIERS_REGENERATE_UNGROUNDED: optionalBoolean,
    DOSSIERS_CONCURRENCY: wholeNumber(1, 256, 'pairs'),
    DOSSIERS_MAX_UPLOAD_MB: wholeNumber(1, 100, 'megabytes'),
  })
  .superRefine((s, ctx) => {
    const issue = (setting: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [setting], message });
    if (!s.AzureWebJobsStorage && !s.AzureWebJobsStorage__accountName) {
      issue(
        'AzureWebJobsStorage',
        'is required (a connection string, or AzureWebJobsStorage__accountName for managed identity)',
      );
    }
    const needs: Record<AiProviderName, [string, unknown][]> = {
      offline: [],
      'azure-openai': [['AZURE_OPENAI_ENDPOINT', s.AZURE_OPENAI_ENDPOINT]],
      openai: [['OPENAI_BASE_URL or OPENAI_API_KEY', s.OPENAI_BASE_URL ?? s.OPENAI_API_KEY]],
      anthropic: [['ANTHROPIC_API_KEY', s.ANTHROPIC_API_KEY]],
    };
    const primary = resolvePrimaryProvider(s);
    for (const [name, value] of needs[primary]) {
      if (!value) issue(s.AI_PROVIDER ? 'AI_PROVIDER' : name, `${primary} needs ${name}`);
    }
    for (const fallback of s.AI_FALLBACK ?? []) {
      if (fallback === primary) issue('AI_FALLBACK', `lists the primary provider ${primary}`);
      for (const [name, value] of needs[fallback])
        if (!value) issue('AI_FALLBACK', `${fallback} needs ${name}`);
    }
    const timeout = s.AI_TIMEOUT_MS ?? AI_DEFAULTS.timeoutMs;
    const retries = s.AI_MAX_RETRIES ?? AI_DEFAULTS.maxRetries;
    if (timeout * (retries + 1) + AI_MAX_BACKOFF_MS * retries > AI_CALL_BUDGET_MS) {
      issue(
        'AI_TIMEOUT_MS',
        `× (AI_MAX_RETRIES + 1) plus backoff must fit in ${AI_CALL_BUDGET_MS} ms, the Functions timeout less a margin`,
      );
    }
  });

export const AI_DEFAULTS = {
  azureDeployment: 'gpt-4o-mini',
  azureApiVersion: '2024-10-21',
  openAIBaseURL: 'https://api.openai.com/v1',
  openAIModel: 'gpt-4o-mini',
  anthropicModel: 'claude-3-5-haiku-latest',
  maxConcurrency: 8,
  timeoutMs: 60_000,
  maxRetries: 3,
  cacheTtlHours: 168,
} as const;

/** With no AI_PROVIDER, the first provider that is configured; offline when none is. */
function resolvePrimaryProvider(s: {
  AI_PROVIDER?: AiProviderName | undefined;
  AZURE_OPENAI_ENDPOINT?: string | undefined;
  OPENAI_BASE_URL?: string | undefined;
  OPENAI_API_KEY?: string | undefined;
  ANTHROPIC_API_KEY?: string | undefined;
}): AiProviderName {
  if (s.AI_PROVIDER) return s.AI_PROVIDER;
  if (s.AZURE_OPENAI_ENDPOINT) return 'azure-openai';
  if (s.OPENAI_BASE_URL || s.OPENAI_API_KEY) return 'openai';
  if (s.ANTHROPIC_API_KEY) return 'anthropic';
  return 'offline';
}

/** The names of every setting read here, in schema order. */
export const SETTING_NAMES: readonly string[] = Object.keys(settingsSchema.shape);

export type StorageTarget =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; accountName: string; clientId: string | undefined };

export interface AiSettings {
  provider: AiProviderName;
  fallback: AiProviderName[];
  azureOpenAI:
    { endpoint: string; deployment: string; apiVersion: string; apiKey: string | undefined } | undefined;
  openAI: { baseURL: string; apiKey: string | undefined; model: string } | undefined;
  anthropic: { apiKey: string; model: string; baseURL: string | undefined } | undefined;
  rpm: number | undefined;
  tpm: number | undefined;
  maxConcurrency: number;
  timeoutMs: number;
  maxRetries: number;
  cacheTtlHours: number;
  prices: Record<string, { input: number; output: number }>;
  outputBlocklist: string[];
}

export interface DossierSettings {
  topK: number | undefined;
  minScore: number | undefined;
  language: 'fr' | 'en';
  regenerateUngrounded: boolean;
  /** Pairs in flight at once in a batch (one lane each). */
  concurrency: number;
  maxUploadBytes: number;
}

export interface Settings {
  storage: StorageTarget;
  taskHub: string;
  appInsightsConfigured: boolean;
  healthTimeoutMs: number;
  ai: AiSettings;
  dossiers: DossierSettings;
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
    healthTimeoutMs: s.HEALTH_TIMEOUT_MS ?? 3000,
    ai: {
      provider: resolvePrimaryProvider(s),
      fallback: s.AI_FALLBACK ?? [],
      azureOpenAI: s.AZURE_OPENAI_ENDPOINT
        ? {
            endpoint: s.AZURE_OPENAI_ENDPOINT,
            deployment: s.AZURE_OPENAI_DEPLOYMENT ?? AI_DEFAULTS.azureDeployment,
            apiVersion: s.AZURE_OPENAI_API_VERSION ?? AI_DEFAULTS.azureApiVersion,
            apiKey: s.AZURE_OPENAI_API_KEY,
          }
        : undefined,
      openAI:
        s.OPENAI_BASE_URL || s.OPENAI_API_KEY
          ? {
              baseURL: s.OPENAI_BASE_URL ?? AI_DEFAULTS.openAIBaseURL,
              apiKey: s.OPENAI_API_KEY,
              model: s.OPENAI_MODEL ?? AI_DEFAULTS.openAIModel,
            }
          : undefined,
      anthropic: s.ANTHROPIC_API_KEY
        ? {
            apiKey: s.ANTHROPIC_API_KEY,
            model: s.ANTHROPIC_MODEL ?? AI_DEFAULTS.anthropicModel,
            baseURL: s.ANTHROPIC_BASE_URL,
          }
        : undefined,
      rpm: s.AI_RPM,
      tpm: s.AI_TPM,
      maxConcurrency: s.AI_MAX_CONCURRENCY ?? AI_DEFAULTS.maxConcurrency,
      timeoutMs: s.AI_TIMEOUT_MS ?? AI_DEFAULTS.timeoutMs,
      maxRetries: s.AI_MAX_RETRIES ?? AI_DEFAULTS.maxRetries,
      cacheTtlHours: s.AI_CACHE_TTL_HOURS ?? AI_DEFAULTS.cacheTtlHours,
      prices: s.AI_PRICES ?? {},
      outputBlocklist: s.AI_OUTPUT_BLOCKLIST ?? [],
    },
    dossiers: {
      topK: s.DOSSIERS_TOP_K,
      minScore: s.DOSSIERS_MIN_SCORE,
      language: s.DOSSIERS_LANGUAGE ?? 'fr',
      regenerateUngrounded: s.DOSSIERS_REGENERATE_UNGROUNDED === 'true',
      concurrency: s.DOSSIERS_CONCURRENCY ?? 16,
      maxUploadBytes: (s.DOSSIERS_MAX_UPLOAD_MB ?? 20) * 1024 * 1024,
    },
    secretValues: SECRET_SETTINGS.map((name) => s[name]).filter((v): v is string => Boolean(v)),
  };
}

/**
 * Settings for the local CLI, which runs the dossier pipeline in-process: it reads the AI and dossier
 * settings only; storage and the task hub do not apply to it.
 */
export function loadCliSettings(env: NodeJS.ProcessEnv): Pick<Settings, 'ai' | 'dossiers'> {
  const { ai, dossiers } = loadSettings({
    ...env,
    AzureWebJobsStorage: env.AzureWebJobsStorage || 'UseDevelopmentStorage=true',
    DURABLE_TASK_HUB: env.DURABLE_TASK_HUB || 'cli',
  });
  return { ai, dossiers };
}
