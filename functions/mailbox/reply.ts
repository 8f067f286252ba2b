import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { redactSensitive, SENSITIVE_KINDS } from '../ai/sensitive';
import { defaultTemplateDirectory } from '../ai/templates';
import { InvalidInputError } from '../platform/errors';
import { MAX_PROMPT_SUBJECT_CHARS, MAX_PROMPT_TEXT_CHARS } from './classification';
import {
  KNOWLEDGE_CATEGORIES,
  MAIL_LANGUAGES,
  type Category,
  type KnowledgeDocument,
  type MailLanguage,
} from './knowledge';
import { normaliseAddress, singleLine, type ParsedMail } from './message';
import { isMessageId } from '../email/message';

/** The AI task that writes an answer; its prompt is `prompts/mailbox-reply.*`. */
export const MAILBOX_REPLY_TASK = 'mailbox-reply';

// --- templates ---------------------------------------------------------------------------------------

const fullTemplate = z
  .object({
    /** `{name}` stands for the sender's name. */
    greeting: z.string().min(1),
    greetingWithoutName: z.string().min(1),
    intro: z.string(),
    /** What the answer says when the documents do not answer the question: a person will. */
    noAnswer: z.string().min(1),
    /** Says the answer was written automatically and how to reach a person. */
    notice: z.string(),
    closing: z.string().min(1),
    signature: z.string().min(1),
  })
  .strict();
const partialTemplate = fullTemplate.partial();
const languageTemplates = z
  .object({
    default: fullTemplate,
    programme: partialTemplate.optional(),
    horaires: partialTemplate.optional(),
    inscription: partialTemplate.optional(),
    autre: partialTemplate.optional(),
  } satisfies Record<Category | 'default', z.ZodType>)
  .strict();
const templatesFile = z.object({ fr: languageTemplates, en: languageTemplates }).strict();

export type ReplyTemplate = z.infer<typeof fullTemplate>;

export interface ReplyTemplates {
  /** The category's template in the language: its own fields over the language's defaults. */
  get(category: Category, language: MailLanguage): ReplyTemplate;
}

export const REPLY_TEMPLATES_FILE = 'mailbox-templates.json';

/**
 * The reply templates (greeting, closing, signature… per language, with per-category overrides),
 * kept in `prompts/mailbox-templates.json` so a school edits them without touching code. Their text
 * is not a grounding source: it must not state hours, dates, prices, phones, addresses or URLs.
 */
