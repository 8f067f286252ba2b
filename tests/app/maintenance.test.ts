import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobResponseCache } from '../../functions/ai/cache';
import { writeJsonBlob } from '../../functions/platform/blobs';
import { CONTAINERS } from '../../functions/platform/storageNames';
import type { LocalHost } from '../../local/localHost';
import { startAppHost } from '../support/testHost';

let host: LocalHost;
beforeAll(async () => {
  host = await startAppHost();
});
afterAll(() => host.stop());

const answer = { text: 'ok', promptTokens: 1, completionTokens: 1, model: 'm' };

describe('maintenance timers', () => {
  it('purges expired AI cache entries daily, keeping live ones, when run now through the admin endpoint', async () => {
    const container = host.storage.blobs.getContainerClient(CONTAINERS.aiCache);
    const hourAgo = Date.now() - 3_600_000;
    // Written an hour ago: one expired since, one still valid for a day; and one in the older format
    // whose expiry is only inside the blob.
    await new BlobResponseCache(container, () => hourAgo).set('expired', answer, 60_000);
    await new BlobResponseCache(container, () => hourAgo).set('live', answer, 86_400_000);
    await writeJsonBlob(container, 'legacy.json', { expiresAt: hourAgo, answer });

    const wrongKey = await host.http({
      method: 'POST',
      path: '/admin/functions/aiCachePurge',
      headers: { 'x-functions-key': host.functionKey },
      body: '{}',
    });
    expect(wrongKey.status).toBe(401);
    const response = await host.http({
      method: 'POST',
      path: '/admin/functions/aiCachePurge',
      headers: { 'x-functions-key': host.masterKey },
      body: '{}',
    });
    expect(response.status).toBe(202);
    await host.settled();

    const left: string[] = [];
    for await (const blob of container.listBlobsFlat()) left.push(blob.name);
    expect(left).toEqual(['live.json']);
    expect(host.logs.map((r) => r.message)).toContain('Purged 2 expired AI cache entries.');
  });
});
