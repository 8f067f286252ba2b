import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ImapFlow } from 'imapflow';
import { createTransport } from 'nodemailer';
import type { StorageClients } from '../functions/platform/storage';
import { TABLES } from '../functions/platform/storageNames';
import { azuritePid, cpuSeconds } from './processes';
import { HostProcess } from './host';
import { mulberry32 } from '../local/servers/aiServer';
import { startSmtpSink, type SinkMessage } from '../local/servers/smtpSink';
import { SCHOOL, startMailboxWorld, type MailboxWorld } from '../local/servers/mailWorld';
import { finishBench, round } from './figures';

/**
 * `npm run bench:mailbox`: the mailbox responder end to end through the local host (`dist/cli/serve.js`
 * in a child process: the poll timer run by the admin endpoint, the queue trigger, the offline AI, SMTP to
 * a sink), against Dovecot and Azurite on loopback.
 *   1. N new mails (default 1,000) built from samples/mailbox: wall time from the poll that sees them to
 *      the last one leaving `pending`, and the host's peak RSS.
 *   2. The ceiling, on the same mails: a bare loop that fetches them with imapflow and sends the same
 *      replies with nodemailer, nothing else.
 *   3. The host SIGKILLed when about half the replies are out, restarted on the same storage: no mail
 *      answered twice, every mail answered or recorded.
 * Writes bench/results/<date>-mailbox.json; progress on stderr; the last stdout line is the summary JSON.
 */
const APP_ROOT = path.resolve(__dirname, '..', '..');
const SERVE = path.join(APP_ROOT, 'dist', 'cli', 'serve.js');
const SAMPLES = path.join(APP_ROOT, 'samples', 'mailbox');
const log = (line: string) => process.stderr.write(`${line}\n`);

// The run's keys for the child host; random, never printed.
const FUNCTION_KEY = randomUUID();
const MASTER_KEY = randomUUID();

/** Sample → weight: mostly requests the knowledge base answers, and some mail never to answer. */
const MIX: Record<string, number> = {
  'horaires-fr.eml': 6,
  'programme-en.eml': 5,
  'inscription-latin1.eml': 5,
  'html-only.eml': 2,
  'malformed.eml': 1,
  'publicite.eml': 1,
  'out-of-office.eml': 1,
  'bounce.eml': 1,
  'mailing-list.eml': 1,
  'noreply-notification.eml': 1,
  'reply-to-our-answer.eml': 1,
};
/** Samples the rules refuse whatever the AI says: a reply to one of them is a failure. */
const NEVER_ANSWER = new Set([
  'out-of-office.eml',
  'bounce.eml',
  'mailing-list.eml',
  'noreply-notification.eml',
  'reply-to-our-answer.eml',
]);

// Deadlines: a scenario past its deadline fails the bench, naming what it was waiting for.
const RUN_DEADLINE_MS = 5 * 60_000;
// After the restart, mails that were in progress at the kill come back when their queue message's
// 10-minute visibility timeout ends (as on Azure), or when a poll queues them again.
const RECOVERY_DEADLINE_MS = 15 * 60_000;
const CHECK_EVERY_MS = 500;
// A progress line when the count moved, at most this often (and once a minute while it waits).
const PROGRESS_EVERY_MS = 15_000;
const QUIET_PROGRESS_EVERY_MS = 60_000;

