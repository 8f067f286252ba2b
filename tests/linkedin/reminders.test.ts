import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remindExpiring } from '../../functions/linkedin/reminders';
import { startLinkedInServer, type LinkedInServer } from '../../local/servers/linkedinServer';
import { startSmtpSink, type SmtpSink } from '../../local/servers/smtpSink';
import { closeEmails, testEmail } from '../email/support';
import { CLIENT, linkedinFixture } from './support';

const DAY_MS = 86_400_000;
let server: LinkedInServer;
let sink: SmtpSink;
beforeAll(async () => {
  [server, sink] = await Promise.all([startLinkedInServer(CLIENT), startSmtpSink()]);
});
afterAll(async () => {
  await closeEmails();
  await Promise.all([server?.stop(), sink?.close()]);
});

describe('token expiry reminders', () => {
  it('emails 7 days and 1 day before a token expires, once each, and not before', async () => {
    const fixture = linkedinFixture(server, { LINKEDIN_NOTIFY_EMAIL: 'ops@example.org' });
    const account = await fixture.connect();
    const email = testEmail({
      EMAIL_PROVIDER: 'smtp',
      EMAIL_SENDER: 'suite@example.org',
      SMTP_HOST: sink.host,
      SMTP_PORT: String(sink.port),
    });
    const deps = { stores: fixture.stores, settings: fixture.settings, email, clock: fixture.clock.now };
    const mailsTo = () =>
      sink.messages.filter(
        (m) => m.envelope.to.includes('ops@example.org') && m.subject?.includes(account.name),
      );

    fixture.clock.advance(50 * DAY_MS); // 10 days left
    expect(await remindExpiring(deps)).toEqual({ sent: 0 });
    fixture.clock.advance(4 * DAY_MS); // 6 days left
    expect(await remindExpiring(deps)).toEqual({ sent: 1 });
    expect(await remindExpiring(deps)).toEqual({ sent: 0 });
    fixture.clock.advance(5.5 * DAY_MS); // half a day left
    expect(await remindExpiring(deps)).toEqual({ sent: 1 });
    fixture.clock.advance(DAY_MS); // expired: nothing more to remind
    expect(await remindExpiring(deps)).toEqual({ sent: 0 });

    const subjects = mailsTo().map((m) => m.subject);
    expect(subjects).toEqual([
      `LinkedIn: reconnect ${account.name} within 7 days`,
      `LinkedIn: reconnect ${account.name} within 1 day`,
    ]);
  });
});
