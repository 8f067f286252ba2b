import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { ConflictError, UnavailableError } from '../platform/errors';
import { appCredential } from '../platform/identity';
import { createRedactor } from '../platform/redact';
import type { StorageClients } from '../platform/storage';
import { TABLES } from '../platform/storageNames';
import { acsProvider } from './acsProvider';
import { readDeliveryReport, REPORTED_STATUS } from './deliveryReport';
import { validateEmail, validateKey, type OutgoingEmail } from './message';
import { type EmailProvider, type SendOutcome } from './provider';
import { SendStore, type SendRecord, type StoredRecord } from './sendStore';
import type { EmailSettings } from './settings';
import { smtpProvider } from './smtpProvider';
import { errorSummary } from '../platform/errors';

export { emailSettings, type EmailSettings } from './settings';
export type { OutgoingEmail } from './message';
export type { SendRecord, SendStatus } from './sendStore';

/**
 * A record left `sending` for less than this may be another caller's send in progress (the longest
 * a send takes: ACS 30 s request + 60 s polling; SMTP's connect, greeting and socket timeouts).
 * Older, it was interrupted: ACS is asked what became of it; for SMTP nobody can tell.
 */
export const SENDING_GRACE_MS = 3 * 60_000;
// Conditional writes lost to another writer before giving up (each loss means someone progressed).
const MAX_RACES = 5;
const DAY_MS = 24 * 60 * 60_000;
const MAX_ERROR_CHARS = 1000;

export interface EmailDependencies {
  settings: EmailSettings;
  storage: StorageClients;
  clock?: () => Date;
  /** The identity for ACS_EMAIL_ENDPOINT (the app's managed identity in Azure). */
  credential?: () => TokenCredential;
}

const NOT_CONFIGURED =
  'Outbound email is not configured: set EMAIL_SENDER and either ACS_EMAIL_ENDPOINT or ' +
  'ACS_EMAIL_CONNECTION_STRING (Azure Communication Services), or SMTP_HOST (SMTP).';

function buildProvider(
  settings: EmailSettings,
  credential: () => TokenCredential,
): EmailProvider | undefined {
  switch (settings.provider) {
    case 'acs':
      return acsProvider({ target: settings.acs, sender: settings.sender, credential });
    case 'smtp':
      return smtpProvider({ target: settings.smtp, sender: settings.sender });
    case 'none':
      return undefined;
  }
}

function secretsOf(settings: EmailSettings): string[] {
  if (settings.provider === 'acs' && settings.acs.kind === 'connectionString') {
    const key = /accesskey=([^;]+)/i.exec(settings.acs.connectionString)?.[1];
    return [settings.acs.connectionString, ...(key ? [key] : [])];
  }
  if (settings.provider === 'smtp' && settings.smtp.auth) return [settings.smtp.auth.password];
  return [];
}

/**
 * Outbound email for every capability: ACS Email or SMTP behind one `send`, exactly once per key.
 * The intent (a `sending` record with a fresh operation id) is stored with a conditional insert
 * before the provider is called, so a retried send finds it and looks the operation up instead of
 * sending again. Delivery reports update the record and suppress bounced recipients.
 */
