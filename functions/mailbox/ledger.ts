import { createHash } from 'node:crypto';
import { odata, type TableClient, type TableEntity } from '@azure/data-tables';
import { RestError } from '@azure/core-rest-pipeline';
import { z } from 'zod';
import { ConflictError, NotFoundError } from '../platform/errors';
import { ensureTable } from '../platform/tables';

export const MAIL_STATUSES = ['pending', 'replied', 'drafted', 'skipped', 'failed'] as const;
export type MailStatus = (typeof MAIL_STATUSES)[number];

export const MAIL_CATEGORIES = ['programme', 'horaires', 'inscription', 'autre', 'ignore'] as const;
export type MailCategory = (typeof MAIL_CATEGORIES)[number];

/**
 * Longest text kept per field, in UTF-16 code units: an Azure Table string property holds at most 32K of
 * them and an entity 1 MiB. Writers truncate to these (`clip`); the schema refuses anything longer.
 */
export const LEDGER_LIMITS = {
  /** RFC 5322's line limit: a longer Message-ID is treated as missing. */
  messageId: 998,
  address: 320,
  name: 256,
  subject: 998,
  reason: 500,
  summary: 2_000,
  replySubject: 1_100,
  replyText: 30_000,
  sendKey: 200,
} as const;

// Kept in UTC (`…Z`), so that dates compare as text: the table filters and sorts on them.
const isoDate = z.iso.datetime({ offset: true }).transform((text) => new Date(text).toISOString());

export const ledgerReplySchema = z.object({
  to: z.string().max(LEDGER_LIMITS.address),
  subject: z.string().max(LEDGER_LIMITS.replySubject),
  text: z.string().max(LEDGER_LIMITS.replyText),
  sendKey: z.string().max(LEDGER_LIMITS.sendKey).optional(),
  sentAt: isoDate.optional(),
});

export const ledgerEntrySchema = z.object({
  /** `ledgerId(messageId)`: used in routes and as the queue message. */
  id: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 hexadecimal characters'),
  /** Message-ID without `<>`; `sha256:<hex>` of the raw mail when it has none. */
  messageId: z.string().min(1).max(LEDGER_LIMITS.messageId),
  /** Where the mail was seen last: its UID under this UIDVALIDITY (a BigInt, kept as a string). */
  uid: z.number().int().min(1).max(0xffff_ffff),
  uidValidity: z.string().regex(/^\d{1,20}$/, 'must be a decimal number'),
  from: z.string().max(LEDGER_LIMITS.address),
  fromName: z.string().max(LEDGER_LIMITS.name).optional(),
  subject: z.string().max(LEDGER_LIMITS.subject),
  /** The IMAP INTERNALDATE. */
  receivedAt: isoDate,
  size: z.number().int().min(0),
  status: z.enum(MAIL_STATUSES),
  /** Why skipped, drafted or failed: `too-large`, `auto-submitted`, `ungrounded`… */
  reason: z.string().max(LEDGER_LIMITS.reason).optional(),
  category: z.enum(MAIL_CATEGORIES).optional(),
  confidence: z.number().min(0).max(1).optional(),
  language: z.enum(['fr', 'en']).optional(),
  summary: z.string().max(LEDGER_LIMITS.summary).optional(),
  reply: ledgerReplySchema.optional(),
  attempts: z.number().int().min(0),
  /** True once `\Answered` is set on the server; false when it cannot be (server refuses, mail gone). */
  answeredFlagged: z.boolean().optional(),
  createdAt: isoDate,
  updatedAt: isoDate,
});

export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;
/** An entry as read from the table, with the ETag `update` checks. */
export type StoredLedgerEntry = LedgerEntry & { etag: string };

export interface MailboxCheckpoint {
  uidValidity: string;
  /** Every UID up to this one, under `uidValidity`, has been taken into the ledger. */
  lastUid: number;
  /** When the responder first polled the folder: mail received before it is never answered. */
  baselineAt?: string;
}

const checkpointSchema = z.object({
  uidValidity: z.string().regex(/^\d{1,20}$/),
  lastUid: z.number().int().min(0).max(0xffff_ffff),
  baselineAt: isoDate.optional(),
});

