import { describe, expect, it } from 'vitest';
import { parseMail } from '../../functions/mailbox/message';
import { isSystemAddress, whyNotAnswer } from '../../functions/mailbox/rules';
import { rawMail, requestWith, sample, US } from './samples';

const why = async (...headers: string[]) => whyNotAnswer(await requestWith(...headers), US);

describe('whyNotAnswer', () => {
  it('answers a person’s plain request', async () => {
    expect(await why()).toBeUndefined();
    expect(whyNotAnswer(await sample('horaires-fr.eml'), US)).toBeUndefined();
    expect(whyNotAnswer(await sample('programme-en.eml'), US)).toBeUndefined();
  });

  it('skips the sample auto-reply, bounce, list mail, no-reply notification and reply to our answer', async () => {
    const reasons = Object.fromEntries(
      await Promise.all(
        [
          'out-of-office.eml',
          'bounce.eml',
          'mailing-list.eml',
          'noreply-notification.eml',
          'reply-to-our-answer.eml',
        ].map(async (name) => [name, whyNotAnswer(await sample(name), US)] as const),
      ),
    );
    expect(reasons).toEqual({
      'out-of-office.eml': 'auto-submitted',
      'bounce.eml': 'null-sender',
      'mailing-list.eml': 'precedence',
      'noreply-notification.eml': 'system-sender',
      'reply-to-our-answer.eml': 'own-thread',
    });
  });

  it('skips any Auto-Submitted other than "no" (RFC 3834 §2)', async () => {
    expect(await why('Auto-Submitted: auto-replied')).toBe('auto-submitted');
    expect(await why('Auto-Submitted: auto-generated')).toBe('auto-submitted');
    expect(await why('Auto-Submitted: Auto-Notified (vacation)')).toBe('auto-submitted');
    expect(await why('Auto-Submitted: no')).toBeUndefined();
    expect(await why('Auto-Submitted: No (sent by a person)')).toBeUndefined();
  });

  it('skips Precedence bulk, list and junk, in any case', async () => {
    expect(await why('Precedence: bulk')).toBe('precedence');
    expect(await why('Precedence: LIST')).toBe('precedence');
    expect(await why('Precedence: junk')).toBe('precedence');
    expect(await why('Precedence: first-class')).toBeUndefined();
  });

  it('skips mail carrying any List-* header', async () => {
    expect(await why('List-Id: <students.lists.example.org>')).toBe('list');
    expect(await why('List-Unsubscribe: <mailto:leave@lists.example.org>')).toBe('list');
    expect(await why('List-Help: <https://lists.example.org/help>')).toBe('list');
  });

  it('skips X-Auto-Response-Suppress All, OOF or AutoReply, not DR or RN alone', async () => {
    expect(await why('X-Auto-Response-Suppress: All')).toBe('auto-response-suppressed');
    expect(await why('X-Auto-Response-Suppress: DR, OOF')).toBe('auto-response-suppressed');
    expect(await why('X-Auto-Response-Suppress: AutoReply')).toBe('auto-response-suppressed');
    expect(await why('X-Auto-Response-Suppress: DR, RN, NRN')).toBeUndefined();
  });

  it('skips an X-Loop carrying our address (our own answer coming back), not another one', async () => {
    expect(await why('X-Loop: Contact@Institut-Horizon.example')).toBe('loop');
    expect(await why('X-Loop: yes')).toBe('loop');
    expect(await why('X-Loop: helpdesk@example.org')).toBeUndefined();
  });

  it('skips a null Return-Path', async () => {
    expect(await why('Return-Path: <>')).toBe('null-sender');
    expect(await why('Return-Path: <marie.curie@example.org>')).toBeUndefined();
  });

  it('skips delivery reports (multipart/report) even with a sender', async () => {
    expect(
      await why(
        'Return-Path: <postmaster@mx.example.org>',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="x"',
      ),
    ).toBe('delivery-report');
    expect(
      await why('Content-Type: Multipart/Report; report-type=disposition-notification; boundary="y"'),
    ).toBe('delivery-report');
  });

  it('skips system and no-reply senders, case-insensitively', async () => {
    const from = async (address: string) =>
      whyNotAnswer(await parseMail(rawMail([`From: ${address}`, 'Subject: x'])), US);
    for (const address of [
      'MAILER-DAEMON@mx.example.org',
      'Postmaster@example.org',
      'noreply@example.org',
      'No-Reply@example.org',
      'notifications-noreply@example.org',
      'do-not-reply.billing@example.org',
      'students-request@lists.example.org',
      'owner-students@lists.example.org',
    ]) {
      expect(await from(address), address).toBe('system-sender');
    }
    expect(await from('norbert@example.org')).toBeUndefined();
    expect(await from('reply.desk@example.org')).toBeUndefined();
  });

  it('skips a mail whose Reply-To (where the answer would go) is a no-reply address', async () => {
    expect(await why('Reply-To: no-reply@example.org')).toBe('system-sender');
  });

  it('skips mail from our own address', async () => {
    const ours = await parseMail(
      rawMail(['From: Institut <CONTACT@institut-horizon.example>', 'Subject: test']),
    );
    expect(whyNotAnswer(ours, US)).toBe('own-address');
  });

  it('skips mail whose In-Reply-To or References hold a Message-ID of our domain', async () => {
    expect(await why('In-Reply-To: <reply-1@institut-horizon.example>')).toBe('own-thread');
    expect(await why('References: <a@example.org> <reply-1@Institut-Horizon.example>')).toBe('own-thread');
    expect(await why('In-Reply-To: <x@example.org>', 'References: <x@example.org>')).toBeUndefined();
  });

  it('skips mail with no usable sender: none, or one no email provider would take', async () => {
    const mail = await parseMail(rawMail(['Subject: anonymous']));
    expect(whyNotAnswer(mail, US)).toBe('no-sender');
    const odd = await parseMail(rawMail(['From: odd!bang@example.org', 'Subject: hello']));
    expect(odd.from?.address).toBe('odd!bang@example.org');
    expect(whyNotAnswer(odd, US)).toBe('no-sender');
  });
});

describe('isSystemAddress', () => {
  it('knows the robots by their local part only', () => {
    expect(isSystemAddress('mailer-daemon@example.org')).toBe(true);
    expect(isSystemAddress('marie@noreply.example.org')).toBe(false);
  });
});
