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

export interface InstanceStore {
  save(record: InstanceRecord): Promise<void>;
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
  private readonly queued = new Map<string, Promise<void>>();
  private readonly tails = new Map<string, Promise<void>>();

  constructor(storage: StorageClients, hubName: string) {
    this.table = storage.table(`${hubName}Instances`);
    this.container = storage.blobs.getContainerClient(`${hubName.toLowerCase()}-instances`);
  }

  save(record: InstanceRecord): Promise<void> {
    const id = record.instanceId;
    const queued = this.queued.get(id);
    if (queued) return queued;
    const tail = this.tails.get(id) ?? Promise.resolve();
    const next = tail.then(() => {
      this.queued.delete(id);
      return this.write(record);
    });
    this.queued.set(id, next);
    this.tails.set(
      id,
      next.catch(() => undefined),
    );
    return next;
  }

  async load(instanceId: string): Promise<InstanceRecord | undefined> {
    await this.ensureReady();
    try {
      const body = await this.container.getBlockBlobClient(blobName(instanceId)).downloadToBuffer();
      return JSON.parse(body.toString('utf8')) as InstanceRecord;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async list(filter: InstanceFilter): Promise<InstanceRecord[]> {
    await Promise.all([...this.tails.values()]);
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

  private async write(record: InstanceRecord): Promise<void> {
    await this.ensureReady();
    const body = JSON.stringify(record);
    await this.container
      .getBlockBlobClient(blobName(record.instanceId))
      .upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
    await this.table.upsertEntity(
      {
        partitionKey: record.instanceId,
        rowKey: '',
        Name: record.name,
        RuntimeStatus: record.runtimeStatus,
        CreatedTime: new Date(record.createdTime),
        LastUpdatedTime: new Date(record.lastUpdatedTime),
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

function blobName(instanceId: string): string {
  return `${encodeURIComponent(instanceId)}.json`;
}

function isNotFound(error: unknown): boolean {
  return error instanceof RestError && error.statusCode === 404;
}
