import { listenHttp } from './listen';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { AccessToken, TokenVerifier, type SIPGrant, type VideoGrant } from 'livekit-server-sdk';
import { z } from 'zod';
import { BodyTooLargeError, readBodyBytes, sendJson } from '../jsonHttp';

/**
 * A local LiveKit server for the call centre's tests, demo and benchmark: the Twirp API that
 * `livekit-server-sdk` clients call (`POST /twirp/livekit.{Service}/{Method}`, camelCase protobuf JSON,
 * `Authorization: Bearer <JWT>`) for rooms, agent dispatch and SIP create/transfer, with each token
 * verified and its grants checked as the real server does, state kept in memory and failures injectable.
 * No media: nobody joins a room unless a request puts them there. It also signs webhook events as
 * LiveKit does (`signWebhook`, `sendWebhook`, `webhookEvents`).
 */

export interface LiveKitServerOptions {
  apiKey: string;
  apiSecret: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** The time rooms are created at and requests received at (default: the system clock). */
  now?: () => Date;
  /** Called once each Twirp request is answered (the CLI prints them). */
  onRequest?: (request: LiveKitRequest) => void;
}

/** A Twirp request as received: never the token, only the grants it carried. */
export interface LiveKitRequest {
  service: string;
  method: string;
  /** The parsed JSON body; undefined when it was not JSON. */
  body: unknown;
  grants: { video?: VideoGrant; sip?: SIPGrant };
  at: Date;
  /** The HTTP status answered. */
  status: number;
}

export type ParticipantKind = 'STANDARD' | 'AGENT' | 'SIP';
/** Room and participant as protobuf JSON renders them: int64 as strings, zero values left out. */
export interface RoomJson {
  sid: string;
  name: string;
  emptyTimeout?: number;
  departureTimeout?: number;
  maxParticipants?: number;
  creationTime: string;
  creationTimeMs?: string;
  metadata?: string;
  numParticipants?: number;
}
export interface ParticipantJson {
  sid: string;
  identity: string;
  name?: string;
  state?: 'JOINING' | 'JOINED' | 'ACTIVE' | 'DISCONNECTED';
  kind?: ParticipantKind;
  attributes?: Record<string, string>;
  metadata?: string;
  joinedAt?: string;
  joinedAtMs?: string;
  disconnectReason?: string;
}
export interface LiveKitRoom extends RoomJson {
  participants: ParticipantJson[];
}
export interface AgentDispatchJson {
  id: string;
  agentName?: string;
  room: string;
  metadata?: string;
}
/** A CreateSIPParticipant call: the request's fields, the SIPParticipantInfo answered, the attributes given. */
export type SipCallRecord = z.output<typeof bodies.createSip> & {
  participantId: string;
  sipCallId: string;
  attributes: Record<string, string>;
};
export type SipTransferRecord = z.output<typeof bodies.transferSip>;
export interface TwirpFault {
  status: number;
  code: string;
  msg: string;
  /** Twirp metadata, e.g. `{sip_status_code: '486', sip_status: 'Busy Here'}`. */
  meta?: Record<string, string>;
  /** How many calls answer this error (default 1). */
  times?: number;
}

const MAX_BODY_BYTES = 1024 * 1024;
/** The real server's defaults for rooms created without them (seconds). */
const DEFAULT_EMPTY_TIMEOUT = 300;
const DEFAULT_DEPARTURE_TIMEOUT = 20;

/** A Twirp error answer: `{code, msg, meta}`, which the SDK turns into a `TwirpError`. */
class TwirpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    msg: string,
    readonly meta?: Record<string, string>,
  ) {
    super(msg);
  }
}

const notInRoom = (room: string, identity: string) =>
  new TwirpFailure(404, 'not_found', `participant ${identity} is not in room ${room}`);

/** LiveKit's ids: a type prefix and 12 random characters. */
const newId = (prefix: string) => `${prefix}${randomBytes(9).toString('base64url')}`;

