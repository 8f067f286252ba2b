import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createStandaloneDossiers } from '../functions/app/standalone';
import { batchSummarySchema } from '../functions/dossiers/contracts';
import { offlineDossierSections } from '../functions/dossiers/offlineDossier';
import { planBatch } from '../functions/dossiers/plan';
import { createStorageClients } from '../functions/platform/storage';
import { CONTAINERS } from '../functions/platform/storageNames';
import { lognormalLatency, startAiServer, type AiServerOptions } from '../local/servers/aiServer';
import { startAzurite, type AzuriteInstance } from '../local/azurite';
import { LocalHost, readHostJson } from '../local/localHost';
import { syntheticBatch } from './syntheticBatch';
import { finishBench, round } from './figures';
import { APP_ROOT } from './host';
import { azuritePid, cpuSeconds } from './processes';
import { listWrittenBlobs, replayWrites, tally } from './storageFloor';

/**
 * `npm run bench`: the dossier pipeline's speed, against the local OpenAI-compatible server.
 *   1. 500 pairs, lognormal latency (median 2 s, p99/p50 4), C in flight: our orchestration (lanes, no
 *      barrier) against the seed's fixed chunks of C with a barrier, same C and same latencies.
 *   2. The same under an RPM quota: achieved throughput / the quota's bound, and the share of 429s.
 *   3. 10,000 pairs with the offline generator through the local host (wall time, peak RSS, largest
 *      history) against the storage floor (the same blobs written straight to a fresh Azurite), and
 *      through the CLI into a folder.
 *   4. Azurite's upload rate as its blob count grows.
 * `--only sliding|quota|large|rates` runs one. Writes bench/results/<date>-dossiers[-<only>].json, names
 * each goal missed on stderr; the last stdout line is the summary JSON.
 */
const log = (line: string) => process.stderr.write(`${line}\n`);

const SCENARIOS = ['sliding', 'quota', 'large', 'rates'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Options {
  medianMs: number;
  concurrency: number;
  rpm: number;
  largePairs: number;
  only: Scenario | undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      'median-ms': { type: 'string' },
      concurrency: { type: 'string' },
      rpm: { type: 'string' },
      'large-pairs': { type: 'string' },
      only: { type: 'string' },
    },
  });
  const only = values.only;
  if (only !== undefined && !(SCENARIOS as readonly string[]).includes(only))
    throw new Error(`--only ${only}: one of ${SCENARIOS.join(', ')}.`);
  const options: Options = {
    medianMs: Number(values['median-ms'] ?? 2000),
    concurrency: Number(values.concurrency ?? 25),
    rpm: Number(values.rpm ?? 600),
    largePairs: Number(values['large-pairs'] ?? 10_000),
    only: only as Scenario | undefined,
  };
  const runs = (scenario: Scenario) => options.only === undefined || options.only === scenario;
  // Each scenario gets a fresh Azurite: its blob operations slow down as blobs accumulate.
  const sliding = runs('sliding')
    ? await withAzurite((azurite) => slidingVersusChunked(azurite, options))
    : undefined;
  const quota = runs('quota') ? await withAzurite((azurite) => underQuota(azurite, options)) : undefined;
  const large = runs('large') ? await largeBatch(options) : undefined;
  const azuriteBlobRates = runs('rates') ? await withAzurite(azuriteUploadRates) : undefined;
  const speedup = sliding && round(sliding.chunkedSeconds / sliding.slidingSeconds);
  const summary = {
    ...(speedup !== undefined ? { slidingVsChunkedSpeedup: speedup } : {}),
    ...(quota ? { quotaUtilization: round(quota.utilization) } : {}),
    ...(large ? { largeBatch: large.summary } : {}),
  };
  // The README's goals, for the scenarios that ran; all are about speed and size, so none fails the run.
  const goals: Record<string, boolean> = {
    ...(speedup !== undefined ? { slidingAtLeast1_5TimesFaster: speedup >= 1.5 } : {}),
    ...(quota
      ? {
          quotaAtLeast90Percent: quota.utilization >= 0.9,
          quotaUnder5Percent429: quota.rateLimitedShare < 0.05,
        }
      : {}),
    ...(large
      ? {
          largeBatchWithin1_3TimesStorageFloor: large.summary.floorRatioMet,
          largeBatchCliWithin120Seconds: large.summary.cliGoalMet,
          largeBatchPeakRssUnder1GB: large.summary.peakRssMb <= 1024,
          largeBatchHistoryUnder1000Events: large.summary.maxHistoryEvents <= 1000,
        }
      : {}),
  };
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    options,
    sliding,
    quota,
    largeBatch: large && { ...large.summary, ...large.details },
    azuriteBlobRates,
    goals,
    summary,
  };
  finishBench(`dossiers${options.only ? `-${options.only}` : ''}`, result, goals, summary, []);
}

