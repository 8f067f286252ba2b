import { randomBytes } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { ensureContainer } from '../platform/blobs';
import { InvalidInputError } from '../platform/errors';
import { readForm } from '../platform/input';
import { BATCH_ID_RULE, batchTemplate, isBatchId, startBatch, type StartDependencies } from './batchStart';
import { parseConsultants, parseJobs } from './csvInput';
import type { PlanOptions } from './plan';
import { isTemplateName, TEMPLATE_NAME_RULE } from './types';

/** Options a caller may set for one batch; unset ones come from the DOSSIERS_* settings. */
const optionsSchema = z
  .object({
    topK: z.number().int().min(1).max(10_000).optional(),
    minScore: z.number().int().min(0).max(100).optional(),
    language: z.enum(['fr', 'en']).optional(),
    regenerateUngrounded: z.boolean().optional(),
    /** A template stored in `dossiers-templates`, by name; `DOSSIERS_TEMPLATE` when unset. */
    template: z.string().refine(isTemplateName, TEMPLATE_NAME_RULE).optional(),
  })
  .strict();
export type UploadOptions = z.infer<typeof optionsSchema>;

const jsonBody = z
  .object({
    consultantsCsv: z.string().min(1, 'is empty'),
    jobsCsv: z.string().min(1, 'is empty'),
    batchId: z.string().refine(isBatchId, BATCH_ID_RULE).optional(),
    options: optionsSchema.optional(),
  })
  .strict();

export interface BatchUpload {
  batchId: string | undefined;
  consultants: Buffer;
  jobs: Buffer;
  options: UploadOptions;
}

/**
 * Reads a batch from JSON `{consultantsCsv, jobsCsv, batchId?, options?}` or from multipart form data
 * with `consultants` and `jobs` files (and optional `batchId`, `options` as JSON text). A 400 names the
 * field that is wrong.
 */
export async function parseBatchUpload(body: Buffer, contentType: string): Promise<BatchUpload> {
  if (/^multipart\/form-data/i.test(contentType)) return parseMultipart(body, contentType);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new InvalidInputError('body', 'is neither JSON nor multipart/form-data', 'invalid_json');
  }
  const parsed = jsonBody.safeParse(value);
  if (!parsed.success) throw invalidField(parsed.error);
  return {
    batchId: parsed.data.batchId,
    consultants: Buffer.from(parsed.data.consultantsCsv, 'utf8'),
    jobs: Buffer.from(parsed.data.jobsCsv, 'utf8'),
    options: parsed.data.options ?? {},
  };
}

async function parseMultipart(body: Buffer, contentType: string): Promise<BatchUpload> {
  const form = await readForm(body, contentType);
  const file = async (field: string): Promise<Buffer> => {
    const part = form.get(field);
    if (!(part instanceof Blob) || part.size === 0) {
      throw new InvalidInputError(field, 'a CSV file is required in this form field');
    }
    return Buffer.from(await part.arrayBuffer());
  };
  const batchId = form.get('batchId');
  if (batchId !== null && (typeof batchId !== 'string' || !isBatchId(batchId))) {
    throw new InvalidInputError('batchId', BATCH_ID_RULE);
  }
  const optionsText = form.get('options');
  let options: UploadOptions = {};
  if (typeof optionsText === 'string' && optionsText.trim()) {
    let raw: unknown;
    try {
      raw = JSON.parse(optionsText);
    } catch {
      throw new InvalidInputError('options', 'must be JSON');
    }
    const parsed = optionsSchema.safeParse(raw);
    if (!parsed.success) throw invalidField(parsed.error, 'options.');
    options = parsed.data;
  }
  return {
    batchId: batchId ?? undefined,
    consultants: await file('consultants'),
    jobs: await file('jobs'),
    options,
  };
}

function invalidField(error: z.ZodError, prefix = ''): InvalidInputError {
  const issue = error.issues[0];
  const field = issue?.path.length ? prefix + issue.path.join('.') : prefix.replace(/\.$/, '') || 'body';
  return new InvalidInputError(field, issue?.message ?? 'is invalid');
}

export interface CreatedBatch {
  batchId: string;
  instanceId: string | null;
  statusUrl: string;
}

/**
 * A batch sent over HTTP: both files and the template are checked now (a missing column, a missing or
 * broken template is refused naming it, rather than failing the run later), the files are kept in the
 * uploads container (which no trigger watches), and the run starts.
 */
export async function createBatchFromUpload(
  upload: BatchUpload,
  uploads: ContainerClient,
  defaults: PlanOptions,
  defaultTemplate: string | undefined,
  concurrency: number,
  deps: StartDependencies,
): Promise<CreatedBatch> {
  parseConsultants(upload.consultants, 'consultants.csv');
  parseJobs(upload.jobs, 'jobs.csv');
  const batchId =
    upload.batchId ?? `batch-${deps.clock().toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`;
  const { template: templateName, ...options } = upload.options;
  const template = await batchTemplate(
    batchId,
    templateName ?? defaultTemplate,
    templateName ? 'options.template' : 'DOSSIERS_TEMPLATE',
    deps,
  );
  await ensureContainer(uploads);
  const source = {
    container: uploads.containerName,
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
      options: { ...defaults, ...options, ...(template ? { template } : {}) },
      concurrency,
    },
    deps,
  );
  return {
    batchId,
    instanceId: 'instanceId' in result ? result.instanceId : null,
    statusUrl: `/api/dossiers/batches/${batchId}`,
  };
}
