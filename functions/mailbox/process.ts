import type { ContainerClient } from '@azure/storage-blob';
import type { AiClient } from '../ai/aiClient';
import { readBlob } from '../platform/blobs';
import type { OutgoingEmail, SendRecord } from '../email';
import { classifyVariables, MAILBOX_CLASSIFY_TASK, parseClassification } from './classification';
import { findUngrounded } from './grounding';
import type { KnowledgeBase } from './knowledge';
import { clip, LEDGER_LIMITS, type LedgerEntry, type MailboxLedger, type StoredLedgerEntry } from './ledger';
import { parseMail, type ParsedMail } from './message';
import { rawMailBlobName } from './poll';
import { baseSubject, composeReply, MAILBOX_REPLY_TASK, replyVariables, type ReplyDraft } from './reply';
import { whyNotAnswer } from './rules';
import type { MailboxSettings } from './settings';

/** How much of the knowledge base one answer may quote, in tokens (4 characters a token). */
const KNOWLEDGE_BUDGET_TOKENS = 3000;

export interface ProcessDependencies {
  settings: MailboxSettings;
  ledger: MailboxLedger;
  raw: ContainerClient;
  knowledge: KnowledgeBase;
  ai: AiClient;
  /** Outbound email; undefined when none is configured (answers then wait as drafts). */
  send: ((message: OutgoingEmail) => Promise<SendRecord>) | undefined;
  clock: () => Date;
}

export interface ProcessOutcome {
  id: string;
  status: LedgerEntry['status'];
  reason?: string;
}

/** The idempotency key of a mail's answer: a retry, or an approval after a draft, never sends twice. */
export const replySendKey = (id: string) => `mailbox-reply:${id}`;

/**
 * Answers one mail of the ledger, or records why not. Every step is idempotent: a mail no longer
 * pending is left as it is; an answer already written is sent again under the same key (the email
 * capability sends a key once), so a crash between sending and recording cannot send twice.
 * Failures that may pass (the AI, storage, the provider) are thrown, for the queue to retry.
 */
export async function processMail(id: string, deps: ProcessDependencies): Promise<ProcessOutcome> {
  const entry = await deps.ledger.get(id);
  if (!entry) throw new Error(`Mail ${id} is not in the ledger.`);
  if (entry.status !== 'pending') return outcome(entry);
  const attempt = await deps.ledger.update(entry, { attempts: entry.attempts + 1 });
  // An answer already written (then the process stopped before recording the send): send it as is.
  if (attempt.reply?.sendKey) return sendReply(attempt, undefined, deps);

  const raw = await readBlob(deps.raw, rawMailBlobName(id));
  if (!raw) return finish(attempt, 'failed', deps, { reason: 'raw-mail-missing' });
  const mail = await parseMail(raw, { maxBytes: deps.settings.maxMessageBytes });
  const us = ourIdentity(deps.settings.address);
  const skip = whyNotAnswer(mail, us);
  if (skip) return finish(attempt, 'skipped', deps, { reason: skip });
  if (await answeredRecently(mail, attempt, deps))
    return finish(attempt, 'skipped', deps, { reason: 'cooldown' });

  const classified = parseClassification(
    (await deps.ai.complete({ task: MAILBOX_CLASSIFY_TASK, variables: classifyVariables(mail) })).text,
  );
  const classification = {
    category: classified.category,
    confidence: classified.confidence,
    language: classified.language,
    summary: clip(classified.summary, LEDGER_LIMITS.summary),
  };
  if (classified.category === 'ignore')
    return finish(attempt, 'skipped', deps, { reason: 'not-a-request', ...classification });

  const documents = await deps.knowledge.forCategory(
    classified.category,
    KNOWLEDGE_BUDGET_TOKENS,
    classified.language,
  );
  const answer = await deps.ai.complete({
    task: MAILBOX_REPLY_TASK,
    variables: replyVariables({
      mail,
      category: classified.category,
      language: classified.language,
      documents,
    }),
  });
  const draft = composeReply(mail, answer.text, us, () => `reply-${id}@${us.domain}`);
  const reply = {
    to: draft.to,
    subject: clip(draft.subject, LEDGER_LIMITS.replySubject),
    text: clip(draft.text, LEDGER_LIMITS.replyText),
  };
  const holdReason = await whyHold(
    answer.text,
    mail,
    documents.map((d) => d.body),
    classified.confidence,
    deps,
  );
  if (holdReason) return finish(attempt, 'drafted', deps, { reason: holdReason, reply, ...classification });
  const written = await deps.ledger.update(attempt, {
    ...classification,
    reply: { ...reply, sendKey: replySendKey(id) },
  });
  return sendReply(written, draft, deps);
}

