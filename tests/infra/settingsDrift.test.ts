import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Node, Tree } from 'web-tree-sitter';
import { readmeSettingsTable, renderSettingsTable } from '../../cli/docs';
import { SECRET_SETTINGS, SETTING_NAMES, loadAppSettings } from '../../functions/app/settings';
import { DEPLOYED_FORMS } from '../../functions/platform/hostSettings';
import {
  REPO_ROOT,
  appSettingNames,
  appSettings,
  listBicepFiles,
  parseBicep,
  propertyAt,
  resourceDeclarations,
  secretValueProblem,
  type Located,
} from '../support/bicepParser';

/**
 * Settings the config module reads that the Bicep deliberately does not deploy as app settings, each with
 * the reason. Settings deployed under another name are declared in DEPLOYED_FORMS (platform/hostSettings.ts) instead.
 */
const NOT_DEPLOYED_BY_BICEP: Readonly<Record<string, string>> = {
  FUNCTIONS_WORKER_RUNTIME:
    'Flex Consumption sets the runtime in functionAppConfig (runtime.name: node); the app setting is deprecated there',
};

/**
 * Secret settings (SECRET_SETTINGS) the Bicep deploys with a value that is neither empty nor a Key Vault
 * reference, each with the reason that is safe. Every other secret setting it deploys must have one of those.
 */
const SECRETS_DEPLOYED_IN_CLEAR: Readonly<Record<string, string>> = {
  APPLICATIONINSIGHTS_CONNECTION_STRING:
    'the Application Insights component has local authentication disabled (DisableLocalAuth: true, checked ' +
    'below), so its connection string only identifies it: ingestion needs a Microsoft Entra token of an ' +
    'identity holding Monitoring Metrics Publisher. It is a module output, not a secret to keep in Key Vault; ' +
    'it stays in SECRET_SETTINGS so that logs redact it where local authentication may be on',
};

/** App settings Flex Consumption does not support: the Bicep must not set them. */
const DEPRECATED_ON_FLEX = [
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_EXTENSION_VERSION',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_CONTENTSHARE',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
];

interface SampleSettings {
  Values: Record<string, unknown>;
}

function readSample(): SampleSettings {
  const file = path.join(REPO_ROOT, 'local.settings.sample.json');
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { Values?: unknown };
  if (typeof parsed.Values !== 'object' || parsed.Values === null || Array.isArray(parsed.Values)) {
    throw new Error('local.settings.sample.json has no "Values" object');
  }
  return { Values: parsed.Values as Record<string, unknown> };
}

interface BicepFile {
  /** Path from the repository root, with forward slashes. */
  name: string;
  tree: Tree;
}

async function parseBicepFiles(): Promise<BicepFile[]> {
  return Promise.all(
    listBicepFiles().map(async (file) => ({
      name: path.relative(REPO_ROOT, file).split(path.sep).join('/'),
      tree: await parseBicep(readFileSync(file, 'utf8')),
    })),
  );
}

/** Each app setting the Bicep files set, with where (`file:line:column`) and the expression of its value. */
function deployedSettings(files: BicepFile[]): Map<string, { place: string; value: Node }[]> {
  const found = new Map<string, { place: string; value: Node }[]>();
  for (const file of files) {
    for (const setting of appSettings(file.tree)) {
      const deployments = found.get(setting.name.value) ?? [];
      deployments.push({
        place: `${file.name}:${setting.name.line}:${setting.name.column}`,
        value: setting.value,
      });
      found.set(setting.name.value, deployments);
    }
  }
  return found;
}

/**
 * The resources of a Bicep file whose type (`Namespace/type@version`) starts with `typePrefix`, with their bodies
 * (inside any condition or loop).
 */
function resourcesOfType(file: BicepFile, typePrefix: string): { place: string; body: Node | undefined }[] {
  return resourceDeclarations(file.tree)
    .filter((resource) => resource.type.startsWith(typePrefix))
    .map((resource) => ({ place: `${file.name}:${resource.line}:${resource.column}`, body: resource.body }));
}

