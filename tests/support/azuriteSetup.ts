import type { TestProject } from 'vitest/node';
import { startAzurite } from '../../local/azurite';

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteConnectionString: string;
  }
}

/** One Azurite for the whole run, on free ports with in-memory state, stopped when the run ends. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const azurite = await startAzurite();
  project.provide('azuriteConnectionString', azurite.connectionString);
  return () => azurite.stop();
}
