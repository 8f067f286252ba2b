import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { deflateSync } from 'node:zlib';
import { Document, HeadingLevel, Packer, Paragraph } from 'docx';
import { z } from 'zod';
import { aiSettings } from '../functions/ai/settings';
import { createSuiteAi } from '../functions/app/ai';
import { extractDocument } from '../functions/ops/documents/extract';
import { summariseDocument } from '../functions/ops/documents/summary';
import { loadFragments } from '../functions/platform/settings';
import { createStorageClients, type StorageClients } from '../functions/platform/storage';
import { CONTAINERS } from '../functions/platform/storageNames';
import { connectionStringFor, startAzurite, type AzuriteInstance } from '../local/azurite';
import { EventType, historyEvent, type HistoryEvent } from '../local/durable/history';
import { AzureInstanceStore, type RuntimeStatus, type StoredInstance } from '../local/durable/store';
import {
  lognormalLatency,
  mulberry32,
  startAiServer,
  type ChatBody,
  type LocalAiServer,
  type LoggedRequest,
} from '../local/servers/aiServer';
import { finishBench, nearestRank, round, wholeNumber } from './figures';
import { HostProcess, SERVE } from './host';
import { CpuMeter, azuritePid } from './processes';

/**
 * `npm run bench:console`: the ops console's two heavy paths through the local host (`dist/cli/serve.js`
 * in a child process, on its own Azurite), in one run:
 *   1. the runs list with N instances in the task hub (default 10,000): smoke runs started for real
 *      through `POST /api/ops/runs` (default 1,000: 10,000 would take over three minutes and all be alike),
 *      the rest written to the hub's storage by the local engine's own store (a row and a history blob
 *      each, as the engine writes them: health runs, dossier batches and their lanes, LinkedIn posts,
 *      maintenance, documents and smoke runs over 30 days; Completed, Failed, Terminated, Running,
 *      Pending). Then `GET /api/ops/runs?top=50` under five filters: cold (the per-status counts
 *      computed for the request) in three rounds past the counts' 15 s lifetime, each round led by
 *      another filter; a loop of M requests (default 200) rotating the filters, the counts mostly cached
 *      as for consoles refreshing; and one filter paged through to its end (every run once, as many as
 *      its counts say);
 *   2. D documents (default 100: multi-page PDFs, DOCX and TXT, French and English, generated here)
 *      dropped in `documents-inbox/{batchId}/` and the `documents` workflow started through
 *      `POST /api/ops/runs` at OPS_DOCUMENTS_CONCURRENCY=3, the summaries from the local OpenAI-compatible
 *      server with a lognormal latency (median 2 s, p99/p50 4); every summary read back through the app;
 *   3. the ceiling: the same documents in this process, `extractDocument` + `summariseDocument` on an AI
 *      client of the same kind against a fresh local server with the same latencies, 3 at a time, no
 *      storage, no orchestration.
 * Each phase records the CPU time of the host, Azurite and this process, the AI calls in flight, and the
 * host's peak RSS. Writes bench/results/<date>-console.json; progress on stderr; the last stdout line is
 * the summary JSON. Exits 1 when a document does not come out summarised or the paged list disagrees
 * with its counts; a missed speed goal is reported, not failed.
 */
const log = (line: string) => process.stderr.write(`${line}\n`);

// The run's keys, random and never printed.
const KEYS = { functionKey: randomUUID(), masterKey: randomUUID() };

/** The timer would start health runs in the middle of the measures: it runs only when asked. */
const NEVER_SCHEDULE = '0 0 0 1 1 *';
const DOCUMENTS_CONCURRENCY = 3;
/** How long the app keeps per-status counts per filter (functions/ops/runs.ts). */
const COUNTS_TTL_MS = 15_000;
const COLD_ROUNDS = 3;
const FIRST_PAGE = 50;
/** The largest page the route gives, for paging one filter through. */
const PAGE_THROUGH_TOP = 200;
const START_CLIENTS = 16;
const SEED_CONCURRENCY = 32;
const UPLOAD_CONCURRENCY = 16;
const POLL_MS = 200;
const DAY_MS = 86_400_000;
const SEED = 12;
const GOALS = { firstPageP95Ms: 500, documentsShareOfRaw: 0.8 };

/** Console filters: as a person narrows the list (all, done, failed only, one workflow, an id prefix). */
const FILTERS = [
  { label: 'all', query: '' },
  { label: 'status=Completed', query: 'status=Completed' },
  { label: 'status=Failed', query: 'status=Failed' },
  { label: 'workflow=health', query: 'workflow=health' },
  { label: 'prefix=linkedin-post-', query: 'prefix=linkedin-post-' },
] as const;

