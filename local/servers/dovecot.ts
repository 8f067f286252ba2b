import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import { canConnect, freePort } from '../azurite';

const DOVECOT = '/usr/sbin/dovecot';
const DOVEADM = '/usr/bin/doveadm';
const LOG_TAIL_CHARS = 64 * 1024;
const run = promisify(execFile);

export interface AppendOptions {
  flags?: string[];
  internalDate?: Date;
}

export interface StoredMessage {
  uid: number;
  flags: string[];
  messageId: string | undefined;
  subject: string | undefined;
}

export interface Dovecot {
  host: string;
  port: number;
  users: {
    create(user: string, password: string): Promise<void>;
    /**
     * A new OAuth access token for the user (created first), which Dovecot accepts with AUTHENTICATE
     * XOAUTH2: it asks the harness's token introspection endpoint, as it would an identity provider's.
     */
    issueToken(user: string): string;
  };
  /** Appends a mail over IMAP (as the user) and returns its UID. */
  append(user: string, folder: string, rawMime: string | Buffer, options?: AppendOptions): Promise<number>;
  /** Appends the mails in order over one IMAP connection (a burst: one sign-in, not one per mail). */
  appendAll(user: string, folder: string, rawMimes: (string | Buffer)[]): Promise<number[]>;
  /** Sets the folder's UIDVALIDITY (`doveadm mailbox update --uid-validity`). */
  setUidValidity(user: string, folder: string, uidValidity: number): Promise<void>;
  /** Deletes the folder and its mail (`doveadm mailbox delete`): appended again, it numbers UIDs from 1. */
  deleteFolder(user: string, folder: string): Promise<void>;
  messages(user: string, folder: string): Promise<StoredMessage[]>;
  /** What Dovecot logged lately (one line per event: logins, sign-in failures, disconnections). */
  log(): string;
  stop(): Promise<void>;
}

export interface StartDovecotOptions {
  timeoutMs?: number;
}

/**
 * Starts Dovecot 2.3 (Debian's `dovecot-imapd`) on a free loopback port, for the tests and the mailbox
 * benchmark, with its configuration, users and mail in a temporary directory; `stop()` ends it and removes the directory. As root, its processes run as
 * `nobody` (Dovecot refuses to keep mail as root); otherwise as the current user.
 */
export async function startDovecot(options: StartDovecotOptions = {}): Promise<Dovecot> {
  if (!existsSync(DOVECOT) || !existsSync(DOVEADM)) {
    throw new Error(
      `Dovecot is not installed (${DOVECOT}): apt-get install dovecot-imapd (.ci/run does it).`,
    );
  }
  const host = '127.0.0.1';
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'dovecot-'));
  const tokens = new Map<string, string>();
  const introspection = await startIntrospection(tokens);
  const account = await runAccount();
  const usersDir = path.join(dir, 'users');
  const conf = path.join(dir, 'dovecot.conf');
  await mkdir(path.join(dir, 'run'));
  await mkdir(path.join(dir, 'home'));
  await mkdir(usersDir);
  await writeFile(conf, configuration(dir, port, account));
  await writeFile(
    path.join(dir, 'oauth2.conf.ext'),
    [
      'introspection_mode = post',
      `introspection_url = ${introspection.url}`,
      'username_attribute = username',
      'active_attribute = active',
      'active_value = true',
      '',
    ].join('\n'),
  );
  if (account.chownTo) await run('chown', ['-R', `${account.chownTo.uid}:${account.chownTo.gid}`, dir]);

  const child = spawn(DOVECOT, ['-F', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-LOG_TAIL_CHARS)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      await exited;
      await new Promise((resolve) => introspection.server.close(resolve));
      await rm(dir, { recursive: true, force: true });
      throw new Error(`Dovecot did not start: ${log.trim() || 'no answer on its port'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  const passwords = new Map<string, string>();
  const doveadm = (...args: string[]) => run(DOVEADM, ['-c', conf, ...args]);
  const withClient = async <T>(user: string, body: (client: ImapFlow) => Promise<T>): Promise<T> => {
    const pass = passwords.get(user);
    if (pass === undefined) throw new Error(`No Dovecot user ${user}: create it first.`);
    const client = new ImapFlow({ host, port, secure: false, auth: { user, pass }, logger: false });
    await client.connect();
    try {
      return await body(client);
    } finally {
      await client.logout();
    }
  };

  return {
    host,
    port,
    users: {
      create: async (user, password) => {
        if (!/^[\w.@+-]+$/.test(user) || /[:\n]/.test(password)) {
          throw new Error(
            'Dovecot test users are letters, digits and ._@+-; passwords have no ":" or line breaks.',
          );
        }
        const file = path.join(usersDir, user);
        await writeFile(file, `${user}:{PLAIN}${password}::::::\n`);
        if (account.chownTo) await chown(file, account.chownTo.uid, account.chownTo.gid);
        passwords.set(user, password);
      },
      issueToken: (user) => {
        if (!passwords.has(user)) throw new Error(`No Dovecot user ${user}: create it first.`);
        const token = randomBytes(24).toString('base64url');
        tokens.set(token, user);
        return token;
      },
    },
    append: (user, folder, rawMime, appendOptions = {}) =>
      withClient(user, async (client) => {
        await ensureFolder(client, folder);
        return appendOne(client, folder, rawMime, appendOptions);
      }),
    appendAll: (user, folder, rawMimes) =>
      withClient(user, async (client) => {
        await ensureFolder(client, folder);
        const uids: number[] = [];
        for (const rawMime of rawMimes) uids.push(await appendOne(client, folder, rawMime));
        return uids;
      }),
    setUidValidity: async (user, folder, uidValidity) => {
      await doveadm('mailbox', 'update', '-u', user, '--uid-validity', String(uidValidity), folder);
    },
    deleteFolder: async (user, folder) => {
      await doveadm('mailbox', 'delete', '-u', user, folder);
    },
    messages: (user, folder) =>
      withClient(user, async (client) => {
        const lock = await client.getMailboxLock(folder, { readOnly: true });
        try {
          if (client.mailbox && client.mailbox.exists === 0) return [];
          const all = await client.fetchAll('1:*', { uid: true, flags: true, envelope: true }, { uid: true });
          return all.map((m) => ({
            uid: m.uid,
            flags: [...(m.flags ?? [])].filter((flag) => flag !== '\\Recent'),
            messageId: m.envelope?.messageId,
            subject: m.envelope?.subject,
          }));
        } finally {
          lock.release();
        }
      }),
    log: () => log,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await new Promise((resolve) => introspection.server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * An RFC 7662 token introspection endpoint on loopback: Dovecot's oauth2 passdb posts `token=…` and reads
 * `active` and `username` from the JSON answer.
 */
async function startIntrospection(tokens: Map<string, string>): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
      if (body.length > 8192) request.destroy();
    });
    request.on('end', () => {
      const user = tokens.get(new URLSearchParams(body).get('token') ?? '');
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(user ? { active: true, username: user } : { active: false }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}/introspect` };
}

