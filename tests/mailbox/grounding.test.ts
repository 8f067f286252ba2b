import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findUngrounded } from '../../functions/mailbox/grounding';
import { SAMPLE_KNOWLEDGE } from './samples';

const KB = readdirSync(SAMPLE_KNOWLEDGE).map((name) =>
  readFileSync(path.join(SAMPLE_KNOWLEDGE, name), 'utf8'),
);
const question = "Bonjour, quels sont vos horaires d'ouverture ? Je compte passer le 3 décembre. Léa";
const check = (answer: string, sources: string[] = [...KB, question]) => findUngrounded(answer, sources);

describe('findUngrounded', () => {
  it('accepts an answer whose every fact comes from the sample knowledge base', () => {
    const answer = `Bonjour Léa,

L'accueil est ouvert du lundi au vendredi de 8h30 à 18h00, et le samedi de 9h00 à 12h30 du 1er mars au 30 juin.
La rentrée des BTS a lieu le lundi 14 septembre 2026 à 9h00 ; celle du Bachelor le 21 septembre 2026.
Les vacances de la Toussaint vont du samedi 17 octobre au lundi 2 novembre 2026.
Le BTS SIO dure 2 ans et coûte 4 900 € par an ; le Mastère coûte 8 500 € par an.
Vous pouvez nous appeler au 01 99 00 12 34, écrire à admissions@institut-horizon.example
ou candidater sur https://www.institut-horizon.example/candidater (frais de dossier : 60 €).
Nous vous attendons donc le 3 décembre.`;
    expect(check(answer)).toEqual([]);
  });

  it('lists the hours, dates, prices and durations the documents do not give, as the answer wrote them', () => {
    const answer =
      "L'accueil est ouvert de 8h30 à 20h00. La rentrée a lieu le 15 septembre 2026. " +
      'Le Bachelor coûte 7 200 € par an et dure 4 ans.';
    expect(check(answer)).toEqual([
      { kind: 'hour', text: '20h00' },
      { kind: 'date', text: '15 septembre 2026' },
      { kind: 'price', text: '7 200 €' },
      { kind: 'duration', text: '4 ans' },
    ]);
  });

  it('compares hours in any notation: 8h30 = 08:30 = 8:30 am, 18h00 = 6 pm', () => {
    const sources = ["L'accueil ouvre à 8h30 et ferme à 18h00, pause de midi à 13 h."];
    expect(check('Open from 08:30 to 6 pm.', sources)).toEqual([]);
    expect(check('Open from 8:30 am to 6:00 p.m., closed from 12:00 to 1:00 pm.', sources)).toEqual([]);
    expect(check('Ouvert dès 8 h 30, fermé entre 12h et 13h.', sources)).toEqual([]);
    expect(check('Open from 9:30 am.', sources)).toEqual([{ kind: 'hour', text: '9:30 am' }]);
    expect(check('Ouvert dès 7h.', sources)).toEqual([{ kind: 'hour', text: '7h' }]);
  });

  it('compares dates in French, English and figures, with and without the year', () => {
    const sources = ['Rentrée : lundi 14 septembre 2026.'];
    expect(check('The year starts on Monday, September 14, 2026.', sources)).toEqual([]);
    expect(check('La rentrée est le 14/09/2026.', sources)).toEqual([]);
    expect(check('La rentrée est le 14 septembre.', sources)).toEqual([]);
    expect(check('Classes start on 2026-09-14, in September 2026.', sources)).toEqual([]);
    expect(check('La rentrée est le 14 septembre 2027.', sources)).toEqual([
      { kind: 'date', text: '14 septembre 2027' },
    ]);
    expect(check('Rendez-vous lundi 3 mars ou le 12/09.', sources)).toEqual([
      { kind: 'date', text: 'lundi 3 mars' },
      { kind: 'date', text: '12/09' },
    ]);
    expect(check('From October 12–16 and on 1st of May.', sources)).toEqual([
      { kind: 'date', text: 'October 12–16' },
      { kind: 'date', text: '1st of May' },
    ]);
  });

  it('compares prices whatever the separators and currency spelling: 1 200 € = €1,200 = 1200 euros', () => {
    const sources = ['Frais : 1 200 € par an, acompte de 500 €, 6 500,50 € au total.'];
    expect(check('Fees are €1,200 a year, a €500 deposit, €6,500.50 in all.', sources)).toEqual([]);
    expect(check('Soit 1200 euros par an et 6500,50 EUR.', sources)).toEqual([]);
    expect(check('The deposit is €5,000.', sources)).toEqual([{ kind: 'price', text: '€5,000' }]);
    expect(check('Comptez 1,2 k€.', sources)).toEqual([]);
  });

  it('compares durations across languages: 3 ans = 3 years = trois ans', () => {
    const sources = ['Le Bachelor dure 3 ans ; stage de 14 semaines ; 35 heures par semaine.'];
    expect(check('The Bachelor lasts three years, with a 14-week internship… 14 weeks.', sources)).toEqual(
      [],
    );
    expect(check('Il dure 3 years et 35 hours per week.', sources)).toEqual([]);
    expect(check('It lasts 2 years with 30 heures per week.', sources)).toEqual([
      { kind: 'duration', text: '2 years' },
      { kind: 'duration', text: '30 heures' },
    ]);
  });

  it('compares phone numbers in French and international formats', () => {
    const sources = ['Accueil : 01 99 00 12 34.'];
    expect(check('Call +33 1 99 00 12 34 or 01.99.00.12.34 or +33 (0)1 99 00 12 34.', sources)).toEqual([]);
    expect(check('Appelez le 01 99 00 99 99 ou le +44 20 7946 0958.', sources)).toEqual([
      { kind: 'phone', text: '01 99 00 99 99' },
      { kind: 'phone', text: '+44 20 7946 0958' },
    ]);
  });

  it('lists email addresses and links the sources do not hold; a source page grounds its site', () => {
    const sources = [
      'Écrire à admissions@institut-horizon.example ; candidater sur https://www.institut-horizon.example/candidater.',
    ];
    expect(
      check('Voir institut-horizon.example et www.institut-horizon.example/candidater/.', sources),
    ).toEqual([]);
    expect(
      check(
        'Écrivez à inscriptions@institut-horizon.example ou voyez https://www.institut-horizon.example/tarifs, ou example.org.',
        sources,
      ),
    ).toEqual([
      { kind: 'email', text: 'inscriptions@institut-horizon.example' },
      { kind: 'url', text: 'https://www.institut-horizon.example/tarifs' },
      { kind: 'url', text: 'example.org' },
    ]);
  });

  it('takes facts from the incoming mail too, and reports a repeated fact once', () => {
    expect(check('Nous vous attendons le 3 décembre.')).toEqual([]);
    expect(check('Le 4 décembre, puis encore le 4 décembre.')).toEqual([
      { kind: 'date', text: '4 décembre' },
    ]);
  });

  it('does not take figures that are not facts for facts', () => {
    expect(check('Le Bac+3 donne accès au niveau 7, 120 crédits, 2 options.', [])).toEqual([]);
  });
});