/** Drops what protobuf JSON leaves out (empty strings, zeros, false, empty maps and lists), recursively. */
function compact<T>(value: T): T {
  if (Array.isArray(value)) return (value as unknown[]).map(compact) as T;
  if (typeof value !== 'object' || value === null) return value;
  const kept = Object.entries(value as Record<string, unknown>)
    .map(([key, v]) => [key, compact(v)] as const)
    .filter(([, v]) => !(v === undefined || v === '' || v === 0 || v === '0' || v === false))
    .filter(([, v]) => !(typeof v === 'object' && v !== null && Object.keys(v).length === 0));
  return Object.fromEntries(kept) as T;
}

const name = z.string().min(1);
const strings = z.record(z.string(), z.string());
const bodies = {
  createRoom: z.object({
    name,
    emptyTimeout: z.number().int().nonnegative().optional(),
    departureTimeout: z.number().int().nonnegative().optional(),
    maxParticipants: z.number().int().nonnegative().optional(),
    metadata: z.string().optional(),
    agents: z
      .array(z.object({ agentName: z.string().default(''), metadata: z.string().optional() }))
      .optional(),
  }),
  listRooms: z.object({ names: z.array(z.string()).optional() }),
  room: z.object({ room: name }),
  participant: z.object({ room: name, identity: name }),
  createDispatch: z.object({
    room: name,
    agentName: z.string().default(''),
    metadata: z.string().optional(),
  }),
  // The checks of livekit/protocol's CreateSIPParticipantRequest.Validate.
  createSip: z.object({
    sipTrunkId: name,
    sipCallTo: name.refine((to) => !to.includes('@'), 'a phone number or SIP user, not a full SIP URI'),
    roomName: name,
    participantIdentity: z.string().default('sip-participant'),
    participantName: z.string().optional(),
    participantMetadata: z.string().optional(),
    participantAttributes: strings.optional(),
    hidePhoneNumber: z.boolean().default(false),
    waitUntilAnswered: z.boolean().default(false),
  }),
  // And TransferSIPParticipantRequest.Validate: only SIP and TEL URIs, optionally in <…>.
  transferSip: z.object({
    roomName: name,
    participantIdentity: name,
    transferTo: name.refine((to) => /^<?(sip|tel):/.test(to), 'a valid SIP or TEL URI (sip: or tel:)'),
    playDialtone: z.boolean().default(false),
    headers: strings.default({}),
  }),
};

/** What a method needs of the token, as the real server checks it. */
type Need = 'roomCreate' | 'roomList' | 'sip.call' | { roomAdmin: string };
function missingGrant({ video, sip }: LiveKitRequest['grants'], needs: Need[]): string | undefined {
  for (const need of needs) {
    if (typeof need === 'object') {
      if (!(video?.roomAdmin && video.room === need.roomAdmin)) {
        return `the token has no roomAdmin grant for room ${need.roomAdmin}`;
      }
    } else if (need === 'sip.call' ? !sip?.call : !video?.[need]) return `the token has no ${need} grant`;
  }
  return undefined;
}

/** One Twirp method: parses its body, names the grants it needs, then answers. */
interface Route {
  run(raw: unknown, grants: LiveKitRequest['grants'], beforeAnswer: () => void): unknown;
}
function route<S extends z.ZodType>(
  schema: S,
  needs: (body: z.output<S>) => Need[],
  answer: (body: z.output<S>) => unknown,
): Route {
  return {
    run(raw, given, beforeAnswer) {
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = issue?.path.join('.') || 'body';
        throw new TwirpFailure(400, 'invalid_argument', `${field}: ${issue?.message ?? 'invalid'}`);
      }
      const missing = missingGrant(given, needs(parsed.data));
      if (missing) throw new TwirpFailure(403, 'permission_denied', missing);
      beforeAnswer();
      return compact(answer(parsed.data));
    },
  };
}

const roomOnly = ({ participants: _participants, ...room }: LiveKitRoom): RoomJson => room;

interface RoomState {
  room: RoomJson;
  participants: Map<string, ParticipantJson>;
}

