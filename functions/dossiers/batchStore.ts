import type { ContainerClient } from '@azure/storage-blob';
import { RestError } from '@azure/core-rest-pipeline';
import { Semaphore } from '../platform/semaphore';
import type { BatchPlan } from './plan';
import type { PairOutcome } from './report';

/** A pair's outcome as a lane records it: by its position in the plan's selected pairs. */
export interface PositionedOutcome {
  position: number;
  outcome: PairOutcome;
}

export interface LatestRun {
  instanceId: string;
  startedAt: string;
}

const PLAN_CACHE_SIZE = 4;

/**
 * A run's working state in blobs, so orchestrations carry ids only: the plan (`{batchId}/{runId}/plan.json`),
 * the outcomes of each lane segment (`…/outcomes/{lane segment}.json`, a fixed name so a repeated write
 * overwrites rather than duplicates), and the batch's latest run (`{batchId}/latest-run.json`).
 */
export class BatchWorkStore {
  private ready: Promise<unknown> | undefined;
  // Every pair of a run reads the same plan: keep the last few parsed in memory.
  private readonly plans = new Map<string, Promise<BatchPlan>>();

  constructor(private readonly container: ContainerClient) {}

  async savePlan(plan: BatchPlan, runId: string): Promise<void> {
    await this.putJson(`${plan.batchId}/${runId}/plan.json`, plan);
  }

  loadPlan(batchId: string, runId: string): Promise<BatchPlan> {
    const key = `${batchId}/${runId}`;
    let plan = this.plans.get(key);
    if (!plan) {
      plan = this.getJson<BatchPlan>(`${key}/plan.json`).then((found) => {
        if (!found) throw new Error(`Run ${runId} of batch ${batchId} has no plan.`);
        return found;
      });
      plan.catch(() => this.plans.delete(key));
      this.plans.set(key, plan);
      if (this.plans.size > PLAN_CACHE_SIZE) this.plans.delete(this.plans.keys().next().value as string);
    }
    return plan;
  }

  /** One blob per lane segment: the outcomes of the pairs it ran, by position in the selection. */
  async saveOutcomes(
    batchId: string,
    runId: string,
    name: string,
    outcomes: PositionedOutcome[],
  ): Promise<void> {
    await this.putJson(`${batchId}/${runId}/outcomes/${name}.json`, outcomes);
  }

  /** Every outcome of a run, by pair index. */
  async loadOutcomes(plan: BatchPlan, runId: string): Promise<Map<number, PairOutcome>> {
    await this.ensureContainer();
    const names: string[] = [];
    const prefix = `${plan.batchId}/${runId}/outcomes/`;
    for await (const blob of this.container.listBlobsFlat({ prefix })) names.push(blob.name);
    const slots = new Semaphore(16);
    const segments = await Promise.all(
      names.map((name) => slots.run(() => this.getJson<PositionedOutcome[]>(name))),
    );
    const outcomes = new Map<number, PairOutcome>();
    for (const { position, outcome } of segments.flatMap((segment) => segment ?? [])) {
      const index = plan.selected[position];
      if (index !== undefined) outcomes.set(index, { ...outcome, index });
    }
    return outcomes;
  }

  async setLatestRun(batchId: string, run: LatestRun): Promise<void> {
    await this.putJson(`${batchId}/latest-run.json`, run);
  }

  latestRun(batchId: string): Promise<LatestRun | undefined> {
    return this.getJson<LatestRun>(`${batchId}/latest-run.json`);
  }

  private async putJson(name: string, value: unknown): Promise<void> {
    await this.ensureContainer();
    const body = JSON.stringify(value);
    await this.container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
  }

  private async getJson<T>(name: string): Promise<T | undefined> {
    await this.ensureContainer();
    try {
      const body = await this.container.getBlockBlobClient(name).downloadToBuffer();
      return JSON.parse(body.toString('utf8')) as T;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  private ensureContainer(): Promise<unknown> {
    this.ready ??= this.container.createIfNotExists();
    return this.ready;
  }
}
