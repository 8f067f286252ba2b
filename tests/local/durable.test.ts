import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DurableEngine, DurableError } from '../../local/durable/engine';
import { EventType, type HistoryEvent } from '../../local/durable/history';
import { AzureInstanceStore, type StoredInstance } from '../../local/durable/store';
import { LocalHost } from '../../local/localHost';
import { newCounters, registerDurableFixture } from '../fixtures/durableFixtureApp';
import { testSettings } from '../support/testHost';

interface CheckStatus {
  id: string;
  statusQueryGetUri: string;
}

interface Status {
  instanceId: string;
  runtimeStatus: string;
  output: unknown;
  customStatus: unknown;
  history?: HistoryEvent[];
}

const counters = newCounters();
let host: LocalHost;

/** A host running the fixture app; `settings` name its task hub (one of its own, unless shared on purpose). */
function startFixtureHost(settings: Record<string, string> = testSettings()): Promise<LocalHost> {
  return LocalHost.start({
    app: { register: () => registerDurableFixture(counters) },
    settings,
    hostJson: {
      extensions: {
        durableTask: {
          hubName: '%DURABLE_TASK_HUB%',
          maxConcurrentActivityFunctions: 4,
          maxConcurrentOrchestratorFunctions: 2,
        },
      },
    },
  });
}

beforeAll(async () => {
  host = await startFixtureHost();
});

afterAll(() => host.stop());

/** Starts an orchestration through the fixture's HTTP function, which calls DurableClient.startNew. */
function postStart(name: string, input?: unknown, instanceId?: string, on: LocalHost = host) {
  return on.http({
    method: 'POST',
    path: `/api/orchestrators/${name}${instanceId ? `/${instanceId}` : ''}?code=${on.functionKey}`,
    ...(input === undefined ? {} : { body: JSON.stringify(input) }),
  });
}

async function start(
  name: string,
  input?: unknown,
  instanceId?: string,
  on: LocalHost = host,
): Promise<string> {
  const response = await postStart(name, input, instanceId, on);
  expect(response.status).toBe(202);
  return response.json<CheckStatus>().id;
}

async function finished(instanceId: string, on: LocalHost = host): Promise<Status> {
  await on.engine.waitForCompletion(instanceId, 20_000);
  return status(instanceId, on);
}

async function status(instanceId: string, on: LocalHost = host): Promise<Status> {
  const response = await on.http({ path: `/api/instances/${instanceId}?code=${on.functionKey}` });
  expect(response.status).toBe(200);
  // The HTTP API gives the history in the extension's display shape (`historyEvents`, which
  // durable-functions does not read); these tests check the replay history the engine keeps.
  return { ...response.json<Status>(), history: (await on.engine.getStatus(instanceId))?.history ?? [] };
}

async function raise(
  instanceId: string,
  eventName: string,
  data: unknown,
  on: LocalHost = host,
): Promise<void> {
  const response = await on.http({
    method: 'POST',
    path: `/api/instances/${instanceId}/events/${eventName}?code=${on.functionKey}`,
    body: JSON.stringify(data),
  });
  expect(response.status).toBe(202);
}

async function terminate(instanceId: string, on: LocalHost = host): Promise<void> {
  const response = await on.http({
    method: 'POST',
    path: `/api/instances/${instanceId}/terminate?code=${on.functionKey}`,
  });
  expect(response.status).toBe(202);
}

/** Waits until the instance's history (as the host reports it) has an event of this type. */
async function reached(instanceId: string, type: EventType, on: LocalHost = host): Promise<void> {
  await vi.waitFor(
    async () => {
      expect(eventsOf(await status(instanceId, on), type).length).toBeGreaterThan(0);
    },
    { timeout: 10_000, interval: 20 },
  );
}

function eventsOf(s: Status, type: EventType): HistoryEvent[] {
  return (s.history ?? []).filter((e) => e.EventType === type);
}

