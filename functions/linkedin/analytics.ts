import { odata } from '@azure/data-tables';
import { InvalidInputError } from '../platform/errors';
import { LinkedInError, type LinkedInApi } from './api';
import type { InboxTable } from './inbox';
import type { LinkedInStores, Post } from './store';
import type { TokenCipher } from './tokens';

const DAY_MS = 86_400_000;
/** Without `from`, the last twelve weeks. */
const DEFAULT_DAYS = 84;
const MAX_DAYS = 731;
/** The permission LinkedIn's member post analytics (`memberCreatorPostAnalytics`) need. */
export const ANALYTICS_SCOPE = 'r_member_postAnalytics';

export interface AnalyticsQuery {
  /** `YYYY-MM-DD` (from the start of that day, UTC) or an ISO date and time. */
  from?: string | undefined;
  /** `YYYY-MM-DD` (to the end of that day, UTC) or an ISO date and time; default now. */
  to?: string | undefined;
}

export interface Percentiles {
  count: number;
  /** Seconds, nearest rank; null when there is nothing to measure. */
  p50: number | null;
  p95: number | null;
}

export interface LinkedInAnalytics {
  from: string;
  to: string;
  /** Every ISO week (UTC, Monday first) the range touches, oldest first, zeros included. */
  weeks: { week: string; start: string; published: number; failed: number; unconfirmed: number }[];
  totals: { published: number; failed: number; unconfirmed: number };
  /** From `scheduledAt` to `publishedAt`, for posts published in the range. */
  publishDelaySeconds: Percentiles;
  /** Reasons of the posts that failed in the range, most frequent first. */
  failureReasons: { reason: string; count: number }[];
  /** Items received in the range; response time from `receivedAt` to the approval. */
  inbox: {
    received: number;
    approved: number;
    pending: number;
    ignored: number;
    responseSeconds: Percentiles;
  };
  /** Posts published in the range, oldest first, with LinkedIn's counts where they were refreshed. */
  posts: {
    id: string;
    urn: string | undefined;
    url: string | undefined;
    publishedAt: string | undefined;
    excerpt: string;
    metrics: { impressions: number; reactions: number; comments: number; refreshedAt: string } | null;
  }[];
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function instant(value: string, field: string, endOfDay: boolean): Date {
  const text = value.trim();
  const date = DATE_ONLY.test(text)
    ? new Date(`${text}T00:00:00.000Z`)
    : DATE_TIME.test(text)
      ? new Date(text)
      : undefined;
  if (!date || Number.isNaN(date.getTime()))
    throw new InvalidInputError(
      field,
      'must be a date (YYYY-MM-DD) or an ISO 8601 date and time with its offset',
    );
  return DATE_ONLY.test(text) && endOfDay ? new Date(date.getTime() + DAY_MS - 1) : date;
}

/** The range asked for: `from` ≤ `to`, at most two years. */
export function analyticsRange(query: AnalyticsQuery, now: Date): { from: Date; to: Date } {
  const to = query.to ? instant(query.to, 'to', true) : now;
  const from = query.from
    ? instant(query.from, 'from', false)
    : new Date(to.getTime() - DEFAULT_DAYS * DAY_MS);
  if (from.getTime() > to.getTime()) throw new InvalidInputError('from', 'is after to');
  if (to.getTime() - from.getTime() > MAX_DAYS * DAY_MS)
    throw new InvalidInputError('from', `is more than ${MAX_DAYS} days before to`);
  return { from, to };
}

/** The value at the nearest rank: the smallest with at least `p` % of the values at or below it. */
export function nearestRank(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? null;
}

function percentiles(values: readonly number[]): Percentiles {
  return { count: values.length, p50: nearestRank(values, 50), p95: nearestRank(values, 95) };
}

/** The ISO 8601 week (`2025-W02`) of a UTC instant, and the date of its Monday. */
export function isoWeek(date: Date): { week: string; start: string } {
  const day = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  const weekday = new Date(day).getUTCDay() || 7;
  const monday = day - (weekday - 1) * DAY_MS;
  // The week belongs to the year of its Thursday.
  const thursday = new Date(monday + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const number = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / DAY_MS / 7) + 1;
  return {
    week: `${year}-W${String(number).padStart(2, '0')}`,
    start: new Date(monday).toISOString().slice(0, 10),
  };
}

const seconds = (fromIso: string, toIso: string) =>
  Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 1000));

/** A reason without the URNs and ids that make each one unique, so alike failures count together. */
function reasonKey(reason: string | undefined): string {
  if (!reason) return 'unknown';
  return reason
    .replace(/urn:li:[A-Za-z]+:[^\s,)]+/g, 'urn:li:…')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

/** When a post reached its outcome: publication, or its last change for a failure or an unknown result. */
const outcomeAt = (post: Post) =>
  post.status === 'published' ? (post.publishedAt ?? post.updatedAt) : post.updatedAt;

/**
 * `GET /api/linkedin/analytics?from=&to=`: posts published, failed and unconfirmed per ISO week, the
 * delay from the scheduled time to publication, failure reasons, the inbox's response time, and each
 * published post's LinkedIn counts where `refreshMetrics` stored them.
 */
