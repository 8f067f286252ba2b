import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TokenVerifier } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteInstance } from '../../local/azurite';
import { LocalHost, readHostJson } from '../../local/localHost';
import {
  signWebhook,
  startLiveKitServer,
  webhookEvents,
  type LiveKitServer,
  type LiveKitWebhookEvent,
} from '../../local/servers/livekitServer';
import { startSmtpSink, type SmtpSink } from '../../local/servers/smtpSink';
import { APP_ROOT } from '../support/testHost';

// The sample insurer's policy the calls below are about (samples/insurer/policies.csv).
const POLICY = {
  policyNumber: 'HAB-2024-0042',
  dateOfBirth: '12/03/1985',
  email: 'camille.laurent@example.org',
};
const CALLER_NUMBER = '+33612345678';
const CREDENTIALS = { apiKey: 'testkey', apiSecret: 'a-test-secret-of-enough-length-for-hs256' };

let azurite: AzuriteInstance;
let livekit: LiveKitServer;
let sink: SmtpSink;
let host: LocalHost;

beforeAll(async () => {
  // Its own storage: the metrics below count every call in the table.
  [azurite, livekit, sink] = await Promise.all([
    startAzurite(),
    startLiveKitServer(CREDENTIALS),
    startSmtpSink(),
  ]);
  host = await LocalHost.start({
    app: { appRoot: APP_ROOT },
    settings: {
      AzureWebJobsStorage: azurite.connectionString,
      FUNCTIONS_WORKER_RUNTIME: 'node',
      DURABLE_TASK_HUB: 'callstest',
      AI_PROVIDER: 'offline',
      LIVEKIT_URL: livekit.wsUrl,
      LIVEKIT_API_KEY: CREDENTIALS.apiKey,
      LIVEKIT_API_SECRET: CREDENTIALS.apiSecret,
      CALLS_SIP_TRUNK_ID: 'ST_test',
      CALLS_TRANSFER_TO: 'tel:+33100000000',
      EMAIL_PROVIDER: 'smtp',
      EMAIL_SENDER: 'service@mutuelle-horizon.example',
      SMTP_HOST: sink.host,
      SMTP_PORT: String(sink.port),
    },
    hostJson: readHostJson(APP_ROOT),
  });
  const csv = readFileSync(path.join(APP_ROOT, 'samples', 'insurer', 'policies.csv'));
  const imported = await host.http({
    method: 'POST',
    path: '/api/calls/policies/import?name=policies.csv',
    headers: { 'x-functions-key': host.functionKey, 'content-type': 'text/csv' },
    body: csv,
  });
  expect(imported.status).toBe(200);
}, 120_000);

afterAll(async () => {
  await host?.stop();
  await Promise.all([azurite?.stop(), livekit?.stop(), sink?.close()]);
});

type Json = Record<string, unknown>;

