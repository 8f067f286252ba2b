export type FactKind = 'hour' | 'date' | 'price' | 'duration' | 'phone' | 'email' | 'url';

export interface Ungrounded {
  kind: FactKind;
  /** As the answer wrote it. */
  text: string;
}

/**
 * Every hour, date, price, duration, phone number, email address and URL of the answer that appears
 * in none of the sources (the documents used and the incoming mail). Facts are compared in a
 * normalised form, whatever the language or spelling: 8h30 = 08:30 = 8:30 am; 1 200 € = €1,200 =
 * 1200 euros; 3 ans = 3 years; 12/09/2026 = 12 septembre 2026 = September 12, 2026;
 * +33 1 99 00 12 34 = 01 99 00 12 34. A date without a year is grounded by the same day and month
 * in any year; a date with a year needs that year. Numeric dates are read day first (French), unless
 * only the other order is a valid date.
 */
export function findUngrounded(answer: string, sources: readonly string[]): Ungrounded[] {
  const known = new Set<string>();
  for (const source of sources) for (const key of sourceKeys(source)) known.add(key);
  const seen = new Set<string>();
  const ungrounded: Ungrounded[] = [];
  for (const fact of extractFacts(answer, false).sort((a, b) => a.at - b.at)) {
    if (fact.keys.some((key) => known.has(key))) continue;
    const id = `${fact.kind}|${fact.keys[0] ?? fact.text}`;
    if (seen.has(id)) continue;
    seen.add(id);
    ungrounded.push({ kind: fact.kind, text: fact.text });
  }
  return ungrounded;
}

// The same documents ground answer after answer: their facts are read once. Only texts of a document's
// size are kept, so the cache stays small (at most 64 × 32K characters) whatever mail comes in.
const SOURCE_CACHE_ENTRIES = 64;
const SOURCE_CACHE_MAX_CHARS = 32_000;
const sourceCache = new Map<string, readonly string[]>();

/** The normalised facts a source grounds; least recently used sources leave the cache first. */
function sourceKeys(source: string): readonly string[] {
  const cached = sourceCache.get(source);
  if (cached) {
    sourceCache.delete(source);
    sourceCache.set(source, cached);
    return cached;
  }
  // Line by line: a date without a year is read with the years its own line names.
  const keys = source.split('\n').flatMap((line) => extractFacts(line, true).flatMap((fact) => fact.keys));
  if (source.length <= SOURCE_CACHE_MAX_CHARS) {
    sourceCache.set(source, keys);
    const oldest = sourceCache.keys().next();
    if (sourceCache.size > SOURCE_CACHE_ENTRIES && !oldest.done) sourceCache.delete(oldest.value);
  }
  return keys;
}

interface Fact {
  kind: FactKind;
  text: string;
  /** Where it starts in the text. */
  at: number;
  /** Normalised forms (`hour:08:30`, `price:EUR:1200`…): the fact is grounded when a source has one. */
  keys: string[];
}

type Reading = { keys: string[]; kind?: FactKind } | undefined;

/** How a text is read: a source's facts also ground looser forms of themselves (see dateKeys, urlKeys). */
interface Context {
  asSource: boolean;
  /** The years the text names (sources only). */
  years: string[];
}

interface Extractor {
  kind: FactKind;
  pattern: RegExp;
  read(groups: (string | undefined)[], context: Context): Reading;
}

// --- vocabulary ---------------------------------------------------------------------------------------

const L = '(?<![\\p{L}\\p{N}])'; // no letter or digit just before
const R = '(?![\\p{L}\\p{N}])'; // …nor just after
const SP = '[ \\u00a0\\u202f]'; // spaces inside a number or between a number and its unit

