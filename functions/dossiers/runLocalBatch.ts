import type { AiClient } from '../ai/aiClient';
import type { DocxRenderer } from './docxRenderer';
import { generatePair, DOSSIER_TASK } from './generatePair';
import type { DossierOutputStore } from './outputs';
import { planBatch, type PlanInput } from './plan';
import { buildReport, NO_USAGE, reportCsv, type DossierReport, type PairOutcome } from './report';
import { checkTemplate } from './templateStore';

/** What the plan needs, less what the run finds itself (prompt hash, existing outputs). */
export interface LocalBatchInput extends Omit<PlanInput, 'templateHash' | 'existingHashes' | 'options'> {
  options: Omit<PlanInput['options'], 'template'>;
  /** The firm's DOCX template (`--template`), checked before anything else; the built-in layout without. */
  template?: { name: string; bytes: Uint8Array } | undefined;
  concurrency: number;
  ai: AiClient;
  outputs: DossierOutputStore;
  renderDocx: DocxRenderer;
  onProgress?: (done: number, total: number, failed: number) => void;
  now?: () => Date;
}

/**
 * The dossier pipeline in one process (the CLI): the same plan, generation and report as the Function
 * App, with `concurrency` pairs in flight in a sliding window — a worker takes the next pair as soon as
 * its previous one is done. A pair that fails is recorded and the batch goes on.
 */
export async function runLocalBatch(input: LocalBatchInput): Promise<DossierReport> {
  const now = input.now ?? (() => new Date());
  const template = input.template;
  const ref = template && checkTemplate(template.name, template.bytes, '--template');
  const startedAt = now().toISOString();
  const plan = planBatch({
    batchId: input.batchId,
    consultants: input.consultants,
    jobs: input.jobs,
    options: { ...input.options, ...(ref ? { template: { name: ref.name, sha256: ref.sha256 } } : {}) },
    templateHash: input.ai.templateHash(DOSSIER_TASK),
    existingHashes: await input.outputs.existingHashes(),
  });
  const deps = {
    ...input,
    now,
    templateBytes: () =>
      template ? Promise.resolve(template.bytes) : Promise.reject(new Error('This batch has no template.')),
  };
  const outcomes = new Map<number, PairOutcome>();
  let next = 0;
  let failed = 0;
  const total = plan.selected.length;
  const worker = async () => {
    for (let position = next++; position < total; position = next++) {
      const pair = plan.pairs[plan.selected[position] ?? -1];
      if (!pair) continue;
      let outcome: PairOutcome;
      try {
        outcome = await generatePair(plan, pair, deps);
      } catch (error) {
        failed++;
        outcome = {
          index: pair.index,
          status: 'failed',
          files: [],
          unsupportedSkills: [],
          usage: NO_USAGE,
          error: error instanceof Error ? error.message : String(error),
        };
      }
      outcomes.set(pair.index, outcome);
      input.onProgress?.(outcomes.size, total, failed);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(input.concurrency, total)) }, worker));
  const report = buildReport(plan, outcomes, startedAt, now().toISOString());
  await input.outputs.writeReport(JSON.stringify(report, null, 2), reportCsv(report));
  return report;
}
