import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createStandaloneDossiers } from '../functions/app/standalone';
import { planBatch } from '../functions/dossiers/plan';
import { createStorageClients } from '../functions/platform/storage';
import { CONTAINERS } from '../functions/platform/storageNames';
import { lognormalLatency, startAiServer, type AiServerOptions } from '../local/servers/aiServer';
import { startAzurite, type AzuriteInstance } from '../local/azurite';
import { LocalHost, readHostJson } from '../local/localHost';
import { syntheticBatch } from './syntheticBatch';
import { round } from './figures';

/**
 * `npm run bench`: the dossier pipeline's speed, against the local OpenAI-compatible server.
 *   1. 500 pairs, lognormal latency (median 2 s, p99/p50 4), C in flight: our orchestration (lanes, no
 *      barrier) against the seed's fixed chunks of C with a barrier, same C and same latencies.
 *   2. The same under an RPM quota: achieved throughput / the quota's bound, and the share of 429s.
 *   3. 10,000 pairs through the local host with the offline generator: wall time, peak RSS, largest history.
 * Writes bench/results/<date>.json; the last stdout line is the summary JSON.
 */
const APP_ROOT = path.resolve(__dirname, '..', '..');
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Options {
  medianMs: number;
  concurrency: number;
  rpm: number;
  largePairs: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      'median-ms': { type: 'string' },
      concurrency: { type: 'string' },
      rpm: { type: 'string' },
      'large-pairs': { type: 'string' },
    },
  });
  const options: Options = {
    medianMs: Number(values['median-ms'] ?? 2000),
    concurrency: Number(values.concurrency ?? 25),
    rpm: Number(values.rpm ?? 600),
    largePairs: Number(values['large-pairs'] ?? 10_000),
  };
  // Each scenario gets a fresh Azurite: its blob operations slow down as blobs accumulate.
  const sliding = await withAzurite((azurite) => slidingVersusChunked(azurite, options));
  const quota = await withAzurite((azurite) => underQuota(azurite, options));
  const large = await withAzurite((azurite) => largeBatch(azurite, options));
  const azuriteBlobRates = await withAzurite((azurite) => azuriteUploadRates(azurite));
  const summary = {
    slidingVsChunkedSpeedup: round(sliding.chunkedSeconds / sliding.slidingSeconds),
    quotaUtilization: round(quota.utilization),
    largeBatch: large,
  };
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    options,
    sliding,
    quota,
    largeBatch: large,
    azuriteBlobRates,
    summary,
  };
  const dir = path.join(APP_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${result.date.slice(0, 10)}.json`), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
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
  const plan = planBatch({
    batchId: `chunked-${Date.now()}`,
    consultants: { name: 'consultants.csv', bytes: MEDIUM.consultantsCsv },
    jobs: { name: 'jobs.csv', bytes: MEDIUM.jobsCsv },
    options: { topK: undefined, minScore: undefined, language: 'fr', regenerateUngrounded: false },
    templateHash: dossiers.templateHash(),
    existingHashes: new Map(),
  });
  const started = performance.now();
  for (let i = 0; i < plan.selected.length; i += concurrency) {
    const chunk = plan.selected.slice(i, i + concurrency).flatMap((index) => plan.pairs[index] ?? []);
    await Promise.all(chunk.map((pair) => dossiers.generatePair(plan, pair)));
  }
  return (performance.now() - started) / 1000;
}

async function slidingVersusChunked(azurite: AzuriteInstance, options: Options) {
  const server = (): AiServerOptions => ({ latencyMs: lognormalLatency(options.medianMs, 4, 42) });
  const C = String(options.concurrency);
  log(`1. 500 pairs, median ${options.medianMs} ms, C=${C}: our orchestration…`);
  const oursServer = await startAiServer(server());
  const ours = await runThroughHost(
    azurite,
    MEDIUM,
    aiSettings(oursServer.url, { AI_MAX_CONCURRENCY: C, DOSSIERS_CONCURRENCY: C }),
    options.concurrency,
  );
  await oursServer.close();
  log(`   ${ours.seconds.toFixed(1)} s (${ours.status}); the seed's chunks of ${C}…`);
  const chunkedServer = await startAiServer(server());
  const chunkedSeconds = await runChunked(azurite, chunkedServer.url, options.concurrency);
  await chunkedServer.close();
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
  );
  const counters = { ...server.counters };
  // The quota bounds how fast requests can be sent: measure the rate between the first and the last
  // request the server received. Planning before and the last answer's latency after are not quota-bound.
  const arrivals = server.log.map((r) => r.arrivedAt);
  const sendingSeconds = (Math.max(...arrivals) - Math.min(...arrivals)) / 1000;
  await server.close();
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

async function largeBatch(azurite: AzuriteInstance, options: Options) {
  const consultants = 100;
  const jobs = Math.round(options.largePairs / consultants);
  log(`3. ${consultants * jobs} pairs offline through the local host…`);
  const run = await runThroughHost(
    azurite,
    syntheticBatch(consultants, jobs),
    { AI_PROVIDER: 'offline' },
    16,
  );
  log(
    `   ${run.seconds.toFixed(1)} s, peak RSS ${run.peakRssMb} MB, largest history ${run.maxHistoryEvents} events (${run.status})`,
  );
  return {
    pairs: consultants * jobs,
    wallSeconds: round(run.seconds),
    peakRssMb: run.peakRssMb,
    maxHistoryEvents: run.maxHistoryEvents,
  };
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
