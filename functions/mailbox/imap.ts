import type { TokenCredential } from '@azure/identity';
import { ImapFlow, type FetchMessageObject, type FetchQueryObject, type Logger } from 'imapflow';
import { DomainError, UnavailableError } from '../platform/errors';
import type { MailboxSettings } from './settings';

/** The Microsoft Entra scope of Exchange Online IMAP: the app signs in with XOAUTH2 and a token for it. */
export const OUTLOOK_IMAP_SCOPE = 'https://outlook.office365.com/.default';

export interface MailboxConnection {
  host: string;
  port: number;
  /** True: implicit TLS; false: STARTTLS (required unless the host is this machine). */
  tls: boolean;
  user: string;
  auth: { password: string } | { accessToken: string };
}

/** What a poll needs to know of a mail before deciding to fetch it. */
export interface ImapMessageHead {
  uid: number;
  /** RFC822.SIZE in bytes. */
  size: number;
  /** The Message-ID without `<>`; undefined when the mail has none (or an unusable one). */
  messageId?: string;
  from: string;
  fromName?: string;
  subject: string;
  /** INTERNALDATE: when the server received the mail. */
  internalDate: Date;
  flags: string[];
}

export interface ImapSession {
  /** UIDVALIDITY and UIDNEXT without selecting the folder (STATUS). */
  status(folder: string): Promise<{ uidValidity: string; uidNext: number }>;
  /** The mails with a UID above `afterUid`, oldest first. */
  heads(folder: string, afterUid: number): Promise<ImapMessageHead[]>;
  /** Every mail of the folder, oldest first (to resync after a UIDVALIDITY change). */
  allHeads(folder: string): Promise<ImapMessageHead[]>;
  /** The raw mails of these UIDs, each cut at `maxBytes`; a UID that is gone is absent from the map. */
  sources(folder: string, uids: number[], maxBytes: number): Promise<Map<number, Buffer>>;
  /** Sets `\Answered` on these UIDs; false (nothing sent) when the folder's PERMANENTFLAGS do not allow it. */
  addAnswered(folder: string, uids: number[]): Promise<boolean>;
  /** Logs out (or drops the connection when that fails); never throws. */
  close(): Promise<void>;
}

export interface ImapLogEntry {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  msg: string;
  /** `c`: a line the client sent, `s`: one the server sent (imapflow's marks). */
  src?: string;
}

export interface OpenImapOptions {
  /** Receives imapflow's log (credentials already hidden by imapflow, and scrubbed again here). */
  logger?: (entry: ImapLogEntry) => void;
}

/** Why the mailbox could not be used: its server is out of reach, refused the sign-in, or failed a command. */
export class ImapUnavailableError extends UnavailableError {
  constructor(
    readonly kind: 'connect' | 'auth' | 'command',
    message: string,
  ) {
    super(message);
  }
}

const HEAD_QUERY: FetchQueryObject = {
  uid: true,
  size: true,
  envelope: true,
  internalDate: true,
  flags: true,
};
// Guards against a broken or hostile server: the literals of a poll are envelopes and sources capped
// by MAILBOX_MAX_MESSAGE_BYTES (at most 50 MiB).
const MAX_LITERAL_BYTES = 64 * 1024 * 1024;
const MAX_SERVER_TEXT = 200;

const isLoopback = (host: string) => /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(host);

/**
 * The connection of the settings: the password, or with `MAILBOX_AUTH=entra` a token of the app's identity
 * for Exchange Online (asked on every poll; the credential caches it until it expires).
 */
export async function mailboxConnection(
  settings: MailboxSettings,
  credential?: TokenCredential,
): Promise<MailboxConnection> {
  const { host, port, tls, user, auth, password } = settings.imap;
  const base = { host, port, tls, user };
  if (auth === 'password') {
    // The settings refuse MAILBOX_AUTH=password without one; this guards a hand-built settings object.
    if (!password) throw new ImapUnavailableError('auth', 'MAILBOX_PASSWORD is not set.');
    return { ...base, auth: { password } };
  }
  if (!credential) throw new ImapUnavailableError('auth', 'MAILBOX_AUTH=entra needs the app credential.');
  try {
    const token = await credential.getToken(OUTLOOK_IMAP_SCOPE);
    if (!token) throw new Error('no token was returned');
    return { ...base, auth: { accessToken: token.token } };
  } catch (error) {
    throw new ImapUnavailableError(
      'auth',
      `Could not get a Microsoft Entra token (${OUTLOOK_IMAP_SCOPE}) to sign in to ${host} as ${user}: ${message(error).slice(0, MAX_SERVER_TEXT)}`,
    );
  }
}

