import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BICEP_ROOT,
  REPO_ROOT,
  formatProblem,
  listBicepFiles,
  modulePaths,
  parameterDeclarations,
  parseBicep,
  syntaxProblems,
} from '../support/bicepParser';

const files = listBicepFiles();
const relative = (file: string): string => path.relative(REPO_ROOT, file).split(path.sep).join('/');

async function problemsIn(file: string): Promise<string[]> {
  const tree = await parseBicep(readFileSync(file, 'utf8'));
  return syntaxProblems(tree).map((problem) => formatProblem(relative(file), problem));
}

describe('infra/bicep: syntax (tree-sitter-bicep)', () => {
  it('finds main.bicep and its modules', () => {
    expect(files.map(relative)).toEqual(
      expect.arrayContaining([
        'infra/bicep/main.bicep',
        'infra/bicep/modules/ai.bicep',
        'infra/bicep/modules/blobEvents.bicep',
        'infra/bicep/modules/functionApp.bicep',
        'infra/bicep/modules/identity.bicep',
        'infra/bicep/modules/keyVault.bicep',
        'infra/bicep/modules/monitoring.bicep',
        'infra/bicep/modules/storage.bicep',
      ]),
    );
  });

  it.each(files.map((file) => [relative(file), file] as const))(
    '%s has no ERROR or MISSING nodes',
    async (_name, file) => {
      expect(await problemsIn(file)).toEqual([]);
    },
  );

  it('reports a resource without its closing brace, with line and column', async () => {
    const broken = [
      "param location string = 'westeurope'",
      "resource x 'Microsoft.Web/sites@2023-12-01' = {",
      "  name: 'x'",
      '  location: location',
      '',
    ].join('\n');
    const problems = syntaxProblems(await parseBicep(broken));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.map((p) => formatProblem('broken.bicep', p))).toContainEqual(
      expect.stringMatching(/^broken\.bicep:\d+:\d+ MISSING missing "}"$/),
    );
  });

  it('reports text it cannot parse as an ERROR at its position', async () => {
    const broken = ["param name string = 'ok'", "var bad = 'a' +* 'b'", ''].join('\n');
    const problems = syntaxProblems(await parseBicep(broken));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.line === 2)).toBe(true);
    expect(problems.some((p) => p.kind === 'ERROR')).toBe(true);
  });

  it('resolves every local module path to a file', async () => {
    const dangling: string[] = [];
    for (const file of files) {
      const tree = await parseBicep(readFileSync(file, 'utf8'));
      for (const ref of modulePaths(tree)) {
        if (/^(br|ts)[:/]/.test(ref.value)) continue; // registry and template-spec references
        if (!existsSync(path.resolve(path.dirname(file), ref.value))) {
          dangling.push(`${relative(file)}:${ref.line}:${ref.column} module '${ref.value}' not found`);
        }
      }
    }
    expect(dangling).toEqual([]);
  });

  it('reads a nullable parameter as optional, and a parameter with a default as having one', async () => {
    const source = ['param required int', 'param withDefault int = 1', 'param optional int?', ''].join('\n');
    expect(parameterDeclarations(await parseBicep(source))).toEqual([
      { name: 'required', hasDefault: false, nullable: false },
      { name: 'withDefault', hasDefault: true, nullable: false },
      { name: 'optional', hasDefault: false, nullable: true },
    ]);
  });

  it('main.bicepparam sets only parameters main.bicep declares, and every required one', async () => {
    const declared = parameterDeclarations(
      await parseBicep(readFileSync(path.join(BICEP_ROOT, 'main.bicep'), 'utf8')),
    );
    expect(declared.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        'location',
        'appName',
        'durableTaskHub',
        'healthTimeoutMs',
        'maximumInstanceCount',
        'aiDeploymentCapacity',
        'openAiApiKeySecretName',
        'anthropicApiKeySecretName',
      ]),
    );
    // The grammar does not cover .bicepparam files (their `param x = value` has no type), so read the
    // assignments line by line, skipping comment lines.
    const paramFile = readFileSync(path.join(BICEP_ROOT, 'main.bicepparam'), 'utf8');
    expect(paramFile).toMatch(/^using 'main\.bicep'\s*$/m);
    const assigned = paramFile
      .split('\n')
      .map((line) => /^\s*param\s+([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined);
    const declaredNames = new Set(declared.map((p) => p.name));
    expect(assigned.filter((name) => !declaredNames.has(name))).toEqual([]);
    const required = declared.filter((p) => !p.hasDefault && !p.nullable);
    expect(required.filter((p) => !assigned.includes(p.name)).map((p) => p.name)).toEqual([]);
  });
});
