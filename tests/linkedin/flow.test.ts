import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalHost } from '../../local/localHost';
import { startLinkedInServer, type LinkedInServer } from '../../local/servers/linkedinServer';
import { startAppHost, testSettings } from '../support/testHost';

type Json = Record<string, unknown>;
const CLIENT = { clientId: 'test-client', clientSecret: 'test-client-secret-value' };
const REDIRECT = 'http://127.0.0.1:7071/api/linkedin/callback';

let linkedin: LinkedInServer;
let host: LocalHost;

beforeAll(async () => {
  linkedin = await startLinkedInServer(CLIENT);
  host = await startAppHost({
    settings: testSettings({
      AI_PROVIDER: 'offline',
      LINKEDIN_CLIENT_ID: CLIENT.clientId,
      LINKEDIN_CLIENT_SECRET: CLIENT.clientSecret,
      LINKEDIN_REDIRECT_URI: REDIRECT,
      LINKEDIN_TOKEN_KEY: randomBytes(32).toString('base64'),
      LINKEDIN_API_URL: linkedin.url,
      LINKEDIN_AUTH_URL: linkedin.url,
      LINKEDIN_TIMEOUT_MS: '1000',
      // The timer runs when the tests say (the admin API), never on its own.
      LINKEDIN_PUBLISH_SCHEDULE: '0 0 0 1 1 *',
    }),
  });
}, 60_000);
afterAll(async () => {
  await host?.stop();
  await linkedin?.stop();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json; headers: Record<string, string> }> {
  const response = await host.http({
    method,
    path,
    headers: { 'x-functions-key': host.functionKey, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = response.body.toString('utf8');
  return {
    status: response.status,
    headers: response.headers,
    body: text.startsWith('{') ? (JSON.parse(text) as Json) : { text },
  };
}

/** The member's browser: connect → LinkedIn's page (approves at once) → the app's callback. */
async function connect(): Promise<{ status: number; html: string }> {
  const start = await call('GET', '/api/linkedin/connect');
  expect(start.status).toBe(302);
  const authorize = await fetch(start.headers.location ?? '', { redirect: 'manual' });
  const back = new URL(authorize.headers.get('location') ?? '');
  const page = await host.http({ path: `${back.pathname}${back.search}` });
  return { status: page.status, html: page.body.toString('utf8') };
}

/** Runs the publish timer now, as an operator would, and waits for the orchestrations it starts. */
async function publishDue(): Promise<void> {
  const run = await host.http({
    method: 'POST',
    path: '/admin/functions/linkedinPublishDue',
    headers: { 'x-functions-key': host.masterKey },
    body: '{}',
  });
  expect(run.status).toBe(202);
  await host.settled();
  await host.engine.whenIdle();
}

const post = async (id: string) => (await call('GET', `/api/linkedin/posts/${id}`)).body;
const livePosts = () => linkedin.posts.filter((p) => !p.deleted);

/** A valid PNG of `width`×`height` (one gray pixel row repeated): LinkedIn takes its bytes as they are. */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4); // CRCs are not checked by the reader under test
    return Buffer.concat([length, Buffer.from(type, 'ascii'), data, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8);
  const rows = Buffer.alloc((width + 1) * Math.min(height, 4), 0x80);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('LinkedIn connection', () => {
  it('connects through OAuth with a single-use state, and never shows the token', async () => {
    const page = await connect();
    expect(page.status).toBe(200);
    expect(page.html).toContain('Connected as');
    const { body } = await call('GET', '/api/linkedin/accounts');
    const accounts = body.accounts as Json[];
    expect(accounts).toHaveLength(1);
    expect(accounts[0]).toMatchObject({
      status: 'connected',
      scopes: expect.arrayContaining(['w_member_social']) as unknown,
    });
    const tokens = linkedin.tokens.map((t) => t.accessToken);
    expect(tokens.length).toBeGreaterThan(0);
    const everything = JSON.stringify(body) + host.logs.map((l) => JSON.stringify(l)).join('\n');
    for (const token of tokens) expect(everything).not.toContain(token);

    const test = await call('POST', `/api/linkedin/accounts/${String(accounts[0]?.id)}/test`);
    expect(test.body).toMatchObject({ ok: true });
  });

  it('refuses a reused or unknown state and says when the member cancelled', async () => {
    const start = await call('GET', '/api/linkedin/connect');
    const authorize = await fetch(start.headers.location ?? '', { redirect: 'manual' });
    const back = new URL(authorize.headers.get('location') ?? '');
    expect((await host.http({ path: `${back.pathname}${back.search}` })).status).toBe(200);
    const again = await host.http({ path: `${back.pathname}${back.search}` });
    expect(again.status).toBe(400);
    expect(again.body.toString()).toContain('already used');
    expect((await host.http({ path: '/api/linkedin/callback?code=x&state=forged' })).status).toBe(400);

    linkedin.deny = true;
    try {
      const cancelled = await connect();
      expect(cancelled.status).toBe(400);
      expect(cancelled.html).toContain('cancelled');
    } finally {
      linkedin.deny = false;
    }
  });
});

describe('LinkedIn posts', () => {
  beforeEach(() => linkedin.clearFaults());

  it('publishes a text post once, escaped for LinkedIn, with the version headers', async () => {
    const text = `Nouvelle offre (CDI) @Lyon #data — 50% [remote] ${randomBytes(3).toString('hex')}`;
    const created = await call('POST', '/api/linkedin/posts', { text });
    expect(created.status).toBe(201);
    await publishDue();
    const done = await post(String(created.body.id));
    expect(done).toMatchObject({
      status: 'published',
      urn: expect.stringMatching(/^urn:li:share:/) as unknown,
    });
    const sent = livePosts().filter((p) => p.urn === done.urn);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.truncated).toBe(false);
    expect(sent[0]?.text).toBe(text);
    expect(sent[0]?.hashtags).toEqual(['data']);
    expect(sent[0]?.headers['x-restli-protocol-version']).toBe('2.0.0');
    expect(sent[0]?.headers['linkedin-version']).toMatch(/^20\d{4}$/);
    await publishDue();
    expect(livePosts().filter((p) => p.text === text)).toHaveLength(1);
  });

  it('uploads an image once and posts it; refuses bytes that are not an image', async () => {
    const image = png(40, 30);
    const created = await call('POST', '/api/linkedin/posts', {
      text: `Photo ${randomBytes(3).toString('hex')}`,
      image: {
        contentBase64: image.toString('base64'),
        contentType: 'image/png',
        altText: 'Une salle de classe',
      },
    });
    expect(created.status).toBe(201);
    await publishDue();
    const done = await post(String(created.body.id));
    expect(done.status).toBe('published');
    const sent = livePosts().find((p) => p.urn === done.urn);
    const media = sent?.body.content && 'media' in sent.body.content ? sent.body.content.media : undefined;
    expect(media?.altText).toBe('Une salle de classe');
    expect(Buffer.from(linkedin.images.get(media?.id ?? '')?.bytes ?? [])).toEqual(image);

    const bad = await call('POST', '/api/linkedin/posts', {
      text: 'x',
      image: { contentBase64: Buffer.from('not an image').toString('base64'), contentType: 'image/png' },
    });
    expect(bad.status).toBe(400);
    expect(String((bad.body.error as Json).message)).toMatch(/^body\.image:/);
  });

  it('posts a link with the title, description and thumbnail LinkedIn will not scrape', async () => {
    const created = await call('POST', '/api/linkedin/posts', {
      text: `Article ${randomBytes(3).toString('hex')}`,
      link: {
        url: 'https://example.org/blog/rentree',
        title: 'La rentrée 2026',
        description: 'Tout savoir',
        thumbnail: { contentBase64: png(20, 20).toString('base64'), contentType: 'image/png' },
      },
    });
    await publishDue();
    const done = await post(String(created.body.id));
    expect(done.status).toBe('published');
    const sent = livePosts().find((p) => p.urn === done.urn);
    const article =
      sent?.body.content && 'article' in sent.body.content ? sent.body.content.article : undefined;
    expect(article).toMatchObject({
      source: 'https://example.org/blog/rentree',
      title: 'La rentrée 2026',
      description: 'Tout savoir',
    });
    expect(linkedin.images.has(article?.thumbnail ?? '')).toBe(true);
  });

  it('marks a create that answers too late unconfirmed, and a deliberate retry finds the same post', async () => {
    const text = `Lent ${randomBytes(3).toString('hex')}`;
    linkedin.slowCreate({ delayMs: 2500 });
    const created = await call('POST', '/api/linkedin/posts', { text });
    await publishDue();
    const unconfirmed = await post(String(created.body.id));
    expect(unconfirmed.status).toBe('unconfirmed');
    expect(livePosts().filter((p) => p.text === text)).toHaveLength(1);
    // The timer never retries it by itself.
    await publishDue();
    expect((await post(String(created.body.id))).status).toBe('unconfirmed');

    const retried = await call('POST', `/api/linkedin/posts/${String(created.body.id)}/publish`);
    expect(retried.status).toBe(202);
    await host.engine.whenIdle();
    const done = await post(String(created.body.id));
    expect(done.status).toBe('published');
    expect(livePosts().filter((p) => p.text === text)).toHaveLength(1);
    expect(done.urn).toBe(livePosts().find((p) => p.text === text)?.urn);
  });

  it('handles 500, 426, 429 and 401 as the issue says, never posting twice', async () => {
    const make = async (label: string) =>
      String(
        (await call('POST', '/api/linkedin/posts', { text: `${label} ${randomBytes(3).toString('hex')}` }))
          .body.id,
      );

    linkedin.fault('createPost', { status: 500 });
    const five = await make('cinq-cents');
    await publishDue();
    expect((await post(five)).status).toBe('unconfirmed');

    linkedin.fault('createPost', { status: 426 });
    const old = await make('version');
    await publishDue();
    expect(await post(old)).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('LINKEDIN_VERSION') as unknown,
    });

    linkedin.fault('createPost', { status: 429 });
    const limited = await make('limite');
    await publishDue();
    const rescheduled = await post(limited);
    expect(rescheduled.status).toBe('scheduled');
    expect(Date.parse(String(rescheduled.scheduledAt))).toBeGreaterThan(Date.now() + 20_000);

    linkedin.fault('createPost', { status: 401 });
    const revoked = await make('revoque');
    await publishDue();
    expect((await post(revoked)).status).toBe('paused');
    const { body } = await call('GET', '/api/linkedin/accounts');
    expect((body.accounts as Json[])[0]?.status).toBe('reconnect-required');
    // Reconnecting puts the paused post back in the queue, and it goes out.
    await connect();
    await publishDue();
    expect((await post(revoked)).status).toBe('published');
  });

  it('takes the next free queue slot, never within 5 minutes of another post', async () => {
    const put = await call('PUT', '/api/linkedin/schedule', {
      timezone: 'Europe/Paris',
      slots: ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'].flatMap((day) => [
        { day, time: '09:00' },
        { day, time: '09:03' },
        { day, time: '12:30' },
      ]),
    });
    expect(put.status).toBe(200);
    const first = await call('POST', '/api/linkedin/posts', {
      text: `Slot A ${randomBytes(3).toString('hex')}`,
      slot: 'next',
    });
    const second = await call('POST', '/api/linkedin/posts', {
      text: `Slot B ${randomBytes(3).toString('hex')}`,
      slot: 'next',
    });
    const a = Date.parse(String(first.body.scheduledAt));
    const b = Date.parse(String(second.body.scheduledAt));
    expect(a).toBeGreaterThan(Date.now());
    expect(Math.abs(b - a)).toBeGreaterThanOrEqual(5 * 60_000);
    const paris = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Paris',
      hour: '2-digit',
      minute: '2-digit',
    });
    expect(['09:00', '12:30']).toContain(paris.format(new Date(a)));
    for (const id of [first.body.id, second.body.id])
      await call('DELETE', `/api/linkedin/posts/${String(id)}`);
  });
});

