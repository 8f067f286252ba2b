import { spawn, type ChildProcess } from 'node:child_process';
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

async function freePort(): Promise<number> {
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

function canConnect(port: number): Promise<boolean> {
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

/** Starts Azurite on free loopback ports with fresh in-memory state; `stop()` ends it. */
export async function startAzurite(timeoutMs = 30_000): Promise<AzuriteInstance> {
  const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
  const entry = require.resolve('azurite/dist/src/azurite.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      entry,
      '--silent',
      '--inMemoryPersistence',
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--loose',
      ...['--blobHost', '127.0.0.1', '--blobPort', String(ports.blob)],
      ...['--queueHost', '127.0.0.1', '--queuePort', String(ports.queue)],
      ...['--tableHost', '127.0.0.1', '--tablePort', String(ports.table)],
    ],
    { cwd: tmpdir(), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const up = await Promise.all([canConnect(ports.blob), canConnect(ports.queue), canConnect(ports.table)]);
    if (up.every(Boolean)) break;
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
