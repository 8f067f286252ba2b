import { z } from 'zod';
import { stringify } from 'csv-stringify/sync';
import type { BatchPlan } from './plan';
import type { RejectedRow } from './types';

export const tokenUsageSchema = z.object({
  promptTokens: z.number(),
  completionTokens: z.number(),
  costUsd: z.number(),
});
export type TokenUsage = z.infer<typeof tokenUsageSchema>;

/** What happened to one selected pair in this run. */
export const pairOutcomeSchema = z.object({
  index: z.number().int(),
  status: z.enum(['generated', 'skipped', 'failed']),
  files: z.array(z.string()),
  unsupportedSkills: z.array(z.string()),
  usage: tokenUsageSchema,
  error: z.string().optional(),
});
export type PairOutcome = z.infer<typeof pairOutcomeSchema>;

export interface ReportPair {
  jobId: string;
  consultantId: string;
  score: number;
  coveredSkills: string[];
  missingSkills: string[];
  unsupportedSkills: string[];
  status: 'generated' | 'skipped' | 'failed' | 'not-selected';
  files: string[];
  error?: string;
  usage: TokenUsage;
}

/** The batch report contract (`report.json`): users and checks depend on its fields. */
export interface DossierReport {
  batchId: string;
  startedAt: string;
  finishedAt: string;
  total: number;
  generated: number;
  skipped: number;
  failed: number;
  notSelected: number;
  rejectedRows: RejectedRow[];
  usage: TokenUsage;
  pairs: ReportPair[];
}

export const NO_USAGE: TokenUsage = { promptTokens: 0, completionTokens: 0, costUsd: 0 };

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    costUsd: a.costUsd + b.costUsd,
  };
}

/** Builds the report: every pair of the plan appears, selected or not, with what happened to it. */
export function buildReport(
  plan: BatchPlan,
  outcomes: ReadonlyMap<number, PairOutcome>,
  startedAt: string,
  finishedAt: string,
): DossierReport {
  const pairs: ReportPair[] = plan.pairs.map((pair) => {
    const base = {
      jobId: pair.jobId,
      consultantId: pair.consultantId,
      score: pair.score,
      coveredSkills: pair.coveredSkills,
      missingSkills: pair.missingSkills,
    };
    if (!pair.selected) {
      return {
        ...base,
        unsupportedSkills: [],
        status: 'not-selected',
        files: [],
        ...(pair.notSelectedReason ? { error: pair.notSelectedReason } : {}),
        usage: NO_USAGE,
      };
    }
    const outcome = outcomes.get(pair.index);
    if (!outcome) {
      return {
        ...base,
        unsupportedSkills: [],
        status: 'failed',
        files: [],
        error: 'no result was recorded',
        usage: NO_USAGE,
      };
    }
    return {
      ...base,
      unsupportedSkills: outcome.unsupportedSkills,
      status: outcome.status,
      files: outcome.files,
      ...(outcome.error ? { error: outcome.error } : {}),
      usage: outcome.usage,
    };
  });
  const count = (status: ReportPair['status']) => pairs.filter((p) => p.status === status).length;
  return {
    batchId: plan.batchId,
    startedAt,
    finishedAt,
    total: pairs.length,
    generated: count('generated'),
    skipped: count('skipped'),
    failed: count('failed'),
    notSelected: count('not-selected'),
    rejectedRows: plan.rejectedRows,
    usage: pairs.reduce((sum, p) => addUsage(sum, p.usage), NO_USAGE),
    pairs,
  };
}

/**
 * One row per pair. A cell that a spreadsheet would read as a formula (starting with = + - @, or a tab
 * or carriage return) is prefixed with an apostrophe, so opening the report cannot run anything.
 */
export function reportCsv(report: DossierReport): string {
  const rows = report.pairs.map((p) => [
    p.jobId,
    p.consultantId,
    p.score,
    p.status,
    p.coveredSkills.join('; '),
    p.missingSkills.join('; '),
    p.unsupportedSkills.join('; '),
    p.files.join('; '),
    p.usage.promptTokens,
    p.usage.completionTokens,
    p.usage.costUsd.toFixed(6),
    p.error ?? '',
  ]);
  const header = [
    'jobId',
    'consultantId',
    'score',
    'status',
    'coveredSkills',
    'missingSkills',
    'unsupportedSkills',
    'files',
    'promptTokens',
    'completionTokens',
    'costUsd',
    'error',
  ];
  return stringify([header, ...rows.map((row) => row.map(neutralise))], {
    bom: true,
    record_delimiter: 'windows',
  });
}

export function neutralise(cell: string | number): string | number {
  return typeof cell === 'string' && /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
}
