import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AccessToken, RoomAgentDispatch, RoomConfiguration, TokenVerifier } from 'livekit-server-sdk';
import { z } from 'zod';
import { createStorageClients } from '../functions/platform/storage';
import { TABLES } from '../functions/platform/storageNames';
import { startAzurite, type AzuriteInstance } from '../local/azurite';
import { mulberry32 } from '../local/servers/aiServer';
import { signWebhook, startLiveKitServer, webhookEvents } from '../local/servers/livekitServer';
import { finishBench, nearestRank, round, wholeNumber } from './figures';
import { HostProcess } from './host';
import { CpuMeter, azuritePid } from './processes';

/**
 * `npm run bench:calls`: the call centre's two hot paths through the local host (`dist/cli/serve.js`
 * in a child process, on its own Azurite, pointed at the local LiveKit server), in one run:
 *   1. the token route: N tokens (default 5,000) asked by 32 keep-alive clients after a warm-up: the
 *      rate and the p50/p95/p99 latency; a sample checked with TokenVerifier (the call's room, no admin
 *      grant, the agent dispatched);
 *   2. the ceiling: the same tokens signed in this process with AccessToken, same grants, same
 *      concurrency, nothing else;
 *   3. webhook ingestion: M calls (default 500) made through the token route, each sent LiveKit's
 *      signed events (room started, a SIP caller joins, the agent joins, the caller hangs up, the room
 *      finishes) by 32 senders, 10% of the events delivered twice; then every call read back: calls
 *      whose record misses an event (lost), events applied twice (duplicated).
 * Each phase also records the CPU time per request of the host, Azurite and this process: where the
 * time goes. Writes bench/results/<date>-calls.json; progress on stderr; the last stdout line is the
 * summary JSON. Exits 1 when an event is lost or applied twice, or on an error; a missed speed goal is
 * reported, not failed.
 */
const APP_ROOT = path.resolve(__dirname, '..', '..');
const SERVE = path.join(APP_ROOT, 'dist', 'cli', 'serve.js');
const log = (line: string) => process.stderr.write(`${line}\n`);

// The run's keys and LiveKit credentials, random and never printed.
const FUNCTION_KEY = randomUUID();
const MASTER_KEY = randomUUID();
const LIVEKIT = {
  apiKey: `bench${randomBytes(4).toString('hex')}`,
  apiSecret: randomBytes(32).toString('hex'),
};
const AGENT = 'insurance-agent';
const PARTICIPANT_NAME = 'Bench caller';
const TOKEN_TTL_SECONDS = 15 * 60;

const CONCURRENCY = 32;
const WARM_UP_TOKENS = 300;
const VERIFIED_TOKENS = 100;
const REDELIVERED_SHARE = 0.1;
const EVENTS_PER_CALL = 5;

const REQUEST_DEADLINE_MS = 30_000;

const GOALS = { tokensPerSecond: 1000, tokenP99Ms: 50, webhooksPerSecond: 500 };

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      tokens: { type: 'string' },
      calls: { type: 'string' },
      'cpu-prof-dir': { type: 'string' },
    },
  });
  const tokens = wholeNumber('--tokens', values.tokens, 5000, 100, 1_000_000);
  const callCount = wholeNumber('--calls', values.calls, 500, 10, 100_000);
  if (!existsSync(SERVE)) throw new Error(`${SERVE} is missing: npm run build first.`);
  // V8 refuses --cpu-prof in NODE_OPTIONS: the host's profile is asked for here.
  if (values['cpu-prof-dir'])
    hostNodeArgs.push('--cpu-prof', `--cpu-prof-dir=${path.resolve(values['cpu-prof-dir'])}`);
  const loadAtStart = loadavg().map((load) => round(load));

  const livekit = await startLiveKitServer(LIVEKIT);
  const azurite = await startAzurite().catch(async (error: unknown) => {
    await livekit.stop();
    throw error;
  });
  let host: HostProcess | undefined;
  try {
    host = await HostProcess.start(
      {
        AzureWebJobsStorage: azurite.connectionString,
        FUNCTIONS_WORKER_RUNTIME: 'node',
        DURABLE_TASK_HUB: `calls${randomBytes(4).toString('hex')}`,
        AI_PROVIDER: 'offline',
        LIVEKIT_URL: livekit.wsUrl,
        LIVEKIT_API_KEY: LIVEKIT.apiKey,
        LIVEKIT_API_SECRET: LIVEKIT.apiSecret,
        CALLS_AGENT_NAME: AGENT,
        CALLS_TOKEN_TTL_MINUTES: String(TOKEN_TTL_SECONDS / 60),
      },
      { keys: { functionKey: FUNCTION_KEY, masterKey: MASTER_KEY }, nodeArgs: hostNodeArgs },
    );
    const client = new HttpClient(host.url);
    try {
      await run(client, new CpuMeter(host, azuritePid(azurite)), azurite, { tokens, callCount, loadAtStart });
    } finally {
      client.close();
    }
  } finally {
    await host?.stop();
    await Promise.all([azurite.stop(), livekit.stop()]);
  }
}