/** The last answer to a sender in a thread. */
export interface ThreadReply {
  /** The ledger id of the mail answered. */
  id: string;
  sentAt: string;
}

const threadReplySchema = z.object({
  id: z.string().regex(/^[0-9a-f]{32}$/),
  sentAt: isoDate,
});

export interface LedgerFilter {
  status?: MailStatus;
  category?: string;
  /** A sender address, matched case-insensitively. */
  from?: string;
  /** At most this many entries (default 100, at most 1000). */
  limit?: number;
}

/** The stable ledger id of a Message-ID: 32 hex characters of its SHA-256. */
export function ledgerId(messageId: string): string {
  return createHash('sha256').update(messageId).digest('hex').slice(0, 32);
}

/** The text cut to `max` characters, marked with an ellipsis when it was longer. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const MAIL_PARTITION = 'mail';
const CHECKPOINT_PARTITION = 'checkpoint';
/** One row per sender and thread: when it was last answered (the cooldown reads it, never scans). */
const THREAD_PARTITION = 'thread';
const HOUR_MS = 3_600_000;
// How long the count of the last hour's replies is reused before the table is read again.
const REPLY_COUNT_REFRESH_MS = 10_000;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

// Entities are flat: the reply is kept as reply* columns, and two derived columns serve the filters
// (fromKey: the lowercased sender; needsFlag: replied, \Answered not yet tried).
type LedgerRow = Record<string, unknown> & { rowKey?: string; etag?: string };

// UIDs and sizes can pass 2^31: stored as Edm.Double, which holds them exactly, not the inferred Int32.
const double = (value: number) => ({ value, type: 'Double' as const });

function toEntity(entry: LedgerEntry): TableEntity<Record<string, unknown>> {
  const { id, reply, uid, size, ...rest } = entry;
  return {
    ...rest,
    partitionKey: MAIL_PARTITION,
    rowKey: id,
    uid: double(uid),
    size: double(size),
    fromKey: entry.from.toLowerCase(),
    needsFlag: entry.status === 'replied' && entry.answeredFlagged === undefined,
    replyTo: reply?.to,
    replySubject: reply?.subject,
    replyText: reply?.text,
    replySendKey: reply?.sendKey,
    replySentAt: reply?.sentAt,
  };
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

function fromRow(row: LedgerRow): StoredLedgerEntry {
  const reply =
    row.replyTo === undefined
      ? undefined
      : {
          to: row.replyTo,
          subject: row.replySubject,
          text: row.replyText,
          sendKey: row.replySendKey,
          sentAt: row.replySentAt,
        };
  const parsed = ledgerEntrySchema.safeParse({ ...row, id: row.rowKey, reply });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `mailbox ledger row ${text(row.rowKey) ?? '?'}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
    );
  }
  return { ...parsed.data, etag: text(row.etag) ?? '' };
}

function parseEntry(entry: unknown): LedgerEntry {
  const parsed = ledgerEntrySchema.safeParse(entry);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const id = typeof entry === 'object' && entry && 'id' in entry ? String(entry.id) : '?';
  throw new Error(
    `mailbox ledger entry ${id}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
  );
}

const statusOf = (error: unknown) => (error instanceof RestError ? error.statusCode : undefined);

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** Newest first: by INTERNALDATE, then id so the order is stable. */
const newestFirst = (a: LedgerEntry, b: LedgerEntry) =>
  compare(b.receivedAt, a.receivedAt) || compare(a.id, b.id);

/**
 * The mailbox ledger in Azure Tables: one row per mail (partition `mail`, row key = ledger id) and one
 * checkpoint row per folder. It, not the `\Seen` flag, is the source of truth: people read the mailbox too.
 */
export class MailboxLedger {
  /** The last read of the hour's reply count, and the replies this instance recorded since. */
  private hourly: { readAt: number; count: number } | undefined;
  private hourlyRead: Promise<void> | undefined;
  private repliedSinceRead = 0;

