import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AccessToken,
  AgentDispatchClient,
  RoomAgentDispatch,
  RoomServiceClient,
  SipClient,
  TwirpError,
  WebhookReceiver,
} from 'livekit-server-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  sendWebhook,
  signWebhook,
  startLiveKitServer,
  webhookEvents,
  type LiveKitServer,
} from '../../local/servers/livekitServer';

const KEY = 'test-key';
const SECRET = 'test-secret-that-is-long-enough-for-hs256';
let server: LiveKitServer;
let rooms: RoomServiceClient;
let sip: SipClient;

beforeAll(async () => {
  server = await startLiveKitServer({ apiKey: KEY, apiSecret: SECRET });
  rooms = new RoomServiceClient(server.url, KEY, SECRET);
  sip = new SipClient(server.url, KEY, SECRET);
});
afterEach(() => server.reset());
afterAll(() => server.stop());

/** What an SDK call throws. */
async function failure(call: Promise<unknown>): Promise<TwirpError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TwirpError);
  return error as TwirpError;
}

describe('the local LiveKit server, through the SDK clients', () => {
  it('creates a room that dispatches its agents, once, and lists it', async () => {
    const agents = [new RoomAgentDispatch({ agentName: 'insurance-agent', metadata: '{"call":"c1"}' })];
    const room = await rooms.createRoom({ name: 'call-abc', emptyTimeout: 60, agents });
    expect(room.sid).toMatch(/^RM_/);
    expect(room).toMatchObject({ name: 'call-abc', emptyTimeout: 60 });
    expect(room.creationTime).toBeGreaterThan(0n);

    const again = await rooms.createRoom({ name: 'call-abc', agents });
    expect(again.sid).toBe(room.sid);
    expect(server.dispatches).toMatchObject([
      { agentName: 'insurance-agent', room: 'call-abc', metadata: '{"call":"c1"}' },
    ]);
    expect(server.dispatches[0]?.id).toMatch(/^AD_/);
    expect((await rooms.listRooms()).map((r) => r.name)).toEqual(['call-abc']);
    expect(await rooms.listRooms(['other'])).toEqual([]);
    expect(server.requests.map((r) => [`${r.service}/${r.method}`, r.grants.video])).toEqual([
      ['RoomService/CreateRoom', { roomCreate: true }],
      ['RoomService/CreateRoom', { roomCreate: true }],
      ['RoomService/ListRooms', { roomList: true }],
      ['RoomService/ListRooms', { roomList: true }],
    ]);

    await rooms.deleteRoom('call-abc');
    expect(server.rooms).toEqual([]);
    expect((await failure(rooms.deleteRoom('call-abc'))).code).toBe('not_found');
  });

  it('dispatches an agent into a new room, which it creates', async () => {
    const dispatcher = new AgentDispatchClient(server.url, KEY, SECRET);
    const dispatch = await dispatcher.createDispatch('call-out', 'insurance-agent', {
      metadata: '{"phone":"x"}',
    });
    expect(dispatch).toMatchObject({
      agentName: 'insurance-agent',
      room: 'call-out',
      metadata: '{"phone":"x"}',
    });
    expect(dispatch.id).toMatch(/^AD_/);
    expect(server.rooms.map((r) => r.name)).toEqual(['call-out']);
    expect(server.requests[0]?.grants.video).toEqual({ roomAdmin: true, room: 'call-out' });
  });

  it('dials a SIP participant into the room, lists it, transfers it (it leaves), and 404s a second transfer', async () => {
    const info = await sip.createSipParticipant('ST_trunk', '+33612345678', 'call-sip', {
      participantIdentity: 'caller',
      participantAttributes: { 'call.id': 'c1' },
      waitUntilAnswered: true,
    });
    expect(info).toMatchObject({ participantIdentity: 'caller', roomName: 'call-sip' });
    expect(info.participantId).toMatch(/^PA_/);
    expect(info.sipCallId).toMatch(/^SCL_/);
    expect(server.requests[0]?.grants.sip).toEqual({ call: true });
    expect(server.requests[0]?.body).toMatchObject({ sipTrunkId: 'ST_trunk', ringingTimeout: '30s' });

    const [participant] = await rooms.listParticipants('call-sip');
    expect(participant).toMatchObject({ identity: 'caller', kind: 3 });
    expect(participant?.attributes).toMatchObject({
      'call.id': 'c1',
      'sip.phoneNumber': '+33612345678',
      'sip.callID': info.sipCallId,
    });

    await sip.transferSipParticipant('call-sip', 'caller', 'tel:+33100000000', { playDialtone: true });
    expect(server.transfers).toEqual([
      {
        roomName: 'call-sip',
        participantIdentity: 'caller',
        transferTo: 'tel:+33100000000',
        playDialtone: true,
        headers: {},
      },
    ]);
    expect(server.requests[2]?.grants).toEqual({
      video: { roomAdmin: true, room: 'call-sip' },
      sip: { call: true },
    });
    expect(await rooms.listParticipants('call-sip')).toEqual([]);

    const missing = await failure(sip.transferSipParticipant('call-sip', 'caller', 'tel:+33100000000'));
    expect([missing.status, missing.code]).toEqual([404, 'not_found']);
  });

  it('refuses requests the real server refuses: invalid arguments, missing grants, bad tokens, unknown methods', async () => {
    const badTarget = await failure(sip.transferSipParticipant('call-sip', 'caller', '+33100000000'));
    expect([badTarget.status, badTarget.code]).toEqual([400, 'invalid_argument']);
    expect(badTarget.message).toContain('transferTo');

    await rooms.createRoom({ name: 'call-a' });
    const scoped = new AccessToken(KEY, SECRET);
    scoped.addGrant({ roomAdmin: true, room: 'call-b' });
    const wrongRoom = new RoomServiceClient(server.url, undefined, undefined, {
      token: await scoped.toJwt(),
    });
    const denied = await failure(wrongRoom.listParticipants('call-a'));
    expect([denied.status, denied.code]).toEqual([403, 'permission_denied']);
    const noGrants = await new AccessToken(KEY, SECRET).toJwt();
    const noGrant = new RoomServiceClient(server.url, undefined, undefined, { token: noGrants });
    expect((await failure(noGrant.createRoom({ name: 'call-c' }))).status).toBe(403);
    expect(server.rooms.map((r) => r.name)).toEqual(['call-a']);

    const forged = new RoomServiceClient(server.url, KEY, 'not-the-secret');
    const unsigned = await failure(forged.listRooms());
    expect([unsigned.status, unsigned.code]).toEqual([401, 'unauthenticated']);

    const unknown = await fetch(`${server.url}/twirp/livekit.RoomService/NoSuchMethod`, {
      method: 'POST',
      body: '{}',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/json');
    expect(await unknown.json()).toMatchObject({ code: 'bad_route' });

    const tooLarge = await fetch(`${server.url}/twirp/livekit.RoomService/ListRooms`, {
      method: 'POST',
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    expect(tooLarge.status).toBe(413);
  });

  it('answers injected failures for the given number of calls, with their SIP status', async () => {
    await sip.createSipParticipant('ST_trunk', '+33612345678', 'call-f', { participantIdentity: 'caller' });
    server.fault('TransferSIPParticipant', {
      status: 503,
      code: 'unavailable',
      msg: 'busy',
      meta: { sip_status_code: '486', sip_status: 'Busy Here' },
      times: 2,
    });
    for (let i = 0; i < 2; i++) {
      const error = await failure(sip.transferSipParticipant('call-f', 'caller', 'sip:desk@pbx.example'));
      expect([error.status, error.code, error.metadata?.sip_status_code]).toEqual([
        503,
        'unavailable',
        '486',
      ]);
    }
    await sip.transferSipParticipant('call-f', 'caller', 'sip:desk@pbx.example');
    expect(server.transfers).toHaveLength(1);

    server.fault('RoomService/CreateRoom', { status: 500, code: 'internal', msg: 'boom' });
    server.clearFaults();
    await rooms.createRoom({ name: 'call-g' });
    expect(() =>
      server.fault('TransferSipParticipant', { status: 500, code: 'internal', msg: 'typo' }),
    ).toThrow(/TransferSipParticipant is not a method/);
  });
});

describe('webhooks signed as LiveKit signs them', () => {
  const receiver = new WebhookReceiver(KEY, SECRET);

  it('builds a call event sequence the SDK receiver accepts and decodes', async () => {
    let now = Date.parse('2026-03-01T09:00:00Z');
    const events = webhookEvents('call-abc', { clock: () => new Date(now) });
    const started = events.roomStarted();
    const joined = events.participantJoined({
      identity: 'caller',
      kind: 'SIP',
      attributes: { 'sip.phoneNumber': '+33612345678' },
    });
    now += 90_000;
    const left = events.participantLeft({ identity: 'caller', disconnectReason: 'CLIENT_INITIATED' });
    const finished = events.roomFinished();

    const sequence = [started, joined, left, finished];
    expect(sequence.map((e) => e.event)).toEqual([
      'room_started',
      'participant_joined',
      'participant_left',
      'room_finished',
    ]);
    expect(new Set(sequence.map((e) => e.id)).size).toBe(4);
    expect(sequence.map((e) => Number(e.createdAt))).toEqual([
      1772355600, 1772355601, 1772355690, 1772355691,
    ]);
    expect(new Set(sequence.map((e) => e.room.sid)).size).toBe(1);
    expect(left.participant).toMatchObject({ sid: joined.participant?.sid, joinedAt: '1772355601' });

    const body = JSON.stringify(joined);
    const decoded = await receiver.receive(body, await signWebhook(body, { apiKey: KEY, apiSecret: SECRET }));
    expect(decoded.participant?.kind).toBe(3);
    expect(decoded.participant?.attributes['sip.phoneNumber']).toBe('+33612345678');
    expect(decoded.room?.numParticipants).toBe(1);
    expect(decoded.createdAt).toBe(1772355601n);
    const leftDecoded = await receiver.receive(
      JSON.stringify(left),
      await signWebhook(JSON.stringify(left), { apiKey: KEY, apiSecret: SECRET }),
    );
    expect(leftDecoded.participant?.disconnectReason).toBe(1);
  });

  it("builds the agent's audio track_published the SDK receiver decodes (AGENT = 4, AUDIO = 0)", async () => {
    const events = webhookEvents('call-abc');
    const joined = events.participantJoined({ identity: 'agent-AJ_1', kind: 'AGENT' });
    const published = events.trackPublished({ identity: 'agent-AJ_1', type: 'AUDIO' });
    expect(published.event).toBe('track_published');
    expect(published.participant).toMatchObject({ sid: joined.participant?.sid, kind: 'AGENT' });
    // protojson leaves out an enum's zero: an audio track has no type.
    expect(published.track?.sid).toMatch(/^TR_/);
    expect(published.track).toEqual({ sid: published.track?.sid, source: 'MICROPHONE' });

    const body = JSON.stringify(published);
    const decoded = await receiver.receive(body, await signWebhook(body, { apiKey: KEY, apiSecret: SECRET }));
    expect(decoded.event).toBe('track_published');
    expect(decoded.participant?.identity).toBe('agent-AJ_1');
    expect(decoded.participant?.kind).toBe(4);
    expect(decoded.track?.type).toBe(0);
    expect(decoded.track?.source).toBe(2);
    expect(decoded.track?.sid).toBe(published.track?.sid);

    const video = events.trackPublished({ identity: 'caller', kind: 'STANDARD', type: 'VIDEO' });
    const videoBody = JSON.stringify(video);
    const videoDecoded = await receiver.receive(
      videoBody,
      await signWebhook(videoBody, { apiKey: KEY, apiSecret: SECRET }),
    );
    expect([videoDecoded.track?.type, videoDecoded.track?.source, videoDecoded.participant?.kind]).toEqual([
      1, 1, 0,
    ]);
  });

  it('rejects a tampered body and another key', async () => {
    const body = JSON.stringify(webhookEvents('call-x').roomStarted());
    const auth = await signWebhook(body, { apiKey: KEY, apiSecret: SECRET });
    await expect(receiver.receive(body.replace('call-x', 'call-y'), auth)).rejects.toThrow(/sha256/);
    await expect(new WebhookReceiver(KEY, 'another-secret').receive(body, auth)).rejects.toThrow();
  });

  it('POSTs the event with LiveKit headers', async () => {
    const seen: Array<{ type?: string; auth?: string; body: string }> = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ type: req.headers['content-type'], auth: req.headers.authorization, body });
        res.end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    try {
      const event = webhookEvents('call-abc').roomStarted();
      const response = await sendWebhook(url, event, { apiKey: KEY, apiSecret: SECRET });
      expect(response.status).toBe(200);
      const [delivery] = seen;
      expect(delivery?.type).toBe('application/webhook+json');
      expect(delivery?.auth).not.toMatch(/^Bearer/);
      const decoded = await receiver.receive(delivery?.body ?? '', delivery?.auth);
      expect(decoded.event).toBe('room_started');
      expect(decoded.id).toBe(event.id);
    } finally {
      await new Promise<void>((resolve) => hook.close(() => resolve()));
    }
  });
});