async function run(
  client: HttpClient,
  meter: CpuMeter,
  azurite: AzuriteInstance,
  { tokens, callCount, loadAtStart }: { tokens: number; callCount: number; loadAtStart: number[] },
): Promise<void> {
  log(`1. The token route: ${WARM_UP_TOKENS} to warm up, then ${tokens} from ${CONCURRENCY} clients…`);
  await askTokens(client, WARM_UP_TOKENS);
  const route = await meter.measure(tokens, () => askTokens(client, tokens));
  const tokenCheck = await verifySample(route.result.answers);
  const tokenLatency = percentiles(route.result.latencies);
  const tokensPerSecond = round(tokens / route.seconds);
  log(
    `   ${tokensPerSecond} tokens/s, p50 ${tokenLatency.p50Ms} ms, p99 ${tokenLatency.p99Ms} ms; ` +
      `CPU per token ${JSON.stringify(route.cpuMsPerOp)}; ${tokenCheck.verified} verified`,
  );

  log(`2. The ceiling: ${tokens} tokens signed in this process (AccessToken.toJwt)…`);
  await signTokens(WARM_UP_TOKENS);
  const raw = await meter.measure(tokens, () => signTokens(tokens));
  const rawTokensPerSecond = round(tokens / raw.seconds);
  log(`   ${rawTokensPerSecond} tokens/s (p99 ${percentiles(raw.result).p99Ms} ms)`);

  log(`3. Webhooks: ${callCount} calls, ${EVENTS_PER_CALL} events each, 10% delivered twice…`);
  const calls = await createCalls(client, callCount);
  const deliveries = await signedDeliveries(calls);
  const sent = await meter.measure(deliveries.total, () => deliverAll(client, deliveries.byCall));
  const webhooksPerSecond = round(deliveries.total / sent.seconds);
  const readBack = await readCallsBack(client, azurite, calls);
  const lost = new Set([...sent.result.lostCalls, ...readBack.lostCalls]);
  const duplicated = sent.result.appliedTwice + readBack.extraEvents;
  const webhookLatency = percentiles(sent.result.latencies);
  log(
    `   ${webhooksPerSecond} deliveries/s (p99 ${webhookLatency.p99Ms} ms), ${sent.result.deduplicated} ` +
      `redeliveries ignored; ${lost.size} calls lost, ${duplicated} duplicated; ` +
      `CPU per delivery ${JSON.stringify(sent.cpuMsPerOp)}`,
  );

  const goals = {
    tokensPerSecondAtLeast1000: tokensPerSecond >= GOALS.tokensPerSecond,
    tokenP99AtMost50Ms: tokenLatency.p99Ms <= GOALS.tokenP99Ms,
    webhooksPerSecondAtLeast500: webhooksPerSecond >= GOALS.webhooksPerSecond,
    nothingLost: lost.size === 0,
    nothingDuplicated: duplicated === 0,
  };
  const summary = {
    tokens,
    tokensPerSecond,
    ...prefixed('token', tokenLatency),
    rawTokensPerSecond,
    calls: callCount,
    webhookDeliveries: deliveries.total,
    webhooksPerSecond,
    lost: lost.size,
    duplicated,
  };
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    // Other work on the machine shows here: the figures are wall times.
    loadAverageAtStart: loadAtStart,
    concurrency: CONCURRENCY,
    tokenRoute: {
      tokens,
      warmUp: WARM_UP_TOKENS,
      seconds: round(route.seconds, 3),
      tokensPerSecond,
      latency: tokenLatency,
      cpuMsPerToken: route.cpuMsPerOp,
      cpuBoundRates: cpuBoundRates(route.cpuMsPerOp),
      check: tokenCheck,
    },
    bareSigning: {
      tokens,
      seconds: round(raw.seconds, 3),
      tokensPerSecond: rawTokensPerSecond,
      latency: percentiles(raw.result),
      cpuMsPerToken: raw.cpuMsPerOp,
    },
    ratio: round(tokensPerSecond / rawTokensPerSecond, 3),
    webhooks: {
      calls: callCount,
      events: callCount * EVENTS_PER_CALL,
      redeliveries: deliveries.total - callCount * EVENTS_PER_CALL,
      deliveries: deliveries.total,
      seconds: round(sent.seconds, 3),
      webhooksPerSecond,
      latency: webhookLatency,
      cpuMsPerDelivery: sent.cpuMsPerOp,
      cpuBoundRates: cpuBoundRates(sent.cpuMsPerOp),
      deduplicated: sent.result.deduplicated,
      appliedTwice: sent.result.appliedTwice,
      extraEventsOnRecords: readBack.extraEvents,
      lostCalls: lost.size,
      problems: [...sent.result.problems, ...readBack.problems].slice(0, 10),
    },
    goals,
    summary,
  };
  // A lost or doubled event is a wrong call record, not a slow run.
  finishBench('calls', result, goals, summary, ['nothingLost', 'nothingDuplicated']);
}

