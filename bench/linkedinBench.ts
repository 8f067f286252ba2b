import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createStorageClients, type StorageClients } from '../functions/platform/storage';
import { TABLES } from '../functions/platform/storageNames';
import { freePort, startAzurite } from '../local/azurite';
import { mulberry32 } from '../local/servers/aiServer';
import {
  startLinkedInServer,
  type LinkedInPost,
  type LinkedInRequest,
  type LinkedInServer,
} from '../local/servers/linkedinServer';
import { finishBench, nearestRank, round, wholeNumber } from './figures';
import { HostProcess, SERVE } from './host';
import { azuritePid, cpuSeconds } from './processes';

/**
 * `npm run bench:linkedin`: N text posts (default 1,000) due at once, published by the app through the
 * local host (`dist/cli/serve.js` in a child process, on its own Azurite) against the local LinkedIn
 * server, with a rate limit on post creation (default 50 a second), 2 % of creates answered after the
 * app's timeout (but performed) and 5 % answered 500 (half of them after creating the post, as LinkedIn
 * sometimes does). The account is connected through the app's OAuth routes, the posts created through
 * its route, and the publish timer run through the admin API, again whenever due posts remain, until no
 * post is scheduled or publishing (or the deadline). Then every post is read back: published or
 * unconfirmed, never twice on LinkedIn, and every post on LinkedIn one the app shows published or
 * unconfirmed. Writes bench/results/<date>-linkedin.json; progress on stderr; the last stdout line is
 * the summary JSON. Exits 1 on a duplicate, a second create of the same post, a post on LinkedIn the
 * app does not account for, or a post neither published nor unconfirmed (except one still waiting
 * after a 429: LinkedIn asked for it later, which the file reports); a slow drain is reported, not failed.
 */
const log = (line: string) => process.stderr.write(`${line}\n`);

// The run's keys and LinkedIn app, random and never printed.
const KEYS = { functionKey: randomUUID(), masterKey: randomUUID() };
const CLIENT = {
  clientId: `bench-${randomBytes(4).toString('hex')}`,
  clientSecret: randomBytes(24).toString('hex'),
};

/** LINKEDIN_TIMEOUT_MS of the app, and how late a slow create answers: after the app gave up. */
const TIMEOUT_MS = 1500;
const SLOW_ANSWER_MS = 3000;
const SLOW_SHARE = 0.02;
const ERROR_SHARE = 0.05;
/** The share of the 500s answered after the post was created. */
const PERFORMED_ERROR_SHARE = 0.5;
const FAULT_SEED = 11;

const CREATE_CONCURRENCY = 16;
/** How far ahead the posts are scheduled: time to create them all (the app refuses a time over a minute past). */
const MIN_LEAD_MS = 5000;
const LEAD_MS_PER_POST = 20;
const CHECK_EVERY_MS = 500;
/** How often the timer may run again while due posts remain (the app's own schedule is every minute). */
const TIMER_EVERY_MS = 5000;
/** How long a timer run may take to claim what is due before the next one is allowed anyway. */
const TIMER_RUN_DEADLINE_MS = 120_000;
// A progress line when the counts moved, at most this often (and once a minute while they wait).
const PROGRESS_EVERY_MS = 10_000;
const QUIET_PROGRESS_EVERY_MS = 60_000;
/** Posts created on LinkedIn this soon after the first timer run are its wave (a 429 reschedules by 5 min). */
const FIRST_WAVE_MS = 60_000;