export function createEmail(deps: EmailDependencies) {
  const { settings } = deps;
  const clock = deps.clock ?? (() => new Date());
  const now = () => clock().toISOString();
  const store = new SendStore(
    deps.storage.table(TABLES.emailSends),
    deps.storage.table(TABLES.emailSuppressions),
  );
  const redact = createRedactor(secretsOf(settings));
  const provider = buildProvider(settings, deps.credential ?? (() => appCredential(undefined)));
  const cleanError = (text: string) => redact(text).slice(0, MAX_ERROR_CHARS);
  // Calls of this instance for one key share one attempt; other instances meet the stored record.
  const inflight = new Map<string, Promise<SendRecord>>();

  /** Applies `change` with a conditional write, re-reading after each lost race. */
  async function update(
    stored: StoredRecord,
    change: (record: SendRecord) => SendRecord | undefined,
  ): Promise<SendRecord> {
    let current: StoredRecord | undefined = stored;
    for (let race = 0; race < MAX_RACES && current; race++) {
      const next = change(current.record);
      if (!next) return current.record;
      const written = await store.replace(current.etag, { ...next, updatedAt: now() });
      if (written) return written.record;
      current = await store.get(stored.record.key);
    }
    throw new ConflictError(`Email ${stored.record.key}: its record kept changing; try again.`);
  }

  /** The outcome of the send of `claimed`, unless a delivery report or another caller got there first. */
  function finish(claimed: StoredRecord, outcome: Partial<SendRecord> & Pick<SendRecord, 'status'>) {
    return update(claimed, (record) => {
      const ours = record.operationId === claimed.record.operationId;
      if (!ours || (record.status !== 'sending' && record.status !== 'uncertain')) return undefined;
      const { error: _previous, ...rest } = record;
      return { ...rest, ...outcome };
    });
  }

  async function activeSuppression(address: string) {
    const found = await store.suppression(address);
    return found && Date.parse(found.until) > clock().getTime() ? found : undefined;
  }

  /** Stores the intent to send (or that the recipient is suppressed): undefined when another caller won. */
  async function claim(message: OutgoingEmail, via: EmailProvider, previous?: StoredRecord) {
    const suppression = await activeSuppression(message.to);
    const at = now();
    const record: SendRecord = {
      key: message.key,
      kind: message.kind,
      to: message.to,
      subject: message.subject,
      provider: via.name,
      operationId: randomUUID(),
      status: suppression ? 'suppressed' : 'sending',
      ...(suppression
        ? {
            error: `Mail to this recipient was ${suppression.reason} (delivery report); not mailed until ${suppression.until}.`,
          }
        : {}),
      createdAt: previous?.record.createdAt ?? at,
      updatedAt: at,
    };
    return previous ? store.replace(previous.etag, record) : store.insert(record);
  }

  async function deliver(message: OutgoingEmail, claimed: StoredRecord, via: EmailProvider) {
    // Only ACS sends delivery reports, and they carry nothing but the operation id.
    if (via.name === 'acs') await store.indexOperation(claimed.record.operationId, message.key);
    const outcome: SendOutcome = await via.send(message, claimed.record.operationId);
    switch (outcome.kind) {
      case 'sent':
        return finish(claimed, {
          status: 'sent',
          ...(outcome.providerMessageId ? { providerMessageId: outcome.providerMessageId } : {}),
        });
      case 'rejected':
        return finish(claimed, { status: 'failed', error: cleanError(outcome.error) });
      case 'uncertain':
        if (via.lookup) {
          // The record stays `sending`: the next send of this key asks ACS about the operation.
          throw new UnavailableError(
            `Email ${message.key}: ${cleanError(outcome.error)}. Sending it again looks operation ` +
              `${claimed.record.operationId} up first; nothing is sent twice.`,
          );
        }
        return finish(claimed, { status: 'uncertain', error: cleanError(outcome.error) });
    }
  }

  /**
   * A record found `sending`: the send crashed before its outcome was recorded, or another caller is
   * sending it now. Returns the final record, or undefined when the caller should read it again.
   */
  async function resolvePending(
    stored: StoredRecord,
    message: OutgoingEmail,
    via: EmailProvider,
  ): Promise<SendRecord | undefined> {
    const { record } = stored;
    const recent = clock().getTime() - Date.parse(record.updatedAt) < SENDING_GRACE_MS;
    if (via.lookup && record.provider === via.name) {
      let found;
      try {
        found = await via.lookup(record.operationId);
      } catch (error) {
        throw new UnavailableError(
          `Email ${record.key}: its earlier send (operation ${record.operationId}) could not be looked up: ${cleanError(errorSummary(error))}`,
        );
      }
      switch (found.kind) {
        case 'sent':
          return finish(stored, {
            status: 'sent',
            ...(found.providerMessageId ? { providerMessageId: found.providerMessageId } : {}),
          });
        case 'failed':
          // Nothing was sent: recorded as failed, the caller's loop then tries again.
          await finish(stored, { status: 'failed', error: cleanError(found.error) });
          return undefined;
        case 'unknown': {
          if (recent) break;
          // ACS never received it: send it now, under the same operation id.
          const reclaimed = await store.replace(stored.etag, { ...record, updatedAt: now() });
          return reclaimed ? deliver(message, reclaimed, via) : undefined;
        }
      }
    } else if (!recent) {
      return finish(stored, {
        status: 'uncertain',
        error: `The send was interrupted before its outcome was recorded; whether ${record.provider.toUpperCase()} sent it is unknown. A person decides.`,
      });
    }
    throw new ConflictError(
      `Email ${record.key} is being sent by another caller (since ${record.updatedAt}); ask again later.`,
    );
  }

  async function sendOnce(message: OutgoingEmail, via: EmailProvider): Promise<SendRecord> {
    for (let race = 0; race < MAX_RACES; race++) {
      const stored = await store.get(message.key);
      if (stored?.record.status === 'sending') {
        const resolved = await resolvePending(stored, message, via);
        if (resolved) return resolved;
        continue;
      }
      // Final records are answers; a failed one may be tried again.
      if (stored && stored.record.status !== 'failed') return stored.record;
      const claimed = await claim(message, via, stored);
      if (!claimed) continue;
      if (claimed.record.status === 'suppressed') return claimed.record;
      return deliver(message, claimed, via);
    }
    throw new ConflictError(`Email ${message.key}: its record kept changing; try again.`);
  }

  return {
    provider: settings.provider,

    /**
     * Sends one email once per `key`: the same key again returns its record and sends nothing.
     * Answers the record: `sent`, `suppressed` (the recipient bounced lately; no provider call),
     * `failed` (provably not sent; sending the key again tries again) or `uncertain` (SMTP broke off
     * mid-transaction; never resent). Throws InvalidInputError naming the field, UnavailableError
     * when no provider is configured or ACS left the outcome open (sending again resolves it), and
     * ConflictError while another caller is sending the same key.
     */
    send: async (input: OutgoingEmail): Promise<SendRecord> => {
      const message = validateEmail(input);
      if (!provider) throw new UnavailableError(NOT_CONFIGURED);
      let attempt = inflight.get(message.key);
      if (!attempt) {
        attempt = sendOnce(message, provider).finally(() => inflight.delete(message.key));
        inflight.set(message.key, attempt);
      }
      return attempt;
    },

    getSend: async (key: string): Promise<SendRecord | undefined> =>
      (await store.get(validateKey(key)))?.record,

    /** True while a bounce or suppression reported for the address is younger than EMAIL_SUPPRESS_DAYS. */
    isSuppressed: async (address: string): Promise<boolean> =>
      (await activeSuppression(address)) !== undefined,

    /**
     * An Event Grid `Microsoft.Communication.EmailDeliveryReportReceived` event: updates the send it
     * reports on (found by operation id) and suppresses a recipient that bounced or is suppressed.
     * Undefined for another event type or an operation this app did not send; InvalidInputError for
     * a malformed event.
     */
    applyDeliveryReport: async (event: unknown): Promise<SendRecord | undefined> => {
      const report = readDeliveryReport(event);
      if (!report) return undefined;
      const key = await store.keyOfOperation(report.operationId);
      const stored = key === undefined ? undefined : await store.get(key);
      // A report on an earlier operation of a key sent again later is history: the record moved on.
      if (!stored || stored.record.operationId !== report.operationId) return undefined;
      const status = REPORTED_STATUS[report.status];
      const detail = report.statusMessage ? `${report.status}: ${report.statusMessage}` : report.status;
      const updated = await update(stored, (record) => ({
        ...record,
        ...(status ? { status } : {}),
        deliveryDetail: detail.slice(0, MAX_ERROR_CHARS),
        providerMessageId: record.providerMessageId ?? report.operationId,
      }));
      if ((status === 'bounced' || status === 'suppressed') && settings.suppressDays > 0) {
        await store.suppress({
          address: updated.to,
          reason: status,
          until: new Date(clock().getTime() + settings.suppressDays * DAY_MS).toISOString(),
          operationId: report.operationId,
        });
      }
      return updated;
    },

    /** Closes the SMTP connection pool (tests, the CLI); the Functions host never needs it. */
    close: (): Promise<void> => provider?.close() ?? Promise.resolve(),
  };
}

export type Email = ReturnType<typeof createEmail>;
