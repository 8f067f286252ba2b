import { createHash } from 'node:crypto';
import { parseConsultants, parseJobs } from './csvInput';
import { matchPair } from './matching';
import { z } from 'zod';
import { templateRefSchema } from './templateStore';
import {
  consultantSchema,
  dossierLanguageSchema,
  jobPostingSchema,
  pairMatchSchema,
  rejectedRowSchema,
  type Consultant,
  type JobPosting,
} from './types';

export const planOptionsSchema = z.object({
  /** Keep the K best consultants per job; all pairs when unset. */
  topK: z.number().int().min(1).optional(),
  /** Drop pairs scoring below this; none dropped when unset. */
  minScore: z.number().min(0).max(100).optional(),
  language: dossierLanguageSchema,
  regenerateUngrounded: z.boolean(),
  /** The firm's template the DOCX files fill; the built-in layout when unset. */
  template: templateRefSchema.optional(),
});
export type PlanOptions = z.infer<typeof planOptionsSchema>;

export const plannedPairSchema = pairMatchSchema.extend({
  index: z.number().int(),
  jobId: z.string(),
  consultantId: z.string(),
  selected: z.boolean(),
  /** Why a pair is not generated: below the minimum score or outside the top K. */
  notSelectedReason: z.string().optional(),
  /** Hash of everything the dossier depends on; an existing output with the same hash is reused. */
  inputHash: z.string(),
  /** Its dossier already exists from the same inputs: skipped without an AI call. */
  alreadyDone: z.boolean(),
});
export type PlannedPair = z.infer<typeof plannedPairSchema>;

/** A parsed, scored batch: what the fan-out reads by pair index. Large; it lives in a blob. */
export const batchPlanSchema = z.object({
  batchId: z.string(),
  options: planOptionsSchema,
  consultants: z.array(consultantSchema),
  jobs: z.array(jobPostingSchema),
  /** Every skill either file names: what the grounding check looks for. */
  vocabulary: z.array(z.string()),
  rejectedRows: z.array(rejectedRowSchema),
  pairs: z.array(plannedPairSchema),
  /** Indexes of the selected pairs, in generation order. */
  selected: z.array(z.number().int()),
});
export type BatchPlan = z.infer<typeof batchPlanSchema>;

export interface PlanInput {
  batchId: string;
  consultants: { name: string; bytes: Uint8Array };
  jobs: { name: string; bytes: Uint8Array };
  options: PlanOptions;
  /** Part of every pair's input hash: a changed prompt regenerates the dossiers (as does a changed DOCX template). */
  templateHash: string;
  /** Input hashes of the dossiers already written, by `jobId/consultantId`. */
  existingHashes: ReadonlyMap<string, string>;
}

/** Parses both files, scores every (job, consultant) pair and selects the ones to generate. */
export function planBatch(input: PlanInput): BatchPlan {
  const consultants = parseConsultants(input.consultants.bytes, input.consultants.name);
  const jobs = parseJobs(input.jobs.bytes, input.jobs.name);
  const { options } = input;
  const pairs: PlannedPair[] = [];
  for (const job of jobs.records) {
    const scored = consultants.records.map((consultant) => ({
      consultant,
      match: matchPair(consultant, job),
    }));
    // Best first; ties keep file order so the selection is deterministic.
    const ranked = [...scored].sort((a, b) => b.match.score - a.match.score);
    const rank = new Map(ranked.map((entry, i) => [entry.consultant.id, i]));
    for (const { consultant, match } of scored) {
      const inputHash = pairInputHash(consultant, job, options, input.templateHash);
      const belowMin = options.minScore !== undefined && match.score < options.minScore;
      const outsideTop = options.topK !== undefined && (rank.get(consultant.id) ?? 0) >= options.topK;
      pairs.push({
        index: pairs.length,
        jobId: job.id,
        consultantId: consultant.id,
        ...match,
        selected: !belowMin && !outsideTop,
        ...(belowMin
          ? { notSelectedReason: `score ${match.score} below the minimum ${options.minScore ?? 0}` }
          : outsideTop
            ? { notSelectedReason: `not among the ${options.topK ?? 0} best consultants for this job` }
            : {}),
        inputHash,
        alreadyDone: input.existingHashes.get(`${job.id}/${consultant.id}`) === inputHash,
      });
    }
  }
  return {
    batchId: input.batchId,
    options,
    consultants: consultants.records,
    jobs: jobs.records,
    vocabulary: vocabularyOf(consultants.records, jobs.records),
    rejectedRows: [...consultants.rejectedRows, ...jobs.rejectedRows],
    pairs,
    selected: pairs.filter((p) => p.selected).map((p) => p.index),
  };
}

function vocabularyOf(consultants: Consultant[], jobs: JobPosting[]): string[] {
  const all = [
    ...consultants.flatMap((c) => c.skills),
    ...jobs.flatMap((j) => [...j.requiredSkills, ...j.niceToHave]),
  ];
  return [...new Set(all)];
}

function pairInputHash(
  consultant: Consultant,
  job: JobPosting,
  options: PlanOptions,
  templateHash: string,
): string {
  // Line numbers move when rows are added above; they do not change the dossier.
  const { line: _consultantLine, ...consultantData } = consultant;
  const { line: _jobLine, ...jobData } = job;
  return createHash('sha256')
    .update(
      JSON.stringify([
        consultantData,
        jobData,
        options.language,
        options.regenerateUngrounded,
        templateHash,
        options.template?.sha256 ?? null,
      ]),
    )
    .digest('hex')
    .slice(0, 32);
}

export function consultantOf(plan: BatchPlan, pair: PlannedPair): Consultant {
  const consultant = plan.consultants.find((c) => c.id === pair.consultantId);
  if (!consultant) throw new Error(`Plan ${plan.batchId} has no consultant ${pair.consultantId}.`);
  return consultant;
}

export function jobOf(plan: BatchPlan, pair: PlannedPair): JobPosting {
  const job = plan.jobs.find((j) => j.id === pair.jobId);
  if (!job) throw new Error(`Plan ${plan.batchId} has no job ${pair.jobId}.`);
  return job;
}
