import type { ContainerClient } from '@azure/storage-blob';
import { findBlockedTerm, redactSensitive } from '../ai/sensitive';
import { readBlob } from '../platform/blobs';
import type { Orchestrations } from '../platform/durable';
import { LinkedInError, postUrl, type LinkedInApi, type PostBody } from './api';
import { escapeLittleText } from './content';
import { LINKEDIN_DURABLE, publishInstanceId, type PublishInput, type StepOutcome } from './contracts';
import { dueFilter, type Account, type LinkedInStores, type Post } from './store';
import type { TokenCipher } from './tokens';

export interface PublishDeps {
  stores: LinkedInStores;
  api: LinkedInApi;
  cipher: () => TokenCipher;
  media: ContainerClient;
  blocklist: readonly string[];
  clock: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

/** A post left `publishing` this long without its orchestration (a crash between claim and start) is started again. */
const STUCK_AFTER_MS = 10 * 60_000;
const UPLOAD_TRIES = 3;
/**
 * Rescheduling after a 429 (LinkedIn sends no Retry-After): 30 s, then doubling up to 6 hours (its limits
 * are daily), each spread over up to twice that so a burst of refused posts does not come back as one
 * burst. A short first wait lets a queue drain at the rate LinkedIn accepts; the doubling stops hammering
 * a daily limit.
 */
const backoffMs = (times: number, random: () => number = Math.random) =>
  Math.min(30_000 * 2 ** Math.max(0, times - 1), 6 * 3600_000) * (1 + random());

/** Why LinkedIn would refuse or a reader should not see it: the AI layer's blocklist, others' personal data. */
export function contentProblem(post: Pick<Post, 'text'>, blocklist: readonly string[]): string | undefined {
  const blocked = findBlockedTerm(post.text, blocklist);
  if (blocked) return `the text contains the blocked term "${blocked}"`;
  const { counts } = redactSensitive(post.text, ['email', 'phone', 'iban', 'nir']);
  const found = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([kind]) => kind);
  return found.length ? `the text contains personal data (${found.join(', ')})` : undefined;
}

/**
 * Claims a due post for one attempt: `scheduled` → `publishing` under the row's ETag, so two timers (or a
 * timer and a person pressing "publish now") cannot both start it. A post whose account must reconnect is
 * paused instead. Returns the attempt to run, or undefined.
 */
export async function claimPost(
  deps: PublishDeps,
  id: string,
  account: Account | undefined,
): Promise<PublishInput | undefined> {
  const now = deps.clock().toISOString();
  let claimed: PublishInput | undefined;
  await deps.stores.posts.mutate(id, (post) => {
    claimed = undefined;
    if (post.status !== 'scheduled' || !post.scheduledAt || post.scheduledAt > now) return undefined;
    if (!account || account.status !== 'connected')
      return {
        ...post,
        status: 'paused',
        reason: 'the LinkedIn account must be reconnected',
        updatedAt: now,
      };
    claimed = { postId: post.id, attempt: post.attempt + 1 };
    return { ...post, status: 'publishing', attempt: claimed.attempt, updatedAt: now };
  });
  return claimed;
}

/** The timer: every due post claimed and its orchestration started; stuck ones started again. */
export async function publishDue(
  deps: PublishDeps,
  orchestrations: Orchestrations,
): Promise<{ started: number; paused: number; resumed: number }> {
  const now = deps.clock();
  const due = await deps.stores.posts.list(dueFilter(now.toISOString()));
  const accounts = new Map((await deps.stores.accounts.list()).map((a) => [a.id, a]));
  let started = 0;
  let paused = 0;
  for (const post of due.sort((a, b) => (a.scheduledAt ?? '').localeCompare(b.scheduledAt ?? ''))) {
    const claim = await claimPost(deps, post.id, accounts.get(post.accountId));
    if (!claim) {
      paused++;
      continue;
    }
    await orchestrations.start(LINKEDIN_DURABLE.publish, publishInstanceId(claim), claim);
    started++;
  }
  let resumed = 0;
  const stuck = (await deps.stores.posts.list(`status eq 'publishing'`)).filter(
    (p) => now.getTime() - Date.parse(p.updatedAt) > STUCK_AFTER_MS,
  );
  for (const post of stuck) {
    const input = { postId: post.id, attempt: post.attempt };
    if (await orchestrations.status(publishInstanceId(input))) continue;
    await orchestrations.start(LINKEDIN_DURABLE.publish, publishInstanceId(input), input);
    resumed++;
  }
  return { started, paused, resumed };
}

