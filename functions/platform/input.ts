import type { z } from 'zod';
import { InvalidInputError } from './errors';

/** The value checked by `schema`; else an InvalidInputError naming the first bad field (`body.field`). */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, root = 'body'): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.map(String).join('.');
  const field = path ? `${root}.${path}` : root;
  // An unknown key's issue names the key in `keys`, not in the path.
  const keys = issue && 'keys' in issue && Array.isArray(issue.keys) ? issue.keys.map(String) : [];
  if (keys.length) return raise(`${field === root ? root : field}.${keys.join(', ')}`, 'is not accepted');
  return raise(field, issue?.message ?? 'is invalid');
}

function raise(field: string, problem: string): never {
  throw new InvalidInputError(field, problem);
}

/** UTF-8 JSON text parsed; an empty body is `{}`. */
export function parseJsonBytes(bytes: Uint8Array, root = 'body'): unknown {
  if (bytes.length === 0) return {};
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch {
    throw new InvalidInputError(root, 'is not JSON', 'invalid_json');
  }
}

/** A multipart form's fields, or a 400 when the body is not one. */
export async function readForm(body: Uint8Array, contentType: string): Promise<FormData> {
  try {
    return await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw new InvalidInputError('body', 'the multipart form could not be read', 'invalid_multipart');
  }
}
