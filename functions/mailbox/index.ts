import type { TokenCredential } from '@azure/identity';
import type { AiClient } from '../ai/aiClient';
import type { Email, OutgoingEmail } from '../email';
import { ConflictError, InvalidInputError, NotFoundError } from '../platform/errors';
import type { StorageClients } from '../platform/storage';
import { CONTAINERS, QUEUES, TABLES } from '../platform/storageNames';
import { imapConnector, type ImapSession } from './imap';
import { KnowledgeBase } from './knowledge';
import {
  MailboxLedger,
  MAIL_CATEGORIES,
  MAIL_STATUSES,
  type LedgerEntry,
  type MailboxCheckpoint,
  type MailStatus,
} from './ledger';
import { MAILBOX_OFFLINE_GENERATORS } from './offline';
import { inParallel, pollMailbox, type PollResult } from './poll';
import { processMail, sendReply } from './process';
import type { MailboxSettings } from './settings';

export { mailboxSettings, type MailboxSettings } from './settings';
export { MAILBOX_OFFLINE_GENERATORS } from './offline';

export interface MailboxDependencies {
  settings: MailboxSettings;
  storage: StorageClients;
  ai: AiClient;
  /** Outbound email, built on first use. */
  email: () => MailSender;
  credential?: () => TokenCredential;
  clock?: () => Date;
  /** Where the poll and processing report what they did (the trigger's context log). */
  log?: (message: string) => void;
  /** Replaces the IMAP connection (the CLI's dry run reads the real mailbox through a read-only one). */
  connect?: () => Promise<ImapSession>;
  /** Replaces the storage names (the CLI's dry run keeps its ledger apart from the real one). */
  names?: { ledgerTable: string; rawContainer: string; queue: string };
}

/** What the mailbox needs of outbound email. */
export type MailSender = Pick<Email, 'provider' | 'send'>;

/** What the routes show of a mail. */
export interface MailView {
  id: string;
  messageId: string;
  from: string;
  subject: string;
  receivedAt: string;
  category: string | null;
  confidence: number | null;
  language: string | null;
  status: MailStatus;
  reason?: string;
  reply?: { to: string; subject: string; text: string; sentAt?: string };
}

export interface MailboxStats {
  byStatus: Record<string, number>;
  byCategory: Record<string, number>;
  /** Median seconds from receipt to the answer being sent, over replied mails; null when none. */
  medianSecondsToAnswer: number | null;
}

// A mail still pending this long after its last attempt lost its queue message (a crash between the
// ledger and the queue) or used up its deliveries while a dependency was down (the AI, the provider):
// the next poll queues it again. Processing ignores a mail no longer pending.
const REQUEUE_AFTER_MS = 10 * 60_000;
// After this many attempts in all a mail is recorded as failed, for a person, instead of retried forever.
const MAX_ATTEMPTS = 20;
const ID_PATTERN = /^[0-9a-f]{32}$/;

