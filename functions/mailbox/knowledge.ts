import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { estimateTokens } from '../ai/providers/offlineProvider';
import { ensureContainer } from '../platform/blobs';
import { NotFoundError } from '../platform/errors';

/** What a knowledge document can serve: the classifier's categories, less `ignore`. */
export const KNOWLEDGE_CATEGORIES = ['programme', 'horaires', 'inscription', 'autre'] as const;
export type Category = (typeof KNOWLEDGE_CATEGORIES)[number];
export const MAIL_LANGUAGES = ['fr', 'en'] as const;
export type MailLanguage = (typeof MAIL_LANGUAGES)[number];

export interface KnowledgeDocument {
  /** The blob name. */
  name: string;
  title: string;
  categories: Category[];
  /** Unset: the document serves both languages. */
  language?: MailLanguage;
  /** The Markdown after the front matter. */
  body: string;
}

export interface KnowledgeSnapshot {
  documents: KnowledgeDocument[];
  /** One line per document skipped, naming the blob and, for bad front matter, the line. */
  problems: string[];
}

/** A document larger than this is skipped: a prompt could not hold it anyway. */
export const MAX_DOCUMENT_BYTES = 256 * 1024;
export const MAX_DOCUMENTS = 500;
/** How long a loaded knowledge base is used before the container is listed again. */
export const KNOWLEDGE_REFRESH_MS = 60_000;

const frontMatterSchema = z
  .object({
    title: z.string().trim().min(1).max(200),
    categories: z.preprocess(
      (value) => (typeof value === 'string' ? [value] : value),
      z.array(z.enum(KNOWLEDGE_CATEGORIES)).min(1),
    ),
    language: z.enum(MAIL_LANGUAGES).optional(),
  })
  .strict();

export type ParsedKnowledgeDocument = { document: KnowledgeDocument } | { problem: string };

/**
 * Reads one document: a `---` front matter block (YAML: `title`, `categories`, optional `language`)
 * then Markdown. A problem names the document and the line to fix.
 */
export function parseKnowledgeDocument(name: string, text: string): ParsedKnowledgeDocument {
  const problem = (line: number, message: string) => ({ problem: `${name}, line ${line}: ${message}` });
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines[0]?.trim() !== '---')
    return problem(1, 'no front matter: a document starts with a --- block giving its title and categories');
  const close = lines.findIndex((line, i) => i > 0 && /^(---|\.\.\.)\s*$/.test(line));
  if (close === -1) return problem(1, 'the front matter is never closed by a --- line');

  const lineCounter = new LineCounter();
  const yaml = parseDocument(lines.slice(1, close).join('\n'), {
    lineCounter,
    uniqueKeys: true,
    prettyErrors: false,
  });
  // Front matter line n is file line n + 1 (the opening ---).
  const fileLine = (offset: number) => lineCounter.linePos(offset).line + 1;
  const yamlError = yaml.errors[0];
  if (yamlError)
    return problem(fileLine(yamlError.pos[0]), `bad front matter: ${firstLine(yamlError.message)}`);

  const parsed = frontMatterSchema.safeParse(yaml.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    // An unknown field is reported at its own line, under its own name.
    const unknown = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const path = (unknown === undefined ? issue.path : [...issue.path, unknown]) as (string | number)[];
    const node = yaml.getIn(path, true);
    const range = node && typeof node === 'object' && 'range' in node ? node.range : undefined;
    const line = Array.isArray(range) && typeof range[0] === 'number' ? fileLine(range[0]) : 1;
    const message =
      unknown === undefined ? issue.message : `unknown field (a document has title, categories and language)`;
    const allowed = path[0] === 'categories' ? ` (one of ${KNOWLEDGE_CATEGORIES.join(', ')})` : '';
    return problem(line, `${path.join('.') || 'front matter'}: ${message}${allowed}`);
  }
  const body = lines
    .slice(close + 1)
    .join('\n')
    .trim();
  if (!body) return problem(close + 1, 'the document has no text after its front matter');
  const { title, categories, language } = parsed.data;
  return {
    document: { name, title, categories: [...new Set(categories)], ...(language ? { language } : {}), body },
  };
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/**
 * The school's knowledge base: the Markdown documents of a blob container. Loaded documents are used
 * for a short while, then the container is listed again and only blobs whose ETag changed are read.
 */
export class KnowledgeBase {
  private readonly entries = new Map<string, { etag: string; parsed: ParsedKnowledgeDocument }>();
  private snapshot: KnowledgeSnapshot | undefined;
  private checkedAt = 0;
  private loading: Promise<KnowledgeSnapshot> | undefined;

  constructor(
    private readonly container: ContainerClient,
    private readonly clock: () => Date = () => new Date(),
    private readonly refreshMs = KNOWLEDGE_REFRESH_MS,
  ) {}