// The timer runs when the bench says (the admin API), never on its own.
const NEVER_SCHEDULE = '0 0 0 1 1 *';

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      posts: { type: 'string' },
      rate: { type: 'string' },
      'deadline-minutes': { type: 'string' },
    },
  });
  const count = wholeNumber('--posts', values.posts, 1000, 10, 20_000);
  const rate = wholeNumber('--rate', values.rate, 50, 1, 10_000);
  const deadlineMinutes = wholeNumber('--deadline-minutes', values['deadline-minutes'], 20, 1, 120);
  if (!existsSync(SERVE)) throw new Error(`${SERVE} is missing: npm run build first.`);
  const loadAtStart = loadavg().map((load) => round(load));

  const plan = new FaultPlan(count);
  const linkedin = await startLinkedInServer({ ...CLIENT, onRequest: (request) => plan.answered(request) });
  const azurite = await startAzurite().catch(async (error: unknown) => {
    await linkedin.stop();
    throw error;
  });
  let host: HostProcess | undefined;
  try {
    const port = await freePort();
    const redirectUri = `http://127.0.0.1:${port}/api/linkedin/callback`;
    host = await HostProcess.start(
      {
        AzureWebJobsStorage: azurite.connectionString,
        FUNCTIONS_WORKER_RUNTIME: 'node',
        DURABLE_TASK_HUB: `linkedin${randomBytes(4).toString('hex')}`,
        AI_PROVIDER: 'offline',
        LINKEDIN_CLIENT_ID: CLIENT.clientId,
        LINKEDIN_CLIENT_SECRET: CLIENT.clientSecret,
        LINKEDIN_REDIRECT_URI: redirectUri,
        LINKEDIN_TOKEN_KEY: randomBytes(32).toString('base64'),
        LINKEDIN_API_URL: linkedin.url,
        LINKEDIN_AUTH_URL: linkedin.url,
        LINKEDIN_TIMEOUT_MS: String(TIMEOUT_MS),
        LINKEDIN_PUBLISH_SCHEDULE: NEVER_SCHEDULE,
      },
      { keys: KEYS, port },
    );
    const storage = createStorageClients({
      kind: 'connectionString',
      connectionString: azurite.connectionString,
    });
    await run({
      host,
      linkedin,
      plan,
      storage,
      azuritePid: azuritePid(azurite),
      count,
      rate,
      deadlineMs: deadlineMinutes * 60_000,
      loadAtStart,
    });
  } finally {
    await host?.stop();
    await Promise.all([azurite.stop(), linkedin.stop()]);
  }
}

interface World {
  host: HostProcess;
  linkedin: LinkedInServer;
  plan: FaultPlan;
  storage: StorageClients;
  azuritePid: number;
  count: number;
  rate: number;
  deadlineMs: number;
  loadAtStart: number[];
}

