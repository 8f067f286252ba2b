import { Semaphore } from '../../functions/platform/semaphore';
import { EventType, historyEvent, type HistoryEvent } from './history';
import {
  matchesStatus,
  TERMINAL_STATUSES as TERMINAL,
  type InstancePage,
  type InstanceQuery,
  type InstanceRecord,
  type InstanceStatus,
  type InstanceStore,
  type RuntimeStatus,
  type StoredInstance,
} from './store';

/** An action as durable-functions returns it in the orchestrator state (replay schema V3). */
export interface WireAction {
  actionType: ActionType;
  functionName?: string;
  input?: unknown;
  instanceId?: string;
  retryOptions?: RetryOptions;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  compoundActions?: WireAction[];
}

export enum ActionType {
  CallActivity = 0,
  CallActivityWithRetry = 1,
  CallSubOrchestrator = 2,
  CallSubOrchestratorWithRetry = 3,
  ContinueAsNew = 4,
  CreateTimer = 5,
  WaitForExternalEvent = 6,
  CallEntity = 7,
  CallHttp = 8,
  SignalEntity = 9,
  WhenAny = 11,
  WhenAll = 12,
  LockEntities = 13,
  ReleaseEntities = 14,
}

export interface RetryOptions {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
}

export interface OrchestratorState {
  isDone: boolean;
  actions: WireAction[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
}

export type OrchestratorOutcome = { ok: true; state: OrchestratorState } | { ok: false; message: string };

/** The payload of the orchestrationTrigger binding. */
export interface OrchestrationTriggerPayload {
  history: HistoryEvent[];
  input: unknown;
  instanceId: string;
  isReplaying: boolean;
  parentInstanceId: string | undefined;
  upperSchemaVersion: number;
  upperSchemaVersionNew: number;
  maximumShortTimerDuration: string;
  longRunningTimerIntervalDuration: string;
  defaultHttpAsyncRequestSleepTimeMillseconds: number;
}

/** How the engine reaches the app's functions. */
export interface FunctionRunner {
  isOrchestrator(name: string): boolean;
  isActivity(name: string): boolean;
  runOrchestrator(name: string, payload: OrchestrationTriggerPayload): Promise<OrchestratorOutcome>;
  runActivity(name: string, input: unknown): Promise<unknown>;
}

export interface EngineOptions {
  runner: FunctionRunner;
  store: InstanceStore;
  maxConcurrentActivities: number;
  maxConcurrentOrchestrations: number;
  now?: () => Date;
  /** Where the engine reports what goes wrong outside any call (resuming stored instances). */
  log?: (level: 'warning' | 'error', message: string) => void;
}

export class DurableError extends Error {
  constructor(
    readonly code: 'not_found' | 'unknown_orchestrator' | 'invalid_instance_id' | 'not_running' | 'conflict',
    message: string,
  ) {
    super(message);
    this.name = 'DurableError';
  }
}

// V3 is the replay schema the Durable extension announces today; it needs the timer limits below.
const REPLAY_SCHEMA_V3 = 2;
/** How long the engine waits before trying again to read the instances to resume. */
const RESUME_RETRY_MS = 10_000;
/** The statuses in which starting the same id fails: the extension's default dedupe statuses. */
const ACTIVE: ReadonlySet<RuntimeStatus> = new Set(['Pending', 'Running', 'Suspended', 'ContinuedAsNew']);

interface RetryState {
  action: WireAction;
  /** The number of the attempt that ran last (1-based). */
  attempt: number;
}

/**
 * What a pending or running instance needs beyond its record to go on after a restart; stored with its
 * state. Work in flight (activities, timers, sub-orchestrations) is not stored: it is found again in the
 * history (a task scheduled and not completed, a timer created and not fired).
 */
export interface RuntimeState {
  parent?: { instanceId: string; taskId: number };
  /** Events received and not yet in the history (raised events, completions). */
  pending: HistoryEvent[];
  nextSequence: number;
  actionSignatures: string[];
  retryAttempts: [number, RetryState][];
  retryTimers: [number, RetryState][];
}

/** The state an episode started from, so a snapshot taken while it runs is consistent. */
interface EpisodeStart {
  batch: HistoryEvent[];
  nextSequence: number;
  retryAttempts: [number, RetryState][];
  retryTimers: [number, RetryState][];
}

interface LiveInstance {
  record: InstanceRecord;
  parent: { instanceId: string; taskId: number } | undefined;
  pending: HistoryEvent[];
  /** Signatures of the actions already taken, to catch a non-deterministic replay. */
  actionSignatures: string[];
  nextSequence: number;
  /** Retryable tasks by the id of their latest attempt, and retry timers by timer id. */
  retryAttempts: Map<number, RetryState>;
  retryTimers: Map<number, RetryState>;
  running: boolean;
  /** Set while an episode runs. */
  episode: EpisodeStart | undefined;
  /** Bumped whenever the instance restarts or ends, so late completions of old work are dropped. */
  generation: number;
  timers: Set<NodeJS.Timeout>;
  waiters: ((record: InstanceRecord) => void)[];
}

/**
 * Runs orchestrations the way the Durable extension does for out-of-process languages: it hands
 * the orchestrator its history, reads back the actions, carries them out (activities, retries,
 * sub-orchestrations, timers, external events, continue-as-new), appends the resulting history
 * events and replays, until the orchestration completes or fails.
 *
 * Sequence numbers follow durable-functions' own numbering: each scheduled task takes the next
 * number in the order the orchestrator yielded it, and a retried task takes one for its retry timer
 * and one for each new attempt, in the order the replay meets the failure and the timer.
 */
export class DurableEngine {
  private readonly live = new Map<string, LiveInstance>();
  private readonly activitySlots: Semaphore;
  private readonly orchestratorSlots: Semaphore;
  private readonly now: () => Date;
  private stopped = false;
  private resumeRetry: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  /** The longest history any instance reached (benchmarks check it stays under ~1,000 events). */
  maxHistoryEvents = 0;

