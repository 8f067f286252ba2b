import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { readJsonBlob, writeJsonBlob } from '../platform/blobs';
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
    await writeJsonBlob(this.container, `${key}.json`, { expiresAt: this.now() + ttlMs, answer });
  }
}
