import { BlobResponseCache } from '../ai/cache';
import type { AiSettings } from '../ai/settings';
import { CONTAINERS } from '../platform/storageNames';
import type { Redactor } from '../platform/redact';
import type { StorageClients } from '../platform/storage';
import { aiProbes } from './aiProbes';
import { checkDependencies, type HealthReport } from './health';
import type { HealthSettings } from './settings';
import { storageProbes } from './storageProbes';

export { healthSettings, type HealthSettings } from './settings';

export interface OpsDependencies {
  settings: HealthSettings;
  ai: AiSettings;
  storage: StorageClients;
  redact: Redactor;
  version: string;
  fetch?: typeof fetch;
  clock?: () => Date;
}

/** Health and maintenance; smoke tests and document batches join them with the ops console. */
export function createOps(deps: OpsDependencies) {
  return {
    /** Probes storage (required) and the AI providers (optional), each within the time limit. */
    checkHealth: (): Promise<HealthReport> =>
      checkDependencies([...storageProbes(deps.storage), ...aiProbes(deps.ai, deps.fetch)], {
        version: deps.version,
        timeoutMs: deps.settings.timeoutMs,
        redact: deps.redact,
        ...(deps.clock ? { now: deps.clock } : {}),
      }),

    /** Deletes expired AI answers from the response cache; returns how many. */
    purgeAiCache: (): Promise<number> => {
      const now = deps.clock ?? (() => new Date());
      return new BlobResponseCache(deps.storage.blobs.getContainerClient(CONTAINERS.aiCache), () =>
        now().getTime(),
      ).purgeExpired();
    },
  };
}

export type Ops = ReturnType<typeof createOps>;
