import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  FALLBACK_TEXT,
  ScriptError,
  compileScript,
  startScriptedLlm,
  type ScriptedLlmServer,
} from '../../local/servers/scriptedLlm';

const APP_ROOT = path.resolve(__dirname, '../..');

/** The agent's tools, as the LiveKit plugin lists them (names and loose schemas). */
const AGENT_TOOLS = [
  'verify_caller',
  'policy_summary',
  'claim_status',
  'create_claim',
  'schedule_callback',
  'send_follow_up',
  'transfer_to_human',
  'end_call',
];
const tools = (...names: string[]): ChatCompletionTool[] =>
  names.map((name) => ({
    type: 'function',
    function: { name, description: name, parameters: { type: 'object', properties: {} } },
  }));

const SCRIPT = {
  fallback: FALLBACK_TEXT,
  rules: [
    {
      name: 'verified',
      when: { lastTool: { name: 'verify_caller', outputMatches: '"verified":\\s*true' } },
      reply: { text: 'Merci, votre identité est vérifiée. Que puis-je faire pour vous ?' },
    },
    {
      name: 'retry',
      when: { lastTool: { name: 'verify_caller', outputMatches: '"verified":\\s*false' } },
      reply: { text: 'Je n’ai pas pu vérifier. Il vous reste $tool.attemptsLeft essai(s).' },
    },
    {
      name: 'claim-created',
      when: { lastTool: { name: 'create_claim', outputMatches: '"claimNumber"' } },
      reply: { text: 'Votre sinistre est enregistré sous le numéro $tool.claimNumber.' },
    },
    {
      name: 'verify',
      when: { lastUser: '([A-Z]{2,5}-\\d{4}-\\d{3,6}).*?(\\d{2})/(\\d{2})/(\\d{4})' },
      reply: {
        toolCall: { name: 'verify_caller', arguments: { policyNumber: '$1', dateOfBirth: '$4-$3-$2' } },
      },
    },
    {
      name: 'goodbye',
      when: { lastUser: 'au revoir' },
      reply: {
        text: 'Au revoir, bonne journée.',
        toolCall: { name: 'end_call', arguments: { reason: 'done' } },
      },
    },
    {
      name: 'confirmed',
      when: { lastUser: '^oui', lastAssistant: 'Confirmez-vous' },
      reply: { text: 'C’est noté.' },
    },
    {
      name: 'greeting',
      when: { lastUser: 'bonjour' },
      reply: {
        text: 'Bonjour, Mutuelle Horizon Assurances, je suis votre assistant. Que puis-je faire pour vous ?',
      },
    },
  ],
};

let server: ScriptedLlmServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startScriptedLlm({ script: SCRIPT });
  client = new OpenAI({ baseURL: server.url, apiKey: 'local', maxRetries: 0 });
});
afterAll(() => server.stop());

const user = (content: string): ChatCompletionMessageParam => ({ role: 'user', content });

/** A conversation whose latest message is the output of a tool call the assistant made. */
function afterTool(name: string, output: string, id = 'call_1'): ChatCompletionMessageParam[] {
  return [
    { role: 'system', content: 'Tu es un assistant.' },
    user('HAB-2024-0042, 12/03/1985'),
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ id, type: 'function', function: { name, arguments: '{}' } }],
    },
    { role: 'tool', tool_call_id: id, content: output },
  ];
}