/** The post for this attempt, or why the step has nothing to do (cancelled meanwhile, another attempt). */
async function current(
  deps: PublishDeps,
  input: PublishInput,
): Promise<{ post: Post } | { outcome: StepOutcome }> {
  const post = await deps.stores.posts.get(input.postId);
  if (!post) return { outcome: { status: 'cancelled', reason: 'the post no longer exists' } };
  if (post.status !== 'publishing' || post.attempt !== input.attempt)
    return { outcome: { status: post.status } };
  return { post };
}

async function accountToken(
  deps: PublishDeps,
  accountId: string,
): Promise<{ account: Account; token: string } | undefined> {
  const account = await deps.stores.accounts.get(accountId);
  if (!account || account.status !== 'connected') return undefined;
  return { account, token: deps.cipher().open(account.token) };
}

/** Ends the attempt: the post's new state, written only if the post is still in this attempt. */
async function finish(
  deps: PublishDeps,
  input: PublishInput,
  change: (post: Post) => Partial<Post>,
): Promise<StepOutcome> {
  const now = deps.clock().toISOString();
  let outcome: StepOutcome = { status: 'cancelled' };
  await deps.stores.posts.mutate(input.postId, (post) => {
    if (post.status !== 'publishing' || post.attempt !== input.attempt) {
      outcome = { status: post.status };
      return undefined;
    }
    const next = { ...post, ...change(post), updatedAt: now };
    outcome = { status: next.status, ...(next.reason ? { reason: next.reason } : {}) };
    return next;
  });
  return outcome;
}

/** What a LinkedIn failure does to the post and its account; undefined for failures worth trying again. */
async function settleFailure(
  deps: PublishDeps,
  input: PublishInput,
  account: Account,
  error: LinkedInError,
  step: string,
): Promise<StepOutcome | undefined> {
  const now = deps.clock();
  switch (error.failure) {
    case 'unauthorized':
      await deps.stores.accounts.mutate(account.id, (a) => ({
        ...a,
        status: 'reconnect-required',
        reason: error.message.slice(0, 500),
      }));
      return finish(deps, input, () => ({
        status: 'paused',
        reason: 'the LinkedIn account must be reconnected (401)',
      }));
    case 'rate_limited':
      return finish(deps, input, (post) => ({
        status: 'scheduled',
        rateLimited: post.rateLimited + 1,
        scheduledAt: new Date(now.getTime() + backoffMs(post.rateLimited + 1)).toISOString(),
        reason: `rate limited by LinkedIn at the ${step}; rescheduled`,
      }));
    case 'version':
    case 'rejected':
    case 'forbidden':
      return finish(deps, input, () => ({
        status: 'failed',
        reason: `${step}: ${error.message}`.slice(0, 1000),
      }));
    default:
      return undefined;
  }
}

/** Step 1: the image (or the link's thumbnail) uploaded: initialize, then one PUT. Safe to repeat. */
export async function uploadMedia(deps: PublishDeps, input: PublishInput): Promise<StepOutcome> {
  const found = await current(deps, input);
  if ('outcome' in found) return found.outcome;
  const { post } = found;
  const wanted = [
    ...(post.image && !post.uploaded.image ? [['image', post.image] as const] : []),
    ...(post.link?.thumbnail && !post.uploaded.thumbnail
      ? [['thumbnail', post.link.thumbnail] as const]
      : []),
  ];
  if (wanted.length === 0) return { status: 'continue' };
  const auth = await accountToken(deps, post.accountId);
  if (!auth)
    return finish(deps, input, () => ({
      status: 'paused',
      reason: 'the LinkedIn account must be reconnected',
    }));
  const sleep = deps.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  for (const [kind, media] of wanted) {
    const bytes = await readBlob(deps.media, media.blob);
    if (!bytes)
      return finish(deps, input, () => ({ status: 'failed', reason: `the ${kind} is missing from storage` }));
    for (let attempt = 1; ; attempt++) {
      try {
        const { uploadUrl, image } = await deps.api.initializeUpload(auth.token, auth.account.urn);
        await deps.api.upload(auth.token, uploadUrl, bytes, media.contentType);
        await deps.stores.posts.mutate(post.id, (p) => ({
          ...p,
          uploaded: { ...p.uploaded, [kind]: image },
        }));
        break;
      } catch (error) {
        if (!(error instanceof LinkedInError)) throw error;
        const settled = await settleFailure(deps, input, auth.account, error, `${kind} upload`);
        if (settled) return settled;
        if (attempt >= UPLOAD_TRIES)
          return finish(deps, input, () => ({
            status: 'failed',
            reason: `${kind} upload failed ${UPLOAD_TRIES} times: ${error.message}`.slice(0, 1000),
          }));
        await sleep(1000 * attempt);
      }
    }
  }
  return { status: 'continue' };
}

