import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AzureInstanceStore } from '../../local/durable/store';
import { LocalHost } from '../../local/localHost';
import { newCounters, registerDurableFixture } from '../fixtures/durableFixtureApp';
import { testSettings } from '../support/testHost';

/** A status as the Durable extension's HTTP API gives it. */
interface Status {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  createdTime: string;
  historyEvents?: Record<string, unknown>[];
}

interface Management {
  id: string;
  statusQueryGetUri: string;
}

const counters = newCounters();
let host: LocalHost;
/** The base of the Durable HTTP API (`…/runtime/webhooks/durabletask/`), as the app's client binding gives it. */
let api: string;

/**
 * The fixture app, and a function that tells the base of the Durable HTTP API as the app's client binding
 * gives it (the ops console calls that API directly, since durable-functions' client cannot page).
 */
function registerApp(): void {
  registerDurableFixture(counters);
  app.http('durableApiBase', {
    route: 'durable-api-base',
    methods: ['GET'],
    authLevel: 'function',
    extraInputs: [df.input.durableClient()],
    handler: (_request: HttpRequest, context: InvocationContext) => {
      const { statusQueryGetUri } = df.getClient(context).createHttpManagementPayload('ID');
      return { jsonBody: { base: statusQueryGetUri.slice(0, statusQueryGetUri.indexOf('instances/ID')) } };
    },
  });
}

function startFixtureHost(settings: Record<string, string> = testSettings()): Promise<LocalHost> {
  return LocalHost.start({
    app: { register: registerApp },
    settings,
    hostJson: {
      extensions: {
        durableTask: {
          hubName: '%DURABLE_TASK_HUB%',
          maxConcurrentActivityFunctions: 4,
          maxConcurrentOrchestratorFunctions: 4,
        },
      },
    },
  });
}

async function apiBase(on: LocalHost): Promise<string> {
  const response = await on.http({ path: `/api/durable-api-base?code=${on.functionKey}` });
  return response.json<{ base: string }>().base;
}

beforeAll(async () => {
  // As in Azure, where WEBSITE_HOSTNAME is set: durable-functions then keeps the URLs the extension gives.
  // Without it, it rewrites them to http://localhost:7071, where `func start` would serve the API.
  vi.stubEnv('WEBSITE_HOSTNAME', '127.0.0.1');
  host = await startFixtureHost();
  api = await apiBase(host);
});

afterAll(async () => {
  await host.stop();
  vi.unstubAllEnvs();
});

function call(path: string, init: RequestInit = {}, base = api): Promise<Response> {
  return fetch(`${base}${path}`, init);
}

async function start(name: string, input: unknown, id: string, base = api): Promise<string> {
  const response = await call(
    `orchestrators/${name}/${encodeURIComponent(id)}`,
    { method: 'POST', body: JSON.stringify(input) },
    base,
  );
  expect(response.status).toBe(202);
  return ((await response.json()) as Management).id;
}

async function status(id: string, query = '', base = api): Promise<Status> {
  const response = await call(`instances/${encodeURIComponent(id)}${query}`, {}, base);
  expect(response.ok).toBe(true);
  return (await response.json()) as Status;
}

async function post(id: string, action: string, base = api): Promise<Response> {
  return call(`instances/${encodeURIComponent(id)}/${action}`, { method: 'POST' }, base);
}

async function raise(id: string, event: string, data: unknown, base = api): Promise<void> {
  const response = await call(
    `instances/${encodeURIComponent(id)}/raiseEvent/${event}`,
    { method: 'POST', body: JSON.stringify(data), headers: { 'content-type': 'application/json' } },
    base,
  );
  expect(response.status).toBe(202);
}

async function waitForCustomStatus(id: string, expected: unknown, base = api): Promise<void> {
  await vi.waitFor(async () => expect((await status(id, '', base)).customStatus).toEqual(expected), {
    timeout: 10_000,
    interval: 20,
  });
}

/** Reads every page of a listing, as a caller following `x-ms-continuation-token` does. */
async function allPages(query: string): Promise<{ sizes: number[]; statuses: Status[] }> {
  const sizes: number[] = [];
  const statuses: Status[] = [];
  let token: string | null = null;
  do {
    const response: Response = await call(`instances?${query}`, {
      headers: token ? { 'x-ms-continuation-token': token } : {},
    });
    expect(response.status).toBe(200);
    const page = (await response.json()) as Status[];
    sizes.push(page.length);
    statuses.push(...page);
    token = response.headers.get('x-ms-continuation-token');
  } while (token);
  return { sizes, statuses };
}

