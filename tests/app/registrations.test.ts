import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalHost } from '../../local/localHost';
import { startAppHost } from '../support/testHost';

/**
 * The complete list of the app's functions with their bindings, as the Functions host receives
 * them. A changed route, schedule, path or auth level must show up here as a deliberate diff.
 * Generated binding names (hashes) are left out: they carry no meaning.
 */
const activity = (name: string) => ({ name, bindings: [{ type: 'activityTrigger', direction: 'in' }] });
const orchestration = (name: string) => ({
  name,
  bindings: [{ type: 'orchestrationTrigger', direction: 'in' }],
});
const durableClient = { type: 'durableClient', direction: 'in' };
const httpOut = { type: 'http', direction: 'out', binding: '$return' };
const functionRoute = (name: string, route: string, method: string) => ({
  name,
  bindings: [
    { type: 'httpTrigger', direction: 'in', route, methods: [method], authLevel: 'function' },
    httpOut,
  ],
});
/** The same route with a durable client input, which the host lists between the trigger and the output. */
const withClient = (route: ReturnType<typeof functionRoute>) => ({
  name: route.name,
  bindings: [route.bindings[0], durableClient, httpOut],
});
const clientActivity = (name: string) => ({ name, bindings: [...activity(name).bindings, durableClient] });

