import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppRoot, type AppRoot } from '../../functions/app/root';
import type { OutgoingEmail } from '../../functions/email';
import { createMailbox } from '../../functions/mailbox';
import { QUEUES } from '../../functions/platform/storageNames';
import { startAiServer, type LocalAiServer } from '../../local/servers/aiServer';
import { startMailboxWorld, SCHOOL, type MailboxWorld } from '../../local/servers/mailWorld';

let world: MailboxWorld;
beforeAll(async () => {
  world = await startMailboxWorld(path.resolve(__dirname, '../..'));
});
afterAll(async () => {
  await world?.stop();
});

/** Takes every queued mail id, as the queue trigger would receive them. */
async function drainQueue(): Promise<string[]> {
  const queue = world.storage.queues.getQueueClient(QUEUES.mailboxIncoming);
  const ids: string[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) return ids;
    for (const m of receivedMessageItems) {
      ids.push(Buffer.from(m.messageText, 'base64').toString('utf8'));
      await queue.deleteMessage(m.messageId, m.popReceipt);
    }
  }
}

const once = { dequeueCount: 1, maxDequeueCount: 5 };

describe('the mailbox responder, capability level (Dovecot, SMTP sink, Azurite, offline AI)', () => {
  let root: AppRoot;
  beforeAll(async () => {
    root = createAppRoot(world.settings());
    // The first poll takes the folder as it is: only mail arriving afterwards is answered.
    expect(await root.mailbox.pollMailbox()).toMatchObject({ polled: 0, queued: 0 });
  });

  it('answers a timetable request from the knowledge base, once, and leaves a crash between send and record at one reply', async () => {
    await world.deliver('horaires-fr.eml', { messageId: 'flow-horaires@mail.example.com' });
    await root.mailbox.pollMailbox();
    const [id, ...more] = await drainQueue();
    expect(more).toEqual([]);

    // The process stops right after the provider accepted the answer, before the ledger recorded it.
    const sent: OutgoingEmail[] = [];
    const crashing = createMailbox({
      settings: root.settings.mailbox,
      storage: root.storage,
      ai: root.ai,
      email: () => ({
        ...root.email,
        send: async (message: OutgoingEmail) => {
          sent.push(message);
          await root.email.send(message);
          throw new Error('the worker died');
        },
      }),
    });
    await expect(crashing.processMail(id ?? '', once)).rejects.toThrow('the worker died');
    expect((await root.mailbox.getMessage(id ?? '')).status).toBe('pending');

    // The queue delivers the message again: the answer goes under the same key, so nothing is resent.
    const outcome = await root.mailbox.processMail(id ?? '', { dequeueCount: 2, maxDequeueCount: 5 });
    expect(outcome.status).toBe('replied');
    const toLea = world.sink.messages.filter((m) => m.envelope.to.includes('lea.martin@example.com'));
    expect(toLea).toHaveLength(1);
    const answer = toLea[0];
    expect(answer?.subject).toBe("Re: Horaires d'ouverture et date de rentrée");
    expect(answer?.inReplyTo).toBe('<flow-horaires@mail.example.com>');
    expect(answer?.headers['auto-submitted']).toBe('auto-replied');
    expect(answer?.messageId).toBe(`<${sent[0]?.messageId ?? ''}>`);
    // The hours come from the school's documents, not from the model's imagination.
    expect(answer?.text).toMatch(/8\s?h\s?30|08:30/);

    // Delivered again (a second poll, a duplicate queue message): still one answer.
    await root.mailbox.pollMailbox();
    await root.mailbox.processMail(id ?? '', once);
    expect(world.sink.messages.filter((m) => m.envelope.to.includes('lea.martin@example.com'))).toHaveLength(
      1,
    );
    const view = await root.mailbox.getMessage(id ?? '');
    expect(view).toMatchObject({ status: 'replied', category: 'horaires', language: 'fr' });
  });

  it('skips an out-of-office reply and a bounce, recording why, and sends nothing', async () => {
    const before = world.sink.messages.length;
    await world.deliver('out-of-office.eml');
    await world.deliver('bounce.eml');
    await root.mailbox.pollMailbox();
    const outcomes = [];
    for (const id of await drainQueue()) outcomes.push(await root.mailbox.processMail(id, once));
    expect(outcomes.map((o) => [o.status, o.reason]).sort()).toEqual([
      ['skipped', 'auto-submitted'],
      ['skipped', 'null-sender'], // the bounce: Return-Path <>, and a delivery report besides
    ]);
    expect(world.sink.messages.length).toBe(before);
  });

  it('keeps an answer as a draft in review mode, sends the edited text on approval, once', async () => {
    const review = createAppRoot(world.settings({ MAILBOX_REPLY_MODE: 'draft' }));
    await world.deliver('programme-en.eml', { messageId: 'flow-programme@example.net' });
    await review.mailbox.pollMailbox();
    const [id] = await drainQueue();
    expect(await review.mailbox.processMail(id ?? '', once)).toMatchObject({
      status: 'drafted',
      reason: 'review-mode',
    });
    const draft = await review.mailbox.getMessage(id ?? '');
    expect(draft.language).toBe('en');
    expect(draft.reply?.text).toBeTruthy();
    const before = world.sink.messages.length;

    const approved = await review.mailbox.approve(
      id ?? '',
      'Dear Sam, our programmes are listed on our site.',
    );
    expect(approved.status).toBe('replied');
    expect(world.sink.messages.length).toBe(before + 1);
    expect(world.sink.messages.at(-1)?.text).toContain('Dear Sam, our programmes are listed on our site.');
    await expect(review.mailbox.approve(id ?? '', 'again')).rejects.toThrow(/only a drafted answer/);
    expect(world.sink.messages.length).toBe(before + 1);
  });

  it('answers nothing twice when the server changes UIDVALIDITY', async () => {
    const before = world.sink.messages.length;
    await world.dovecot.setUidValidity(SCHOOL.user, 'INBOX', 777);
    const result = await root.mailbox.pollMailbox();
    expect(result.uidValidityChanged).toBe(true);
    for (const id of await drainQueue()) await root.mailbox.processMail(id, once);
    expect(world.sink.messages.length).toBe(before);
  });

  it('counts by category and status, with the median time to answer', async () => {
    const stats = await root.mailbox.stats();
    expect(stats.byStatus).toMatchObject({ replied: 2, skipped: 2 });
    expect(stats.byCategory).toMatchObject({ horaires: 1, programme: 1 });
    expect(stats.medianSecondsToAnswer).toEqual(expect.any(Number));
  });

  it('keeps a mail pending while the AI is down, and answers it once the AI is back', async () => {
    let aiDown = true;
    const ai = await startAiServer({
      fault: () => (aiDown ? 'error500' : 'none'),
      // A model that follows the prompts: JSON for the classification, then a plain answer.
      reply: (body) =>
        JSON.stringify(body.messages ?? []).includes('You sort the mail')
          ? '{"category": "horaires", "confidence": 0.92, "language": "fr", "summary": "Horaires et rentrée."}'
          : "Bonjour Léa,\n\nL'accueil vous recevra volontiers pour déposer vos documents.\n\nCordialement,",
    });
    let now = Date.now();
    const remote = createAppRoot(
      world.settings({
        AI_PROVIDER: 'openai',
        OPENAI_BASE_URL: `${ai.url}/v1`,
        AI_MAX_RETRIES: '0',
        AI_CACHE_TTL_HOURS: '0',
        MAILBOX_SENDER_COOLDOWN_HOURS: '0',
      }),
      () => new Date(now),
    );
    try {
      await world.deliver('horaires-fr.eml', { messageId: 'flow-ai-down@mail.example.com' });
      await remote.mailbox.pollMailbox();
      const [id] = await drainQueue();
      // Every delivery of the queue message fails while the model answers 500s; the mail stays pending.
      for (let dequeueCount = 1; dequeueCount <= 5; dequeueCount++) {
        await expect(
          remote.mailbox.processMail(id ?? '', { dequeueCount, maxDequeueCount: 5 }),
        ).rejects.toThrow();
      }
      expect((await remote.mailbox.getMessage(id ?? '')).status).toBe('pending');

      // The AI is back; a later poll finds the mail still pending and queues it again.
      aiDown = false;
      now += 11 * 60_000;
      expect(await remote.mailbox.pollMailbox()).toMatchObject({ requeued: 1 });
      const [again] = await drainQueue();
      expect(again).toBe(id);
      expect(await remote.mailbox.processMail(again ?? '', once)).toMatchObject({ status: 'replied' });
    } finally {
      await ai.close();
    }
  });
});

