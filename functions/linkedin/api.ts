import { z } from 'zod';
import type { LinkedInSettings } from './settings';

/** Why a LinkedIn call failed, in the terms the capability acts on. */
export type LinkedInFailure =
  | 'unauthorized' // 401: expired, invalid or revoked token → reconnect
  | 'forbidden' // 403: a permission not granted
  | 'duplicate' // 422 DUPLICATE_POST: the same text was already posted (duplicateOf names it)
  | 'version' // 426: LINKEDIN_VERSION no longer served
  | 'rate_limited' // 429: over the daily limit, no Retry-After
  | 'rejected' // another 4xx: the request itself is wrong
  | 'server' // 5xx
  | 'timeout' // no answer in LINKEDIN_TIMEOUT_MS: the effect is unknown
  | 'network'; // no connection: nothing reached LinkedIn

export class LinkedInError extends Error {
  constructor(
    readonly failure: LinkedInFailure,
    readonly status: number,
    message: string,
    readonly duplicateOf?: string,
  ) {
    super(message);
    this.name = 'LinkedInError';
  }
}

const tokenAnswer = z.object({
  access_token: z.string(),
  expires_in: z.number(),
  scope: z.string().optional(),
});
const userinfoAnswer = z.object({
  sub: z.string(),
  name: z.string().optional(),
  given_name: z.string().optional(),
  family_name: z.string().optional(),
  email: z.string().optional(),
});
const introspectAnswer = z.object({
  active: z.boolean(),
  status: z.string().optional(),
  expires_at: z.number().optional(),
  scope: z.string().optional(),
});
const uploadAnswer = z.object({ value: z.object({ uploadUrl: z.string(), image: z.string() }) });
const analyticsAnswer = z.object({ elements: z.array(z.object({ count: z.number() })).default([]) });

export interface PostBody {
  author: string;
  commentary: string;
  visibility: 'PUBLIC';
  distribution: { feedDistribution: 'MAIN_FEED'; targetEntities: []; thirdPartyDistributionChannels: [] };
  lifecycleState: 'PUBLISHED';
  isReshareDisabledByAuthor: false;
  content?:
    | { media: { id: string; altText?: string } }
    | { article: { source: string; title: string; description?: string; thumbnail?: string } };
}

/** Scopes as LinkedIn lists them (comma- or space-separated). */
export function scopeList(text: string | undefined): string[] {
  return (text ?? '').split(/[\s,]+/).filter(Boolean);
}

/**
 * LinkedIn's OAuth and versioned REST API: every /rest call with the bearer token, `LinkedIn-Version`
 * and `X-Restli-Protocol-Version: 2.0.0`; each failure classified once, here.
 */
