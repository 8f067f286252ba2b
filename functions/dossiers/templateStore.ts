import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { ensureContainer, readBlob } from '../platform/blobs';
import { InvalidInputError } from '../platform/errors';
import { describeProblem, validateTemplate, type TemplateProblem } from './docxTemplate';
import { isTemplateName, TEMPLATE_NAME_RULE } from './types';

/** A batch's template: its name, and the SHA-256 of the bytes the run uses (part of every pair's hash). */
export const templateRefSchema = z.object({ name: z.string(), sha256: z.string() });
export type TemplateRef = z.infer<typeof templateRefSchema>;

/** What `POST /api/dossiers/templates` answers. */
export interface StoredTemplate extends TemplateRef {
  tags: string[];
}

/** A template that would fail when filled: the 400 (or the CLI) lists each problem with its place. */
export class InvalidTemplateError extends InvalidInputError {
  constructor(
    field: string,
    readonly template: string,
    readonly problems: TemplateProblem[],
  ) {
    super(
      field,
      `the template ${template} has ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.map(describeProblem).join('; ')}`,
      'invalid_template',
    );
  }
}

export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A template's reference and tags once it is checked; `InvalidTemplateError` naming `field` otherwise. */
export function checkTemplate(name: string, bytes: Uint8Array, field: string): StoredTemplate {
  const { tags, problems } = validateTemplate(bytes);
  if (problems.length > 0) throw new InvalidTemplateError(field, name, problems);
  return { name, sha256: sha256Of(bytes), tags };
}

const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** The firm's templates, one blob each in `dossiers-templates`, by name. */
export class TemplateStore {
  constructor(private readonly container: ContainerClient) {}

  /** Checks a template and stores it under its name, replacing an older one. */
  async save(name: string, bytes: Uint8Array): Promise<StoredTemplate> {
    if (!isTemplateName(name)) throw new InvalidInputError('name', `"${name}" ${TEMPLATE_NAME_RULE}`);
    const stored = checkTemplate(name, bytes, 'file');
    await ensureContainer(this.container);
    await this.container.getBlockBlobClient(name).uploadData(bytes, {
      blobHTTPHeaders: { blobContentType: DOCX_TYPE },
      metadata: { sha256: stored.sha256 },
    });
    return stored;
  }

  /**
   * A stored template, checked again: one copied into the container by hand never went through the
   * upload's check. A missing or broken one is an `InvalidInputError` naming `field`.
   */
  async load(name: string, field: string): Promise<{ ref: TemplateRef; bytes: Uint8Array }> {
    if (!isTemplateName(name)) throw new InvalidInputError(field, `"${name}" ${TEMPLATE_NAME_RULE}`);
    const bytes = await readBlob(this.container, name);
    if (!bytes) {
      throw new InvalidInputError(
        field,
        `no template named ${name} in ${this.container.containerName}: upload it with POST /api/dossiers/templates`,
        'unknown_template',
      );
    }
    const { sha256 } = checkTemplate(name, bytes, field);
    return { ref: { name, sha256 }, bytes };
  }
}
