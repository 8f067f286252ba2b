import { z } from 'zod';
import type { OfflineGenerator } from '../ai/providers/offlineProvider';
import { parseJsonAnswer } from '../ai/jsonAnswer';
import { foldText } from '../platform/text';
import { CALL_OUTCOMES, type CallOutcome, type CallRecord } from './records';
import type { CallReport } from './requests';

/** The AI task that reads a finished call; its prompt is `prompts/call-analysis.*`. */
export const CALL_ANALYSIS_TASK = 'call-analysis';

/** A transcript is cut to this many characters (its end kept: that is where calls conclude). */
const MAX_TRANSCRIPT_CHARS = 12_000;

const lowerCase = (value: unknown) => (typeof value === 'string' ? value.trim().toLowerCase() : value);

export const analysisAnswerSchema = z.object({
  summary: z.string().transform((s) => s.replace(/\s+/g, ' ').trim().slice(0, 2000)),
  outcome: z.preprocess(lowerCase, z.enum(CALL_OUTCOMES)),
  sentiment: z.preprocess(lowerCase, z.enum(['positive', 'neutral', 'negative'])),
  data: z.record(z.string(), z.unknown()).default({}),
  success: z.boolean(),
});
export type AnalysisAnswer = z.infer<typeof analysisAnswerSchema>;

export const callFactsSchema = z.object({
  direction: z.enum(['inbound', 'outbound']),
  durationSeconds: z.number().nullable(),
  verified: z.boolean(),
  tools: z.array(z.string()),
  claims: z.array(z.string()),
  callbackAt: z.string().nullable(),
  transferred: z.boolean(),
  abandoned: z.boolean(),
  endedReason: z.string().nullable(),
});
export type CallFacts = z.infer<typeof callFactsSchema>;

export const analysisVariablesSchema = z.object({ facts: callFactsSchema, transcript: z.string() });

/** The task's variables: what the record knows, and the redacted transcript, one line per turn. */
export function analysisVariables(
  record: CallRecord,
  report: CallReport,
): z.infer<typeof analysisVariablesSchema> {
  const lines = report.transcript.map((t) => `${t.role === 'assistant' ? 'agent' : t.role}: ${t.text}`);
  const transcript = lines.join('\n');
  return {
    facts: {
      direction: record.direction,
      durationSeconds: record.durationSeconds ?? null,
      verified: Boolean(record.verifiedPolicy),
      tools: [...new Set(record.toolCalls.filter((c) => c.status < 300).map((c) => c.tool))],
      claims: record.claims,
      callbackAt: record.callback?.at ?? null,
      transferred: Boolean(record.transferredAt),
      abandoned: record.abandoned ?? false,
      endedReason: record.endedReason ?? null,
    },
    transcript:
      transcript.length > MAX_TRANSCRIPT_CHARS ? `…${transcript.slice(-MAX_TRANSCRIPT_CHARS)}` : transcript,
  };
}

export function parseAnalysis(text: string): AnalysisAnswer {
  return parseJsonAnswer(CALL_ANALYSIS_TASK, text, analysisAnswerSchema);
}

// --- offline ----------------------------------------------------------------------------------------

const NEGATIVE = [
  'inadmissible',
  'scandal',
  'furieux',
  'en colere',
  'pas content',
  'nul',
  'angry',
  'unacceptable',
  'terrible',
  'plainte',
  'complaint',
];
const POSITIVE = [
  'merci beaucoup',
  'parfait',
  'super',
  'genial',
  'thank you so much',
  'great',
  'perfect',
  'excellent',
];

/** The outcome the facts show, in the prompt's order of precedence. */
export function outcomeOf(facts: CallFacts): CallOutcome {
  if (facts.claims.length) return 'claim_filed';
  if (facts.transferred) return 'transferred';
  if (facts.callbackAt) return 'callback';
  if (facts.tools.includes('policy-summary') || facts.tools.includes('claim-status')) return 'policy_info';
  if (facts.abandoned) return 'abandoned';
  return 'other';
}

function offlineAnalysis(variables: Readonly<Record<string, unknown>>): AnalysisAnswer {
  const { facts, transcript } = analysisVariablesSchema.parse(variables);
  const outcome = outcomeOf(facts);
  const callerText = foldText(
    transcript
      .split('\n')
      .filter((line) => line.startsWith('user:'))
      .join(' '),
  );
  const count = (words: string[]) => words.filter((w) => callerText.includes(w)).length;
  const score = count(POSITIVE) - count(NEGATIVE);
  const sentiment = score > 0 ? 'positive' : score < 0 || outcome === 'abandoned' ? 'negative' : 'neutral';
  const described: Record<CallOutcome, string> = {
    claim_filed: `A claim was filed (${facts.claims.join(', ')}).`,
    transferred: 'The caller was transferred to an adviser.',
    callback: `A callback was scheduled for ${facts.callbackAt ?? 'later'}.`,
    policy_info: 'The caller was given information on their policy or claim.',
    abandoned: 'The caller left before the conversation started.',
    other: 'The call ended without a claim, transfer, callback or policy information.',
  };
  const verified = facts.verified ? 'The caller was verified.' : 'The caller was not verified.';
  return {
    summary: `${facts.direction === 'inbound' ? 'Inbound' : 'Outbound'} call of ${facts.durationSeconds ?? 0} s. ${verified} ${described[outcome]}`,
    outcome,
    sentiment,
    data: {
      intent: outcome.replace('_', ' '),
      ...(facts.claims[0] ? { claimNumber: facts.claims[0] } : {}),
      ...(facts.callbackAt ? { callbackAt: facts.callbackAt } : {}),
    },
    success: outcome !== 'abandoned' && sentiment !== 'negative',
  };
}

/** With no AI key, a call is still analysed from what the record shows. */
export const CALLS_OFFLINE_GENERATORS: Readonly<Record<string, OfflineGenerator>> = {
  [CALL_ANALYSIS_TASK]: (variables) => JSON.stringify(offlineAnalysis(variables)),
};