// Each month's full names, then its abbreviations (which may take a dot).
const MONTHS: [number, string[], string[]][] = [
  [1, ['janvier', 'january'], ['janv', 'jan']],
  [2, ['février', 'fevrier', 'february'], ['févr', 'fevr', 'feb']],
  [3, ['mars', 'march'], ['mar']],
  [4, ['avril', 'april'], ['avr', 'apr']],
  [5, ['mai', 'may'], []],
  [6, ['juin', 'june'], ['jun']],
  [7, ['juillet', 'july'], ['juil', 'jul']],
  [8, ['août', 'aout', 'august'], ['aug']],
  [9, ['septembre', 'september'], ['sept', 'sep']],
  [10, ['octobre', 'october'], ['oct']],
  [11, ['novembre', 'november'], ['nov']],
  [12, ['décembre', 'decembre', 'december'], ['déc', 'dec']],
];
const MONTH_NUMBER = new Map(
  MONTHS.flatMap(([n, full, short]) => [...full, ...short].map((name) => [name, n] as const)),
);
const longestFirst = (words: string[]) => [...words].sort((a, b) => b.length - a.length).join('|');
const MONTH = `((?:${longestFirst(MONTHS.flatMap(([, full]) => full))})|(?:${longestFirst(MONTHS.flatMap(([, , short]) => short))})\\.?)`;
const monthNumber = (name: string) => MONTH_NUMBER.get(name.replace(/\.$/, '')) ?? 0;
const WEEKDAY =
  '(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|thursday|friday|saturday|sunday)';
const DAY = '(\\d{1,2})(?:er|st|nd|rd|th)?';

const NUMBER_WORDS: Record<string, number> = {
  un: 1,
  une: 1,
  one: 1,
  deux: 2,
  two: 2,
  trois: 3,
  three: 3,
  quatre: 4,
  four: 4,
  cinq: 5,
  five: 5,
  six: 6,
  sept: 7,
  seven: 7,
  huit: 8,
  eight: 8,
  neuf: 9,
  nine: 9,
  dix: 10,
  ten: 10,
  onze: 11,
  eleven: 11,
  douze: 12,
  twelve: 12,
  quinze: 15,
  fifteen: 15,
  vingt: 20,
  twenty: 20,
  trente: 30,
  thirty: 30,
};
const UNITS: [string, string[]][] = [
  ['year', ['ans', 'an', 'années', 'année', 'annees', 'annee', 'years', 'year', 'yrs']],
  ['semester', ['semestres', 'semestre', 'semesters', 'semester']],
  ['month', ['mois', 'months', 'month']],
  ['week', ['semaines', 'semaine', 'weeks', 'week']],
  ['day', ['jours', 'jour', 'days', 'day']],
  ['hour', ['heures', 'heure', 'hours', 'hour', 'hrs']],
  ['minute', ['minutes', 'minute', 'mins', 'min']],
];
const UNIT_OF = new Map(UNITS.flatMap(([unit, words]) => words.map((word) => [word, unit] as const)));
const UNIT = `(${[...UNIT_OF.keys()].sort((a, b) => b.length - a.length).join('|')})`;
const QUANTITY = `(\\d+(?:[.,]\\d+)?|${Object.keys(NUMBER_WORDS).join('|')})`;

const CURRENCY: Record<string, string> = {
  '€': 'EUR',
  eur: 'EUR',
  euro: 'EUR',
  euros: 'EUR',
  $: 'USD',
  usd: 'USD',
  '£': 'GBP',
  gbp: 'GBP',
};
const AMOUNT = `(\\d{1,3}(?:[ \\u00a0\\u202f.,]\\d{3})+(?:[.,]\\d{1,2})?|\\d+(?:[.,]\\d{1,2})?)`;
const CURRENCY_BEFORE = '(€|\\$|£|eur|usd|gbp)';
const CURRENCY_AFTER = `(€|\\$|£|euros?${R}|eur${R}|usd${R}|gbp${R})`;

// A link's characters, not ending on the punctuation of the sentence around it.
const URL_TAIL = `[^\\s<>"'()\\[\\]]*[^\\s<>"'()\\[\\].,;:!?»]`;
const TLDS = 'fr|com|org|net|eu|edu|io|info|example|be|ch|ca|uk|de';

