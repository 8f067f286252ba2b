import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../../local/clock';
import type { HostJson } from '../../local/hostConfig';
import { listenHttp, type HostServer } from '../../local/httpServer';
import { LocalHost } from '../../local/localHost';
import { fixtureSettings, newSeen, registerBindingsFixture, type Seen } from '../fixtures/bindingsFixtureApp';
import { testSettings } from '../support/testHost';

/** A clock the test moves: background loops sleep on it, so a 02:00 timer fires when the test says so. */
class ManualClock implements Clock {
  private readonly sleepers = new Set<{ until: number; wake: () => void }>();
  private time: number;

  constructor(start: string) {
    this.time = Date.parse(start);
  }

  now(): Date {
    return new Date(this.time);
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const sleeper = {
        until: this.time + ms,
        wake: () => {
          this.sleepers.delete(sleeper);
          resolve();
        },
      };
      signal.addEventListener('abort', sleeper.wake, { once: true });
      this.sleepers.add(sleeper);
    });
  }

  set(time: string): void {
    this.time = Date.parse(time);
    for (const sleeper of [...this.sleepers]) if (sleeper.until <= this.time) sleeper.wake();
  }

  advance(ms: number): void {
    this.set(new Date(this.time + ms).toISOString());
  }
}

interface FixtureHost {
  host: LocalHost;
  seen: Seen;
  settings: Record<string, string>;
}

/** A host on the fixture app with its own containers and queue; `restartOf` reuses another's storage and host id. */
async function fixtureHost(
  options: { clock?: Clock; hostJson?: HostJson; restartOf?: FixtureHost } = {},
): Promise<FixtureHost> {
  const seen = options.restartOf?.seen ?? newSeen();
  const settings =
    options.restartOf?.settings ?? testSettings(fixtureSettings(randomBytes(4).toString('hex')));
  const host = await LocalHost.start({
    app: { register: () => registerBindingsFixture(seen) },
    settings,
    hostId: `test-${settings.INBOX_CONTAINER}`,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.hostJson ? { hostJson: options.hostJson } : {}),
  });
  return { host, seen, settings };
}

async function drain(host: LocalHost, queueName: string): Promise<string[]> {
  const queue = host.storage.queues.getQueueClient(queueName);
  const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
  return receivedMessageItems.map((m) => Buffer.from(m.messageText, 'base64').toString('utf8'));
}

async function sendWork(host: LocalHost, queueName: string, ...items: object[]): Promise<void> {
  const queue = host.storage.queues.getQueueClient(queueName);
  await queue.createIfNotExists();
  for (const item of items) await queue.sendMessage(Buffer.from(JSON.stringify(item)).toString('base64'));
}

/** Uploads a blob as any other tool would: a plain SDK client, not the host. */
async function uploadBlob(host: LocalHost, container: string, name: string, content: string): Promise<void> {
  const client = host.storage.blobs.getContainerClient(container);
  await client.createIfNotExists();
  await client.getBlockBlobClient(name).upload(content, Buffer.byteLength(content));
}

/** Waits for background work (which runs on real promises, whatever the clock) to show its effect. */
const eventually = <T>(check: () => T) => vi.waitFor(check, { timeout: 15_000, interval: 20 });

const timersOf = (seen: Seen, name: string) => seen.timers.filter((t) => t.name === name).map((t) => t.timer);

