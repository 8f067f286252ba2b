import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { EventGridEvent } from '../eventGrid';
import { BodyTooLargeError, readBodyBytes, sendJson } from '../jsonHttp';

/**
 * A local Azure Communication Services Email endpoint speaking the REST protocol
 * `@azure/communication-email` uses: `POST /emails:send` answers 202 with `operation-location`,
 * `GET /emails/operations/{id}` reports Running then Succeeded (or Failed when injected). Requests
 * are authenticated as ACS does: HMAC-SHA256 signatures with the access key (verified), or a bearer
 * token when one is configured. Like the service as documented, it does not deduplicate
 * `Operation-Id`: sending the same id twice sends twice.
 */

export interface AcsEmailServerOptions {
  /** Base64 access key; random when not given. */
  accessKey?: string;
  /** A bearer token accepted as Microsoft Entra authentication (the token a test credential returns). */
  acceptToken?: string;
  /** Polls answered Running before an operation ends (default 1). */
  runningPolls?: number;
  /** The `retry-after` header of 202 answers, in seconds (default 0: the client's own interval). */
  retryAfterSeconds?: number;
  /** Serve HTTPS with this key and certificate (PEM): the SDK sends bearer tokens over HTTPS only. */
  tls?: { key: string; cert: string };
}

/** One accepted send, as ACS received it. */
export interface AcsSentEmail {
  operationId: string;
  message: AcsEmailMessage;
}

export interface AcsLoggedRequest {
  method: string;
  path: string;
  /** The status answered; 0 when the connection was cut without an answer. */
  status: number;
  /** The `Operation-Id` header, when present. */
  operationId: string | undefined;
  auth: 'hmac' | 'bearer' | 'none';
}

export interface AcsEmailCounters {
  requests: number;
  sends: number;
  polls: number;
  unauthorized: number;
  injectedFailures: number;
}

const API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;
const MAX_BODY_BYTES = 10 * 1024 * 1024;
// ACS refuses requests whose x-ms-date is further than this from its clock.
const MAX_CLOCK_SKEW_MS = 15 * 60_000;

const address = z.object({ address: z.string().min(1), displayName: z.string().optional() });
const emailMessage = z.object({
  headers: z.record(z.string(), z.string()).optional(),
  senderAddress: z.string().min(1),
  content: z.object({ subject: z.string(), plainText: z.string().optional(), html: z.string().optional() }),
  recipients: z.object({
    to: z.array(address).optional(),
    cc: z.array(address).optional(),
    bcc: z.array(address).optional(),
  }),
  attachments: z
    .array(z.object({ name: z.string(), contentType: z.string(), contentInBase64: z.string() }))
    .optional(),
  replyTo: z.array(address).optional(),
  userEngagementTrackingDisabled: z.boolean().optional(),
});
export type AcsEmailMessage = z.infer<typeof emailMessage>;

/** One request being answered. */
interface Exchange {
  entry: AcsLoggedRequest;
  answer: (status: number, body: unknown, headers?: Record<string, string>) => void;
  fail: (status: number, code: string, message: string) => void;
  /** Cuts the connection without an answer. */
  drop: () => void;
}

interface Operation {
  pollsLeft: number;
  final: 'Succeeded' | 'Failed';
  message: AcsEmailMessage;
}

export class AcsEmailServer {
  readonly accessKey: string;
  readonly sent: AcsSentEmail[] = [];
  readonly requests: AcsLoggedRequest[] = [];
  readonly counters: AcsEmailCounters = {
    requests: 0,
    sends: 0,
    polls: 0,
    unauthorized: 0,
    injectedFailures: 0,
  };
  url = '';
  private server: Server | undefined;
  private readonly operations = new Map<string, Operation>();
  private failing: { count: number; status: number } = { count: 0, status: 500 };
  private failingOperations = 0;
  private dropping = 0;

  constructor(private readonly options: AcsEmailServerOptions = {}) {
    this.accessKey = options.accessKey ?? randomBytes(32).toString('base64');
  }

