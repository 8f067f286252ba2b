import { createHash, randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ImapUnavailableError,
  OUTLOOK_IMAP_SCOPE,
  imapConnector,
  type ImapLogEntry,
} from '../../functions/mailbox/imap';
import { MailboxLedger, ledgerId } from '../../functions/mailbox/ledger';
import { pollMailbox, rawMailBlobName, type PollDependencies } from '../../functions/mailbox/poll';
import { mailboxSettings } from '../../functions/mailbox/settings';
import { freePort } from '../../local/azurite';
import { loadFragments } from '../../functions/platform/settings';
import { startDovecot, type Dovecot } from '../../local/servers/dovecot';

let dovecot: Dovecot;
beforeAll(async () => {
  dovecot = await startDovecot();
});
afterAll(async () => {
  await dovecot?.stop();
});

const NOW = new Date('2025-03-10T08:00:00.000Z');

function mail(
  messageId: string | undefined,
  subject: string,
  body = 'Bonjour, quels sont les horaires ?',
): string {
  return [
    'Return-Path: <parent@example.org>',
    'From: Parent Dupont <parent@example.org>',
    'To: accueil@school.example',
    `Subject: ${subject}`,
    ...(messageId ? [`Message-ID: <${messageId}>`] : []),
    'Date: Mon, 10 Mar 2025 09:00:00 +0100',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\r\n');
}

/**
 * A mailbox of its own (a fresh Dovecot user), a ledger table and a raw container of its own in the shared
 * Azurite, and a poll whose IMAP commands and queued ids are recorded.
 */
async function fixture(env: Record<string, string> = {}) {
  const user = `school${randomBytes(4).toString('hex')}@school.example`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  await dovecot.users.create(user, password);
  const connectionString = inject('azuriteConnectionString');
  const suffix = randomBytes(5).toString('hex');
  const table = TableClient.fromConnectionString(connectionString, `pollledger${suffix}`, {
    allowInsecureConnection: true,
  });
  const ledger = new MailboxLedger(table, () => NOW);
  const raw = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(
    `mailbox-raw-${suffix}`,
  );
  const commands: string[] = [];
  const queued: string[] = [];
  const logs: string[] = [];
  const settingsFor = (overrides: Record<string, string>) =>
    loadFragments(
      {
        MAILBOX_IMAP_HOST: dovecot.host,
        MAILBOX_IMAP_PORT: String(dovecot.port),
        MAILBOX_IMAP_TLS: 'false',
        MAILBOX_USER: user,
        MAILBOX_PASSWORD: password,
        MAILBOX_ADDRESS: 'accueil@school.example',
        ...env,
        ...overrides,
      },
      { mailbox: mailboxSettings },
    ).mailbox;
  const logger = (entry: ImapLogEntry) => {
    if (entry.src === 'c') commands.push(entry.msg);
  };
  const deps = (
    overrides: Record<string, string> = {},
    { credential, ...more }: Partial<PollDependencies> & { credential?: TokenCredential } = {},
  ): PollDependencies => {
    const settings = settingsFor(overrides);
    return {
      settings,
      ledger,
      raw,
      connect: imapConnector(settings, { logger, ...(credential ? { credential } : {}) }),
      enqueue: (ids) => {
        queued.push(...ids);
        return Promise.resolve();
      },
      clock: () => NOW,
      log: (line) => logs.push(line),
      ...more,
    };
  };
  return {
    user,
    password,
    ledger,
    raw,
    commands,
    queued,
    logs,
    deps,
    poll: (overrides: Record<string, string> = {}) => pollMailbox(deps(overrides)),
    append: (raw: string, options?: { flags?: string[]; internalDate?: Date }) =>
      dovecot.append(user, env.MAILBOX_FOLDER ?? 'INBOX', raw, { internalDate: NOW, ...options }),
    /** The IMAP command names sent since the last call (`SELECT`, `UID FETCH`, …). */
    takeCommands: () => commands.splice(0).map((line) => /^\S+ (UID \w+|\w+)/.exec(line)?.[1] ?? line),
  };
}

describe('pollMailbox against Dovecot and Azurite', () => {
  it('takes the mail already there as the baseline on the first poll and answers only what arrives after', async () => {
    const box = await fixture();
    await box.append(mail('old-1@example.org', 'Ancienne demande'));
    await box.append(mail('old-2@example.org', 'Autre ancienne demande'));

    const first = await box.poll();
    expect(first).toEqual({ polled: 0, queued: 0, tooLarge: 0, flagged: 0, uidValidityChanged: false });
    expect(box.logs.join('\n')).toMatch(/first poll, baseline set at UID 2.*only mail arriving from now on/s);
    expect(await box.ledger.list({})).toEqual([]);

    const raw = mail('new-1@example.org', 'Horaires du lundi');
    const uid = await box.append(raw);
    const second = await box.poll();
    expect(second).toMatchObject({ polled: 1, queued: 1, tooLarge: 0 });
    const id = ledgerId('new-1@example.org');
    expect(box.queued).toEqual([id]);
    expect(await box.ledger.get(id)).toMatchObject({
      messageId: 'new-1@example.org',
      uid,
      from: 'parent@example.org',
      fromName: 'Parent Dupont',
      subject: 'Horaires du lundi',
      receivedAt: NOW.toISOString(),
      status: 'pending',
      attempts: 0,
    });
    expect((await box.raw.getBlockBlobClient(rawMailBlobName(id)).downloadToBuffer()).toString()).toBe(raw);
    // The responder reads with BODY.PEEK: the mail stays unread for the people who share the mailbox.
    const onServer = await dovecot.messages(box.user, 'INBOX');
    expect(onServer.find((m) => m.uid === uid)?.flags).not.toContain('\\Seen');
  });

  it('queues each new mail once across polls, also when a copy of a known mail shows up', async () => {
    const box = await fixture();
    await box.poll();
    await box.append(mail('a@example.org', 'Programme BTS'));
    await box.append(mail('b@example.org', 'Inscription'));
    expect(await box.poll()).toMatchObject({ polled: 2, queued: 2 });
    expect(await box.poll()).toMatchObject({ polled: 0, queued: 0 });

    const copyUid = await box.append(mail('a@example.org', 'Programme BTS'));
    await box.append(mail('c@example.org', 'Horaires'));
    expect(await box.poll()).toMatchObject({ polled: 2, queued: 1 });
    expect(box.queued).toEqual(['a@example.org', 'b@example.org', 'c@example.org'].map(ledgerId));
    // The known mail now points at its latest place, where \Answered would go.
    expect(await box.ledger.get(ledgerId('a@example.org'))).toMatchObject({
      uid: copyUid,
      status: 'pending',
    });
  });

  it('stops at STATUS when nothing is new: no SELECT, no FETCH', async () => {
    const box = await fixture();
    await box.append(mail('x@example.org', 'Déjà là'));
    await box.poll();
    box.takeCommands();
    expect(await box.poll()).toMatchObject({ polled: 0, queued: 0, flagged: 0 });
    const commands = box.takeCommands();
    expect(commands).toContain('STATUS');
    expect(commands.filter((c) => /SELECT|EXAMINE|FETCH|STORE/.test(c))).toEqual([]);
  });

  it('keys a mail without Message-ID by a hash of its content, and queues two identical copies once', async () => {
    const box = await fixture();
    await box.poll();
    const raw = mail(undefined, 'Sans identifiant');
    await box.append(raw);
    await box.append(raw);
    expect(await box.poll()).toMatchObject({ polled: 2, queued: 1 });
    const messageId = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
    expect(box.queued).toEqual([ledgerId(messageId)]);
    expect(await box.ledger.get(ledgerId(messageId))).toMatchObject({ messageId, status: 'pending' });
  });

  it('records a mail over the size cap as skipped (too-large) without fetching it', async () => {
    const box = await fixture({ MAILBOX_MAX_MESSAGE_BYTES: '2048' });
    await box.poll();
    const bigUid = await box.append(mail('big@example.org', 'Pièce jointe', 'x'.repeat(5000)));
    const smallUid = await box.append(mail('small@example.org', 'Petite question'));
    box.commands.splice(0);
    expect(await box.poll()).toMatchObject({ polled: 2, queued: 1, tooLarge: 1 });

    const big = await box.ledger.get(ledgerId('big@example.org'));
    expect(big).toMatchObject({ uid: bigUid, status: 'skipped', reason: 'too-large' });
    expect(big?.size).toBeGreaterThan(5000);
    expect(box.queued).toEqual([ledgerId('small@example.org')]);
    expect(await box.raw.getBlockBlobClient(rawMailBlobName(ledgerId('big@example.org'))).exists()).toBe(
      false,
    );
    // One body fetch, of the small mail alone.
    const bodyFetches = box.commands.filter((line) => line.includes('BODY.PEEK[]'));
    expect(bodyFetches).toEqual([expect.stringMatching(new RegExp(`UID FETCH ${smallUid} \\(`))]);
    expect(box.logs.join('\n')).toMatch(/over MAILBOX_MAX_MESSAGE_BYTES \(2048\).*too-large/);
  });

  it('resyncs by Message-ID when UIDVALIDITY changes: nothing queued twice, new mail queued', async () => {
    const box = await fixture({ MAILBOX_FOLDER: 'Demandes' });
    const old = mail('old@example.org', 'Avant la mise en service');
    const oldDate = { internalDate: new Date('2024-09-01T10:00:00.000Z') };
    await box.append(old, oldDate);
    await box.poll();
    const [a, b, x] = ['a', 'b', 'x'].map((name) => mail(`${name}@example.org`, `Demande ${name}`));
    for (const raw of [a, b, x]) await box.append(raw ?? '');
    await box.poll();
    expect(box.queued).toHaveLength(3);
    expect(await box.ledger.getCheckpoint('Demandes')).toMatchObject({ lastUid: 4 });
    const entryA = await box.ledger.get(ledgerId('a@example.org'));
    if (!entryA) throw new Error('a missing');
    await box.ledger.update(entryA, {
      status: 'replied',
      reply: { to: 'parent@example.org', subject: 'Re: Demande a', text: 'Voici', sentAt: NOW.toISOString() },
    });

    // The server rebuilds the folder (a migration): UIDs start again at 1 under a new UIDVALIDITY, so a
    // truly new mail (c) gets a UID below the old checkpoint; the old mail comes back too.
    await dovecot.deleteFolder(box.user, 'Demandes');
    await box.append(old, oldDate);
    const newUidA = await box.append(a ?? '');
    const uidC = await box.append(mail('c@example.org', 'Nouvelle demande'));
    await box.append(b ?? '');
    await dovecot.setUidValidity(box.user, 'Demandes', 42);
    expect(uidC).toBeLessThan(4);

    const result = await box.poll();
    expect(result).toMatchObject({ uidValidityChanged: true, polled: 4, queued: 1, flagged: 1 });
    expect(box.queued).toEqual(
      ['a@example.org', 'b@example.org', 'x@example.org', 'c@example.org'].map(ledgerId),
    );
    expect(box.logs.join('\n')).toMatch(/UIDVALIDITY changed from \d+ to 42/);
    expect(await box.ledger.get(ledgerId('old@example.org'))).toBeUndefined();
    expect(await box.ledger.get(ledgerId('a@example.org'))).toMatchObject({
      uid: newUidA,
      uidValidity: '42',
      status: 'replied',
      answeredFlagged: true,
    });
    const onServer = await dovecot.messages(box.user, 'Demandes');
    expect(onServer.find((m) => m.uid === newUidA)?.flags).toContain('\\Answered');
    expect(await box.ledger.getCheckpoint('Demandes')).toMatchObject({ uidValidity: '42', lastUid: 4 });
    // And the next poll is an ordinary one again.
    expect(await box.poll()).toMatchObject({ uidValidityChanged: false, polled: 0, queued: 0 });
  });

  it('fails clearly on a wrong password (host and user named, never the password), loses nothing, and recovers', async () => {
    const box = await fixture();
    await box.poll();
    const before = await box.ledger.getCheckpoint('INBOX');
    await box.append(mail('waiting@example.org', 'En attente'));

    const failure = await box
      .poll({ MAILBOX_PASSWORD: 'wrong-password-123' })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ImapUnavailableError);
    const message = (failure as Error).message;
    expect(message).toContain(`${dovecot.host}:${dovecot.port} as ${box.user}`);
    expect(message).toMatch(/refused.*MAILBOX_PASSWORD/);
    expect(message).not.toContain('wrong-password-123');
    expect(message).not.toContain(box.password);
    expect(await box.ledger.getCheckpoint('INBOX')).toEqual(before);
    expect(box.queued).toEqual([]);

    expect(await box.poll()).toMatchObject({ polled: 1, queued: 1 });
    expect(box.queued).toEqual([ledgerId('waiting@example.org')]);
  });

  it('fails clearly when the IMAP server is down, naming host and user', async () => {
    const box = await fixture();
    const port = await freePort();
    const failure = await box.poll({ MAILBOX_IMAP_PORT: String(port) }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ImapUnavailableError);
    expect((failure as ImapUnavailableError).kind).toBe('connect');
    expect((failure as Error).message).toContain(
      `Cannot reach the IMAP server 127.0.0.1:${port} as ${box.user}`,
    );
    expect((failure as Error).message).not.toContain(box.password);
    expect(await box.ledger.getCheckpoint('INBOX')).toBeUndefined();
  });

  it('repeats a poll that failed before queueing: the mail is queued then, and recorded once', async () => {
    const box = await fixture();
    await box.poll();
    await box.append(mail('retry@example.org', 'Question'));
    const failing = box.deps({}, { enqueue: () => Promise.reject(new Error('queue unavailable')) });
    await expect(pollMailbox(failing)).rejects.toThrow('queue unavailable');
    expect(await box.ledger.get(ledgerId('retry@example.org'))).toMatchObject({ status: 'pending' });

    expect(await box.poll()).toMatchObject({ polled: 1, queued: 1 });
    expect(box.queued).toEqual([ledgerId('retry@example.org')]);
    expect(await box.ledger.list({})).toHaveLength(1);
    expect(await box.poll()).toMatchObject({ polled: 0, queued: 0 });
  });

  it('leaves alone an old mail moved back into the folder (received long before the first poll)', async () => {
    const box = await fixture();
    await box.poll();
    await box.append(mail('archived@example.org', 'Vieille question'), {
      internalDate: new Date('2024-09-01T10:00:00.000Z'),
    });
    expect(await box.poll()).toMatchObject({ polled: 1, queued: 0 });
    expect(await box.ledger.list({})).toEqual([]);
  });

  it('sets \\Answered on the server for replied mails, once', async () => {
    const box = await fixture();
    await box.poll();
    const uid = await box.append(mail('answer-me@example.org', 'Horaires'));
    await box.poll();
    const entry = await box.ledger.get(ledgerId('answer-me@example.org'));
    if (!entry) throw new Error('entry missing');
    await box.ledger.update(entry, {
      status: 'replied',
      reply: {
        to: 'parent@example.org',
        subject: 'Re: Horaires',
        text: 'De 8h à 17h',
        sentAt: NOW.toISOString(),
      },
    });

    box.takeCommands();
    expect(await box.poll()).toMatchObject({ polled: 0, flagged: 1 });
    expect(box.takeCommands()).toContain('UID STORE');
    const onServer = await dovecot.messages(box.user, 'INBOX');
    expect(onServer.find((m) => m.uid === uid)?.flags).toContain('\\Answered');
    expect(await box.ledger.get(entry.id)).toMatchObject({ answeredFlagged: true });

    expect(await box.poll()).toMatchObject({ flagged: 0 });
    expect(box.takeCommands().filter((c) => /SELECT|STORE/.test(c))).toEqual([]);
  });

  it('signs in with XOAUTH2 and a fresh token of the app identity for Exchange Online (MAILBOX_AUTH=entra)', async () => {
    const box = await fixture();
    const scopes: string[] = [];
    let nextToken = () => dovecot.users.issueToken(box.user);
    const credential: TokenCredential = {
      getToken: (scope) => {
        scopes.push(...[scope].flat());
        return Promise.resolve({ token: nextToken(), expiresOnTimestamp: NOW.getTime() + 3_600_000 });
      },
    };
    const entra = { MAILBOX_AUTH: 'entra', MAILBOX_PASSWORD: '' };
    await pollMailbox(box.deps(entra, { credential }));
    await box.append(mail('oauth@example.org', 'Question'));
    expect(await pollMailbox(box.deps(entra, { credential }))).toMatchObject({ polled: 1, queued: 1 });
    expect(scopes).toEqual([OUTLOOK_IMAP_SCOPE, OUTLOOK_IMAP_SCOPE]);
    expect(dovecot.log()).toMatch(new RegExp(`Login: user=<${box.user}>, method=XOAUTH2`));

    // A token the server no longer accepts: the error names the mailbox and the identity, never the token.
    nextToken = () => 'revoked-token-0123456789';
    const failure = await pollMailbox(box.deps(entra, { credential })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ImapUnavailableError);
    expect((failure as ImapUnavailableError).kind).toBe('auth');
    expect((failure as Error).message).toMatch(new RegExp(`as ${box.user} was refused.*app identity`));
    expect((failure as Error).message).not.toContain('revoked-token-0123456789');
  });
});