function ids(statuses: Status[]): string[] {
  return statuses.map((s) => s.instanceId);
}

describe('Durable HTTP API: listing instances', () => {
  const pageIds = Array.from({ length: 120 }, (_, i) => `page-${String(i).padStart(3, '0')}`);

  beforeAll(async () => {
    for (const id of pageIds) await start('approval', { n: id }, id);
    await host.engine.whenIdle();
  });

  it('pages 120 instances 50 at a time with continuation tokens, each instance once', async () => {
    const { sizes, statuses } = await allPages('instanceIdPrefix=page-&top=50&showInput=false');
    expect(sizes).toEqual([50, 50, 20]);
    expect(ids(statuses).sort()).toEqual(pageIds);
    expect(new Set(ids(statuses)).size).toBe(120);
  });

  it('returns every match in one answer, without a token, when no page size is asked', async () => {
    const response = await call('instances?instanceIdPrefix=page-');
    expect(response.headers.get('x-ms-continuation-token')).toBeNull();
    expect(ids((await response.json()) as Status[]).sort()).toEqual(pageIds);
  });

  it('filters by instance id prefix, quotes included', async () => {
    await start('approval', null, "o'brien-1");
    const { statuses } = await allPages('instanceIdPrefix=page-11&top=4');
    expect(ids(statuses)).toEqual(pageIds.filter((id) => id.startsWith('page-11')));
    expect(ids((await allPages("instanceIdPrefix=o'brien")).statuses)).toEqual(["o'brien-1"]);
    expect((await allPages('instanceIdPrefix=nothing-')).statuses).toEqual([]);
    await post("o'brien-1", 'terminate');
  });

  it('filters by status and creation time, page by page', async () => {
    const before = new Date().toISOString();
    const mixIds = Array.from({ length: 30 }, (_, i) => `mix-${String(i).padStart(2, '0')}`);
    for (const id of mixIds) await start('approval', null, id);
    await host.engine.whenIdle();
    const terminated = mixIds.filter((_, i) => i % 2 === 0);
    for (const id of terminated) expect((await post(id, 'terminate?reason=test')).status).toBe(202);

    const done = await allPages('instanceIdPrefix=mix-&runtimeStatus=Terminated&top=4');
    expect(done.sizes).toEqual([4, 4, 4, 3]);
    expect(ids(done.statuses)).toEqual(terminated);
    expect(done.statuses.every((s) => s.runtimeStatus === 'Terminated')).toBe(true);

    const both = await allPages('instanceIdPrefix=mix-&runtimeStatus=Running,Terminated&top=7');
    expect(ids(both.statuses)).toEqual(mixIds);

    const since = await allPages(`instanceIdPrefix=mix-&createdTimeFrom=${before}&top=50`);
    expect(ids(since.statuses)).toEqual(mixIds);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await allPages(`instanceIdPrefix=mix-&createdTimeFrom=${future}`)).statuses).toEqual([]);
    const old = await allPages(`instanceIdPrefix=mix-&createdTimeTo=${before}`);
    expect(old.statuses).toEqual([]);
    for (const id of mixIds.filter((id) => !terminated.includes(id))) await post(id, 'terminate');
  });

  it('shows inputs unless showInput=false, with the custom status and times from the instances table', async () => {
    const [withInput] = (await allPages('instanceIdPrefix=page-000')).statuses;
    expect(withInput).toMatchObject({
      name: 'approval',
      instanceId: 'page-000',
      runtimeStatus: 'Running',
      input: { n: 'page-000' },
      customStatus: 'waiting for approval',
      output: null,
    });
    const [withoutInput] = (await allPages('instanceIdPrefix=page-000&showInput=false')).statuses;
    expect(withoutInput).toMatchObject({
      instanceId: 'page-000',
      input: null,
      customStatus: 'waiting for approval',
    });
    expect(Date.parse(withoutInput?.createdTime ?? '')).not.toBeNaN();
  });

  it('gives the output of a finished instance without reading its state, and refuses a foreign token', async () => {
    const id = await start('fanOut', 4, 'listed-output');
    await host.engine.waitForCompletion(id, 10_000);
    const [listed] = (await allPages('instanceIdPrefix=listed-output&showInput=false&top=10')).statuses;
    expect(listed).toMatchObject({ runtimeStatus: 'Completed', output: 20, input: null });

    const bogus = await call('instances?top=10', { headers: { 'x-ms-continuation-token': 'not-a-token' } });
    expect(bogus.status).toBe(400);
  });
});

