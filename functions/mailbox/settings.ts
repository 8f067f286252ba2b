import { z } from 'zod';
import {
  defineSettings,
  optionalBoolean,
  optionalEmail,
  optionalEnum,
  optionalSchedule,
  optionalText,
  wholeNumber,
} from '../platform/settings';

export interface MailboxSettings {
  /** False when no IMAP host is set: the poll timer then does nothing and says so once. */
  enabled: boolean;
  imap: {
    host: string;
    port: number;
    tls: boolean;
    user: string;
    /** `password`: LOGIN with MAILBOX_PASSWORD; `entra`: XOAUTH2 with a token of the app's identity. */
    auth: 'password' | 'entra';
    password: string | undefined;
  };
  /** The mailbox's own address: replies come from it; mail from it is never answered. */
  address: string;
  folder: string;
  pollSchedule: string;
  replyMode: 'send' | 'draft';
  minConfidence: number;
  senderCooldownHours: number;
  maxRepliesPerHour: number;
  maxMessageBytes: number;
}

const DEFAULT_SCHEDULE = '0 */2 * * * *';

export const mailboxSettings = defineSettings({
  entries: {
    MAILBOX_IMAP_HOST: {
      schema: optionalText,
      required: 'to poll',
      doc: 'IMAP server of the school mailbox (`outlook.office365.com`, `imap.gmail.com`, …). Unset: the mailbox responder is off.',
    },
    MAILBOX_IMAP_PORT: {
      schema: wholeNumber(1, 65_535, 'port'),
      default: '`993` (`143` without TLS)',
      doc: 'IMAP port.',
    },
    MAILBOX_IMAP_TLS: {
      schema: optionalBoolean,
      default: '`true`',
      doc: '`true`: implicit TLS (IMAPS); `false`: STARTTLS, required unless the server is on this machine (where plain IMAP is allowed, for local test servers).',
    },
    MAILBOX_USER: {
      schema: optionalText,
      required: 'to poll',
      doc: 'IMAP user name (often the address).',
    },
    MAILBOX_PASSWORD: {
      schema: optionalText,
      secret: true,
      required: 'for `password`',
      doc: 'IMAP password or app password.',
    },
    MAILBOX_AUTH: {
      schema: optionalEnum(['password', 'entra']),
      default: '`password`',
      doc: '`password`, or `entra`: Microsoft 365 has turned basic auth off, so the app gets a token for `https://outlook.office365.com/.default` with its managed identity and signs in with XOAUTH2.',
    },
    MAILBOX_ADDRESS: {
      schema: optionalEmail,
      required: 'to poll',
      doc: "The mailbox's own address: replies are sent from it, mail from it is never answered, and reply Message-IDs use its domain.",
    },
    MAILBOX_FOLDER: { schema: optionalText, default: '`INBOX`', doc: 'The folder polled.' },
    MAILBOX_POLL_SCHEDULE: {
      schema: optionalSchedule,
      default: `\`${DEFAULT_SCHEDULE}\` (every 2 minutes)`,
      doc: 'NCRONTAB schedule of the `mailboxPoll` timer (six fields, UTC).',
    },
    MAILBOX_REPLY_MODE: {
      schema: optionalEnum(['send', 'draft']),
      default: '`send`',
      doc: '`send`: answers go out; `draft`: every answer waits for a person (`POST /api/mailbox/messages/{id}/approve`).',
    },
    MAILBOX_MIN_CONFIDENCE: {
      schema: z.preprocess(
        (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
        z.coerce
          .number({ message: 'must be a number from 0 to 1' })
          .min(0, 'must be at least 0')
          .max(1, 'must be at most 1')
          .optional(),
      ),
      default: '`0.7`',
      doc: 'Classification confidence under which the answer becomes a draft.',
    },
    MAILBOX_SENDER_COOLDOWN_HOURS: {
      schema: wholeNumber(0, 24 * 365, 'hours'),
      default: '`24`',
      doc: 'A sender already answered in the same thread within this time is not answered again.',
    },
    MAILBOX_MAX_REPLIES_PER_HOUR: {
      schema: wholeNumber(1, 100_000, 'replies'),
      default: '`100`',
      doc: 'Past this many replies sent in the last hour, answers become drafts.',
    },
    MAILBOX_MAX_MESSAGE_BYTES: {
      schema: wholeNumber(1024, 50 * 1024 * 1024, 'bytes'),
      default: '`1048576` (1 MiB)',
      doc: 'A larger mail is recorded and left for a person, not fetched or answered.',
    },
  },
  refine: (s, issue) => {
    if (!s.MAILBOX_IMAP_HOST) return;
    if (!s.MAILBOX_USER) issue('MAILBOX_USER', 'is required when MAILBOX_IMAP_HOST is set');
    if (!s.MAILBOX_ADDRESS) issue('MAILBOX_ADDRESS', 'is required when MAILBOX_IMAP_HOST is set');
    if ((s.MAILBOX_AUTH ?? 'password') === 'password' && !s.MAILBOX_PASSWORD)
      issue('MAILBOX_PASSWORD', 'is required with MAILBOX_AUTH=password');
  },
  build: (s): MailboxSettings => {
    const tls = s.MAILBOX_IMAP_TLS !== 'false';
    return {
      enabled: Boolean(s.MAILBOX_IMAP_HOST),
      imap: {
        host: s.MAILBOX_IMAP_HOST ?? '',
        port: s.MAILBOX_IMAP_PORT ?? (tls ? 993 : 143),
        tls,
        user: s.MAILBOX_USER ?? '',
        auth: s.MAILBOX_AUTH ?? 'password',
        password: s.MAILBOX_PASSWORD,
      },
      address: s.MAILBOX_ADDRESS ?? '',
      folder: s.MAILBOX_FOLDER ?? 'INBOX',
      pollSchedule: s.MAILBOX_POLL_SCHEDULE ?? DEFAULT_SCHEDULE,
      replyMode: s.MAILBOX_REPLY_MODE ?? 'send',
      minConfidence: s.MAILBOX_MIN_CONFIDENCE ?? 0.7,
      senderCooldownHours: s.MAILBOX_SENDER_COOLDOWN_HOURS ?? 24,
      maxRepliesPerHour: s.MAILBOX_MAX_REPLIES_PER_HOUR ?? 100,
      maxMessageBytes: s.MAILBOX_MAX_MESSAGE_BYTES ?? 1024 * 1024,
    };
  },
});
