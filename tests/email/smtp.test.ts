import { afterEach, describe, expect, it } from 'vitest';
import { SENDING_GRACE_MS } from '../../functions/email';
import { ConflictError } from '../../functions/platform/errors';
import { startSmtpSink, type SmtpSink, type SmtpSinkOptions } from '../../local/servers/smtpSink';
import { closeEmails, manualClock, reply, testEmail, testSendStore, type TestEmailOptions } from './support';

const sinks: SmtpSink[] = [];
afterEach(async () => {
  await closeEmails();
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

async function sink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const started = await startSmtpSink(options);
  sinks.push(started);
  return started;
}

const SENDER = 'secretariat@ecole.example.org';
const PASSWORD = 'smtp-password-of-the-school';

function smtpEmail(target: SmtpSink, options: TestEmailOptions = {}, env: Record<string, string> = {}) {
  return testEmail(
    {
      SMTP_HOST: target.host,
      SMTP_PORT: String(target.port),
      EMAIL_SENDER: SENDER,
      SMTP_USER: 'secretariat',
      SMTP_PASSWORD: PASSWORD,
      ...env,
    },
    options,
  );
}

describe('outbound email through SMTP (nodemailer against the local SMTP sink)', () => {
  it('sends to the one recipient, signed in, with the Message-ID, the thread and the extra headers', async () => {
    const server = await sink({ auth: { user: 'secretariat', password: PASSWORD } });
    const email = smtpEmail(server);
    expect(email.provider).toBe('smtp');
    const message = reply({ html: '<p>Bonjour</p>' });
    const record = await email.send(message);

    expect(record).toMatchObject({ key: message.key, status: 'sent', providerMessageId: message.messageId });
    expect(server.messages).toHaveLength(1);
    const [received] = server.messages;
    expect(received?.envelope).toEqual({ from: SENDER, to: [message.to] });
    expect(received).toMatchObject({
      subject: message.subject,
      messageId: `<${message.messageId}>`,
      inReplyTo: '<question-1@parents.example.net>',
      references: '<thread-0@parents.example.net> <question-1@parents.example.net>',
    });
    expect(received?.html?.trim()).toBe('<p>Bonjour</p>');
    expect(received?.text?.trim()).toBe(message.text.trim());
    expect(received?.headers).toMatchObject({
      to: message.to,
      'auto-submitted': 'auto-replied',
      'x-auto-response-suppress': 'All',
    });
    expect(received?.headers.cc).toBeUndefined();
  });

  it('sends a key once, also when it is sent twice at the same moment', async () => {
    const server = await sink();
    const email = smtpEmail(server, {}, { SMTP_USER: '', SMTP_PASSWORD: '' });
    const message = reply();
    const [a, b] = await Promise.all([email.send(message), email.send(message)]);
    expect(a).toEqual(b);
    expect(await email.send(message)).toEqual(a);
    // Two app instances: one sends; the other finds the record and either answers it, or (while the
    // first is still sending) refuses with a ConflictError rather than sending again.
    const other = reply();
    const noAuth = { SMTP_USER: '', SMTP_PASSWORD: '' };
    const settled = await Promise.allSettled([
      smtpEmail(server, {}, noAuth).send(other),
      smtpEmail(server, {}, noAuth).send(other),
    ]);
    const answered = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value.status] : []));
    expect(answered).toContain('sent');
    expect(answered.every((status) => status === 'sent')).toBe(true);
    for (const r of settled) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
    expect(server.messages).toHaveLength(2);
  });

  it('records a rejected recipient as failed; a later send of the key tries again and sends once', async () => {
    const server = await sink();
    const email = smtpEmail(server, {}, { SMTP_USER: '', SMTP_PASSWORD: '' });
    const message = reply();
    server.rejectNext(1, 450);
    const failed = await email.send(message);
    expect(failed).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/SMTP refused: .*450/) as string,
    });
    expect(server.messages).toEqual([]);

    const retried = await email.send(message);
    expect(retried.status).toBe('sent');
    expect(retried.operationId).not.toBe(failed.operationId);
    expect(server.messages).toHaveLength(1);
  });

  it('records a connection cut after the message went out as uncertain, and never sends it again', async () => {
    const server = await sink();
    const email = smtpEmail(server, {}, { SMTP_USER: '', SMTP_PASSWORD: '' });
    const message = reply();
    server.dropNext(1);
    const record = await email.send(message);
    expect(record).toMatchObject({
      status: 'uncertain',
      error: expect.stringMatching(/during the transaction/) as string,
    });
    expect(await email.send(message)).toEqual(record);
    expect(server.counters.dropped).toBe(1);
    expect(server.messages).toEqual([]);
  });

  it('records a wrong password or an unreachable server as failed, with no password in the error', async () => {
    const server = await sink({ auth: { user: 'secretariat', password: 'the-right-one' } });
    const refused = await smtpEmail(server).send(reply());
    expect(refused).toMatchObject({ status: 'failed', error: expect.stringMatching(/EAUTH/) as string });
    expect(server.counters.authFailures).toBe(1);

    const closed = await sink();
    await closed.close();
    const unreachable = await smtpEmail(closed).send(reply());
    expect(unreachable).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/ECONNREFUSED/) as string,
    });
    expect(JSON.stringify([refused, unreachable])).not.toContain(PASSWORD);
  });

  it('after a crash mid-send, a retry waits out the grace period, then records it uncertain and sends nothing', async () => {
    const server = await sink();
    const clock = manualClock();
    const message = reply();
    const at = clock.now().toISOString();
    await testSendStore().insert({
      key: message.key,
      kind: message.kind,
      to: message.to,
      subject: message.subject,
      provider: 'smtp',
      operationId: '0b8f4c1e-2222-4e0e-8f1d-5a3c9d0e7b12',
      status: 'sending',
      createdAt: at,
      updatedAt: at,
    });
    const email = smtpEmail(server, { clock: clock.now }, { SMTP_USER: '', SMTP_PASSWORD: '' });
    await expect(email.send(message)).rejects.toThrow(ConflictError);
    clock.advance(SENDING_GRACE_MS + 1000);
    const record = await email.send(message);
    expect(record).toMatchObject({
      status: 'uncertain',
      error: expect.stringMatching(/A person decides/) as string,
    });
    expect(await email.send(message)).toEqual(record);
    expect(server.counters.connections).toBe(0);
  });
});
