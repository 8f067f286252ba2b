import { listenHttp } from './listen';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { z } from 'zod';
import { BodyTooLargeError, readBody, sendJson } from '../jsonHttp';

/**
 * A local OpenAI-compatible chat-completions server that holds a scripted dialogue, tool calls
 * included, so an agent can be tried with no model and no network. It serves `POST /v1/chat/completions`
 * as OpenAI does, plain JSON or `stream: true` server-sent events (text in a few deltas, tool calls as
 * `delta.tool_calls` fragments, a usage chunk when `stream_options.include_usage` is set, `[DONE]`), and
 * `GET /v1/models`; every request needs `Authorization: Bearer <any key>`.
 *
 * Each answer comes from the script: the first rule whose `when` matches the latest message of the
 * conversation — a user message (`lastUser`, a regular expression on its text) or a tool message
 * (`lastTool`: the tool's name, found through `tool_call_id` in the assistant's tool calls, and a
 * regular expression on its output) — optionally also on the assistant's last words (`lastAssistant`).
 * Expressions are case-insensitive. Replies may use `$1`… (the `lastUser` groups), `$tool.a.b` (a field
 * of the latest tool output, read as JSON) and `$$` (a dollar sign), in the text and in the tool call's
 * argument strings. No rule, or a rule calling a tool the request does not offer: the fallback text.
 */

export const FALLBACK_TEXT = "Je n'ai pas compris, pouvez-vous reformuler ?";
const REGEX_FLAGS = 'i';
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const DEFAULT_MODEL = 'scripted';
/** `$$`, `$1`…, `$tool.field.0.sub`: a field path needs a word character after each dot, so a final `.` stays text. */
const REFERENCE = /\$(\$|\d+|tool(?:\.\w+)+)/g;

// --- The script --------------------------------------------------------------------------------

const regexSource = z
  .string()
  .min(1, 'must not be empty')
  .superRefine((source, ctx) => {
    try {
      new RegExp(source, REGEX_FLAGS);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `is not a valid regular expression (${error instanceof Error ? error.message : String(error)})`,
      });
    }
  });

const ruleSchema = z
  .object({
    /** Shown in logs instead of the rule's index. */
    name: z.string().min(1).optional(),
    when: z
      .object({
        lastUser: regexSource.optional(),
        lastTool: z
          .object({ name: z.string().min(1).optional(), outputMatches: regexSource.optional() })
          .strict()
          .optional(),
        /** The text of the assistant's latest message before the one being answered. */
        lastAssistant: regexSource.optional(),
      })
      .strict()
      .refine((w) => w.lastUser !== undefined || w.lastTool !== undefined, {
        message: 'needs lastUser or lastTool',
      })
      .refine((w) => w.lastUser === undefined || w.lastTool === undefined, {
        message: 'cannot have both lastUser and lastTool: the latest message is one or the other',
      }),
    reply: z
      .object({
        text: z.string().min(1, 'must not be empty').optional(),
        toolCall: z
          .object({
            name: z
              .string()
              .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be a function name (letters, digits, _ or -)'),
            arguments: z.record(z.string(), z.unknown()),
          })
          .strict()
          .optional(),
      })
      .strict()
      .refine((r) => r.text !== undefined || r.toolCall !== undefined, { message: 'needs text or toolCall' }),
  })
  .strict()
  .superRefine((rule, ctx) => {
    // References the rule cannot fill are mistakes in the script: say so when it loads.
    const groups = rule.when.lastUser === undefined ? 0 : groupCount(rule.when.lastUser);
    for (const { path, value } of stringsOf(rule.reply, ['reply'])) {
      for (const [, reference = ''] of value.matchAll(REFERENCE)) {
        if (/^\d+$/.test(reference) && Number(reference) > groups) {
          ctx.addIssue({
            code: 'custom',
            path,
            message:
              rule.when.lastUser === undefined
                ? `uses $${reference} but the rule has no lastUser expression`
                : `uses $${reference} but when.lastUser has ${groups} capture group(s)`,
          });
        }
        if (reference.startsWith('tool.') && rule.when.lastTool === undefined) {
          ctx.addIssue({
            code: 'custom',
            path,
            message: `uses $${reference} but the rule has no lastTool condition`,
          });
        }
      }
    }
  });

