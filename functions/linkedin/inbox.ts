import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { AiClient } from '../ai/aiClient';
import { AiOutputBlockedError, AiUnavailableError } from '../ai/errors';
import { MalformedAnswerError, parseJsonAnswer } from '../ai/jsonAnswer';
import {
  ConflictError,
  InvalidInputError,
  NotFoundError,
  TooLargeError,
  UnauthenticatedError,
  UnavailableError,
} from '../platform/errors';
import { parseInput } from '../platform/input';
import { jsonTable, type JsonTable } from '../platform/jsonTable';
import { foldText } from '../platform/text';
import { LinkedInError, type LinkedInApi } from './api';
import type { LinkedInSettings } from './settings';
import type { Account, LinkedInStores } from './store';
import type { TokenCipher } from './tokens';

/** The AI task that sorts an item; its prompt is `prompts/linkedin-triage.*`. */
export const LINKEDIN_TRIAGE_TASK = 'linkedin-triage';
/** The AI task that drafts a reply; its prompt is `prompts/linkedin-reply.*`. */
export const LINKEDIN_REPLY_TASK = 'linkedin-reply';

export const INBOX_KINDS = ['message', 'comment'] as const;
export const INBOX_PRIORITIES = ['high', 'normal', 'low'] as const;
export const INBOX_CATEGORIES = [
  'lead',
  'customer_question',
  'recruiter',
  'sales_pitch',
  'spam',
  'other',
] as const;
/**
 * `new`: stored, not triaged (the AI failed: `reason` says why); `drafted`: a draft waits for approval;
 * `ignored`: spam, no draft; `sending`: an approved comment reply is being published; `sent`: published
 * (`replyUrn`); `unconfirmed`: LinkedIn may have published it, a person checks; `ready-to-send`: approved,
 * the person sends it by hand (messages, comments on others' posts); `failed`: not published (`reason`),
 * may be approved again; `rejected`: the person declined to answer.
 */
export const INBOX_STATUSES = [
  'new',
  'drafted',
  'ignored',
  'sending',
  'sent',
  'unconfirmed',
  'ready-to-send',
  'failed',
  'rejected',
] as const;
export type InboxStatus = (typeof INBOX_STATUSES)[number];

/** LinkedIn's limits: a message up to 8,000 characters, a comment up to 1,250. */
export const MAX_MESSAGE_CHARS = 8000;
export const MAX_COMMENT_CHARS = 1250;
const MAX_FROM_CHARS = 200;
/** Earlier items given to the model as the conversation so far, each cut to this many characters. */
const MAX_CONVERSATION_ITEMS = 6;
const MAX_CONVERSATION_CHARS = 1000;
const MAX_NOTIFICATION_BYTES = 1024 * 1024;
/** Statuses a person may approve from (a failed send is approved again to retry it). */
const APPROVABLE: readonly InboxStatus[] = ['new', 'drafted', 'ignored', 'failed', 'rejected'];

const isoDate = z.iso.datetime({ offset: true }).transform((text) => new Date(text).toISOString());