function postBody(post: Post, author: string): PostBody {
  const body: PostBody = {
    author,
    commentary: escapeLittleText(post.text),
    visibility: 'PUBLIC',
    distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
    lifecycleState: 'PUBLISHED',
    isReshareDisabledByAuthor: false,
  };
  if (post.image && post.uploaded.image)
    body.content = {
      media: { id: post.uploaded.image, ...(post.image.altText ? { altText: post.image.altText } : {}) },
    };
  if (post.link)
    body.content = {
      article: {
        source: post.link.url,
        title: post.link.title,
        ...(post.link.description ? { description: post.link.description } : {}),
        ...(post.uploaded.thumbnail ? { thumbnail: post.uploaded.thumbnail } : {}),
      },
    };
  return body;
}

/**
 * Step 2: the post created, at most once per attempt. LinkedIn has no idempotency key, so the attempt is
 * marked as started (under the ETag) before the call: a second run of this step for the same attempt (a
 * crash, a redelivery) never calls LinkedIn again, it marks the post `unconfirmed` for a person. A timeout or
 * a 5xx is `unconfirmed` too; a retry answered 422 DUPLICATE_POST with a URN means it was published.
 */
export async function createPost(deps: PublishDeps, input: PublishInput): Promise<StepOutcome> {
  const found = await current(deps, input);
  if ('outcome' in found) return found.outcome;
  const { post } = found;
  if (post.createStartedAttempt === input.attempt)
    return finish(deps, input, () => ({
      status: 'unconfirmed',
      reason: 'the create step ran again after an interruption: check the profile, then confirm or retry',
    }));
  const problem = contentProblem(post, deps.blocklist);
  if (problem) return finish(deps, input, () => ({ status: 'failed', reason: `content check: ${problem}` }));
  const auth = await accountToken(deps, post.accountId);
  if (!auth)
    return finish(deps, input, () => ({
      status: 'paused',
      reason: 'the LinkedIn account must be reconnected',
    }));
  const marked = await deps.stores.posts.mutate(post.id, (p) =>
    p.status === 'publishing' && p.attempt === input.attempt && p.createStartedAttempt !== input.attempt
      ? { ...p, createStartedAttempt: input.attempt }
      : undefined,
  );
  if (!marked?.changed) return { status: marked?.doc.status ?? 'cancelled' };

  const published = (urn: string) =>
    finish(deps, input, () => ({
      status: 'published',
      urn,
      url: postUrl(urn),
      publishedAt: deps.clock().toISOString(),
      reason: undefined,
    }));
  try {
    return await published(await deps.api.createPost(auth.token, postBody(post, auth.account.urn)));
  } catch (error) {
    if (!(error instanceof LinkedInError)) throw error;
    if (error.failure === 'duplicate' && error.duplicateOf && post.attempt > 1)
      return published(error.duplicateOf);
    if (error.failure === 'timeout' || error.failure === 'server')
      return finish(deps, input, () => ({
        status: 'unconfirmed',
        reason:
          `LinkedIn may have created it (${error.message}): check the profile, then confirm or retry`.slice(
            0,
            1000,
          ),
      }));
    if (error.failure === 'network')
      // Nothing reached LinkedIn: safe to try again later.
      return finish(deps, input, (p) => ({
        status: 'scheduled',
        scheduledAt: new Date(deps.clock().getTime() + backoffMs(p.rateLimited + 1)).toISOString(),
        reason: error.message.slice(0, 1000),
      }));
    return (
      (await settleFailure(deps, input, auth.account, error, 'post creation')) ??
      finish(deps, input, () => ({ status: 'failed', reason: error.message.slice(0, 1000) }))
    );
  }
}
