import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { TableEntity, TransactionAction } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import { BlobResponseCache } from '../../functions/ai/cache';
import { backupTables } from '../../functions/ops/maintenance/backup';
import { restoreTables } from '../../functions/ops/maintenance/restore';
import { sweepAiCache, sweepContainers } from '../../functions/ops/maintenance/sweep';
import { writeJsonBlob } from '../../functions/platform/blobs';
import { createStorageClients } from '../../functions/platform/storage';
import { CONTAINERS } from '../../functions/platform/storageNames';

const connectionString = inject('azuriteConnectionString');
const storage = createStorageClients({ kind: 'connectionString', connectionString });
const backups = storage.blobs.getContainerClient(CONTAINERS.opsBackups);
const DAY_MS = 86_400_000;

// Azurite is shared with the other test files: every table and container here has a name of its own,
// and each test backs up under its own date (nothing else writes backups of 2001).
const suffix = () => randomBytes(4).toString('hex');
const uniqueTable = (label: string) => `${label}${suffix()}`;

async function seed(table: string, entities: TableEntity<Record<string, unknown>>[]): Promise<void> {
  const client = storage.table(table);
  await client.createTable();
  const byPartition = new Map<string, TableEntity<Record<string, unknown>>[]>();
  for (const entity of entities)
    byPartition.set(entity.partitionKey, [...(byPartition.get(entity.partitionKey) ?? []), entity]);
  for (const rows of byPartition.values()) {
    for (let i = 0; i < rows.length; i += 100) {
      const actions = rows.slice(i, i + 100).map((e): TransactionAction => ['create', e]);
      await client.submitTransaction(actions);
    }
  }
}

/**
 * The table's entities exactly as the service sends them (each number as its literal text, so a double
 * 2.0 and an Int32 2 differ), with the type annotations; without the ETag and Timestamp, which every
 * write changes.
 */
async function rawEntities(table: string): Promise<Record<string, unknown>[]> {
  const client = storage.table(table);
  const bodies: string[] = [];
  client.pipeline.addPolicy(
    {
      name: 'captureBody',
      async sendRequest(request, next) {
        const response = await next(request);
        if (response.bodyAsText) bodies.push(response.bodyAsText);
        return response;
      },
    },
    { phase: 'Retry' },
  );
  for await (const _page of client.listEntities().byPage({ maxPageSize: 1000 }));
  return bodies.flatMap((body) => {
    const parsed = JSON.parse(body, (_key, value: unknown, context?: { source?: string }) =>
      typeof value === 'number' ? { number: context?.source } : value,
    ) as { value: Record<string, unknown>[] };
    return parsed.value.map((entity) => {
      const rest = { ...entity };
      delete rest['odata.etag'];
      delete rest.Timestamp;
      return rest;
    });
  });
}

async function tableExists(table: string): Promise<boolean> {
  for await (const found of storage.tables.listTables()) if (found.name === table) return true;
  return false;
}

async function blobNames(prefix: string, container = backups): Promise<string[]> {
  const names: string[] = [];
  if (!(await container.exists())) return names;
  for await (const blob of container.listBlobsFlat({ prefix })) names.push(blob.name);
  return names;
}

/** 1,500 rows over 4 partitions, every EDM type, including the doubles that look like integers. */
function everyTypeRows(): TableEntity<Record<string, unknown>>[] {
  return Array.from({ length: 1500 }, (_, i) => ({
    partitionKey: `p${i % 4}`,
    rowKey: String(i).padStart(5, '0'),
    name: `ligne ${i} — café`,
    flag: i % 2 === 0,
    count: i - 700,
    whole: { value: i, type: 'Double' as const },
    ratio: i + 0.25,
    big: 9_007_199_254_740_993n + BigInt(i),
    when: { value: `2026-01-02T03:04:05.${String(i).padStart(7, '0')}Z`, type: 'DateTime' as const },
    id: { value: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, type: 'Guid' as const },
    bytes: new Uint8Array([i & 255, 0, 255]),
    ...(i === 0
      ? {
          nan: { value: 'NaN', type: 'Double' as const },
          negInfinity: { value: '-Infinity', type: 'Double' as const },
          largeWhole: { value: 6_824_053_932_181, type: 'Double' as const },
          empty: '',
          bigNegative: -9_223_372_036_854_775_808n,
        }
      : {}),
  }));
}

const smallRows = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ partitionKey: 'only', rowKey: `r${i}`, label: `row ${i}` }));

