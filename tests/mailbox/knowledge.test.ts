import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import {
  KnowledgeBase,
  parseKnowledgeDocument,
  selectDocuments,
  uploadKnowledgeFolder,
  type KnowledgeDocument,
} from '../../functions/mailbox/knowledge';
import { NotFoundError } from '../../functions/platform/errors';
import { createStorageClients } from '../../functions/platform/storage';
import { SAMPLE_KNOWLEDGE } from './samples';

const storage = createStorageClients({
  kind: 'connectionString',
  connectionString: inject('azuriteConnectionString'),
});
const freshContainer = () => storage.blobs.getContainerClient(`knowledge-${randomBytes(4).toString('hex')}`);

async function put(container: ReturnType<typeof freshContainer>, name: string, text: string): Promise<void> {
  await container.createIfNotExists();
  await container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
}

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2026-11-23T08:00:00Z')) {
  let now = start;
  return { clock: () => new Date(now), advance: (ms: number) => (now += ms) };
}

describe('parseKnowledgeDocument', () => {
  it('reads the title, categories, language and Markdown body', () => {
    const parsed = parseKnowledgeDocument(
      'horaires.md',
      '---\ntitle: Horaires\ncategories: [horaires, autre]\nlanguage: fr\n---\n\n# Horaires\n\nDe 8h30 à 18h00.\n',
    );
    expect(parsed).toEqual({
      document: {
        name: 'horaires.md',
        title: 'Horaires',
        categories: ['horaires', 'autre'],
        language: 'fr',
        body: '# Horaires\n\nDe 8h30 à 18h00.',
      },
    });
  });

  it('accepts a single category and no language (the document serves both)', () => {
    const parsed = parseKnowledgeDocument('faq.md', '---\ntitle: FAQ\ncategories: autre\n---\nTexte.');
    expect(parsed).toEqual({
      document: { name: 'faq.md', title: 'FAQ', categories: ['autre'], body: 'Texte.' },
    });
  });

  it('names the document and the line of each front matter problem', () => {
    const problem = (text: string) => {
      const parsed = parseKnowledgeDocument('doc.md', text);
      return 'problem' in parsed ? parsed.problem : 'no problem';
    };
    expect(problem('# Sans front matter\n')).toMatch(/^doc\.md, line 1: no front matter/);
    expect(problem('---\ntitle: x\ncategories: [autre]\n')).toBe(
      'doc.md, line 1: the front matter is never closed by a --- line',
    );
    expect(problem('---\ntitle: x\ncategories: [autre\nlanguage: fr\n---\nTexte')).toMatch(
      /^doc\.md, line \d: bad front matter: /,
    );
    expect(problem('---\ntitle: Tarifs\ncategories:\n  - programme\n  - tarifs\n---\nTexte')).toMatch(
      /^doc\.md, line 5: categories\.1: .*\(one of programme, horaires, inscription, autre\)$/,
    );
    expect(problem('---\ncategories: [autre]\n---\nTexte')).toMatch(/^doc\.md, line 1: title: /);
    expect(problem('---\ntitle: x\ncategories: [autre]\nlangue: fr\n---\nTexte')).toBe(
      'doc.md, line 4: langue: unknown field (a document has title, categories and language)',
    );
    expect(problem('---\ntitle: x\ncategories: [autre]\nlanguage: de\n---\nTexte')).toMatch(
      /^doc\.md, line 4: language: /,
    );
    expect(problem('---\ntitle: x\ntitle: y\ncategories: [autre]\n---\nTexte')).toMatch(
      /^doc\.md, line 3: bad front matter: /,
    );
    expect(problem('---\ntitle: x\ncategories: [autre]\n---\n\n')).toBe(
      'doc.md, line 4: the document has no text after its front matter',
    );
  });
});

