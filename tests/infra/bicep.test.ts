import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Node, Tree } from 'web-tree-sitter';
import {
  BICEP_ROOT,
  REPO_ROOT,
  formatProblem,
  listBicepFiles,
  literalValue,
  modulePaths,
  parameterDeclarations,
  parseBicep,
  propertyAt,
  resourceDeclarations,
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
        'infra/bicep/modules/agentApp.bicep',
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

/** The keys of an object node, as written (identifier or literal string keys). */
function keysOf(object: Node | undefined): string[] {
  if (object?.type !== 'object') return [];
  return object.namedChildren
    .filter((child) => child.type === 'object_property')
    .map((property) => {
      const key = property.namedChildren[0];
      return key?.type === 'string' ? (literalValue(key) ?? key.text) : (key?.text ?? '');
    });
}

/** The elements of an array node that are objects. */
const objectsIn = (array: Node | undefined): Node[] =>
  array?.type === 'array' ? array.namedChildren.filter((child) => child.type === 'object') : [];

/** The value of a top-level `var`, or of a `param`'s default; undefined when there is none. */
function declared(
  tree: Tree,
  kind: 'variable_declaration' | 'parameter_declaration',
  name: string,
): Node | undefined {
  const node = tree.rootNode.namedChildren.find(
    (child) => child.type === kind && child.namedChildren[0]?.text === name,
  );
  if (!node || (kind === 'parameter_declaration' && !node.children.some((child) => child.type === '=')))
    return undefined;
  return node.namedChildren.filter((child) => child.type !== 'comment').at(-1);
}

describe('infra/bicep: the voice agent (modules/agentApp.bicep, agent/Dockerfile)', () => {
  /** The agent's settings that are secrets: each must come from Key Vault, never as a plain value. */
  const AGENT_SECRETS = [
    'LIVEKIT_API_SECRET',
    'AGENT_TOOLS_KEY',
    'DEEPGRAM_API_KEY',
    'ELEVEN_API_KEY',
    'CARTESIA_API_KEY',
    'OPENAI_API_KEY',
    'GOOGLE_API_KEY',
    'AZURE_OPENAI_API_KEY',
  ];
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'agent', 'Dockerfile'), 'utf8');
  let tree: Tree;
  let app: Node;
  let container: Node | undefined;
  beforeAll(async () => {
    tree = await parseBicep(readFileSync(path.join(BICEP_ROOT, 'modules', 'agentApp.bicep'), 'utf8'));
    const apps = resourceDeclarations(tree).filter((r) => r.type.startsWith('Microsoft.App/containerApps@'));
    if (apps.length !== 1 || !apps[0]?.body)
      throw new Error('agentApp.bicep should declare one container app');
    app = apps[0].body;
    container = objectsIn(propertyAt(app, ['properties', 'template', 'containers']))[0];
  });

  it('always keeps a replica running, and scales out up to a parameter', () => {
    const min = propertyAt(app, ['properties', 'template', 'scale', 'minReplicas']);
    expect(min?.type).toBe('number');
    expect(Number(min?.text)).toBeGreaterThanOrEqual(1);
    const max = propertyAt(app, ['properties', 'template', 'scale', 'maxReplicas']);
    expect(max && declared(tree, 'parameter_declaration', max.text)?.text).toBe('3');
  });

  it('has no ingress: nothing calls the worker', () => {
    expect(keysOf(propertyAt(app, ['properties', 'configuration']))).not.toContain('ingress');
    const ingress = tree.rootNode
      .descendantsOfType('object_property')
      .filter((property) => property.namedChildren[0]?.text === 'ingress');
    expect(ingress).toEqual([]);
  });

  it('probes the health endpoint the image exposes, for liveness and readiness', () => {
    const probes = objectsIn(container && propertyAt(container, ['probes'])).map((probe) => ({
      type: literalValue(propertyAt(probe, ['type'])!),
      path: literalValue(propertyAt(probe, ['httpGet', 'path'])!),
      port: propertyAt(probe, ['httpGet', 'port'])?.text,
    }));
    expect(probes.map((probe) => probe.type)).toEqual(expect.arrayContaining(['Liveness', 'Readiness']));
    for (const probe of probes) expect(probe).toMatchObject({ path: '/', port: 'healthPort' });
    expect(declared(tree, 'parameter_declaration', 'healthPort')?.text).toBe('8081');
    expect(
      propertyAt(declared(tree, 'variable_declaration', 'plainSettings')!, ['AGENT_HEALTH_PORT'])?.text,
    ).toBe('string(healthPort)');
    expect(dockerfile).toMatch(/^EXPOSE 8081$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\\\n\s+CMD \["node", "-e", ".*AGENT_HEALTH_PORT \|\| 8081/m);
  });

  it('gives calls in progress time to finish: SIGTERM, production mode (drain), a long grace period', () => {
    const grace = propertyAt(app, ['properties', 'template', 'terminationGracePeriodSeconds']);
    expect(Number(grace && declared(tree, 'parameter_declaration', grace.text)?.text)).toBeGreaterThanOrEqual(
      300,
    );
    expect(dockerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/worker\.js", "start"\]$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it('reads every secret from Key Vault with the identity, and sets no secret as a plain value', () => {
    const secrets = propertyAt(app, ['properties', 'configuration', 'secrets']);
    // [for setting in configuredSecrets: {name, keyVaultUrl, identity}]
    expect(secrets?.type).toBe('for_statement');
    const entry = secrets?.namedChildren.at(-1);
    expect(keysOf(entry).sort()).toEqual(['identity', 'keyVaultUrl', 'name']);
    expect(entry && propertyAt(entry, ['identity'])?.text).toBe('identityId');
    expect(entry && propertyAt(entry, ['keyVaultUrl'])?.text).toBe(
      "'${vaultSecretsUrl}${setting.vaultSecret}'",
    );
    expect(declared(tree, 'variable_declaration', 'vaultSecretsUrl')?.text).toMatch(
      /^'\$\{keyVaultUri\}.*secrets\/'$/,
    );

    const secretTable = objectsIn(declared(tree, 'variable_declaration', 'secretSettings')).map((row) =>
      literalValue(propertyAt(row, ['env'])!),
    );
    expect(secretTable.sort()).toEqual(
      AGENT_SECRETS.filter((name) => name !== 'AZURE_OPENAI_API_KEY').sort(),
    );
    const plain = keysOf(declared(tree, 'variable_declaration', 'plainSettings'));
    expect(plain).toEqual(expect.arrayContaining(['LIVEKIT_URL', 'AGENT_TOOLS_URL', 'AZURE_CLIENT_ID']));
    expect(plain.filter((name) => AGENT_SECRETS.includes(name))).toEqual([]);
    expect(container && propertyAt(container, ['env'])?.text).toBe('concat(plainEnv, secretEnv)');
  });

  it('pulls its image, named by a required parameter, from a registry with the identity', () => {
    const image = container && propertyAt(container, ['image']);
    expect(image?.type).toBe('identifier');
    expect(parameterDeclarations(tree).find((p) => p.name === image?.text)).toMatchObject({
      hasDefault: false,
      nullable: false,
    });
    const registries = objectsIn(propertyAt(app, ['properties', 'configuration', 'registries']));
    expect(registries.length).toBeGreaterThan(0);
    for (const registry of registries) {
      expect(keysOf(registry).sort()).toEqual(['identity', 'server']);
      expect(propertyAt(registry, ['identity'])?.text).toBe('identityId');
    }
  });

  it('is deployed by main.bicep only with deployAgent, which is off by default', async () => {
    const main = await parseBicep(readFileSync(path.join(BICEP_ROOT, 'main.bicep'), 'utf8'));
    const agentModule = main.rootNode.descendantsOfType('module_declaration').find((node) => {
      const source = node.namedChildren.find((child) => child.type === 'string');
      return source !== undefined && literalValue(source) === 'modules/agentApp.bicep';
    });
    expect(agentModule?.namedChildren.some((child) => child.type === 'if_statement')).toBe(true);
    expect(agentModule?.text).toMatch(/= if \(deployAgent\) \{/);
    expect(declared(main, 'parameter_declaration', 'deployAgent')?.text).toBe('false');
  });
});
