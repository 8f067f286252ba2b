import { RestError } from '@azure/core-rest-pipeline';
import type { ContainerClient } from '@azure/storage-blob';
import type { TableClient } from '@azure/data-tables';
import type { StorageClients } from '../../functions/platform/storage';
import type { HistoryEvent } from './history';

export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'ContinuedAsNew' | 'Failed' | 'Terminated';

export interface InstanceRecord {
  instanceId: string;
  name: string;
  runtimeStatus: RuntimeStatus;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  history: HistoryEvent[];
}

export interface InstanceFilter {
  runtimeStatus?: RuntimeStatus[];
  createdTimeFrom?: Date;
  createdTimeTo?: Date;
}

/** `now`: written before the promise resolves; `soon`: written within a second, with the latest state. */
export type SaveMode = 'now' | 'soon';

export interface InstanceStore {
  save(record: InstanceRecord, mode?: SaveMode): Promise<void>;
  load(instanceId: string): Promise<InstanceRecord | undefined>;
  list(filter: InstanceFilter): Promise<InstanceRecord[]>;
  delete(instanceId: string): Promise<boolean>;
}

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
  private readonly queued = new Map<string, { full: boolean; promise: Promise<void> }>();
  private readonly tails = new Map<string, Promise<void>>();
  private readonly lastWrite = new Map<string, number>();
  private readonly deferred = new Map<string, { timer: NodeJS.Timeout; record: InstanceRecord }>();

  constructor(
    storage: StorageClients,
    hubName: string,
    private readonly onWriteError: (error: unknown) => void = () => undefined,
  ) {
    this.table = storage.table(`${hubName}Instances`);
    this.container = storage.blobs.getContainerClient(`${hubName.toLowerCase()}-instances`);
  }

  /**
   * A running orchestration changes at every episode; rewriting its whole history each time would cost
   * more than running it. So `soon` updates only the status row, at most once a second per instance with
   * the latest state; `now` (a start, an ending) writes the row and the full state with its history.
   */
  save(record: InstanceRecord, mode: SaveMode = 'now'): Promise<void> {
    const id = record.instanceId;
    if (mode === 'soon') {
      if (this.deferred.has(id)) return Promise.resolve();
      const wait = WRITE_INTERVAL_MS - (Date.now() - (this.lastWrite.get(id) ?? 0));
      if (wait > 0) {
        const timer = setTimeout(() => {
          this.deferred.delete(id);
          this.enqueue(record, false).catch(this.onWriteError);
        }, wait);
        timer.unref();
        this.deferred.set(id, { timer, record });
        return Promise.resolve();
      }
      return this.enqueue(record, false).catch(this.onWriteError);
    }
    this.cancelDeferred(id);
    return this.enqueue(record, true);
  }

  /** Writes what is waiting now (before a listing, or when the host stops). */
  async flush(): Promise<void> {
    for (const [id, { record }] of [...this.deferred]) {
      this.cancelDeferred(id);
      void this.enqueue(record, false).catch(this.onWriteError);
    }
    await Promise.all([...this.tails.values()]);
  }

  private cancelDeferred(id: string): void {
    const waiting = this.deferred.get(id);
    if (waiting) clearTimeout(waiting.timer);
    this.deferred.delete(id);
  }

  /** Writes in order per instance; a write not started yet takes later saves (and their `full`) with it. */
  private enqueue(record: InstanceRecord, full: boolean): Promise<void> {
    const id = record.instanceId;
    const queued = this.queued.get(id);
    if (queued) {
      queued.full ||= full;
      return queued.promise;
    }
    const job = { full, promise: Promise.resolve() };
    const tail = this.tails.get(id) ?? Promise.resolve();
    job.promise = tail.then(() => {
      this.queued.delete(id);
      return this.write(record, job.full);
    });
    this.queued.set(id, job);
    this.tails.set(
      id,
      job.promise.catch(() => undefined),
    );
    return job.promise;
  }

  /** The full state as last written, with the status fields of the (more often written) row. */
  async load(instanceId: string): Promise<InstanceRecord | undefined> {
    await this.ensureReady();
    let record: InstanceRecord;
    try {
      const body = await this.container.getBlockBlobClient(blobName(instanceId)).downloadToBuffer();
      record = JSON.parse(body.toString('utf8')) as InstanceRecord;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    try {
      const row = await this.table.getEntity<{
        RuntimeStatus: RuntimeStatus;
        CustomStatus?: string;
        LastUpdatedTime: Date;
      }>(instanceId, '');
      return {
        ...record,
        runtimeStatus: row.RuntimeStatus,
        customStatus: row.CustomStatus ? (JSON.parse(row.CustomStatus) as unknown) : record.customStatus,
        lastUpdatedTime: new Date(row.LastUpdatedTime).toISOString(),
      };
    } catch (error) {
      if (isNotFound(error)) return record;
      throw error;
    }
  }

  async list(filter: InstanceFilter): Promise<InstanceRecord[]> {
    await this.flush();
    await this.ensureReady();
    const clauses: string[] = [];
    if (filter.runtimeStatus?.length) {
      clauses.push(`(${filter.runtimeStatus.map((s) => `RuntimeStatus eq '${s}'`).join(' or ')})`);
    }
    if (filter.createdTimeFrom)
      clauses.push(`CreatedTime ge datetime'${filter.createdTimeFrom.toISOString()}'`);
    if (filter.createdTimeTo) clauses.push(`CreatedTime le datetime'${filter.createdTimeTo.toISOString()}'`);
    const ids: string[] = [];
    const entities = this.table.listEntities({
      queryOptions: { filter: clauses.join(' and ') || undefined, select: ['PartitionKey'] },
    });
    for await (const entity of entities) if (entity.partitionKey) ids.push(entity.partitionKey);
    const records = await Promise.all(ids.map((id) => this.load(id)));
    return records.filter((r): r is InstanceRecord => r !== undefined);
  }

  async delete(instanceId: string): Promise<boolean> {
    this.cancelDeferred(instanceId);
    await this.ensureReady();
    await this.tails.get(instanceId);
    try {
      await this.table.deleteEntity(instanceId, '');
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
    await this.container.getBlockBlobClient(blobName(instanceId)).deleteIfExists();
    return true;
  }

  private async write(record: InstanceRecord, full: boolean): Promise<void> {
    await this.ensureReady();
    this.lastWrite.set(record.instanceId, Date.now());
    if (full) {
      const body = JSON.stringify(record);
      await this.container
        .getBlockBlobClient(blobName(record.instanceId))
        .upload(body, Buffer.byteLength(body), {
          blobHTTPHeaders: { blobContentType: 'application/json' },
        });
    }
    await this.table.upsertEntity(
      {
        partitionKey: record.instanceId,
        rowKey: '',
        Name: record.name,
        RuntimeStatus: record.runtimeStatus,
        CreatedTime: new Date(record.createdTime),
        LastUpdatedTime: new Date(record.lastUpdatedTime),
        CustomStatus: JSON.stringify(record.customStatus ?? null),
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

function blobName(instanceId: string): string {
  return `${encodeURIComponent(instanceId)}.json`;
}

function isNotFound(error: unknown): boolean {
  return error instanceof RestError && error.statusCode === 404;
}
