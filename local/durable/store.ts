import { RestError } from '@azure/core-rest-pipeline';
import type { ContainerClient } from '@azure/storage-blob';
import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { readBlob } from '../../functions/platform/blobs';
import { RUNTIME_STATUSES, type RuntimeStatus } from '../../functions/platform/durable';
import type { StorageClients } from '../../functions/platform/storage';
import type { HistoryEvent } from './history';

export { RUNTIME_STATUSES, type RuntimeStatus };
export const TERMINAL_STATUSES: ReadonlySet<RuntimeStatus> = new Set(['Completed', 'Failed', 'Terminated']);

/** What a listing shows of an instance: what its row in the instances table holds. */
export interface InstanceStatus {
  instanceId: string;
  name: string;
  runtimeStatus: RuntimeStatus;
  output: unknown;
  customStatus: unknown;
  createdTime: string;
  lastUpdatedTime: string;
}

export interface InstanceRecord extends InstanceStatus {
  input: unknown;
  history: HistoryEvent[];
}

export interface InstanceQuery {
  runtimeStatus?: RuntimeStatus[];
  createdTimeFrom?: Date;
  createdTimeTo?: Date;
  instanceIdPrefix?: string;
  /** At most this many instances a page (a page may hold fewer); without it, one page holds them all. */
  top?: number;
  /** Where the page starts: the token the previous page gave. */
  continuationToken?: string;
}

export interface InstancePage<T> {
  instances: T[];
  /** Present when more instances may match: pass it back to read the next page. */
  continuationToken?: string;
}

export class InvalidContinuationTokenError extends Error {
  constructor() {
    super('The continuation token is not one this task hub gave.');
    this.name = 'InvalidContinuationTokenError';
  }
}

/**
 * An instance as stored: its record, and what the engine needs to go on with it after a restart while it
 * is pending or running (opaque to the store).
 */
export interface StoredInstance extends InstanceRecord {
  runtime?: unknown;
}

/** `now`: written before the promise resolves; `soon`: written within a second, with the latest state. */
export type SaveMode = 'now' | 'soon';

export interface InstanceStore {
  /** Writes the state `snapshot` returns when the write starts, so a later write carries the latest state. */
  save(instanceId: string, snapshot: () => StoredInstance, mode?: SaveMode): Promise<void>;
  load(instanceId: string): Promise<StoredInstance | undefined>;
  /** The full state of the instances that match (one blob read each). */
  list(query: InstanceQuery): Promise<InstancePage<StoredInstance>>;
  /** The statuses of the instances that match, from the instances table alone. */
  listStatuses(query: InstanceQuery): Promise<InstancePage<InstanceStatus>>;
  /** Deletes a completed, failed or terminated instance; false when there is none, or it is active. */
  delete(instanceId: string): Promise<boolean>;
}

type Snapshot = () => StoredInstance;

/**
 * Instance state in Azure Storage, laid out like the Durable extension's storage provider: one
 * row per instance in the `<hub>Instances` table (queryable by status and creation time) and the
 * full state with its history in a blob.
 */
export class AzureInstanceStore implements InstanceStore {
  private readonly table: TableClient;
  private readonly container: ContainerClient;
  private ready: Promise<void> | undefined;
  /** A write not yet started per instance: later saves join it, since it writes the latest state. */
  private readonly queued = new Map<string, { snapshot: Snapshot; promise: Promise<void> }>();
  private readonly tails = new Map<string, Promise<void>>();
  private readonly lastWrite = new Map<string, number>();
  private readonly deferred = new Map<string, { timer: NodeJS.Timeout; snapshot: Snapshot }>();

  constructor(
    storage: StorageClients,
    hubName: string,
    private readonly onWriteError: (error: unknown) => void = () => undefined,
  ) {
    this.table = storage.table(`${hubName}Instances`);
    this.container = storage.blobs.getContainerClient(`${hubName.toLowerCase()}-instances`);
  }

  /**
   * A running orchestration changes at every episode; writing its state each time would cost more than
   * running it. So `soon` writes the row and the full state (history and what a restart needs) at most
   * once a second per instance, with the state as it is when the write starts; `now` (a start, an event,
   * an ending) writes it straight away. A process killed between two writes loses at most the last
   * second of progress: on restart the work done since then (activities) runs again.
   */
  save(instanceId: string, snapshot: Snapshot, mode: SaveMode = 'now'): Promise<void> {
    const id = instanceId;
    if (mode === 'soon') {
      const waiting = this.deferred.get(id);
      if (waiting) {
        waiting.snapshot = snapshot;
        return Promise.resolve();
      }
      const wait = WRITE_INTERVAL_MS - (Date.now() - (this.lastWrite.get(id) ?? 0));
      if (wait > 0) {
        const timer = setTimeout(() => {
          const due = this.deferred.get(id);
          this.deferred.delete(id);
          if (due) this.enqueue(id, due.snapshot).catch(this.onWriteError);
        }, wait);
        timer.unref();
        this.deferred.set(id, { timer, snapshot });
        return Promise.resolve();
      }
      return this.enqueue(id, snapshot).catch(this.onWriteError);
    }
    this.cancelDeferred(id);
    return this.enqueue(id, snapshot);
  }