describe('Durable HTTP API: suspend and resume', () => {
  it('holds an orchestration while suspended, keeps the event raised meanwhile, and goes on when resumed', async () => {
    const id = await start('stepThenEvent', 'held', 'suspend-event');
    await waitForCustomStatus(id, 'waiting for Go');

    expect((await post(id, 'suspend?reason=maintenance')).status).toBe(202);
    const suspended = await call(`instances/${id}`);
    expect(suspended.status).toBe(202);
    expect(((await suspended.json()) as Status).runtimeStatus).toBe('Suspended');
    // Suspended counts as active: the same id cannot start again.
    expect(
      (await call(`orchestrators/stepThenEvent/${id}`, { method: 'POST', body: '"again"' })).status,
    ).toBe(409);
    // Suspending again changes nothing.
    expect((await post(id, 'suspend')).status).toBe(202);

    await raise(id, 'Go', 'go!');
    await host.engine.whenIdle();
    expect((await status(id)).runtimeStatus).toBe('Suspended');
    expect(counters.tallies.get('held:second')).toBeUndefined();

    expect((await post(id, 'resume?reason=done')).status).toBe(202);
    const result = await host.engine.waitForCompletion(id, 10_000);
    expect(result.output).toEqual(['held:first #1', 'go!', 'held:second #1']);

    const history = (await status(id, '?showHistory=true')).historyEvents ?? [];
    expect(history.map((e) => e.EventType)).toEqual(
      expect.arrayContaining(['ExecutionSuspended', 'EventRaised', 'ExecutionResumed']),
    );
    expect(history.find((e) => e.EventType === 'ExecutionSuspended')).toMatchObject({
      Reason: 'maintenance',
    });
  });

  it('keeps the completion of an activity that ends while suspended, and applies it on resume', async () => {
    const id = await start('slowStep', 'slow-held', 'suspend-activity');
    await vi.waitFor(
      async () => {
        const history = (await status(id, '?showHistory=true')).historyEvents ?? [];
        expect(history.some((e) => e.EventType === 'TaskScheduled')).toBe(true);
      },
      { timeout: 10_000, interval: 20 },
    );
    expect((await post(id, 'suspend')).status).toBe(202);
    await host.engine.whenIdle();
    expect(counters.tallies.get('slow-held')).toBe(1);
    expect((await status(id)).runtimeStatus).toBe('Suspended');

    expect((await post(id, 'resume')).status).toBe(202);
    expect((await host.engine.waitForCompletion(id, 10_000)).output).toBe('slow-held #1');
    expect(counters.tallies.get('slow-held')).toBe(1);
  });

  it('answers 410 for a finished instance and 404 for an unknown one; resuming a running one changes nothing', async () => {
    const done = await start('fanOut', 1, 'suspend-finished');
    await host.engine.waitForCompletion(done, 10_000);
    expect((await post(done, 'suspend')).status).toBe(410);
    expect((await post(done, 'resume')).status).toBe(410);
    expect((await post('no-such-instance', 'suspend')).status).toBe(404);
    expect((await post('no-such-instance', 'resume')).status).toBe(404);

    const running = await start('approval', null, 'resume-running');
    await waitForCustomStatus(running, 'waiting for approval');
    expect((await post(running, 'resume')).status).toBe(202);
    expect((await status(running)).runtimeStatus).toBe('Running');
    await post(running, 'terminate');
  });

  it('terminates a suspended instance', async () => {
    const id = await start('approval', null, 'suspend-terminate');
    await waitForCustomStatus(id, 'waiting for approval');
    await post(id, 'suspend');
    expect((await post(id, 'terminate?reason=enough')).status).toBe(202);
    const terminated = await status(id);
    expect(terminated).toMatchObject({ runtimeStatus: 'Terminated', output: 'enough' });
  });

  it('restores a suspended instance as suspended after a restart of the host', async () => {
    const settings = testSettings();
    const before = await startFixtureHost(settings);
    const beforeApi = await apiBase(before);
    const id = await start('stepThenEvent', 'restored', 'suspend-restart', beforeApi);
    await waitForCustomStatus(id, 'waiting for Go', beforeApi);
    await post(id, 'suspend', beforeApi);
    await before.stop();

    const after = await startFixtureHost(settings);
    try {
      const afterApi = await apiBase(after);
      expect((await status(id, '', afterApi)).runtimeStatus).toBe('Suspended');
      await raise(id, 'Go', 'go!', afterApi);
      await after.engine.whenIdle();
      expect((await status(id, '', afterApi)).runtimeStatus).toBe('Suspended');
      await post(id, 'resume', afterApi);
      expect((await after.engine.waitForCompletion(id, 10_000)).output).toEqual([
        'restored:first #1',
        'go!',
        'restored:second #1',
      ]);
    } finally {
      await after.stop();
    }
  });
});

