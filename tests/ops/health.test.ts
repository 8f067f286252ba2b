import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AiSettings } from '../../functions/ai/settings';
import { aiProbes } from '../../functions/ops/aiProbes';
import { checkDependencies, type DependencyProbe } from '../../functions/ops/health';
import { storageProbes } from '../../functions/ops/storageProbes';
import { createStorageClients } from '../../functions/platform/storage';
import { connectionStringFor } from '../../local/azurite';

const ok = (name: string, required = true): DependencyProbe => ({
  name,
  required,
  check: () => Promise.resolve(),
});
const down = (name: string, required: boolean, error: Error): DependencyProbe => ({
  name,
  required,
  check: () => Promise.reject(error),
});
const hanging = (name: string, signals: AbortSignal[] = []): DependencyProbe => ({
  name,
  required: true,
  check: (signal) => {
    signals.push(signal);
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  },
});

/** A dependency that takes requests and never answers them; it sees when a client hangs up. */
class HungServer {
  /** The request line of every request it received. */
  readonly requests: string[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly pending = new Set<Socket>();
  private settled: (() => void) | undefined;
  private readonly server: Server = createServer((socket) => {
    this.sockets.add(socket);
    // Reading the socket is what lets the server see the client's end of the connection.
    socket.on('data', (chunk: Buffer) => {
      if (this.pending.has(socket)) return;
      this.requests.push(chunk.toString('latin1').split('\r\n')[0] ?? '');
      this.pending.add(socket);
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (this.pending.delete(socket) && this.pending.size === 0) this.settled?.();
    });
  });

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** Resolves once the client has closed every connection that carried a request. */
  requestsClosed(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.settled = resolve));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const hungServers: HungServer[] = [];
afterEach(() => Promise.all(hungServers.splice(0).map((s) => s.close())));

describe('checkDependencies', () => {
  const options = { version: '1.2.3', timeoutMs: 200, now: () => new Date('2026-11-21T10:00:00Z') };

  it('is ok when every dependency answers', async () => {
    const report = await checkDependencies([ok('a'), ok('b', false)], options);
    expect(report).toMatchObject({ status: 'ok', version: '1.2.3', checkedAt: '2026-11-21T10:00:00.000Z' });
    expect(report.dependencies.map((d) => [d.name, d.status])).toEqual([
      ['a', 'ok'],
      ['b', 'ok'],
    ]);
    expect(report.dependencies[0]?.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('is degraded when only an optional dependency is down, and down when a required one is', async () => {
    const failure = Object.assign(new Error('connect refused\nstack'), { code: 'ECONNREFUSED' });
    expect((await checkDependencies([ok('a'), down('ai', false, failure)], options)).status).toBe('degraded');
    const report = await checkDependencies([down('storage', true, failure), ok('b')], options);
    expect(report.status).toBe('down');
    expect(report.dependencies[0]).toMatchObject({ status: 'down', error: 'ECONNREFUSED: connect refused' });
  });

  it('gives up on a dependency that does not answer within the timeout, and aborts its call', async () => {
    const signals: AbortSignal[] = [];
    const report = await checkDependencies([hanging('slow', signals)], options);
    expect(report.dependencies[0]).toMatchObject({ status: 'down', error: 'no answer within 200 ms' });
    expect(signals.map((s) => s.aborted)).toEqual([true]);
  });

  it('closes the connections of the real storage and AI probes to a dependency that hangs', async () => {
    const hung = new HungServer();
    hungServers.push(hung);
    const port = await hung.listen();
    const storage = createStorageClients({
      kind: 'connectionString',
      connectionString: connectionStringFor({ blob: port, queue: port, table: port }),
    });
    const ai = {
      provider: 'openai',
      fallback: [],
      openAI: { baseURL: `http://127.0.0.1:${port}/v1`, apiKey: undefined, model: 'gpt-4o-mini' },
    } as Partial<AiSettings> as AiSettings;
    // A second of timeout leaves every probe time to reach the server, however busy the machine.
    const report = await checkDependencies([...storageProbes(storage), ...aiProbes(ai)], {
      ...options,
      timeoutMs: 1000,
    });
    expect(report.dependencies.map((d) => [d.name, d.status, d.error])).toEqual(
      ['storage:blob', 'storage:queue', 'storage:table', 'ai:openai'].map((name) => [
        name,
        'down',
        'no answer within 1000 ms',
      ]),
    );
    expect(hung.requests).toHaveLength(4);
    expect(hung.requests).toContain('GET /v1/models HTTP/1.1');
    // Resolves only when the client side has closed all four: an abandoned call would keep its socket.
    await hung.requestsClosed();
  });

  it('redacts error text before reporting it', async () => {
    const report = await checkDependencies([down('s', true, new Error('bad AccountKey=abc'))], {
      ...options,
      redact: (t) => t.replace('abc', '***'),
    });
    expect(report.dependencies[0]?.error).toBe('bad AccountKey=***');
  });
});
