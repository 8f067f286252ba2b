import { describe, expect, it } from 'vitest';
import { loadAppSettings as loadSettings } from '../../functions/app/settings';
import { SettingsError } from '../../functions/platform/settings';

const valid = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', DURABLE_TASK_HUB: 'suiteHub' };

function issuesOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) return error.issues.map((i) => i.setting);
    throw error;
  }
  return [];
}

describe('app settings', () => {
  it('reads a connection-string app with defaults', () => {
    const settings = loadSettings(valid);
    expect(settings.host.storage).toEqual({
      kind: 'connectionString',
      connectionString: 'UseDevelopmentStorage=true',
    });
    expect(settings.host.taskHub).toBe('suiteHub');
    expect(settings.health.timeoutMs).toBe(3000);
    expect(settings.secretValues).toEqual(['UseDevelopmentStorage=true']);
  });

  it('reads identity-based storage when only the account name is set', () => {
    const settings = loadSettings({
      DURABLE_TASK_HUB: 'suiteHub',
      AzureWebJobsStorage__accountName: 'stsuite',
      AzureWebJobsStorage__clientId: 'client-1',
    });
    expect(settings.host.storage).toEqual({ kind: 'identity', accountName: 'stsuite', clientId: 'client-1' });
  });

  it('names every missing or invalid setting, and treats empty values as missing', () => {
    expect(issuesOf({ AzureWebJobsStorage: '', DURABLE_TASK_HUB: 'x' })).toEqual([
      'DURABLE_TASK_HUB',
      'AzureWebJobsStorage',
    ]);
    expect(issuesOf({ ...valid, HEALTH_TIMEOUT_MS: 'soon' })).toEqual(['HEALTH_TIMEOUT_MS']);
    expect(issuesOf({ ...valid, FUNCTIONS_WORKER_RUNTIME: 'dotnet' })).toEqual(['FUNCTIONS_WORKER_RUNTIME']);
  });

  it('never puts a setting value in its error message', () => {
    const secret = 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0LWtleQ==';
    try {
      loadSettings({ AzureWebJobsStorage: secret, DURABLE_TASK_HUB: '1bad' });
      expect.unreachable('invalid settings must throw');
    } catch (error) {
      expect(String(error)).toContain('DURABLE_TASK_HUB must be 3 to 45 letters or digits');
      expect(String(error)).not.toContain('c2VjcmV0LWtleQ');
    }
  });

  it('runs offline when no AI provider is configured, and infers the provider from what is', () => {
    expect(loadSettings(valid).ai.provider).toBe('offline');
    const azure = loadSettings({ ...valid, AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com/' }).ai;
    expect(azure.provider).toBe('azure-openai');
    expect(azure.azureOpenAI).toEqual({
      endpoint: 'https://x.openai.azure.com/',
      deployment: 'gpt-4o-mini',
      apiVersion: '2024-10-21',
      apiKey: undefined,
    });
    expect(loadSettings({ ...valid, OPENAI_BASE_URL: 'http://localhost:11434/v1' }).ai.provider).toBe(
      'openai',
    );
  });

  it('checks that the primary and fallback providers are configured', () => {
    expect(issuesOf({ ...valid, AI_PROVIDER: 'anthropic' })).toEqual(['AI_PROVIDER']);
    expect(issuesOf({ ...valid, AI_FALLBACK: 'openai,mistral' })).toEqual(['AI_FALLBACK']);
    expect(issuesOf({ ...valid, AI_FALLBACK: 'anthropic' })).toEqual(['AI_FALLBACK']);
    const ok = loadSettings({
      ...valid,
      OPENAI_BASE_URL: 'http://localhost:11434/v1',
      AI_FALLBACK: 'anthropic',
      ANTHROPIC_API_KEY: 'sk-ant-123456',
    });
    expect(ok.ai.fallback).toEqual(['anthropic']);
    expect(ok.secretValues).toContain('sk-ant-123456');
  });

  it('keeps one call within the Functions timeout, and reads prices as JSON', () => {
    expect(issuesOf({ ...valid, AI_TIMEOUT_MS: '200000', AI_MAX_RETRIES: '3' })).toEqual(['AI_TIMEOUT_MS']);
    expect(issuesOf({ ...valid, AI_PRICES: '{not json' })).toEqual(['AI_PRICES']);
    expect(loadSettings({ ...valid, AI_PRICES: '{"my-model":{"input":1,"output":2}}' }).ai.prices).toEqual({
      'my-model': { input: 1, output: 2 },
    });
    expect(
      loadSettings({ ...valid, AI_OUTPUT_BLOCKLIST: 'secret, confidentiel ,' }).ai.outputBlocklist,
    ).toEqual(['secret', 'confidentiel']);
  });
});
