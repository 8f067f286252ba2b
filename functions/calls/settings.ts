import { z } from 'zod';
import { defineSettings, optionalText, wholeNumber } from '../platform/settings';

export interface LiveKitTarget {
  /** What clients connect to (`wss://<project>.livekit.cloud`), handed out with each token. */
  wsUrl: string;
  /** The same host over http(s): the server API the backend calls. */
  apiUrl: string;
  apiKey: string;
  apiSecret: string;
}

export interface CallsSettings {
  /** Undefined when LIVEKIT_URL is unset: tokens, dispatch and transfer then answer 503. */
  livekit: LiveKitTarget | undefined;
  agentName: string;
  tokenTtlMinutes: number;
  sipTrunkId: string | undefined;
  transferTo: string | undefined;
  maxVerifyAttempts: number;
}

const DEFAULT_AGENT = 'insurance-agent';

const livekitUrl = optionalText.pipe(
  z
    .string()
    .regex(
      /^wss?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/i,
      'must be a ws:// or wss:// URL (wss://<project>.livekit.cloud)',
    )
    .optional(),
);

const transferTarget = optionalText.pipe(
  z
    .string()
    .regex(/^(tel:\+?[0-9]{3,20}|sip:[^\s@]+@[^\s@]+)$/i, 'must be tel:+33… or sip:user@host')
    .optional(),
);

/** LiveKit's API is the WebSocket host over http(s). */
export function livekitApiUrl(wsUrl: string): string {
  return wsUrl.replace(/^ws(s?):\/\//i, 'http$1://').replace(/\/+$/, '');
}

export const callsSettings = defineSettings({
  entries: {
    LIVEKIT_URL: {
      schema: livekitUrl,
      required: 'for calls',
      doc: 'LiveKit server WebSocket URL (`wss://<project>.livekit.cloud`; `ws://127.0.0.1:7880` for `npm run livekit:local`). The backend calls its API on the same host over https (http for `ws://`). Unset: token, outbound and transfer routes answer 503.',
    },
    LIVEKIT_API_KEY: {
      schema: optionalText,
      required: 'with `LIVEKIT_URL`',
      doc: 'LiveKit API key: signs call tokens and server API calls, and identifies webhook senders.',
    },
    LIVEKIT_API_SECRET: {
      schema: optionalText,
      secret: true,
      required: 'with `LIVEKIT_URL`',
      doc: 'LiveKit API secret (signs tokens, verifies webhooks).',
    },
    CALLS_AGENT_NAME: {
      schema: optionalText.pipe(
        z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be letters, digits, - and _ (64 at most)')
          .optional(),
      ),
      default: `\`${DEFAULT_AGENT}\``,
      doc: 'The voice agent dispatched into every call room (explicit dispatch); the only `agent_name` a client may ask for.',
    },
    CALLS_TOKEN_TTL_MINUTES: {
      schema: wholeNumber(1, 24 * 60, 'minutes'),
      default: '`15`',
      doc: 'Lifetime of a caller token: the time a client has to join.',
    },
    CALLS_SIP_TRUNK_ID: {
      schema: optionalText,
      required: 'for outbound calls',
      doc: 'LiveKit outbound SIP trunk (`ST_…`) the agent dials through for `POST /api/calls/outbound`.',
    },
    CALLS_TRANSFER_TO: {
      schema: transferTarget,
      required: 'for transfers',
      doc: 'The human desk a caller is transferred to (`tel:+33…` or `sip:desk@pbx.example`).',
    },
    CALLS_MAX_VERIFY_ATTEMPTS: {
      schema: wholeNumber(1, 10, 'attempts'),
      default: '`3`',
      doc: 'Failed identity checks after which a call is locked (`423 verification_locked`).',
    },
  },
  refine: (s, issue) => {
    if (!s.LIVEKIT_URL) return;
    if (!s.LIVEKIT_API_KEY) issue('LIVEKIT_API_KEY', 'is required when LIVEKIT_URL is set');
    if (!s.LIVEKIT_API_SECRET) issue('LIVEKIT_API_SECRET', 'is required when LIVEKIT_URL is set');
  },
  build: (s): CallsSettings => ({
    livekit:
      s.LIVEKIT_URL && s.LIVEKIT_API_KEY && s.LIVEKIT_API_SECRET
        ? {
            wsUrl: s.LIVEKIT_URL,
            apiUrl: livekitApiUrl(s.LIVEKIT_URL),
            apiKey: s.LIVEKIT_API_KEY,
            apiSecret: s.LIVEKIT_API_SECRET,
          }
        : undefined,
    agentName: s.CALLS_AGENT_NAME ?? DEFAULT_AGENT,
    tokenTtlMinutes: s.CALLS_TOKEN_TTL_MINUTES ?? 15,
    sipTrunkId: s.CALLS_SIP_TRUNK_ID,
    transferTo: s.CALLS_TRANSFER_TO,
    maxVerifyAttempts: s.CALLS_MAX_VERIFY_ATTEMPTS ?? 3,
  }),
});
