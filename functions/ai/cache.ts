import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { ensureContainer, readJsonBlob, writeJsonBlob } from '../platform/blobs';
import { Semaphore } from '../platform/semaphore';
import type { ProviderAnswer } from './types';

export interface ResponseCache {
  get(key: string): Promise<ProviderAnswer | undefined>;
  set(key: string, answer: ProviderAnswer, ttlMs: number): Promise<void>;
}

const cacheEntrySchema = z.object({
  expiresAt: z.number(),
  answer: z.object({
    text: z.string(),
    promptTokens: z.number(),
    completionTokens: z.number(),
    model: z.string(),
  }) satisfies z.ZodType<ProviderAnswer>,
});

// The expiry is also blob metadata, so a purge lists expired entries without reading them.
const EXPIRES_METADATA = 'expiresat';

/** AI answers in blob storage, one blob per key, with their expiry inside; expired blobs are ignored. */
export class BlobResponseCache implements ResponseCache {
  constructor(
    private readonly container: ContainerClient,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<ProviderAnswer | undefined> {
    const entry = await readJsonBlob(this.container, `${key}.json`, cacheEntrySchema);
    return entry && entry.expiresAt > this.now() ? entry.answer : undefined;
  }

  async set(key: string, answer: ProviderAnswer, ttlMs: number): Promise<void> {
    const expiresAt = this.now() + ttlMs;
    await writeJsonBlob(
      this.container,
      `${key}.json`,
      { expiresAt, answer },
      { [EXPIRES_METADATA]: String(expiresAt) },
    );
  }

  /** Deletes the expired entries (maintenance: the cache would otherwise only grow); returns how many. */
  async purgeExpired(): Promise<number> {
    return (await this.sweepExpired()).entries;
  }

  /**
   * The expired entries, how many and their size, deleted unless `dryRun`. Page by page, so memory
   * stays bounded however large the cache.
   */
  async sweepExpired({ dryRun = false }: { dryRun?: boolean } = {}): Promise<{
    entries: number;
    bytes: number;
  }> {
    await ensureContainer(this.container);
    const now = this.now();
    const slots = new Semaphore(16);
    let entries = 0;
    let bytes = 0;
    const pages = this.container.listBlobsFlat({ includeMetadata: true }).byPage({ maxPageSize: 1000 });
    for await (const page of pages) {
      const expired: { name: string; size: number }[] = [];
      for (const blob of page.segment.blobItems) {
        const expiresAt = Number(blob.metadata?.[EXPIRES_METADATA]);
        // An entry without the metadata predates it: read its expiry once.
        const isExpired = Number.isFinite(expiresAt)
          ? expiresAt <= now
          : ((await readJsonBlob(this.container, blob.name, cacheEntrySchema))?.expiresAt ?? 0) <= now;
        if (isExpired) expired.push({ name: blob.name, size: blob.properties.contentLength ?? 0 });
      }
      // Counted when deleted: an entry another sweep deleted first is not this one's.
      await Promise.all(
        expired.map((entry) =>
          slots.run(async () => {
            const deleted =
              dryRun ||
              (await this.container.getBlobClient(entry.name).deleteIfExists({ deleteSnapshots: 'include' }))
                .succeeded;
            if (!deleted) return;
            entries++;
            bytes += entry.size;
          }),
        ),
      );
    }
    return { entries, bytes };
  }
}