async function withAzurite<T>(scenario: (azurite: AzuriteInstance) => Promise<T>): Promise<T> {
  const azurite = await startAzurite();
  try {
    return await scenario(azurite);
  } finally {
    await azurite.stop();
  }
}

/** 500 pairs: 50 consultants × 10 jobs. */
const MEDIUM = syntheticBatch(50, 10);

function mediumPlan(templateHash: string) {
  return planBatch({
    batchId: `chunked-${Date.now()}`,
    consultants: { name: 'consultants.csv', bytes: MEDIUM.consultantsCsv },
    jobs: { name: 'jobs.csv', bytes: MEDIUM.jobsCsv },
    options: { topK: undefined, minScore: undefined, language: 'fr', regenerateUngrounded: false },
    templateHash,
    existingHashes: new Map(),
  });
}

/**
 * What the local model answers to every dossier request: the sections JSON the app expects, as the
 * offline generator writes them for the first pair, so each answer is of a real dossier's size.
 */
const MODEL_REPLY = (() => {
  const plan = mediumPlan('reply');
  const pair = plan.pairs[0];
  const consultant = plan.consultants.find((c) => c.id === pair?.consultantId);
  const job = plan.jobs.find((j) => j.id === pair?.jobId);
  if (!pair || !consultant || !job) throw new Error('The medium batch has no first pair.');
  const input = { consultant, job, match: pair, language: 'fr', instructions: '' } as const;
  return JSON.stringify(offlineDossierSections(input));
})();

function aiSettings(serverUrl: string, extra: Record<string, string>): Record<string, string> {
  return {
    AI_PROVIDER: 'openai',
    OPENAI_BASE_URL: `${serverUrl}/v1`,
    OPENAI_MODEL: 'gpt-4o-mini',
    AI_CACHE_TTL_HOURS: '0',
    AI_MAX_RETRIES: '3',
    ...extra,
  };
}

/** Runs a batch through the Function App on the local host; returns wall seconds from drop to report. */
async function runThroughHost(
  azurite: AzuriteInstance,
  batch: { consultantsCsv: Buffer; jobsCsv: Buffer },
  settings: Record<string, string>,
  activities: number,
): Promise<{ seconds: number; maxHistoryEvents: number; status: string; peakRssMb: number }> {
  const hostJson = readHostJson(APP_ROOT);
  const durable = { ...hostJson.extensions?.durableTask, maxConcurrentActivityFunctions: activities };
  const host = await LocalHost.start({
    app: { appRoot: APP_ROOT },
    settings: {
      AzureWebJobsStorage: azurite.connectionString,
      FUNCTIONS_WORKER_RUNTIME: 'node',
      DURABLE_TASK_HUB: `bench${Date.now()}`,
      ...settings,
    },
    hostJson: { ...hostJson, extensions: { ...hostJson.extensions, durableTask: durable } },
  });
  try {
    const batchId = `bench-${Date.now()}`;
    const started = performance.now();
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);
    await host.dropBlob(`${CONTAINERS.dossiersInbox}/${batchId}/consultants.csv`, batch.consultantsCsv);
    await host.dropBlob(`${CONTAINERS.dossiersInbox}/${batchId}/jobs.csv`, batch.jobsCsv);
    const run = await createStandaloneDossiers({ AI_PROVIDER: 'offline' }, host.storage).latestRun(batchId);
    if (!run) throw new Error('the batch did not start');
    const done = await host.engine.waitForCompletion(run.instanceId, 30 * 60_000);
    clearInterval(sampler);
    // A time over pairs that failed says nothing about speed.
    const summary = batchSummarySchema.safeParse(done.output);
    if (done.runtimeStatus !== 'Completed' || !summary.success || summary.data.failed > 0)
      throw new Error(`The batch ended ${done.runtimeStatus}: ${JSON.stringify(done.output)?.slice(0, 500)}`);
    return {
      seconds: (performance.now() - started) / 1000,
      maxHistoryEvents: host.engine.maxHistoryEvents,
      status: done.runtimeStatus,
      peakRssMb: Math.round(Math.max(peakRss, process.memoryUsage().rss) / 1024 / 1024),
    };
  } finally {
    await host.stop();
  }
}

