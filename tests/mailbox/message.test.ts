import { describe, expect, it } from 'vitest';
import { parseMail } from '../../functions/mailbox/message';
import { TooLargeError } from '../../functions/platform/errors';
import { rawMail, sample, sampleBytes } from './samples';

describe('parseMail', () => {
  it('reads a French request: sender, encoded subject, ids, date and text', async () => {
    const mail = await sample('horaires-fr.eml');
    expect(mail.from).toEqual({ address: 'lea.martin@example.com', name: 'Léa Martin' });
    expect(mail.subject).toBe("Horaires d'ouverture et date de rentrée");
    expect(mail.messageId).toBe('20261116091200.4821@mail.example.com');
    expect(mail.references).toEqual([]);
    expect(mail.returnPath).toBe('lea.martin@example.com');
    expect(mail.to).toEqual(['contact@institut-horizon.example']);
    expect(mail.date?.toISOString()).toBe('2026-11-16T08:12:00.000Z');
    expect(mail.text).toContain("Quels sont vos horaires d'ouverture ?");
    expect(mail.text).toMatch(/Léa Martin$/);
    expect(mail.contentType).toBe('text/plain; charset=utf-8');
  });

  it('decodes an ISO-8859-1 quoted-printable body and RFC 2047 encoded words', async () => {
    const mail = await sample('inscription-latin1.eml');
    expect(mail.subject).toBe('Candidature pour le Mastère Data et IA');
    expect(mail.from).toEqual({ address: 'rene.lefevre@example.fr', name: 'René Lefèvre' });
    // The soft line break (=\r\n) joins the two halves of the sentence.
    expect(mail.text).toContain('Quelles sont les pièces à fournir et la date limite de candidature ?');
    expect(mail.text).toContain('René Lefèvre');
  });

  it('reads undeclared 8-bit headers, in Latin-1 and in UTF-8', async () => {
    const latin1 = await sample('malformed.eml');
    expect(latin1.subject).toBe('Renseignements sur la rentrée');
    expect(latin1.from).toEqual({ address: 'jerome.andre@example.fr', name: 'Jérôme André' });

    const utf8 = await parseMail(
      rawMail(['From: Zoé Faure <zoe@example.org>', 'Subject: Inscription en été']),
    );
    expect(utf8.subject).toBe('Inscription en été');
    expect(utf8.from?.name).toBe('Zoé Faure');
  });

  it('turns an HTML-only mail into readable text: no tags, scripts, styles or images, entities decoded', async () => {
    const mail = await sample('html-only.eml');
    expect(mail.text).toContain("Je viens d'étudier en Italie");
    expect(mail.text).toContain('un logement & une aide pour trouver une chambre');
    expect(mail.text).not.toMatch(/<|>|&eacute;|&amp;|&nbsp;/);
    expect(mail.text).not.toContain('trackOpen');
    expect(mail.text).not.toContain('font-family');
    expect(mail.text).not.toContain('pixel.gif');
  });

  it('gives its best on malformed MIME: a header line without a colon, a boundary never closed', async () => {
    const mail = await sample('malformed.eml');
    expect(mail.text).toContain("à quelle heure ouvre l'accueil le samedi ?");
    expect([...mail.headers.keys()]).not.toContain('this line is not a header');
    expect(mail.date?.toISOString()).toBe('2026-11-22T11:00:00.000Z');
  });

  it('has no Message-ID when the mail has none', async () => {
    const mail = await sample('malformed.eml');
    expect(mail.messageId).toBeUndefined();
    expect(mail.inReplyTo).toBeUndefined();
  });

  it('never throws on content: every truncation of a real mail parses', async () => {
    const bytes = sampleBytes('bounce.eml');
    for (let end = 0; end <= bytes.length; end += 23) {
      const mail = await parseMail(bytes.subarray(0, end));
      expect(typeof mail.text).toBe('string');
    }
    await expect(parseMail(Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x0a, 0x80]))).resolves.toMatchObject({
      from: undefined,
    });
  });

  it('still reads sender and subject when the MIME tree nests past the parser limit', async () => {
    const depth = 60;
    const open = Array.from(
      { length: depth },
      (_, i) => `--b${i}\r\nContent-Type: multipart/mixed; boundary="b${i + 1}"\r\n\r\n`,
    ).join('');
    const raw = Buffer.from(
      'From: Nina <nina@example.org>\r\nSubject: Profond\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n' +
        `${open}--b${depth}\r\nContent-Type: text/plain\r\n\r\nQuels sont les horaires ?\r\n`,
    );
    const mail = await parseMail(raw);
    expect(mail.from?.address).toBe('nina@example.org');
    expect(mail.subject).toBe('Profond');
    expect(mail.text).toContain('Quels sont les horaires ?');
  });

  it('refuses a mail over the cap with an error naming the limit', async () => {
    const bytes = sampleBytes('horaires-fr.eml');
    await expect(parseMail(bytes, { maxBytes: 100 })).rejects.toThrow(TooLargeError);
    await expect(parseMail(bytes, { maxBytes: 100 })).rejects.toThrow(/larger than the limit of 100 bytes/);
    await expect(parseMail(bytes, { maxBytes: bytes.length })).resolves.toBeDefined();
  });

  it('reads the null sender, the top-level content type and every header value', async () => {
    const bounce = await sample('bounce.eml');
    expect(bounce.returnPath).toBeNull();
    expect(bounce.contentType).toMatch(/^multipart\/report; report-type=delivery-status/);
    expect(bounce.from?.address).toBe('MAILER-DAEMON@mx.example.net');

    const mail = await parseMail(
      rawMail(['From: a@example.org', 'Received: from one', 'Received: from two', 'X-Custom: yes']),
    );
    expect(mail.headers.get('received')).toEqual(['from one', 'from two']);
    expect(mail.headers.get('x-custom')).toEqual(['yes']);
    expect(mail.returnPath).toBeUndefined();
  });

  it('reads the thread ids without brackets and cuts the quoted history of a reply', async () => {
    const mail = await sample('reply-to-our-answer.eml');
    expect(mail.inReplyTo).toBe('reply-3f9a1c@institut-horizon.example');
    expect(mail.references).toEqual([
      '20261116091200.4821@mail.example.com',
      'reply-3f9a1c@institut-horizon.example',
    ]);
    expect(mail.text).toBe("Merci ! Et l'accueil est-il ouvert pendant les vacances de la Toussaint ?");
  });

  it('cuts an Outlook history block and an "On … wrote:" line, but keeps a forwarded message', async () => {
    const outlook = await parseMail(
      rawMail(
        ['From: a@example.org'],
        'Pouvez-vous me confirmer la date ?\n\nDe : Institut Horizon <contact@institut-horizon.example>\nEnvoyé : lundi 16 novembre 2026 09:15\nÀ : a@example.org\nObjet : Horaires\n\nBonjour, nos horaires…\n',
      ),
    );
    expect(outlook.text).toBe('Pouvez-vous me confirmer la date ?');

    const gmail = await parseMail(
      rawMail(
        ['From: a@example.org'],
        'Thanks, and what about Saturdays?\n\nOn Mon, Nov 16, 2026 at 9:15 AM Institut Horizon <\ncontact@institut-horizon.example> wrote:\n> Our opening hours...\n',
      ),
    );
    expect(gmail.text).toBe('Thanks, and what about Saturdays?');

    const forwarded = await parseMail(
      rawMail(
        ['From: a@example.org'],
        'Pour info.\n\n---------- Forwarded message ---------\nDe : Léo <leo@example.org>\nDate: lun. 16 nov. 2026 à 09:00\nObjet : Rentrée\n\nQuand commence la rentrée ?\n',
      ),
    );
    expect(forwarded.text).toContain('Quand commence la rentrée ?');
  });

  it('keeps line breaks out of every value copied from headers', async () => {
    const mail = await parseMail(
      rawMail([
        'From: =?UTF-8?Q?Eve=0D=0ABcc:_x@example.org?= <eve@example.org>',
        'Subject: =?UTF-8?Q?Hello=0D=0ABcc:_victim@example.org?=',
        'Message-ID: <id@example.org>',
      ]),
    );
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.from?.name).not.toMatch(/[\r\n]/);
    expect(mail.subject).toBe('Hello Bcc: victim@example.org');
  });
});