async function call(
  method: 'GET' | 'POST',
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Json; headers: Record<string, string> }> {
  const response = await host.http({
    method,
    path: route,
    headers: { 'x-functions-key': host.functionKey, 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = response.body.toString('utf8');
  return { status: response.status, body: text ? (JSON.parse(text) as Json) : {}, headers: response.headers };
}

async function deliver(event: LiveKitWebhookEvent, authorization?: string) {
  const body = JSON.stringify(event);
  const response = await host.http({
    method: 'POST',
    path: '/api/calls/livekit-webhook',
    headers: {
      'content-type': 'application/webhook+json',
      authorization: authorization ?? (await signWebhook(body, CREDENTIALS)),
    },
    body,
  });
  return { status: response.status, body: JSON.parse(response.body.toString('utf8') || '{}') as Json };
}

/** A new call through the token route: its id, room and the caller's identity. */
async function newCall() {
  const minted = await call('POST', '/api/calls/token', { participant_name: 'Appelant' });
  expect(minted.status).toBe(201);
  const roomName = String(minted.body.roomName);
  return { id: roomName.slice('call-'.length), roomName, token: String(minted.body.participantToken) };
}

/** A phone caller reaches the room through LiveKit SIP, and the agent joins and speaks. */
async function phoneCallerJoins(roomName: string) {
  const events = webhookEvents(roomName);
  const identity = `sip_${CALLER_NUMBER}`;
  const started = events.roomStarted();
  const caller = events.participantJoined({
    identity,
    kind: 'SIP',
    attributes: { 'sip.phoneNumber': CALLER_NUMBER },
  });
  // The SIP bridge puts the caller in the room: the local server knows them, for the transfer.
  if (caller.participant) livekit.join(roomName, caller.participant);
  for (const event of [
    started,
    caller,
    events.participantJoined({ identity: 'agent-1', kind: 'AGENT' }),
    events.trackPublished({ identity: 'agent-1', type: 'AUDIO' }),
  ])
    expect((await deliver(event)).status).toBe(200);
  return { events, identity };
}

const tool = (id: string, name: string, body: unknown, headers: Record<string, string> = {}) =>
  call('POST', `/api/calls/${id}/tools/${name}`, body, headers);

describe('the token endpoint', () => {
  it('mints a token for a new room of its own choosing, with caller grants and the agent dispatched', async () => {
    const minted = await call('POST', '/api/calls/token', {
      participant_name: 'Camille',
      agent_name: 'insurance-agent',
    });
    expect(minted.status).toBe(201);
    expect(minted.headers['cache-control']).toBe('no-store');
    const { body } = minted;
    expect(body.server_url).toBe(livekit.wsUrl);
    expect(body.serverUrl).toBe(livekit.wsUrl);
    expect(body.participant_token).toBe(body.participantToken);
    expect(body.participantName).toBe('Camille');
    expect(String(body.roomName)).toMatch(/^call-[0-9a-f]{16}$/);

    const claims = await new TokenVerifier(CREDENTIALS.apiKey, CREDENTIALS.apiSecret).verify(
      String(body.participantToken),
    );
    expect(claims.name).toBe('Camille');
    expect(claims.sub).toMatch(/^caller-[0-9a-f]{12}$/);
    expect(claims.video).toEqual({
      roomJoin: true,
      room: body.roomName,
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
    });
    expect(claims.sip).toBeUndefined();
    expect(Number(claims.exp) - Number(claims.nbf)).toBe(15 * 60);
    expect(claims.roomConfig?.agents?.map((a) => a.agentName)).toEqual(['insurance-agent']);

    const record = await call('GET', `/api/calls/${String(body.roomName).slice(5)}`);
    expect(record.body).toMatchObject({ status: 'created', direction: 'inbound', caller: null });
  });

  it('refuses fields only the server chooses, another agent, unknown fields, and callers without the key', async () => {
    for (const field of ['room_name', 'participant_identity', 'room_config']) {
      const refused = await call('POST', '/api/calls/token', {
        [field]: field === 'room_config' ? { agents: [] } : 'x',
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'invalid_field' });
      expect(String((refused.body.error as Json).message)).toMatch(new RegExp(`^${field}:`));
    }
    const otherAgent = await call('POST', '/api/calls/token', { agent_name: 'admin-agent' });
    expect(String((otherAgent.body.error as Json).message)).toMatch(/^agent_name:/);
    const unknown = await call('POST', '/api/calls/token', { participant_attributes: { a: 'b' } });
    expect(unknown.status).toBe(400);
    expect(String((unknown.body.error as Json).message)).toContain('participant_attributes');
    const anonymous = await host.http({ method: 'POST', path: '/api/calls/token', body: '{}' });
    expect(anonymous.status).toBe(401);
  });
});

describe('the LiveKit webhook', () => {
  it('rejects unsigned, badly signed and altered deliveries, and applies a redelivered event once', async () => {
    const { id, roomName } = await newCall();
    const started = webhookEvents(roomName).roomStarted();
    const body = JSON.stringify(started);

    const unsigned = await host.http({ method: 'POST', path: '/api/calls/livekit-webhook', body });
    expect(unsigned.status).toBe(401);
    const otherSecret = await signWebhook(body, {
      apiKey: CREDENTIALS.apiKey,
      apiSecret: 'another-secret-entirely-different',
    });
    expect((await deliver(started, otherSecret)).status).toBe(401);
    const signedForOther = await signWebhook(body, CREDENTIALS);
    const altered = await host.http({
      method: 'POST',
      path: '/api/calls/livekit-webhook',
      headers: { authorization: signedForOther },
      body: body.replace('room_started', 'room_finished'),
    });
    expect(altered.status).toBe(401);
    expect((await call('GET', `/api/calls/${id}`)).body.startedAt).toBeNull();

    // LiveKit retries deliveries, sometimes while the first is still in flight: applied once.
    const deliveries = await Promise.all([1, 2, 3, 4, 5].map(() => deliver(started)));
    expect(deliveries.map((d) => d.status)).toEqual([200, 200, 200, 200, 200]);
    expect(deliveries.filter((d) => d.body.applied === true)).toHaveLength(1);
    expect((await deliver(started)).body).toMatchObject({ event: 'room_started', applied: false });
    const record = (await call('GET', `/api/calls/${id}`)).body;
    expect(record.startedAt).toBe(new Date(Number(started.createdAt) * 1000).toISOString());
  });

  it('marks a call abandoned when the caller leaves before the agent speaks', async () => {
    const { id, roomName } = await newCall();
    const events = webhookEvents(roomName);
    const identity = 'sip_abandon';
    for (const event of [
      events.roomStarted(),
      events.participantJoined({ identity, kind: 'SIP', attributes: { 'sip.phoneNumber': '+33698765432' } }),
      events.participantLeft({ identity, disconnectReason: 'CLIENT_INITIATED' }),
      events.roomFinished(),
    ])
      await deliver(event);
    const record = (await call('GET', `/api/calls/${id}`)).body;
    expect(record).toMatchObject({
      status: 'ended',
      abandoned: true,
      endedReason: 'caller-hung-up',
      caller: '…5432',
    });
    expect(JSON.stringify(record)).not.toContain('98765432');
  });
});

describe('a full call', () => {
  it('verifies, informs, files a claim once, books a callback, emails once, transfers, reports and is analysed', async () => {
    const { id, roomName } = await newCall();
    const { events, identity } = await phoneCallerJoins(roomName);

    expect((await tool(id, 'policy-summary', { policyNumber: POLICY.policyNumber })).status).toBe(403);
    const wrong = await tool(id, 'verify-caller', {
      policyNumber: POLICY.policyNumber,
      dateOfBirth: '01/01/1990',
    });
    expect(wrong.body).toEqual({ verified: false, attemptsLeft: 2 });
    const right = await tool(id, 'verify-caller', {
      policyNumber: POLICY.policyNumber,
      dateOfBirth: POLICY.dateOfBirth,
    });
    expect(right.body).toEqual({ verified: true, attemptsLeft: 2 });

    const summary = await tool(id, 'policy-summary', { policyNumber: POLICY.policyNumber });
    expect(summary.status).toBe(200);
    expect(summary.body).toMatchObject({
      policyNumber: POLICY.policyNumber,
      status: 'active',
      emailOnFile: 'c•••@example.org',
    });
    expect(JSON.stringify(summary.body)).not.toContain(POLICY.email);

    const claim = {
      policyNumber: POLICY.policyNumber,
      dateOfLoss: '2026-11-20',
      lossType: 'dégât des eaux',
      description: 'Fuite sous l’évier de la cuisine, parquet abîmé.',
      injuries: false,
    };
    expect((await tool(id, 'create-claim', claim)).status).toBe(400); // no Idempotency-Key
    const filed = await tool(id, 'create-claim', claim, { 'idempotency-key': 'fnol-1' });
    expect(filed.status).toBe(201);
    const again = await tool(id, 'create-claim', claim, { 'idempotency-key': 'fnol-1' });
    expect(again.status).toBe(201);
    expect(again.body.claimNumber).toBe(filed.body.claimNumber);
    const status = await tool(id, 'claim-status', { claimNumber: filed.body.claimNumber });
    expect(status.body).toMatchObject({
      claimNumber: filed.body.claimNumber,
      status: 'received',
      lossType: 'dégât des eaux',
    });
    const listed = await tool(id, 'claim-status', { policyNumber: POLICY.policyNumber });
    expect((listed.body.claims as Json[]).map((c) => c.claimNumber)).toEqual([filed.body.claimNumber]);

    const at = new Date(Date.now() + 2 * 24 * 3600_000).toISOString();
    expect((await tool(id, 'schedule-callback', { at, reason: 'expert visit' })).body).toEqual({
      scheduledAt: at,
    });

    const before = sink.messages.length;
    const sent = await tool(id, 'send-follow-up', { kind: 'claim-confirmation' });
    expect(sent.body).toEqual({ sent: true, to: 'c•••@example.org' });
    await tool(id, 'send-follow-up', { kind: 'claim-confirmation' });
    const mails = sink.messages.slice(before);
    expect(mails).toHaveLength(1);
    expect(mails[0]?.envelope.to).toEqual([POLICY.email]);
    expect(mails[0]?.text).toContain(String(filed.body.claimNumber));

    const transferred = await tool(id, 'transfer', { reason: 'caller asked for a person' });
    expect(transferred.body).toEqual({ transferred: true });
    expect(livekit.transfers).toContainEqual(
      expect.objectContaining({ roomName, participantIdentity: identity, transferTo: 'tel:+33100000000' }),
    );

    for (const event of [
      events.participantLeft({ identity, disconnectReason: 'CLIENT_INITIATED' }),
      events.roomFinished(),
    ])
      await deliver(event);
    const closed = await tool(id, 'policy-summary', { policyNumber: POLICY.policyNumber });
    expect(closed.status).toBe(409);
    expect((closed.body.error as Json).code).toBe('call_over');

    const t = (s: number) => new Date(Date.now() - (60 - s) * 1000).toISOString();
    const report = {
      transcript: [
        { role: 'assistant', text: 'Bonjour, Mutuelle Horizon, je vous écoute.', at: t(1) },
        {
          role: 'user',
          text: 'Je suis née le 12 mars 1985, mon numéro est le 06 12 34 56 78, mail camille.laurent@example.org, carte 4111 1111 1111 1111.',
          at: t(5),
        },
        { role: 'assistant', text: 'Merci, votre sinistre est enregistré.', at: t(20) },
        { role: 'user', text: 'Merci beaucoup, parfait.', at: t(25) },
      ],
      turns: [
        { endOfUtteranceMs: 400, llmTtftMs: 300, ttsTtfbMs: 200, endToEndMs: 900 },
        { endOfUtteranceMs: 600, llmTtftMs: 500, ttsTtfbMs: 250, endToEndMs: 1300 },
      ],
      toolCalls: [{ name: 'verify-caller', ok: true }],
      usage: { llmPromptTokens: 1200, llmCompletionTokens: 300, costUsd: 0.012 },
    };
    const stored = await call('POST', `/api/calls/${id}/report`, report);
    expect(stored.status).toBe(202);
    expect((await call('POST', `/api/calls/${id}/report`, report)).body).toMatchObject({ duplicate: true });
    expect(await host.pollQueues()).toBe(1);

    const done = (await call('GET', `/api/calls/${id}`)).body;
    expect(done).toMatchObject({
      status: 'ended',
      verified: true,
      transferred: true,
      abandoned: false,
      caller: '…5678',
      outcome: 'claim_filed',
      sentiment: 'positive',
      claims: [filed.body.claimNumber],
      followUps: ['claim-confirmation'],
    });
    const transcript = JSON.stringify(done.transcript);
    for (const personal of ['12 mars 1985', '06 12 34 56 78', POLICY.email, '4111 1111 1111 1111'])
      expect(transcript).not.toContain(personal);
    expect(transcript).toContain('[PHONE]');
    expect((done.toolCalls as Json[]).map((c) => [c.tool, c.status])).toContainEqual(['policy-summary', 403]);
    expect(JSON.stringify(done)).not.toContain('12345678');

    const metrics = (
      await call('GET', `/api/calls/metrics?from=${new Date(Date.now() - 3600_000).toISOString()}`)
    ).body;
    expect(metrics.latencyMs).toMatchObject({
      endToEnd: { p50: 900, p95: 1300 },
      llmTtft: { p50: 300, p95: 500 },
    });
    expect(metrics.transferRate).toBeGreaterThan(0);
    expect(metrics.costUsd).toBeGreaterThanOrEqual(0.012);
  });

  it('locks a call after three failed verifications, however many arrive at once', async () => {
    const { id } = await newCall();
    const attempt = () =>
      tool(id, 'verify-caller', { policyNumber: POLICY.policyNumber, dateOfBirth: '1999-09-09' });
    expect((await attempt()).body).toEqual({ verified: false, attemptsLeft: 2 });
    const together = await Promise.all([attempt(), attempt(), attempt()]);
    // Failures are counted under the record's ETag: the third locks the call, the fourth is refused.
    expect(together.map((a) => a.status).sort()).toEqual([200, 200, 423]);
    expect(
      together
        .map((a) => a.body.attemptsLeft)
        .filter((n) => n !== undefined)
        .sort(),
    ).toEqual([0, 1]);
    const locked = await tool(id, 'verify-caller', {
      policyNumber: POLICY.policyNumber,
      dateOfBirth: POLICY.dateOfBirth,
    });
    expect(locked.status).toBe(423);
    expect((locked.body.error as Json).code).toBe('verification_locked');
    expect((await tool(id, 'policy-summary', { policyNumber: POLICY.policyNumber })).status).toBe(403);
  });
});

describe('ending a call', () => {
  it('records the end even when LiveKit cannot close the room, and closes the tools', async () => {
    const { id } = await newCall();
    livekit.fault('RoomService/DeleteRoom', { status: 503, code: 'unavailable', msg: 'down' });
    const ended = await tool(id, 'end-call', { reason: 'caller satisfied' });
    expect(ended).toMatchObject({ status: 200, body: { ended: true, roomClosed: false } });
    const after = await tool(id, 'verify-caller', {
      policyNumber: POLICY.policyNumber,
      dateOfBirth: POLICY.dateOfBirth,
    });
    expect(after.status).toBe(409);
    expect((after.body.error as Json).code).toBe('call_over');
  });
});

describe('outbound calls', () => {
  it('dispatches the agent with the number in the dispatch only, once per Idempotency-Key', async () => {
    const placed = await call(
      'POST',
      '/api/calls/outbound',
      { phone: '06 11 22 33 44', policyNumber: POLICY.policyNumber, reason: 'renewal reminder' },
      { 'idempotency-key': 'renewal-42' },
    );
    expect(placed.status).toBe(202);
    const again = await call(
      'POST',
      '/api/calls/outbound',
      { phone: '06 11 22 33 44', reason: 'renewal reminder' },
      { 'idempotency-key': 'renewal-42' },
    );
    expect(again.body.id).toBe(placed.body.id);
    const dispatches = livekit.dispatches.filter((d) => d.room === `call-${String(placed.body.id)}`);
    expect(dispatches).toHaveLength(1);
    expect(dispatches[0]?.agentName).toBe('insurance-agent');
    expect(JSON.parse(dispatches[0]?.metadata ?? '{}')).toMatchObject({
      phoneNumber: '+33611223344',
      sipTrunkId: 'ST_test',
    });
    expect(String(placed.body.id)).not.toContain('3344');
    const record = (await call('GET', `/api/calls/${String(placed.body.id)}`)).body;
    expect(record).toMatchObject({ direction: 'outbound', status: 'dialing', caller: '…3344' });
  });

  it('records a failed dispatch and answers 503', async () => {
    livekit.fault('AgentDispatchService/CreateDispatch', {
      status: 503,
      code: 'unavailable',
      msg: 'no agent workers',
    });
    const failed = await call('POST', '/api/calls/outbound', { phone: '+447700900123', reason: 'follow-up' });
    expect(failed.status).toBe(503);
    const { calls } = (await call('GET', '/api/calls?status=failed')).body as { calls: Json[] };
    expect(calls.some((c) => c.caller === '…0123' && c.endedReason === 'dispatch-failed')).toBe(true);
  });

  it('refuses a number that is not one', async () => {
    const refused = await call('POST', '/api/calls/outbound', { phone: '12', reason: 'x' });
    expect(refused.status).toBe(400);
    expect(String((refused.body.error as Json).message)).toMatch(/^body\.phone:/);
  });
});
