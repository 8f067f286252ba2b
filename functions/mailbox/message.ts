import { convert as htmlToText } from 'html-to-text';
import PostalMime from 'postal-mime';
import { TooLargeError } from '../platform/errors';

export interface MailAddress {
  address: string;
  name?: string;
}

/** One incoming mail, reduced to what the rules, the classifier and the reply need. */
export interface ParsedMail {
  /** Without the angle brackets. */
  messageId?: string;
  inReplyTo?: string;
  references: string[];
  from: MailAddress | undefined;
  replyTo?: MailAddress;
  /** `null` for the null sender (`Return-Path: <>`), undefined when the header is absent. */
  returnPath?: string | null;
  to: string[];
  cc: string[];
  subject: string;
  date?: Date;
  /** Plain text: the text/plain part, or the HTML made readable; quoted history cut where clearly marked. */
  text: string;
  /** Top-level headers, lower-case names, every value in order (unfolded, not decoded). */
  headers: Map<string, string[]>;
  /** The top-level Content-Type, e.g. `multipart/report; report-type=delivery-status`. */
  contentType: string;
}

/** The largest mail parseMail accepts when the caller names no cap (the highest MAILBOX_MAX_MESSAGE_BYTES). */
export const MAX_MAIL_BYTES = 50 * 1024 * 1024;
// Far below postal-mime's defaults: a school's mail nests a few parts deep, and a hostile one should
// fall back to the headers-only parse instead of keeping the parser busy.
const PARSER_LIMITS = { maxNestingDepth: 32, maxHeadersSize: 256 * 1024, maxRfc822NestingDepth: 3 };
const MAX_ID_LENGTH = 250;
const MAX_SUBJECT_LENGTH = 1000;

/**
 * Parses a raw mail with postal-mime. Content never makes it throw: malformed MIME, bad headers and
 * unknown charsets give a best-effort result (at worst the headers and the body as text). Only a mail
 * over the cap is refused, with a clear error, before any parsing.
 */
export async function parseMail(raw: Buffer, options: { maxBytes?: number } = {}): Promise<ParsedMail> {
  const maxBytes = options.maxBytes ?? MAX_MAIL_BYTES;
  if (raw.length > maxBytes) throw new TooLargeError(`The mail (${raw.length} bytes)`, maxBytes);
  const input = withUtf8Headers(raw);
  let email: PostalMime.Email;
  try {
    email = await PostalMime.parse(input, PARSER_LIMITS);
  } catch {
    email = await headersOnly(input);
  }
  return toParsedMail(email);
}

/** When the full parse gives up (nesting, oversized parts), the headers and the raw body still say who wrote what. */
async function headersOnly(input: Buffer): Promise<PostalMime.Email> {
  const end = headerEnd(input);
  const body = input.subarray(end).toString('utf8');
  try {
    const email = await PostalMime.parse(Buffer.concat([input.subarray(0, end), Buffer.from('\r\n')]), {
      ...PARSER_LIMITS,
      maxHeadersSize: 4 * PARSER_LIMITS.maxHeadersSize,
    });
    return { ...email, text: body, html: undefined };
  } catch {
    return { headers: [], headerLines: [], attachments: [], text: body };
  }
}

function toParsedMail(email: PostalMime.Email): ParsedMail {
  const headers = new Map<string, string[]>();
  for (const { key, value } of email.headers) {
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(key)) continue; // not a header name: a malformed line
    headers.set(key, [...(headers.get(key) ?? []), value]);
  }
  const first = (name: string) => headers.get(name)?.[0];
  const references = messageIds(first('references') ?? '');
  const replyTo = mailboxes(email.replyTo)[0];
  const date = email.date ? new Date(email.date) : undefined;
  return {
    ...optional('messageId', messageIds(first('message-id') ?? '')[0]),
    ...optional('inReplyTo', messageIds(first('in-reply-to') ?? '')[0]),
    references,
    from: mailboxes(email.from ? [email.from] : [])[0],
    ...optional('replyTo', replyTo),
    ...optional('returnPath', returnPath(first('return-path'))),
    to: mailboxes(email.to).map((m) => m.address),
    cc: mailboxes(email.cc).map((m) => m.address),
    subject: singleLine(email.subject ?? '').slice(0, MAX_SUBJECT_LENGTH),
    ...optional('date', date && !Number.isNaN(date.getTime()) ? date : undefined),
    text: bodyText(email),
    headers,
    contentType: singleLine(first('content-type') ?? 'text/plain'),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

// --- 8-bit headers -------------------------------------------------------------------------------

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const windows1252 = new TextDecoder('windows-1252');

/**
 * Headers must be ASCII, but mailers send raw 8-bit ones with no charset. postal-mime reads them as
 * UTF-8; a line that is not valid UTF-8 is taken for Windows-1252 (the superset of Latin-1 that
 * French mailers use) and rewritten as UTF-8, so `Réunion` stays `Réunion` instead of `R�union`.
 */
function withUtf8Headers(raw: Buffer): Buffer {
  const end = headerEnd(raw);
  const header = raw.subarray(0, end);
  if (!header.some((byte) => byte >= 0x80)) return raw;
  const lines: Buffer[] = [];
  let start = 0;
  while (start < header.length) {
    const newline = header.indexOf(0x0a, start);
    const stop = newline === -1 ? header.length : newline + 1;
    lines.push(asUtf8(header.subarray(start, stop)));
    start = stop;
  }
  return Buffer.concat([...lines, raw.subarray(end)]);
}

function asUtf8(line: Buffer): Buffer {
  if (!line.some((byte) => byte >= 0x80)) return line;
  try {
    strictUtf8.decode(line);
    return line;
  } catch {
    return Buffer.from(windows1252.decode(line), 'utf8');
  }
}

/** The offset just past the blank line that ends the top-level header (the whole input when there is none). */
function headerEnd(raw: Buffer): number {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf === -1 && lf === -1) return raw.length;
  return lf === -1 || (crlf !== -1 && crlf < lf) ? crlf + 4 : lf + 2;
}