  constructor(private readonly options: EngineOptions) {
    this.activitySlots = new Semaphore(options.maxConcurrentActivities);
    this.orchestratorSlots = new Semaphore(options.maxConcurrentOrchestrations);
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Starts an orchestration, as the Durable extension does with its default `overridableExistingInstanceStates`
   * (NonRunningStates): starting an id that is pending or running fails with a `conflict` error (the HTTP
   * API answers 409); a completed, failed or terminated id starts afresh, with new input and history.
   */
  async start(
    name: string,
    input: unknown,
    instanceId: string,
    parent?: LiveInstance['parent'],
  ): Promise<string> {
    validateInstanceId(instanceId);
    if (!this.options.runner.isOrchestrator(name)) {
      throw new DurableError(
        'unknown_orchestrator',
        `No orchestrator function named "${name}" is registered.`,
      );
    }
    const stored = this.live.has(instanceId) ? undefined : await this.options.store.load(instanceId);
    // Checked after the load and before anything else awaits, so two starts of one id cannot both pass.
    const previous = this.live.get(instanceId);
    const existing = previous?.record ?? stored;
    if (existing && ACTIVE.has(existing.runtimeStatus)) {
      throw new DurableError(
        'conflict',
        `An Orchestration instance with the status ${existing.runtimeStatus} already exists.`,
      );
    }

    const now = this.now();
    const instance: LiveInstance = {
      record: {
        instanceId,
        name,
        runtimeStatus: 'Pending',
        input,
        output: null,
        customStatus: null,
        createdTime: now.toISOString(),
        lastUpdatedTime: now.toISOString(),
        history: [],
      },
      parent,
      pending: [
        historyEvent(EventType.ExecutionStarted, now, { Name: name, Input: JSON.stringify(input ?? null) }),
      ],
      actionSignatures: [],
      nextSequence: 0,
      retryAttempts: new Map(),
      retryTimers: new Map(),
      running: false,
      episode: undefined,
      generation: (previous?.generation ?? 0) + 1,
      timers: new Set(),
      waiters: previous?.waiters ?? [],
    };
    if (previous) this.clearTimers(previous);
    this.live.set(instanceId, instance);
    await this.save(instance);
    this.schedule(instance);
    return instanceId;
  }

  /**
   * Takes up the pending and running instances that storage holds for this task hub (left by a process
   * that stopped or was killed): each goes on from its stored history, as after a restart in Azure.
   * Activities whose completion is in the stored history do not run again; those scheduled and not
   * completed run again, timers not fired are set again, and sub-orchestrations are looked up (still
   * running: they report when they finish; finished: their outcome is delivered; never started: started).
   * Returns how many instances were taken up. When storage cannot be read (it is down), the host still
   * starts: this reports the error, returns 0 and tries again every 10 s until it succeeds or the engine
   * stops.
   */
  async resumePersisted(): Promise<number> {
    clearTimeout(this.resumeRetry);
    this.resumeRetry = undefined;
    try {
      return await this.resumeStored();
    } catch (error) {
      if (this.stopped) return 0;
      this.options.log?.(
        'error',
        `Reading the orchestrations to resume failed: ${message(error)}; trying again in ${RESUME_RETRY_MS / 1000} s.`,
      );
      this.resumeRetry = setTimeout(() => void this.resumePersisted(), RESUME_RETRY_MS);
      this.resumeRetry.unref();
      return 0;
    }
  }

  private async resumeStored(): Promise<number> {
    const stored = (await this.options.store.list({ runtimeStatus: [...ACTIVE] })).instances;
    const resumed: LiveInstance[] = [];
    for (const { runtime, ...record } of stored) {
      if (this.stopped || this.live.has(record.instanceId) || !isRuntimeState(runtime)) continue;
      const instance: LiveInstance = {
        record,
        parent: runtime.parent,
        pending: runtime.pending,
        actionSignatures: runtime.actionSignatures,
        nextSequence: runtime.nextSequence,
        retryAttempts: new Map(runtime.retryAttempts),
        retryTimers: new Map(runtime.retryTimers),
        running: false,
        episode: undefined,
        generation: 1,
        timers: new Set(),
        waiters: [],
      };
      this.live.set(record.instanceId, instance);
      resumed.push(instance);
    }
    // Every resumed instance is live before any work starts, so children find their parents.
    for (const instance of resumed) {
      this.restartOutstandingWork(instance);
      this.schedule(instance);
    }
    return resumed.length;
  }

  async getStatus(instanceId: string): Promise<InstanceRecord | undefined> {
    return this.live.get(instanceId)?.record ?? (await this.options.store.load(instanceId));
  }

  /** Every instance that matches, with input and history. */
  async list(filter: Omit<InstanceQuery, 'top' | 'continuationToken'>): Promise<InstanceRecord[]> {
    return (await this.listPage(filter)).instances;
  }

  /**
   * A page of the instances that match, with input and history (a storage read each). Storage may be up to
   * a second behind a running instance, so what this process runs is shown as it is now.
   */
  async listPage(query: InstanceQuery): Promise<InstancePage<InstanceRecord>> {
    const page = await this.options.store.list(storedQuery(query));
    const instances = page.instances.map(({ runtime: _runtime, ...stored }) => {
      const live = this.live.get(stored.instanceId)?.record;
      return live ? { ...live } : stored;
    });
    return { ...page, instances: instances.filter((r) => matchesStatus(query, r.runtimeStatus)) };
  }

  /** The statuses of the instances that match, from the instances table (cheap), fresh for live ones. */
  async listStatuses(query: InstanceQuery): Promise<InstancePage<InstanceStatus>> {
    const page = await this.options.store.listStatuses(storedQuery(query));
    const instances = page.instances.map((stored) => {
      const live = this.live.get(stored.instanceId)?.record;
      return live ? statusOf(live) : stored;
    });
    return { ...page, instances: instances.filter((s) => matchesStatus(query, s.runtimeStatus)) };
  }

  async raiseEvent(instanceId: string, eventName: string, data: unknown): Promise<void> {
    const instance = await this.requireRunning(instanceId);
    instance.pending.push(
      historyEvent(EventType.EventRaised, this.now(), {
        Name: eventName,
        Input: JSON.stringify(data ?? null),
      }),
    );
    this.schedule(instance);
    // Like the extension's queue message, a raised event is stored before the call returns.
    await this.save(instance);
  }

  async terminate(instanceId: string, reason: string): Promise<void> {
    const instance = await this.requireRunning(instanceId);
    instance.generation++;
    this.clearTimers(instance);
    instance.pending = [];
    const now = this.now();
    instance.record.history.push(
      historyEvent(EventType.ExecutionTerminated, now, { Input: JSON.stringify(reason) }),
    );
    await this.finish(instance, 'Terminated', reason);
  }

  /**
   * Suspends an instance, as the extension does: it runs no episode until resumed, while its activities
   * and timers in flight, and events raised meanwhile, are kept for then. Suspending a suspended
   * instance changes nothing.
   */
  async suspend(instanceId: string, reason: string): Promise<void> {
    const instance = await this.requireRunning(instanceId);
    if (instance.record.runtimeStatus === 'Suspended') return;
    const now = this.now();
    instance.pending.push(historyEvent(EventType.ExecutionSuspended, now, { Reason: reason }));
    Object.assign(instance.record, { runtimeStatus: 'Suspended', lastUpdatedTime: now.toISOString() });
    await this.save(instance);
  }

  /** Resumes a suspended instance with what arrived meanwhile; resuming one not suspended changes nothing. */
  async resume(instanceId: string, reason: string): Promise<void> {
    const instance = await this.requireRunning(instanceId);
    if (instance.record.runtimeStatus !== 'Suspended') return;
    const now = this.now();
    instance.pending.push(historyEvent(EventType.ExecutionResumed, now, { Reason: reason }));
    Object.assign(instance.record, { runtimeStatus: 'Running', lastUpdatedTime: now.toISOString() });
    this.schedule(instance);
    await this.save(instance);
  }

  /**
   * Starts an instance's orchestration again with its input, as the extension's restart does: under a new
   * id, or under the same one (a `conflict` while it is active). Returns the id started.
   */
  async restart(instanceId: string, withNewInstanceId: boolean): Promise<string> {
    const record = await this.getStatus(instanceId);
    if (!record) throw new DurableError('not_found', `No instance with ID '${instanceId}' found.`);
    const id = withNewInstanceId ? newInstanceId() : instanceId;
    return this.start(record.name, record.input, id);
  }

  /** Removes a finished instance's state and history; returns how many instances were deleted. */
  async purge(instanceId: string): Promise<number> {
    const instance = this.live.get(instanceId);
    if (instance && !TERMINAL.has(instance.record.runtimeStatus)) return 0;
    this.live.delete(instanceId);
    return (await this.options.store.delete(instanceId)) ? 1 : 0;
  }

  /** Resolves with the instance once it completes, fails or is terminated. */
  waitForCompletion(instanceId: string, timeoutMs: number): Promise<InstanceRecord> {
    const instance = this.live.get(instanceId);
    if (!instance)
      return Promise.reject(new DurableError('not_found', `No instance with ID '${instanceId}' found.`));
    if (TERMINAL.has(instance.record.runtimeStatus)) return Promise.resolve(instance.record);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`Instance '${instanceId}' did not finish within ${timeoutMs} ms.`));
      }, timeoutMs);
      instance.waiters.push((record) => {
        clearTimeout(timer);
        resolve(record);
      });
    });
  }

  /** Resolves when no episode, activity or timer is in flight. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops all timers and ignores further work. The state of every pending or running instance is queued
   * for writing (the store's `flush()` writes it), with an episode still running counted as not run, so
   * a host started later on the same storage resumes them (`resumePersisted`).
   */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.resumeRetry);
    for (const instance of this.live.values()) {
      this.clearTimers(instance);
      if (!TERMINAL.has(instance.record.runtimeStatus)) void this.save(instance, 'soon');
    }
  }

  private async requireRunning(instanceId: string): Promise<LiveInstance> {
    const instance = this.live.get(instanceId);
    if (!instance) {
      const stored = await this.options.store.load(instanceId);
      if (!stored) throw new DurableError('not_found', `No instance with ID '${instanceId}' found.`);
      throw new DurableError('not_running', `Instance '${instanceId}' is ${stored.runtimeStatus}.`);
    }
    if (TERMINAL.has(instance.record.runtimeStatus)) {
      throw new DurableError('not_running', `Instance '${instanceId}' is ${instance.record.runtimeStatus}.`);
    }
    return instance;
  }

  private schedule(instance: LiveInstance): void {
    if (this.stopped || instance.running || instance.pending.length === 0) return;
    const status = instance.record.runtimeStatus;
    if (TERMINAL.has(status) || status === 'Suspended') return;
    instance.running = true;
    this.track(
      this.orchestratorSlots.run(async () => {
        try {
          await this.runEpisode(instance);
        } catch (error) {
          if (this.stopped) return;
          await this.finish(
            instance,
            'Failed',
            `The local host failed to run the orchestration: ${message(error)}`,
          );
        } finally {
          instance.running = false;
        }
        this.schedule(instance);
      }),
    );
  }

  private async runEpisode(instance: LiveInstance): Promise<void> {
    // Suspended after this episode was queued: its events wait for the resume.
    if (instance.record.runtimeStatus === 'Suspended') return;
    const generation = instance.generation;
    const batch = this.orderBatch(instance, instance.pending.splice(0));
    // An episode never starts before the events it handles (a timer that fired is at least at its FireAt).
    const now = new Date(Math.max(this.now().getTime(), ...batch.map((e) => Date.parse(e.Timestamp))));
    instance.episode = {
      batch,
      nextSequence: instance.nextSequence,
      retryAttempts: copyRetries(instance.retryAttempts),
      retryTimers: copyRetries(instance.retryTimers),
    };
    const newEvents: HistoryEvent[] = [historyEvent(EventType.OrchestratorStarted, now), ...batch];
    const followUps: (() => void)[] = [];
    for (const event of batch) this.applyRetryBookkeeping(instance, event, newEvents, followUps);

    const record = instance.record;
    record.runtimeStatus = 'Running';
    const replayHistory = [...record.history, ...newEvents];
    const outcome = await this.options.runner.runOrchestrator(record.name, {
      history: replayHistory,
      input: record.input,
      instanceId: record.instanceId,
      isReplaying: record.history.length > 0,
      parentInstanceId: instance.parent?.instanceId,
      upperSchemaVersion: REPLAY_SCHEMA_V3,
      upperSchemaVersionNew: REPLAY_SCHEMA_V3,
      maximumShortTimerDuration: '6.00:00:00',
      longRunningTimerIntervalDuration: '3.00:00:00',
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    });
    // Stopped: the episode counts as not run (its events stay pending in what stop() writes).
    if (this.stopped) return;
    instance.episode = undefined;
    if (generation !== instance.generation) return;

    for (const event of newEvents) event.IsPlayed = true;
    record.history.push(...newEvents);
    if (!outcome.ok) {
      record.history.push(historyEvent(EventType.OrchestratorCompleted, this.now()));
      await this.finish(instance, 'Failed', outcome.message);
      return;
    }
    const state = outcome.state;
    record.customStatus = state.customStatus ?? null;
    const actions = flattenActions(state.actions);
    const divergence = this.checkDeterminism(instance, actions);
    if (divergence) {
      await this.finish(instance, 'Failed', divergence);
      return;
    }
    const unsupported = actions.find((a) => UNSUPPORTED_ACTIONS.has(a.actionType));
    if (unsupported) {
      await this.finish(
        instance,
        'Failed',
        `The local host does not support ${ActionType[unsupported.actionType]} actions (entities and durable HTTP).`,
      );
      return;
    }
    const fresh = actions.slice(instance.actionSignatures.length);
    instance.actionSignatures.push(...fresh.map(signature));
    let continueAsNew: WireAction | undefined;
    for (const action of fresh) {
      if (action.actionType === ActionType.ContinueAsNew) continueAsNew = action;
      else this.takeAction(instance, action, record.history, followUps);
    }
    record.history.push(historyEvent(EventType.OrchestratorCompleted, this.now()));
    this.maxHistoryEvents = Math.max(this.maxHistoryEvents, record.history.length);

    if (state.isDone && continueAsNew) {
      this.continueAsNew(instance, parseActionInput(continueAsNew.input));
      return;
    }
    if (state.isDone) {
      await this.finish(instance, 'Completed', state.output ?? null);
      return;
    }
    record.lastUpdatedTime = this.now().toISOString();
    void this.save(instance, 'soon');
    for (const start of followUps) start();
  }

  /**
   * Puts the events that make durable-functions number a retry (a retryable task's failure, and its
   * retry timer when attempts remain) before the others: those never resume the orchestrator code, so
   * their numbers come before the numbers of tasks the code yields in this episode, as in the replay.
   */
  private orderBatch(instance: LiveInstance, batch: HistoryEvent[]): HistoryEvent[] {
    const numbersRetry = (e: HistoryEvent): boolean =>
      (isFailure(e) && instance.retryAttempts.has(e.TaskScheduledId ?? -1)) ||
      (e.EventType === EventType.TimerFired && hasAttemptsLeft(instance.retryTimers.get(e.TimerId ?? -1)));
    return [...batch.filter(numbersRetry), ...batch.filter((e) => !numbersRetry(e))];
  }

  private applyRetryBookkeeping(
    instance: LiveInstance,
    event: HistoryEvent,
    history: HistoryEvent[],
    followUps: (() => void)[],
  ): void {
    if (isFailure(event)) {
      const retry = instance.retryAttempts.get(event.TaskScheduledId ?? -1);
      if (!retry) return;
      instance.retryAttempts.delete(event.TaskScheduledId ?? -1);
      // Like DTFx's retry interceptor, a timer follows every failed attempt, even the last one:
      // durable-functions decides the task has failed when that timer fires.
      const timerId = instance.nextSequence++;
      const fireAt = new Date(this.now().getTime() + retryDelay(retry));
      history.push(
        historyEvent(EventType.TimerCreated, this.now(), { EventId: timerId, FireAt: fireAt.toISOString() }),
      );
      instance.retryTimers.set(timerId, retry);
      followUps.push(() => this.startTimer(instance, timerId, fireAt));
      return;
    }
    if (event.EventType === EventType.TimerFired) {
      const retry = instance.retryTimers.get(event.TimerId ?? -1);
      if (!retry) return;
      instance.retryTimers.delete(event.TimerId ?? -1);
      if (!hasAttemptsLeft(retry)) return;
      retry.attempt++;
      const taskId = instance.nextSequence++;
      instance.retryAttempts.set(taskId, retry);
      this.recordScheduled(instance, retry.action, taskId, history, followUps);
    }
  }

  private takeAction(
    instance: LiveInstance,
    action: WireAction,
    history: HistoryEvent[],
    followUps: (() => void)[],
  ): void {
    switch (action.actionType) {
      case ActionType.WaitForExternalEvent:
        return;
      case ActionType.CreateTimer: {
        const timerId = instance.nextSequence++;
        const fireAt = new Date(action.fireAt ?? this.now().toISOString());
        history.push(
          historyEvent(EventType.TimerCreated, this.now(), {
            EventId: timerId,
            FireAt: fireAt.toISOString(),
          }),
        );
        if (!action.isCanceled) followUps.push(() => this.startTimer(instance, timerId, fireAt));
        return;
      }
      default: {
        const taskId = instance.nextSequence++;
        if (action.retryOptions) instance.retryAttempts.set(taskId, { action, attempt: 1 });
        this.recordScheduled(instance, action, taskId, history, followUps);
      }
    }
  }

  private recordScheduled(
    instance: LiveInstance,
    action: WireAction,
    taskId: number,
    history: HistoryEvent[],
    followUps: (() => void)[],
  ): void {
    const name = action.functionName ?? '';
    const isSub =
      action.actionType === ActionType.CallSubOrchestrator ||
      action.actionType === ActionType.CallSubOrchestratorWithRetry;
    const input = isSub ? action.input : parseActionInput(action.input);
    if (isSub) {
      const childId =
        action.instanceId ?? `${instance.record.instanceId}:${taskId.toString(16).padStart(4, '0')}`;
      history.push(
        historyEvent(EventType.SubOrchestrationInstanceCreated, this.now(), {
          EventId: taskId,
          Name: name,
          InstanceId: childId,
          Input: JSON.stringify(input ?? null),
        }),
      );
      followUps.push(() => this.startSubOrchestration(instance, taskId, name, childId, input));
    } else {
      history.push(
        historyEvent(EventType.TaskScheduled, this.now(), {
          EventId: taskId,
          Name: name,
          Input: JSON.stringify(input ?? null),
        }),
      );
      followUps.push(() => this.runActivity(instance, taskId, name, input));
    }
  }

  private runActivity(instance: LiveInstance, taskId: number, name: string, input: unknown): void {
    const generation = instance.generation;
    this.track(
      this.activitySlots.run(async () => {
        if (generation !== instance.generation || this.stopped) return;
        try {
          if (!this.options.runner.isActivity(name))
            throw new Error(`No activity function named "${name}" is registered.`);
          const result = await this.options.runner.runActivity(name, input);
          this.deliver(
            instance,
            generation,
            historyEvent(EventType.TaskCompleted, this.now(), {
              TaskScheduledId: taskId,
              Result: JSON.stringify(result ?? null),
            }),
          );
        } catch (error) {
          this.deliver(
            instance,
            generation,
            failure(
              EventType.TaskFailed,
              this.now(),
              taskId,
              `Activity function '${name}' failed: ${message(error)}`,
              stack(error),
            ),
          );
        }
      }),
    );
  }

  private startSubOrchestration(
    parent: LiveInstance,
    taskId: number,
    name: string,
    childId: string,
    input: unknown,
  ): void {
    const generation = parent.generation;
    // The child reports when it finishes; an id that is pending or running fails to start (conflict),
    // and the parent's task fails with that error.
    this.track(
      this.start(name, input, childId, { instanceId: parent.record.instanceId, taskId }).then(
        () => undefined,
        (error: unknown) => {
          this.deliver(
            parent,
            generation,
            failure(
              EventType.SubOrchestrationInstanceFailed,
              this.now(),
              taskId,
              message(error),
              stack(error),
            ),
          );
        },
      ),
    );
  }

  private startTimer(instance: LiveInstance, timerId: number, fireAt: Date): void {
    if (this.stopped) return;
    const generation = instance.generation;
    this.inFlight++;
    const handle = setTimeout(
      () => {
        instance.timers.delete(handle);
        this.deliver(
          instance,
          generation,
          // Node may run a timer a millisecond early; the extension never fires before FireAt.
          historyEvent(EventType.TimerFired, new Date(Math.max(this.now().getTime(), fireAt.getTime())), {
            TimerId: timerId,
            FireAt: fireAt.toISOString(),
          }),
        );
        this.settle();
      },
      Math.max(0, fireAt.getTime() - this.now().getTime()),
    );
    instance.timers.add(handle);
  }

  private deliver(instance: LiveInstance, generation: number, event: HistoryEvent): void {
    if (generation !== instance.generation || TERMINAL.has(instance.record.runtimeStatus)) return;
    instance.pending.push(event);
    this.schedule(instance);
  }

  private continueAsNew(instance: LiveInstance, input: unknown): void {
    instance.generation++;
    this.clearTimers(instance);
    const now = this.now();
    // Events raised while the previous generation ran carry over, as in the Durable extension, and so
    // does a suspension.
    const carried = instance.pending.filter((e) => CARRIED_OVER.has(e.EventType));
    Object.assign(instance, {
      pending: [
        historyEvent(EventType.ExecutionStarted, now, {
          Name: instance.record.name,
          Input: JSON.stringify(input ?? null),
        }),
        ...carried,
      ],
      actionSignatures: [],
      nextSequence: 0,
      retryAttempts: new Map(),
      retryTimers: new Map(),
    });
    Object.assign(instance.record, {
      input,
      history: [],
      lastUpdatedTime: now.toISOString(),
      runtimeStatus: instance.record.runtimeStatus === 'Suspended' ? 'Suspended' : 'Running',
    });
    void this.save(instance, 'soon');
  }

  private async finish(instance: LiveInstance, status: RuntimeStatus, output: unknown): Promise<void> {
    const record = instance.record;
    instance.generation++;
    this.clearTimers(instance);
    const now = this.now();
    if (status !== 'Terminated') {
      record.history.push(
        historyEvent(EventType.ExecutionCompleted, now, {
          OrchestrationStatus: status,
          Result: JSON.stringify(output),
        }),
      );
    }
    Object.assign(record, { runtimeStatus: status, output, lastUpdatedTime: now.toISOString() });
    this.maxHistoryEvents = Math.max(this.maxHistoryEvents, record.history.length);
    await this.save(instance);
    for (const waiter of instance.waiters.splice(0)) waiter(record);
    this.notifyParent(instance);
  }

  private notifyParent(child: LiveInstance): void {
    if (!child.parent) return;
    const parent = this.live.get(child.parent.instanceId);
    if (!parent) return;
    const event = completionFor(child.record, child.parent.taskId, this.now());
    this.deliver(parent, parent.generation, event);
  }

  /** Queues a write of the instance's state as it is when the write starts. */
  private save(instance: LiveInstance, mode: 'now' | 'soon' = 'now'): Promise<void> {
    return this.options.store.save(instance.record.instanceId, () => this.snapshot(instance), mode);
  }

  /**
   * The instance's state for storage. While an episode runs, its history is still the one the episode
   * started from, so the snapshot holds the episode's events as pending and the bookkeeping as it was.
   */
  private snapshot(instance: LiveInstance): StoredInstance {
    const record = instance.record;
    if (TERMINAL.has(record.runtimeStatus)) return { ...record };
    const episode = instance.episode;
    const runtime: RuntimeState = {
      ...(instance.parent ? { parent: instance.parent } : {}),
      pending: [...(episode?.batch ?? []), ...instance.pending],
      nextSequence: episode?.nextSequence ?? instance.nextSequence,
      actionSignatures: instance.actionSignatures,
      retryAttempts: episode?.retryAttempts ?? copyRetries(instance.retryAttempts),
      retryTimers: episode?.retryTimers ?? copyRetries(instance.retryTimers),
    };
    return { ...record, runtime };
  }

  /** After a restart: runs again what the stored history shows as started and not finished. */
  private restartOutstandingWork(instance: LiveInstance): void {
    const events = [...instance.record.history, ...instance.pending];
    const finishedTasks = new Set<number>();
    const firedTimers = new Set<number>();
    for (const event of events) {
      if (event.EventType === EventType.TimerFired) firedTimers.add(event.TimerId ?? -1);
      else if (event.TaskScheduledId !== undefined) finishedTasks.add(event.TaskScheduledId);
    }
    for (const event of instance.record.history) {
      const id = event.EventId;
      if (event.EventType === EventType.TaskScheduled && !finishedTasks.has(id)) {
        this.runActivity(instance, id, event.Name ?? '', parseEventInput(event.Input));
      } else if (event.EventType === EventType.SubOrchestrationInstanceCreated && !finishedTasks.has(id)) {
        this.resumeChild(instance, id, event);
      } else if (event.EventType === EventType.TimerCreated && !firedTimers.has(id)) {
        this.startTimer(instance, id, new Date(event.FireAt ?? this.now().toISOString()));
      }
    }
  }

  /** A sub-orchestration the parent waits for: running, it reports when done; else its outcome, or a start. */
  private resumeChild(parent: LiveInstance, taskId: number, created: HistoryEvent): void {
    const childId = created.InstanceId ?? '';
    const generation = parent.generation;
    this.track(
      (async () => {
        const child = this.live.get(childId)?.record ?? (await this.options.store.load(childId));
        if (!child) {
          this.startSubOrchestration(
            parent,
            taskId,
            created.Name ?? '',
            childId,
            parseEventInput(created.Input),
          );
        } else if (TERMINAL.has(child.runtimeStatus)) {
          this.deliver(parent, generation, completionFor(child, taskId, this.now()));
        }
      })().catch((error: unknown) => {
        this.deliver(
          parent,
          generation,
          failure(EventType.SubOrchestrationInstanceFailed, this.now(), taskId, message(error), stack(error)),
        );
      }),
    );
  }

  private checkDeterminism(instance: LiveInstance, actions: WireAction[]): string | undefined {
    const known = instance.actionSignatures;
    for (let i = 0; i < known.length; i++) {
      const replayed = actions[i];
      if (!replayed || signature(replayed) !== known[i]) {
        return (
          `Non-deterministic workflow detected: action ${i} was ${known[i]} in an earlier execution and is ` +
          `${replayed ? signature(replayed) : 'missing'} in this replay. Orchestrator code must not depend on ` +
          `the clock, random numbers or I/O (use context.df.currentUtcDateTime and activities).`
        );
      }
    }
    return undefined;
  }

  private clearTimers(instance: LiveInstance): void {
    for (const handle of instance.timers) {
      clearTimeout(handle);
      this.settle();
    }
    instance.timers.clear();
  }

  private track(work: Promise<unknown>): void {
    this.inFlight++;
    void work.finally(() => this.settle());
  }

  private settle(): void {
    this.inFlight--;
    if (this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

const CARRIED_OVER: ReadonlySet<EventType> = new Set([
  EventType.EventRaised,
  EventType.ExecutionSuspended,
  EventType.ExecutionResumed,
]);

/** An id for an instance started without one, in the extension's format (a GUID without dashes). */
export function newInstanceId(): string {
  return crypto.randomUUID().replace(/-/g, '');
}

/**
 * The query to ask storage, where an instance's first episode turns it from Pending to Running up to a
 * second before its row says so: asking for Running asks for Pending too, and the live status decides.
 */
function storedQuery(query: InstanceQuery): InstanceQuery {
  const statuses = query.runtimeStatus;
  if (!statuses?.includes('Running') || statuses.includes('Pending')) return query;
  return { ...query, runtimeStatus: [...statuses, 'Pending'] };
}

function statusOf(record: InstanceRecord): InstanceStatus {
  const { instanceId, name, runtimeStatus, output, customStatus, createdTime, lastUpdatedTime } = record;
  return { instanceId, name, runtimeStatus, output, customStatus, createdTime, lastUpdatedTime };
}

const UNSUPPORTED_ACTIONS: ReadonlySet<ActionType> = new Set([
  ActionType.CallEntity,
  ActionType.CallHttp,
  ActionType.SignalEntity,
  ActionType.LockEntities,
  ActionType.ReleaseEntities,
]);

/** Task.all / Task.any arrive as compound actions; the extension schedules their children in order. */
export function flattenActions(actions: WireAction[][]): WireAction[] {
  const out: WireAction[] = [];
  const visit = (action: WireAction): void => {
    if (action.actionType === ActionType.WhenAll || action.actionType === ActionType.WhenAny) {
      for (const child of action.compoundActions ?? []) visit(child);
    } else out.push(action);
  };
  for (const group of actions) for (const action of group) visit(action);
  return out;
}

function signature(action: WireAction): string {
  const target = action.functionName ?? action.externalEventName ?? '';
  return `${ActionType[action.actionType] ?? String(action.actionType)}(${target})`;
}

/** durable-functions JSON-encodes string inputs of activities and continue-as-new before sending them. */
function parseActionInput(input: unknown): unknown {
  if (typeof input !== 'string') return input;
  try {
    return JSON.parse(input) as unknown;
  } catch {
    return input;
  }
}

function copyRetries(retries: Map<number, RetryState>): [number, RetryState][] {
  return [...retries].map(([id, retry]) => [id, { action: retry.action, attempt: retry.attempt }]);
}

function isRuntimeState(value: unknown): value is RuntimeState {
  const state = value as RuntimeState | undefined;
  return (
    typeof state === 'object' &&
    state !== null &&
    Array.isArray(state.pending) &&
    Array.isArray(state.actionSignatures) &&
    typeof state.nextSequence === 'number' &&
    Array.isArray(state.retryAttempts) &&
    Array.isArray(state.retryTimers)
  );
}

/** The input a history event carries (JSON text), as the engine first passed it. */
function parseEventInput(input: string | undefined): unknown {
  if (input === undefined) return undefined;
  try {
    return JSON.parse(input) as unknown;
  } catch {
    return input;
  }
}

function hasAttemptsLeft(retry: RetryState | undefined): boolean {
  return retry !== undefined && retry.attempt < (retry.action.retryOptions?.maxNumberOfAttempts ?? 1);
}

/** DTFx's backoff: first interval × coefficient^(attempt − 1), capped by the maximum interval. */
export function retryDelay(retry: RetryState): number {
  const options = retry.action.retryOptions;
  if (!options) return 0;
  const delay =
    options.firstRetryIntervalInMilliseconds * (options.backoffCoefficient ?? 1) ** (retry.attempt - 1);
  return Math.min(delay, options.maxRetryIntervalInMilliseconds ?? Number.POSITIVE_INFINITY);
}

function isFailure(event: HistoryEvent): boolean {
  return (
    event.EventType === EventType.TaskFailed || event.EventType === EventType.SubOrchestrationInstanceFailed
  );
}

function failure(type: EventType, at: Date, taskId: number, reason: string, details: string): HistoryEvent {
  return historyEvent(type, at, { TaskScheduledId: taskId, Reason: reason, Details: details });
}

function completionFor(record: InstanceRecord, taskId: number, at: Date): HistoryEvent {
  return record.runtimeStatus === 'Completed'
    ? historyEvent(EventType.SubOrchestrationInstanceCompleted, at, {
        TaskScheduledId: taskId,
        Result: JSON.stringify(record.output ?? null),
      })
    : failure(
        EventType.SubOrchestrationInstanceFailed,
        at,
        taskId,
        `Sub-orchestration '${record.name}' (instance '${record.instanceId}') ${record.runtimeStatus.toLowerCase()}: ${String(record.output)}`,
        '',
      );
}

function validateInstanceId(instanceId: string): void {
  // The same characters Azure Storage refuses in the partition keys the Durable extension uses.
  const hasControl = [...instanceId].some(
    (c) => c.charCodeAt(0) < 0x20 || (c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) <= 0x9f),
  );
  if (!instanceId || instanceId.length > 256 || hasControl || /[/\\#?]/.test(instanceId)) {
    throw new DurableError(
      'invalid_instance_id',
      'An instance ID must be 1 to 256 characters without /, \\, #, ? or control characters.',
    );
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function stack(error: unknown): string {
  return error instanceof Error ? (error.stack ?? '') : '';
}
