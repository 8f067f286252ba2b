import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateEmail } from '../../functions/email/message';
import { parseMail } from '../../functions/mailbox/message';
import {
  baseSubject,
  composeReply,
  loadReplyTemplates,
  MAX_REFERENCES,
  replyTemplate,
  replyVariables,
} from '../../functions/mailbox/reply';
import { InvalidInputError } from '../../functions/platform/errors';
import { rawMail, requestWith, sample, US } from './samples';

const fixedId = () => 'reply-0001';

describe('composeReply', () => {
  it('answers the sender only, with Re: subject, threading ids and the auto-reply headers', async () => {
    const mail = await sample('horaires-fr.eml');
    const draft = composeReply(mail, 'Bonjour Léa,\r\nNos horaires…\r\n', US, fixedId);
    expect(draft).toEqual({
      to: 'lea.martin@example.com',
      subject: "Re: Horaires d'ouverture et date de rentrée",
      text: 'Bonjour Léa,\nNos horaires…',
      messageId: 'reply-0001@institut-horizon.example',
      inReplyTo: '20261116091200.4821@mail.example.com',
      references: ['20261116091200.4821@mail.example.com'],
      headers: {
        'Auto-Submitted': 'auto-replied',
        'X-Auto-Response-Suppress': 'All',
        'X-Loop': 'contact@institut-horizon.example',
      },
    });
  });

  it('is accepted as it is by the outbound email capability', async () => {
    const mail = await sample('programme-en.eml');
    const draft = composeReply(mail, 'Dear James…', US, fixedId);
    expect(() => validateEmail({ key: 'mailbox-reply:1', kind: 'mailbox-reply', ...draft })).not.toThrow();
  });

  it('continues the thread: References are the original References then its Message-ID', async () => {
    const mail = await sample('reply-to-our-answer.eml');
    const draft = composeReply(mail, 'Réponse', US, fixedId);
    expect(draft.subject).toBe("Re: Horaires d'ouverture et date de rentrée");
    expect(draft.inReplyTo).toBe('20261116100200.5120@mail.example.com');
    expect(draft.references).toEqual([
      '20261116091200.4821@mail.example.com',
      'reply-3f9a1c@institut-horizon.example',
      '20261116100200.5120@mail.example.com',
    ]);
  });

  it('uses In-Reply-To when the mail has no References, and nothing when it has no Message-ID', async () => {
    const child = await requestWith('In-Reply-To: <parent@example.org>');
    expect(composeReply(child, 'x', US, fixedId).references).toEqual([
      'parent@example.org',
      'abc123@example.org',
    ]);

    const orphan = await sample('malformed.eml');
    const draft = composeReply(orphan, 'x', US, fixedId);
    expect(draft.inReplyTo).toBeUndefined();
    expect(draft.references).toEqual([]);
    expect(draft.subject).toBe('Re: Renseignements sur la rentrée');
  });

  it('keeps the first and the latest References when the thread is long', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `<m${i}@example.org>`).join(' ');
    const mail = await requestWith(`References: ${ids}`);
    const { references } = composeReply(mail, 'x', US, fixedId);
    expect(references).toHaveLength(MAX_REFERENCES);
    expect(references[0]).toBe('m0@example.org');
    expect(references.slice(-2)).toEqual(['m29@example.org', 'abc123@example.org']);
  });

  it('drops thread ids that are not plain Message-IDs instead of copying them', async () => {
    const mail = await requestWith('References: <ok@example.org> <"quoted"@example.org> <x@[192.0.2.1]>');
    expect(composeReply(mail, 'x', US, fixedId).references).toEqual(['ok@example.org', 'abc123@example.org']);
  });

  it('answers the Reply-To address when there is one, unless it is ours', async () => {
    const withReplyTo = await requestWith('Reply-To: Marie <marie.perso@example.net>');
    expect(composeReply(withReplyTo, 'x', US, fixedId).to).toBe('marie.perso@example.net');
    const replyToUs = await requestWith(`Reply-To: ${US.address}`);
    expect(composeReply(replyToUs, 'x', US, fixedId).to).toBe('marie.curie@example.org');
  });

  it('brings no line break from the incoming mail into a header', async () => {
    const mail = await parseMail(
      rawMail([
        'From: eve@example.org',
        'Subject: =?UTF-8?Q?Horaires=0D=0ABcc:_victim@example.org?=',
        'Message-ID: <a@example.org>',
        'References: <b@example.org>\r\n\tBcc: victim@example.org',
      ]),
    );
    const draft = composeReply(mail, 'x', US, fixedId);
    const values = [
      draft.to,
      draft.subject,
      draft.messageId,
      ...draft.references,
      ...Object.values(draft.headers),
    ];
    for (const value of values) expect(value).not.toMatch(/[\r\n]/);
    expect(draft.references).toEqual(['b@example.org', 'a@example.org']);
  });

  it('takes a whole Message-ID from makeId, and refuses one that is not usable', async () => {
    const mail = await sample('horaires-fr.eml');
    expect(composeReply(mail, 'x', US, () => 'r-1@mail.institut-horizon.example').messageId).toBe(
      'r-1@mail.institut-horizon.example',
    );
    expect(() => composeReply(mail, 'x', US, () => 'bad id\r\nBcc: x')).toThrow(/not a usable Message-ID/);
  });

  it('refuses to answer a mail with no usable address, and an empty answer', async () => {
    const anonymous = await parseMail(rawMail(['Subject: ?']));
    expect(() => composeReply(anonymous, 'x', US, fixedId)).toThrow(InvalidInputError);
    expect(() => composeReply(anonymous, 'x', US, fixedId)).toThrow(/^from: /);
    const mail = await sample('horaires-fr.eml');
    expect(() => composeReply(mail, ' \n ', US, fixedId)).toThrow(/^text: the answer is empty/);
  });
});

