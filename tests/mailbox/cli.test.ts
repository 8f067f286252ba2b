import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppRoot } from '../../functions/app/root';
import { CONTAINERS } from '../../functions/platform/storageNames';
import { sampleFolders, startMailboxWorld, SCHOOL, type MailboxWorld } from '../../local/servers/mailWorld';

const CLI = path.resolve(__dirname, '../../dist/cli/mailbox.js');
const KNOWLEDGE_SAMPLES = sampleFolders(path.resolve(__dirname, '../..')).knowledge;

let world: MailboxWorld;
beforeAll(async () => {
  world = await startMailboxWorld(path.resolve(__dirname, '../..'));
});
afterAll(async () => {
  await world?.stop();
});

/** Runs `npm run mailbox -- <args>` as a user would (the compiled CLI), with these settings. */
function mailboxCli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const lastLine = (text: string) =>
  JSON.parse(text.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
const toLea = () => world.sink.messages.filter((m) => m.envelope.to.includes('lea.martin@example.com'));

describe('npm run mailbox (the CLI)', () => {
  it('says what to set when no mailbox is configured', async () => {
    const run = await mailboxCli(['--once'], { AzureWebJobsStorage: world.azurite.connectionString });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('MAILBOX_IMAP_HOST');
  });

  it('--upload-knowledge puts a folder of Markdown documents in the knowledge base', async () => {
    const container = world.storage.blobs.getContainerClient(CONTAINERS.mailboxKnowledge);
    await container.deleteBlob('horaires.md');
    const run = await mailboxCli(['--upload-knowledge', KNOWLEDGE_SAMPLES], {
      AzureWebJobsStorage: world.azurite.connectionString,
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`Uploaded 7 document(s) from ${KNOWLEDGE_SAMPLES}`);
    expect(await container.getBlockBlobClient('horaires.md').exists()).toBe(true);
  });

  it('--dry-run prints the answer it would send, and sends, records and flags nothing', async () => {
    await world.deliver('horaires-fr.eml', { messageId: 'cli-dry@mail.example.com' });
    const run = await mailboxCli(['--once', '--dry-run'], world.settings({ MAILBOX_REPLY_MODE: 'send' }));
    expect(run.code).toBe(0);
    expect(lastLine(run.stdout)).toEqual({ polled: 1, replied: 1, drafted: 0, skipped: 0, failed: 0 });
    expect(run.stderr).toContain('would send to lea.martin@example.com');
    expect(run.stderr).toMatch(/8\s?h\s?30|08:30/);
    expect(toLea()).toHaveLength(0);
    expect((await world.dovecot.messages(SCHOOL.user, 'INBOX'))[0]?.flags).not.toContain('\\Answered');
    // The real responder has not started: its first poll will take this mail as already there.
    expect(await createAppRoot(world.settings()).mailbox.checkpoint()).toBeUndefined();
  });

  it('--once polls and answers in this process: the first run takes the folder as it is, the next answers new mail', async () => {
    const settings = world.settings({ MAILBOX_REPLY_MODE: 'send' });
    expect(lastLine((await mailboxCli(['--once'], settings)).stdout)).toMatchObject({
      polled: 0,
      replied: 0,
    });
    await world.deliver('horaires-fr.eml', { messageId: 'cli-real@mail.example.com' });
    await world.deliver('out-of-office.eml', { messageId: 'cli-ooo@example.com' });
    const run = await mailboxCli(['--once'], settings);
    expect(run.code).toBe(0);
    expect(lastLine(run.stdout)).toEqual({ polled: 2, replied: 1, drafted: 0, skipped: 1, failed: 0 });
    expect(toLea()).toHaveLength(1);
    expect(lastLine((await mailboxCli(['--once'], settings)).stdout)).toMatchObject({
      polled: 0,
      replied: 0,
    });
    expect(toLea()).toHaveLength(1);
  });
});