// --- 1. the token route ------------------------------------------------------------------------------

const tokenAnswerSchema = z.object({
  server_url: z.string(),
  participant_token: z.string(),
  serverUrl: z.string(),
  roomName: z.string().regex(/^call-[0-9a-f]{16}$/),
  participantName: z.string(),
  participantToken: z.string(),
});
type TokenAnswer = z.infer<typeof tokenAnswerSchema>;

const TOKEN_BODY = JSON.stringify({ participant_name: PARTICIPANT_NAME });

/** `count` tokens from the route, CONCURRENCY at a time; every answer must be a 201 with a token. */
async function askTokens(client: HttpClient, count: number) {
  const latencies: number[] = [];
  const answers = await pool(count, async () => {
    const started = performance.now();
    const answer = await client.call('POST', '/api/calls/token', TOKEN_BODY);
    latencies.push(performance.now() - started);
    if (answer.status !== 201)
      throw new Error(`POST /api/calls/token answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    return tokenAnswerSchema.parse(JSON.parse(answer.body));
  });
  return { answers, latencies };
}

const claimsSchema = z.object({
  sub: z.string(),
  name: z.string().optional(),
  exp: z.number(),
  nbf: z.number(),
  video: z.looseObject({
    room: z.string(),
    roomJoin: z.boolean().optional(),
    roomAdmin: z.boolean().optional(),
    roomCreate: z.boolean().optional(),
    roomList: z.boolean().optional(),
    roomRecord: z.boolean().optional(),
    hidden: z.boolean().optional(),
    agent: z.boolean().optional(),
  }),
  roomConfig: z.looseObject({
    agents: z.array(z.looseObject({ agentName: z.string(), metadata: z.string().optional() })),
  }),
});

/** Checks tokens spread over the run as LiveKit would, and the grants a caller must (not) have. */
async function verifySample(answers: TokenAnswer[]) {
  const verifier = new TokenVerifier(LIVEKIT.apiKey, LIVEKIT.apiSecret);
  const step = Math.max(1, Math.floor(answers.length / VERIFIED_TOKENS));
  const problems: string[] = [];
  let verified = 0;
  for (let index = 0; index < answers.length; index += step) {
    const answer = answers[index];
    if (!answer) continue;
    verified++;
    const problem = await tokenProblem(verifier, answer);
    if (problem) problems.push(`token ${index} (${answer.roomName}): ${problem}`);
  }
  if (problems.length > 0)
    throw new Error(`${problems.length} of ${verified} tokens checked are wrong:\n${problems.join('\n')}`);
  return { verified, wrong: 0 };
}

async function tokenProblem(verifier: TokenVerifier, answer: TokenAnswer): Promise<string | undefined> {
  if (answer.participant_token !== answer.participantToken) return 'participant_token ≠ participantToken';
  let claims: z.infer<typeof claimsSchema>;
  try {
    claims = claimsSchema.parse(await verifier.verify(answer.participantToken));
  } catch (error) {
    return `does not verify: ${error instanceof Error ? error.message : String(error)}`;
  }
  const { video, roomConfig } = claims;
  if (video.room !== answer.roomName) return `room grant ${video.room}, answered ${answer.roomName}`;
  if (!video.roomJoin) return 'no roomJoin grant';
  const admin = (['roomAdmin', 'roomCreate', 'roomList', 'roomRecord', 'hidden', 'agent'] as const).filter(
    (grant) => video[grant],
  );
  if (admin.length > 0) return `grants a caller must not have: ${admin.join(', ')}`;
  if (roomConfig.agents.length !== 1 || roomConfig.agents[0]?.agentName !== AGENT)
    return `dispatches ${JSON.stringify(roomConfig.agents)}, not ${AGENT}`;
  if (claims.name !== PARTICIPANT_NAME) return `name ${claims.name}, asked ${PARTICIPANT_NAME}`;
  if (claims.exp - claims.nbf !== TOKEN_TTL_SECONDS) return `lives ${claims.exp - claims.nbf} s`;
  return undefined;
}

// --- 2. the ceiling ----------------------------------------------------------------------------------

/** The route's token without the route: the same claims and room configuration, signed here. */
async function signTokens(count: number): Promise<number[]> {
  const latencies: number[] = [];
  await pool(count, async () => {
    const started = performance.now();
    const id = randomBytes(8).toString('hex');
    const token = new AccessToken(LIVEKIT.apiKey, LIVEKIT.apiSecret, {
      identity: `caller-${randomBytes(6).toString('hex')}`,
      ttl: TOKEN_TTL_SECONDS,
      name: PARTICIPANT_NAME,
    });
    token.addGrant({
      roomJoin: true,
      room: `call-${id}`,
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
    });
    token.roomConfig = new RoomConfiguration({
      agents: [
        new RoomAgentDispatch({
          agentName: AGENT,
          metadata: JSON.stringify({ callId: id, direction: 'inbound' }),
        }),
      ],
    });
    await token.toJwt();
    latencies.push(performance.now() - started);
  });
  return latencies;
}

// --- 3. webhooks -------------------------------------------------------------------------------------

interface BenchCall {
  id: string;
  room: string;
  /** The SIP caller's number: its last four digits must show on the record. */
  phone: string;
}

async function createCalls(client: HttpClient, count: number): Promise<BenchCall[]> {
  const { answers } = await askTokens(client, count);
  return answers.map((answer, index) => ({
    id: answer.roomName.slice('call-'.length),
    room: answer.roomName,
    // A French mobile number per call (+33 6 1…), so a record showing another call's digits is caught.
    phone: `+3361${String(index).padStart(7, '0')}`,
  }));
}

interface Delivery {
  call: BenchCall;
  eventId: string;
  event: string;
  body: string;
  authorization: string;
  /** Delivered a second time once the first delivery is answered, as LiveKit retries. */
  redeliver: boolean;
}

/**
 * Each call's events, signed before the clock starts (signing is LiveKit's work, not the app's); a
 * seeded tenth of them marked for redelivery.
 */
async function signedDeliveries(calls: BenchCall[]) {
  const byCall: Delivery[][] = [];
  for (const call of calls) {
    const events = webhookEvents(call.room);
    const caller = `sip_${call.phone}`;
    const sequence = [
      events.roomStarted(),
      events.participantJoined({
        identity: caller,
        kind: 'SIP',
        name: 'Phone',
        attributes: { 'sip.phoneNumber': call.phone, 'sip.callStatus': 'active' },
      }),
      events.participantJoined({ identity: `agent-${call.id}`, kind: 'AGENT', name: AGENT }),
      events.participantLeft({ identity: caller, disconnectReason: 'CLIENT_INITIATED' }),
      events.roomFinished(),
    ];
    byCall.push(
      await Promise.all(
        sequence.map(async (event) => {
          const body = JSON.stringify(event);
          return {
            call,
            eventId: event.id,
            event: event.event,
            body,
            authorization: await signWebhook(body, LIVEKIT),
            redeliver: false,
          };
        }),
      ),
    );
  }
  const all = byCall.flat();
  const random = mulberry32(9);
  const order = all.map((delivery) => ({ delivery, key: random() })).sort((a, b) => a.key - b.key);
  const redelivered = Math.round(all.length * REDELIVERED_SHARE);
  for (const { delivery } of order.slice(0, redelivered)) delivery.redeliver = true;
  return { byCall, total: all.length + redelivered };
}

const webhookAnswerSchema = z.object({
  event: z.string(),
  applied: z.boolean(),
  reason: z.string().optional(),
});

/**
 * CONCURRENCY senders, each taking the next call and sending its events in order (LiveKit sends a
 * room's events in order); a redelivery follows its first delivery's answer, so it must answer
 * applied:false.
 */
async function deliverAll(client: HttpClient, byCall: Delivery[][]) {
  const latencies: number[] = [];
  const lostCalls = new Set<string>();
  const problems: string[] = [];
  let deduplicated = 0;
  let appliedTwice = 0;
  const send = async (delivery: Delivery) => {
    const started = performance.now();
    const answer = await client.call('POST', '/api/calls/livekit-webhook', delivery.body, {
      'content-type': 'application/webhook+json',
      authorization: delivery.authorization,
    });
    latencies.push(performance.now() - started);
    if (answer.status !== 200)
      throw new Error(
        `The webhook ${delivery.event} of ${delivery.call.room} answered ${answer.status}: ${answer.body.slice(0, 300)}`,
      );
    return webhookAnswerSchema.parse(JSON.parse(answer.body));
  };
  await pool(byCall.length, async (index) => {
    for (const delivery of byCall[index] ?? []) {
      const first = await send(delivery);
      if (!first.applied) {
        lostCalls.add(delivery.call.id);
        problems.push(
          `${delivery.call.room} ${delivery.event}: not applied (${first.reason ?? 'no reason'})`,
        );
      }
      if (!delivery.redeliver) continue;
      const again = await send(delivery);
      if (again.applied) {
        appliedTwice++;
        problems.push(`${delivery.call.room} ${delivery.event}: the redelivery was applied again`);
      } else deduplicated++;
    }
  });
  return { latencies, lostCalls, problems, deduplicated, appliedTwice };
}

const callViewSchema = z.object({
  id: z.string(),
  status: z.string(),
  caller: z.string().nullable(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  endedReason: z.string().nullable(),
});
const storedCallSchema = z.object({ events: z.array(z.string()) });

/**
 * Every call as an operator sees it (`GET /api/calls/{id}`: ended, with its start, end and the
 * caller's last four digits), and its stored record's event ids (each applied event once).
 */
async function readCallsBack(client: HttpClient, azurite: AzuriteInstance, calls: BenchCall[]) {
  const lostCalls = new Set<string>();
  const problems: string[] = [];
  await pool(calls.length, async (index) => {
    const call = calls[index];
    if (!call) return;
    const answer = await client.call('GET', `/api/calls/${call.id}`);
    if (answer.status !== 200) throw new Error(`GET /api/calls/${call.id} answered ${answer.status}.`);
    const view = callViewSchema.parse(JSON.parse(answer.body));
    const expected = `…${call.phone.slice(-4)}`;
    const wrong = [
      view.status !== 'ended' && `status ${view.status}`,
      !view.startedAt && 'no startedAt',
      !view.endedAt && 'no endedAt',
      view.caller !== expected && `caller ${view.caller}, not ${expected}`,
      view.endedReason !== 'caller-hung-up' && `endedReason ${view.endedReason}`,
    ].filter(Boolean);
    if (wrong.length > 0) {
      lostCalls.add(call.id);
      problems.push(`${call.room}: ${wrong.join(', ')}`);
    }
  });

  const storage = createStorageClients({
    kind: 'connectionString',
    connectionString: azurite.connectionString,
  });
  const wanted = new Map(calls.map((call) => [call.id, call]));
  const seen = new Set<string>();
  let extraEvents = 0;
  const rows = storage.table(TABLES.calls).listEntities<{ doc?: unknown }>({
    queryOptions: { select: ['RowKey', 'doc'] },
  });
  for await (const row of rows) {
    const call = wanted.get(row.rowKey ?? '');
    if (!call) continue;
    seen.add(call.id);
    const { events } = storedCallSchema.parse(JSON.parse(String(row.doc)));
    const distinct = new Set(events).size;
    extraEvents += events.length - distinct;
    if (distinct !== EVENTS_PER_CALL) {
      lostCalls.add(call.id);
      problems.push(`${call.room}: ${distinct} distinct events on the record, not ${EVENTS_PER_CALL}`);
    }
    if (events.length !== distinct) problems.push(`${call.room}: an event id twice on the record`);
  }
  for (const call of calls) {
    if (seen.has(call.id)) continue;
    lostCalls.add(call.id);
    problems.push(`${call.room}: no row in the ${TABLES.calls} table`);
  }
  return { lostCalls, problems, extraEvents };
}

// --- the host in a child process ---------------------------------------------------------------------

/** Node options of the host process (`--cpu-prof-dir`: a CPU profile, written when it stops). */
const hostNodeArgs: string[] = [];

// --- HTTP with keep-alive ----------------------------------------------------------------------------

/**
 * node:http with a keep-alive agent of CONCURRENCY sockets: lighter than fetch, so on a small machine
 * the client takes less of the CPU the host needs.
 */
class HttpClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  private readonly origin: URL;

  constructor(url: string) {
    this.origin = new URL(url);
  }

  call(
    method: 'GET' | 'POST',
    route: string,
    body?: string,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const request = httpRequest(
        {
          host: this.origin.hostname,
          port: this.origin.port,
          method,
          path: route,
          agent: this.agent,
          headers: {
            ...headers,
            'x-functions-key': FUNCTION_KEY,
            ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
        },
      );
      request.setTimeout(REQUEST_DEADLINE_MS, () =>
        request.destroy(new Error(`${method} ${route}: no answer within ${REQUEST_DEADLINE_MS / 1000} s.`)),
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

// --- figures -----------------------------------------------------------------------------------------

/** Runs `task(0…count-1)`, CONCURRENCY at a time; the first failure fails the whole. */
async function pool<T>(count: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < count) {
      const index = next++;
      try {
        results[index] = await task(index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
  return results;
}

/** Nearest-rank percentiles, in ms. */
function percentiles(latencies: number[]) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (p: number) => round(nearestRank(sorted, p), 1);
  return { p50Ms: at(50), p95Ms: at(95), p99Ms: at(99), maxMs: at(100) };
}

/** `{p50Ms}` → `{tokenP50Ms}`, for the one-line summary. */
function prefixed(prefix: string, figures: ReturnType<typeof percentiles>) {
  return {
    [`${prefix}P50Ms`]: figures.p50Ms,
    [`${prefix}P95Ms`]: figures.p95Ms,
    [`${prefix}P99Ms`]: figures.p99Ms,
  };
}

/**
 * The rates the measured CPU costs allow: the host's one thread busy all the time, and every CPU of
 * the machine busy with the host, Azurite and the clients. The lower one is the limit of the run.
 */
function cpuBoundRates(cpuMs: { host: number; azurite: number; bench: number }) {
  return {
    hostThreadPerSecond: round(1000 / cpuMs.host),
    allCpusPerSecond: round((availableParallelism() * 1000) / (cpuMs.host + cpuMs.azurite + cpuMs.bench)),
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
