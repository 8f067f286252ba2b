import { getBearerTokenProvider, type TokenCredential } from '@azure/identity';
import type { AiProviderName, AiSettings } from './settings';
import type { StorageClients } from '../platform/storage';
import { CONTAINERS, TABLES } from '../platform/storageNames';
import { AiClient } from './aiClient';
import { BlobResponseCache } from './cache';
import { BUILT_IN_PRICES } from './prices';
import { anthropicProvider } from './providers/anthropicProvider';
import { offlineProvider, type OfflineGenerator } from './providers/offlineProvider';
import { azureOpenAIProvider, openAICompatibleProvider } from './providers/openaiProvider';
import { defaultTemplateDirectory, TemplateLibrary } from './templates';
import type { ChatProvider } from './types';
import { MemoryUsageStore, TableUsageStore } from './usage';

const COGNITIVE_SERVICES_SCOPE = 'https://cognitiveservices.azure.com/.default';

export interface AiClientDependencies {
  /** Usage and cache live in this storage account; without one (the CLI), usage stays in memory and nothing is cached. */
  storage: StorageClients | undefined;
  /** Used for Azure OpenAI when no key is set (the app's managed identity in Azure). */
  credential: () => TokenCredential;
  offlineGenerators: Readonly<Record<string, OfflineGenerator>>;
  templateDirectory?: string;
}

/** Builds the AI client the settings describe: primary provider, fallbacks, quota, cache and usage. */
export function createAiClient(settings: AiSettings, deps: AiClientDependencies): AiClient {
  const providers = [settings.provider, ...settings.fallback].map((name) =>
    createProvider(name, settings, deps),
  );
  return new AiClient({
    providers,
    templates: new TemplateLibrary(deps.templateDirectory ?? defaultTemplateDirectory()),
    usage: deps.storage
      ? new TableUsageStore(deps.storage.table(TABLES.aiCalls), deps.storage.table(TABLES.aiTotals))
      : new MemoryUsageStore(),
    cache: deps.storage
      ? new BlobResponseCache(deps.storage.blobs.getContainerClient(CONTAINERS.aiCache))
      : undefined,
    cacheTtlMs: settings.cacheTtlHours * 3_600_000,
    prices: { ...BUILT_IN_PRICES, ...settings.prices },
    outputBlocklist: settings.outputBlocklist,
    rpm: settings.rpm,
    tpm: settings.tpm,
    maxConcurrency: settings.maxConcurrency,
    timeoutMs: settings.timeoutMs,
    maxRetries: settings.maxRetries,
  });
}

function createProvider(
  name: AiProviderName,
  settings: AiSettings,
  deps: AiClientDependencies,
): ChatProvider {
  const missing = (setting: string) => new Error(`The ${name} provider needs ${setting}.`);
  switch (name) {
    case 'offline':
      return offlineProvider(deps.offlineGenerators);
    case 'azure-openai': {
      const azure = settings.azureOpenAI;
      if (!azure) throw missing('AZURE_OPENAI_ENDPOINT');
      return azureOpenAIProvider({
        endpoint: azure.endpoint,
        deployment: azure.deployment,
        apiVersion: azure.apiVersion,
        auth: azure.apiKey
          ? { apiKey: azure.apiKey }
          : { tokenProvider: getBearerTokenProvider(deps.credential(), COGNITIVE_SERVICES_SCOPE) },
        timeoutMs: settings.timeoutMs,
      });
    }
    case 'openai': {
      const openAI = settings.openAI;
      if (!openAI) throw missing('OPENAI_BASE_URL or OPENAI_API_KEY');
      return openAICompatibleProvider({ ...openAI, timeoutMs: settings.timeoutMs });
    }
    case 'anthropic': {
      const anthropic = settings.anthropic;
      if (!anthropic) throw missing('ANTHROPIC_API_KEY');
      return anthropicProvider({ ...anthropic, timeoutMs: settings.timeoutMs });
    }
  }
}
