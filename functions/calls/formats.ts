/**
 * Dates and phone numbers as insurers' exports and callers write them, in the one form the call centre
 * stores: `YYYY-MM-DD` and E.164.
 */

// dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy (one separator throughout) or yyyy-mm-dd, with the midnight time some
// exports add (`12/03/1985 00:00`, `1985-03-12T00:00:00Z`).
const DATE =
  /^(?:(?<day>\d{1,2})(?<sep>[/.-])(?<month>\d{1,2})\k<sep>(?<year>\d{4})|(?<isoYear>\d{4})-(?<isoMonth>\d{1,2})-(?<isoDay>\d{1,2}))(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?)?$/;

/** The date a cell holds, as YYYY-MM-DD, when it is a real calendar date (no 31/02). */
export function isoDate(cell: string): string | undefined {
  const groups = DATE.exec(cell.trim())?.groups;
  if (groups === undefined) return undefined;
  const year = Number(groups.year ?? groups.isoYear);
  const month = Number(groups.month ?? groups.isoMonth);
  const day = Number(groups.day ?? groups.isoDay);
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years below 100 as 19xx.
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return undefined;
  }
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/**
 * E.164 for the forms people write: `06 12 34 56 78`, `06.12.34.56.78`, `+33 (0)6 12 34 56 78`,
 * `0033 6…`, `612345678` (a spreadsheet that took the number for a number drops the leading 0) and
 * international `+1 415 555 0123`. Anything else is kept as written; a cell without digits (`n/a`) is empty.
 */
export function normalisePhone(cell: string): string {
  const written = cell.trim();
  if (!/\d/.test(written)) return '';
  const compact = written.replace(/\(0\)/g, '').replace(/[\s.\-/()]/g, '');
  let international: string | undefined;
  if (/^\+\d+$/.test(compact)) international = compact;
  else if (/^00\d+$/.test(compact)) international = `+${compact.slice(2)}`;
  else if (/^0?[1-9]\d{8}$/.test(compact)) international = `+33${compact.replace(/^0/, '')}`;
  if (international === undefined) return written;
  // `+33 0 6…`: the French trunk 0 written after the country code.
  international = international.replace(/^\+330/, '+33');
  const valid = international.startsWith('+33')
    ? /^\+33[1-9]\d{8}$/.test(international)
    : /^\+[1-9]\d{7,14}$/.test(international);
  return valid ? international : written;
}

/** The number in E.164, or undefined when it cannot be read as one. */
export function toE164(text: string): string | undefined {
  const number = normalisePhone(text);
  return /^\+[1-9]\d{7,14}$/.test(number) ? number : undefined;
}
