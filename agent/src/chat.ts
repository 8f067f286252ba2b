import { createInterface } from 'node:readline/promises';
import { initializeLogger, voice } from '@livekit/agents';
import { createBackend } from './backend.js';
import { CallRecorder } from './callRecorder.js';
import { createInsuranceAgent, greetingFor } from './insuranceAgent.js';
import { languageModel } from './providers.js';
import { AgentSettingsError, loadAgentSettings } from './settings.js';

/**
 * `npm run agent:chat`: the agent in the terminal, by text. The configured LLM and the real tools of the
 * backend (`npm run serve` by default), no audio and no LiveKit: a call is opened through the token route,
 * every line you type is a caller's turn, and the report is posted when you leave (Ctrl-D, or the agent
 * ends the call), so the call shows in `GET /api/calls/{id}` like any other.
 */
const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const settings = loadAgentSettings(
    { AGENT_TOOLS_URL: 'http://127.0.0.1:7071', ...process.env },
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
        out(`  [${c.name}: ${c.ok ? 'ok' : 'refused or failed'}]`);
      },
      onEnded: () => {
        ended = true;
      },
    },
  );
  const session = new voice.AgentSession({ llm: languageModel(settings.llm) });
  recorder.attach(session);
  await session.start({ agent });
  out(`Call ${callId} (tools at ${settings.tools.url}). Type as the caller; Ctrl-D leaves.`);
  out(`agent> ${greetingFor(settings.language)}`);

  const lines = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: process.stdin.isTTY,
  });
  try {
    for await (const line of lines) {
      const text = line.trim();
      if (!text) continue;
      const result = await session.run({ userInput: text }).wait();
      for (const event of result.events)
        if (event.type === 'message' && event.item.role === 'assistant')
          out(`agent> ${event.item.textContent ?? ''}`);
      if (ended) break;
    }
  } finally {
    lines.close();
    await session.close();
    const sent = await recorder.send();
    out(
      sent.ok
        ? `Report stored: GET ${settings.tools.url}/api/calls/${callId}`
        : `The report was not stored: ${sent.status} ${sent.code}`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof AgentSettingsError || !(error instanceof Error) ? String(error) : error.message}\n`,
  );
  process.exitCode = 1;
});