// The timer is left to the admin endpoint in scenario 1: no tick may start a second poll mid-run.
const NEVER_SCHEDULE = '0 0 0 1 1 *';

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      mails: { type: 'string' },
      'skip-restart': { type: 'boolean' },
      'cpu-prof-dir': { type: 'string' },
    },
  });
  const count = Number(values.mails ?? 1000);
  if (!Number.isInteger(count) || count < 10 || count > 100_000)
    throw new Error(`--mails ${values.mails}: a whole number from 10 to 100000.`);
  if (!existsSync(SERVE)) throw new Error(`${SERVE} is missing: npm run build first.`);
  // V8 refuses --cpu-prof in NODE_OPTIONS: the host's profile is asked for here.
  if (values['cpu-prof-dir'])
    hostNodeArgs.push('--cpu-prof', `--cpu-prof-dir=${path.resolve(values['cpu-prof-dir'])}`);
  const loadAtStart = loadavg().map((load) => round(load));
  const run = Date.now().toString(36);
  const mails = corpus(count, run);

  const { ours, bare } = await withWorld(async (world) => {
    const ours = await throughTheHost(world, mails);
    const bare = await bareLoop(world, ours.replies);
    return { ours, bare };
  });
  // The restart scenario lasts over 10 minutes (see RECOVERY_DEADLINE_MS): skippable while profiling.
  const restart = values['skip-restart']
    ? undefined
    : await withWorld((world) => killedAndRestarted(world, mails, ours.result.replied));

  const mailsPerSecond = round(count / ours.result.seconds);
  const rawMailsPerSecond = round(count / bare.seconds);
  const peakRssMb = Math.max(ours.result.peakRssMb, restart?.peakRssMb ?? 0);
  const duplicates = ours.result.duplicates + (restart?.duplicates ?? 0);
  const goals = {
    halfTheRawRate: mailsPerSecond >= rawMailsPerSecond / 2,
    peakRssAtMost300Mb: peakRssMb <= 300,
    noDuplicates: duplicates === 0,
    noWrongReplies:
      ours.result.wrongReplies + ours.result.stray + (restart?.wrongReplies ?? 0) + (restart?.stray ?? 0) ===
      0,
    everyMailRecorded: ours.result.recorded === count && (restart?.recorded ?? count) === count,
  };
  const summary = {
    mails: count,
    seconds: ours.result.seconds,
    mailsPerSecond,
    rawMailsPerSecond,
    peakRssMb,
    duplicates,
  };
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    // Other work on the machine shows here: the figures are wall times.
    loadAverageAtStart: loadAtStart,
    mix: MIX,
    endToEnd: ours.result,
    bareLoop: { ...bare, mailsPerSecond: rawMailsPerSecond },
    ratio: round(mailsPerSecond / rawMailsPerSecond),
    killAndRestart: restart ?? 'skipped (--skip-restart)',
    goals,
    summary,
  };
  // Answering twice, answering what must not be, or losing a mail is a failure, not a slow run.
  finishBench('mailbox', result, goals, summary, ['noDuplicates', 'noWrongReplies', 'everyMailRecorded']);
}

// --- the mails ---------------------------------------------------------------------------------------

interface BenchMail {
  sample: string;
  raw: Buffer;
  /** The sender's address, unique to this mail (lowercase): the reply's only recipient. */
  sender: string;
  /** Without `<>`; undefined for the sample that has none. */
  messageId?: string;
}

/** `count` mails drawn from the samples by weight (seeded), each with its own sender and Message-ID. */
function corpus(count: number, run: string): BenchMail[] {
  const bag = Object.entries(MIX).flatMap(([name, weight]) => {
    const file = path.join(SAMPLES, name);
    if (!existsSync(file)) throw new Error(`${file}: sample missing.`);
    return Array.from({ length: weight }, () => ({ name, text: readFileSync(file, 'latin1') }));
  });
  const random = mulberry32(8);
  return Array.from({ length: count }, (_, index) => {
    const sample = bag[Math.floor(random() * bag.length)] ?? bag[0];
    if (!sample) throw new Error('No samples in the mix.');
    return personalise(sample.name, sample.text, index, run);
  });
}

/**
 * The sample with the sender's domain prefixed by a per-mail subdomain (the local part stays, so
 * MAILER-DAEMON and no-reply remain what they are) and a new Message-ID; latin1 keeps the bytes as
 * they are, 8-bit headers included.
 */
function personalise(name: string, text: string, index: number, run: string): BenchMail {
  const end = text.search(/\r?\n\r?\n/);
  const head = text.slice(0, end);
  const from = /^From:.*?<?([^\s<>@]+)@([^\s<>]+?)>?\s*$/im.exec(head);
  if (!from?.[1] || !from[2]) throw new Error(`${name}: no From address to vary.`);
  const [, local, domain] = from;
  const sender = `${local}@m${index}.${domain}`;
  let newHead = head.split(`${local}@${domain}`).join(sender);
  let messageId: string | undefined;
  if (/^Message-ID:/im.test(newHead)) {
    messageId = `bench-${run}-${index}@${domain}`;
    newHead = newHead.replace(/^Message-ID:.*$/im, `Message-ID: <${messageId}>`);
  }
  return {
    sample: name,
    raw: Buffer.from(newHead + text.slice(end), 'latin1'),
    sender: sender.toLowerCase(),
    ...(messageId ? { messageId } : {}),
  };
}

