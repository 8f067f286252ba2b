import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocxRenderer, type DossierRenderInput } from '../../functions/dossiers/docxRenderer';
import { renderDossierDocx } from '../../functions/dossiers/dossierDocx';
import { offlineDossierSections } from '../../functions/dossiers/offlineDossier';
import { EMPTY_LISTS, type DossierSections } from '../../functions/dossiers/sections';
import type { Consultant, DossierLanguage, JobPosting, PairMatch } from '../../functions/dossiers/types';

const consultant: Consultant = {
  id: 'karim-benali',
  line: 5,
  fullName: 'Karim Benali',
  title: 'Développeur full stack',
  years: 5,
  skills: ['TypeScript', 'React', 'Node.js', 'PostgreSQL', 'Docker'],
  experiences: '2021-2025 : développeur chez Assurances du Rhône ; 2020-2021 : stage chez Startup Lab',
  education: 'École d’ingénieurs, INSA Lyon',
  location: 'Paris',
  availability: 'Sous un mois',
  extra: {},
};

const job: JobPosting = {
  id: 'dev-full-stack',
  line: 3,
  title: 'Développeur full stack TypeScript',
  client: 'Mutuelle Santé Plus',
  requiredSkills: ['TypeScript', 'React', 'Node.js', 'Azure'],
  niceToHave: ['PostgreSQL', 'GraphQL'],
  location: 'Paris',
  extra: {},
};

const match: PairMatch = {
  score: 71,
  coveredSkills: ['TypeScript', 'React', 'Node.js'],
  missingSkills: ['Azure'],
  niceToHaveCovered: ['PostgreSQL'],
};

function docxInput(language: DossierLanguage, sections?: Partial<DossierSections>): DossierRenderInput {
  const offline = offlineDossierSections({ consultant, job, match, language, instructions: '' });
  return {
    sections: { ...offline, ...sections },
    consultant,
    job,
    match,
    language,
    generatedAt: '2026-11-23T09:30:00.000Z',
  };
}

async function unzip(buffer: Buffer): Promise<{ document: string; core: string }> {
  const zip = await JSZip.loadAsync(buffer);
  const read = (name: string) => zip.file(name)?.async('string') ?? Promise.reject(new Error(`No ${name}`));
  return { document: await read('word/document.xml'), core: await read('docProps/core.xml') };
}

/** The text of each table row, cells joined by `|`. */
function tableRows(documentXml: string): string[] {
  const table = /<w:tbl>[\s\S]*<\/w:tbl>/.exec(documentXml)?.[0] ?? '';
  return [...table.matchAll(/<w:tr>[\s\S]*?<\/w:tr>/g)].map((row) =>
    [...row[0].matchAll(/<w:tc>[\s\S]*?<\/w:tc>/g)]
      .map((cell) => [...cell[0].matchAll(/<w:t[^>]*>([^<]*)<\/w:t>/g)].map((t) => t[1]).join(''))
      .join('|'),
  );
}

