import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Document, Packer, Paragraph } from 'docx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticBatch } from '../../bench/syntheticBatch';
import { CONTAINERS } from '../../functions/platform/storageNames';
import { startAzurite, type AzuriteInstance } from '../../local/azurite';
import { LocalHost, readHostJson } from '../../local/localHost';
import { startSmtpSink, type SmtpSink } from '../../local/servers/smtpSink';
import { APP_ROOT } from '../support/testHost';

type Json = Record<string, unknown>;

/**
 * A stand-in for LiveKit's API as the health check sees it: answering, down (connection refused), or
 * hung (it takes the request and never answers), switched by the test.
 */
class SwitchableService {
  mode: 'up' | 'hung' = 'up';
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((_req, res) => {
      if (this.mode === 'up') res.end('ok');
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

let azurite: AzuriteInstance;
let sink: SmtpSink;
let host: LocalHost;
const livekit = new SwitchableService();

beforeAll(async () => {
  // Its own storage: the health history and alert state are the app's own tables.
  [azurite, sink] = await Promise.all([startAzurite(), startSmtpSink(), livekit.start()]);
  host = await LocalHost.start({
    app: { appRoot: APP_ROOT },
    settings: {
      AzureWebJobsStorage: azurite.connectionString,
      FUNCTIONS_WORKER_RUNTIME: 'node',
      DURABLE_TASK_HUB: 'opstest',
      AI_PROVIDER: 'offline',
      LIVEKIT_URL: `ws://127.0.0.1:${livekit.port}`,
      LIVEKIT_API_KEY: 'devkey',
      LIVEKIT_API_SECRET: 'secret-secret-secret-secret-secret',
      EMAIL_PROVIDER: 'smtp',
      EMAIL_SENDER: 'ops@ecole.example',
      SMTP_HOST: sink.host,
      SMTP_PORT: String(sink.port),
      OPS_ALERT_EMAIL: 'astreinte@ecole.example',
      OPS_ALERT_THRESHOLD: '90',
      HEALTH_TIMEOUT_MS: '1500',
    },
    hostJson: readHostJson(APP_ROOT),
  });
}, 120_000);

afterAll(async () => {
  await host?.stop();
  await Promise.all([azurite?.stop(), sink?.close(), livekit.stop()]);
});

async function call(
  method: 'GET' | 'POST',
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await host.http({
    method,
    path: route,
    headers: { 'x-functions-key': host.functionKey, 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = response.body.toString('utf8');
  return { status: response.status, json: (text ? JSON.parse(text) : {}) as Json, headers: response.headers };
}

async function startRun(workflow: string, parameters: Json = {}): Promise<string> {
  const started = await call('POST', '/api/ops/runs', { workflow, parameters });
  expect(started.status, JSON.stringify(started.json)).toBe(202);
  return String(started.json.id);
}

async function finished(id: string): Promise<Json> {
  await host.engine.waitForCompletion(id, 60_000);
  const run = await call('GET', `/api/ops/runs/${id}`);
  expect(run.status, JSON.stringify(run.json)).toBe(200);
  return run.json;
}

/** Runs the health timer now and returns its finished run. */
async function healthTick(): Promise<Json> {
  await host.timer('opsHealthTimer');
  const listed = await call('GET', '/api/ops/runs?workflow=health&status=Running,Pending');
  const running = (listed.json.runs as Json[]).map((r) => String(r.id));
  for (const id of running) await host.engine.waitForCompletion(id, 60_000);
  await host.engine.whenIdle();
  const latest = await call('GET', '/api/ops/health');
  return latest.json.report as Json;
}

/** How many files a documents run read: its lanes' activities, from each lane's own timeline. */
async function documentsRead(run: Json): Promise<number> {
  let read = 0;
  for (const lane of (run.timeline as Json[]).filter((t) => t.name === 'opsDocumentsLane')) {
    const detail = await call('GET', `/api/ops/runs/${encodeURIComponent(String(lane.instanceId))}`);
    read += (detail.json.timeline as Json[]).filter((t) => t.name === 'opsProcessDocument').length;
  }
  return read;
}

/** Posts a multipart form to a route with the function key. */
async function postForm(route: string, form: FormData) {
  const request = new Request('http://x/', { method: 'POST', body: form });
  const response = await host.http({
    method: 'POST',
    path: route,
    headers: {
      'x-functions-key': host.functionKey,
      'content-type': request.headers.get('content-type') ?? '',
    },
    body: Buffer.from(await request.arrayBuffer()),
  });
  return {
    status: response.status,
    text: response.body.toString(),
    json: JSON.parse(response.body.toString()) as Json,
  };
}

const alertsSent = () => sink.messages.filter((m) => m.envelope.to.includes('astreinte@ecole.example'));

describe('ops workflows and runs API', () => {
  it('describes each workflow with a JSON Schema of its parameters, in French or English', async () => {
    const fr = await call('GET', '/api/ops/workflows');
    expect(fr.status).toBe(200);
    const list = fr.json as unknown as Json[];
    expect(list.map((w) => w.name)).toEqual(['health', 'maintenance', 'smoke', 'documents']);
    const maintenance = list.find((w) => w.name === 'maintenance') as Json;
    expect(maintenance.title).toBe('Maintenance');
    const schema = maintenance.parameters as { properties: Record<string, Json> };
    expect(schema.properties.dryRun).toMatchObject({ type: 'boolean', default: true });
    expect(schema.properties.olderThanDays).toMatchObject({ type: 'integer', minimum: 1 });
    expect(String(schema.properties.dryRun?.description)).toMatch(/Simulation/);

    const en = await call('GET', '/api/ops/workflows?all=true', undefined, { 'accept-language': 'en-GB' });
    const all = en.json as unknown as Json[];
    expect((all.find((w) => w.name === 'smoke') as Json).title).toBe('Smoke tests');
    expect(all.filter((w) => w.startable === false).map((w) => w.name)).toEqual([
      'dossiers',
      'dossier-lane',
      'linkedin-post',
    ]);
  });

  it('refuses an unknown workflow or parameter with a 400 naming it, and starts nothing', async () => {
    const unknown = await call('POST', '/api/ops/runs', { workflow: 'reboot' });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.json)).toContain('body.workflow');
    const extra = await call('POST', '/api/ops/runs', {
      workflow: 'maintenance',
      parameters: { force: true },
    });
    expect(extra.status).toBe(400);
    expect(JSON.stringify(extra.json)).toContain('body.parameters.force');
    const wrong = await call('POST', '/api/ops/runs', {
      workflow: 'maintenance',
      parameters: { olderThanDays: 0 },
    });
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(wrong.json)).toContain('body.parameters.olderThanDays');
    const runs = await call('GET', '/api/ops/runs?workflow=maintenance');
    expect(runs.json.runs).toEqual([]);
  });

  it('runs a health check: weighted checks, a score, a timeline of its activities and a step log', async () => {
    const id = await startRun('health');
    expect(id).toMatch(/^ops-health-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    const run = await finished(id);
    expect(run.status).toBe('Completed');
    const output = run.output as Json;
    expect(output.score).toBe(100);
    expect(output.status).toBe('healthy');
    const checks = output.checks as Json[];
    expect(checks.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'storage:blob',
        'storage:queue',
        'storage:table',
        'email:smtp',
        'livekit:api',
        'durable:backlog',
        'runs:failure-rate',
        'instance:memory',
        'instance:temp-disk',
      ]),
    );
    for (const check of checks) expect(check).toMatchObject({ outcome: 'pass', action: null });
    const timeline = run.timeline as Json[];
    expect(timeline.map((t) => t.name)).toEqual(['opsCheckHealth', 'opsRecordHealth']);
    for (const step of timeline) {
      expect(step.kind).toBe('activity');
      expect(step.durationMs).toEqual(expect.any(Number));
    }
    expect(run.actions).toEqual(['restart', 'purge']);

    const log = await call('GET', `/api/ops/runs/${id}/log`);
    const entries = log.json.entries as Json[];
    expect(entries.map((e) => e.step)).toEqual(
      expect.arrayContaining(['storage:blob', 'livekit:api', 'record']),
    );
    const latest = await call('GET', '/api/ops/health');
    expect((latest.json.report as Json).id).toBe(id);
  });

  it('emails an alert below the threshold once per cooldown, then "recovered"; a provider outage delays it, never loses it', async () => {
    await livekit.stop();
    const degraded = await healthTick();
    expect(degraded.score).toBeLessThan(90);
    const failing = (degraded.checks as Json[]).find((c) => c.name === 'livekit:api') as Json;
    expect(failing.outcome).toBe('fail');
    expect(String(failing.action)).toContain('livekit');
    expect(alertsSent()).toHaveLength(1);
    expect(alertsSent()[0]?.subject).toMatch(/Health \d+\/100/);
    expect(alertsSent()[0]?.raw).toContain('livekit:api');

    // Still below, within the cooldown: no second email.
    await healthTick();
    expect(alertsSent()).toHaveLength(1);

    await livekit.start();
    const back = await healthTick();
    expect(back.score).toBe(100);
    expect(alertsSent()).toHaveLength(2);
    expect(alertsSent()[1]?.subject).toMatch(/recovered/);

    // Down again while the email provider refuses every message: the alert is retried, then kept.
    await livekit.stop();
    sink.rejectNext(10, 451);
    await healthTick();
    expect(alertsSent()).toHaveLength(2);
    sink.rejectNext(0);
    await healthTick();
    expect(alertsSent()).toHaveLength(3);
    expect(alertsSent()[2]?.subject).toMatch(/Health \d+\/100/);
    await livekit.start();
    await healthTick();
  }, 120_000);

  it('lists runs page by page with filters and per-status counts, and refuses bad filters naming them', async () => {
    const ids = [await startRun('smoke', { tests: ['webhook-signature'] })];
    ids.push(await startRun('smoke', { tests: ['dossiers'] }));
    for (const id of ids) await host.engine.waitForCompletion(id, 60_000);

    const seen = new Set<string>();
    let continuation: string | undefined;
    let pages = 0;
    do {
      const page = await call(
        'GET',
        `/api/ops/runs?workflow=health&top=2${continuation ? `&continuation=${encodeURIComponent(continuation)}` : ''}`,
      );
      expect(page.status).toBe(200);
      for (const run of page.json.runs as Json[]) {
        expect(run.workflow).toBe('health');
        expect(seen.has(String(run.id))).toBe(false);
        seen.add(String(run.id));
      }
      continuation = page.json.continuation as string | undefined;
      pages++;
    } while (continuation);
    const counts = (await call('GET', '/api/ops/runs?workflow=health')).json.counts as Json;
    expect(seen.size).toBe(counts.Completed);
    expect(pages).toBeGreaterThanOrEqual(3);

    const smoke = await call('GET', '/api/ops/runs?workflow=smoke&status=Completed');
    expect((smoke.json.runs as Json[]).map((r) => r.id).sort()).toEqual([...ids].sort());
    const byPrefix = await call('GET', `/api/ops/runs?prefix=${ids[0]}`);
    expect((byPrefix.json.runs as Json[]).map((r) => r.id)).toEqual([ids[0]]);
    const none = await call('GET', '/api/ops/runs?workflow=smoke&status=Failed');
    expect(none.json.runs).toEqual([]);
    expect((none.json.counts as Json).Completed).toBe(2);

    const badStatus = await call('GET', '/api/ops/runs?status=Done');
    expect(badStatus.status).toBe(400);
    expect(JSON.stringify(badStatus.json)).toContain('query.status');
    const badWorkflow = await call('GET', '/api/ops/runs?workflow=nightly');
    expect(badWorkflow.status).toBe(400);
    expect(JSON.stringify(badWorkflow.json)).toContain('query.workflow');
  }, 120_000);

  it('suspends, resumes, terminates, restarts and purges a run, refusing what its state does not allow', async () => {
    livekit.mode = 'hung';
    try {
      const id = await startRun('health');
      const suspended = await call('POST', `/api/ops/runs/${id}/suspend`, { reason: 'look first' });
      expect(suspended.status).toBe(202);
      expect((await call('GET', `/api/ops/runs/${id}`)).json).toMatchObject({
        status: 'Suspended',
        actions: ['terminate', 'resume', 'raise-event'],
      });
      const purge = await call('POST', `/api/ops/runs/${id}/purge`);
      expect(purge.status).toBe(409);
      expect(JSON.stringify(purge.json)).toContain('Suspended');
      const resumed = await call('POST', `/api/ops/runs/${id}/resume`);
      expect(resumed.status).toBe(202);
      const terminated = await call('POST', `/api/ops/runs/${id}/terminate`, { reason: 'enough' });
      expect(terminated.status).toBe(202);
      const run = await finished(id);
      expect(run.status).toBe('Terminated');
      const again = await call('POST', `/api/ops/runs/${id}/terminate`);
      expect(again.status).toBe(409);

      livekit.mode = 'up';
      const restarted = await call('POST', `/api/ops/runs/${id}/restart`);
      expect(restarted.status).toBe(202);
      const newId = String(restarted.json.newId);
      expect(newId).not.toBe(id);
      expect((await finished(newId)).status).toBe('Completed');

      const purged = await call('POST', `/api/ops/runs/${id}/purge`);
      expect(purged.status).toBe(202);
      expect((await call('GET', `/api/ops/runs/${id}`)).status).toBe(404);
      const unknownAction = await call('POST', `/api/ops/runs/${newId}/rewind`);
      expect(unknownAction.status).toBe(404);
    } finally {
      livekit.mode = 'up';
    }
  }, 120_000);

  it('terminates a running dossier batch with its lanes, and shows it as a dossiers run', async () => {
    const { consultantsCsv, jobsCsv } = syntheticBatch(200, 20);
    const form = new FormData();
    form.append('consultants', new Blob([consultantsCsv]), 'consultants.csv');
    form.append('jobs', new Blob([jobsCsv]), 'jobs.csv');
    const created = await postForm('/api/dossiers/batches', form);
    expect(created.status, created.text).toBe(202);
    const instanceId = String(created.json.instanceId);
    // Stopped while its lanes generate.
    let stage = '';
    for (let i = 0; i < 300 && stage !== 'generating'; i++) {
      const run = await call('GET', `/api/ops/runs/${instanceId}`);
      stage = (run.json.customStatus as { stage?: string } | null)?.stage ?? '';
      if (stage !== 'generating') await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stage).toBe('generating');
    const listed = await call('GET', '/api/ops/runs?workflow=dossiers&status=Running');
    expect((listed.json.runs as Json[]).map((r) => r.id)).toEqual([instanceId]);

    const stopped = await call('POST', `/api/ops/runs/${instanceId}/terminate`, { reason: 'wrong files' });
    expect(stopped.status).toBe(202);
    expect(Number(stopped.json.children)).toBeGreaterThan(0);
    await host.engine.whenIdle();
    const lanes = await call('GET', `/api/ops/runs?workflow=dossier-lane&prefix=${instanceId}`);
    expect(Object.keys(lanes.json.counts as Json)).not.toContain('Running');
    expect((lanes.json.counts as Json).Terminated).toBe(stopped.json.children);
    expect((await finished(instanceId)).status).toBe('Terminated');
  }, 120_000);

  it('applies a bulk action to the filtered set and reports what it did', async () => {
    const before = (await call('GET', '/api/ops/runs?workflow=smoke')).json.counts as Json;
    const report = await call('POST', '/api/ops/runs/bulk', {
      action: 'purge',
      filter: { workflow: 'smoke', status: 'Completed' },
    });
    expect(report.status).toBe(200);
    expect(report.json).toMatchObject({ action: 'purge', matched: before.Completed, done: before.Completed });
    expect((await call('GET', '/api/ops/runs?workflow=smoke')).json.runs).toEqual([]);
    const bad = await call('POST', '/api/ops/runs/bulk', { action: 'explode', filter: {} });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('body.action');
  });

  it('summarises dropped documents, fails only the bad one, and redoes only failures when run again', async () => {
    const docx = await Packer.toBuffer(
      new Document({
        sections: [
          {
            children: [
              new Paragraph('Compte rendu du conseil de classe'),
              new Paragraph(
                'Les résultats du trimestre sont en hausse. La sortie au musée est prévue en mai.',
              ),
            ],
          },
        ],
      }),
    );
    const fixtures = path.join(APP_ROOT, 'tests', 'fixtures', 'documents');
    const form = new FormData();
    form.append('file', new Blob([readFileSync(path.join(fixtures, 'report.pdf'))]), 'rapport.pdf');
    form.append('file', new Blob([docx]), 'conseil.docx');
    form.append('file', new Blob([readFileSync(path.join(fixtures, 'notes-cp1252.txt'))]), 'notes.txt');
    form.append('file', new Blob([readFileSync(path.join(fixtures, 'encrypted.pdf'))]), 'secret.pdf');
    const uploaded = await postForm('/api/ops/documents?batchId=conseil-mai', form);
    expect(uploaded.status, uploaded.text).toBe(202);
    const id = String(uploaded.json.id);
    const run = await finished(id);
    const output = run.output as { files: Json[]; done: number; failed: number };
    expect(output).toMatchObject({ done: 3, failed: 1 });
    expect(output.files.find((f) => f.name === 'secret.pdf')).toMatchObject({
      outcome: 'failed',
      error: { code: 'encrypted' },
    });
    const summary = await call('GET', '/api/ops/documents/conseil-mai/conseil.docx');
    expect(summary.status).toBe(200);
    expect(summary.json.language).toBe('fr');
    expect(String(summary.json.summary)).toContain('conseil');
    // Three lanes (OPS_DOCUMENTS_CONCURRENCY) read the four files.
    expect(await documentsRead(run)).toBe(4);
    // The blob trigger then sees the same four files (as Event Grid delivers their drops): the run read
    // them all, the failed one included, so nothing starts again.
    expect(await host.scanBlobs()).toBeGreaterThanOrEqual(4);
    await host.engine.whenIdle();
    expect((await call('GET', `/api/ops/runs/${id}`)).json.output).toMatchObject({ done: 3, failed: 1 });
    expect((run.timeline as Json[]).filter((t) => t.kind === 'sub-orchestration')).toHaveLength(3);

    // Dropped again: only the file that failed is read again.
    const again = await call('POST', '/api/ops/runs', {
      workflow: 'documents',
      parameters: { batchId: 'conseil-mai' },
    });
    const rerun = await finished(String(again.json.id));
    expect(rerun.output).toMatchObject({ done: 0, failed: 1, unchanged: 3 });
    expect(await documentsRead(rerun)).toBe(1);
    const absent = await call('GET', '/api/ops/documents/conseil-mai/absent.pdf');
    expect(absent.status).toBe(404);
  }, 120_000);

  it('summarises files dropped in documents-inbox, one after the other, each once', async () => {
    const text = (body: string) => Buffer.from(body, 'utf8');
    await host.dropBlob(
      'documents-inbox/depot/horaires.txt',
      text('Horaires de la rentrée. Les cours reprennent le lundi 2 septembre à 8 h 30.'),
    );
    await host.dropBlob(
      'documents-inbox/depot/cantine.txt',
      text('Menu de la cantine. Le repas du jeudi est végétarien, les inscriptions ferment vendredi.'),
    );
    await host.engine.waitForCompletion('ops-documents-depot', 60_000);
    await host.engine.whenIdle();
    const report = await call('GET', '/api/ops/runs/ops-documents-depot');
    const files = (report.json.output as { files: Json[] }).files;
    expect(files.map((f) => f.name)).toEqual(['cantine.txt', 'horaires.txt']);
    for (const file of files) expect(['done', 'unchanged']).toContain(file.outcome);
    for (const name of ['horaires.txt', 'cantine.txt']) {
      expect((await call('GET', `/api/ops/documents/depot/${name}`)).json.language).toBe('fr');
    }
    // Each file was summarised once, whichever run read it.
    const summaries = (await call('GET', '/api/ops/runs/ops-documents-depot/log')).json.entries as Json[];
    const summarised = summaries.filter((e) => String(e.message).startsWith('Summarised'));
    expect(summarised.map((e) => e.step).sort()).toEqual(['document:cantine.txt', 'document:horaires.txt']);
  }, 120_000);

  it('runs maintenance as a dry run: reports what it would remove and removes nothing', async () => {
    const inbox = host.storage.blobs.getContainerClient(CONTAINERS.documentsInbox);
    const countBlobs = async () => {
      let n = 0;
      for await (const _ of inbox.listBlobsFlat()) n++;
      return n;
    };
    const blobsBefore = await countBlobs();
    const id = await startRun('maintenance', { olderThanDays: 1, dryRun: true, backupTables: true });
    const run = await finished(id);
    expect(run.status).toBe('Completed');
    const output = run.output as Json;
    expect(output).toMatchObject({ dryRun: true, history: { instances: 0 } });
    expect((output.backup as Json).totalRows).toBeGreaterThan(0);
    expect(await countBlobs()).toBe(blobsBefore);
    const backups = host.storage.blobs.getContainerClient(CONTAINERS.opsBackups);
    expect(await backups.exists()).toBe(false);
    expect((run.timeline as Json[]).map((t) => t.name)).toEqual([
      'opsBackupTables',
      'opsPurgeHistory',
      'opsSweepBlobs',
    ]);
  }, 120_000);

  it('reports metrics per workflow, AI usage, headline figures and the health history', async () => {
    // AI usage rows are written within a second of each call.
    let metrics = await call('GET', '/api/ops/metrics');
    for (
      let i = 0;
      i < 50 && !('document-summary' in ((metrics.json.ai as Json | undefined)?.byTask as Json));
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      metrics = await call('GET', '/api/ops/metrics');
    }
    expect(metrics.status).toBe(200);
    const workflows = metrics.json.workflows as Record<string, Json>;
    expect(typeof workflows.health?.successRate).toBe('number');
    expect(Number(workflows.health?.runs)).toBeGreaterThanOrEqual(6);
    expect(workflows.health?.durationP95Seconds).toEqual(expect.any(Number));
    expect(workflows.documents).toMatchObject({ runs: 2, completed: 2 });
    expect((metrics.json.ai as Json).byTask).toHaveProperty('document-summary');
    expect(metrics.json.headlines).toMatchObject({ dossiersGenerated: 0, callsHandled: 0 });
    const history = metrics.json.health as Json[];
    expect(history.length).toBeGreaterThanOrEqual(6);
    expect(history.some((h) => Number(h.score) < 90)).toBe(true);
    const bad = await call('GET', '/api/ops/metrics?from=yesterday');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('query.from');
  });
});