interface Tally {
  replies: number;
  /** Replies beyond the first to the same mail. */
  duplicates: number;
  /** Replies to a mail the rules must refuse (auto-replies, bounces, lists, no-reply, our own thread). */
  wrongReplies: number;
  /** Replies that name no mail of the run, or another mail than their recipient's. */
  stray: number;
  answeredMails: number;
}

/** Replies per original mail: by In-Reply-To, or by recipient for the mail without a Message-ID. */
function tally(mails: BenchMail[], replies: SinkMessage[]): Tally {
  const byMessageId = new Map<string, BenchMail>(
    mails.flatMap((m) => (m.messageId ? [[`<${m.messageId}>`, m] as const] : [])),
  );
  const bySender = new Map(mails.map((m) => [m.sender, m]));
  const perMail = new Map<BenchMail, number>();
  let stray = 0;
  for (const reply of replies) {
    const to = reply.envelope.to[0]?.toLowerCase() ?? '';
    const mail = reply.inReplyTo ? byMessageId.get(reply.inReplyTo) : bySender.get(to);
    if (!mail || mail.sender !== to || reply.envelope.to.length !== 1) {
      stray++;
      continue;
    }
    perMail.set(mail, (perMail.get(mail) ?? 0) + 1);
  }
  const counts = [...perMail.entries()];
  return {
    replies: replies.length,
    duplicates: counts.reduce((sum, [, n]) => sum + n - 1, 0),
    wrongReplies: counts.filter(([mail]) => NEVER_ANSWER.has(mail.sample)).length,
    stray,
    answeredMails: counts.length,
  };
}

// --- the world: Azurite, Dovecot, the SMTP sink, the knowledge base -----------------------------------

type World = MailboxWorld;

/** Settings the benchmark adds to the world's: the serve child reads local.settings.sample.json otherwise. */
const BENCH_SETTINGS = {
  MAILBOX_AUTH: 'password',
  MAILBOX_FOLDER: 'INBOX',
  MAILBOX_REPLY_MODE: 'send',
  // The default cap (100 an hour) would turn most answers into drafts: the burst is the point.
  MAILBOX_MAX_REPLIES_PER_HOUR: '100000',
  SMTP_SECURE: 'false',
  SMTP_USER: '',
  SMTP_PASSWORD: '',
};

/** A fresh world per scenario: Azurite slows down as it fills, and each scenario counts its own replies. */
async function withWorld<T>(scenario: (world: World) => Promise<T>): Promise<T> {
  const world = await startMailboxWorld(APP_ROOT);
  try {
    return await scenario({
      ...world,
      settings: (overrides = {}) => world.settings({ ...BENCH_SETTINGS, ...overrides }),
    });
  } finally {
    await world.stop();
  }
}

// --- the host in a child process ---------------------------------------------------------------------

/** Node options of the host processes (`--cpu-prof-dir`: a CPU profile each, written when it stops). */
const hostNodeArgs: string[] = [];
const KEYS = { functionKey: FUNCTION_KEY, masterKey: MASTER_KEY };

// --- the ledger, read the way an operator's script would ---------------------------------------------

interface Progress {
  total: number;
  pending: number;
  byStatus: Record<string, number>;
  /** `status/reason` of the mails recorded with a reason (skipped, drafted, failed). */
  byReason: Record<string, number>;
  /** The latest `updatedAt` of a mail no longer pending, in ms. */
  lastUpdate: number;
}