async function run(world: World): Promise<void> {
  const { host, linkedin, count, rate } = world;
  log('1. Connecting an account through the app’s OAuth routes…');
  const account = await connect(host);
  log(`   connected ${account.id} (${account.scopes.join(' ')})`);

  // All due at the same instant, a little after they are all written: the timer then runs at that
  // instant, so a post's delay is the publisher's, not the time the bench took to create the others.
  const dueAt = new Date(Date.now() + Math.max(MIN_LEAD_MS, count * LEAD_MS_PER_POST));
  log(`2. ${count} text posts, all due at ${dueAt.toISOString()}…`);
  const created = await createPosts(host, count, dueAt.toISOString());
  log(`   created in ${created.seconds.toFixed(1)} s`);
  await sleep(dueAt.getTime() - Date.now());

  log(
    `3. The publish timer, with LinkedIn limited to ${rate} creates/s, ` +
      `${pct(SLOW_SHARE)} slow creates (answered after ${SLOW_ANSWER_MS} ms, the app waits ${TIMEOUT_MS}) ` +
      `and ${pct(ERROR_SHARE)} 500s (${pct(PERFORMED_ERROR_SHARE)} of them after creating the post)…`,
  );
  linkedin.rateLimit = { perSecond: rate };
  world.plan.start(linkedin);
  const drain = await drainQueue(world);

  await answersSent(linkedin);
  const outcome = await readBack(world, created.posts, drain.startedAt);
  const serverSide = creates(linkedin, drain.startedAt);
  const seconds = round(outcome.seconds);
  const drainPostsPerSecond = seconds > 0 ? round((count - outcome.waiting) / seconds) : 0;
  log(
    `   drained in ${seconds} s (${drainPostsPerSecond} posts/s; the limit ${rate}/s): ` +
      `${JSON.stringify(outcome.byStatus)}; LinkedIn answered ${JSON.stringify(serverSide.answers)}`,
  );

  const goals = {
    noDuplicates: outcome.duplicates === 0,
    noSecondCreate: serverSide.secondCreates === 0,
    everyLinkedInPostAccountedFor: outcome.problems.orphans.length === 0,
    everyPublishedPostOnLinkedIn: outcome.problems.missing.length === 0,
    everyPostPublishedOrUnconfirmed: outcome.problems.unsettled.length === 0,
    drainedAtTheRateLimit: drainPostsPerSecond >= 0.8 * rate,
  };
  const summary = {
    posts: count,
    seconds,
    published: outcome.byStatus.published ?? 0,
    unconfirmed: outcome.byStatus.unconfirmed ?? 0,
    // The local server refuses the same text twice (422, as LinkedIn does): a second create counts too.
    duplicates: outcome.duplicates + serverSide.secondCreates,
    p95DelaySeconds: outcome.delay.p95Seconds,
  };
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    // Other work on the machine shows here: the figures are wall times.
    loadAverageAtStart: world.loadAtStart,
    setup: {
      posts: count,
      rateLimitPerSecond: rate,
      burst: rate,
      appTimeoutMs: TIMEOUT_MS,
      slowAnswerMs: SLOW_ANSWER_MS,
      planned: world.plan.planned,
      createConcurrency: CREATE_CONCURRENCY,
      timerEverySecondsWhileDue: TIMER_EVERY_MS / 1000,
      deadlineSeconds: world.deadlineMs / 1000,
    },
    createSeconds: round(created.seconds, 2),
    dueAt: dueAt.toISOString(),
    drain: {
      seconds,
      postsPerSecond: drainPostsPerSecond,
      timerRuns: drain.timerRuns,
      deadlineReached: drain.deadlineReached,
      cpuSeconds: drain.cpuSeconds,
    },
    byStatus: outcome.byStatus,
    byReason: outcome.byReason,
    delay: outcome.delay,
    rateLimitedPosts: outcome.rateLimitedPosts,
    waitingAfter429: outcome.waiting,
    linkedin: serverSide,
    unconfirmedExplained: {
      unconfirmed: outcome.byStatus.unconfirmed ?? 0,
      // Each unconfirmed post should be one of these: a create answered 500, or answered after the app gave up.
      injected500s: serverSide.answers['500'] ?? 0,
      answeredTooLate: serverSide.answeredTooLate,
      unexplained:
        (outcome.byStatus.unconfirmed ?? 0) - (serverSide.answers['500'] ?? 0) - serverSide.answeredTooLate,
    },
    duplicates: outcome.duplicates,
    problems: {
      orphans: outcome.problems.orphans.slice(0, 10),
      missing: outcome.problems.missing.slice(0, 10),
      unsettled: outcome.problems.unsettled.slice(0, 10),
    },
    goals,
    summary,
  };
  // A post twice on LinkedIn, or one the app lost track of, is a wrong result, not a slow run.
  finishBench(
    'linkedin',
    result,
    goals,
    summary,
    Object.keys(goals).filter((goal) => goal !== 'drainedAtTheRateLimit'),
  );
}

const pct = (share: number) => `${round(share * 100, 1)} %`;

// --- 1. the connection -------------------------------------------------------------------------------

const accountsSchema = z.object({
  accounts: z.array(z.looseObject({ id: z.string(), status: z.string(), scopes: z.array(z.string()) })),
});

