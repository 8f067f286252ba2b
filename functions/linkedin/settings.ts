import { z } from 'zod';
import {
  defineSettings,
  optionalEmail,
  optionalSchedule,
  optionalText,
  optionalUrl,
  wholeNumber,
} from '../platform/settings';

export interface LinkedInSettings {
  /** False without a client id: the LinkedIn routes answer 503 and the timers do nothing. */
  enabled: boolean;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  scopes: string[];
  /** `YYYYMM`, sent as `LinkedIn-Version` on every versioned call. */
  version: string;
  apiUrl: string;
  authUrl: string;
  /** 32 bytes: tokens are stored encrypted with it (AES-256-GCM). */
  tokenKey: Buffer | undefined;
  timezone: string;
  publishSchedule: string;
  timeoutMs: number;
  notifyEmail: string | undefined;
  orgUrn: string | undefined;
}

const DEFAULT_SCOPES = 'openid profile w_member_social';
const DEFAULT_SCHEDULE = '0 * * * * *';

const tokenKey = optionalText.pipe(
  z
    .string()
    .refine(
      (v) => decodeKey(v) !== undefined,
      'must be 32 bytes as base64 (44 characters) or hex (64 characters)',
    )
    .optional(),
);

function decodeKey(text: string): Buffer | undefined {
  const bytes = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  return bytes.length === 32 ? bytes : undefined;
}

const validZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

export const linkedinSettings = defineSettings({
  entries: {
    LINKEDIN_CLIENT_ID: {
      schema: optionalText,
      required: 'for LinkedIn',
      doc: 'Client id of the LinkedIn app (Share on LinkedIn + Sign in with LinkedIn). Unset: the LinkedIn capability is off.',
    },
    LINKEDIN_CLIENT_SECRET: {
      schema: optionalText,
      secret: true,
      required: 'with the client id',
      doc: "The LinkedIn app's client secret (token exchange, introspection, webhook signatures).",
    },
    LINKEDIN_REDIRECT_URI: {
      schema: optionalUrl,
      required: 'with the client id',
      doc: 'The OAuth redirect URL registered in the LinkedIn app: `https://<app>/api/linkedin/callback`.',
    },
    LINKEDIN_SCOPES: {
      schema: optionalText,
      default: `\`${DEFAULT_SCOPES}\``,
      doc: 'Scopes asked for, space-separated. Ask only for what the app has been granted: extra scopes fail the connection.',
    },
    LINKEDIN_VERSION: {
      schema: optionalText.pipe(
        z
          .string()
          .regex(/^20\d{2}(0[1-9]|1[0-2])$/, 'must be YYYYMM')
          .optional(),
      ),
      default: '`202601`',
      doc: '`LinkedIn-Version` of every versioned call (one setting, so no call lags behind); LinkedIn serves a version about a year.',
    },
    LINKEDIN_API_URL: {
      schema: optionalUrl,
      default: '`https://api.linkedin.com`',
      doc: 'LinkedIn API host (the local stand-in for tests: `npm run linkedin:local`).',
    },
    LINKEDIN_AUTH_URL: {
      schema: optionalUrl,
      default: '`https://www.linkedin.com`',
      doc: 'LinkedIn OAuth host.',
    },
    LINKEDIN_TOKEN_KEY: {
      schema: tokenKey,
      secret: true,
      required: 'with the client id',
      doc: 'Key the access tokens are stored encrypted with (AES-256-GCM): 32 bytes as base64 or hex (`openssl rand -base64 32`).',
    },
    LINKEDIN_TIMEZONE: {
      schema: optionalText.pipe(
        z.string().refine(validZone, 'must be an IANA time zone (Europe/Paris)').optional(),
      ),
      default: '`Europe/Paris`',
      doc: 'Time zone of the queue slots and of times shown.',
    },
    LINKEDIN_PUBLISH_SCHEDULE: {
      schema: optionalSchedule,
      default: `\`${DEFAULT_SCHEDULE}\` (every minute)`,
      doc: 'NCRONTAB schedule of the `linkedinPublishDue` timer.',
    },
    LINKEDIN_TIMEOUT_MS: {
      schema: wholeNumber(1000, 120_000, 'milliseconds'),
      default: '`20000`',
      doc: 'Timeout of each LinkedIn call; a post create that times out becomes `unconfirmed`, never retried blindly.',
    },
    LINKEDIN_NOTIFY_EMAIL: {
      schema: optionalEmail,
      doc: 'Who is emailed 7 days and 1 day before an account’s token expires.',
    },
    LINKEDIN_ORG_URN: {
      schema: optionalText.pipe(
        z
          .string()
          .regex(/^urn:li:organization:\d+$/, 'must be urn:li:organization:<id>')
          .optional(),
      ),
      doc: 'Organization page (Community Management API): its comments reach the inbox by webhook.',
    },
  },
  refine: (s, issue) => {
    if (!s.LINKEDIN_CLIENT_ID) return;
    if (!s.LINKEDIN_CLIENT_SECRET)
      issue('LINKEDIN_CLIENT_SECRET', 'is required when LINKEDIN_CLIENT_ID is set');
    if (!s.LINKEDIN_REDIRECT_URI)
      issue('LINKEDIN_REDIRECT_URI', 'is required when LINKEDIN_CLIENT_ID is set');
    if (!s.LINKEDIN_TOKEN_KEY) issue('LINKEDIN_TOKEN_KEY', 'is required when LINKEDIN_CLIENT_ID is set');
  },
  build: (s): LinkedInSettings => ({
    enabled: Boolean(s.LINKEDIN_CLIENT_ID),
    clientId: s.LINKEDIN_CLIENT_ID ?? '',
    clientSecret: s.LINKEDIN_CLIENT_SECRET ?? '',
    redirectUri: s.LINKEDIN_REDIRECT_URI ?? '',
    scopes: (s.LINKEDIN_SCOPES ?? DEFAULT_SCOPES).split(/[\s,]+/).filter(Boolean),
    version: s.LINKEDIN_VERSION ?? '202601',
    apiUrl: (s.LINKEDIN_API_URL ?? 'https://api.linkedin.com').replace(/\/+$/, ''),
    authUrl: (s.LINKEDIN_AUTH_URL ?? 'https://www.linkedin.com').replace(/\/+$/, ''),
    tokenKey: s.LINKEDIN_TOKEN_KEY ? decodeKey(s.LINKEDIN_TOKEN_KEY) : undefined,
    timezone: s.LINKEDIN_TIMEZONE ?? 'Europe/Paris',
    publishSchedule: s.LINKEDIN_PUBLISH_SCHEDULE ?? DEFAULT_SCHEDULE,
    timeoutMs: s.LINKEDIN_TIMEOUT_MS ?? 20_000,
    notifyEmail: s.LINKEDIN_NOTIFY_EMAIL,
    orgUrn: s.LINKEDIN_ORG_URN,
  }),
});