interface Options {
  instances: number;
  real: number;
  requests: number;
  documents: number;
  medianMs: number;
  deadlineMs: number;
  /** The host's storage through a counting proxy: its requests per document, for one more hop each. */
  countStorage: boolean;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      instances: { type: 'string' },
      real: { type: 'string' },
      requests: { type: 'string' },
      documents: { type: 'string' },
      'median-ms': { type: 'string' },
      'deadline-minutes': { type: 'string' },
      'count-storage': { type: 'boolean' },
    },
  });
  const instances = wholeNumber('--instances', values.instances, 10_000, 100, 200_000);
  const options: Options = {
    instances,
    real: wholeNumber('--real', values.real, Math.min(1000, instances), 0, instances),
    requests: wholeNumber('--requests', values.requests, 200, 10, 100_000),
    documents: wholeNumber('--documents', values.documents, 100, 3, 1000),
    medianMs: wholeNumber('--median-ms', values['median-ms'], 2000, 0, 60_000),
    deadlineMs: wholeNumber('--deadline-minutes', values['deadline-minutes'], 20, 1, 120) * 60_000,
    countStorage: values['count-storage'] ?? false,
  };
  if (!existsSync(SERVE)) throw new Error(`${SERVE} is missing: npm run build first.`);
  const loadAtStart = loadavg().map((load) => round(load));

  log(`Generating ${options.documents} documents (PDF, DOCX, TXT)…`);
  const documents = await makeDocuments(options.documents, SEED);

  const hub = `console${Date.now().toString(36)}`;
  const ai = await startAiServer(aiServerOptions(options.medianMs));
  const azurite = await startAzurite().catch(async (error: unknown) => {
    await ai.close();
    throw error;
  });
  const proxy = options.countStorage ? await countingProxy(azurite.ports) : undefined;
  let host: HostProcess | undefined;
  let listing: Awaited<ReturnType<typeof listingPhase>>;
  let workflow: Awaited<ReturnType<typeof documentsPhase>>;
  let peakRssMb: { afterListing: number; afterDocuments: number };
  try {
    host = await HostProcess.start(
      {
        AzureWebJobsStorage: proxy?.connectionString ?? azurite.connectionString,
        FUNCTIONS_WORKER_RUNTIME: 'node',
        DURABLE_TASK_HUB: hub,
        ...aiEnvironment(ai.url),
        OPS_DOCUMENTS_CONCURRENCY: String(DOCUMENTS_CONCURRENCY),
        OPS_HEALTH_SCHEDULE: NEVER_SCHEDULE,
      },
      { keys: KEYS },
    );
    const storage = createStorageClients({
      kind: 'connectionString',
      connectionString: azurite.connectionString,
    });
    const meter = new CpuMeter(host, azuritePid(azurite));
    listing = await listingPhase(host, storage, hub, meter, options);
    peakRssMb = { afterListing: host.peakRssMb(), afterDocuments: 0 };
    workflow = await documentsPhase(host, storage, meter, ai, documents, options, proxy);
    peakRssMb.afterDocuments = host.peakRssMb();
  } finally {
    await host?.stop();
    await Promise.all([azurite.stop(), ai.close(), proxy?.close()]);
  }

  const bare = await bareLoop(documents, options.medianMs);
  const ratio = workflow.seconds > 0 ? bare.seconds / workflow.seconds : 0;
  log(
    `   workflow ${workflow.documentsPerSecond} documents/s, bare loop ${bare.documentsPerSecond} documents/s: ` +
      `${round(ratio * 100, 1)} %`,
  );

  const goals = {
    firstPageP95AtMost500Ms: listing.loop.p95Ms <= GOALS.firstPageP95Ms,
    coldFirstPageP95AtMost500Ms: listing.cold.p95Ms <= GOALS.firstPageP95Ms,
    documentsAtLeast80PercentOfRaw: ratio >= GOALS.documentsShareOfRaw,
    everyDocumentDone: workflow.done === documents.length && bare.done === documents.length,
    pagedListMatchesCounts: listing.pagedThrough.matchesCounts,
  };
  const summary = {
    instances: listing.population.instances,
    firstPageP95Ms: listing.loop.p95Ms,
    countsColdMs: listing.cold.p95Ms,
    peakRssMb: Math.max(peakRssMb.afterListing, peakRssMb.afterDocuments),
    documents: documents.length,
    documentsPerSecond: workflow.documentsPerSecond,
    rawDocumentsPerSecond: bare.documentsPerSecond,
    ratio: round(ratio, 3),
    goalsMet: Object.entries(goals)
      .filter(([, met]) => met)
      .map(([goal]) => goal),
    goalsMissed: Object.entries(goals)
      .filter(([, met]) => !met)
      .map(([goal]) => goal),
  };
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    // Other work on the machine shows here: the figures are wall times.
    loadAverageAtStart: loadAtStart,
    options: {
      instances: options.instances,
      startedThroughApp: options.real,
      requests: options.requests,
      documents: options.documents,
      aiMedianMs: options.medianMs,
      documentsConcurrency: DOCUMENTS_CONCURRENCY,
      storageThroughCountingProxy: options.countStorage,
    },
    peakRssMb,
    listing,
    documents: {
      mix: documentMix(documents),
      aiServer: { latency: `lognormal, median ${options.medianMs} ms, p99/p50 4`, model: 'gpt-4o-mini' },
      workflow,
      bare,
      ratio: round(ratio, 3),
      whereTheTimeGoes:
        `The workflow kept ${workflow.aiCalls.meanInFlight} summaries in flight on average, the bare loop ` +
        `${bare.aiCalls.meanInFlight} (of ${DOCUMENTS_CONCURRENCY}), at the same AI latency ` +
        `(${workflow.aiCalls.meanLatencyMs} and ${bare.aiCalls.meanLatencyMs} ms a call). The host used ` +
        `${workflow.cpuMsPerDocument.host} ms and Azurite ${workflow.cpuMsPerDocument.azurite} ms of CPU a ` +
        `document (${round(workflow.cpuSeconds.host + workflow.cpuSeconds.azurite, 1)} s over the ` +
        `${workflow.seconds} s run). Seconds with 0, 1, 2, 3 summaries in flight: workflow ` +
        `${Object.values(workflow.aiCalls.secondsByInFlight).join(', ')}; bare loop ` +
        `${Object.values(bare.aiCalls.secondsByInFlight).join(', ')}.`,
    },
    goals,
    summary,
  };
  // A document lost or a list that skips or repeats runs is a wrong result, not a slow run.
  finishBench('console', result, goals, summary, ['everyDocumentDone', 'pagedListMatchesCounts']);
}

// --- 1. the runs list --------------------------------------------------------------------------------

const startedSchema = z.object({ id: z.string(), statusUrl: z.string() });
const pageSchema = z.object({
  runs: z.array(z.looseObject({ id: z.string(), workflow: z.string(), status: z.string() })),
  counts: z.record(z.string(), z.number()),
  countsAt: z.string(),
  continuation: z.string().optional(),
});
type RunsPage = z.infer<typeof pageSchema>;

