import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailView } from '../../functions/mailbox';
import type { HealthReport } from '../../functions/ops/health';
import { LocalHost, readHostJson } from '../../local/localHost';
import { startMailboxWorld, SCHOOL, type MailboxWorld } from '../../local/servers/mailWorld';
import { APP_ROOT, startAppHost, testSettings } from '../support/testHost';

let world: MailboxWorld;
const hosts: LocalHost[] = [];
beforeAll(async () => {
  world = await startMailboxWorld(path.resolve(__dirname, '../..'));
});
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await world?.stop();
});

async function mailboxHost(overrides: Record<string, string> = {}): Promise<LocalHost> {
  const host = await LocalHost.start({
    app: { appRoot: APP_ROOT },
    settings: world.settings(overrides),
    hostJson: readHostJson(APP_ROOT),
  });
  hosts.push(host);
  return host;
}

/** Runs the poll timer now through the host's admin API, as an operator would, and waits for it. */
async function pollNow(host: LocalHost): Promise<void> {
  const response = await host.http({
    method: 'POST',
    path: '/admin/functions/mailboxPoll',
    headers: { 'x-functions-key': host.masterKey },
    body: '{}',
  });
  expect(response.status).toBe(202);
  await host.settled();
}

const get = async <T>(host: LocalHost, path: string) => {
  const response = await host.http({ path, headers: { 'x-functions-key': host.functionKey } });
  expect(response.status).toBe(200);
  return response.json<T>();
};

describe('the mailbox responder through the Functions host', () => {
  it('answers a timetable request, skips an out-of-office reply and a bounce, and answers nothing twice', async () => {
    const host = await mailboxHost();
    await pollNow(host); // the first poll takes the folder as it is
    await world.deliver('horaires-fr.eml', { messageId: 'app-horaires@mail.example.com' });
    await world.deliver('out-of-office.eml', { messageId: 'app-ooo@example.com' });
    await world.deliver('bounce.eml', { messageId: 'app-bounce@mx.example.net' });
    await pollNow(host);
    expect(await host.pollQueues()).toBe(3);

    const { messages } = await get<{ messages: MailView[] }>(host, '/api/mailbox/messages');
    expect(messages.map((m) => [m.messageId, m.status, m.reason ?? null])).toEqual([
      ['app-bounce@mx.example.net', 'skipped', 'null-sender'],
      ['app-ooo@example.com', 'skipped', 'auto-submitted'],
      ['app-horaires@mail.example.com', 'replied', null],
    ]);
    const answered = messages.find((m) => m.status === 'replied');
    expect(answered?.reply?.text).toMatch(/8\s?h\s?30|08:30/);
    const single = await get<MailView>(host, `/api/mailbox/messages/${answered?.id ?? ''}`);
    expect(single).toEqual(answered);
    const replied = await get<{ messages: MailView[] }>(host, '/api/mailbox/messages?status=replied');
    expect(replied.messages).toHaveLength(1);

    // Later ticks: nothing new is answered, and the answered mail gets \Answered on the server.
    await pollNow(host);
    await host.pollQueues();
    expect(world.sink.messages.filter((m) => m.envelope.to.includes('lea.martin@example.com'))).toHaveLength(
      1,
    );
    const stored = await world.dovecot.messages(SCHOOL.user, 'INBOX');
    expect(stored.find((m) => m.messageId === '<app-horaires@mail.example.com>')?.flags).toContain(
      '\\Answered',
    );
    expect(stored.find((m) => m.messageId === '<app-ooo@example.com>')?.flags).not.toContain('\\Answered');

    const stats = await get<{ byStatus: Record<string, number> }>(host, '/api/mailbox/stats');
    expect(stats.byStatus).toMatchObject({ replied: 1, skipped: 2 });
  });

  it('refuses a bad filter naming it, an unknown mail with 404, and approving what is not a draft with 409', async () => {
    const host = await mailboxHost();
    const call = (method: string, path: string) =>
      host.http({ method, path, headers: { 'x-functions-key': host.functionKey }, body: '{}' });
    const bad = await call('GET', '/api/mailbox/messages?status=done');
    expect(bad.status).toBe(400);
    expect(bad.json<{ error: { message: string } }>().error.message).toMatch(/^status: must be one of/);
    expect((await call('GET', `/api/mailbox/messages/${'0'.repeat(32)}`)).status).toBe(404);
    const { messages } = await get<{ messages: MailView[] }>(host, '/api/mailbox/messages?status=replied');
    const conflict = await call('POST', `/api/mailbox/messages/${messages[0]?.id ?? ''}/approve`);
    expect(conflict.status).toBe(409);
    expect((await host.http({ path: '/api/mailbox/messages' })).status).toBe(401);
  });

  it('reports a wrong mailbox password in /api/health/details without the password, and the poll route fails clearly', async () => {
    const host = await mailboxHost({ MAILBOX_PASSWORD: 'not-the-password' });
    const response = await host.http({ path: `/api/health/details?code=${host.functionKey}` });
    expect(response.status).toBe(200);
    const report = response.json<HealthReport>();
    expect(report.status).toBe('degraded');
    const imap = report.dependencies.find((d) => d.name === 'mailbox:imap');
    expect(imap).toMatchObject({ required: false, status: 'down' });
    expect(imap?.error).toContain(SCHOOL.user);
    expect(response.body.toString()).not.toContain('not-the-password');

    const poll = await host.http({
      method: 'POST',
      path: '/api/mailbox/poll',
      headers: { 'x-functions-key': host.functionKey },
    });
    expect(poll.status).toBe(503);
    expect(poll.body.toString()).not.toContain('not-the-password');
  });

  it('says the responder is off when no mailbox is set', async () => {
    const host = await startAppHost({ settings: testSettings() });
    hosts.push(host);
    const poll = await host.http({
      method: 'POST',
      path: '/api/mailbox/poll',
      headers: { 'x-functions-key': host.functionKey },
    });
    expect(poll.status).toBe(503);
    expect(poll.json<{ error: { message: string } }>().error.message).toContain('MAILBOX_IMAP_HOST');
  });
});
