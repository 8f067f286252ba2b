import { randomUUID } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { RestError } from '@azure/core-rest-pipeline';
import type { AiProviderName } from './settings';
import type { RedactionCounts } from './sensitive';

/** What one AI request cost and how it went; written for every request, hit or miss, success or not. */
export interface UsageRecord {
  at: string;
  task: string;
  provider: AiProviderName;
  model: string;
  templateId: string;
  templateHash: string;
  outcome: 'ok' | 'failed' | 'blocked';
  cacheHit: boolean;
  attempts: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  latencyMs: number;
  redactions: number;
  fallbackFrom?: AiProviderName;
}

export interface UsageTotal {
  calls: number;
  cacheHits: number;
  failures: number;
  blockedOutputs: number;
  redactions: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface UsageTotals {
  byModel: Record<string, UsageTotal>;
  byTask: Record<string, UsageTotal>;
}

export interface UsageStore {
  record(record: UsageRecord): Promise<void>;
  /** Waits until every recorded call is reflected in the stored totals. */
  flush(): Promise<void>;
  totals(): Promise<UsageTotals>;
}

const BATCH_SIZE = 100;
const FLUSH_INTERVAL_MS = 1000;

export function emptyTotal(): UsageTotal {
  return {
    calls: 0,
    cacheHits: 0,
    failures: 0,
    blockedOutputs: 0,
    redactions: 0,
    promptTokens: 0,
    completionTokens: 0,
    costUsd: 0,
  };
}

function add(total: UsageTotal, record: UsageRecord): void {
  total.calls++;
  if (record.cacheHit) total.cacheHits++;
  if (record.outcome === 'failed') total.failures++;
  if (record.outcome === 'blocked') total.blockedOutputs++;
  total.redactions += record.redactions;
  total.promptTokens += record.promptTokens;
  total.completionTokens += record.completionTokens;
  total.costUsd += record.costUsd;
}

export function countRedactions(counts: RedactionCounts): number {
  return counts.email + counts.phone + counts.iban + counts.nir;
}

/**
 * Usage in Azure Tables: a row per call in `aicalls` (partition = UTC day), and totals in `aitotals`.
 * Each writer (one per app instance) keeps its own totals rows and replaces them, so instances never
 * contend for a row; a reader sums the rows of all writers. Rows are written in batches, at most a second
 * after the call (a crash loses at most that second of accounting), so accounting never slows a call.
 */
export class TableUsageStore implements UsageStore {
  private readonly own = new Map<string, UsageTotal>();
  private readonly dirty = new Set<string>();
  private buffer: UsageRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private ready: Promise<unknown> | undefined;

  constructor(
    private readonly calls: TableClient,
    private readonly totalsTable: TableClient,
    private readonly writerId: string = randomUUID(),
    private readonly onWriteError: (error: unknown) => void = () => undefined,
  ) {}

  record(record: UsageRecord): Promise<void> {
    for (const key of [`model|${record.model}`, `task|${record.task}`]) {
      const total = this.own.get(key) ?? emptyTotal();
      add(total, record);
      this.own.set(key, total);
      this.dirty.add(key);
    }
    this.buffer.push(record);
    if (this.buffer.length >= BATCH_SIZE) void this.write().catch(this.onWriteError);
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.write().catch(this.onWriteError), FLUSH_INTERVAL_MS);
      this.timer.unref();
    }
    return Promise.resolve();
  }

  /** Writes everything recorded so far; rejects if a write fails. */
  async flush(): Promise<void> {
    await this.write();
  }

  private write(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const records = this.buffer.splice(0);
    const keys = [...this.dirty];
    this.dirty.clear();
    const next = this.writing.then(async () => {
      try {
        await this.ensureTables();
        await this.writeCalls(records);
        await Promise.all(keys.map((key) => this.writeTotal(key)));
      } catch (error) {
        this.buffer.unshift(...records);
        for (const key of keys) this.dirty.add(key);
        throw error;
      }
    });
    this.writing = next.catch(() => undefined);
    return next;
  }

  /** Batches of up to 100 rows of one partition: one table transaction each. */
  private async writeCalls(records: UsageRecord[]): Promise<void> {
    const byDay = new Map<string, UsageRecord[]>();
    for (const record of records) {
      const day = record.at.slice(0, 10).replace(/-/g, '');
      byDay.set(day, [...(byDay.get(day) ?? []), record]);
    }
    for (const [day, rows] of byDay) {
      for (let i = 0; i < rows.length; i += BATCH_SIZE) {
        await this.calls.submitTransaction(
          rows
            .slice(i, i + BATCH_SIZE)
            .map((record) => [
              'create',
              { partitionKey: day, rowKey: `${record.at}-${randomUUID()}`, ...record },
            ]),
        );
      }
    }
  }

  async totals(): Promise<UsageTotals> {
    await this.ensureTables();
    const result: UsageTotals = { byModel: {}, byTask: {} };
    const rows = this.totalsTable.listEntities<UsageTotal & { dimension: string; name: string }>({
      queryOptions: { filter: `PartitionKey eq 'totals'` },
    });
    for await (const row of rows) {
      const bucket = row.dimension === 'model' ? result.byModel : result.byTask;
      const total = (bucket[row.name] ??= emptyTotal());
      for (const field of Object.keys(total) as (keyof UsageTotal)[]) total[field] += Number(row[field] ?? 0);
    }
    return result;
  }

  private async writeTotal(key: string): Promise<void> {
    const [dimension = '', ...rest] = key.split('|');
    const name = rest.join('|');
    const total = this.own.get(key) ?? emptyTotal();
    await this.totalsTable.upsertEntity(
      {
        partitionKey: 'totals',
        rowKey: `${dimension}|${encodeURIComponent(name)}|${this.writerId}`,
        dimension,
        name,
        ...total,
      },
      'Replace',
    );
  }

  private ensureTables(): Promise<unknown> {
    const create = (table: TableClient) =>
      table.createTable().catch((error: unknown) => {
        if (!(error instanceof RestError && error.statusCode === 409)) throw error;
      });
    this.ready ??= Promise.all([create(this.calls), create(this.totalsTable)]);
    return this.ready;
  }
}

/** Usage kept in memory, for the CLI (no storage) and short-lived runs. */
export class MemoryUsageStore implements UsageStore {
  readonly records: UsageRecord[] = [];

  record(record: UsageRecord): Promise<void> {
    this.records.push(record);
    return Promise.resolve();
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  totals(): Promise<UsageTotals> {
    const result: UsageTotals = { byModel: {}, byTask: {} };
    for (const record of this.records) {
      add((result.byModel[record.model] ??= emptyTotal()), record);
      add((result.byTask[record.task] ??= emptyTotal()), record);
    }
    return Promise.resolve(result);
  }
}

/** Totals per model and per task of the calls made between two dates (read from the per-call rows). */
export async function usageBetween(calls: TableClient, from: Date, to: Date): Promise<UsageTotals> {
  const day = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, '');
  const result: UsageTotals = { byModel: {}, byTask: {} };
  const rows = calls.listEntities<UsageRecord>({
    queryOptions: {
      filter: odata`PartitionKey ge ${day(from)} and PartitionKey le ${day(to)} and at ge ${from.toISOString()} and at le ${to.toISOString()}`,
    },
  });
  try {
    for await (const row of rows) {
      add((result.byModel[row.model] ??= emptyTotal()), row);
      add((result.byTask[row.task] ??= emptyTotal()), row);
    }
  } catch (error) {
    // No call recorded yet: the table does not exist.
    if (!(error instanceof RestError && error.statusCode === 404)) throw error;
  }
  return result;
}
