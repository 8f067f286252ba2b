import { listenHttp } from './listen';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { z } from 'zod';
import { BodyTooLargeError, readBodyBytes, sendJson } from '../jsonHttp';

/**
 * A local stand-in for LinkedIn's OAuth host (www.linkedin.com) and API host (api.linkedin.com) on
 * one port, so `LINKEDIN_AUTH_URL` and `LINKEDIN_API_URL` can both point at it: authorization (no
 * login page: the signed-in member approves at once), token exchange, introspection, `/v2/userinfo`,
 * and the versioned REST calls the capability makes (image upload, posts, comments, member post
 * analytics). It checks what LinkedIn checks — the bearer token, `LinkedIn-Version`,
 * `X-Restli-Protocol-Version: 2.0.0`, the granted scopes, the body — and behaves as LinkedIn does
 * where other schedulers were caught out: scopes it does not grant are silently left out, an
 * unescaped little-text character silently cuts a post, the same text twice is a 422 DUPLICATE_POST
 * naming the first URN, and there is no idempotency key. Failures are injectable, including a create
 * that succeeds but answers after the client gave up. It also sends organization notifications
 * signed as LinkedIn does (`sendNotification`, `sendChallenge`).
 */

export interface LinkedInMember {
  /** The member id: the author URN is `urn:li:person:{sub}`. */
  sub: string;
  name: string;
  given_name: string;
  family_name: string;
  picture?: string;
  email?: string;
  email_verified?: boolean;
  /** An object, not the BCP 47 string LinkedIn's documentation shows: what the API really answers. */
  locale: { country: string; language: string };
}

export const DEFAULT_MEMBER: LinkedInMember = {
  sub: 'abc123XYZ',
  name: 'Camille Laurent',
  given_name: 'Camille',
  family_name: 'Laurent',
  picture: 'https://media.licdn.com/dms/image/local/camille-laurent/profile-displayphoto-shrink_100_100/0/',
  email: 'camille.laurent@example.com',
  email_verified: true,
  locale: { country: 'FR', language: 'fr' },
};

export interface LinkedInServerOptions {
  clientId: string;
  clientSecret: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** The clock for tokens, codes, versions and timestamps (default: the system clock). */
  now?: () => Date;
  /** The members who may sign in; the first one approves authorizations unless `signedInMember` says. */
  members?: LinkedInMember[];
  /** The redirect URLs registered on the app; when given, any other is refused as LinkedIn does. */
  redirectUris?: string[];
  /** Called once each request is answered (the CLI prints them). */
  onRequest?: (request: LinkedInRequest) => void;
  /** Called when a post is created, before its answer is sent (which may be late, or never read). */
  onPost?: (post: LinkedInPost) => void;
}

export type LinkedInRoute =
  | 'authorize'
  | 'token'
  | 'introspect'
  | 'userinfo'
  | 'initializeUpload'
  | 'upload'
  | 'createPost'
  | 'getPost'
  | 'deletePost'
  | 'comment'
  | 'analytics';
/** Routes a failure can be injected on: the authorization page has `deny` and `unauthorizedScopes`. */
export type LinkedInFaultRoute = Exclude<LinkedInRoute, 'authorize'>;

/** A request as received: never a token, a code or a query string, only the path. */
export interface LinkedInRequest {
  method: string;
  path: string;
  /** Undefined for a path this server does not serve. */
  route: LinkedInRoute | undefined;
  /** The status answered; 0 while the answer is pending. */
  status: number;
  at: Date;
  /** The client closed the connection before the answer was sent (a late answer it never read). */
  clientGaveUp?: boolean;
}

export interface LinkedInToken {
  accessToken: string;
  clientId: string;
  sub: string;
  /** The granted scopes. */
  scopes: string[];
  createdAt: Date;
  expiresAt: Date;
  revoked: boolean;
}

export interface LinkedInPost {
  urn: string;
  author: string;
  /** The request body as parsed (the exact text is `rawBody`). */
  body: PostBody;
  rawBody: string;
  /** The request headers, lower-case, the authorization value redacted. */
  headers: Record<string, string>;
  /** `commentary` as LinkedIn kept it: cut at the first unescaped reserved character. */
  commentary: string;
  /** The text as LinkedIn shows it: `commentary` unescaped. */
  text: string;
  /** The commentary had an unescaped reserved character, so LinkedIn silently cut it there. */
  truncated: boolean;
  /** Hashtag elements (`#` opening a word, unescaped), as LinkedIn links them. */
  hashtags: string[];
  createdAt: Date;
  deleted: boolean;
  deletedAt?: Date;
}

export interface LinkedInImage {
  urn: string;
  owner: string;
  uploadUrl: string;
  uploadUrlExpiresAt: Date;
  /** The bytes of the one PUT; undefined until it arrives. */
  bytes?: Buffer;
  contentType?: string;
  uploadedAt?: Date;
}

export interface LinkedInComment {
  /** `urn:li:comment:({post URN},{id})`. */
  urn: string;
  /** The id answered in `x-restli-id`. */
  id: string;
  postUrn: string;
  actor: string;
  text: string;
  body: CommentBody;
  createdAt: Date;
}

export interface LinkedInFault {
  status: number;
  /** How many calls answer this (default 1). */
  times?: number;
  /** The JSON answered; LinkedIn's body for the status when not given. */
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * The call takes effect before the error is answered (the post, image bytes, comment or token
   * exist): a 5xx LinkedIn answers after doing the work. Default false: nothing happens.
   */
  performed?: boolean;
}

export type PostMetric = 'IMPRESSION' | 'MEMBERS_REACHED' | 'REACTION' | 'COMMENT' | 'RESHARE';
const POST_METRICS: readonly PostMetric[] = [
  'IMPRESSION',
  'MEMBERS_REACHED',
  'REACTION',
  'COMMENT',
  'RESHARE',
];

/** 60 days: member tokens do not refresh (refresh tokens are for approved partners only). */
const TOKEN_LIFETIME_SECONDS = 5_184_000;
const CODE_LIFETIME_MS = 30 * 60_000;
const UPLOAD_URL_LIFETIME_MS = 24 * 3_600_000;
const MAX_JSON_BYTES = 1024 * 1024;
const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;
/** LinkedIn serves each monthly version for at least a year; older ones answer 426. */
const VERSION_LIFETIME_MONTHS = 12;
/** From this version memberCreatorPostAnalytics answers `metricType` as a string, before as an object. */
const STRING_METRIC_TYPE_FROM = 202605;
const METRIC_TYPE_KEY = 'com.linkedin.adsexternalapi.memberanalytics.v1.CreatorPostAnalyticsMetricTypeV1';
/** The "little text" characters that must be backslash-escaped in commentary. */
const RESERVED = new Set(['\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~']);

