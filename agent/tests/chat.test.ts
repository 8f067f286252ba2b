import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScriptedLlm, type ScriptedLlmServer } from '../../local/servers/scriptedLlm.js';
import { runTextChat } from '../src/textChat.js';
import { REPO_ROOT, startBackendWorld, type BackendWorld } from './world.js';

let world: BackendWorld;
let llm: ScriptedLlmServer;
beforeAll(async () => {
  const script: unknown = JSON.parse(
    readFileSync(path.join(REPO_ROOT, 'samples', 'agent', 'dialogue.json'), 'utf8'),
  );
  [world, llm] = await Promise.all([startBackendWorld(), startScriptedLlm({ script })]);
}, 120_000);
afterAll(async () => {
  await Promise.all([world?.stop(), llm?.stop()]);
});

/** The caller's lines, one turn each (an array is iterable as the chat's input). */
const lines = (...said: string[]) => said;

describe('npm run agent:chat', () => {
  it('verifies the caller and files a claim through an OpenAI-compatible server and the real backend', async () => {
    const printed: string[] = [];
    const { callId, reported } = await runTextChat({
      env: {
        AGENT_TOOLS_URL: world.url,
        AGENT_TOOLS_KEY: world.key,
        AGENT_LLM: 'openai',
        OPENAI_BASE_URL: llm.url,
        OPENAI_API_KEY: 'local',
        OPENAI_MODEL: 'scripted',
      },
      input: lines(
        'Bonjour',
        'HAB-2024-0042, née le 12/03/1985',
        "Je veux déclarer un sinistre : une fuite sous l'évier le 20/11/2026, sans blessé",
        'Oui, je confirme',
        'Non merci',
        'Au revoir',
      ),
      write: (line) => printed.push(line),
    });

    expect(reported).toBe(true);
    const tools = printed.filter((l) => l.startsWith('  ['));
    expect(tools).toEqual(['  [verify_caller: ok]', '  [create_claim: ok]', '  [end_call: ok]']);
    const call = await world.getCall(callId);
    expect(call.verified).toBe(true);
    const claims = call.claims as string[];
    expect(claims).toHaveLength(1);
    expect(printed.join('\n')).toContain(claims[0]);
    expect((call.transcript as unknown[]).length).toBeGreaterThanOrEqual(10);
    // The model was reached through the plugin, streaming, with the agent's tools offered.
    expect(llm.requests.length).toBeGreaterThanOrEqual(6);
  });
});
