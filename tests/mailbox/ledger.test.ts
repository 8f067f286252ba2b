import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import { LEDGER_LIMITS, MailboxLedger, ledgerId, type LedgerEntry } from '../../functions/mailbox/ledger';
import { ConflictError } from '../../functions/platform/errors';

/** A ledger on a table of its own in the shared Azurite, with a clock the test moves. */
function freshLedger(start = '2025-03-10T08:00:00.000Z') {
  const table = TableClient.fromConnectionString(
    inject('azuriteConnectionString'),
    `ledger${randomBytes(6).toString('hex')}`,
    { allowInsecureConnection: true },
  );
  const clock = { now: new Date(start) };
  return { ledger: new MailboxLedger(table, () => clock.now), clock, table };
}

let counter = 0;
function entry(overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  const messageId = overrides.messageId ?? `m${++counter}@parent.example`;
  return {
    id: ledgerId(messageId),
    messageId,
    uid: counter,
    uidValidity: '1700000000',
    from: 'parent@example.org',
    subject: 'Horaires de la rentrée',
    receivedAt: '2025-03-10T07:00:00.000Z',
    size: 1200,
    status: 'pending',
    attempts: 0,
    createdAt: '2025-03-10T08:00:00.000Z',
    updatedAt: '2025-03-10T08:00:00.000Z',
    ...overrides,
  };
}

const sentAt = (iso: string) => ({
  to: 'parent@example.org',
  subject: 'Re: x',
  text: 'Bonjour',
  sentAt: iso,
});

