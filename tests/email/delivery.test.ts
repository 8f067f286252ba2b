import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAcsEmailServer, type AcsEmailServer } from '../../local/servers/acsEmailServer';
import type { LocalHost } from '../../local/localHost';
import { startAppHost, testSettings } from '../support/testHost';
import { closeEmails, manualClock, recipient, reply, testEmail, type TestEmailOptions } from './support';

const SENDER = 'DoNotReply@ecole.azurecomm.net';
const DAY_MS = 24 * 60 * 60_000;

let server: AcsEmailServer;
let host: LocalHost;
let emailSettings: Record<string, string>;
beforeAll(async () => {
  server = await startAcsEmailServer();
  emailSettings = {
    ACS_EMAIL_CONNECTION_STRING: server.connectionString,
    EMAIL_SENDER: SENDER,
    EMAIL_SUPPRESS_DAYS: '30',
  };
  // The app under the local host and the test's own instance share Azurite's tables.
  host = await startAppHost({ settings: testSettings(emailSettings) });
});
afterAll(async () => {
  await host.stop();
  await closeEmails();
  await server.close();
});

const appEmail = (options: TestEmailOptions = {}) => testEmail(emailSettings, options);

describe('delivery reports (Event Grid → emailDeliveryReport, through the local host)', () => {
  it('marks a delivered mail delivered, with the report detail', async () => {
    const email = appEmail();
    const sent = await email.send(reply());
    await host.eventGrid('emailDeliveryReport', server.deliveryReport(sent.operationId, 'Delivered'));
    expect(await email.getSend(sent.key)).toMatchObject({
      status: 'delivered',
      deliveryDetail: 'Delivered: Local report: Delivered',
      operationId: sent.operationId,
    });
  });

  it('keeps Failed, Quarantined and FilteredSpam as detail, the status unchanged', async () => {
    const email = appEmail();
    const sent = await email.send(reply());
    await host.eventGrid(
      'emailDeliveryReport',
      server.deliveryReport(sent.operationId, 'FilteredSpam', 'Flagged by the receiving server'),
    );
    expect(await email.getSend(sent.key)).toMatchObject({
      status: 'sent',
      deliveryDetail: 'FilteredSpam: Flagged by the receiving server',
    });
    expect(await email.isSuppressed(sent.to)).toBe(false);
  });

  it('does not mail a bounced recipient again for EMAIL_SUPPRESS_DAYS, and mails them after', async () => {
    const clock = manualClock();
    const email = appEmail({ clock: clock.now });
    const to = recipient();
    const first = await email.send(reply({ to }));
    await host.eventGrid(
      'emailDeliveryReport',
      server.deliveryReport(first.operationId, 'Bounced', '550 5.1.1 mailbox unknown'),
    );
    expect(await email.getSend(first.key)).toMatchObject({ status: 'bounced' });
    expect(await email.isSuppressed(to.toUpperCase())).toBe(true);

    const sends = server.counters.sends;
    const next = await email.send(reply({ to, kind: 'alert' }));
    expect(next).toMatchObject({ status: 'suppressed', kind: 'alert' });
    expect(next.error).toMatch(/bounced/);
    expect(server.counters.sends).toBe(sends);

    clock.advance(31 * DAY_MS);
    expect(await email.isSuppressed(to)).toBe(false);
    expect((await email.send(reply({ to }))).status).toBe('sent');
    expect(server.counters.sends).toBe(sends + 1);
  });

  it('suppresses a recipient ACS reports as suppressed', async () => {
    const email = appEmail();
    const sent = await email.send(reply());
    await host.eventGrid('emailDeliveryReport', server.deliveryReport(sent.operationId, 'Suppressed'));
    expect((await email.getSend(sent.key))?.status).toBe('suppressed');
    expect(await email.isSuppressed(sent.to)).toBe(true);
  });

  it('logs and ignores other events and reports on mail it did not send; fails a malformed report naming the field', async () => {
    await host.eventGrid('emailDeliveryReport', {
      id: 'other-1',
      eventType: 'Microsoft.Communication.EmailEngagementTrackingReportReceived',
      subject: 'x',
      eventTime: new Date().toISOString(),
      data: {},
    });
    const email = appEmail();
    const sent = await email.send(reply());
    const stranger = server.deliveryReport(sent.operationId, 'Delivered');
    await host.eventGrid('emailDeliveryReport', {
      ...stranger,
      id: 'stranger-1',
      data: { ...(stranger.data as object), messageId: '00000000-0000-4000-8000-000000000000' },
    });
    const ignored = host.logs
      .filter((l) => /^Ignored Event Grid event/.test(l.message))
      .map((l) => l.message);
    expect(ignored).toEqual([
      expect.stringContaining('other-1 (Microsoft.Communication.EmailEngagementTrackingReportReceived)'),
      expect.stringContaining('stranger-1'),
    ]);
    expect((await email.getSend(sent.key))?.status).toBe('sent');

    await expect(
      host.eventGrid('emailDeliveryReport', {
        ...stranger,
        data: { status: 'Delivered', recipient: 'a@b.c' },
      }),
    ).rejects.toThrow(/data\.messageId/);
    expect(host.logs.map((l) => l.message).join('\n')).not.toContain(server.accessKey);
  });
});
