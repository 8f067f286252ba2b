import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { jsonTable } from '../platform/jsonTable';

const isoDate = z.iso.datetime({ offset: true }).transform((text) => new Date(text).toISOString());

export const ACCOUNT_STATUSES = ['connected', 'reconnect-required'] as const;

export const accountSchema = z.object({
  /** The member's OpenID `sub`. */
  id: z.string().min(1).max(100),
  urn: z.string(),
  name: z.string(),
  scopes: z.array(z.string()),
  /** The access token, sealed with LINKEDIN_TOKEN_KEY; never returned by a route. */
  token: z.string(),
  expiresAt: isoDate,
  connectedAt: isoDate,
  status: z.enum(ACCOUNT_STATUSES),
  reason: z.string().max(500).optional(),
  /** Expiry reminders sent (`7`, `1` days before `expiresAt`), so each goes once per token. */
  reminded: z.array(z.string()).default([]),
});
export type Account = z.infer<typeof accountSchema>;

export const stateSchema = z.object({ state: z.string(), expiresAt: isoDate });

export const POST_STATUSES = [
  'draft',
  'scheduled',
  'publishing',
  'published',
  'unconfirmed',
  'paused',
  'failed',
  'cancelled',
] as const;
export type PostStatus = (typeof POST_STATUSES)[number];

const mediaSchema = z.object({
  /** Blob name in `linkedin-media`. */
  blob: z.string(),
  contentType: z.enum(['image/jpeg', 'image/png', 'image/gif']),
  bytes: z.number().int(),
  width: z.number().int(),
  height: z.number().int(),
});

export const postSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{16}$/),
  accountId: z.string(),
  /** The text as the person wrote it; escaped for LinkedIn only when published. */
  text: z.string().max(3000),
  image: mediaSchema.extend({ altText: z.string().max(4086).optional() }).optional(),
  link: z
    .object({
      url: z.string(),
      title: z.string().max(400),
      description: z.string().max(4086).optional(),
      thumbnail: mediaSchema.optional(),
    })
    .optional(),
  status: z.enum(POST_STATUSES),
  scheduledAt: isoDate.optional(),
  createdAt: isoDate,
  updatedAt: isoDate,
  /** Each claim by the publisher starts a new attempt (its orchestration id carries the number). */
  attempt: z.number().int().min(0).default(0),
  /** The attempt whose create call was started: a second run of that step must not call LinkedIn again. */
  createStartedAttempt: z.number().int().optional(),
  /** Image URNs uploaded for this post (by the attempt that uploaded them). */
  uploaded: z.object({ image: z.string().optional(), thumbnail: z.string().optional() }).default({}),
  urn: z.string().optional(),
  url: z.string().optional(),
  publishedAt: isoDate.optional(),
  /** Why failed, paused, unconfirmed or rescheduled. */
  reason: z.string().max(1000).optional(),
  rateLimited: z.number().int().min(0).default(0),
  /** LinkedIn's counts for the published post (`r_member_postAnalytics`), refreshed daily. */
  metrics: z
    .object({
      impressions: z.number().int().min(0),
      reactions: z.number().int().min(0),
      comments: z.number().int().min(0),
      refreshedAt: isoDate,
    })
    .optional(),
});
export type Post = z.infer<typeof postSchema>;

export const scheduleSchema = z.object({
  timezone: z.string(),
  slots: z.array(
    z.object({ day: z.number().int().min(0).max(6), time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/) }),
  ),
});
export type QueueSchedule = z.infer<typeof scheduleSchema>;

export function linkedinStores(tables: {
  accounts: TableClient;
  states: TableClient;
  posts: TableClient;
  settings: TableClient;
}) {
  return {
    accounts: jsonTable({
      table: tables.accounts,
      partition: 'account',
      schema: accountSchema,
      what: 'LinkedIn account',
      id: (a) => a.id,
    }),
    states: jsonTable({
      table: tables.states,
      partition: 'state',
      schema: stateSchema,
      what: 'OAuth state',
      id: (s) => s.state,
    }),
    posts: jsonTable({
      table: tables.posts,
      partition: 'post',
      schema: postSchema,
      what: 'LinkedIn post',
      id: (p) => p.id,
      columns: (p) => ({ status: p.status, scheduledAt: p.scheduledAt ?? '', accountId: p.accountId }),
    }),
    schedule: jsonTable({
      table: tables.settings,
      partition: 'schedule',
      schema: scheduleSchema.extend({ id: z.literal('queue') }),
      what: 'queue schedule',
      id: (s) => s.id,
    }),
  };
}
export type LinkedInStores = ReturnType<typeof linkedinStores>;

/** Scheduled posts due by `now`, oldest first. */
export function dueFilter(now: string): string {
  return odata`status eq ${'scheduled'} and scheduledAt le ${now}`;
}
