// NFD does not split these letters into a base letter and a mark, so they are spelled out first.
const LIGATURES: Record<string, string> = { œ: 'oe', æ: 'ae', ß: 'ss' };

/** Lowercase, ligatures spelled out, accents removed: the form in which French text is compared. */
export function foldText(text: string): string {
  return text
    .toLowerCase()
    .replace(/[œæß]/g, (letter) => LIGATURES[letter] ?? letter)
    .normalize('NFD')
    .replace(/\p{M}/gu, '');
}
