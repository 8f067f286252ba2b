import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { startDovecot } from '../local/servers/dovecot';
import { startSmtpSink } from '../local/servers/smtpSink';
import { APP_ROOT } from './localEnvironment';

/**
 * `npm run mailbox:sandbox`: a school mailbox to try the responder on, with nothing installed but
 * Debian's dovecot-imapd: Dovecot on loopback with the sample school's mailbox, and an SMTP sink that
 * shows every answer sent. It prints the settings for `npm run serve` (or `npm run mailbox`), then
 * delivers the sample mails you name, one per line (`horaires-fr.eml`, `out-of-office.eml`…).
 */
const SAMPLES = path.join(APP_ROOT, 'samples', 'mailbox');
const SCHOOL = { address: 'contact@institut-horizon.example', password: 'sandbox-password' };
const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const [dovecot, sink] = await Promise.all([startDovecot(), startSmtpSink()]);
  await dovecot.users.create(SCHOOL.address, SCHOOL.password);
  const stop = async () => {
    await Promise.all([dovecot.stop(), sink.close()]);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  process.on('SIGHUP', () => void stop());

  const settings = {
    MAILBOX_IMAP_HOST: dovecot.host,
    MAILBOX_IMAP_PORT: String(dovecot.port),
    MAILBOX_IMAP_TLS: 'false',
    MAILBOX_USER: SCHOOL.address,
    MAILBOX_PASSWORD: SCHOOL.password,
    MAILBOX_ADDRESS: SCHOOL.address,
    MAILBOX_REPLY_MODE: 'send',
    MAILBOX_POLL_SCHEDULE: '*/15 * * * * *',
    EMAIL_PROVIDER: 'smtp',
    EMAIL_SENDER: SCHOOL.address,
    SMTP_HOST: sink.host,
    SMTP_PORT: String(sink.port),
  };
  out(
    `Sandbox mailbox ${SCHOOL.address} on imap://${dovecot.host}:${dovecot.port}, SMTP sink on ${sink.host}:${sink.port}.`,
  );
  out('In another terminal, run the app with these settings (they poll every 15 s):');
  out(
    `  ${Object.entries(settings)
      .map(([k, v]) => `${k}='${v}'`)
      .join(' ')} npm run serve`,
  );
  out(
    'and load the sample knowledge base once: npm run mailbox -- --upload-knowledge samples/mailbox-knowledge',
  );
  out(`Then type the name of a sample mail to deliver it (from samples/mailbox/), or a path; Ctrl-C stops.`);

  let shown = 0;
  setInterval(() => {
    for (const message of sink.messages.slice(shown)) {
      out(`\n--- answer sent to ${message.envelope.to.join(', ')}: ${message.subject ?? ''}`);
      out(message.text ?? '');
    }
    shown = sink.messages.length;
  }, 500).unref();

  for await (const line of createInterface({ input: process.stdin })) {
    const name = line.trim();
    if (!name) continue;
    const file = name.includes('/') ? path.resolve(name) : path.join(SAMPLES, name);
    try {
      const uid = await dovecot.append(SCHOOL.address, 'INBOX', await readFile(file));
      out(`Delivered ${path.basename(file)} (UID ${uid}).`);
    } catch (error) {
      out(`Cannot deliver ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
