import { randomBytes } from 'node:crypto';
import type { AiClient } from '../ai/aiClient';
import type { Email } from '../email';
import { ensureContainer } from '../platform/blobs';
import { ConflictError, InvalidInputError, NotFoundError, UnavailableError } from '../platform/errors';
import type { OrchestrationContext, Task } from 'durable-functions';
import { callActivity, type Orchestrations } from '../platform/durable';
import { parseInput } from '../platform/input';
import type { StorageClients } from '../platform/storage';
import { CONTAINERS, TABLES } from '../platform/storageNames';
import { LinkedInError, linkedinApi, type LinkedInApi } from './api';
import { inspectImage, nextFreeSlot } from './content';
import { remindExpiring } from './reminders';
import { linkedinAnalytics, refreshMetrics } from './analytics';
import { LINKEDIN_DURABLE, publishInstanceId, type PublishInput, type StepOutcome } from './contracts';
import { draftPost } from './drafts';
import { createLinkedInInbox, linkedinInboxTable } from './inbox';
import { callbackPage } from './page';
import { claimPost, contentProblem, createPost, publishDue, uploadMedia, type PublishDeps } from './publish';
import {
  confirmSchema,
  createPostSchema,
  DAYS,
  scheduleRequestSchema,
  updatePostSchema,
  type CreatePostRequest,
} from './requests';
import type { LinkedInSettings } from './settings';
import { linkedinStores, POST_STATUSES, type Account, type Post } from './store';
import { tokenCipher } from './tokens';

export { linkedinSettings, type LinkedInSettings } from './settings';
export { LINKEDIN_DURABLE, LINKEDIN_POST_RUN_PREFIX } from './contracts';
export { LINKEDIN_OFFLINE_GENERATORS } from './offline';

export interface LinkedInDependencies {
  settings: LinkedInSettings;
  storage: StorageClients;
  /** The AI layer's output blocklist: a post containing a term is not published. */
  blocklist: readonly string[];
  email: () => Pick<Email, 'provider' | 'send'>;
  /** Inbox triage and replies, post drafts. */
  ai: () => AiClient;
  clock?: () => Date;
  fetch?: typeof fetch;
}

const OFF =
  'LinkedIn is off: set LINKEDIN_CLIENT_ID, LINKEDIN_CLIENT_SECRET, LINKEDIN_REDIRECT_URI and LINKEDIN_TOKEN_KEY.';
const STATE_TTL_MS = 10 * 60_000;
const DAY_MS = 86_400_000;
const EXPIRING_DAYS = 7;

/** What each feature needs of the granted scopes: a missing one is reported at connection. */
const FEATURE_SCOPES = {
  publish: ['w_member_social'],
  comments: ['w_member_social'],
  analytics: ['r_member_postAnalytics'],
} as const;

const newId = () => randomBytes(8).toString('hex');

/** The account as the routes show it: never its token. */
function accountView(account: Account, now: Date) {
  const expires = Date.parse(account.expiresAt);
  const status =
    account.status === 'reconnect-required' || expires <= now.getTime()
      ? 'reconnect-required'
      : expires - now.getTime() < EXPIRING_DAYS * DAY_MS
        ? 'expiring'
        : 'connected';
  return {
    id: account.id,
    name: account.name,
    urn: account.urn,
    status,
    expiresAt: account.expiresAt,
    scopes: account.scopes,
    missing: missingFeatures(account.scopes),
    ...(account.reason && status === 'reconnect-required' ? { reason: account.reason } : {}),
  };
}

function missingFeatures(scopes: readonly string[]): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(FEATURE_SCOPES)
      .map(([feature, needed]) => [feature, needed.filter((s) => !scopes.includes(s))] as const)
      .filter(([, missing]) => missing.length > 0),
  );
}

