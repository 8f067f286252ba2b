import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { z } from 'zod';
import { DomainError, InvalidInputError, TooLargeError } from './errors';
import { parseInput, parseJsonBytes, readForm } from './input';

export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'Cache-Control': 'no-store', ...headers } };
}

/**
 * The one mapping from failures to HTTP: a domain error answers its status and code; anything else is a
 * 500 that says only that it failed. Both carry the invocation id as the request id, so a user can
 * quote it and an operator can find the logged stack; no stack or internal message is ever sent.
 */
export function errorResponse(error: unknown, requestId: string): HttpResponseInit {
  const known = error instanceof DomainError;
  const status = known ? error.status : 500;
  const code = known ? error.code : 'internal_error';
  const message = known ? error.message : `The request failed; quote request id ${requestId} to an operator.`;
  // A bad field is named on its own too, so a form can show the message next to it.
  const field = error instanceof InvalidInputError ? { field: error.field } : {};
  return jsonResponse(
    status,
    { error: { code, message, ...field, requestId } },
    { 'x-request-id': requestId },
  );
}

export type HttpHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/** Wraps a route so every failure, expected or not, answers the documented JSON error. */
export function httpRoute(handler: HttpHandler): HttpHandler {
  return async (request, context) => {
    try {
      return await handler(request, context);
    } catch (error) {
      if (!(error instanceof DomainError)) context.error('Unhandled failure:', error);
      return errorResponse(error, context.invocationId);
    }
  };
}

/** The body, refused with 413 past `maxBytes` whatever Content-Length claims. */
export async function readBodyBytes(request: HttpRequest, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new TooLargeError('The request body', maxBytes);
  if (Number(request.headers.get('content-length') ?? 0) > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  if (!request.body) return Buffer.alloc(0);
  for await (const chunk of request.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge();
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** A JSON body of at most `maxBytes`, checked by `schema` (an empty body is `{}`). */
export async function readJsonBody<S extends z.ZodType>(
  request: HttpRequest,
  maxBytes: number,
  schema: S,
): Promise<z.output<S>> {
  return parseInput(schema, parseJsonBytes(await readBodyBytes(request, maxBytes)));
}

/**
 * One uploaded file: the multipart form's `field` (its own file name), or the raw body (named by the
 * `name` query parameter, else `fallbackName`), so `curl --data-binary @file` and a browser form both work.
 */
export async function readUploadedFile(
  request: HttpRequest,
  maxBytes: number,
  field: string,
  fallbackName: string,
): Promise<{ name: string; bytes: Uint8Array }> {
  const [file] = await readUploadedFiles(request, maxBytes, field, fallbackName, 1);
  if (!file) throw new InvalidInputError(field, 'is missing: send the file in this form field');
  return file;
}

/** Every file of the multipart form's `field` (at most `maxFiles`), or the raw body as one file. */
export async function readUploadedFiles(
  request: HttpRequest,
  maxBytes: number,
  field: string,
  fallbackName: string,
  maxFiles: number,
): Promise<{ name: string; bytes: Uint8Array }[]> {
  const body = await readBodyBytes(request, maxBytes);
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data/i.test(contentType))
    return [{ name: request.query.get('name')?.trim() || fallbackName, bytes: body }];
  const files = (await readForm(body, contentType)).getAll(field).filter((f) => typeof f !== 'string');
  if (files.length > maxFiles)
    throw new InvalidInputError(field, `holds ${files.length} files; at most ${maxFiles}`);
  return Promise.all(
    files.map(async (file) => ({
      name: file.name || fallbackName,
      bytes: new Uint8Array(await file.arrayBuffer()),
    })),
  );
}