export class LiveKitServer {
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly requests: LiveKitRequest[] = [];
  readonly dispatches: AgentDispatchJson[] = [];
  readonly sipParticipants: SipCallRecord[] = [];
  readonly transfers: SipTransferRecord[] = [];
  url = '';
  wsUrl = '';
  private server: Server | undefined;
  private readonly roomStates = new Map<string, RoomState>();
  private faults: Array<{ method: string; fault: TwirpFault; left: number }> = [];
  private readonly verifier: TokenVerifier;
  private readonly now: () => Date;
  private readonly routes: Record<string, Route> = {
    'RoomService/CreateRoom': route(
      bodies.createRoom,
      () => ['roomCreate'],
      (body) => this.ensureRoom(body.name, body).room,
    ),
    'RoomService/ListRooms': route(
      bodies.listRooms,
      () => ['roomList'],
      ({ names }) => ({
        rooms: this.rooms.filter((r) => !names?.length || names.includes(r.name)).map(roomOnly),
      }),
    ),
    'RoomService/DeleteRoom': route(
      bodies.room,
      () => ['roomCreate'],
      ({ room }) => {
        this.existingRoom(room);
        this.roomStates.delete(room);
        return {};
      },
    ),
    'RoomService/ListParticipants': route(
      bodies.room,
      ({ room }) => [{ roomAdmin: room }],
      ({ room }) => ({ participants: [...this.existingRoom(room).participants.values()] }),
    ),
    'RoomService/RemoveParticipant': route(
      bodies.participant,
      ({ room }) => [{ roomAdmin: room }],
      ({ room, identity }) => {
        const { participants } = this.existingRoom(room);
        if (!participants.delete(identity)) throw notInRoom(room, identity);
        return {};
      },
    ),
    'AgentDispatchService/CreateDispatch': route(
      bodies.createDispatch,
      ({ room }) => [{ roomAdmin: room }],
      ({ room, agentName, metadata }) => {
        this.ensureRoom(room);
        return this.dispatch(room, agentName, metadata);
      },
    ),
    'SIP/CreateSIPParticipant': route(
      bodies.createSip,
      () => ['sip.call'],
      (body) => this.createSipParticipant(body),
    ),
    'SIP/TransferSIPParticipant': route(
      bodies.transferSip,
      ({ roomName }) => [{ roomAdmin: roomName }, 'sip.call'],
      (body) => {
        // A cold transfer (SIP REFER) hangs up LiveKit's leg: the caller leaves the room.
        const { participants } = this.existingRoom(body.roomName);
        if (!participants.delete(body.participantIdentity)) {
          throw notInRoom(body.roomName, body.participantIdentity);
        }
        this.transfers.push(body);
        return {};
      },
    ),
  };

  constructor(private readonly options: LiveKitServerOptions) {
    this.apiKey = options.apiKey;
    this.apiSecret = options.apiSecret;
    this.verifier = new TokenVerifier(options.apiKey, options.apiSecret);
    this.now = options.now ?? (() => new Date());
  }

  /**
   * A participant enters a room, as when a client or the SIP bridge joins (the room is created if absent).
   * Webhooks are separate: send the matching `participant_joined` with `webhookEvents`.
   */
  join(roomName: string, participant: ParticipantJson): void {
    this.ensureRoom(roomName).participants.set(participant.identity, participant);
  }

  /** The room closes (its last participant left): it is gone from ListRooms, as after `room_finished`. */
  finish(roomName: string): void {
    this.roomStates.delete(roomName);
  }

  /** The rooms with their participants, as ListRooms and ListParticipants would show them. */
  get rooms(): LiveKitRoom[] {
    return [...this.roomStates.values()].map(({ room, participants }) => ({
      ...room,
      ...compact({ numParticipants: participants.size }),
      participants: [...participants.values()],
    }));
  }