  get connectionString(): string {
    return `endpoint=${this.url}/;accesskey=${this.accessKey}`;
  }

  async listen(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch(() => res.destroy());
    };
    const { tls } = this.options;
    this.server = tls ? createTlsServer({ key: tls.key, cert: tls.cert }, handler) : createServer(handler);
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const port = (this.server.address() as AddressInfo).port;
    this.url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** The next `count` send requests answer `status` with an error body, and send nothing. */
  failNext(count: number, status = 500): void {
    this.failing = { count, status };
  }

  /**
   * The next `count` sends are accepted (the operation runs, the mail is sent), then the connection is
   * cut before the answer: what a client sees when it crashes or times out right after sending.
   */
  dropNext(count: number): void {
    this.dropping = count;
  }

  /** The next `count` accepted sends end Failed when polled (ACS sends nothing for them). */
  failOperations(count: number): void {
    this.failingOperations = count;
  }

  /**
   * The Event Grid event ACS publishes when the mail of `operationId` reaches a final delivery state:
   * `Delivered`, `Bounced`, `Suppressed`, `Quarantined`, `FilteredSpam`, `Failed` or `Expanded`.
   */
  deliveryReport(
    operationId: string,
    status: string,
    statusMessage = `Local report: ${status}`,
  ): EventGridEvent {
    const operation = this.operations.get(operationId);
    if (!operation) throw new Error(`No operation ${operationId} was sent to this server.`);
    const sender = operation.message.senderAddress;
    const now = new Date().toISOString();
    return {
      id: randomUUID(),
      topic:
        '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/Microsoft.Communication/communicationServices/local',
      subject: `sender/${sender}/message/${operationId}`,
      eventType: 'Microsoft.Communication.EmailDeliveryReportReceived',
      eventTime: now,
      dataVersion: '1.0',
      metadataVersion: '1',
      data: {
        sender,
        recipient: operation.message.recipients.to?.[0]?.address ?? '',
        messageId: operationId,
        internetMessageId:
          operation.message.headers?.['Message-ID'] ?? `<${operationId}@local.azurecomm.net>`,
        status,
        deliveryStatusDetails: { statusMessage },
        deliveryAttemptTimestamp: now,
      },
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const operationHeader = req.headers['operation-id'];
    const entry: AcsLoggedRequest = {
      method,
      path: url.pathname,
      status: 0,
      operationId: typeof operationHeader === 'string' ? operationHeader : undefined,
      auth: 'none',
    };
    this.requests.push(entry);
    this.counters.requests++;
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      sendJson(res, status, body, headers);
    };
    const fail = (status: number, code: string, message: string) =>
      answer(status, { error: { code, message } }, { 'x-ms-error-code': code });
    const exchange: Exchange = { entry, answer, fail, drop: () => res.destroy() };

    let body: Buffer;
    try {
      body = await readBodyBytes(req, MAX_BODY_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        return fail(413, 'RequestBodyTooLarge', `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
      }
      throw error;
    }
    const auth = this.authenticate(req, method, url, body);
    if (!auth) {
      this.counters.unauthorized++;
      return fail(
        401,
        'Denied',
        'Denied by the resource provider: the request is not signed with the access key.',
      );
    }
    entry.auth = auth;
    const apiVersion = url.searchParams.get('api-version') ?? '';
    if (!API_VERSION.test(apiVersion))
      return fail(400, 'MissingApiVersionParameter', 'api-version is required.');

    const poll = /^\/emails\/operations\/([^/]+)$/.exec(url.pathname);
    if (method === 'POST' && url.pathname === '/emails:send') return this.send(body, exchange, apiVersion);
    if (method === 'GET' && poll) return this.poll(decodeURIComponent(poll[1] ?? ''), exchange);
    return fail(404, 'NotFound', `No route for ${method} ${url.pathname}.`);
  }

  private send(body: Buffer, { entry, answer, fail, drop }: Exchange, apiVersion: string): void {
    if (this.failing.count > 0) {
      this.failing.count--;
      this.counters.injectedFailures++;
      const status = this.failing.status;
      return fail(status, status === 429 ? 'TooManyRequests' : 'InternalServerError', 'Injected failure.');
    }
    let parsed: AcsEmailMessage;
    try {
      parsed = emailMessage.parse(JSON.parse(body.toString('utf8')));
    } catch {
      return fail(400, 'BadRequest', 'The body is not a valid email message.');
    }
    if (!parsed.recipients.to?.length && !parsed.recipients.cc?.length && !parsed.recipients.bcc?.length) {
      return fail(400, 'BadRequest', 'At least one recipient is required.');
    }
    const operationId = entry.operationId ?? randomUUID();
    const failed = this.failingOperations > 0;
    if (failed) this.failingOperations--;
    this.operations.set(operationId, {
      pollsLeft: this.options.runningPolls ?? 1,
      final: failed ? 'Failed' : 'Succeeded',
      message: parsed,
    });
    this.sent.push({ operationId, message: parsed });
    this.counters.sends++;
    if (this.dropping > 0) {
      this.dropping--;
      drop();
      return;
    }
    answer(
      202,
      { id: operationId, status: 'Running', error: null },
      {
        'operation-location': `${this.url}/emails/operations/${operationId}?api-version=${apiVersion}`,
        'retry-after': String(this.options.retryAfterSeconds ?? 0),
        'operation-id': operationId,
      },
    );
  }

  private poll(operationId: string, { answer, fail }: Exchange): void {
    this.counters.polls++;
    const operation = this.operations.get(operationId);
    if (!operation) return fail(404, 'NotFound', `Operation ${operationId} was not found.`);
    if (operation.pollsLeft > 0) {
      operation.pollsLeft--;
      return answer(200, { id: operationId, status: 'Running', error: null });
    }
    answer(
      200,
      operation.final === 'Succeeded'
        ? { id: operationId, status: 'Succeeded', error: null }
        : {
            id: operationId,
            status: 'Failed',
            error: { code: 'EmailDroppedAllRecipientsSuppressed', message: 'Injected operation failure.' },
          },
    );
  }

  /**
   * ACS's HMAC scheme: `Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&
   * Signature=<base64>` over `VERB\n/path?query\n<x-ms-date>;<host>;<x-ms-content-sha256>` with the
   * base64-decoded key, where the content hash must be the body's SHA-256.
   */
  private authenticate(
    req: IncomingMessage,
    method: string,
    url: URL,
    body: Buffer,
  ): 'hmac' | 'bearer' | undefined {
    const authorization = req.headers.authorization ?? '';
    if (this.options.acceptToken && authorization === `Bearer ${this.options.acceptToken}`) return 'bearer';
    const match = /^HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=(.+)$/.exec(
      authorization,
    );
    const date = req.headers['x-ms-date'];
    const contentHash = req.headers['x-ms-content-sha256'];
    const host = req.headers.host;
    if (!match?.[1] || typeof date !== 'string' || typeof contentHash !== 'string' || !host) return undefined;
    if (Math.abs(Date.now() - Date.parse(date)) > MAX_CLOCK_SKEW_MS) return undefined;
    if (contentHash !== createHash('sha256').update(body).digest('base64')) return undefined;
    const query = url.searchParams.toString();
    const pathAndQuery = query ? `${url.pathname}?${query}` : url.pathname;
    const expected = createHmac('sha256', Buffer.from(this.accessKey, 'base64'))
      .update(`${method}\n${pathAndQuery}\n${date};${host};${contentHash}`)
      .digest();
    const given = Buffer.from(match[1], 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected) ? 'hmac' : undefined;
  }
}

export async function startAcsEmailServer(options: AcsEmailServerOptions = {}): Promise<AcsEmailServer> {
  return new AcsEmailServer(options).listen();
}
