import { afterAll, describe, expect, it } from 'vitest';
import { startAiServer } from '../../local/servers/aiServer';
import { connectionStringFor } from '../../local/azurite';
import type { LocalHost } from '../../local/localHost';
import type { HealthReport } from '../../functions/ops/health';
import { startAppHost, testSettings } from '../support/testHost';
import { version } from '../../package.json';

const hosts: LocalHost[] = [];
afterAll(() => Promise.all(hosts.map((h) => h.stop())));

async function appHost(settings: Record<string, string> = {}): Promise<LocalHost> {
  const host = await startAppHost({ settings: testSettings(settings) });
  hosts.push(host);
  return host;
}

describe('health routes', () => {
  it('answers liveness anonymously with the version', async () => {
    const host = await appHost();
    const response = await host.http({ path: '/api/health' });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', version });
  });

  it('requires the function key for details, and reports blob, queue and table with their latency', async () => {
    const host = await appHost();
    expect((await host.http({ path: '/api/health/details' })).status).toBe(401);
    const response = await host.http({ path: `/api/health/details?code=${host.functionKey}` });
    expect(response.status).toBe(200);
    const report = response.json<HealthReport>();
    expect(report.status).toBe('ok');
    expect(report.dependencies.map((d) => [d.name, d.required, d.status])).toEqual([
      ['storage:blob', true, 'ok'],
      ['storage:queue', true, 'ok'],
      ['storage:table', true, 'ok'],
    ]);
    for (const dependency of report.dependencies) expect(dependency.latencyMs).toBeGreaterThan(0);
  });

  it('reports the AI providers as optional dependencies: down makes the app degraded, not down', async () => {
    const ai = await startAiServer();
    const host = await appHost({
      AI_PROVIDER: 'openai',
      OPENAI_BASE_URL: `${ai.url}/v1`,
      AI_FALLBACK: 'anthropic',
      ANTHROPIC_API_KEY: 'sk-ant-test-key',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
      HEALTH_TIMEOUT_MS: '1000',
    });
    const response = await host.http({ path: `/api/health/details?code=${host.functionKey}` });
    await ai.close();
    expect(response.status).toBe(200);
    const report = response.json<HealthReport>();
    expect(report.status).toBe('degraded');
    expect(
      report.dependencies.filter((d) => d.name.startsWith('ai:')).map((d) => [d.name, d.required, d.status]),
    ).toEqual([
      ['ai:openai', false, 'ok'],
      ['ai:anthropic', false, 'down'],
    ]);
    expect(response.body.toString()).not.toContain('sk-ant-test-key');
  });

  it('returns 503 naming each storage service that is down, without leaking the connection string', async () => {
    // Ports nothing listens on: storage is unreachable.
    const unreachable = connectionStringFor({ blob: 1, queue: 2, table: 3 });
    const host = await appHost({ AzureWebJobsStorage: unreachable, HEALTH_TIMEOUT_MS: '1500' });
    const response = await host.http({ path: `/api/health/details?code=${host.functionKey}` });
    expect(response.status).toBe(503);
    const report = response.json<HealthReport>();
    expect(report.status).toBe('down');
    expect(report.dependencies.every((d) => d.status === 'down' && d.error)).toBe(true);
    expect(response.body.toString()).not.toContain('AccountKey');
  });
});

describe('app start-up and logs', () => {
  it('refuses to start with an invalid setting, naming it', async () => {
    await expect(appHost({ DURABLE_TASK_HUB: 'no' })).rejects.toThrow(/DURABLE_TASK_HUB must be 3 to 45/);
  });

  it('redacts secrets from every log line through the app log hook', async () => {
    const settings = testSettings();
    const host = await appHost(settings);
    const [hook] = host.registrations.hooksFor('log');
    expect(hook).toBeDefined();
    const line: Record<string, unknown> = {
      level: 'information',
      category: 'user',
      message: `connecting with ${settings.AzureWebJobsStorage} and ?code=${host.functionKey}`,
    };
    await hook?.(line);
    expect(line.message).toBe('connecting with [redacted] and ?code=[redacted]');
  });
});
