import { z } from 'zod';
import { ConflictError, InvalidInputError, NotFoundError } from '../platform/errors';
import { parseInput } from '../platform/input';
import { Semaphore } from '../platform/semaphore';
import {
  RUNTIME_STATUSES,
  type DurableHttp,
  type HistoryEventView,
  type InstanceQuery,
  type InstanceStatus,
  type RuntimeStatus,
} from './durableHttp';

/** A kind of orchestration of the app, told by its function name; its instance ids start with `prefix`. */
export interface RunKind {
  kind: string;
  orchestration: string;
  prefix: string;
}

export const RUN_ACTIONS = ['terminate', 'suspend', 'resume', 'restart', 'purge', 'raise-event'] as const;
export type RunAction = (typeof RUN_ACTIONS)[number];

/** The statuses in which each action applies; anything else is a 409 naming the status. */
const ACTION_STATUSES: Record<RunAction, readonly RuntimeStatus[]> = {
  terminate: ['Pending', 'Running', 'Suspended', 'ContinuedAsNew'],
  suspend: ['Pending', 'Running'],
  resume: ['Suspended'],
  restart: ['Completed', 'Failed', 'Terminated'],
  // Never a pending or running instance: its history is still being written.
  purge: ['Completed', 'Failed', 'Terminated'],
  'raise-event': ['Pending', 'Running', 'Suspended'],
};

const TERMINAL: ReadonlySet<RuntimeStatus> = new Set(['Completed', 'Failed', 'Terminated']);

const isoDate = (field: string) =>
  z
    .string()
    .refine((v) => !Number.isNaN(Date.parse(v)), `${field} must be an ISO 8601 date or date-time`)
    .transform((v) => new Date(v));

const statusList = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.enum(RUNTIME_STATUSES, { message: `must be among ${RUNTIME_STATUSES.join(', ')}` })));

const filterShape = {
  workflow: z.string().max(64).optional(),
  status: statusList.optional(),
  from: isoDate('from').optional(),
  to: isoDate('to').optional(),
  // Instance ids the app makes use letters, digits and - _ : . only; anything else matches nothing.
  prefix: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_.:-]*$/, 'may hold letters, digits and - _ : . only')
    .optional(),
};

const runsQuerySchema = z.strictObject({
  ...filterShape,
  top: z.coerce.number().int().min(1).max(200).default(50),
  continuation: z.string().max(4096).optional(),
});

const filterSchema = z.strictObject({
  ...filterShape,
  status: z.union([statusList, z.array(z.enum(RUNTIME_STATUSES))]).optional(),
});

const bulkSchema = z.strictObject({
  action: z.enum(['terminate', 'suspend', 'resume', 'restart', 'purge']),
  filter: filterSchema,
  reason: z.string().max(500).optional(),
});

const actionBodySchema = z.strictObject({
  reason: z.string().max(500).optional(),
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_.-]+$/)
    .optional(),
  data: z.unknown().optional(),
});

type RunsFilter = z.output<typeof filterSchema>;

export interface RunSummary {
  id: string;
  workflow: string;
  name: string;
  status: RuntimeStatus;
  createdAt: string;
  lastUpdatedAt: string;
  durationSeconds: number;
  customStatus: unknown;
  /** A failed run's error, first line. */
  failure?: string;
}

export interface TimelineEntry {
  kind: 'activity' | 'sub-orchestration' | 'timer' | 'event';
  name: string;
  scheduledAt: string | null;
  completedAt: string | null;
  durationMs: number | null;
  outcome: 'completed' | 'failed';
  instanceId?: string;
  reason?: string;
}

export interface RunsDependencies {
  kinds: readonly RunKind[];
  clock: () => Date;
  /** How long per-status counts are reused for the same filter: counting reads every matching row. */
  countsTtlMs?: number;
}

/** Most instances one bulk action touches; the report says when the filter matched more. */
const BULK_LIMIT = 5000;
const COUNT_PAGE = 1000;
/** Counting that took at least this long is reused for `countsTtlMs`. */
const SLOW_COUNT_MS = 200;

/**
 * Every orchestration of the app through the Durable HTTP API: listed page by page with per-status counts,
 * inspected with a timeline, and acted on one by one or in bulk over a filter.
 */
