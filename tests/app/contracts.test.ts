import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOSSIER_DURABLE } from '../../functions/dossiers';
import { jsonData } from '../../local/invoke';
import type { LocalHost } from '../../local/localHost';
import { startAppHost } from '../support/testHost';

let host: LocalHost;
beforeAll(async () => {
  host = await startAppHost();
});
afterAll(() => host.stop());

describe('durable contracts at the boundary', () => {
  it('refuses an activity input that does not match its contract, naming the field', async () => {
    await expect(
      host.invoke(DOSSIER_DURABLE.generate.name, {
        trigger: jsonData({ batchId: 'b', runId: 'r', position: 'first' }),
      }),
    ).rejects.toThrow(/position/);
  });

  it('fails an orchestration started with an input that does not match, with the field in its output', async () => {
    const id = await host.engine.start(DOSSIER_DURABLE.batch.name, { batchId: 'b' }, 'bad-input');
    const done = await host.engine.waitForCompletion(id, 10_000);
    expect(done.runtimeStatus).toBe('Failed');
    expect(String(done.output)).toMatch(/runId/);
  });
});
