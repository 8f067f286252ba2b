import { initializeLogger, voice } from '@livekit/agents';
import { createBackend } from './backend.js';
import { CallRecorder } from './callRecorder.js';
import { createInsuranceAgent, greetingFor } from './insuranceAgent.js';
import { languageModel } from './providers.js';
import { loadAgentSettings } from './settings.js';

export interface TextChatOptions {
  env: NodeJS.ProcessEnv;
  /** The caller's lines. */
  input: AsyncIterable<string> | Iterable<string>;
  write: (line: string) => void;
}

/**
 * A call with the agent by text: the configured LLM and the backend's real tools, no audio, no LiveKit.
 * The call is opened through the token route; each line is a caller's turn; the report is posted when the
 * input ends or the agent ends the call, so the call shows in `GET /api/calls/{id}` like any other.
 */
export async function runTextChat({
  env,
  input,
  write,
}: TextChatOptions): Promise<{ callId: string; reported: boolean }> {
  const settings = loadAgentSettings(
    { AGENT_TOOLS_URL: 'http://127.0.0.1:7071', ...env },
    { speech: false, livekit: false },
  );
  initializeLogger({ pretty: false, level: 'warn' });
  const backend = createBackend(settings.tools);
  const { callId } = await backend.newCall('Chat');
  const recorder = new CallRecorder(callId, backend);
  let ended = false;
  const agent = createInsuranceAgent(
    settings.language,
    { callId, direction: 'inbound' },
    {
      backend,
      onToolCall: (c) => {
        recorder.recordTool(c);
        write(`  [${c.name}: ${c.ok ? 'ok' : 'refused or failed'}]`);
      },
      onEnded: () => {
        ended = true;
      },
    },
  );
  const session = new voice.AgentSession({ llm: languageModel(settings.llm) });
  recorder.attach(session);
  await session.start({ agent });
  write(`Call ${callId} (tools at ${settings.tools.url}). Type as the caller; Ctrl-D leaves.`);
  write(`agent> ${greetingFor(settings.language)}`);
  try {
    for await (const line of input) {
      const text = line.trim();
      if (!text) continue;
      const result = await session.run({ userInput: text }).wait();
      for (const event of result.events)
        if (event.type === 'message' && event.item.role === 'assistant')
          write(`agent> ${event.item.textContent ?? ''}`);
      if (ended) break;
    }
  } finally {
    await session.close();
  }
  const sent = await recorder.send();
  write(
    sent.ok
      ? `Report stored: GET ${settings.tools.url}/api/calls/${callId}`
      : `The report was not stored: ${sent.status} ${sent.code}`,
  );
  return { callId, reported: sent.ok };
}
