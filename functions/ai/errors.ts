import type { AiProviderName } from './settings';

export type FailureKind = 'rate_limited' | 'server' | 'timeout' | 'connection' | 'client';

const RETRYABLE: ReadonlySet<FailureKind> = new Set(['rate_limited', 'server', 'timeout', 'connection']);

/** One failed attempt, classified for the retry policy. Messages never carry request content or keys. */
export class AiCallError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'AiCallError';
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

/** Every provider failed after its retries (and the fallbacks after theirs). */
export class AiUnavailableError extends Error {
  constructor(
    readonly task: string,
    readonly failures: { provider: AiProviderName; kind: FailureKind; message: string }[],
  ) {
    super(
      `No AI provider answered the ${task} request: ${failures.map((f) => `${f.provider} ${f.kind} (${f.message})`).join('; ')}`,
    );
    this.name = 'AiUnavailableError';
  }
}

/** The answer matched the output blocklist and was rejected. */
export class AiOutputBlockedError extends Error {
  constructor(
    readonly task: string,
    readonly term: string,
  ) {
    super(`The ${task} answer was rejected: it contains the blocked term "${term}".`);
    this.name = 'AiOutputBlockedError';
  }
}

interface SdkErrorShape {
  status?: unknown;
  headers?: unknown;
  name?: unknown;
  message?: unknown;
}

/**
 * Classifies an error thrown by the openai or @anthropic-ai/sdk client (both shape their errors the
 * same way: `status` and `headers` on API errors, none on connection errors).
 */
export function classifyProviderError(error: unknown, timedOut: boolean): AiCallError {
  if (error instanceof AiCallError) return error;
  if (timedOut) return new AiCallError('timeout', 'no answer within the time limit');
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = typeof e.name === 'string' ? e.name : '';
  const status = typeof e.status === 'number' ? e.status : undefined;
  if (name.includes('Timeout')) return new AiCallError('timeout', 'no answer within the time limit');
  if (status === undefined)
    return new AiCallError(
      'connection',
      name.includes('Connection') ? 'connection failed' : name || 'request failed',
    );
  const retryAfterMs = retryAfter(e.headers);
  if (status === 429) return new AiCallError('rate_limited', 'rate limited (429)', status, retryAfterMs);
  if (status === 408 || status >= 500)
    return new AiCallError('server', `server error (${status})`, status, retryAfterMs);
  return new AiCallError('client', `request refused (${status})`, status);
}

/** Reads `retry-after-ms` (Azure OpenAI) or `retry-after` (seconds or an HTTP date). */
export function retryAfter(headers: unknown, now = Date.now()): number | undefined {
  if (!(headers instanceof Headers)) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