describe('backupTables and restoreTables', () => {
  it('backs up two tables to gzipped JSON lines and restores them exactly, every EDM type kept', async () => {
    const [big, small] = [uniqueTable('opsbig'), uniqueTable('opssmall')];
    await seed(big, everyTypeRows());
    await seed(small, smallRows(3));
    const before = { big: await rawEntities(big), small: await rawEntities(small) };
    expect(before.big).toHaveLength(1500);
    // The whole-number double is sent as 2.0 and the Int32 as 2: what the backup must keep apart.
    expect(before.big.find((e) => e.RowKey === '00008')).toMatchObject({
      whole: { number: '8.0' },
      count: { number: '-692' },
    });

    const date = '2001-01-01';
    const report = await backupTables(storage, { tables: [big, small], date, dryRun: false });
    expect(report.tables.map(({ table, rows, blob }) => ({ table, rows, blob }))).toEqual([
      { table: big, rows: 1500, blob: `${date}/${big}.jsonl.gz` },
      { table: small, rows: 3, blob: `${date}/${small}.jsonl.gz` },
    ]);
    expect(report.totalRows).toBe(1503);
    expect((await blobNames(`${date}/`)).sort()).toEqual(
      [`${date}/${big}.jsonl.gz`, `${date}/${small}.jsonl.gz`, `${date}/manifest.json`].sort(),
    );
    for (const entry of report.tables) {
      const properties = await backups.getBlobClient(entry.blob ?? '').getProperties();
      expect(properties.contentLength).toBe(entry.bytes);
    }
    // The documented line form: one entity per line, each property as {type, value}.
    const file = await backups.getBlobClient(`${date}/${big}.jsonl.gz`).downloadToBuffer();
    const lines = gunzipSync(file).toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(1500);
    const first = JSON.parse(lines[0] ?? '') as { properties: Record<string, unknown> };
    expect(first).toMatchObject({ partitionKey: 'p0', rowKey: '00000' });
    expect(first.properties).toMatchObject({
      whole: { type: 'Double', value: 0 },
      count: { type: 'Int32', value: -700 },
      big: { type: 'Int64', value: '9007199254740993' },
      bigNegative: { type: 'Int64', value: '-9223372036854775808' },
      when: { type: 'DateTime', value: '2026-01-02T03:04:05.0000000Z' },
      id: { type: 'Guid', value: '00000000-0000-4000-8000-000000000000' },
      bytes: { type: 'Binary', value: Buffer.from([0, 0, 255]).toString('base64') },
      nan: { type: 'Double', value: 'NaN' },
      largeWhole: { type: 'Double', value: 6_824_053_932_181 },
      flag: { type: 'Boolean', value: true },
      empty: { type: 'String', value: '' },
    });

    // The big table is lost; a row of the small one is changed and another added since the backup.
    await storage.tables.deleteTable(big);
    await storage.table(small).updateEntity({ partitionKey: 'only', rowKey: 'r1', extra: 1 }, 'Merge');
    await storage.table(small).createEntity({ partitionKey: 'only', rowKey: 'r9', label: 'added later' });

    const restored = await restoreTables(storage, { date });
    expect(restored).toEqual({
      date,
      dryRun: false,
      tables: [
        { table: big, rows: 1500 },
        { table: small, rows: 3 },
      ],
      totalRows: 1503,
    });
    expect(await rawEntities(big)).toEqual(before.big);
    // Replace: the changed row is the backup's again; a row the backup did not have is kept.
    expect(await rawEntities(small)).toEqual([
      ...before.small,
      { PartitionKey: 'only', RowKey: 'r9', label: 'added later' },
    ]);
  });

  it('on a dry run reads everything and writes nothing, reporting what it would write', async () => {
    const table = uniqueTable('opsdry');
    await seed(table, smallRows(250));
    const date = '2001-01-02';
    const dry = await backupTables(storage, { tables: [table], date, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, totalRows: 250, tables: [{ table, rows: 250 }] });
    expect(dry.totalBytes).toBeGreaterThan(0);
    expect(await blobNames(`${date}/`)).toEqual([]);

    // The real backup writes the sizes the dry run announced.
    const real = await backupTables(storage, { tables: [table], date, dryRun: false });
    expect(real.tables).toEqual(dry.tables);

    await storage.tables.deleteTable(table);
    const restoreDry = await restoreTables(storage, { date, dryRun: true });
    expect(restoreDry).toEqual({ date, dryRun: true, tables: [{ table, rows: 250 }], totalRows: 250 });
    expect(await tableExists(table)).toBe(false);
  });

  it('refuses a corrupted backup, naming the file, before writing anything', async () => {
    const [good, bad] = [uniqueTable('opsgood'), uniqueTable('opsbad')];
    await seed(good, smallRows(2));
    await seed(bad, smallRows(2));
    const date = '2001-01-03';
    await backupTables(storage, { tables: [good, bad], date, dryRun: false });
    // Still valid gzip, one row changed: only the checksum tells.
    const blob = backups.getBlockBlobClient(`${date}/${bad}.jsonl.gz`);
    const tampered = gzipSync(
      gunzipSync(await blob.downloadToBuffer())
        .toString()
        .replace('row 1', 'row X'),
    );
    await blob.upload(tampered, tampered.length);
    await storage.tables.deleteTable(good);

    await expect(restoreTables(storage, { date })).rejects.toThrow(
      `${CONTAINERS.opsBackups}/${date}/${bad}.jsonl.gz is corrupted: its SHA-256 does not match the manifest; nothing was restored.`,
    );
    expect(await tableExists(good)).toBe(false);
    // The other table alone is still restorable.
    expect(await restoreTables(storage, { date, tables: [good] })).toMatchObject({ totalRows: 2 });
    await expect(restoreTables(storage, { date, tables: ['notinbackup'] })).rejects.toThrow(
      'tables: notinbackup not in the backup of 2001-01-03',
    );
    await expect(restoreTables(storage, { date: '2001-02-30' })).rejects.toThrow('date: must be a date');
    await expect(restoreTables(storage, { date: '2001-12-31' })).rejects.toThrow(
      `No backup for 2001-12-31: ${CONTAINERS.opsBackups}/2001-12-31/manifest.json does not exist.`,
    );
  });

  it('reports a table that does not exist yet with 0 rows, and restores it as nothing', async () => {
    const [present, empty, absent] = [
      uniqueTable('opshere'),
      uniqueTable('opsempty'),
      uniqueTable('opsabsent'),
    ];
    await seed(present, smallRows(1));
    await storage.table(empty).createTable();
    const date = '2001-01-04';
    const report = await backupTables(storage, {
      tables: [present, empty, absent, present],
      date,
      dryRun: false,
    });
    expect(report.tables).toEqual([
      expect.objectContaining({ table: present, rows: 1, blob: `${date}/${present}.jsonl.gz` }),
      expect.objectContaining({ table: empty, rows: 0, blob: `${date}/${empty}.jsonl.gz` }),
      { table: absent, rows: 0, bytes: 0 },
    ]);
    await storage.tables.deleteTable(empty);
    expect(await restoreTables(storage, { date })).toMatchObject({
      tables: [
        { table: present, rows: 1 },
        { table: empty, rows: 0 },
        { table: absent, rows: 0 },
      ],
    });
    // The empty table existed: it is back. The absent one never did: it is still absent.
    expect(await tableExists(empty)).toBe(true);
    expect(await tableExists(absent)).toBe(false);
  });
});