/** Counts the ledger's mails by status (status and updatedAt only; the checkpoint rows have no status). */
async function ledgerProgress(storage: StorageClients): Promise<Progress> {
  const progress: Progress = { total: 0, pending: 0, byStatus: {}, byReason: {}, lastUpdate: 0 };
  const rows = storage
    .table(TABLES.mailboxLedger)
    .listEntities<{ status?: unknown; reason?: unknown; updatedAt?: unknown }>({
      queryOptions: { select: ['status', 'reason', 'updatedAt'] },
    });
  for await (const row of rows) {
    if (typeof row.status !== 'string') continue;
    progress.total++;
    progress.byStatus[row.status] = (progress.byStatus[row.status] ?? 0) + 1;
    if (typeof row.reason === 'string') {
      const key = `${row.status}/${row.reason.split(':')[0] ?? ''}`;
      progress.byReason[key] = (progress.byReason[key] ?? 0) + 1;
    }
    if (row.status === 'pending') progress.pending++;
    else if (typeof row.updatedAt === 'string')
      progress.lastUpdate = Math.max(progress.lastUpdate, Date.parse(row.updatedAt));
  }
  return progress;
}

/** Waits until `count` mails are in the ledger and none is pending; fails past the deadline. */
async function untilProcessed(
  world: World,
  host: HostProcess,
  count: number,
  deadlineMs: number,
  what: string,
): Promise<Progress> {
  const deadline = Date.now() + deadlineMs;
  let lastNote = { at: Date.now(), done: 0 };
  for (;;) {
    const progress = await ledgerProgress(world.storage);
    if (progress.total >= count && progress.pending === 0) return progress;
    if (!host.alive) throw host.failure(`stopped while ${what}`);
    if (Date.now() > deadline) {
      throw new Error(
        `${what}: not done after ${deadlineMs / 1000} s: ${progress.total} of ${count} mails in the ledger, ` +
          `${progress.pending} pending, ${world.sink.messages.length} replies sent (${JSON.stringify(progress.byStatus)}).`,
      );
    }
    const done = progress.total - progress.pending;
    const since = Date.now() - lastNote.at;
    if (since >= (done === lastNote.done ? QUIET_PROGRESS_EVERY_MS : PROGRESS_EVERY_MS)) {
      lastNote = { at: Date.now(), done };
      log(`   … ${done}/${count} done, ${world.sink.messages.length} replies sent`);
    }
    await sleep(CHECK_EVERY_MS);
  }
}

/** Starts a host and lets it take the folder as it is (the first poll only sets the baseline). */
async function hostWithBaseline(world: World, settings: Record<string, string>, label: string) {
  const host = await HostProcess.start(settings, { keys: KEYS, label, nodeArgs: hostNodeArgs });
  const baseline = await host.call('POST', '/api/mailbox/poll', 'function');
  if (baseline.status !== 200) {
    await host.stop();
    throw host.failure(`answered ${baseline.status} to the first poll: ${baseline.body.slice(0, 500)}`);
  }
  return host;
}

async function deliver(world: World, mails: BenchMail[]): Promise<number[]> {
  const started = performance.now();
  const uids = await world.dovecot.appendAll(
    SCHOOL.user,
    'INBOX',
    mails.map((m) => m.raw),
  );
  log(`   ${mails.length} mails appended to Dovecot in ${seconds(started)} s`);
  return uids;
}

/** Runs the poll timer now through the admin endpoint, as an operator would. */
async function pollNow(host: HostProcess): Promise<void> {
  const response = await host.call('POST', '/admin/functions/mailboxPoll', 'master');
  if (response.status !== 202)
    throw host.failure(`answered ${response.status} to the admin poll: ${response.body}`);
}

// --- 1. end to end through the host ------------------------------------------------------------------

interface ReplySpec {
  to: string;
  subject: string;
  text: string;
  messageId: string;
  inReplyTo?: string;
  references?: string;
  headers: Record<string, string>;
}

