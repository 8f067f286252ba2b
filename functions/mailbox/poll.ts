import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { RestError } from '@azure/core-rest-pipeline';
import { ensureContainer } from '../platform/blobs';
import { ConflictError } from '../platform/errors';
import { Semaphore } from '../platform/semaphore';
import type { ImapMessageHead, ImapSession } from './imap';
import {
  LEDGER_LIMITS,
  clip,
  ledgerId,
  type LedgerEntry,
  type MailboxCheckpoint,
  type MailboxLedger,
  type StoredLedgerEntry,
} from './ledger';
import type { MailboxSettings } from './settings';

export interface PollDependencies {
  settings: MailboxSettings;
  ledger: MailboxLedger;
  /** CONTAINERS.mailboxRaw: each new mail's raw MIME as `{id}.eml`. */
  raw: ContainerClient;
  connect: () => Promise<ImapSession>;
  /** Queues these ledger ids for processing (the queue consumer must ignore an entry no longer pending). */
  enqueue: (ids: string[]) => Promise<void>;
  clock: () => Date;
  log?: (message: string) => void;
}

export interface PollResult {
  /** Mails examined: those above the checkpoint, or every mail of the folder after a UIDVALIDITY change. */
  polled: number;
  /** Ledger ids queued for processing. */
  queued: number;
  /** New mails over MAILBOX_MAX_MESSAGE_BYTES: recorded `skipped`/`too-large`, never fetched. */
  tooLarge: number;
  /** Replied mails flagged `\Answered` on the server. */
  flagged: number;
  uidValidityChanged: boolean;
}

/** The blob of a mail's raw MIME in CONTAINERS.mailboxRaw. */
export const rawMailBlobName = (id: string) => `${id}.eml`;

// Sources are fetched in batches of at most this many bytes and mails, so a burst of large mails never
// holds more than one batch in memory.
const FETCH_BATCH_BYTES = 8 * 1024 * 1024;
const FETCH_BATCH_MAILS = 200;
const FLAG_BATCH = 500;
const UPDATE_ATTEMPTS = 3;
// Ledger and blob round trips in flight at once during a poll.
const STORAGE_CONCURRENCY = 16;
// Mail received this long before the responder was switched on is old mail, even when it shows up with a
// new UID (moved back into the folder, or a resync after a migration). The margin absorbs clock skew
// between the IMAP server and the app, so no mail arriving just after the first poll is missed.
const BASELINE_MARGIN_MS = 24 * 60 * 60 * 1000;

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * One poll of the mailbox folder. The checkpoint (UIDVALIDITY, last UID) says where the previous poll
 * stopped; the ledger, keyed by Message-ID, says which mails are known. Each step is idempotent and the
 * checkpoint moves only at the end, so a poll that fails half-way is simply repeated by the next tick.
 */
