import { foldText } from '../platform/text';

/**
 * Personal data that must not leave for an external model: e-mail addresses, phone numbers, IBANs and
 * French social security numbers (NIR). IBANs and NIRs are checked with their mod-97 keys, so ordinary
 * numbers are left alone.
 */
export const SENSITIVE_KINDS = ['email', 'phone', 'iban', 'nir'] as const;
export type SensitiveKind = (typeof SENSITIVE_KINDS)[number];

export type RedactionCounts = Record<SensitiveKind, number>;

const PATTERNS: Record<SensitiveKind, RegExp> = {
  email: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g,
  iban: /\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b/g,
  nir: /\b[12][ ]?\d{2}[ ]?(?:0[1-9]|1[0-2]|[2-9]\d)[ ]?(?:\d{2}|2[AB])[ ]?\d{3}[ ]?\d{3}[ ]?\d{2}\b/g,
  phone: /(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(0\)[ .-]?)?\d(?:[ .-]?\d{2}){4}|0\d(?:[ .-]?\d{2}){4})(?!\w)/g,
};

const VALIDATORS: Partial<Record<SensitiveKind, (match: string) => boolean>> = {
  iban: (match) => {
    const compact = match.replace(/ /g, '');
    const rearranged = compact.slice(4) + compact.slice(0, 4);
    const digits = rearranged.replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
    return mod97(digits) === 1;
  },
  nir: (match) => {
    const compact = match.replace(/ /g, '');
    // Corsica: 2A and 2B count as 19 and 18 in the key.
    const body = compact.slice(0, 13).replace('2A', '19').replace('2B', '18');
    return 97 - mod97(body) === Number(compact.slice(13));
  },
};

function mod97(digits: string): number {
  let rest = 0;
  for (const d of digits) rest = (rest * 10 + Number(d)) % 97;
  return rest;
}

/** Replaces each kind listed with a `[KIND]` marker; returns the text and how many of each it replaced. */
export function redactSensitive(
  text: string,
  kinds: readonly SensitiveKind[],
): { text: string; counts: RedactionCounts } {
  const counts: RedactionCounts = { email: 0, phone: 0, iban: 0, nir: 0 };
  let out = text;
  // IBAN and NIR first: their digits would otherwise be taken for phone numbers.
  for (const kind of ['email', 'iban', 'nir', 'phone'] as const) {
    if (!kinds.includes(kind)) continue;
    const validate = VALIDATORS[kind];
    out = out.replace(PATTERNS[kind], (match) => {
      if (validate && !validate(match)) return match;
      counts[kind]++;
      return `[${kind.toUpperCase()}]`;
    });
  }
  return { text: out, counts };
}

/** The first blocklisted term found in the text (whole words, case- and accent-insensitive). */
export function findBlockedTerm(text: string, blocklist: readonly string[]): string | undefined {
  const haystack = foldText(text);
  return blocklist.find((term) => {
    const escaped = foldText(term).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, 'u').test(haystack);
  });
}
