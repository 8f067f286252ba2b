import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  challengeResponse,
  commentNotification,
  sendChallenge,
  sendNotification,
  signNotification,
  startLinkedInServer,
  type LinkedInServer,
} from '../../local/servers/linkedinServer';

const CLIENT_ID = 'test-client';
const SECRET = 'test-secret';
const REDIRECT = 'http://127.0.0.1:7071/api/linkedin/callback';
const ME = 'urn:li:person:abc123XYZ';
/** November 2026: versions 202511 to 202611 are served. */
const START = new Date('2026-11-15T10:00:00Z');
const VERSION = '202610';
let clock = START;
let server: LinkedInServer;

beforeAll(async () => {
  server = await startLinkedInServer({ clientId: CLIENT_ID, clientSecret: SECRET, now: () => clock });
});
afterEach(() => {
  server.reset();
  clock = START;
});
afterAll(() => server.stop());

const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});
const rest = (token: string, extra: Record<string, string> = {}): Record<string, string> => ({
  authorization: `Bearer ${token}`,
  'linkedin-version': VERSION,
  'x-restli-protocol-version': '2.0.0',
  'content-type': 'application/json',
  ...extra,
});
/** Backslash before each little-text reserved character, as the client must send commentary. */
const escapeLittleText = (text: string) => text.replace(/[\\|{}@[\]()<>#*_~]/g, (c) => `\\${c}`);
const postBody = (commentary: string, content?: unknown) => ({
  author: ME,
  commentary,
  visibility: 'PUBLIC',
  distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
  lifecycleState: 'PUBLISHED',
  isReshareDisabledByAuthor: false,
  ...(content !== undefined && { content }),
});
const json = async (response: Response): Promise<Record<string, unknown>> =>
  (await response.json()) as Record<string, unknown>;

async function authorize(params: Record<string, string> = {}): Promise<URL> {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT,
    state: 'state-1',
    scope: 'openid profile w_member_social',
    ...params,
  });
  const response = await fetch(`${server.url}/oauth/v2/authorization?${query.toString()}`, {
    redirect: 'manual',
  });
  expect(response.status).toBe(302);
  return new URL(response.headers.get('location') ?? '');
}

const exchange = (code: string, overrides: Record<string, string> = {}) =>
  fetch(
    `${server.url}/oauth/v2/accessToken`,
    form({
      grant_type: 'authorization_code',
      code,
      client_id: CLIENT_ID,
      client_secret: SECRET,
      redirect_uri: REDIRECT,
      ...overrides,
    }),
  );

const createPost = (token: string, body: unknown, headers = rest(token), signal?: AbortSignal) =>
  fetch(`${server.url}/rest/posts`, { method: 'POST', headers, body: JSON.stringify(body), signal });

async function uploadImage(token: string, bytes: Buffer, contentType = 'image/png'): Promise<string> {
  const init = await fetch(`${server.url}/rest/images?action=initializeUpload`, {
    method: 'POST',
    headers: rest(token),
    body: JSON.stringify({ initializeUploadRequest: { owner: ME } }),
  });
  expect(init.status).toBe(200);
  const { value } = (await init.json()) as { value: { uploadUrl: string; image: string } };
  const put = await fetch(value.uploadUrl, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    body: bytes,
  });
  expect(put.status).toBe(201);
  return value.image;
}

const analytics = (token: string, urn: string, queryType: string, version = VERSION) =>
  fetch(
    `${server.url}/rest/memberCreatorPostAnalytics?q=entity&entity=(share:${encodeURIComponent(urn)})&queryType=${queryType}&aggregation=TOTAL`,
    { headers: rest(token, { 'linkedin-version': version }) },
  );