describe('KnowledgeBase', () => {
  it('loads the sample school’s knowledge base with no problem', async () => {
    const container = freshContainer();
    expect(await uploadKnowledgeFolder(container, SAMPLE_KNOWLEDGE)).toBe(7);
    const { documents, problems } = await new KnowledgeBase(container).load();
    expect(problems).toEqual([]);
    expect(documents.map((d) => d.name)).toEqual([
      'contact.md',
      'horaires.md',
      'inscription.md',
      'opening-hours-en.md',
      'programmes-en.md',
      'programmes.md',
      'vie-etudiante.md',
    ]);
    const horaires = documents.find((d) => d.name === 'horaires.md');
    expect(horaires?.body).toContain('de 8h30 à 18h00');
  });

  it('reports a document with bad front matter by name and line, and keeps the others', async () => {
    const container = freshContainer();
    await uploadKnowledgeFolder(container, SAMPLE_KNOWLEDGE);
    await put(container, 'tarifs.md', '---\ntitle: Tarifs\ncategories: [tarifs]\n---\nTexte');
    await put(container, 'notes.txt', 'pas du Markdown');
    const { documents, problems } = await new KnowledgeBase(container).load();
    expect(documents).toHaveLength(7);
    expect(problems).toEqual([
      'notes.txt: not a Markdown document (.md), skipped',
      expect.stringMatching(/^tarifs\.md, line 3: categories\.0: /),
    ]);
  });

  it('keeps what it loaded for a while, then sees edited, added and deleted documents', async () => {
    const container = freshContainer();
    const { clock, advance } = manualClock();
    await put(container, 'a.md', '---\ntitle: A\ncategories: [autre]\n---\nVersion 1');
    await put(container, 'b.md', '---\ntitle: B\ncategories: [autre]\n---\nStable');
    const knowledge = new KnowledgeBase(container, clock, 60_000);
    expect((await knowledge.load()).documents.map((d) => d.body)).toEqual(['Version 1', 'Stable']);

    await put(container, 'a.md', '---\ntitle: A\ncategories: [autre]\n---\nVersion 2');
    await put(container, 'c.md', '---\ntitle: C\ncategories: [autre]\n---\nNouveau');
    await container.deleteBlob('b.md');
    advance(59_000);
    expect((await knowledge.load()).documents.map((d) => d.body)).toEqual(['Version 1', 'Stable']);
    advance(2_000);
    expect((await knowledge.load()).documents.map((d) => d.body)).toEqual(['Version 2', 'Nouveau']);
  });

  it('skips a document over the size limit', async () => {
    const container = freshContainer();
    await put(container, 'huge.md', `---\ntitle: Huge\ncategories: [autre]\n---\n${'x'.repeat(300 * 1024)}`);
    const { documents, problems } = await new KnowledgeBase(container).load();
    expect(documents).toEqual([]);
    expect(problems).toEqual([
      expect.stringMatching(/^huge\.md: \d+ bytes, over the limit of 262144, skipped$/),
    ]);
  });

  it('gives a category’s documents in the sender’s language, most specific first, within the budget', async () => {
    const container = freshContainer();
    await uploadKnowledgeFolder(container, SAMPLE_KNOWLEDGE);
    const knowledge = new KnowledgeBase(container);
    const names = async (...args: Parameters<KnowledgeBase['forCategory']>) =>
      (await knowledge.forCategory(...args)).map((d) => d.name);
    expect(await names('horaires', 5000, 'fr')).toEqual(['horaires.md', 'contact.md']);
    expect(await names('horaires', 5000, 'en')).toEqual(['opening-hours-en.md']);
    expect(await names('programme', 5000, 'en')).toEqual(['programmes-en.md']);
    expect(await names('autre', 5000, 'fr')).toEqual(['vie-etudiante.md', 'contact.md']);
    // contact.md (about 120 tokens) fits where horaires.md (about 480) does not.
    expect(await names('horaires', 200, 'fr')).toEqual(['contact.md']);
  });

  it('cuts the most specific document at a paragraph when nothing fits the budget', () => {
    const documents: KnowledgeDocument[] = [
      {
        name: 'long.md',
        title: 'Long',
        categories: ['horaires'],
        body: `${'a'.repeat(200)}\n\n${'b'.repeat(400)}`,
      },
    ];
    const [cut] = selectDocuments(documents, 'horaires', 100);
    expect(cut?.body).toBe('a'.repeat(200));
    expect(selectDocuments(documents, 'horaires', 0)).toEqual([]);
    expect(selectDocuments(documents, 'programme', 1000)).toEqual([]);
  });

  it('refuses to upload from a folder that does not exist', async () => {
    await expect(uploadKnowledgeFolder(freshContainer(), '/no/such/folder')).rejects.toThrow(NotFoundError);
  });
});