export function loadReplyTemplates(directory = defaultTemplateDirectory()): ReplyTemplates {
  const file = path.join(directory, REPLY_TEMPLATES_FILE);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InvalidInputError(file, `cannot be read as JSON: ${(error as Error).message}`);
  }
  const parsed = templatesFile.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInputError(file, `${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim());
  }
  const templates = parsed.data;
  return {
    get: (category, language) => ({ ...templates[language].default, ...templates[language][category] }),
  };
}

let defaultTemplates: ReplyTemplates | undefined;

/** The category's reply template from the app's `prompts/mailbox-templates.json` (read once). */
export function replyTemplate(category: Category, language: MailLanguage): ReplyTemplate {
  return (defaultTemplates ??= loadReplyTemplates()).get(category, language);
}

// --- the task's variables ------------------------------------------------------------------------------

export const replyVariablesSchema = z.object({
  subject: z.string(),
  text: z.string(),
  fromName: z.string(),
  category: z.enum(KNOWLEDGE_CATEGORIES),
  language: z.enum(MAIL_LANGUAGES),
  documents: z.array(z.object({ title: z.string(), body: z.string() })),
  template: fullTemplate,
});
export type ReplyVariables = z.infer<typeof replyVariablesSchema>;

/**
 * The `mailbox-reply` variables, size-capped. The sender's personal data (addresses, phone numbers,
 * IBANs, social security numbers) is removed here rather than by the template, because the documents
 * must keep the school's own phone number and addresses for the answer to quote them.
 */
export function replyVariables(input: {
  mail: ParsedMail;
  category: Category;
  language: MailLanguage;
  documents: readonly KnowledgeDocument[];
  template?: ReplyTemplate;
}): ReplyVariables {
  const { mail, category, language } = input;
  const redact = (text: string) => redactSensitive(text, SENSITIVE_KINDS).text;
  return {
    subject: redact(mail.subject.slice(0, MAX_PROMPT_SUBJECT_CHARS)),
    text: redact(mail.text.slice(0, MAX_PROMPT_TEXT_CHARS)),
    fromName: greetingName(mail.from?.name),
    category,
    language,
    documents: input.documents.map(({ title, body }) => ({ title, body })),
    template: input.template ?? replyTemplate(category, language),
  };
}

/** The display name fit for "Bonjour …," (none when it is an address or too long to be a name). */
function greetingName(name: string | undefined): string {
  const clean = (name ?? '').replace(/^["'“”«»\s]+|["'“”«»\s]+$/g, '');
  if (!clean || clean.includes('@') || clean.length > 80) return '';
  return clean;
}

// --- the reply ---------------------------------------------------------------------------------------

export interface ReplyDraft {
  /** The one recipient: see replyRecipient. */
  to: string;
  subject: string;
  text: string;
  /** Message-IDs without `<>`, as the email capability takes them. */
  messageId: string;
  inReplyTo?: string;
  references: string[];
  /** The loop-prevention headers (never To, Subject or the threading ids: those have their own fields). */
  headers: Record<string, string>;
}

export interface OurIdentity {
  address: string;
  domain: string;
}

/** References kept in a reply: the thread's first id and the latest ones (RFC 5322 §3.6.4 allows trimming). */
export const MAX_REFERENCES = 20;
const MAX_SUBJECT_CHARS = 250;

const emailAddress = z.email();

/**
 * Who the answer goes to: one address only, never a copy to the other recipients. Ours is a service
 * response meant for the person who asked (RFC 3834 §4), so it goes where a person's reply would:
 * the first Reply-To address when there is one and it is not ours, else From. Undefined when neither
 * is usable.
 */
export function replyRecipient(mail: ParsedMail, us: Pick<OurIdentity, 'address'>): string | undefined {
  const ours = normaliseAddress(us.address)?.toLowerCase();
  // Also an address the outbound email capability accepts (zod's email check), so a reply is never
  // written to an address no provider would take.
  const usable = (address: string | undefined) => {
    const normal = normaliseAddress(address);
    return normal && normal.toLowerCase() !== ours && emailAddress.safeParse(normal).success
      ? normal
      : undefined;
  };
  return usable(mail.replyTo?.address) ?? usable(mail.from?.address);
}

// Reply and forward prefixes as mail clients write them: Re, RE, Re[2], Réf., AW (German), SV
// (Nordic), Antw (Dutch), TR (French Outlook forward), Fw, Fwd, WG (German forward).
const SUBJECT_PREFIXES =
  /^(?:\s*(?:re|réf|ref|aw|sv|antw|tr|fw|fwd|wg)\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*\.?\s*:)+\s*/iu;

/** The subject without its reply and forward prefixes, on one line: what names the thread. */
export function baseSubject(subject: string): string {
  return singleLine(subject).replace(SUBJECT_PREFIXES, '').trim();
}

/**
 * The answer to a mail, with its headers (RFC 3834 §3.1): `Re: <subject>` once, In-Reply-To the
 * original Message-ID, References its References (or In-Reply-To) then its Message-ID,
 * `Auto-Submitted: auto-replied`, `X-Auto-Response-Suppress: All` (Exchange's out-of-office replies
 * honour it), and `X-Loop` with our address, so our own rules recognise an answer that comes back.
 * No `Precedence: bulk`: it is not a standard, and filters take it for mass mail, while the loops it
 * would guard against are stopped by the rules and the per-sender cooldown. `makeId` gives the
 * Message-ID's local part (or a whole `local@domain`); values from the incoming mail are checked so
 * that none brings a line break into our headers.
 */
export function composeReply(
  mail: ParsedMail,
  text: string,
  us: OurIdentity,
  makeId: () => string,
): ReplyDraft {
  const to = replyRecipient(mail, us);
  if (!to) throw new InvalidInputError('from', 'the mail has no address an answer could go to');
  const body = text
    .replace(/\r\n?/g, '\n')
    .replace(/[^\P{Cc}\t\n]/gu, '')
    .trim();
  if (!body) throw new InvalidInputError('text', 'the answer is empty');

  const made = makeId();
  const messageId = made.includes('@') ? made : `${made}@${us.domain.toLowerCase()}`;
  if (!isMessageId(messageId)) throw new Error(`"${messageId}" is not a usable Message-ID.`);
  const original = mail.messageId && isMessageId(mail.messageId) ? mail.messageId : undefined;
  const parentIds = mail.references.length > 0 ? mail.references : mail.inReplyTo ? [mail.inReplyTo] : [];
  const chain = [...new Set([...parentIds, ...(original ? [original] : [])].filter(isMessageId))];
  const references =
    chain.length > MAX_REFERENCES ? [chain[0] as string, ...chain.slice(-(MAX_REFERENCES - 1))] : chain;
  const subject = `Re: ${baseSubject(mail.subject).slice(0, MAX_SUBJECT_CHARS)}`.trim();

  return {
    to,
    subject,
    text: body,
    messageId,
    ...(original ? { inReplyTo: original } : {}),
    references,
    headers: {
      'Auto-Submitted': 'auto-replied',
      'X-Auto-Response-Suppress': 'All',
      'X-Loop': singleLine(us.address),
    },
  };
}