/** A local AI server for the length of `use`, closed whatever happens (it would keep the bench alive). */
async function withAiServer<T>(options: AiServerOptions, use: (url: string) => Promise<T>): Promise<T> {
  const server = await startAiServer(options);
  try {
    return await use(server.url);
  } finally {
    await server.close();
  }
}

/** The seed's strategy: chunks of C calls in parallel, each chunk waiting for its slowest call. */
async function runChunked(azurite: AzuriteInstance, serverUrl: string, concurrency: number): Promise<number> {
  const storage = createStorageClients({
    kind: 'connectionString',
    connectionString: azurite.connectionString,
  });
  const dossiers = createStandaloneDossiers(
    { ...process.env, ...aiSettings(serverUrl, { AI_MAX_CONCURRENCY: String(concurrency) }) },
    storage,
  );
  const plan = mediumPlan(dossiers.templateHash());
  const started = performance.now();
  for (let i = 0; i < plan.selected.length; i += concurrency) {
    const chunk = plan.selected.slice(i, i + concurrency).flatMap((index) => plan.pairs[index] ?? []);
    await Promise.all(chunk.map((pair) => dossiers.generatePair(plan, pair)));
  }
  return (performance.now() - started) / 1000;
}

async function slidingVersusChunked(azurite: AzuriteInstance, options: Options) {
  const server = (): AiServerOptions => ({
    latencyMs: lognormalLatency(options.medianMs, 4, 42),
    reply: () => MODEL_REPLY,
  });
  const C = String(options.concurrency);
  log(`1. 500 pairs, median ${options.medianMs} ms, C=${C}: our orchestration…`);
  const ours = await withAiServer(server(), (url) =>
    runThroughHost(
      azurite,
      MEDIUM,
      aiSettings(url, { AI_MAX_CONCURRENCY: C, DOSSIERS_CONCURRENCY: C }),
      options.concurrency,
    ),
  );
  log(`   ${ours.seconds.toFixed(1)} s (${ours.status}); the seed's chunks of ${C}…`);
  const chunkedSeconds = await withAiServer(server(), (url) => runChunked(azurite, url, options.concurrency));
  log(`   ${chunkedSeconds.toFixed(1)} s`);
  return {
    pairs: 500,
    concurrency: options.concurrency,
    slidingSeconds: round(ours.seconds),
    chunkedSeconds: round(chunkedSeconds),
  };
}

async function underQuota(azurite: AzuriteInstance, options: Options) {
  const concurrency = options.concurrency * 2;
  log(`2. 500 pairs under ${options.rpm} RPM, C=${concurrency}…`);
  const server = await startAiServer({
    latencyMs: lognormalLatency(options.medianMs, 4, 43),
    rpm: options.rpm,
    windowMs: 10_000,
    reply: () => MODEL_REPLY,
  });
  const run = await runThroughHost(
    azurite,
    MEDIUM,
    aiSettings(server.url, {
      AI_MAX_CONCURRENCY: String(concurrency),
      DOSSIERS_CONCURRENCY: String(concurrency),
      AI_RPM: String(options.rpm),
    }),
    concurrency,
  ).finally(() => server.close());
  const counters = { ...server.counters };
  // The quota bounds how fast requests can be sent: measure the rate between the first and the last
  // request the server received. Planning before and the last answer's latency after are not quota-bound.
  const arrivals = server.log.map((r) => r.arrivedAt);
  const sendingSeconds = (Math.max(...arrivals) - Math.min(...arrivals)) / 1000;
  const quotaPerSecond = options.rpm / 60;
  const achievedPerSecond = (counters.requests - 1) / sendingSeconds;
  log(
    `   ${run.seconds.toFixed(1)} s end to end, requests sent over ${sendingSeconds.toFixed(1)} s, ` +
      `${counters.rateLimited} × 429 of ${counters.requests} requests`,
  );
  return {
    pairs: 500,
    rpm: options.rpm,
    seconds: round(run.seconds),
    sendingSeconds: round(sendingSeconds),
    achievedPerSecond: round(achievedPerSecond),
    quotaPerSecond: round(quotaPerSecond),
    utilization: achievedPerSecond / quotaPerSecond,
    endToEndUtilization: round(counters.ok / run.seconds / quotaPerSecond),
    rateLimitedShare: round(counters.rateLimited / counters.requests, 4),
    requests: counters.requests,
  };
}

