import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { AppRoot } from '../app/root';
import { DOSSIER_DURABLE, InvalidTemplateError } from '../dossiers';
import {
  durableOrchestrations,
  registerActivity,
  registerOrchestration,
  type Orchestrations,
} from '../platform/durable';
import {
  errorResponse,
  httpRoute,
  jsonResponse,
  readBodyBytes,
  readUploadedFile,
  type HttpHandler,
} from '../platform/http';
import { CONTAINERS } from '../platform/storageNames';

const durableClient = df.input.durableClient();

const orchestrationsOf = (context: InvocationContext): Orchestrations =>
  durableOrchestrations(df.getClient(context));

const metadataText = (context: InvocationContext, key: string) => {
  const value = context.triggerMetadata?.[key];
  return typeof value === 'string' ? value : '';
};

/**
 * A route whose 400 for a broken template lists each problem with its place as data too (`problems`),
 * beside the usual JSON error whose message lists them as text.
 */
const withTemplateProblems =
  (handler: HttpHandler): HttpHandler =>
  async (request, context) => {
    try {
      return await handler(request, context);
    } catch (error) {
      if (!(error instanceof InvalidTemplateError)) throw error;
      const response = errorResponse(error, context.invocationId);
      const body = response.jsonBody as { error: Record<string, unknown> };
      return { ...response, jsonBody: { error: { ...body.error, problems: error.problems } } };
    }
  };

export function registerDossiers(root: AppRoot): void {
  const dossiers = () => root.dossiers;

  registerOrchestration(DOSSIER_DURABLE.batch, (context, input) =>
    dossiers().orchestrators.batch(context, input),
  );
  registerOrchestration(DOSSIER_DURABLE.lane, (context, input) =>
    dossiers().orchestrators.lane(context, input),
  );
  registerActivity(DOSSIER_DURABLE.plan, (input) => dossiers().activities.plan(input));
  registerActivity(DOSSIER_DURABLE.generate, (input) => dossiers().activities.generate(input));
  registerActivity(DOSSIER_DURABLE.saveOutcomes, (input) => dossiers().activities.saveOutcomes(input));
  registerActivity(DOSSIER_DURABLE.report, (input) => dossiers().activities.report(input));

  // Flex Consumption delivers blob events through Event Grid (the subscription is in infra/bicep).
  app.storageBlob('dossiersInbox', {
    path: `${CONTAINERS.dossiersInbox}/{batchId}/{name}`,
    connection: 'AzureWebJobsStorage',
    source: 'EventGrid',
    extraInputs: [durableClient],
    handler: async (_content: unknown, context: InvocationContext) => {
      const batchId = metadataText(context, 'batchId');
      const result = await dossiers().startBatchFromInbox(
        batchId,
        metadataText(context, 'name'),
        orchestrationsOf(context),
      );
      if ('ignored' in result) context.warn(`Ignored ${result.ignored}`);
      else if ('refused' in result) context.error(`Batch ${batchId} refused: ${result.refused}`);
      else if ('waitingFor' in result) context.log(`Batch ${batchId}: waiting for ${result.waitingFor}.`);
      else
        context.log(
          `Batch ${batchId}: ${result.started ? 'started' : 'already running or done as'} ${result.instanceId}.`,
        );
    },
  });

  app.http('dossierBatchCreate', {
    route: 'dossiers/batches',
    methods: ['POST'],
    authLevel: 'function',
    extraInputs: [durableClient],
    handler: httpRoute(
      withTemplateProblems(async (request: HttpRequest, context: InvocationContext) => {
        const body = await readBodyBytes(request, root.settings.dossiers.maxUploadBytes);
        const created = await dossiers().createBatchFromUpload(
          body,
          request.headers.get('content-type') ?? '',
          orchestrationsOf(context),
        );
        return jsonResponse(202, created, { Location: created.statusUrl });
      }),
    ),
  });

  app.http('dossierBatchStatus', {
    route: 'dossiers/batches/{batchId}',
    methods: ['GET'],
    authLevel: 'function',
    extraInputs: [durableClient],
    handler: httpRoute(async (request: HttpRequest, context: InvocationContext) =>
      jsonResponse(
        200,
        await dossiers().getBatchProgress(request.params.batchId ?? '', orchestrationsOf(context)),
      ),
    ),
  });

  // A multipart form's `file` (named by its file name) or the raw body named by `?name=`.
  app.http('dossierTemplateUpload', {
    route: 'dossiers/templates',
    methods: ['POST'],
    authLevel: 'function',
    handler: httpRoute(
      withTemplateProblems(async (request: HttpRequest) => {
        const file = await readUploadedFile(request, root.settings.dossiers.maxUploadBytes, 'file', '');
        return jsonResponse(201, await dossiers().saveTemplate(file.name, file.bytes));
      }),
    ),
  });
}
