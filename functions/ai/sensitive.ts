import { foldText } from '../platform/text';

/**
 * Personal data that must not leave for an external model or stay in a stored transcript: e-mail
 * addresses, phone numbers, IBANs, French social security numbers (NIR), payment card numbers and dates of
 * birth. IBANs and NIRs are checked with their mod-97 keys and cards with the Luhn check, so ordinary
 * numbers (policy, claim and order numbers, amounts) are left alone; a date is a date of birth only when
 * the words before it say so or it is one the caller is known to have.
 */
export const PERSONAL_DATA_KINDS = ['email', 'phone', 'iban', 'nir', 'card', 'birthdate'] as const;
export type PersonalDataKind = (typeof PERSONAL_DATA_KINDS)[number];
export type PersonalDataCounts = Record<PersonalDataKind, number>;

/** The kinds a prompt template may list in `redact` (their counts are what AI usage records). */
export const SENSITIVE_KINDS = ['email', 'phone', 'iban', 'nir'] as const;
export type SensitiveKind = (typeof SENSITIVE_KINDS)[number];
export type RedactionCounts = Record<SensitiveKind, number>;

export interface RedactionOptions {
  /** Dates of birth (YYYY-MM-DD) the text may hold without saying so: a verified caller reading theirs. */
  knownBirthDates?: readonly string[];
  /**
   * What was said just before, not redacted here: the previous turn of a transcript, whose "Votre date de
   * naissance ?" makes the date this turn opens with a date of birth.
   */
  precedingText?: string;
}

// In this order: IBANs, NIRs and card numbers hold digit runs the phone pattern would take; a NIR (mod 97)
// is surer than a card (Luhn passes one number in ten), so it is named first.
const ORDER: readonly PersonalDataKind[] = ['email', 'iban', 'nir', 'card', 'birthdate', 'phone'];

interface RedactionContext {
  knownBirthDates: ReadonlySet<string>;
  precedingText: string;
}

type Redactor = (text: string, context: RedactionContext) => { text: string; count: number };

/** Replaces each kind listed with a `[KIND]` marker; returns the text and how many of each it replaced. */
export function redactSensitive(
  text: string,
  kinds: readonly PersonalDataKind[],
  options: RedactionOptions = {},
): { text: string; counts: PersonalDataCounts } {
  const counts: PersonalDataCounts = { email: 0, phone: 0, iban: 0, nir: 0, card: 0, birthdate: 0 };
  const context: RedactionContext = {
    knownBirthDates: new Set(options.knownBirthDates?.map((date) => date.trim())),
    precedingText: options.precedingText ?? '',
  };
  let out = text;
  for (const kind of ORDER) {
    if (!kinds.includes(kind)) continue;
    const redacted = REDACTORS[kind](out, context);
    out = redacted.text;
    counts[kind] = redacted.count;
  }
  return { text: out, counts };
}

/** Every kind, for call transcripts: `[EMAIL]`, `[PHONE]`, `[IBAN]`, `[CARD]`, `[NIR]`, `[BIRTHDATE]`. */
export function redactPersonalData(
  text: string,
  options: RedactionOptions = {},
): { text: string; counts: PersonalDataCounts } {
  return redactSensitive(text, PERSONAL_DATA_KINDS, options);
}

function marker(kind: PersonalDataKind): string {
  return `[${kind.toUpperCase()}]`;
}

/** A redactor replacing each match of the pattern that passes the check. */
function byPattern(kind: PersonalDataKind, pattern: RegExp, check: (match: string) => boolean): Redactor {
  return (text) => {
    let count = 0;
    const out = text.replace(pattern, (match) => {
      if (!check(match)) return match;
      count++;
      return marker(kind);
    });
    return { text: out, count };
  };
}

const always = () => true;

// ---------------------------------------------------------------------------------------------------------
// Identifiers with a check key

function mod97(digits: string): number {
  let rest = 0;
  for (const d of digits) rest = (rest * 10 + Number(d)) % 97;
  return rest;
}

function validIban(match: string): boolean {
  const compact = match.replace(/ /g, '');
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  const digits = rearranged.replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  return mod97(digits) === 1;
}

function validNir(match: string): boolean {
  const compact = match.replace(/ /g, '');
  // Corsica: 2A and 2B count as 19 and 18 in the key.
  const body = compact.slice(0, 13).replace('2A', '19').replace('2B', '18');
  return 97 - mod97(body) === Number(compact.slice(13));
}