export const personUrn = (sub: string) => `urn:li:person:${sub}`;

/** An error answer, as LinkedIn words it. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${status}`);
  }
}

/** The REST error body: `{message, serviceErrorCode?, code?, status}`. */
const restRefusal = (
  status: number,
  message: string,
  extra: { serviceErrorCode?: number; code?: string } = {},
) => new Refusal(status, { message, ...extra, status });
const oauthRefusal = (status: number, error: string, description: string) =>
  new Refusal(status, { error, error_description: description });
const accessDenied = (what: string) =>
  restRefusal(403, `Not enough permissions to access: ${what}`, {
    serviceErrorCode: 100,
    code: 'ACCESS_DENIED',
  });
const notFound = (what: string) => restRefusal(404, `${what} not found`, { code: 'NOT_FOUND' });
const tooManyRequests = () =>
  // LinkedIn sends no Retry-After: the client has to back off on its own.
  restRefusal(429, 'Resource level throttle APPLICATION DAY limit for calls to this resource is reached.', {
    serviceErrorCode: 101,
    code: 'TOO_MANY_REQUESTS',
  });
const versionNotActive = (version: string) =>
  restRefusal(426, `Requested version ${version} is not active`, { code: 'NONEXISTENT_VERSION' });
/** What LinkedIn answers for a duplicate, as seen in the wild: the code sits in `errorDetails`. */
const duplicateOf = (urn: string) =>
  new Refusal(422, {
    errorDetailType: 'com.linkedin.common.error.BadRequest',
    message: `com.linkedin.content.common.exception.BadRequestResponseException: Content is a duplicate of ${urn}`,
    errorDetails: {
      inputErrors: [{ description: 'Duplicate post is detected', input: {}, code: 'DUPLICATE_POST' }],
    },
    status: 422,
  });
const badCode = () =>
  oauthRefusal(
    400,
    'invalid_request',
    'Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired. Or external member binding exists',
  );

const imageUrn = z.string().regex(/^urn:li:image:[A-Za-z0-9_-]+$/, 'must be an image URN (urn:li:image:…)');
const bodies = {
  initializeUpload: z.object({ initializeUploadRequest: z.object({ owner: z.string().min(1) }) }),
  // Strict, as LinkedIn refuses fields it does not know ("Unpermitted fields present").
  createPost: z.strictObject({
    author: z.string().min(1),
    commentary: z.string().max(3000, 'must be at most 3000 characters'),
    visibility: z.literal('PUBLIC'),
    distribution: z.strictObject({
      feedDistribution: z.literal('MAIN_FEED'),
      targetEntities: z.array(z.unknown()).optional(),
      thirdPartyDistributionChannels: z.array(z.unknown()).optional(),
    }),
    lifecycleState: z.literal('PUBLISHED'),
    isReshareDisabledByAuthor: z.boolean().optional(),
    content: z
      .strictObject({
        media: z
          .strictObject({
            id: imageUrn,
            altText: z.string().max(4086).optional(),
            title: z.string().optional(),
          })
          .optional(),
        article: z
          .strictObject({
            source: z.url({ protocol: /^https?$/ }),
            title: z.string().min(1),
            description: z.string().optional(),
            thumbnail: imageUrn.optional(),
            thumbnailAltText: z.string().optional(),
          })
          .optional(),
      })
      .refine((c) => Boolean(c.media) !== Boolean(c.article), 'must have exactly one of media or article')
      .optional(),
  }),
  comment: z.object({
    actor: z.string().min(1),
    object: z.string().min(1),
    message: z.object({ text: z.string().min(1).max(1250, 'must be at most 1250 characters') }),
    parentComment: z.string().optional(),
  }),
};
export type PostBody = z.output<typeof bodies.createPost>;
export type CommentBody = z.output<typeof bodies.comment>;

/** Reads a JSON body against its schema, with LinkedIn's 400 and 422 wording. */
function parseBody<S extends z.ZodType>(schema: S, raw: Buffer): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw restRefusal(400, 'Unable to parse the request body as JSON');
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const at = (path: readonly PropertyKey[]) => `/${path.map(String).join('/')}`;
  if (issue?.code === 'unrecognized_keys') {
    const fields = issue.keys.map((key) => at([...issue.path, key])).join(', ');
    throw restRefusal(
      422,
      `Unpermitted fields present in REQUEST_BODY: Data Processing Exception while processing fields [${fields}]`,
    );
  }
  throw restRefusal(422, `ERROR :: ${at(issue?.path ?? [])} :: ${issue?.message ?? 'invalid'}`);
}

/**
 * Reads commentary as LinkedIn's little-text parser does: a backslash escapes the next reserved
 * character; `#` opening a word (a letter after it) is a hashtag element, kept with its tag; any other
 * unescaped reserved character (a lone backslash included) ends the post there, silently.
 */
function readLittleText(commentary: string): { text: string; cutAt: number | undefined; hashtags: string[] } {
  let text = '';
  const hashtags: string[] = [];
  for (let i = 0; i < commentary.length; i++) {
    const ch = commentary.charAt(i);
    if (ch === '\\') {
      const next = commentary.charAt(i + 1);
      if (!RESERVED.has(next)) return { text, cutAt: i, hashtags };
      text += next;
      i++;
    } else if (ch === '#' && /^\p{L}/u.test(commentary.slice(i + 1))) {
      const tag = /^[\p{L}\p{N}]+/u.exec(commentary.slice(i + 1))?.[0] ?? '';
      hashtags.push(tag);
      text += `#${tag}`;
      i += tag.length;
    } else if (RESERVED.has(ch)) {
      return { text, cutAt: i, hashtags };
    } else {
      text += ch;
    }
  }
  return { text, cutAt: undefined, hashtags };
}

/** `YYYYMM` (or `YYYYMM.RR`) as a month count, undefined when malformed. */
function versionMonth(version: string): number | undefined {
  const match = /^(\d{4})(0[1-9]|1[0-2])(?:\.\d{2})?$/.exec(version);
  return match ? Number(match[1]) * 12 + Number(match[2]) - 1 : undefined;
}