function postView(post: Post) {
  const { uploaded: _uploaded, createStartedAttempt: _started, image, link, ...rest } = post;
  return {
    ...rest,
    ...(image
      ? {
          image: {
            contentType: image.contentType,
            bytes: image.bytes,
            width: image.width,
            height: image.height,
            altText: image.altText,
          },
        }
      : {}),
    ...(link
      ? {
          link: {
            url: link.url,
            title: link.title,
            description: link.description,
            thumbnail: Boolean(link.thumbnail),
          },
        }
      : {}),
  };
}

/**
 * LinkedIn for one professional: OAuth connection, posts scheduled and published exactly once, queue
 * slots. Tokens are stored sealed; no route returns one.
 */
export function createLinkedIn(deps: LinkedInDependencies) {
  const { settings } = deps;
  const clock = deps.clock ?? (() => new Date());
  const stores = linkedinStores({
    accounts: deps.storage.table(TABLES.linkedinAccounts),
    states: deps.storage.table(TABLES.linkedinStates),
    posts: deps.storage.table(TABLES.linkedinPosts),
    settings: deps.storage.table(TABLES.linkedinSettings),
  });
  const media = deps.storage.blobs.getContainerClient(CONTAINERS.linkedinMedia);
  const api: LinkedInApi = linkedinApi(settings, deps.fetch);
  const requireOn = () => {
    if (!settings.enabled || !settings.tokenKey) throw new UnavailableError(OFF);
    return settings.tokenKey;
  };
  const cipher = () => tokenCipher(requireOn());
  const publishDeps: PublishDeps = { stores, api, cipher, media, blocklist: deps.blocklist, clock };
  const inboxTable = linkedinInboxTable(deps.storage.table(TABLES.linkedinInbox));
  let inboxCases: ReturnType<typeof createLinkedInInbox> | undefined;
  // Built on first use: the AI client is only needed by the inbox and drafts.
  const inbox = () =>
    (inboxCases ??= createLinkedInInbox({
      settings,
      stores,
      inbox: inboxTable,
      api,
      cipher,
      ai: deps.ai(),
      clock,
    }));

  const postOf = async (id: string) => {
    const post = /^[0-9a-f]{16}$/.test(id) ? await stores.posts.get(id) : undefined;
    if (!post) throw new NotFoundError(`No LinkedIn post ${id}.`);
    return post;
  };

  const storeImage = async (
    postId: string,
    kind: 'image' | 'thumbnail',
    input: { contentBase64: string; contentType: string },
    field: string,
  ) => {
    const bytes = Buffer.from(input.contentBase64, 'base64');
    const found = inspectImage(bytes, input.contentType, field);
    await ensureContainer(media);
    const blob = `${postId}/${kind}`;
    await media
      .getBlockBlobClient(blob)
      .uploadData(bytes, { blobHTTPHeaders: { blobContentType: found.contentType } });
    return {
      blob,
      contentType: found.contentType,
      bytes: bytes.length,
      width: found.width,
      height: found.height,
    };
  };

  const accountFor = async (accountId: string | undefined): Promise<Account> => {
    if (accountId) {
      const account = await stores.accounts.get(accountId);
      if (!account) throw new InvalidInputError('body.accountId', 'is not a connected account');
      return account;
    }
    const accounts = await stores.accounts.list();
    if (accounts.length === 0)
      throw new ConflictError(
        'No LinkedIn account is connected: open GET /api/linkedin/connect first.',
        'not_connected',
      );
    if (accounts.length > 1)
      throw new InvalidInputError('body.accountId', 'is required: more than one account is connected');
    return accounts[0] as Account;
  };

  /** When a post goes out: its time, the next free slot, now, or never (a draft). */
  const scheduleOf = async (
    request: { scheduledAt?: string | undefined; slot?: 'next' | undefined; draft?: boolean | undefined },
    now: Date,
    except?: string,
  ) => {
    if (request.draft) return undefined;
    if (request.scheduledAt) {
      const at = new Date(request.scheduledAt);
      if (at.getTime() < now.getTime() - 60_000)
        throw new InvalidInputError('body.scheduledAt', 'is in the past');
      return at.toISOString();
    }
    if (request.slot === 'next') {
      const queue = await stores.schedule.get('queue');
      if (!queue || queue.slots.length === 0)
        throw new ConflictError('No queue slots are set: PUT /api/linkedin/schedule first.', 'no_slots');
      const taken = (await stores.posts.list(`status eq 'scheduled'`))
        .filter((p) => p.id !== except)
        .flatMap((p) => (p.scheduledAt ? [p.scheduledAt] : []));
      const slot = nextFreeSlot(queue.slots, queue.timezone, now, taken);
      if (!slot) throw new ConflictError('Every queue slot of the next 14 days is taken.', 'no_free_slot');
      return slot.toISOString();
    }
    return now.toISOString();
  };

  return {
    enabled: settings.enabled,

    // --- connection -----------------------------------------------------------------------------

    /** The authorization URL with a single-use state that expires in 10 minutes. */
    connect: async (): Promise<{ url: string }> => {
      requireOn();
      const state = randomBytes(24).toString('base64url');
      await stores.states.create({
        state,
        expiresAt: new Date(clock().getTime() + STATE_TTL_MS).toISOString(),
      });
      return { url: api.authorizationUrl(state) };
    },

    /** LinkedIn's redirect: the state checked and spent, the code exchanged, the account stored. Answers HTML. */
    callback: async (query: {
      code?: string;
      state?: string;
      error?: string;
      errorDescription?: string;
    }): Promise<{ status: number; html: string }> => {
      requireOn();
      const refuse = (status: number, title: string, line: string) => ({
        status,
        html: callbackPage(title, [line, 'Start again from GET /api/linkedin/connect.']),
      });
      const saved =
        query.state && query.state.length <= 100 ? await stores.states.get(query.state) : undefined;
      // Spent before anything else: the same state can never be used twice, even by two requests at once.
      const spent = saved ? await stores.states.deleteIfUnchanged(saved.state, saved.etag) : false;
      if (!saved || !spent)
        return refuse(400, 'LinkedIn connection refused', 'This link is not valid or was already used.');
      if (Date.parse(saved.expiresAt) < clock().getTime())
        return refuse(400, 'LinkedIn connection expired', 'The connection took more than 10 minutes.');
      if (query.error)
        return refuse(
          400,
          'LinkedIn connection cancelled',
          `LinkedIn said: ${query.errorDescription ?? query.error}.`,
        );
      if (!query.code)
        return refuse(400, 'LinkedIn connection refused', 'LinkedIn sent no authorization code.');
      try {
        const token = await api.exchangeCode(query.code);
        const me = await api.userinfo(token.accessToken);
        const now = clock();
        const account: Account = {
          id: me.sub,
          urn: `urn:li:person:${me.sub}`,
          name: me.name ?? [me.given_name, me.family_name].filter(Boolean).join(' ') ?? me.sub,
          scopes: token.scopes,
          token: cipher().seal(token.accessToken),
          expiresAt: new Date(now.getTime() + token.expiresInSeconds * 1000).toISOString(),
          connectedAt: now.toISOString(),
          status: 'connected',
          reminded: [],
        };
        const existed = !(await stores.accounts.create(account));
        if (existed) await stores.accounts.mutate(account.id, () => account);
        // Posts paused while the account was disconnected go back to the queue.
        for (const post of await stores.posts.list(`status eq 'paused'`))
          if (post.accountId === account.id)
            await stores.posts.mutate(post.id, (p) =>
              p.status === 'paused'
                ? { ...p, status: 'scheduled', reason: undefined, updatedAt: now.toISOString() }
                : undefined,
            );
        const missing = missingFeatures(account.scopes);
        const expiry = new Intl.DateTimeFormat('en-GB', {
          dateStyle: 'long',
          timeZone: settings.timezone,
        }).format(new Date(account.expiresAt));
        return {
          status: 200,
          html: callbackPage('LinkedIn connected', [
            `Connected as ${account.name}.`,
            `The connection lasts until ${expiry}; you will be reminded 7 days and 1 day before.`,
            ...Object.entries(missing).map(
              ([feature, scopes]) => `Not granted for ${feature}: ${scopes.join(', ')}.`,
            ),
          ]),
        };
      } catch (error) {
        if (!(error instanceof LinkedInError)) throw error;
        return refuse(
          502,
          'LinkedIn connection failed',
          `LinkedIn did not complete the connection: ${error.message}`,
        );
      }
    },

    listAccounts: async () => (await stores.accounts.list()).map((a) => accountView(a, clock())),

    /** A connection test: LinkedIn's introspection and userinfo with the stored token. */
    testAccount: async (id: string) => {
      const account = await stores.accounts.get(id);
      if (!account) throw new NotFoundError(`No LinkedIn account ${id}.`);
      const token = cipher().open(account.token);
      try {
        const introspection = await api.introspect(token);
        if (!introspection.active)
          throw new LinkedInError('unauthorized', 401, `the token is ${introspection.status ?? 'inactive'}`);
        const me = await api.userinfo(token);
        return { ok: true, account: accountView(account, clock()), name: me.name ?? account.name };
      } catch (error) {
        if (!(error instanceof LinkedInError)) throw error;
        if (error.failure === 'unauthorized') {
          const changed = await stores.accounts.mutate(id, (a) => ({
            ...a,
            status: 'reconnect-required',
            reason: error.message.slice(0, 500),
          }));
          return {
            ok: false,
            account: changed ? accountView(changed.doc, clock()) : undefined,
            error: error.message,
          };
        }
        throw new UnavailableError(`LinkedIn could not be asked: ${error.message}`);
      }
    },

    disconnect: async (id: string) => {
      const account = await stores.accounts.get(id);
      if (!account) throw new NotFoundError(`No LinkedIn account ${id}.`);
      await stores.accounts.deleteIfUnchanged(id, account.etag);
      // Its scheduled posts wait for a new connection instead of failing.
      for (const post of await stores.posts.list(`status eq 'scheduled'`))
        if (post.accountId === id)
          await stores.posts.mutate(post.id, (p) => ({
            ...p,
            status: 'paused',
            reason: 'the account was disconnected',
            updatedAt: clock().toISOString(),
          }));
      return { disconnected: id };
    },

    /** The daily reminder: 7 days and 1 day before a token expires, once each. */
    remindExpiring: () => remindExpiring({ stores, settings, email: deps.email(), clock }),

    // --- posts ---------------------------------------------------------------------------------

    createPost: async (body: unknown) => {
      requireOn();
      const request: CreatePostRequest = parseInput(createPostSchema, body);
      const problem = contentProblem({ text: request.text }, deps.blocklist);
      if (problem) throw new InvalidInputError('body.text', problem);
      const account = await accountFor(request.accountId);
      const now = clock();
      const id = newId();
      const scheduledAt = await scheduleOf(request, now);
      const post: Post = {
        id,
        accountId: account.id,
        text: request.text,
        ...(request.image
          ? {
              image: {
                ...(await storeImage(id, 'image', request.image, 'body.image')),
                ...(request.image.altText ? { altText: request.image.altText } : {}),
              },
            }
          : {}),
        ...(request.link
          ? {
              link: {
                url: request.link.url,
                title: request.link.title,
                ...(request.link.description ? { description: request.link.description } : {}),
                ...(request.link.thumbnail
                  ? {
                      thumbnail: await storeImage(
                        id,
                        'thumbnail',
                        request.link.thumbnail,
                        'body.link.thumbnail',
                      ),
                    }
                  : {}),
              },
            }
          : {}),
        status: scheduledAt ? 'scheduled' : 'draft',
        ...(scheduledAt ? { scheduledAt } : {}),
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
        attempt: 0,
        uploaded: {},
        rateLimited: 0,
      };
      await stores.posts.create(post);
      return { id, status: post.status, scheduledAt: post.scheduledAt ?? null };
    },

    listPosts: async (status: string | undefined) => {
      if (status && !(POST_STATUSES as readonly string[]).includes(status))
        throw new InvalidInputError('status', `must be one of ${POST_STATUSES.join(', ')}`);
      const posts = await stores.posts.list(status ? `status eq '${status}'` : undefined);
      return posts
        .sort((a, b) => (b.scheduledAt ?? b.createdAt).localeCompare(a.scheduledAt ?? a.createdAt))
        .map(postView);
    },

    getPost: async (id: string) => postView(await postOf(id)),

    /** Edits or reschedules a post not yet publishing (a paused or failed one goes back to the queue). */
    updatePost: async (id: string, body: unknown) => {
      const request = parseInput(updatePostSchema, body);
      const before = await postOf(id);
      const now = clock();
      const editable = ['draft', 'scheduled', 'paused', 'failed'];
      if (!editable.includes(before.status))
        throw new ConflictError(
          `Post ${id} is ${before.status}: only a post not yet publishing can be edited.`,
        );
      if (request.text !== undefined) {
        const problem = contentProblem({ text: request.text }, deps.blocklist);
        if (problem) throw new InvalidInputError('body.text', problem);
      }
      const image = request.image
        ? {
            ...(await storeImage(id, 'image', request.image, 'body.image')),
            ...(request.image.altText ? { altText: request.image.altText } : {}),
          }
        : undefined;
      const thumbnail = request.link?.thumbnail
        ? await storeImage(id, 'thumbnail', request.link.thumbnail, 'body.link.thumbnail')
        : undefined;
      const timing =
        request.scheduledAt || request.slot || request.draft !== undefined
          ? await scheduleOf(request, now, id)
          : 'keep';
      const changed = await stores.posts.mutate(id, (post) => {
        if (!editable.includes(post.status))
          throw new ConflictError(
            `Post ${id} is ${post.status}: only a post not yet publishing can be edited.`,
          );
        const next: Post = { ...post, updatedAt: now.toISOString(), reason: undefined };
        if (request.text !== undefined) next.text = request.text;
        if (request.image === null) delete next.image;
        if (image) {
          next.image = image;
          delete next.link;
          next.uploaded = {};
        }
        if (request.link === null) delete next.link;
        if (request.link) {
          next.link = {
            url: request.link.url,
            title: request.link.title,
            ...(request.link.description ? { description: request.link.description } : {}),
            ...(thumbnail ? { thumbnail } : {}),
          };
          delete next.image;
          next.uploaded = {};
        }
        if (timing !== 'keep') {
          next.scheduledAt = timing;
          next.status = timing ? 'scheduled' : 'draft';
        } else if (post.status === 'paused' || post.status === 'failed')
          next.status = post.scheduledAt ? 'scheduled' : 'draft';
        return next;
      });
      return postView(changed?.doc ?? before);
    },

    cancelPost: async (id: string) => {
      await postOf(id);
      const changed = await stores.posts.mutate(id, (post) => {
        if (post.status === 'publishing' || post.status === 'published' || post.status === 'unconfirmed')
          throw new ConflictError(`Post ${id} is ${post.status}: it can no longer be cancelled here.`);
        return { ...post, status: 'cancelled', updatedAt: clock().toISOString() };
      });
      return postView(changed?.doc ?? (await postOf(id)));
    },

    /**
     * Publishes now: a draft, scheduled, paused or failed post, or an `unconfirmed` one deliberately
     * retried (a 422 DUPLICATE_POST then proves it was published, and it is marked so).
     */
    publishNow: async (id: string, orchestrations: Orchestrations) => {
      requireOn();
      const now = clock().toISOString();
      await postOf(id);
      await stores.posts.mutate(id, (post) => {
        if (!['draft', 'scheduled', 'paused', 'failed', 'unconfirmed'].includes(post.status))
          throw new ConflictError(`Post ${id} is ${post.status}: it cannot be published now.`);
        return { ...post, status: 'scheduled', scheduledAt: now, updatedAt: now };
      });
      const post = await postOf(id);
      const claim = await claimPost(publishDeps, id, await stores.accounts.get(post.accountId));
      if (!claim) return postView(await postOf(id));
      await orchestrations.start(LINKEDIN_DURABLE.publish, publishInstanceId(claim), claim);
      return postView(await postOf(id));
    },

    /** A person checked the profile: the `unconfirmed` post is published, with its URN. */
    confirmPost: async (id: string, body: unknown) => {
      const { urn } = parseInput(confirmSchema, body);
      await postOf(id);
      const changed = await stores.posts.mutate(id, (post) => {
        if (post.status !== 'unconfirmed')
          throw new ConflictError(`Post ${id} is ${post.status}: only an unconfirmed post can be confirmed.`);
        return {
          ...post,
          status: 'published',
          urn,
          url: `https://www.linkedin.com/feed/update/${urn}`,
          publishedAt: clock().toISOString(),
          reason: undefined,
          updatedAt: clock().toISOString(),
        };
      });
      return postView(changed?.doc ?? (await postOf(id)));
    },

    setSchedule: async (body: unknown) => {
      const request = parseInput(scheduleRequestSchema, body);
      try {
        new Intl.DateTimeFormat('en', { timeZone: request.timezone });
      } catch {
        throw new InvalidInputError('body.timezone', 'is not an IANA time zone (Europe/Paris)');
      }
      const schedule = {
        id: 'queue' as const,
        timezone: request.timezone,
        slots: request.slots.map((s) => ({ day: DAYS.indexOf(s.day), time: s.time })),
      };
      if (!(await stores.schedule.create(schedule))) await stores.schedule.mutate('queue', () => schedule);
      return { timezone: schedule.timezone, slots: request.slots };
    },

    getSchedule: async () => {
      const schedule = await stores.schedule.get('queue');
      return {
        timezone: schedule?.timezone ?? settings.timezone,
        slots: (schedule?.slots ?? []).map((s) => ({ day: DAYS[s.day], time: s.time })),
      };
    },

    // --- inbox, drafts, analytics ---------------------------------------------------------------

    inbox: {
      add: (body: unknown) => inbox().addItem(body),
      list: (filter: { status?: string; priority?: string }) => inbox().listItems(filter),
      get: (id: string) => inbox().getItem(id),
      approve: (id: string, body: unknown) => inbox().approve(id, body),
      reject: (id: string) => inbox().reject(id),
      challenge: (code: unknown) => inbox().handleChallenge(code),
      notification: (raw: Uint8Array, signature: string | undefined) =>
        inbox().receiveNotification(raw, signature),
    },
    draftPost: (body: unknown) => draftPost(deps.ai(), body),
    analytics: (query: { from?: string; to?: string }) => linkedinAnalytics(stores, inboxTable, query, clock),
    refreshMetrics: () => refreshMetrics({ stores, api, cipher, clock }),

    // --- publishing ----------------------------------------------------------------------------

    publishDue: (orchestrations: Orchestrations) => publishDue(publishDeps, orchestrations),
    activities: {
      uploadMedia: (input: PublishInput) => uploadMedia(publishDeps, input),
      createPost: (input: PublishInput) => createPost(publishDeps, input),
    },
    orchestrators: {
      /** Upload (retried inside its step), then create (never retried): one orchestration per attempt. */
      *publish(context: OrchestrationContext, input: PublishInput): Generator<Task, StepOutcome, unknown> {
        const uploaded = yield* callActivity(context, LINKEDIN_DURABLE.uploadMedia, input);
        if (uploaded.status !== 'continue') return uploaded;
        return yield* callActivity(context, LINKEDIN_DURABLE.createPost, input);
      },
    },
  };
}

export type LinkedIn = ReturnType<typeof createLinkedIn>;