  /** Writes what is waiting now (when the host stops). */
  async flush(): Promise<void> {
    for (const [id, { snapshot }] of [...this.deferred]) {
      this.cancelDeferred(id);
      void this.enqueue(id, snapshot).catch(this.onWriteError);
    }
    await Promise.all([...this.tails.values()]);
  }

  private cancelDeferred(id: string): void {
    const waiting = this.deferred.get(id);
    if (waiting) clearTimeout(waiting.timer);
    this.deferred.delete(id);
  }

  /** Writes in order per instance; a write not started yet takes later saves (their snapshot) with it. */
  private enqueue(id: string, snapshot: Snapshot): Promise<void> {
    const queued = this.queued.get(id);
    if (queued) {
      queued.snapshot = snapshot;
      return queued.promise;
    }
    const job = { snapshot, promise: Promise.resolve() };
    const tail = this.tails.get(id) ?? Promise.resolve();
    job.promise = tail.then(() => {
      this.queued.delete(id);
      return this.write(id, job.snapshot);
    });
    this.queued.set(id, job);
    const settled = job.promise.catch(() => undefined);
    this.tails.set(id, settled);
    // Forget an instance's tail once nothing follows it, so the map does not grow with every instance.
    void settled.then(() => {
      if (this.tails.get(id) === settled) this.tails.delete(id);
    });
    return job.promise;
  }

  /**
   * The full state as last written. The blob is written before the row, from the same snapshot, so it
   * is never older than the row.
   */
  async load(instanceId: string): Promise<StoredInstance | undefined> {
    await this.ensureReady();
    // One GET, so a write landing meanwhile cannot mix two states (downloadToBuffer reads the size first).
    const body = await readBlob(this.container, blobName(instanceId));
    return body === undefined ? undefined : (JSON.parse(body.toString('utf8')) as StoredInstance);
  }

  async list(query: InstanceQuery): Promise<InstancePage<StoredInstance>> {
    const { rows, continuationToken } = await this.queryRows(query, ['PartitionKey']);
    const records = await Promise.all(rows.map((row) => this.load(keyOf(row))));
    // A process stopped between a blob write and its row write leaves the row behind the blob.
    const instances = records.filter(
      (r): r is StoredInstance => r !== undefined && matchesStatus(query, r.runtimeStatus),
    );
    return { instances, ...(continuationToken ? { continuationToken } : {}) };
  }

  /**
   * Statuses from the rows alone, so a page costs one table query whatever the number of instances; only
   * an output too big for its row is read from the instance's blob.
   */
  async listStatuses(query: InstanceQuery): Promise<InstancePage<InstanceStatus>> {
    const { rows, continuationToken } = await this.queryRows(query, STATUS_COLUMNS);
    const instances = await Promise.all(
      rows.map(async (entity): Promise<InstanceStatus> => {
        const row = statusRowSchema.parse(entity);
        const output = row.OutputInBlob
          ? ((await this.load(row.partitionKey))?.output ?? null)
          : parseJson(row.Output ?? 'null');
        return {
          instanceId: row.partitionKey,
          name: row.Name,
          runtimeStatus: row.RuntimeStatus,
          output,
          customStatus: parseJson(row.CustomStatus),
          createdTime: row.CreatedTime.toISOString(),
          lastUpdatedTime: row.LastUpdatedTime.toISOString(),
        };
      }),
    );
    return { instances, ...(continuationToken ? { continuationToken } : {}) };
  }