// --- header values ---------------------------------------------------------------------------------

/** Removes line breaks and control characters: values copied from a mail may end up in our headers. */
export function singleLine(value: string): string {
  return value
    .replace(/\p{Cc}+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

// An address we can write back into a header: no spaces, brackets or controls, one @, a dotted domain.
const ADDRESS = /^[^\s<>()[\]\\,;:"@\p{Cc}]+@[A-Za-z0-9\u00a1-\uffff-]+(?:\.[A-Za-z0-9\u00a1-\uffff-]+)+$/u;

/** The address in a canonical form (domain lower-cased), or undefined when it is not a usable address. */
export function normaliseAddress(value: string | undefined): string | undefined {
  const trimmed = (value ?? '').trim();
  if (!ADDRESS.test(trimmed) || trimmed.length > 254) return undefined;
  const at = trimmed.lastIndexOf('@');
  return `${trimmed.slice(0, at)}@${trimmed.slice(at + 1).toLowerCase()}`;
}

function mailboxes(addresses: readonly PostalMime.Address[] | undefined): MailAddress[] {
  const result: MailAddress[] = [];
  for (const entry of addresses ?? []) {
    for (const mailbox of entry.group ?? [entry]) {
      const address = normaliseAddress(mailbox.address);
      if (!address) continue;
      const name = singleLine(mailbox.name ?? '');
      result.push(name ? { address, name } : { address });
    }
  }
  return result;
}

/** The ids of a Message-ID, In-Reply-To or References value, without brackets. */
function messageIds(value: string): string[] {
  const bracketed = [...value.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1] as string);
  const ids = bracketed.length > 0 ? bracketed : value.split(/[\s,]+/);
  return ids.filter((id) => /^[\x21-\x7e]+$/.test(id) && id.length <= MAX_ID_LENGTH && !/[<>]/.test(id));
}

function returnPath(value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  const inner = /<([^>]*)>/.exec(value)?.[1] ?? value;
  if (inner.trim() === '') return null;
  return normaliseAddress(inner) ?? singleLine(inner);
}

// --- body --------------------------------------------------------------------------------------------

function bodyText(email: PostalMime.Email): string {
  const plain = (email.text ?? '').trim();
  const text = plain || (email.html ? readableHtml(email.html) : '');
  return withoutQuotedHistory(text.replace(/\r\n?/g, '\n'))
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** HTML made readable as plain text: no tags, entities decoded, scripts, styles and images dropped. */
export function readableHtml(html: string): string {
  return htmlToText(html, {
    wordwrap: false,
    // html-to-text bounds its own work: a hostile page cannot keep it busy.
    limits: { maxInputLength: 2_000_000, maxDepth: 64 },
    selectors: [
      { selector: 'a', options: { hideLinkHrefIfSameAsText: true, ignoreHref: false } },
      { selector: 'img', format: 'skip' },
      { selector: 'h1', options: { uppercase: false } },
      { selector: 'h2', options: { uppercase: false } },
      { selector: 'h3', options: { uppercase: false } },
      { selector: 'table', format: 'dataTable' },
    ],
  });
}

// Lines that open the quoted previous message, as mail clients write them (French and English).
const HISTORY_MARKERS = [
  /^-{2,}\s*(original message|message d'origine|message original)\s*-{2,}$/i,
  /^_{10,}$/, // Outlook's rule above "From: … Sent: …"
  /^(on|le)\s.{4,200}\s(wrote|a écrit)\s?:$/i,
];
// A forwarded message is the question itself: nothing after its marker is cut.
const FORWARD_MARKER =
  /(forwarded message|message transf[ée]r[ée]|begin forwarded message|d[ée]but du message r[ée]exp[ée]di[ée])/i;
const OUTLOOK_FROM = /^\*?(from|de)\s?:\*?\s.+/i;
const OUTLOOK_SENT = /^\*?(sent|envoyé|date)\s?:\*?\s.+/i;

/**
 * Cuts the quoted history of a reply where a client clearly marked it: an "On … wrote:" / "Le … a
 * écrit :" line, an "Original message" rule, an Outlook "From: / Sent:" block, or a trailing block of
 * `>` lines. Forwarded messages are kept (their content is the question). Nothing is cut when it
 * would leave no text.
 */
export function withoutQuotedHistory(text: string): string {
  const lines = text.split('\n');
  let cut = lines.length;
  for (let i = 1; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (FORWARD_MARKER.test(line)) break;
    const joined = `${line} ${(lines[i + 1] ?? '').trim()}`.trim();
    const outlook =
      OUTLOOK_FROM.test(line) && lines.slice(i + 1, i + 4).some((l) => OUTLOOK_SENT.test(l.trim()));
    if (HISTORY_MARKERS.some((marker) => marker.test(line) || marker.test(joined)) || outlook) {
      cut = i;
      break;
    }
  }
  let kept = lines.slice(0, cut);
  // A trailing run of quoted lines (and blank lines between them) is history too.
  let end = kept.length;
  while (end > 0 && /^\s*(>.*)?$/.test(kept[end - 1] as string)) end--;
  if (kept.slice(end).some((line) => line.trim().startsWith('>'))) kept = kept.slice(0, end);
  const result = kept.join('\n').trim();
  return result ? result : text;
}
