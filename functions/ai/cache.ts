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
    await ensureContainer(this.container);
    const now = this.now();
    const slots = new Semaphore(16);
    const deletions: Promise<unknown>[] = [];
    for await (const blob of this.container.listBlobsFlat({ includeMetadata: true })) {
      const expiresAt = Number(blob.metadata?.[EXPIRES_METADATA]);
      // An entry without the metadata predates it: read its expiry once.
      const expired = Number.isFinite(expiresAt)
        ? expiresAt <= now
        : ((await readJsonBlob(this.container, blob.name, cacheEntrySchema))?.expiresAt ?? 0) <= now;
      if (expired)
        deletions.push(slots.run(() => this.container.deleteBlob(blob.name, { deleteSnapshots: 'include' })));
    }
    await Promise.all(deletions);
    return deletions.length;
  }
}
