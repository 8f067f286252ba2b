import { z } from 'zod';
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

/** A model's answer is not in the shape its task asked for. */
export class MalformedAnswerError extends Error {
  constructor(
    readonly task: string,
    problem: string,
  ) {
    super(`The ${task} answer ${problem}`);
    this.name = 'MalformedAnswerError';
  }
}

/** Reads the classifier's JSON answer, bare or inside a ``` fence, with or without prose around it. */
export function parseClassification(text: string): Classification {
  const source = /```[a-z]*\s*([\s\S]*?)```/i.exec(text)?.[1] ?? text;
  const start = source.indexOf('{');
  const end = source.lastIndexOf('}');
  if (start === -1 || end < start)
    throw new MalformedAnswerError(MAILBOX_CLASSIFY_TASK, `holds no JSON object: "${preview(text)}"`);
  let value: unknown;
  try {
    value = JSON.parse(source.slice(start, end + 1));
  } catch (error) {
    throw new MalformedAnswerError(
      MAILBOX_CLASSIFY_TASK,
      `is not valid JSON (${(error as Error).message}): "${preview(text)}"`,
    );
  }
  const parsed = classificationSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'answer'}: ${i.message}`);
    throw new MalformedAnswerError(
      MAILBOX_CLASSIFY_TASK,
      `does not have the expected fields: ${problems.join('; ')}`,
    );
  }
  return parsed.data;
}

function preview(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
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