// --- readers ------------------------------------------------------------------------------------------

const pad = (n: number) => String(n).padStart(2, '0');

function hourKeys(hours: number, minutes: number, meridiem?: string): string[] | undefined {
  let h = hours;
  if (meridiem?.startsWith('p') && h < 12) h += 12;
  if (meridiem?.startsWith('a') && h === 12) h = 0;
  if (h > 24 || minutes > 59 || (meridiem && hours > 12)) return undefined;
  return [`hour:${pad(h)}:${pad(minutes)}`];
}

function dateKeys(
  day: number,
  month: number,
  year: string | undefined,
  context: Context,
): string[] | undefined {
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const monthDay = `date:--${pad(month)}-${pad(day)}`;
  const fullYear = year && year.length === 2 ? `20${year}` : year;
  if (!context.asSource) return [fullYear ? `date:${fullYear}-${pad(month)}-${pad(day)}` : monthDay];
  // A source's day also grounds it without a year and its month; a day without a year ("du 17 octobre
  // au 2 novembre 2026") is taken in the years its line names.
  const years = fullYear ? [fullYear] : context.years;
  return [
    monthDay,
    ...years.flatMap((y) => [`date:${y}-${pad(month)}-${pad(day)}`, `date:${y}-${pad(month)}`]),
  ];
}

function numberValue(text: string): number {
  const spaceless = text.replace(/[ \u00a0\u202f]/g, '');
  if (/^\d{1,3}([.,]\d{3})+$/.test(spaceless)) return Number(spaceless.replace(/[.,]/g, ''));
  const decimal = /^(.*)[.,](\d{1,2})$/.exec(spaceless);
  if (decimal) return Number(`${(decimal[1] ?? '').replace(/[.,]/g, '')}.${decimal[2] ?? ''}`);
  return Number(spaceless.replace(/[.,]/g, ''));
}

function quantity(text: string): number {
  return NUMBER_WORDS[text] ?? numberValue(text);
}

function phoneKey(text: string): string {
  const digits = text.replace(/\(0\)/g, '').replace(/[^\d+]/g, '');
  const international = digits.replace(/^00/, '+');
  if (international.startsWith('+33')) return `phone:0${international.slice(3)}`;
  return `phone:${international}`;
}

