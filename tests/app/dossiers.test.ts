import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchWorkStore } from '../../functions/dossiers/batchStore';
import type { BatchProgressView } from '../../functions/dossiers/batchStatus';
import type { DossierReport } from '../../functions/dossiers/report';
import { CONTAINERS } from '../../functions/platform/storageNames';
import { startAiServer, type LocalAiServer } from '../../local/servers/aiServer';
import type { LocalHost } from '../../local/localHost';
import { startAppHost, testSettings } from '../support/testHost';

const SAMPLES = path.resolve(__dirname, '../../samples');
const consultantsCsv = readFileSync(path.join(SAMPLES, 'consultants.csv'));
const jobsCsv = readFileSync(path.join(SAMPLES, 'jobs.csv'));

const hosts: LocalHost[] = [];
const servers: LocalAiServer[] = [];
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await Promise.all(servers.map((s) => s.close()));
});

async function appHost(settings: Record<string, string> = {}): Promise<LocalHost> {
  const host = await startAppHost({ settings: testSettings({ AI_PROVIDER: 'offline', ...settings }) });
  hosts.push(host);
  return host;
}

async function waitForBatch(host: LocalHost, batchId: string): Promise<BatchProgressView> {
  const run = await new BatchWorkStore(
    host.storage.blobs.getContainerClient(CONTAINERS.dossiersWork),
  ).latestRun(batchId);
  expect(run).toBeDefined();
  await host.engine.waitForCompletion(run?.instanceId ?? '', 60_000);
  const status = await host.http({ path: `/api/dossiers/batches/${batchId}?code=${host.functionKey}` });
  expect(status.status).toBe(200);
  return status.json<BatchProgressView>();
}

async function readReport(host: LocalHost, batchId: string): Promise<DossierReport> {
  const body = await host.storage.blobs
    .getContainerClient(CONTAINERS.dossiers)
    .getBlockBlobClient(`${batchId}/report.json`)
    .downloadToBuffer();
  return JSON.parse(body.toString('utf8')) as DossierReport;
}