const scriptSchema = z.preprocess(
  (value) => (Array.isArray(value) ? { rules: value } : value),
  z
    .object({
      description: z.string().optional(),
      /** The answer when no rule matches; default FALLBACK_TEXT. */
      fallback: z.string().min(1).optional(),
      rules: z.array(ruleSchema),
    })
    .strict(),
);

export type ScriptRule = z.output<typeof ruleSchema>;
/** A script: its rules (a bare array of rules is accepted too) and an optional fallback text. */
export type Script = z.output<typeof scriptSchema>;
export type ScriptInput =
  | z.input<typeof ruleSchema>[]
  | { description?: string; fallback?: string; rules: z.input<typeof ruleSchema>[] };

/** A script that does not validate: `issues` name the rule and field, e.g. `rules[2].when.lastUser: …`. */
export class ScriptError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid script:\n${issues.map((issue) => `  ${issue}`).join('\n')}`);
    this.name = 'ScriptError';
  }
}

function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

/** The scripts compileScript made: the server takes them as they are. */
const COMPILED = new WeakSet<CompiledScript>();

/** Validates a script (parsed JSON) and compiles its expressions; throws ScriptError. */
export function compileScript(input: unknown): CompiledScript {
  const parsed = scriptSchema.safeParse(input);
  if (!parsed.success) {
    throw new ScriptError(
      parsed.error.issues.map((issue) => `${pathText(issue.path) || '(script)'}: ${issue.message}`),
    );
  }
  const { fallback = FALLBACK_TEXT, rules } = parsed.data;
  const compiled: CompiledScript = {
    fallback,
    rules: rules.map((rule, index) => ({
      index,
      name: rule.name,
      lastUser: rule.when.lastUser === undefined ? undefined : new RegExp(rule.when.lastUser, REGEX_FLAGS),
      lastAssistant:
        rule.when.lastAssistant === undefined ? undefined : new RegExp(rule.when.lastAssistant, REGEX_FLAGS),
      lastTool: rule.when.lastTool && {
        name: rule.when.lastTool.name,
        output:
          rule.when.lastTool.outputMatches === undefined
            ? undefined
            : new RegExp(rule.when.lastTool.outputMatches, REGEX_FLAGS),
      },
      reply: rule.reply,
    })),
  };
  COMPILED.add(compiled);
  return compiled;
}

export interface CompiledRule {
  index: number;
  name: string | undefined;
  lastUser: RegExp | undefined;
  lastAssistant: RegExp | undefined;
  lastTool: { name: string | undefined; output: RegExp | undefined } | undefined;
  reply: ScriptRule['reply'];
}

export interface CompiledScript {
  fallback: string;
  rules: CompiledRule[];
}

function groupCount(source: string): number {
  try {
    // An alternative that matches the empty string shows every group, unmatched.
    return (new RegExp(`${source}|`, REGEX_FLAGS).exec('')?.length ?? 1) - 1;
  } catch {
    return 0;
  }
}

function stringsOf(value: unknown, path: PropertyKey[]): { path: PropertyKey[]; value: string }[] {
  if (typeof value === 'string') return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringsOf(item, [...path, i]));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([key, item]) => stringsOf(item, [...path, key]));
  return [];
}

// --- Deciding an answer ------------------------------------------------------------------------

const messageSchema = z.looseObject({
  role: z.string(),
  content: z.unknown().optional(),
  tool_call_id: z.string().optional(),
  name: z.string().optional(),
  tool_calls: z
    .array(
      z.looseObject({ id: z.string().optional(), function: z.looseObject({ name: z.string() }).optional() }),
    )
    .nullish(),
});
type Message = z.output<typeof messageSchema>;

const requestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  tools: z
    .array(z.looseObject({ type: z.string(), function: z.looseObject({ name: z.string() }).optional() }))
    .nullish(),
  tool_choice: z.unknown().optional(),
});
export type ChatRequest = z.output<typeof requestSchema>;

/** What the server answers and why. */
export interface Decision {
  outcome: 'rule' | 'fallback' | 'tool-unavailable';
  /** The rule that matched (also for `tool-unavailable`: it asked for a tool the request does not offer). */
  rule: { index: number; name: string | undefined } | undefined;
  text: string | undefined;
  toolCall: { name: string; arguments: string } | undefined;
}

/** The text of a message's content: a string, or the text parts of a list. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) =>
      part && typeof part === 'object' && 'text' in part && typeof part.text === 'string' ? part.text : '',
    )
    .filter(Boolean)
    .join('\n');
}

/** The name of the tool call a tool message answers, from the assistant messages before it. */
function toolNameOf(messages: Message[], toolMessage: Message): string | undefined {
  const id = toolMessage.tool_call_id;
  if (id !== undefined) {
    for (let i = messages.length - 2; i >= 0; i--) {
      const call = messages[i]?.tool_calls?.find((c) => c.id === id);
      if (call?.function) return call.function.name;
    }
  }
  return toolMessage.name;
}

function lastAssistantText(messages: Message[]): string | undefined {
  for (let i = messages.length - 2; i >= 0; i--) {
    const message = messages[i];
    if (message?.role !== 'assistant') continue;
    const text = textOf(message.content);
    if (text) return text;
  }
  return undefined;
}

function fieldOf(json: unknown, path: string[]): string {
  let value = json;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return '';
    value = (value as Record<string, unknown>)[key];
  }
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return JSON.stringify(value);
}

function substitute(value: unknown, groups: string[], toolJson: unknown): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (_all, reference: string) => {
      if (reference === '$') return '$';
      if (reference.startsWith('tool.')) return fieldOf(toolJson, reference.split('.').slice(1));
      return groups[Number(reference)] ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, groups, toolJson));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, substitute(item, groups, toolJson)]),
    );
  }
  return value;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The tools a request offers: none when `tool_choice` is "none". */
function offeredTools(request: Pick<ChatRequest, 'tools' | 'tool_choice'>): Set<string> {
  if (request.tool_choice === 'none') return new Set();
  return new Set(
    (request.tools ?? []).flatMap((t) => (t.type === 'function' && t.function ? [t.function.name] : [])),
  );
}

/** The answer the script gives to a conversation (OpenAI `messages`) offering these tools. */
export function decide(
  script: CompiledScript,
  request: Pick<ChatRequest, 'messages' | 'tools' | 'tool_choice'>,
): Decision {
  const { messages } = request;
  const fallback: Decision = {
    outcome: 'fallback',
    rule: undefined,
    text: script.fallback,
    toolCall: undefined,
  };
  const latest = messages.at(-1);
  if (!latest || (latest.role !== 'user' && latest.role !== 'tool')) return fallback;
  const latestText = textOf(latest.content);
  const toolName = latest.role === 'tool' ? toolNameOf(messages, latest) : undefined;
  const assistantText = lastAssistantText(messages);

  for (const rule of script.rules) {
    let groups: string[] = [];
    if (rule.lastUser) {
      if (latest.role !== 'user') continue;
      const match = rule.lastUser.exec(latestText);
      if (!match) continue;
      groups = match.map((group) => group ?? '');
    }
    if (rule.lastTool) {
      if (latest.role !== 'tool') continue;
      if (rule.lastTool.name !== undefined && rule.lastTool.name !== toolName) continue;
      if (rule.lastTool.output && !rule.lastTool.output.test(latestText)) continue;
    }
    if (rule.lastAssistant && (assistantText === undefined || !rule.lastAssistant.test(assistantText)))
      continue;

    const matched = { index: rule.index, name: rule.name };
    const { text, toolCall } = rule.reply;
    if (toolCall && !offeredTools(request).has(toolCall.name)) {
      return { ...fallback, outcome: 'tool-unavailable', rule: matched };
    }
    const toolJson = latest.role === 'tool' ? parseJson(latestText) : undefined;
    return {
      outcome: 'rule',
      rule: matched,
      text: text === undefined ? undefined : (substitute(text, groups, toolJson) as string),
      toolCall: toolCall && {
        name: toolCall.name,
        arguments: JSON.stringify(substitute(toolCall.arguments, groups, toolJson)),
      },
    };
  }
  return fallback;
}

// --- The server --------------------------------------------------------------------------------

export interface ScriptedLlmOptions {
  /** The script: parsed JSON (validated here) or an already compiled one. */
  script: unknown;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The model `GET /v1/models` lists (any model name is accepted in requests); default "scripted". */
  model?: string;
  /** Called once per request answered, after the answer. */
  onRequest?: (entry: ScriptedLlmLogEntry) => void;
}

export interface ScriptedLlmLogEntry {
  at: Date;
  method: string;
  path: string;
  status: number;
  stream: boolean;
  /** For answered chat completions: which rule, never the content. */
  decision: Pick<Decision, 'outcome' | 'rule'> | undefined;
}

const isCompiled = (script: unknown): script is CompiledScript =>
  !!script && typeof script === 'object' && COMPILED.has(script as CompiledScript);

export class ScriptedLlmServer {
  readonly script: CompiledScript;
  /** The body of every chat-completions request, as received (parsed JSON). */
  readonly requests: unknown[] = [];
  readonly log: ScriptedLlmLogEntry[] = [];
  /** The OpenAI base URL, `http://127.0.0.1:<port>/v1`. */
  url = '';
  private server: Server | undefined;

  constructor(private readonly options: ScriptedLlmOptions) {
    this.script = isCompiled(options.script) ? options.script : compileScript(options.script);
  }

  get model(): string {
    return this.options.model ?? DEFAULT_MODEL;
  }

  async listen(): Promise<this> {
    const { server, host, port } = await listenHttp((req, res) => this.handle(req, res), this.options);
    this.server = server;
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    this.url = `http://${shown}:${port}/v1`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    const entry: ScriptedLlmLogEntry = {
      at: new Date(),
      method,
      path,
      status: 0,
      stream: false,
      decision: undefined,
    };
    const done = () => {
      this.log.push(entry);
      this.options.onRequest?.(entry);
    };
    const fail = (
      status: number,
      message: string,
      type: string,
      code: string | null,
      param: string | null = null,
    ) => {
      entry.status = status;
      sendJson(res, status, { error: { message, type, param, code } });
      done();
    };

    let raw: string;
    try {
      raw = await readBody(req, MAX_BODY_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return fail(413, error.message, 'invalid_request_error', null);
      throw error;
    }
    const authorization = /^Bearer\s+(\S.*)$/i.exec(req.headers.authorization ?? '');
    if (!authorization) {
      return fail(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        'invalid_request_error',
        'invalid_api_key',
      );
    }

    if (method === 'GET' && path === '/v1/models') {
      entry.status = 200;
      sendJson(res, 200, { object: 'list', data: [this.modelObject(this.model)] });
      return done();
    }
    const oneModel = /^\/v1\/models\/([^/]+)$/.exec(path);
    if (method === 'GET' && oneModel) {
      const id = decodeURIComponent(oneModel[1] ?? '');
      if (id !== this.model)
        return fail(
          404,
          `The model '${id}' does not exist`,
          'invalid_request_error',
          'model_not_found',
          'model',
        );
      entry.status = 200;
      sendJson(res, 200, this.modelObject(id));
      return done();
    }
    if (method !== 'POST' || path !== '/v1/chat/completions') {
      return fail(404, `Invalid URL (${method} ${path || '/'})`, 'invalid_request_error', null);
    }

    const json = parseJson(raw);
    if (json === undefined) {
      return fail(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
        'invalid_request_error',
        null,
      );
    }
    this.requests.push(json);
    const parsed = requestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const param = issue ? pathText(issue.path) : null;
      const missing = issue?.code === 'invalid_type' && valueAt(json, issue.path) === undefined;
      return fail(
        400,
        missing
          ? `Missing required parameter: '${param}'.`
          : `Invalid '${param}': ${issue?.message ?? 'invalid'}.`,
        'invalid_request_error',
        missing ? 'missing_required_parameter' : 'invalid_value',
        param,
      );
    }
    const request = parsed.data;
    const decision = decide(this.script, request);
    entry.decision = { outcome: decision.outcome, rule: decision.rule };
    entry.stream = request.stream === true;
    entry.status = 200;
    const answer = this.completion(request, decision);
    if (entry.stream) this.stream(res, answer, request.stream_options?.include_usage === true);
    else sendJson(res, 200, this.whole(answer));
    done();
  }

  private modelObject(id: string) {
    return { id, object: 'model', created: 1_700_000_000, owned_by: 'local-scripted' };
  }

  private completion(request: ChatRequest, decision: Decision): Completion {
    const promptTokens = estimateTokens(
      JSON.stringify(request.messages) + JSON.stringify(request.tools ?? []),
    );
    const completionTokens = Math.max(
      1,
      estimateTokens(
        (decision.text ?? '') +
          (decision.toolCall ? decision.toolCall.name + decision.toolCall.arguments : ''),
      ),
    );
    return {
      id: `chatcmpl-${randomId(24)}`,
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      text: decision.text,
      toolCall: decision.toolCall && { id: `call_${randomId(24)}`, ...decision.toolCall },
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    };
  }

  private whole(answer: Completion) {
    return {
      id: answer.id,
      object: 'chat.completion',
      created: answer.created,
      model: answer.model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: answer.text ?? null,
            refusal: null,
            ...(answer.toolCall
              ? {
                  tool_calls: [
                    {
                      id: answer.toolCall.id,
                      type: 'function',
                      function: { name: answer.toolCall.name, arguments: answer.toolCall.arguments },
                    },
                  ],
                }
              : {}),
          },
          logprobs: null,
          finish_reason: answer.toolCall ? 'tool_calls' : 'stop',
        },
      ],
      usage: answer.usage,
      system_fingerprint: SYSTEM_FINGERPRINT,
    };
  }

  /** Server-sent events as OpenAI streams them: role first, text in a few deltas, tool call fragments, finish, usage, [DONE]. */
  private stream(res: ServerResponse, answer: Completion, includeUsage: boolean): void {
    if (res.destroyed) return;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
      send({
        id: answer.id,
        object: 'chat.completion.chunk',
        created: answer.created,
        model: answer.model,
        system_fingerprint: SYSTEM_FINGERPRINT,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
        ...(includeUsage ? { usage: null } : {}),
      });

    if (answer.text !== undefined) {
      chunk({ role: 'assistant', content: '', refusal: null });
      for (const part of textParts(answer.text)) chunk({ content: part });
    }
    const call = answer.toolCall;
    if (call) {
      const [first = '', ...rest] = argumentParts(call.arguments);
      chunk({
        ...(answer.text === undefined ? { role: 'assistant', content: null, refusal: null } : {}),
        tool_calls: [
          { index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: first } },
        ],
      });
      for (const part of rest) chunk({ tool_calls: [{ index: 0, function: { arguments: part } }] });
    }
    chunk({}, call ? 'tool_calls' : 'stop');
    if (includeUsage) {
      send({
        id: answer.id,
        object: 'chat.completion.chunk',
        created: answer.created,
        model: answer.model,
        system_fingerprint: SYSTEM_FINGERPRINT,
        choices: [],
        usage: answer.usage,
      });
    }
    res.end('data: [DONE]\n\n');
  }
}

