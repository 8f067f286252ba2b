import { createTransport } from 'nodemailer';
import { bracketed } from './message';
import { type EmailProvider, type SendOutcome } from './provider';
import type { SmtpTarget } from './settings';
import { errorSummary } from '../platform/errors';

export interface SmtpProviderOptions {
  target: SmtpTarget;
  sender: string;
}

// Failures that happen before the message could have been handed over.
const BEFORE_MESSAGE = new Set(['EAUTH', 'ENOAUTH', 'EDNS', 'ETLS']);

/**
 * Whether an SMTP failure provably sent nothing. A 4xx/5xx reply means the server refused the
 * message; so does a failure to connect or to authenticate. Anything else (the connection dropped
 * or timed out during the transaction; nodemailer reports a mid-transaction close as
 * `ECONNECTION`/`CONN`, like a refused connect) may have come after the server took the message.
 */
function provablyNotSent(error: unknown): boolean {
  const { responseCode, code, syscall } = error as {
    responseCode?: unknown;
    code?: unknown;
    syscall?: unknown;
  };
  if (typeof responseCode === 'number' && responseCode >= 400) return true;
  if (typeof code === 'string' && BEFORE_MESSAGE.has(code)) return true;
  return syscall === 'connect' || syscall === 'getaddrinfo';
}

/** SMTP submission through nodemailer's pooled transport: one recipient, the caller's headers. */
export function smtpProvider(options: SmtpProviderOptions): EmailProvider {
  const { target } = options;
  let transport: ReturnType<typeof createTransport> | undefined;
  const transporter = () =>
    (transport ??= createTransport({
      pool: true,
      host: target.host,
      port: target.port,
      secure: target.secure,
      ...(target.auth ? { auth: { user: target.auth.user, pass: target.auth.password } } : {}),
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: 60_000,
    }));

  return {
    name: 'smtp',

    async send(message): Promise<SendOutcome> {
      try {
        const info = (await transporter().sendMail({
          from: options.sender,
          to: message.to,
          subject: message.subject,
          text: message.text,
          ...(message.html ? { html: message.html } : {}),
          ...(message.messageId ? { messageId: bracketed(message.messageId) } : {}),
          ...(message.inReplyTo ? { inReplyTo: bracketed(message.inReplyTo) } : {}),
          ...(message.references?.length ? { references: message.references.map(bracketed) } : {}),
          ...(message.headers ? { headers: message.headers } : {}),
        })) as { messageId?: unknown };
        const id = typeof info.messageId === 'string' ? info.messageId.replace(/^<|>$/g, '') : undefined;
        return { kind: 'sent', providerMessageId: id };
      } catch (error) {
        return provablyNotSent(error)
          ? { kind: 'rejected', error: `SMTP refused: ${errorSummary(error)}` }
          : { kind: 'uncertain', error: `SMTP failed during the transaction: ${errorSummary(error)}` };
      }
    },

    close: () => {
      transport?.close();
      transport = undefined;
      return Promise.resolve();
    },
  };
}