export async function linkedinAnalytics(
  stores: LinkedInStores,
  inbox: InboxTable,
  query: AnalyticsQuery,
  clock: () => Date = () => new Date(),
): Promise<LinkedInAnalytics> {
  const { from, to } = analyticsRange(query, clock());
  const fromIso = from.toISOString();
  const toIso = to.toISOString();
  const inRange = (iso: string | undefined) => iso !== undefined && iso >= fromIso && iso <= toIso;

  const weeks = new Map<string, LinkedInAnalytics['weeks'][number]>();
  for (let at = from.getTime(); ; at += 7 * DAY_MS) {
    const { week, start } = isoWeek(new Date(Math.min(at, to.getTime())));
    if (!weeks.has(week)) weeks.set(week, { week, start, published: 0, failed: 0, unconfirmed: 0 });
    if (at >= to.getTime()) break;
  }

  const posts = (
    await stores.posts.list(
      `(${odata`status eq ${'published'}`} or ${odata`status eq ${'failed'}`} or ${odata`status eq ${'unconfirmed'}`})`,
    )
  ).filter((post) => inRange(outcomeAt(post)));
  const totals = { published: 0, failed: 0, unconfirmed: 0 };
  const delays: number[] = [];
  const reasons = new Map<string, number>();
  for (const post of posts) {
    const status = post.status as keyof typeof totals;
    totals[status]++;
    const bucket = weeks.get(isoWeek(new Date(outcomeAt(post))).week);
    if (bucket) bucket[status]++;
    if (status === 'published' && post.scheduledAt && post.publishedAt)
      delays.push(seconds(post.scheduledAt, post.publishedAt));
    if (status === 'failed') {
      const key = reasonKey(post.reason);
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
  }

  const items = await inbox.list(`(${odata`receivedAt ge ${fromIso}`} and ${odata`receivedAt le ${toIso}`})`);
  const responses = items.flatMap((item) =>
    item.approvedAt ? [seconds(item.receivedAt, item.approvedAt)] : [],
  );

  return {
    from: fromIso,
    to: toIso,
    weeks: [...weeks.values()].sort((a, b) => a.start.localeCompare(b.start)),
    totals,
    publishDelaySeconds: percentiles(delays),
    failureReasons: [...reasons.entries()]
      .map(([reason, count]) => ({ reason, count }))
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
    inbox: {
      received: items.length,
      approved: responses.length,
      pending: items.filter((i) => i.status === 'new' || i.status === 'drafted').length,
      ignored: items.filter((i) => i.status === 'ignored').length,
      responseSeconds: percentiles(responses),
    },
    posts: posts
      .filter((post) => post.status === 'published')
      .sort((a, b) => outcomeAt(a).localeCompare(outcomeAt(b)))
      .map((post) => ({
        id: post.id,
        urn: post.urn,
        url: post.url,
        publishedAt: post.publishedAt,
        excerpt: post.text.length > 100 ? `${post.text.slice(0, 99)}…` : post.text,
        metrics: post.metrics ?? null,
      })),
  };
}

export interface RefreshMetricsDeps {
  stores: LinkedInStores;
  api: LinkedInApi;
  cipher: () => TokenCipher;
  clock: () => Date;
}

export interface RefreshMetricsResult {
  refreshed: number;
  failed: number;
  /** Accounts left out, and why (the permission is not granted, the account must reconnect…). */
  skipped: { accountId: string; reason: string }[];
  /** LinkedIn answered 429: the run stopped; the next day's run goes on. */
  rateLimited: boolean;
}

/**
 * The daily refresh (`linkedinAnalyticsRefresh`): for each published post of an account granted
 * `r_member_postAnalytics`, LinkedIn's impressions, reactions and comments, stored on the post. An
 * account without the permission is skipped and named; a 401 marks it `reconnect-required`.
 */
export async function refreshMetrics(
  deps: RefreshMetricsDeps,
  options: { maxAgeDays?: number } = {},
): Promise<RefreshMetricsResult> {
  const now = deps.clock();
  const since = new Date(now.getTime() - (options.maxAgeDays ?? 365) * DAY_MS).toISOString();
  const result: RefreshMetricsResult = { refreshed: 0, failed: 0, skipped: [], rateLimited: false };
  const published = (await deps.stores.posts.list(odata`status eq ${'published'}`)).filter(
    (post) => post.urn && (post.publishedAt ?? post.updatedAt) >= since,
  );
  for (const account of await deps.stores.accounts.list()) {
    const posts = published.filter((post) => post.accountId === account.id);
    if (posts.length === 0) continue;
    if (account.status !== 'connected') {
      result.skipped.push({ accountId: account.id, reason: 'the account must be reconnected' });
      continue;
    }
    if (!account.scopes.includes(ANALYTICS_SCOPE)) {
      result.skipped.push({ accountId: account.id, reason: `${ANALYTICS_SCOPE} is not granted` });
      continue;
    }
    const token = deps.cipher().open(account.token);
    for (const post of posts) {
      const urn = post.urn as string;
      try {
        const impressions = await deps.api.postMetric(token, urn, 'IMPRESSION');
        const reactions = await deps.api.postMetric(token, urn, 'REACTION');
        const comments = await deps.api.postMetric(token, urn, 'COMMENT');
        const refreshedAt = deps.clock().toISOString();
        await deps.stores.posts.mutate(post.id, (p) => ({
          ...p,
          metrics: { impressions, reactions, comments, refreshedAt },
        }));
        result.refreshed++;
      } catch (error) {
        if (!(error instanceof LinkedInError)) throw error;
        if (error.failure === 'rate_limited') {
          result.rateLimited = true;
          return result;
        }
        if (error.failure === 'unauthorized') {
          await deps.stores.accounts.mutate(account.id, (a) => ({
            ...a,
            status: 'reconnect-required',
            reason: error.message.slice(0, 500),
          }));
          result.skipped.push({ accountId: account.id, reason: 'the token was refused (401): reconnect' });
          break;
        }
        if (error.failure === 'forbidden' || error.failure === 'version') {
          result.skipped.push({ accountId: account.id, reason: error.message.slice(0, 300) });
          break;
        }
        // A post deleted on LinkedIn (404), a 5xx: this post waits for the next run.
        result.failed++;
      }
    }
  }
  return result;
}