  async listen(): Promise<this> {
    const { server, host, port } = await listenHttp((req, res) => this.handle(req, res), this.options);
    this.server = server;
    this.url = `http://${host}:${port}`;
    this.wsUrl = `ws://${host}:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * The next `times` (default 1) calls of `method` ('SIP/TransferSIPParticipant' or just
   * 'TransferSIPParticipant') answer this error once their token and grants have passed.
   */
  fault(method: string, fault: TwirpFault): void {
    if (!Object.keys(this.routes).some((known) => known === method || known.endsWith(`/${method}`))) {
      throw new Error(
        `fault: ${method} is not a method this server serves (${Object.keys(this.routes).join(', ')}).`,
      );
    }
    const times = fault.times ?? 1;
    if (!Number.isInteger(times) || times < 1)
      throw new Error(`fault: times must be a whole number ≥ 1, not ${times}.`);
    this.faults.push({ method, fault, left: times });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Forgets every room, dispatch, call, transfer, request and fault. */
  reset(): void {
    this.roomStates.clear();
    this.requests.length = 0;
    this.dispatches.length = 0;
    this.sipParticipants.length = 0;
    this.transfers.length = 0;
    this.clearFaults();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fail = (error: TwirpFailure) =>
      sendJson(res, error.status, {
        code: error.code,
        msg: error.message,
        ...(error.meta && { meta: error.meta }),
      });
    const [, service = '', method = ''] =
      /^\/twirp\/livekit\.(\w+)\/(\w+)$/.exec(new URL(req.url ?? '/', 'http://local').pathname) ?? [];
    const target = this.routes[`${service}/${method}`];
    if (!target || req.method !== 'POST') {
      return fail(new TwirpFailure(404, 'bad_route', `no handler for ${req.method} ${req.url}`));
    }
    const entry: LiveKitRequest = {
      service,
      method,
      body: undefined,
      grants: {},
      at: this.now(),
      status: 0,
    };
    this.requests.push(entry);
    try {
      const answer = await this.answer(req, entry, target);
      entry.status = 200;
      sendJson(res, 200, answer);
    } catch (error) {
      if (!(error instanceof TwirpFailure)) throw error;
      entry.status = error.status;
      fail(error);
    } finally {
      this.options.onRequest?.(entry);
    }
  }

  private async answer(req: IncomingMessage, entry: LiveKitRequest, target: Route): Promise<unknown> {
    let raw: string;
    try {
      raw = (await readBodyBytes(req, MAX_BODY_BYTES)).toString('utf8');
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      throw new TwirpFailure(
        413,
        'resource_exhausted',
        `the request body is larger than ${MAX_BODY_BYTES} bytes`,
      );
    }
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) throw new TwirpFailure(401, 'unauthenticated', 'no authorization token');
    try {
      const claims = await this.verifier.verify(token);
      entry.grants = { ...(claims.video && { video: claims.video }), ...(claims.sip && { sip: claims.sip }) };
    } catch (error) {
      throw new TwirpFailure(401, 'unauthenticated', `invalid token: ${(error as Error).message}`);
    }
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
      throw new TwirpFailure(404, 'bad_route', 'the Content-Type must be application/json');
    }
    try {
      entry.body = JSON.parse(raw);
    } catch {
      throw new TwirpFailure(400, 'malformed', 'the body is not JSON');
    }
    return target.run(entry.body, entry.grants, () => this.injectedFault(entry));
  }

  private injectedFault({ service, method }: LiveKitRequest): void {
    const found = this.faults.find(
      (f) => f.left > 0 && (f.method === method || f.method === `${service}/${method}`),
    );
    if (!found) return;
    found.left--;
    this.faults = this.faults.filter((f) => f.left > 0);
    const { status, code, msg, meta } = found.fault;
    throw new TwirpFailure(status, code, msg, meta);
  }

  private existingRoom(name: string): RoomState {
    const state = this.roomStates.get(name);
    if (!state) throw new TwirpFailure(404, 'not_found', `room ${name} does not exist`);
    return state;
  }

  /** The room, created when absent; the agents of `config` are dispatched only then, as LiveKit does. */
  private ensureRoom(name: string, config: Partial<z.output<typeof bodies.createRoom>> = {}): RoomState {
    const existing = this.roomStates.get(name);
    if (existing) return existing;
    const at = this.now().getTime();
    const room: RoomJson = {
      sid: newId('RM_'),
      name,
      emptyTimeout: config.emptyTimeout || DEFAULT_EMPTY_TIMEOUT,
      departureTimeout: config.departureTimeout || DEFAULT_DEPARTURE_TIMEOUT,
      maxParticipants: config.maxParticipants,
      creationTime: String(Math.floor(at / 1000)),
      creationTimeMs: String(at),
      metadata: config.metadata,
    };
    const state = { room: compact(room), participants: new Map<string, ParticipantJson>() };
    this.roomStates.set(name, state);
    for (const agent of config.agents ?? []) this.dispatch(name, agent.agentName, agent.metadata);
    return state;
  }

  private dispatch(room: string, agentName: string, metadata: string | undefined): AgentDispatchJson {
    const dispatch = compact({ id: newId('AD_'), agentName, room, metadata });
    this.dispatches.push(dispatch);
    return dispatch;
  }

  /** Dials at once and answers: the callee joins the room as a SIP participant with LiveKit's `sip.*` attributes. */
  private createSipParticipant(body: z.output<typeof bodies.createSip>) {
    const { participants } = this.ensureRoom(body.roomName);
    const at = this.now().getTime();
    const sipCallId = newId('SCL_');
    const attributes = {
      ...body.participantAttributes,
      'sip.callID': sipCallId,
      'sip.callStatus': 'active',
      'sip.trunkID': body.sipTrunkId,
      ...(!body.hidePhoneNumber && { 'sip.phoneNumber': body.sipCallTo }),
    };
    const participant: ParticipantJson = compact({
      sid: newId('PA_'),
      identity: body.participantIdentity,
      name: body.participantName ?? (body.hidePhoneNumber ? 'Phone' : `Phone ${body.sipCallTo}`),
      state: 'ACTIVE',
      kind: 'SIP',
      attributes,
      metadata: body.participantMetadata,
      joinedAt: String(Math.floor(at / 1000)),
      joinedAtMs: String(at),
    });
    participants.set(body.participantIdentity, participant);
    const info = {
      participantId: participant.sid,
      participantIdentity: body.participantIdentity,
      roomName: body.roomName,
      sipCallId,
    };
    this.sipParticipants.push({ ...info, ...body, attributes });
    return info;
  }
}

export async function startLiveKitServer(options: LiveKitServerOptions): Promise<LiveKitServer> {
  return new LiveKitServer(options).listen();
}

// --- Webhooks ---------------------------------------------------------------------------------

export interface WebhookCredentials {
  apiKey: string;
  apiSecret: string;
}

export type WebhookEventName =
  'room_started' | 'room_finished' | 'participant_joined' | 'participant_left' | 'track_published';
export type TrackType = 'AUDIO' | 'VIDEO' | 'DATA';
/** A TrackInfo as protobuf JSON renders it: an audio track has no `type`, AUDIO being the enum's zero. */
export interface TrackJson {
  sid: string;
  type?: Exclude<TrackType, 'AUDIO'>;
  source?: 'CAMERA' | 'MICROPHONE';
}
export interface LiveKitWebhookEvent {
  event: WebhookEventName;
  id: string;
  /** Unix seconds, as protobuf JSON renders an int64. */
  createdAt: string;
  room: RoomJson;
  participant?: ParticipantJson;
  track?: TrackJson;
}

/**
 * The `Authorization` header LiveKit sends with a webhook: a JWT (HS256, `iss` = the key, valid
 * 5 minutes) whose `sha256` claim is the base64 SHA-256 of the raw body. No "Bearer" prefix.
 */
export async function signWebhook(body: string, { apiKey, apiSecret }: WebhookCredentials): Promise<string> {
  const token = new AccessToken(apiKey, apiSecret, { ttl: '5m' });
  token.sha256 = createHash('sha256').update(body).digest('base64');
  return token.toJwt();
}

/** POSTs `event` to `url` signed as LiveKit does; the body is exactly `JSON.stringify(event)`. */
export async function sendWebhook(
  url: string,
  event: LiveKitWebhookEvent,
  options: WebhookCredentials & { fetch?: typeof fetch },
): Promise<Response> {
  const body = JSON.stringify(event);
  return (options.fetch ?? fetch)(url, {
    method: 'POST',
    headers: { 'content-type': 'application/webhook+json', authorization: await signWebhook(body, options) },
    body,
  });
}

export interface ParticipantEventOptions {
  identity: string;
  /** Default: the kind it joined with, else STANDARD. */
  kind?: ParticipantKind;
  name?: string;
  attributes?: Record<string, string>;
}

/**
 * The events of one room's life, in LiveKit's webhook JSON (zero values left out, as protojson does:
 * a STANDARD participant has no `kind`, an audio track no `type`, an empty room no
 * `numParticipants`). Each event has a fresh `EV_` id and a `createdAt` from `clock`, at least a second
 * after the previous event's, so their order is the order built. Participants keep their sid,
 * attributes and `joinedAt` from join to leave.
 */
export function webhookEvents(roomName: string, options: { clock?: () => Date; emptyTimeout?: number } = {}) {
  const clock = options.clock ?? (() => new Date());
  const present = new Map<string, ParticipantJson>();
  let last = 0;
  let room: RoomJson | undefined;
  const event = (
    name: WebhookEventName,
    participant?: ParticipantJson,
    track?: TrackJson,
  ): LiveKitWebhookEvent => {
    last = Math.max(Math.floor(clock().getTime() / 1000), last + 1);
    room ??= {
      sid: newId('RM_'),
      name: roomName,
      emptyTimeout: options.emptyTimeout ?? DEFAULT_EMPTY_TIMEOUT,
      departureTimeout: DEFAULT_DEPARTURE_TIMEOUT,
      creationTime: String(last),
      creationTimeMs: String(last * 1000),
    };
    const roomNow = { ...room, numParticipants: present.size };
    return compact({
      event: name,
      id: newId('EV_'),
      createdAt: String(last),
      room: roomNow,
      participant,
      track,
    });
  };
  /** The participant as it joined (else a new one), with `kind` when given. */
  const known = (identity: string, kind?: ParticipantKind): ParticipantJson => {
    const joined = present.get(identity) ?? { sid: newId('PA_'), identity, name: identity };
    const actual = kind ?? joined.kind ?? 'STANDARD';
    return { ...joined, kind: actual === 'STANDARD' ? undefined : actual };
  };
  return {
    roomStarted: () => event('room_started'),
    participantJoined({ identity, kind = 'STANDARD', name, attributes }: ParticipantEventOptions) {
      const joinedAt = Math.max(Math.floor(clock().getTime() / 1000), last + 1);
      const participant: ParticipantJson = {
        sid: newId('PA_'),
        identity,
        name: name ?? identity,
        state: 'ACTIVE',
        ...(kind !== 'STANDARD' && { kind }),
        attributes: attributes ?? {},
        joinedAt: String(joinedAt),
        joinedAtMs: String(joinedAt * 1000),
      };
      present.set(identity, participant);
      return event('participant_joined', participant);
    },
    /** A participant publishes a track: the agent's audio is its voice, the greeting its first words. */
    trackPublished({ identity, kind, type }: { identity: string; kind?: ParticipantKind; type: TrackType }) {
      const publisher = known(identity, kind);
      const track: TrackJson = {
        sid: newId('TR_'),
        ...(type !== 'AUDIO' && { type }),
        ...(type !== 'DATA' && { source: type === 'AUDIO' ? 'MICROPHONE' : 'CAMERA' }),
      };
      return event('track_published', publisher, track);
    },
    participantLeft(left: Omit<ParticipantEventOptions, 'name'> & { disconnectReason?: string }) {
      const participant = known(left.identity, left.kind);
      present.delete(left.identity);
      return event('participant_left', {
        ...participant,
        state: 'DISCONNECTED',
        ...(left.attributes && { attributes: left.attributes }),
        disconnectReason: left.disconnectReason,
      });
    },
    roomFinished() {
      present.clear();
      return event('room_finished');
    },
  };
}