function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits.charAt(digits.length - 1 - i));
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return sum % 10 === 0;
}

// 13 to 19 digits in one run, or in groups split by spaces or dashes (4-4-4-4, 4-6-5, 4-4-4-4-3); never
// part of an identifier (`POL-2024-001234`) or a longer number.
const CARD = /(?<![\w-])(?:\d{13,19}|\d{4}(?:[ -]\d{1,6}){1,4})(?!\w|-\d)/g;

/**
 * Card numbers that pass the Luhn check. A number said right after the card (`… 1111 12 26`, its expiry)
 * joins the last group, so the longest run of whole groups that is a card is the one replaced.
 */
const redactCards: Redactor = (text) => {
  let count = 0;
  const out = text.replace(CARD, (match) => {
    const groupEnds = [...match.matchAll(/\d+/g)].map((group) => group.index + group[0].length).reverse();
    for (const end of groupEnds) {
      const digits = match.slice(0, end).replace(/\D/g, '');
      if (digits.length >= 13 && digits.length <= 19 && passesLuhn(digits)) {
        count++;
        return marker('card') + match.slice(end);
      }
    }
    return match;
  });
  return { text: out, count };
};

// ---------------------------------------------------------------------------------------------------------
// Dates of birth

// prettier-ignore
const MONTHS: Readonly<Record<string, number>> = {
  janvier: 1, janv: 1, january: 1, jan: 1,
  fevrier: 2, fevr: 2, fev: 2, february: 2, feb: 2,
  mars: 3, march: 3, mar: 3,
  avril: 4, avr: 4, april: 4, apr: 4,
  mai: 5, may: 5,
  juin: 6, june: 6, jun: 6,
  juillet: 7, juil: 7, july: 7, jul: 7,
  aout: 8, august: 8, aug: 8,
  septembre: 9, september: 9, sept: 9, sep: 9,
  octobre: 10, october: 10, oct: 10,
  novembre: 11, november: 11, nov: 11,
  decembre: 12, december: 12, dec: 12,
};

// Accented spellings are folded before the lookup; the pattern accepts both (é or e, û or u).
const MONTH = Object.keys(MONTHS)
  .sort((a, b) => b.length - a.length)
  .map((name) => name.replace(/e/g, '[eéèê]').replace(/u/g, '[uû]'))
  .join('|');

const BEFORE = String.raw`(?<![\p{L}\p{N}/.-])`;
const AFTER = String.raw`(?![\p{L}\p{N}]|[/.-]\p{N})`;
const DAY = String.raw`(\d{1,2})(?:er|st|nd|rd|th)?`;
// Spaces within a line: a date never spans lines.
const GAP = String.raw`[^\S\r\n]+`;

/** Date forms, each with how its groups give a year, a month and a day (one or two readings). */
const DATE_FORMS: readonly { pattern: RegExp; readings: (groups: string[]) => [string, string, string][] }[] =
  [
    {
      // 12/03/1985, 12-03-1985, 12.03.1985: day first in French, month first in American English.
      pattern: new RegExp(String.raw`${BEFORE}(\d{1,2})([/.-])(\d{1,2})\2(\d{4})${AFTER}`, 'gu'),
      readings: ([a = '', , b = '', year = '']) => [
        [year, b, a],
        [year, a, b],
      ],
    },
    {
      pattern: new RegExp(String.raw`${BEFORE}(\d{4})-(\d{2})-(\d{2})${AFTER}`, 'gu'),
      readings: ([year = '', month = '', day = '']) => [[year, month, day]],
    },
    {
      // 12 mars 1985, 1er mars 1985, 12 March 1985, 12th of March, 1985.
      pattern: new RegExp(
        String.raw`${BEFORE}${DAY}${GAP}(?:of${GAP})?(${MONTH})\.?,?${GAP}(\d{4})${AFTER}`,
        'giu',
      ),
      readings: ([day = '', month = '', year = '']) => [[year, month, day]],
    },
    {
      // March 12, 1985; March 12th 1985.
      pattern: new RegExp(String.raw`${BEFORE}(${MONTH})\.?${GAP}${DAY},?${GAP}(\d{4})${AFTER}`, 'giu'),
      readings: ([month = '', day = '', year = '']) => [[year, month, day]],
    },
  ];

