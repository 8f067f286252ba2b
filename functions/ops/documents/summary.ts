import { z } from 'zod';
import type { AiClient } from '../../ai/aiClient';
import { parseJsonAnswer } from '../../ai/jsonAnswer';

/** The AI task that summarises one document; its prompt is `prompts/document-summary.*`. */
export const DOCUMENT_SUMMARY_TASK = 'document-summary';

/**
 * The model reads at most this many characters of a document (about 6,000 tokens): its beginning, where
 * reports and letters say what they are about. The answer says when the rest was left out.
 */
export const MAX_SUMMARY_INPUT_CHARS = 24_000;
const MAX_KEY_POINTS = 8;

const oneLine = (max: number) => z.string().transform((s) => s.replace(/\s+/g, ' ').trim().slice(0, max));

export const documentSummarySchema = z.object({
  summary: oneLine(2000).pipe(z.string().min(1, 'must not be empty')),
  keyPoints: z
    .array(oneLine(500))
    .transform((points) => points.filter((point) => point !== '').slice(0, MAX_KEY_POINTS)),
  language: z.preprocess(
    (value) => (typeof value === 'string' ? value.trim().toLowerCase() : value),
    z.string().regex(/^[a-z]{2}$/, 'must be a two-letter ISO 639-1 code'),
  ),
});

export type DocumentSummary = z.infer<typeof documentSummarySchema> & {
  /** The document was longer than the model reads: the summary covers its beginning only. */
  truncated: boolean;
};

export const summaryVariablesSchema = z.object({
  name: z.string(),
  truncated: z.boolean(),
  text: z.string(),
});
export type SummaryVariables = z.infer<typeof summaryVariablesSchema>;

/** The task's variables: the document's beginning, cut at a line end when one is near the limit. */
export function summaryVariables(document: { name: string; text: string }): SummaryVariables {
  if (document.text.length <= MAX_SUMMARY_INPUT_CHARS) return { ...document, truncated: false };
  const head = document.text.slice(0, MAX_SUMMARY_INPUT_CHARS);
  const lineEnd = head.lastIndexOf('\n');
  return {
    name: document.name,
    truncated: true,
    text: lineEnd > MAX_SUMMARY_INPUT_CHARS * 0.9 ? head.slice(0, lineEnd) : head,
  };
}

/**
 * A document's summary, key points and language from the AI layer. Its failures (no provider available, an
 * answer of the wrong shape) go up as they are: the caller fails that document and may try it again.
 */
export async function summariseDocument(
  ai: AiClient,
  document: { name: string; text: string },
): Promise<DocumentSummary> {
  const variables = summaryVariables(document);
  const answer = await ai.complete({ task: DOCUMENT_SUMMARY_TASK, variables });
  return {
    ...parseJsonAnswer(DOCUMENT_SUMMARY_TASK, answer.text, documentSummarySchema),
    truncated: variables.truncated,
  };
}
