import { z } from 'zod';
import { RUNTIME_STATUSES, type DurableHttpTarget, type RuntimeStatus } from '../platform/durable';
import { ConflictError, errorSummary, NotFoundError, UnavailableError } from '../platform/errors';

export { RUNTIME_STATUSES, type RuntimeStatus } from '../platform/durable';

const historyEventSchema = z.looseObject({
  EventType: z.string(),
  Timestamp: z.string().optional(),
  FunctionName: z.string().optional(),
  ScheduledTime: z.string().optional(),
  InstanceId: z.string().optional(),
  Name: z.string().optional(),
  FireAt: z.string().optional(),
  Reason: z.string().optional(),
  Details: z.string().optional(),
});
export type HistoryEventView = z.infer<typeof historyEventSchema>;

const instanceSchema = z.object({
  name: z.string(),
  instanceId: z.string(),
  runtimeStatus: z.enum(RUNTIME_STATUSES),
  input: z.unknown().optional(),
  output: z.unknown().optional(),
  customStatus: z.unknown().optional(),
  createdTime: z.string(),
  lastUpdatedTime: z.string(),
  historyEvents: z.array(historyEventSchema).optional(),
});
export type InstanceStatus = z.infer<typeof instanceSchema>;

export interface InstanceQuery {
  runtimeStatus?: readonly RuntimeStatus[];
  createdTimeFrom?: Date;
  createdTimeTo?: Date;
  instanceIdPrefix?: string;
  top?: number;
  continuation?: string;
  showInput?: boolean;
}

export type InstanceAction = 'terminate' | 'suspend' | 'resume';

const CONTINUATION = 'x-ms-continuation-token';

/**
 * A client of the Durable extension's HTTP API that pages for real and names what failed. The
 * durable-functions client cannot page, filter by id prefix or read history (durable-js#319, #634, #620),
 * so the console calls the API itself.
 */
export function durableHttp(target: DurableHttpTarget, fetchFn: typeof fetch = fetch) {
  function url(path: string, params: Record<string, string | undefined> = {}): string {
    const result = new URL(`${target.instancesUrl}${path}`);
    for (const [key, value] of Object.entries({ ...target.query, ...params })) {
      if (value !== undefined) result.searchParams.set(key, value);
    }
    return result.toString();
  }

  async function call(
    method: string,
    address: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ) {
    let response: Response;
    try {
      response = await fetchFn(address, {
        method,
        headers: { 'content-type': 'application/json', ...init.headers },
        ...(init.body !== undefined ? { body: init.body } : {}),
      });
    } catch (error) {
      throw new UnavailableError(
        `The Durable Functions API did not answer (${method} ${new URL(address).pathname}): ${errorSummary(error)}.`,
      );
    }
    return response;
  }

  async function failure(response: Response, what: string): Promise<Error> {
    const text = (await response.text()).slice(0, 300);
    if (response.status === 404) return new NotFoundError(`${what}: not found.`);
    if (response.status === 409 || response.status === 410)
      return new ConflictError(
        `${what}: refused in the run's current state (${text}).`,
        'action_not_allowed',
      );
    return new UnavailableError(`${what}: the Durable Functions API answered ${response.status} ${text}`);
  }

  const path = (id: string) => `/${encodeURIComponent(id)}`;

  return {
    /** One page of instances; `continuation` is set when more remain (a page may be short). */
    async list(query: InstanceQuery): Promise<{ instances: InstanceStatus[]; continuation?: string }> {
      const response = await call(
        'GET',
        url('', {
          runtimeStatus: query.runtimeStatus?.length ? query.runtimeStatus.join(',') : undefined,
          createdTimeFrom: query.createdTimeFrom?.toISOString(),
          createdTimeTo: query.createdTimeTo?.toISOString(),
          instanceIdPrefix: query.instanceIdPrefix || undefined,
          top: query.top?.toString(),
          showInput: String(query.showInput ?? false),
        }),
        query.continuation ? { headers: { [CONTINUATION]: query.continuation } } : {},
      );
      if (!response.ok) throw await failure(response, 'Listing runs');
      const instances = z.array(instanceSchema).parse(await response.json());
      const next = response.headers.get(CONTINUATION);
      return { instances, ...(next ? { continuation: next } : {}) };
    },

    /** The instance with its history (activities and sub-orchestrations), or undefined. */
    async get(instanceId: string): Promise<InstanceStatus | undefined> {
      const response = await call(
        'GET',
        url(path(instanceId), { showHistory: 'true', showHistoryOutput: 'false', showInput: 'true' }),
      );
      if (response.status === 404) return undefined;
      if (!response.ok) throw await failure(response, `Run ${instanceId}`);
      return instanceSchema.parse(await response.json());
    },

    async act(instanceId: string, action: InstanceAction, reason: string): Promise<void> {
      const response = await call('POST', url(`${path(instanceId)}/${action}`, { reason }));
      if (!response.ok) throw await failure(response, `${action} of ${instanceId}`);
    },

    /** Starts the run again with its input; returns the new instance's id. */
    async restart(instanceId: string): Promise<string> {
      const response = await call(
        'POST',
        url(`${path(instanceId)}/restart`, { restartWithNewInstanceId: 'true' }),
      );
      if (!response.ok) throw await failure(response, `restart of ${instanceId}`);
      return z.object({ id: z.string() }).parse(await response.json()).id;
    },

    async raiseEvent(instanceId: string, name: string, data: unknown): Promise<void> {
      const response = await call('POST', url(`${path(instanceId)}/raiseEvent/${encodeURIComponent(name)}`), {
        body: JSON.stringify(data ?? null),
      });
      if (!response.ok) throw await failure(response, `event ${name} to ${instanceId}`);
    },

    /** Deletes a finished instance's history; false when there was none to delete. */
    async purge(instanceId: string): Promise<boolean> {
      const response = await call('DELETE', url(path(instanceId)));
      if (response.status === 404) return false;
      if (!response.ok) throw await failure(response, `purge of ${instanceId}`);
      const body = z.object({ instancesDeleted: z.number() }).parse(await response.json());
      return body.instancesDeleted > 0;
    },
  };
}

export type DurableHttp = ReturnType<typeof durableHttp>;