/** The member's browser: the app's connect route → LinkedIn's page (approves at once) → the app's callback. */
async function connect(host: HostProcess) {
  const start = await host.call('GET', '/api/linkedin/connect', 'function');
  const authorize = start.headers.get('location');
  if (start.status !== 302 || !authorize)
    throw new Error(`GET /api/linkedin/connect answered ${start.status}: ${start.body.slice(0, 300)}`);
  const approved = await fetch(authorize, { redirect: 'manual' });
  const callback = approved.headers.get('location');
  if (!callback) throw new Error(`LinkedIn's authorization answered ${approved.status} without a redirect.`);
  const page = await fetch(callback, { redirect: 'manual' });
  const html = await page.text();
  if (page.status !== 200 || !html.includes('Connected as'))
    throw new Error(`The callback answered ${page.status}: ${html.slice(0, 300)}`);
  const listed = await host.call('GET', '/api/linkedin/accounts', 'function');
  const account = accountsSchema.parse(JSON.parse(listed.body)).accounts[0];
  if (account?.status !== 'connected')
    throw new Error(`After the callback the account is ${account?.status ?? 'missing'}: ${listed.body}`);
  return account;
}

// --- 2. the posts ------------------------------------------------------------------------------------

interface BenchPost {
  id: string;
  text: string;
  scheduledAt: string;
}

const createdSchema = z.object({ id: z.string(), status: z.literal('scheduled'), scheduledAt: z.string() });

const TOPICS = [
  'what we learned shipping on Fridays',
  'three questions to ask before a rewrite',
  'why our onboarding takes one afternoon',
  'the meeting we cancelled (and did not miss)',
  'notes from the support inbox',
  'a checklist for the first week in a new team',
];

/**
 * `count` distinct text posts, all with the same `scheduledAt`, CREATE_CONCURRENCY at a time.
 * The parentheses need LinkedIn's escaping: a post cut at one would not match its text on the server.
 */
async function createPosts(host: HostProcess, count: number, scheduledAt: string) {
  const run = randomBytes(3).toString('hex');
  const started = performance.now();
  const posts: BenchPost[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const text = `Post ${index + 1} of run ${run} (bench): ${TOPICS[index % TOPICS.length] ?? ''}.`;
      const answer = await host.call('POST', '/api/linkedin/posts', 'function', { text, scheduledAt });
      if (answer.status !== 201)
        throw new Error(`POST /api/linkedin/posts answered ${answer.status}: ${answer.body.slice(0, 300)}`);
      const created = createdSchema.parse(JSON.parse(answer.body));
      posts[index] = { id: created.id, text, scheduledAt };
    }
  };
  await Promise.all(Array.from({ length: Math.min(CREATE_CONCURRENCY, count) }, worker));
  return { posts, seconds: (performance.now() - started) / 1000 };
}

// --- 3. the faults -----------------------------------------------------------------------------------

type Outcome = 'ok' | 'slow' | 'error-performed' | 'error';

/**
 * What LinkedIn does to each create, drawn (seeded) in advance and spread over the run: the server's
 * faults apply to the next calls, so each create it answers (429s aside) arms the next outcome.
 */
class FaultPlan {
  private readonly outcomes: Outcome[];
  private next = 0;
  private server: LinkedInServer | undefined;
  readonly planned: Record<Outcome, number>;

  constructor(count: number) {
    const slow = Math.round(count * SLOW_SHARE);
    const errors = Math.round(count * ERROR_SHARE);
    const performed = Math.round(errors * PERFORMED_ERROR_SHARE);
    this.planned = {
      ok: count - slow - errors,
      slow,
      'error-performed': performed,
      error: errors - performed,
    };
    const random = mulberry32(FAULT_SEED);
    this.outcomes = (Object.entries(this.planned) as Array<[Outcome, number]>)
      .flatMap(([outcome, n]) => Array.from({ length: n }, () => outcome))
      .map((outcome) => ({ outcome, key: random() }))
      .sort((a, b) => a.key - b.key)
      .map(({ outcome }) => outcome);
  }

  start(server: LinkedInServer): void {
    this.server = server;
    this.armNext();
  }

  answered(request: LinkedInRequest): void {
    if (this.server && request.route === 'createPost' && request.status !== 429) this.armNext();
  }