/** The school mailbox responder: polls IMAP, answers from the knowledge base, never twice. */
export function createMailbox(deps: MailboxDependencies) {
  const clock = deps.clock ?? (() => new Date());
  const log = deps.log ?? (() => undefined);
  const { settings, storage } = deps;
  const names = deps.names ?? {
    ledgerTable: TABLES.mailboxLedger,
    rawContainer: CONTAINERS.mailboxRaw,
    queue: QUEUES.mailboxIncoming,
  };
  const ledger = new MailboxLedger(storage.table(names.ledgerTable), clock);
  const raw = storage.blobs.getContainerClient(names.rawContainer);
  const knowledge = new KnowledgeBase(storage.blobs.getContainerClient(CONTAINERS.mailboxKnowledge), clock);
  const queue = storage.queues.getQueueClient(names.queue);
  let queueReady: Promise<unknown> | undefined;
  const enqueue = async (ids: string[]) => {
    queueReady ??= queue.createIfNotExists();
    await queueReady;
    // Base64, as the Functions queue trigger reads messages by default. A few at a time: a queue keeps
    // no strict order anyway, and one by one a burst of new mail would wait a round trip per mail.
    await inParallel(ids, async (id) => {
      await queue.sendMessage(Buffer.from(id).toString('base64'));
    });
  };
  const connect =
    deps.connect ??
    imapConnector(settings, { ...(deps.credential ? { credential: deps.credential() } : {}) });
  const processDeps = () => {
    const email = deps.email();
    return {
      settings,
      ledger,
      raw,
      knowledge,
      ai: deps.ai,
      send: email.provider !== 'none' ? (message: OutgoingEmail) => email.send(message) : undefined,
      clock,
    };
  };
  const entryOf = async (id: string) => {
    if (!ID_PATTERN.test(id)) throw new InvalidInputError('id', 'must be 32 hexadecimal characters');
    const entry = await ledger.get(id);
    if (!entry) throw new NotFoundError(`No mail ${id}.`);
    return entry;
  };

  return {
    offlineGenerators: MAILBOX_OFFLINE_GENERATORS,
    enabled: settings.enabled,

    /** The timer: new mail into the ledger and the queue; stale pending mail queued again. */
    pollMailbox: async (): Promise<PollResult & { requeued: number }> => {
      const result = await pollMailbox({ settings, ledger, raw, connect, enqueue, clock, log });
      const cutoff = clock().getTime() - REQUEUE_AFTER_MS;
      const stale = (await ledger.list({ status: 'pending', limit: 1000 })).filter(
        (e) => Date.parse(e.updatedAt) < cutoff && e.attempts < MAX_ATTEMPTS,
      );
      await enqueue(stale.map((e) => e.id));
      return { ...result, requeued: stale.length };
    },

    /**
     * The queue: answers one mail. A failure is retried by the queue, then by the poll's requeue; once
     * the mail has used MAX_ATTEMPTS it is recorded as `failed` with the reason, for a person.
     */
    processMail: async (message: string, delivery: { dequeueCount: number; maxDequeueCount: number }) => {
      const id = message.trim();
      if (!ID_PATTERN.test(id))
        throw new InvalidInputError('queue message', 'must be a ledger id (32 hexadecimal characters)');
      try {
        return await processMail(id, processDeps());
      } catch (error) {
        if (delivery.dequeueCount < delivery.maxDequeueCount) throw error;
        const entry = await ledger.get(id);
        if (entry?.status === 'pending' && entry.attempts >= MAX_ATTEMPTS) {
          const reason =
            error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
          await ledger.update(entry, { status: 'failed', reason: reason.slice(0, 500) });
        }
        throw error;
      }
    },

    listMessages: async (filter: {
      status?: string;
      category?: string;
      from?: string;
    }): Promise<MailView[]> => {
      if (filter.status && !(MAIL_STATUSES as readonly string[]).includes(filter.status))
        throw new InvalidInputError('status', `must be one of ${MAIL_STATUSES.join(', ')}`);
      if (filter.category && !(MAIL_CATEGORIES as readonly string[]).includes(filter.category))
        throw new InvalidInputError('category', `must be one of ${MAIL_CATEGORIES.join(', ')}`);
      const entries = await ledger.list({
        ...(filter.status ? { status: filter.status as MailStatus } : {}),
        ...(filter.category ? { category: filter.category } : {}),
        ...(filter.from ? { from: filter.from } : {}),
        limit: 500,
      });
      return entries.map(viewOf);
    },

    getMessage: async (id: string): Promise<MailView> => viewOf(await entryOf(id)),

    /** Sends a draft, with the text a person edited if given. */
    approve: async (id: string, editedText?: string): Promise<MailView> => {
      const entry = await entryOf(id);
      if (entry.status !== 'drafted' || !entry.reply)
        throw new ConflictError(`Mail ${id} is ${entry.status}: only a drafted answer can be approved.`);
      const done = await sendReply(entry, undefined, processDeps(), editedText?.trim() || undefined);
      return viewOf(await entryOf(done.id));
    },

    reject: async (id: string): Promise<MailView> => {
      const entry = await entryOf(id);
      if (entry.status !== 'drafted')
        throw new ConflictError(`Mail ${id} is ${entry.status}: only a drafted answer can be rejected.`);
      return viewOf(await ledger.update(entry, { status: 'skipped', reason: 'rejected' }));
    },

    stats: async (): Promise<MailboxStats> => {
      const entries = await ledger.list({ limit: 1000 });
      const count = (key: (e: LedgerEntry) => string) =>
        entries.reduce<Record<string, number>>(
          (acc, e) => ({ ...acc, [key(e)]: (acc[key(e)] ?? 0) + 1 }),
          {},
        );
      const delays = entries
        .filter((e) => e.status === 'replied' && e.reply?.sentAt)
        .map((e) => (Date.parse(e.reply?.sentAt ?? '') - Date.parse(e.receivedAt)) / 1000)
        .sort((a, b) => a - b);
      return {
        byStatus: count((e) => e.status),
        byCategory: count((e) => e.category ?? 'unclassified'),
        medianSecondsToAnswer: median(delays),
      };
    },

    /** Mails whose reply was sent within the range (of the latest 1,000 replied): the console's headline. */
    answeredBetween: async (from: Date, to: Date): Promise<number> =>
      (await ledger.list({ status: 'replied', limit: 1000 })).filter((e) => {
        const sent = Date.parse(e.reply?.sentAt ?? '');
        return sent >= from.getTime() && sent <= to.getTime();
      }).length,

    /** The ledger's checkpoint of the polled folder (the CLI's dry run starts from it). */
    checkpoint: () => ledger.getCheckpoint(settings.folder),
    /** Sets the checkpoint (the CLI's dry run, on its own ledger). */
    setCheckpoint: (checkpoint: MailboxCheckpoint) => ledger.setCheckpoint(settings.folder, checkpoint),
    /** IMAP STATUS of the polled folder. */
    folderStatus: async () => {
      const session = await connect();
      try {
        return await session.status(settings.folder);
      } finally {
        await session.close();
      }
    },

    /** Reachability of the mailbox for /api/health/details: signs in and out. */
    checkImap: async (): Promise<void> => {
      const session = await connect();
      await session.close();
    },
  };
}

function viewOf(entry: LedgerEntry): MailView {
  return {
    id: entry.id,
    messageId: entry.messageId,
    from: entry.from,
    subject: entry.subject,
    receivedAt: entry.receivedAt,
    category: entry.category ?? null,
    confidence: entry.confidence ?? null,
    language: entry.language ?? null,
    status: entry.status,
    ...(entry.reason ? { reason: entry.reason } : {}),
    ...(entry.reply
      ? {
          reply: {
            to: entry.reply.to,
            subject: entry.reply.subject,
            text: entry.reply.text,
            ...(entry.reply.sentAt ? { sentAt: entry.reply.sentAt } : {}),
          },
        }
      : {}),
  };
}

function median(sorted: number[]): number | null {
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return Math.round(value);
}

export type Mailbox = ReturnType<typeof createMailbox>;
