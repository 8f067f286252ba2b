import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkedinAnalytics, refreshMetrics } from '../../functions/linkedin/analytics';
import type { InboxItem } from '../../functions/linkedin/inbox';
import type { Post } from '../../functions/linkedin/store';
import { startLinkedInServer, type LinkedInServer } from '../../local/servers/linkedinServer';
import { CLIENT, linkedinFixture } from './support';

let server: LinkedInServer;
beforeAll(async () => {
  server = await startLinkedInServer(CLIENT);
});
afterAll(async () => {
  await server?.stop();
});

const ANALYTICS_SCOPES = ['openid', 'profile', 'w_member_social', 'r_member_postAnalytics'];
const VERSION_GONE =
  'post creation: LinkedIn no longer serves LINKEDIN_VERSION 202401: set a recent YYYYMM (Requested version 202401 is not active)';

function postRow(accountId: string, fields: Partial<Post>): Post {
  const at = fields.updatedAt ?? '2026-03-01T00:00:00.000Z';
  return {
    id: randomBytes(8).toString('hex'),
    accountId,
    text: 'Un post',
    status: 'scheduled',
    createdAt: at,
    updatedAt: at,
    attempt: 1,
    uploaded: {},
    rateLimited: 0,
    ...fields,
  };
}

function inboxRow(fields: Partial<InboxItem> & Pick<InboxItem, 'receivedAt' | 'status'>): InboxItem {
  return {
    id: randomBytes(8).toString('hex'),
    kind: 'message',
    from: 'Someone',
    text: 'Bonjour',
    source: 'pasted',
    createdAt: fields.receivedAt,
    updatedAt: fields.receivedAt,
    attempt: 0,
    ...fields,
  };
}