describe('baseSubject', () => {
  it('removes every reply and forward prefix, in the forms mail clients write them', () => {
    expect(baseSubject('Re: Re: Horaires')).toBe('Horaires');
    expect(baseSubject('RE : TR: Horaires')).toBe('Horaires');
    expect(baseSubject('Réf. : AW: Re[2]: Horaires')).toBe('Horaires');
    expect(baseSubject('Fwd: FW: WG: SV: Antw: Horaires')).toBe('Horaires');
    expect(baseSubject('Retour sur la rentrée')).toBe('Retour sur la rentrée');
    expect(baseSubject('Trajet : plan d’accès')).toBe('Trajet : plan d’accès');
    expect(baseSubject('Re:')).toBe('');
  });
});

describe('reply templates', () => {
  it('gives each category its own wording over the language’s defaults', () => {
    const horaires = replyTemplate('horaires', 'fr');
    expect(horaires.greeting).toBe('Bonjour {name},');
    expect(horaires.signature).toBe("L'accueil de l'Institut Horizon");
    expect(replyTemplate('autre', 'en').signature).toBe('The Institut Horizon team');
    expect(replyTemplate('programme', 'en').intro).toMatch(/^Thank you for your interest in our programmes/);
  });

  it('names the file and the field when the templates file is wrong', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'templates-'));
    const file = path.join(dir, 'mailbox-templates.json');
    writeFileSync(file, JSON.stringify({ fr: { default: { greeting: 'Bonjour' } }, en: {} }));
    expect(() => loadReplyTemplates(dir)).toThrow(InvalidInputError);
    expect(() => loadReplyTemplates(dir)).toThrow(`${file}: fr.default.greetingWithoutName`);
    writeFileSync(file, '{ not json');
    expect(() => loadReplyTemplates(dir)).toThrow(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot be read as JSON`),
    );
  });
});

describe('replyVariables', () => {
  it('removes the sender’s personal data but keeps the school’s in the documents', async () => {
    const mail = await parseMail(
      rawMail(
        ['From: "Léa Martin" <lea.martin@example.com>', 'Subject: Rappel au 06 12 34 56 78'],
        'Rappelez-moi au 06 12 34 56 78 ou écrivez à lea.perso@example.net.\n',
      ),
    );
    const variables = replyVariables({
      mail,
      category: 'autre',
      language: 'fr',
      documents: [
        { name: 'contact.md', title: 'Contact', categories: ['autre'], body: 'Accueil : 01 99 00 12 34.' },
      ],
    });
    expect(variables.text).toBe('Rappelez-moi au [PHONE] ou écrivez à [EMAIL].');
    expect(variables.subject).toBe('Rappel au [PHONE]');
    expect(variables.fromName).toBe('Léa Martin');
    expect(variables.documents).toEqual([{ title: 'Contact', body: 'Accueil : 01 99 00 12 34.' }]);
    expect(variables.template.signature).toBe("L'équipe de l'Institut Horizon");
  });
});
