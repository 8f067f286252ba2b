import { RestError } from '@azure/core-rest-pipeline';
import type { ContainerClient } from '@azure/storage-blob';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { sleepUntil, type Clock } from './clock';

/**
 * Timer triggers as the Functions host runs them: NCRONTAB schedules with seconds, in UTC; the
 * schedule status (last, next, last updated) kept in storage so that a tick missed while the host
 * was down fires at the next start with `IsPastDue`; `runOnStartup`.
 */

/** A six-field NCRONTAB expression (`{second} {minute} {hour} {day} {month} {day-of-week}`), in UTC. */
export class CronSchedule {
  private constructor(private readonly expression: string) {}

  static parse(expression: string): CronSchedule {
    // The Functions host requires the seconds field; a five-field crontab is an indexing error there.
    if (expression.trim().split(/\s+/).length !== 6) {
      throw new Error(`"${expression}" is not an NCRONTAB expression of six fields (seconds first).`);
    }
    const schedule = new CronSchedule(expression);
    schedule.next(new Date(0)); // validates the fields now rather than at the first tick
    return schedule;
  }

  /** The first occurrence strictly after `after`. */
  next(after: Date): Date {
    return CronExpressionParser.parse(this.expression, { currentDate: after, tz: 'UTC' }).next().toDate();
  }
}

export interface ScheduleStatus {
  Last: string;
  Next: string;
  LastUpdated: string;
}

/** `default(DateTime)`, what the host writes as `Last` before the first occurrence. */
const NEVER = '0001-01-01T00:00:00';

const statusSchema = z.object({ Last: z.string(), Next: z.string(), LastUpdated: z.string() });

/** The host's schedule monitor: `azure-webjobs-hosts/timers/<hostId>/<timer>/status`. */
export class ScheduleStatusStore {
  constructor(
    private readonly container: ContainerClient,
    private readonly hostId: string,
  ) {}

