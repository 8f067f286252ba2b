import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventType, type HistoryEvent } from '../../local/durable/history';
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

beforeAll(async () => {
  host = await LocalHost.start({
    app: { register: () => registerDurableFixture(counters) },
    settings: testSettings(),
    hostJson: {
      extensions: {
        durableTask: { maxConcurrentActivityFunctions: 4, maxConcurrentOrchestratorFunctions: 2 },
      },
    },
  });
});

afterAll(() => host.stop());

async function start(name: string, input?: unknown, instanceId?: string): Promise<string> {
  const response = await host.http({
    method: 'POST',
    path: `/api/orchestrators/${name}${instanceId ? `/${instanceId}` : ''}?code=${host.functionKey}`,
    ...(input === undefined ? {} : { body: JSON.stringify(input) }),
  });
  expect(response.status).toBe(202);
  return response.json<CheckStatus>().id;
}

async function finished(instanceId: string): Promise<Status> {
  await host.engine.waitForCompletion(instanceId, 20_000);
  return status(instanceId);
}

async function status(instanceId: string): Promise<Status> {
  const response = await host.http({ path: `/api/instances/${instanceId}?code=${host.functionKey}` });
  expect(response.status).toBe(200);
  return response.json<Status>();
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
    const before = Date.now();
    const id = await start('timerThenReport');
    const result = await finished(id);
    expect(Date.now() - before).toBeGreaterThanOrEqual(300);
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

  it('starts an instance id once: a repeated start returns the same instance without running it again', async () => {
    const first = await start('fanOut', 5, 'fixed-id-1');
    await finished(first);
    const runsAfterFirst = counters.activityRuns;
    const second = await start('fanOut', 5, 'fixed-id-1');
    expect(second).toBe(first);
    await host.engine.whenIdle();
    expect(counters.activityRuns).toBe(runsAfterFirst);
    expect(eventsOf(await status(first), EventType.ExecutionStarted)).toHaveLength(1);
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
