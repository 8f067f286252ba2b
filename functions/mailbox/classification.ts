import { z } from 'zod';
import { parseJsonAnswer } from '../ai/jsonAnswer';
export { MalformedAnswerError } from '../ai/jsonAnswer';
import { KNOWLEDGE_CATEGORIES, MAIL_LANGUAGES } from './knowledge';
import type { ParsedMail } from './message';

/** The AI task that sorts a mail; its prompt is `prompts/mailbox-classify.*`. */
export const MAILBOX_CLASSIFY_TASK = 'mailbox-classify';

export const CLASSIFICATION_CATEGORIES = [...KNOWLEDGE_CATEGORIES, 'ignore'] as const;
export type ClassificationCategory = (typeof CLASSIFICATION_CATEGORIES)[number];

/** A mail's text is cut to this many characters before it goes into a prompt. */
export const MAX_PROMPT_TEXT_CHARS = 6000;
export const MAX_PROMPT_SUBJECT_CHARS = 300;

const lowerCase = (value: unknown) => (typeof value === 'string' ? value.trim().toLowerCase() : value);

export const classificationSchema = z.object({
  category: z.preprocess(lowerCase, z.enum(CLASSIFICATION_CATEGORIES)),
  confidence: z.coerce.number().min(0).max(1),
  language: z.preprocess(lowerCase, z.enum(MAIL_LANGUAGES)),
  summary: z
    .string()
    .default('')
    .transform((s) => s.replace(/\s+/g, ' ').trim().slice(0, 300)),
});
export type Classification = z.infer<typeof classificationSchema>;

/** Reads the classifier's JSON answer, bare or inside a ``` fence, with or without prose around it. */
export function parseClassification(text: string): Classification {
  return parseJsonAnswer(MAILBOX_CLASSIFY_TASK, text, classificationSchema);
}

export const classifyVariablesSchema = z.object({
  subject: z.string(),
  text: z.string(),
  from: z.string(),
});
export type ClassifyVariables = z.infer<typeof classifyVariablesSchema>;

/**
 * The `mailbox-classify` variables, size-capped. Its template removes addresses and phone numbers
 * before a model sees them.
 */
export function classifyVariables(mail: ParsedMail): ClassifyVariables {
  const from = mail.from
    ? mail.from.name
      ? `${mail.from.name} <${mail.from.address}>`
      : mail.from.address
    : '';
  return {
    subject: mail.subject.slice(0, MAX_PROMPT_SUBJECT_CHARS),
    text: mail.text.slice(0, MAX_PROMPT_TEXT_CHARS),
    from,
  };
}
