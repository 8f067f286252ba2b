import type { Timer } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalHost } from '../../local/localHost';
import { registerBindingsFixture } from '../fixtures/bindingsFixtureApp';
import { testSettings } from '../support/testHost';

const seen = { timers: [] as Timer[], queueAttempts: new Map<string, number>() };
let host: LocalHost;

beforeAll(async () => {
  host = await LocalHost.start({
    app: { register: () => registerBindingsFixture(seen) },
    settings: testSettings(),
  });
});
afterAll(() => host.stop());

async function drain(queueName: string): Promise<string[]> {
  const queue = host.storage.queues.getQueueClient(queueName);
  const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
  return receivedMessageItems.map((m) => Buffer.from(m.messageText, 'base64').toString('utf8'));
}

describe('local host: triggers and bindings', () => {
  it('routes HTTP calls with route parameters, query, headers and body, and enforces the function key', async () => {
    const call = {
      method: 'POST',
      path: '/api/echo/42/more?lang=fr',
      headers: { 'X-Trace': 't-1' },
      body: '{"a":1}',
    };
    expect((await host.http(call)).status).toBe(401);
    expect((await host.http({ ...call, path: `${call.path}&code=wrong` })).status).toBe(401);

    const ok = await host.http({
      ...call,
      headers: { ...call.headers, 'x-functions-key': host.functionKey },
    });
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({
      params: { id: '42', rest: 'more' },
      query: { lang: 'fr' },
      header: 't-1',
      body: { a: 1 },
    });
    expect(
      (await host.http({ ...call, method: 'GET', path: `/api/echo/42?code=${host.functionKey}` })).status,
    ).toBe(404);
  });

  it('fires a timer with the payload the host sends and writes its queue output', async () => {
    await host.timer('nightlyTick', { isPastDue: true });
    expect(seen.timers[0]?.isPastDue).toBe(true);
    expect(seen.timers[0]?.scheduleStatus?.next).toMatch(/^\d{4}-/);
    expect(await drain('ticks')).toEqual(['{"pastDue":true}', 'second message']);
  });

  it('runs a blob trigger on a dropped blob with its path parameters and metadata, and writes blob and table outputs', async () => {
    const triggered = await host.dropBlob('inbox/batch-7/notes.txt', 'hello', { owner: 'ops' });
    expect(triggered).toEqual(['inboxDrop']);
    const written = await host.storage.blobs
      .getContainerClient('processed')
      .getBlockBlobClient('batch-7/notes.txt.json')
      .downloadToBuffer();
    expect(JSON.parse(written.toString())).toEqual({
      text: 'HELLO',
      path: 'inbox/batch-7/notes.txt',
      metadata: { owner: 'ops' },
    });
    const receipt = await host.storage.table('receipts').getEntity('batch-7', 'notes.txt');
    expect(receipt.Bytes).toBe(5);
    expect(await host.dropBlob('elsewhere/batch-7/notes.txt', 'x')).toEqual([]);
  });

  it('processes queue messages, retries failures and moves a message that failed five times to the poison queue', async () => {
    const queue = host.storage.queues.getQueueClient('work-items');
    await queue.createIfNotExists();
    for (const item of [{ id: 'good' }, { id: 'bad', fail: true }]) {
      await queue.sendMessage(Buffer.from(JSON.stringify(item)).toString('base64'));
    }
    for (let round = 0; round < 5; round++) await host.pollQueues();

    expect(seen.queueAttempts.get('good')).toBe(1);
    expect(seen.queueAttempts.get('bad')).toBe(5);
    const done = await host.storage.table('workdone').getEntity('work', 'good');
    expect(done.DequeueCount).toBe(1);
    expect(await drain('work-items-poison')).toEqual(['{"id":"bad","fail":true}']);
    expect(await drain('work-items')).toEqual([]);
  });
});
