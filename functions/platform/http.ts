import type { HttpRequest, HttpResponseInit } from '@azure/functions';

/** An HTTP failure with the status and code the caller sees as `{"error": {"code", "message"}}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'Cache-Control': 'no-store', ...headers } };
}

export function errorResponse(error: HttpError): HttpResponseInit {
  return jsonResponse(error.status, { error: { code: error.code, message: error.message } });
}

/** Runs a handler and answers an HttpError with its JSON error; anything else is the host's 500. */
export async function handleHttp(run: () => Promise<HttpResponseInit>): Promise<HttpResponseInit> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof HttpError) return errorResponse(error);
    throw error;
  }
}

/** The body, refused with 413 past `maxBytes` whatever Content-Length claims. */
export async function readBodyBytes(request: HttpRequest, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new HttpError(
      413,
      'payload_too_large',
      `The request body is larger than the limit of ${maxBytes} bytes.`,
    );
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
