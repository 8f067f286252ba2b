import { readFileSync } from 'node:fs';
import path from 'node:path';
import { uploadKnowledgeFolder } from '../../functions/mailbox/knowledge';
import { createStorageClients, type StorageClients } from '../../functions/platform/storage';
import { CONTAINERS } from '../../functions/platform/storageNames';
import { startAzurite, type AzuriteInstance } from '../azurite';
import { startDovecot, type Dovecot } from './dovecot';
import { startSmtpSink, type SmtpSink } from './smtpSink';

/** The sample folders, under the repository root (the caller knows where it runs from: sources or dist/). */
export const sampleFolders = (repoRoot: string) => ({
  mails: path.join(repoRoot, 'samples/mailbox'),
  knowledge: path.join(repoRoot, 'samples/mailbox-knowledge'),
});

/** The sample school's mailbox: the address the sample mails are written to. */
export const SCHOOL = { user: 'contact@institut-horizon.example', password: 'horizon-secret' };

/**
 * Everything the mailbox talks to, real and local, for the tests and the benchmark: its own Azurite (the ledger, queue and containers
 * have fixed names, so mailbox tests do not share storage), Dovecot with the school's mailbox, an SMTP
 * sink for the answers, and the sample knowledge base uploaded.
 */
export interface MailboxWorld {
  azurite: AzuriteInstance;
  storage: StorageClients;
  dovecot: Dovecot;
  sink: SmtpSink;
  /** App settings for the mailbox, SMTP and the offline AI, on this world. */
  settings(overrides?: Record<string, string>): Record<string, string>;
  /** Appends a sample mail (by file name) to the school's INBOX; `messageId` replaces its Message-ID. */
  deliver(sample: string, options?: { messageId?: string }): Promise<number>;
  stop(): Promise<void>;
}

export async function startMailboxWorld(repoRoot: string): Promise<MailboxWorld> {
  const samples = sampleFolders(repoRoot);
  const [azurite, dovecot, sink] = await Promise.all([startAzurite(), startDovecot(), startSmtpSink()]);
  await dovecot.users.create(SCHOOL.user, SCHOOL.password);
  const storage = createStorageClients({
    kind: 'connectionString',
    connectionString: azurite.connectionString,
  });
  await uploadKnowledgeFolder(
    storage.blobs.getContainerClient(CONTAINERS.mailboxKnowledge),
    samples.knowledge,
  );
  return {
    azurite,
    storage,
    dovecot,
    sink,
    settings: (overrides = {}) => ({
      AzureWebJobsStorage: azurite.connectionString,
      FUNCTIONS_WORKER_RUNTIME: 'node',
      DURABLE_TASK_HUB: `mail${Math.random().toString(36).slice(2, 10)}`,
      AI_PROVIDER: 'offline',
      MAILBOX_IMAP_HOST: dovecot.host,
      MAILBOX_IMAP_PORT: String(dovecot.port),
      MAILBOX_IMAP_TLS: 'false',
      MAILBOX_USER: SCHOOL.user,
      MAILBOX_PASSWORD: SCHOOL.password,
      MAILBOX_ADDRESS: SCHOOL.user,
      MAILBOX_POLL_SCHEDULE: '0 */2 * * * *',
      EMAIL_PROVIDER: 'smtp',
      EMAIL_SENDER: SCHOOL.user,
      SMTP_HOST: sink.host,
      SMTP_PORT: String(sink.port),
      ...overrides,
    }),
    deliver: (sample, options = {}) => {
      let raw = readFileSync(path.join(samples.mails, sample), 'latin1');
      if (options.messageId) raw = raw.replace(/^Message-ID:.*$/im, `Message-ID: <${options.messageId}>`);
      return dovecot.append(SCHOOL.user, 'INBOX', Buffer.from(raw, 'latin1'));
    },
    stop: async () => {
      await Promise.all([dovecot.stop(), sink.close(), azurite.stop()]);
    },
  };
}