describe('answers held for a person, and mail not answered again', () => {
  const model = {
    confidence: 0.9,
    answer: 'Bonjour,\n\nMerci pour votre message ; notre accueil vous répond volontiers.',
  };
  let ai: LocalAiServer;
  beforeAll(async () => {
    ai = await startAiServer({
      reply: (body) =>
        JSON.stringify(body.messages ?? []).includes('You sort the mail')
          ? JSON.stringify({
              category: 'horaires',
              confidence: model.confidence,
              language: 'fr',
              summary: 'Horaires.',
            })
          : model.answer,
    });
  });
  afterAll(() => ai?.close());

  const rootWith = (overrides: Record<string, string> = {}) =>
    createAppRoot(
      world.settings({
        AI_PROVIDER: 'openai',
        OPENAI_BASE_URL: `${ai.url}/v1`,
        AI_CACHE_TTL_HOURS: '0',
        ...overrides,
      }),
    );
  let n = 0;
  /** A new request from `from`, polled and processed now; returns its outcome. */
  async function ask(root: AppRoot, from: string, subject: string) {
    n++;
    const raw = [
      `From: ${from}`,
      `To: ${SCHOOL.user}`,
      `Subject: ${subject}`,
      `Message-ID: <held-${n}@example.org>`,
      '',
      'Bonjour, quels sont vos horaires ?',
      '',
    ].join('\r\n');
    await world.dovecot.append(SCHOOL.user, 'INBOX', raw);
    await root.mailbox.pollMailbox();
    const [id] = await drainQueue();
    return root.mailbox.processMail(id ?? '', once);
  }

  it('holds an answer naming an hour the documents do not give (ungrounded), and one classified without confidence', async () => {
    const root = rootWith();
    const before = world.sink.messages.length;
    model.answer = "Bonjour,\n\nL'accueil est ouvert de 9h45 à 16h10.";
    expect(await ask(root, 'nina@example.org', 'Horaires')).toMatchObject({
      status: 'drafted',
      reason: 'ungrounded',
    });
    model.answer = 'Bonjour,\n\nMerci pour votre message ; notre accueil vous répond volontiers.';
    model.confidence = 0.4;
    expect(await ask(root, 'omar@example.org', 'Horaires')).toMatchObject({
      status: 'drafted',
      reason: 'low-confidence',
    });
    model.confidence = 0.9;
    expect(world.sink.messages.length).toBe(before);
  });

  it('does not answer the same sender in the same thread again within the cooldown', async () => {
    const root = rootWith();
    expect(await ask(root, 'pia@example.org', 'Question horaires')).toMatchObject({ status: 'replied' });
    expect(await ask(root, 'pia@example.org', 'RE: Question horaires')).toMatchObject({
      status: 'skipped',
      reason: 'cooldown',
    });
    expect(await ask(root, 'pia@example.org', 'Autre question')).toMatchObject({ status: 'replied' });
  });

  it('holds answers as drafts past the hourly cap', async () => {
    const root = rootWith({ MAILBOX_MAX_REPLIES_PER_HOUR: '1' });
    expect(await ask(root, 'quentin@example.org', 'Horaires')).toMatchObject({
      status: 'drafted',
      reason: 'hourly-cap',
    });
  });
});
