import type { HttpResponseInit } from '@azure/functions';

/** An HTTP failure with the status and code the caller sees in `{"error": {"code", "message"}}`. */
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