// Words that make the next date a date of birth, in French and English.
const BIRTH_WORDS =
  /(?<!\p{L})(?:née?|né\(e\))\s+le(?!\p{L})|(?<!\p{L})(?:naissance|born|birth(?:day|date)?|d\.?o\.?b\.?)(?!\p{L})/giu;
// How far before the date the words may end ("date de naissance : le 12 mars 1985").
const CONTEXT_CHARS = 40;

interface DateSpan {
  start: number;
  end: number;
  /** The YYYY-MM-DD dates the text can mean (12/03/1985: 12 March, or 3 December in American English). */
  dates: string[];
}

/** Every calendar date written in the text, in text order, overlaps dropped. */
function datesIn(text: string): DateSpan[] {
  const spans: DateSpan[] = [];
  for (const form of DATE_FORMS) {
    for (const match of text.matchAll(form.pattern)) {
      const dates = form
        .readings(match.slice(1))
        .map(([year, month, day]) => isoDate(Number(year), monthNumber(month), Number(day)))
        .filter((date) => date !== undefined);
      if (dates.length > 0) spans.push({ start: match.index, end: match.index + match[0].length, dates });
    }
  }
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: DateSpan[] = [];
  for (const span of spans) if (span.start >= (kept.at(-1)?.end ?? 0)) kept.push(span);
  return kept;
}

function monthNumber(month: string): number {
  return /^\d+$/.test(month) ? Number(month) : (MONTHS[foldText(month)] ?? 0);
}

function isoDate(year: number, month: number, day: number): string | undefined {
  const date = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return date.toISOString().slice(0, 10);
}

/** Whether birth words end within CONTEXT_CHARS before `start`, with no other date in between. */
function saysBirth(text: string, start: number, previousDateEnd: number): boolean {
  const from = Math.max(previousDateEnd, start - 2 * CONTEXT_CHARS);
  const before = text.slice(from, start);
  return [...before.matchAll(BIRTH_WORDS)].some(
    (words) => before.length - (words.index + words[0].length) <= CONTEXT_CHARS,
  );
}

const redactBirthDates: Redactor = (text, { knownBirthDates, precedingText }) => {
  // The end of what was said before is read with the text, for its words only; dates never span lines.
  const lead = `${precedingText.slice(-2 * CONTEXT_CHARS)}\n`;
  const whole = lead + text;
  let count = 0;
  let out = '';
  let copiedUpTo = lead.length;
  let previousDateEnd = 0;
  for (const span of datesIn(whole)) {
    const isBirthDate =
      span.start >= lead.length &&
      (span.dates.some((date) => knownBirthDates.has(date)) || saysBirth(whole, span.start, previousDateEnd));
    previousDateEnd = span.end;
    if (!isBirthDate) continue;
    out += whole.slice(copiedUpTo, span.start) + marker('birthdate');
    copiedUpTo = span.end;
    count++;
  }
  return { text: out + whole.slice(copiedUpTo), count };
};

// ---------------------------------------------------------------------------------------------------------
// All kinds

const REDACTORS: Record<PersonalDataKind, Redactor> = {
  email: byPattern('email', /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, always),
  iban: byPattern('iban', /\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b/g, validIban),
  nir: byPattern(
    'nir',
    /\b[12][ ]?\d{2}[ ]?(?:0[1-9]|1[0-2]|[2-9]\d)[ ]?(?:\d{2}|2[AB])[ ]?\d{3}[ ]?\d{3}[ ]?\d{2}\b/g,
    validNir,
  ),
  card: redactCards,
  birthdate: redactBirthDates,
  // E.164 in one run (+14155550123), or French forms with one separator throughout (06 12 34 56 78,
  // 06.12.34.56.78, +33 6 12 34 56 78, +33 (0)6 …): one separator keeps dates and amounts out.
  phone: byPattern(
    'phone',
    /(?<![\w+])(?:\+[1-9]\d{7,14}|\+\d{1,3}[ .-]?(?:\(0\)[ .-]?)?\d([ .-]?)\d{2}(?:\1\d{2}){3}|0\d([ .-]?)\d{2}(?:\2\d{2}){3})(?!\w)/g,
    always,
  ),
};

/** The first blocklisted term found in the text (whole words, case- and accent-insensitive). */
export function findBlockedTerm(text: string, blocklist: readonly string[]): string | undefined {
  const haystack = foldText(text);
  return blocklist.find((term) => {
    const escaped = foldText(term).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, 'u').test(haystack);
  });
}
