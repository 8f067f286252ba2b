import { RestError } from '@azure/core-rest-pipeline';
import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { BlobResponseCache } from '../../ai/cache';
import { InvalidInputError } from '../../platform/errors';
import { Semaphore } from '../../platform/semaphore';
import type { StorageClients } from '../../platform/storage';
import { CONTAINERS } from '../../platform/storageNames';

const DAY_MS = 86_400_000;
const DELETE_CONCURRENCY = 16;

export const sweepRuleSchema = z.object({
  container: z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a blob container name'),
  /** Blobs last modified longer ago than this are removed. */
  olderThanDays: z.number().nonnegative(),
});
export type SweepRule = z.infer<typeof sweepRuleSchema>;

export interface SweepContainersOptions {
  rules: readonly SweepRule[];
  now: Date;
  /** Reports what would be removed and removes nothing. */
  dryRun: boolean;
}

export interface SweepReport {
  dryRun: boolean;
  /** Per rule: the blobs removed (or, on a dry run, that would be) and their bytes. */
  containers: { container: string; olderThanDays: number; blobs: number; bytes: number }[];
  totalBlobs: number;
  totalBytes: number;
}

const isContainerNotFound = (error: unknown) =>
  error instanceof RestError && error.statusCode === 404 && error.code === 'ContainerNotFound';

/**
 * Removes the container's blobs last modified before the cutoff, a listing page at a time, 16 deletions
 * in flight. A deletion is conditional on the ETag listed, so a blob rewritten meanwhile is kept; one
 * already gone is not counted. A container that does not exist has nothing to sweep.
 */
async function sweepContainer(
  container: ContainerClient,
  cutoff: Date,
  dryRun: boolean,
): Promise<{ blobs: number; bytes: number }> {
  const slots = new Semaphore(DELETE_CONCURRENCY);
  let blobs = 0;
  let bytes = 0;
  const remove = async (name: string, etag: string | undefined) => {
    try {
      const deleted = await container
        .getBlobClient(name)
        .deleteIfExists({ deleteSnapshots: 'include', conditions: { ifMatch: etag } });
      return deleted.succeeded;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 412) return false;
      throw error;
    }
  };
  try {
    for await (const page of container.listBlobsFlat().byPage({ maxPageSize: 1000 })) {
      const old = page.segment.blobItems.filter((blob) => blob.properties.lastModified < cutoff);
      await Promise.all(
        old.map((blob) =>
          slots.run(async () => {
            if (!dryRun && !(await remove(blob.name, blob.properties.etag))) return;
            blobs++;
            bytes += blob.properties.contentLength ?? 0;
          }),
        ),
      );
    }
  } catch (error) {
    if (isContainerNotFound(error)) return { blobs: 0, bytes: 0 };
    throw error;
  }
  return { blobs, bytes };
}

/**
 * Sweeps working blobs past their retention: per rule, the container's blobs last modified more than
 * `olderThanDays` before `now` (Azurite has no lifecycle policies, so the app does it). Idempotent.
 */
export async function sweepContainers(
  storage: StorageClients,
  options: SweepContainersOptions,
): Promise<SweepReport> {
  const rules = z.array(sweepRuleSchema).safeParse(options.rules);
  if (!rules.success) {
    const issue = rules.error.issues[0];
    throw new InvalidInputError(`rules.${issue?.path.join('.') ?? ''}`, issue?.message ?? 'is invalid');
  }
  const containers: SweepReport['containers'] = [];
  for (const { container, olderThanDays } of rules.data) {
    const cutoff = new Date(options.now.getTime() - olderThanDays * DAY_MS);
    const swept = await sweepContainer(storage.blobs.getContainerClient(container), cutoff, options.dryRun);
    containers.push({ container, olderThanDays, ...swept });
  }
  return {
    dryRun: options.dryRun,
    containers,
    totalBlobs: containers.reduce((sum, c) => sum + c.blobs, 0),
    totalBytes: containers.reduce((sum, c) => sum + c.bytes, 0),
  };
}

/** Expired AI cache entries, removed unless `dryRun`: how many and their bytes. */
export function sweepAiCache(
  storage: StorageClients,
  now: Date,
  dryRun: boolean,
): Promise<{ entries: number; bytes: number }> {
  const container = storage.blobs.getContainerClient(CONTAINERS.aiCache);
  return new BlobResponseCache(container, () => now.getTime()).sweepExpired({ dryRun });
}
