import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { AppRoot } from '../app/root';
import { durableHttp, languageOf, OPS_DURABLE } from '../ops';
import { consolePage, type ConsolePage } from '../ops/console';
import { MAX_UPLOAD_FILES } from '../ops';
import {
  durableHttpTarget,
  durableOrchestrations,
  registerActivity,
  registerClientActivity,
  registerOrchestration,
} from '../platform/durable';
import { httpRoute, jsonResponse, readJsonBody, readUploadedFiles } from '../platform/http';
import { APP_VERSION } from '../platform/version';
import { CONTAINERS } from '../platform/storageNames';
import { z } from 'zod';

const durableClient = df.input.durableClient();

const orchestrationsOf = (context: InvocationContext) => durableOrchestrations(df.getClient(context));
const durableFor = (context: InvocationContext) =>
  durableHttp(durableHttpTarget(context.extraInputs.get(durableClient)));

/** The query string as the use cases read it; `code` is the function key, not a filter. */
const queryOf = (request: HttpRequest): Record<string, string> =>
  Object.fromEntries([...request.query].filter(([key]) => key !== 'code'));

/** Bodies of the run routes are small: a filter, a reason, an event's data. */
const MAX_JSON_BYTES = 64 * 1024;

export function registerOps(root: AppRoot): void {
  const ops = () => root.ops;

  // Liveness is public by nature: load balancers and uptime checks call it without a key.
  app.http('healthLiveness', {
    route: 'health',
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: httpRoute(() => Promise.resolve(jsonResponse(200, { status: 'ok', version: APP_VERSION }))),
  });

  app.http('healthDetails', {
    route: 'health/details',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async () => {
      const report = await ops().checkHealth();
      return jsonResponse(report.status === 'down' ? 503 : 200, report);
    }),
  });

  // Daily at 03:30 UTC, off-peak: the response cache only grows otherwise.
  app.timer('aiCachePurge', {
    schedule: '0 30 3 * * *',
    handler: async (_timer, context) => {
      const purged = await ops().purgeAiCache();
      context.log(`Purged ${purged} expired AI cache entries.`);
    },
  });

  registerOrchestration(OPS_DURABLE.health, (context, input) => ops().orchestrators.health(context, input));
  registerOrchestration(OPS_DURABLE.maintenance, (context, input) =>
    ops().orchestrators.maintenance(context, input),
  );
  registerOrchestration(OPS_DURABLE.smoke, (context, input) => ops().orchestrators.smoke(context, input));
  registerOrchestration(OPS_DURABLE.documents, (context, input) =>
    ops().orchestrators.documents(context, input),
  );
  registerOrchestration(OPS_DURABLE.documentsLane, (context, input) =>
    ops().orchestrators.documentsLane(context, input),
  );
  registerClientActivity(OPS_DURABLE.checkHealth, (input, target) =>
    ops().activities.checkHealth(input.runId, durableHttp(target)),
  );
  registerActivity(OPS_DURABLE.recordHealth, (input) => ops().activities.recordHealth(input.report));
  registerActivity(OPS_DURABLE.sendAlert, (input) => ops().activities.sendAlert(input.runId, input.alert));
  registerClientActivity(OPS_DURABLE.purgeHistory, (input, target) =>
    ops().activities.purgeHistory(input.runId, input.olderThanDays, input.dryRun, durableHttp(target)),
  );
  registerActivity(OPS_DURABLE.backupTables, (input) =>
    ops().activities.backupTables(input.runId, input.dryRun),
  );
  registerActivity(OPS_DURABLE.sweepBlobs, (input) => ops().activities.sweepBlobs(input.runId, input.dryRun));
  registerActivity(OPS_DURABLE.smokeTest, (input) => ops().activities.smokeTest(input.runId, input.test));
  registerActivity(OPS_DURABLE.listDocuments, (input) =>
    ops().activities.listDocuments(input.runId, input.batchId),
  );
  registerActivity(OPS_DURABLE.processDocument, (input) =>
    ops().activities.processDocument(input.runId, input.batchId, input.name),
  );
  registerActivity(OPS_DURABLE.documentsReport, (input) =>
    ops().activities.documentsReport(input.runId, input.report),
  );

  app.timer('opsHealthTimer', {
    schedule: root.settings.ops.healthSchedule,
    extraInputs: [durableClient],
    handler: async (_timer, context) => {
      const run = await ops().startScheduledHealth(orchestrationsOf(context));
      context.log(`Health run ${run.id} ${run.outcome}.`);
    },
  });

  // Flex Consumption delivers blob events through Event Grid (the subscription is in infra/bicep).
  app.storageBlob('documentsInbox', {
    path: `${CONTAINERS.documentsInbox}/{batchId}/{name}`,
    connection: 'AzureWebJobsStorage',
    source: 'EventGrid',
    extraInputs: [durableClient],
    handler: async (_content: unknown, context: InvocationContext) => {
      const text = (key: string) => {
        const value = context.triggerMetadata?.[key];
        return typeof value === 'string' ? value : '';
      };
      const outcome = await ops().documentDropped(orchestrationsOf(context), text('batchId'), text('name'));
      context.log(`Documents ${outcome.id}: ${outcome.started ? 'started' : 'already covered'}.`);
    },
  });

  app.http('opsWorkflows', {
    route: 'ops/workflows',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute((request) =>
      Promise.resolve(
        jsonResponse(
          200,
          ops().workflows(
            languageOf(request.headers.get('accept-language')),
            request.query.get('all') === 'true',
          ),
        ),
      ),
    ),
  });

  app.http('opsRunsStart', {
    route: 'ops/runs',
    methods: ['POST'],
    authLevel: 'function',
    extraInputs: [durableClient],
    handler: httpRoute(async (request, context) => {
      const body = await readJsonBody(request, MAX_JSON_BYTES, z.unknown());
      const run = await ops().startWorkflow(orchestrationsOf(context), body);
      return jsonResponse(202, run, { Location: run.statusUrl });
    }),
  });

  app.http('opsRunsList', {
    route: 'ops/runs',
    methods: ['GET'],
    authLevel: 'function',
    extraInputs: [durableClient],
    handler: httpRoute(async (request, context) =>
      jsonResponse(200, await ops().listRuns(durableFor(context), queryOf(request))),
    ),
  });

  app.http('opsRunsBulk', {
    route: 'ops/runs/bulk',
    methods: ['POST'],
    authLevel: 'function',
    extraInputs: [durableClient],
    handler: httpRoute(async (request, context) => {
      const body = await readJsonBody(request, MAX_JSON_BYTES, z.unknown());
      return jsonResponse(200, await ops().bulkAction(durableFor(context), body));
    }),
  });

  app.http('opsRunGet', {
    route: 'ops/runs/{id}',
    methods: ['GET'],
    authLevel: 'function',
    extraInputs: [durableClient],
    handler: httpRoute(async (request, context) =>
      jsonResponse(200, await ops().getRun(durableFor(context), request.params.id ?? '')),
    ),
  });

  app.http('opsRunLog', {
    route: 'ops/runs/{id}/log',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async (request) => jsonResponse(200, await ops().runLog(request.params.id ?? ''))),
  });

  app.http('opsRunAction', {
    route: 'ops/runs/{id}/{action}',
    methods: ['POST'],
    authLevel: 'function',
    extraInputs: [durableClient],
    handler: httpRoute(async (request, context) => {
      const body = await readJsonBody(request, MAX_JSON_BYTES, z.unknown());
      const done = await ops().actOnRun(
        durableFor(context),
        request.params.id ?? '',
        request.params.action ?? '',
        body,
      );
      return jsonResponse(202, done);
    }),
  });

  app.http('opsMetrics', {
    route: 'ops/metrics',
    methods: ['GET'],
    authLevel: 'function',
    extraInputs: [durableClient],
    handler: httpRoute(async (request, context) =>
      jsonResponse(200, await ops().metrics(durableFor(context), queryOf(request))),
    ),
  });

  app.http('opsHealthLatest', {
    route: 'ops/health',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async () => jsonResponse(200, await ops().latestHealth())),
  });

  app.http('opsDocumentsUpload', {
    route: 'ops/documents',
    methods: ['POST'],
    authLevel: 'function',
    extraInputs: [durableClient],
    handler: httpRoute(async (request, context) => {
      const settings = root.settings.ops;
      // The form holds up to MAX_UPLOAD_FILES documents; each one's own limit is checked by the workflow.
      const files = await readUploadedFiles(
        request,
        Math.min(settings.documentMaxBytes * 4, 200 * 1024 * 1024),
        'file',
        'document.txt',
        MAX_UPLOAD_FILES,
      );
      const batchId = request.query.get('batchId') ?? undefined;
      const started = await ops().uploadDocuments(orchestrationsOf(context), files, batchId);
      return jsonResponse(202, started, { Location: started.statusUrl });
    }),
  });

  app.http('opsDocumentSummary', {
    route: 'ops/documents/{batchId}/{name}',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async (request) =>
      jsonResponse(200, await ops().documentSummary(request.params.batchId ?? '', request.params.name ?? '')),
    ),
  });

  // Anonymous: the page and its assets hold no data; every JSON route it calls needs the function key.
  let page: ConsolePage | undefined;
  const consoleFiles = () => (page ??= consolePage(APP_VERSION));
  app.http('opsConsole', {
    route: 'console',
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: httpRoute(() => Promise.resolve({ status: 200, ...consoleFiles().html() })),
  });
  app.http('opsConsoleAsset', {
    route: 'console/assets/{name}',
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: httpRoute((request) => {
      const asset = consoleFiles().asset(request.params.name ?? '');
      return Promise.resolve(
        asset
          ? { status: 200, ...asset }
          : jsonResponse(404, { error: { code: 'not_found', message: 'No such asset.' } }),
      );
    }),
  });
}
