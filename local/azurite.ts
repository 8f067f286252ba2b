import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';

/** Azurite's fixed development account (public, documented by Microsoft; not a secret). */
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteInstance {
  connectionString: string;
  ports: { blob: number; queue: number; table: number };
  stop(): Promise<void>;
}

/** A TCP port free on loopback now (the caller binds it soon after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function connectionStringFor(ports: AzuriteInstance['ports']): string {
  const endpoint = (port: number) => `http://127.0.0.1:${port}/${ACCOUNT}`;
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${ACCOUNT}`,
    `AccountKey=${ACCOUNT_KEY}`,
    `BlobEndpoint=${endpoint(ports.blob)}`,
    `QueueEndpoint=${endpoint(ports.queue)}`,
    `TableEndpoint=${endpoint(ports.table)}`,
  ].join(';');
}

/** The ports Azurite, and `UseDevelopmentStorage=true`, use unless told otherwise. */
export const DEFAULT_AZURITE_PORTS: AzuriteInstance['ports'] = { blob: 10000, queue: 10001, table: 10002 };

/** How many of the three services answer on these loopback ports. */
export async function azuriteListening(ports: AzuriteInstance['ports']): Promise<'all' | 'some' | 'none'> {
  const up = await Promise.all([canConnect(ports.blob), canConnect(ports.queue), canConnect(ports.table)]);
  if (up.every(Boolean)) return 'all';
  return up.some(Boolean) ? 'some' : 'none';
}

export interface StartAzuriteOptions {
  /** Keeps the data in this folder, so it survives a restart; fresh in-memory state when not given. */
  location?: string;
  /** Free ports when not given. */
  ports?: AzuriteInstance['ports'];
  timeoutMs?: number;
}

/** What Azurite last wrote to stderr, for the error message when it does not start. */
const STDERR_TAIL_CHARS = 4096;

/** Starts Azurite on loopback; `stop()` ends it. */
export async function startAzurite(options: StartAzuriteOptions = {}): Promise<AzuriteInstance> {
  const ports = options.ports ?? { blob: await freePort(), queue: await freePort(), table: await freePort() };
  const entry = require.resolve('azurite/dist/src/azurite.js');
  if (options.location) await mkdir(options.location, { recursive: true });
  const child: ChildProcess = spawn(
    process.execPath,
    [
      entry,
      '--silent',
      ...(options.location ? ['--location', options.location] : ['--inMemoryPersistence']),
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--loose',
      ...['--blobHost', '127.0.0.1', '--blobPort', String(ports.blob)],
      ...['--queueHost', '127.0.0.1', '--queuePort', String(ports.queue)],
      ...['--tableHost', '127.0.0.1', '--tablePort', String(ports.table)],
    ],
    { cwd: options.location ?? tmpdir(), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on(
    'data',
    (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL_CHARS)),
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while ((await azuriteListening(ports)) !== 'all') {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      throw new Error(`Azurite did not start: ${stderr.trim() || 'no answer on its ports'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    connectionString: connectionStringFor(ports),
    ports,
    stop: async () => {
      if (child.exitCode === null) child.kill();
      await exited;
    },
  };
}