describe('npm run ops:restore (the CLI)', () => {
  const CLI = path.resolve(__dirname, '../../dist/cli/opsRestore.js');
  const cli = async (args: string[]) => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
        env: { PATH: process.env.PATH ?? '', AzureWebJobsStorage: connectionString },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      return error as { code: number; stdout: string; stderr: string };
    }
  };

  it('restores a backup and prints a summary; a date without a backup exits 1 saying so', async () => {
    const [kept, other] = [uniqueTable('opscli'), uniqueTable('opsclio')];
    await seed(kept, smallRows(3));
    await seed(other, smallRows(1));
    const date = '2001-01-05';
    await backupTables(storage, { tables: [kept, other], date, dryRun: false });
    await storage.tables.deleteTable(kept);

    const run = await cli(['--date', date, '--table', kept]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`- ${kept}: 3 row(s)`);
    expect(run.stderr).toContain(`Restored 3 row(s) in 1 table(s) from ${CONTAINERS.opsBackups}/${date}/.`);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '')).toEqual({
      date,
      dryRun: false,
      tables: [{ table: kept, rows: 3 }],
      totalRows: 3,
    });
    expect(await rawEntities(kept)).toHaveLength(3);

    const missing = await cli(['--date', '2001-12-30']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      `No backup for 2001-12-30: ${CONTAINERS.opsBackups}/2001-12-30/manifest.json does not exist.`,
    );
    const noDate = await cli([]);
    expect(noDate.code).toBe(1);
    expect(noDate.stderr).toContain('--date is required.');
    expect(noDate.stderr).toContain('Usage: npm run ops:restore');
  });
});

