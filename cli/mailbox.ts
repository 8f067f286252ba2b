import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createAppRoot } from '../functions/app/root';
import type { OutgoingEmail, SendRecord } from '../functions/email';
import { createMailbox, type Mailbox, type MailSender } from '../functions/mailbox';
import type { ImapSession } from '../functions/mailbox/imap';
import { imapConnector } from '../functions/mailbox/imap';
import { uploadKnowledgeFolder } from '../functions/mailbox/knowledge';
import { CONTAINERS, QUEUES } from '../functions/platform/storageNames';
import type { StorageClients } from '../functions/platform/storage';
import { localSettings } from './localEnvironment';
import { runCommand, UsageError } from './command';

const USAGE = `Usage: npm run mailbox -- --once [--dry-run [--last N]]
       npm run mailbox -- --upload-knowledge <folder>
  --once      one poll of the mailbox and the processing of what it found, in this process
  --dry-run   prints what would be answered and sends nothing: the real ledger, the mailbox's flags and
              the outbound email are not touched (a throwaway ledger is used and removed)
  --last N    with --dry-run and no checkpoint yet: consider the folder's last N mails (default 10)
  --upload-knowledge <folder>  uploads the folder's Markdown documents to the mailbox-knowledge container
Settings: local.settings.json (else the sample), overridden by the environment, as npm run serve.
The last stdout line is a JSON summary {polled, replied, drafted, skipped, failed}.`;

const err = (line: string) => process.stderr.write(`${line}\n`);

interface Summary {
  polled: number;
  replied: number;
  drafted: number;
  skipped: number;
  failed: number;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      once: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      last: { type: 'string' },
      'upload-knowledge': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const knowledgeFolder = values['upload-knowledge'];
  if (!values.once && !knowledgeFolder)
    throw new UsageError('--once or --upload-knowledge is required (npm run serve polls on schedule).');
  const last = values.last === undefined ? 10 : Number(values.last);
  if (!Number.isInteger(last) || last < 1 || last > 1000) throw new UsageError('--last must be 1 to 1000.');

  const { settings, notes, azurite } = await localSettings();
  notes.forEach(err);
  try {
    const root = createAppRoot(settings);
    if (knowledgeFolder) {
      const container = root.storage.blobs.getContainerClient(CONTAINERS.mailboxKnowledge);
      const count = await uploadKnowledgeFolder(container, knowledgeFolder);
      err(`Uploaded ${count} document(s) from ${knowledgeFolder} to ${CONTAINERS.mailboxKnowledge}.`);
      if (!values.once) return 0;
    }
    if (!root.settings.mailbox.enabled)
      throw new UsageError('The mailbox is not set: MAILBOX_IMAP_HOST, MAILBOX_USER, MAILBOX_ADDRESS.');
    const run: { mailbox: Mailbox; queue: string; cleanUp?: () => Promise<void> } = values['dry-run']
      ? await dryRun(root, last)
      : { mailbox: root.mailbox, queue: QUEUES.mailboxIncoming };
    try {
      const summary = await pollAndProcess(run.mailbox, root.storage, run.queue, Boolean(values['dry-run']));
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return summary.failed > 0 ? 2 : 0;
    } finally {
      await run.cleanUp?.();
      // The SMTP pool keeps connections open for the next send; a one-shot command ends them.
      await root.email.close();
    }
  } finally {
    await azurite?.stop();
  }
}

