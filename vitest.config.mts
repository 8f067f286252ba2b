import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The agent's tests run here too: they need the app built and the backend through the local host.
    include: ['tests/**/*.test.ts', 'agent/tests/**/*.test.ts'],
    // In order: compile the app the tests load from dist/, then start the shared Azurite.
    globalSetup: ['tests/support/buildSetup.ts', 'tests/support/azuriteSetup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