  load(): Promise<KnowledgeSnapshot> {
    if (this.snapshot && this.clock().getTime() - this.checkedAt < this.refreshMs)
      return Promise.resolve(this.snapshot);
    // Callers arriving while a refresh runs share it.
    this.loading ??= this.refresh().finally(() => (this.loading = undefined));
    return this.loading;
  }

  /** The category's documents that fit the token budget, most specific first (see selectDocuments). */
  async forCategory(
    category: Category,
    budgetTokens: number,
    language?: MailLanguage,
  ): Promise<KnowledgeDocument[]> {
    const { documents } = await this.load();
    return selectDocuments(documents, category, budgetTokens, language);
  }

  private async refresh(): Promise<KnowledgeSnapshot> {
    await ensureContainer(this.container);
    const started = this.clock().getTime();
    const problems: string[] = [];
    const seen = new Set<string>();
    for await (const blob of this.container.listBlobsFlat()) {
      const { name } = blob;
      if (!/\.md$/i.test(name)) {
        problems.push(`${name}: not a Markdown document (.md), skipped`);
        continue;
      }
      if (seen.size >= MAX_DOCUMENTS) {
        problems.push(`${name}: more than ${MAX_DOCUMENTS} documents, skipped`);
        continue;
      }
      const size = blob.properties.contentLength ?? 0;
      if (size > MAX_DOCUMENT_BYTES) {
        problems.push(`${name}: ${size} bytes, over the limit of ${MAX_DOCUMENT_BYTES}, skipped`);
        continue;
      }
      seen.add(name);
      const etag = blob.properties.etag ?? '';
      if (this.entries.get(name)?.etag === etag) continue;
      const bytes = await this.container.getBlobClient(name).downloadToBuffer();
      this.entries.set(name, { etag, parsed: parseKnowledgeDocument(name, bytes.toString('utf8')) });
    }
    for (const name of this.entries.keys()) if (!seen.has(name)) this.entries.delete(name);

    const documents: KnowledgeDocument[] = [];
    for (const { parsed } of this.entries.values()) {
      if ('document' in parsed) documents.push(parsed.document);
      else problems.push(parsed.problem);
    }
    documents.sort((a, b) => a.name.localeCompare(b.name));
    this.snapshot = { documents, problems };
    this.checkedAt = started;
    return this.snapshot;
  }
}

/**
 * The documents serving a category, in the order a prompt should read them, within a token budget
 * (4 characters ≈ 1 token). Documents in the sender's language come first, then those for any
 * language; documents in the other language are left out when the category has some in the sender's.
 * Among those, the most specific (serving fewest categories) first. Documents that do not fit are
 * skipped; when not even the first fits, it is cut at a paragraph so the answer still has a source.
 */
export function selectDocuments(
  documents: readonly KnowledgeDocument[],
  category: Category,
  budgetTokens: number,
  language?: MailLanguage,
): KnowledgeDocument[] {
  const rank = (d: KnowledgeDocument) => (!language || !d.language ? 1 : d.language === language ? 0 : 2);
  let candidates = documents.filter((d) => d.categories.includes(category));
  if (candidates.some((d) => rank(d) === 0)) candidates = candidates.filter((d) => rank(d) < 2);
  candidates.sort(
    (a, b) => rank(a) - rank(b) || a.categories.length - b.categories.length || a.name.localeCompare(b.name),
  );
  const chosen: KnowledgeDocument[] = [];
  let left = budgetTokens;
  for (const document of candidates) {
    const cost = documentTokens(document);
    if (cost <= left) {
      chosen.push(document);
      left -= cost;
    }
  }
  const first = candidates[0];
  if (chosen.length === 0 && first && budgetTokens > 0) {
    const room = Math.max(0, budgetTokens * 4 - first.title.length - 1);
    const cut = first.body.lastIndexOf('\n\n', room);
    const body = first.body.slice(0, cut > 0 ? cut : room).trim();
    if (body) chosen.push({ ...first, body });
  }
  return chosen;
}

function documentTokens(document: KnowledgeDocument): number {
  return estimateTokens(`${document.title}\n${document.body}`);
}

/** Uploads the folder's Markdown files (the sample knowledge base, a school's own) to the container. */
export async function uploadKnowledgeFolder(container: ContainerClient, dir: string): Promise<number> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => /\.md$/i.test(name)).sort();
  } catch {
    throw new NotFoundError(`No knowledge folder at ${dir}.`);
  }
  await ensureContainer(container);
  for (const name of names) {
    const body = await readFile(path.join(dir, name));
    await container.getBlockBlobClient(name).upload(body, body.length, {
      blobHTTPHeaders: { blobContentType: 'text/markdown; charset=utf-8' },
    });
  }
  return names.length;
}
