import { initializeLogger, voice } from '@livekit/agents';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { CallRecorder } from '../src/callRecorder.js';

initializeLogger({ pretty: false, level: 'warn' });

// The recorder never calls the backend before send(): report() is what it would post.
const unused: Backend = {
  tool: () => Promise.reject(new Error('not called')),
  report: () => Promise.reject(new Error('not called')),
  newCall: () => Promise.reject(new Error('not called')),
};

const base = { timestamp: 0, label: 'test', requestId: 'r', cancelled: false, streamed: true } as const;

describe('the call recorder', () => {
  it('groups a voice turn’s metrics by speech: end of utterance, first token, first byte and their sum', () => {
    const session = new voice.AgentSession({});
    const recorder = new CallRecorder('0123456789abcdef', unused);
    recorder.attach(session);
    const emit = (metrics: Parameters<typeof voice.createMetricsCollectedEvent>[0]['metrics']) =>
      session.emit(
        voice.AgentSessionEventTypes.MetricsCollected,
        voice.createMetricsCollectedEvent({ metrics }),
      );
    emit({
      type: 'eou_metrics',
      timestamp: 0,
      endOfUtteranceDelayMs: 420,
      transcriptionDelayMs: 80,
      onUserTurnCompletedDelayMs: 1,
      lastSpeakingTimeMs: 0,
      speechId: 's1',
    });
    emit({
      ...base,
      type: 'llm_metrics',
      durationMs: 900,
      ttftMs: 310,
      completionTokens: 20,
      promptTokens: 500,
      promptCachedTokens: 0,
      totalTokens: 520,
      tokensPerSecond: 22,
      speechId: 's1',
    });
    // The same turn's second model call (after a tool) is not what the caller waited for.
    emit({
      ...base,
      type: 'llm_metrics',
      durationMs: 700,
      ttftMs: 650,
      completionTokens: 10,
      promptTokens: 600,
      promptCachedTokens: 0,
      totalTokens: 610,
      tokensPerSecond: 14,
      speechId: 's1',
    });
    emit({
      ...base,
      type: 'tts_metrics',
      ttfbMs: 180,
      durationMs: 800,
      audioDurationMs: 2500,
      charactersCount: 42,
      speechId: 's1',
    });
    emit({
      ...base,
      type: 'llm_metrics',
      durationMs: 500,
      ttftMs: 200,
      completionTokens: 5,
      promptTokens: 300,
      promptCachedTokens: 0,
      totalTokens: 305,
      tokensPerSecond: 10,
      speechId: 's2',
    });

    const report = recorder.report();
    expect(report.turns).toEqual([
      { endOfUtteranceMs: 420, llmTtftMs: 310, ttsTtfbMs: 180, endToEndMs: 910 },
      { llmTtftMs: 200 },
    ]);
    expect(report.usage).toMatchObject({ llmPromptTokens: 1400, llmCompletionTokens: 35, ttsCharacters: 42 });
  });
});
