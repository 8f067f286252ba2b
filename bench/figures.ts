/** A figure rounded for a result file (two decimals by default). */
export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** The nearest-rank percentile `p` (0–100) of values sorted ascending; 0 when there are none. */
export function nearestRank(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** A whole-number option of a bench (`--posts 100`), its default when not given. */
export function wholeNumber(
  flag: string,
  text: string | undefined,
  byDefault: number,
  min: number,
  max: number,
): number {
  const value = text === undefined ? byDefault : Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(`${flag} ${text}: a whole number from ${min} to ${max}.`);
  return value;
}