describe('local host: durable orchestrations', () => {
  it('fans out 20 activities and fans in their results, within the activity concurrency limit', async () => {
    const id = await start('fanOut', 20);
    const result = await finished(id);
    expect(result.runtimeStatus).toBe('Completed');
    expect(result.output).toBe(420);
    expect(eventsOf(result, EventType.TaskScheduled)).toHaveLength(20);
    expect(eventsOf(result, EventType.TaskCompleted)).toHaveLength(20);
    expect(counters.peakInFlight).toBeLessThanOrEqual(4);
    expect(counters.peakInFlight).toBeGreaterThan(1);
  });

  it('retries a failing activity with backoff until it succeeds on the third try', async () => {
    const id = await start('retrying', { key: 'third-time', failTimes: 2, maxAttempts: 5 });
    const result = await finished(id);
    expect(result.output).toBe('ok after 3');
    expect(counters.attempts.get('third-time')).toBe(3);
    const failures = eventsOf(result, EventType.TaskFailed);
    const timers = eventsOf(result, EventType.TimerFired);
    expect(failures).toHaveLength(2);
    expect(timers).toHaveLength(2);
    // Each retry waited for its timer: 100 ms after the failure that caused it.
    for (let i = 0; i < 2; i++) {
      const gap = Date.parse(timers[i]?.Timestamp ?? '') - Date.parse(failures[i]?.Timestamp ?? '');
      expect(gap).toBeGreaterThanOrEqual(90);
    }
  });

  it('gives up after the last attempt and lets the orchestrator catch the failure', async () => {
    const id = await start('retrying', { key: 'always', failTimes: 99, maxAttempts: 2 });
    const result = await finished(id);
    expect(result.runtimeStatus).toBe('Completed');
    expect(result.output).toMatch(/^gave up: .*flaky failure 2/);
    expect(counters.attempts.get('always')).toBe(2);
  });

  it('runs a sub-orchestration and hands its output to the parent', async () => {
    const id = await start('parent');
    const result = await finished(id);
    expect(result.output).toEqual({ child: 12, doubled: 24 });
    const created = eventsOf(result, EventType.SubOrchestrationInstanceCreated);
    expect(created).toHaveLength(1);
    const child = await status(created[0]?.InstanceId ?? '');
    expect(child.runtimeStatus).toBe('Completed');
    expect(child.output).toBe(12);
  });

  it('waits for a durable timer, and the orchestration clock moves with it', async () => {
    const id = await start('timerThenReport');
    const result = await finished(id);
    expect(result.output).toBeGreaterThanOrEqual(300);
    expect(eventsOf(result, EventType.TimerFired)).toHaveLength(1);
  });

  it('waits for an external event raised through the durable client', async () => {
    const id = await start('approval');
    await host.engine.whenIdle();
    const waiting = await host.http({ path: `/api/instances/${id}?code=${host.functionKey}` });
    expect(waiting.json<Status>().runtimeStatus).toBe('Running');
    expect(waiting.json<Status>().customStatus).toBe('waiting for approval');

    const raised = await host.http({
      method: 'POST',
      path: `/api/instances/${id}/events/Approval?code=${host.functionKey}`,
      body: JSON.stringify({ approved: true }),
    });
    expect(raised.status).toBe(202);
    const result = await finished(id);
    expect(result.output).toBe('approved');
    expect(result.customStatus).toBe('decided');
  });

  it('lets an orchestrator catch a failing activity, and fails the instance when it does not', async () => {
    const caught = await finished(await start('catchesFailure'));
    expect(caught.runtimeStatus).toBe('Completed');
    expect(caught.output).toMatch(/^caught: .*boom: the activity broke/);

    const uncaught = await finished(await start('failsUncaught'));
    expect(uncaught.runtimeStatus).toBe('Failed');
    expect(String(uncaught.output)).toContain('boom: the activity broke');
  });

  it('detects a non-deterministic orchestrator and fails it with an explanation', async () => {
    const result = await finished(await start('nonDeterministic'));
    expect(result.runtimeStatus).toBe('Failed');
    expect(String(result.output)).toMatch(
      /Non-deterministic workflow detected.*CallActivity\(double\).*CallActivity\(flaky\)/,
    );
  });

  it('continues as new with fresh history until the orchestration returns', async () => {
    const result = await finished(await start('countdown', 3));
    expect(result.output).toBe('lift-off');
    // Only the last generation's history remains.
    expect(eventsOf(result, EventType.ExecutionStarted)).toHaveLength(1);
    expect(eventsOf(result, EventType.TaskScheduled)).toHaveLength(1);
  });

  it('terminates, lists and purges instances through the durable client', async () => {
    const id = await start('approval');
    await host.engine.whenIdle();
    expect(
      (await host.http({ method: 'POST', path: `/api/instances/${id}/terminate?code=${host.functionKey}` }))
        .status,
    ).toBe(202);
    expect((await status(id)).runtimeStatus).toBe('Terminated');

    const listed = (await host.http({ path: `/api/instances?code=${host.functionKey}` })).json<Status[]>();
    expect(listed.map((s) => s.instanceId)).toContain(id);

    const purged = await host.http({
      method: 'DELETE',
      path: `/api/instances/${id}?code=${host.functionKey}`,
    });
    expect(purged.json<{ instancesDeleted: number }>().instancesDeleted).toBe(1);
    expect((await host.http({ path: `/api/instances/${id}?code=${host.functionKey}` })).status).toBe(404);
  });
});