/** The setting's own name and the names it is deployed under. */
const deployedNames = (setting: string): string[] => [setting, ...(DEPLOYED_FORMS[setting] ?? [])];

describe('settings drift: the declarations, local.settings.sample.json, infra/bicep, the README', () => {
  let files: BicepFile[];
  let deployed: Map<string, { place: string; value: Node }[]>;
  /** Where each app setting name appears in the Bicep files, as `file:line:column`. */
  let bicep: Map<string, string[]>;
  beforeAll(async () => {
    files = await parseBicepFiles();
    deployed = deployedSettings(files);
    bicep = new Map([...deployed].map(([name, deployments]) => [name, deployments.map((d) => d.place)]));
  });

  it("keeps the README's settings table as the declarations render it (npm run docs rewrites it)", async () => {
    const table = await renderSettingsTable();
    expect(table).toContain('`DURABLE_TASK_HUB`');
    expect(readmeSettingsTable(readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'))).toBe(table);
  });

  it('reads at least the core settings (guards against an empty SETTING_NAMES)', () => {
    expect(SETTING_NAMES).toEqual(expect.arrayContaining(['AzureWebJobsStorage', 'DURABLE_TASK_HUB']));
  });

  it('lists every setting the config module reads in local.settings.sample.json', () => {
    const values = readSample().Values;
    const missing = SETTING_NAMES.filter((name) => !(name in values));
    expect(missing, `missing from local.settings.sample.json Values: ${missing.join(', ')}`).toEqual([]);
  });

  it('gives local.settings.sample.json string values that pass the config validation', () => {
    const values = readSample().Values;
    const notStrings = Object.keys(values).filter((name) => typeof values[name] !== 'string');
    expect(notStrings, `non-string values in local.settings.sample.json: ${notStrings.join(', ')}`).toEqual(
      [],
    );
    expect(() => loadAppSettings(values as Record<string, string>)).not.toThrow();
  });

  it('deploys every setting the config module reads as a Bicep app setting, or exempts it with a reason', () => {
    const missing = SETTING_NAMES.filter(
      (name) =>
        !(name in NOT_DEPLOYED_BY_BICEP) && !deployedNames(name).some((deployed) => bicep.has(deployed)),
    );
    expect(missing, `missing from the Bicep app settings: ${missing.join(', ')}`).toEqual([]);
  });

  it('keeps every exemption necessary: a known setting the Bicep does not deploy', () => {
    const stale = Object.keys(NOT_DEPLOYED_BY_BICEP).filter(
      (name) => !SETTING_NAMES.includes(name) || deployedNames(name).some((deployed) => bicep.has(deployed)),
    );
    expect(stale, `stale NOT_DEPLOYED_BY_BICEP entries: ${stale.join(', ')}`).toEqual([]);
  });

  it('sets each Bicep app setting once', () => {
    const duplicated = [...bicep]
      .filter(([, places]) => places.length > 1)
      .map(([name, places]) => ({ name, places }));
    expect(duplicated).toEqual([]);
  });

  it('sets no app setting that Flex Consumption deprecates', () => {
    const present = DEPRECATED_ON_FLEX.filter((name) => bicep.has(name)).map((name) => ({
      name,
      places: bicep.get(name),
    }));
    expect(present).toEqual([]);
  });

  it('deploys each secret setting empty or as a Key Vault reference, never as a literal value', () => {
    const exposed = SECRET_SETTINGS.filter((name) => !(name in SECRETS_DEPLOYED_IN_CLEAR)).flatMap((name) =>
      (deployed.get(name) ?? []).flatMap(({ place, value }) => {
        const problem = secretValueProblem(value);
        return problem === undefined ? [] : [`${place} ${name}: ${problem}`];
      }),
    );
    expect(exposed).toEqual([]);
  });

  it('keeps every SECRETS_DEPLOYED_IN_CLEAR entry necessary: a deployed secret setting with a value in clear', () => {
    const stale = Object.keys(SECRETS_DEPLOYED_IN_CLEAR).filter(
      (name) =>
        !SECRET_SETTINGS.includes(name) ||
        !(deployed.get(name) ?? []).some(({ value }) => secretValueProblem(value) !== undefined),
    );
    expect(stale, `stale SECRETS_DEPLOYED_IN_CLEAR entries: ${stale.join(', ')}`).toEqual([]);
  });

  it('keeps local authentication disabled on Application Insights (why its connection string may be in clear)', () => {
    const components = files.flatMap((file) => resourcesOfType(file, 'Microsoft.Insights/components@'));
    expect(components.length).toBeGreaterThan(0);
    const localAuth = components
      .filter(({ body }) => (body && propertyAt(body, ['properties', 'DisableLocalAuth']))?.text !== 'true')
      .map(({ place }) => `${place} lacks properties.DisableLocalAuth: true`);
    expect(localAuth).toEqual([]);
  });

  it('tells empty values and Key Vault references from values that could hold a secret', async () => {
    const source = [
      'var settings = [',
      "  { name: 'EMPTY', value: '' }",
      "  { name: 'BY_NAME', value: '@Microsoft.KeyVault(VaultName=${vault};SecretName=${secret})' }",
      "  { name: 'BY_URI', value: '@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/s/)' }",
      "  { name: 'CONDITIONAL', value: empty(secret) ? '' : '@Microsoft.KeyVault(VaultName=v;SecretName=${secret})' }",
      "  { name: 'PARENTHESISED', value: (empty(secret) ? /* none */ '' : '@Microsoft.KeyVault(VaultName=v;SecretName=s)') }",
      "  { name: 'LITERAL', value: 'sk-not-a-real-key' }",
      "  { name: 'MULTILINE', value: '''sk-not-a-real-key''' }",
      "  { name: 'PARAMETER', value: apiKey }",
      "  { name: 'CALL', value: concat('sk-', 'x') }",
      "  { name: 'PREFIXED', value: '${apiKey}@Microsoft.KeyVault(VaultName=v;SecretName=s)' }",
      "  { name: 'TRAILING', value: '@Microsoft.KeyVault(VaultName=v;SecretName=s)${apiKey}' }",
      "  { name: 'NOT_A_REFERENCE', value: '@Microsoft.KeyVault(${apiKey})' }",
      "  { name: 'ONE_BRANCH', value: empty(secret) ? '' : 'sk-not-a-real-key' }",
      "  { name: 'OTHER_BRANCH', value: empty(secret) ? apiKey : '' }",
      ']',
      '',
    ].join('\n');
    const verdicts = Object.fromEntries(
      appSettings(await parseBicep(source)).map((s) => [
        s.name.value,
        secretValueProblem(s.value) === undefined,
      ]),
    );
    expect(verdicts).toEqual({
      EMPTY: true,
      BY_NAME: true,
      BY_URI: true,
      CONDITIONAL: true,
      PARENTHESISED: true,
      LITERAL: false,
      MULTILINE: false,
      PARAMETER: false,
      CALL: false,
      PREFIXED: false,
      TRAILING: false,
      NOT_A_REFERENCE: false,
      ONE_BRANCH: false,
      OTHER_BRANCH: false,
    });
  });

  it('reads setting names from the parse tree: commented-out and interpolated names do not count', async () => {
    const source = [
      'var settings = [',
      "  { name: 'REAL_SETTING', value: 'x' }",
      "  // { name: 'COMMENTED_OUT', value: 'x' }",
      "  /* { name: 'BLOCK_COMMENTED', value: 'x' } */",
      "  { name: 'PREFIX_${suffix}', value: 'x' }",
      "  { name: 'ESCAPED_\\'QUOTE', value: 'x' }",
      ']',
      "var notASetting = { name: 'NO_VALUE_PROPERTY' }",
      '',
    ].join('\n');
    const names = appSettingNames(await parseBicep(source)).map((s: Located) => s.value);
    expect(names).toEqual(['REAL_SETTING', "ESCAPED_'QUOTE"]);
  });
});