describe('local host: triggers and bindings', () => {
  let f: FixtureHost;
  beforeAll(async () => {
    f = await fixtureHost();
  });
  afterAll(() => f.host.stop());

  it('routes HTTP calls with route parameters, query, headers and body, and enforces the function key', async () => {
    const { host } = f;
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
    expect((await host.http({ ...call, path: `${call.path}&code=${host.masterKey}` })).status).toBe(200);
    expect(
      (await host.http({ ...call, method: 'GET', path: `/api/echo/42?code=${host.functionKey}` })).status,
    ).toBe(404);
  });

  it('fires a timer with the payload the host sends and writes its queue output', async () => {
    await f.host.timer('nightlyTick', { isPastDue: true });
    const [timer] = timersOf(f.seen, 'nightlyTick');
    expect(timer?.isPastDue).toBe(true);
    expect(timer?.scheduleStatus?.next).toMatch(/^\d{4}-\d\d-\d\dT02:00:00/);
    expect(await drain(f.host, 'ticks')).toEqual(['{"pastDue":true}', 'second message']);
  });

  it('runs a blob trigger on a dropped blob with its path parameters and metadata, and writes blob and table outputs', async () => {
    const inbox = f.settings.INBOX_CONTAINER ?? '';
    const triggered = await f.host.dropBlob(`${inbox}/batch-7/notes.txt`, 'hello', { owner: 'ops' });
    expect(triggered).toEqual(['inboxDrop']);
    const written = await f.host.storage.blobs
      .getContainerClient('processed')
      .getBlockBlobClient('batch-7/notes.txt.json')
      .downloadToBuffer();
    expect(JSON.parse(written.toString())).toEqual({
      text: 'HELLO',
      path: `${inbox}/batch-7/notes.txt`,
      metadata: { owner: 'ops' },
    });
    const receipt = await f.host.storage.table('receipts').getEntity('batch-7', 'notes.txt');
    expect(receipt.Bytes).toBe(5);
    expect(await f.host.dropBlob('elsewhere/batch-7/notes.txt', 'x')).toEqual([]);
  });

  it('processes queue messages, retries failures and moves a message that failed five times to the poison queue', async () => {
    const queueName = f.settings.WORK_QUEUE ?? '';
    await sendWork(f.host, queueName, { id: 'good' }, { id: 'bad', fail: true });
    for (let round = 0; round < 5; round++) await f.host.pollQueues();

    expect(f.seen.queueAttempts.get('good')).toBe(1);
    expect(f.seen.queueAttempts.get('bad')).toBe(5);
    const done = await f.host.storage.table('workdone').getEntity('work', 'good');
    expect(done.DequeueCount).toBe(1);
    expect(await drain(f.host, `${queueName}-poison`)).toEqual(['{"id":"bad","fail":true}']);
    expect(await drain(f.host, queueName)).toEqual([]);
  });
});

describe('timer triggers on their schedules', () => {
  it('fires each timer at its NCRONTAB occurrences (UTC), runs runOnStartup timers, and fires a tick missed while stopped as past due', async () => {
    const clock = new ManualClock('2030-01-01T01:59:58Z');
    const first = await fixtureHost({ clock });
    await first.host.startBackground();
    // runOnStartup: at start, not past due; the other timers wait for their time.
    expect(timersOf(first.seen, 'startupTick')).toHaveLength(1);
    expect(timersOf(first.seen, 'startupTick')[0]?.isPastDue).toBe(false);
    expect(timersOf(first.seen, 'frequentTick')).toHaveLength(0);

    clock.set('2030-01-01T02:00:00Z');
    await eventually(() => {
      expect(timersOf(first.seen, 'frequentTick')).toHaveLength(1);
      expect(timersOf(first.seen, 'nightlyTick')).toHaveLength(1);
    });
    const [tick] = timersOf(first.seen, 'frequentTick');
    expect(tick?.isPastDue).toBe(false);
    expect(tick?.scheduleStatus.next).toBe('2030-01-01T02:00:00.000Z');

    clock.set('2030-01-01T02:05:00Z');
    await eventually(() => expect(timersOf(first.seen, 'frequentTick')).toHaveLength(2));
    expect(timersOf(first.seen, 'frequentTick')[1]?.scheduleStatus.last).toBe('2030-01-01T02:00:00.000Z');
    expect(timersOf(first.seen, 'nightlyTick')).toHaveLength(1);
    await first.host.stop();

    // Down from 02:05:30 to 02:20: the 02:10 and 02:15 ticks are missed; the restart fires one, past due.
    clock.set('2030-01-01T02:20:00Z');
    const second = await fixtureHost({ clock, restartOf: first });
    await second.host.startBackground();
    try {
      const ticks = timersOf(second.seen, 'frequentTick');
      expect(ticks).toHaveLength(3);
      expect(ticks[2]?.isPastDue).toBe(true);
      expect(ticks[2]?.scheduleStatus.next).toBe('2030-01-01T02:10:00.000Z');
      expect(timersOf(second.seen, 'nightlyTick')).toHaveLength(1);
      expect(timersOf(second.seen, 'startupTick')).toHaveLength(2);

      clock.set('2030-01-01T02:25:00Z');
      await eventually(() => expect(timersOf(second.seen, 'frequentTick')).toHaveLength(4));
      expect(timersOf(second.seen, 'frequentTick')[3]?.isPastDue).toBe(false);
    } finally {
      await second.host.stop();
    }
  });

  it('refuses a schedule that is not a six-field NCRONTAB expression', async () => {
    const seen = newSeen();
    await expect(
      LocalHost.start({
        app: { register: () => registerBindingsFixture(seen) },
        settings: testSettings({ ...fixtureSettings('cron'), TICK_SCHEDULE: '*/5 * * * *' }),
      }),
    ).rejects.toThrow(/six fields/);
  });
});

