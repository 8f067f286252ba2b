import type { ParsedMail } from './message';
import { replyRecipient } from './reply';

export type SkipReason =
  | 'auto-submitted'
  | 'precedence'
  | 'list'
  | 'auto-response-suppressed'
  | 'loop'
  | 'null-sender'
  | 'delivery-report'
  | 'system-sender'
  | 'own-address'
  | 'own-thread'
  | 'no-sender';

export interface Us {
  /** The mailbox's own address. */
  address: string;
  domain: string;
  /** The domain of the Message-IDs our replies carry. */
  ourMessageIdDomain: string;
}

// Local parts of senders that are machines or lists (Dovecot's vacation, Zammad, RFC 3834 §2).
const SYSTEM_NAMES = new Set(['mailer-daemon', 'postmaster', 'listserv', 'majordomo']);
const SYSTEM_PREFIXES = ['owner-'];
const SYSTEM_SUFFIXES = ['-request', '-owner', '-bounces'];
// "noreply" and its spellings as a word of the local part: noreply@, no-reply-alerts@, billing.noreply@.
const NO_REPLY = /(?:^|[._+-])(?:no-?reply|do-?not-?reply|no_reply|do_not_reply)(?:$|[._+-])/;

/** Exchange's X-Auto-Response-Suppress values that ask an auto-responder to stay silent. */
const SUPPRESSING = new Set(['all', 'oof', 'autoreply']);

/**
 * Why a mail must not be answered, or undefined when it may be. Pure: what the mail says and who we
 * are. Per-sender cooldown and the hourly cap need the ledger and are checked by the caller.
 */
export function whyNotAnswer(mail: ParsedMail, us: Us): SkipReason | undefined {
  const header = (name: string) => mail.headers.get(name) ?? [];
  const values = (name: string) => header(name).map((v) => withoutComments(v).toLowerCase());
  const ourAddress = us.address.trim().toLowerCase();

  if (mail.returnPath === null) return 'null-sender';
  if (mediaType(mail.contentType) === 'multipart/report') return 'delivery-report';
  // RFC 3834 §2: anything but "no" (auto-generated, auto-replied, auto-notified, unknown values).
  if (values('auto-submitted').some((v) => v !== 'no')) return 'auto-submitted';
  if (values('x-auto-response-suppress').some((v) => v.split(/[\s,]+/).some((t) => SUPPRESSING.has(t))))
    return 'auto-response-suppressed';
  if (values('precedence').some((v) => ['bulk', 'list', 'junk'].includes(v))) return 'precedence';
  if ([...mail.headers.keys()].some((name) => name.startsWith('list-'))) return 'list';
  // Our own X-Loop coming back, or the `X-Loop: yes` other helpdesks set.
  if (values('x-loop').some((v) => v.includes(ourAddress) || v === 'yes' || v === 'true')) return 'loop';

  if (!mail.from) return 'no-sender';
  if (mail.from.address.toLowerCase() === ourAddress) return 'own-address';
  const recipient = replyRecipient(mail, us);
  if (!recipient) return 'no-sender';
  const senders = [mail.from.address, recipient, ...(mail.returnPath ? [mail.returnPath] : [])];
  if (senders.some(isSystemAddress)) return 'system-sender';

  const ourDomain = us.ourMessageIdDomain.toLowerCase();
  const thread = [...(mail.inReplyTo ? [mail.inReplyTo] : []), ...mail.references];
  if (thread.some((id) => id.slice(id.lastIndexOf('@') + 1).toLowerCase() === ourDomain)) return 'own-thread';
  return undefined;
}

/** A sender no person reads: mailer daemons, list robots, no-reply addresses (case-insensitive). */
export function isSystemAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  const local = (at === -1 ? address : address.slice(0, at)).toLowerCase();
  return (
    SYSTEM_NAMES.has(local) ||
    SYSTEM_PREFIXES.some((prefix) => local.startsWith(prefix)) ||
    SYSTEM_SUFFIXES.some((suffix) => local.endsWith(suffix)) ||
    NO_REPLY.test(local)
  );
}

/** `multipart/report; report-type=…` → `multipart/report`. */
function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/** A structured header value without its RFC 5322 comments: `auto-replied (vacation)` → `auto-replied`. */
function withoutComments(value: string): string {
  return value.replace(/\([^()]*\)/g, ' ').trim();
}
