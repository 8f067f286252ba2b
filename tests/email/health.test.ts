import { afterAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../functions/ops/health';
import { startAcsEmailServer } from '../../local/servers/acsEmailServer';
import { startSmtpSink } from '../../local/servers/smtpSink';
import type { LocalHost } from '../../local/localHost';
import { startAppHost, testSettings } from '../support/testHost';

const hosts: LocalHost[] = [];
afterAll(() => Promise.all(hosts.map((h) => h.stop())));

async function details(settings: Record<string, string>) {
  const host = await startAppHost({ settings: testSettings({ HEALTH_TIMEOUT_MS: '2000', ...settings }) });
  hosts.push(host);
  const response = await host.http({ path: `/api/health/details?code=${host.functionKey}` });
  return { status: response.status, text: response.body.toString(), report: response.json<HealthReport>() };
}

const emailDependencies = (report: HealthReport) =>
  report.dependencies.filter((d) => d.name.startsWith('email:')).map((d) => [d.name, d.required, d.status]);

describe('the email provider in /api/health/details', () => {
  it('reports a reachable SMTP server as an optional dependency, without sending mail', async () => {
    const sink = await startSmtpSink();
    const { report } = await details({
      SMTP_HOST: sink.host,
      SMTP_PORT: String(sink.port),
      EMAIL_SENDER: 'a@example.org',
    });
    await sink.close();
    expect(emailDependencies(report)).toEqual([['email:smtp', false, 'ok']]);
    expect(report.status).toBe('ok');
    expect(sink.messages).toEqual([]);
  });

  it('reports an unreachable ACS endpoint as down: the app is degraded, the key not shown', async () => {
    const acs = await startAcsEmailServer();
    await acs.close();
    const { status, report, text } = await details({
      ACS_EMAIL_CONNECTION_STRING: acs.connectionString,
      EMAIL_SENDER: 'DoNotReply@ecole.azurecomm.net',
    });
    expect(status).toBe(200);
    expect(emailDependencies(report)).toEqual([['email:acs', false, 'down']]);
    expect(report.status).toBe('degraded');
    expect(text).not.toContain(acs.accessKey);
  });

  it('has no email dependency when no provider is configured', async () => {
    const { report } = await details({});
    expect(emailDependencies(report)).toEqual([]);
  });
});
