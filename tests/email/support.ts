import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { TokenCredential } from '@azure/identity';
import { inject } from 'vitest';
import { createEmail, type Email, type OutgoingEmail } from '../../functions/email';
import { SendStore } from '../../functions/email/sendStore';
import { emailSettings } from '../../functions/email/settings';
import { loadFragments } from '../../functions/platform/settings';
import { createStorageClients, type StorageClients } from '../../functions/platform/storage';
import { TABLES } from '../../functions/platform/storageNames';

export function testStorage(): StorageClients {
  return createStorageClients({
    kind: 'connectionString',
    connectionString: inject('azuriteConnectionString'),
  });
}

/** The records' store, to set up states a crash leaves behind. */
export function testSendStore(storage: StorageClients = testStorage()): SendStore {
  return new SendStore(storage.table(TABLES.emailSends), storage.table(TABLES.emailSuppressions));
}

/** A clock the test moves by hand. */
export function manualClock(start = new Date()) {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

export interface TestEmailOptions {
  clock?: () => Date;
  credential?: () => TokenCredential;
  storage?: StorageClients;
}

const opened: Email[] = [];

/** The email capability built from app settings, as the app builds it. Closed by `closeEmails`. */
export function testEmail(env: Record<string, string>, options: TestEmailOptions = {}): Email {
  const email = createEmail({
    settings: loadFragments(env, { email: emailSettings }).email,
    storage: options.storage ?? testStorage(),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.credential ? { credential: options.credential } : {}),
  });
  opened.push(email);
  return email;
}

export async function closeEmails(): Promise<void> {
  await Promise.all(opened.splice(0).map((email) => email.close()));
}

/** Keys and addresses unique to a test: the tests share Azurite's tables. */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export function recipient(): string {
  return `${unique('parent')}@example.org`;
}

export function reply(overrides: Partial<OutgoingEmail> = {}): OutgoingEmail {
  return {
    key: unique('mailbox-reply'),
    kind: 'mailbox-reply',
    to: recipient(),
    subject: 'Re: Horaires de la rentrée',
    text: 'Bonjour,\nLes cours reprennent le lundi 7 septembre à 8 h 30.\n',
    messageId: `${unique('reply')}@ecole.example.org`,
    inReplyTo: 'question-1@parents.example.net',
    references: ['thread-0@parents.example.net', 'question-1@parents.example.net'],
    headers: { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' },
    ...overrides,
  };
}

/**
 * A self-signed certificate for 127.0.0.1 (openssl), trusted by this test process from now on: the
 * SDK sends bearer tokens over HTTPS only, so the local ACS server serves HTTPS for those tests.
 */
export function trustedLocalCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'acs-tls-'));
  try {
    const [key, cert] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1'].concat([
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ]),
      { stdio: 'ignore' },
    );
    const pair = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), pair.cert]);
    return pair;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