  constructor(
    private readonly table: TableClient,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async getCheckpoint(folder: string): Promise<MailboxCheckpoint | undefined> {
    await ensureTable(this.table);
    try {
      const row = await this.table.getEntity<Record<string, unknown>>(
        CHECKPOINT_PARTITION,
        checkpointKey(folder),
      );
      const parsed = checkpointSchema.safeParse(row);
      if (!parsed.success) {
        throw new Error(`mailbox checkpoint of ${folder}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      }
      return parsed.data;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** Merges into the folder's checkpoint: a `baselineAt` already stored is kept when none is given. */
  async setCheckpoint(folder: string, checkpoint: MailboxCheckpoint): Promise<void> {
    const valid = checkpointSchema.parse(checkpoint);
    await ensureTable(this.table);
    await this.table.upsertEntity(
      {
        partitionKey: CHECKPOINT_PARTITION,
        rowKey: checkpointKey(folder),
        folder,
        uidValidity: valid.uidValidity,
        lastUid: double(valid.lastUid),
        ...(valid.baselineAt ? { baselineAt: valid.baselineAt } : {}),
        updatedAt: this.clock().toISOString(),
      },
      'Merge',
    );
  }

  /** Conditional insert: false when an entry with this id exists (nothing is overwritten). */
  async insertIfNew(entry: LedgerEntry): Promise<boolean> {
    const valid = parseEntry(entry);
    await ensureTable(this.table);
    try {
      await this.table.createEntity(toEntity(valid));
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }

  async get(id: string): Promise<StoredLedgerEntry | undefined> {
    if (!/^[0-9a-f]{32}$/.test(id)) return undefined;
    await ensureTable(this.table);
    try {
      return fromRow(await this.table.getEntity<LedgerRow>(MAIL_PARTITION, id));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * Optimistic concurrency: fails with a ConflictError when the row changed since `entry` was read (its
   * ETag, or without one its `updatedAt`). Id, Message-ID and creation date never change.
   */
  async update(
    entry: LedgerEntry & { etag?: string },
    patch: Partial<LedgerEntry>,
  ): Promise<StoredLedgerEntry> {
    const { etag: readEtag, ...current } = entry;
    const next = parseEntry({
      ...current,
      ...patch,
      id: entry.id,
      messageId: entry.messageId,
      createdAt: entry.createdAt,
      updatedAt: this.clock().toISOString(),
    });
    const etag = readEtag || (await this.etagIfUnchanged(entry));
    await ensureTable(this.table);
    try {
      const result = await this.table.updateEntity(toEntity(next), 'Replace', { etag });
      if (next.status === 'replied' && entry.status !== 'replied') this.repliedSinceRead++;
      return { ...next, etag: result.etag ?? '' };
    } catch (error) {
      if (statusOf(error) === 412) throw changed(entry.id);
      if (statusOf(error) === 404) throw new NotFoundError(`No mail ${entry.id} in the mailbox ledger.`);
      throw error;
    }
  }

  /** Newest first (by INTERNALDATE); every filter is optional. */
  async list(filter: LedgerFilter = {}): Promise<LedgerEntry[]> {
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? DEFAULT_LIMIT), 1), MAX_LIMIT);
    const clauses = [odata`PartitionKey eq ${MAIL_PARTITION}`];
    if (filter.status) clauses.push(odata`status eq ${filter.status}`);
    if (filter.category) clauses.push(odata`category eq ${filter.category}`);
    if (filter.from) clauses.push(odata`fromKey eq ${filter.from.trim().toLowerCase()}`);
    // Row keys are hashes, so the table has no useful order: keep the newest `limit` while reading, so
    // memory stays bounded however large the ledger grows.
    let kept: LedgerEntry[] = [];
    for await (const row of this.rows(clauses.join(' and '))) {
      kept.push(fromRow(row));
      if (kept.length >= limit * 2) kept = kept.sort(newestFirst).slice(0, limit);
    }
    return kept.sort(newestFirst).slice(0, limit);
  }

  /** Replies sent since `since`; to this sender only when `from` is given (cooldown), else all (hourly cap). */
  async countRepliesSince(since: Date, from?: string): Promise<number> {
    const clauses = [odata`PartitionKey eq ${MAIL_PARTITION}`, odata`replySentAt ge ${since.toISOString()}`];
    if (from) clauses.push(odata`fromKey eq ${from.trim().toLowerCase()}`);
    let count = 0;
    for await (const _row of this.rows(clauses.join(' and '), ['replySentAt'])) count++;
    return count;
  }

  /**
   * Replies sent in the last hour, for MAILBOX_MAX_REPLIES_PER_HOUR, without a query per mail (a query
   * reads the whole ledger): the count is read at most every REPLY_COUNT_REFRESH_MS, and the replies
   * this instance records meanwhile are added. Between reads it can only over-count (a reply leaving
   * the hour is noticed at the next read); replies of other instances show at the next read.
   */
  async repliesInLastHour(): Promise<number> {
    const now = this.clock().getTime();
    const age = now - (this.hourly?.readAt ?? Number.NEGATIVE_INFINITY);
    if (age >= REPLY_COUNT_REFRESH_MS || age < 0) {
      this.hourlyRead ??= (async () => {
        const before = this.repliedSinceRead;
        const count = await this.countRepliesSince(new Date(now - HOUR_MS));
        // Replies recorded while the query ran may be in its count too: counted twice, never missed.
        this.repliedSinceRead -= before;
        this.hourly = { readAt: now, count };
      })().finally(() => (this.hourlyRead = undefined));
      await this.hourlyRead;
    }
    return (this.hourly?.count ?? 0) + this.repliedSinceRead;
  }

  /** When `from` was last answered in `thread` (the subject without its reply prefixes): one point read. */
  async lastReplyInThread(from: string, thread: string): Promise<ThreadReply | undefined> {
    await ensureTable(this.table);
    const key = threadKey(from, thread);
    let row: Record<string, unknown>;
    try {
      row = await this.table.getEntity<Record<string, unknown>>(THREAD_PARTITION, key);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
    const parsed = threadReplySchema.safeParse(row);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(
        `mailbox thread row ${key}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
      );
    }
    return parsed.data;
  }

  /** Records an answer sent to `from` in `thread`, for the cooldown. */
  async recordReplyInThread(from: string, thread: string, reply: ThreadReply): Promise<void> {
    const valid = threadReplySchema.parse(reply);
    await ensureTable(this.table);
    await this.table.upsertEntity(
      { partitionKey: THREAD_PARTITION, rowKey: threadKey(from, thread), ...valid },
      'Replace',
    );
  }

  /** Entries replied but not yet flagged `\Answered`, for the next poll. */
  async unflagged(limit = DEFAULT_LIMIT): Promise<StoredLedgerEntry[]> {
    const found: StoredLedgerEntry[] = [];
    const filter = `${odata`PartitionKey eq ${MAIL_PARTITION}`} and needsFlag eq true`;
    for await (const row of this.rows(filter)) {
      found.push(fromRow(row));
      if (found.length >= limit) break;
    }
    return found;
  }

  private async *rows(filter: string, select?: string[]): AsyncGenerator<LedgerRow> {
    await ensureTable(this.table);
    yield* this.table.listEntities<LedgerRow>({ queryOptions: { filter, ...(select ? { select } : {}) } });
  }

  private async etagIfUnchanged(entry: LedgerEntry): Promise<string> {
    const stored = await this.get(entry.id);
    if (!stored) throw new NotFoundError(`No mail ${entry.id} in the mailbox ledger.`);
    if (stored.updatedAt !== entry.updatedAt) throw changed(entry.id);
    return stored.etag;
  }
}

const changed = (id: string) =>
  new ConflictError(`Mail ${id} changed in the mailbox ledger since it was read; read it again.`);

/** A sender (case-insensitive) and a thread as a row key (hex: subjects hold characters keys may not). */
const threadKey = (from: string, thread: string) =>
  createHash('sha256').update(`${from.trim().toLowerCase()}\n${thread}`).digest('hex');

// Row keys may not hold `/`, `\`, `#` or `?`, which folder names can.
const checkpointKey = (folder: string) => Buffer.from(folder, 'utf8').toString('base64url');
