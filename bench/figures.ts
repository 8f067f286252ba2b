import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { APP_ROOT } from './host';

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

/**
 * Ends a benchmark: writes its figures to bench/results/<date>-<name>.json, names each goal missed on
 * stderr, exits 1 when a goal about correctness (`mustHold`: nothing lost, nothing twice) is missed — a
 * slow run is reported, a wrong one fails — and prints the summary as the last stdout line.
 */
export function finishBench(
  name: string,
  result: { date: string },
  goals: Record<string, boolean>,
  summary: unknown,
  mustHold: readonly string[],
): void {
  const dir = path.join(APP_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${result.date.slice(0, 10)}-${name}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(`Figures in ${path.relative(APP_ROOT, file)}.\n`);
  for (const [goal, met] of Object.entries(goals)) if (!met) process.stderr.write(`GOAL MISSED: ${goal}\n`);
  if (mustHold.some((goal) => goals[goal] === false)) process.exitCode = 1;
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