export const inboxItemSchema = z.object({
  /** 16 hex digits for a pasted item; `notification-<notificationId>` for one from the webhook. */
  id: z.string().regex(/^([0-9a-f]{16}|notification-\d{1,20})$/),
  kind: z.enum(INBOX_KINDS),
  /** The sender as pasted (a name), or the commenter's person URN from the webhook. */
  from: z.string().max(MAX_FROM_CHARS),
  text: z.string().max(MAX_MESSAGE_CHARS),
  postUrn: z.string().optional(),
  source: z.enum(['pasted', 'webhook']),
  /** The incoming comment's URN (webhook). */
  commentUrn: z.string().optional(),
  receivedAt: isoDate,
  createdAt: isoDate,
  updatedAt: isoDate,
  status: z.enum(INBOX_STATUSES),
  priority: z.enum(INBOX_PRIORITIES).optional(),
  category: z.enum(INBOX_CATEGORIES).optional(),
  /** ISO 639-1 code of the item's language: the draft is written in it. */
  language: z.string().optional(),
  draft: z.string().max(MAX_MESSAGE_CHARS).optional(),
  /** The approved text (the draft or the person's edit). */
  reply: z.string().max(MAX_MESSAGE_CHARS).optional(),
  approvedAt: isoDate.optional(),
  /** The account the approved comment reply is published as. */
  accountId: z.string().optional(),
  /** Each approval that publishes a comment starts a new attempt. */
  attempt: z.number().int().min(0).default(0),
  /** The attempt whose comment create was started: a second run of that step must not call LinkedIn again. */
  sendStartedAttempt: z.number().int().optional(),
  /** The published reply's comment URN. */
  replyUrn: z.string().optional(),
  sentAt: isoDate.optional(),
  reason: z.string().max(1000).optional(),
});
export type InboxItem = z.infer<typeof inboxItemSchema>;
export type InboxTable = JsonTable<InboxItem>;

/** The sender as the conversation lookup compares it: folded, spaces collapsed. */
const fromKey = (from: string) => foldText(from).replace(/\s+/g, ' ').trim();

/** The inbox rows (`TABLES.linkedinInbox`), with the columns the filters use. */
export function linkedinInboxTable(table: TableClient): InboxTable {
  return jsonTable({
    table,
    partition: 'item',
    schema: inboxItemSchema,
    what: 'LinkedIn inbox item',
    id: (item) => item.id,
    columns: (item) => ({
      status: item.status,
      priority: item.priority ?? '',
      kind: item.kind,
      fromKey: fromKey(item.from),
      postUrn: item.postUrn ?? '',
      receivedAt: item.receivedAt,
    }),
  });
}

// --- requests ---------------------------------------------------------------------------------------

const text = (max: number, what = 'characters') =>
  z.string().trim().min(1, 'must not be empty').max(max, `is longer than ${max} ${what}`);

/** A post URN, or the post's `linkedin.com/feed/update/<urn>` address (what a person copies). */
const postUrnInput = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    const fromUrl = /linkedin\.com\/feed\/update\/([^/?#\s]+)/.exec(value)?.[1];
    return fromUrl ? decodeURIComponent(fromUrl) : value.trim();
  },
  z
    .string()
    .regex(
      /^urn:li:(share|ugcPost|activity):\d{1,30}$/,
      'must be a post URN (urn:li:share:…, urn:li:ugcPost:…) or its linkedin.com/feed/update/… address',
    ),
);

export const addItemSchema = z
  .object({
    kind: z.enum(INBOX_KINDS, { message: 'must be "message" or "comment"' }),
    from: text(MAX_FROM_CHARS),
    text: text(MAX_MESSAGE_CHARS),
    postUrn: postUrnInput.optional(),
    receivedAt: z.iso
      .datetime({ offset: true, message: 'must be an ISO 8601 date and time with its offset' })
      .optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.kind === 'message' && b.postUrn)
      ctx.addIssue({
        code: 'custom',
        path: ['postUrn'],
        message: 'is for comments only: a message has no post',
      });
    if (b.kind === 'comment' && b.text.length > MAX_COMMENT_CHARS)
      ctx.addIssue({
        code: 'custom',
        path: ['text'],
        message: `is longer than ${MAX_COMMENT_CHARS} characters (LinkedIn's limit for a comment)`,
      });
  });
export type AddItemRequest = z.input<typeof addItemSchema>;

export const approveSchema = z.object({ text: text(MAX_MESSAGE_CHARS).optional() }).strict();
export type ApproveRequest = z.input<typeof approveSchema>;

// --- AI answers and variables ---------------------------------------------------------------------

const lowerCase = (value: unknown) => (typeof value === 'string' ? value.trim().toLowerCase() : value);

