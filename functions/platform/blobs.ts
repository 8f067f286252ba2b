import type { ContainerClient } from '@azure/storage-blob';
import { RestError } from '@azure/core-rest-pipeline';
import type { z } from 'zod';

// One creation per container and process, however many stores share it; a failure is retried next time.
const created = new Map<string, Promise<unknown>>();

/** Creates the container on first use (a no-op when it exists). */
export function ensureContainer(container: ContainerClient): Promise<unknown> {
  let ready = created.get(container.url);
  if (!ready) {
    ready = container.createIfNotExists();
    ready.catch(() => created.delete(container.url));
    created.set(container.url, ready);
  }
  return ready;
}

/** A blob's bytes, or undefined when there is no such blob (other failures are thrown). */
export async function readBlob(container: ContainerClient, name: string): Promise<Buffer | undefined> {
  await ensureContainer(container);
  try {
    // One GET: downloadToBuffer() first asks for the size (a HEAD), doubling the round trips.
    const response = await container.getBlockBlobClient(name).download();
    const chunks: Buffer[] = [];
    for await (const chunk of response.readableStreamBody ?? [])
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    return Buffer.concat(chunks);
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) return undefined;
    throw error;
  }
}

/**
 * A JSON blob parsed with its schema, or undefined when there is none. A blob that does not match the
 * schema is an error naming the blob: data crossing a storage boundary is checked, not cast.
 */
export async function readJsonBlob<T>(
  container: ContainerClient,
  name: string,
  schema: z.ZodType<T>,
): Promise<T | undefined> {
  const body = await readBlob(container, name);
  if (body === undefined) return undefined;
  const parsed = schema.safeParse(JSON.parse(body.toString('utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `${container.containerName}/${name} is not in the expected shape: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
    );
  }
  return parsed.data;
}

export async function writeJsonBlob(
  container: ContainerClient,
  name: string,
  value: unknown,
  metadata?: Record<string, string>,
): Promise<void> {
  await ensureContainer(container);
  const body = JSON.stringify(value);
  await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
    blobHTTPHeaders: { blobContentType: 'application/json' },
    ...(metadata ? { metadata } : {}),
  });
}
