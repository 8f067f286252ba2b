import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// The layers: triggers → capability → platform. `no-restricted-imports` options do not merge across
// config objects, so each layer's rule lists everything that layer may not import.
const noLocal = {
  group: ['**/local', '**/local/**'],
  message:
    'functions/ never imports local/: the local host stands in for Azure; the app must not depend on it.',
};
const capabilityFiles = ['functions/**/*.ts'];
const outsideCapabilities = ['functions/app/**', 'functions/triggers/**', 'functions/platform/**'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.azurite/**', 'agent/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The console page's scripts run in the browser as plain scripts, outside the TypeScript project.
  {
    files: ['console/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: { ...globals.browser, uPlot: 'readonly' },
    },
  },
  {
    files: ['functions/app/**/*.ts', 'functions/triggers/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noLocal] }] },
  },
  {
    files: capabilityFiles,
    ignores: outsideCapabilities,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@azure/functions',
              message:
                'Capabilities never import @azure/functions: registrations and HTTP mapping live in functions/triggers/.',
            },
            {
              name: 'durable-functions',
              importNames: ['app', 'input', 'getClient'],
              message:
                'Capabilities declare orchestrators and contracts; functions/triggers/ registers them and holds the client.',
            },
          ],
          patterns: [
            noLocal,
            {
              group: ['**/app', '**/app/**', '**/triggers', '**/triggers/**'],
              message:
                'Capabilities do not import the composition root or the triggers: dependencies are passed in.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['functions/platform/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            noLocal,
            {
              // Anything outside platform/ but the package manifest (the app version).
              regex: '^\\.\\./(?!\\.\\./package\\.json$)',
              message:
                'functions/platform/ imports no capability (nor app/ or triggers/): it is the base layer.',
            },
          ],
        },
      ],
    },
  },
  {
    // The agent is its own package and image: its code imports nothing of the Function App (its tests may
    // use the local host, to reach the real backend).
    files: ['agent/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../../**'],
              message:
                'agent/src imports only agent/ and its own dependencies: the image carries nothing else.',
            },
          ],
        },
      ],
    },
  },
  { files: ['eslint.config.mjs', 'agent/scripts/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
