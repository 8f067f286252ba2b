/**
 * History events in the shape the Durable extension hands to out-of-process orchestrators
 * (PascalCase fields, numeric EventType), which durable-functions' replay engine reads.
 */
export enum EventType {
  ExecutionStarted = 0,
  ExecutionCompleted = 1,
  ExecutionFailed = 2,
  ExecutionTerminated = 3,
  TaskScheduled = 4,
  TaskCompleted = 5,
  TaskFailed = 6,
  SubOrchestrationInstanceCreated = 7,
  SubOrchestrationInstanceCompleted = 8,
  SubOrchestrationInstanceFailed = 9,
  TimerCreated = 10,
  TimerFired = 11,
  OrchestratorStarted = 12,
  OrchestratorCompleted = 13,
  EventRaised = 15,
  ContinueAsNew = 16,
  ExecutionSuspended = 19,
  ExecutionResumed = 20,
}

export interface HistoryEvent {
  EventType: EventType;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  Name?: string;
  Input?: string;
  Result?: string;
  Reason?: string;
  Details?: string;
  TaskScheduledId?: number;
  TimerId?: number;
  FireAt?: string;
  InstanceId?: string;
  OrchestrationStatus?: string;
}

export function historyEvent(type: EventType, at: Date, fields: Partial<HistoryEvent> = {}): HistoryEvent {
  return { EventType: type, EventId: -1, IsPlayed: false, Timestamp: at.toISOString(), ...fields };
}

export interface HttpHistoryOptions {
  showHistoryOutput: boolean;
  showInput: boolean;
}

/**
 * The history as the Durable extension's HTTP API shows it (`historyEvents`): string event types; a task's
 * or sub-orchestration's completion or failure carries the `FunctionName`, `ScheduledTime` and `Input` of the
 * event that scheduled it, and that event (TaskScheduled, SubOrchestrationInstanceCreated) is left out, as
 * are OrchestratorStarted and OrchestratorCompleted; `Result` is shown, parsed, only with
 * `showHistoryOutput`. Unlike the extension, sub-orchestration outcomes also name the child's `InstanceId`,
 * so a timeline can link to it.
 */
export function httpHistoryEvents(
  history: readonly HistoryEvent[],
  options: HttpHistoryOptions,
): Record<string, unknown>[] {
  const scheduled = new Map<string, HistoryEvent>();
  for (const event of history) {
    if (
      event.EventType === EventType.TaskScheduled ||
      event.EventType === EventType.SubOrchestrationInstanceCreated
    )
      scheduled.set(`${event.EventType}:${event.EventId}`, event);
  }
  const matched = new Set<HistoryEvent>();
  const shown = new Map<HistoryEvent, Record<string, unknown>>();
  for (const event of history) {
    const item: Record<string, unknown> = {
      ...event,
      EventType: EventType[event.EventType] ?? event.EventType,
    };
    for (const key of ['EventId', 'IsPlayed', 'TaskScheduledId', 'TimerId']) delete item[key];
    const origin = scheduledBy(event.EventType);
    const cause = origin === undefined ? undefined : scheduled.get(`${origin}:${event.TaskScheduledId}`);
    if (cause) {
      matched.add(cause);
      Object.assign(item, { FunctionName: cause.Name, ScheduledTime: cause.Timestamp, Input: cause.Input });
      if (origin === EventType.SubOrchestrationInstanceCreated) item.InstanceId = cause.InstanceId;
    }
    if (event.EventType === EventType.ExecutionStarted) {
      item.FunctionName = event.Name;
      delete item.Name;
    }
    if (options.showHistoryOutput && event.Result !== undefined) item.Result = parseResult(event.Result);
    else delete item.Result;
    if (!options.showInput) delete item.Input;
    shown.set(event, item);
  }
  return [...shown]
    .filter(([event]) => !matched.has(event) && !HIDDEN.has(event.EventType))
    .map(([, item]) => item);
}

const HIDDEN: ReadonlySet<EventType> = new Set([
  EventType.OrchestratorStarted,
  EventType.OrchestratorCompleted,
]);

/** The type of the event that scheduled what this event completes, for completions and failures. */
function scheduledBy(type: EventType): EventType | undefined {
  if (type === EventType.TaskCompleted || type === EventType.TaskFailed) return EventType.TaskScheduled;
  if (
    type === EventType.SubOrchestrationInstanceCompleted ||
    type === EventType.SubOrchestrationInstanceFailed
  )
    return EventType.SubOrchestrationInstanceCreated;
  return undefined;
}

/** A result as JSON, or its text when it is not JSON (as the extension does with a terminate reason). */
function parseResult(result: string): unknown {
  try {
    return JSON.parse(result) as unknown;
  } catch {
    return result;
  }
}