describe('the Event Grid webhook', () => {
  let f: FixtureHost;
  let server: HostServer;
  beforeAll(async () => {
    f = await fixtureHost();
    server = await listenHttp(f.host, { port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await f.host.stop();
  });

  const deliver = (eventType: string, body: unknown, key: string | undefined, functionName = 'gridEvents') =>
    fetch(
      `${server.url}/runtime/webhooks/eventgrid?functionName=${functionName}${key ? `&code=${key}` : ''}`,
      {
        method: 'POST',
        headers: { 'aeg-event-type': eventType, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
    );
  const gridEvent = (id: string, data: Record<string, unknown> = {}) => ({
    id,
    eventType: 'Microsoft.Storage.BlobCreated',
    subject: `/blobServices/default/containers/c/blobs/${id}`,
    eventTime: '2030-01-01T00:00:00Z',
    data,
    dataVersion: '1',
    topic: '/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/z',
  });

  it('answers the subscription validation handshake with the validation code', async () => {
    const validation = {
      ...gridEvent('v-1', { validationCode: 'code-123' }),
      eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
    };
    const response = await deliver('SubscriptionValidation', [validation], f.host.eventGridKey);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ validationResponse: 'code-123' });
    expect(f.seen.events).toHaveLength(0);
  });

  it('invokes the function once per event, in the Event Grid and the CloudEvents schemas', async () => {
    const response = await deliver('Notification', [gridEvent('e-1'), gridEvent('e-2')], f.host.eventGridKey);
    expect(response.status).toBe(202);
    const cloudEvent = {
      specversion: '1.0',
      id: 'ce-1',
      source: '/mailbox',
      type: 'mail.delivered',
      data: { messageId: 'm-1' },
    };
    expect((await deliver('Notification', cloudEvent, f.host.masterKey)).status).toBe(202);
    await f.host.eventGrid('gridEvents', gridEvent('direct-1'));
    expect(f.seen.events.map((e) => e.id).sort()).toEqual(['ce-1', 'direct-1', 'e-1', 'e-2']);
    expect(f.seen.events.find((e) => e.id === 'e-1')?.eventType).toBe('Microsoft.Storage.BlobCreated');
    expect(f.seen.events.find((e) => e.id === 'ce-1')?.data).toEqual({ messageId: 'm-1' });
  });

  it('requires the eventgrid_extension or the master key, and names unknown functions and failures', async () => {
    expect((await deliver('Notification', [gridEvent('k-1')], undefined)).status).toBe(401);
    expect((await deliver('Notification', [gridEvent('k-2')], f.host.functionKey)).status).toBe(401);
    expect((await deliver('Notification', [gridEvent('k-3')], f.host.eventGridKey, 'nothing')).status).toBe(
      404,
    );
    expect((await deliver('Notification', { not: 'an event' }, f.host.eventGridKey)).status).toBe(400);
    const failed = await deliver('Notification', [gridEvent('k-4', { fail: true })], f.host.eventGridKey);
    // A 500 makes Event Grid deliver the batch again.
    expect(failed.status).toBe(500);
    expect(f.seen.events.map((e) => e.id)).not.toContain('k-1');
  });
});

describe('queue triggers with the host semantics', () => {
  it('keeps a failed message invisible for visibilityTimeout, and moves it to the poison queue after maxDequeueCount', async () => {
    const f = await fixtureHost({
      hostJson: { extensions: { queues: { visibilityTimeout: '00:05:00', maxDequeueCount: 2 } } },
    });
    try {
      const queueName = f.settings.WORK_QUEUE ?? '';
      const queue = f.host.storage.queues.getQueueClient(queueName);
      await sendWork(f.host, queueName, { id: 'slow', fail: true });
      expect(await f.host.pollQueues()).toBe(1);
      // Still in the queue, but hidden for five minutes: another poll does not see it.
      expect((await queue.getProperties()).approximateMessagesCount).toBe(1);
      expect((await queue.peekMessages()).peekedMessageItems).toEqual([]);
      expect(await f.host.pollQueues()).toBe(0);
      expect(f.seen.queueAttempts.get('slow')).toBe(1);

      await queue.clearMessages();
      await sendWork(f.host, queueName, { id: 'doomed', fail: true });
      // A first attempt that never completed (as when a host stops during it) leaves the next one the last.
      const [first] = (await queue.receiveMessages()).receivedMessageItems;
      await queue.updateMessage(first?.messageId ?? '', first?.popReceipt ?? '', undefined, 0);
      expect(await f.host.pollQueues()).toBe(1);
      expect(f.seen.queueAttempts.get('doomed')).toBe(1);
      expect(await drain(f.host, `${queueName}-poison`)).toEqual(['{"id":"doomed","fail":true}']);
    } finally {
      await f.host.stop();
    }
  });

  it('gives the dequeue count in the trigger metadata and receives batchSize messages per poll', async () => {
    const f = await fixtureHost({ hostJson: { extensions: { queues: { batchSize: 2 } } } });
    try {
      const queueName = f.settings.WORK_QUEUE ?? '';
      await sendWork(f.host, queueName, { id: 'once-flaky', failAttempts: 1 });
      expect(await f.host.pollQueues()).toBe(1);
      expect(await f.host.pollQueues()).toBe(1);
      expect((await f.host.storage.table('workdone').getEntity('work', 'once-flaky')).DequeueCount).toBe(2);

      await sendWork(f.host, queueName, { id: 'b-1' }, { id: 'b-2' }, { id: 'b-3' });
      expect(await f.host.pollQueues()).toBe(2);
      expect(await f.host.pollQueues()).toBe(1);
    } finally {
      await f.host.stop();
    }
  });

  it('polls the queues in the background once started', async () => {
    const clock = new ManualClock('2030-01-01T00:00:00Z');
    const f = await fixtureHost({
      clock,
      hostJson: { extensions: { queues: { maxPollingInterval: '00:00:02' } } },
    });
    await f.host.startBackground();
    try {
      await sendWork(f.host, f.settings.WORK_QUEUE ?? '', { id: 'background-1' });
      await eventually(() => {
        clock.advance(2000);
        expect(f.seen.queueAttempts.get('background-1')).toBe(1);
      });
    } finally {
      await f.host.stop();
    }
    expect(await drain(f.host, f.settings.WORK_QUEUE ?? '')).toEqual([]);
  });
});

describe('the blob watcher', () => {
  it('fires a blob uploaded by another client once, for polling and Event Grid blob triggers, also after a restart', async () => {
    const clock = new ManualClock('2030-01-01T00:00:00Z');
    const first = await fixtureHost({ clock });
    const inbox = first.settings.INBOX_CONTAINER ?? '';
    const grid = first.settings.GRID_CONTAINER ?? '';
    await first.host.startBackground();
    try {
      await uploadBlob(first.host, inbox, 'batch-1/a.txt', 'alpha');
      await uploadBlob(first.host, grid, 'report.csv', 'x;y');
      await eventually(() => {
        clock.advance(1000);
        expect(first.seen.blobs).toEqual(
          expect.arrayContaining([`inboxDrop:${inbox}/batch-1/a.txt`, `gridDrop:${grid}/report.csv`]),
        );
      });
      // More scans find nothing new.
      expect(await first.host.scanBlobs()).toBe(0);
    } finally {
      await first.host.stop();
    }
    expect(first.seen.blobs).toHaveLength(2);

    // The receipts are in storage, under the host id: a restarted host does not fire the blobs again.
    const second = await fixtureHost({ clock, restartOf: first });
    try {
      expect(await second.host.scanBlobs()).toBe(0);
      expect(second.seen.blobs).toHaveLength(2);
      const receipts = second.host.storage.blobs.getContainerClient('azure-webjobs-hosts').listBlobsFlat({
        prefix: `blobreceipts/${second.host.hostId}/Host.Functions.inboxDrop/`,
      });
      const names: string[] = [];
      for await (const receipt of receipts) names.push(receipt.name);
      expect(names).toEqual([expect.stringMatching(new RegExp(`/${inbox}/batch-1/a\\.txt$`))]);

      // A changed blob is a new version: it fires again, once.
      await uploadBlob(second.host, inbox, 'batch-1/a.txt', 'alpha, edited');
      expect(await second.host.scanBlobs()).toBe(1);
      expect(await second.host.scanBlobs()).toBe(0);
      expect(second.seen.blobs.filter((b) => b.startsWith('inboxDrop:'))).toHaveLength(2);
    } finally {
      await second.host.stop();
    }
  });

  it('retries a failing blob at each scan and moves it to the blob trigger poison queue after maxDequeueCount', async () => {
    const f = await fixtureHost({ hostJson: { extensions: { queues: { maxDequeueCount: 2 } } } });
    try {
      const inbox = f.settings.INBOX_CONTAINER ?? '';
      await uploadBlob(f.host, inbox, 'batch-2/broken.txt', 'fail');
      expect(await f.host.scanBlobs()).toBe(1);
      expect(await f.host.scanBlobs()).toBe(1);
      expect(await f.host.scanBlobs()).toBe(0);
      const poisoned = (await drain(f.host, 'webjobs-blobtrigger-poison')).map(
        (m) => JSON.parse(m) as unknown,
      );
      expect(poisoned).toContainEqual(
        expect.objectContaining({
          FunctionId: 'Host.Functions.inboxDrop',
          ContainerName: inbox,
          BlobName: 'batch-2/broken.txt',
        }),
      );
    } finally {
      await f.host.stop();
    }
  });
});

describe('the admin endpoint', () => {
  let f: FixtureHost;
  let server: HostServer;
  beforeAll(async () => {
    f = await fixtureHost();
    server = await listenHttp(f.host, { port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await f.host.stop();
  });

  const run = (name: string, body: unknown, key: string | undefined) =>
    fetch(`${server.url}/admin/functions/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'x-functions-key': key } : {}) },
      body: JSON.stringify(body),
    });

  it('runs a timer function now with the timer payload, and a queue function with the input as message', async () => {
    const response = await run('frequentTick', { input: '' }, f.host.masterKey);
    expect(response.status).toBe(202);
    await eventually(() => expect(timersOf(f.seen, 'frequentTick')).toHaveLength(1));
    expect(timersOf(f.seen, 'frequentTick')[0]).toMatchObject({
      isPastDue: false,
      schedule: { adjustForDST: true },
    });

    expect((await run('workItems', { input: '{"id":"by-admin"}' }, f.host.masterKey)).status).toBe(202);
    await eventually(() => expect(f.seen.queueAttempts.get('by-admin')).toBe(1));
  });

  it('requires the master key: no key and the function key are refused', async () => {
    expect((await run('frequentTick', { input: '' }, undefined)).status).toBe(401);
    expect((await run('frequentTick', { input: '' }, f.host.functionKey)).status).toBe(401);
    expect((await run('nothing', { input: '' }, f.host.masterKey)).status).toBe(404);
    expect((await run('echo', { input: '' }, f.host.masterKey)).status).toBe(400);
    expect((await run('frequentTick', { input: 42 }, f.host.masterKey)).status).toBe(400);
  });
});
