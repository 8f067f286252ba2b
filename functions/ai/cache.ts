import type { ContainerClient } from '@azure/storage-blob';
import { RestError } from '@azure/core-rest-pipeline';
import type { ProviderAnswer } from './types';

export interface ResponseCache {
  get(key: string): Promise<ProviderAnswer | undefined>;
  set(key: string, answer: ProviderAnswer, ttlMs: number): Promise<void>;
}

interface CacheEntry {
  expiresAt: number;
  answer: ProviderAnswer;
}

/** AI answers in blob storage, one blob per key, with their expiry inside; expired blobs are ignored. */
export class BlobResponseCache implements ResponseCache {
  private ready: Promise<unknown> | undefined;

  constructor(
    private readonly container: ContainerClient,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<ProviderAnswer | undefined> {
    await this.ensureContainer();
    try {
      const body = await this.container.getBlockBlobClient(`${key}.json`).downloadToBuffer();
      const entry = JSON.parse(body.toString('utf8')) as CacheEntry;
      return entry.expiresAt > this.now() ? entry.answer : undefined;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  async set(key: string, answer: ProviderAnswer, ttlMs: number): Promise<void> {
    await this.ensureContainer();
    const entry: CacheEntry = { expiresAt: this.now() + ttlMs, answer };
    const body = JSON.stringify(entry);
    await this.container.getBlockBlobClient(`${key}.json`).upload(body, Buffer.byteLength(body), {
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
  }

  private ensureContainer(): Promise<unknown> {
    this.ready ??= this.container.createIfNotExists();
    return this.ready;
  }
}
