import { RestError } from '@azure/core-rest-pipeline';
import { odata, type TableClient } from '@azure/data-tables';
import type { z } from 'zod';
import { ConflictError } from './errors';
import { ensureTable, findEntity } from './tables';

/** How many times a change is tried again after another writer changed the row first. */
const MAX_RACES = 10;

export type Stored<T> = T & { etag: string };

/** Column values the filters query (the document itself is one JSON property). */
export type Columns = Record<string, string | number | boolean>;

/**
 * Documents in one partition of an Azure Table: each row is the document as JSON (parsed with its
 * schema on the way in and out) and a few columns for the filters. Changes are written under the
 * row's ETag and reapplied after a lost race, so concurrent writers never overwrite each other.
 */
export function jsonTable<T>(options: {
  table: TableClient;
  partition: string;
  schema: z.ZodType<T>;
  /** What the errors call a row: `call record`, `LinkedIn post`. */
  what: string;
  id: (doc: T) => string;
  columns?: (doc: T) => Columns;
}) {
  const { table, partition, schema, what } = options;
  const toEntity = (doc: T) => ({
    partitionKey: partition,
    rowKey: options.id(doc),
    ...(options.columns ? options.columns(doc) : {}),
    doc: JSON.stringify(doc),
  });
  const fromEntity = (row: { rowKey?: string; doc?: unknown; etag?: string }): Stored<T> => {
    const parsed = schema.safeParse(typeof row.doc === 'string' ? JSON.parse(row.doc) : undefined);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${what} ${row.rowKey ?? '?'}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`);
    }
    return { ...parsed.data, etag: row.etag ?? '' };
  };
  const get = async (id: string): Promise<Stored<T> | undefined> => {
    const row = await findEntity(table, partition, id);
    return row && fromEntity(row);
  };

  return {
    /** Inserts the document; false when a row with its id exists (nothing is overwritten). */
    async create(doc: T): Promise<boolean> {
      await ensureTable(table);
      try {
        await table.createEntity(toEntity(schema.parse(doc)));
        return true;
      } catch (error) {
        if (error instanceof RestError && error.statusCode === 409) return false;
        throw error;
      }
    },

    get,

    /**
     * Reads the row, applies `change` and writes it back if the ETag still matches; on a lost race, reads
     * again and reapplies. `change` returns undefined to leave the row as it is, and may throw.
     */
    async mutate(
      id: string,
      change: (doc: T) => T | undefined,
    ): Promise<{ doc: Stored<T>; changed: boolean } | undefined> {
      for (let race = 0; race <= MAX_RACES; race++) {
        const current = await get(id);
        if (!current) return undefined;
        const { etag, ...doc } = current;
        const next = change(structuredClone(doc as T));
        if (next === undefined) return { doc: current, changed: false };
        const valid = schema.parse(next);
        try {
          const written = await table.updateEntity(toEntity(valid), 'Replace', { etag });
          return { doc: { ...valid, etag: written.etag ?? '' }, changed: true };
        } catch (error) {
          if (!(error instanceof RestError && error.statusCode === 412)) throw error;
        }
      }
      throw new ConflictError(`${what} ${id} is being changed by too many writers at once; try again.`);
    },

    /** Deletes the row if its ETag still matches (the caller read it): false when it changed or is gone. */
    async deleteIfUnchanged(id: string, etag: string): Promise<boolean> {
      try {
        await table.deleteEntity(partition, id, { etag });
        return true;
      } catch (error) {
        if (error instanceof RestError && (error.statusCode === 412 || error.statusCode === 404))
          return false;
        throw error;
      }
    },

    /** Every document whose columns match `filter` (an OData expression over the columns), unsorted. */
    async list(filter?: string): Promise<T[]> {
      await ensureTable(table);
      const clauses = [odata`PartitionKey eq ${partition}`, ...(filter ? [filter] : [])];
      const docs: T[] = [];
      for await (const row of table.listEntities<Record<string, unknown>>({
        queryOptions: { filter: clauses.join(' and ') },
      })) {
        const { etag: _etag, ...doc } = fromEntity(row);
        docs.push(doc as T);
      }
      return docs;
    },
  };
}
export type JsonTable<T> = ReturnType<typeof jsonTable<T>>;
