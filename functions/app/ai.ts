import type { TokenCredential } from '@azure/identity';
import type { AiClient } from '../ai/aiClient';
import { createAiClient } from '../ai/createAiClient';
import type { AiSettings } from '../ai/settings';
import { CALLS_OFFLINE_GENERATORS } from '../calls/analysis';
import { DOSSIERS_OFFLINE_GENERATORS } from '../dossiers';
import { LINKEDIN_OFFLINE_GENERATORS } from '../linkedin/offline';
import { MAILBOX_OFFLINE_GENERATORS } from '../mailbox/offline';
import { DOCUMENTS_OFFLINE_GENERATORS, SMOKE_OFFLINE_GENERATORS } from '../ops';
import { appCredential } from '../platform/identity';
import type { StorageClients } from '../platform/storage';

/** Every capability's offline generators: with no AI key, each task still gets a real answer. */
export const OFFLINE_GENERATORS = {
  ...DOSSIERS_OFFLINE_GENERATORS,
  ...MAILBOX_OFFLINE_GENERATORS,
  ...CALLS_OFFLINE_GENERATORS,
  ...LINKEDIN_OFFLINE_GENERATORS,
  ...DOCUMENTS_OFFLINE_GENERATORS,
  ...SMOKE_OFFLINE_GENERATORS,
};

/**
 * The suite's AI client, wired once for the app, the CLI and the benchmarks. Without storage (the CLI)
 * usage stays in memory and nothing is cached.
 */
export function createSuiteAi(
  settings: AiSettings,
  deps: { storage?: StorageClients; credential?: () => TokenCredential } = {},
): AiClient {
  return createAiClient(settings, {
    storage: deps.storage,
    credential: deps.credential ?? (() => appCredential(undefined)),
    offlineGenerators: OFFLINE_GENERATORS,
  });
}