const EXPECTED = [
  orchestration('dossierBatch'),
  orchestration('dossierLane'),
  activity('dossierPlan'),
  activity('dossierGeneratePair'),
  activity('dossierSaveOutcomes'),
  activity('dossierReport'),
  {
    name: 'dossiersInbox',
    bindings: [
      {
        type: 'blobTrigger',
        direction: 'in',
        path: 'dossiers-inbox/{batchId}/{name}',
        connection: 'AzureWebJobsStorage',
        source: 'EventGrid',
      },
      durableClient,
    ],
  },
  {
    name: 'dossierBatchCreate',
    bindings: [
      {
        type: 'httpTrigger',
        direction: 'in',
        route: 'dossiers/batches',
        methods: ['POST'],
        authLevel: 'function',
      },
      durableClient,
      httpOut,
    ],
  },
  {
    name: 'dossierBatchStatus',
    bindings: [
      {
        type: 'httpTrigger',
        direction: 'in',
        route: 'dossiers/batches/{batchId}',
        methods: ['GET'],
        authLevel: 'function',
      },
      durableClient,
      httpOut,
    ],
  },
  functionRoute('dossierTemplateUpload', 'dossiers/templates', 'POST'),
  { name: 'emailDeliveryReport', bindings: [{ type: 'eventGridTrigger', direction: 'in' }] },
  {
    name: 'mailboxPoll',
    bindings: [{ type: 'timerTrigger', direction: 'in', schedule: '0 */2 * * * *' }],
  },
  {
    name: 'mailboxProcess',
    bindings: [
      {
        type: 'queueTrigger',
        direction: 'in',
        queueName: 'mailbox-incoming',
        connection: 'AzureWebJobsStorage',
      },
    ],
  },
  functionRoute('mailboxMessages', 'mailbox/messages', 'GET'),
  functionRoute('mailboxMessage', 'mailbox/messages/{id}', 'GET'),
  functionRoute('mailboxApprove', 'mailbox/messages/{id}/approve', 'POST'),
  functionRoute('mailboxReject', 'mailbox/messages/{id}/reject', 'POST'),
  functionRoute('mailboxPollNow', 'mailbox/poll', 'POST'),
  functionRoute('mailboxStats', 'mailbox/stats', 'GET'),
  functionRoute('callsToken', 'calls/token', 'POST'),
  {
    name: 'callsLivekitWebhook',
    bindings: [
      {
        type: 'httpTrigger',
        direction: 'in',
        route: 'calls/livekit-webhook',
        methods: ['POST'],
        authLevel: 'anonymous',
      },
      httpOut,
    ],
  },
  functionRoute('callsOutbound', 'calls/outbound', 'POST'),
  functionRoute('callsPoliciesImport', 'calls/policies/import', 'POST'),
  functionRoute('callsTool', 'calls/{id}/tools/{tool}', 'POST'),
  functionRoute('callsReport', 'calls/{id}/report', 'POST'),
  {
    name: 'callsAnalyse',
    bindings: [
      {
        type: 'queueTrigger',
        direction: 'in',
        queueName: 'call-analysis',
        connection: 'AzureWebJobsStorage',
      },
    ],
  },
  functionRoute('callsMetrics', 'calls/metrics', 'GET'),
  functionRoute('callsList', 'calls', 'GET'),
  functionRoute('callsGet', 'calls/{id}', 'GET'),
  orchestration('linkedinPublish'),
  activity('linkedinUploadMedia'),
  activity('linkedinCreatePost'),
  {
    name: 'linkedinPublishDue',
    bindings: [{ type: 'timerTrigger', direction: 'in', schedule: '0 * * * * *' }, durableClient],
  },
  {
    name: 'linkedinExpiryReminder',
    bindings: [{ type: 'timerTrigger', direction: 'in', schedule: '0 0 8 * * *' }],
  },
  functionRoute('linkedinConnect', 'linkedin/connect', 'GET'),
  {
    name: 'linkedinCallback',
    bindings: [
      {
        type: 'httpTrigger',
        direction: 'in',
        route: 'linkedin/callback',
        methods: ['GET'],
        authLevel: 'anonymous',
      },
      httpOut,
    ],
  },
  functionRoute('linkedinAccounts', 'linkedin/accounts', 'GET'),
  functionRoute('linkedinAccountTest', 'linkedin/accounts/{id}/test', 'POST'),
  functionRoute('linkedinAccountDelete', 'linkedin/accounts/{id}', 'DELETE'),
  functionRoute('linkedinPostCreate', 'linkedin/posts', 'POST'),
  functionRoute('linkedinPostList', 'linkedin/posts', 'GET'),
  {
    name: 'linkedinPost',
    bindings: [
      {
        type: 'httpTrigger',
        direction: 'in',
        route: 'linkedin/posts/{id}',
        methods: ['GET', 'PATCH', 'DELETE'],
        authLevel: 'function',
      },
      httpOut,
    ],
  },
  {
    name: 'linkedinPostPublish',
    bindings: [
      {
        type: 'httpTrigger',
        direction: 'in',
        route: 'linkedin/posts/{id}/publish',
        methods: ['POST'],
        authLevel: 'function',
      },
      durableClient,
      httpOut,
    ],
  },
  functionRoute('linkedinPostConfirm', 'linkedin/posts/{id}/confirm', 'POST'),
  functionRoute('linkedinInboxAdd', 'linkedin/inbox', 'POST'),
  functionRoute('linkedinInboxList', 'linkedin/inbox', 'GET'),
  functionRoute('linkedinInboxItem', 'linkedin/inbox/{id}', 'GET'),
  functionRoute('linkedinInboxApprove', 'linkedin/inbox/{id}/approve', 'POST'),
  functionRoute('linkedinInboxReject', 'linkedin/inbox/{id}/reject', 'POST'),
  {
    name: 'linkedinWebhook',
    bindings: [
      {
        type: 'httpTrigger',
        direction: 'in',
        route: 'linkedin/webhook',
        methods: ['GET', 'POST'],
        authLevel: 'anonymous',
      },
      httpOut,
    ],
  },
  functionRoute('linkedinDraft', 'linkedin/drafts', 'POST'),
  functionRoute('linkedinAnalytics', 'linkedin/analytics', 'GET'),
  {
    name: 'linkedinAnalyticsRefresh',
    bindings: [{ type: 'timerTrigger', direction: 'in', schedule: '0 30 6 * * *' }],
  },
  {
    name: 'linkedinSchedule',
    bindings: [
      {
        type: 'httpTrigger',
        direction: 'in',
        route: 'linkedin/schedule',
        methods: ['GET', 'PUT'],
        authLevel: 'function',
      },
      httpOut,
    ],
  },
  {
    name: 'healthLiveness',
    bindings: [
      { type: 'httpTrigger', direction: 'in', route: 'health', methods: ['GET'], authLevel: 'anonymous' },
      httpOut,
    ],
  },
  {
    name: 'healthDetails',
    bindings: [
      {
        type: 'httpTrigger',
        direction: 'in',
        route: 'health/details',
        methods: ['GET'],
        authLevel: 'function',
      },
      httpOut,
    ],
  },
  {
    name: 'aiCachePurge',
    bindings: [{ type: 'timerTrigger', direction: 'in', schedule: '0 30 3 * * *' }],
  },
  orchestration('opsHealth'),
  orchestration('opsMaintenance'),
  orchestration('opsSmoke'),
  orchestration('opsDocuments'),
  orchestration('opsDocumentsLane'),
  clientActivity('opsCheckHealth'),
  activity('opsRecordHealth'),
  activity('opsSendAlert'),
  clientActivity('opsPurgeHistory'),
  activity('opsBackupTables'),
  activity('opsSweepBlobs'),
  activity('opsSmokeTest'),
  activity('opsListDocuments'),
  activity('opsProcessDocument'),
  activity('opsDocumentsReport'),
  {
    name: 'opsHealthTimer',
    bindings: [{ type: 'timerTrigger', direction: 'in', schedule: '0 */15 * * * *' }, durableClient],
  },
  {
    name: 'documentsInbox',
    bindings: [
      {
        type: 'blobTrigger',
        direction: 'in',
        path: 'documents-inbox/{batchId}/{name}',
        connection: 'AzureWebJobsStorage',
        source: 'EventGrid',
      },
      durableClient,
    ],
  },
  functionRoute('opsWorkflows', 'ops/workflows', 'GET'),
  withClient(functionRoute('opsRunsStart', 'ops/runs', 'POST')),
  withClient(functionRoute('opsRunsList', 'ops/runs', 'GET')),
  withClient(functionRoute('opsRunsBulk', 'ops/runs/bulk', 'POST')),
  withClient(functionRoute('opsRunGet', 'ops/runs/{id}', 'GET')),
  functionRoute('opsRunLog', 'ops/runs/{id}/log', 'GET'),
  withClient(functionRoute('opsRunAction', 'ops/runs/{id}/{action}', 'POST')),
  withClient(functionRoute('opsMetrics', 'ops/metrics', 'GET')),
  functionRoute('opsHealthLatest', 'ops/health', 'GET'),
  withClient(functionRoute('opsDocumentsUpload', 'ops/documents', 'POST')),
  functionRoute('opsDocumentSummary', 'ops/documents/{batchId}/{name}', 'GET'),
  {
    name: 'opsConsole',
    bindings: [
      { type: 'httpTrigger', direction: 'in', route: 'console', methods: ['GET'], authLevel: 'anonymous' },
      httpOut,
    ],
  },
  {
    name: 'opsConsoleAsset',
    bindings: [
      {
        type: 'httpTrigger',
        direction: 'in',
        route: 'console/assets/{name}',
        methods: ['GET'],
        authLevel: 'anonymous',
      },
      httpOut,
    ],
  },
];

let host: LocalHost;
beforeAll(async () => {
  host = await startAppHost();
});
afterAll(() => host.stop());

describe('registrations', () => {
  it('registers exactly the expected functions and bindings', () => {
    const actual = host.functions().map((fn) => ({
      name: fn.name,
      bindings: Object.entries(fn.bindings).map(([key, binding]) => {
        const { name: _generated, properties: _properties, ...meaningful } = binding;
        return key === '$return' ? { ...meaningful, binding: key } : meaningful;
      }),
      ...(fn.retryOptions ? { retry: fn.retryOptions } : {}),
    }));
    expect(actual).toEqual(EXPECTED);
  });

  it('registers the log hook that redacts secrets', () => {
    expect([...host.registrations.hooks.keys()]).toEqual(['log']);
  });
});
