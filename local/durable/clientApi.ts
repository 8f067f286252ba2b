import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readBody, sendJson } from '../jsonHttp';
import type { AddressInfo } from 'node:net';
import { DurableError, type DurableEngine } from './engine';
import type { InstanceRecord, RuntimeStatus } from './store';

const RPC_PREFIX = '/runtime/webhooks/durabletask/';

/**
 * The Durable extension's HTTP API as durable-functions' DurableClient calls it (`rpcBaseUrl`):
 * start (409 Conflict for a pending or running id), status, list, raise event, terminate and purge,
 * served over real HTTP on loopback.
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
    const instance = `${base}instances/INSTANCEID`;
    return {
      taskHubName: this.hubName,
      creationUrls: {
        createNewInstancePostUri: `${base}orchestrators/{functionName}[/{instanceId}]?code=${functionKey}`,
        createAndWaitOnNewInstancePostUri: `${base}orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=${functionKey}`,
      },
      managementUrls: {
        id: 'INSTANCEID',
        statusQueryGetUri: `${instance}?${query}`,
        sendEventPostUri: `${instance}/raiseEvent/{eventName}?${query}`,
        terminatePostUri: `${instance}/terminate?reason={text}&${query}`,
        rewindPostUri: `${instance}/rewind?reason={text}&${query}`,
        purgeHistoryDeleteUri: `${instance}?${query}`,
        restartPostUri: `${instance}/restart?${query}`,
        suspendPostUri: `${instance}/suspend?reason={text}&${query}`,
        resumePostUri: `${instance}/resume?reason={text}&${query}`,
      },
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
    try {
      if (parts[0] === 'orchestrators' && parts[1] && method === 'POST') {
        const input = body ? (JSON.parse(body) as unknown) : undefined;
        const id = await this.engine.start(
          parts[1],
          input,
          parts[2] || crypto.randomUUID().replace(/-/g, ''),
        );
        return sendJson(res, 202, { id, ...this.links(id) });
      }
      if (parts[0] !== 'instances') return sendJson(res, 404, { error: 'not found' });
      const id = parts[1] ?? '';
      const action = parts[2];
      if (!id && method === 'GET')
        return sendJson(
          res,
          200,
          (await this.list(url)).map((r) => toStatus(r, url)),
        );
      if (!id && method === 'DELETE') {
        const records = await this.list(url);
        let deleted = 0;
        for (const record of records) deleted += await this.engine.purge(record.instanceId);
        return sendJson(res, deleted ? 200 : 404, { instancesDeleted: deleted });
      }
      if (!action && method === 'GET') {
        const record = await this.engine.getStatus(id);
        if (!record) return sendJson(res, 404, { error: `No instance with ID '${id}' found.` });
        const running = record.runtimeStatus === 'Pending' || record.runtimeStatus === 'Running';
        return sendJson(res, running ? 202 : 200, toStatus(record, url));
      }
      if (!action && method === 'DELETE') {
        const deleted = await this.engine.purge(id);
        return sendJson(res, deleted ? 200 : 404, { instancesDeleted: deleted });
      }
      if (action === 'raiseEvent' && parts[3] && method === 'POST') {
        await this.engine.raiseEvent(id, parts[3], body ? (JSON.parse(body) as unknown) : undefined);
        return sendJson(res, 202, {});
      }
      if (action === 'terminate' && method === 'POST') {
        await this.engine.terminate(id, url.searchParams.get('reason') ?? '');
        return sendJson(res, 202, {});
      }
      return sendJson(res, 501, { error: `The local host does not implement ${method} ${url.pathname}.` });
    } catch (error) {
      if (error instanceof DurableError) {
        // The extension answers a start on a pending or running id with 409 and an HttpError body
        // ({"Message": …}); durable-functions' startNew then rejects with an Error whose message is
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

  private links(id: string): Record<string, string> {
    const base = `${this.origin}${RPC_PREFIX}instances/${encodeURIComponent(id)}`;
    return {
      statusQueryGetUri: base,
      sendEventPostUri: `${base}/raiseEvent/{eventName}`,
      terminatePostUri: `${base}/terminate?reason={text}`,
      purgeHistoryDeleteUri: base,
    };
  }

  private list(url: URL): Promise<InstanceRecord[]> {
    const statuses = url.searchParams.get('runtimeStatus');
    const from = url.searchParams.get('createdTimeFrom');
    const to = url.searchParams.get('createdTimeTo');
    return this.engine.list({
      ...(statuses ? { runtimeStatus: statuses.split(',') as RuntimeStatus[] } : {}),
      ...(from ? { createdTimeFrom: new Date(from) } : {}),
      ...(to ? { createdTimeTo: new Date(to) } : {}),
    });
  }
}

function toStatus(record: InstanceRecord, url: URL): Record<string, unknown> {
  const status: Record<string, unknown> = {
    name: record.name,
    instanceId: record.instanceId,
    runtimeStatus: record.runtimeStatus,
    // The extension reports a missing input or output as null (durable-functions requires both fields).
    input: url.searchParams.get('showInput') === 'false' ? null : (record.input ?? null),
    customStatus: record.customStatus,
    output: record.output ?? null,
    createdTime: record.createdTime,
    lastUpdatedTime: record.lastUpdatedTime,
  };
  if (url.searchParams.get('showHistory') === 'true') status.history = record.history;
  return status;
}
