import { z } from 'zod';
import type { AiClient } from '../ai/aiClient';
import { AiOutputBlockedError, AiUnavailableError } from '../ai/errors';
import { MalformedAnswerError, parseJsonAnswer } from '../ai/jsonAnswer';
import { InvalidInputError, UnavailableError } from '../platform/errors';
import { parseInput } from '../platform/input';
import { MAX_TEXT_CHARS } from './content';
import { detectLanguage } from '../platform/language';

/** The AI task that drafts a post; its prompt is `prompts/linkedin-post.*`. */
export const LINKEDIN_POST_TASK = 'linkedin-post';
/** More reads as hashtag spam (and LinkedIn's reach advice says three at most). */
export const MAX_HASHTAGS = 3;

const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `is longer than ${max} characters`);

export const draftRequestSchema = z
  .object({
    topic: text(500),
    /** Free words: `professional`, `friendly`, `enthusiastic`, `inspiring`… */
    tone: text(40).optional(),
    language: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z]{2}$/, 'must be a two-letter language code (fr, en)')
      .optional(),
  })
  .strict();
export type DraftRequest = z.input<typeof draftRequestSchema>;

export const postVariablesSchema = z.object({
  topic: z.string(),
  tone: z.string(),
  language: z.string(),
  maxChars: z.number().int(),
  maxHashtags: z.number().int(),
});
export type PostVariables = z.infer<typeof postVariablesSchema>;

export const postAnswerSchema = z.object({ text: z.string().trim().min(1) });

/**
 * `POST /api/linkedin/drafts`: a post written by the AI layer for the person to edit (never scheduled
 * here). The answer is held to LinkedIn's 3,000 characters and at most three hashtags, whatever the
 * model wrote. The language is the one asked for, else the topic's.
 */
export async function draftPost(ai: AiClient, body: unknown): Promise<{ text: string; language: string }> {
  const request = parseInput(draftRequestSchema, body);
  const variables: PostVariables = {
    topic: request.topic,
    tone: request.tone ?? 'professional',
    language: request.language ?? detectLanguage(request.topic),
    maxChars: MAX_TEXT_CHARS,
    maxHashtags: MAX_HASHTAGS,
  };
  try {
    const answer = await ai.complete({ task: LINKEDIN_POST_TASK, variables });
    const draft = parseJsonAnswer(LINKEDIN_POST_TASK, answer.text, postAnswerSchema);
    return { text: fitPost(draft.text), language: variables.language };
  } catch (error) {
    if (error instanceof AiOutputBlockedError)
      throw new InvalidInputError(
        'body.topic',
        `led to a draft with the blocked term "${error.term}": rephrase the topic`,
      );
    if (error instanceof AiUnavailableError || error instanceof MalformedAnswerError)
      throw new UnavailableError(`No draft could be written now: ${error.message}`);
    throw error;
  }
}

const HASHTAG = /(^|[^\p{L}\p{N}_&])#[\p{L}\p{N}_]+/gu;

/** The first `max` hashtags kept, later ones removed with the space before them. */
export function limitHashtags(text: string, max = MAX_HASHTAGS): string {
  let seen = 0;
  return text
    .replace(HASHTAG, (match, before: string) => (++seen <= max ? match : before.trim() ? before : ''))
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** At most three hashtags and `MAX_TEXT_CHARS`, cut at a paragraph or a sentence when one is near. */
export function fitPost(text: string, maxChars = MAX_TEXT_CHARS): string {
  const tidy = limitHashtags(text.replace(/\r\n?/g, '\n'));
  if (tidy.length <= maxChars) return tidy;
  const head = tidy.slice(0, maxChars);
  const paragraph = head.lastIndexOf('\n\n');
  if (paragraph > maxChars * 0.7) return head.slice(0, paragraph).trim();
  const sentence = Math.max(head.lastIndexOf('. '), head.lastIndexOf('! '), head.lastIndexOf('? '));
  if (sentence > maxChars * 0.7) return head.slice(0, sentence + 1).trim();
  return `${head.slice(0, maxChars - 1).trimEnd()}…`;
}
