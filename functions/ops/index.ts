import { BlobResponseCache } from '../ai/cache';
import type { AiSettings } from '../ai/settings';
import type { EmailSettings } from '../email/settings';
import { CONTAINERS } from '../platform/storageNames';
import type { Redactor } from '../platform/redact';
import type { StorageClients } from '../platform/storage';
import { aiProbes } from './aiProbes';
import { emailProbes } from './emailProbes';
import { checkDependencies, type DependencyProbe, type HealthReport } from './health';
import type { HealthSettings } from './settings';
import { storageProbes } from './storageProbes';

export { healthSettings, type HealthSettings } from './settings';

export interface OpsDependencies {
  settings: HealthSettings;
  ai: AiSettings;
  /** The outbound email provider, probed when one is configured. */
  email?: EmailSettings;
  storage: StorageClients;
  redact: Redactor;
  version: string;
  fetch?: typeof fetch;
  clock?: () => Date;
  /** Probes of the capabilities' own services (the mailbox's IMAP server), given by the root. */
  capabilityProbes?: () => DependencyProbe[];
}

/** Health and maintenance; smoke tests and document batches join them with the ops console. */
export function createOps(deps: OpsDependencies) {
  return {
    /** Probes storage (required), the AI providers and the email provider (optional), each within the time limit. */
    checkHealth: (): Promise<HealthReport> =>
      checkDependencies(
        [
          ...storageProbes(deps.storage),
          ...aiProbes(deps.ai, deps.fetch),
          ...emailProbes(deps.email, deps.fetch),
          ...(deps.capabilityProbes?.() ?? []),
        ],
        {
          version: deps.version,
          timeoutMs: deps.settings.timeoutMs,
          redact: deps.redact,
          ...(deps.clock ? { now: deps.clock } : {}),
        },
      ),

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
