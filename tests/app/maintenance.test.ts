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
    // The cache container is the app's own, shared with other tests: names of this test only.
    const key = (name: string) => `maintenance-${name}-${hourAgo}`;
    await new BlobResponseCache(container, () => hourAgo).set(key('expired'), answer, 60_000);
    await new BlobResponseCache(container, () => hourAgo).set(key('live'), answer, 86_400_000);
    await writeJsonBlob(container, `${key('legacy')}.json`, { expiresAt: hourAgo, answer });

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
    for await (const blob of container.listBlobsFlat({ prefix: 'maintenance-' })) left.push(blob.name);
    expect(left.filter((name) => name.endsWith(`-${hourAgo}.json`))).toEqual([`${key('live')}.json`]);
    expect(host.logs.map((r) => r.message)).toContainEqual(
      expect.stringMatching(/^Purged \d+ expired AI cache entries\.$/),
    );
  });
});
