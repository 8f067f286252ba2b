import { voice, type metrics } from '@livekit/agents';
import type { Backend, BackendAnswer, CallReport } from './backend.js';

type Turn = CallReport['turns'][number];

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * Listens to a session and builds the end-of-call report the backend stores: the transcript, one entry
 * per agent turn with its end-of-utterance delay, LLM time to first token, TTS time to first byte and
 * end-to-end latency (grouped by the speech they belong to), the tools called, and usage.
 */
export class CallRecorder {
  private readonly transcript: CallReport['transcript'] = [];
  private readonly turns = new Map<string, Turn>();
  private readonly toolCalls: CallReport['toolCalls'] = [];
  private readonly usage = { llmPromptTokens: 0, llmCompletionTokens: 0, sttSeconds: 0, ttsCharacters: 0 };
  private sent: Promise<BackendAnswer> | undefined;

  constructor(
    private readonly callId: string,
    private readonly backend: Backend,
  ) {}

  attach(session: voice.AgentSession): void {
    session.on(voice.AgentSessionEventTypes.ConversationItemAdded, ({ item }) => {
      if (item.type !== 'message' || (item.role !== 'user' && item.role !== 'assistant')) return;
      const text = item.textContent?.trim();
      if (text) this.transcript.push({ role: item.role, text, at: new Date(item.createdAt).toISOString() });
    });
    session.on(voice.AgentSessionEventTypes.MetricsCollected, ({ metrics }) => this.addMetrics(metrics));
  }

  /** A tool call, as the tools report it (the session's events do not say whether the backend refused). */
  recordTool(call: { name: string; ok: boolean; at: string; durationMs: number }): void {
    this.toolCalls.push({ name: call.name, ok: call.ok, at: call.at, durationMs: round(call.durationMs) });
  }

  private addMetrics(m: metrics.AgentMetrics): void {
    const turn = (speechId: string | undefined) => {
      const id = speechId ?? `turn-${this.turns.size}`;
      const existing = this.turns.get(id);
      if (existing) return existing;
      const created: Turn = {};
      this.turns.set(id, created);
      return created;
    };
    switch (m.type) {
      case 'eou_metrics':
        turn(m.speechId).endOfUtteranceMs = round(m.endOfUtteranceDelayMs);
        break;
      case 'llm_metrics': {
        const t = turn(m.speechId);
        // A turn with tool calls runs the model more than once: the first answer is what the caller waits for.
        t.llmTtftMs ??= round(m.ttftMs);
        this.usage.llmPromptTokens += m.promptTokens;
        this.usage.llmCompletionTokens += m.completionTokens;
        break;
      }
      case 'tts_metrics': {
        const t = turn(m.speechId);
        t.ttsTtfbMs ??= round(m.ttfbMs);
        this.usage.ttsCharacters += m.charactersCount;
        break;
      }
      case 'stt_metrics':
        this.usage.sttSeconds += m.audioDurationMs / 1000;
        break;
      default:
        break;
    }
  }

  report(): CallReport {
    const turns = [...this.turns.values()].map((t) => {
      const parts = [t.endOfUtteranceMs, t.llmTtftMs, t.ttsTtfbMs];
      // What the caller waits for: end of speech to first audio, when every part was measured.
      return parts.every((p) => p !== undefined)
        ? { ...t, endToEndMs: round(parts.reduce((a, b) => (a ?? 0) + (b ?? 0), 0) ?? 0) }
        : t;
    });
    return {
      transcript: [...this.transcript],
      turns,
      toolCalls: [...this.toolCalls],
      usage: { ...this.usage, sttSeconds: round(this.usage.sttSeconds) },
    };
  }

  /** Posts the report once, however many times the end of the call is signalled. */
  send(): Promise<BackendAnswer> {
    this.sent ??= this.backend.report(this.callId, this.report());
    return this.sent;
  }
}
