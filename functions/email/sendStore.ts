import { createHash } from 'node:crypto';
import { RestError } from '@azure/core-rest-pipeline';
import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { normalizeAddress } from './message';

export const SEND_STATUSES = [
  'sending',
  'sent',
  'delivered',
  'bounced',
  'suppressed',
  'failed',
  'uncertain',
] as const;
export type SendStatus = (typeof SEND_STATUSES)[number];

/** Every send has one: who, what kind, through which provider operation, and how it went. */
export interface SendRecord {
  key: string;
  kind: string;
  to: string;
  subject: string;
  provider: 'acs' | 'smtp';
  /** Chosen before the provider is called; ACS's operation id, and its delivery reports' `messageId`. */
  operationId: string;
  /** ACS: the operation id it answered with; SMTP: the Message-ID the server accepted. */
  providerMessageId?: string;
  status: SendStatus;
  error?: string;
  /** The last delivery report's status and message. */
  deliveryDetail?: string;
  createdAt: string;
  updatedAt: string;
}

const sendRecord = z.object({
  key: z.string(),
  kind: z.string(),
  to: z.string(),
  subject: z.string(),
  provider: z.enum(['acs', 'smtp']),
  operationId: z.string(),
  providerMessageId: z.string().optional(),
  status: z.enum(SEND_STATUSES),
  error: z.string().optional(),
  deliveryDetail: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const operationIndex = z.object({ key: z.string() });

const suppression = z.object({
  address: z.string(),
  reason: z.enum(['bounced', 'suppressed']),
  until: z.string(),
  operationId: z.string(),
});
export type Suppression = z.infer<typeof suppression>;

/** A record with the ETag it was read or written with, for the next conditional write. */
export interface StoredRecord {
  record: SendRecord;
  etag: string;
}

// Records and the operation index share the table under two partitions. Row keys are hashes: a
// caller's key may hold characters Azure Tables refuses in keys (`/ \ # ?`) and be up to 200 long.
const RECORDS = 'send';
const OPERATIONS = 'operation';
const RECIPIENTS = 'recipient';

const rowKey = (text: string) => createHash('sha256').update(text).digest('hex');

/** The record as an entity: unset optional fields are left out (a Replace then removes them). */
const recordEntity = (record: SendRecord) => ({
  partitionKey: RECORDS,
  rowKey: rowKey(record.key),
  ...Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)),
});

const statusOf = (error: unknown) => (error instanceof RestError ? error.statusCode : undefined);

// One creation per table and process; a failure is retried next time.
const created = new Map<string, Promise<void>>();
function ensureTable(table: TableClient): Promise<void> {
  const id = `${table.url}/${table.tableName}`;
  let ready = created.get(id);
  if (!ready) {
    ready = table.createTable().then(
      () => undefined,
      (error: unknown) => {
        if (statusOf(error) === 409) return;
        created.delete(id);
        throw error;
      },
    );
    created.set(id, ready);
  }
  return ready;
}

function parsed<T>(schema: z.ZodType<T>, entity: unknown, where: string): T {
  const result = schema.safeParse(entity);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`${where}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is invalid'}`);
  }
  return result.data;
}

/** The `emailsends` and `emailsuppressions` tables: records by key, the operation index, suppressions. */
export class SendStore {
  constructor(
    private readonly sends: TableClient,
    private readonly suppressions: TableClient,
  ) {}

  async get(key: string): Promise<StoredRecord | undefined> {
    await ensureTable(this.sends);
    try {
      const entity = await this.sends.getEntity(RECORDS, rowKey(key));
      const where = `${this.sends.tableName}/${RECORDS}/${entity.rowKey}`;
      return { record: parsed(sendRecord, entity, where), etag: entity.etag };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** Conditional insert: undefined when a record with that key exists already. */
  async insert(record: SendRecord): Promise<StoredRecord | undefined> {
    await ensureTable(this.sends);
    try {
      const response = await this.sends.createEntity(recordEntity(record));
      return { record, etag: response.etag ?? '' };
    } catch (error) {
      if (statusOf(error) === 409) return undefined;
      throw error;
    }
  }

  /** Replaces the record read with `etag`: undefined when someone changed it since. */
  async replace(etag: string, record: SendRecord): Promise<StoredRecord | undefined> {
    try {
      const response = await this.sends.updateEntity(recordEntity(record), 'Replace', { etag });
      return { record, etag: response.etag ?? '' };
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** operationId → key, so a delivery report (which carries only the operation id) finds its record. */
  async indexOperation(operationId: string, key: string): Promise<void> {
    await ensureTable(this.sends);
    await this.sends.upsertEntity({ partitionKey: OPERATIONS, rowKey: operationId, key }, 'Replace');
  }

  async keyOfOperation(operationId: string): Promise<string | undefined> {
    await ensureTable(this.sends);
    try {
      const entity = await this.sends.getEntity(OPERATIONS, operationId);
      return parsed(operationIndex, entity, `${this.sends.tableName}/${OPERATIONS}/${operationId}`).key;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async suppression(address: string): Promise<Suppression | undefined> {
    await ensureTable(this.suppressions);
    const id = rowKey(normalizeAddress(address));
    try {
      const entity = await this.suppressions.getEntity(RECIPIENTS, id);
      return parsed(suppression, entity, `${this.suppressions.tableName}/${RECIPIENTS}/${id}`);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async suppress(entry: Suppression): Promise<void> {
    await ensureTable(this.suppressions);
    const address = normalizeAddress(entry.address);
    await this.suppressions.upsertEntity(
      { partitionKey: RECIPIENTS, rowKey: rowKey(address), ...entry, address },
      'Replace',
    );
  }
}