const SYSTEM_FINGERPRINT = 'fp_scripted';

interface Completion {
  id: string;
  created: number;
  model: string;
  text: string | undefined;
  toolCall: { id: string; name: string; arguments: string } | undefined;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

function randomId(length: number): string {
  return randomBytes(length).toString('base64url').replace(/[-_]/g, '').slice(0, length).padEnd(length, '0');
}

function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** The text in up to four deltas, cut between words. */
export function textParts(text: string): string[] {
  const words = text.match(/\s*\S+\s*/g) ?? [text];
  const size = Math.ceil(words.length / Math.min(4, words.length));
  const parts: string[] = [];
  for (let i = 0; i < words.length; i += size) parts.push(words.slice(i, i + size).join(''));
  return parts;
}

/** The arguments JSON as OpenAI streams it: an empty first fragment (with the name), then three pieces. */
function argumentParts(json: string): string[] {
  const chars = Array.from(json);
  const size = Math.max(1, Math.ceil(chars.length / 3));
  const parts = [''];
  for (let i = 0; i < chars.length; i += size) parts.push(chars.slice(i, i + size).join(''));
  return parts;
}

export async function startScriptedLlm(options: ScriptedLlmOptions): Promise<ScriptedLlmServer> {
  return new ScriptedLlmServer(options).listen();
}
