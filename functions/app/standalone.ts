import { aiSettings } from '../ai/settings';
import { createDossiers, dossierSettings, type Dossiers } from '../dossiers';
import { loadFragments } from '../platform/settings';
import type { StorageClients } from '../platform/storage';
import { createSuiteAi } from './ai';

/**
 * Dossiers outside the Function App (the CLI, the demo, the benchmarks), from the AI and dossier
 * settings of `env` only: storage and the task hub do not apply. Its AI client keeps usage in memory and
 * caches nothing; `storage`, when given, holds batches as in the app.
 */
export function createStandaloneDossiers(env: NodeJS.ProcessEnv, storage?: StorageClients): Dossiers {
  const settings = loadFragments(env, { ai: aiSettings, dossiers: dossierSettings });
  return createDossiers({ settings: settings.dossiers, ai: createSuiteAi(settings.ai), storage });
}
