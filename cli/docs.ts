import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';
import { settingsTableMarkdown } from '../functions/app/settings';

/**
 * `npm run docs`: rewrites the README's settings table from the settings declarations, between the
 * `settings-table` markers, formatted as Prettier formats the README (so `format:check` stays green).
 */
const START = '<!-- settings-table:start (npm run docs writes this table) -->';
const END = '<!-- settings-table:end -->';
const README = path.resolve(__dirname, '..', '..', 'README.md');

export async function renderSettingsTable(): Promise<string> {
  const options = (await resolveConfig(README)) ?? {};
  return (await format(settingsTableMarkdown(), { ...options, parser: 'markdown' })).trim();
}

function markers(readme: string): { start: number; end: number } {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${START} … ${END} markers.`);
  return { start: start + START.length, end };
}

/** The table as the README has it now; an error when the markers are missing. */
export function readmeSettingsTable(readme: string): string {
  const { start, end } = markers(readme);
  return readme.slice(start, end).trim();
}

async function main(): Promise<void> {
  const readme = readFileSync(README, 'utf8');
  const current = readmeSettingsTable(readme);
  const table = await renderSettingsTable();
  const { start, end } = markers(readme);
  writeFileSync(README, `${readme.slice(0, start)}\n\n${table}\n\n${readme.slice(end)}`);
  process.stdout.write(
    current === table ? 'README settings table already current.\n' : 'README settings table rewritten.\n',
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
