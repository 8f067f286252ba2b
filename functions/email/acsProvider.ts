import { EmailClient, type EmailMessage } from '@azure/communication-email';
import { isRestError } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import { bracketed, type OutgoingEmail } from './message';
import { type EmailProvider, type LookupOutcome, type SendOutcome } from './provider';
import { acsEndpointOf, type AcsTarget } from './settings';
import { errorSummary } from '../platform/errors';

/** The REST API version of `@azure/communication-email` 1.1 (its default); lookups build URLs with it. */
export const ACS_API_VERSION = '2025-09-01';

export interface AcsProviderOptions {
  target: AcsTarget;
  sender: string;
  credential: () => TokenCredential;
  /** Limit of the send request itself; past it the outcome is uncertain. */
  requestTimeoutMs?: number;
  /** How long a send waits for ACS to finish the operation; past it the mail counts as accepted. */
  pollBudgetMs?: number;
}

// Errors raised before a connection existed: the request never left.
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

// Operation states in which ACS sends nothing.
const NOT_SENT: ReadonlySet<unknown> = new Set(['Failed', 'Canceled']);

interface OperationBody {
  status?: unknown;
  error?: { code?: unknown; message?: unknown };
}

function operationError(body: OperationBody | undefined): string {
  const status = typeof body?.status === 'string' ? body.status : 'Failed';
  const code = typeof body?.error?.code === 'string' ? body.error.code : status;
  const message = typeof body?.error?.message === 'string' ? body.error.message : 'no detail';
  return `ACS operation failed: ${code}: ${message}`;
}

/** The caller's threading headers in the form mail carries them, with its extra headers. */
function acsHeaders(message: OutgoingEmail): Record<string, string> {
  return {
    ...message.headers,
    ...(message.messageId ? { 'Message-ID': bracketed(message.messageId) } : {}),
    ...(message.inReplyTo ? { 'In-Reply-To': bracketed(message.inReplyTo) } : {}),
    ...(message.references?.length ? { References: message.references.map(bracketed).join(' ') } : {}),
  };
}

/**
 * Azure Communication Services Email through `@azure/communication-email`: a send is a long-running
 * operation whose id (`Operation-Id`) we choose, so a send whose outcome was lost can be looked up.
 */
export function acsProvider(options: AcsProviderOptions): EmailProvider {
  const endpoint = acsEndpointOf(options.target).replace(/\/+$/, '');
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const pollBudgetMs = options.pollBudgetMs ?? 60_000;
  // The SDK's own retries are off: a retried POST after a timeout could send twice, and the
  // two-phase record decides when trying again is safe.
  const clientOptions = {
    allowInsecureConnection: endpoint.startsWith('http://'),
    retryOptions: { maxRetries: 0 },
  };
  let client: EmailClient | undefined;
  const emailClient = () =>
    (client ??=
      options.target.kind === 'connectionString'
        ? new EmailClient(options.target.connectionString, clientOptions)
        : new EmailClient(endpoint, options.credential(), clientOptions));

  return {
    name: 'acs',

    async send(message, operationId): Promise<SendOutcome> {
      const request: EmailMessage = {
        senderAddress: options.sender,
        content: message.html
          ? { subject: message.subject, plainText: message.text, html: message.html }
          : { subject: message.subject, plainText: message.text },
        recipients: { to: [{ address: message.to }] },
        headers: acsHeaders(message),
        disableUserEngagementTracking: true,
      };
      // Whether ACS answered 202 to the POST, and the last operation body polled: an error after
      // acceptance does not mean the mail was not sent.
      let accepted = false;
      let lastPoll: OperationBody | undefined;
      try {
        const poller = await emailClient().beginSend(request, {
          operationId,
          abortSignal: AbortSignal.timeout(requestTimeoutMs),
          onResponse: (response) => {
            if (response.request.method === 'POST' && response.status === 202) accepted = true;
            if (response.request.method === 'GET') lastPoll = response.parsedBody as OperationBody;
          },
        });
        const result = await poller.pollUntilDone({ abortSignal: AbortSignal.timeout(pollBudgetMs) });
        if (result.status === 'Succeeded') return { kind: 'sent', providerMessageId: result.id };
        return { kind: 'rejected', error: operationError(result) };
      } catch (error) {
        if (accepted) {
          return NOT_SENT.has(lastPoll?.status)
            ? { kind: 'rejected', error: operationError(lastPoll) }
            : { kind: 'sent', providerMessageId: operationId };
        }
        if (isRestError(error) && error.statusCode !== undefined) {
          return { kind: 'rejected', error: `ACS answered ${error.statusCode}: ${errorSummary(error)}` };
        }
        if (!isRestError(error) && !(error instanceof Error && error.name === 'AbortError')) {
          // The HTTP client wraps every transport error in a RestError; anything else was raised by
          // a pipeline policy (authentication, serialization) before the request left.
          return { kind: 'rejected', error: `ACS request not sent: ${errorSummary(error)}` };
        }
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'string' && NOT_CONNECTED.has(code)) {
          return { kind: 'rejected', error: `ACS unreachable: ${errorSummary(error)}` };
        }
        return { kind: 'uncertain', error: `ACS did not answer the send: ${errorSummary(error)}` };
      }
    },

    async lookup(operationId): Promise<LookupOutcome> {
      // The SDK resumes a poller from its serialized state (`resumeFrom`, core-lro's
      // `{state: {config}}`): one GET of the operation's status URL through the SDK's pipeline
      // and its authentication, and no new send.
      const resumeFrom = JSON.stringify({
        state: {
          status: 'running',
          config: {
            metadata: { mode: 'OperationLocation' },
            operationLocation: `${endpoint}/emails/operations/${encodeURIComponent(operationId)}?api-version=${ACS_API_VERSION}`,
          },
        },
      });
      const nothing: EmailMessage = {
        senderAddress: options.sender,
        content: { subject: '', plainText: '' },
        recipients: { to: [] },
      };
      let body: OperationBody | undefined;
      try {
        await emailClient().beginSend(nothing, {
          operationId,
          resumeFrom,
          abortSignal: AbortSignal.timeout(requestTimeoutMs),
          onResponse: (response) => {
            body = response.parsedBody as OperationBody;
          },
        });
        return NOT_SENT.has(body?.status)
          ? { kind: 'failed', error: operationError(body) }
          : { kind: 'sent', providerMessageId: operationId };
      } catch (error) {
        if (isRestError(error) && error.statusCode === 404) return { kind: 'unknown' };
        if (NOT_SENT.has(body?.status)) return { kind: 'failed', error: operationError(body) };
        throw error;
      }
    },

    close: () => Promise.resolve(),
  };
}