/** A JWT-shaped id_token (HS256 with the client secret: LinkedIn signs RS256 with its own keys). */
function idToken(member: LinkedInMember, clientId: string, clientSecret: string, now: Date): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const iat = Math.floor(now.getTime() / 1000);
  const head = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({
    iss: 'https://www.linkedin.com/oauth',
    aud: clientId,
    iat,
    exp: iat + 3600,
    sub: member.sub,
    name: member.name,
    given_name: member.given_name,
    family_name: member.family_name,
    ...(member.picture && { picture: member.picture }),
    ...(member.email && { email: member.email, email_verified: member.email_verified ?? true }),
    locale: member.locale,
  })}`;
  return `${head}.${createHmac('sha256', clientSecret).update(head).digest('base64url')}`;
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

interface Answer {
  status: number;
  /** Undefined: an empty body, as LinkedIn answers a created post. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** One request being handled: what the checks before the route found. */
interface Exchange {
  req: IncomingMessage;
  url: URL;
  body: Buffer;
  /** Set on routes that take a bearer token. */
  token?: LinkedInToken;
  /** Set on /rest routes: the `LinkedIn-Version` sent. */
  version?: string;
}

/** Checks the request (throwing a Refusal) and returns the effect to carry out: faults go in between. */
type Handler = (x: Exchange, params: string[]) => () => Answer;

interface RouteSpec {
  method: string;
  pattern: RegExp;
  route: LinkedInRoute;
  /** oauth: client credentials in the form; bearer: a token; rest: a token and the version headers. */
  guard: 'none' | 'bearer' | 'rest';
  maxBytes: number;
  handler: Handler;
}

export class LinkedInServer {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly posts: LinkedInPost[] = [];
  readonly images = new Map<string, LinkedInImage>();
  readonly comments: LinkedInComment[] = [];
  readonly tokens: LinkedInToken[] = [];
  readonly requests: LinkedInRequest[] = [];
  url = '';
  /** The member at the authorization page refuses: the redirect carries `error=user_cancelled_authorize`. */
  deny = false;
  /** Scopes LinkedIn silently leaves out of the grant (the token's `scope` lacks them). */
  withheldScopes: string[] = [];
  /** Scopes the app may not ask for: the authorization redirects with `unauthorized_scope_error`. */
  unauthorizedScopes: string[] = [];
  /** Versions answered 426 although within the year LinkedIn serves them. */
  sunsetVersions: string[] = [];
  /** A duplicate of a deleted post is still refused, pointing at a URN that 404s (as seen in the wild). */
  duplicatesIncludeDeleted = false;
  /** The member who approves authorizations (a `sub` of `members`). */
  signedInMember: string;
  readonly members: LinkedInMember[];
  private server: Server | undefined;
  private readonly now: () => Date;
  private readonly codes = new Map<
    string,
    { clientId: string; redirectUri: string; sub: string; scopes: string[]; expiresAt: number; used: boolean }
  >();
  private faults: Array<{ route: LinkedInFaultRoute; fault: LinkedInFault; left: number }> = [];
  private slows: Array<{ route: LinkedInFaultRoute; delayMs: number; left: number }> = [];
  private readonly metrics = new Map<string, Partial<Record<PostMetric, number>>>();
  private readonly pending = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private limit: { perSecond: number; burst: number } | undefined;
  private bucket = { tokens: 0, at: 0 };
  private sequence = 0;
  private readonly routes: RouteSpec[];

  constructor(private readonly options: LinkedInServerOptions) {
    this.clientId = options.clientId;
    this.clientSecret = options.clientSecret;
    this.now = options.now ?? (() => new Date());
    this.members = options.members?.length ? [...options.members] : [DEFAULT_MEMBER];
    this.signedInMember = this.members[0]?.sub ?? DEFAULT_MEMBER.sub;
    const json = MAX_JSON_BYTES;
    this.routes = [
      {
        method: 'GET',
        pattern: /^\/oauth\/v2\/authorization$/,
        route: 'authorize',
        guard: 'none',
        maxBytes: json,
        handler: (x) => this.authorize(x),
      },
      {
        method: 'POST',
        pattern: /^\/oauth\/v2\/accessToken$/,
        route: 'token',
        guard: 'none',
        maxBytes: json,
        handler: (x) => this.exchangeCode(x),
      },
      {
        method: 'POST',
        pattern: /^\/oauth\/v2\/introspectToken$/,
        route: 'introspect',
        guard: 'none',
        maxBytes: json,
        handler: (x) => this.introspect(x),
      },
      {
        method: 'GET',
        pattern: /^\/v2\/userinfo$/,
        route: 'userinfo',
        guard: 'bearer',
        maxBytes: json,
        handler: (x) => this.userinfo(x),
      },
      {
        method: 'POST',
        pattern: /^\/rest\/images$/,
        route: 'initializeUpload',
        guard: 'rest',
        maxBytes: json,
        handler: (x) => this.initializeUpload(x),
      },
      {
        method: 'PUT',
        pattern: /^\/upload\/([^/]+)$/,
        route: 'upload',
        guard: 'bearer',
        maxBytes: MAX_UPLOAD_BYTES,
        handler: (x, [id]) => this.upload(x, id ?? ''),
      },
      {
        method: 'POST',
        pattern: /^\/rest\/posts$/,
        route: 'createPost',
        guard: 'rest',
        maxBytes: json,
        handler: (x) => this.createPost(x),
      },
      {
        method: 'GET',
        pattern: /^\/rest\/posts\/([^/]+)$/,
        route: 'getPost',
        guard: 'rest',
        maxBytes: json,
        handler: (x, [key]) => this.getPost(x, key ?? ''),
      },
      {
        method: 'DELETE',
        pattern: /^\/rest\/posts\/([^/]+)$/,
        route: 'deletePost',
        guard: 'rest',
        maxBytes: json,
        handler: (x, [key]) => this.deletePost(x, key ?? ''),
      },
      {
        method: 'POST',
        pattern: /^\/rest\/socialActions\/([^/]+)\/comments$/,
        route: 'comment',
        guard: 'rest',
        maxBytes: json,
        handler: (x, [key]) => this.comment(x, key ?? ''),
      },
      {
        method: 'GET',
        pattern: /^\/rest\/memberCreatorPostAnalytics$/,
        route: 'analytics',
        guard: 'rest',
        maxBytes: json,
        handler: (x) => this.analytics(x),
      },
    ];
  }

  /** createPost calls allowed per second (a token bucket of `burst`, default `perSecond`); over it, 429. */
  get rateLimit(): { perSecond: number; burst?: number } | undefined {
    return this.limit;
  }
  set rateLimit(limit: { perSecond: number; burst?: number } | undefined) {
    if (limit && !(limit.perSecond > 0))
      throw new Error(`rateLimit.perSecond must be > 0, not ${limit.perSecond}.`);
    this.limit = limit && { perSecond: limit.perSecond, burst: limit.burst ?? limit.perSecond };
    this.bucket = { tokens: this.limit?.burst ?? 0, at: performance.now() };
  }

  async listen(): Promise<this> {
    const { server, host, port } = await listenHttp((req, res) => this.handle(req, res), this.options);
    this.server = server;
    this.url = `http://${host}:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    // Late answers still waiting are released: their connections are closed below.
    for (const wait of this.pending) {
      clearTimeout(wait.timer);
      wait.resolve();
    }
    this.pending.clear();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A token as if the member had connected (default: the signed-in member, the default scopes). */
  issueToken(options: { sub?: string; scopes?: string[]; expiresInSeconds?: number } = {}): string {
    const member = this.member(options.sub ?? this.signedInMember);
    return this.issue(
      member.sub,
      options.scopes ?? ['openid', 'profile', 'w_member_social'],
      options.expiresInSeconds,
    ).accessToken;
  }

  /** The member revokes the app: the token answers 401 REVOKED_ACCESS_TOKEN and introspects as revoked. */
  revoke(accessToken: string): void {
    const token = this.tokens.find((t) => t.accessToken === accessToken);
    if (!token) throw new Error('revoke: this server did not issue that token.');
    token.revoked = true;
  }

  /** A post published outside the app (by hand, or before it), so comments and analytics can find it. */
  addPost(options: { commentary: string; sub?: string }): LinkedInPost {
    const author = personUrn(this.member(options.sub ?? this.signedInMember).sub);
    const body: PostBody = {
      author,
      commentary: options.commentary,
      visibility: 'PUBLIC',
      distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
      lifecycleState: 'PUBLISHED',
      isReshareDisabledByAuthor: false,
    };
    return this.storePost(body, JSON.stringify(body), {});
  }

  /** Fixes some analytics counts of a post (the others stay derived from its URN). */
  setMetrics(urn: string, counts: Partial<Record<PostMetric, number>>): void {
    this.metrics.set(urn, { ...this.metrics.get(urn), ...counts });
  }

  /**
   * The next `times` (default 1) calls of `route` answer this error once their token, headers and body
   * have passed the checks; with `performed`, after the call took effect.
   */
  fault(route: LinkedInFaultRoute, fault: LinkedInFault): void {
    this.knownRoute(route, 'fault');
    this.faults.push({ route, fault, left: this.times(fault.times, 'fault') });
  }

  /** The next `times` (default 1) successful calls of `route` take effect at once but answer after `delayMs`. */
  slow(route: LinkedInFaultRoute, options: { delayMs: number; times?: number }): void {
    this.knownRoute(route, 'slow');
    if (!(options.delayMs >= 0)) throw new Error(`slow: delayMs must be ≥ 0, not ${options.delayMs}.`);
    this.slows.push({ route, delayMs: options.delayMs, left: this.times(options.times, 'slow') });
  }

  /** The post is created (URN assigned, visible in `posts`) but answered only after `delayMs`. */
  slowCreate(options: { delayMs: number; times?: number }): void {
    this.slow('createPost', options);
  }

  clearFaults(): void {
    this.faults = [];
    this.slows = [];
  }

  /** Forgets every post, image, comment, token, code, request and fault, and the switches set since start. */
  reset(): void {
    this.posts.length = 0;
    this.images.clear();
    this.comments.length = 0;
    this.tokens.length = 0;
    this.requests.length = 0;
    this.codes.clear();
    this.metrics.clear();
    this.clearFaults();
    this.deny = false;
    this.withheldScopes = [];
    this.unauthorizedScopes = [];
    this.sunsetVersions = [];
    this.duplicatesIncludeDeleted = false;
    this.signedInMember = this.members[0]?.sub ?? DEFAULT_MEMBER.sub;
    this.rateLimit = undefined;
  }

  // --- Dispatch --------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const method = (req.method ?? 'GET').toUpperCase();
    const spec = this.routes.find((r) => r.method === method && r.pattern.test(url.pathname));
    const entry: LinkedInRequest = {
      method,
      path: url.pathname,
      route: spec?.route,
      status: 0,
      at: this.now(),
    };
    this.requests.push(entry);
    res.on('close', () => {
      if (!res.writableFinished) entry.clientGaveUp = true;
    });
    let answer: Answer;
    try {
      if (!spec) throw restRefusal(404, `No resource for ${method} ${url.pathname}`, { code: 'NOT_FOUND' });
      answer = await this.run(spec, req, url);
    } catch (error) {
      answer =
        error instanceof Refusal
          ? { status: error.status, body: error.body, headers: error.headers }
          : { status: 500, body: { message: `Local server error: ${String(error)}`, status: 500 } };
    }
    entry.status = answer.status;
    this.options.onRequest?.(entry);
    if (res.destroyed) return;
    if (answer.body === undefined) {
      res.writeHead(answer.status, { 'content-length': '0', ...answer.headers });
      res.end();
    } else {
      sendJson(res, answer.status, answer.body, answer.headers);
    }
  }

  private async run(spec: RouteSpec, req: IncomingMessage, url: URL): Promise<Answer> {
    let body: Buffer;
    try {
      body = await readBodyBytes(req, spec.maxBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      throw restRefusal(413, `The request body is larger than ${spec.maxBytes} bytes`);
    }
    const x: Exchange = { req, url, body };
    if (spec.guard !== 'none') x.token = this.bearer(req);
    if (spec.guard === 'rest') x.version = this.checkRestHeaders(req);
    if (spec.route === 'createPost') this.takeRateToken();

    const params = spec.pattern.exec(url.pathname)?.slice(1) ?? [];
    const effect = spec.handler(x, params);
    const fault = spec.route === 'authorize' ? undefined : this.take(this.faults, spec.route);
    if (fault && !fault.fault.performed) throw this.faultRefusal(spec.route, fault.fault, x);
    const answer = effect();
    if (fault) throw this.faultRefusal(spec.route, fault.fault, x);
    const slow = spec.route === 'authorize' ? undefined : this.take(this.slows, spec.route);
    if (slow) await this.sleep(slow.delayMs);
    return answer;
  }

  /** The first pending entry for `route`, counted down. */
  private take<T extends { route: LinkedInFaultRoute; left: number }>(
    list: T[],
    route: LinkedInRoute,
  ): T | undefined {
    const found = list.find((f) => f.route === route && f.left > 0);
    if (found) found.left--;
    return found;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wait = {
        timer: setTimeout(() => {
          this.pending.delete(wait);
          resolve();
        }, ms),
        resolve,
      };
      this.pending.add(wait);
    });
  }

  /** `Authorization: Bearer <token this server issued>`, neither revoked nor expired. */
  private bearer(req: IncomingMessage): LinkedInToken {
    const header = req.headers.authorization;
    if (!header)
      throw restRefusal(401, 'Empty oauth2 access token', {
        serviceErrorCode: 65604,
        code: 'EMPTY_ACCESS_TOKEN',
      });
    const value = /^Bearer (\S+)$/i.exec(header)?.[1];
    const token = value === undefined ? undefined : this.tokens.find((t) => t.accessToken === value);
    if (!token)
      throw restRefusal(401, 'Invalid access token', {
        serviceErrorCode: 65600,
        code: 'INVALID_ACCESS_TOKEN',
      });
    if (token.revoked) {
      throw restRefusal(401, 'The token used in the request has been revoked by the user', {
        serviceErrorCode: 65601,
        code: 'REVOKED_ACCESS_TOKEN',
      });
    }
    if (this.now() >= token.expiresAt) {
      throw restRefusal(401, 'The token used in the request has expired', {
        serviceErrorCode: 65602,
        code: 'EXPIRED_ACCESS_TOKEN',
      });
    }
    return token;
  }

  /** `LinkedIn-Version` within the year served and `X-Restli-Protocol-Version: 2.0.0`; returns the version. */
  private checkRestHeaders(req: IncomingMessage): string {
    const version = req.headers['linkedin-version'];
    if (typeof version !== 'string' || !version) {
      throw restRefusal(
        400,
        'A version must be present. Please specify a version by adding the LinkedIn-Version header.',
        { code: 'VERSION_MISSING' },
      );
    }
    const month = versionMonth(version);
    if (month === undefined) {
      throw restRefusal(400, `Invalid version format ${version}: expected YYYYMM`, {
        code: 'VERSION_INVALID',
      });
    }
    const now = this.now();
    const current = now.getUTCFullYear() * 12 + now.getUTCMonth();
    const active = month <= current && month >= current - VERSION_LIFETIME_MONTHS;
    if (!active || this.sunsetVersions.includes(version)) throw versionNotActive(version);
    if (req.headers['x-restli-protocol-version'] !== '2.0.0') {
      throw restRefusal(400, 'X-Restli-Protocol-Version must be 2.0.0 for this resource', {
        code: 'INVALID_PROTOCOL_VERSION',
      });
    }
    return version;
  }

  private takeRateToken(): void {
    const limit = this.limit;
    if (!limit) return;
    // Real time, not `now()`: the limit is a throughput, and tests often freeze `now`.
    const at = performance.now();
    const refill = ((at - this.bucket.at) / 1000) * limit.perSecond;
    this.bucket = { tokens: Math.min(limit.burst, this.bucket.tokens + refill), at };
    if (this.bucket.tokens < 1) throw tooManyRequests();
    this.bucket.tokens--;
  }

  private faultRefusal(route: LinkedInRoute, fault: LinkedInFault, x: Exchange): Refusal {
    return new Refusal(fault.status, fault.body ?? this.faultBody(route, fault.status, x), fault.headers);
  }

  /** LinkedIn's body for an injected status. */
  private faultBody(route: LinkedInRoute, status: number, x: Exchange): unknown {
    if (route === 'token' || route === 'introspect') {
      if (status === 401)
        return { error: 'invalid_client', error_description: 'Client authentication failed' };
      if (status < 500) return { error: 'invalid_request', error_description: 'Injected failure' };
      return { error: 'server_error', error_description: 'Injected failure' };
    }
    if (status === 401) {
      return {
        message: 'Invalid access token',
        serviceErrorCode: 65600,
        code: 'INVALID_ACCESS_TOKEN',
        status,
      };
    }
    if (status === 403) return accessDenied(`${route} (injected)`).body;
    if (status === 422 && route === 'createPost') {
      // The latest post of this member, else a URN that never existed (a "ghost", as composio#2710 saw).
      const author = x.token && personUrn(x.token.sub);
      const latest = this.posts.filter((p) => p.author === author).at(-1);
      return duplicateOf(latest?.urn ?? this.nextShareUrn()).body;
    }
    if (status === 426) return versionNotActive(x.version ?? 'unknown').body;
    if (status === 429) return tooManyRequests().body;
    if (status >= 500) return { message: 'Internal Server Error', status };
    return { message: `Injected failure ${status}`, status };
  }

  // --- OAuth -----------------------------------------------------------------------------------

  private authorize({ url }: Exchange): () => Answer {
    const q = url.searchParams;
    if (q.get('client_id') !== this.clientId) {
      throw oauthRefusal(400, 'invalid_request', 'The passed in client_id is invalid');
    }
    const redirectUri = q.get('redirect_uri') ?? '';
    let target: URL;
    try {
      target = new URL(redirectUri);
    } catch {
      throw oauthRefusal(400, 'invalid_request', 'The redirect_uri is missing or not an absolute URL');
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:') {
      throw oauthRefusal(400, 'invalid_request', 'The redirect_uri must be an http(s) URL');
    }
    if (this.options.redirectUris && !this.options.redirectUris.includes(redirectUri)) {
      throw oauthRefusal(400, 'invalid_request', 'The redirect_uri does not match the registered value');
    }
    // From here the redirect URL is trusted: errors go back to the app, with its state.
    const state = q.get('state');
    const redirect = (params: Record<string, string>): Answer => {
      for (const [key, value] of Object.entries(params)) target.searchParams.set(key, value);
      if (state !== null) target.searchParams.set('state', state);
      return { status: 302, headers: { location: target.toString() } };
    };
    const fail = (error: string, description: string) => () =>
      redirect({ error, error_description: description });
    if (q.get('response_type') !== 'code')
      return fail('unsupported_response_type', 'response_type must be code');
    const scope = q.get('scope') ?? '';
    if (!scope.trim()) return fail('invalid_scope', 'A scope is required');
    if (scope.includes(',')) return fail('invalid_scope', 'Scopes must be separated by spaces, not commas');
    const requested = scope.split(' ').filter(Boolean);
    const unauthorized = requested.find((s) => this.unauthorizedScopes.includes(s));
    if (unauthorized) {
      return fail(
        'unauthorized_scope_error',
        `Scope "${unauthorized}" is not authorized for your application`,
      );
    }
    if (this.deny) return fail('user_cancelled_authorize', 'The user cancelled the authorization');
    const sub = this.member(this.signedInMember).sub;
    return () => {
      const code = `AQ${randomBytes(48).toString('base64url')}`;
      this.codes.set(code, {
        clientId: this.clientId,
        redirectUri,
        sub,
        scopes: requested.filter((s) => !this.withheldScopes.includes(s)),
        expiresAt: this.now().getTime() + CODE_LIFETIME_MS,
        used: false,
      });
      return redirect({ code });
    };
  }

  /** The form of an OAuth call, with the client authenticated. */
  private oauthForm(x: Exchange): URLSearchParams {
    if (!/^application\/x-www-form-urlencoded\b/.test(x.req.headers['content-type'] ?? '')) {
      throw oauthRefusal(400, 'invalid_request', 'The body must be application/x-www-form-urlencoded');
    }
    const form = new URLSearchParams(x.body.toString('utf8'));
    for (const field of ['client_id', 'client_secret']) {
      if (!form.get(field))
        throw oauthRefusal(400, 'invalid_request', `A required parameter "${field}" is missing`);
    }
    if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret) {
      throw oauthRefusal(401, 'invalid_client', 'Client authentication failed');
    }
    return form;
  }

  private exchangeCode(x: Exchange): () => Answer {
    const form = this.oauthForm(x);
    const grantType = form.get('grant_type');
    if (!grantType)
      throw oauthRefusal(400, 'invalid_request', 'A required parameter "grant_type" is missing');
    if (grantType !== 'authorization_code') {
      throw oauthRefusal(
        400,
        'unsupported_grant_type',
        `The grant_type ${grantType} is not supported for this app`,
      );
    }
    for (const field of ['code', 'redirect_uri']) {
      if (!form.get(field))
        throw oauthRefusal(400, 'invalid_request', `A required parameter "${field}" is missing`);
    }
    const grant = this.codes.get(form.get('code') ?? '');
    const valid =
      grant &&
      !grant.used &&
      grant.expiresAt > this.now().getTime() &&
      grant.clientId === form.get('client_id') &&
      grant.redirectUri === form.get('redirect_uri');
    if (!grant || !valid) throw badCode();
    return () => {
      grant.used = true;
      const token = this.issue(grant.sub, grant.scopes);
      return {
        status: 200,
        body: {
          access_token: token.accessToken,
          expires_in: TOKEN_LIFETIME_SECONDS,
          // LinkedIn lists granted scopes comma-separated, unlike the space-separated request.
          scope: token.scopes.join(','),
          token_type: 'Bearer',
          ...(token.scopes.includes('openid') && {
            id_token: idToken(this.member(grant.sub), this.clientId, this.clientSecret, token.createdAt),
          }),
        },
      };
    };
  }

  private introspect(x: Exchange): () => Answer {
    const form = this.oauthForm(x);
    const value = form.get('token');
    if (!value) throw oauthRefusal(400, 'invalid_request', 'A required parameter "token" is missing');
    return () => {
      const token = this.tokens.find((t) => t.accessToken === value && t.clientId === this.clientId);
      if (!token) return { status: 200, body: { active: false } };
      const status = token.revoked ? 'revoked' : this.now() >= token.expiresAt ? 'expired' : 'active';
      return {
        status: 200,
        body: {
          active: status === 'active',
          client_id: token.clientId,
          authorized_at: seconds(token.createdAt),
          created_at: seconds(token.createdAt),
          status,
          expires_at: seconds(token.expiresAt),
          scope: token.scopes.join(','),
          auth_type: '3L',
        },
      };
    };
  }

  private userinfo({ token }: Exchange): () => Answer {
    const { scopes, sub } = this.tokenOf(token);
    if (!scopes.includes('openid')) throw accessDenied('userinfo.GET.NO_VERSION');
    const member = this.member(sub);
    return () => ({
      status: 200,
      body: {
        sub: member.sub,
        // As LinkedIn: the name and picture come with `profile`, the address with `email`.
        ...(scopes.includes('profile') && {
          name: member.name,
          given_name: member.given_name,
          family_name: member.family_name,
          ...(member.picture && { picture: member.picture }),
          locale: member.locale,
        }),
        ...(scopes.includes('email') &&
          member.email && { email: member.email, email_verified: member.email_verified ?? true }),
      },
    });
  }

  // --- REST ------------------------------------------------------------------------------------

  private initializeUpload(x: Exchange): () => Answer {
    if (x.url.searchParams.get('action') !== 'initializeUpload') {
      throw restRefusal(400, 'The action parameter must be initializeUpload');
    }
    const token = this.needScope(x, 'w_member_social', 'images.ACTION-initializeUpload');
    const { owner } = parseBody(bodies.initializeUpload, x.body).initializeUploadRequest;
    if (owner !== personUrn(token.sub))
      throw accessDenied(`images.ACTION-initializeUpload for owner ${owner}`);
    return () => {
      const id = `D4E10AQ${randomBytes(9).toString('base64url')}`;
      const expiresAt = new Date(this.now().getTime() + UPLOAD_URL_LIFETIME_MS);
      // The upload token in the query must come back: a client that rebuilds the URL fails, as on LinkedIn.
      const uploadUrl = `${this.url}/upload/${id}?ut=${randomBytes(12).toString('base64url')}`;
      const image: LinkedInImage = {
        urn: `urn:li:image:${id}`,
        owner,
        uploadUrl,
        uploadUrlExpiresAt: expiresAt,
      };
      this.images.set(image.urn, image);
      return {
        status: 200,
        body: { value: { uploadUrlExpiresAt: expiresAt.getTime(), uploadUrl, image: image.urn } },
      };
    };
  }

  private upload(x: Exchange, id: string): () => Answer {
    const image = this.images.get(`urn:li:image:${id}`);
    if (!image || new URL(image.uploadUrl).search !== x.url.search) throw notFound('Upload URL');
    if (personUrn(this.tokenOf(x.token).sub) !== image.owner) throw accessDenied('upload for another owner');
    if (image.bytes) throw restRefusal(400, 'An upload was already received for this URL');
    if (this.now() >= image.uploadUrlExpiresAt) throw restRefusal(400, 'The upload URL has expired');
    if (x.body.length === 0) throw restRefusal(400, 'The upload is empty');
    const contentType = x.req.headers['content-type'];
    return () => {
      image.bytes = x.body;
      if (contentType) image.contentType = contentType;
      image.uploadedAt = this.now();
      return { status: 201 };
    };
  }

  private createPost(x: Exchange): () => Answer {
    const token = this.needScope(x, 'w_member_social', 'posts.CREATE');
    if (!/^application\/json\b/.test(x.req.headers['content-type'] ?? '')) {
      throw restRefusal(400, 'The Content-Type must be application/json');
    }
    const body = parseBody(bodies.createPost, x.body);
    if (body.author !== personUrn(token.sub)) throw accessDenied(`posts.CREATE as ${body.author}`);
    const { media, article } = body.content ?? {};
    for (const urn of [media?.id, article?.thumbnail]) {
      if (urn === undefined) continue;
      const image = this.images.get(urn);
      if (!image?.bytes) throw restRefusal(400, `The image ${urn} has not been uploaded`);
      if (image.owner !== body.author) throw restRefusal(400, `The image ${urn} belongs to another owner`);
    }
    const duplicate = this.posts.find(
      (p) =>
        p.author === body.author &&
        p.body.commentary === body.commentary &&
        (!p.deleted || this.duplicatesIncludeDeleted),
    );
    if (duplicate) throw duplicateOf(duplicate.urn);
    return () => {
      const post = this.storePost(body, x.body.toString('utf8'), this.headerSnapshot(x.req));
      return { status: 201, headers: { 'x-restli-id': post.urn, 'x-linkedin-id': post.urn } };
    };
  }

  private storePost(body: PostBody, rawBody: string, headers: Record<string, string>): LinkedInPost {
    const { text, cutAt, hashtags } = readLittleText(body.commentary);
    const post: LinkedInPost = {
      urn: this.nextShareUrn(),
      author: body.author,
      body,
      rawBody,
      headers,
      commentary: cutAt === undefined ? body.commentary : body.commentary.slice(0, cutAt),
      text,
      truncated: cutAt !== undefined,
      hashtags,
      createdAt: this.now(),
      deleted: false,
    };
    this.posts.push(post);
    this.options.onPost?.(post);
    return post;
  }

  /** Reading member posts needs the restricted `r_member_social`. */
  private getPost(x: Exchange, key: string): () => Answer {
    const token = this.needScope(x, 'r_member_social', 'posts.GET');
    const post = this.ownPost(token, key, 'posts.GET');
    return () => ({
      status: 200,
      body: {
        ...post.body,
        commentary: post.commentary,
        id: post.urn,
        createdAt: post.createdAt.getTime(),
        lastModifiedAt: post.createdAt.getTime(),
        publishedAt: post.createdAt.getTime(),
      },
    });
  }

  private deletePost(x: Exchange, key: string): () => Answer {
    const token = this.needScope(x, 'w_member_social', 'posts.DELETE');
    const post = this.ownPost(token, key, 'posts.DELETE');
    return () => {
      post.deleted = true;
      post.deletedAt = this.now();
      return { status: 204 };
    };
  }

  private comment(x: Exchange, key: string): () => Answer {
    const token = this.needScope(x, 'w_member_social', 'socialActions.comments.CREATE');
    const postUrn = this.pathUrn(key);
    const body = parseBody(bodies.comment, x.body);
    if (body.actor !== personUrn(token.sub)) throw accessDenied(`comments.CREATE as ${body.actor}`);
    if (body.object !== postUrn) {
      throw restRefusal(400, `The object ${body.object} does not match the URN in the path, ${postUrn}`);
    }
    const post = this.posts.find((p) => p.urn === postUrn && !p.deleted);
    if (!post) throw notFound(`Post ${postUrn}`);
    return () => {
      const id = this.nextId();
      const at = this.now();
      const comment: LinkedInComment = {
        urn: `urn:li:comment:(${postUrn},${id})`,
        id,
        postUrn,
        actor: body.actor,
        text: body.message.text,
        body,
        createdAt: at,
      };
      this.comments.push(comment);
      const stamp = { actor: body.actor, time: at.getTime() };
      return {
        status: 201,
        headers: { 'x-restli-id': id, 'x-linkedin-id': id },
        body: {
          actor: body.actor,
          created: stamp,
          lastModified: stamp,
          id,
          $URN: comment.urn,
          message: { text: body.message.text, attributes: [] },
          object: postUrn,
        },
      };
    };
  }

  private analytics(x: Exchange): () => Answer {
    const token = this.needScope(x, 'r_member_postAnalytics', 'memberCreatorPostAnalytics.FINDER-entity');
    const q = x.url.searchParams;
    if (q.get('q') !== 'entity') throw restRefusal(400, 'The finder must be q=entity');
    const metric = POST_METRICS.find((m) => m === q.get('queryType'));
    if (!metric) throw restRefusal(400, `queryType must be one of ${POST_METRICS.join(', ')}`);
    if (q.get('aggregation') !== 'TOTAL') {
      throw restRefusal(400, 'This local server answers aggregation=TOTAL only');
    }
    // Rest.li 2.0: the URN inside `(share:…)` is itself URL-encoded; the parentheses are not.
    const raw = /(?:^|&)entity=\((share|ugc):([^)&]*)\)/.exec(x.url.search.slice(1));
    if (!raw?.[1] || !raw[2] || raw[2].includes(':')) {
      throw restRefusal(400, 'entity must be (share:<encoded share URN>) or (ugc:<encoded ugcPost URN>)');
    }
    const kind = raw[1];
    const urn = decodeURIComponent(raw[2]);
    const post = this.ownPost(token, encodeURIComponent(urn), 'memberCreatorPostAnalytics.FINDER-entity');
    const version = Number((x.version ?? '').slice(0, 6));
    return () => {
      const count = this.metricCount(post, metric);
      const metricType = version >= STRING_METRIC_TYPE_FROM ? metric : { [METRIC_TYPE_KEY]: metric };
      return {
        status: 200,
        body: {
          paging: { count: 10, start: 0, links: [] },
          elements: [{ count, metricType, targetEntity: { [kind]: urn } }],
        },
      };
    };
  }

  /** Deterministic counts from the URN (COMMENT also counts the comments made here), unless set. */
  private metricCount(post: LinkedInPost, metric: PostMetric): number {
    const set = this.metrics.get(post.urn)?.[metric];
    if (set !== undefined) return set;
    const h = createHash('sha256').update(post.urn).digest();
    const impressions = 200 + (h.readUInt16BE(0) % 1800);
    const counts: Record<PostMetric, number> = {
      IMPRESSION: impressions,
      MEMBERS_REACHED: Math.floor(impressions * (0.55 + (h.readUInt8(2) % 30) / 100)),
      REACTION: Math.floor(impressions / 40) + (h.readUInt8(3) % 10),
      COMMENT: this.comments.filter((c) => c.postUrn === post.urn).length + (h.readUInt8(4) % 4),
      RESHARE: h.readUInt8(5) % 8,
    };
    return counts[metric];
  }

  // --- Helpers ---------------------------------------------------------------------------------

  private tokenOf(token: LinkedInToken | undefined): LinkedInToken {
    if (!token) throw new Error('A bearer route ran without its token.');
    return token;
  }

  private needScope(x: Exchange, scope: string, what: string): LinkedInToken {
    const token = this.tokenOf(x.token);
    if (!token.scopes.includes(scope)) throw accessDenied(`${what}.${x.version ?? ''} (needs ${scope})`);
    return token;
  }

  /** A post URN from a path key, which Rest.li 2.0 wants URL-encoded. */
  private pathUrn(key: string): string {
    let urn: string;
    try {
      urn = decodeURIComponent(key);
    } catch {
      throw restRefusal(400, `Invalid key ${key}`);
    }
    if (key.includes(':') || !/^urn:li:(share|ugcPost):\d+$/.test(urn)) {
      throw restRefusal(400, `Invalid key ${key}: expected a URL-encoded urn:li:share or urn:li:ugcPost URN`);
    }
    return urn;
  }

  /** The member's own post, not deleted: 404 when absent, 403 when another member's. */
  private ownPost(token: LinkedInToken, key: string, what: string): LinkedInPost {
    const urn = this.pathUrn(key);
    const post = this.posts.find((p) => p.urn === urn && !p.deleted);
    if (!post) throw notFound(`Post ${urn}`);
    if (post.author !== personUrn(token.sub)) throw accessDenied(`${what} on another member's post`);
    return post;
  }

  private issue(sub: string, scopes: string[], expiresInSeconds = TOKEN_LIFETIME_SECONDS): LinkedInToken {
    const createdAt = this.now();
    const token: LinkedInToken = {
      accessToken: `AQ${randomBytes(96).toString('base64url')}`,
      clientId: this.clientId,
      sub,
      scopes: [...scopes],
      createdAt,
      expiresAt: new Date(createdAt.getTime() + expiresInSeconds * 1000),
      revoked: false,
    };
    this.tokens.push(token);
    return token;
  }

  private member(sub: string): LinkedInMember {
    const member = this.members.find((m) => m.sub === sub);
    if (!member)
      throw new Error(
        `No member ${sub} on this server (members: ${this.members.map((m) => m.sub).join(', ')}).`,
      );
    return member;
  }

  /** LinkedIn's ids are 19 digits; these count up so the order of creation shows. */
  private nextId(): string {
    this.sequence++;
    return `74${String(this.sequence).padStart(17, '0')}`;
  }

  private nextShareUrn(): string {
    return `urn:li:share:${this.nextId()}`;
  }

  /** The request headers as a post records them; the token never leaves the request. */
  private headerSnapshot(req: IncomingMessage): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    if (headers.authorization) headers.authorization = 'Bearer [redacted]';
    return headers;
  }

  private knownRoute(route: string, what: string): void {
    if (route === 'authorize' || !this.routes.some((r) => r.route === route)) {
      const names = this.routes.map((r) => r.route).filter((r) => r !== 'authorize');
      throw new Error(`${what}: ${route} is not a route failures can be injected on (${names.join(', ')}).`);
    }
  }

  private times(times: number | undefined, what: string): number {
    const count = times ?? 1;
    if (!Number.isInteger(count) || count < 1)
      throw new Error(`${what}: times must be a whole number ≥ 1, not ${count}.`);
    return count;
  }
}