describe('mailbox ledger (Azure Tables)', () => {
  it('derives a stable 32-hex id from the Message-ID', () => {
    expect(ledgerId('abc@example.org')).toMatch(/^[0-9a-f]{32}$/);
    expect(ledgerId('abc@example.org')).toBe(ledgerId('abc@example.org'));
    expect(ledgerId('abc@example.org')).not.toBe(ledgerId('abd@example.org'));
  });

  it('inserts a mail once: a second insert with the same id overwrites nothing', async () => {
    const { ledger } = freshLedger();
    const first = entry({ subject: 'Inscription en BTS', uid: 4_000_000_000 });
    expect(await ledger.insertIfNew(first)).toBe(true);
    expect(await ledger.insertIfNew({ ...first, subject: 'changed', status: 'skipped' })).toBe(false);
    const stored = await ledger.get(first.id);
    expect(stored).toMatchObject({ subject: 'Inscription en BTS', status: 'pending', uid: 4_000_000_000 });
    expect(stored?.etag).toBeTruthy();
    expect(await ledger.get(ledgerId('unknown@example.org'))).toBeUndefined();
    expect(await ledger.get('not-an-id')).toBeUndefined();
  });

  it('refuses an entry whose reply text is over the cap, naming the field', async () => {
    const { ledger } = freshLedger();
    const tooLong = entry({
      reply: { to: 'a@b.org', subject: 'Re: x', text: 'x'.repeat(LEDGER_LIMITS.replyText + 1) },
    });
    await expect(ledger.insertIfNew(tooLong)).rejects.toThrow(/reply\.text/);
  });

  it('updates with optimistic concurrency: a stale copy gets a ConflictError', async () => {
    const { ledger, clock } = freshLedger();
    const mail = entry();
    await ledger.insertIfNew(mail);
    const read = await ledger.get(mail.id);
    if (!read) throw new Error('entry missing');
    clock.now = new Date('2025-03-10T08:05:00.000Z');
    const updated = await ledger.update(read, { status: 'drafted', reason: 'low-confidence', attempts: 1 });
    expect(updated).toMatchObject({ status: 'drafted', reason: 'low-confidence', attempts: 1 });
    expect(updated.updatedAt).toBe('2025-03-10T08:05:00.000Z');
    expect(updated.createdAt).toBe(mail.createdAt);

    // The copy read before that update is stale, with its ETag or without one.
    await expect(ledger.update(read, { status: 'replied' })).rejects.toBeInstanceOf(ConflictError);
    await expect(ledger.update(mail, { status: 'replied' })).rejects.toBeInstanceOf(ConflictError);
    // The copy the update returned is current: it can be updated again, and a patch can clear a field.
    const again = await ledger.update(updated, { status: 'replied', reason: undefined });
    expect(await ledger.get(mail.id)).toMatchObject({ status: 'replied', attempts: 1 });
    expect((await ledger.get(mail.id))?.reason).toBeUndefined();
    expect(again.etag).not.toBe(updated.etag);
  });

  it('keeps id and Message-ID whatever the patch says', async () => {
    const { ledger } = freshLedger();
    const mail = entry();
    await ledger.insertIfNew(mail);
    const read = await ledger.get(mail.id);
    if (!read) throw new Error('entry missing');
    const updated = await ledger.update(read, { id: ledgerId('other'), messageId: 'other' });
    expect(updated).toMatchObject({ id: mail.id, messageId: mail.messageId });
  });

  it('lists newest first, filtered by status, category and sender (any case), up to the limit', async () => {
    const { ledger } = freshLedger();
    const mails = [
      entry({ receivedAt: '2025-03-01T10:00:00.000Z', status: 'replied', category: 'horaires' }),
      entry({ receivedAt: '2025-03-03T10:00:00.000Z', status: 'replied', category: 'programme' }),
      entry({ receivedAt: '2025-03-02T10:00:00.000Z', status: 'skipped', reason: 'auto-submitted' }),
      entry({ receivedAt: '2025-03-04T10:00:00.000Z', status: 'drafted', from: 'Eleve@School.example' }),
    ];
    for (const mail of mails) await ledger.insertIfNew(mail);
    const subjects = (list: LedgerEntry[]) => list.map((e) => e.receivedAt.slice(0, 10));

    expect(subjects(await ledger.list({}))).toEqual(['2025-03-04', '2025-03-03', '2025-03-02', '2025-03-01']);
    expect(subjects(await ledger.list({ status: 'replied' }))).toEqual(['2025-03-03', '2025-03-01']);
    expect(subjects(await ledger.list({ category: 'horaires' }))).toEqual(['2025-03-01']);
    expect(subjects(await ledger.list({ from: 'eleve@school.EXAMPLE' }))).toEqual(['2025-03-04']);
    expect(subjects(await ledger.list({ limit: 2 }))).toEqual(['2025-03-04', '2025-03-03']);
    expect(await ledger.list({ status: 'failed' })).toEqual([]);
  });

  it('counts replies sent since a time, in all and to one sender', async () => {
    const { ledger } = freshLedger();
    await ledger.insertIfNew(entry({ status: 'replied', reply: sentAt('2025-03-10T07:10:00.000Z') }));
    await ledger.insertIfNew(entry({ status: 'replied', reply: sentAt('2025-03-10T07:50:00.000Z') }));
    await ledger.insertIfNew(
      entry({ status: 'replied', from: 'Other@Example.org', reply: sentAt('2025-03-10T07:55:00.000Z') }),
    );
    // Sent at 06:20 UTC, written with an offset: dates are kept in UTC, so it is not counted after 07:30.
    await ledger.insertIfNew(entry({ status: 'replied', reply: sentAt('2025-03-10T08:20:00+02:00') }));
    // A draft has a reply that was never sent.
    await ledger.insertIfNew(
      entry({ status: 'drafted', reply: { to: 'a@b.org', subject: 'Re: x', text: 'x' } }),
    );

    const since = new Date('2025-03-10T07:30:00.000Z');
    expect(await ledger.countRepliesSince(since)).toBe(2);
    expect(await ledger.countRepliesSince(since, 'PARENT@example.org')).toBe(1);
    const sevenAm = new Date('2025-03-10T07:00:00.000Z');
    expect(await ledger.countRepliesSince(sevenAm, 'parent@example.org')).toBe(2);
    expect(await ledger.countRepliesSince(new Date('2025-03-10T06:00:00.000Z'), 'parent@example.org')).toBe(
      3,
    );
    expect(await ledger.countRepliesSince(new Date('2025-03-10T08:00:00.000Z'))).toBe(0);
  });

  it("counts the last hour's replies from the table at most every 10 s, adding those it records meanwhile", async () => {
    const { ledger, clock, table } = freshLedger();
    const otherInstance = new MailboxLedger(table, () => clock.now);
    await ledger.insertIfNew(entry({ status: 'replied', reply: sentAt('2025-03-10T07:30:00.000Z') }));
    expect(await ledger.repliesInLastHour()).toBe(1);

    const reply = async (on: MailboxLedger) => {
      const mail = entry();
      await on.insertIfNew(mail);
      const read = await on.get(mail.id);
      if (!read) throw new Error('entry missing');
      await on.update(read, { status: 'replied', reply: sentAt(clock.now.toISOString()) });
    };
    await reply(ledger);
    expect(await ledger.repliesInLastHour()).toBe(2);
    // Another instance's reply shows once the count is read again.
    await reply(otherInstance);
    expect(await ledger.repliesInLastHour()).toBe(2);
    clock.now = new Date('2025-03-10T08:00:10.000Z');
    expect(await ledger.repliesInLastHour()).toBe(3);
    // The 07:30 reply leaves the hour.
    clock.now = new Date('2025-03-10T08:30:01.000Z');
    expect(await ledger.repliesInLastHour()).toBe(2);
  });

  it('keeps the last answer per sender (any case) and thread, for the cooldown', async () => {
    const { ledger } = freshLedger();
    const [first, second] = [entry(), entry()];
    expect(await ledger.lastReplyInThread('parent@example.org', 'horaires')).toBeUndefined();
    await ledger.recordReplyInThread('Parent@Example.org', 'horaires', {
      id: first.id,
      sentAt: '2025-03-10T08:10:00+01:00',
    });
    expect(await ledger.lastReplyInThread('parent@example.org', 'horaires')).toEqual({
      id: first.id,
      sentAt: '2025-03-10T07:10:00.000Z',
    });
    expect(await ledger.lastReplyInThread('parent@example.org', 'inscription')).toBeUndefined();
    expect(await ledger.lastReplyInThread('other@example.org', 'horaires')).toBeUndefined();
    await ledger.recordReplyInThread('parent@example.org', 'horaires', {
      id: second.id,
      sentAt: '2025-03-10T07:40:00.000Z',
    });
    expect(await ledger.lastReplyInThread('parent@example.org', 'horaires')).toMatchObject({ id: second.id });
    // Thread rows are not mails: the lists and counts of mails do not see them.
    expect(await ledger.list({})).toEqual([]);
  });

  it('lists the replied mails whose \\Answered flag is still to set, until it is recorded either way', async () => {
    const { ledger } = freshLedger();
    const replied = entry({ status: 'replied', reply: sentAt('2025-03-10T07:10:00.000Z') });
    const refused = entry({ status: 'replied', reply: sentAt('2025-03-10T07:11:00.000Z') });
    await ledger.insertIfNew(replied);
    await ledger.insertIfNew(refused);
    await ledger.insertIfNew(entry({ status: 'pending' }));
    expect((await ledger.unflagged()).map((e) => e.id).sort()).toEqual([replied.id, refused.id].sort());
    expect(await ledger.unflagged(1)).toHaveLength(1);

    const [a, b] = await Promise.all([ledger.get(replied.id), ledger.get(refused.id)]);
    if (!a || !b) throw new Error('entries missing');
    await ledger.update(a, { answeredFlagged: true });
    await ledger.update(b, { answeredFlagged: false });
    expect(await ledger.unflagged()).toEqual([]);
  });

  it('keeps one checkpoint per folder, and the baseline time across later updates', async () => {
    const { ledger } = freshLedger();
    expect(await ledger.getCheckpoint('INBOX')).toBeUndefined();
    await ledger.setCheckpoint('INBOX', {
      uidValidity: '42',
      lastUid: 7,
      baselineAt: '2025-03-10T08:00:00.000Z',
    });
    await ledger.setCheckpoint('INBOX', { uidValidity: '43', lastUid: 4_294_967_295 });
    await ledger.setCheckpoint('Élèves/Inscriptions #2?', { uidValidity: '1', lastUid: 0 });
    expect(await ledger.getCheckpoint('INBOX')).toEqual({
      uidValidity: '43',
      lastUid: 4_294_967_295,
      baselineAt: '2025-03-10T08:00:00.000Z',
    });
    expect(await ledger.getCheckpoint('Élèves/Inscriptions #2?')).toEqual({ uidValidity: '1', lastUid: 0 });
  });
});