describe('Durable HTTP API: restart', () => {
  it('starts the same orchestration with the original input under a new id by default', async () => {
    const id = await start('fanOut', 3, 'restart-source');
    await host.engine.waitForCompletion(id, 10_000);

    const response = await post(id, 'restart');
    expect(response.status).toBe(202);
    const management = (await response.json()) as Management;
    expect(management.id).not.toBe(id);
    expect(management.id).toMatch(/^[0-9a-f]{32}$/);
    expect(response.headers.get('location')).toBe(management.statusQueryGetUri);
    await host.engine.waitForCompletion(management.id, 10_000);
    const restarted = (await (await fetch(management.statusQueryGetUri)).json()) as Status;
    expect(restarted).toMatchObject({ name: 'fanOut', input: 3, output: 12, runtimeStatus: 'Completed' });
    expect((await status(id)).runtimeStatus).toBe('Completed');
  });

  it('starts it again under the same id when asked, only once the instance is no longer active', async () => {
    const id = await start('fanOut', 2, 'restart-same');
    await host.engine.waitForCompletion(id, 10_000);
    const runsBefore = counters.activityRuns;
    const response = await post(id, 'restart?restartWithNewInstanceId=false');
    expect(response.status).toBe(202);
    expect(((await response.json()) as Management).id).toBe(id);
    expect((await host.engine.waitForCompletion(id, 10_000)).output).toBe(6);
    expect(counters.activityRuns - runsBefore).toBe(2);

    const running = await start('approval', null, 'restart-running');
    await waitForCustomStatus(running, 'waiting for approval');
    expect((await post(running, 'restart?restartWithNewInstanceId=false')).status).toBe(409);
    expect((await post('no-such-instance', 'restart')).status).toBe(404);
    await post(running, 'terminate');
  });
});

describe('Durable HTTP API: history', () => {
  it('shows a sequence of activities and an event as the extension does', async () => {
    const id = await start('stepThenEvent', 'seq', 'history-sequence');
    await waitForCustomStatus(id, 'waiting for Go');
    await raise(id, 'Go', 'go!');
    await host.engine.waitForCompletion(id, 10_000);

    const { historyEvents, ...rest } = await status(id, '?showHistory=true&showHistoryOutput=true');
    expect(rest).not.toHaveProperty('history');
    const events = historyEvents ?? [];
    expect(events.map((e) => e.EventType)).toEqual([
      'ExecutionStarted',
      'TaskCompleted',
      'EventRaised',
      'TaskCompleted',
      'ExecutionCompleted',
    ]);
    const [started, first, raised, second, completed] = events;
    expect(started).toMatchObject({ FunctionName: 'stepThenEvent', Input: '"seq"' });
    expect(first).toMatchObject({ FunctionName: 'tally', Result: 'seq:first #1', Input: '"seq:first"' });
    expect(second).toMatchObject({ FunctionName: 'tally', Result: 'seq:second #1' });
    for (const task of [first, second]) {
      expect(Date.parse(String(task?.ScheduledTime))).toBeLessThanOrEqual(
        Date.parse(String(task?.Timestamp)),
      );
      expect(task).not.toHaveProperty('TaskScheduledId');
      expect(task).not.toHaveProperty('EventId');
    }
    expect(raised).toMatchObject({ Name: 'Go', Input: '"go!"' });
    expect(completed).toMatchObject({
      OrchestrationStatus: 'Completed',
      Result: ['seq:first #1', 'go!', 'seq:second #1'],
    });

    const withoutOutput = (await status(id, '?showHistory=true')).historyEvents ?? [];
    expect(withoutOutput.some((e) => 'Result' in e)).toBe(false);
    const withoutInput = (await status(id, '?showHistory=true&showInput=false')).historyEvents ?? [];
    expect(withoutInput.some((e) => 'Input' in e)).toBe(false);
    expect((await status(id)).historyEvents).toBeUndefined();
  });

  it('names the sub-orchestration, its child instance and its result, and a failed activity with its reason', async () => {
    const id = await start('parent', null, 'history-parent');
    await host.engine.waitForCompletion(id, 10_000);
    const events = (await status(id, '?showHistory=true&showHistoryOutput=true')).historyEvents ?? [];
    expect(events.map((e) => e.EventType)).toEqual([
      'ExecutionStarted',
      'SubOrchestrationInstanceCompleted',
      'TaskCompleted',
      'ExecutionCompleted',
    ]);
    const child = events[1];
    expect(child).toMatchObject({ FunctionName: 'fanOut', Result: 12, Input: '3' });
    expect(typeof child?.ScheduledTime).toBe('string');
    const childStatus = await status(String(child?.InstanceId), '?showHistory=true');
    expect(childStatus).toMatchObject({ name: 'fanOut', output: 12 });
    expect(childStatus.historyEvents?.filter((e) => e.EventType === 'TaskCompleted')).toHaveLength(3);
    expect(events[2]).toMatchObject({ FunctionName: 'double', Result: 24 });
    expect(events[3]).toMatchObject({ OrchestrationStatus: 'Completed', Result: { child: 12, doubled: 24 } });

    const caught = await start('catchesFailure', null, 'history-failure');
    await host.engine.waitForCompletion(caught, 10_000);
    const failed = ((await status(caught, '?showHistory=true')).historyEvents ?? []).find(
      (e) => e.EventType === 'TaskFailed',
    );
    expect(failed).toMatchObject({ FunctionName: 'boom' });
    expect(String(failed?.Reason)).toContain('boom: the activity broke');
    expect(typeof failed?.Details).toBe('string');
    expect(typeof failed?.ScheduledTime).toBe('string');
  });

  it('leaves an activity still running as TaskScheduled', async () => {
    const id = await start('slowStep', 'in-flight', 'history-in-flight');
    await vi.waitFor(
      async () => {
        const events = (await status(id, '?showHistory=true')).historyEvents ?? [];
        expect(events.find((e) => e.EventType === 'TaskScheduled')).toMatchObject({ Name: 'slowTally' });
      },
      { timeout: 10_000, interval: 20 },
    );
    await host.engine.waitForCompletion(id, 10_000);
  });
});

