import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createStandaloneDossiers } from '../functions/app/standalone';
import type { DossierReport } from '../functions/dossiers/report';
import { CONTAINERS } from '../functions/platform/storageNames';
import { startAzurite } from '../local/azurite';
import { LocalHost, readHostJson } from '../local/localHost';

/**
 * The Functions path end to end, with no key and no network: starts Azurite and the local host on the
 * built app, drops the two CSV files into `dossiers-inbox/<batch>/`, lets the blob trigger start the
 * orchestration, waits for it, and prints the report JSON as the last line of stdout.
 */
const APP_ROOT = path.resolve(__dirname, '..', '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { consultants: { type: 'string' }, jobs: { type: 'string' } },
  });
  const consultantsFile = values.consultants ?? path.join(APP_ROOT, 'samples', 'consultants.csv');
  const jobsFile = values.jobs ?? path.join(APP_ROOT, 'samples', 'jobs.csv');
  const [consultants, jobs] = await Promise.all([readFile(consultantsFile), readFile(jobsFile)]);

  const log = (line: string) => process.stderr.write(`${line}\n`);
  log('Starting Azurite…');
  const azurite = await startAzurite();
  const host = await LocalHost.start({
    app: { appRoot: APP_ROOT },
    settings: {
      AzureWebJobsStorage: azurite.connectionString,
      FUNCTIONS_WORKER_RUNTIME: 'node',
      DURABLE_TASK_HUB: 'demo',
      AI_PROVIDER: 'offline',
    },
    hostJson: readHostJson(APP_ROOT),
    onLog: (record) => {
      if (record.level === 'error' || record.level === 'warning')
        log(`[${record.functionName}] ${record.message}`);
    },
  });
  try {
    const batchId = `demo-${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}`;
    log(
      `Dropping ${path.basename(consultantsFile)} and ${path.basename(jobsFile)} into ${CONTAINERS.dossiersInbox}/${batchId}/`,
    );
    await host.dropBlob(`${CONTAINERS.dossiersInbox}/${batchId}/consultants.csv`, consultants);
    await host.dropBlob(`${CONTAINERS.dossiersInbox}/${batchId}/jobs.csv`, jobs);
    const run = await createStandaloneDossiers({ AI_PROVIDER: 'offline' }, host.storage).latestRun(batchId);
    if (!run) throw new Error('The blob trigger did not start the batch; see the log above.');
    log(`Orchestration ${run.instanceId} started; waiting…`);
    const finished = await host.engine.waitForCompletion(run.instanceId, 10 * 60_000);
    if (finished.runtimeStatus !== 'Completed')
      throw new Error(`The batch ${finished.runtimeStatus}: ${String(finished.output)}`);
    const body = await host.storage.blobs
      .getContainerClient(CONTAINERS.dossiers)
      .getBlockBlobClient(`${batchId}/report.json`)
      .downloadToBuffer();
    const report = JSON.parse(body.toString('utf8')) as DossierReport;
    log(
      `${report.generated} dossiers generated, ${report.skipped} skipped, ${report.failed} failed, ` +
        `${report.notSelected} not selected, ${report.rejectedRows.length} rows rejected; ` +
        `outputs in ${CONTAINERS.dossiers}/${batchId}/ (Azurite, stopped at exit).`,
    );
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await host.stop();
    await azurite.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
