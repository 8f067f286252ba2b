import { RestError } from '@azure/core-rest-pipeline';
import type { TableClient } from '@azure/data-tables';

// One creation per table and process, however many stores share it; a failure is retried next time.
const created = new Map<string, Promise<unknown>>();

/** Creates the table on first use (the SDK treats an existing table as success). */
export function ensureTable(table: TableClient): Promise<unknown> {
  const key = `${table.url}/${table.tableName}`;
  let ready = created.get(key);
  if (!ready) {
    ready = table.createTable();
    ready.catch(() => created.delete(key));
    created.set(key, ready);
  }
  return ready;
}

/** The entity, or undefined when the table has no such row (the table is created first if needed). */
export async function findEntity(
  table: TableClient,
  partitionKey: string,
  rowKey: string,
): Promise<(Record<string, unknown> & { etag?: string; rowKey?: string }) | undefined> {
  await ensureTable(table);
  try {
    return await table.getEntity<Record<string, unknown>>(partitionKey, rowKey);
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) return undefined;
    throw error;
  }
}