describe('LinkedIn inbox through the routes', () => {
  it('drafts a reply to a comment on our post, and approval publishes exactly one comment', async () => {
    const created = await call('POST', '/api/linkedin/posts', {
      text: `Inbox ${randomBytes(3).toString('hex')}`,
    });
    await publishDue();
    const published = await post(String(created.body.id));
    expect(published.status).toBe('published');

    const pasted = await call('POST', '/api/linkedin/inbox', {
      kind: 'comment',
      from: 'Léa Martin',
      text: 'Bonjour, le BTS est-il ouvert en alternance ?',
      postUrn: published.urn,
    });
    expect(pasted.status).toBe(201);
    expect(pasted.body).toMatchObject({ status: 'drafted' });
    const id = String(pasted.body.id);
    const before = linkedin.comments.length;
    const approved = await call('POST', `/api/linkedin/inbox/${id}/approve`, {
      text: 'Oui, en alternance dès septembre.',
    });
    expect(approved.status).toBe(200);
    await call('POST', `/api/linkedin/inbox/${id}/approve`, {});
    const made = linkedin.comments.slice(before);
    expect(made).toHaveLength(1);
    expect(JSON.stringify(made[0])).toContain('Oui, en alternance');

    const analytics = await call('GET', '/api/linkedin/analytics');
    expect(analytics.status).toBe(200);
    expect((analytics.body.totals as Json).published).toBeGreaterThanOrEqual(1);
  });
});