  async get(timerName: string): Promise<ScheduleStatus | undefined> {
    try {
      const body = await this.blob(timerName).downloadToBuffer();
      const parsed = statusSchema.safeParse(JSON.parse(body.toString('utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  async set(timerName: string, status: ScheduleStatus): Promise<void> {
    await this.container.createIfNotExists();
    const text = JSON.stringify(status);
    await this.blob(timerName).upload(text, Buffer.byteLength(text));
  }

  private blob(timerName: string) {
    return this.container.getBlockBlobClient(`timers/${this.hostId}/${timerName}/status`);
  }
}

export interface TimerDefinition {
  functionName: string;
  schedule: CronSchedule;
  runOnStartup: boolean;
  /** Whether the schedule status is kept in storage (the host's `useMonitor`). */
  useMonitor: boolean;
}

/** What a timer function receives, in the host's casing (the library camel-cases it). */
export interface TimerPayload {
  Schedule: { AdjustForDST: boolean };
  ScheduleStatus: ScheduleStatus | null;
  IsPastDue: boolean;
}

/** `useMonitor` defaults to true, except for schedules that fire more often than once a minute. */
export function defaultUseMonitor(schedule: CronSchedule): boolean {
  const first = schedule.next(new Date(0));
  return schedule.next(first).getTime() - first.getTime() >= 60_000;
}

const REASONS = {
  schedule: (at: Date) => `Timer fired at ${at.toISOString()}`,
  pastDue: () => 'Timer is past due on startup',
  startup: () => 'Timer runs on startup',
};

/** The status of a timer that has not fired yet. */
function initialStatus(timer: TimerDefinition, now: Date): ScheduleStatus {
  return { Last: NEVER, Next: timer.schedule.next(now).toISOString(), LastUpdated: now.toISOString() };
}

function timerLookupName(functionName: string): string {
  return `Host.Functions.${functionName}`;
}

/**
 * Runs each timer function on its schedule: one loop per timer, the next occurrence computed after
 * each invocation ends (a timer never overlaps itself), failures logged by `invoke` and not retried.
 */
export class TimerScheduler {
  private readonly statuses = new Map<string, ScheduleStatus>();
  private abort = new AbortController();
  private loops: Promise<void>[] = [];

  constructor(
    private readonly timers: TimerDefinition[],
    private readonly store: ScheduleStatusStore,
    private readonly clock: Clock,
    /** Runs the function; it logs a failure rather than throwing, as the host does. */
    private readonly invoke: (functionName: string, payload: TimerPayload, reason: string) => Promise<void>,
    private readonly logError: (functionName: string, message: string) => void,
  ) {}

  /** Checks every timer for a missed tick, runs past-due and run-on-startup timers, then schedules them. */
  async start(): Promise<void> {
    this.abort = new AbortController();
    await Promise.all(this.timers.map((timer) => this.startTimer(timer)));
    this.loops = this.timers.map((timer) => this.loop(timer, this.abort.signal));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
    this.loops = [];
  }

  /**
   * The payload of the next invocation: the recorded status (none when the timer is not monitored),
   * or, before `start()`, the status a first start would record.
   */
  payload(functionName: string): TimerPayload {
    const timer = this.timers.find((t) => t.functionName === functionName);
    if (!timer) throw new Error(`No timer function named "${functionName}" is registered.`);
    const status = this.statuses.get(functionName) ?? initialStatus(timer, this.clock.now());
    return {
      Schedule: { AdjustForDST: true },
      ScheduleStatus: timer.useMonitor ? status : null,
      IsPastDue: false,
    };
  }

  private async startTimer(timer: TimerDefinition): Promise<void> {
    const now = this.clock.now();
    let isPastDue = false;
    if (timer.useMonitor) {
      const recorded = await this.checkStatus(timer, now);
      this.statuses.set(timer.functionName, recorded);
      isPastDue = now > new Date(recorded.Next);
    } else {
      this.statuses.set(timer.functionName, initialStatus(timer, now));
    }
    if (isPastDue) await this.fire(timer, now, 'pastDue');
    else if (timer.runOnStartup) await this.fire(timer, now, 'startup');
  }

  /**
   * The recorded status, brought in line with the current schedule as the host's ScheduleMonitor
   * does: a status recorded under another schedule is recomputed, so changing the schedule does not
   * count as a missed tick.
   */
  private async checkStatus(timer: TimerDefinition, now: Date): Promise<ScheduleStatus> {
    const name = timerLookupName(timer.functionName);
    const recorded = await this.store.get(name);
    if (!recorded) {
      // Recorded before the first tick, so a tick missed by a stop before then still counts.
      const status = initialStatus(timer, now);
      await this.store.set(name, status);
      return status;
    }
    const basis = recorded.Last !== NEVER ? recorded.Last : recorded.LastUpdated;
    let lastUpdated = new Date(basis);
    let expected = timer.schedule.next(lastUpdated);
    if (expected.getTime() === new Date(recorded.Next).getTime()) return recorded;
    if (now > expected) {
      lastUpdated = now;
      expected = timer.schedule.next(now);
    }
    const status = { Last: NEVER, Next: expected.toISOString(), LastUpdated: lastUpdated.toISOString() };
    await this.store.set(name, status);
    return status;
  }

  private async loop(timer: TimerDefinition, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const status = this.statuses.get(timer.functionName);
      if (!status) return;
      await sleepUntil(this.clock, new Date(status.Next), signal);
      if (signal.aborted) return;
      await this.fire(timer, this.clock.now(), 'schedule');
    }
  }

  private async fire(
    timer: TimerDefinition,
    invokedAt: Date,
    why: 'schedule' | 'pastDue' | 'startup',
  ): Promise<void> {
    const payload = { ...this.payload(timer.functionName), IsPastDue: why === 'pastDue' };
    await this.invoke(timer.functionName, payload, REASONS[why](invokedAt));
    // A tick that fired a little early still counts as that tick, so `Next` moves past it.
    const scheduled = new Date(this.statuses.get(timer.functionName)?.Next ?? invokedAt);
    const basis = why === 'schedule' && scheduled > invokedAt ? scheduled : invokedAt;
    const status = {
      Last: basis.toISOString(),
      Next: timer.schedule.next(basis).toISOString(),
      LastUpdated: basis.toISOString(),
    };
    this.statuses.set(timer.functionName, status);
    if (!timer.useMonitor) return;
    try {
      await this.store.set(timerLookupName(timer.functionName), status);
    } catch (error) {
      // Best effort, as in the host: the schedule goes on; only a restart could miss the past-due check.
      this.logError(
        timer.functionName,
        `Updating the timer status failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