  /** One page of the table's own paging (every page when `top` is absent), filtered by the table. */
  private async queryRows(
    query: InstanceQuery,
    select: string[],
  ): Promise<{ rows: Record<string, unknown>[]; continuationToken?: string }> {
    await this.ensureReady();
    const pages = this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { filter: tableFilter(query), select } })
      .byPage({
        ...(query.top ? { maxPageSize: query.top } : {}),
        ...(query.continuationToken ? { continuationToken: decodeToken(query.continuationToken) } : {}),
      });
    const prefix = query.instanceIdPrefix ?? '';
    const rows: Record<string, unknown>[] = [];
    let next: string | undefined;
    for await (const page of pages) {
      rows.push(...page.filter((row) => keyOf(row).startsWith(prefix)));
      next = page.continuationToken;
      if (query.top) break;
    }
    return next && query.top ? { rows, continuationToken: encodeToken(next) } : { rows };
  }

  async delete(instanceId: string): Promise<boolean> {
    await this.ensureReady();
    await this.tails.get(instanceId);
    let etag: string | undefined;
    try {
      const row = await this.table.getEntity(instanceId, '', { queryOptions: { select: ['RuntimeStatus'] } });
      const status = statusRowSchema.shape.RuntimeStatus.safeParse(row.RuntimeStatus);
      if (!status.success || !TERMINAL_STATUSES.has(status.data)) return false;
      etag = row.etag;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
    this.cancelDeferred(instanceId);
    try {
      // Only the row as read: an instance started again under this id since then is left alone.
      await this.table.deleteEntity(instanceId, '', { etag });
    } catch (error) {
      if (isNotFound(error) || (error instanceof RestError && error.statusCode === 412)) return false;
      throw error;
    }
    await this.container.getBlockBlobClient(blobName(instanceId)).deleteIfExists();
    return true;
  }

  private async write(instanceId: string, snapshot: Snapshot): Promise<void> {
    await this.ensureReady();
    this.lastWrite.set(instanceId, Date.now());
    // Taken and serialised in one go, so the blob and the row hold one consistent state.
    const record = snapshot();
    const body = JSON.stringify(record);
    await this.container.getBlockBlobClient(blobName(instanceId)).upload(body, Buffer.byteLength(body), {
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
    const output = JSON.stringify(record.output ?? null);
    await this.table.upsertEntity(
      {
        partitionKey: instanceId,
        rowKey: '',
        Name: record.name,
        RuntimeStatus: record.runtimeStatus,
        CreatedTime: new Date(record.createdTime),
        LastUpdatedTime: new Date(record.lastUpdatedTime),
        CustomStatus: JSON.stringify(record.customStatus ?? null),
        // Like the extension's large messages: an output too big for a table property stays in the blob.
        ...(output.length <= MAX_OUTPUT_COLUMN_CHARS ? { Output: output } : { OutputInBlob: true }),
      },
      'Replace',
    );
  }

  private ensureReady(): Promise<void> {
    this.ready ??= Promise.all([
      this.container.createIfNotExists(),
      this.table.createTable().catch((error: unknown) => {
        if (!(error instanceof RestError && error.statusCode === 409)) throw error;
      }),
    ]).then(() => undefined);
    return this.ready;
  }
}

const WRITE_INTERVAL_MS = 1000;
/** A table string property holds at most 64 KiB (32K UTF-16 characters). */
const MAX_OUTPUT_COLUMN_CHARS = 30_000;
const STATUS_COLUMNS = [
  'PartitionKey',
  'Name',
  'RuntimeStatus',
  'CreatedTime',
  'LastUpdatedTime',
  'CustomStatus',
  'Output',
  'OutputInBlob',
];

const statusRowSchema = z.object({
  partitionKey: z.string(),
  Name: z.string(),
  RuntimeStatus: z.enum(RUNTIME_STATUSES),
  CreatedTime: z.coerce.date(),
  LastUpdatedTime: z.coerce.date(),
  CustomStatus: z.string(),
  Output: z.string().optional(),
  OutputInBlob: z.boolean().optional(),
});

/** The table's token wrapped, so callers treat it as opaque and a foreign token is recognised. */
const tokenSchema = z.object({ table: z.string() });

function encodeToken(tableToken: string): string {
  return Buffer.from(JSON.stringify({ table: tableToken }), 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  try {
    return tokenSchema.parse(JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))).table;
  } catch {
    throw new InvalidContinuationTokenError();
  }
}

/**
 * The query as a table filter. The id prefix is a key range (`ge prefix and lt` the prefix with its last
 * character moved one on), which the table answers without scanning other instances.
 */
function tableFilter(query: InstanceQuery): string | undefined {
  const clauses: string[] = [];
  if (query.runtimeStatus?.length) {
    clauses.push(`(${query.runtimeStatus.map((s) => odata`RuntimeStatus eq ${s}`).join(' or ')})`);
  }
  if (query.createdTimeFrom) clauses.push(odata`CreatedTime ge ${query.createdTimeFrom}`);
  if (query.createdTimeTo) clauses.push(odata`CreatedTime le ${query.createdTimeTo}`);
  const prefix = query.instanceIdPrefix;
  if (prefix) {
    clauses.push(odata`PartitionKey ge ${prefix}`);
    const last = prefix.charCodeAt(prefix.length - 1);
    // A prefix ending in U+FFFF has no next character: the range stays open and queryRows filters.
    if (last < 0xffff)
      clauses.push(odata`PartitionKey lt ${prefix.slice(0, -1) + String.fromCharCode(last + 1)}`);
  }
  return clauses.join(' and ') || undefined;
}

export function matchesStatus(query: InstanceQuery, status: RuntimeStatus): boolean {
  return !query.runtimeStatus?.length || query.runtimeStatus.includes(status);
}

function keyOf(row: Record<string, unknown>): string {
  return typeof row.partitionKey === 'string' ? row.partitionKey : '';
}

function parseJson(text: string): unknown {
  return JSON.parse(text) as unknown;
}

function blobName(instanceId: string): string {
  return `${encodeURIComponent(instanceId)}.json`;
}

function isNotFound(error: unknown): boolean {
  return error instanceof RestError && error.statusCode === 404;
}
