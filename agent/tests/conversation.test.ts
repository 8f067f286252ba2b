import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../src/backend.js';
import { agentSession, startBackendWorld, type BackendWorld } from './world.js';

// The sample insurer's policy (samples/insurer/policies.csv).
const POLICY = 'HAB-2024-0042';
const VERIFY = { policyNumber: POLICY, dateOfBirth: '1985-03-12' };
const CLAIM = {
  policyNumber: POLICY,
  dateOfLoss: '2026-11-20',
  lossType: 'dégât des eaux',
  description: "Fuite sous l'évier de la cuisine",
  confirmedByCaller: true,
};

// The fake model answers a tool's output by its exact text: the backend's JSON, as the tool returns it.
const verified = JSON.stringify({ verified: true, attemptsLeft: 3 });

let world: BackendWorld;
beforeAll(async () => {
  world = await startBackendWorld();
}, 120_000);
afterAll(() => world?.stop());

describe('the insurance agent against the real backend', () => {
  it('verifies the caller, then reads the policy summary from the backend', async () => {
    const { callId, say } = await agentSession(world, [
      { input: 'HAB-2024-0042, née le 12 mars 1985', toolCalls: [{ name: 'verify_caller', args: VERIFY }] },
      { input: verified, content: 'Merci, votre identité est vérifiée.' },
      {
        input: 'Quelles sont mes garanties ?',
        toolCalls: [{ name: 'policy_summary', args: { policyNumber: POLICY } }],
      },
    ]);
    const first = await say('HAB-2024-0042, née le 12 mars 1985');
    first.expect.nextEvent().isFunctionCall({ name: 'verify_caller', args: VERIFY });
    first.expect.nextEvent().isFunctionCallOutput({ isError: false });
    first.expect.nextEvent().isMessage({ role: 'assistant' });

    const second = await say('Quelles sont mes garanties ?');
    second.expect.nextEvent().isFunctionCall({ name: 'policy_summary' });
    const output = second.expect.nextEvent().isFunctionCallOutput().event().item.output;
    expect(JSON.parse(output)).toMatchObject({
      policyNumber: POLICY,
      product: 'habitation',
      status: 'active',
    });
    expect((await world.getCall(callId)).verified).toBe(true);
  });

  it('gets a refusal when it asks for policy details before verifying, and the backend logs it', async () => {
    const { callId, say } = await agentSession(world, [
      {
        input: 'Mon contrat HAB-2024-0042 ?',
        toolCalls: [{ name: 'policy_summary', args: { policyNumber: POLICY } }],
      },
    ]);
    const result = await say('Mon contrat HAB-2024-0042 ?');
    result.expect.nextEvent().isFunctionCall({ name: 'policy_summary' });
    const output = result.expect.nextEvent().isFunctionCallOutput().event().item.output;
    expect(JSON.parse(output)).toMatchObject({ error: 'not_verified' });
    const call = await world.getCall(callId);
    expect(call.toolCalls).toEqual([expect.objectContaining({ tool: 'policy-summary', status: 403 })]);
  });

  it('files a claim only once confirmed, and once however often the model repeats the call', async () => {
    const unconfirmed = { ...CLAIM, confirmedByCaller: false };
    const { callId, say } = await agentSession(world, [
      { input: 'HAB-2024-0042 le 12/03/1985', toolCalls: [{ name: 'verify_caller', args: VERIFY }] },
      {
        input: 'Une fuite sous mon évier le 20 novembre',
        toolCalls: [{ name: 'create_claim', args: unconfirmed }],
      },
      { input: 'Oui, je confirme', toolCalls: [{ name: 'create_claim', args: CLAIM }] },
      { input: 'Oui oui, je confirme', toolCalls: [{ name: 'create_claim', args: CLAIM }] },
    ]);
    await say('HAB-2024-0042 le 12/03/1985');
    const early = await say('Une fuite sous mon évier le 20 novembre');
    early.expect.nextEvent().isFunctionCall({ name: 'create_claim' });
    const refusal = early.expect.nextEvent().isFunctionCallOutput().event().item.output;
    expect(JSON.parse(refusal)).toMatchObject({ error: 'not_confirmed' });
    expect((await world.getCall(callId)).claims).toEqual([]);

    const claimNumberOf = (output: string) => (JSON.parse(output) as { claimNumber: string }).claimNumber;
    const filed = await say('Oui, je confirme');
    filed.expect.nextEvent().isFunctionCall({ name: 'create_claim' });
    const first = claimNumberOf(filed.expect.nextEvent().isFunctionCallOutput().event().item.output);
    const again = await say('Oui oui, je confirme');
    again.expect.nextEvent().isFunctionCall({ name: 'create_claim' });
    const second = claimNumberOf(again.expect.nextEvent().isFunctionCallOutput().event().item.output);
    expect(first).toMatch(/^SIN-\d{4}-[0-9A-F]{10}$/);
    expect(second).toBe(first);
    expect((await world.getCall(callId)).claims).toEqual([first]);
  });

  it('transfers a phone caller who asks for a person', async () => {
    const { callId, say } = await agentSession(world, [
      {
        input: 'Je veux parler à un conseiller',
        toolCalls: [{ name: 'transfer_to_human', args: { reason: 'caller asked' } }],
      },
    ]);
    await world.phoneCallerJoins(callId);
    const result = await say('Je veux parler à un conseiller');
    result.expect.nextEvent().isFunctionCall({ name: 'transfer_to_human' });
    result.expect.nextEvent().isFunctionCallOutput({ isError: false });
    expect(world.livekit.transfers).toContainEqual(
      expect.objectContaining({ roomName: `call-${callId}`, transferTo: 'tel:+33100000000' }),
    );
    expect((await world.getCall(callId)).transferred).toBe(true);
  });

  it('apologises and offers a person when the backend fails, instead of going silent', async () => {
    const unavailable = JSON.stringify({
      error: 'unavailable',
      instruction:
        'The system is not answering. Apologise to the caller, say you cannot do this right now, and offer to transfer them to an adviser.',
    });
    const apology =
      'Je suis désolé, je ne peux pas le faire pour le moment. Voulez-vous que je vous passe un conseiller ?';
    const script = [
      {
        input: 'Passez-moi quelqu’un',
        toolCalls: [{ name: 'transfer_to_human', args: { reason: 'caller asked' } }],
      },
      { input: unavailable, content: apology },
      { input: 'HAB-2024-0042 12/03/1985', toolCalls: [{ name: 'verify_caller', args: VERIFY }] },
    ];
    // LiveKit refuses the transfer: the backend answers 503, twice (the agent tries once more).
    const { callId, say } = await agentSession(world, script);
    await world.phoneCallerJoins(callId);
    world.livekit.fault('SIP/TransferSIPParticipant', {
      status: 503,
      code: 'unavailable',
      msg: 'SIP trunk down',
      times: 2,
    });
    const failed = await say('Passez-moi quelqu’un');
    failed.expect.nextEvent().isFunctionCall({ name: 'transfer_to_human' });
    failed.expect.nextEvent().isFunctionCallOutput();
    failed.expect.nextEvent().isMessage({ role: 'assistant' });
    expect(failed.events.at(-1)?.type).toBe('message');

    // The backend unreachable altogether: the same words.
    const down = createBackend({ url: 'http://127.0.0.1:9', key: world.key });
    const offline = await agentSession(world, script, down);
    const result = await offline.say('HAB-2024-0042 12/03/1985');
    result.expect.nextEvent().isFunctionCall({ name: 'verify_caller' });
    const output = result.expect.nextEvent().isFunctionCallOutput().event().item.output;
    expect(JSON.parse(output)).toMatchObject({ error: 'unavailable' });
  });

  it('reports the call when it ends: redacted transcript, turn metrics and tool calls', async () => {
    const { callId, say, session, recorder } = await agentSession(world, [
      {
        input: 'HAB-2024-0042 et je suis née le 12/03/1985',
        ttft: 20,
        toolCalls: [{ name: 'verify_caller', args: VERIFY }],
      },
      { input: verified, ttft: 10, content: 'Merci, vous êtes vérifiée. Que puis-je faire ?' },
      {
        input: 'Rappelez-moi au 06 12 34 56 78',
        ttft: 15,
        content: 'Bien noté, un conseiller vous rappellera.',
      },
    ]);
    await say('HAB-2024-0042 et je suis née le 12/03/1985');
    await say('Rappelez-moi au 06 12 34 56 78');
    await session.close();
    const sent = await recorder.send();
    expect(sent).toMatchObject({ ok: true, status: 202 });
    // The end of the call may be signalled again (session close, job shutdown): one report.
    expect(await recorder.send()).toBe(sent);

    const call = await world.getCall(callId);
    const transcript = call.transcript as { role: string; text: string }[];
    expect(transcript.map((t) => t.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    const said = JSON.stringify(transcript);
    expect(said).not.toContain('06 12 34 56 78');
    expect(said).not.toContain('12/03/1985');
    expect(said).toContain('[PHONE]');
    const turns = call.turns as { llmTtftMs?: number }[];
    expect(turns.length).toBeGreaterThanOrEqual(2);
    for (const turn of turns) expect(turn.llmTtftMs).toBeGreaterThanOrEqual(0);
    expect(call.toolCalls).toEqual([expect.objectContaining({ tool: 'verify-caller', status: 200 })]);
  });
});