export const triageAnswerSchema = z.object({
  priority: z.preprocess(lowerCase, z.enum(INBOX_PRIORITIES)),
  category: z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .trim()
            .toLowerCase()
            .replace(/[\s-]+/g, '_')
        : v,
    z.enum(INBOX_CATEGORIES),
  ),
  /** `fr`, `en`, or `fr-FR`: the region is dropped. */
  language: z.preprocess(
    lowerCase,
    z
      .string()
      .regex(/^[a-z]{2}([-_][a-z]{2})?$/, 'must be an ISO 639-1 code')
      .transform((code) => code.slice(0, 2)),
  ),
});
export type Triage = z.infer<typeof triageAnswerSchema>;

export const replyAnswerSchema = z.object({ reply: z.string().trim().min(1) });

/** One earlier item of the conversation, oldest first; `reply` is what was answered, when approved. */
export const conversationTurnSchema = z.object({
  at: z.string(),
  kind: z.enum(INBOX_KINDS),
  from: z.string(),
  text: z.string(),
  reply: z.string().optional(),
});
export type ConversationTurn = z.infer<typeof conversationTurnSchema>;

export const triageVariablesSchema = z.object({
  kind: z.enum(INBOX_KINDS),
  from: z.string(),
  text: z.string(),
  conversation: z.array(conversationTurnSchema),
});
export type TriageVariables = z.infer<typeof triageVariablesSchema>;

export const replyVariablesSchema = triageVariablesSchema.extend({
  category: z.enum(INBOX_CATEGORIES),
  priority: z.enum(INBOX_PRIORITIES),
  language: z.string(),
  /** The most characters the reply may have (a comment's limit is lower). */
  maxChars: z.number().int(),
});
export type ReplyVariables = z.infer<typeof replyVariablesSchema>;

// --- webhook --------------------------------------------------------------------------------------