/** Pairs in flight in scenario 3: the app's default lanes, and as many activity slots. */
const LARGE_CONCURRENCY = 16;
const FLOOR_RATIO_GOAL = 1.3;
const CLI_GOAL_SECONDS = 120;

/**
 * Scenario 3. The Functions path runs on a fresh Azurite; the blobs it wrote are then listed and written
 * again, straight, to another fresh Azurite started the same way (the floor): on the same instance, the
 * floor's blobs would slow the batch down or the batch's the floor. Only the app's own blobs are
 * replayed (dossiers, report, plan and outcome segments); the dropped inputs are the user's, and the
 * durable engine's instance state is orchestration cost, which the ratio is there to show.
 */
async function largeBatch(options: Options) {
  const consultants = 100;
  const jobs = Math.round(options.largePairs / consultants);
  const pairs = consultants * jobs;
  const batch = syntheticBatch(consultants, jobs);
  log(`3. ${pairs} pairs offline through the local host…`);
  const { run, written, cpu } = await withAzurite(async (azurite) => {
    const settings = { AI_PROVIDER: 'offline', DOSSIERS_CONCURRENCY: String(LARGE_CONCURRENCY) };
    const usage = cpuUsage(azurite);
    const run = await runThroughHost(azurite, batch, settings, LARGE_CONCURRENCY);
    const cpu = usage();
    return { run, written: await listWrittenBlobs(azurite.connectionString), cpu };
  });
  log(
    `   ${run.seconds.toFixed(1)} s, peak RSS ${run.peakRssMb} MB, largest history ${run.maxHistoryEvents} events (${run.status})`,
  );
  const batchContainers: readonly string[] = [CONTAINERS.dossiers, CONTAINERS.dossiersWork];
  const floorBlobs = written.filter((blob) => batchContainers.includes(blob.container));
  const dossierBlobs = floorBlobs.filter((blob) => blob.container === CONTAINERS.dossiers).length;
  if (dossierBlobs !== 2 * pairs + 2)
    throw new Error(`The batch left ${dossierBlobs} dossier blobs for ${pairs} pairs (and their report).`);
  log(`   the storage floor: the same ${floorBlobs.length} blobs straight to a fresh Azurite…`);
  const floor = await withAzurite(async (azurite) => {
    const usage = cpuUsage(azurite);
    const seconds = await replayWrites(azurite.connectionString, floorBlobs, LARGE_CONCURRENCY);
    return { seconds, cpu: usage() };
  });
  const floorSeconds = floor.seconds;
  const floorRatio = run.seconds / floorSeconds;
  log(`   ${floorSeconds.toFixed(1)} s: the batch took ${floorRatio.toFixed(2)}× the floor; the CLI…`);
  const cli = await throughCli(batch);
  if (cli.generated !== pairs) throw new Error(`The CLI generated ${cli.generated} of ${pairs} dossiers.`);
  log(`   ${cli.seconds.toFixed(1)} s (${cli.generated} generated)`);
  const summary = {
    pairs,
    wallSeconds: round(run.seconds),
    storageFloorSeconds: round(floorSeconds),
    floorRatio: round(floorRatio),
    floorRatioGoal: FLOOR_RATIO_GOAL,
    floorRatioMet: floorRatio <= FLOOR_RATIO_GOAL,
    cliSeconds: round(cli.seconds),
    cliGoalSeconds: CLI_GOAL_SECONDS,
    cliGoalMet: cli.seconds <= CLI_GOAL_SECONDS,
    peakRssMb: run.peakRssMb,
    maxHistoryEvents: run.maxHistoryEvents,
  };
  const details = {
    concurrency: LARGE_CONCURRENCY,
    floorBlobs: floorBlobs.length,
    floorBytes: floorBlobs.reduce((sum, blob) => sum + blob.bytes, 0),
    // Everything the batch's Azurite held at the end, replayed or not.
    blobsByContainer: tally(written),
    // Where the time goes, in CPU seconds: the bench process (the host and its DOCX workers, or the
    // floor's client) and Azurite, for the batch and for the floor; the CLI's process; and every other
    // process of the machine meanwhile (a figure is only worth as much as that one is small).
    cpuSeconds: { batch: cpu, floor: floor.cpu, cli: cli.cpu },
    // No run on this machine can beat its CPU: generating and rendering (the CLI's CPU) and storing (the
    // floor's Azurite CPU), spread over every core. Above the storage floor when the batch is CPU-bound.
    cores: availableParallelism(),
    cpuFloorSeconds: round((cli.cpu.cli + floor.cpu.azurite) / availableParallelism()),
  };
  return { summary, details };
}

