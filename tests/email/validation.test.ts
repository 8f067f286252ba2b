import { afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError, UnavailableError } from '../../functions/platform/errors';
import { emailSettings } from '../../functions/email/settings';
import { loadFragments, SettingsError } from '../../functions/platform/settings';
import { startSmtpSink, type SmtpSink } from '../../local/servers/smtpSink';
import { closeEmails, reply, testEmail } from './support';

const sinks: SmtpSink[] = [];
afterEach(async () => {
  await closeEmails();
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

const load = (env: Record<string, string>) => loadFragments(env, { email: emailSettings }).email;

function settingsProblem(env: Record<string, string>): SettingsError {
  try {
    load(env);
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
  throw new Error('the settings were accepted');
}

describe('email settings', () => {
  it('infers the provider from the settings present, and none when there are none', () => {
    expect(load({}).provider).toBe('none');
    expect(load({ SMTP_HOST: 'smtp.example.org', EMAIL_SENDER: 'a@example.org' })).toMatchObject({
      provider: 'smtp',
      smtp: { host: 'smtp.example.org', port: 587, secure: false, auth: undefined },
    });
    expect(load({ SMTP_HOST: 'h', SMTP_SECURE: 'true', EMAIL_SENDER: 'a@example.org' })).toMatchObject({
      smtp: { port: 465, secure: true },
    });
    expect(
      load({ ACS_EMAIL_ENDPOINT: 'https://x.communication.azure.com', EMAIL_SENDER: 'a@example.org' }),
    ).toMatchObject({ provider: 'acs', acs: { kind: 'identity' }, suppressDays: 30 });
  });

  it('names each missing or conflicting setting', () => {
    expect(settingsProblem({ SMTP_HOST: 'smtp.example.org' }).message).toMatch(/EMAIL_SENDER is required/);
    expect(settingsProblem({ EMAIL_PROVIDER: 'acs', EMAIL_SENDER: 'a@example.org' }).message).toMatch(
      /ACS_EMAIL_ENDPOINT or ACS_EMAIL_CONNECTION_STRING is required/,
    );
    expect(
      settingsProblem({ SMTP_HOST: 'h', EMAIL_SENDER: 'a@example.org', SMTP_USER: 'u' }).message,
    ).toMatch(/SMTP_PASSWORD is required when SMTP_USER is set/);
    expect(settingsProblem({ EMAIL_PROVIDER: 'sendgrid' }).message).toMatch(
      /EMAIL_PROVIDER must be one of acs, smtp/,
    );
  });

  it('refuses a malformed connection string without repeating it', () => {
    const secret = 'endpoint=https://x.communication.azure.com/;key=c2VjcmV0LWtleQ==';
    const problem = settingsProblem({ ACS_EMAIL_CONNECTION_STRING: secret, EMAIL_SENDER: 'a@example.org' });
    expect(problem.message).toMatch(/ACS_EMAIL_CONNECTION_STRING must be endpoint=/);
    expect(problem.message).not.toContain('c2VjcmV0LWtleQ');
  });
});

describe('sending', () => {
  it('answers a clear UnavailableError naming what to set when no provider is configured', async () => {
    const email = testEmail({});
    expect(email.provider).toBe('none');
    const sending = email.send(reply());
    await expect(sending).rejects.toThrow(UnavailableError);
    await expect(sending).rejects.toThrow(/EMAIL_SENDER.*ACS_EMAIL_ENDPOINT.*SMTP_HOST/);
  });

  it.each([
    ['to', { to: 'parent@example.org, other@example.org' }, /to: must be exactly one recipient/],
    ['to', { to: 'not an address' }, /to: must be an email address/],
    ['headers.X-Campaign', { headers: { 'X-Campaign': 'rentrée\r\nBcc: all@example.org' } }, /no CR, LF/],
    ['headers.Bcc', { headers: { Bcc: 'all@example.org' } }, /set by the message itself/],
    ['headers.Bad Name', { headers: { 'Bad Name': 'x' } }, /not a valid header name/],
    ['subject', { subject: 'Re: x\r\nBcc: all@example.org' }, /one line/],
    ['key', { key: '' }, /must not be empty/],
    ['key', { key: 'k'.repeat(201) }, /at most 200/],
    ['key', { key: 'mailbox-reply:1\n' }, /control characters/],
    ['messageId', { messageId: '<id@ecole.example.org>' }, /without < >/],
    ['references.1', { references: ['a@b.example', 'no-at-sign'] }, /Message-ID/],
    ['kind', { kind: 'Mailbox Reply' }, /lowercase letters/],
  ])(
    'refuses a bad %s with an InvalidInputError naming it, and sends nothing',
    async (field, change, problem) => {
      const sink = await startSmtpSink();
      sinks.push(sink);
      const email = testEmail({
        SMTP_HOST: sink.host,
        SMTP_PORT: String(sink.port),
        EMAIL_SENDER: 'a@example.org',
      });
      const sending = email.send(reply(change));
      await expect(sending).rejects.toThrow(InvalidInputError);
      await expect(sending).rejects.toMatchObject({
        field,
        message: expect.stringMatching(problem) as string,
      });
      expect(sink.counters.connections).toBe(0);
    },
  );
});