const notificationSchema = z.object({
  notificationId: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]).transform(String),
  organizationalEntity: z.string(),
  action: z.string(),
  sourcePost: z.string().optional(),
  lastModifiedAt: z.number().int().positive().max(8.64e15).optional(),
  generatedActivity: z.string().optional(),
  decoratedGeneratedActivity: z
    .object({
      comment: z
        .object({
          entity: z.string().optional(),
          owner: z.string().optional(),
          text: z.string().optional(),
          fullText: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
});
const notificationPayloadSchema = z.object({
  type: z.string().optional(),
  notifications: z.array(z.unknown()).max(1000),
});

const hmacHex = (secret: string, text: string | Buffer) => createHmac('sha256', secret).update(text).digest();

/**
 * `X-LI-Signature`: hex HMAC-SHA256 with the client secret of `hmacsha256=` + the raw body (LinkedIn's
 * wording; the digest of the bare body is accepted too, as its documentation is read both ways). The
 * header may carry the `hmacsha256=` prefix. Compared in constant time.
 */
export function verifyNotificationSignature(
  rawBody: Buffer,
  header: string | undefined,
  clientSecret: string,
): boolean {
  const given = (header ?? '').trim().replace(/^hmacsha256=/i, '');
  if (!/^[0-9a-f]{64}$/i.test(given) || !clientSecret) return false;
  const digest = Buffer.from(given, 'hex');
  const prefixed = hmacHex(clientSecret, Buffer.concat([Buffer.from('hmacsha256='), rawBody]));
  const bare = hmacHex(clientSecret, rawBody);
  // Both compared, so the time taken does not tell which form (or whether either) matched.
  const matches = [timingSafeEqual(digest, prefixed), timingSafeEqual(digest, bare)];
  return matches.some(Boolean);
}

// --- the use cases --------------------------------------------------------------------------------

export interface LinkedInInboxDeps {
  settings: LinkedInSettings;
  stores: LinkedInStores;
  inbox: InboxTable;
  api: LinkedInApi;
  cipher: () => TokenCipher;
  ai: AiClient;
  clock: () => Date;
}

/** An item as the routes show it: without the bookkeeping of send attempts. */
export function inboxItemView(item: InboxItem) {
  const { attempt: _attempt, sendStartedAttempt: _started, ...rest } = item;
  const { etag: _etag, ...view } = rest as typeof rest & { etag?: string };
  return view;
}
export type InboxItemView = ReturnType<typeof inboxItemView>;

const PRIORITY_RANK: Record<string, number> = { high: 0, normal: 1, low: 2, '': 3 };

/**
 * The LinkedIn inbox: messages and comments pasted by a person or pushed by the organization webhook,
 * each triaged and given a draft reply by the AI layer. Nothing goes out without a person's approval;
 * an approved reply to a comment on the account's own post is published as a comment exactly once,
 * any other reply is marked ready for the person to send by hand (LinkedIn's API cannot send messages).
 */
export function createLinkedInInbox(deps: LinkedInInboxDeps) {
  const { settings, stores, inbox, api, ai, clock } = deps;
  const now = () => clock().toISOString();
  /** A `sending` item untouched this long was interrupted (the call itself gives up after the timeout). */
  const stuckAfterMs = settings.timeoutMs + 60_000;

  const itemOf = async (id: string) => {
    const item = inboxItemSchema.shape.id.safeParse(id).success ? await inbox.get(id) : undefined;
    if (!item) throw new NotFoundError(`No LinkedIn inbox item ${id}.`);
    return item;
  };

  /** Earlier items from the same sender, or comments on the same post, oldest first. */
  const conversationOf = async (item: InboxItem): Promise<ConversationTurn[]> => {
    const sameFrom = odata`fromKey eq ${fromKey(item.from)}`;
    const filter =
      item.kind === 'comment' && item.postUrn
        ? `(${sameFrom} or ${odata`postUrn eq ${item.postUrn}`})`
        : sameFrom;
    const earlier = (await inbox.list(filter)).filter(
      (other) =>
        other.id !== item.id &&
        (other.receivedAt < item.receivedAt ||
          (other.receivedAt === item.receivedAt && other.createdAt < item.createdAt)),
    );
    return earlier
      .sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.createdAt.localeCompare(b.createdAt))
      .slice(-MAX_CONVERSATION_ITEMS)
      .map((other) => ({
        at: other.receivedAt,
        kind: other.kind,
        from: other.from,
        text: other.text.slice(0, MAX_CONVERSATION_CHARS),
        ...(other.reply && other.approvedAt ? { reply: other.reply.slice(0, MAX_CONVERSATION_CHARS) } : {}),
      }));
  };

  /** Triage, then (unless spam) a draft; what to store. An AI failure leaves the item `new` with why. */
  const draftFor = async (item: InboxItem): Promise<Partial<InboxItem>> => {
    const conversation = await conversationOf(item);
    const base = { kind: item.kind, from: item.from, text: item.text, conversation };
    try {
      const triage = parseJsonAnswer(
        LINKEDIN_TRIAGE_TASK,
        (await ai.complete({ task: LINKEDIN_TRIAGE_TASK, variables: base })).text,
        triageAnswerSchema,
      );
      if (triage.category === 'spam')
        return { ...triage, priority: 'low', status: 'ignored', reason: 'classified as spam: no draft' };
      const maxChars = item.kind === 'comment' ? MAX_COMMENT_CHARS : MAX_MESSAGE_CHARS;
      const variables: ReplyVariables = { ...base, ...triage, maxChars };
      const { reply } = parseJsonAnswer(
        LINKEDIN_REPLY_TASK,
        (await ai.complete({ task: LINKEDIN_REPLY_TASK, variables })).text,
        replyAnswerSchema,
      );
      return { ...triage, status: 'drafted', draft: clip(reply, maxChars), reason: undefined };
    } catch (error) {
      if (
        error instanceof AiUnavailableError ||
        error instanceof AiOutputBlockedError ||
        error instanceof MalformedAnswerError
      )
        return { reason: `no draft yet: ${error.message}`.slice(0, 1000) };
      throw error;
    }
  };

  /** Drafts a `new` item and stores the outcome (only if it is still `new`: a person may have acted). */
  const triageStored = async (item: InboxItem): Promise<InboxItem> => {
    const change = await draftFor(item);
    const written = await inbox.mutate(item.id, (current) =>
      current.status === 'new' ? { ...current, ...change, updatedAt: now() } : undefined,
    );
    return written?.doc ?? item;
  };

  /** The account an approved comment reply is published as; undefined: the person replies by hand. */
  const publisherFor = async (item: InboxItem): Promise<{ account?: Account; why: string }> => {
    if (item.kind === 'message')
      return { why: "LinkedIn's API cannot send messages: copy the reply into LinkedIn" };
    if (!item.postUrn) return { why: 'the post is unknown: reply to the comment on LinkedIn' };
    const own = (await stores.posts.list(odata`status eq ${'published'}`)).find(
      (p) => p.urn === item.postUrn,
    );
    const accounts = (await stores.accounts.list()).filter((a) => a.status === 'connected');
    if (own) {
      const account = accounts.find((a) => a.id === own.accountId);
      return account
        ? { account, why: '' }
        : { why: 'the account that published the post must be reconnected: reply on LinkedIn' };
    }
    // The organization's webhook only reports comments on the page's own posts.
    if (item.source === 'webhook') {
      if (accounts.length === 1) return { account: accounts[0] as Account, why: '' };
      return {
        why:
          accounts.length === 0
            ? 'no LinkedIn account is connected: reply on LinkedIn'
            : 'several accounts are connected and the page post names none: reply on LinkedIn',
      };
    }
    return { why: 'not a post this app published: reply to the comment on LinkedIn' };
  };

  /** Ends a send attempt, only if the item is still in it; success also settles an `unconfirmed` one. */
  const finish = async (
    id: string,
    attempt: number,
    change: Partial<InboxItem>,
    settles: readonly InboxStatus[] = ['sending'],
  ): Promise<InboxItem | undefined> => {
    const written = await inbox.mutate(id, (item) =>
      settles.includes(item.status) && item.attempt === attempt
        ? { ...item, ...change, updatedAt: now() }
        : undefined,
    );
    return written?.doc;
  };

  /**
   * The send step of one approval: the comment created at most once per attempt. LinkedIn has no
   * idempotency key, so the attempt is marked as started (under the row's ETag) before the call: a
   * second run of the step for the same attempt (a crash, a redelivery) never calls LinkedIn again, it
   * marks the item `unconfirmed`. A timeout or a 5xx is `unconfirmed` too: LinkedIn may have published it.
   */
  const sendReply = async (id: string, attempt: number): Promise<InboxItem> => {
    const item = await itemOf(id);
    if (item.status !== 'sending' || item.attempt !== attempt) return item;
    if (item.sendStartedAttempt === attempt)
      return (
        (await finish(id, attempt, {
          status: 'unconfirmed',
          reason:
            "the send step ran again after an interruption: check the post's comments on LinkedIn before replying again",
        })) ?? (await itemOf(id))
      );
    const account = item.accountId ? await stores.accounts.get(item.accountId) : undefined;
    if (!account || account.status !== 'connected' || !item.postUrn || !item.reply)
      return (
        (await finish(id, attempt, {
          status: 'failed',
          reason: 'the LinkedIn account must be reconnected; then approve again',
        })) ?? (await itemOf(id))
      );
    const token = deps.cipher().open(account.token);
    const marked = await inbox.mutate(id, (i) =>
      i.status === 'sending' && i.attempt === attempt && i.sendStartedAttempt !== attempt
        ? { ...i, sendStartedAttempt: attempt, updatedAt: now() }
        : undefined,
    );
    if (!marked?.changed) return marked?.doc ?? (await itemOf(id));

    const settle = async (change: Partial<InboxItem>, settles?: readonly InboxStatus[]) =>
      (await finish(id, attempt, change, settles)) ?? (await itemOf(id));
    try {
      const commentId = await api.createComment(token, item.postUrn, account.urn, item.reply);
      return settle(
        {
          status: 'sent',
          sentAt: now(),
          ...(commentId
            ? {
                replyUrn: commentId.startsWith('urn:')
                  ? commentId
                  : `urn:li:comment:(${item.postUrn},${commentId})`,
              }
            : {}),
          reason: undefined,
        },
        ['sending', 'unconfirmed'],
      );
    } catch (error) {
      if (!(error instanceof LinkedInError)) throw error;
      switch (error.failure) {
        case 'timeout':
        case 'server':
          return settle({
            status: 'unconfirmed',
            reason:
              `LinkedIn may have published it (${error.message}): check the post's comments before replying again`.slice(
                0,
                1000,
              ),
          });
        case 'unauthorized':
          await stores.accounts.mutate(account.id, (a) => ({
            ...a,
            status: 'reconnect-required',
            reason: error.message.slice(0, 500),
          }));
          return settle({
            status: 'failed',
            reason: 'the LinkedIn account must be reconnected (401); then approve again',
          });
        case 'rate_limited':
          return settle({ status: 'failed', reason: 'rate limited by LinkedIn (429): approve again later' });
        case 'network':
          return settle({
            status: 'failed',
            reason: `nothing reached LinkedIn (${error.message}): approve again`.slice(0, 1000),
          });
        default:
          return settle({
            status: 'failed',
            reason: `LinkedIn refused the comment: ${error.message}`.slice(0, 1000),
          });
      }
    }
  };

  const requireOn = () => {
    if (!settings.enabled)
      throw new UnavailableError(
        'LinkedIn is off: set LINKEDIN_CLIENT_ID, LINKEDIN_CLIENT_SECRET, LINKEDIN_REDIRECT_URI and LINKEDIN_TOKEN_KEY.',
      );
  };
  const requireOrganization = () => {
    requireOn();
    if (!settings.orgUrn)
      throw new UnavailableError('The LinkedIn webhook needs LINKEDIN_ORG_URN (the organization page).');
    return settings.orgUrn;
  };

  return {
    /** A message or comment a person pasted: stored, triaged and drafted (`new` with a reason if the AI failed). */
    addItem: async (body: unknown): Promise<InboxItemView> => {
      const request = parseInput(addItemSchema, body);
      const at = now();
      if (request.receivedAt && Date.parse(request.receivedAt) > clock().getTime() + 5 * 60_000)
        throw new InvalidInputError('body.receivedAt', 'is in the future');
      const item: InboxItem = {
        id: randomBytes(8).toString('hex'),
        kind: request.kind,
        from: request.from,
        text: request.text,
        ...(request.postUrn ? { postUrn: request.postUrn } : {}),
        source: 'pasted',
        receivedAt: request.receivedAt ? new Date(request.receivedAt).toISOString() : at,
        createdAt: at,
        updatedAt: at,
        status: 'new',
        attempt: 0,
      };
      await inbox.create(item);
      return inboxItemView(await triageStored(item));
    },

    /** Items by status and priority, most urgent first, then newest first. */
    listItems: async (query: { status?: string | undefined; priority?: string | undefined } = {}) => {
      const { status, priority } = query;
      if (status && !(INBOX_STATUSES as readonly string[]).includes(status))
        throw new InvalidInputError('status', `must be one of ${INBOX_STATUSES.join(', ')}`);
      if (priority && !(INBOX_PRIORITIES as readonly string[]).includes(priority))
        throw new InvalidInputError('priority', `must be one of ${INBOX_PRIORITIES.join(', ')}`);
      const clauses = [
        ...(status ? [odata`status eq ${status}`] : []),
        ...(priority ? [odata`priority eq ${priority}`] : []),
      ];
      const items = await inbox.list(clauses.length ? clauses.join(' and ') : undefined);
      return items
        .sort(
          (a, b) =>
            (PRIORITY_RANK[a.priority ?? ''] ?? 3) - (PRIORITY_RANK[b.priority ?? ''] ?? 3) ||
            b.receivedAt.localeCompare(a.receivedAt),
        )
        .map(inboxItemView);
    },

    getItem: async (id: string): Promise<InboxItemView> => inboxItemView(await itemOf(id)),

    /**
     * A person approves the draft, or their edit of it (`{text?}`). A reply to a comment on the account's
     * own post is published as a comment, once; any other reply becomes `ready-to-send` (sent by hand).
     * Approving again what is sent or ready changes nothing.
     */
    approve: async (id: string, body: unknown = {}): Promise<InboxItemView> => {
      const request = parseInput(approveSchema, body ?? {});
      const item = await itemOf(id);
      if (item.status === 'sent' || item.status === 'ready-to-send') return inboxItemView(item);
      if (item.status === 'unconfirmed')
        throw new ConflictError(
          `Inbox item ${id} is unconfirmed: LinkedIn may have published the reply. Check the post's comments; reject the item to close it, or reply on LinkedIn.`,
          'unconfirmed',
        );
      if (item.status === 'sending') {
        if (clock().getTime() - Date.parse(item.updatedAt) < stuckAfterMs)
          throw new ConflictError(`Inbox item ${id} is being sent.`, 'sending');
        // Interrupted: the step runs again, and never comments twice (it marks the item unconfirmed).
        return inboxItemView(await sendReply(id, item.attempt));
      }
      const replyText = request.text ?? item.draft;
      if (!replyText) throw new InvalidInputError('body.text', 'is required: this item has no draft');
      const publisher = await publisherFor(item);
      const limit = publisher.account ? MAX_COMMENT_CHARS : MAX_MESSAGE_CHARS;
      if (replyText.length > limit)
        throw new InvalidInputError(
          'body.text',
          `is longer than ${limit} characters (LinkedIn's limit for a ${publisher.account ? 'comment' : 'message'})`,
        );
      const at = now();
      let claimed: number | undefined;
      const written = await inbox.mutate(id, (current) => {
        claimed = undefined;
        if (!APPROVABLE.includes(current.status)) return undefined;
        const approved = { ...current, reply: replyText, approvedAt: at, updatedAt: at };
        if (!publisher.account) return { ...approved, status: 'ready-to-send', reason: publisher.why };
        claimed = current.attempt + 1;
        return {
          ...approved,
          status: 'sending',
          attempt: claimed,
          accountId: publisher.account.id,
          reason: undefined,
        };
      });
      if (!written) throw new NotFoundError(`No LinkedIn inbox item ${id}.`);
      if (claimed === undefined) return inboxItemView(written.doc);
      return inboxItemView(await sendReply(id, claimed));
    },

    /** The person declines to answer (also closes an unconfirmed or ready-to-send item). */
    reject: async (id: string): Promise<InboxItemView> => {
      await itemOf(id);
      const written = await inbox.mutate(id, (item) => {
        if (item.status === 'rejected') return undefined;
        if (item.status === 'sending' || item.status === 'sent')
          throw new ConflictError(`Inbox item ${id} is ${item.status}: it can no longer be rejected.`);
        return { ...item, status: 'rejected', updatedAt: now() };
      });
      return inboxItemView(written?.doc ?? (await itemOf(id)));
    },

    /** The send step alone, for an orchestration or a retry after a crash: never comments twice. */
    sendReply: async (id: string, attempt: number): Promise<InboxItemView> =>
      inboxItemView(await sendReply(id, attempt)),

    /** Items left `new` (the AI was down): triaged and drafted again. For a timer or an operator. */
    triagePending: async (): Promise<{ drafted: number; pending: number }> => {
      let drafted = 0;
      let pending = 0;
      for (const item of await inbox.list(odata`status eq ${'new'}`)) {
        const after = await triageStored(item);
        if (after.status === 'new') pending++;
        else drafted++;
      }
      return { drafted, pending };
    },

    /** LinkedIn's webhook validation (`GET ?challengeCode=`): the code's HMAC-SHA256 with the client secret. */
    handleChallenge: (challengeCode: unknown): { challengeCode: string; challengeResponse: string } => {
      requireOrganization();
      const code = parseInput(
        z.string().trim().min(1, 'is required').max(200, 'is longer than 200 characters'),
        challengeCode,
        'challengeCode',
      );
      return {
        challengeCode: code,
        challengeResponse: hmacHex(settings.clientSecret, code).toString('hex'),
      };
    },

    /**
     * `POST /api/linkedin/webhook`: the organization's notifications, signature checked first. Each
     * COMMENT on the page's posts becomes an inbox item whose id comes from its `notificationId`, so a
     * redelivery finds it (the insert is conditional) and adds nothing.
     */
    receiveNotification: async (
      rawBody: string | Uint8Array,
      signatureHeader: string | undefined,
    ): Promise<{ received: number; added: number; duplicates: number; skipped: number }> => {
      const organization = requireOrganization();
      const raw = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody);
      if (raw.length > MAX_NOTIFICATION_BYTES)
        throw new TooLargeError('The notification', MAX_NOTIFICATION_BYTES);
      if (!verifyNotificationSignature(raw, signatureHeader, settings.clientSecret))
        throw new UnauthenticatedError(
          'X-LI-Signature is missing or does not match the body signed with the client secret.',
          'bad_signature',
        );
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new InvalidInputError('body', 'is not JSON', 'invalid_json');
      }
      const payload = parseInput(notificationPayloadSchema, json);
      const result = { received: payload.notifications.length, added: 0, duplicates: 0, skipped: 0 };
      for (const entry of payload.notifications) {
        const parsed = notificationSchema.safeParse(entry);
        const comment = parsed.success ? parsed.data.decoratedGeneratedActivity?.comment : undefined;
        const commentText = (comment?.fullText ?? comment?.text ?? '').trim();
        if (
          !parsed.success ||
          parsed.data.action !== 'COMMENT' ||
          parsed.data.organizationalEntity !== organization ||
          !commentText
        ) {
          result.skipped++;
          continue;
        }
        const n = parsed.data;
        const id = `notification-${n.notificationId}`;
        const existing = await inbox.get(id);
        if (existing) {
          // A redelivery; if the AI failed the first time, this is a chance to draft it.
          if (existing.status === 'new') await triageStored(existing);
          result.duplicates++;
          continue;
        }
        const at = now();
        const commentUrn = comment?.entity ?? n.generatedActivity;
        const item: InboxItem = {
          id,
          kind: 'comment',
          from: (comment?.owner ?? 'unknown').slice(0, MAX_FROM_CHARS),
          text: clip(commentText, MAX_MESSAGE_CHARS),
          ...(n.sourcePost ? { postUrn: n.sourcePost } : {}),
          source: 'webhook',
          ...(commentUrn ? { commentUrn } : {}),
          receivedAt: n.lastModifiedAt ? new Date(n.lastModifiedAt).toISOString() : at,
          createdAt: at,
          updatedAt: at,
          status: 'new',
          attempt: 0,
        };
        if (!(await inbox.create(item))) {
          result.duplicates++;
          continue;
        }
        await triageStored(item);
        result.added++;
      }
      return result;
    },
  };
}
export type LinkedInInbox = ReturnType<typeof createLinkedInInbox>;

/** At most `max` characters, cut at a word when one is near. */
function clip(text: string, max: number): string {
  const trimmed = text.trim();
  if (trimmed.length <= max) return trimmed;
  const cut = trimmed.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > max * 0.8 ? cut.slice(0, space) : cut}…`;
}
