import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import type { TableClient, TransactionAction } from '@azure/data-tables';
import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { readBlob } from '../../platform/blobs';
import { ConflictError, InvalidInputError, NotFoundError } from '../../platform/errors';
import type { StorageClients } from '../../platform/storage';
import { CONTAINERS } from '../../platform/storageNames';
import {
  backupDateSchema,
  backupLineSchema,
  manifestBlobName,
  manifestSchema,
  tableNameSchema,
  toEntity,
  type BackupManifest,
} from './tableFormat';

export interface RestoreTablesOptions {
  /** The backup to restore: `ops-backups/{date}/`. */
  date: string;
  /** Only these tables of the backup (default: all of them). */
  tables?: readonly string[];
  /** Verifies the backup (checksums, every line) and counts its rows, writing nothing. */
  dryRun?: boolean;
}

export interface RestoreReport {
  date: string;
  dryRun: boolean;
  tables: { table: string; rows: number }[];
  totalRows: number;
}

const restoreOptionsSchema = z.object({
  date: backupDateSchema,
  tables: z.array(tableNameSchema).optional(),
  dryRun: z.boolean().optional(),
});

// A transaction holds at most 100 operations of one partition and 4 MiB; lines are close to the
// request's size, so 3 MiB of them leaves room for the batch envelope.
const MAX_TRANSACTION_ACTIONS = 100;
const MAX_TRANSACTION_BYTES = 3 * 1024 * 1024;

const corrupted = (what: string, problem: string, outcome = 'nothing was restored') =>
  new ConflictError(`${what} ${problem}; ${outcome}.`, 'backup_corrupted');
// Its checksum matched, so the file was written so: the restore stops at that line.
const badLine = (where: string, lineNumber: number, problem: string) =>
  corrupted(`${where} line ${lineNumber}`, problem, 'the restore stopped there');

async function readManifest(container: ContainerClient, date: string): Promise<BackupManifest> {
  const name = manifestBlobName(date);
  const where = `${CONTAINERS.opsBackups}/${name}`;
  const body = await readBlob(container, name);
  if (!body) throw new NotFoundError(`No backup for ${date}: ${where} does not exist.`);
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    throw corrupted(where, 'is not JSON');
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw corrupted(where, 'is not a backup manifest');
  return parsed.data;
}

async function sha256Of(container: ContainerClient, blob: string): Promise<string | undefined> {
  const client = container.getBlockBlobClient(blob);
  if (!(await client.exists())) return undefined;
  const hash = createHash('sha256');
  for await (const chunk of (await client.download()).readableStreamBody ?? [])
    hash.update(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return hash.digest('hex');
}

/** Each line of the gzipped blob, in order, streaming (one chunk in memory at a time). */
async function forEachLine(
  container: ContainerClient,
  blob: string,
  handle: (line: string, lineNumber: number) => Promise<void>,
): Promise<void> {
  const body = (await container.getBlockBlobClient(blob).download()).readableStreamBody;
  if (!body) throw new Error(`${blob}: the download has no body.`);
  const decoder = new StringDecoder('utf8');
  let lineNumber = 0;
  let rest = '';
  await pipeline(body, createGunzip(), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      const parts = (rest + decoder.write(chunk)).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) await handle(line, ++lineNumber);
    }
    rest += decoder.end();
    if (rest !== '') await handle(rest, ++lineNumber);
  });
}

/** Upserts (Replace) the file's entities, a transaction per run of one partition; returns the row count. */
async function restoreTable(
  container: ContainerClient,
  blob: string,
  table: TableClient,
  dryRun: boolean,
): Promise<number> {
  const where = `${CONTAINERS.opsBackups}/${blob}`;
  let rows = 0;
  let batch: TransactionAction[] = [];
  let batchPartition = '';
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    if (!dryRun) await table.submitTransaction(batch);
    rows += batch.length;
    batch = [];
    batchBytes = 0;
  };
  await forEachLine(container, blob, async (line, lineNumber) => {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw badLine(where, lineNumber, 'is not JSON');
    }
    const parsed = backupLineSchema.safeParse(raw);
    if (!parsed.success) throw badLine(where, lineNumber, 'is not an entity of the backup format');
    const entity = toEntity(parsed.data);
    const bytes = Buffer.byteLength(line);
    const full = batch.length === MAX_TRANSACTION_ACTIONS || batchBytes + bytes > MAX_TRANSACTION_BYTES;
    if (batch.length > 0 && (entity.partitionKey !== batchPartition || full)) await flush();
    batch.push(['upsert', entity, 'Replace']);
    batchPartition = entity.partitionKey;
    batchBytes += bytes;
  });
  await flush();
  return rows;
}

/**
 * Restores tables from `ops-backups/{date}/`: every file's SHA-256 is checked against the manifest
 * first, and a corrupted or missing file is refused, naming it, before anything is written. Then each
 * table is created if missing and its entities upserted (Replace: rows of the same keys are
 * overwritten, other rows kept), streaming, in transactions of up to 100 entities of one partition.
 */
export async function restoreTables(
  storage: StorageClients,
  options: RestoreTablesOptions,
): Promise<RestoreReport> {
  const parsed = restoreOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInputError(issue?.path.join('.') || 'options', issue?.message ?? 'is invalid');
  }
  const { date, tables, dryRun = false } = parsed.data;
  const container = storage.blobs.getContainerClient(CONTAINERS.opsBackups);
  const manifest = await readManifest(container, date);
  const known = manifest.tables.map((t) => t.table);
  const unknown = (tables ?? []).filter((t) => !known.includes(t));
  if (unknown.length > 0)
    throw new InvalidInputError(
      'tables',
      `${unknown.join(', ')} not in the backup of ${date} (it has ${known.join(', ') || 'no table'}).`,
    );
  const selected = manifest.tables.filter((t) => !tables || tables.includes(t.table));

  for (const entry of selected) {
    if (!entry.blob) continue;
    const where = `${CONTAINERS.opsBackups}/${entry.blob}`;
    const actual = await sha256Of(container, entry.blob);
    if (actual === undefined) throw corrupted(where, 'is missing');
    if (actual !== entry.sha256)
      throw corrupted(where, 'is corrupted: its SHA-256 does not match the manifest');
  }

  const report: RestoreReport['tables'] = [];
  for (const entry of selected) {
    // A table that did not exist at backup time has no file: nothing to create or write.
    if (!entry.blob) {
      report.push({ table: entry.table, rows: 0 });
      continue;
    }
    const table = storage.table(entry.table);
    // Not ensureTable: its per-process memory would miss a table deleted since.
    if (!dryRun) await table.createTable();
    report.push({ table: entry.table, rows: await restoreTable(container, entry.blob, table, dryRun) });
  }
  return { date, dryRun, tables: report, totalRows: report.reduce((sum, t) => sum + t.rows, 0) };
}
