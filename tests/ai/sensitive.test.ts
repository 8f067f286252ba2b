import { describe, expect, it } from 'vitest';
import { redactPersonalData, redactSensitive } from '../../functions/ai/sensitive';

const redacted = (text: string, knownBirthDates?: string[]) =>
  redactPersonalData(text, { knownBirthDates }).text;

describe('redactPersonalData: card numbers', () => {
  it.each([
    [
      "Mon numéro de carte c'est le 4111 1111 1111 1111, elle expire fin 2027.",
      "Mon numéro de carte c'est le [CARD], elle expire fin 2027.",
    ],
    ['My card number is 5555-5555-5555-4444, CVV 123.', 'My card number is [CARD], CVV 123.'],
    ['Carte American Express 3782 822463 10005.', 'Carte American Express [CARD].'],
    ['Card: 4000056655665556', 'Card: [CARD]'],
  ])('replaces a card that passes the Luhn check: %j', (text, expected) => {
    expect(redactPersonalData(text)).toMatchObject({ text: expected, counts: { card: 1 } });
  });

  it('keeps an expiry date said right after the card number', () => {
    expect(redacted('c’est 4111 1111 1111 1111 12 27 au dos')).toBe('c’est [CARD] 12 27 au dos');
  });

  it('leaves 16-digit numbers that fail the Luhn check, policy and claim numbers and amounts', () => {
    const text =
      'Carte 4111 1111 1111 1112, référence 1234567890123456, contrat POL-2024-001234, ' +
      'sinistre SIN-2025-000123-4567, franchise de 1 250,00 € sur 12 500 000 000 000 €.';
    expect(redactPersonalData(text)).toMatchObject({ text, counts: { card: 0, phone: 0, birthdate: 0 } });
  });
});

describe('redactPersonalData: phone numbers', () => {
  it('finds E.164 numbers written without spaces, and the French forms', () => {
    const { text, counts } = redactPersonalData(
      'Call me on +14155550123 or +33612345678. Sinon au 06 12 34 56 78, au 06.12.34.56.78, ' +
        'au +33 6 12 34 56 78 ou au +33 (0)6 12 34 56 78.',
    );
    expect(text).toBe(
      'Call me on [PHONE] or [PHONE]. Sinon au [PHONE], au [PHONE], au [PHONE] ou au [PHONE].',
    );
    expect(counts.phone).toBe(6);
  });

  it('leaves dates, amounts and a count after a date alone', () => {
    const text = 'Le 12/03/1985, puis le 01.02.2020 15 personnes ont payé 1 250,00 € ou 12 345 678,90 €.';
    expect(redactSensitive(text, ['phone']).text).toBe(text);
  });
});

describe('redactPersonalData: dates of birth', () => {
  it.each([
    ['Je suis née le 12 mars 1985 à Lyon.', 'Je suis née le [BIRTHDATE] à Lyon.'],
    ['Il est né le 1er mars 1985.', 'Il est né le [BIRTHDATE].'],
    ['Ma date de naissance : 12.03.1985.', 'Ma date de naissance : [BIRTHDATE].'],
    [
      'Quelle est votre date de naissance ?\nClient : le 12/03/1985.',
      'Quelle est votre date de naissance ?\nClient : le [BIRTHDATE].',
    ],
    ['My date of birth is March 12, 1985.', 'My date of birth is [BIRTHDATE].'],
    ['I was born on 12 March 1985 in Leeds.', 'I was born on [BIRTHDATE] in Leeds.'],
    ['DOB: 1985-03-12', 'DOB: [BIRTHDATE]'],
    ['My birthday is the 12th of March, 1985.', 'My birthday is the [BIRTHDATE].'],
    ['Né(e) le 12-03-1985', 'Né(e) le [BIRTHDATE]'],
  ])('replaces a date the words before call a date of birth: %j', (text, expected) => {
    expect(redactPersonalData(text)).toMatchObject({ text: expected, counts: { birthdate: 1 } });
  });

  it('leaves the other dates: a date of loss, a date without birth words, a later date', () => {
    for (const text of [
      'Le sinistre a eu lieu hier le 3 novembre, la déclaration date du 3 novembre 2023.',
      'The accident happened on 12 March 2024.',
      'Reconnaissance de dette signée le 03.11.2023.',
    ]) {
      expect(redacted(text)).toBe(text);
    }
    expect(redacted('Née le 12/03/1985, accident le 03/11/2023.')).toBe(
      'Née le [BIRTHDATE], accident le 03/11/2023.',
    );
  });

  it('replaces a known date of birth in any form, with or without birth words', () => {
    const known = ['1985-03-12'];
    expect(redacted("Oui, c'est le 12 mars 1985.", known)).toBe("Oui, c'est le [BIRTHDATE].");
    expect(redacted('It is March 12th, 1985.', known)).toBe('It is [BIRTHDATE].');
    expect(redacted('Yes, 03/12/1985, month first.', known)).toBe('Yes, [BIRTHDATE], month first.');
    expect(redacted('Sinistre du 13 mars 1985.', known)).toBe('Sinistre du 13 mars 1985.');
  });

  it('reads birth words at the end of the previous turn', () => {
    const answer = 'Le 12 mars 1985.';
    expect(redactPersonalData(answer, { precedingText: 'Agent : votre date de naissance ?' }).text).toBe(
      'Le [BIRTHDATE].',
    );
    expect(redactPersonalData(answer, { precedingText: 'Agent : la date du sinistre ?' }).text).toBe(answer);
  });
});

describe('redactPersonalData: a whole call', () => {
  it('replaces each kind with its marker and counts them', () => {
    const { text, counts } = redactPersonalData(
      'Bonjour, Camille Laurent, contrat HAB-2024-0042, née le 12/03/1985. Mon mail : ' +
        'camille.laurent@example.org, mon portable +33612345678. Remboursez sur FR76 3000 6000 0112 3456 ' +
        '7890 189 ou sur la carte 4111 1111 1111 1111. Numéro de sécu 1 85 05 78 006 084 91. ' +
        'Le dégât des eaux date du 3 novembre 2023, montant 1 250,00 €.',
    );
    expect(text).toBe(
      'Bonjour, Camille Laurent, contrat HAB-2024-0042, née le [BIRTHDATE]. Mon mail : [EMAIL], mon ' +
        'portable [PHONE]. Remboursez sur [IBAN] ou sur la carte [CARD]. Numéro de sécu [NIR]. ' +
        'Le dégât des eaux date du 3 novembre 2023, montant 1 250,00 €.',
    );
    expect(counts).toEqual({ email: 1, phone: 1, iban: 1, nir: 1, card: 1, birthdate: 1 });
  });

  it('names a valid NIR a NIR even when its digits also pass the Luhn check', () => {
    expect(redacted('NIR 185057800622349')).toBe('NIR [NIR]');
  });

  it('redacts through redactSensitive only the kinds asked for', () => {
    const text = 'a@b.fr, 4111 1111 1111 1111, né le 12/03/1985';
    expect(redactSensitive(text, ['email']).text).toBe('[EMAIL], 4111 1111 1111 1111, né le 12/03/1985');
    expect(redactSensitive(text, ['card', 'birthdate']).text).toBe('a@b.fr, [CARD], né le [BIRTHDATE]');
  });
});