export function linkedinApi(settings: LinkedInSettings, fetchImpl: typeof fetch = fetch) {
  const call = async (url: string, init: RequestInit): Promise<Response> => {
    let response: Response;
    try {
      response = await fetchImpl(url, { ...init, signal: AbortSignal.timeout(settings.timeoutMs) });
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'TimeoutError' || name === 'AbortError')
        throw new LinkedInError('timeout', 0, `LinkedIn did not answer within ${settings.timeoutMs} ms.`);
      const cause =
        error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      throw new LinkedInError('network', 0, `LinkedIn could not be reached: ${cause}`);
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => '');
    let message = text.slice(0, 300);
    try {
      const body = JSON.parse(text) as { message?: unknown; error_description?: unknown };
      const said = [body.message, body.error_description].find((v): v is string => typeof v === 'string');
      if (said) message = said;
    } catch {
      // Not JSON: keep the text.
    }
    const status = response.status;
    if (status === 401)
      throw new LinkedInError('unauthorized', status, message || 'The token is expired or revoked.');
    if (status === 403) throw new LinkedInError('forbidden', status, message);
    if (status === 422 && /duplicate/i.test(message)) {
      const urn = /urn:li:(?:share|ugcPost):[A-Za-z0-9]+/.exec(message)?.[0];
      throw new LinkedInError('duplicate', status, message, urn);
    }
    if (status === 426)
      throw new LinkedInError(
        'version',
        status,
        `LinkedIn no longer serves LINKEDIN_VERSION ${settings.version}: set a recent YYYYMM (${message}).`,
      );
    if (status === 429) throw new LinkedInError('rate_limited', status, message || 'Rate limited.');
    if (status >= 500) throw new LinkedInError('server', status, message || `LinkedIn answered ${status}.`);
    throw new LinkedInError('rejected', status, message || `LinkedIn answered ${status}.`);
  };
  const rest = (token: string, extra: Record<string, string> = {}) => ({
    authorization: `Bearer ${token}`,
    'linkedin-version': settings.version,
    'x-restli-protocol-version': '2.0.0',
    ...extra,
  });
  const json = async <T>(response: Response, schema: z.ZodType<T>, what: string): Promise<T> => {
    const parsed = schema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success)
      throw new LinkedInError(
        'server',
        response.status,
        `LinkedIn's ${what} answer has an unexpected shape.`,
      );
    return parsed.data;
  };
  const form = (fields: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });

  return {
    authorizationUrl(state: string): string {
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: settings.clientId,
        redirect_uri: settings.redirectUri,
        state,
        scope: settings.scopes.join(' '),
      });
      return `${settings.authUrl}/oauth/v2/authorization?${query.toString()}`;
    },

    async exchangeCode(code: string) {
      const response = await call(
        `${settings.authUrl}/oauth/v2/accessToken`,
        form({
          grant_type: 'authorization_code',
          code,
          client_id: settings.clientId,
          client_secret: settings.clientSecret,
          redirect_uri: settings.redirectUri,
        }),
      );
      const answer = await json(response, tokenAnswer, 'token');
      return {
        accessToken: answer.access_token,
        expiresInSeconds: answer.expires_in,
        scopes: scopeList(answer.scope),
      };
    },

    async userinfo(token: string) {
      const response = await call(`${settings.apiUrl}/v2/userinfo`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return json(response, userinfoAnswer, 'userinfo');
    },

    async introspect(token: string) {
      const response = await call(
        `${settings.authUrl}/oauth/v2/introspectToken`,
        form({ client_id: settings.clientId, client_secret: settings.clientSecret, token }),
      );
      return json(response, introspectAnswer, 'introspection');
    },

    async initializeUpload(token: string, owner: string) {
      const response = await call(`${settings.apiUrl}/rest/images?action=initializeUpload`, {
        method: 'POST',
        headers: rest(token, { 'content-type': 'application/json' }),
        body: JSON.stringify({ initializeUploadRequest: { owner } }),
      });
      return (await json(response, uploadAnswer, 'image upload')).value;
    },

    /** One PUT of the whole file (chunked uploads have corrupted large images in other schedulers). */
    async upload(token: string, uploadUrl: string, bytes: Uint8Array, contentType: string) {
      await call(uploadUrl, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
        body: bytes,
      });
    },

    /** Creates the post; its URN is in `x-restli-id`. Never retried here: LinkedIn has no idempotency key. */
    async createPost(token: string, body: PostBody): Promise<string> {
      const response = await call(`${settings.apiUrl}/rest/posts`, {
        method: 'POST',
        headers: rest(token, { 'content-type': 'application/json' }),
        body: JSON.stringify(body),
      });
      const urn = response.headers.get('x-restli-id');
      if (!urn)
        throw new LinkedInError(
          'server',
          response.status,
          'LinkedIn created the post but sent no x-restli-id.',
        );
      return urn;
    },

    async createComment(token: string, postUrn: string, actor: string, text: string): Promise<string> {
      const response = await call(
        `${settings.apiUrl}/rest/socialActions/${encodeURIComponent(postUrn)}/comments`,
        {
          method: 'POST',
          headers: rest(token, { 'content-type': 'application/json' }),
          body: JSON.stringify({ actor, object: postUrn, message: { text } }),
        },
      );
      return response.headers.get('x-restli-id') ?? '';
    },

    async postMetric(
      token: string,
      postUrn: string,
      metric: 'IMPRESSION' | 'REACTION' | 'COMMENT',
    ): Promise<number> {
      const kind = postUrn.includes(':ugcPost:') ? 'ugc' : 'share';
      const url = `${settings.apiUrl}/rest/memberCreatorPostAnalytics?q=entity&entity=(${kind}:${encodeURIComponent(postUrn)})&queryType=${metric}&aggregation=TOTAL`;
      const response = await call(url, { headers: rest(token) });
      return (await json(response, analyticsAnswer, 'analytics')).elements.reduce(
        (sum, e) => sum + e.count,
        0,
      );
    },
  };
}
export type LinkedInApi = ReturnType<typeof linkedinApi>;

/** `https://www.linkedin.com/feed/update/{urn}`: the post's page. */
export function postUrl(urn: string): string {
  return `https://www.linkedin.com/feed/update/${urn}`;
}
