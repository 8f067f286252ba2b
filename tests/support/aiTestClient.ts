import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { inject } from 'vitest';
import { AiClient, type AiClientOptions } from '../../functions/ai/aiClient';
import { BlobResponseCache } from '../../functions/ai/cache';
import { BUILT_IN_PRICES } from '../../functions/ai/prices';
import { TemplateLibrary } from '../../functions/ai/templates';
import type { ChatProvider } from '../../functions/ai/types';
import { TableUsageStore } from '../../functions/ai/usage';
import { createStorageClients } from '../../functions/platform/storage';

export const FIXTURE_PROMPTS = path.resolve(__dirname, '../fixtures/prompts');

/** An AI client on fresh Azurite tables and container, with the fixture prompt templates. */
export function aiTestClient(providers: ChatProvider[], overrides: Partial<AiClientOptions> = {}) {
  const storage = createStorageClients({
    kind: 'connectionString',
    connectionString: inject('azuriteConnectionString'),
  });
  const suffix = randomBytes(4).toString('hex');
  const usage = new TableUsageStore(storage.table(`calls${suffix}`), storage.table(`totals${suffix}`));
  const client = new AiClient({
    providers,
    templates: new TemplateLibrary(FIXTURE_PROMPTS),
    usage,
    cache: new BlobResponseCache(storage.blobs.getContainerClient(`cache-${suffix}`)),
    cacheTtlMs: 3_600_000,
    prices: BUILT_IN_PRICES,
    outputBlocklist: [],
    rpm: undefined,
    tpm: undefined,
    maxConcurrency: 8,
    timeoutMs: 5_000,
    maxRetries: 2,
    ...overrides,
  });
  return { client, usage };
}

let counter = 0;
/** A note no other request in the run has sent, so the cache never answers it. */
export function freshNote(text = 'Le client demande le programme de la formation.'): { note: string } {
  counter++;
  return { note: `${text} (#${counter}-${randomBytes(3).toString('hex')})` };
}