describe('dossier batches through the Functions host', () => {
  it('starts a batch when both files are dropped in the inbox, and writes dossiers and the report to blobs', async () => {
    const host = await appHost();
    await host.dropBlob(`${CONTAINERS.dossiersInbox}/drop-1/Base consultants.CSV`, consultantsCsv);
    const work = new BatchWorkStore(host.storage.blobs.getContainerClient(CONTAINERS.dossiersWork));
    expect(await work.latestRun('drop-1')).toBeUndefined();
    await host.dropBlob(`${CONTAINERS.dossiersInbox}/drop-1/Fiches de poste client.csv`, jobsCsv);

    const view = await waitForBatch(host, 'drop-1');
    expect(view).toMatchObject({
      runtimeStatus: 'Completed',
      stage: 'completed',
      progress: { total: 32, done: 32, generated: 32, skipped: 0, failed: 0 },
      report: ['dossiers/drop-1/report.json', 'dossiers/drop-1/report.csv'],
    });
    const report = await readReport(host, 'drop-1');
    expect(report).toMatchObject({ batchId: 'drop-1', total: 32, generated: 32 });
    const pair = report.pairs[0];
    const blobs = host.storage.blobs.getContainerClient(CONTAINERS.dossiers);
    const docx = await blobs
      .getBlockBlobClient(`drop-1/${pair?.jobId ?? ''}/${pair?.consultantId ?? ''}.docx`)
      .downloadToBuffer();
    expect(docx.subarray(0, 2).toString()).toBe('PK');
    expect(pair?.files).toEqual([
      `dossiers/drop-1/${pair?.jobId ?? ''}/${pair?.consultantId ?? ''}.md`,
      `dossiers/drop-1/${pair?.jobId ?? ''}/${pair?.consultantId ?? ''}.docx`,
    ]);
  });

  it('starts one run for the same drop twice, and skips done pairs when changed files start a new run', async () => {
    const host = await appHost();
    for (let i = 0; i < 2; i++) {
      await host.dropBlob(`${CONTAINERS.dossiersInbox}/drop-2/consultants.csv`, consultantsCsv);
      await host.dropBlob(`${CONTAINERS.dossiersInbox}/drop-2/jobs.csv`, jobsCsv);
    }
    await waitForBatch(host, 'drop-2');
    const runs = (await host.engine.list({})).filter((r) => r.name === 'dossierBatch');
    expect(runs).toHaveLength(1);

    // One more consultant: a new run, in which the 32 pairs already written are skipped.
    const header = consultantsCsv.toString('utf8').split(/\r?\n/)[0] ?? '';
    const row = ['CNS-9999', 'Zoé', 'Lambert', 'Data engineer', '4', 'Python, SQL, Spark'];
    const blanks = Array<string>(header.split(';').length - row.length).fill('');
    const added = Buffer.concat([consultantsCsv, Buffer.from(`${[...row, ...blanks].join(';')}\r\n`)]);
    await host.dropBlob(`${CONTAINERS.dossiersInbox}/drop-2/consultants.csv`, added);
    const view = await waitForBatch(host, 'drop-2');
    expect(view.progress).toMatchObject({ total: 36, generated: 4, skipped: 32, failed: 0 });
    const report = await readReport(host, 'drop-2');
    expect(report.skipped).toBe(32);
  });

  it('creates a batch over HTTP from JSON or multipart, validates it, and reports progress', async () => {
    const host = await appHost({ DOSSIERS_MAX_UPLOAD_MB: '1' });
    const post = (body: string | Buffer, contentType: string, key = host.functionKey) =>
      host.http({
        method: 'POST',
        path: `/api/dossiers/batches?code=${key}`,
        headers: { 'content-type': contentType },
        body,
      });

    expect((await post('{}', 'application/json', 'wrong')).status).toBe(401);
    const created = await post(
      JSON.stringify({
        consultantsCsv: consultantsCsv.toString('utf8'),
        jobsCsv: jobsCsv.toString('utf8'),
        batchId: 'http-1',
        options: { topK: 2 },
      }),
      'application/json',
    );
    expect(created.status).toBe(202);
    expect(created.json()).toMatchObject({ batchId: 'http-1', statusUrl: '/api/dossiers/batches/http-1' });
    const view = await waitForBatch(host, 'http-1');
    expect(view.progress).toMatchObject({ total: 8, done: 8, generated: 8 });
    expect((await readReport(host, 'http-1')).notSelected).toBe(24);

    const form = new FormData();
    form.set('consultants', new Blob([consultantsCsv]), 'consultants.csv');
    form.set('jobs', new Blob([jobsCsv]), 'jobs.csv');
    form.set('batchId', 'http-2');
    form.set('options', JSON.stringify({ language: 'en', minScore: 50 }));
    const multipart = new Response(form);
    const multipartCreated = await post(
      Buffer.from(await multipart.arrayBuffer()),
      multipart.headers.get('content-type') ?? '',
    );
    expect(multipartCreated.status).toBe(202);
    expect((await waitForBatch(host, 'http-2')).runtimeStatus).toBe('Completed');

    const missingColumn = await post(
      JSON.stringify({ consultantsCsv: 'Matricule;Compétences\nC1;Python\n', jobsCsv: jobsCsv.toString() }),
      'application/json',
    );
    expect(missingColumn.status).toBe(400);
    expect(missingColumn.json()).toMatchObject({
      error: { code: 'invalid_csv', message: expect.stringContaining('no name column') as string },
    });

    const badOption = await post(
      JSON.stringify({ consultantsCsv: 'x', jobsCsv: 'y', options: { topK: 0 } }),
      'application/json',
    );
    expect(badOption.json()).toMatchObject({
      error: { code: 'invalid_field', message: expect.stringMatching(/^options\.topK: /) as string },
    });

    const tooLarge = await post(
      JSON.stringify({ consultantsCsv: 'x'.repeat(1_100_000), jobsCsv: 'y' }),
      'application/json',
    );
    expect(tooLarge.status).toBe(413);
    expect((await host.http({ path: `/api/dossiers/batches/unknown?code=${host.functionKey}` })).status).toBe(
      404,
    );
  });

  it('records a pair that still fails after its retries, and completes the batch with failures', async () => {
    const server = await startAiServer({
      fault: (_n, body) => (JSON.stringify(body.messages).includes('Camille Garnier') ? 'error500' : 'none'),
    });
    servers.push(server);
    const host = await appHost({
      AI_PROVIDER: 'openai',
      OPENAI_BASE_URL: `${server.url}/v1`,
      AI_MAX_RETRIES: '0',
    });
    await host.dropBlob(`${CONTAINERS.dossiersInbox}/drop-3/consultants.csv`, consultantsCsv);
    await host.dropBlob(`${CONTAINERS.dossiersInbox}/drop-3/jobs.csv`, jobsCsv);
    const view = await waitForBatch(host, 'drop-3');
    expect(view).toMatchObject({ runtimeStatus: 'Completed', stage: 'completed-with-failures' });
    expect(view.progress).toMatchObject({ total: 32, generated: 28, failed: 4 });
    const failed = (await readReport(host, 'drop-3')).pairs.filter((p) => p.status === 'failed');
    expect(failed).toHaveLength(4);
    expect(failed[0]?.error).toContain('server error (500)');
    // Three attempts per failing pair (the orchestration's retry policy), one call per other pair.
    expect(server.counters.serverErrors).toBe(12);
  });

  it("starts one run when both files' blob events arrive at once (the second start meets a running instance)", async () => {
    const host = await appHost();
    // Both files are in the inbox before either event is handled, so both handlers see a complete batch
    // and race to start the same instance id.
    const inbox = host.storage.blobs.getContainerClient(CONTAINERS.dossiersInbox);
    await inbox.createIfNotExists();
    await inbox.getBlockBlobClient('drop-race/consultants.csv').uploadData(consultantsCsv);
    await inbox.getBlockBlobClient('drop-race/jobs.csv').uploadData(jobsCsv);
    await Promise.all([
      host.dropBlob(`${CONTAINERS.dossiersInbox}/drop-race/consultants.csv`, consultantsCsv),
      host.dropBlob(`${CONTAINERS.dossiersInbox}/drop-race/jobs.csv`, jobsCsv),
    ]);
    const outcomes = host.logs
      .filter((r) => r.functionName === 'dossiersInbox' && r.message.startsWith('Batch drop-race:'))
      .map((r) => r.message.replace(/ dossiers-drop-race-\w+\.$/, ''));
    expect(outcomes.sort()).toEqual([
      'Batch drop-race: already running or done as',
      'Batch drop-race: started',
    ]);
    expect(host.logs.filter((r) => r.level === 'error')).toEqual([]);
    const view = await waitForBatch(host, 'drop-race');
    expect(view).toMatchObject({
      runtimeStatus: 'Completed',
      progress: { total: 32, generated: 32, failed: 0 },
    });
  });

  it('answers an unexpected failure with the JSON error and a request id, never a stack', async () => {
    const host = await appHost();
    const work = host.storage.blobs.getContainerClient(CONTAINERS.dossiersWork);
    await work.createIfNotExists();
    await work.getBlockBlobClient('broken/latest-run.json').uploadData(Buffer.from('{"instanceId": 42}'));
    const response = await host.http({ path: `/api/dossiers/batches/broken?code=${host.functionKey}` });
    expect(response.status).toBe(500);
    const body = response.json<{ error: { code: string; message: string; requestId: string } }>();
    expect(body.error.code).toBe('internal_error');
    expect(body.error.requestId).toMatch(/\S/);
    expect(body.error.message).toContain(body.error.requestId);
    expect(response.body.toString()).not.toMatch(/\bat \S+ \(|latest-run\.json/);
    // The operator finds the cause in the log, under the same invocation id.
    const logged = host.logs.find((r) => r.invocationId === body.error.requestId && r.level === 'error');
    expect(logged?.message).toContain('dossiers-work/broken/latest-run.json is not in the expected shape');
  });
});