async function listingPhase(
  host: HostProcess,
  storage: StorageClients,
  hub: string,
  meter: CpuMeter,
  options: Options,
) {
  log(`1. ${options.real} smoke runs started through POST /api/ops/runs…`);
  const real = await meter.measure(options.real, () => startRealRuns(host, options.real, options.deadlineMs));
  log(
    `   started in ${round(real.result.startSeconds, 1)} s, all finished after ${round(real.seconds, 1)} s ` +
      `(host CPU ${real.cpuMsPerOp.host} ms a run)`,
  );

  const seededCount = options.instances - options.real;
  log(`   ${seededCount} more written to the task hub by the engine's store…`);
  const records = seedRecords(seededCount, new Date(), SEED);
  const seeded = await timed(() => seedHub(storage, hub, records));
  log(`   written in ${round(seeded.seconds, 1)} s`);

  log(`2. GET /api/ops/runs?top=${FIRST_PAGE}, cold: ${COLD_ROUNDS} rounds of ${FILTERS.length} filters…`);
  // The counts are kept per filter with the status aside, so a status filter shares the whole hub's
  // counts: each round starts with another filter, the cache expired, so each one comes first once.
  const coldSamples: ColdSample[] = [];
  for (let roundNumber = 0; roundNumber < COLD_ROUNDS; roundNumber++) {
    if (roundNumber > 0) await sleep(COUNTS_TTL_MS + 1000);
    for (let i = 0; i < FILTERS.length; i++) {
      const filter = FILTERS[(i + roundNumber) % FILTERS.length] ?? FILTERS[0];
      const request = await meter.measure(1, () => firstPage(host, filter.query));
      const page = request.result;
      coldSamples.push({
        filter: filter.label,
        ms: round(page.ms),
        recomputed: page.recomputed,
        counted: Object.values(page.body.counts).reduce((a, b) => a + b, 0),
        cpuMs: request.cpuMsPerOp,
      });
    }
  }
  const recomputedCold = coldSamples.filter((s) => s.recomputed);
  const coldLatency = percentiles(recomputedCold.map((s) => s.ms));
  log(
    `   counts recomputed in ${recomputedCold.length} of ${coldSamples.length}: p50 ${coldLatency.p50Ms} ms, ` +
      `p95 ${coldLatency.p95Ms} ms; ${coldSummary(recomputedCold)}`,
  );

  log(`3. ${options.requests} first pages, the filters in turn (counts cached ${COUNTS_TTL_MS / 1000} s)…`);
  const loopSamples: { ms: number; recomputed: boolean }[] = [];
  const loop = await meter.measure(options.requests, async () => {
    for (let i = 0; i < options.requests; i++) {
      const filter = FILTERS[i % FILTERS.length] ?? FILTERS[0];
      const page = await firstPage(host, filter.query);
      loopSamples.push({ ms: page.ms, recomputed: page.recomputed });
    }
  });
  const loopLatency = percentiles(loopSamples.map((s) => s.ms));
  const hits = loopSamples.filter((s) => !s.recomputed).map((s) => s.ms);
  const recomputes = loopSamples.filter((s) => s.recomputed).map((s) => s.ms);
  log(
    `   p50 ${loopLatency.p50Ms} ms, p95 ${loopLatency.p95Ms} ms over ${round(loop.seconds, 1)} s; ` +
      `${recomputes.length} requests recomputed the counts (host CPU ${loop.cpuMsPerOp.host} ms a request)`,
  );

  log(`4. workflow=health paged through, top=${PAGE_THROUGH_TOP}…`);
  const pagedThrough = await pageThrough(host, 'workflow=health');
  log(
    `   ${pagedThrough.pages} pages, ${pagedThrough.runs} runs (${pagedThrough.distinct} distinct), ` +
      `counts say ${pagedThrough.counted}; next pages p95 ${pagedThrough.nextPages.p95Ms} ms, the counts ` +
      `recomputed for ${pagedThrough.nextPages.countsRecomputed} of them`,
  );

  const byStatus = await firstPage(host, '');
  return {
    population: {
      instances: options.instances,
      startedThroughApp: options.real,
      seededThroughStore: seededCount,
      how:
        `${options.real} smoke runs (webhook-signature) started through POST /api/ops/runs and run by the ` +
        `host; ${seededCount} instances written by local/durable/store.ts's AzureInstanceStore (a row in ` +
        `${hub}Instances and a blob with the history each, as the engine writes them)`,
      seededKinds: countBy(records.map((r) => r.name)),
      countsByStatus: byStatus.body.counts,
      realRuns: {
        startSeconds: round(real.result.startSeconds),
        finishedSeconds: round(real.seconds),
        runsPerSecond: round(options.real / real.seconds),
        cpuMsPerRun: real.cpuMsPerOp,
      },
      seedSeconds: round(seeded.seconds),
    },
    cold: {
      // Over the requests that computed their counts (the others found them cached by another filter).
      ...coldLatency,
      rounds: COLD_ROUNDS,
      recomputed: recomputedCold.length,
      samples: coldSamples,
    },
    loop: {
      requests: options.requests,
      seconds: round(loop.seconds, 2),
      ...loopLatency,
      cacheHits: { requests: hits.length, ...percentiles(hits) },
      countsRecomputed: { requests: recomputes.length, ...percentiles(recomputes) },
      cpuMsPerRequest: loop.cpuMsPerOp,
    },
    pagedThrough,
    // A console refreshing every 5 s with one filter finds its counts older than 15 s every third time.
    note:
      'The counts are cached per filter for 15 s: a lone console refreshing every 5 s recomputes them on ' +
      'one refresh in three, so its own p95 is the cold figure; consoles sharing a filter share the cache.',
  };
}

interface ColdSample {
  filter: string;
  ms: number;
  recomputed: boolean;
  /** How many runs the counts cover (the filter with its status aside). */
  counted: number;
  cpuMs: { host: number; azurite: number; bench: number };
}

/** Per size of the counted set: the latency and CPU of a request that computed its counts. */
function coldSummary(samples: ColdSample[]): string {
  const sizes = [...new Set(samples.map((s) => s.counted))].sort((a, b) => b - a);
  return sizes
    .map((size) => {
      const of = samples.filter((s) => s.counted === size);
      const mean = (pick: (s: ColdSample) => number) =>
        round(of.reduce((sum, s) => sum + pick(s), 0) / of.length, 0);
      return (
        `${size} runs counted: ${mean((s) => s.ms)} ms (host CPU ${mean((s) => s.cpuMs.host)} ms, ` +
        `Azurite ${mean((s) => s.cpuMs.azurite)} ms)`
      );
    })
    .join('; ');
}

