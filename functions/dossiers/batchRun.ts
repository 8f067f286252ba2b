import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';
import type { ContainerClient } from '@azure/storage-blob';
import type { BatchWorkStore, PositionedOutcome } from './batchStore';
import { generatePair, type PairDependencies } from './generatePair';
import type { DossierOutputStore } from './outputs';
import { planBatch, type PlanOptions } from './plan';
import { buildReport, reportCsv, NO_USAGE, type PairOutcome } from './report';

/** Names of the batch's durable functions, shared by the registrations and the orchestrators. */
export const BATCH_FUNCTIONS = {
  batch: 'dossierBatch',
  lane: 'dossierLane',
  plan: 'dossierPlan',
  generate: 'dossierGeneratePair',
  saveOutcomes: 'dossierSaveOutcomes',
  report: 'dossierReport',
} as const;

/** Pairs a lane runs before it continues as new: keeps its history near 200 events, so each replay is short. */
export const LANE_SEGMENT = 50;

export interface BatchRunInput {
  batchId: string;
  /** The orchestration instance id: names the run's working blobs. */
  runId: string;
  source: { container: string; consultants: string; jobs: string };
  options: PlanOptions;
  /** Pairs in flight at once (one lane each). */
  concurrency: number;
}

export interface PlanSummary {
  total: number;
  selected: number;
  lanes: number;
}

export interface StatusCounts {
  done: number;
  generated: number;
  skipped: number;
  failed: number;
}

interface LaneInput {
  batchId: string;
  runId: string;
  lanes: number;
  selected: number;
  /** The next position in the plan's selected pairs this lane handles (lane, lane + lanes, …). */
  position: number;
  counts: StatusCounts;
}

interface PairStep {
  batchId: string;
  runId: string;
  position: number;
}

export interface BatchSummary extends StatusCounts {
  total: number;
  notSelected: number;
  report: string[];
}

/** Custom status of the batch orchestration; small, updated at each stage. */
export interface BatchStatus {
  stage: 'planning' | 'generating' | 'reporting' | 'completed' | 'completed-with-failures';
  startedAt: string;
  total?: number;
  lanes?: number;
  counts?: StatusCounts;
}

const ZERO: StatusCounts = { done: 0, generated: 0, skipped: 0, failed: 0 };

const PAIR_RETRY = Object.assign(new df.RetryOptions(1000, 3), { backoffCoefficient: 2 });

/**
 * The batch: plan (parse, score, select; the plan goes to a blob), then one lane per in-flight slot.
 * Each lane runs its pairs one after another, so a new pair starts as soon as one finishes: a sliding
 * window with no chunk barrier. (A single orchestrator waiting with Task.any on a changing set would
 * reschedule tasks it already scheduled: durable-functions issue #574.) Then the report.
 */
export function* batchOrchestrator(context: OrchestrationContext): Generator<df.Task, BatchSummary, unknown> {
  const input = context.df.getInput<BatchRunInput>();
  const startedAt = context.df.currentUtcDateTime.toISOString();
  const status = (update: Omit<BatchStatus, 'startedAt'>) =>
    context.df.setCustomStatus({ startedAt, ...update });
  status({ stage: 'planning' });
  const plan = (yield context.df.callActivity(BATCH_FUNCTIONS.plan, input)) as PlanSummary;
  status({ stage: 'generating', total: plan.selected, lanes: plan.lanes });
  let counts = ZERO;
  if (plan.lanes > 0) {
    const lanes = Array.from({ length: plan.lanes }, (_, lane) =>
      context.df.callSubOrchestrator(
        BATCH_FUNCTIONS.lane,
        {
          batchId: input.batchId,
          runId: input.runId,
          lanes: plan.lanes,
          selected: plan.selected,
          position: lane,
          counts: ZERO,
        },
        `${input.runId}:lane-${lane}`,
      ),
    );
    const results = (yield context.df.Task.all(lanes)) as StatusCounts[];
    counts = results.reduce(addCounts, ZERO);
  }
  status({ stage: 'reporting', total: plan.selected, lanes: plan.lanes, counts });
  const summary = (yield context.df.callActivity(BATCH_FUNCTIONS.report, {
    batchId: input.batchId,
    runId: input.runId,
    startedAt,
  })) as BatchSummary;
  status({
    stage: summary.failed > 0 ? 'completed-with-failures' : 'completed',
    total: plan.selected,
    counts,
  });
  return summary;
}

/**
 * One lane: its pairs in turn, each retried with backoff; a pair that still fails is recorded, not fatal.
 * The outcomes of a segment are written in one blob before the lane continues as new.
 */
export function* laneOrchestrator(
  context: OrchestrationContext,
): Generator<df.Task, StatusCounts | undefined, unknown> {
  const lane = context.df.getInput<LaneInput>();
  const segmentStart = lane.position;
  let { position, counts } = lane;
  const outcomes: PositionedOutcome[] = [];
  // A new generation (after continue-as-new) starts with no custom status: carry the counts over at once.
  context.df.setCustomStatus(counts);
  for (let steps = 0; position < lane.selected && steps < LANE_SEGMENT; steps++, position += lane.lanes) {
    const step: PairStep = { batchId: lane.batchId, runId: lane.runId, position };
    let outcome: PairOutcome;
    try {
      outcome = (yield context.df.callActivityWithRetry(
        BATCH_FUNCTIONS.generate,
        PAIR_RETRY,
        step,
      )) as PairOutcome;
    } catch (error) {
      outcome = {
        index: -1,
        status: 'failed',
        files: [],
        unsupportedSkills: [],
        usage: NO_USAGE,
        error: firstLine(error),
      };
    }
    outcomes.push({ position, outcome });
    counts = addCounts(counts, { done: 1, generated: 0, skipped: 0, failed: 0, [outcome.status]: 1 });
    context.df.setCustomStatus(counts);
  }
  yield context.df.callActivity(BATCH_FUNCTIONS.saveOutcomes, {
    batchId: lane.batchId,
    runId: lane.runId,
    name: `from-${segmentStart}`,
    outcomes,
  });
  if (position < lane.selected) {
    context.df.continueAsNew({ ...lane, position, counts });
    return undefined;
  }
  return counts;
}

function addCounts(a: StatusCounts, b: StatusCounts): StatusCounts {
  return {
    done: a.done + b.done,
    generated: a.generated + b.generated,
    skipped: a.skipped + b.skipped,
    failed: a.failed + b.failed,
  };
}

// durable-functions reports a failed activity as "<reason> \n <stack>"; the reason is what users need.
function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? text).replace(/^Activity function '[^']+' failed:\s*/, '').trim();
}

export interface BatchActivityDependencies {
  work: BatchWorkStore;
  inputs: (container: string) => ContainerClient;
  outputs: (batchId: string) => DossierOutputStore;
  pairDependencies: (outputs: DossierOutputStore) => PairDependencies;
  templateHash: () => string;
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
    }) => {
      await deps.work.saveOutcomes(input.batchId, input.runId, input.name, input.outcomes);
    },

    report: async (input: { batchId: string; runId: string; startedAt: string }): Promise<BatchSummary> => {
      const plan = await deps.work.loadPlan(input.batchId, input.runId);
      const outcomes = await deps.work.loadOutcomes(plan, input.runId);
      const report = buildReport(plan, outcomes, input.startedAt, new Date().toISOString());
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

function baseName(blobName: string): string {
  return blobName.split('/').pop() ?? blobName;
}
