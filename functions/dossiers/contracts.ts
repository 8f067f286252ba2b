import { z } from 'zod';
import { durableContract } from '../platform/durable';
import { planOptionsSchema } from './plan';
import { pairOutcomeSchema } from './report';

/**
 * What crosses the batch's durable boundaries, declared once: the registrations parse inputs with these,
 * the orchestrators parse results, and the status route parses custom statuses.
 */

export const batchRunInputSchema = z.object({
  batchId: z.string(),
  /** The orchestration instance id: names the run's working blobs. */
  runId: z.string(),
  source: z.object({ container: z.string(), consultants: z.string(), jobs: z.string() }),
  options: planOptionsSchema,
  /** Pairs in flight at once (one lane each). */
  concurrency: z.number().int().min(1),
});
export type BatchRunInput = z.infer<typeof batchRunInputSchema>;

export const planSummarySchema = z.object({
  total: z.number().int(),
  selected: z.number().int(),
  lanes: z.number().int(),
});
export type PlanSummary = z.infer<typeof planSummarySchema>;

export const statusCountsSchema = z.object({
  done: z.number().int(),
  generated: z.number().int(),
  skipped: z.number().int(),
  failed: z.number().int(),
});
export type StatusCounts = z.infer<typeof statusCountsSchema>;

export const laneInputSchema = z.object({
  batchId: z.string(),
  runId: z.string(),
  lanes: z.number().int().min(1),
  selected: z.number().int(),
  /** The next position in the plan's selected pairs this lane handles (lane, lane + lanes, …). */
  position: z.number().int(),
  counts: statusCountsSchema,
});
export type LaneInput = z.infer<typeof laneInputSchema>;

export const pairStepSchema = z.object({
  batchId: z.string(),
  runId: z.string(),
  position: z.number().int(),
});
export type PairStep = z.infer<typeof pairStepSchema>;

/** A pair's outcome as a lane records it: by its position in the plan's selected pairs. */
export const positionedOutcomeSchema = z.object({ position: z.number().int(), outcome: pairOutcomeSchema });
export type PositionedOutcome = z.infer<typeof positionedOutcomeSchema>;

export const saveOutcomesInputSchema = z.object({
  batchId: z.string(),
  runId: z.string(),
  /** The lane segment: a fixed name, so a repeated write overwrites rather than duplicates. */
  name: z.string(),
  outcomes: z.array(positionedOutcomeSchema),
});

export const reportInputSchema = z.object({ batchId: z.string(), runId: z.string(), startedAt: z.string() });

export const batchSummarySchema = statusCountsSchema.extend({
  total: z.number().int(),
  notSelected: z.number().int(),
  report: z.array(z.string()),
});
export type BatchSummary = z.infer<typeof batchSummarySchema>;

/** Custom status of the batch orchestration; small, updated at each stage. */
export const batchStatusSchema = z.object({
  stage: z.enum(['planning', 'generating', 'reporting', 'completed', 'completed-with-failures']),
  startedAt: z.string(),
  total: z.number().int().optional(),
  lanes: z.number().int().optional(),
  counts: statusCountsSchema.optional(),
});
export type BatchStatus = z.infer<typeof batchStatusSchema>;

export const DOSSIER_DURABLE = {
  batch: durableContract('dossierBatch', batchRunInputSchema, batchSummarySchema),
  lane: durableContract('dossierLane', laneInputSchema, statusCountsSchema.optional()),
  plan: durableContract('dossierPlan', batchRunInputSchema, planSummarySchema),
  generate: durableContract('dossierGeneratePair', pairStepSchema, pairOutcomeSchema),
  saveOutcomes: durableContract('dossierSaveOutcomes', saveOutcomesInputSchema, z.null().optional()),
  report: durableContract('dossierReport', reportInputSchema, batchSummarySchema),
} as const;

/** The instance id of a run's lane: the status route reads the lanes' counts by it. */
/** Every dossier batch's instance id starts with this (its lanes' too). */
export const DOSSIER_RUN_PREFIX = 'dossiers-';

export function laneInstanceId(runId: string, lane: number): string {
  return `${runId}:lane-${lane}`;
}