export async function startLinkedInServer(options: LinkedInServerOptions): Promise<LinkedInServer> {
  return new LinkedInServer(options).listen();
}

// --- Organization notifications (webhooks) --------------------------------------------------------

/**
 * The `X-LI-Signature` of a notification: hex HMAC-SHA256, keyed with the app's client secret, of
 * the raw body prefixed by `hmacsha256=` (LinkedIn's "the POST body prefixed by hmacsha256="; the
 * header carries the digest alone).
 */
export function signNotification(body: string, clientSecret: string): string {
  return createHmac('sha256', clientSecret).update(`hmacsha256=${body}`).digest('hex');
}

/** The `challengeResponse` LinkedIn expects for a `challengeCode`: hex HMAC-SHA256 with the client secret. */
export function challengeResponse(challengeCode: string, clientSecret: string): string {
  return createHmac('sha256', clientSecret).update(challengeCode).digest('hex');
}

export interface OrganizationNotification {
  notificationId: number;
  organizationalEntity: string;
  action:
    'LIKE' | 'COMMENT' | 'SHARE' | 'SHARE_MENTION' | 'ADMIN_COMMENT' | 'COMMENT_EDIT' | 'COMMENT_DELETE';
  sourcePost: string;
  lastModifiedAt: number;
  generatedActivity?: string;
  decoratedGeneratedActivity?: {
    comment?: { entity: string; owner: string; text: string; fullText: string };
  };
  subscriber?: string;
}
export interface OrganizationNotificationPayload {
  type: 'ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS';
  notifications: OrganizationNotification[];
}

