import { z } from 'zod';
import {
  defineSettings,
  optionalBoolean,
  optionalEnum,
  optionalText,
  optionalUrl,
  wholeNumber,
} from '../platform/settings';

export const EMAIL_PROVIDERS = ['acs', 'smtp'] as const;
export type EmailProviderName = (typeof EMAIL_PROVIDERS)[number];

/** The Microsoft Entra scope of Azure Communication Services data-plane calls. */
export const ACS_SCOPE = 'https://communication.azure.com//.default';

export type AcsTarget =
  { kind: 'connectionString'; connectionString: string } | { kind: 'identity'; endpoint: string };

export interface SmtpTarget {
  host: string;
  port: number;
  /** True: implicit TLS from the first byte; false: STARTTLS when the server offers it. */
  secure: boolean;
  auth: { user: string; password: string } | undefined;
}

export type EmailSettings =
  | { provider: 'none'; suppressDays: number }
  | { provider: 'acs'; sender: string; acs: AcsTarget; suppressDays: number }
  | { provider: 'smtp'; sender: string; smtp: SmtpTarget; suppressDays: number };

const DEFAULT_SUPPRESS_DAYS = 30;

/** The resource endpoint, from the setting or the connection string's `endpoint=` part. */
export function acsEndpointOf(target: AcsTarget): string {
  if (target.kind === 'identity') return target.endpoint;
  return /endpoint=([^;]+)/i.exec(target.connectionString)?.[1] ?? '';
}

// The SDK's own parse error quotes the whole connection string, key included: the format is checked
// here so that error can never be raised. The key is base64 (it signs requests with HMAC-SHA256).
const acsConnectionString = optionalText.pipe(
  z
    .string()
    .regex(
      /^endpoint=https?:\/\/[^;\s]+;accesskey=[A-Za-z0-9+/]+={0,2}$/i,
      'must be endpoint=https://<resource>.communication.azure.com/;accesskey=<base64 key>',
    )
    .optional(),
);

const emailAddress = optionalText.pipe(z.email({ message: 'must be an email address' }).optional());

interface ProviderInputs {
  EMAIL_PROVIDER?: EmailProviderName | undefined;
  ACS_EMAIL_ENDPOINT?: string | undefined;
  ACS_EMAIL_CONNECTION_STRING?: string | undefined;
  SMTP_HOST?: string | undefined;
}

/** With no EMAIL_PROVIDER, the provider whose settings are present; none when neither is. */
function resolveProvider(s: ProviderInputs): EmailProviderName | 'none' {
  if (s.EMAIL_PROVIDER) return s.EMAIL_PROVIDER;
  if (s.ACS_EMAIL_ENDPOINT || s.ACS_EMAIL_CONNECTION_STRING) return 'acs';
  if (s.SMTP_HOST) return 'smtp';
  return 'none';
}

