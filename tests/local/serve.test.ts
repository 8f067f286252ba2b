import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAzurite, type AzuriteInstance } from '../../local/azurite';
import { APP_ROOT, uniqueHubName } from '../support/testHost';

/**
 * `npm run serve` as a user runs it: the built CLI in its own process, over real HTTP. It gets an
 * Azurite of its own: its blob watcher fires every blob in the containers the app watches, and would
 * otherwise start batches from the blobs other test files drop into the shared Azurite.
 */
const functionKey = randomUUID();
const masterKey = randomUUID();
let azurite: AzuriteInstance;
let child: ChildProcess;
let origin = '';
const lines: string[] = [];
let exited: Promise<number | null>;

function waitForLine(pattern: RegExp): Promise<string> {
  return vi.waitFor(
    () => {
      const line = lines.find((l) => pattern.test(l));
      if (!line) throw new Error(`No line matches ${String(pattern)} in:\n${lines.join('\n')}`);
      return line;
    },
    { timeout: 20_000, interval: 50 },
  );
}

beforeAll(async () => {
  azurite = await startAzurite();
  child = spawn(
    process.execPath,
    [
      path.join(APP_ROOT, 'dist/cli/serve.js'),
      '--port',
      '0',
      '--key',
      functionKey,
      '--master-key',
      masterKey,
    ],
    {
      cwd: APP_ROOT,
      env: {
        ...process.env,
        AzureWebJobsStorage: azurite.connectionString,
        DURABLE_TASK_HUB: uniqueHubName('serve'),
        AI_PROVIDER: 'offline',
        FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: '4096',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let pending = '';
  const collect = (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const complete = pending.split('\n');
    pending = complete.pop() ?? '';
    lines.push(...complete);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = await waitForLine(/^Listening on /);
  origin = listening.replace('Listening on ', '').trim();
}, 60_000);

afterAll(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
  await azurite.stop();
});

describe('npm run serve', () => {
  it('prints the keys, the storage it uses, and where it listens', () => {
    expect(lines).toContain(`Function key: ${functionKey}`);
    expect(lines).toContain(`Master key: ${masterKey}`);
    expect(lines).toContain('Storage: AzureWebJobsStorage');
    expect(origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves the app routes: a public route answers, a function-level route wants the key', async () => {
    const health = await fetch(`${origin}/api/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    expect((await fetch(`${origin}/api/health/details`)).status).toBe(401);
    expect(
      (await fetch(`${origin}/api/health/details`, { headers: { 'x-functions-key': functionKey } })).status,
    ).toBe(200);
    await waitForLine(/healthLiveness: Executed 'Functions\.healthLiveness' \(Succeeded, Id=/);
  });

  it('refuses a request body over the size limit with 413', async () => {
    const response = await fetch(`${origin}/api/dossiers/batches?code=${functionKey}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ padding: 'x'.repeat(8192) }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('runs a blob function through the admin endpoint with the master key only', async () => {
    const blobPath = 'dossiers-inbox/serve-admin/readme.txt';
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      'dossiers-inbox',
    );
    await container.createIfNotExists();
    await container.getBlockBlobClient('serve-admin/readme.txt').upload('not a batch file', 16);
    const run = (key: string) =>
      fetch(`${origin}/admin/functions/dossiersInbox`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-functions-key': key },
        body: JSON.stringify({ input: blobPath }),
      });
    expect((await run(functionKey)).status).toBe(401);
    expect((await run(masterKey)).status).toBe(202);
    const executing = await waitForLine(
      /Executing 'Functions\.dossiersInbox' \(Reason='This function was programmatically/,
    );
    const id = /Id=([0-9a-f-]+)/.exec(executing)?.[1] ?? '';
    await waitForLine(new RegExp(`Executed 'Functions\\.dossiersInbox' \\(Succeeded, Id=${id}`));
  });

  it('stops cleanly on Ctrl-C (SIGINT) with exit code 0', async () => {
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(lines).toContain('SIGINT: stopping…');
  });
});