let notificationSequence = 0;

/**
 * One comment on an organization's post, as LinkedIn pushes it (fields from LinkedIn's
 * OrganizationSocialActionNotification; the values are local). `notificationId` is what receivers
 * deduplicate on: send the same payload twice to test that.
 */
export function commentNotification(options: {
  organization: string;
  postUrn: string;
  commenter: string;
  text: string;
  notificationId?: number;
  at?: Date;
  subscriber?: string;
}): OrganizationNotificationPayload {
  notificationSequence++;
  const commentUrn = `urn:li:comment:(${options.postUrn},${7_500_000_000_000_000 + notificationSequence})`;
  return {
    type: 'ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS',
    notifications: [
      {
        notificationId: options.notificationId ?? 900_000 + notificationSequence,
        organizationalEntity: options.organization,
        action: 'COMMENT',
        sourcePost: options.postUrn,
        lastModifiedAt: (options.at ?? new Date()).getTime(),
        generatedActivity: commentUrn,
        decoratedGeneratedActivity: {
          comment: {
            entity: commentUrn,
            owner: options.commenter,
            text: options.text,
            fullText: options.text,
          },
        },
        ...(options.subscriber && { subscriber: options.subscriber }),
      },
    ],
  };
}

/** POSTs `payload` to `url` signed as LinkedIn does; the body is exactly `JSON.stringify(payload)`. */
export async function sendNotification(
  url: string,
  payload: unknown,
  options: { clientSecret: string; fetch?: typeof fetch },
): Promise<Response> {
  const body = JSON.stringify(payload);
  return (options.fetch ?? fetch)(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-li-signature': signNotification(body, options.clientSecret),
    },
    body,
  });
}

/**
 * LinkedIn's webhook validation: `GET url?challengeCode=<uuid>`, which must answer 200 JSON
 * `{challengeCode, challengeResponse}` with the right HMAC (LinkedIn re-checks every 2 hours).
 */
export async function sendChallenge(
  url: string,
  options: { clientSecret: string; fetch?: typeof fetch; challengeCode?: string },
): Promise<{ status: number; valid: boolean; answer: unknown }> {
  const challengeCode = options.challengeCode ?? randomUUID();
  const target = new URL(url);
  target.searchParams.set('challengeCode', challengeCode);
  const response = await (options.fetch ?? fetch)(target, { method: 'GET' });
  const answer: unknown = await response.json().catch(() => undefined);
  const parsed = z.object({ challengeCode: z.string(), challengeResponse: z.string() }).safeParse(answer);
  const valid =
    response.status === 200 &&
    parsed.success &&
    parsed.data.challengeCode === challengeCode &&
    parsed.data.challengeResponse.toLowerCase() === challengeResponse(challengeCode, options.clientSecret);
  return { status: response.status, valid, answer };
}
