import { z } from 'zod';
import { defineSettings, optionalText } from './settings';

export type StorageTarget =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; accountName: string; clientId: string | undefined };

export interface HostSettings {
  storage: StorageTarget;
  taskHub: string;
  appInsightsConfigured: boolean;
}

/**
 * Deployed names that stand for a setting in Azure. Identity-based storage replaces the
 * AzureWebJobsStorage connection string with its `__accountName` / `__credential` / `__clientId` form.
 */
export const DEPLOYED_FORMS: Readonly<Record<string, readonly string[]>> = {
  AzureWebJobsStorage: ['AzureWebJobsStorage__accountName'],
};

/** What the Functions host and the app's storage need, whatever capabilities run. */
export const hostSettings = defineSettings({
  entries: {
    AzureWebJobsStorage: {
      schema: optionalText,
      secret: true,
      required: 'yes¹',
      doc: 'Storage connection string (`UseDevelopmentStorage=true` for Azurite).',
    },
    AzureWebJobsStorage__accountName: {
      schema: optionalText,
      required: 'yes¹',
      doc: 'Identity-based storage: the account name (used in Azure with the managed identity).',
    },
    AzureWebJobsStorage__clientId: {
      schema: optionalText,
      doc: 'Client id of the user-assigned identity for identity-based storage.',
    },
    FUNCTIONS_WORKER_RUNTIME: {
      schema: z.preprocess(
        (v) => (v === '' ? undefined : v),
        z.literal('node', { message: 'must be "node"' }).optional(),
      ),
      doc: 'Must be `node` when set (Core Tools needs it locally; Flex Consumption sets the runtime itself).',
    },
    DURABLE_TASK_HUB: {
      schema: z
        .string({ message: 'is required' })
        .regex(/^[A-Za-z][A-Za-z0-9]{2,44}$/, 'must be 3 to 45 letters or digits and start with a letter'),
      required: 'yes',
      doc: 'Durable task hub name (3–45 letters or digits, starting with a letter); `host.json` reads it as `%DURABLE_TASK_HUB%`.',
    },
    APPLICATIONINSIGHTS_CONNECTION_STRING: {
      schema: optionalText,
      secret: true,
      doc: 'Application Insights; the host sends telemetry when set.',
    },
  },
  refine: (s, issue) => {
    if (!s.AzureWebJobsStorage && !s.AzureWebJobsStorage__accountName) {
      issue(
        'AzureWebJobsStorage',
        'is required (a connection string, or AzureWebJobsStorage__accountName for managed identity)',
      );
    }
  },
  build: (s): HostSettings => ({
    storage: s.AzureWebJobsStorage
      ? { kind: 'connectionString', connectionString: s.AzureWebJobsStorage }
      : {
          kind: 'identity',
          accountName: s.AzureWebJobsStorage__accountName ?? '',
          clientId: s.AzureWebJobsStorage__clientId,
        },
    taskHub: s.DURABLE_TASK_HUB,
    appInsightsConfigured: Boolean(s.APPLICATIONINSIGHTS_CONNECTION_STRING),
  }),
});
