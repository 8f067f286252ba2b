import type { AddressInfo, Socket } from 'node:net';
import PostalMime from 'postal-mime';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/**
 * A local SMTP server (`smtp-server`) that keeps every message it accepts, for tests and benchmarks:
 * plain SMTP on loopback (no TLS), optional AUTH, and injectable rejections and dropped connections.
 */

export interface SmtpSinkOptions {
  /** When set, clients must AUTH with these (PLAIN or LOGIN, allowed without TLS on loopback). */
  auth?: { user: string; password: string };
  /** Largest message accepted (SIZE), default 25 MB. */
  maxBytes?: number;
}

export interface SinkMessage {
  envelope: { from: string; to: string[] };
  /** The message as received (headers and body, CRLF line ends). */
  raw: string;
  /** Header name (lowercase) → its decoded value; repeated headers keep the first. */
  headers: Record<string, string>;
  subject: string | undefined;
  messageId: string | undefined;
  inReplyTo: string | undefined;
  references: string | undefined;
  text: string | undefined;
  html: string | undefined;
}

export class SmtpSink {
  readonly messages: SinkMessage[] = [];
  readonly counters = { connections: 0, rejected: 0, dropped: 0, authFailures: 0, connectionErrors: 0 };
  host = '127.0.0.1';
  port = 0;
  private readonly server: SMTPServer;
  private readonly sockets = new Map<string, Socket>();
  private rejecting = { count: 0, code: 550 };
  private dropping = 0;

  constructor(private readonly options: SmtpSinkOptions = {}) {
    this.server = new SMTPServer({
      disabledCommands: options.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
      authOptional: !options.auth,
      allowInsecureAuth: true,
      size: options.maxBytes ?? 25 * 1024 * 1024,
      logger: false,
      onConnect: (_session, callback) => {
        this.counters.connections++;
        callback();
      },
      onAuth: (auth, _session, callback) => {
        const expected = this.options.auth;
        if (expected && auth.username === expected.user && auth.password === expected.password) {
          return callback(null, { user: auth.username });
        }
        this.counters.authFailures++;
        callback(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
      },
      onRcptTo: (_address, _session, callback) => {
        if (this.rejecting.count > 0) {
          this.rejecting.count--;
          this.counters.rejected++;
          const { code } = this.rejecting;
          return callback(Object.assign(new Error(`Injected rejection ${code}`), { responseCode: code }));
        }
        callback();
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          if (this.dropping > 0) {
            // The message is in, the answer never comes: the client cannot tell whether it was taken.
            this.dropping--;
            this.counters.dropped++;
            this.sockets.get(String(session.remotePort))?.destroy();
            return;
          }
          void this.keep(session, Buffer.concat(chunks)).then(
            () => callback(null),
            (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
          );
        });
      },
    });
    // A client gone mid-session (its process killed) is an 'error' on the server: unheard, it would end
    // the process the sink runs in.
    this.server.on('error', () => this.counters.connectionErrors++);
    // smtp-server does not expose a session's socket; they are matched by the remote port.
    this.server.server.on('connection', (socket: Socket) => {
      const key = String(socket.remotePort);
      this.sockets.set(key, socket);
      socket.on('close', () => this.sockets.delete(key));
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, this.host, resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  /** The next `count` recipients are refused with `code` (a 4xx or 5xx reply to RCPT TO). */
  rejectNext(count: number, code = 550): void {
    this.rejecting = { count, code };
  }

  /** The next `count` messages are read whole, then the connection is cut before the reply. */
  dropNext(count: number): void {
    this.dropping = count;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets.values()) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async keep(session: SMTPServerSession, bytes: Buffer): Promise<void> {
    const parsed = await PostalMime.parse(bytes);
    const headers: Record<string, string> = {};
    for (const header of parsed.headers) headers[header.key] ??= header.value;
    const from = session.envelope.mailFrom;
    this.messages.push({
      envelope: { from: from ? from.address : '', to: session.envelope.rcptTo.map((r) => r.address) },
      raw: bytes.toString('utf8'),
      headers,
      subject: parsed.subject,
      messageId: parsed.messageId,
      inReplyTo: parsed.inReplyTo,
      references: parsed.references,
      text: parsed.text,
      html: parsed.html,
    });
  }
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  return new SmtpSink(options).listen();
}
