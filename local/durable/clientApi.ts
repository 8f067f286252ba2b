import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Semaphore } from '../../functions/platform/semaphore';
import { readBody, sendJson } from '../jsonHttp';
import { DurableError, newInstanceId, type DurableEngine } from './engine';
import { httpHistoryEvents } from './history';
import {
  InvalidContinuationTokenError,
  RUNTIME_STATUSES,
  TERMINAL_STATUSES,
  type InstanceQuery,
  type InstanceStatus,
  type RuntimeStatus,
} from './store';

const RPC_PREFIX = '/runtime/webhooks/durabletask/';

/**
 * The Durable extension's HTTP API as durable-functions' DurableClient (`rpcBaseUrl`) and direct callers use
 * it: start (409 Conflict for an active id), status with its history, listing with the extension's filters
 * and paging, raise event, terminate, suspend, resume, restart and purge, served over real HTTP on loopback.
 */
export class DurableClientApi {
  private server: Server | undefined;
  private origin = '';

  constructor(
    private readonly engine: DurableEngine,
    private readonly hubName: string,
  ) {}

  async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((error: unknown) => {
        sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  /** The value of the durableClient input binding, as the extension provides it. */
  clientInput(functionKey: string): Record<string, unknown> {
    const base = `${this.origin}${RPC_PREFIX}`;
    const query = `taskHub=${this.hubName}&connection=Storage&code=${encodeURIComponent(functionKey)}`;
    return {
      taskHubName: this.hubName,
      creationUrls: {
        createNewInstancePostUri: `${base}orchestrators/{functionName}[/{instanceId}]?code=${functionKey}`,
        createAndWaitOnNewInstancePostUri: `${base}orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=${functionKey}`,
      },
      managementUrls: this.managementUrls('INSTANCEID', query),
      baseUrl: `${this.origin}/runtime/webhooks/durabletask`,
      requiredQueryStringParameters: `code=${functionKey}`,
      rpcBaseUrl: base,
      httpBaseUrl: `${this.origin}/runtime/webhooks/durabletask`,
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    if (!url.pathname.startsWith(RPC_PREFIX)) return sendJson(res, 404, { error: 'not found' });
    const parts = url.pathname.slice(RPC_PREFIX.length).split('/').map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    const params = url.searchParams;
    try {
      if (parts[0] === 'orchestrators' && parts[1] && method === 'POST') {
        const input = body ? (JSON.parse(body) as unknown) : undefined;
        return this.accepted(res, await this.engine.start(parts[1], input, parts[2] || newInstanceId()));
      }
      if (parts[0] !== 'instances') return sendJson(res, 404, { error: 'not found' });
      const id = parts[1] ?? '';
      const action = parts[2];
      if (!id && method === 'GET') {
        const token = req.headers['x-ms-continuation-token'];
        return await this.list(res, listQuery(params, typeof token === 'string' ? token : undefined));
      }
      if (!id && method === 'DELETE') return await this.purgeWhere(res, params);
      if (!action && method === 'GET') return await this.status(res, id, params);
      if (!action && method === 'DELETE') {
        const deleted = await this.engine.purge(id);
        return sendJson(res, deleted ? 200 : 404, { instancesDeleted: deleted });
      }
      if (action === 'raiseEvent' && parts[3] && method === 'POST') {
        await this.engine.raiseEvent(id, parts[3], body ? (JSON.parse(body) as unknown) : undefined);
        return sendJson(res, 202, {});
      }
      const reason = params.get('reason') ?? '';
      if (action === 'terminate' && method === 'POST') {
        await this.engine.terminate(id, reason);
        return sendJson(res, 202, {});
      }
      if (action === 'suspend' && method === 'POST') {
        await this.engine.suspend(id, reason);
        return sendJson(res, 202, {});
      }
      if (action === 'resume' && method === 'POST') {
        await this.engine.resume(id, reason);
        return sendJson(res, 202, {});
      }
      if (action === 'restart' && method === 'POST') {
        const withNewId = booleanParam(params, 'restartWithNewInstanceId') ?? true;
        return this.accepted(res, await this.engine.restart(id, withNewId));
      }
      return sendJson(res, 501, { error: `The local host does not implement ${method} ${url.pathname}.` });
    } catch (error) {
      if (error instanceof InvalidContinuationTokenError) return sendJson(res, 400, { error: error.message });
      if (error instanceof DurableError) {
        // The extension answers a start on an active id with 409 and an HttpError body ({"Message": …});
        // durable-functions' startNew then rejects with an Error whose message is
        // `The operation failed with an unexpected status code: 409. Details: {"Message":"…"}`.
        if (error.code === 'conflict') return sendJson(res, 409, { Message: error.message });
        const status = {
          not_found: 404,
          not_running: 410,
          unknown_orchestrator: 400,
          invalid_instance_id: 400,
        }[error.code];
        return sendJson(res, status, { error: error.message });
      }
      throw error;
    }
  }

  /** A page of statuses; the extension's `x-ms-continuation-token` header says more remain. */
  private async list(res: ServerResponse, query: ListQuery): Promise<void> {
    const { showInput, ...filter } = query;
    const page = showInput ? await this.engine.listPage(filter) : await this.engine.listStatuses(filter);
    const statuses = page.instances.map((s) => statusBody(s, showInput && 'input' in s ? s.input : null));
    const headers: Record<string, string> = page.continuationToken
      ? { 'x-ms-continuation-token': page.continuationToken }
      : {};
    sendJson(res, 200, statuses, headers);
  }

  /**
   * Purges the finished instances created in a time range (`createdTimeFrom` required, as the extension
   * wants), among the statuses asked for; active instances are never purged, whatever was asked.
   */
  private async purgeWhere(res: ServerResponse, params: URLSearchParams): Promise<void> {
    const createdTimeFrom = dateParam(params, 'createdTimeFrom');
    if (!createdTimeFrom) return sendJson(res, 400, "Please provide value for 'createdTimeFrom' parameter.");
    const asked = statusesParam(params);
    const runtimeStatus = (asked.length ? asked : [...TERMINAL_STATUSES]).filter((s) =>
      TERMINAL_STATUSES.has(s),
    );
    let deleted = 0;
    if (runtimeStatus.length) {
      const { instances } = await this.engine.listStatuses({
        runtimeStatus,
        createdTimeFrom,
        createdTimeTo: dateParam(params, 'createdTimeTo') ?? new Date(),
      });
      const slots = new Semaphore(PURGE_CONCURRENCY);
      const counts = await Promise.all(
        instances.map((s) => slots.run(() => this.engine.purge(s.instanceId))),
      );
      deleted = counts.reduce((a, b) => a + b, 0);
    }
    sendJson(res, deleted ? 200 : 404, { instancesDeleted: deleted });
  }

  /** An instance's status: 202 while it is active, as the extension answers; its history on request. */
  private async status(res: ServerResponse, id: string, params: URLSearchParams): Promise<void> {
    const record = await this.engine.getStatus(id);
    if (!record) return sendJson(res, 404, { error: `No instance with ID '${id}' found.` });
    const showInput = booleanParam(params, 'showInput') ?? true;
    const body = statusBody(record, showInput ? record.input : null);
    if (booleanParam(params, 'showHistory') && record.runtimeStatus !== 'Pending') {
      body.historyEvents = httpHistoryEvents(record.history, {
        showHistoryOutput: booleanParam(params, 'showHistoryOutput') ?? false,
        showInput,
      });
    }
    sendJson(res, TERMINAL_STATUSES.has(record.runtimeStatus) ? 200 : 202, body);
  }

  /** 202 with the instance's management URLs, as the extension's check-status response. */
  private accepted(res: ServerResponse, id: string): void {
    const urls = this.managementUrls(encodeURIComponent(id), `taskHub=${this.hubName}&connection=Storage`);
    sendJson(res, 202, { ...urls, id }, { location: urls.statusQueryGetUri });
  }

  private managementUrls(id: string, query: string) {
    const instance = `${this.origin}${RPC_PREFIX}instances/${id}`;
    return {
      id,
      statusQueryGetUri: `${instance}?${query}`,
      sendEventPostUri: `${instance}/raiseEvent/{eventName}?${query}`,
      terminatePostUri: `${instance}/terminate?reason={text}&${query}`,
      rewindPostUri: `${instance}/rewind?reason={text}&${query}`,
      purgeHistoryDeleteUri: `${instance}?${query}`,
      restartPostUri: `${instance}/restart?${query}`,
      suspendPostUri: `${instance}/suspend?reason={text}&${query}`,
      resumePostUri: `${instance}/resume?reason={text}&${query}`,
    };
  }
}

/** How many instances a bulk purge deletes at once. */
const PURGE_CONCURRENCY = 16;

interface ListQuery extends InstanceQuery {
  showInput: boolean;
}

/**
 * The listing's query string and continuation header. Values the extension cannot parse are ignored,
 * as it does, rather than refused.
 */
function listQuery(params: URLSearchParams, continuationToken: string | undefined): ListQuery {
  const runtimeStatus = statusesParam(params);
  const createdTimeFrom = dateParam(params, 'createdTimeFrom');
  const createdTimeTo = dateParam(params, 'createdTimeTo');
  const instanceIdPrefix = params.get('instanceIdPrefix');
  const top = Number(params.get('top') ?? '');
  return {
    showInput: booleanParam(params, 'showInput') ?? true,
    ...(runtimeStatus.length ? { runtimeStatus } : {}),
    ...(createdTimeFrom ? { createdTimeFrom } : {}),
    ...(createdTimeTo ? { createdTimeTo } : {}),
    ...(instanceIdPrefix ? { instanceIdPrefix } : {}),
    ...(Number.isInteger(top) && top > 0 ? { top } : {}),
    ...(continuationToken ? { continuationToken } : {}),
  };
}

function statusesParam(params: URLSearchParams): RuntimeStatus[] {
  const names = (params.get('runtimeStatus') ?? '').split(',').map((s) => s.trim());
  return RUNTIME_STATUSES.filter((status) => names.includes(status));
}

function dateParam(params: URLSearchParams, name: string): Date | undefined {
  const value = params.get(name);
  const date = value ? new Date(value) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}

function booleanParam(params: URLSearchParams, name: string): boolean | undefined {
  const value = params.get(name)?.trim().toLowerCase();
  return value === 'true' ? true : value === 'false' ? false : undefined;
}

function statusBody(status: InstanceStatus, input: unknown): Record<string, unknown> {
  return {
    name: status.name,
    instanceId: status.instanceId,
    runtimeStatus: status.runtimeStatus,
    // The extension reports a missing input or output as null (durable-functions requires both fields).
    input: input ?? null,
    customStatus: status.customStatus,
    output: status.output ?? null,
    createdTime: status.createdTime,
    lastUpdatedTime: status.lastUpdatedTime,
  };
}
