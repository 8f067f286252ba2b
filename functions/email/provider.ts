import type { OutgoingEmail } from './message';

/** How one send call to a provider ended, as far as we can know. */
export type SendOutcome =
  /** Accepted by the provider. */
  | { kind: 'sent'; providerMessageId: string | undefined }
  /** Provably not sent (refused connection, an error answer, an SMTP rejection): trying again is safe. */
  | { kind: 'rejected'; error: string }
  /** It may have left: the connection broke or timed out after the message was handed over. */
  | { kind: 'uncertain'; error: string };

/** What the provider knows of an operation id, looked up after a send whose outcome was not recorded. */
export type LookupOutcome =
  | { kind: 'sent'; providerMessageId: string | undefined }
  | { kind: 'failed'; error: string }
  /** The provider never received it. */
  | { kind: 'unknown' };

export interface EmailProvider {
  readonly name: 'acs' | 'smtp';
  send(message: OutgoingEmail, operationId: string): Promise<SendOutcome>;
  /** Present when the provider can look an operation up (ACS); throws when it cannot be reached. */
  lookup?(operationId: string): Promise<LookupOutcome>;
  close(): Promise<void>;
}