/** `count` smoke runs through the route, then until none is pending or running. */
async function startRealRuns(host: HostProcess, count: number, deadlineMs: number) {
  const started = performance.now();
  await pool(count, START_CLIENTS, async () => {
    const answer = await host.call('POST', '/api/ops/runs', 'function', {
      workflow: 'smoke',
      parameters: { tests: ['webhook-signature'] },
    });
    if (answer.status !== 202)
      throw new Error(`POST /api/ops/runs answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    return startedSchema.parse(JSON.parse(answer.body)).id;
  });
  const startSeconds = (performance.now() - started) / 1000;
  // Filtered by status, the page comes from the table, not from the cached counts.
  for (;;) {
    if (count === 0) break;
    const page = await listRuns(host, 'workflow=smoke&status=Pending,Running&top=1');
    if (page.runs.length === 0 && !page.continuation) break;
    if (performance.now() - started > deadlineMs) throw new Error('The smoke runs did not finish in time.');
    await sleep(1000);
  }
  return { startSeconds };
}

async function listRuns(host: HostProcess, query: string): Promise<RunsPage> {
  const answer = await host.call('GET', `/api/ops/runs?${query}`, 'function');
  if (answer.status !== 200)
    throw new Error(`GET /api/ops/runs?${query} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  return pageSchema.parse(JSON.parse(answer.body));
}

/** The first page of a filter, timed; `recomputed` when the counts were computed for this request. */
async function firstPage(host: HostProcess, query: string) {
  const sentAt = Date.now();
  const started = performance.now();
  const body = await listRuns(host, `top=${FIRST_PAGE}${query ? `&${query}` : ''}`);
  const ms = performance.now() - started;
  return { ms, body, recomputed: Date.parse(body.countsAt) >= sentAt };
}

/** Every page of a filter: each run once, as many as the counts of its first page say. */
async function pageThrough(host: HostProcess, query: string) {
  const ids: string[] = [];
  const latencies: number[] = [];
  let continuation: string | undefined;
  let counted = 0;
  let pages = 0;
  let recomputed = 0;
  do {
    const sentAt = Date.now();
    const started = performance.now();
    const page = await listRuns(
      host,
      `top=${PAGE_THROUGH_TOP}&${query}` +
        (continuation ? `&continuation=${encodeURIComponent(continuation)}` : ''),
    );
    if (pages === 0) counted = Object.values(page.counts).reduce((a, b) => a + b, 0);
    else {
      latencies.push(performance.now() - started);
      if (Date.parse(page.countsAt) >= sentAt) recomputed++;
    }
    pages++;
    ids.push(...page.runs.map((run) => run.id));
    continuation = page.continuation;
  } while (continuation);
  const distinct = new Set(ids).size;
  return {
    filter: query,
    top: PAGE_THROUGH_TOP,
    pages,
    runs: ids.length,
    distinct,
    counted,
    matchesCounts: distinct === ids.length && ids.length === counted,
    nextPages: { ...percentiles(latencies), countsRecomputed: recomputed },
  };
}

// --- the seeded task hub -----------------------------------------------------------------------------

interface SeedKind {
  /** Its share of the seeded instances (a dossier batch's lanes come on top of its share). */
  share: number;
  name: string;
  id: (at: Date, random: () => number) => string;
  input: (random: () => number) => unknown;
  activities: string[];
  output: (random: () => number) => unknown;
  /** How long a finished one ran. */
  seconds: [number, number];
  lanes?: number;
}

const stamp = (at: Date) =>
  at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
const hex = (random: () => number, length: number) =>
  Array.from({ length }, () => Math.floor(random() * 16).toString(16)).join('');
const pickOf = <T>(random: () => number, items: readonly T[]): T => {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
};

const SEED_KINDS: SeedKind[] = [
  {
    // Every 15 minutes for a month: the timer's runs are the bulk of a real hub.
    share: 0.32,
    name: 'opsHealth',
    id: (at, random) => `ops-health-${stamp(at)}-${hex(random, 6)}`,
    input: () => ({ parameters: {}, trigger: 'timer' }),
    activities: ['opsCheckHealth', 'opsRecordHealth'],
    output: (random) => {
      const score = 60 + Math.floor(random() * 41);
      return { score, status: score >= 75 ? 'healthy' : 'degraded', checks: [], alert: null };
    },
    seconds: [1, 6],
  },
  {
    share: 0.3,
    name: 'linkedinPublish',
    id: (_at, random) => `linkedin-post-${hex(random, 16)}-${random() < 0.9 ? 1 : 2}`,
    input: (random) => ({ postId: hex(random, 16), attempt: 1 }),
    activities: ['linkedinCreatePost'],
    output: (random) => ({ status: 'published', urn: `urn:li:share:${Math.floor(random() * 1e12)}` }),
    seconds: [1, 4],
  },
  {
    share: 0.06,
    name: 'dossierBatch',
    id: (at, random) => `dossiers-lot-${stamp(at).slice(0, 8)}-${hex(random, 4)}-${hex(random, 16)}`,
    input: (random) => ({ batchId: `lot-${hex(random, 4)}`, pairs: 20 + Math.floor(random() * 200) }),
    activities: ['dossierPlan', 'dossierSaveOutcomes', 'dossierReport'],
    output: (random) => ({ generated: Math.floor(random() * 200), failed: Math.floor(random() * 3) }),
    seconds: [60, 1800],
    lanes: 4,
  },
  {
    share: 0.01,
    name: 'opsMaintenance',
    id: (at, random) => `ops-maintenance-${stamp(at)}-${hex(random, 6)}`,
    input: () => ({
      parameters: { olderThanDays: 30, dryRun: false, backupTables: true },
      trigger: 'console',
    }),
    activities: ['opsBackupTables', 'opsPurgeHistory', 'opsSweepBlobs'],
    output: (random) => ({
      dryRun: false,
      history: { instances: Math.floor(random() * 500), skippedActive: 0 },
    }),
    seconds: [20, 300],
  },
  {
    share: 0.02,
    name: 'opsDocuments',
    id: (at, random) => `ops-documents-lot-${stamp(at).slice(0, 8)}-${hex(random, 4)}`,
    input: (random) => ({ parameters: { batchId: `lot-${hex(random, 4)}` }, trigger: 'drop' }),
    activities: ['opsListDocuments', 'opsProcessDocument', 'opsProcessDocument', 'opsDocumentsReport'],
    output: (random) => ({ done: Math.floor(random() * 20), failed: 0, unchanged: 0, files: [] }),
    seconds: [10, 240],
  },
  {
    share: 0.05,
    name: 'opsSmoke',
    id: (at, random) => `ops-smoke-${stamp(at)}-${hex(random, 6)}`,
    input: () => ({ parameters: { tests: ['ai', 'webhook-signature'] }, trigger: 'console' }),
    activities: ['opsSmokeTest', 'opsSmokeTest'],
    output: () => ({ passed: 2, failed: 0, skipped: 0, results: [] }),
    seconds: [1, 20],
  },
];

/** Statuses as a month of a real app shows them; the active ones among the last hours' runs. */
const STATUS_SHARES: [RuntimeStatus, number][] = [
  ['Completed', 0.85],
  ['Failed', 0.08],
  ['Terminated', 0.03],
  ['Running', 0.03],
  ['Pending', 0.01],
];

function pickStatus(random: () => number): RuntimeStatus {
  let draw = random();
  for (const [status, share] of STATUS_SHARES) {
    draw -= share;
    if (draw < 0) return status;
  }
  return 'Completed';
}

/** `count` instances of the app's kinds over the last 30 days, drawn from a seeded PRNG. */
function seedRecords(count: number, now: Date, seed: number): StoredInstance[] {
  const random = mulberry32(seed);
  const total = SEED_KINDS.reduce((sum, kind) => sum + kind.share, 0);
  const records: StoredInstance[] = [];
  while (records.length < count) {
    let draw = random() * total;
    const kind = SEED_KINDS.find((k) => (draw -= k.share) < 0) ?? SEED_KINDS[0];
    if (!kind) break;
    const status = pickStatus(random);
    const active = status === 'Running' || status === 'Pending';
    const createdAt = new Date(now.getTime() - random() * (active ? 3 * 3_600_000 : 30 * DAY_MS));
    const id = kind.id(createdAt, random);
    const seconds = kind.seconds[0] + random() * (kind.seconds[1] - kind.seconds[0]);
    const parent = seededInstance(kind, id, kind.name, status, createdAt, seconds, now, random);
    records.push(parent);
    for (let lane = 0; lane < (kind.lanes ?? 0); lane++) {
      const laneKind = {
        ...kind,
        name: 'dossierLane',
        activities: ['dossierGeneratePair', 'dossierGeneratePair'],
      };
      records.push(
        seededInstance(
          laneKind,
          `${id}:lane-${lane}`,
          'dossierLane',
          status,
          createdAt,
          seconds,
          now,
          random,
        ),
      );
    }
  }
  return records.slice(0, count);
}

/** One instance with the history the engine writes: episodes of scheduled and completed activities. */
function seededInstance(
  kind: SeedKind,
  instanceId: string,
  name: string,
  status: RuntimeStatus,
  createdAt: Date,
  seconds: number,
  now: Date,
  random: () => number,
): StoredInstance {
  const input = kind.input(random);
  const at = (share: number) => new Date(createdAt.getTime() + share * seconds * 1000);
  const history: HistoryEvent[] = [
    historyEvent(EventType.OrchestratorStarted, createdAt, { IsPlayed: true }),
    historyEvent(EventType.ExecutionStarted, createdAt, {
      IsPlayed: true,
      Name: name,
      Input: JSON.stringify(input),
    }),
  ];
  if (status === 'Pending') history.length = 0;
  const steps = status === 'Pending' ? 0 : status === 'Running' ? 1 : kind.activities.length;
  for (let step = 0; step < steps; step++) {
    const activity = kind.activities[step] ?? 'activity';
    const scheduled = at(step / (steps + 1));
    const completed = at((step + 1) / (steps + 1));
    history.push(
      historyEvent(EventType.TaskScheduled, scheduled, {
        EventId: step,
        IsPlayed: true,
        Name: activity,
        Input: JSON.stringify({ runId: instanceId }),
      }),
      historyEvent(EventType.OrchestratorCompleted, scheduled),
    );
    if (status === 'Running' && step === steps - 1) break;
    const failedHere = status === 'Failed' && step === steps - 1;
    history.push(
      historyEvent(EventType.OrchestratorStarted, completed, { IsPlayed: true }),
      failedHere
        ? historyEvent(EventType.TaskFailed, completed, {
            IsPlayed: true,
            TaskScheduledId: step,
            Reason: `Activity function '${activity}' failed: the service answered 503`,
            Details: `Error: the service answered 503\n    at ${activity}`,
          })
        : historyEvent(EventType.TaskCompleted, completed, {
            IsPlayed: true,
            TaskScheduledId: step,
            Result: JSON.stringify({ ok: true }),
          }),
    );
  }
  const ended = at(1);
  let output: unknown = null;
  if (status === 'Completed') output = kind.output(random);
  if (status === 'Failed')
    output = `Activity function '${kind.activities.at(-1) ?? ''}' failed: the service answered 503`;
  if (status === 'Terminated') output = 'terminate from the ops console';
  if (status === 'Terminated')
    history.push(historyEvent(EventType.ExecutionTerminated, ended, { Input: JSON.stringify(output) }));
  else if (status === 'Completed' || status === 'Failed')
    history.push(
      historyEvent(EventType.OrchestratorCompleted, ended),
      historyEvent(EventType.ExecutionCompleted, ended, {
        OrchestrationStatus: status,
        Result: JSON.stringify(output),
      }),
    );
  const finished = status === 'Completed' || status === 'Failed' || status === 'Terminated';
  return {
    instanceId,
    name,
    runtimeStatus: status,
    input,
    output,
    customStatus: status === 'Running' ? { step: kind.activities[0] ?? 'running' } : null,
    createdTime: createdAt.toISOString(),
    lastUpdatedTime: (finished ? ended : now).toISOString(),
    history,
  };
}

/** The instances written as the engine writes them: the history blob, then the row. */
async function seedHub(storage: StorageClients, hub: string, records: StoredInstance[]) {
  const store = new AzureInstanceStore(storage, hub);
  await pool(records.length, SEED_CONCURRENCY, async (index) => {
    const record = records[index];
    if (record) await store.save(record.instanceId, () => record, 'now');
  });
}

// --- 2. documents ------------------------------------------------------------------------------------

interface BenchDocument {
  name: string;
  kind: 'pdf' | 'docx' | 'txt';
  language: 'fr' | 'en';
  bytes: Buffer;
  pages?: number;
}

const getRunSchema = z.looseObject({
  id: z.string(),
  status: z.string(),
  createdAt: z.string(),
  lastUpdatedAt: z.string(),
  output: z.unknown(),
});
const reportSchema = z.object({ done: z.number(), failed: z.number(), unchanged: z.number() });
const logSchema = z.object({
  entries: z.array(z.object({ at: z.string(), level: z.string(), step: z.string(), message: z.string() })),
});
const summarySchema = z.looseObject({
  summary: z.string(),
  keyPoints: z.array(z.string()),
  language: z.string(),
});

async function documentsPhase(
  host: HostProcess,
  storage: StorageClients,
  meter: CpuMeter,
  ai: LocalAiServer,
  documents: BenchDocument[],
  options: Options,
  proxy: StorageCounter | undefined,
) {
  const batchId = `bench-${Date.now().toString(36)}`;
  // What the host asks of storage when idle (its blob, queue and timer watchers), to tell it apart.
  const idle = proxy ? await storageRequests(proxy, IDLE_SAMPLE_MS, () => sleep(IDLE_SAMPLE_MS)) : undefined;
  log(
    `5. ${documents.length} documents dropped in ${CONTAINERS.documentsInbox}/${batchId}/, the documents ` +
      `workflow at ${DOCUMENTS_CONCURRENCY} in flight…`,
  );
  const callsBefore = ai.log.length;
  const countedFrom = proxy?.snapshot();
  const run = await meter.measure(documents.length, async () => {
    const dropStarted = performance.now();
    const inbox = storage.blobs.getContainerClient(CONTAINERS.documentsInbox);
    await inbox.createIfNotExists();
    await pool(documents.length, UPLOAD_CONCURRENCY, async (index) => {
      const document = documents[index];
      if (!document) return;
      await inbox.getBlockBlobClient(`${batchId}/${document.name}`).uploadData(document.bytes, {
        blobHTTPHeaders: { blobContentMD5: createHash('md5').update(document.bytes).digest() },
      });
    });
    const dropSeconds = (performance.now() - dropStarted) / 1000;
    const answer = await host.call('POST', '/api/ops/runs', 'function', {
      workflow: 'documents',
      parameters: { batchId },
    });
    // The blob trigger of the inbox may have started the batch first: the run is then under way.
    const startedBy = answer.status === 202 ? 'POST /api/ops/runs' : 'the documentsInbox blob trigger';
    if (answer.status !== 202 && !answer.body.includes('run_in_progress'))
      throw new Error(`POST /api/ops/runs answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    const id = `ops-documents-${batchId}`;
    const finished = await awaitRun(host, id, options.deadlineMs);
    return { id, dropSeconds, startedBy, finished, wallSeconds: (performance.now() - dropStarted) / 1000 };
  });
  const { id, finished } = run.result;
  const entries = await runLogOf(host, id);
  // Blob triggers that fire after the run ended start the batch again (everything unchanged): the first
  // report in the log is this run's.
  const reportEntry = entries.find((entry) => entry.step === 'report');
  const completedAt = finished.run?.lastUpdatedAt ?? reportEntry?.at;
  if (!finished.createdAt || !completedAt)
    throw new Error(
      `The documents run ${id} ended without a report; its log:\n` +
        entries.map((e) => `${e.at} ${e.level} ${e.step}: ${e.message}`).join('\n'),
    );
  const seconds = (Date.parse(completedAt) - Date.parse(finished.createdAt)) / 1000;
  const report = finished.run ? reportSchema.safeParse(finished.run.output) : undefined;
  const summarisedInLog = new Set(
    entries
      .filter((entry) => entry.level === 'info' && entry.step.startsWith('document:'))
      .map((entry) => entry.step.slice('document:'.length)),
  );
  const failures = entries
    .filter((entry) => entry.level === 'error')
    .map((entry) => `${entry.step}: ${entry.message}`)
    .slice(0, 10);
  const readBack = await readSummaries(host, batchId, documents);
  // Done: summarised in the run's log and its summary, read back through the app, is this document's.
  const done = documents.filter((d, i) => readBack.ok[i] && summarisedInLog.has(d.name)).length;
  const documentsPerSecond = round(documents.length / seconds);
  const calls = aiCalls(ai.log.slice(callsBefore), Date.parse(finished.createdAt), Date.parse(completedAt));
  log(
    `   ${round(seconds, 1)} s from the run's start to its end (${documentsPerSecond} documents/s), ` +
      `${done} done; ${calls.meanInFlight} summaries in flight on average; host CPU ` +
      `${run.cpuMsPerOp.host} ms, Azurite ${run.cpuMsPerOp.azurite} ms a document`,
  );
  return {
    batchId,
    instanceId: id,
    startedBy: run.result.startedBy,
    dropSeconds: round(run.result.dropSeconds),
    seconds: round(seconds, 2),
    wallSecondsFromDrop: round(run.result.wallSeconds, 2),
    documentsPerSecond,
    status: finished.run?.status ?? 'Completed (seen in its log; a later run replaced it before a poll)',
    report: report?.success ? report.data : null,
    ...(finished.run?.status === 'Failed' ? { failure: finished.run.output } : {}),
    summarisedInLog: summarisedInLog.size,
    done,
    problems: [...failures, ...readBack.problems].slice(0, 10),
    aiCalls: calls,
    ...(proxy && countedFrom && idle
      ? {
          storageRequests: {
            perDocument: perUnit(difference(proxy.snapshot(), countedFrom), documents.length),
            idlePerSecond: idle,
            note: 'Every request the host made to Azurite during the run, through a counting proxy.',
          },
        }
      : {}),
    cpuSeconds: run.cpuSeconds,
    cpuMsPerDocument: run.cpuMsPerOp,
  };
}

/** Polls the run until it ends; stops early when a later run of the same id replaced it. */
async function awaitRun(host: HostProcess, id: string, deadlineMs: number) {
  const until = performance.now() + deadlineMs;
  let createdAt: string | undefined;
  for (;;) {
    const answer = await host.call('GET', `/api/ops/runs/${encodeURIComponent(id)}`, 'function');
    if (answer.status === 200) {
      const run = getRunSchema.parse(JSON.parse(answer.body));
      createdAt ??= run.createdAt;
      if (run.createdAt !== createdAt) return { createdAt, run: undefined };
      if (['Completed', 'Failed', 'Terminated'].includes(run.status)) return { createdAt, run };
    } else if (answer.status !== 404) {
      throw new Error(`GET /api/ops/runs/${id} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    }
    if (!host.alive) throw host.failure('stopped during the documents run');
    if (performance.now() > until) throw new Error(`The documents run ${id} did not end in time.`);
    await sleep(POLL_MS);
  }
}

async function runLogOf(host: HostProcess, id: string) {
  const answer = await host.call('GET', `/api/ops/runs/${encodeURIComponent(id)}/log`, 'function');
  if (answer.status !== 200) throw new Error(`GET /api/ops/runs/${id}/log answered ${answer.status}.`);
  return logSchema.parse(JSON.parse(answer.body)).entries;
}

/** Each document's summary through the app: it names the document and is in its language. */
async function readSummaries(host: HostProcess, batchId: string, documents: BenchDocument[]) {
  const problems: string[] = [];
  const ok = await pool(documents.length, 8, async (index) => {
    const document = documents[index];
    if (!document) return false;
    const route = `/api/ops/documents/${batchId}/${encodeURIComponent(document.name)}`;
    const answer = await host.call('GET', route, 'function');
    if (answer.status !== 200) {
      problems.push(`${document.name}: GET answered ${answer.status}`);
      return false;
    }
    return checkSummary(document, summarySchema.parse(JSON.parse(answer.body)), problems);
  });
  return { ok, problems };
}

function checkSummary(
  document: BenchDocument,
  summary: { summary: string; keyPoints: string[]; language: string },
  problems: string[],
): boolean {
  const ok =
    summary.summary.includes(document.name) &&
    summary.language === document.language &&
    summary.keyPoints.length > 0;
  if (!ok) problems.push(`${document.name}: summary "${summary.summary.slice(0, 80)}" (${summary.language})`);
  return ok;
}

// --- 3. the bare loop --------------------------------------------------------------------------------

/** The same documents in this process: extraction and summary only, 3 at a time, on a fresh server. */
async function bareLoop(documents: BenchDocument[], medianMs: number) {
  log(`6. The bare loop: ${documents.length} documents extracted and summarised here, 3 at a time…`);
  const server = await startAiServer(aiServerOptions(medianMs));
  try {
    const ai = createSuiteAi(loadFragments(aiEnvironment(server.url), { ai: aiSettings }).ai);
    const problems: string[] = [];
    const limits = { maxBytes: 20 * 1024 * 1024, maxPages: 300 };
    const cpuBefore = process.cpuUsage();
    const startedAt = Date.now();
    const started = performance.now();
    const outcomes = await pool(documents.length, DOCUMENTS_CONCURRENCY, async (index) => {
      const document = documents[index];
      if (!document) return false;
      try {
        const extracted = await extractDocument(document.name, document.bytes, limits);
        const summary = await summariseDocument(ai, { name: document.name, text: extracted.text });
        return checkSummary(document, summary, problems);
      } catch (error) {
        problems.push(`${document.name}: ${error instanceof Error ? error.message : String(error)}`);
        return false;
      }
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const documentsPerSecond = round(documents.length / seconds);
    const calls = aiCalls(server.log, startedAt, Date.now());
    log(
      `   ${round(seconds, 1)} s (${documentsPerSecond} documents/s), ${calls.meanInFlight} summaries in ` +
        `flight on average`,
    );
    return {
      seconds: round(seconds, 2),
      documentsPerSecond,
      done: outcomes.filter(Boolean).length,
      problems: problems.slice(0, 10),
      aiCalls: calls,
      // This process also runs the local AI server here.
      cpuMsPerDocument: round((cpu.user + cpu.system) / 1000 / documents.length, 1),
    };
  } finally {
    await server.close();
  }
}

// --- the AI server -----------------------------------------------------------------------------------

/**
 * The summaries the AI server answered from `from` to `to` (epoch ms): how long each took, how many were
 * in flight on average (the concurrency when the documents keep it busy), and the seconds spent with
 * 0, 1, 2, 3 (or more) in flight: time at 0 is neither AI nor waited for by it.
 */
function aiCalls(calls: LoggedRequest[], from: number, to: number) {
  const spans = calls.map((call) => [call.arrivedAt, call.finishedAt ?? to] as const);
  const busy = spans.reduce((sum, [start, end]) => sum + (end - start), 0);
  const edges = [...spans.flatMap(([start, end]) => [start, end]), from, to]
    .filter((at) => at >= from && at <= to)
    .sort((a, b) => a - b);
  const secondsAt: number[] = [];
  for (let i = 1; i < edges.length; i++) {
    const [start = 0, end = 0] = [edges[i - 1], edges[i]];
    const inFlight = spans.filter(([s, e]) => s <= start && e >= end).length;
    const level = Math.min(inFlight, DOCUMENTS_CONCURRENCY);
    secondsAt[level] = (secondsAt[level] ?? 0) + (end - start) / 1000;
  }
  return {
    requests: calls.length,
    notOk: calls.filter((call) => call.status !== 200).length,
    meanLatencyMs: round(busy / Math.max(1, calls.length), 0),
    meanInFlight: round(busy / (to - from)),
    secondsByInFlight: Object.fromEntries(
      Array.from({ length: DOCUMENTS_CONCURRENCY + 1 }, (_, level) => [
        level === DOCUMENTS_CONCURRENCY ? `${level}+` : String(level),
        round(secondsAt[level] ?? 0, 1),
      ]),
    ),
  };
}

function aiEnvironment(url: string): Record<string, string> {
  return { AI_PROVIDER: 'openai', OPENAI_BASE_URL: `${url}/v1`, OPENAI_MODEL: 'gpt-4o-mini' };
}

/** The same seed for the workflow's server and the bare loop's: the same latencies, in the same order. */
function aiServerOptions(medianMs: number) {
  return {
    ...(medianMs > 0 ? { latencyMs: lognormalLatency(medianMs, 4, 42) } : {}),
    reply: summaryReply,
  };
}

const FRENCH_WORDS = /\b(le|la|les|des|du|est|une|pour|dans)\b/gi;
const ENGLISH_WORDS = /\b(the|and|of|is|for|with|to|in)\b/gi;

/**
 * The document-summary answer a model would give, made from the prompt: the file's name and the opening
 * sentences as the summary, the next ones as key points, the language from common words.
 */
function summaryReply(body: ChatBody): string {
  const prompt = (body.messages ?? [])
    .map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)))
    .join('\n');
  const block = (name: string) =>
    new RegExp(`<data name="${name}">\\n([\\s\\S]*?)\\n</data>`).exec(prompt)?.[1]?.trim() ?? '';
  const text = block('text');
  const sentences = text
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter((s) => s.length > 20);
  const sample = text.slice(0, 4000);
  const french = (sample.match(FRENCH_WORDS) ?? []).length > (sample.match(ENGLISH_WORDS) ?? []).length;
  return JSON.stringify({
    summary: `${block('name')}: ${sentences.slice(0, 2).join(' ')}`,
    keyPoints: sentences.slice(2, 6),
    language: french ? 'fr' : 'en',
  });
}

// --- the documents -----------------------------------------------------------------------------------

const WORDS = {
  fr: {
    subjects: [
      'Le comité de direction',
      'Le service des sinistres',
      'Le centre d’appels',
      'Le pôle juridique',
      'Le réseau des agences',
      'Le groupe de travail',
    ],
    verbs: [
      'a validé',
      'propose de revoir',
      'constate une hausse sur',
      'demande un suivi pour',
      'prévoit de réduire',
    ],
    objects: [
      'le délai moyen de règlement',
      'le budget de numérisation',
      'les relances par courriel',
      'le taux de réclamations',
      'la charge des conseillers',
      'le plan de formation',
    ],
    tails: [
      (n: number) => `de ${n} % sur un an`,
      (n: number) => `pour le ${1 + (n % 4)}e trimestre`,
      (n: number) => `avant le ${1 + (n % 28)} octobre`,
      (n: number) => `à hauteur de ${n * 150} €`,
      () => 'dans toutes les agences',
      () => 'sur les dossiers incomplets',
    ],
    headings: [
      'Synthèse',
      'Contexte',
      'Constats',
      'Analyse des coûts',
      'Recommandations',
      'Calendrier',
      'Décisions',
    ],
    titles: [
      'Rapport d’activité',
      'Compte rendu de réunion',
      'Note de synthèse',
      'Audit des sinistres habitation',
    ],
    names: { pdf: 'rapport', docx: 'compte-rendu', txt: 'notes' },
  },
  en: {
    subjects: [
      'The board',
      'The claims team',
      'The call centre',
      'The legal department',
      'The branch network',
    ],
    verbs: [
      'approved',
      'proposes to review',
      'reports an increase in',
      'asks for a follow-up on',
      'plans to cut',
    ],
    objects: [
      'the average settlement time',
      'the scanning budget',
      'the email reminders',
      'the complaint rate',
      'the advisers’ workload',
      'the training plan',
    ],
    tails: [
      (n: number) => `by ${n} % over a year`,
      (n: number) => `for quarter ${1 + (n % 4)}`,
      (n: number) => `before ${1 + (n % 28)} October`,
      (n: number) => `up to ${n * 150} euros`,
      () => 'in every branch',
      () => 'on incomplete files',
    ],
    headings: [
      'Summary',
      'Background',
      'Findings',
      'Cost analysis',
      'Recommendations',
      'Timeline',
      'Decisions',
    ],
    titles: ['Activity report', 'Meeting minutes', 'Briefing note', 'Home claims audit'],
    names: { pdf: 'report', docx: 'minutes', txt: 'memo' },
  },
};

interface Section {
  heading: string;
  paragraphs: string[];
}

function sentence(language: 'fr' | 'en', random: () => number): string {
  const words = WORDS[language];
  const n = 2 + Math.floor(random() * 40);
  return `${pickOf(random, words.subjects)} ${pickOf(random, words.verbs)} ${pickOf(random, words.objects)} ${pickOf(random, words.tails)(n)}.`;
}

function sectionsOf(language: 'fr' | 'en', count: number, random: () => number): Section[] {
  return Array.from({ length: count }, (_, i) => ({
    heading: `${i + 1}. ${pickOf(random, WORDS[language].headings)}`,
    paragraphs: Array.from({ length: 2 + Math.floor(random() * 4) }, () =>
      Array.from({ length: 3 + Math.floor(random() * 4) }, () => sentence(language, random)).join(' '),
    ),
  }));
}

/** `count` documents: 40 % multi-page PDFs, 30 % DOCX, 30 % TXT (a third in Windows-1252); most in French. */
async function makeDocuments(count: number, seed: number): Promise<BenchDocument[]> {
  const random = mulberry32(seed);
  const documents: BenchDocument[] = [];
  for (let i = 0; i < count; i++) {
    const language = random() < 0.7 ? 'fr' : 'en';
    const kind = i % 10 < 4 ? 'pdf' : i % 10 < 7 ? 'docx' : 'txt';
    const words = WORDS[language];
    const name = `${words.names[kind]}-${String(i + 1).padStart(3, '0')}.${kind}`;
    const title = `${pickOf(random, words.titles)} ${i + 1}`;
    if (kind === 'pdf') {
      const pages = pdfPages(title, sectionsOf(language, 4 + Math.floor(random() * 20), random));
      documents.push({ name, kind, language, bytes: textPdf(pages), pages: pages.length });
    } else if (kind === 'docx') {
      const bytes = await docxOf(title, sectionsOf(language, 2 + Math.floor(random() * 10), random));
      documents.push({ name, kind, language, bytes });
    } else {
      const text = [
        title,
        '',
        ...sectionsOf(language, 1 + Math.floor(random() * 8), random).flatMap((s) => [
          s.heading,
          '',
          ...s.paragraphs.flatMap((p) => [p, '']),
        ]),
      ];
      // Notepad's "ANSI" with CRLF for a third of them, UTF-8 with LF for the others.
      const bytes = i % 3 === 0 ? winAnsi(text.join('\r\n')) : Buffer.from(text.join('\n'), 'utf8');
      documents.push({ name, kind, language, bytes });
    }
  }
  return documents;
}

function documentMix(documents: BenchDocument[]) {
  const of = (kind: BenchDocument['kind']) => documents.filter((d) => d.kind === kind);
  const pages = of('pdf').map((d) => d.pages ?? 0);
  return {
    pdf: { count: of('pdf').length, pages: { min: Math.min(...pages), max: Math.max(...pages) } },
    docx: { count: of('docx').length },
    txt: { count: of('txt').length },
    french: documents.filter((d) => d.language === 'fr').length,
    totalBytes: documents.reduce((sum, d) => sum + d.bytes.length, 0),
  };
}

async function docxOf(title: string, sections: Section[]): Promise<Buffer> {
  const document = new Document({
    sections: [
      {
        children: [
          new Paragraph({ text: title, heading: HeadingLevel.TITLE }),
          ...sections.flatMap((section) => [
            new Paragraph({ text: section.heading, heading: HeadingLevel.HEADING_1 }),
            ...section.paragraphs.map((text) => new Paragraph(text)),
          ]),
        ],
      },
    ],
  });
  return Packer.toBuffer(document);
}

// A PDF written as tests/fixtures/documents/make-fixtures.md does (standard Helvetica, WinAnsi text), its
// page contents compressed as PDF writers save them.

const LINES_PER_PAGE = 38;
const CHARS_PER_LINE = 88;

type PdfLine = [size: number, text: string];

/** The title, then each section's heading and its paragraphs wrapped, cut into A4 pages. */
function pdfPages(title: string, sections: Section[]): PdfLine[][] {
  const lines: PdfLine[] = [[18, title]];
  for (const section of sections) {
    lines.push([14, section.heading]);
    for (const paragraph of section.paragraphs) {
      let line = '';
      for (const word of paragraph.split(' ')) {
        if (line && line.length + word.length + 1 > CHARS_PER_LINE) {
          lines.push([11, line]);
          line = word;
        } else line = line ? `${line} ${word}` : word;
      }
      if (line) lines.push([11, line]);
    }
  }
  const pages: PdfLine[][] = [];
  for (let i = 0; i < lines.length; i += LINES_PER_PAGE) pages.push(lines.slice(i, i + LINES_PER_PAGE));
  return pages;
}

const C1 = '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8dŽ\x8f\x90‘’“”•–—˜™š›œ\x9džŸ';

function winAnsi(text: string): Buffer {
  return Buffer.from(
    [...text].map((c) => {
      const index = C1.indexOf(c);
      if (index >= 0) return 0x80 + index;
      const code = c.charCodeAt(0);
      return code < 256 ? code : 0x3f;
    }),
  );
}

function pdfString(text: string): Buffer {
  const escaped = winAnsi(text)
    .toString('latin1')
    .replace(/[()\\]/g, '\\$&');
  return Buffer.from(`(${escaped})`, 'latin1');
}

function textPdf(pages: PdfLine[][]): Buffer {
  const objects: Buffer[] = [
    Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'),
    Buffer.alloc(0), // the page tree, once the pages are numbered
    Buffer.from('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>'),
    Buffer.from('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>'),
  ];
  const kids: number[] = [];
  for (const lines of pages) {
    const ops: Buffer[] = [Buffer.from('BT\n72 790 Td\n')];
    for (const [size, text] of lines)
      ops.push(
        Buffer.from(`/${size > 12 ? 'F2' : 'F1'} ${size} Tf 0 -${Math.round(size * 1.6)} Td `),
        pdfString(text),
        Buffer.from(' Tj\n'),
      );
    ops.push(Buffer.from('ET'));
    const content = deflateSync(Buffer.concat(ops));
    objects.push(
      Buffer.concat([
        Buffer.from(`<< /Filter /FlateDecode /Length ${content.length} >>\nstream\n`),
        content,
        Buffer.from('\nendstream'),
      ]),
    );
    objects.push(
      Buffer.from(
        `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents ${objects.length} 0 R >>`,
      ),
    );
    kids.push(objects.length);
  }
  objects[1] = Buffer.from(
    `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`,
  );
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let length = parts[0]?.length ?? 0;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    const chunk = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), body, Buffer.from('\nendobj\n')]);
    offsets.push(length);
    parts.push(chunk);
    length += chunk.length;
  });
  const xref = [
    `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`,
    ...offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`),
  ].join('');
  parts.push(
    Buffer.from(
      `${xref}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`,
    ),
  );
  return Buffer.concat(parts);
}

// --- helpers -----------------------------------------------------------------------------------------

const IDLE_SAMPLE_MS = 5000;

interface StorageCounter {
  connectionString: string;
  snapshot(): Map<string, number>;
  close(): Promise<void>;
}

/** One pass-through proxy per storage service, counting requests by service, method and operation. */
async function countingProxy(target: AzuriteInstance['ports']): Promise<StorageCounter> {
  const counts = new Map<string, number>();
  const agent = new Agent({ keepAlive: true });
  const servers: Server[] = [];
  const ports = { ...target };
  for (const service of ['blob', 'queue', 'table'] as const) {
    const server = createServer((req, res) => {
      const key = `${service} ${req.method ?? '?'} ${operationOf(service, req.url ?? '/')}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const upstream = httpRequest(
        {
          host: '127.0.0.1',
          port: target[service],
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports[service] = (server.address() as AddressInfo).port;
    servers.push(server);
  }
  return {
    connectionString: connectionStringFor(ports),
    snapshot: () => new Map(counts),
    close: async () => {
      agent.destroy();
      await Promise.all(
        servers.map((server) => {
          server.closeAllConnections();
          return new Promise((resolve) => server.close(resolve));
        }),
      );
    },
  };
}

/** What a storage request does: a blob's `comp`, a table query or entity, a queue's messages. */
function operationOf(service: 'blob' | 'queue' | 'table', url: string): string {
  const { pathname, searchParams } = new URL(url, 'http://storage');
  if (service === 'blob')
    return searchParams.get('comp') ?? (searchParams.get('restype') === 'container' ? 'container' : 'blob');
  if (service === 'queue')
    return pathname.endsWith('/messages') ? 'messages' : (searchParams.get('comp') ?? 'queue');
  if (pathname.endsWith('$batch')) return 'batch';
  if (pathname.endsWith('/Tables')) return 'tables';
  return pathname.endsWith('()') ? 'query' : 'entity';
}

function difference(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([key, n]) => [key, n - (before.get(key) ?? 0)]));
}

/** Requests per unit (a document, a second), the busiest operations first, after their total. */
function perUnit(counts: Map<string, number>, units: number): Record<string, number> {
  const rows = [...counts].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((sum, [, n]) => sum + n, 0);
  const entries: [string, number][] = [
    ['total', round(total / units)],
    ...rows.map(([key, n]): [string, number] => [key, round(n / units)]),
  ];
  return Object.fromEntries(entries);
}

/** Requests per second while `during` runs. */
async function storageRequests(proxy: StorageCounter, ms: number, during: () => Promise<unknown>) {
  const before = proxy.snapshot();
  await during();
  return perUnit(difference(proxy.snapshot(), before), ms / 1000);
}

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50Ms: round(nearestRank(sorted, 50)),
    p95Ms: round(nearestRank(sorted, 95)),
    p99Ms: round(nearestRank(sorted, 99)),
    maxMs: round(nearestRank(sorted, 100)),
  };
}

/** `task(0)` to `task(count - 1)`, at most `concurrency` at once; the results in that order. */
async function pool<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

async function timed<T>(run: () => Promise<T>) {
  const started = performance.now();
  const result = await run();
  return { result, seconds: (performance.now() - started) / 1000 };
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