describe('local host: starting an instance id that exists (Azure Storage provider, NonRunningStates)', () => {
  it('refuses a running id with 409 Conflict, which DurableClient.startNew rejects with', async () => {
    const id = await start('approval', undefined, 'conflict-running');
    await host.engine.whenIdle();
    const again = await postStart('approval', { other: 'input' }, id);
    expect(again.status).toBe(409);
    // The error durable-functions' startNew throws, carrying the extension's 409 body.
    expect(again.json<{ error: string }>().error).toBe(
      'The operation failed with an unexpected status code: 409. Details: ' +
        '{"Message":"An Orchestration instance with the status Running already exists."}',
    );
    // The running instance is untouched, and goes on.
    const running = await status(id);
    expect(running.runtimeStatus).toBe('Running');
    expect(eventsOf(running, EventType.ExecutionStarted)).toHaveLength(1);
    await raise(id, 'Approval', { approved: false });
    expect((await finished(id)).output).toBe('rejected');
  });

  it('refuses a pending id: of two starts of one id at once, exactly one starts', async () => {
    const id = 'conflict-pending';
    const results = await Promise.allSettled([
      host.engine.start('approval', null, id),
      host.engine.start('approval', null, id),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected');
    expect(refused?.reason).toBeInstanceOf(DurableError);
    expect((refused?.reason as DurableError).code).toBe('conflict');
    expect((refused?.reason as DurableError).message).toBe(
      'An Orchestration instance with the status Pending already exists.',
    );
    await host.engine.whenIdle();
    await terminate(id);
  });

  it('starts a completed id afresh, with its new input and a new history', async () => {
    const id = await start('fanOut', 5, 'fresh-completed');
    expect((await finished(id)).output).toBe(30);
    const runsBefore = counters.activityRuns;

    expect(await start('fanOut', 3, id)).toBe(id);
    const again = await finished(id);
    expect(again.runtimeStatus).toBe('Completed');
    expect(again.output).toBe(12);
    expect(counters.activityRuns - runsBefore).toBe(3);
    const started = eventsOf(again, EventType.ExecutionStarted);
    expect(started).toHaveLength(1);
    expect(started[0]?.Input).toBe('3');
    expect(eventsOf(again, EventType.TaskScheduled)).toHaveLength(3);
  });

  it('starts a failed id and a terminated id afresh', async () => {
    const failedId = await start('failsUncaught', undefined, 'fresh-failed');
    expect((await finished(failedId)).runtimeStatus).toBe('Failed');
    await start('fanOut', 2, failedId);
    const rerun = await finished(failedId);
    expect(rerun.runtimeStatus).toBe('Completed');
    expect(rerun.output).toBe(6);

    const terminatedId = await start('approval', undefined, 'fresh-terminated');
    await host.engine.whenIdle();
    await terminate(terminatedId);
    expect((await status(terminatedId)).runtimeStatus).toBe('Terminated');
    await start('approval', undefined, terminatedId);
    await host.engine.whenIdle();
    const restarted = await status(terminatedId);
    expect(restarted.runtimeStatus).toBe('Running');
    expect(eventsOf(restarted, EventType.ExecutionTerminated)).toHaveLength(0);
    await raise(terminatedId, 'Approval', { approved: true });
    expect((await finished(terminatedId)).output).toBe('approved');
  });

  it('fails a sub-orchestration call whose instance id is running, and the parent can catch it', async () => {
    const childId = await start('approval', undefined, 'busy-child');
    await host.engine.whenIdle();
    const parent = await finished(await start('awaitsChild', childId));
    expect(parent.output).toMatch(
      /^caught: An Orchestration instance with the status Running already exists\./,
    );
    expect((await status(childId)).runtimeStatus).toBe('Running');
    await terminate(childId);
  });
});

describe('local host: orchestrations resume after a restart', () => {
  it('goes on from the stored history, without running again an activity it completed', async () => {
    const settings = testSettings();
    const before = await startFixtureHost(settings);
    const id = await start('stepThenEvent', 'resume-event', undefined, before);
    await before.engine.whenIdle();
    expect((await status(id, before)).customStatus).toBe('waiting for Go');
    await before.stop();
    expect(counters.tallies.get('resume-event:first')).toBe(1);

    const after = await startFixtureHost(settings);
    try {
      // Already resumed when start() returned: a second call finds nothing more to take up.
      expect(await after.engine.resumePersisted()).toBe(0);
      const waiting = await status(id, after);
      expect(waiting.runtimeStatus).toBe('Running');
      expect(waiting.customStatus).toBe('waiting for Go');
      await raise(id, 'Go', 'go!', after);
      const result = await finished(id, after);
      expect(result.runtimeStatus).toBe('Completed');
      expect(result.output).toEqual(['resume-event:first #1', 'go!', 'resume-event:second #1']);
      expect(counters.tallies.get('resume-event:first')).toBe(1);
      expect(counters.tallies.get('resume-event:second')).toBe(1);
      expect(eventsOf(result, EventType.ExecutionStarted)).toHaveLength(1);
      expect(eventsOf(result, EventType.TaskScheduled)).toHaveLength(2);
    } finally {
      await after.stop();
    }
  });

  it('sets a durable timer again for the time it was due', async () => {
    const settings = testSettings();
    const before = await startFixtureHost(settings);
    const startedAt = Date.now();
    const id = await start('stepThenTimer', { key: 'resume-timer', ms: 1500 }, undefined, before);
    await reached(id, EventType.TimerCreated, before);
    await before.stop();

    const after = await startFixtureHost(settings);
    try {
      const result = await finished(id, after);
      expect(result.runtimeStatus).toBe('Completed');
      expect(result.output).toMatchObject({
        first: 'resume-timer:first #1',
        second: 'resume-timer:second #1',
      });
      expect((result.output as { waited: number }).waited).toBeGreaterThanOrEqual(1500);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1500);
      expect(counters.tallies.get('resume-timer:first')).toBe(1);
      expect(eventsOf(result, EventType.TimerCreated)).toHaveLength(1);
      expect(eventsOf(result, EventType.TimerFired)).toHaveLength(1);
    } finally {
      await after.stop();
    }
  });

  it('runs again an activity that was scheduled and had not completed when the host stopped', async () => {
    const settings = testSettings();
    const before = await startFixtureHost(settings);
    const id = await start('slowStep', 'resume-in-flight', undefined, before);
    await reached(id, EventType.TaskScheduled, before);
    await before.stop();

    const after = await startFixtureHost(settings);
    try {
      const result = await finished(id, after);
      // At least once: the run the stop cut off finished unseen, and the resumed instance ran it again.
      expect(result.output).toBe('resume-in-flight #2');
      expect(counters.tallies.get('resume-in-flight')).toBe(2);
      expect(eventsOf(result, EventType.TaskScheduled)).toHaveLength(1);
    } finally {
      await after.stop();
    }
  });

  it("keeps a retried activity's attempt count and retry timer across the restart", async () => {
    const settings = testSettings();
    const before = await startFixtureHost(settings);
    const input = { key: 'resume-retry', failTimes: 1, maxAttempts: 3, firstRetryMs: 1000 };
    const id = await start('retrying', input, undefined, before);
    await reached(id, EventType.TimerCreated, before);
    await before.stop();
    expect(counters.attempts.get('resume-retry')).toBe(1);

    const after = await startFixtureHost(settings);
    try {
      const result = await finished(id, after);
      expect(result.output).toBe('ok after 2');
      expect(counters.attempts.get('resume-retry')).toBe(2);
      expect(eventsOf(result, EventType.TaskFailed)).toHaveLength(1);
      expect(eventsOf(result, EventType.TaskCompleted)).toHaveLength(1);
    } finally {
      await after.stop();
    }
  });

  it('resumes a parent and the sub-orchestration it waits for, which reports to it when done', async () => {
    const settings = testSettings();
    const before = await startFixtureHost(settings);
    const childId = 'resume-child';
    const parentId = await start('awaitsChild', childId, undefined, before);
    await vi.waitFor(
      async () => expect((await status(childId, before)).customStatus).toBe('waiting for approval'),
      {
        timeout: 10_000,
        interval: 20,
      },
    );
    await before.stop();

    const after = await startFixtureHost(settings);
    try {
      await raise(childId, 'Approval', { approved: true }, after);
      const parent = await finished(parentId, after);
      expect(parent.output).toBe('child said approved');
      expect((await status(childId, after)).runtimeStatus).toBe('Completed');
    } finally {
      await after.stop();
    }
  });

  it("writes a running instance's state behind it, and a host resumes from what a killed process leaves", async () => {
    const running = await startFixtureHost();
    const id = await start('stepThenEvent', 'killed', undefined, running);
    let written: StoredInstance | undefined;
    try {
      // No stop, no flush: the state reaches storage on its own within about a second.
      const store = new AzureInstanceStore(running.storage, running.hubName);
      await vi.waitFor(
        async () => {
          written = await store.load(id);
          expect(written?.runtimeStatus).toBe('Running');
          expect(written?.customStatus).toBe('waiting for Go');
          expect(written?.history.some((e) => e.EventType === EventType.TaskCompleted)).toBe(true);
        },
        { timeout: 3000, interval: 100 },
      );
      await terminate(id, running);
    } finally {
      await running.stop();
    }

    // Storage as a process killed at that moment leaves it (copied to a task hub of its own).
    const settings = testSettings();
    const state = written as StoredInstance;
    await new AzureInstanceStore(running.storage, settings.DURABLE_TASK_HUB ?? '').save(id, () => state);
    const after = await startFixtureHost(settings);
    try {
      await raise(id, 'Go', 'go!', after);
      const result = await finished(id, after);
      expect(result.output).toEqual(['killed:first #1', 'go!', 'killed:second #1']);
      expect(counters.tallies.get('killed:first')).toBe(1);
    } finally {
      await after.stop();
    }
  });

  it('starts even when storage cannot be read, reporting it and trying again later', async () => {
    const logged: string[] = [];
    const down = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:3'));
    const engine = new DurableEngine({
      runner: {
        isOrchestrator: () => true,
        isActivity: () => true,
        runOrchestrator: () => Promise.reject(new Error('not used')),
        runActivity: () => Promise.reject(new Error('not used')),
      },
      store: { save: down, load: down, list: down, listStatuses: down, delete: down },
      maxConcurrentActivities: 1,
      maxConcurrentOrchestrations: 1,
      log: (level, message) => logged.push(`${level}: ${message}`),
    });
    try {
      expect(await engine.resumePersisted()).toBe(0);
      expect(logged).toEqual([
        'error: Reading the orchestrations to resume failed: connect ECONNREFUSED 127.0.0.1:3; trying again in 10 s.',
      ]);
    } finally {
      engine.stop();
    }
  });
});
