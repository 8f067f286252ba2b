import type { ContainerClient } from '@azure/storage-blob';
import type { BatchWorkStore } from './batchStore';
import type { BatchRunInput, BatchSummary, PairStep, PlanSummary, PositionedOutcome } from './contracts';
import { generatePair, type PairDependencies } from './generatePair';
import type { DossierOutputStore } from './outputs';
import { planBatch } from './plan';
import { buildReport, reportCsv, type PairOutcome } from './report';

export interface BatchActivityDependencies {
  work: BatchWorkStore;
  inputs: (container: string) => ContainerClient;
  outputs: (batchId: string) => DossierOutputStore;
  pairDependencies: (outputs: DossierOutputStore) => PairDependencies;
  templateHash: () => string;
  clock: () => Date;
}

/** The batch's activities; each is idempotent (it may run twice) and passes ids, not data. */
export function batchActivities(deps: BatchActivityDependencies) {
  return {
    plan: async (input: BatchRunInput): Promise<PlanSummary> => {
      const container = deps.inputs(input.source.container);
      const [consultants, jobs] = await Promise.all(
        [input.source.consultants, input.source.jobs].map((name) =>
          container.getBlockBlobClient(name).downloadToBuffer(),
        ),
      );
      const plan = planBatch({
        batchId: input.batchId,
        consultants: { name: baseName(input.source.consultants), bytes: consultants as Buffer },
        jobs: { name: baseName(input.source.jobs), bytes: jobs as Buffer },
        options: input.options,
        templateHash: deps.templateHash(),
        existingHashes: await deps.outputs(input.batchId).existingHashes(),
      });
      await deps.work.savePlan(plan, input.runId);
      return {
        total: plan.pairs.length,
        selected: plan.selected.length,
        lanes: Math.min(input.concurrency, plan.selected.length),
      };
    },

    generate: async (step: PairStep): Promise<PairOutcome> => {
      const plan = await deps.work.loadPlan(step.batchId, step.runId);
      const pair = plan.pairs[plan.selected[step.position] ?? -1];
      if (!pair) throw new Error(`Run ${step.runId} has no selected pair at position ${step.position}.`);
      return generatePair(plan, pair, deps.pairDependencies(deps.outputs(step.batchId)));
    },

    saveOutcomes: async (input: {
      batchId: string;
      runId: string;
      name: string;
      outcomes: PositionedOutcome[];
    }): Promise<undefined> => {
      await deps.work.saveOutcomes(input.batchId, input.runId, input.name, input.outcomes);
      return undefined;
    },

    report: async (input: { batchId: string; runId: string; startedAt: string }): Promise<BatchSummary> => {
      const plan = await deps.work.loadPlan(input.batchId, input.runId);
      const outcomes = await deps.work.loadOutcomes(plan, input.runId);
      const report = buildReport(plan, outcomes, input.startedAt, deps.clock().toISOString());
      const files = await deps
        .outputs(input.batchId)
        .writeReport(JSON.stringify(report, null, 2), reportCsv(report));
      return {
        total: report.total,
        done: report.generated + report.skipped + report.failed,
        generated: report.generated,
        skipped: report.skipped,
        failed: report.failed,
        notSelected: report.notSelected,
        report: files,
      };
    },
  };
}

export type BatchActivities = ReturnType<typeof batchActivities>;

function baseName(blobName: string): string {
  return blobName.split('/').pop() ?? blobName;
}
