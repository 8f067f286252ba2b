import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';

/**
 * The format of a table backup: `{date}/{table}.jsonl.gz` is gzipped JSON lines, one entity per line,
 *
 *     {"partitionKey": "…", "rowKey": "…", "timestamp": "…", "properties": {"<name>": {"type": "<EDM type>", "value": …}}}
 *
 * where every property keeps its Table storage (EDM) type, so a restore writes back exactly what was read:
 * `String` a string; `Boolean` true or false; `Int32` a JSON number; `Double` a JSON number, or "NaN",
 * "Infinity", "-Infinity"; `Int64` a string of decimal digits (beyond JSON's safe integers); `DateTime` the
 * service's ISO 8601 text (up to 7 fractional digits, kept verbatim); `Guid` its text; `Binary` base64.
 * `timestamp` is informative: the service sets it on every write, so a restore cannot keep it.
 * `{date}/manifest.json` lists each table's file with its row count, size and SHA-256.
 */
export const BACKUP_FORMAT = 'ops-table-backup/1';

const doubleValue = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]);

export const edmValueSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('String'), value: z.string() }),
  z.object({ type: z.literal('Boolean'), value: z.boolean() }),
  z.object({ type: z.literal('Int32'), value: z.number().int() }),
  z.object({ type: z.literal('Double'), value: doubleValue }),
  z.object({ type: z.literal('Int64'), value: z.string().regex(/^-?\d+$/) }),
  z.object({ type: z.literal('DateTime'), value: z.string().min(1) }),
  z.object({ type: z.literal('Guid'), value: z.string().min(1) }),
  z.object({ type: z.literal('Binary'), value: z.string() }),
]);
export type EdmValue = z.infer<typeof edmValueSchema>;

export const backupLineSchema = z.object({
  partitionKey: z.string(),
  rowKey: z.string(),
  timestamp: z.string().optional(),
  properties: z.record(z.string(), edmValueSchema),
});
export type BackupLine = z.infer<typeof backupLineSchema>;

/** Table names as the service accepts them (they also become blob names here). */
export const tableNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be 3 to 63 letters or digits, starting with a letter');

export const backupDateSchema = z.iso.date({ message: 'must be a date as YYYY-MM-DD' });

export const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  date: backupDateSchema,
  createdAt: z.string(),
  tables: z.array(
    z.object({
      table: tableNameSchema,
      rows: z.number().int().nonnegative(),
      bytes: z.number().int().nonnegative(),
      /** Absent when the table did not exist at backup time (nothing to restore). */
      blob: z.string().optional(),
      sha256: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .optional(),
    }),
  ),
  totalRows: z.number().int().nonnegative(),
  totalBytes: z.number().int().nonnegative(),
});
export type BackupManifest = z.infer<typeof manifestSchema>;

export const tableBlobName = (date: string, table: string): string => `${date}/${table}.jsonl.gz`;
export const manifestBlobName = (date: string): string => `${date}/manifest.json`;

// What the SDK gives with `disableTypeConversion`: every property as {value, type}, the value as the
// service sent it or as text when the SDK inferred the type.
const sdkPropertySchema = z.object({
  type: z.enum(['String', 'Boolean', 'Int32', 'Double', 'Int64', 'DateTime', 'Guid', 'Binary']),
  value: z.union([z.string(), z.number(), z.boolean()]),
});
const SYSTEM_PROPERTIES = new Set(['partitionKey', 'rowKey', 'timestamp', 'etag']);

function doubleFrom(value: string | number | boolean): EdmValue {
  if (typeof value === 'number') return { type: 'Double', value };
  const text = String(value);
  const special = doubleValue.safeParse(text);
  return { type: 'Double', value: special.success ? special.data : Number(text) };
}

function edmFrom(name: string, raw: unknown): EdmValue {
  const parsed = sdkPropertySchema.safeParse(raw);
  if (!parsed.success) throw new Error(`Property ${name} has no recognised EDM type.`);
  const { type, value } = parsed.data;
  switch (type) {
    case 'Boolean':
      return { type, value: value === true || value === 'true' };
    case 'Int32':
      return { type, value: Number(value) };
    case 'Double':
      return doubleFrom(value);
    default:
      return { type, value: String(value) };
  }
}

/** One entity as listed with `disableTypeConversion`, in the backup's line form. */
export function toBackupLine(entity: Record<string, unknown>): BackupLine {
  const properties: Record<string, EdmValue> = {};
  for (const [name, raw] of Object.entries(entity)) {
    if (!SYSTEM_PROPERTIES.has(name)) properties[name] = edmFrom(name, raw);
  }
  return {
    partitionKey: String(entity.partitionKey),
    rowKey: String(entity.rowKey),
    ...(typeof entity.timestamp === 'string' ? { timestamp: entity.timestamp } : {}),
    properties,
  };
}

/** A backup line as an entity to write: the SDK sends each `{value, type}` with its EDM annotation. */
export function toEntity(
  line: BackupLine,
): Record<string, unknown> & { partitionKey: string; rowKey: string } {
  return { partitionKey: line.partitionKey, rowKey: line.rowKey, ...line.properties };
}

/** A JSON number written by the service with a fraction or an exponent: an Edm.Double. */
class DoubleLiteral {
  constructor(readonly value: number) {}
}

let sourceTextChecked = false;
function requireJsonSourceText(): void {
  if (sourceTextChecked) return;
  const source = JSON.parse('2.0', (_key, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' ? context?.source : value,
  ) as unknown;
  if (source !== '2.0')
    throw new Error('Table backups need Node.js 22 or later (JSON.parse source text) to keep Double values.');
  sourceTextChecked = true;
}

/**
 * Marks the service's whole-number doubles as Edm.Double before the SDK parses a query's answer. The
 * service annotates neither Int32 nor Double and writes a double 2 as `2.0`; JSON.parse reads it as 2 and
 * the SDK then calls it Int32 (azure-sdk-for-js#19899, #28924, open), which a restore would write back as
 * an Int32. Only the raw text tells them apart, so the answer is re-read here with its number literals.
 */
const keepDoubleTypes: PipelinePolicy = {
  name: 'opsBackupKeepDoubleTypes',
  async sendRequest(request, next) {
    const response = await next(request);
    const text = response.bodyAsText;
    if (request.method !== 'GET' || response.status !== 200 || !text) return response;
    const body = JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
      typeof value === 'number' && /[.eE]/.test(context?.source ?? '') ? new DoubleLiteral(value) : value,
    ) as unknown;
    const page = z.looseObject({ value: z.array(z.record(z.string(), z.unknown())) }).safeParse(body);
    if (!page.success) return response;
    for (const entity of page.data.value) {
      for (const [name, value] of Object.entries(entity)) {
        if (!(value instanceof DoubleLiteral)) continue;
        entity[name] = value.value;
        entity[`${name}@odata.type`] ??= 'Edm.Double';
      }
    }
    response.bodyAsText = JSON.stringify(page.data);
    return response;
  },
};

/**
 * The table's client for reading a backup: its answers keep every EDM type (see keepDoubleTypes). The
 * policy runs nearer the wire than the SDK's deserialisation, so it sees the raw text first.
 */
export function typedReader(table: TableClient): TableClient {
  requireJsonSourceText();
  if (!table.pipeline.getOrderedPolicies().includes(keepDoubleTypes))
    table.pipeline.addPolicy(keepDoubleTypes, { phase: 'Retry' });
  return table;
}