export function createRuns(deps: RunsDependencies) {
  const byOrchestration = new Map(deps.kinds.map((k) => [k.orchestration.toLowerCase(), k]));
  const countsCache = new Map<string, { at: number; counts: Record<string, number> }>();
  const refreshing = new Map<string, Promise<unknown>>();
  const ttl = deps.countsTtlMs ?? 15_000;

  const kindOf = (name: string) => byOrchestration.get(name.toLowerCase())?.kind ?? name;

  function kindNamed(workflow: string | undefined, field: string): RunKind | undefined {
    if (workflow === undefined || workflow === '') return undefined;
    const kind = deps.kinds.find((k) => k.kind === workflow);
    if (!kind) {
      throw new InvalidInputError(
        field,
        `"${workflow}" is not a workflow; use one of ${deps.kinds.map((k) => k.kind).join(', ')}`,
        'unknown_workflow',
      );
    }
    return kind;
  }

  /** The Durable API's query for a filter, or undefined when the filter can match nothing. */
  function toQuery(filter: RunsFilter, field: string): { query: InstanceQuery; kind?: RunKind } | undefined {
    const kind = kindNamed(filter.workflow, `${field}.workflow`);
    let prefix = filter.prefix ?? '';
    if (kind) {
      if (kind.prefix.startsWith(prefix)) prefix = kind.prefix;
      else if (!prefix.startsWith(kind.prefix)) return undefined;
    }
    return {
      query: {
        ...(filter.status?.length ? { runtimeStatus: filter.status } : {}),
        ...(filter.from ? { createdTimeFrom: filter.from } : {}),
        ...(filter.to ? { createdTimeTo: filter.to } : {}),
        ...(prefix ? { instanceIdPrefix: prefix } : {}),
      },
      ...(kind ? { kind } : {}),
    };
  }

  // Kinds sharing a prefix (a dossier batch and its lanes) are told apart by the orchestration's name.
  const matchesKind = (kind: RunKind | undefined) => (instance: InstanceStatus) =>
    !kind || instance.name.toLowerCase() === kind.orchestration.toLowerCase();

  function summary(instance: InstanceStatus): RunSummary {
    const created = Date.parse(instance.createdTime);
    const end = TERMINAL.has(instance.runtimeStatus)
      ? Date.parse(instance.lastUpdatedTime)
      : deps.clock().getTime();
    return {
      id: instance.instanceId,
      workflow: kindOf(instance.name),
      name: instance.name,
      status: instance.runtimeStatus,
      createdAt: instance.createdTime,
      lastUpdatedAt: instance.lastUpdatedTime,
      durationSeconds: Math.max(0, Math.round((end - created) / 100) / 10),
      customStatus: instance.customStatus ?? null,
      ...(instance.runtimeStatus === 'Failed' ? { failure: failureOf(instance).message.slice(0, 300) } : {}),
    };
  }

  /** Every instance matching, page after page (`limit` caps how many are read). */
  async function* each(durable: DurableHttp, filter: RunsFilter, limit = Infinity) {
    const target = toQuery(filter, 'filter');
    if (!target) return;
    let continuation: string | undefined;
    let seen = 0;
    do {
      const page = await durable.list({
        ...target.query,
        top: COUNT_PAGE,
        ...(continuation ? { continuation } : {}),
      });
      for (const instance of page.instances.filter(matchesKind(target.kind))) {
        if (seen++ >= limit) return;
        yield instance;
      }
      continuation = page.continuation;
    } while (continuation);
  }

  /** Counts every run of the filter by status (one read of the whole set). */
  async function count(durable: DurableHttp, filter: RunsFilter, key: string) {
    const at = deps.clock().getTime();
    const started = performance.now();
    const counted: Record<string, number> = {};
    for await (const instance of each(durable, filter)) {
      counted[instance.runtimeStatus] = (counted[instance.runtimeStatus] ?? 0) + 1;
    }
    const entry = { at, counts: counted };
    // Only counts that were slow to make are kept: a small task hub is always counted afresh (and a
    // count kept while it was slow is dropped once counting is quick again, or it would stay stale).
    if (performance.now() - started >= SLOW_COUNT_MS) {
      countsCache.set(key, entry);
      if (countsCache.size > 200) countsCache.delete(countsCache.keys().next().value ?? '');
    } else countsCache.delete(key);
    return entry;
  }

  /**
   * Per-status counts of a filter (its status, page and size aside). Counts kept for a large task hub are
   * answered at once; once older than the TTL they are still answered while a fresh count runs in the
   * background, so only the first look at a filter waits for a count.
   */
  async function counts(durable: DurableHttp, filter: RunsFilter) {
    const rest = {
      workflow: filter.workflow,
      prefix: filter.prefix,
      from: filter.from,
      to: filter.to,
    };
    const key = JSON.stringify(rest);
    const cached = countsCache.get(key);
    if (cached) {
      if (deps.clock().getTime() - cached.at >= ttl && !refreshing.has(key)) {
        const refresh = count(durable, rest, key)
          .catch(() => countsCache.delete(key))
          .finally(() => refreshing.delete(key));
        refreshing.set(key, refresh);
      }
      return cached;
    }
    return count(durable, rest, key);
  }

  async function requireRun(durable: DurableHttp, id: string): Promise<InstanceStatus> {
    const instance = await durable.get(id);
    if (!instance) throw new NotFoundError(`No run with id "${id}".`);
    return instance;
  }

  function checkAllowed(instance: InstanceStatus, action: RunAction): void {
    const allowed = ACTION_STATUSES[action];
    if (!allowed.includes(instance.runtimeStatus)) {
      throw new ConflictError(
        `Run ${instance.instanceId} is ${instance.runtimeStatus}: ${action} applies to ${allowed.join(', ')} runs only.`,
        'action_not_allowed',
      );
    }
  }

  async function apply(
    durable: DurableHttp,
    instance: InstanceStatus,
    action: RunAction,
    body: z.output<typeof actionBodySchema>,
  ): Promise<{ id: string; action: RunAction; newId?: string; children?: number }> {
    checkAllowed(instance, action);
    const id = instance.instanceId;
    const reason = body.reason ?? `${action} from the ops console`;
    switch (action) {
      case 'terminate':
      case 'suspend':
      case 'resume': {
        await durable.act(id, action, reason);
        // The extension leaves sub-orchestrations running when their parent is stopped; the app names
        // them `<parent>:<child>` (a dossier batch's lanes), so they are stopped or resumed with it.
        let children = 0;
        const childStatuses = ACTION_STATUSES[action];
        for await (const child of each(durable, { prefix: `${id}:`, status: [...childStatuses] })) {
          try {
            await durable.act(child.instanceId, action, reason);
            children++;
          } catch (error) {
            if (!(error instanceof ConflictError || error instanceof NotFoundError)) throw error;
          }
        }
        return { id, action, ...(children ? { children } : {}) };
      }
      case 'restart':
        return { id, action, newId: await durable.restart(id) };
      case 'purge':
        if (!(await durable.purge(id))) throw new NotFoundError(`Run ${id} has no history left to purge.`);
        return { id, action };
      case 'raise-event':
        if (!body.name) throw new InvalidInputError('body.name', 'names the event to raise');
        await durable.raiseEvent(id, body.name, body.data);
        return { id, action };
    }
  }

  return {
    kinds: deps.kinds,
    kindOf,

    /** A page of runs with per-status counts of the whole filtered set (status filter aside). */
    async list(durable: DurableHttp, rawQuery: Record<string, string>) {
      const query = parseInput(runsQuerySchema, rawQuery, 'query');
      const target = toQuery(query, 'query');
      if (!target) return { runs: [], counts: {}, countsAt: deps.clock().toISOString() };
      const [page, counted] = await Promise.all([
        durable.list({
          ...target.query,
          top: query.top,
          ...(query.continuation ? { continuation: query.continuation } : {}),
        }),
        counts(durable, query),
      ]);
      return {
        runs: page.instances.filter(matchesKind(target.kind)).map(summary),
        counts: counted.counts,
        countsAt: new Date(counted.at).toISOString(),
        ...(page.continuation ? { continuation: page.continuation } : {}),
      };
    },

    /** Every run of a filter, for metrics (at most `limit`). */
    async all(durable: DurableHttp, filter: RunsFilter, limit: number): Promise<RunSummary[]> {
      const runs: RunSummary[] = [];
      for await (const instance of each(durable, filter, limit)) runs.push(summary(instance));
      return runs;
    },

    async get(durable: DurableHttp, id: string) {
      const instance = await requireRun(durable, id);
      const timeline = timelineOf(instance.historyEvents ?? []);
      const failed = instance.runtimeStatus === 'Failed';
      return {
        ...summary(instance),
        input: instance.input ?? null,
        output: instance.output ?? null,
        ...(failed ? { failure: failureOf(instance) } : {}),
        timeline,
        actions: RUN_ACTIONS.filter((a) => ACTION_STATUSES[a].includes(instance.runtimeStatus)),
      };
    },

    async act(durable: DurableHttp, id: string, action: string, body: unknown) {
      if (!(RUN_ACTIONS as readonly string[]).includes(action)) {
        throw new NotFoundError(`"${action}" is not an action; use one of ${RUN_ACTIONS.join(', ')}.`);
      }
      const parsed = parseInput(actionBodySchema, body ?? {});
      return apply(durable, await requireRun(durable, id), action as RunAction, parsed);
    },

    /** One action over every run of a filter: what was done, skipped (its state) and failed. */
    async bulk(durable: DurableHttp, body: unknown) {
      const request = parseInput(bulkSchema, body);
      const allowed = ACTION_STATUSES[request.action];
      const wanted = request.filter.status?.length ? request.filter.status : RUNTIME_STATUSES;
      const report = {
        action: request.action,
        matched: 0,
        done: 0,
        skipped: [] as { id: string; reason: string }[],
        failed: [] as { id: string; reason: string }[],
        truncated: false,
      };
      const slots = new Semaphore(8);
      const work: Promise<void>[] = [];
      for await (const instance of each(durable, request.filter, BULK_LIMIT + 1)) {
        if (report.matched === BULK_LIMIT) {
          report.truncated = true;
          break;
        }
        report.matched++;
        if (!wanted.includes(instance.runtimeStatus)) continue;
        if (!allowed.includes(instance.runtimeStatus)) {
          report.skipped.push({ id: instance.instanceId, reason: `is ${instance.runtimeStatus}` });
          continue;
        }
        work.push(
          slots.run(async () => {
            try {
              await apply(durable, instance, request.action, { reason: request.reason });
              report.done++;
            } catch (error) {
              const reason = error instanceof Error ? error.message : String(error);
              (error instanceof ConflictError ? report.skipped : report.failed).push({
                id: instance.instanceId,
                reason,
              });
            }
          }),
        );
      }
      await Promise.all(work);
      countsCache.clear();
      return report;
    },
  };
}

