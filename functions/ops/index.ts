import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AiClient } from '../ai/aiClient';
import { BlobResponseCache } from '../ai/cache';
import type { AiSettings } from '../ai/settings';
import type { Email } from '../email';
import type { EmailSettings } from '../email/settings';
import { ensureContainer, readBlob, readJsonBlob, writeJsonBlob } from '../platform/blobs';
import type { DurableContract, Orchestrations } from '../platform/durable';
import { errorSummary, InvalidInputError, NotFoundError } from '../platform/errors';
import type { Redactor } from '../platform/redact';
import type { StorageClients } from '../platform/storage';
import { CONTAINERS, TABLES } from '../platform/storageNames';
import { aiProbes } from './aiProbes';
import {
  OPS_DURABLE,
  WORKFLOW_CONTRACTS,
  documentsReportSchema,
  type DocumentOutcome,
  type DocumentsReport,
  type RunInput,
  type WorkflowName,
} from './contracts';
import { DocumentError, extractDocument } from './documents/extract';
import { documentSummarySchema, summariseDocument } from './documents/summary';
import type { DurableHttp } from './durableHttp';
import { emailProbes } from './emailProbes';
import { checkDependencies, type DependencyProbe, type HealthReport } from './health';
import {
  durableBacklogCheck,
  failureRateCheck,
  linkedinAccountsCheck,
  memoryCheck,
  probeCheck,
  runChecks,
  scoreOf,
  tempDiskCheck,
  type HealthCheck,
  type HealthScoreReport,
} from './healthChecks';
import { healthHistory, type Alert } from './healthHistory';
import { backupTables } from './maintenance/backup';
import { sweepAiCache, sweepContainers } from './maintenance/sweep';
import { opsMetrics, type Headlines } from './metrics';
import {
  documentsLaneOrchestrator,
  documentsOrchestrator,
  healthOrchestrator,
  maintenanceOrchestrator,
  smokeOrchestrator,
} from './orchestrations';
import { runLog } from './runLog';
import { createRuns, type RunKind, type RunSummary } from './runs';
import type { HealthSettings, OpsSettings } from './settings';
import { runSmokeTest, type SmokePorts } from './smoke';
import { storageProbes } from './storageProbes';
import { describeWorkflows, newRunId, parseStart, workflowPrefix, type Language } from './workflows';

export { healthSettings, opsSettings, type HealthSettings, type OpsSettings } from './settings';
export { OPS_DURABLE, WORKFLOW_CONTRACTS } from './contracts';
export { DOCUMENTS_OFFLINE_GENERATORS } from './documents/offline';
export { SMOKE_OFFLINE_GENERATORS } from './smoke';
export { durableHttp, type DurableHttp } from './durableHttp';
export { languageOf } from './workflows';
export type { RunKind } from './runs';

export interface OpsDependencies {
  settings: HealthSettings;
  ops: OpsSettings;
  ai: AiSettings;
  /** The outbound email provider, probed when one is configured. */
  email?: EmailSettings;
  storage: StorageClients;
  redact: Redactor;
  version: string;
  fetch?: typeof fetch;
  clock?: () => Date;
  /** Probes of the capabilities' own services (the mailbox's IMAP server, LiveKit), given by the root. */
  capabilityProbes?: () => DependencyProbe[];
  /** What the rest of the suite lends the workflows, built on first use. */
  ports?: () => OpsPorts;
}

/** The other capabilities as the ops workflows use them. */
export interface OpsPorts {
  aiClient: AiClient;
  sendEmail: Pick<Email, 'send'>;
  /** The other capabilities' orchestrations, so the console lists and names them. */
  runKinds: readonly RunKind[];
  linkedinAccounts?: () => Promise<{ name: string; status: string; expiresAt: string }[]>;
  smoke: SmokePorts;
  /** The capabilities' figures over a range; `runs` are the app's runs in it. */
  headlines: (range: { from: Date; to: Date; runs: readonly RunSummary[] }) => Promise<Headlines>;
}

const OPS_KINDS: RunKind[] = [
  ...(Object.keys(WORKFLOW_CONTRACTS) as WorkflowName[]).map((name) => ({
    kind: name,
    orchestration: WORKFLOW_CONTRACTS[name].name,
    prefix: workflowPrefix(name),
  })),
  // A documents run's lanes, `<run id>:round-<n>-lane-<n>`.
  {
    kind: 'documents-lane',
    orchestration: OPS_DURABLE.documentsLane.name,
    prefix: workflowPrefix('documents'),
  },
];