  private armNext(): void {
    const outcome = this.outcomes[this.next++];
    if (outcome === 'slow') this.server?.slowCreate({ delayMs: SLOW_ANSWER_MS });
    else if (outcome === 'error' || outcome === 'error-performed')
      this.server?.fault('createPost', { status: 500, performed: outcome === 'error-performed' });
  }
}

// --- 4. the drain ------------------------------------------------------------------------------------

interface Progress {
  byStatus: Record<string, number>;
  /** Scheduled posts whose time has come. */
  due: number;
  /** Scheduled posts that will be due later (rescheduled after a 429). */
  later: number;
}

/** The posts table's status and scheduledAt columns, as an operator's script would read them. */
async function progress(storage: StorageClients): Promise<Progress> {
  const now = new Date().toISOString();
  const result: Progress = { byStatus: {}, due: 0, later: 0 };
  const rows = storage.table(TABLES.linkedinPosts).listEntities<{ status?: unknown; scheduledAt?: unknown }>({
    queryOptions: { select: ['status', 'scheduledAt'] },
  });
  for await (const row of rows) {
    if (typeof row.status !== 'string') continue;
    result.byStatus[row.status] = (result.byStatus[row.status] ?? 0) + 1;
    if (row.status !== 'scheduled') continue;
    if (typeof row.scheduledAt === 'string' && row.scheduledAt > now) result.later++;
    else result.due++;
  }
  return result;
}

/** Runs the publish timer through the admin API; resolves when that run says what it started. */
async function runTimer(host: HostProcess): Promise<void> {
  const done = host.waitForLine(
    /linkedinPublishDue: LinkedIn: \d+ started/,
    TIMER_RUN_DEADLINE_MS,
    'to finish a timer run',
  );
  done.catch(() => undefined); // awaited by the caller; a failed admin call must not leave it unhandled
  const answer = await host.call('POST', '/admin/functions/linkedinPublishDue', 'master');
  if (answer.status !== 202)
    throw host.failure(`answered ${answer.status} to the admin timer run: ${answer.body.slice(0, 300)}`);
  // A run past its deadline (or that found nothing due) only lets the next one start.
  await done.then(
    () => undefined,
    () => undefined,
  );
}

/**
 * The first timer run, then another every TIMER_EVERY_MS while due posts remain (none while one runs),
 * until no post is scheduled or publishing, or the deadline.
 */
async function drainQueue(world: World) {
  const { host, storage, deadlineMs } = world;
  const cpuBefore = { host: host.cpuSeconds(), azurite: cpuSeconds(world.azuritePid) };
  const startedAt = Date.now();
  let timerRuns = 0;
  let lastRunAt = 0;
  let running: Promise<void> | undefined;
  const startRun = () => {
    timerRuns++;
    lastRunAt = Date.now();
    running = runTimer(host).finally(() => {
      running = undefined;
    });
    running.catch(() => undefined); // a failure shows through `failure` below
    return running;
  };
  let failure: Error | undefined;
  const failed = (error: unknown) => {
    failure = error instanceof Error ? error : new Error(String(error));
  };
  void startRun().catch(failed);
  let lastNote = Date.now();
  let lastCounts = '';
  let deadlineReached = false;
  for (;;) {
    await sleep(CHECK_EVERY_MS);
    if (failure) throw failure;
    if (!host.alive) throw host.failure('stopped while publishing');
    const now = await progress(storage);
    const publishing = now.byStatus.publishing ?? 0;
    if (!running && publishing === 0 && now.due === 0 && now.later === 0) break;
    if (Date.now() - startedAt > deadlineMs) {
      deadlineReached = true;
      log(`   deadline: ${JSON.stringify(now.byStatus)}, ${now.later} waiting after a 429`);
      break;
    }
    if (!running && now.due > 0 && Date.now() - lastRunAt >= TIMER_EVERY_MS) void startRun().catch(failed);
    const counts = JSON.stringify(now.byStatus);
    const quiet = counts === lastCounts;
    if (Date.now() - lastNote >= (quiet ? QUIET_PROGRESS_EVERY_MS : PROGRESS_EVERY_MS)) {
      lastNote = Date.now();
      lastCounts = counts;
      log(
        `   … ${round((Date.now() - startedAt) / 1000, 0)} s: ${counts}` +
          (now.later ? `, ${now.later} rescheduled after a 429` : ''),
      );
    }
  }
  await running;
  return {
    startedAt,
    timerRuns,
    deadlineReached,
    cpuSeconds: {
      host: round(host.cpuSeconds() - cpuBefore.host),
      azurite: round(cpuSeconds(world.azuritePid) - cpuBefore.azurite),
    },
  };
}

