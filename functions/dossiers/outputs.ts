import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { ensureContainer } from '../platform/blobs';

/**
 * Where a batch's dossiers and report go: blobs under `dossiers/{batchId}/` for the Function App, a
 * folder for the CLI. Output names are deterministic (`{jobId}/{consultantId}.md|.docx`), and each
 * dossier carries the hash of its inputs so a re-run can tell it is already done.
 */
export interface DossierOutputStore {
  /**
   * The input hash of every dossier already written for the batch, by `jobId/consultantId`: read once
   * per run, so a re-run can skip done pairs without a storage call per pair.
   */
  existingHashes(): Promise<Map<string, string>>;
  /** Writes both files, the Markdown last, so a Markdown with its hash means a complete pair. */
  writeDossier(
    jobId: string,
    consultantId: string,
    markdown: string,
    docx: Buffer,
    inputHash: string,
  ): Promise<string[]>;
  writeReport(json: string, csv: string): Promise<string[]>;
  /** The names a pair's files have, to list them when it is skipped. */
  dossierFiles(jobId: string, consultantId: string): string[];
}

const HASH_METADATA = 'inputhash';

export class BlobDossierOutputs implements DossierOutputStore {
  constructor(
    private readonly container: ContainerClient,
    private readonly batchId: string,
  ) {}

  dossierFiles(jobId: string, consultantId: string): string[] {
    return ['md', 'docx'].map(
      (ext) => `${this.container.containerName}/${this.blobName(jobId, consultantId, ext)}`,
    );
  }

  async existingHashes(): Promise<Map<string, string>> {
    await ensureContainer(this.container);
    const hashes = new Map<string, string>();
    const prefix = `${this.batchId}/`;
    for await (const blob of this.container.listBlobsFlat({ prefix, includeMetadata: true })) {
      const hash = blob.metadata?.[HASH_METADATA];
      if (hash && blob.name.endsWith('.md')) hashes.set(blob.name.slice(prefix.length, -'.md'.length), hash);
    }
    return hashes;
  }

  async writeDossier(
    jobId: string,
    consultantId: string,
    markdown: string,
    docx: Buffer,
    inputHash: string,
  ): Promise<string[]> {
    await ensureContainer(this.container);
    await this.upload(this.blobName(jobId, consultantId, 'docx'), docx, DOCX_TYPE);
    await this.upload(
      this.blobName(jobId, consultantId, 'md'),
      Buffer.from(markdown),
      'text/markdown; charset=utf-8',
      {
        [HASH_METADATA]: inputHash,
      },
    );
    return this.dossierFiles(jobId, consultantId);
  }

  async writeReport(json: string, csv: string): Promise<string[]> {
    await ensureContainer(this.container);
    await this.upload(`${this.batchId}/report.json`, Buffer.from(json), 'application/json');
    await this.upload(`${this.batchId}/report.csv`, Buffer.from(csv), 'text/csv; charset=utf-8');
    return ['json', 'csv'].map((ext) => `${this.container.containerName}/${this.batchId}/report.${ext}`);
  }

  private blobName(jobId: string, consultantId: string, ext: string): string {
    return `${this.batchId}/${jobId}/${consultantId}.${ext}`;
  }

  private async upload(name: string, body: Buffer, contentType: string, metadata?: Record<string, string>) {
    await this.container.getBlockBlobClient(name).uploadData(body, {
      blobHTTPHeaders: { blobContentType: contentType },
      ...(metadata ? { metadata } : {}),
    });
  }
}

/** The CLI's folder: `<dir>/{jobId}/{consultantId}.md|.docx`, the hash in a hidden file beside them. */
export class DirectoryDossierOutputs implements DossierOutputStore {
  constructor(private readonly directory: string) {}

  dossierFiles(jobId: string, consultantId: string): string[] {
    return ['md', 'docx'].map((ext) => path.join(this.directory, jobId, `${consultantId}.${ext}`));
  }

  async existingHashes(): Promise<Map<string, string>> {
    const hashes = new Map<string, string>();
    const jobs = await readdir(this.directory, { withFileTypes: true }).catch(() => []);
    for (const job of jobs.filter((entry) => entry.isDirectory())) {
      for (const file of await readdir(path.join(this.directory, job.name))) {
        const consultant = /^\.(.+)\.inputhash$/.exec(file)?.[1];
        if (!consultant) continue;
        const hash = (await readFile(path.join(this.directory, job.name, file), 'utf8')).trim();
        hashes.set(`${job.name}/${consultant}`, hash);
      }
    }
    return hashes;
  }

  async writeDossier(
    jobId: string,
    consultantId: string,
    markdown: string,
    docx: Buffer,
    inputHash: string,
  ): Promise<string[]> {
    const [mdFile, docxFile] = this.dossierFiles(jobId, consultantId) as [string, string];
    await mkdir(path.dirname(mdFile), { recursive: true });
    await writeFile(docxFile, docx);
    await writeFile(mdFile, markdown);
    await writeFile(this.hashFile(jobId, consultantId), `${inputHash}\n`);
    return [mdFile, docxFile];
  }

  async writeReport(json: string, csv: string): Promise<string[]> {
    await mkdir(this.directory, { recursive: true });
    const files = [path.join(this.directory, 'report.json'), path.join(this.directory, 'report.csv')];
    await writeFile(files[0] as string, json);
    await writeFile(files[1] as string, csv);
    return files;
  }

  private hashFile(jobId: string, consultantId: string): string {
    return path.join(this.directory, jobId, `.${consultantId}.inputhash`);
  }
}

const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
