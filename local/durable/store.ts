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
  list(filter: InstanceFilter): Promise<StoredInstance[]>;
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

  /** Writes what is waiting now (before a listing, or when the host stops). */
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
    try {
      const body = await this.container.getBlockBlobClient(blobName(instanceId)).downloadToBuffer();
      return JSON.parse(body.toString('utf8')) as StoredInstance;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async list(filter: InstanceFilter): Promise<StoredInstance[]> {
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
    // A process stopped between a blob write and its row write leaves the row behind the blob.
    return records.filter(
      (r): r is StoredInstance =>
        r !== undefined && (!filter.runtimeStatus?.length || filter.runtimeStatus.includes(r.runtimeStatus)),
    );
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

  private async write(instanceId: string, snapshot: Snapshot): Promise<void> {
    await this.ensureReady();
    this.lastWrite.set(instanceId, Date.now());
    // Taken and serialised in one go, so the blob and the row hold one consistent state.
    const record = snapshot();
    const body = JSON.stringify(record);
    await this.container.getBlockBlobClient(blobName(instanceId)).upload(body, Buffer.byteLength(body), {
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
    await this.table.upsertEntity(
      {
        partitionKey: instanceId,
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
