import path from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');

// The project's own ESLint configuration, on a file that is not on disk; type-aware rules are off
// because such a file belongs to no TypeScript project (the layer rules need no types).
const eslint = new ESLint({
  cwd: ROOT,
  overrideConfig: [{ ...tseslint.configs.disableTypeChecked, files: ['**/*.ts'] }],
});

async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layer rules (ESLint no-restricted-imports)', () => {
  it('refuses @azure/functions and durable registration in a capability, and allows orchestrator types', async () => {
    expect(
      await layerErrors(
        'functions/dossiers/probe.ts',
        "import { app } from '@azure/functions';\nexport const a = app;\n",
      ),
    ).toEqual([expect.stringContaining('Capabilities never import @azure/functions')]);
    expect(
      await layerErrors(
        'functions/mailbox/probe.ts',
        "import * as df from 'durable-functions';\nexport const a = df;\n",
      ),
    ).toHaveLength(1);
    expect(
      await layerErrors(
        'functions/dossiers/probe.ts',
        "import { RetryOptions, type OrchestrationContext } from 'durable-functions';\nexport type C = OrchestrationContext;\nexport const r = RetryOptions;\n",
      ),
    ).toEqual([]);
  });

  it('refuses a capability, the root or the triggers in platform/', async () => {
    for (const target of ['../dossiers', '../ai/aiClient', '../app/root', '../triggers/health']) {
      expect(
        await layerErrors(
          'functions/platform/probe.ts',
          `import * as m from '${target}';\nexport const a = m;\n`,
        ),
      ).toEqual([expect.stringContaining('functions/platform/ imports no capability')]);
    }
    expect(
      await layerErrors(
        'functions/platform/probe.ts',
        "import { ensureContainer } from './blobs';\nexport const a = ensureContainer;\n",
      ),
    ).toEqual([]);
  });

  it('refuses local/ anywhere in functions/, and the root or triggers in a capability', async () => {
    for (const file of [
      'functions/triggers/probe.ts',
      'functions/app/probe.ts',
      'functions/dossiers/probe.ts',
    ]) {
      expect(
        await layerErrors(
          file,
          "import { LocalHost } from '../../local/localHost';\nexport const a = LocalHost;\n",
        ),
      ).toEqual([expect.stringContaining('functions/ never imports local/')]);
    }
    expect(
      await layerErrors(
        'functions/dossiers/probe.ts',
        "import { registerApp } from '../app/register';\nexport const a = registerApp;\n",
      ),
    ).toEqual([expect.stringContaining('Capabilities do not import the composition root')]);
  });

  it('lets the CLI and the local host use the app and local/', async () => {
    expect(
      await layerErrors(
        'cli/probe.ts',
        "import { LocalHost } from '../local/localHost';\nexport const a = LocalHost;\n",
      ),
    ).toEqual([]);
  });
});