// --- 5. read back ------------------------------------------------------------------------------------

const listedSchema = z.object({
  posts: z.array(
    z.looseObject({
      id: z.string(),
      text: z.string(),
      status: z.string(),
      updatedAt: z.string(),
      scheduledAt: z.string().optional(),
      publishedAt: z.string().optional(),
      urn: z.string().optional(),
      reason: z.string().optional(),
      rateLimited: z.number().optional(),
    }),
  ),
});

/** Every post as the app shows it (`GET /api/linkedin/posts`), matched with what LinkedIn holds. */
async function readBack(world: World, posts: BenchPost[], startedAt: number) {
  const answer = await world.host.call('GET', '/api/linkedin/posts', 'function');
  if (answer.status !== 200) throw new Error(`GET /api/linkedin/posts answered ${answer.status}.`);
  const listed = listedSchema.parse(JSON.parse(answer.body)).posts;
  const ours = new Map(posts.map((post) => [post.id, post]));
  const shown = listed.filter((post) => ours.has(post.id));

  const byStatus: Record<string, number> = {};
  const byReason: Record<string, number> = {};
  let lastSettled = startedAt;
  let waiting = 0;
  const delays: number[] = [];
  const fromTimer: number[] = [];
  const unsettled: string[] = [];
  for (const post of shown) {
    byStatus[post.status] = (byStatus[post.status] ?? 0) + 1;
    if (post.reason) {
      const key = `${post.status}: ${post.reason.replace(/\(.*$/, '').trim()}`;
      byReason[key] = (byReason[key] ?? 0) + 1;
    }
    if (post.status === 'published' || post.status === 'unconfirmed')
      lastSettled = Math.max(lastSettled, Date.parse(post.updatedAt));
    if (post.status === 'published' && post.publishedAt) {
      // From the time the person asked for, not the one a 429 moved it to.
      const asked = ours.get(post.id)?.scheduledAt ?? post.scheduledAt ?? post.publishedAt;
      delays.push((Date.parse(post.publishedAt) - Date.parse(asked)) / 1000);
      fromTimer.push((Date.parse(post.publishedAt) - startedAt) / 1000);
    }
    if (post.status === 'scheduled' && (post.rateLimited ?? 0) > 0) waiting++;
    else if (post.status !== 'published' && post.status !== 'unconfirmed')
      unsettled.push(`${post.id}: ${post.status}${post.reason ? ` (${post.reason})` : ''}`);
  }
  const listedIds = new Set(shown.map((post) => post.id));
  for (const post of posts) if (!listedIds.has(post.id)) unsettled.push(`${post.id}: not listed by the app`);

  // LinkedIn's side: each post text once, each one a post the app shows published or unconfirmed.
  const live = world.linkedin.posts.filter((post) => !post.deleted);
  const byText = new Map<string, LinkedInPost[]>();
  for (const post of live) byText.set(post.text, [...(byText.get(post.text) ?? []), post]);
  const shownByText = new Map(shown.map((post) => [post.text, post]));
  let duplicates = 0;
  const orphans: string[] = [];
  for (const [text, copies] of byText) {
    duplicates += copies.length - 1;
    const post = shownByText.get(text);
    if (!post || (post.status !== 'published' && post.status !== 'unconfirmed'))
      orphans.push(
        `${copies[0]?.urn ?? '?'} "${text.slice(0, 60)}": the app shows ${post?.status ?? 'nothing'}`,
      );
  }
  const urns = new Map(live.map((post) => [post.urn, post]));
  const missing = shown
    .filter((post) => post.status === 'published' && urns.get(post.urn ?? '')?.text !== post.text)
    .map((post) => `${post.id} published as ${post.urn ?? 'no URN'}: not that post on LinkedIn`);

  delays.sort((a, b) => a - b);
  fromTimer.sort((a, b) => a - b);
  return {
    seconds: (lastSettled - startedAt) / 1000,
    byStatus,
    byReason,
    waiting,
    rateLimitedPosts: shown.filter((post) => (post.rateLimited ?? 0) > 0).length,
    delay: {
      p50Seconds: round(nearestRank(delays, 50)),
      p95Seconds: round(nearestRank(delays, 95)),
      maxSeconds: round(nearestRank(delays, 100)),
      // From the first timer run: the same unless creating the posts outlasted the lead.
      fromFirstTimerRun: {
        p50Seconds: round(nearestRank(fromTimer, 50)),
        p95Seconds: round(nearestRank(fromTimer, 95)),
      },
    },
    duplicates,
    problems: { orphans, missing, unsettled },
  };
}

