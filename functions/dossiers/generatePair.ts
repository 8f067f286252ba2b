import type { AiClient } from '../ai/aiClient';
import type { DocxRenderer } from './docxRenderer';
import { findUnsupportedSkills, strictGroundingInstructions } from './grounding';
import type { DossierOutputStore } from './outputs';
import { consultantOf, jobOf, type BatchPlan, type PlannedPair } from './plan';
import { addUsage, NO_USAGE, type PairOutcome } from './report';
import { DOSSIER_TASK, dossierMarkdown, parseDossierAnswer } from './sections';
import type { TemplateRef } from './templateStore';
import type { DossierPromptInput } from './types';

export { DOSSIER_TASK } from './sections';

export interface PairDependencies {
  ai: AiClient;
  outputs: DossierOutputStore;
  renderDocx: DocxRenderer;
  /** The bytes of the template a batch was planned with. */
  templateBytes: (batchId: string, template: TemplateRef) => Promise<Uint8Array>;
  now: () => Date;
}

/**
 * Writes one pair's dossier, or reuses it: a dossier the plan found already written from the same inputs
 * (records, options, prompt and template) is skipped without an AI call. The model answers the sections
 * as JSON; the Markdown and the DOCX (the firm's template, or the built-in layout) are both made from
 * them. A dossier that names skills the consultant's record lacks is regenerated once with a stricter
 * prompt when the batch asks for it. Failures are thrown, for the caller's retry policy.
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
  // Before the AI call: a template that cannot be read should not cost tokens.
  const template = plan.options.template && (await deps.templateBytes(plan.batchId, plan.options.template));
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
  const ask = async (variables: DossierPromptInput, temperature?: number) => {
    const result = await deps.ai.complete({
      task: DOSSIER_TASK,
      variables: { ...variables },
      ...(temperature === undefined ? {} : { temperature }),
    });
    return { sections: parseDossierAnswer(result.text), usage: result.usage };
  };
  let answer = await ask(input);
  let usage = answer.usage;
  const quoted = [job.title, job.client ?? ''];
  let unsupported = findUnsupportedSkills(answer.sections, consultant, plan.vocabulary, quoted);
  if (unsupported.length > 0 && plan.options.regenerateUngrounded) {
    const strict = { ...input, instructions: strictGroundingInstructions(unsupported, input.language) };
    answer = await ask(strict, 0);
    usage = addUsage(usage, answer.usage);
    unsupported = findUnsupportedSkills(answer.sections, consultant, plan.vocabulary, quoted);
  }
  const docx = await deps.renderDocx({
    sections: answer.sections,
    consultant,
    job,
    match: input.match,
    language: input.language,
    generatedAt: deps.now().toISOString(),
    ...(template ? { template } : {}),
  });
  const markdown = dossierMarkdown(answer.sections, input.language);
  const files = await outputs.writeDossier(pair.jobId, pair.consultantId, markdown, docx, pair.inputHash);
  return { index: pair.index, status: 'generated', files, unsupportedSkills: unsupported, usage };
}