describe('sweepContainers and sweepAiCache', () => {
  async function fill(container: string, count: number): Promise<number> {
    const client = storage.blobs.getContainerClient(container);
    await client.createIfNotExists();
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const body = `working blob ${i}`.repeat(i + 1);
      bytes += Buffer.byteLength(body);
      await client.getBlockBlobClient(`run/${i}.txt`).upload(body, Buffer.byteLength(body));
    }
    return bytes;
  }

  it('removes only the blobs past their rule, a missing container counting 0; a dry run removes nothing', async () => {
    const id = suffix();
    const [shortLived, longLived, missing] = [`sweep-short-${id}`, `sweep-long-${id}`, `sweep-missing-${id}`];
    const shortBytes = await fill(shortLived, 25);
    await fill(longLived, 3);
    // Two days from now: the blobs just written are two days old for the sweep.
    const now = new Date(Date.now() + 2 * DAY_MS);
    const rules = [
      { container: shortLived, olderThanDays: 1 },
      { container: longLived, olderThanDays: 30 },
      { container: missing, olderThanDays: 1 },
    ];
    const expected = [
      { container: shortLived, olderThanDays: 1, blobs: 25, bytes: shortBytes },
      { container: longLived, olderThanDays: 30, blobs: 0, bytes: 0 },
      { container: missing, olderThanDays: 1, blobs: 0, bytes: 0 },
    ];

    const dry = await sweepContainers(storage, { rules, now, dryRun: true });
    expect(dry).toEqual({ dryRun: true, containers: expected, totalBlobs: 25, totalBytes: shortBytes });
    expect(await blobNames('run/', storage.blobs.getContainerClient(shortLived))).toHaveLength(25);

    const real = await sweepContainers(storage, { rules, now, dryRun: false });
    expect(real).toEqual({ ...dry, dryRun: false });
    expect(await blobNames('run/', storage.blobs.getContainerClient(shortLived))).toEqual([]);
    expect(await blobNames('run/', storage.blobs.getContainerClient(longLived))).toHaveLength(3);
    expect(await storage.blobs.getContainerClient(missing).exists()).toBe(false);

    // Run again (an activity may run twice): nothing left to remove.
    expect(await sweepContainers(storage, { rules, now, dryRun: false })).toMatchObject({ totalBlobs: 0 });
    await expect(
      sweepContainers(storage, { rules: [{ container: 'Bad_Name', olderThanDays: 1 }], now, dryRun: true }),
    ).rejects.toThrow('rules.0.container: must be a blob container name');
  });

  it('sweeps expired AI cache entries with their bytes, a dry run counting the same and deleting nothing', async () => {
    // A container of this test's own: the app's cache container is shared with other test files.
    const container = storage.blobs.getContainerClient(`cache-${suffix()}`);
    const at = (ms: number) => new BlobResponseCache(container, () => ms);
    const answer = { text: 'bonjour', promptTokens: 1, completionTokens: 1, model: 'm' };
    await at(1_000).set('expired', answer, 1_000);
    await at(1_000).set('live', answer, 10_000);
    await writeJsonBlob(container, 'legacy.json', { expiresAt: 1_500, answer });
    const sizes: Record<string, number> = {};
    for await (const blob of container.listBlobsFlat()) sizes[blob.name] = blob.properties.contentLength ?? 0;
    const expiredBytes = (sizes['expired.json'] ?? 0) + (sizes['legacy.json'] ?? 0);

    const dry = await at(5_000).sweepExpired({ dryRun: true });
    expect(dry).toEqual({ entries: 2, bytes: expiredBytes });
    expect(Object.keys(sizes)).toHaveLength(3);
    expect(await at(5_000).sweepExpired()).toEqual(dry);
    expect(await blobNames('', container)).toEqual(['live.json']);

    // The app's cache, on a dry run only (other tests' entries live there): every entry is expired a
    // century from now, and none is removed.
    const appCache = storage.blobs.getContainerClient(CONTAINERS.aiCache);
    const key = `maintenance-sweep-${suffix()}`;
    await new BlobResponseCache(appCache).set(key, answer, 60_000);
    const century = new Date(Date.now() + 36_500 * DAY_MS);
    const report = await sweepAiCache(storage, century, true);
    expect(report.entries).toBeGreaterThanOrEqual(1);
    expect(report.bytes).toBeGreaterThan(0);
    expect(await appCache.getBlobClient(`${key}.json`).exists()).toBe(true);
  });
});
