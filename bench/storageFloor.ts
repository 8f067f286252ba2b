import { BlobServiceClient } from '@azure/storage-blob';

/**
 * The storage floor of a batch: the blobs it wrote, written again straight with @azure/storage-blob at
 * the same concurrency, with no orchestration, no generation and no rendering in between. How far the
 * batch's wall time is above this is what the orchestration costs on that storage.
 */

/** One blob as a batch left it: enough to write one like it again. */
export interface WrittenBlob {
  container: string;
  name: string;
  bytes: number;
  contentType: string | undefined;
  metadata: Record<string, string> | undefined;
}

/** Every blob of every container, with its size, content type and metadata. */
export async function listWrittenBlobs(connectionString: string): Promise<WrittenBlob[]> {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const blobs: WrittenBlob[] = [];
  for await (const { name: container } of service.listContainers()) {
    const client = service.getContainerClient(container);
    for await (const blob of client.listBlobsFlat({ includeMetadata: true })) {
      blobs.push({
        container,
        name: blob.name,
        bytes: blob.properties.contentLength ?? 0,
        contentType: blob.properties.contentType,
        metadata: blob.metadata,
      });
    }
  }
  return blobs;
}

/** Blob count and bytes per container, for the results file. */
export function tally(blobs: readonly WrittenBlob[]): Record<string, { blobs: number; bytes: number }> {
  const byContainer: Record<string, { blobs: number; bytes: number }> = {};
  for (const blob of blobs) {
    const entry = (byContainer[blob.container] ??= { blobs: 0, bytes: 0 });
    entry.blobs++;
    entry.bytes += blob.bytes;
  }
  return byContainer;
}

/**
 * The blobs grouped as the app writes them: the files sharing a name but for the extension (a pair's
 * `.docx` and `.md`, the report's `.json` and `.csv`) one after the other, the Markdown last.
 */
function writeUnits(blobs: readonly WrittenBlob[]): WrittenBlob[][] {
  const units = new Map<string, WrittenBlob[]>();
  for (const blob of blobs) {
    const stem = `${blob.container}/${blob.name.replace(/\.[^./]+$/, '')}`;
    const unit = units.get(stem);
    if (unit) unit.push(blob);
    else units.set(stem, [blob]);
  }
  const markdownLast = (blob: WrittenBlob) => (blob.name.endsWith('.md') ? 1 : 0);
  return [...units.values()].map((unit) => unit.sort((a, b) => markdownLast(a) - markdownLast(b)));
}

/**
 * Writes blobs of the same names, sizes, content types and metadata, `concurrency` units in flight (one
 * per pair in flight in the app); returns the seconds from the first write to the last. The containers
 * are created before the clock starts: the app creates each once per process.
 */
export async function replayWrites(
  connectionString: string,
  blobs: readonly WrittenBlob[],
  concurrency: number,
): Promise<number> {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const containers = [...new Set(blobs.map((blob) => blob.container))];
  await Promise.all(containers.map((name) => service.getContainerClient(name).createIfNotExists()));
  // One buffer for every body: the content does not change what the emulator does, the size might.
  const body = Buffer.alloc(Math.max(0, ...blobs.map((blob) => blob.bytes)), 'x');
  const units = writeUnits(blobs);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < units.length; i = next++) {
      for (const blob of units[i] ?? []) {
        await service
          .getContainerClient(blob.container)
          .getBlockBlobClient(blob.name)
          .uploadData(body.subarray(0, blob.bytes), {
            blobHTTPHeaders: { blobContentType: blob.contentType },
            ...(blob.metadata ? { metadata: blob.metadata } : {}),
          });
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - started) / 1000;
}