async function chunksOf(
  messages: ChatCompletionMessageParam[],
  options: { usage?: boolean; tools?: string[] } = {},
) {
  const stream = await client.chat.completions.create({
    model: 'scripted',
    messages,
    stream: true,
    ...(options.usage ? { stream_options: { include_usage: true } } : {}),
    ...(options.tools ? { tools: tools(...options.tools) } : {}),
  });
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('the scripted LLM, through the openai SDK', () => {
  it('answers a plain completion with the rule’s text, usage and finish_reason stop', async () => {
    const completion = await client.chat.completions.create({
      model: 'scripted',
      messages: [user('Bonjour')],
    });
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: 'scripted',
      choices: [
        {
          index: 0,
          finish_reason: 'stop',
          message: {
            role: 'assistant',
            content:
              'Bonjour, Mutuelle Horizon Assurances, je suis votre assistant. Que puis-je faire pour vous ?',
          },
        },
      ],
    });
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.usage?.total_tokens).toBe(
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0),
    );
    expect(server.requests.at(-1)).toMatchObject({
      model: 'scripted',
      messages: [{ role: 'user', content: 'Bonjour' }],
    });
    expect(server.log.at(-1)).toMatchObject({
      status: 200,
      stream: false,
      decision: { outcome: 'rule', rule: { name: 'greeting' } },
    });
  });

  it('streams text in several deltas, then finish_reason stop, then the usage chunk when asked', async () => {
    const chunks = await chunksOf([user('bonjour')], { usage: true });
    const withChoices = chunks.filter((c) => c.choices.length > 0);
    expect(withChoices[0]?.choices[0]?.delta.role).toBe('assistant');
    const contentDeltas = withChoices.map((c) => c.choices[0]?.delta.content).filter((c): c is string => !!c);
    expect(contentDeltas.length).toBeGreaterThan(1);
    expect(contentDeltas.join('')).toBe(
      'Bonjour, Mutuelle Horizon Assurances, je suis votre assistant. Que puis-je faire pour vous ?',
    );
    expect(withChoices.map((c) => c.choices[0]?.finish_reason)).toEqual([
      ...Array<null>(withChoices.length - 1).fill(null),
      'stop',
    ]);
    expect(withChoices.at(-1)?.choices[0]?.delta).toEqual({});
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({
      prompt_tokens: expect.any(Number) as number,
      completion_tokens: expect.any(Number) as number,
    });
    expect(last?.usage?.total_tokens).toBe(
      (last?.usage?.prompt_tokens ?? 0) + (last?.usage?.completion_tokens ?? 0),
    );
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);

    const withoutUsage = await chunksOf([user('bonjour')]);
    expect(withoutUsage.every((c) => c.choices.length === 1 && !c.usage)).toBe(true);
  });

  it('streams a tool call the SDK’s stream helper reassembles, with arguments from the capture groups', async () => {
    const stream = client.chat.completions.stream({
      model: 'scripted',
      messages: [user('Mon contrat est HAB-2024-0042 et je suis née le 12/03/1985')],
      tools: tools(...AGENT_TOOLS),
      stream_options: { include_usage: true },
    });
    const done: { name: string; arguments: string }[] = [];
    stream.on('tool_calls.function.arguments.done', (event) => done.push(event));
    const final = await stream.finalChatCompletion();
    const choice = final.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    expect(call?.id).toMatch(/^call_/);
    if (call?.type !== 'function') throw new Error('not a function call');
    expect(call.function.name).toBe('verify_caller');
    expect(JSON.parse(call.function.arguments)).toEqual({
      policyNumber: 'HAB-2024-0042',
      dateOfBirth: '1985-03-12',
    });
    expect(done).toEqual([
      expect.objectContaining({ name: 'verify_caller', arguments: call.function.arguments }),
    ]);
    expect(final.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('sends the tool call as OpenAI does: id and name first, then argument fragments', async () => {
    const chunks = await chunksOf([user('Au revoir')], { tools: AGENT_TOOLS });
    const deltas = chunks.map((c) => c.choices[0]?.delta);
    const toolDeltas = deltas.flatMap((d) => d?.tool_calls ?? []);
    expect(toolDeltas[0]).toMatchObject({
      index: 0,
      type: 'function',
      function: { name: 'end_call', arguments: '' },
    });
    expect(toolDeltas[0]?.id).toMatch(/^call_/);
    expect(toolDeltas.length).toBeGreaterThan(2);
    for (const fragment of toolDeltas.slice(1)) {
      expect(fragment.id).toBeUndefined();
      expect(fragment.function?.name).toBeUndefined();
    }
    expect(JSON.parse(toolDeltas.map((d) => d.function?.arguments ?? '').join(''))).toEqual({
      reason: 'done',
    });
    // The text comes before the call, in the same answer.
    expect(deltas.map((d) => d?.content ?? '').join('')).toBe('Au revoir, bonne journée.');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');

    const whole = await client.chat.completions.create({
      model: 'scripted',
      messages: [user('Au revoir')],
      tools: tools(...AGENT_TOOLS),
    });
    expect(whole.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        content: 'Au revoir, bonne journée.',
        tool_calls: [{ type: 'function', function: { name: 'end_call', arguments: '{"reason":"done"}' } }],
      },
    });
  });

  it('answers a tool output by the tool’s name and its output, and fills $tool fields', async () => {
    const text = async (messages: ChatCompletionMessageParam[]) =>
      (await client.chat.completions.create({ model: 'scripted', messages, tools: tools(...AGENT_TOOLS) }))
        .choices[0]?.message.content;
    expect(await text(afterTool('verify_caller', '{"verified":true,"attemptsLeft":3}'))).toBe(
      'Merci, votre identité est vérifiée. Que puis-je faire pour vous ?',
    );
    expect(await text(afterTool('verify_caller', '{"verified":false,"attemptsLeft":2}'))).toBe(
      'Je n’ai pas pu vérifier. Il vous reste 2 essai(s).',
    );
    expect(
      await text(afterTool('create_claim', '{"claimNumber":"SIN-2026-0A1B2C3D4E","status":"received"}')),
    ).toBe('Votre sinistre est enregistré sous le numéro SIN-2026-0A1B2C3D4E.');
    // The same output from another tool matches no rule: names come from the assistant's tool_calls.
    expect(await text(afterTool('policy_summary', '{"verified":true}'))).toBe(FALLBACK_TEXT);
    // A user rule never answers a tool message, even when the last user message matches it.
    expect(await text(afterTool('claim_status', '{"claims":[]}'))).toBe(FALLBACK_TEXT);
  });

  it('matches lastAssistant on the assistant’s latest words', async () => {
    const answer = async (assistant: string) =>
      (
        await client.chat.completions.create({
          model: 'scripted',
          messages: [user('J’ai une fuite'), { role: 'assistant', content: assistant }, user('oui')],
        })
      ).choices[0]?.message.content;
    expect(await answer('Je récapitule : … Confirmez-vous ?')).toBe('C’est noté.');
    expect(await answer('Autre chose ?')).toBe(FALLBACK_TEXT);
  });

  it('falls back when no rule matches, and when the rule’s tool is not offered', async () => {
    const unknown = await client.chat.completions.create({
      model: 'scripted',
      messages: [user('Quelle heure est-il ?')],
    });
    expect(unknown.choices[0]?.message).toMatchObject({ content: FALLBACK_TEXT });
    expect(server.log.at(-1)?.decision).toEqual({ outcome: 'fallback', rule: undefined });

    const noTool = await chunksOf([user('HAB-2024-0042 né le 12/03/1985')], { tools: ['policy_summary'] });
    expect(noTool.flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])).toEqual([]);
    expect(noTool.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(FALLBACK_TEXT);
    expect(noTool.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(server.log.at(-1)?.decision).toMatchObject({
      outcome: 'tool-unavailable',
      rule: { name: 'verify' },
    });

    const choiceNone = await client.chat.completions.create({
      model: 'scripted',
      messages: [user('Au revoir')],
      tools: tools(...AGENT_TOOLS),
      tool_choice: 'none',
    });
    expect(choiceNone.choices[0]?.message.content).toBe(FALLBACK_TEXT);
  });

  it('lists its model, and refuses requests without a bearer key in OpenAI’s error shape', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['scripted']);

    const headerSets: Record<string, string>[] = [
      {},
      { authorization: 'Bearer ' },
      { authorization: 'Basic abc' },
    ];
    for (const headers of headerSets) {
      const response = await fetch(`${server.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ model: 'scripted', messages: [{ role: 'user', content: 'bonjour' }] }),
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        error: {
          message: expect.stringContaining('API key') as string,
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      });
    }
    const noKey = new OpenAI({
      baseURL: server.url,
      apiKey: 'x',
      maxRetries: 0,
      defaultHeaders: { authorization: null },
    });
    await expect(noKey.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('refuses malformed requests with 400 and unknown routes with 404', async () => {
    await expect(client.chat.completions.create({ model: 'scripted', messages: [] })).rejects.toMatchObject({
      status: 400,
      error: { param: 'messages' },
    });
    const missing = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer local', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'scripted' }),
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({
      error: { code: 'missing_required_parameter', param: 'messages' },
    });
    const notFound = await fetch(`${server.url}/embeddings`, {
      method: 'POST',
      headers: { authorization: 'Bearer local' },
    });
    expect(notFound.status).toBe(404);
  });
});

describe('scripts', () => {
  it('refuses an invalid script, naming the rule and the field', async () => {
    const invalid = [
      { when: { lastUser: 'bonjour' }, reply: { text: 'Bonjour' } },
      { when: { lastUser: '(unclosed' }, reply: { text: 'x' } },
      { when: {}, reply: { text: 'x' } },
      { when: { lastUser: '(a)' }, reply: { toolCall: { name: 'verify_caller', arguments: { p: '$2' } } } },
      { when: { lastUser: 'x' }, reply: {} },
      { when: { lastUser: 'x', lastTool: { name: 'end_call' } }, reply: { text: 'x' } },
      { when: { lastUser: 'x' }, reply: { text: 'numéro $tool.claimNumber' } },
      { when: { lastUsr: 'x' }, reply: { text: 'x' } },
    ];
    const error = (() => {
      try {
        compileScript(invalid);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ScriptError);
    const issues = (error as ScriptError).issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^rules\[1\]\.when\.lastUser: is not a valid regular expression/),
        'rules[2].when: needs lastUser or lastTool',
        'rules[3].reply.toolCall.arguments.p: uses $2 but when.lastUser has 1 capture group(s)',
        'rules[4].reply: needs text or toolCall',
        expect.stringMatching(/^rules\[5\]\.when: cannot have both/),
        'rules[6].reply.text: uses $tool.claimNumber but the rule has no lastTool condition',
        expect.stringMatching(/^rules\[7\]\.when: Unrecognized key: "lastUsr"/),
      ]),
    );
    expect(issues.some((issue) => issue.startsWith('rules[0]'))).toBe(false);
    await expect(startScriptedLlm({ script: { rules: [{ when: { lastUser: 'x' } }] } })).rejects.toThrow(
      /rules\[0\]\.reply/,
    );
  });

  it('the sample dialogue verifies the caller and files the claim, as the agent would call it', async () => {
    const dialogue: unknown = JSON.parse(
      readFileSync(path.join(APP_ROOT, 'samples/agent/dialogue.json'), 'utf8'),
    );
    const sample = await startScriptedLlm({ script: dialogue });
    const agent = new OpenAI({ baseURL: sample.url, apiKey: 'local', maxRetries: 0 });
    const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: 'Instructions de l’agent.' }];
    let calls = 0;
    /** One turn as the LiveKit plugin asks it: streamed, usage included, every tool offered. */
    const turn = async () => {
      const final = await agent.chat.completions
        .stream({
          model: 'scripted',
          messages,
          tools: tools(...AGENT_TOOLS),
          parallel_tool_calls: true,
          stream_options: { include_usage: true },
        })
        .finalChatCompletion();
      const message = final.choices[0]?.message;
      if (!message) throw new Error('no message');
      const call = message.tool_calls?.[0];
      messages.push({
        role: 'assistant',
        content: message.content,
        ...(call ? { tool_calls: message.tool_calls } : {}),
      });
      return {
        text: message.content,
        call:
          call?.type === 'function'
            ? { name: call.function.name, args: JSON.parse(call.function.arguments) as unknown }
            : undefined,
        answer: (output: unknown) => {
          messages.push({ role: 'tool', tool_call_id: call?.id ?? '', content: JSON.stringify(output) });
          calls++;
        },
      };
    };
    const say = (text: string) => {
      messages.push(user(text));
      return turn();
    };
    try {
      expect((await say('Bonjour')).text).toMatch(/^Bonjour.*Que puis-je faire pour vous \?$/);

      const verify = await say('Mon numéro de contrat est HAB-2024-0042, je suis née le 12/03/1985.');
      expect(verify.call).toEqual({
        name: 'verify_caller',
        args: { policyNumber: 'HAB-2024-0042', dateOfBirth: '1985-03-12' },
      });
      verify.answer({ verified: false, attemptsLeft: 2 });
      expect((await turn()).text).toMatch(/redonner votre numéro de contrat.*Il vous reste 2 essai/);

      const again = await say('Contrat HAB-2024-0042, née le 1985-03-12');
      expect(again.call?.args).toEqual({ policyNumber: 'HAB-2024-0042', dateOfBirth: '1985-03-12' });
      again.answer({ verified: true, attemptsLeft: 2 });
      expect((await turn()).text).toBe('Merci, votre identité est vérifiée. Que puis-je faire pour vous ?');

      const readBack = await say(
        'J’ai eu un dégât des eaux le 20/11/2026, une fuite sous l’évier de la cuisine.',
      );
      expect(readBack.call).toBeUndefined();
      expect(readBack.text).toMatch(/^Je récapitule : .*20\/11\/2026.*Confirmez-vous \?$/);

      const claim = await say('Oui, je confirme.');
      expect(claim.call).toEqual({
        name: 'create_claim',
        args: {
          policyNumber: 'HAB-2024-0042',
          dateOfLoss: '2026-11-20',
          lossType: 'dégât des eaux',
          description: "Fuite sous l'évier de la cuisine",
          injuries: false,
          confirmedByCaller: true,
        },
      });
      claim.answer({ claimNumber: 'SIN-2026-0A1B2C3D4E', status: 'received' });
      expect((await turn()).text).toMatch(/enregistré sous le numéro SIN-2026-0A1B2C3D4E\./);

      const summary = await say('Pouvez-vous me faire un résumé de mon contrat ?');
      expect(summary.call).toEqual({ name: 'policy_summary', args: { policyNumber: 'HAB-2024-0042' } });
      summary.answer({ error: 'unavailable', instruction: 'Apologise and offer an adviser.' });
      expect((await turn()).text).toMatch(
        /^Je suis désolé.*Souhaitez-vous que je vous passe un conseiller \?$/,
      );

      const transfer = await say('Oui, d’accord.');
      expect(transfer.call?.name).toBe('transfer_to_human');
      transfer.answer({ error: 'not_sip', message: 'Only a caller on the phone (SIP) can be transferred.' });
      expect((await turn()).text).toMatch(/transfert .* n'est pas possible/);

      const bye = await say('Non merci, c’est tout. Au revoir !');
      expect(bye.text).toMatch(/^Au revoir/);
      expect(bye.call?.name).toBe('end_call');
      expect(calls).toBe(5);
      expect(sample.log.every((entry) => entry.decision?.outcome === 'rule')).toBe(true);
    } finally {
      await sample.stop();
    }
  });
});

describe('npm run agent:llm-local', () => {
  it('prints the agent’s settings, logs the rule of each request without its content, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [path.join(APP_ROOT, 'dist/cli/scriptedLlm.js')], {
      env: { ...process.env, SCRIPTED_LLM_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const settings = await vi.waitFor(
        () => {
          const match =
            /AGENT_LLM=openai OPENAI_BASE_URL=(\S+) OPENAI_API_KEY=local OPENAI_MODEL=scripted/.exec(output);
          if (!match?.[1]) throw new Error(`No settings line in:\n${output}`);
          return match[1];
        },
        { timeout: 10_000, interval: 50 },
      );
      const cli = new OpenAI({ baseURL: settings, apiKey: 'local', maxRetries: 0 });
      await cli.chat.completions.create({ model: 'scripted', messages: [user('Bonjour, c’est Camille')] });
      await vi.waitFor(
        () => expect(output).toMatch(/200 POST \/v1\/chat\/completions rule \d+ \(greeting\)/),
        {
          timeout: 5_000,
        },
      );
      expect(output).not.toContain('Camille');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