/** Connects and signs in; the session's `close()` logs out. */
export async function openImap(
  connection: MailboxConnection,
  options: OpenImapOptions = {},
): Promise<ImapSession> {
  const secrets = Object.values(connection.auth).filter((s): s is string => typeof s === 'string' && !!s);
  const scrub = (text: string) => secrets.reduce((out, secret) => out.split(secret).join('[redacted]'), text);
  const where = `${connection.host}:${connection.port} as ${connection.user}`;
  const client = new ImapFlow({
    host: connection.host,
    port: connection.port,
    secure: connection.tls,
    // Credentials never cross a network in clear: STARTTLS is required unless the server is this machine.
    ...(connection.tls || isLoopback(connection.host) ? {} : { doSTARTTLS: true }),
    auth:
      'password' in connection.auth
        ? { user: connection.user, pass: connection.auth.password }
        : { user: connection.user, accessToken: connection.auth.accessToken },
    logger: options.logger ? imapLogger(options.logger, scrub) : false,
    // A poll runs a few commands and logs out: IDLE would only add round trips.
    disableAutoIdle: true,
    connectionTimeout: 30_000,
    greetingTimeout: 16_000,
    socketTimeout: 120_000,
    maxLiteralSize: MAX_LITERAL_BYTES,
    maxResponseSize: 2 * MAX_LITERAL_BYTES,
  });
  // A socket error after connect() is also emitted as an event; unheard, it would end the process.
  client.on('error', (error: unknown) => options.logger?.({ level: 'error', msg: scrub(message(error)) }));
  try {
    await client.connect();
  } catch (error) {
    client.close();
    throw connectFailure(error, where, 'password' in connection.auth, scrub);
  }
  return new FlowSession(client, where, scrub);
}

/** A connector for the poll: a fresh connection (and token, for `entra`) on every call. */
export function imapConnector(
  settings: MailboxSettings,
  options: OpenImapOptions & { credential?: TokenCredential } = {},
): () => Promise<ImapSession> {
  return async () => openImap(await mailboxConnection(settings, options.credential), options);
}

class FlowSession implements ImapSession {
  /** The UIDVALIDITY `status()` saw per folder: UIDs read later must belong to it. */
  private readonly validity = new Map<string, string>();

  constructor(
    private readonly client: ImapFlow,
    private readonly where: string,
    private readonly scrub: (text: string) => string,
  ) {}

  async status(folder: string): Promise<{ uidValidity: string; uidNext: number }> {
    const status = await this.run(`STATUS ${folder}`, () =>
      this.client.status(folder, { uidNext: true, uidValidity: true }),
    );
    if (!status || status.uidValidity === undefined || status.uidNext === undefined) {
      throw new ImapUnavailableError(
        'command',
        `${this.where}: STATUS ${folder} gave no UIDVALIDITY/UIDNEXT.`,
      );
    }
    const uidValidity = status.uidValidity.toString();
    this.validity.set(folder, uidValidity);
    return { uidValidity, uidNext: status.uidNext };
  }

  heads(folder: string, afterUid: number): Promise<ImapMessageHead[]> {
    // `N:*` always matches the highest UID, even below N: the range is filtered here (RFC 3501 §6.4.8).
    return this.inFolder(folder, `UID FETCH ${afterUid + 1}:*`, async () =>
      (await this.client.fetchAll(`${afterUid + 1}:*`, HEAD_QUERY, { uid: true }))
        .filter((message) => message.uid > afterUid)
        .map(toHead),
    );
  }

  allHeads(folder: string): Promise<ImapMessageHead[]> {
    return this.inFolder(folder, 'UID FETCH 1:*', async () =>
      (await this.client.fetchAll('1:*', HEAD_QUERY, { uid: true })).map(toHead),
    );
  }

  async sources(folder: string, uids: number[], maxBytes: number): Promise<Map<number, Buffer>> {
    if (uids.length === 0) return new Map();
    // BODY.PEEK[]<0.maxBytes>: the mail keeps its \Seen state, and no source read is larger than the cap.
    const fetched = await this.inFolder(folder, 'UID FETCH BODY.PEEK[]', () =>
      this.client.fetchAll(uids, { uid: true, source: { maxLength: maxBytes } }, { uid: true }),
    );
    return new Map(fetched.flatMap((m) => (m.source ? [[m.uid, m.source] as const] : [])));
  }

