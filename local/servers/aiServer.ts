import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody, sendJson } from '../jsonHttp';

/**
 * A local server that speaks the OpenAI chat-completions protocol (plain `/v1/chat/completions` and
 * Azure's `/openai/deployments/{deployment}/chat/completions`) and Anthropic's `/v1/messages`, for
 * tests and benchmarks: latency drawn from a distribution, RPM/TPM quotas enforced in fixed windows
 * with 429 + `retry-after-ms`, injected 500s and hung requests, `usage` in every answer, and a
 * request log with counters.
 */

export type Fault = 'none' | 'error500' | 'hang' | 'rateLimit';

export interface AiServerOptions {
  /** Milliseconds each answer takes; default: immediate. */
  latencyMs?: () => number;
  rpm?: number;
  tpm?: number;
  /** The quota window; Azure enforces over 1 to 10 seconds. */
  windowMs?: number;
  /** Decides a fault for the n-th request (1-based), before quotas are checked. */
  fault?: (requestNumber: number, body: ChatBody) => Fault;
  /** The answer text for a request; default: a deterministic summary of the prompt. */
  reply?: (body: ChatBody) => string;
  /** When set, requests must carry this key (api-key, Authorization: Bearer or x-api-key). */
  apiKey?: string;
}

export interface ChatBody {
  model?: string;
  messages?: { role: string; content: unknown }[];
  system?: unknown;
  max_tokens?: number;
}

export interface LoggedRequest {
  number: number;
  path: string;
  arrivedAt: number;
  finishedAt: number | undefined;
  status: number | undefined;
  body: ChatBody;
  authorized: boolean;
}

export interface AiServerCounters {
  requests: number;
  ok: number;
  rateLimited: number;
  serverErrors: number;
  hung: number;
  promptTokens: number;
  completionTokens: number;
}

export class LocalAiServer {
  readonly log: LoggedRequest[] = [];
  readonly counters: AiServerCounters = {
    requests: 0,
    ok: 0,
    rateLimited: 0,
    serverErrors: 0,
    hung: 0,
    promptTokens: 0,
    completionTokens: 0,
  };
  private server: Server | undefined;
  private readonly startedAt = Date.now();
  private window = { index: -1, requests: 0, tokens: 0 };
  private readonly hanging = new Set<ServerResponse>();
  url = '';

  constructor(private readonly options: AiServerOptions = {}) {}

  async listen(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const anthropic = path.endsWith('/v1/messages');
    const chat = path.endsWith('/chat/completions');
    const raw = await readBody(req);
    if (req.method !== 'POST' || (!anthropic && !chat))
      return sendJson(res, 404, { error: { message: 'not found' } });
    const body = parseBody(raw);
    const number = ++this.counters.requests;
    const entry: LoggedRequest = {
      number,
      path,
      arrivedAt: Date.now(),
      finishedAt: undefined,
      status: undefined,
      body,
      authorized: this.authorized(req),
    };
    this.log.push(entry);
    const finish = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      entry.finishedAt = Date.now();
      sendJson(res, status, payload, headers);
    };
    if (!entry.authorized)
      return finish(401, errorBody(anthropic, 'authentication_error', 'Invalid API key.'));

    const fault = this.options.fault?.(number, body) ?? 'none';
    if (fault === 'hang') {
      this.counters.hung++;
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    if (fault === 'error500') {
      this.counters.serverErrors++;
      return finish(500, errorBody(anthropic, 'api_error', 'Injected server error.'));
    }
    const promptTokens = estimateTokens(promptText(body));
    const maxTokens = body.max_tokens ?? 256;
    const retryAfterMs = fault === 'rateLimit' ? 1000 : this.admit(promptTokens + maxTokens);
    if (retryAfterMs !== undefined) {
      this.counters.rateLimited++;
      return finish(429, errorBody(anthropic, 'rate_limit_error', 'Rate limit exceeded.'), {
        'retry-after-ms': String(retryAfterMs),
        'retry-after': String(Math.ceil(retryAfterMs / 1000)),
      });
    }

    const delay = this.options.latencyMs?.() ?? 0;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const text = (this.options.reply ?? defaultReply)(body);
    const completionTokens = Math.min(maxTokens, estimateTokens(text));
    this.counters.ok++;
    this.counters.promptTokens += promptTokens;
    this.counters.completionTokens += completionTokens;
    const model = body.model ?? deploymentOf(path) ?? 'local-model';
    finish(
      200,
      anthropic
        ? {
            id: `msg_${number}`,
            type: 'message',
            role: 'assistant',
            model,
            content: [{ type: 'text', text }],
            stop_reason: 'end_turn',
            stop_sequence: null,
            usage: { input_tokens: promptTokens, output_tokens: completionTokens },
          }
        : {
            id: `chatcmpl-${number}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model,
            choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
            usage: {
              prompt_tokens: promptTokens,
              completion_tokens: completionTokens,
              total_tokens: promptTokens + completionTokens,
            },
          },
    );
  }

  /** Counts a request against the current window; returns the wait in ms when it is over quota. */
  private admit(tokens: number): number | undefined {
    const windowMs = this.options.windowMs ?? 10_000;
    const elapsed = Date.now() - this.startedAt;
    const index = Math.floor(elapsed / windowMs);
    if (index !== this.window.index) this.window = { index, requests: 0, tokens: 0 };
    const requestLimit = this.options.rpm ? (this.options.rpm * windowMs) / 60_000 : Infinity;
    const tokenLimit = this.options.tpm ? (this.options.tpm * windowMs) / 60_000 : Infinity;
    if (this.window.requests + 1 > requestLimit || this.window.tokens + tokens > tokenLimit) {
      return (index + 1) * windowMs - elapsed;
    }
    this.window.requests++;
    this.window.tokens += tokens;
    return undefined;
  }

  private authorized(req: IncomingMessage): boolean {
    const key = this.options.apiKey;
    if (!key) return true;
    return (
      req.headers['api-key'] === key ||
      req.headers['x-api-key'] === key ||
      req.headers.authorization === `Bearer ${key}`
    );
  }
}

export async function startAiServer(options: AiServerOptions = {}): Promise<LocalAiServer> {
  return new LocalAiServer(options).listen();
}

/** Latency from a lognormal distribution with the given median and p99/p50 ratio, from a seeded PRNG. */
export function lognormalLatency(medianMs: number, p99OverP50: number, seed = 1): () => number {
  const sigma = Math.log(p99OverP50) / 2.3263;
  const random = mulberry32(seed);
  return () => {
    const u1 = Math.max(random(), Number.EPSILON);
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * random());
    return medianMs * Math.exp(sigma * z);
  };
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function promptText(body: ChatBody): string {
  const parts = (body.messages ?? []).map((m) =>
    typeof m.content === 'string' ? m.content : JSON.stringify(m.content),
  );
  if (typeof body.system === 'string') parts.unshift(body.system);
  return parts.join('\n');
}

function defaultReply(body: ChatBody): string {
  const prompt = promptText(body);
  return `Réponse locale (${prompt.length} caractères reçus) : ${prompt.slice(0, 80).replace(/\s+/g, ' ')}`;
}

function deploymentOf(path: string): string | undefined {
  return /\/deployments\/([^/]+)\//.exec(path)?.[1];
}

function errorBody(anthropic: boolean, type: string, message: string): unknown {
  return anthropic ? { type: 'error', error: { type, message } } : { error: { type, message, code: type } };
}

function parseBody(raw: string): ChatBody {
  try {
    return JSON.parse(raw) as ChatBody;
  } catch {
    return {};
  }
}