describe('OAuth', () => {
  it('runs the round trip: authorize, token, userinfo, introspect', async () => {
    const location = await authorize({ scope: 'openid profile email w_member_social' });
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('state')).toBe('state-1');
    const code = location.searchParams.get('code') ?? '';
    expect(code).not.toBe('');

    const tokenResponse = await exchange(code);
    expect(tokenResponse.status).toBe(200);
    const token = await json(tokenResponse);
    expect(token).toMatchObject({
      expires_in: 5_184_000,
      scope: 'openid,profile,email,w_member_social',
      token_type: 'Bearer',
    });
    expect(token).not.toHaveProperty('refresh_token');
    expect(String(token.id_token).split('.')).toHaveLength(3);
    const accessToken = String(token.access_token);

    const userinfo = await fetch(`${server.url}/v2/userinfo`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(await json(userinfo)).toEqual({
      sub: 'abc123XYZ',
      name: 'Camille Laurent',
      given_name: 'Camille',
      family_name: 'Laurent',
      picture: expect.stringMatching(/^https:\/\//) as unknown,
      locale: { country: 'FR', language: 'fr' },
      email: 'camille.laurent@example.com',
      email_verified: true,
    });

    const introspect = await fetch(
      `${server.url}/oauth/v2/introspectToken`,
      form({ client_id: CLIENT_ID, client_secret: SECRET, token: accessToken }),
    );
    const now = Math.floor(START.getTime() / 1000);
    expect(await json(introspect)).toEqual({
      active: true,
      client_id: CLIENT_ID,
      authorized_at: now,
      created_at: now,
      status: 'active',
      expires_at: now + 5_184_000,
      scope: 'openid,profile,email,w_member_social',
      auth_type: '3L',
    });

    // The request log names paths and statuses only: no token, no code.
    const logged = JSON.stringify(server.requests);
    expect(logged).not.toContain(accessToken);
    expect(logged).not.toContain(code);
    expect(server.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ['GET', '/oauth/v2/authorization', 302],
      ['POST', '/oauth/v2/accessToken', 200],
      ['GET', '/v2/userinfo', 200],
      ['POST', '/oauth/v2/introspectToken', 200],
    ]);
  });

  it('gives no email without the email scope, and no userinfo without openid', async () => {
    const profile = server.issueToken({ scopes: ['openid', 'profile', 'w_member_social'] });
    const info = await json(
      await fetch(`${server.url}/v2/userinfo`, { headers: { authorization: `Bearer ${profile}` } }),
    );
    expect(info).toMatchObject({ sub: 'abc123XYZ', name: 'Camille Laurent' });
    expect(info).not.toHaveProperty('email');

    const postOnly = server.issueToken({ scopes: ['w_member_social'] });
    const refused = await fetch(`${server.url}/v2/userinfo`, {
      headers: { authorization: `Bearer ${postOnly}` },
    });
    expect(refused.status).toBe(403);
  });

  it('refuses a code used twice, or with another redirect_uri, or with a wrong secret', async () => {
    const code = (await authorize()).searchParams.get('code') ?? '';
    expect((await exchange(code, { client_secret: 'wrong' })).status).toBe(401);
    expect((await exchange(code, { redirect_uri: 'http://127.0.0.1:9/other' })).status).toBe(400);
    // Neither failure consumed the code.
    expect((await exchange(code)).status).toBe(200);

    const again = await exchange(code);
    expect(again.status).toBe(400);
    expect(await json(again)).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringContaining('does not match authorization code') as unknown,
    });
    expect(server.tokens).toHaveLength(1);

    const notForm = await fetch(`${server.url}/oauth/v2/accessToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'authorization_code', code }),
    });
    expect(notForm.status).toBe(400);
    expect((await exchange(code, { grant_type: 'client_credentials' })).status).toBe(400);
  });

  it('expires a code after 30 minutes', async () => {
    const code = (await authorize()).searchParams.get('code') ?? '';
    clock = new Date(START.getTime() + 31 * 60_000);
    expect((await exchange(code)).status).toBe(400);
  });

  it('leaves out withheld scopes silently', async () => {
    server.withheldScopes = ['r_member_postAnalytics'];
    const code = (
      await authorize({ scope: 'openid profile w_member_social r_member_postAnalytics' })
    ).searchParams.get('code');
    const token = await json(await exchange(code ?? ''));
    expect(token.scope).toBe('openid,profile,w_member_social');
    expect(server.tokens[0]?.scopes).toEqual(['openid', 'profile', 'w_member_social']);
  });

  it('redirects the refusals back with the state; refuses an unknown client without redirecting', async () => {
    server.deny = true;
    const denied = await authorize();
    expect(denied.searchParams.get('error')).toBe('user_cancelled_authorize');
    expect(denied.searchParams.get('error_description')).toBeTruthy();
    expect(denied.searchParams.get('state')).toBe('state-1');
    expect(denied.searchParams.has('code')).toBe(false);
    server.deny = false;

    expect((await authorize({ scope: 'openid,profile' })).searchParams.get('error')).toBe('invalid_scope');
    server.unauthorizedScopes = ['w_organization_social'];
    const org = await authorize({ scope: 'openid w_organization_social' });
    expect(org.searchParams.get('error')).toBe('unauthorized_scope_error');

    const query = new URLSearchParams({
      response_type: 'code',
      client_id: 'someone-else',
      redirect_uri: REDIRECT,
      scope: 'openid',
    });
    const unknown = await fetch(`${server.url}/oauth/v2/authorization?${query.toString()}`, {
      redirect: 'manual',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('location')).toBeNull();
  });

  it('answers 401 once a token is revoked or expired, and introspection says which', async () => {
    const introspect = async (token: string) =>
      json(
        await fetch(
          `${server.url}/oauth/v2/introspectToken`,
          form({ client_id: CLIENT_ID, client_secret: SECRET, token }),
        ),
      );
    const revoked = server.issueToken();
    server.revoke(revoked);
    const answer = await createPost(revoked, postBody('Hello'));
    expect(answer.status).toBe(401);
    expect(await json(answer)).toMatchObject({ status: 401, serviceErrorCode: 65601 });
    expect(await introspect(revoked)).toMatchObject({ active: false, status: 'revoked' });

    const expiring = server.issueToken();
    clock = new Date(START.getTime() + 61 * 86_400_000);
    const expired = await fetch(`${server.url}/v2/userinfo`, {
      headers: { authorization: `Bearer ${expiring}` },
    });
    expect(expired.status).toBe(401);
    expect(await introspect(expiring)).toMatchObject({ active: false, status: 'expired' });
    expect(await introspect('never-issued')).toEqual({ active: false });
  });
});

describe('REST headers', () => {
  it('checks the bearer token, LinkedIn-Version and X-Restli-Protocol-Version', async () => {
    const token = server.issueToken();
    const call = async (headers: Record<string, string>) => {
      const response = await createPost(token, postBody(`Header check ${JSON.stringify(headers)}`), headers);
      return { status: response.status, body: response.status === 201 ? {} : await json(response) };
    };
    const { authorization: _auth, ...noToken } = rest(token);
    expect(await call(noToken)).toMatchObject({ status: 401, body: { status: 401 } });
    expect(await call(rest('not-a-token'))).toMatchObject({
      status: 401,
      body: { serviceErrorCode: 65600, message: 'Invalid access token', status: 401 },
    });

    const { 'linkedin-version': _version, ...noVersion } = rest(token);
    expect((await call(noVersion)).status).toBe(400);
    expect((await call(rest(token, { 'linkedin-version': '2026-10' }))).status).toBe(400);
    expect(await call(rest(token, { 'linkedin-version': '202510' }))).toEqual({
      status: 426,
      body: { message: 'Requested version 202510 is not active', code: 'NONEXISTENT_VERSION', status: 426 },
    });
    expect((await call(rest(token, { 'linkedin-version': '202612' }))).status).toBe(426);
    server.sunsetVersions = ['202609'];
    expect((await call(rest(token, { 'linkedin-version': '202609' }))).status).toBe(426);

    const { 'x-restli-protocol-version': _restli, ...noRestli } = rest(token);
    expect((await call(noRestli)).status).toBe(400);
    expect((await call(rest(token, { 'x-restli-protocol-version': '1.0.0' }))).status).toBe(400);

    // The oldest version still served, twelve months back, works.
    expect((await call(rest(token, { 'linkedin-version': '202511' }))).status).toBe(201);
    expect((await call(rest(token))).status).toBe(201);
    expect(server.posts).toHaveLength(2);
  });
});

describe('posts', () => {
  it('uploads an image with one PUT and publishes a post with it', async () => {
    const token = server.issueToken();
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
    const image = await uploadImage(token, bytes);
    expect(image).toMatch(/^urn:li:image:/);
    expect(server.images.get(image)).toMatchObject({ owner: ME, contentType: 'image/png' });
    expect(server.images.get(image)?.bytes?.equals(bytes)).toBe(true);

    // LinkedIn takes one upload per URL.
    const uploadUrl = server.images.get(image)?.uploadUrl ?? '';
    const second = await fetch(uploadUrl, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}` },
      body: bytes,
    });
    expect(second.status).toBe(400);
    // The upload URL carries its own token: a rebuilt URL without it is refused.
    const rebuilt = await fetch(uploadUrl.split('?')[0] ?? '', {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}` },
      body: bytes,
    });
    expect(rebuilt.status).toBe(404);

    const body = postBody('A picture', { media: { id: image, altText: 'The team' } });
    const response = await createPost(token, body);
    expect(response.status).toBe(201);
    expect(await response.text()).toBe('');
    const urn = response.headers.get('x-restli-id');
    expect(urn).toMatch(/^urn:li:share:\d{19}$/);
    const [post] = server.posts;
    expect(post).toMatchObject({
      urn,
      author: ME,
      body,
      truncated: false,
      text: 'A picture',
      deleted: false,
    });
    expect(post?.rawBody).toBe(JSON.stringify(body));
    expect(post?.headers).toMatchObject({
      'linkedin-version': VERSION,
      'x-restli-protocol-version': '2.0.0',
      authorization: 'Bearer [redacted]',
    });
    expect(JSON.stringify(server.posts)).not.toContain(token);
  });

  it('refuses media never uploaded, another owner, and a wrong body', async () => {
    const token = server.issueToken();
    const init = await fetch(`${server.url}/rest/images?action=initializeUpload`, {
      method: 'POST',
      headers: rest(token),
      body: JSON.stringify({ initializeUploadRequest: { owner: 'urn:li:person:someoneElse' } }),
    });
    expect(init.status).toBe(403);

    const initialized = await fetch(`${server.url}/rest/images?action=initializeUpload`, {
      method: 'POST',
      headers: rest(token),
      body: JSON.stringify({ initializeUploadRequest: { owner: ME } }),
    });
    const { value } = (await initialized.json()) as { value: { image: string } };
    for (const id of [value.image, 'urn:li:image:neverSeen']) {
      const response = await createPost(token, postBody(`Media ${id}`, { media: { id } }));
      expect(response.status).toBe(400);
      expect((await json(response)).message).toContain(id);
    }

    const otherAuthor = await createPost(token, { ...postBody('Not mine'), author: 'urn:li:person:other' });
    expect(otherAuthor.status).toBe(403);
    const unknownField = await createPost(token, { ...postBody('Typo'), contents: {} });
    expect(unknownField.status).toBe(422);
    expect((await json(unknownField)).message).toContain('/contents');
    const connections = await createPost(token, { ...postBody('Private'), visibility: 'CONNECTIONS' });
    expect(connections.status).toBe(422);
    expect((await json(connections)).message).toContain('/visibility');
    const tooLong = await createPost(token, postBody('x'.repeat(3001)));
    expect(tooLong.status).toBe(422);
    const noScope = server.issueToken({ scopes: ['openid', 'profile'] });
    expect((await createPost(noScope, postBody('No scope'))).status).toBe(403);
    expect(server.posts).toEqual([]);
  });

  it('publishes an article with the title, description and thumbnail given', async () => {
    const token = server.issueToken();
    const thumbnail = await uploadImage(token, Buffer.from('GIF89a-thumbnail'), 'image/gif');
    const article = {
      source: 'https://example.com/blog/scheduling',
      title: 'Scheduling, done once',
      description: 'Why there is no retry on create',
      thumbnail,
    };
    const response = await createPost(token, postBody('Read this', { article }));
    expect(response.status).toBe(201);
    expect(server.posts[0]?.body.content).toEqual({ article });

    const notUploaded = await createPost(
      token,
      postBody('Read that', { article: { ...article, thumbnail: 'urn:li:image:missing' } }),
    );
    expect(notUploaded.status).toBe(400);
    const both = await createPost(token, postBody('Both', { article, media: { id: thumbnail } }));
    expect(both.status).toBe(422);
  });

  it('answers 422 DUPLICATE_POST naming the first URN for the same text', async () => {
    const token = server.issueToken();
    const first = await createPost(token, postBody('Same words'));
    const urn = first.headers.get('x-restli-id') ?? '';
    const again = await createPost(token, postBody('Same words'));
    expect(again.status).toBe(422);
    const body = await json(again);
    expect(body.status).toBe(422);
    expect(body.message).toContain(`Content is a duplicate of ${urn}`);
    expect(JSON.stringify(body)).toContain('DUPLICATE_POST');
    expect(server.posts).toHaveLength(1);

    // Once deleted, the same text may be posted again; unless LinkedIn's ghost duplicates are on.
    const deleted = await fetch(`${server.url}/rest/posts/${encodeURIComponent(urn)}`, {
      method: 'DELETE',
      headers: rest(token),
    });
    expect(deleted.status).toBe(204);
    server.duplicatesIncludeDeleted = true;
    expect((await createPost(token, postBody('Same words'))).status).toBe(422);
    server.duplicatesIncludeDeleted = false;
    expect((await createPost(token, postBody('Same words'))).status).toBe(201);
  });

  it('cuts a post at an unescaped reserved character, and keeps an escaped one whole', async () => {
    const token = server.issueToken();
    const raw = 'Launch day (finally) with @team #shipping';
    expect((await createPost(token, postBody(raw))).status).toBe(201);
    expect(server.posts[0]).toMatchObject({
      truncated: true,
      commentary: 'Launch day ',
      text: 'Launch day ',
    });

    const escaped = escapeLittleText('Launch day (again) with @team #shipping, 50% off_now \\o/');
    expect((await createPost(token, postBody(escaped))).status).toBe(201);
    expect(server.posts[1]).toMatchObject({
      truncated: false,
      commentary: escaped,
      text: 'Launch day (again) with @team #shipping, 50% off_now \\o/',
    });

    // A lone backslash is itself reserved.
    expect((await createPost(token, postBody('C:\\path'))).status).toBe(201);
    expect(server.posts[2]).toMatchObject({ truncated: true, text: 'C:' });

    // `#` opening a word is a hashtag element; a `#` before anything else cuts the post.
    expect((await createPost(token, postBody('Rentrée #formation 2026'))).status).toBe(201);
    expect(server.posts[3]).toMatchObject({
      truncated: false,
      text: 'Rentrée #formation 2026',
      hashtags: ['formation'],
    });
    expect((await createPost(token, postBody('Code en C# ce soir'))).status).toBe(201);
    expect(server.posts[4]).toMatchObject({ truncated: true, text: 'Code en C' });
  });

  it('deletes a post once (204, then 404) and wants the URN encoded', async () => {
    const token = server.issueToken();
    const urn = (await createPost(token, postBody('To delete'))).headers.get('x-restli-id') ?? '';
    const remove = () =>
      fetch(`${server.url}/rest/posts/${encodeURIComponent(urn)}`, {
        method: 'DELETE',
        headers: rest(token),
      });
    const unencoded = await fetch(`${server.url}/rest/posts/${urn}`, {
      method: 'DELETE',
      headers: rest(token),
    });
    expect(unencoded.status).toBe(400);
    expect((await remove()).status).toBe(204);
    expect((await remove()).status).toBe(404);
    expect(server.posts[0]).toMatchObject({ deleted: true, deletedAt: START });
  });

  it('comments on a post', async () => {
    const token = server.issueToken();
    const urn = (await createPost(token, postBody('Commented'))).headers.get('x-restli-id') ?? '';
    const comment = (body: unknown, target = urn) =>
      fetch(`${server.url}/rest/socialActions/${encodeURIComponent(target)}/comments`, {
        method: 'POST',
        headers: rest(token),
        body: JSON.stringify(body),
      });
    const response = await comment({ actor: ME, object: urn, message: { text: 'Thanks!' } });
    expect(response.status).toBe(201);
    const id = response.headers.get('x-restli-id');
    expect(id).toMatch(/^\d{19}$/);
    expect(server.comments).toEqual([
      expect.objectContaining({
        id,
        postUrn: urn,
        actor: ME,
        text: 'Thanks!',
        urn: `urn:li:comment:(${urn},${id})`,
      }),
    ]);

    expect((await comment({ actor: ME, object: 'urn:li:share:1', message: { text: 'x' } })).status).toBe(400);
    const missing = 'urn:li:share:7400000000000009999';
    expect((await comment({ actor: ME, object: missing, message: { text: 'x' } }, missing)).status).toBe(404);
    const other = await comment({ actor: 'urn:li:person:other', object: urn, message: { text: 'x' } });
    expect(other.status).toBe(403);

    // A post published outside the app can be commented on too.
    const outside = server.addPost({ commentary: 'Posted by hand' });
    expect(
      (await comment({ actor: ME, object: outside.urn, message: { text: 'Yes' } }, outside.urn)).status,
    ).toBe(201);
  });
});

