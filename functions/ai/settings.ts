import { z } from 'zod';
import {
  commaList,
  defineSettings,
  jsonSetting,
  optionalEnum,
  optionalText,
  optionalUrl,
  wholeNumber,
} from '../platform/settings';

export const AI_PROVIDERS = ['offline', 'azure-openai', 'openai', 'anthropic'] as const;
export type AiProviderName = (typeof AI_PROVIDERS)[number];

/** A call's whole retry budget must end before the Functions timeout (10 minutes in host.json). */
export const AI_CALL_BUDGET_MS = 540_000;
/** The longest pause between two attempts of one AI call. */
export const AI_MAX_BACKOFF_MS = 20_000;

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

const providerName = z.enum(AI_PROVIDERS, { message: `must be one of ${AI_PROVIDERS.join(', ')}` });

const priceTable = z.record(
  z.string(),
  z.object(
    { input: z.number().min(0), output: z.number().min(0) },
    { message: 'needs input and output USD prices per 1M tokens' },
  ),
);

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

export const aiSettings = defineSettings({
  entries: {
    AI_PROVIDER: {
      schema: optionalEnum(AI_PROVIDERS),
      default: 'inferred',
      doc: '`offline`, `azure-openai`, `openai` or `anthropic`. Unset: the first configured of Azure OpenAI (endpoint), OpenAI-compatible (base URL or key), Anthropic (key); `offline` when none is.',
    },
    AZURE_OPENAI_ENDPOINT: {
      schema: optionalUrl,
      required: 'for `azure-openai`',
      doc: '`https://<resource>.openai.azure.com/`',
    },
    AZURE_OPENAI_DEPLOYMENT: {
      schema: optionalText,
      default: `\`${AI_DEFAULTS.azureDeployment}\``,
      doc: 'Deployment name (also the model name in usage and prices).',
    },
    AZURE_OPENAI_API_VERSION: {
      schema: optionalText,
      default: `\`${AI_DEFAULTS.azureApiVersion}\``,
      doc: 'Data-plane API version.',
    },
    AZURE_OPENAI_API_KEY: {
      schema: optionalText,
      secret: true,
      doc: 'Key; without it the app signs in with Microsoft Entra ID (its managed identity in Azure).',
    },
    OPENAI_BASE_URL: {
      schema: optionalUrl,
      required: 'for `openai`¹',
      default: `\`${AI_DEFAULTS.openAIBaseURL}\``,
      doc: 'Any OpenAI-compatible server: OpenAI, Mistral (`https://api.mistral.ai/v1`), Ollama (`http://localhost:11434/v1`), vLLM, LM Studio.',
    },
    OPENAI_API_KEY: {
      schema: optionalText,
      secret: true,
      required: 'for `openai`¹',
      doc: 'Key of that server (local servers need none).',
    },
    OPENAI_MODEL: {
      schema: optionalText,
      default: `\`${AI_DEFAULTS.openAIModel}\``,
      doc: 'Model name sent to that server.',
    },
    ANTHROPIC_API_KEY: {
      schema: optionalText,
      secret: true,
      required: 'for `anthropic`',
      doc: 'Key of the Anthropic API.',
    },
    ANTHROPIC_MODEL: {
      schema: optionalText,
      default: `\`${AI_DEFAULTS.anthropicModel}\``,
      doc: 'Model name.',
    },
    ANTHROPIC_BASE_URL: {
      schema: optionalUrl,
      default: "Anthropic's",
      doc: 'Another Anthropic-protocol endpoint.',
    },
    AI_FALLBACK: {
      schema: commaList(providerName),
      doc: 'Comma-separated providers tried in order when the primary still fails after its retries; each must be configured.',
    },
    AI_RPM: {
      schema: wholeNumber(1, 10_000_000, 'requests per minute'),
      default: 'unpaced',
      doc: "The deployment's requests-per-minute quota; each app instance paces itself under it.",
    },
    AI_TPM: {
      schema: wholeNumber(1, 1_000_000_000, 'tokens per minute'),
      default: 'unpaced',
      doc: "The deployment's tokens-per-minute quota; each app instance paces itself under it.",
    },
    AI_MAX_CONCURRENCY: {
      schema: wholeNumber(1, 1000, 'calls'),
      default: `\`${AI_DEFAULTS.maxConcurrency}\``,
      doc: 'AI calls in flight per provider per instance.',
    },
    AI_TIMEOUT_MS: {
      schema: wholeNumber(100, AI_CALL_BUDGET_MS, 'milliseconds'),
      default: `\`${AI_DEFAULTS.timeoutMs}\``,
      doc: 'Time limit of one attempt. With `AI_MAX_RETRIES` and the backoff, a call must fit in 540 s (under the 10-minute function timeout); start-up refuses settings that do not.',
    },
    AI_MAX_RETRIES: {
      schema: wholeNumber(0, 10, 'retries'),
      default: `\`${AI_DEFAULTS.maxRetries}\``,
      doc: 'Retries per provider after the first attempt (0–10).',
    },
    AI_CACHE_TTL_HOURS: {
      schema: wholeNumber(0, 24 * 365, 'hours'),
      default: `\`${AI_DEFAULTS.cacheTtlHours}\``,
      doc: 'Response cache lifetime; `0` disables the cache.',
    },
    AI_PRICES: {
      schema: jsonSetting(priceTable),
      default: 'built-in',
      doc: 'JSON `{"<model prefix>": {"input": usd, "output": usd}}` per 1M tokens, overriding or adding to the built-in table (longest prefix wins; unknown models cost 0).',
    },
    AI_OUTPUT_BLOCKLIST: {
      schema: commaList(z.string()),
      doc: 'Comma-separated words or phrases; an answer containing one (whole word, case- and accent-insensitive) is rejected and counted.',
    },
  },
  refine: (s, issue) => {
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
  },
  build: (s): AiSettings => ({
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
  }),
});
