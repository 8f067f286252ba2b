/**
 * Failures a user can act on, named for what went wrong. Capabilities throw these; one mapping in
 * `http.ts` turns them into HTTP answers, so every route reports them the same way.
 */
export abstract class DomainError extends Error {
  abstract readonly status: number;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input: the message starts with the field (or file and line) to fix. */
export class InvalidInputError extends DomainError {
  readonly status = 400;
  constructor(
    readonly field: string,
    problem: string,
    code = 'invalid_field',
  ) {
    super(code, `${field}: ${problem}`);
  }
}

export class NotFoundError extends DomainError {
  readonly status = 404;
  constructor(message: string) {
    super('not_found', message);
  }
}

export class ConflictError extends DomainError {
  readonly status = 409;
  constructor(message: string, code = 'conflict') {
    super(code, message);
  }
}

/** The request does not prove who sent it (a missing or bad signature). */
export class UnauthenticatedError extends DomainError {
  readonly status = 401;
  constructor(message: string, code = 'unauthenticated') {
    super(code, message);
  }
}

/** The caller is known but may not do this (yet): the code says what is missing. */
export class ForbiddenError extends DomainError {
  readonly status = 403;
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** The resource is locked against this action (too many failed attempts). */
export class LockedError extends DomainError {
  readonly status = 423;
  constructor(code: string, message: string) {
    super(code, message);
  }
}

export class TooLargeError extends DomainError {
  readonly status = 413;
  constructor(what: string, limitBytes: number) {
    super('payload_too_large', `${what} is larger than the limit of ${limitBytes} bytes.`);
  }
}

/** A dependency (storage, a provider, a mailbox) cannot be reached now; trying later may work. */
export class UnavailableError extends DomainError {
  readonly status = 503;
  constructor(message: string) {
    super('unavailable', message);
  }
}

/** An error's first line, with its code (`ECONNREFUSED: …`) when the message lacks it: for a record or a log. */
export function errorSummary(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const first = error.message.split('\n')[0] ?? '';
  const summary = typeof code === 'string' && !first.includes(code) ? `${code}: ${first}` : first;
  // fetch says only "fetch failed"; why (ECONNREFUSED, a TLS error…) is in its cause.
  return error.cause instanceof Error && !summary.includes(error.cause.message)
    ? `${summary}: ${errorSummary(error.cause)}`
    : summary;
}