describe('member post analytics', () => {
  it('needs r_member_postAnalytics, then answers deterministic counts', async () => {
    const plain = server.issueToken();
    const urn = (await createPost(plain, postBody('Measured'))).headers.get('x-restli-id') ?? '';
    const refused = await analytics(plain, urn, 'IMPRESSION');
    expect(refused.status).toBe(403);

    const token = server.issueToken({
      scopes: ['openid', 'profile', 'w_member_social', 'r_member_postAnalytics'],
    });
    const first = await json(await analytics(token, urn, 'IMPRESSION'));
    expect(first).toMatchObject({
      elements: [
        { count: expect.any(Number) as unknown, metricType: 'IMPRESSION', targetEntity: { share: urn } },
      ],
    });
    expect(await json(await analytics(token, urn, 'IMPRESSION'))).toEqual(first);

    // Before 202605 metricType was an object.
    const older = await json(await analytics(token, urn, 'REACTION', '202604'));
    expect(older.elements).toEqual([
      expect.objectContaining({
        metricType: {
          'com.linkedin.adsexternalapi.memberanalytics.v1.CreatorPostAnalyticsMetricTypeV1': 'REACTION',
        },
      }),
    ]);

    const comments = async () =>
      ((await json(await analytics(token, urn, 'COMMENT'))).elements as Array<{ count: number }>)[0]?.count;
    const before = await comments();
    await fetch(`${server.url}/rest/socialActions/${encodeURIComponent(urn)}/comments`, {
      method: 'POST',
      headers: rest(token),
      body: JSON.stringify({ actor: ME, object: urn, message: { text: 'One more' } }),
    });
    expect(await comments()).toBe((before ?? 0) + 1);

    server.setMetrics(urn, { IMPRESSION: 1234 });
    expect(await json(await analytics(token, urn, 'IMPRESSION'))).toMatchObject({
      elements: [{ count: 1234 }],
    });

    const unencoded = await fetch(
      `${server.url}/rest/memberCreatorPostAnalytics?q=entity&entity=(share:${urn})&queryType=IMPRESSION&aggregation=TOTAL`,
      { headers: rest(token) },
    );
    expect(unencoded.status).toBe(400);
    expect((await analytics(token, 'urn:li:share:7400000000000009999', 'IMPRESSION')).status).toBe(404);
  });
});

