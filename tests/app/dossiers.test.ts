import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchWorkStore } from '../../functions/dossiers/batchStore';
import type { BatchProgressView } from '../../functions/dossiers/batchStatus';
import type { TemplateProblem } from '../../functions/dossiers/docxTemplate';
import type { DossierReport } from '../../functions/dossiers/report';
import type { StoredTemplate } from '../../functions/dossiers/templateStore';
import { CONTAINERS } from '../../functions/platform/storageNames';
import { startAiServer, type LocalAiServer } from '../../local/servers/aiServer';
import type { LocalHost } from '../../local/localHost';
import { dossierAnswer } from '../dossiers/fixtures';
import { buildTemplate, editedDocx, p, paragraphTexts, sampleTemplate } from '../dossiers/templates';
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

/** A template name no other test uses: Azurite is shared. */
const templateName = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}.docx`;

function uploadTemplate(host: LocalHost, name: string, bytes: Buffer) {
  const form = new FormData();
  form.set('file', new Blob([bytes]), name);
  const multipart = new Response(form);
  return multipart.arrayBuffer().then((body) =>
    host.http({
      method: 'POST',
      path: `/api/dossiers/templates?code=${host.functionKey}`,
      headers: { 'content-type': multipart.headers.get('content-type') ?? '' },
      body: Buffer.from(body),
    }),
  );
}

function postBatch(host: LocalHost, body: Record<string, unknown>) {
  return host.http({
    method: 'POST',
    path: `/api/dossiers/batches?code=${host.functionKey}`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      consultantsCsv: consultantsCsv.toString('utf8'),
      jobsCsv: jobsCsv.toString('utf8'),
      ...body,
    }),
  });
}

async function readDossierDocx(host: LocalHost, batchId: string, report: DossierReport): Promise<Buffer> {
  const pair = report.pairs.find((x) => x.status === 'generated' || x.status === 'skipped');
  return host.storage.blobs
    .getContainerClient(CONTAINERS.dossiers)
    .getBlockBlobClient(`${batchId}/${pair?.jobId ?? ''}/${pair?.consultantId ?? ''}.docx`)
    .downloadToBuffer();
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
      reply: () => dossierAnswer(),
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

  it('stores a template, refuses a broken one listing its problems, and fills it for a batch: a changed template regenerates, an unchanged one costs nothing', async () => {
    const server = await startAiServer({
      reply: () => dossierAnswer({ profile: 'Profil rédigé par le modèle.' }),
    });
    servers.push(server);
    // No response cache: every AI call reaches the server, so its count shows what each run cost (with
    // the cache, a changed template would re-render from the cached answers).
    const host = await appHost({
      AI_PROVIDER: 'openai',
      OPENAI_BASE_URL: `${server.url}/v1`,
      AI_MAX_RETRIES: '0',
      AI_CACHE_TTL_HOURS: '0',
    });
    const name = templateName('cabinet');

    const stored = await uploadTemplate(host, name, sampleTemplate());
    expect(stored.status).toBe(201);
    const answer = stored.json<StoredTemplate>();
    expect(answer).toMatchObject({ name, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as string });
    expect(answer.tags).toEqual(
      expect.arrayContaining(['title', '#keySkills', '#match.skills', 'consultant.fullName']),
    );

    // A broken template is refused, each problem with its place, and not stored.
    const broken = await buildTemplate([
      p('{title}'),
      p('Salaire : {consultant.salary}'),
      p('{#experiences}'),
    ]);
    const refused = await uploadTemplate(host, templateName('broken'), broken);
    expect(refused.status).toBe(400);
    const error = refused.json<{
      error: { code: string; field: string; message: string; problems: TemplateProblem[] };
    }>().error;
    expect(error).toMatchObject({ code: 'invalid_template', field: 'file' });
    expect(error.problems.map((x) => [x.code, x.place.part, x.place.paragraph])).toEqual([
      ['unknown_tag', 'body', 2],
      ['unclosed_loop', 'body', 3],
    ]);
    expect(error.message).toContain(
      'body, paragraph 2 ("Salaire : {consultant.salary}"), tag {consultant.salary}',
    );
    // The raw body works too, named by the query.
    const raw = await host.http({
      method: 'POST',
      path: `/api/dossiers/templates?code=${host.functionKey}&name=${templateName('raw')}`,
      body: sampleTemplate(),
    });
    expect(raw.status).toBe(201);
    expect(raw.json<StoredTemplate>().sha256).toBe(answer.sha256);

    // A batch naming a template that is not stored is refused before anything runs.
    const unknown = await postBatch(host, {
      batchId: 'tpl-unknown',
      options: { template: templateName('missing') },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json()).toMatchObject({
      error: {
        code: 'unknown_template',
        message: expect.stringMatching(/^options\.template: no template named /) as string,
      },
    });
    const work = new BatchWorkStore(host.storage.blobs.getContainerClient(CONTAINERS.dossiersWork));
    expect(await work.latestRun('tpl-unknown')).toBeUndefined();
    expect(server.counters.requests).toBe(0);

    const created = await postBatch(host, { batchId: 'tpl-1', options: { topK: 1, template: name } });
    expect(created.status).toBe(202);
    expect((await waitForBatch(host, 'tpl-1')).progress).toMatchObject({ total: 4, generated: 4, failed: 0 });
    expect(server.counters.requests).toBe(4);
    const docx = await readDossierDocx(host, 'tpl-1', await readReport(host, 'tpl-1'));
    expect(paragraphTexts(docx, 'word/header1.xml').join('')).toContain('Cabinet Exemple');
    expect(paragraphTexts(docx)).toContain('Profil rédigé par le modèle.');

    // The same batch and template again: the same run, no AI call.
    const again = await postBatch(host, { batchId: 'tpl-1', options: { topK: 1, template: name } });
    expect(again.json<{ instanceId: string }>().instanceId).toBe(
      created.json<{ instanceId: string }>().instanceId,
    );
    expect(server.counters.requests).toBe(4);

    // The firm changes its template under the same name: the next run regenerates every dossier.
    const restyled = editedDocx(
      sampleTemplate(),
      'word/footer1.xml',
      'Document confidentiel',
      'Diffusion restreinte',
    );
    expect((await uploadTemplate(host, name, restyled)).status).toBe(201);
    const rerun = await postBatch(host, { batchId: 'tpl-1', options: { topK: 1, template: name } });
    expect(rerun.json<{ instanceId: string }>().instanceId).not.toBe(
      created.json<{ instanceId: string }>().instanceId,
    );
    expect((await waitForBatch(host, 'tpl-1')).progress).toMatchObject({
      total: 4,
      generated: 4,
      skipped: 0,
    });
    expect(server.counters.requests).toBe(8);
    const regenerated = await readDossierDocx(host, 'tpl-1', await readReport(host, 'tpl-1'));
    expect(paragraphTexts(regenerated, 'word/footer1.xml').join('')).toContain('Diffusion restreinte');
  });

  it('fills the DOSSIERS_TEMPLATE template when a batch names none, and refuses batches while it is missing', async () => {
    const name = templateName('default');
    const host = await appHost({ DOSSIERS_TEMPLATE: name });

    const refused = await postBatch(host, { batchId: 'tpl-default-http' });
    expect(refused.status).toBe(400);
    expect(refused.json()).toMatchObject({
      error: { message: expect.stringMatching(/^DOSSIERS_TEMPLATE: no template named /) as string },
    });
    await host.dropBlob(`${CONTAINERS.dossiersInbox}/tpl-default/consultants.csv`, consultantsCsv);
    await host.dropBlob(`${CONTAINERS.dossiersInbox}/tpl-default/jobs.csv`, jobsCsv);
    const work = new BatchWorkStore(host.storage.blobs.getContainerClient(CONTAINERS.dossiersWork));
    expect(await work.latestRun('tpl-default')).toBeUndefined();
    expect(host.logs.find((r) => r.level === 'error' && r.functionName === 'dossiersInbox')?.message).toMatch(
      /^Batch tpl-default refused: DOSSIERS_TEMPLATE: no template named /,
    );

    expect((await uploadTemplate(host, name, sampleTemplate())).status).toBe(201);
    await host.dropBlob(`${CONTAINERS.dossiersInbox}/tpl-default/jobs.csv`, jobsCsv);
    const view = await waitForBatch(host, 'tpl-default');
    expect(view.progress).toMatchObject({ total: 32, generated: 32, failed: 0 });
    const docx = await readDossierDocx(host, 'tpl-default', await readReport(host, 'tpl-default'));
    expect(paragraphTexts(docx, 'word/header1.xml').join('')).toContain('Cabinet Exemple');
  });
});