export const emailSettings = defineSettings({
  entries: {
    EMAIL_PROVIDER: {
      schema: optionalEnum(EMAIL_PROVIDERS),
      default: 'inferred',
      doc: '`acs` (Azure Communication Services Email) or `smtp`. Unset: `acs` when `ACS_EMAIL_ENDPOINT` or `ACS_EMAIL_CONNECTION_STRING` is set, `smtp` when `SMTP_HOST` is, else none (sending answers 503 naming what to set).',
    },
    EMAIL_SENDER: {
      schema: emailAddress,
      required: 'with a provider',
      doc: 'The From address of every outbound email (with ACS, an address of a domain linked to the resource, e.g. `DoNotReply@<id>.azurecomm.net`).',
    },
    ACS_EMAIL_ENDPOINT: {
      schema: optionalUrl,
      required: 'for `acs`¹',
      doc: '`https://<resource>.communication.azure.com`: the app signs in with its managed identity (scope `https://communication.azure.com//.default`).',
    },
    ACS_EMAIL_CONNECTION_STRING: {
      schema: acsConnectionString,
      secret: true,
      required: 'for `acs`¹',
      doc: '`endpoint=https://…;accesskey=…`: access-key (HMAC) authentication instead of the managed identity.',
    },
    SMTP_HOST: { schema: optionalText, required: 'for `smtp`', doc: 'SMTP server (submission).' },
    SMTP_PORT: {
      schema: wholeNumber(1, 65_535, 'port'),
      default: '`587` (`465` with `SMTP_SECURE=true`)',
      doc: 'SMTP port.',
    },
    SMTP_SECURE: {
      schema: optionalBoolean,
      default: '`false`',
      doc: '`true`: implicit TLS (port 465); `false`: plain connection upgraded with STARTTLS when the server offers it.',
    },
    SMTP_USER: { schema: optionalText, doc: 'SMTP user name; unset: no authentication.' },
    SMTP_PASSWORD: {
      schema: optionalText,
      secret: true,
      required: 'with `SMTP_USER`',
      doc: 'SMTP password.',
    },
    EMAIL_SUPPRESS_DAYS: {
      schema: wholeNumber(0, 3650, 'days'),
      default: `\`${DEFAULT_SUPPRESS_DAYS}\``,
      doc: 'A recipient whose mail bounced or was suppressed (ACS delivery report) is not mailed again for this many days; `0` never suppresses.',
    },
  },
  refine: (s, issue) => {
    const provider = resolveProvider(s);
    if (provider === 'none') return;
    const because = s.EMAIL_PROVIDER
      ? `EMAIL_PROVIDER is ${provider}`
      : `a ${provider} provider is configured`;
    if (!s.EMAIL_SENDER) issue('EMAIL_SENDER', `is required when ${because}`);
    if (provider === 'acs') {
      if (!s.ACS_EMAIL_ENDPOINT && !s.ACS_EMAIL_CONNECTION_STRING) {
        issue('ACS_EMAIL_ENDPOINT', 'or ACS_EMAIL_CONNECTION_STRING is required when EMAIL_PROVIDER is acs');
      }
      if (s.ACS_EMAIL_ENDPOINT && s.ACS_EMAIL_CONNECTION_STRING) {
        issue('ACS_EMAIL_CONNECTION_STRING', 'and ACS_EMAIL_ENDPOINT are both set: set only one');
      }
    }
    if (provider === 'smtp') {
      if (!s.SMTP_HOST) issue('SMTP_HOST', 'is required when EMAIL_PROVIDER is smtp');
      if (s.SMTP_USER && !s.SMTP_PASSWORD) issue('SMTP_PASSWORD', 'is required when SMTP_USER is set');
      if (s.SMTP_PASSWORD && !s.SMTP_USER) issue('SMTP_USER', 'is required when SMTP_PASSWORD is set');
    }
  },
  build: (s): EmailSettings => {
    const provider = resolveProvider(s);
    const suppressDays = s.EMAIL_SUPPRESS_DAYS ?? DEFAULT_SUPPRESS_DAYS;
    const sender = s.EMAIL_SENDER ?? '';
    if (provider === 'acs') {
      return {
        provider,
        sender,
        suppressDays,
        acs: s.ACS_EMAIL_CONNECTION_STRING
          ? { kind: 'connectionString', connectionString: s.ACS_EMAIL_CONNECTION_STRING }
          : { kind: 'identity', endpoint: s.ACS_EMAIL_ENDPOINT ?? '' },
      };
    }
    if (provider === 'smtp') {
      const secure = s.SMTP_SECURE === 'true';
      return {
        provider,
        sender,
        suppressDays,
        smtp: {
          host: s.SMTP_HOST ?? '',
          port: s.SMTP_PORT ?? (secure ? 465 : 587),
          secure,
          auth: s.SMTP_USER && s.SMTP_PASSWORD ? { user: s.SMTP_USER, password: s.SMTP_PASSWORD } : undefined,
        },
      };
    }
    return { provider, suppressDays };
  },
});