/** From now on, the CPU seconds of this process (all its threads) and of this Azurite. */
function cpuUsage(azurite: AzuriteInstance): () => { bench: number; azurite: number; others: number } {
  const pid = azuritePid(azurite);
  const azuriteStart = cpuSeconds(pid);
  const benchStart = process.cpuUsage();
  const machineStart = machineCpuSeconds();
  return () => {
    const usage = process.cpuUsage(benchStart);
    const bench = (usage.user + usage.system) / 1e6;
    const azuriteSeconds = cpuSeconds(pid) - azuriteStart;
    return {
      bench: round(bench),
      azurite: round(azuriteSeconds),
      others: round(Math.max(0, machineCpuSeconds() - machineStart - bench - azuriteSeconds)),
    };
  };
}

/**
 * CPU seconds the whole machine has been busy, all cores (/proc/stat, in ticks of 10 ms): less what the
 * bench's own processes used, it says how much other work competed with a measurement.
 */
function machineCpuSeconds(): number {
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] =
    readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  return (user + nice + system + irq + softirq + steal) / 100;
}

/**
 * CPU seconds of this process's children that have ended (cutime + cstime in /proc/self/stat): a child's
 * own usage, which Node does not report, once it has exited.
 */
function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

const CLI = path.join(APP_ROOT, 'dist', 'cli', 'dossiers.js');
const cliReportSchema = z.object({ generated: z.number() });

/** The same pairs through `dist/cli/dossiers.js` into a temporary folder: seconds from spawn to exit. */
async function throughCli(batch: { consultantsCsv: Buffer; jobsCsv: Buffer }) {
  const dir = await mkdtemp(path.join(tmpdir(), 'dossiers-bench-'));
  try {
    const consultants = path.join(dir, 'consultants.csv');
    const jobs = path.join(dir, 'jobs.csv');
    const out = path.join(dir, 'out');
    await writeFile(consultants, batch.consultantsCsv);
    await writeFile(jobs, batch.jobsCsv);
    const args = [CLI, '--consultants', consultants, '--jobs', jobs, '--out', out, '--provider', 'offline'];
    const started = performance.now();
    const childrenCpuStart = childrenCpuSeconds();
    const machineStart = machineCpuSeconds();
    const child = spawn(process.execPath, args, { cwd: APP_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4096)));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = childrenCpuSeconds() - childrenCpuStart;
    const others = Math.max(0, machineCpuSeconds() - machineStart - cpu);
    if (code !== 0) throw new Error(`The dossiers CLI exited ${code}: ${stderr.trim()}`);
    const report = cliReportSchema.parse(JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')));
    return { seconds, cpu: { cli: round(cpu), others: round(others) }, generated: report.generated };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Azurite's own blob upload rate as its blob count grows (10 KB blobs, 16 at a time): the emulator looks
 * blobs up linearly, so a large batch slows down as it writes, whatever the orchestration does.
 */
async function azuriteUploadRates(azurite: AzuriteInstance) {
  log('4. Azurite upload rate as blobs accumulate…');
  const storage = createStorageClients({
    kind: 'connectionString',
    connectionString: azurite.connectionString,
  });
  const container = storage.blobs.getContainerClient('rates');
  await container.createIfNotExists();
  const body = Buffer.alloc(10_000, 'x');
  const rates: { blobs: number; perSecond: number }[] = [];
  const step = 2000;
  for (let done = 0; done < 20_000; done += step) {
    let next = done;
    const started = performance.now();
    const worker = async () => {
      for (let i = next++; i < done + step; i = next++)
        await container.getBlockBlobClient(`b/${i}`).uploadData(body);
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    rates.push({ blobs: done + step, perSecond: Math.round(step / ((performance.now() - started) / 1000)) });
  }
  log(`   ${rates.map((r) => `${r.blobs}: ${r.perSecond}/s`).join(', ')}`);
  return rates;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
