import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEPLOYED_FORMS, SETTING_NAMES, loadSettings } from '../../functions/platform/config';
import { REPO_ROOT, appSettingNames, listBicepFiles, parseBicep, type Located } from '../support/bicepParser';

/**
 * Settings the config module reads that the Bicep deliberately does not deploy as app settings, each with
 * the reason. Settings deployed under another name are declared in DEPLOYED_FORMS (config.ts) instead.
 */
const NOT_DEPLOYED_BY_BICEP: Readonly<Record<string, string>> = {
  FUNCTIONS_WORKER_RUNTIME:
    'Flex Consumption sets the runtime in functionAppConfig (runtime.name: node); the app setting is deprecated there',
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

/** Where each app setting name appears in the Bicep files, as `file:line:column`. */
async function bicepAppSettings(): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const file of listBicepFiles()) {
    const name = path.relative(REPO_ROOT, file).split(path.sep).join('/');
    for (const setting of appSettingNames(await parseBicep(readFileSync(file, 'utf8')))) {
      const places = found.get(setting.value) ?? [];
      places.push(`${name}:${setting.line}:${setting.column}`);
      found.set(setting.value, places);
    }
  }
  return found;
}

/** The setting's own name and the names it is deployed under. */
const deployedNames = (setting: string): string[] => [setting, ...(DEPLOYED_FORMS[setting] ?? [])];

describe('settings drift: config.ts, local.settings.sample.json, infra/bicep', () => {
  let bicep: Map<string, string[]>;
  beforeAll(async () => {
    bicep = await bicepAppSettings();
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
    expect(() => loadSettings(values as Record<string, string>)).not.toThrow();
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