describe('Durable HTTP API: purge', () => {
  const store = () => new AzureInstanceStore(host.storage, host.hubName);

  it('refuses to purge a running or suspended instance, and deletes nothing of it', async () => {
    const running = await start('approval', null, 'purge-running');
    const suspended = await start('approval', null, 'purge-suspended');
    await waitForCustomStatus(running, 'waiting for approval');
    await waitForCustomStatus(suspended, 'waiting for approval');
    await post(suspended, 'suspend');

    for (const id of [running, suspended]) {
      const response = await call(`instances/${id}`, { method: 'DELETE' });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ instancesDeleted: 0 });
      expect(await store().load(id)).toBeDefined();
    }
    await raise(running, 'Approval', { approved: true });
    expect((await host.engine.waitForCompletion(running, 10_000)).output).toBe('approved');
    await post(suspended, 'terminate');

    const purged = await call(`instances/${running}`, { method: 'DELETE' });
    expect(await purged.json()).toEqual({ instancesDeleted: 1 });
    expect((await call(`instances/${running}`)).status).toBe(404);
    expect((await call('instances/never-was', { method: 'DELETE' })).status).toBe(404);
  });

  it('purges in bulk only the finished instances, whatever statuses are asked', async () => {
    const from = new Date().toISOString();
    const finished: string[] = [];
    for (let i = 0; i < 3; i++) finished.push(await start('fanOut', 1, `bulk-done-${i}`));
    for (const id of finished) await host.engine.waitForCompletion(id, 10_000);
    const running = await start('approval', null, 'bulk-running');
    const suspended = await start('approval', null, 'bulk-suspended');
    await waitForCustomStatus(suspended, 'waiting for approval');
    await post(suspended, 'suspend');

    expect((await call('instances?runtimeStatus=Completed', { method: 'DELETE' })).status).toBe(400);
    const activeOnly = await call(
      `instances?createdTimeFrom=${from}&runtimeStatus=Running,Suspended,Pending`,
      {
        method: 'DELETE',
      },
    );
    expect(activeOnly.status).toBe(404);

    const response = await call(
      `instances?createdTimeFrom=${from}&runtimeStatus=Running,Suspended,Completed`,
      {
        method: 'DELETE',
      },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ instancesDeleted: 3 });
    for (const id of finished) expect((await call(`instances/${id}`)).status).toBe(404);
    expect((await status(running)).runtimeStatus).toBe('Running');
    expect((await status(suspended)).runtimeStatus).toBe('Suspended');
    expect(await store().load(running)).toBeDefined();
    expect(await store().load(suspended)).toBeDefined();
    // Finished instances created before the range are left alone.
    expect((await status('listed-output')).runtimeStatus).toBe('Completed');
    await post(running, 'terminate');
    await post(suspended, 'terminate');
  });
});