/** Most files one `POST /api/ops/documents` takes. */
export const MAX_UPLOAD_FILES = 50;
const DAY_MS = 86_400_000;
/** How long a drop waits at most for the batch's running run to end before starting the next one. */
const DROP_WAIT_MS = 10 * 60_000;

const summaryMd5Schema = z.looseObject({ md5: z.string().optional() });
const documentsInstanceId = (batchId: string) => `${workflowPrefix('documents')}${batchId}`;
const md5Hex = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

/** A dropped file's name as its batch knows it: no folders, nothing that would escape the batch. */
function documentName(name: string): string {
  const base = name.split(/[\\/]/).pop()?.trim() ?? '';
  if (!base || base === '.' || base === '..' || base.length > 200 || [...base].some((c) => c < ' ')) {
    throw new InvalidInputError('file', `"${name.slice(0, 80)}" is not a usable file name`);
  }
  return base;
}

/** Health, maintenance, smoke tests, document batches, and the console's view of every run. */
export function createOps(deps: OpsDependencies) {
  const clock = deps.clock ?? (() => new Date());
  const { storage, redact } = deps;
  const ports = () => {
    if (!deps.ports) throw new Error('The ops workflows need their ports (the composition root gives them).');
    return deps.ports();
  };
  const log = runLog(storage.blobs.getContainerClient(CONTAINERS.opsRuns), clock, redact);
  const history = healthHistory(storage.table(TABLES.opsHealth), clock);
  const inbox = storage.blobs.getContainerClient(CONTAINERS.documentsInbox);
  const summaries = storage.blobs.getContainerClient(CONTAINERS.documents);
  let runsCache: ReturnType<typeof createRuns> | undefined;
  const runs = () =>
    (runsCache ??= createRuns({ kinds: [...OPS_KINDS, ...(deps.ports ? ports().runKinds : [])], clock }));

  const dependencyProbes = () => [
    ...storageProbes(storage),
    ...aiProbes(deps.ai, deps.fetch),
    ...emailProbes(deps.email, deps.fetch),
    ...(deps.capabilityProbes?.() ?? []),
  ];

  function healthChecks(durable: DurableHttp): HealthCheck[] {
    const linkedin = deps.ports ? ports().linkedinAccounts : undefined;
    return [
      ...dependencyProbes().map((probe) =>
        probeCheck(
          probe,
          probe.name.startsWith('ai:') ? 15 : 10,
          probe.required
            ? 'Check the storage account (AzureWebJobsStorage) and the app identity’s data roles.'
            : `Check ${probe.name.split(':')[0]} settings and that the service is up.`,
        ),
      ),
      durableBacklogCheck(() => durable, clock),
      failureRateCheck(() => runs().all(durable, { from: new Date(clock().getTime() - DAY_MS) }, 20_000)),
      ...(linkedin ? [linkedinAccountsCheck(linkedin)] : []),
      memoryCheck(),
      tempDiskCheck(),
    ];
  }

  async function listDocuments(runId: string, batchId: string) {
    const previous = await readJsonBlob(summaries, `${batchId}/report.json`, documentsReportSchema);
    const done = new Map(
      (previous?.files ?? []).filter((f) => f.outcome !== 'failed' && f.md5).map((f) => [f.name, f] as const),
    );
    const todo: { name: string }[] = [];
    const unchanged: DocumentOutcome[] = [];
    await ensureContainer(inbox);
    for await (const blob of inbox.listBlobsFlat({ prefix: `${batchId}/` })) {
      const name = blob.name.slice(batchId.length + 1);
      if (!name || name.includes('/')) continue;
      const md5 = blob.properties.contentMD5 ? Buffer.from(blob.properties.contentMD5).toString('hex') : '';
      const kept = done.get(name);
      if (kept && md5 && kept.md5 === md5) unchanged.push({ ...kept, outcome: 'unchanged' });
      else todo.push({ name });
    }
    await log.append(runId, {
      level: 'info',
      step: 'list',
      message: `${todo.length + unchanged.length} file(s) in the batch; ${unchanged.length} unchanged since its last report.`,
    });
    return { todo, unchanged };
  }

  async function processDocument(runId: string, batchId: string, name: string): Promise<DocumentOutcome> {
    const started = performance.now();
    const step = `document:${name}`;
    try {
      const blob = inbox.getBlockBlobClient(`${batchId}/${name}`);
      const properties = await blob.getProperties();
      if ((properties.contentLength ?? 0) > deps.ops.documentMaxBytes) {
        throw new DocumentError(
          name,
          'too-large',
          `is ${properties.contentLength} bytes, over the ${deps.ops.documentMaxBytes}-byte limit (OPS_DOCUMENT_MAX_BYTES); split it or raise the limit.`,
        );
      }
      const bytes = (await readBlob(inbox, `${batchId}/${name}`)) ?? Buffer.alloc(0);
      const md5 = md5Hex(bytes);
      // The listing could not tell (no MD5 in it): the same bytes summarised before are not read again.
      const summaryBlob = `${batchId}/${name}.json`;
      const previous = await readJsonBlob(summaries, summaryBlob, summaryMd5Schema);
      if (previous?.md5 === md5) return { name, outcome: 'unchanged', md5, summaryBlob };
      const extracted = await extractDocument(name, bytes, {
        maxBytes: deps.ops.documentMaxBytes,
        maxPages: deps.ops.documentMaxPages,
      });
      const summary = await summariseDocument(ports().aiClient, { name, text: extracted.text });
      await writeJsonBlob(summaries, summaryBlob, {
        name,
        kind: extracted.kind,
        ...summary,
        characters: extracted.characters,
        ...(extracted.pages ? { pages: extracted.pages } : {}),
        ...(extracted.encoding ? { encoding: extracted.encoding } : {}),
        mislabelled: extracted.mislabelled,
        md5,
        summarisedAt: clock().toISOString(),
      });
      await log.append(runId, {
        level: 'info',
        step,
        message: `Summarised (${extracted.kind}, ${extracted.characters} characters) in ${Math.round(performance.now() - started)} ms.`,
      });
      return {
        name,
        outcome: 'done',
        md5,
        summaryBlob,
        characters: extracted.characters,
        ...(extracted.pages ? { pages: extracted.pages } : {}),
      };
    } catch (error) {
      const code = error instanceof DocumentError ? error.code : 'summary-failed';
      const message = redact(errorSummary(error));
      await log.append(runId, { level: 'error', step, message: `${code}: ${message}` });
      return { name, outcome: 'failed', error: { code, message } };
    }
  }

  async function startRun<N extends WorkflowName>(
    orchestrations: Orchestrations,
    workflow: N,
    input: RunInput<N>,
    instanceId = newRunId(workflow, clock()),
  ) {
    // Each workflow's contract takes that workflow's input; TypeScript cannot follow `N` through the map.
    const contract = WORKFLOW_CONTRACTS[workflow] as unknown as DurableContract<RunInput<N>, unknown>;
    const outcome = await orchestrations.start(contract, instanceId, input);
    return { id: instanceId, statusUrl: `/api/ops/runs/${encodeURIComponent(instanceId)}`, outcome };
  }

  /** Until the batch's run is no longer running (or the wait is over). */
  async function waitWhileRunning(orchestrations: Orchestrations, id: string): Promise<void> {
    const until = Date.now() + DROP_WAIT_MS;
    while (Date.now() < until) {
      const status = await orchestrations.status(id);
      if (!status || !['Pending', 'Running', 'Suspended'].includes(status.runtimeStatus)) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  /**
   * Whether the batch's last run read every one of `names` as it is now: the run listed the batch after
   * the file was last written (its outcome, even a failure, stands for these bytes), or summarised these
   * very bytes. A file dropped again after that run is not covered, so a failure is tried again.
   */
  async function reportCovers(batchId: string, names: readonly string[]): Promise<boolean> {
    const report = await readJsonBlob(summaries, `${batchId}/report.json`, documentsReportSchema);
    if (!report) return false;
    for (const name of names) {
      const entry = report.files.find((f) => f.name === name);
      if (!entry) return false;
      const blob = inbox.getBlockBlobClient(`${batchId}/${name}`);
      const written = (await blob.getProperties().catch(() => undefined))?.lastModified;
      if (!written) continue;
      if (report.listedAt && written.getTime() <= Date.parse(report.listedAt)) continue;
      const bytes = await readBlob(inbox, `${batchId}/${name}`);
      if (!(entry.md5 && bytes && entry.md5 === md5Hex(bytes))) return false;
    }
    return true;
  }

  /**
   * Starts the batch's run for these files. When one is running (another drop, the upload route and the
   * blob trigger for the same files), waits for it to end, then starts another only if its report does
   * not cover these files' bytes: a file dropped while a run ends is never left out, and none is read twice.
   */
  async function startOrFollow(
    orchestrations: Orchestrations,
    batchId: string,
    names: readonly string[],
    trigger: 'console' | 'drop',
  ) {
    const parameters = parseStart({ workflow: 'documents', parameters: { batchId } }).parameters;
    const id = documentsInstanceId(String(parameters.batchId));
    const input = { parameters: { batchId }, trigger } as RunInput<'documents'>;
    const statusUrl = `/api/ops/runs/${encodeURIComponent(id)}`;
    // Already summarised from these very bytes (a blob event arriving after its run ended): nothing to do.
    if (await reportCovers(batchId, names)) return { id, statusUrl, started: false };
    for (let attempt = 0; attempt < 5; attempt++) {
      if ((await startRun(orchestrations, 'documents', input, id)).outcome === 'started') {
        return { id, statusUrl, started: true };
      }
      await waitWhileRunning(orchestrations, id);
      if (await reportCovers(batchId, names)) return { id, statusUrl, started: false };
    }
    return { id, statusUrl, started: false };
  }

  return {
    /** Probes storage (required), the AI providers and the email provider (optional), each within the time limit. */
    checkHealth: (): Promise<HealthReport> =>
      checkDependencies(dependencyProbes(), {
        version: deps.version,
        timeoutMs: deps.settings.timeoutMs,
        redact,
        now: clock,
      }),

    /** Deletes expired AI answers from the response cache; returns how many. */
    purgeAiCache: (): Promise<number> =>
      new BlobResponseCache(storage.blobs.getContainerClient(CONTAINERS.aiCache), () =>
        clock().getTime(),
      ).purgeExpired(),

    healthSchedule: deps.ops.healthSchedule,

    workflows: (language: Language, all: boolean) => [
      ...describeWorkflows(language),
      ...(all
        ? runs()
            .kinds.filter((k) => !OPS_KINDS.includes(k))
            .map((k) => ({ name: k.kind, title: k.kind, description: k.orchestration, startable: false }))
        : []),
    ],

    /** `POST /api/ops/runs`: starts a workflow with its checked parameters. */
    async startWorkflow(orchestrations: Orchestrations, body: unknown) {
      const { workflow, parameters } = parseStart(body);
      const input = { parameters, trigger: 'console' } as RunInput<typeof workflow>;
      const id = workflow === 'documents' ? documentsInstanceId(String(parameters.batchId)) : undefined;
      const started = await startRun(orchestrations, workflow, input, id);
      if (started.outcome === 'conflict') {
        throw new InvalidInputError(
          'body.parameters.batchId',
          'this batch is being processed now; wait for its run to end',
          'run_in_progress',
        );
      }
      return { id: started.id, statusUrl: started.statusUrl };
    },

    /** The health timer: one run per tick. */
    startScheduledHealth: (orchestrations: Orchestrations) =>
      startRun(orchestrations, 'health', { parameters: {}, trigger: 'timer' }),

    listRuns: (durable: DurableHttp, query: Record<string, string>) => runs().list(durable, query),
    getRun: (durable: DurableHttp, id: string) => runs().get(durable, id),
    actOnRun: (durable: DurableHttp, id: string, action: string, body: unknown) =>
      runs().act(durable, id, action, body),
    bulkAction: (durable: DurableHttp, body: unknown) => runs().bulk(durable, body),
    runLog: async (id: string) => ({ entries: await log.read(id) }),

    latestHealth: async () => ({ report: (await history.latest()) ?? null }),

    metrics: (durable: DurableHttp, query: Record<string, string>) =>
      opsMetrics(
        {
          runs: runs(),
          history,
          aiCalls: storage.table(TABLES.aiCalls),
          headlines: (range) => ports().headlines(range),
          clock,
        },
        durable,
        query,
      ),

    /** `POST /api/ops/documents`: the files go to `documents-inbox/{batchId}/`, then the batch's run starts. */
    async uploadDocuments(
      orchestrations: Orchestrations,
      files: { name: string; bytes: Uint8Array }[],
      batchId: string | undefined,
    ) {
      if (files.length === 0)
        throw new InvalidInputError('file', 'send at least one file in this form field');
      const batch =
        batchId ??
        `upload-${clock().toISOString().slice(0, 19).replace(/[-:T]/g, '')}-${md5Hex(files[0]?.bytes ?? new Uint8Array()).slice(0, 6)}`;
      // The batch id is checked before any file is stored.
      parseStart({ workflow: 'documents', parameters: { batchId: batch } });
      await ensureContainer(inbox);
      const names = files.map((file) => documentName(file.name));
      if (new Set(names).size !== names.length)
        throw new InvalidInputError('file', 'two files have the same name');
      await Promise.all(
        files.map((file, i) =>
          inbox.getBlockBlobClient(`${batch}/${names[i] ?? ''}`).uploadData(file.bytes, {
            blobHTTPHeaders: { blobContentMD5: createHash('md5').update(file.bytes).digest() },
          }),
        ),
      );
      const run = await startOrFollow(orchestrations, batch, names, 'console');
      return { batchId: batch, ...run, files: names };
    },

    /**
     * A file dropped in `documents-inbox/{batchId}/`: starts the batch's run. When one is running, waits
     * for it to end, then starts another unless its report already covers this file's bytes.
     */
    async documentDropped(orchestrations: Orchestrations, batchId: string, name: string) {
      const run = await startOrFollow(orchestrations, batchId, [name], 'drop');
      return { started: run.started, id: run.id };
    },

    async documentSummary(batchId: string, name: string) {
      const summary = await readJsonBlob(
        summaries,
        `${batchId}/${documentName(name)}.json`,
        documentSummarySchema.passthrough(),
      );
      if (!summary) throw new NotFoundError(`No summary of "${name}" in batch "${batchId}".`);
      return summary;
    },

    orchestrators: {
      health: healthOrchestrator,
      maintenance: maintenanceOrchestrator,
      smoke: smokeOrchestrator,
      documents: (context: Parameters<typeof documentsOrchestrator>[0], input: RunInput<'documents'>) =>
        documentsOrchestrator(context, input, deps.ops.documentsConcurrency),
      documentsLane: documentsLaneOrchestrator,
    },

    activities: {
      async checkHealth(runId: string, durable: DurableHttp): Promise<HealthScoreReport> {
        const checks = await runChecks(healthChecks(durable), deps.settings.timeoutMs, redact);
        const report = { id: runId, checkedAt: clock().toISOString(), ...scoreOf(checks), checks };
        for (const check of checks) {
          await log.append(runId, {
            level: check.outcome === 'pass' ? 'info' : check.outcome === 'warn' ? 'warn' : 'error',
            step: check.name,
            message: `${check.outcome} in ${check.latencyMs} ms: ${check.detail}`,
          });
        }
        return report;
      },

      async recordHealth(report: HealthScoreReport): Promise<Alert | null> {
        const alert = await history.record(report, {
          threshold: deps.ops.alertThreshold,
          cooldownMinutes: deps.ops.alertCooldownMinutes,
          enabled: Boolean(deps.ops.alertEmail),
        });
        await log.append(report.id, {
          level: 'info',
          step: 'record',
          message: `Score ${report.score} (${report.status}); ${alert ? `${alert.kind} email to send` : 'no email'}.`,
        });
        return alert;
      },

      /** Sends the alert once per key; throws while the provider fails, so the activity is retried. */
      async sendAlert(runId: string, alert: Alert) {
        const to = deps.ops.alertEmail;
        if (!to) return { status: 'no-recipient' };
        const report = await history.latest();
        const failing = (report?.checks ?? []).filter((c) => c.outcome !== 'pass');
        const lines = failing.map(
          (c) => `- ${c.name}: ${c.outcome} — ${c.detail}${c.action ? `\n  → ${c.action}` : ''}`,
        );
        const subject =
          alert.kind === 'degraded'
            ? `[ops] Health ${alert.score}/100 (${alert.status})`
            : `[ops] Health recovered: ${alert.score}/100`;
        const text = [
          alert.kind === 'degraded'
            ? `The suite's health score fell to ${alert.score}/100 (${alert.status}), below ${deps.ops.alertThreshold}.`
            : `The suite's health score is back to ${alert.score}/100 (${alert.status}).`,
          '',
          ...(lines.length ? ['Checks not passing:', ...lines, ''] : []),
          `Run ${alert.reportId}; open /api/console for details.`,
        ].join('\n');
        const record = await ports().sendEmail.send({ key: alert.key, kind: 'ops-alert', to, subject, text });
        if (record.status === 'failed')
          throw new Error(`The alert email failed: ${record.error ?? 'unknown error'}`);
        await history.sent(alert.key);
        await log.append(runId, {
          level: 'info',
          step: 'alert',
          message: `${alert.kind} email: ${record.status}.`,
        });
        return { status: record.status };
      },

      /** Purges finished runs created before the cutoff (a dry run counts them); active ones are never touched. */
      async purgeHistory(runId: string, olderThanDays: number, dryRun: boolean, durable: DurableHttp) {
        const to = new Date(clock().getTime() - olderThanDays * DAY_MS);
        const finished = await runs().all(
          durable,
          { status: ['Completed', 'Failed', 'Terminated'], to },
          1_000_000,
        );
        const active = await runs().all(
          durable,
          { status: ['Pending', 'Running', 'Suspended'], to },
          1_000_000,
        );
        let instances = 0;
        if (dryRun) instances = finished.length;
        else for (const run of finished) if (await durable.purge(run.id)) instances++;
        await log.append(runId, {
          level: 'info',
          step: 'purge-history',
          message: `${dryRun ? 'Would purge' : 'Purged'} ${instances} finished run(s) created before ${to.toISOString()}; ${active.length} active one(s) left alone.`,
        });
        return { instances, skippedActive: active.length };
      },

      async backupTables(runId: string, dryRun: boolean) {
        const report = await backupTables(
          storage,
          { tables: Object.values(TABLES), date: clock().toISOString().slice(0, 10), dryRun },
          clock,
        );
        await log.append(runId, {
          level: 'info',
          step: 'backup',
          message: `${dryRun ? 'Would back up' : 'Backed up'} ${report.totalRows} row(s) of ${report.tables.length} table(s), ${report.totalBytes} bytes gzipped, to ${CONTAINERS.opsBackups}/${report.date}/.`,
        });
        return report;
      },

      async sweepBlobs(runId: string, dryRun: boolean) {
        const olderThanDays = deps.ops.retentionDays;
        const now = clock();
        const blobs = await sweepContainers(storage, {
          rules: [
            CONTAINERS.dossiersUploads,
            CONTAINERS.dossiersWork,
            CONTAINERS.mailboxRaw,
            CONTAINERS.opsRuns,
            CONTAINERS.documentsInbox,
          ].map((container) => ({ container, olderThanDays })),
          now,
          dryRun,
        });
        const aiCache = await sweepAiCache(storage, now, dryRun);
        await log.append(runId, {
          level: 'info',
          step: 'sweep',
          message: `${dryRun ? 'Would remove' : 'Removed'} ${blobs.totalBlobs} working blob(s) (${blobs.totalBytes} bytes) older than ${olderThanDays} days and ${aiCache.entries} expired AI cache entr(ies) (${aiCache.bytes} bytes).`,
        });
        return { blobs, aiCache };
      },

      async smokeTest(runId: string, test: Parameters<typeof runSmokeTest>[0]) {
        const result = await runSmokeTest(test, ports().smoke, () => performance.now());
        await log.append(runId, {
          level: result.outcome === 'fail' ? 'error' : 'info',
          step: `smoke:${test}`,
          message: `${result.outcome} in ${result.durationMs} ms: ${result.detail}`,
        });
        return result;
      },

      listDocuments,
      processDocument,

      async documentsReport(runId: string, report: DocumentsReport) {
        await writeJsonBlob(summaries, `${report.batchId}/report.json`, {
          ...report,
          writtenAt: clock().toISOString(),
        });
        await log.append(runId, {
          level: report.failed ? 'warn' : 'info',
          step: 'report',
          message: `${report.done} summarised, ${report.failed} failed, ${report.unchanged} unchanged.`,
        });
        return null;
      },
    },
  };
}

export type Ops = ReturnType<typeof createOps>;