export async function pollMailbox(deps: PollDependencies): Promise<PollResult> {
  const folder = deps.settings.folder;
  const log = deps.log ?? (() => undefined);
  const session = await deps.connect();
  try {
    const status = await session.status(folder);
    const checkpoint = await deps.ledger.getCheckpoint(folder);
    if (!checkpoint) {
      // First poll: what is already in the folder is left to people, or switching the responder on would
      // answer a year of old mail.
      const lastUid = status.uidNext - 1;
      await deps.ledger.setCheckpoint(folder, {
        uidValidity: status.uidValidity,
        lastUid,
        baselineAt: deps.clock().toISOString(),
      });
      log(
        `Mailbox ${folder}: first poll, baseline set at UID ${lastUid} (UIDVALIDITY ${status.uidValidity}). ` +
          'Mail already in the folder is left to people; only mail arriving from now on is answered.',
      );
      return { polled: 0, queued: 0, tooLarge: 0, flagged: 0, uidValidityChanged: false };
    }

    const uidValidityChanged = checkpoint.uidValidity !== status.uidValidity;
    const hasNew = uidValidityChanged || status.uidNext - 1 > checkpoint.lastUid;
    let intake: Intake | undefined;
    if (hasNew) {
      if (uidValidityChanged) {
        log(
          `Mailbox ${folder}: UIDVALIDITY changed from ${checkpoint.uidValidity} to ${status.uidValidity}; ` +
            'resyncing by Message-ID against the ledger, so no mail is answered twice.',
        );
      }
      const heads = uidValidityChanged
        ? await session.allHeads(folder)
        : await session.heads(folder, checkpoint.lastUid);
      intake = await takeIn(deps, session, heads, status.uidValidity, checkpoint);
    }
    const ids = intake ? [...new Set([...intake.queue].sort(([a], [b]) => a - b).map(([, id]) => id))] : [];
    if (ids.length > 0) await deps.enqueue(ids);
    const flagged = await flagAnswered(deps, session, status.uidValidity);
    if (intake) {
      const lastUid = Math.max(status.uidNext - 1, intake.lastUid);
      await deps.ledger.setCheckpoint(folder, { uidValidity: status.uidValidity, lastUid });
    }
    const result = {
      polled: intake?.polled ?? 0,
      queued: ids.length,
      tooLarge: intake?.tooLarge ?? 0,
      flagged,
      uidValidityChanged,
    };
    if (hasNew || flagged > 0) log(`Mailbox ${folder}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await session.close();
  }
}

interface Intake {
  /** Ledger ids to queue, by UID: they are queued oldest mail first (as far as a queue keeps an order). */
  queue: Map<number, string>;
  polled: number;
  tooLarge: number;
  /** The highest UID examined. */
  lastUid: number;
}

/** Records the new mails in the ledger (raw MIME first); the ids to queue are in `queue`. */
async function takeIn(
  deps: PollDependencies,
  session: ImapSession,
  heads: ImapMessageHead[],
  uidValidity: string,
  checkpoint: MailboxCheckpoint,
): Promise<Intake> {
  const { settings, ledger } = deps;
  const log = deps.log ?? (() => undefined);
  // After a UIDVALIDITY change the stored last UID means nothing.
  const lastUid = uidValidity === checkpoint.uidValidity ? checkpoint.lastUid : 0;
  const intake: Intake = {
    queue: new Map(),
    polled: heads.length,
    tooLarge: 0,
    lastUid: heads.reduce((max, head) => Math.max(max, head.uid), lastUid),
  };
  const oldBefore = checkpoint.baselineAt
    ? Date.parse(checkpoint.baselineAt) - BASELINE_MARGIN_MS
    : -Infinity;
  const fresh = heads.filter((head) => head.internalDate.getTime() >= oldBefore);
  if (fresh.length < heads.length) {
    log(
      `${heads.length - fresh.length} mail(s) received before the responder was switched on ` +
        `(${checkpoint.baselineAt}): left to people.`,
    );
  }
  const seen = (id: string, head: ImapMessageHead) => lookUp(deps, id, head, uidValidity, intake);

  const toFetch: ImapMessageHead[] = [];
  await inParallel(fresh, async (head) => {
    if (head.size > settings.maxMessageBytes) {
      // Never fetched, so a mail without Message-ID is keyed by what the envelope says of it.
      const messageId =
        head.messageId ??
        `sha256:${sha256([head.from, head.subject, head.internalDate.toISOString(), head.size].join('\n'))}`;
      const entry = newEntry(deps, head, messageId, uidValidity, { status: 'skipped', reason: 'too-large' });
      if (await ledger.insertIfNew(entry)) {
        intake.tooLarge++;
        log(
          `Mail ${entry.id} (UID ${head.uid}, ${head.size} bytes) is over MAILBOX_MAX_MESSAGE_BYTES ` +
            `(${settings.maxMessageBytes}): recorded as skipped (too-large) and left to a person.`,
        );
      } else await seen(entry.id, head);
      return;
    }
    if (!head.messageId || !(await seen(ledgerId(head.messageId), head))) toFetch.push(head);
  });

  await ensureContainer(deps.raw);
  for (const batch of batches(toFetch.sort((a, b) => a.uid - b.uid))) {
    // One UID FETCH per batch, read whole before the batch's storage writes start (notes/mail.md).
    const sources = await session.sources(
      settings.folder,
      batch.map((head) => head.uid),
      settings.maxMessageBytes,
    );
    await inParallel(batch, async (head) => {
      const source = sources.get(head.uid);
      if (!source) {
        log(`UID ${head.uid} was deleted before it could be fetched.`);
        return;
      }
      const messageId = head.messageId ?? `sha256:${sha256(source)}`;
      const id = ledgerId(messageId);
      if (!head.messageId && (await seen(id, head))) return;
      // The blob before the entry: a queued id always has its raw mail.
      await writeRaw(deps.raw, id, source);
      if (await ledger.insertIfNew(newEntry(deps, head, messageId, uidValidity, { status: 'pending' }))) {
        intake.queue.set(head.uid, id);
      } else await seen(id, head);
    });
  }
  return intake;
}

/**
 * Whether the mail is already in the ledger. A known mail seen at a new place (moved, copied, or renumbered
 * by a UIDVALIDITY change) gets its new place, for `\Answered`, and is not queued again. One still pending
 * at the very same place was taken in by a poll that failed before its end: it is queued again (the
 * consumer ignores an entry that is no longer pending).
 */
async function lookUp(
  deps: PollDependencies,
  id: string,
  head: ImapMessageHead,
  uidValidity: string,
  intake: Intake,
): Promise<boolean> {
  const entry = await deps.ledger.get(id);
  if (!entry) return false;
  if (entry.uid === head.uid && entry.uidValidity === uidValidity) {
    if (entry.status === 'pending') intake.queue.set(head.uid, id);
    return true;
  }
  await patchEntry(deps, entry, (current) =>
    current.uid === head.uid && current.uidValidity === uidValidity
      ? undefined
      : { uid: head.uid, uidValidity },
  );
  return true;
}

/** Sets `\Answered` on the replied mails of this UIDVALIDITY and records the outcome on each entry. */
async function flagAnswered(
  deps: PollDependencies,
  session: ImapSession,
  uidValidity: string,
): Promise<number> {
  const entries = await deps.ledger.unflagged(FLAG_BATCH);
  if (entries.length === 0) return 0;
  const here = entries.filter((entry) => entry.uidValidity === uidValidity);
  const set = await session.addAnswered(
    deps.settings.folder,
    here.map((entry) => entry.uid),
  );
  // An entry last seen under another UIDVALIDITY is no longer in the folder: nothing to flag there.
  await inParallel(entries, (entry) =>
    patchEntry(deps, entry, () => ({ answeredFlagged: set && entry.uidValidity === uidValidity })),
  );
  if (here.length > 0 && !set) {
    deps.log?.(
      `Mailbox ${deps.settings.folder}: the server does not keep \\Answered; replies are tracked in the ledger only.`,
    );
  }
  return set ? here.length : 0;
}

/** Runs `work` on every item, a bounded number at a time (storage round trips, not IMAP commands). */
export async function inParallel<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  const gate = new Semaphore(STORAGE_CONCURRENCY);
  await Promise.all(items.map((item) => gate.run(() => work(item))));
}

/**
 * Applies `patch` to the entry; when another writer changed it meanwhile, reads it again and retries
 * (the patch may decline, returning undefined, once the fresh entry no longer needs it).
 */
async function patchEntry(
  deps: PollDependencies,
  entry: StoredLedgerEntry,
  patch: (current: StoredLedgerEntry) => Partial<LedgerEntry> | undefined,
): Promise<void> {
  let current: StoredLedgerEntry | undefined = entry;
  for (let attempt = 1; current; attempt++) {
    const change = patch(current);
    if (!change) return;
    try {
      await deps.ledger.update(current, change);
      return;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= UPDATE_ATTEMPTS) throw error;
      current = await deps.ledger.get(entry.id);
    }
  }
}

function newEntry(
  deps: PollDependencies,
  head: ImapMessageHead,
  messageId: string,
  uidValidity: string,
  outcome: Pick<LedgerEntry, 'status' | 'reason'>,
): LedgerEntry {
  const now = deps.clock().toISOString();
  return {
    id: ledgerId(messageId),
    messageId,
    uid: head.uid,
    uidValidity,
    from: clip(head.from, LEDGER_LIMITS.address),
    ...(head.fromName ? { fromName: clip(head.fromName, LEDGER_LIMITS.name) } : {}),
    subject: clip(head.subject, LEDGER_LIMITS.subject),
    receivedAt: head.internalDate.toISOString(),
    size: head.size,
    ...outcome,
    attempts: 0,
    createdAt: now,
    updatedAt: now,
  };
}

/** Writes the raw mail once: a blob already there (an earlier, interrupted poll) holds the same mail. */
async function writeRaw(raw: ContainerClient, id: string, source: Buffer): Promise<void> {
  try {
    await raw.getBlockBlobClient(rawMailBlobName(id)).upload(source, source.length, {
      conditions: { ifNoneMatch: '*' },
      blobHTTPHeaders: { blobContentType: 'message/rfc822' },
    });
  } catch (error) {
    if (!(error instanceof RestError && (error.statusCode === 409 || error.statusCode === 412))) throw error;
  }
}

function* batches(heads: ImapMessageHead[]): Generator<ImapMessageHead[]> {
  let batch: ImapMessageHead[] = [];
  let bytes = 0;
  for (const head of heads) {
    if (batch.length > 0 && (bytes + head.size > FETCH_BATCH_BYTES || batch.length >= FETCH_BATCH_MAILS)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(head);
    bytes += head.size;
  }
  if (batch.length > 0) yield batch;
}