/**
 * What LinkedIn saw of the creates from the first timer run on: answers by status, how many it answered
 * after the app gave up, how fast posts were created (overall and the busiest second), and second
 * creates of the same text (422 DUPLICATE_POST: the app tried a post again).
 */
function creates(linkedin: LinkedInServer, startedAt: number) {
  const requests = linkedin.requests.filter(
    (request) => request.route === 'createPost' && request.at.getTime() >= startedAt,
  );
  const answers: Record<string, number> = {};
  for (const request of requests) answers[request.status] = (answers[request.status] ?? 0) + 1;
  const times = linkedin.posts.map((post) => post.createdAt.getTime()).sort((a, b) => a - b);
  const first = times[0] ?? 0;
  const span = ((times.at(-1) ?? 0) - first) / 1000;
  let busiest = 0;
  for (let start = 0, end = 0; end < times.length; end++) {
    while ((times[end] ?? 0) - (times[start] ?? 0) >= 1000) start++;
    busiest = Math.max(busiest, end - start + 1);
  }
  // The first wave (the first timer run's creates, before any rescheduled post comes due): the pace
  // the app reaches on its own, against the limit.
  const wave = times.filter((at) => at < startedAt + FIRST_WAVE_MS);
  const waveSpan = ((wave.at(-1) ?? 0) - (wave[0] ?? 0)) / 1000;
  const attempts = requests.map((request) => request.at.getTime());
  const attemptSpan = attempts.length ? (Math.max(...attempts) - Math.min(...attempts)) / 1000 : 0;
  return {
    createRequests: requests.length,
    answers,
    answeredTooLate: requests.filter((request) => request.clientGaveUp).length,
    secondCreates: answers['422'] ?? 0,
    postsCreated: times.length,
    createdOverSeconds: round(span),
    postsPerSecond: span > 0 ? round(times.length / span) : 0,
    busiestSecond: busiest,
    firstWave: {
      posts: wave.length,
      seconds: round(waveSpan),
      postsPerSecond: waveSpan > 0 ? round(wave.length / waveSpan) : 0,
    },
    attemptsPerSecond: attemptSpan > 0 ? round(requests.length / attemptSpan) : 0,
  };
}

/** Lets the late answers of slow creates go out (the app gave up on them), so they count below. */
async function answersSent(linkedin: LinkedInServer): Promise<void> {
  const until = Date.now() + SLOW_ANSWER_MS + 2000;
  while (linkedin.requests.some((r) => r.route === 'createPost' && r.status === 0) && Date.now() < until)
    await sleep(100);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