describe('LinkedIn analytics', () => {
  it('counts outcomes per ISO week, publication delays, failure reasons, inbox response times and metrics', async () => {
    const f = linkedinFixture(server);
    const account = await f.connect(ANALYTICS_SCOPES);
    const published = async (scheduledAt: string, publishedAt: string) =>
      f.publishedPost(account, `Publié le ${publishedAt}`, {
        scheduledAt,
        publishedAt,
        updatedAt: publishedAt,
      });
    // Week 2026-W10 (2 to 8 March): two published (30 s and 90 s late), one failed.
    const p1 = await published('2026-03-03T09:00:00.000Z', '2026-03-03T09:00:30.000Z');
    await published('2026-03-05T12:00:00.000Z', '2026-03-05T12:01:30.000Z');
    const failed = (updatedAt: string, reason: string) =>
      f.stores.posts.create(
        postRow(account.id, { status: 'failed', reason, updatedAt, scheduledAt: updatedAt }),
      );
    await failed('2026-03-04T10:00:00.000Z', VERSION_GONE);
    // Week 2026-W11: one published (10 s late), one unconfirmed, two failed.
    await published('2026-03-10T08:00:00.000Z', '2026-03-10T08:00:10.000Z');
    await f.stores.posts.create(
      postRow(account.id, {
        status: 'unconfirmed',
        reason: 'LinkedIn may have created it',
        updatedAt: '2026-03-11T08:00:00.000Z',
      }),
    );
    await failed('2026-03-12T10:00:00.000Z', VERSION_GONE);
    await failed('2026-03-13T10:00:00.000Z', 'content check: the text contains personal data (email)');
    // Outside the range, or not an outcome: not counted.
    await published('2026-02-01T08:00:00.000Z', '2026-02-01T08:05:00.000Z');
    await f.stores.posts.create(
      postRow(account.id, { status: 'scheduled', scheduledAt: '2026-03-06T08:00:00.000Z' }),
    );

    for (const item of [
      inboxRow({
        receivedAt: '2026-03-03T08:00:00.000Z',
        approvedAt: '2026-03-03T08:01:00.000Z',
        status: 'sent',
      }),
      inboxRow({
        receivedAt: '2026-03-04T08:00:00.000Z',
        approvedAt: '2026-03-04T09:00:00.000Z',
        status: 'ready-to-send',
      }),
      inboxRow({ receivedAt: '2026-03-05T08:00:00.000Z', status: 'drafted' }),
      inboxRow({ receivedAt: '2026-03-06T08:00:00.000Z', status: 'ignored' }),
      inboxRow({
        receivedAt: '2026-04-01T08:00:00.000Z',
        approvedAt: '2026-04-01T08:00:05.000Z',
        status: 'sent',
      }),
    ])
      await f.inbox.create(item);

    server.setMetrics(p1.urn ?? '', { IMPRESSION: 1200, REACTION: 45, COMMENT: 7 });
    // Another account's post (W10), without the analytics permission: named, not called.
    await f.stores.posts.create(
      postRow('other', {
        status: 'published',
        urn: 'urn:li:share:1',
        publishedAt: '2026-03-03T10:00:00.000Z',
      }),
    );
    await f.stores.accounts.create({ ...account, id: 'other', scopes: ['openid', 'w_member_social'] });
    const refresh = await refreshMetrics({ ...f, clock: f.clock.now });
    expect(refresh).toEqual({
      refreshed: 4,
      failed: 0,
      skipped: [{ accountId: 'other', reason: 'r_member_postAnalytics is not granted' }],
      rateLimited: false,
    });

    const figures = await linkedinAnalytics(
      f.stores,
      f.inbox,
      { from: '2026-03-02', to: '2026-03-15' },
      f.clock.now,
    );
    expect(figures.weeks).toEqual([
      { week: '2026-W10', start: '2026-03-02', published: 3, failed: 1, unconfirmed: 0 },
      { week: '2026-W11', start: '2026-03-09', published: 1, failed: 2, unconfirmed: 1 },
    ]);
    expect(figures.totals).toEqual({ published: 4, failed: 3, unconfirmed: 1 });
    // 10, 30 and 90 seconds: the nearest-rank median is 30, the 95th percentile 90.
    expect(figures.publishDelaySeconds).toEqual({ count: 3, p50: 30, p95: 90 });
    expect(figures.failureReasons).toEqual([
      { reason: VERSION_GONE, count: 2 },
      { reason: 'content check: the text contains personal data (email)', count: 1 },
    ]);
    expect(figures.inbox).toEqual({
      received: 4,
      approved: 2,
      pending: 1,
      ignored: 1,
      responseSeconds: { count: 2, p50: 60, p95: 3600 },
    });
    const first = figures.posts.find((p) => p.id === p1.id);
    expect(first?.metrics).toMatchObject({ impressions: 1200, reactions: 45, comments: 7 });
    expect(figures.posts.filter((p) => p.metrics === null).map((p) => p.urn)).toEqual(['urn:li:share:1']);
  });

  it('marks an account whose token LinkedIn refuses for reconnection', async () => {
    const f = linkedinFixture(server);
    const account = await f.connect(ANALYTICS_SCOPES);
    await f.publishedPost(account, 'Un post mesuré');
    server.revoke(f.cipher().open(account.token));
    const refresh = await refreshMetrics({ ...f, clock: f.clock.now });
    expect(refresh).toMatchObject({ refreshed: 0, skipped: [{ accountId: account.id }] });
    expect(await f.stores.accounts.get(account.id)).toMatchObject({ status: 'reconnect-required' });
  });

  it('names a bad range', async () => {
    const f = linkedinFixture(server);
    const run = (query: { from?: string; to?: string }) =>
      linkedinAnalytics(f.stores, f.inbox, query, f.clock.now);
    await expect(run({ from: '2026-03-20', to: '2026-03-01' })).rejects.toThrow('from: is after to');
    await expect(run({ from: 'last week' })).rejects.toThrow('from: must be a date (YYYY-MM-DD)');
    await expect(run({ from: '2020-01-01', to: '2026-01-01' })).rejects.toThrow(
      'from: is more than 731 days',
    );
    const empty = await run({});
    expect(empty.weeks.length).toBeGreaterThanOrEqual(12);
    expect(empty.publishDelaySeconds).toEqual({ count: 0, p50: null, p95: null });
  });
});