describe('dossier DOCX', () => {
  it('is a Word document with the dossier outline in heading styles and bullets', async () => {
    const { document } = await unzip(await renderDossierDocx(docxInput('fr')));
    expect(document).toContain('Karim Benali');
    expect(document).toContain('<w:pStyle w:val="Heading1"/>');
    expect(document.match(/<w:pStyle w:val="Heading2"\/>/g)).toHaveLength(7);
    expect(document).toMatch(/<w:numPr><w:ilvl w:val="0"\/><w:numId w:val="\d+"\/><\/w:numPr>/);
    expect(document).not.toMatch(/<w:t[^>]*>\s*(#|- )/);
  });

  it('puts the skills table and the score at the end of the fit section', async () => {
    const { document } = await unzip(await renderDossierDocx(docxInput('fr')));
    expect(tableRows(document)).toEqual([
      'Compétence|Exigée|Statut',
      'TypeScript|Oui|Couverte',
      'React|Oui|Couverte',
      'Node.js|Oui|Couverte',
      'Azure|Oui|Manquante',
      'PostgreSQL|Non|Appréciée',
    ]);
    expect(document).toContain('w:fill="D9E2F3"');
    expect(document).toContain('<w:tblHeader/>');
    expect(document).toContain('Synthèse des compétences — score d&apos;adéquation : 71/100');
    const table = document.indexOf('<w:tbl>');
    expect(table).toBeGreaterThan(document.indexOf('Score d&apos;adéquation : 71/100.'));
    expect(table).toBeLessThan(document.indexOf('Compétences clés'));
  });

  it('records the title and creator in the document properties', async () => {
    const { core } = await unzip(await renderDossierDocx(docxInput('fr')));
    expect(core).toContain('<dc:title>Dossier de compétences — Karim Benali</dc:title>');
    expect(core).toContain('<dc:creator>automation-suite</dc:creator>');
    expect(core).toContain('Développeur full stack TypeScript — Mutuelle Santé Plus');
  });

  it('labels the table in English for an English dossier', async () => {
    const { document, core } = await unzip(await renderDossierDocx(docxInput('en')));
    expect(tableRows(document)[0]).toBe('Skill|Required|Status');
    expect(tableRows(document)).toContain('Azure|Yes|Missing');
    expect(tableRows(document)).toContain('PostgreSQL|No|Nice to have');
    expect(core).toContain('<dc:title>Skills dossier — Karim Benali</dc:title>');
  });

  it('makes each line of a text a paragraph and each item a bullet, and says when a list is empty', async () => {
    const { document } = await unzip(
      await renderDossierDocx(
        docxInput('fr', {
          profile: 'Première ligne\nSeconde ligne',
          keySkills: [],
          pointsOfAttention: ['Azure & <Kubernetes> « à confirmer »'],
        }),
      ),
    );
    const paragraphs = [...document.matchAll(/<w:p>([\s\S]*?)<\/w:p>/g)].map((p) => p[1] ?? '');
    const texts = paragraphs.map((p) =>
      [...p.matchAll(/<w:t[^>]*>([^<]*)<\/w:t>/g)].map((t) => t[1]).join(''),
    );
    expect(texts).toEqual(expect.arrayContaining(['Première ligne', 'Seconde ligne']));
    expect(texts).toContain(EMPTY_LISTS.fr.keySkills.replace(/'/g, '&apos;'));
    const point = paragraphs.find((p) => p.includes('Kubernetes'));
    expect(point).toContain('Azure &amp; &lt;Kubernetes&gt; « à confirmer »');
    expect(point).toMatch(/<w:numPr>/);
    expect(document).not.toMatch(/<w:t[^>]*>\s*(#|- )/);
  });
});

describe('DOCX worker pool', () => {
  // The compiled worker (the test run builds dist/ first), behind a listener that kills the thread on
  // a marked request: one throws an uncaught error, the other exits, as a worker bug would.
  const THROW = 'crash: throw';
  const EXIT = 'crash: exit';
  let dir: string;
  let script: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'docx-worker-'));
    script = path.join(dir, 'crashingWorker.js');
    const realWorker = path.resolve(__dirname, '../../dist/functions/dossiers/docxWorker.js');
    writeFileSync(
      script,
      [
        "const { parentPort } = require('node:worker_threads');",
        'parentPort.on("message", ({ input }) => {',
        `  if (input.sections.title === ${JSON.stringify(THROW)}) throw new Error('render blew up');`,
        `  if (input.sections.title === ${JSON.stringify(EXIT)}) process.exit(7);`,
        '});',
        `require(${JSON.stringify(realWorker)});`,
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fails the renders a crashed worker held, saying why, and renders again on a replacement', async () => {
    const render = createDocxRenderer({ workers: 1, script });
    expect((await unzip(await render(docxInput('fr')))).document).toContain('Karim Benali');

    const crashing = render(docxInput('fr', { title: THROW }));
    const queuedBehind = render(docxInput('fr'));
    await expect(crashing).rejects.toThrow('DOCX worker crashed: render blew up');
    await expect(queuedBehind).rejects.toThrow('DOCX worker crashed: render blew up');

    const { core } = await unzip(await render(docxInput('en')));
    expect(core).toContain('<dc:title>Skills dossier — Karim Benali</dc:title>');
  });

  it('fails only the renders of the worker that exited; the other workers carry on', async () => {
    const render = createDocxRenderer({ workers: 2, script });
    // Dealt in turn: the first render goes to one worker, the second to the other.
    const exiting = render(docxInput('fr', { title: EXIT }));
    const elsewhere = render(docxInput('fr'));
    await expect(exiting).rejects.toThrow('DOCX worker stopped unexpectedly (exit code 7)');
    expect((await unzip(await elsewhere)).document).toContain('Karim Benali');

    const later = await Promise.all([render(docxInput('fr')), render(docxInput('en'))]);
    for (const docx of later) expect((await unzip(docx)).document).toContain('Karim Benali');
  });
});
