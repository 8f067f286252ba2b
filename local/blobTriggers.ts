import { RestError } from '@azure/core-rest-pipeline';
import type { BlobItem, BlobServiceClient, BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { matchPathPattern } from './bindingExpressions';
import type { Clock } from './clock';

/**
 * Blob triggers as the Functions host runs them: a blob fires each matching function once per
 * version (ETag), however it was written; a receipt blob in `azure-webjobs-hosts` records that it
 * did, so a restart does not fire it again; a blob that keeps failing goes to the poison queue.
 */

export interface BlobTriggerDefinition {
  functionName: string;
  /** `container/...{name}...`, settings already resolved. */
  path: string;
}

export interface FoundBlob {
  /** `container/name` */
  path: string;
  params: Record<string, string>;
  content: Buffer;
  url: string;
  properties: { length: number; contentType?: string; etag: string; lastModified?: Date };
  metadata: Record<string, string>;
}

export interface BlobRunOutcome {
  functionName: string;
  error?: unknown;
}

/** The host's name for the queue of blobs whose function failed on every attempt. */
export const BLOB_POISON_QUEUE = 'webjobs-blobtrigger-poison';
export const HOSTS_CONTAINER = 'azure-webjobs-hosts';

/** A receipt's lease outlives a short function; a longer one renews it while it runs. */
const LEASE_SECONDS = 60;
const LEASE_RENEW_MS = 20_000;

function isStatus(error: unknown, status: number): boolean {
  return error instanceof RestError && error.statusCode === status;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Receipts laid out as the host's: `blobreceipts/<hostId>/<functionId>/<etag>/<container>/<blob>`. */
class BlobReceipts {
  private ready: Promise<unknown> | undefined;

  constructor(
    private readonly container: ContainerClient,
    private readonly hostId: string,
  ) {}

  reference(functionName: string, blobPath: string, etag: string): BlockBlobClient {
    return this.container.getBlockBlobClient(
      `blobreceipts/${this.hostId}/Host.Functions.${functionName}/${etag}/${blobPath}`,
    );
  }

  /** Takes the receipt for this run: undefined when it is complete or another host holds it. */
  async begin(receipt: BlockBlobClient): Promise<string | undefined> {
    this.ready ??= this.container.createIfNotExists();
    await this.ready;
    try {
      await receipt.upload('', 0, {
        metadata: { Incomplete: 'Incomplete' },
        conditions: { ifNoneMatch: '*' },
      });
    } catch (error) {
      if (!isStatus(error, 409) && !isStatus(error, 412)) throw error;
    }
    let leaseId: string | undefined;
    try {
      leaseId = (await receipt.getBlobLeaseClient().acquireLease(LEASE_SECONDS)).leaseId;
    } catch (error) {
      if (isStatus(error, 409)) return undefined;
      throw error;
    }
    if (!leaseId) return undefined;
    if (await this.isComplete(receipt)) {
      await receipt.getBlobLeaseClient(leaseId).releaseLease();
      return undefined;
    }
    return leaseId;
  }

  async isComplete(receipt: BlockBlobClient): Promise<boolean> {
    try {
      const { metadata = {} } = await receipt.getProperties();
      // Node lower-cases header names, so the metadata key comes back as `incomplete`.
      return !Object.keys(metadata).some((key) => key.toLowerCase() === 'incomplete');
    } catch (error) {
      if (isStatus(error, 404)) return false;
      throw error;
    }
  }

  async complete(receipt: BlockBlobClient, leaseId: string): Promise<void> {
    await receipt.setMetadata({}, { conditions: { leaseId } });
  }

  async release(receipt: BlockBlobClient, leaseId: string): Promise<void> {
    await receipt.getBlobLeaseClient(leaseId).releaseLease();
  }

  /** Keeps the lease while a function runs longer than the lease; returns the stop function. */
  keep(receipt: BlockBlobClient, leaseId: string): () => void {
    const timer = setInterval(() => {
      receipt
        .getBlobLeaseClient(leaseId)
        .renewLease()
        .catch(() => undefined); // a lost lease only weakens the guard against another host
    }, LEASE_RENEW_MS);
    timer.unref();
    return () => clearInterval(timer);
  }
}

export interface BlobTriggerRunnerOptions {
  blobs: BlobServiceClient;
  hostId: string;
  triggers: BlobTriggerDefinition[];
  poisonQueue: QueueClient;
  /** Attempts of a blob before it goes to the poison queue (host.json `extensions.queues.maxDequeueCount`). */
  maxAttempts: number;
  /** Runs the function on the blob; throws when the function fails. */
  run: (functionName: string, blob: FoundBlob) => Promise<void>;
  log: (functionName: string, level: 'warning' | 'error', text: string) => void;
}

/** Fires blob triggers for blobs found in storage (the watcher) or named by the caller (`fire`). */
export class BlobTriggerRunner {
  private readonly receipts: BlobReceipts;
  /** Receipts known complete, so later scans skip them without asking storage again. */
  private readonly completed = new Set<string>();
  private readonly inFlight = new Map<string, Promise<BlobRunOutcome | undefined>>();
  private readonly attempts = new Map<string, number>();
  private abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: BlobTriggerRunnerOptions) {
    this.receipts = new BlobReceipts(options.blobs.getContainerClient(HOSTS_CONTAINER), options.hostId);
  }

  /** The blob as `functionName` receives it (its path parameters from that trigger); undefined when absent. */
  async read(functionName: string, blobPath: string): Promise<FoundBlob | undefined> {
    const trigger = this.options.triggers.find((t) => t.functionName === functionName);
    if (!trigger) throw new Error(`No blob function named "${functionName}" is registered.`);
    return this.download(blobPath, undefined, matchPathPattern(trigger.path, blobPath) ?? {});
  }

  /** Runs every matching blob trigger that has not yet run on this version of the blob. */
  async fire(blobPath: string): Promise<BlobRunOutcome[]> {
    const [container = '', ...rest] = blobPath.split('/');
    const { etag = '' } = await this.options.blobs
      .getContainerClient(container)
      .getBlobClient(rest.join('/'))
      .getProperties();
    const outcomes = await Promise.all(
      this.options.triggers.map((trigger) => this.runOnce(trigger, blobPath, etag, 'caller')),
    );
    return outcomes.filter((outcome): outcome is BlobRunOutcome => outcome !== undefined);
  }

  /**
   * Lists the containers that blob triggers watch and fires each new or changed blob once; returns
   * how many functions ran. Blobs run one after another, in listing order.
   */
  async scan(): Promise<number> {
    let ran = 0;
    const byContainer = new Map<string, BlobTriggerDefinition[]>();
    for (const trigger of this.options.triggers) {
      const container = trigger.path.split('/')[0] ?? '';
      byContainer.set(container, [...(byContainer.get(container) ?? []), trigger]);
    }
    for (const [container, triggers] of byContainer) {
      for await (const item of this.listBlobs(container)) {
        const blobPath = `${container}/${item.name}`;
        for (const trigger of triggers) {
          try {
            if (await this.runOnce(trigger, blobPath, item.properties.etag ?? '', 'scan')) ran++;
          } catch (error) {
            this.options.log(trigger.functionName, 'error', `Firing ${blobPath} failed: ${message(error)}`);
          }
        }
      }
    }
    return ran;
  }

  /** The blobs of a watched container; none while the container does not exist. */
  private async *listBlobs(container: string): AsyncGenerator<BlobItem> {
    try {
      yield* this.options.blobs.getContainerClient(container).listBlobsFlat();
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
  }

  /** Scans every `intervalMs` until `stop()`; a failed scan is logged and the next one goes ahead. */
  start(clock: Clock, intervalMs: number): void {
    this.abort = new AbortController();
    const signal = this.abort.signal;
    this.loop = (async () => {
      while (!signal.aborted) {
        try {
          await this.scan();
        } catch (error) {
          this.options.log('blob watcher', 'error', `Scanning for new blobs failed: ${message(error)}`);
        }
        await clock.sleep(intervalMs, signal);
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await Promise.allSettled(this.inFlight.values());
  }

  /** The outcome when this call ran the function (or joined a run in progress, for a caller). */
  private async runOnce(
    trigger: BlobTriggerDefinition,
    blobPath: string,
    etag: string,
    by: 'scan' | 'caller',
  ): Promise<BlobRunOutcome | undefined> {
    const params = matchPathPattern(trigger.path, blobPath);
    if (!params) return undefined;
    const receipt = this.receipts.reference(trigger.functionName, blobPath, etag);
    const key = receipt.name;
    if (this.completed.has(key)) return undefined;
    const running = this.inFlight.get(key);
    if (running) return by === 'caller' ? running : undefined;
    const run = this.runWithReceipt(trigger, blobPath, etag, params, receipt);
    this.inFlight.set(key, run);
    try {
      return await run;
    } finally {
      this.inFlight.delete(key);
    }
  }

  private async runWithReceipt(
    trigger: BlobTriggerDefinition,
    blobPath: string,
    etag: string,
    params: Record<string, string>,
    receipt: BlockBlobClient,
  ): Promise<BlobRunOutcome | undefined> {
    const leaseId = await this.receipts.begin(receipt);
    if (!leaseId) {
      if (await this.receipts.isComplete(receipt)) this.completed.add(receipt.name);
      return undefined;
    }
    const release = this.receipts.keep(receipt, leaseId);
    try {
      const blob = await this.download(blobPath, etag, params);
      if (!blob) return undefined; // replaced since it was listed: the new version has its own receipt
      try {
        await this.options.run(trigger.functionName, blob);
      } catch (error) {
        await this.failed(trigger, blobPath, etag, receipt, leaseId);
        return { functionName: trigger.functionName, error };
      }
      await this.receipts.complete(receipt, leaseId);
      this.completed.add(receipt.name);
      this.attempts.delete(receipt.name);
      return { functionName: trigger.functionName };
    } finally {
      release();
      await this.receipts.release(receipt, leaseId).catch(() => undefined);
    }
  }

  /** A failed attempt: the next scan retries it, until the last attempt sends it to the poison queue. */
  private async failed(
    trigger: BlobTriggerDefinition,
    blobPath: string,
    etag: string,
    receipt: BlockBlobClient,
    leaseId: string,
  ): Promise<void> {
    const attempts = (this.attempts.get(receipt.name) ?? 0) + 1;
    this.attempts.set(receipt.name, attempts);
    if (attempts < this.options.maxAttempts) return;
    const [container = '', ...rest] = blobPath.split('/');
    const poison = JSON.stringify({
      Type: 'BlobTrigger',
      FunctionId: `Host.Functions.${trigger.functionName}`,
      BlobType: 'BlockBlob',
      ContainerName: container,
      BlobName: rest.join('/'),
      ETag: etag,
    });
    await this.options.poisonQueue.createIfNotExists();
    await this.options.poisonQueue.sendMessage(Buffer.from(poison).toString('base64'));
    // Marked done so the watcher stops retrying it; the poison message is the record of the failure.
    await this.receipts.complete(receipt, leaseId);
    this.completed.add(receipt.name);
    this.attempts.delete(receipt.name);
    this.options.log(
      trigger.functionName,
      'error',
      `${blobPath} failed ${attempts} times; moved to the queue ${BLOB_POISON_QUEUE}.`,
    );
  }

  /** The blob's content and properties; `etag` pins the version (undefined when it changed since). */
  private async download(
    blobPath: string,
    etag: string | undefined,
    params: Record<string, string>,
  ): Promise<FoundBlob | undefined> {
    const [container = '', ...rest] = blobPath.split('/');
    const client = this.options.blobs.getContainerClient(container).getBlobClient(rest.join('/'));
    try {
      const response = await client.download(0, undefined, etag ? { conditions: { ifMatch: etag } } : {});
      const chunks: Buffer[] = [];
      for await (const chunk of response.readableStreamBody ?? []) chunks.push(Buffer.from(chunk as Buffer));
      const content = Buffer.concat(chunks);
      return {
        path: blobPath,
        params,
        content,
        url: client.url,
        properties: {
          length: content.length,
          contentType: response.contentType,
          etag: response.etag ?? '',
          lastModified: response.lastModified,
        },
        metadata: response.metadata ?? {},
      };
    } catch (error) {
      if (isStatus(error, 412) || isStatus(error, 404)) return undefined;
      throw error;
    }
  }
}