async function throughTheHost(world: World, mails: BenchMail[]) {
  log(`1. ${mails.length} new mails through the local host…`);
  const host = await hostWithBaseline(
    world,
    world.settings({ MAILBOX_POLL_SCHEDULE: NEVER_SCHEDULE }),
    'host',
  );
  let firstReplyAt = 0;
  const watchFirst = setInterval(() => {
    if (!firstReplyAt && world.sink.messages.length > 0) firstReplyAt = Date.now();
  }, 20);
  try {
    const rssAtStartMb = host.rssMb();
    await deliver(world, mails);
    const polled = host.waitForLine(
      /mailboxPoll: Mailbox polled: (\d+) new/,
      RUN_DEADLINE_MS,
      'to finish the poll',
    );
    polled.catch(() => undefined); // awaited below; a failure of the admin call must not leave it unhandled
    const azurite = azuritePid(world.azurite);
    const cpuBefore = { host: host.cpuSeconds(), azurite: cpuSeconds(azurite) };
    const started = Date.now();
    await pollNow(host);
    const pollLine = await polled;
    const pollSeconds = (Date.now() - started) / 1000;
    log(`   the poll took in ${pollLine[1]} mails in ${pollSeconds.toFixed(1)} s`);
    const done = await untilProcessed(world, host, mails.length, RUN_DEADLINE_MS, 'processing the mails');
    const wall = (done.lastUpdate - started) / 1000;
    // CPU per mail, from the poll to the end: a figure other work on the machine barely moves.
    const perMail = (cpuSecondsUsed: number) => round((cpuSecondsUsed * 1000) / mails.length, 1);
    const cpu = {
      hostMsPerMail: perMail(host.cpuSeconds() - cpuBefore.host),
      azuriteMsPerMail: perMail(cpuSeconds(azurite) - cpuBefore.azurite),
    };
    const peakRssMb = host.peakRssMb();
    const stats = await host.call('GET', '/api/mailbox/stats', 'function');
    const counted = tally(mails, world.sink.messages);
    log(
      `   ${wall.toFixed(1)} s (${round(mails.length / wall)} mails/s), ${counted.replies} replies, ` +
        `CPU per mail ${cpu.hostMsPerMail} ms in the host + ${cpu.azuriteMsPerMail} ms in Azurite, ` +
        `peak RSS ${peakRssMb} MB (${rssAtStartMb} MB once started), ${JSON.stringify(done.byStatus)}`,
    );
    return {
      result: {
        mails: mails.length,
        seconds: round(wall),
        pollSeconds: round(pollSeconds),
        cpu,
        firstReplySeconds: firstReplyAt ? round((firstReplyAt - started) / 1000) : null,
        peakRssMb,
        rssAtStartMb,
        byStatus: done.byStatus,
        byReason: done.byReason,
        recorded: done.total - done.pending,
        replied: done.byStatus.replied ?? 0,
        ...counted,
        stats: stats.status === 200 ? (JSON.parse(stats.body) as unknown) : { status: stats.status },
      },
      replies: world.sink.messages.map(replySpec),
    };
  } finally {
    clearInterval(watchFirst);
    await host.stop();
  }
}

function replySpec(message: SinkMessage): ReplySpec {
  const pick = ['auto-submitted', 'x-auto-response-suppress', 'x-loop'];
  return {
    to: message.envelope.to[0] ?? '',
    subject: message.subject ?? '',
    text: message.text ?? '',
    messageId: message.messageId ?? '',
    ...(message.inReplyTo ? { inReplyTo: message.inReplyTo } : {}),
    ...(message.references ? { references: message.references } : {}),
    headers: Object.fromEntries(
      pick.flatMap((name) => (message.headers[name] ? [[name, message.headers[name]]] : [])),
    ),
  };
}

// --- 2. the bare loop --------------------------------------------------------------------------------

/**
 * The ceiling: the same mails fetched with imapflow (envelopes, then sources, as the poll does) and the
 * same replies sent one after the other with nodemailer's pooled transport, to a sink of its own. No
 * storage, no parsing, no AI, no bookkeeping.
 */