async function ensureFolder(client: ImapFlow, folder: string): Promise<void> {
  if (folder.toUpperCase() !== 'INBOX') await client.mailboxCreate(folder).catch(ignoreExisting);
}

async function appendOne(
  client: ImapFlow,
  folder: string,
  rawMime: string | Buffer,
  options: AppendOptions = {},
): Promise<number> {
  const result = await client.append(folder, rawMime, options.flags, options.internalDate);
  if (!result || result.uid === undefined) throw new Error(`Dovecot gave no UID for the mail in ${folder}`);
  return result.uid;
}

function ignoreExisting(error: unknown): void {
  const text =
    error instanceof Error
      ? `${error.message} ${String((error as { responseText?: unknown }).responseText)}`
      : '';
  if (!/exists/i.test(text)) throw error;
}

interface RunAccount {
  user: string;
  group: string;
  uid: number;
  gid: number;
  /** As root: the directory is handed over to the unprivileged account. */
  chownTo?: { uid: number; gid: number };
}

async function runAccount(): Promise<RunAccount> {
  const me = userInfo();
  if (me.uid !== 0) {
    const { stdout } = await run('id', ['-gn']);
    return { user: me.username, group: stdout.trim(), uid: me.uid, gid: me.gid };
  }
  const id = async (...args: string[]) => (await run('id', [...args, 'nobody'])).stdout.trim();
  const [uid, gid, group] = await Promise.all([id('-u'), id('-g'), id('-gn')]);
  return {
    user: 'nobody',
    group,
    uid: Number(uid),
    gid: Number(gid),
    chownTo: { uid: Number(uid), gid: Number(gid) },
  };
}

/** The smallest configuration that serves IMAP on loopback with plain-text sign-in (notes/mail.md). */
function configuration(dir: string, port: number, account: RunAccount): string {
  return `protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/run
instance_name = dovetest-${port}
log_path = /dev/stderr
ssl = no
disable_plaintext_auth = no
# XOAUTH2 only, as Exchange Online offers it (imapflow would prefer OAUTHBEARER).
auth_mechanisms = plain login xoauth2
# Tests sign in with a wrong password on purpose: answer at once.
auth_failure_delay = 0
default_internal_user = ${account.user}
default_internal_group = ${account.group}
default_login_user = ${account.user}
mail_uid = ${account.uid}
mail_gid = ${account.gid}
first_valid_uid = ${Math.min(account.uid, 500)}
mail_fsync = never
service anvil {
  chroot =
  # No growing delay after the sign-in failures tests make on purpose.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
# One file per user: Dovecot looks a new file up at once, where it rereads a changed shared file at most
# once a second (a user created just after another would be unknown for that second).
passdb {
  driver = oauth2
  mechanisms = xoauth2
  args = ${dir}/oauth2.conf.ext
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users/%u
}
userdb {
  driver = passwd-file
  args = username_format=%u ${dir}/users/%u
  default_fields = home=${dir}/home/%u
}
mail_location = maildir:~/Maildir
`;
}
