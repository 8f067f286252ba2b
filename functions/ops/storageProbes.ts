import type { StorageClients } from '../platform/storage';
import type { DependencyProbe } from './health';

/**
 * Probes for the blob, queue and table services of AzureWebJobsStorage. Listing one item needs only
 * the data-plane read role the app's identity already has, and touches no data.
 */
export function storageProbes(storage: StorageClients): DependencyProbe[] {
  return [
    {
      name: 'storage:blob',
      required: true,
      check: async (abortSignal) => {
        await storage.blobs.listContainers({ abortSignal }).byPage({ maxPageSize: 1 }).next();
      },
    },
    {
      name: 'storage:queue',
      required: true,
      check: async (abortSignal) => {
        await storage.queues.listQueues({ abortSignal }).byPage({ maxPageSize: 1 }).next();
      },
    },
    {
      name: 'storage:table',
      required: true,
      check: async (abortSignal) => {
        await storage.tables.listTables({ abortSignal }).byPage({ maxPageSize: 1 }).next();
      },
    },
  ];
}