describe('failure injection', () => {
  it('fails a create without creating, or after creating with performed', async () => {
    const token = server.issueToken();
    server.fault('createPost', { status: 500 });
    const failed = await createPost(token, postBody('Five hundred'));
    expect(failed.status).toBe(500);
    expect(server.posts).toHaveLength(0);
    expect((await createPost(token, postBody('Five hundred'))).status).toBe(201);

    server.fault('createPost', { status: 502, performed: true });
    const ghost = await createPost(token, postBody('Created anyway'));
    expect(ghost.status).toBe(502);
    expect(server.posts).toHaveLength(2);
    const retry = await createPost(token, postBody('Created anyway'));
    expect(retry.status).toBe(422);
    expect((await json(retry)).message).toContain(server.posts[1]?.urn ?? 'missing');
  });

  it('injects 401, 422, 426 and 429 on createPost, the given number of times', async () => {
    const token = server.issueToken();
    server.fault('createPost', { status: 401 });
    expect(await json(await createPost(token, postBody('a')))).toMatchObject({
      status: 401,
      serviceErrorCode: 65600,
    });

    server.fault('createPost', { status: 422 });
    const duplicate = await json(await createPost(token, postBody('b')));
    expect(duplicate.message).toMatch(/Content is a duplicate of urn:li:share:\d+/);

    server.fault('createPost', { status: 426 });
    expect((await json(await createPost(token, postBody('c')))).message).toBe(
      `Requested version ${VERSION} is not active`,
    );

    server.fault('createPost', { status: 429, times: 2 });
    for (let i = 0; i < 2; i++) {
      const limited = await createPost(token, postBody('d'));
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBeNull();
    }
    server.fault('createPost', { status: 503, body: { message: 'custom', status: 503 } });
    expect(await json(await createPost(token, postBody('e')))).toEqual({ message: 'custom', status: 503 });
    expect((await createPost(token, postBody('d'))).status).toBe(201);
    expect(server.posts).toHaveLength(1);
  });

  it('injects failures on initializeUpload, upload, comment, token and userinfo', async () => {
    const token = server.issueToken();
    server.fault('initializeUpload', { status: 500 });
    const init = () =>
      fetch(`${server.url}/rest/images?action=initializeUpload`, {
        method: 'POST',
        headers: rest(token),
        body: JSON.stringify({ initializeUploadRequest: { owner: ME } }),
      });
    expect((await init()).status).toBe(500);
    const { value } = (await (await init()).json()) as { value: { uploadUrl: string; image: string } };

    server.fault('upload', { status: 500 });
    const put = () =>
      fetch(value.uploadUrl, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: 'bytes' });
    expect((await put()).status).toBe(500);
    expect(server.images.get(value.image)?.bytes).toBeUndefined();
    expect((await put()).status).toBe(201);

    const urn = (await createPost(token, postBody('Comment faults'))).headers.get('x-restli-id') ?? '';
    server.fault('comment', { status: 429 });
    const comment = await fetch(`${server.url}/rest/socialActions/${encodeURIComponent(urn)}/comments`, {
      method: 'POST',
      headers: rest(token),
      body: JSON.stringify({ actor: ME, object: urn, message: { text: 'Hi' } }),
    });
    expect(comment.status).toBe(429);
    expect(server.comments).toEqual([]);

    const code = (await authorize()).searchParams.get('code') ?? '';
    server.fault('token', { status: 500 });
    const tokenFailure = await exchange(code);
    expect(tokenFailure.status).toBe(500);
    expect(await json(tokenFailure)).toMatchObject({ error: 'server_error' });
    // The code was not used up by the failed exchange.
    const exchanged = await json(await exchange(code));

    server.fault('userinfo', { status: 401 });
    const userinfo = () =>
      fetch(`${server.url}/v2/userinfo`, {
        headers: { authorization: `Bearer ${String(exchanged.access_token)}` },
      });
    expect((await userinfo()).status).toBe(401);
    expect((await userinfo()).status).toBe(200);
    expect(() => server.fault('authorize' as never, { status: 500 })).toThrow(/not a route/);
  });

  it('creates the post but answers after the client gave up (slowCreate)', async () => {
    const token = server.issueToken();
    server.slowCreate({ delayMs: 400 });
    const error = await createPost(token, postBody('Late answer'), rest(token), AbortSignal.timeout(50)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('TimeoutError');
    // The post exists although the client never learnt its URN.
    expect(server.posts).toHaveLength(1);
    const urn = server.posts[0]?.urn ?? '';

    await vi.waitFor(
      () => expect(server.requests.at(-1)).toMatchObject({ status: 201, clientGaveUp: true }),
      {
        timeout: 2000,
      },
    );
    // A resend finds it: no second post.
    const resend = await createPost(token, postBody('Late answer'));
    expect(resend.status).toBe(422);
    expect((await json(resend)).message).toContain(urn);
    expect(server.posts).toHaveLength(1);
  });

  it('limits createPost to the rate set, with 429 and no Retry-After', async () => {
    const token = server.issueToken();
    server.rateLimit = { perSecond: 2 };
    expect((await createPost(token, postBody('r1'))).status).toBe(201);
    expect((await createPost(token, postBody('r2'))).status).toBe(201);
    const limited = await createPost(token, postBody('r3'));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeNull();
    expect(await json(limited)).toMatchObject({ status: 429, code: 'TOO_MANY_REQUESTS' });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await createPost(token, postBody('r3'))).status).toBe(201);
    expect(server.posts.map((p) => p.text)).toEqual(['r1', 'r2', 'r3']);
  });
});

