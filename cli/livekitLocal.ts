import { portFromEnv } from './command';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import {
  sendWebhook,
  startLiveKitServer,
  webhookEvents,
  type LiveKitRequest,
  type LiveKitServer,
  type LiveKitWebhookEvent,
} from '../local/servers/livekitServer';

/**
 * `npm run livekit:local`: the local LiveKit server (rooms, agent dispatch, SIP create and transfer
 * over Twirp; no media) on port 7880, with the dev credentials `livekit-server --dev` uses, so the same
 * settings work with either. It prints the settings for `npm run serve`, then one line per request:
 * method, room and status, never a token.
 *
 * It also plays LiveKit's side of a call, since nobody joins its rooms: commands typed on stdin send
 * signed webhooks to LIVEKIT_WEBHOOK_URL (default: the app under `npm run serve`), each answer printed
 * with its status. `start <room>`: the room starts, a SIP caller (+33612345678) joins, the agent joins
 * and publishes its audio; `hangup <room>`: the caller hangs up, the room finishes; `replay`: the last
 * event again, as LiveKit retries (the app ignores it); `help`. Rooms come from the token route's
 * `roomName` (`call-<id>`): the app follows no other room.
 */
const API_KEY = 'devkey';
const API_SECRET = 'secret';
const DEFAULT_WEBHOOK_URL = 'http://127.0.0.1:7071/api/calls/livekit-webhook';
const CALLER_NUMBER = '+33612345678';
const CALLER = `sip_${CALLER_NUMBER}`;
const AGENT = 'agent-AJ_local';
const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const webhookUrl = z
  .url({ protocol: /^https?$/ })
  .safeParse(process.env.LIVEKIT_WEBHOOK_URL?.trim() || DEFAULT_WEBHOOK_URL);

const HELP = [
  'Commands (webhooks go to the URL above, signed with the dev credentials):',
  `  start <room>   room_started, a SIP caller (${CALLER_NUMBER}) joins, the agent joins and publishes its audio`,
  '  hangup <room>  the caller hangs up (CLIENT_INITIATED), then room_finished',
  '  replay         sends the last event again, same id, as LiveKit retries: the app must not apply it twice',
  '  help           this list',
  'A room is the roomName the token route answers (POST /api/calls/token): the app follows call-<id> rooms only.',
];

/** The room a request is about, whichever field its method names it in. */
function roomOf(body: unknown): string {
  const fields = z
    .object({ room: z.string(), roomName: z.string(), name: z.string() })
    .partial()
    .safeParse(body);
  return (fields.success && (fields.data.room ?? fields.data.roomName ?? fields.data.name)) || '-';
}

function show(request: LiveKitRequest): void {
  const at = request.at.toISOString().slice(11, 19);
  out(`${at} ${request.status} ${request.service}/${request.method} room=${roomOf(request.body)}`);
}

/** Why a request got no answer: fetch hides the connection error in `cause`. */
function unreachable(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  const code = cause && 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined;
  return code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/** Reads commands on stdin and plays the webhooks of the rooms it starts. */
async function webhookConsole(server: LiveKitServer, url: string): Promise<void> {
  const rooms = new Map<string, ReturnType<typeof webhookEvents>>();
  let last: LiveKitWebhookEvent | undefined;

  /** Sends the events in order, stopping at the first the app does not answer. */
  const send = async (...events: LiveKitWebhookEvent[]) => {
    for (const event of events) {
      last = event;
      const what = `${event.event} ${event.room.name} (${event.id})`;
      try {
        const response = await sendWebhook(url, event, { apiKey: API_KEY, apiSecret: API_SECRET });
        out(`→ ${what}: ${response.status} ${(await response.text()).trim()}`);
      } catch (error) {
        out(`→ ${what}: no answer from ${url} (${unreachable(error)}); is npm run serve running?`);
        return;
      }
    }
  };

  const commands: Record<string, (room: string | undefined) => Promise<void> | void> = {
    start: async (room) => {
      if (!room) return out('start needs a room: start call-<id>');
      if (rooms.has(room)) return out(`${room} is already started here; hangup ${room} first.`);
      const events = webhookEvents(room);
      rooms.set(room, events);
      const started = events.roomStarted();
      const caller = events.participantJoined({
        identity: CALLER,
        kind: 'SIP',
        name: `Phone ${CALLER_NUMBER}`,
        attributes: { 'sip.phoneNumber': CALLER_NUMBER, 'sip.callStatus': 'active' },
      });
      const agent = events.participantJoined({ identity: AGENT, kind: 'AGENT', name: 'insurance-agent' });
      // The server knows them too, so a transfer or a listing finds them.
      for (const joined of [caller, agent]) if (joined.participant) server.join(room, joined.participant);
      await send(started, caller, agent, events.trackPublished({ identity: AGENT, type: 'AUDIO' }));
    },
    hangup: async (room) => {
      const events = room ? rooms.get(room) : undefined;
      if (!room || !events) return out(`No room ${room ?? ''} started here: start <room> first.`);
      rooms.delete(room);
      server.finish(room);
      await send(
        events.participantLeft({ identity: CALLER, disconnectReason: 'CLIENT_INITIATED' }),
        events.roomFinished(),
      );
    },
    replay: async () => {
      if (!last) return out('Nothing sent yet: start <room> first.');
      await send(last);
    },
    help: () => HELP.forEach(out),
  };

  for await (const line of createInterface({ input: process.stdin })) {
    const [name = '', room, ...extra] = line.trim().split(/\s+/);
    if (!name) continue;
    const command = commands[name.toLowerCase()];
    if (!command || extra.length > 0) {
      out(`Unknown command "${line.trim()}": type help.`);
      continue;
    }
    await command(room);
  }
}

async function main(): Promise<void> {
  const port = portFromEnv('LIVEKIT_LOCAL_PORT', 7880);
  if (!webhookUrl.success)
    throw new Error(`LIVEKIT_WEBHOOK_URL must be an http(s) URL, not "${process.env.LIVEKIT_WEBHOOK_URL}".`);
  const server = await startLiveKitServer({
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    port,
    onRequest: show,
  });
  const stop = async () => {
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  out(`Local LiveKit server on ${server.url} (Twirp API only: rooms, agent dispatch, SIP; no media).`);
  out('Run the app with these settings:');
  out(`  LIVEKIT_URL=${server.wsUrl} LIVEKIT_API_KEY=${API_KEY} LIVEKIT_API_SECRET=${API_SECRET}`);
  out(`Webhooks go to ${webhookUrl.data} (LIVEKIT_WEBHOOK_URL).`);
  out('Requests appear below; type help for the webhook commands; Ctrl-C stops.');
  await webhookConsole(server, webhookUrl.data);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
