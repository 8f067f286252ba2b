import { randomUUID } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { RestError } from '@azure/core-rest-pipeline';
import type { AiProviderName } from '../platform/config';
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
 * contend for a row; a reader sums the rows of all writers.
 */
export class TableUsageStore implements UsageStore {
  private readonly own = new Map<string, UsageTotal>();
  private readonly dirty = new Set<string>();
  private pending: Promise<void> = Promise.resolve();
  private ready: Promise<unknown> | undefined;

  constructor(
    private readonly calls: TableClient,
    private readonly totalsTable: TableClient,
    private readonly writerId: string = randomUUID(),
  ) {}

  async record(record: UsageRecord): Promise<void> {
    for (const key of [`model|${record.model}`, `task|${record.task}`]) {
      const total = this.own.get(key) ?? emptyTotal();
      add(total, record);
      this.own.set(key, total);
      this.dirty.add(key);
    }
    await this.ensureTables();
    await this.calls.createEntity({
      partitionKey: record.at.slice(0, 10).replace(/-/g, ''),
      rowKey: `${record.at}-${randomUUID()}`,
      ...record,
    });
    const write = this.pending.then(() => this.writeTotals());
    this.pending = write.catch(() => undefined);
    await write;
  }

  flush(): Promise<void> {
    return this.pending;
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

  private async writeTotals(): Promise<void> {
    const keys = [...this.dirty];
    this.dirty.clear();
    try {
      await Promise.all(keys.map((key) => this.writeTotal(key)));
    } catch (error) {
      for (const key of keys) this.dirty.add(key);
      throw error;
    }
  }

  private async writeTotal(key: string): Promise<void> {
    {
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
