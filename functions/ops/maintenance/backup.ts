import { createHash } from 'node:crypto';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { RestError } from '@azure/core-rest-pipeline';
import type { TableClient } from '@azure/data-tables';
import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { ensureContainer, writeJsonBlob } from '../../platform/blobs';
import { InvalidInputError } from '../../platform/errors';
import type { StorageClients } from '../../platform/storage';
import { CONTAINERS } from '../../platform/storageNames';
import {
  BACKUP_FORMAT,
  backupDateSchema,
  manifestBlobName,
  tableBlobName,
  tableNameSchema,
  toBackupLine,
  typedReader,
  type BackupManifest,
} from './tableFormat';

export interface BackupTablesOptions {
  /** The tables to back up (the app's are `Object.values(TABLES)`); repeated names count once. */
  tables: readonly string[];
  /** The backup's folder in `ops-backups`, YYYY-MM-DD; a second backup the same day replaces the first. */
  date: string;
  /** Reads every table and reports what would be written, writing nothing. */
  dryRun: boolean;
}

export interface TableBackupReport {
  table: string;
  rows: number;
  /** Size of the gzipped file. */
  bytes: number;
  /** `{date}/{table}.jsonl.gz` in `ops-backups`; absent when the table does not exist (nothing to keep). */
  blob?: string;
}

export interface BackupReport {
  date: string;
  dryRun: boolean;
  container: string;
  tables: TableBackupReport[];
  totalRows: number;
  totalBytes: number;
  /** `{date}/manifest.json`, written last: a backup without one is incomplete. */
  manifest: string;
}

const backupOptionsSchema = z.object({
  tables: z.array(tableNameSchema),
  date: backupDateSchema,
  dryRun: z.boolean(),
});

function parseOptions(options: BackupTablesOptions): z.infer<typeof backupOptionsSchema> {
  const parsed = backupOptionsSchema.safeParse(options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new InvalidInputError(issue?.path.join('.') || 'options', issue?.message ?? 'is invalid');
}

// Upload buffers: bounded memory whatever the table's size (4 MiB blocks, 4 in flight).
const UPLOAD_BLOCK_BYTES = 4 * 1024 * 1024;
const UPLOAD_CONCURRENCY = 4;

/** Counts and hashes the gzipped bytes on their way to the blob. */
class Meter extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    done(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

const isTableNotFound = (error: unknown) => error instanceof RestError && error.statusCode === 404;

/**
 * The table's entities as JSON lines, a page at a time, or undefined when the table does not exist.
 * The first page is read here, so a missing table is known before anything is written.
 */
async function tableLines(
  table: TableClient,
): Promise<{ lines: AsyncIterable<string>; rows: () => number } | undefined> {
  const pages = typedReader(table)
    .listEntities<Record<string, unknown>>({ disableTypeConversion: true })
    .byPage({ maxPageSize: 1000 });
  let first: IteratorResult<Record<string, unknown>[]>;
  try {
    first = await pages.next();
  } catch (error) {
    if (isTableNotFound(error)) return undefined;
    throw error;
  }
  let rows = 0;
  const toText = (page: Record<string, unknown>[]) => {
    rows += page.length;
    return page.map((entity) => `${JSON.stringify(toBackupLine(entity))}\n`).join('');
  };
  async function* lines(): AsyncIterable<string> {
    if (first.done) return;
    yield toText(first.value);
    for await (const page of pages) yield toText(page);
  }
  return { lines: lines(), rows: () => rows };
}

/** Gzips the lines into the blob (or nowhere on a dry run), streaming; returns the file's size and SHA-256. */
async function writeGzipped(
  lines: AsyncIterable<string>,
  target: ContainerClient | undefined,
  name: string,
): Promise<{ bytes: number; sha256: string }> {
  const meter = new Meter();
  const piping = target
    ? pipeline(Readable.from(lines), createGzip(), meter)
    : pipeline(
        Readable.from(lines),
        createGzip(),
        meter,
        new Writable({ write: (_chunk, _enc, done) => done() }),
      );
  const upload = target
    ?.getBlockBlobClient(name)
    .uploadStream(meter, UPLOAD_BLOCK_BYTES, UPLOAD_CONCURRENCY, {
      blobHTTPHeaders: { blobContentType: 'application/gzip' },
    })
    .catch((error: unknown) => {
      // A failed upload stops reading: without this the listing would wait on a stream nobody drains.
      meter.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    });
  const [piped, uploaded] = await Promise.allSettled([piping, upload]);
  if (piped.status === 'rejected') throw piped.reason;
  if (uploaded.status === 'rejected') throw uploaded.reason;
  return { bytes: meter.bytes, sha256: meter.digest() };
}

/**
 * Backs up each table to `ops-backups/{date}/{table}.jsonl.gz` (gzipped JSON lines, every EDM type kept:
 * see tableFormat.ts), streaming page by page, then writes `{date}/manifest.json` with each file's rows,
 * size and SHA-256. A table that does not exist yet is reported with 0 rows. Idempotent: running it
 * again rewrites the same files. A dry run reads and compresses everything, so its sizes are the real
 * ones, and writes nothing.
 */
export async function backupTables(
  storage: StorageClients,
  options: BackupTablesOptions,
  clock: () => Date = () => new Date(),
): Promise<BackupReport> {
  const { tables, date, dryRun } = parseOptions(options);
  const container = storage.blobs.getContainerClient(CONTAINERS.opsBackups);
  if (!dryRun) await ensureContainer(container);
  const entries: BackupManifest['tables'] = [];
  for (const table of [...new Set(tables)]) {
    const source = await tableLines(storage.table(table));
    if (!source) {
      entries.push({ table, rows: 0, bytes: 0 });
      continue;
    }
    const blob = tableBlobName(date, table);
    const written = await writeGzipped(source.lines, dryRun ? undefined : container, blob);
    entries.push({ table, rows: source.rows(), bytes: written.bytes, blob, sha256: written.sha256 });
  }
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    date,
    createdAt: clock().toISOString(),
    tables: entries,
    totalRows: entries.reduce((sum, t) => sum + t.rows, 0),
    totalBytes: entries.reduce((sum, t) => sum + t.bytes, 0),
  };
  if (!dryRun) await writeJsonBlob(container, manifestBlobName(date), manifest);
  return {
    date,
    dryRun,
    container: CONTAINERS.opsBackups,
    tables: entries.map(({ table, rows, bytes, blob }) => ({
      table,
      rows,
      bytes,
      ...(blob ? { blob } : {}),
    })),
    totalRows: manifest.totalRows,
    totalBytes: manifest.totalBytes,
    manifest: manifestBlobName(date),
  };
}
