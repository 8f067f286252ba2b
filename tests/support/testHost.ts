import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { inject } from 'vitest';
import { LocalHost, readHostJson, type LocalHostOptions } from '../../local/localHost';

export const APP_ROOT = path.resolve(__dirname, '../..');

/** A task hub name no other test uses, so tests share Azurite without seeing each other's state. */
export function uniqueHubName(prefix = 'test'): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

export function testSettings(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    AzureWebJobsStorage: inject('azuriteConnectionString'),
    FUNCTIONS_WORKER_RUNTIME: 'node',
    DURABLE_TASK_HUB: uniqueHubName(),
    ...overrides,
  };
}

/** Starts the local host on the built app (dist/), with the project's host.json. */
export function startAppHost(overrides: Partial<LocalHostOptions> = {}): Promise<LocalHost> {
  return LocalHost.start({
    app: { appRoot: APP_ROOT },
    settings: testSettings(),
    hostJson: readHostJson(APP_ROOT),
    ...overrides,
  });
}
