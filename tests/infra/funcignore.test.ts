import { readFileSync } from 'node:fs';
import path from 'node:path';
import { globSync } from 'tinyglobby';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');

/**
 * The files `func azure functionapp publish` would ship, by the rules Core Tools applies to .funcignore
 * (its GitIgnoreParser: each entry, leading `/` dropped, matches as a prefix of the root-relative path,
 * `*` within one folder, `**` across folders; `!` entries put paths back).
 */
function publishedFiles(): string[] {
  const entries = readFileSync(path.join(ROOT, '.funcignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const toRegex = (list: string[]) =>
    new RegExp(
      `^((${list
        .map((entry) =>
          entry
            .replace(/^\//, '')
            .replace(/[-[\]/{}()+?.\\^$|]/g, '\\$&')
            .replace(/\*\*/g, '(.+)')
            .replace(/\*/g, '([^\\/]+)'),
        )
        .join(')|(')}))`,
    );
  const denied = toRegex(entries.filter((e) => !e.startsWith('!')));
  const kept = entries.some((e) => e.startsWith('!'))
    ? toRegex(entries.filter((e) => e.startsWith('!')).map((e) => e.slice(1)))
    : /$^/;
  // node_modules is left to `npm prune --omit=dev`; .git is not part of the tree that ships.
  return globSync('**', { cwd: ROOT, dot: true, ignore: ['node_modules/**', '.git/**'] }).filter(
    (file) => kept.test(file) || !denied.test(file),
  );
}

describe('publish package (.funcignore)', () => {
  // dist/ is current: the test run builds it first.
  const shipped = new Set(publishedFiles());
  const main = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string }).main;

  it('ships what the host runs: the compiled app, host.json, package.json and the prompt templates', () => {
    const runtime = globSync(['dist/functions/**/*.js', 'dist/package.json', 'prompts/**'], { cwd: ROOT });
    expect(runtime).toContain(main);
    expect(runtime.filter((file) => !shipped.has(file))).toEqual([]);
    for (const file of ['host.json', 'package.json']) expect(shipped).toContain(file);
  });

  it('leaves out sources, tests, local tooling, source maps and local settings', () => {
    const leaked = [...shipped].filter(
      (file) =>
        /^(functions|local|cli|bench|tests|infra|samples)\//.test(file) ||
        /^dist\/(local|cli|bench|tests)\//.test(file) ||
        file.endsWith('.ts') ||
        file.endsWith('.map') ||
        file.startsWith('local.settings'),
    );
    expect(leaked).toEqual([]);
  });
});