/** Why an answer waits for a person instead of going out, if it does. */
async function whyHold(
  answer: string,
  mail: ParsedMail,
  documents: string[],
  confidence: number,
  deps: ProcessDependencies,
): Promise<string | undefined> {
  if (findUngrounded(answer, [...documents, mail.subject, mail.text]).length > 0) return 'ungrounded';
  if (confidence < deps.settings.minConfidence) return 'low-confidence';
  if (deps.settings.replyMode === 'draft') return 'review-mode';
  if (!deps.send) return 'no-email-provider';
  if ((await deps.ledger.repliesInLastHour()) >= deps.settings.maxRepliesPerHour) return 'hourly-cap';
  return undefined;
}

/**
 * A sender answered in the same thread within the cooldown is not answered again: the same subject
 * (without its reply prefixes) from the same address.
 */
async function answeredRecently(
  mail: ParsedMail,
  entry: LedgerEntry,
  deps: ProcessDependencies,
): Promise<boolean> {
  const hours = deps.settings.senderCooldownHours;
  if (hours === 0) return false;
  const since = deps.clock().getTime() - hours * 3_600_000;
  const last = await deps.ledger.lastReplyInThread(entry.from, threadOf(mail.subject));
  return last !== undefined && last.id !== entry.id && Date.parse(last.sentAt) >= since;
}

/** Sends the answer the entry holds (its key makes this safe to repeat) and records the result. */
export async function sendReply(
  entry: StoredLedgerEntry,
  draft: ReplyDraft | undefined,
  deps: Pick<ProcessDependencies, 'send' | 'ledger' | 'clock' | 'settings' | 'raw'>,
  editedText?: string,
): Promise<ProcessOutcome> {
  const reply = entry.reply;
  if (!reply) throw new Error(`Mail ${entry.id} has no answer to send.`);
  if (!deps.send) return finish(entry, 'drafted', deps, { reason: 'no-email-provider' });
  const headersOf = draft ?? (await rebuildDraft(entry, deps));
  const text = editedText ?? reply.text;
  const sendKey = reply.sendKey ?? replySendKey(entry.id);
  const keyed =
    reply.sendKey === sendKey && editedText === undefined
      ? entry
      : await deps.ledger.update(entry, {
          reply: { ...reply, text: clip(text, LEDGER_LIMITS.replyText), sendKey },
        });
  const record = await deps.send({
    key: sendKey,
    kind: 'mailbox-reply',
    to: reply.to,
    subject: reply.subject,
    text,
    messageId: headersOf.messageId,
    ...(headersOf.inReplyTo ? { inReplyTo: headersOf.inReplyTo } : {}),
    references: headersOf.references,
    headers: headersOf.headers,
  });
  switch (record.status) {
    case 'sent':
    case 'delivered':
      // Recorded before the entry: should the process stop in between, the retry records both.
      await deps.ledger.recordReplyInThread(entry.from, threadOf(entry.subject), {
        id: entry.id,
        sentAt: record.updatedAt,
      });
      return finish(keyed, 'replied', deps, {
        reply: { ...reply, text: clip(text, LEDGER_LIMITS.replyText), sendKey, sentAt: record.updatedAt },
      });
    case 'suppressed':
    case 'bounced':
      return finish(keyed, 'skipped', deps, { reason: `recipient-${record.status}` });
    case 'uncertain':
      return finish(keyed, 'failed', deps, {
        reason: 'send-uncertain: check the Sent folder before approving again',
      });
    default:
      throw new Error(`Sending the answer to mail ${entry.id} failed: ${record.error ?? record.status}`);
  }
}

/** The reply headers of an answer written earlier, from the stored mail. */
async function rebuildDraft(
  entry: LedgerEntry,
  deps: Pick<ProcessDependencies, 'raw' | 'settings'>,
): Promise<ReplyDraft> {
  const raw = await readBlob(deps.raw, rawMailBlobName(entry.id));
  if (!raw) throw new Error(`Mail ${entry.id} has no stored source to answer.`);
  const mail = await parseMail(raw, { maxBytes: deps.settings.maxMessageBytes });
  const us = ourIdentity(deps.settings.address);
  return composeReply(mail, entry.reply?.text ?? '', us, () => `reply-${entry.id}@${us.domain}`);
}

async function finish(
  entry: StoredLedgerEntry,
  status: LedgerEntry['status'],
  deps: Pick<ProcessDependencies, 'ledger'>,
  patch: Partial<LedgerEntry>,
): Promise<ProcessOutcome> {
  const done = await deps.ledger.update(entry, { ...patch, status });
  return outcome(done);
}

function outcome(entry: LedgerEntry): ProcessOutcome {
  return { id: entry.id, status: entry.status, ...(entry.reason ? { reason: entry.reason } : {}) };
}

export function ourIdentity(address: string) {
  const domain = address.split('@')[1]?.toLowerCase() ?? 'localhost';
  return { address: address.toLowerCase(), domain, ourMessageIdDomain: domain };
}

const threadOf = (subject: string) => baseSubject(subject).toLowerCase();