function urlKeys(text: string, { asSource }: Context): string[] {
  const normal = text
    .replace(/^https?:\/\//, '')
    .replace(/^www\./, '')
    .replace(/[/#?]+$/, '');
  if (!asSource) return [`url:${normal}`];
  // A source's page also grounds its site and parent paths.
  const parts = normal.split('/');
  return parts.map((_, i) => `url:${parts.slice(0, i + 1).join('/')}`);
}

const hourOrDuration = (value: number): Reading =>
  value <= 24
    ? { keys: [`hour:${pad(value)}:00`, `duration:${value}:hour`] }
    : { kind: 'duration', keys: [`duration:${value}:hour`] };

/** In the order they run: each masks what it read, so a later one cannot read it again. */
const EXTRACTORS: Extractor[] = [
  {
    kind: 'email',
    pattern: /[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/gu,
    read: ([address = ''], { asSource }) => ({
      // A source's address also grounds its domain as a site.
      keys: [`email:${address}`, ...(asSource ? [`url:${address.slice(address.indexOf('@') + 1)}`] : [])],
    }),
  },
  {
    kind: 'url',
    pattern: new RegExp(
      `(?:https?://|www\\.)${URL_TAIL}|${L}(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\\.)+(?:${TLDS})${R}(?:/(?:${URL_TAIL})?)?`,
      'gu',
    ),
    read: ([url = ''], context) => ({ keys: urlKeys(url, context) }),
  },
  {
    kind: 'phone',
    pattern: new RegExp(
      `(?<![\\w+])(?:(?:\\+|00)\\d{1,3}[ .-]?(?:\\(0\\)[ .-]?)?\\d(?:[ .-]?\\d{2}){4}|0\\d(?:[ .-]?\\d{2}){4}|(?:\\+|00)\\d{1,3}(?:[ .-]?\\(?\\d{2,4}\\)?){2,4})${R}`,
      'gu',
    ),
    read: ([phone = '']) => {
      const digits = phone.replace(/\D/g, '').length;
      return digits >= 8 && digits <= 15 ? { keys: [phoneKey(phone)] } : undefined;
    },
  },
  {
    // 12 septembre 2026, lundi 3 mars, du 12 au 16 octobre, 1st of May
    kind: 'date',
    pattern: new RegExp(
      `${L}(?:${WEEKDAY},?\\s+)?${DAY}(?:\\s*(?:au|-|–|et|and|to)\\s*${DAY})?\\s+(?:of\\s+)?${MONTH}(?:,?\\s+(\\d{4}))?${R}`,
      'gu',
    ),
    read: ([, first, second, month = '', year], context) =>
      rangeKeys([first, second], monthNumber(month), year, context),
  },
  {
    // September 12, Monday, September 14, 2026, October 12–16
    kind: 'date',
    pattern: new RegExp(
      `${L}(?:${WEEKDAY},?\\s+)?${MONTH}\\s+${DAY}(?:\\s*(?:-|–|to|and)\\s*${DAY})?(?:,?\\s+(\\d{4}))?${R}`,
      'gu',
    ),
    read: ([, month = '', first, second, year], context) =>
      rangeKeys([first, second], monthNumber(month), year, context),
  },
  {
    kind: 'date',
    pattern: new RegExp(`${L}(\\d{4})-(\\d{2})-(\\d{2})${R}`, 'gu'),
    read: ([, year, month, day], context) => rangeKeys([day], Number(month), year, context),
  },
  {
    // 12/09/2026, 12/09, 12.09.2026, 12-09-2026
    kind: 'date',
    pattern: new RegExp(
      `${L}(\\d{1,2})(?:/(\\d{1,2})(?:/(\\d{4}|\\d{2}))?|[.-](\\d{1,2})[.-](\\d{4}))${R}`,
      'gu',
    ),
    read: ([, a, slashMonth, slashYear, dashMonth, dashYear], context) => {
      let day = Number(a);
      let month = Number(slashMonth ?? dashMonth);
      if (month > 12 && day <= 12) [day, month] = [month, day];
      return rangeKeys([String(day)], month, slashYear ?? dashYear, context);
    },
  },
  {
    // septembre 2026, March 2027
    kind: 'date',
    pattern: new RegExp(`${L}${MONTH}\\s+(\\d{4})${R}`, 'gu'),
    read: ([, month = '', year]) => {
      const n = monthNumber(month);
      return n ? { keys: [`date:${year}-${pad(n)}`] } : undefined;
    },
  },
  {
    kind: 'price',
    pattern: new RegExp(
      `${CURRENCY_BEFORE}${SP}?${AMOUNT}(${SP}?k${R})?|${L}${AMOUNT}(${SP}?k)?${SP}?${CURRENCY_AFTER}`,
      'gu',
    ),
    read: ([, before, amountBefore, kBefore, amountAfter, kAfter, after]) => {
      const currency = CURRENCY[(before ?? after ?? '').trim()];
      const amount = numberValue(amountBefore ?? amountAfter ?? '') * (kBefore || kAfter ? 1000 : 1);
      return currency && Number.isFinite(amount) ? { keys: [`price:${currency}:${amount}`] } : undefined;
    },
  },
  {
    // 8h30, 8 h 30, 18h, 8H00
    kind: 'hour',
    pattern: new RegExp(`(?<![\\p{L}\\p{N}.,:])(\\d{1,2})${SP}?h${SP}?(\\d{2})?${R}`, 'gu'),
    read: ([, hours, minutes]) =>
      minutes === undefined
        ? hourOrDuration(Number(hours))
        : (() => {
            const keys = hourKeys(Number(hours), Number(minutes));
            return keys ? { keys } : undefined;
          })(),
  },
  {
    // 08:30, 8:30 am, 5:30pm
    kind: 'hour',
    pattern: new RegExp(
      `(?<![\\p{N}.,:])(\\d{1,2}):(\\d{2})(?:${SP}?([ap])(?:\\.m\\.|m))?(?![\\p{N}:])`,
      'gu',
    ),
    read: ([, hours, minutes, meridiem]) => {
      const keys = hourKeys(Number(hours), Number(minutes), meridiem);
      return keys ? { keys } : undefined;
    },
  },
  {
    // 8 am, 5pm, 9 o'clock
    kind: 'hour',
    pattern: new RegExp(`${L}(\\d{1,2})${SP}?(?:([ap])(?:\\.m\\.|m)|o'clock)(?![\\p{L}])`, 'gu'),
    read: ([, hours, meridiem]) => {
      const keys = hourKeys(Number(hours), 0, meridiem);
      return keys ? { keys } : undefined;
    },
  },
  {
    // 3 ans, two years, 35 heures, 14 semaines, 1,5 an
    kind: 'duration',
    pattern: new RegExp(`${L}${QUANTITY}${SP}?${UNIT}${R}`, 'gu'),
    read: ([, amount = '', word = '']) => {
      const unit = UNIT_OF.get(word);
      const value = quantity(amount);
      if (!unit || !Number.isFinite(value)) return undefined;
      // "à 8 heures" is also an hour of the day.
      const asHour =
        unit === 'hour' && Number.isInteger(value) && value <= 24 ? [`hour:${pad(value)}:00`] : [];
      return { keys: [`duration:${value}:${unit}`, ...asHour] };
    },
  },
  {
    // Hours written as words ground the same hours in figures; the answer's words are not checked.
    kind: 'hour',
    pattern: /(?<![\p{L}])(midi|noon|minuit|midnight)(?![\p{L}])/gu,
    read: ([word], { asSource }) =>
      asSource
        ? { keys: word === 'midi' || word === 'noon' ? ['hour:12:00'] : ['hour:00:00', 'hour:24:00'] }
        : undefined,
  },
];

function rangeKeys(
  days: (string | undefined)[],
  month: number,
  year: string | undefined,
  context: Context,
): Reading {
  const keys: string[] = [];
  for (const day of days) {
    if (day === undefined) continue;
    const dayKeys = dateKeys(Number(day), month, year, context);
    if (!dayKeys) return undefined;
    keys.push(...dayKeys);
  }
  return keys.length > 0 ? { keys } : undefined;
}

/** The facts a text states, each read once (a phone number's digits are not also read as a price). */
function extractFacts(original: string, asSource: boolean): Fact[] {
  const lower = original.toLowerCase();
  // Lower-casing keeps offsets for the scripts mail uses; when it does not, report from the lower-case text.
  const shown = lower.length === original.length ? original : lower;
  let work = lower;
  const context: Context = {
    asSource,
    years: asSource ? [...new Set(lower.match(/(?<!\d)(?:19|20)\d{2}(?!\d)/g) ?? [])] : [],
  };
  const facts: Fact[] = [];
  for (const extractor of EXTRACTORS) {
    const spans: [number, number][] = [];
    for (const match of work.matchAll(extractor.pattern)) {
      const reading = extractor.read([...match], context);
      if (!reading) continue;
      const start = match.index;
      const end = start + match[0].length;
      spans.push([start, end]);
      facts.push({
        kind: reading.kind ?? extractor.kind,
        text: shown.slice(start, end).trim(),
        at: start,
        keys: reading.keys,
      });
    }
    for (const [start, end] of spans) work = work.slice(0, start) + ' '.repeat(end - start) + work.slice(end);
  }
  return facts;
}