describe('organization notifications', () => {
  it('signs as LinkedIn does and sends the exact body', async () => {
    const received: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://local');
        const code = url.searchParams.get('challengeCode');
        if (req.method === 'GET' && code) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({ challengeCode: code, challengeResponse: challengeResponse(code, SECRET) }),
          );
          return;
        }
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200);
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/api/linkedin/webhook`;
    try {
      const payload = commentNotification({
        organization: 'urn:li:organization:42',
        postUrn: 'urn:li:share:7400000000000000001',
        commenter: 'urn:li:person:visitor',
        text: 'Is this available in French?',
        notificationId: 1234,
      });
      expect(payload.notifications[0]).toMatchObject({ notificationId: 1234, action: 'COMMENT' });
      const response = await sendNotification(url, payload, { clientSecret: SECRET });
      expect(response.status).toBe(200);
      const [delivery] = received;
      expect(delivery?.body).toBe(JSON.stringify(payload));
      const expected = createHmac('sha256', SECRET)
        .update(`hmacsha256=${JSON.stringify(payload)}`)
        .digest('hex');
      expect(delivery?.headers['x-li-signature']).toBe(expected);
      expect(signNotification(JSON.stringify(payload), SECRET)).toBe(expected);
      expect(signNotification(JSON.stringify(payload), 'other-secret')).not.toBe(expected);

      expect(await sendChallenge(url, { clientSecret: SECRET })).toMatchObject({ status: 200, valid: true });
      expect((await sendChallenge(url, { clientSecret: 'other-secret' })).valid).toBe(false);
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});