export type Runs = ReturnType<typeof createRuns>;

/** The history events that end an activity or a sub-orchestration, and how. */
const ENDINGS: Partial<Record<string, Pick<TimelineEntry, 'kind' | 'outcome'>>> = {
  TaskCompleted: { kind: 'activity', outcome: 'completed' },
  TaskFailed: { kind: 'activity', outcome: 'failed' },
  SubOrchestrationInstanceCompleted: { kind: 'sub-orchestration', outcome: 'completed' },
  SubOrchestrationInstanceFailed: { kind: 'sub-orchestration', outcome: 'failed' },
};

/** Activities, sub-orchestrations, timers and events with their durations, in the order they ended. */
export function timelineOf(events: readonly HistoryEventView[]): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const event of events) {
    const completedAt = event.Timestamp ?? null;
    const scheduledAt = event.ScheduledTime ?? null;
    const durationMs =
      completedAt && scheduledAt ? Math.max(0, Date.parse(completedAt) - Date.parse(scheduledAt)) : null;
    const base = { scheduledAt, completedAt, durationMs };
    const ended = ENDINGS[event.EventType];
    if (ended) {
      entries.push({
        kind: ended.kind,
        name: event.FunctionName ?? '?',
        ...base,
        outcome: ended.outcome,
        ...(ended.kind === 'sub-orchestration' && event.InstanceId ? { instanceId: event.InstanceId } : {}),
        ...(event.Reason ? { reason: event.Reason } : {}),
      });
      continue;
    }
    switch (event.EventType) {
      case 'TimerFired':
        entries.push({
          kind: 'timer',
          name: 'timer',
          scheduledAt: null,
          completedAt: event.FireAt ?? completedAt,
          durationMs: null,
          outcome: 'completed',
        });
        break;
      case 'EventRaised':
        entries.push({ kind: 'event', name: event.Name ?? '?', ...base, outcome: 'completed' });
        break;
    }
  }
  return entries;
}

function failureOf(instance: InstanceStatus): { message: string; details?: string } {
  const failed = (instance.historyEvents ?? []).find((e) => e.EventType === 'ExecutionFailed');
  const output = instance.output;
  const message =
    typeof output === 'string' ? output : (failed?.Reason ?? JSON.stringify(output ?? 'unknown failure'));
  return {
    message: message.split('\n')[0] ?? message,
    ...(failed?.Details ? { details: failed.Details } : {}),
  };
}