/** One poll, then every queued mail processed here, as the queue trigger would. */
async function pollAndProcess(mailbox: Mailbox, storage: StorageClients, queueName: string, dryRun: boolean) {
  const poll = await mailbox.pollMailbox();
  err(`Polled: ${poll.polled} new mail(s), ${poll.queued + poll.requeued} to process.`);
  const summary: Summary = { polled: poll.polled, replied: 0, drafted: 0, skipped: 0, failed: 0 };
  const queue = storage.queues.getQueueClient(queueName);
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 60,
    });
    if (receivedMessageItems.length === 0) break;
    for (const message of receivedMessageItems) {
      const id = Buffer.from(message.messageText, 'base64').toString('utf8');
      try {
        const outcome = await mailbox.processMail(id, {
          dequeueCount: message.dequeueCount,
          maxDequeueCount: 5,
        });
        await queue.deleteMessage(message.messageId, message.popReceipt);
        const view = await mailbox.getMessage(id);
        if (outcome.status !== 'pending') summary[outcome.status]++;
        err(
          `- ${view.from} «${view.subject}»: ${outcome.status}${outcome.reason ? ` (${outcome.reason})` : ''}`,
        );
        if (view.reply && (outcome.status === 'replied' || outcome.status === 'drafted')) {
          const verb =
            dryRun && outcome.status === 'replied'
              ? 'would send'
              : outcome.status === 'replied'
                ? 'sent'
                : 'draft';
          err(`  ${verb} to ${view.reply.to}: ${view.reply.subject}\n${indent(view.reply.text)}`);
        }
      } catch (error) {
        // Left in the queue: it shows again after its visibility timeout, for the app or a later run.
        summary.failed++;
        err(`- mail ${id}: failed, retried later: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  return summary;
}

/**
 * A mailbox on throwaway storage names that reads the real folder without changing it (no flags) and
 * sends nothing. It starts from the real checkpoint, or from the folder's last `last` mails.
 */
async function dryRun(root: ReturnType<typeof createAppRoot>, last: number) {
  const suffix = randomBytes(4).toString('hex');
  const names = {
    ledgerTable: `mailboxdryrun${suffix}`,
    rawContainer: `mailbox-dry-run-${suffix}`,
    queue: `mailbox-dry-run-${suffix}`,
  };
  const connect = imapConnector(root.settings.mailbox);
  const readOnly = async (): Promise<ImapSession> => {
    const session = await connect();
    return { ...bind(session), addAnswered: () => Promise.resolve(false) };
  };
  const mailbox = createMailbox({
    settings: root.settings.mailbox,
    storage: root.storage,
    ai: root.ai,
    email: () => printingSender,
    connect: readOnly,
    names,
  });
  const real = await root.mailbox.checkpoint();
  const status = await mailbox.folderStatus();
  await mailbox.setCheckpoint(
    real ?? { uidValidity: status.uidValidity, lastUid: Math.max(0, status.uidNext - 1 - last) },
  );
  err(real ? "Dry run from the responder's checkpoint." : `Dry run over the folder's last ${last} mail(s).`);
  return {
    mailbox,
    queue: names.queue,
    cleanUp: async () => {
      await root.storage.tables.deleteTable(names.ledgerTable).catch(() => undefined);
      await root.storage.blobs.deleteContainer(names.rawContainer).catch(() => undefined);
      await root.storage.queues.deleteQueue(names.queue).catch(() => undefined);
    },
  };
}

/** The session's methods bound to it, so a copy with one method replaced still works. */
function bind(session: ImapSession): ImapSession {
  return {
    status: (folder) => session.status(folder),
    heads: (folder, afterUid) => session.heads(folder, afterUid),
    allHeads: (folder) => session.allHeads(folder),
    sources: (folder, uids, maxBytes) => session.sources(folder, uids, maxBytes),
    addAnswered: (folder, uids) => session.addAnswered(folder, uids),
    close: () => session.close(),
  };
}

/** The dry run's outbound email: records the answer as sent without sending it. */
const printingSender: MailSender = {
  provider: 'smtp',
  send: (message: OutgoingEmail): Promise<SendRecord> => {
    const now = new Date().toISOString();
    return Promise.resolve({
      key: message.key,
      kind: message.kind,
      to: message.to,
      subject: message.subject,
      provider: 'smtp',
      operationId: randomUUID(),
      status: 'sent',
      createdAt: now,
      updatedAt: now,
    });
  },
};

const indent = (text: string) =>
  text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');

runCommand(main, USAGE);
