import { parseArgs } from 'node:util';
import { restoreTables } from '../functions/ops/maintenance/restore';
import { hostSettings } from '../functions/platform/hostSettings';
import { loadFragments } from '../functions/platform/settings';
import { createStorageClients } from '../functions/platform/storage';
import { CONTAINERS } from '../functions/platform/storageNames';
import { runCommand, UsageError } from './command';
import { localSettings } from './localEnvironment';

const USAGE = `Usage: npm run ops:restore -- --date YYYY-MM-DD [--table <name> ...] [--dry-run]
  --date      the backup to restore: ${CONTAINERS.opsBackups}/{date}/, written by the maintenance workflow
  --table     only this table of the backup (repeat for several); default: every table in it
  --dry-run   checks the backup (checksums, every line) and counts its rows; writes nothing
Each file's SHA-256 is checked against the backup's manifest before anything is written. Missing tables
are created; rows with the same keys are replaced, other rows are kept.
Storage: AzureWebJobsStorage from local.settings.json (else the sample), overridden by the environment.
The last stdout line is a JSON summary {date, dryRun, tables: [{table, rows}], totalRows}.`;

const err = (line: string) => process.stderr.write(`${line}\n`);

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      date: { type: 'string' },
      table: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.date) throw new UsageError('--date is required.');

  const { settings, notes, azurite } = await localSettings();
  notes.forEach(err);
  try {
    // Only the storage settings: a restore must not depend on the rest of the app being configured.
    const { host } = loadFragments(settings, { host: hostSettings });
    const dryRun = Boolean(values['dry-run']);
    const report = await restoreTables(createStorageClients(host.storage), {
      date: values.date,
      ...(values.table ? { tables: values.table } : {}),
      dryRun,
    });
    for (const { table, rows } of report.tables)
      err(`- ${table}: ${rows} row(s)${dryRun ? ' (dry run)' : ''}`);
    err(
      `${dryRun ? 'Would restore' : 'Restored'} ${report.totalRows} row(s) in ${report.tables.length} table(s) ` +
        `from ${CONTAINERS.opsBackups}/${report.date}/.`,
    );
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  } finally {
    await azurite?.stop();
  }
}

runCommand(main, USAGE);
