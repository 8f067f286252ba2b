import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { ensureContainer, readBlob, readJsonBlob, writeJsonBlob } from '../platform/blobs';
import { Semaphore } from '../platform/semaphore';
import { positionedOutcomeSchema, type PositionedOutcome } from './contracts';
import { batchPlanSchema, type BatchPlan } from './plan';
import type { PairOutcome } from './report';
import { sha256Of } from './templateStore';

const latestRunSchema = z.object({ instanceId: z.string(), startedAt: z.string() });
export type LatestRun = z.infer<typeof latestRunSchema>;
const segmentSchema = z.array(positionedOutcomeSchema);

const PLAN_CACHE_SIZE = 4;
const TEMPLATE_CACHE_SIZE = 4;

/**
 * A run's working state in blobs, so orchestrations carry ids only: the plan (`{batchId}/{runId}/plan.json`),
 * the outcomes of each lane segment (`…/outcomes/{lane segment}.json`, a fixed name so a repeated write
 * overwrites rather than duplicates), the batch's latest run (`{batchId}/latest-run.json`), and a copy of
 * each template it was started with (`{batchId}/templates/{sha256}.docx`), so replacing a stored template
 * while a run goes on changes none of its dossiers.
 */
export class BatchWorkStore {
  // Every pair of a run reads the same plan and template: keep the last few in memory.
  private readonly plans = new Map<string, Promise<BatchPlan>>();
  private readonly templates = new Map<string, Promise<Uint8Array>>();

  constructor(private readonly container: ContainerClient) {}

  async savePlan(plan: BatchPlan, runId: string): Promise<void> {
    await writeJsonBlob(this.container, `${plan.batchId}/${runId}/plan.json`, plan);
  }

  loadPlan(batchId: string, runId: string): Promise<BatchPlan> {
    const key = `${batchId}/${runId}`;
    let plan = this.plans.get(key);
    if (!plan) {
      plan = readJsonBlob(this.container, `${key}/plan.json`, batchPlanSchema).then((found) => {
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
    await writeJsonBlob(this.container, `${batchId}/${runId}/outcomes/${name}.json`, outcomes);
  }

  /** Every outcome of a run, by pair index. */
  async loadOutcomes(plan: BatchPlan, runId: string): Promise<Map<number, PairOutcome>> {
    await ensureContainer(this.container);
    const names: string[] = [];
    const prefix = `${plan.batchId}/${runId}/outcomes/`;
    for await (const blob of this.container.listBlobsFlat({ prefix })) names.push(blob.name);
    const slots = new Semaphore(16);
    const segments = await Promise.all(
      names.map((name) => slots.run(() => readJsonBlob(this.container, name, segmentSchema))),
    );
    const outcomes = new Map<number, PairOutcome>();
    for (const { position, outcome } of segments.flatMap((segment) => segment ?? [])) {
      const index = plan.selected[position];
      if (index !== undefined) outcomes.set(index, { ...outcome, index });
    }
    return outcomes;
  }

  async saveTemplate(batchId: string, bytes: Uint8Array): Promise<void> {
    await ensureContainer(this.container);
    await this.container.getBlockBlobClient(this.templateName(batchId, sha256Of(bytes))).uploadData(bytes);
  }

  /** The copy of a template a run was started with, by its SHA-256 (checked: the hash keys the outputs). */
  loadTemplate(batchId: string, sha256: string): Promise<Uint8Array> {
    const key = this.templateName(batchId, sha256);
    let template = this.templates.get(key);
    if (!template) {
      template = readBlob(this.container, key).then((bytes) => {
        if (!bytes || sha256Of(bytes) !== sha256)
          throw new Error(`${this.container.containerName}/${key} is missing or does not match its hash.`);
        return bytes;
      });
      template.catch(() => this.templates.delete(key));
      this.templates.set(key, template);
      if (this.templates.size > TEMPLATE_CACHE_SIZE)
        this.templates.delete(this.templates.keys().next().value as string);
    }
    return template;
  }

  private templateName(batchId: string, sha256: string): string {
    return `${batchId}/templates/${sha256}.docx`;
  }

  async setLatestRun(batchId: string, run: LatestRun): Promise<void> {
    await writeJsonBlob(this.container, `${batchId}/latest-run.json`, run);
  }

  latestRun(batchId: string): Promise<LatestRun | undefined> {
    return readJsonBlob(this.container, `${batchId}/latest-run.json`, latestRunSchema);
  }
}