async function bareLoop(world: World, replies: ReplySpec[]) {
  log(`2. The bare loop: fetch the same mails, send the same ${replies.length} replies…`);
  const sink = await startSmtpSink();
  const transport = createTransport({ pool: true, host: sink.host, port: sink.port, secure: false });
  const client = new ImapFlow({
    host: world.dovecot.host,
    port: world.dovecot.port,
    secure: false,
    auth: { user: SCHOOL.user, pass: SCHOOL.password },
    logger: false,
    disableAutoIdle: true,
  });
  try {
    const started = performance.now();
    await client.connect();
    const lock = await client.getMailboxLock('INBOX');
    let fetched = 0;
    let bytes = 0;
    try {
      const heads = await client.fetchAll(
        '1:*',
        { uid: true, size: true, envelope: true, internalDate: true },
        { uid: true },
      );
      const sources = await client.fetchAll(
        heads.map((h) => h.uid),
        { uid: true, source: true },
        { uid: true },
      );
      fetched = sources.length;
      bytes = sources.reduce((sum, m) => sum + (m.source?.length ?? 0), 0);
    } finally {
      lock.release();
    }
    await client.logout();
    for (const reply of replies) await transport.sendMail({ from: SCHOOL.user, ...reply });
    const wall = (performance.now() - started) / 1000;
    if (sink.messages.length !== replies.length)
      throw new Error(`The bare loop's sink got ${sink.messages.length} of ${replies.length} replies.`);
    log(
      `   ${wall.toFixed(2)} s: ${fetched} mails fetched (${Math.round(bytes / 1024)} KiB), ${replies.length} replies sent`,
    );
    return { seconds: round(wall, 3), fetched, replies: replies.length };
  } finally {
    transport.close();
    await sink.close();
  }
}

// --- 3. killed half-way, restarted -------------------------------------------------------------------

async function killedAndRestarted(world: World, mails: BenchMail[], expectedReplies: number) {
  const killAt = Math.max(1, Math.floor(expectedReplies / 2));
  log(`3. ${mails.length} mails, the host SIGKILLed after ${killAt} replies, then restarted…`);
  // The default schedule: after the restart the host recovers on its own (queue redelivery, poll ticks).
  const settings = world.settings({ MAILBOX_POLL_SCHEDULE: '0 */2 * * * *' });
  const first = await hostWithBaseline(world, settings, 'host');
  const atKill = await killHalfWay(world, first, mails, killAt).finally(() => first.stop());
  log(
    `   killed with ${atKill.replies} replies out: ${JSON.stringify(atKill.byStatus)}; mails in progress ` +
      'then come back when their queue message is visible again (10 minutes, as on Azure).',
  );

  const restarted = Date.now();
  const second = await HostProcess.start(settings, {
    keys: KEYS,
    label: 'restarted host',
    nodeArgs: hostNodeArgs,
  });
  try {
    const done = await untilProcessed(
      world,
      second,
      mails.length,
      RECOVERY_DEADLINE_MS,
      'recovering after the kill',
    );
    const peakRssMb = Math.max(atKill.peakRssMb, second.peakRssMb());
    const counted = tally(mails, world.sink.messages);
    const recoverySeconds = (Date.now() - restarted) / 1000;
    log(
      `   recovered in ${recoverySeconds.toFixed(0)} s: ${counted.replies} replies, ${counted.duplicates} duplicates, ` +
        `${JSON.stringify(done.byStatus)}`,
    );
    return {
      mails: mails.length,
      killedAfterReplies: atKill.replies,
      atKill: atKill.byStatus,
      recoverySeconds: round(recoverySeconds),
      byStatus: done.byStatus,
      byReason: done.byReason,
      recorded: done.total - done.pending,
      peakRssMb,
      ...counted,
    };
  } finally {
    await second.stop();
  }
}

async function killHalfWay(world: World, host: HostProcess, mails: BenchMail[], killAt: number) {
  await deliver(world, mails);
  await pollNow(host);
  const deadline = Date.now() + RUN_DEADLINE_MS;
  while (world.sink.messages.length < killAt) {
    if (!host.alive) throw host.failure('stopped before half the replies were out');
    if (Date.now() > deadline)
      throw new Error(
        `Only ${world.sink.messages.length} of ${killAt} replies after ${RUN_DEADLINE_MS / 1000} s.`,
      );
    await sleep(5);
  }
  const peakRssMb = host.peakRssMb();
  await host.kill();
  const { byStatus } = await ledgerProgress(world.storage);
  return { replies: world.sink.messages.length, byStatus, peakRssMb };
}

// --- helpers -----------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