  async addAnswered(folder: string, uids: number[]): Promise<boolean> {
    if (uids.length === 0) return false;
    return this.inFolder(folder, 'UID STORE +FLAGS (\\Answered)', async () => {
      const mailbox = this.client.mailbox;
      const allowed = mailbox ? mailbox.permanentFlags : undefined;
      // No PERMANENTFLAGS at all means every flag is permanent (RFC 3501 §7.1).
      if (allowed && !allowed.has('\\Answered') && !allowed.has('\\*')) return false;
      await this.client.messageFlagsAdd(uids, ['\\Answered'], { uid: true, silent: true });
      return true;
    });
  }

  async close(): Promise<void> {
    try {
      await this.client.logout();
    } catch {
      this.client.close();
    }
  }

  /** Selects the folder (once per session: imapflow keeps it selected) and checks its UIDVALIDITY. */
  private async inFolder<T>(folder: string, action: string, body: () => Promise<T>): Promise<T> {
    return this.run(`${action} in ${folder}`, async () => {
      const lock = await this.client.getMailboxLock(folder);
      try {
        const expected = this.validity.get(folder);
        const mailbox = this.client.mailbox;
        if (expected !== undefined && mailbox && mailbox.uidValidity.toString() !== expected) {
          throw new ImapUnavailableError(
            'command',
            `${this.where}: UIDVALIDITY of ${folder} changed during the poll; the next poll resyncs.`,
          );
        }
        return await body();
      } finally {
        lock.release();
      }
    });
  }

  private async run<T>(action: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      if (error instanceof DomainError) throw error;
      const text = this.scrub(serverText(error));
      throw new ImapUnavailableError('command', `IMAP ${action} failed on ${this.where}: ${text}`);
    }
  }
}

function toHead(message: FetchMessageObject): ImapMessageHead {
  const envelope = message.envelope;
  const sender = envelope?.from?.[0];
  const internalDate = message.internalDate === undefined ? undefined : new Date(message.internalDate);
  return {
    uid: message.uid,
    size: message.size ?? 0,
    messageId: normaliseMessageId(envelope?.messageId),
    from: sender?.address?.trim() ?? '',
    ...(sender?.name?.trim() ? { fromName: sender.name.trim() } : {}),
    subject: envelope?.subject ?? '',
    // A server that gives no (valid) INTERNALDATE: the epoch, so the mail counts as old, never as new.
    internalDate: internalDate && !Number.isNaN(internalDate.getTime()) ? internalDate : new Date(0),
    flags: [...(message.flags ?? [])],
  };
}

const MAX_MESSAGE_ID = 998;

/** `<id@host>` → `id@host`; undefined when empty, or too long to be a real one (the content hash is used). */
export function normaliseMessageId(raw: string | undefined): string | undefined {
  const id = raw
    ?.trim()
    .replace(/^<+|>+$/g, '')
    .trim();
  return id && id.length <= MAX_MESSAGE_ID && !/\s/.test(id) ? id : undefined;
}

function imapLogger(sink: (entry: ImapLogEntry) => void, scrub: (text: string) => string): Logger {
  const at =
    (level: ImapLogEntry['level']) =>
    (entry: unknown): void => {
      const fields = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : {};
      const text = typeof fields.msg === 'string' ? fields.msg : '';
      const error = fields.err === undefined ? '' : ` ${message(fields.err)}`;
      sink({
        level,
        msg: scrub(text + error),
        ...(typeof fields.src === 'string' ? { src: fields.src } : {}),
      });
    };
  return {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
  };
}

function connectFailure(
  error: unknown,
  where: string,
  withPassword: boolean,
  scrub: (text: string) => string,
): ImapUnavailableError {
  const fields = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  if (fields.authenticationFailed === true) {
    const check = withPassword
      ? 'check MAILBOX_USER and MAILBOX_PASSWORD'
      : "check MAILBOX_USER and the app identity's access to the mailbox";
    return new ImapUnavailableError(
      'auth',
      `IMAP sign-in to ${where} was refused (${scrub(serverText(error))}): ${check}.`,
    );
  }
  return new ImapUnavailableError(
    'connect',
    `Cannot reach the IMAP server ${where}: ${scrub(serverText(error))}. The next poll retries.`,
  );
}

/** The most telling text of an imapflow failure: the server's answer, else the message with its code. */
function serverText(error: unknown): string {
  const fields = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  const text = message(error);
  const code = typeof fields.code === 'string' ? fields.code : '';
  const answer =
    typeof fields.responseText === 'string' && fields.responseText
      ? fields.responseText
      : code && !text.includes(code)
        ? `${text} (${code})`
        : text;
  const missing = fields.mailboxMissing === true || code === 'NotFound' ? ' (check MAILBOX_FOLDER)' : '';
  return answer.slice(0, MAX_SERVER_TEXT) + missing;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
