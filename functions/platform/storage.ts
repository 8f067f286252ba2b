import type { TokenCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { TableClient, TableServiceClient } from '@azure/data-tables';
import type { StorageTarget } from './hostSettings';
import { appCredential } from './identity';

/** The three storage services of AzureWebJobsStorage, built once and passed to capabilities. */
export interface StorageClients {
  blobs: BlobServiceClient;
  queues: QueueServiceClient;
  tables: TableServiceClient;
  table(name: string): TableClient;
}

function isHttpEndpoint(connectionString: string): boolean {
  return /UseDevelopmentStorage=true|Endpoint=http:/i.test(connectionString);
}

export function createStorageClients(
  target: StorageTarget,
  credential: () => TokenCredential = () =>
    appCredential(target.kind === 'identity' ? target.clientId : undefined),
): StorageClients {
  if (target.kind === 'connectionString') {
    const cs = target.connectionString;
    // Azurite speaks plain HTTP; the table client refuses it unless told.
    const tableOptions = { allowInsecureConnection: isHttpEndpoint(cs) };
    return {
      blobs: BlobServiceClient.fromConnectionString(cs),
      queues: QueueServiceClient.fromConnectionString(cs),
      tables: TableServiceClient.fromConnectionString(cs, tableOptions),
      table: (name) => TableClient.fromConnectionString(cs, name, tableOptions),
    };
  }
  const cred = credential();
  const account = target.accountName;
  const tableUrl = `https://${account}.table.core.windows.net`;
  return {
    blobs: new BlobServiceClient(`https://${account}.blob.core.windows.net`, cred),
    queues: new QueueServiceClient(`https://${account}.queue.core.windows.net`, cred),
    tables: new TableServiceClient(tableUrl, cred),
    table: (name) => new TableClient(tableUrl, name, cred),
  };
}
