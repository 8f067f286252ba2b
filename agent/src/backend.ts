/**
 * The call centre backend (the Function App), as the agent reaches it: the tool routes and the
 * end-of-call report, with the function key. Every answer is a value, never a throw: the agent turns a
 * failure into words (an apology and a transfer offer), so a down backend never leaves the caller in silence.
 */

export type BackendAnswer =
  { ok: true; status: number; body: unknown } | { ok: false; status: number; code: string; message: string };

export interface CallReport {
  transcript: { role: 'user' | 'assistant'; text: string; at: string }[];
  turns: { endOfUtteranceMs?: number; llmTtftMs?: number; ttsTtfbMs?: number; endToEndMs?: number }[];
  toolCalls: { name: string; at?: string; ok?: boolean; durationMs?: number }[];
  usage: {
    llmPromptTokens?: number;
    llmCompletionTokens?: number;
    sttSeconds?: number;
    ttsCharacters?: number;
  };
}

export interface Backend {
  tool(callId: string, tool: string, body: unknown, idempotencyKey?: string): Promise<BackendAnswer>;
  report(callId: string, report: CallReport): Promise<BackendAnswer>;
  /** A new call through the token route (the text chat has no LiveKit room of its own). */
  newCall(participantName: string): Promise<{ callId: string }>;
}

const TIMEOUT_MS = 10_000;
// Errors worth one more try: the connection, or the app/its storage briefly unavailable. Safe for every
// tool: reads are reads, writes are keyed (claims) or set-once (callback, transfer, follow-up).
const RETRIED = new Set([0, 502, 503, 504]);

export function createBackend(
  target: { url: string; key: string },
  fetchImpl: typeof fetch = fetch,
): Backend {
  const post = async (
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<BackendAnswer> => {
    let last: BackendAnswer = { ok: false, status: 0, code: 'unreachable', message: 'not tried' };
    for (let attempt = 0; attempt < 2; attempt++) {
      last = await once(path, body, headers);
      if (last.ok || !RETRIED.has(last.status)) return last;
    }
    return last;
  };
  const once = async (
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<BackendAnswer> => {
    let response: Response;
    try {
      response = await fetchImpl(`${target.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-functions-key': target.key, ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
      return {
        ok: false,
        status: 0,
        code: 'unreachable',
        message: cause || (error instanceof Error ? error.message : String(error)),
      };
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = undefined;
    }
    if (response.ok) return { ok: true, status: response.status, body: parsed };
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    return {
      ok: false,
      status: response.status,
      code: typeof error?.code === 'string' ? error.code : `http_${response.status}`,
      message: typeof error?.message === 'string' ? error.message : `HTTP ${response.status}`,
    };
  };

  return {
    tool: (callId, tool, body, idempotencyKey) =>
      post(
        `/api/calls/${encodeURIComponent(callId)}/tools/${tool}`,
        body,
        idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
      ),
    report: (callId, report) => post(`/api/calls/${encodeURIComponent(callId)}/report`, report),
    newCall: async (participantName) => {
      const answer = await post('/api/calls/token', { participant_name: participantName });
      const room = answer.ok ? (answer.body as { roomName?: unknown }).roomName : undefined;
      if (!answer.ok || typeof room !== 'string' || !room.startsWith('call-'))
        throw new Error(
          `The backend did not open a call: ${answer.ok ? 'no room in its answer' : `${answer.status} ${answer.message}`}`,
        );
      return { callId: room.slice('call-'.length) };
    },
  };
}
