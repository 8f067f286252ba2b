import { z } from 'zod';
import { InvalidInputError } from '../platform/errors';

/** One email to send, as a capability asks for it. */
export interface OutgoingEmail {
  /** Idempotency key chosen by the caller (e.g. `mailbox-reply:<ledger id>`): one send per key, ever. */
  key: string;
  /** What it is, for the record: `mailbox-reply`, `alert`, … */
  kind: string;
  /** Exactly one recipient address. */
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** RFC 5322 Message-ID to set, without `<>` (callers make it in their own domain). */
  messageId?: string;
  /** Message-ID of the mail answered, without `<>`. */
  inReplyTo?: string;
  /** Message-IDs of the thread, without `<>`. */
  references?: string[];
  /** Extra headers, e.g. `Auto-Submitted`, `X-Auto-Response-Suppress`. */
  headers?: Record<string, string>;
}

/** Limits keep a request well under ACS's 10 MB and any SMTP server's usual 25 MB. */
export const EMAIL_LIMITS = {
  keyChars: 200,
  subjectChars: 998,
  bodyChars: 1024 * 1024,
  references: 50,
  headers: 20,
  headerValueChars: 998,
} as const;

/**
 * Headers the message's own fields set, or the provider does: a caller's `headers` may not set them,
 * so a reply cannot be redirected or forged through them.
 */
const RESERVED_HEADERS = new Set([
  'from',
  'sender',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'subject',
  'date',
  'message-id',
  'in-reply-to',
  'references',
  'return-path',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
]);

/** Whether `text` holds a C0 control character or DEL (a tab too, unless `allowTab`). */
function hasControl(text: string, allowTab = false): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && !(allowTab && code === 0x09)) || code === 0x7f) return true;
  }
  return false;
}
// RFC 7230 token: the characters every mail and HTTP stack accepts in a header name.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,76}$/;
// RFC 5322 msg-id without the angle brackets: dot-atom-text "@" dot-atom-text (no-fold-literal left out).
const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const MESSAGE_ID = new RegExp(`^${ATOM}(\\.${ATOM})*@${ATOM}(\\.${ATOM})*$`);

const MAX_MESSAGE_ID = 250;

/** Whether `id` is a Message-ID this capability sends as given (RFC 5322 msg-id, without `<>`). */
export const isMessageId = (id: string): boolean => id.length <= MAX_MESSAGE_ID && MESSAGE_ID.test(id);

const messageId = z
  .string()
  .max(MAX_MESSAGE_ID, `must be at most ${MAX_MESSAGE_ID} characters`)
  .regex(MESSAGE_ID, 'must be a Message-ID like id@domain.example, without < >');

const singleLine = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((v) => !hasControl(v), 'must be one line with no control characters');

const recipient = z
  .string()
  .trim()
  .refine((v) => !/[,;]/.test(v), 'must be exactly one recipient')
  .pipe(z.email({ message: 'must be an email address' }));

const body = z.string().max(EMAIL_LIMITS.bodyChars, `must be at most ${EMAIL_LIMITS.bodyChars} characters`);

const outgoingEmail = z.strictObject({
  key: singleLine(EMAIL_LIMITS.keyChars),
  kind: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be lowercase letters, digits and hyphens (at most 64)'),
  to: recipient,
  subject: singleLine(EMAIL_LIMITS.subjectChars),
  text: body,
  html: body.optional(),
  messageId: messageId.optional(),
  inReplyTo: messageId.optional(),
  references: z
    .array(messageId)
    .max(EMAIL_LIMITS.references, `must list at most ${EMAIL_LIMITS.references} Message-IDs`)
    .optional(),
  headers: z
    .record(z.string(), z.string())
    .superRefine((headers, ctx) => {
      const names = Object.keys(headers);
      if (names.length > EMAIL_LIMITS.headers) {
        ctx.addIssue({ code: 'custom', message: `must hold at most ${EMAIL_LIMITS.headers} headers` });
      }
      for (const [name, value] of Object.entries(headers)) {
        const problem = !HEADER_NAME.test(name)
          ? 'is not a valid header name'
          : RESERVED_HEADERS.has(name.toLowerCase())
            ? 'is set by the message itself (use its own field)'
            : // Folding whitespace may hold tabs; CR and LF would start a header of the caller's own.
              hasControl(value, true)
              ? 'must have no CR, LF or other control character'
              : value.length > EMAIL_LIMITS.headerValueChars
                ? `must be at most ${EMAIL_LIMITS.headerValueChars} characters`
                : undefined;
        if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
      }
    })
    .optional(),
});

function checked<T>(schema: z.ZodType<T>, input: unknown, prefix: string[]): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  const path = [...prefix, ...(issue?.path.map(String) ?? [])];
  throw new InvalidInputError(path.length ? path.join('.') : 'message', issue?.message ?? 'is invalid');
}

/** The message checked field by field; the first problem is an InvalidInputError naming the field. */
export function validateEmail(input: unknown): OutgoingEmail {
  return checked(outgoingEmail, input, []);
}

/** An idempotency key, checked as `send` checks it. */
export function validateKey(key: unknown): string {
  return checked(outgoingEmail.shape.key, key, ['key']);
}

/** Addresses compare case-insensitively in practice (the local part is case-sensitive only in theory). */
export function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}

/** `<id>`: the form headers carry a Message-ID in. */
export const bracketed = (id: string): string => `<${id}>`;
