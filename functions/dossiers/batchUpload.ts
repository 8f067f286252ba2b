import { z } from 'zod';
import { HttpError } from '../platform/http';
import { isBatchId } from './batchStart';
import type { PlanOptions } from './plan';

/** Options a caller may set for one batch; unset ones come from the DOSSIERS_* settings. */
const optionsSchema = z
  .object({
    topK: z.number().int().min(1).max(10_000).optional(),
    minScore: z.number().int().min(0).max(100).optional(),
    language: z.enum(['fr', 'en']).optional(),
    regenerateUngrounded: z.boolean().optional(),
  })
  .strict();

const jsonBody = z
  .object({
    consultantsCsv: z.string().min(1, 'is empty'),
    jobsCsv: z.string().min(1, 'is empty'),
    batchId: z.string().refine(isBatchId, 'must be 1 to 63 letters, digits, - or _').optional(),
    options: optionsSchema.optional(),
  })
  .strict();

export interface BatchUpload {
  batchId: string | undefined;
  consultants: Buffer;
  jobs: Buffer;
  options: Partial<PlanOptions>;
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
    throw new HttpError(400, 'invalid_json', 'The body is neither JSON nor multipart/form-data.');
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
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw new HttpError(400, 'invalid_multipart', 'The multipart body could not be read.');
  }
  const file = async (field: string): Promise<Buffer> => {
    const part = form.get(field);
    if (!(part instanceof Blob) || part.size === 0) {
      throw new HttpError(400, 'invalid_field', `${field}: a CSV file is required in this form field.`);
    }
    return Buffer.from(await part.arrayBuffer());
  };
  const batchId = form.get('batchId');
  if (batchId !== null && (typeof batchId !== 'string' || !isBatchId(batchId))) {
    throw new HttpError(400, 'invalid_field', 'batchId: must be 1 to 63 letters, digits, - or _');
  }
  const optionsText = form.get('options');
  let options: Partial<PlanOptions> = {};
  if (typeof optionsText === 'string' && optionsText.trim()) {
    let raw: unknown;
    try {
      raw = JSON.parse(optionsText);
    } catch {
      throw new HttpError(400, 'invalid_field', 'options: must be JSON');
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

function invalidField(error: z.ZodError, prefix = ''): HttpError {
  const issue = error.issues[0];
  const field = issue?.path.length ? prefix + issue.path.join('.') : prefix.replace(/\.$/, '') || 'body';
  return new HttpError(400, 'invalid_field', `${field}: ${issue?.message ?? 'is invalid'}`);
}
