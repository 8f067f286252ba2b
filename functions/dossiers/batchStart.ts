import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { Orchestrations } from '../platform/durable';
import { InvalidInputError } from '../platform/errors';
import type { BatchWorkStore } from './batchStore';
import { DOSSIER_DURABLE, DOSSIER_RUN_PREFIX, type BatchRunInput } from './contracts';
import type { PlanOptions } from './plan';
import type { TemplateRef, TemplateStore } from './templateStore';

// The names a batch's two files may have in the inbox (any case): short, or as the seed exported them.
const CONSULTANT_FILES = ['consultants.csv', 'base consultants.csv'];
const JOB_FILES = ['jobs.csv', 'fiches de poste client.csv'];

export type StartResult =
  | { started: boolean; instanceId: string }
  | { started: false; waitingFor: string }
  | { started: false; refused: string };

export interface StartDependencies {
  work: BatchWorkStore;
  templates: TemplateStore;
  orchestrations: Orchestrations;
  clock: () => Date;
}

export const BATCH_ID_RULE = 'must be 1 to 63 letters, digits, - or _';

/** A batch id as it may appear in a blob path and an instance id. */
export function isBatchId(value: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(value);
}

export function isBatchFile(name: string): boolean {
  const lower = name.toLowerCase();
  return CONSULTANT_FILES.includes(lower) || JOB_FILES.includes(lower);
}

/**
 * Called for each file dropped in `dossiers-inbox/{batchId}/`: once both files are there, starts the
 * batch with an instance id made of the batch id and both files' content hashes, so the same drop
 * (or both files' triggers firing together) starts one run, and changed files start a new one.
 */
export async function startFromInbox(
  inbox: ContainerClient,
  batchId: string,
  options: PlanOptions,
  defaultTemplate: string | undefined,
  concurrency: number,
  deps: StartDependencies,
): Promise<StartResult> {
  const names: string[] = [];
  for await (const blob of inbox.listBlobsFlat({ prefix: `${batchId}/` })) names.push(blob.name);
  const find = (accepted: string[]) =>
    names.find(
      (name) => name.split('/').length === 2 && accepted.includes((name.split('/')[1] ?? '').toLowerCase()),
    );
  const consultants = find(CONSULTANT_FILES);
  const jobs = find(JOB_FILES);
  if (!consultants) return { started: false, waitingFor: 'consultants.csv' };
  if (!jobs) return { started: false, waitingFor: 'jobs.csv' };
  let template: TemplateRef | undefined;
  try {
    template = await batchTemplate(batchId, defaultTemplate, 'DOSSIERS_TEMPLATE', deps);
  } catch (error) {
    // Nobody waits on a blob trigger for a 400: the refusal is logged, and nothing is generated.
    if (error instanceof InvalidInputError) return { started: false, refused: error.message };
    throw error;
  }
  const contents = await Promise.all(
    [consultants, jobs].map((name) => inbox.getBlockBlobClient(name).downloadToBuffer()),
  );
  return startBatch(
    {
      batchId,
      source: { container: inbox.containerName, consultants, jobs },
      contents,
      options: { ...options, ...(template ? { template } : {}) },
      concurrency,
    },
    deps,
  );
}

/**
 * The template a batch fills, checked, with a copy kept beside the run's working state (runs read that
 * copy, so replacing the stored template mid-run changes none of their dossiers); undefined for the
 * built-in layout. A missing or broken template is an `InvalidInputError` naming `field`.
 */
export async function batchTemplate(
  batchId: string,
  name: string | undefined,
  field: string,
  deps: Pick<StartDependencies, 'work' | 'templates'>,
): Promise<TemplateRef | undefined> {
  if (!name) return undefined;
  const { ref, bytes } = await deps.templates.load(name, field);
  await deps.work.saveTemplate(batchId, bytes);
  return ref;
}

export interface BatchStartRequest {
  batchId: string;
  source: BatchRunInput['source'];
  contents: Buffer[];
  options: PlanOptions;
  concurrency: number;
}

/**
 * Starts a run unless the same inputs already have one. A completed run is kept (the Durable extension
 * would start a Completed id afresh, so it is checked first); a pending or running one is found either
 * by that check or, when two starts race, by the extension refusing the second (conflict).
 */
export async function startBatch(request: BatchStartRequest, deps: StartDependencies): Promise<StartResult> {
  const hash = createHash('sha256');
  for (const content of request.contents) hash.update(createHash('sha256').update(content).digest());
  hash.update(JSON.stringify(request.options));
  const instanceId = `${DOSSIER_RUN_PREFIX}${request.batchId}-${hash.digest('hex').slice(0, 16)}`;
  const existing = await deps.orchestrations.status(instanceId);
  if (existing && !['Failed', 'Terminated'].includes(existing.runtimeStatus))
    return { started: false, instanceId };
  const input: BatchRunInput = {
    batchId: request.batchId,
    runId: instanceId,
    source: request.source,
    options: request.options,
    concurrency: request.concurrency,
  };
  await deps.work.setLatestRun(request.batchId, { instanceId, startedAt: deps.clock().toISOString() });
  const outcome = await deps.orchestrations.start(DOSSIER_DURABLE.batch, instanceId, input);
  return { started: outcome === 'started', instanceId };
}
