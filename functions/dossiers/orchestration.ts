import { RetryOptions, type OrchestrationContext, type Task } from 'durable-functions';
import { callActivity, failureReason, startSubOrchestration } from '../platform/durable';
import {
  DOSSIER_DURABLE,
  laneInstanceId,
  type BatchRunInput,
  type BatchStatus,
  type BatchSummary,
  type LaneInput,
  type PositionedOutcome,
  type StatusCounts,
} from './contracts';
import { NO_USAGE, type PairOutcome } from './report';

/** Pairs a lane runs before it continues as new: keeps its history near 200 events, so each replay is short. */
export const LANE_SEGMENT = 50;

const ZERO: StatusCounts = { done: 0, generated: 0, skipped: 0, failed: 0 };

const PAIR_RETRY = Object.assign(new RetryOptions(1000, 3), { backoffCoefficient: 2 });

/**
 * The batch: plan (parse, score, select; the plan goes to a blob), then one lane per in-flight slot.
 * Each lane runs its pairs one after another, so a new pair starts as soon as one finishes: a sliding
 * window with no chunk barrier. (A single orchestrator waiting with Task.any on a changing set would
 * reschedule tasks it already scheduled: durable-functions issue #574.) Then the report.
 */
export function* batchOrchestrator(
  context: OrchestrationContext,
  input: BatchRunInput,
): Generator<Task, BatchSummary, unknown> {
  const startedAt = context.df.currentUtcDateTime.toISOString();
  const status = (update: Omit<BatchStatus, 'startedAt'>) =>
    context.df.setCustomStatus({ startedAt, ...update } satisfies BatchStatus);
  status({ stage: 'planning' });
  const plan = yield* callActivity(context, DOSSIER_DURABLE.plan, input);
  status({ stage: 'generating', total: plan.selected, lanes: plan.lanes });
  let counts = ZERO;
  if (plan.lanes > 0) {
    const lanes = Array.from({ length: plan.lanes }, (_, lane) =>
      startSubOrchestration(
        context,
        DOSSIER_DURABLE.lane,
        {
          batchId: input.batchId,
          runId: input.runId,
          lanes: plan.lanes,
          selected: plan.selected,
          position: lane,
          counts: ZERO,
        },
        laneInstanceId(input.runId, lane),
      ),
    );
    const results = (yield context.df.Task.all(lanes)) as unknown[];
    counts = results.map((r) => DOSSIER_DURABLE.lane.output.parse(r) ?? ZERO).reduce(addCounts, ZERO);
  }
  status({ stage: 'reporting', total: plan.selected, lanes: plan.lanes, counts });
  const summary = yield* callActivity(context, DOSSIER_DURABLE.report, {
    batchId: input.batchId,
    runId: input.runId,
    startedAt,
  });
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
  lane: LaneInput,
): Generator<Task, StatusCounts | undefined, unknown> {
  const segmentStart = lane.position;
  let { position, counts } = lane;
  const outcomes: PositionedOutcome[] = [];
  // A new generation (after continue-as-new) starts with no custom status: carry the counts over at once.
  context.df.setCustomStatus(counts);
  for (let steps = 0; position < lane.selected && steps < LANE_SEGMENT; steps++, position += lane.lanes) {
    let outcome: PairOutcome;
    try {
      outcome = yield* callActivity(
        context,
        DOSSIER_DURABLE.generate,
        { batchId: lane.batchId, runId: lane.runId, position },
        PAIR_RETRY,
      );
    } catch (error) {
      outcome = {
        index: -1,
        status: 'failed',
        files: [],
        unsupportedSkills: [],
        usage: NO_USAGE,
        error: failureReason(error),
      };
    }
    outcomes.push({ position, outcome });
    counts = addCounts(counts, { done: 1, generated: 0, skipped: 0, failed: 0, [outcome.status]: 1 });
    context.df.setCustomStatus(counts);
  }
  yield* callActivity(context, DOSSIER_DURABLE.saveOutcomes, {
    batchId: lane.batchId,
    runId: lane.runId,
    name: `from-${segmentStart}`,
    outcomes,
  });
  if (position < lane.selected) {
    context.df.continueAsNew({ ...lane, position, counts } satisfies LaneInput);
    return undefined;
  }
  return counts;
}

export function addCounts(a: StatusCounts, b: StatusCounts): StatusCounts {
  return {
    done: a.done + b.done,
    generated: a.generated + b.generated,
    skipped: a.skipped + b.skipped,
    failed: a.failed + b.failed,
  };
}
