import type { AiClient } from '../ai/aiClient';
import type { DocxRenderer } from './docxRenderer';
import { findUnsupportedSkills, strictGroundingInstructions } from './grounding';
import type { DossierOutputStore } from './outputs';
import { consultantOf, jobOf, type BatchPlan, type PlannedPair } from './plan';
import { addUsage, NO_USAGE, type PairOutcome } from './report';
import type { DossierPromptInput } from './types';

export const DOSSIER_TASK = 'dossier';

export interface PairDependencies {
  ai: AiClient;
  outputs: DossierOutputStore;
  renderDocx: DocxRenderer;
}

/**
 * Writes one pair's dossier, or reuses it: a dossier the plan found already written from the same inputs
 * is skipped without an AI call. A dossier that names skills the
 * consultant's record lacks is regenerated once with a stricter prompt when the batch asks for it.
 * Failures are thrown, for the caller's retry policy.
 */
export async function generatePair(
  plan: BatchPlan,
  pair: PlannedPair,
  deps: PairDependencies,
): Promise<PairOutcome> {
  const { outputs } = deps;
  if (pair.alreadyDone) {
    return {
      index: pair.index,
      status: 'skipped',
      files: outputs.dossierFiles(pair.jobId, pair.consultantId),
      unsupportedSkills: [],
      usage: NO_USAGE,
    };
  }
  const consultant = consultantOf(plan, pair);
  const job = jobOf(plan, pair);
  const input: DossierPromptInput = {
    consultant,
    job,
    match: {
      score: pair.score,
      coveredSkills: pair.coveredSkills,
      missingSkills: pair.missingSkills,
      niceToHaveCovered: pair.niceToHaveCovered,
    },
    language: plan.options.language,
    instructions: '',
  };
  let result = await deps.ai.complete({ task: DOSSIER_TASK, variables: { ...input } });
  let usage = result.usage;
  const quoted = [job.title, job.client ?? ''];
  let unsupported = findUnsupportedSkills(result.text, consultant, plan.vocabulary, quoted);
  if (unsupported.length > 0 && plan.options.regenerateUngrounded) {
    const strict = { ...input, instructions: strictGroundingInstructions(unsupported, input.language) };
    result = await deps.ai.complete({ task: DOSSIER_TASK, variables: { ...strict }, temperature: 0 });
    usage = addUsage(usage, result.usage);
    unsupported = findUnsupportedSkills(result.text, consultant, plan.vocabulary, quoted);
  }
  const docx = await deps.renderDocx({
    markdown: result.text,
    consultant,
    job,
    match: input.match,
    language: input.language,
  });
  const files = await outputs.writeDossier(pair.jobId, pair.consultantId, result.text, docx, pair.inputHash);
  return { index: pair.index, status: 'generated', files, unsupportedSkills: unsupported, usage };
}
