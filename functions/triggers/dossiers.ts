import { randomBytes } from 'node:crypto';
import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { batchOrchestrator, BATCH_FUNCTIONS, laneOrchestrator } from '../dossiers/batchRun';
import {
  isBatchFile,
  isBatchId,
  startBatch,
  startFromInbox,
  type OrchestrationStarter,
} from '../dossiers/batchStart';
import { batchProgress, type InstanceView } from '../dossiers/batchStatus';
import { parseBatchUpload } from '../dossiers/batchUpload';
import { parseConsultants, parseJobs } from '../dossiers/csvInput';
import type { PlanOptions } from '../dossiers/plan';
import { CsvFileError } from '../dossiers/types';
import { handleHttp, HttpError, jsonResponse, readBodyBytes } from '../platform/http';
import { dossierActivities, dossierWork, settings, storage } from '../platform/runtime';
import { CONTAINERS } from '../platform/storageNames';

const defaults: PlanOptions = {
  topK: settings.dossiers.topK,
  minScore: settings.dossiers.minScore,
  language: settings.dossiers.language,
  regenerateUngrounded: settings.dossiers.regenerateUngrounded,
};

df.app.orchestration(BATCH_FUNCTIONS.batch, batchOrchestrator);
df.app.orchestration(BATCH_FUNCTIONS.lane, laneOrchestrator);
df.app.activity(BATCH_FUNCTIONS.plan, { handler: dossierActivities.plan });
df.app.activity(BATCH_FUNCTIONS.generate, { handler: dossierActivities.generate });
df.app.activity(BATCH_FUNCTIONS.saveOutcomes, { handler: dossierActivities.saveOutcomes });
df.app.activity(BATCH_FUNCTIONS.report, { handler: dossierActivities.report });

const durableClient = df.input.durableClient();

/** An instance's status, or undefined when the instance does not exist (other failures are thrown). */
async function findInstance(client: df.DurableClient, instanceId: string): Promise<InstanceView | undefined> {
  try {
    return await client.getStatus(instanceId);
  } catch (error) {
    // The client reports an unknown instance as an error mentioning the 404 it received.
    if (error instanceof Error && /\b404\b/.test(error.message)) return undefined;
    throw error;
  }
}

function starterFor(context: InvocationContext): OrchestrationStarter {
  const client = df.getClient(context);
  return {
    runtimeStatus: async (instanceId) => (await findInstance(client, instanceId))?.runtimeStatus,
    start: async (name, instanceId, input) => {
      await client.startNew(name, { instanceId, input });
    },
  };
}

// Flex Consumption delivers blob events through Event Grid (the subscription is in infra/bicep).
app.storageBlob('dossiersInbox', {
  path: `${CONTAINERS.dossiersInbox}/{batchId}/{name}`,
  connection: 'AzureWebJobsStorage',
  source: 'EventGrid',
  extraInputs: [durableClient],
  handler: async (_content: unknown, context: InvocationContext) => {
    const text = (value: unknown) => (typeof value === 'string' ? value : '');
    const batchId = text(context.triggerMetadata?.batchId);
    const name = text(context.triggerMetadata?.name);
    if (!isBatchId(batchId) || !isBatchFile(name)) {
      context.warn(
        `Ignored ${CONTAINERS.dossiersInbox}/${batchId}/${name}: not a batch file (consultants.csv, jobs.csv).`,
      );
      return;
    }
    const result = await startFromInbox(storage.blobs.getContainerClient(CONTAINERS.dossiersInbox), batchId, {
      work: dossierWork,
      starter: starterFor(context),
      options: defaults,
      concurrency: settings.dossiers.concurrency,
      now: () => new Date(),
    });
    if ('waitingFor' in result) context.log(`Batch ${batchId}: waiting for ${result.waitingFor}.`);
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
  handler: (request: HttpRequest, context: InvocationContext) =>
    handleHttp(async () => {
      const body = await readBodyBytes(request, settings.dossiers.maxUploadBytes);
      const upload = await parseBatchUpload(body, request.headers.get('content-type') ?? '');
      // Unusable files are refused now, naming the column, rather than failing the run later.
      try {
        parseConsultants(upload.consultants, 'consultants.csv');
        parseJobs(upload.jobs, 'jobs.csv');
      } catch (error) {
        if (error instanceof CsvFileError) throw new HttpError(400, 'invalid_csv', error.message);
        throw error;
      }
      const batchId =
        upload.batchId ?? `batch-${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`;
      const uploads = storage.blobs.getContainerClient(CONTAINERS.dossiersUploads);
      await uploads.createIfNotExists();
      const source = {
        container: CONTAINERS.dossiersUploads,
        consultants: `${batchId}/consultants.csv`,
        jobs: `${batchId}/jobs.csv`,
      };
      await uploads.getBlockBlobClient(source.consultants).uploadData(upload.consultants);
      await uploads.getBlockBlobClient(source.jobs).uploadData(upload.jobs);
      const result = await startBatch(
        {
          batchId,
          source,
          contents: [upload.consultants, upload.jobs],
          options: { ...defaults, ...upload.options },
          concurrency: settings.dossiers.concurrency,
        },
        { work: dossierWork, starter: starterFor(context), now: () => new Date() },
      );
      const statusUrl = `/api/dossiers/batches/${batchId}`;
      return jsonResponse(
        202,
        { batchId, instanceId: 'instanceId' in result ? result.instanceId : null, statusUrl },
        { Location: statusUrl },
      );
    }),
});

app.http('dossierBatchStatus', {
  route: 'dossiers/batches/{batchId}',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs: [durableClient],
  handler: (request: HttpRequest, context: InvocationContext) =>
    handleHttp(async () => {
      const batchId = request.params.batchId ?? '';
      if (!isBatchId(batchId))
        throw new HttpError(400, 'invalid_field', 'batchId: must be 1 to 63 letters, digits, - or _');
      const run = await dossierWork.latestRun(batchId);
      if (!run) throw new HttpError(404, 'not_found', `No batch ${batchId}.`);
      const client = df.getClient(context);
      const view = (instanceId: string) => findInstance(client, instanceId);
      const batch = await view(run.instanceId);
      if (!batch) throw new HttpError(404, 'not_found', `Batch ${batchId} has no run yet.`);
      const lanes = (batch.customStatus as { lanes?: number } | null)?.lanes ?? 0;
      const laneViews =
        batch.runtimeStatus === 'Running'
          ? await Promise.all(
              Array.from({ length: lanes }, (_, lane) => view(`${run.instanceId}:lane-${lane}`)),
            )
          : [];
      return jsonResponse(200, batchProgress(batchId, run.instanceId, batch, laneViews, new Date()));
    }),
});
