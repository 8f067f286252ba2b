import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Paragraph } from 'docx';
import PizZip from 'pizzip';
import { afterEach, describe, expect, it } from 'vitest';
import { AiClient } from '../../functions/ai/aiClient';
import { openAICompatibleProvider } from '../../functions/ai/providers/openaiProvider';
import {
  createDocxRenderer,
  renderDossier,
  type DossierRenderInput,
} from '../../functions/dossiers/docxRenderer';
import {
  describeProblem,
  renderTemplate,
  TEMPLATE_FIELDS,
  templateData,
  validateTemplate,
  type TemplateProblem,
} from '../../functions/dossiers/docxTemplate';
import { offlineDossierSections } from '../../functions/dossiers/offlineDossier';
import { DirectoryDossierOutputs } from '../../functions/dossiers/outputs';
import { runLocalBatch } from '../../functions/dossiers/runLocalBatch';
import type { DossierSections } from '../../functions/dossiers/sections';
import { InvalidTemplateError } from '../../functions/dossiers/templateStore';
import type { Consultant, JobPosting, PairMatch } from '../../functions/dossiers/types';
import { startAiServer, type LocalAiServer } from '../../local/servers/aiServer';
import { aiWith, dossierAnswer } from './fixtures';
import {
  buildTemplate,
  editedDocx,
  p,
  paragraphTexts,
  partXml,
  sampleTemplate,
  table,
  tableRows,
  visibleText,
} from './templates';

const consultant: Consultant = {
  id: 'eloise-nguyen',
  line: 4,
  fullName: 'Éloïse Nguyễn',
  firstName: 'Éloïse',
  lastName: 'Nguyễn',
  title: 'Architecte cloud',
  years: 7.5,
  skills: ['Azure', 'Terraform', 'Kubernetes'],
  experiences: '2020-2025 : architecte chez Banque Aurore',
  education: 'Master MIAGE',
  certifications: 'AZ-305',
  languages: 'Français, anglais',
  location: 'Nantes',
  availability: 'Sous un mois',
  dailyRate: '900 €',
  extra: { Téléphone: '06 12 34 56 78' },
};

const job: JobPosting = {
  id: 'archi-cloud',
  line: 2,
  title: 'Architecte Azure',
  client: 'Mutuelle Atlantique',
  description: 'Migration du SI vers Azure.',
  requiredSkills: ['Azure', 'Kubernetes', 'Bicep'],
  niceToHave: ['Terraform', 'Go'],
  seniority: 'Senior',
  location: 'Paris',
  start: '01/02/2027',
  duration: '12 mois',
  extra: {},
};

const match: PairMatch = {
  score: 81,
  coveredSkills: ['Azure', 'Kubernetes'],
  missingSkills: ['Bicep'],
  niceToHaveCovered: ['Terraform'],
};

const sections: DossierSections = {
  title: 'Dossier de compétences — Éloïse Nguyễn',
  profile: 'Architecte cloud, 7,5 ans.\nBasée à Nantes.',
  fit: 'Score 81/100.',
  keySkills: [
    { name: 'Azure', detail: 'exigée pour le poste' },
    { name: 'Terraform', detail: '' },
  ],
  experiences: ['2020-2025 : architecte chez Banque Aurore', 'Migration vers AKS'],
  education: 'Master MIAGE\nAZ-305',
  pointsOfAttention: ['Bicep non attesté'],
  availability: 'Sous un mois',
};

const GENERATED_AT = '2026-11-23T16:45:00.000Z';

function renderInput(overrides: Partial<DossierSections> = {}, template?: Uint8Array): DossierRenderInput {
  return {
    sections: { ...sections, ...overrides },
    consultant,
    job,
    match,
    language: 'fr',
    generatedAt: GENERATED_AT,
    ...(template ? { template } : {}),
  };
}

/** The data model's shape, as the tests walk it. */
type Field = 'text' | 'list' | { readonly rows: Fields } | { readonly group: Fields };
type Fields = Readonly<Record<string, Field>>;

/**
 * One paragraph per placeholder of the data model, `path=[value]`: a list's items as `<item>`, a row as
 * `<field:value|…>`. Built from the model, so a placeholder added to it is tested too.
 */
function everyPlaceholder(fields: Fields, prefix = ''): Paragraph[] {
  return Object.entries(fields).flatMap(([name, field]) => {
    const tag = `${prefix}${name}`;
    if (field === 'text') return [p(`${tag}=[{${tag}}]`)];
    if (field === 'list') return [p(`${tag}=[{#${tag}}<{.}>{/${tag}}]`)];
    if ('rows' in field) {
      const cells = Object.keys(field.rows).map((column) => `${column}:{${column}}`);
      return [p(`${tag}=[{#${tag}}<${cells.join('|')}>{/${tag}}]`)];
    }
    return everyPlaceholder(field.group, `${tag}.`);
  });
}

/** What `everyPlaceholder` renders to, from the data itself. */
function expectedLines(fields: Fields, data: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(fields).flatMap(([name, field]) => {
    const value = data[name];
    const tag = `${prefix}${name}`;
    if (field === 'text') return [`${tag}=[${String(value)}]`];
    if (field === 'list') return [`${tag}=[${(value as string[]).map((item) => `<${item}>`).join('')}]`];
    if ('rows' in field) {
      const rows = (value as Record<string, string>[]).map(
        (row) =>
          `<${Object.keys(field.rows)
            .map((column) => `${column}:${row[column] ?? ''}`)
            .join('|')}>`,
      );
      return [`${tag}=[${rows.join('')}]`];
    }
    return expectedLines(field.group, value as Record<string, unknown>, `${tag}.`);
  });
}

/** The shape of data as the model describes it, to compare the two. */
function shapeOf(value: unknown): unknown {
  if (typeof value === 'string' || typeof value === 'number') return 'text';
  if (Array.isArray(value)) return typeof value[0] === 'object' ? { rows: shapeOf(value[0]) } : 'list';
  const fields = Object.fromEntries(
    Object.entries(value as object).map(([key, item]) => [key, shapeOf(item)]),
  );
  return fields;
}

function modelShape(fields: Fields): unknown {
  return Object.fromEntries(
    Object.entries(fields).map(([key, field]) => [
      key,
      typeof field === 'string'
        ? field
        : 'rows' in field
          ? { rows: modelShape(field.rows) }
          : modelShape(field.group),
    ]),
  );
}

describe('template data', () => {
  const data = templateData(renderInput(), new Date(GENERATED_AT));

  it('has exactly the placeholders of the data model', () => {
    expect(shapeOf(data)).toEqual(modelShape(TEMPLATE_FIELDS));
  });

  it('holds the records, the match and the sections, in the dossier’s language, without the rate or contact details', () => {
    expect(data).toMatchObject({
      language: 'fr',
      generatedAt: '23 novembre 2026',
      headings: { profile: 'Profil', pointsOfAttention: "Points d'attention" },
      consultant: { fullName: 'Éloïse Nguyễn', years: '7,5', location: 'Nantes', skills: consultant.skills },
      job: { title: 'Architecte Azure', client: 'Mutuelle Atlantique', requiredSkills: job.requiredSkills },
      match: {
        score: 81,
        covered: ['Azure', 'Kubernetes'],
        missing: ['Bicep'],
        niceToHaveCovered: ['Terraform'],
        skills: [
          { name: 'Azure', required: 'Oui', status: 'Couverte' },
          { name: 'Kubernetes', required: 'Oui', status: 'Couverte' },
          { name: 'Bicep', required: 'Oui', status: 'Manquante' },
          { name: 'Terraform', required: 'Non', status: 'Appréciée' },
        ],
      },
      ...sections,
    });
    expect(JSON.stringify(data)).not.toMatch(/900|06 12 34 56 78/);
    const english = templateData({ ...renderInput(), language: 'en' }, new Date(GENERATED_AT));
    expect(english).toMatchObject({ generatedAt: '23 November 2026', consultant: { years: '7.5' } });
    expect(english.match.skills[2]).toEqual({ name: 'Bicep', required: 'Yes', status: 'Missing' });
  });
});

describe('filling a template', () => {
  it('renders every placeholder with its value (read back from word/document.xml)', async () => {
    const template = await buildTemplate(everyPlaceholder(TEMPLATE_FIELDS));
    expect(validateTemplate(template).problems).toEqual([]);
    const input = renderInput();
    const docx = await renderDossier({ ...input, template });
    const data = templateData(input, new Date(GENERATED_AT)) as unknown as Record<string, unknown>;
    const expected = expectedLines(TEMPLATE_FIELDS, data);
    expect(paragraphTexts(docx)).toEqual(expected);
    // Spot checks, so the comparison above cannot pass on two empty lists.
    expect(expected).toContain('consultant.fullName=[Éloïse Nguyễn]');
    expect(expected).toContain('profile=[Architecte cloud, 7,5 ans.\nBasée à Nantes.]');
    expect(expected).toContain(
      'keySkills=[<name:Azure|detail:exigée pour le poste><name:Terraform|detail:>]',
    );
    expect(expected).toContain('match.missing=[<Bicep>]');
    // A text's lines are line breaks in the template's paragraph.
    expect(partXml(docx)).toMatch(
      /Architecte cloud, 7,5 ans\.<\/w:t><\/w:r><w:r><w:br\/><\/w:r><w:r><w:t[^>]*>Basée à Nantes\./,
    );
  });

  it.each([
    [0, []],
    [1, ['Première mission']],
    [3, ['Mission A', 'Mission B', 'Mission C']],
  ])('repeats a loop for %i item(s): paragraphs, table rows, and the empty case', async (count, items) => {
    const template = await buildTemplate([
      p('Expériences :'),
      p('{#experiences}'),
      p('• {.}'),
      p('{/experiences}'),
      p('{^experiences}'),
      p('Aucune expérience renseignée.'),
      p('{/experiences}'),
      table(['Compétence', 'Détail'], ['{#keySkills}{name}', '{detail}{/keySkills}']),
      p('Fin.'),
    ]);
    const keySkills = items.map((name, i) => ({ name: `${name} (compétence)`, detail: `détail ${i + 1}` }));
    const docx = renderTemplate(
      template,
      templateData(renderInput({ experiences: items, keySkills }), new Date()),
    );
    const texts = paragraphTexts(docx).filter(
      (text) => !/^(Compétence|Détail|.*\(compétence\)|détail \d)$/.test(text),
    );
    expect(texts).toEqual([
      'Expériences :',
      ...items.map((item) => `• ${item}`),
      ...(count === 0 ? ['Aucune expérience renseignée.'] : []),
      'Fin.',
    ]);
    expect(tableRows(docx)).toEqual([['Compétence', 'Détail'], ...keySkills.map((s) => [s.name, s.detail])]);
  });

  it('escapes accents and XML-special characters, and the result opens as a document', async () => {
    const tricky = 'R&D <équipe> "quotes" l\'été — ½ & Çà';
    const template = await buildTemplate([
      p('{profile}'),
      p('{#pointsOfAttention}'),
      p('{.}'),
      p('{/pointsOfAttention}'),
    ]);
    const docx = renderTemplate(
      template,
      templateData(
        renderInput({ profile: tricky, pointsOfAttention: ['<script>&amp;</script>'] }),
        new Date(),
      ),
    );
    const xml = partXml(docx);
    expect(xml).toContain('R&amp;D &lt;équipe&gt; &quot;quotes&quot; l&apos;été — ½ &amp; Çà');
    expect(xml).toContain('&lt;script&gt;&amp;amp;&lt;/script&gt;');
    expect(xml).not.toContain('<script>');
    expect(paragraphTexts(docx)).toEqual([tricky, '<script>&amp;</script>']);
    expect(await visibleText(docx)).toContain(tricky);
  });

  it('reads a tag Word split into several runs of one paragraph', async () => {
    const template = await buildTemplate([p('Consultant : {consult', 'ant.full', 'Name}.')]);
    expect(validateTemplate(template)).toEqual({ tags: ['consultant.fullName'], problems: [] });
    expect(paragraphTexts(renderTemplate(template, templateData(renderInput(), new Date())))).toEqual([
      'Consultant : Éloïse Nguyễn.',
    ]);
  });

  it('renders on a worker thread as in-process', async () => {
    const worker = path.resolve(__dirname, '../../dist/functions/dossiers/docxWorker.js');
    const render = createDocxRenderer({ workers: 1, script: worker });
    const input = renderInput({}, sampleTemplate());
    const [threaded, inProcess] = await Promise.all([render(input), renderDossier(input)]);
    expect(paragraphTexts(threaded)).toEqual(paragraphTexts(inProcess));
    expect(paragraphTexts(threaded)).toContain('Dossier de compétences — Éloïse Nguyễn');
  });
});

describe('checking a template', () => {
  /** The problems' codes and places, for compact comparisons. */
  const places = (problems: TemplateProblem[]) =>
    problems.map(({ code, place }) => ({
      code,
      part: place.part,
      paragraph: place.paragraph,
      tag: place.tag,
    }));

  it('lists the tags of a valid template, loops marked, each once', async () => {
    const template = await buildTemplate([
      p('{title}'),
      p('{#keySkills}{name}{/keySkills} {^experiences}-{/experiences} {title}'),
    ]);
    expect(validateTemplate(template)).toEqual({
      tags: ['title', '#keySkills', 'name', '^experiences'],
      problems: [],
    });
  });

  it('refuses a tag that is not in the data, naming its paragraph and tag', async () => {
    const template = await buildTemplate([
      p('{title}'),
      p('Salaire : {consultant.salary}'),
      p('{#keySkills}{nom}{/keySkills}'),
    ]);
    const { problems } = validateTemplate(template);
    expect(places(problems)).toEqual([
      { code: 'unknown_tag', part: 'body', paragraph: 2, tag: '{consultant.salary}' },
      { code: 'unknown_tag', part: 'body', paragraph: 3, tag: '{nom}' },
    ]);
    expect(describeProblem(problems[0] as TemplateProblem)).toBe(
      'body, paragraph 2 ("Salaire : {consultant.salary}"), tag {consultant.salary}: "consultant.salary" is not in the dossier\'s data.',
    );
  });

  it('refuses an unclosed loop and an unopened one, each with its paragraph', async () => {
    const unclosed = await buildTemplate([p('Compétences'), p('{#keySkills}'), p('{name}')]);
    expect(places(validateTemplate(unclosed).problems)).toEqual([
      { code: 'unclosed_loop', part: 'body', paragraph: 2, tag: 'keySkills' },
    ]);
    const unopened = await buildTemplate([p('{profile}'), p('{.}'), p('{/experiences}')]);
    const problems = validateTemplate(unopened).problems;
    expect(places(problems)).toContainEqual({
      code: 'unopened_loop',
      part: 'body',
      paragraph: 3,
      tag: 'experiences',
    });
    expect(problems.find((x) => x.code === 'unopened_loop')?.message).toBe(
      'The loop with tag "experiences" is unopened.',
    );
  });

  it('refuses a tag split over two paragraphs, and one whose closing brace was lost, in the header', async () => {
    const split = await buildTemplate([p('Nom :'), p('{consultant.'), p('fullName}')]);
    expect(places(validateTemplate(split).problems)).toEqual([
      { code: 'split_tag', part: 'body', paragraph: 2, tag: '{consultant.fullName}' },
    ]);
    const broken = await buildTemplate([p('{title}')], [p('Dossier de ', '{consultant.full', 'Name')]);
    const [problem] = validateTemplate(broken).problems;
    expect(problem).toMatchObject({
      code: 'unclosed_tag',
      place: { part: 'header 1', file: 'word/header1.xml', paragraph: 1, tag: 'consultant.fullName' },
    });
    expect(problem?.message).toBe('The tag beginning with "{consultant.fullName" is unclosed.');
  });

  it('refuses a loop that crosses a table, a list or group used as a value, and raw XML', async () => {
    const crossing = await buildTemplate([p('{#keySkills}'), table(['{name}', '{detail}{/keySkills}'])]);
    expect(places(validateTemplate(crossing).problems)).toEqual([
      { code: 'loop_position_invalid', part: 'body', paragraph: 1, tag: 'keySkills' },
    ]);
    const misplaced = await buildTemplate([p('{keySkills}'), p('{consultant}'), p('{@profile}')]);
    const problems = validateTemplate(misplaced).problems;
    expect(places(problems).map((x) => x.code)).toEqual(
      expect.arrayContaining(['list_as_value', 'group_as_value', 'raw_xml_tag']),
    );
    expect(problems.find((x) => x.code === 'list_as_value')?.message).toBe(
      '"keySkills" is a list: repeat it with {#keySkills}…{/keySkills}.',
    );
  });

  it('lists every problem of a template at once, syntax and unknown tags alike', async () => {
    const template = await buildTemplate([p('{consultant.age}'), p('{#experiences}'), p('{.}')]);
    expect(places(validateTemplate(template).problems).map((x) => x.code)).toEqual([
      'unknown_tag',
      'unclosed_loop',
    ]);
  });

  it('refuses a file that is not a DOCX', () => {
    const [corrupt] = validateTemplate(Buffer.from('not a zip at all'.repeat(10))).problems;
    expect(corrupt).toMatchObject({ code: 'corrupt_file', place: { part: 'file' } });
    expect(corrupt?.message).toMatch(/^The file is not a DOCX \(a zip package\): /);
    const zip = new PizZip();
    zip.file('notes.txt', 'hello');
    const [notWord] = validateTemplate(zip.generate({ type: 'nodebuffer' })).problems;
    expect(notWord).toMatchObject({ code: 'not_docx', place: { part: 'file' } });
    const truncated = sampleTemplate().subarray(0, 2000);
    expect(validateTemplate(truncated).problems[0]?.code).toBe('corrupt_file');
  });
});

describe('the sample firm template', () => {
  it('is valid, and uses every section of the dossier', () => {
    const { tags, problems } = validateTemplate(sampleTemplate());
    expect(problems).toEqual([]);
    for (const section of Object.keys(sections)) {
      expect(tags.some((tag) => tag.replace(/^[#^]/, '') === section)).toBe(true);
    }
  });

  it('fills the firm’s layout: logo and name in the header, its table style, every section, the footer', async () => {
    const input = {
      ...renderInput(),
      sections: offlineDossierSections({ consultant, job, match, language: 'fr', instructions: '' }),
    };
    const docx = await renderDossier({ ...input, template: sampleTemplate() });
    const zip = new PizZip(docx);
    expect(zip.file(/^word\/media\/.*\.png$/)).toHaveLength(1);
    expect(paragraphTexts(docx, 'word/header1.xml').join('')).toContain('Cabinet Exemple');
    expect(paragraphTexts(docx, 'word/header1.xml').join('')).toContain(
      'Dossier de compétences — Éloïse Nguyễn',
    );
    expect(partXml(docx, 'word/styles.xml')).toContain('w:styleId="TableauCompetences"');
    expect(partXml(docx).match(/<w:tblStyle w:val="TableauCompetences"\/>/g)).toHaveLength(2);
    expect(paragraphTexts(docx, 'word/footer1.xml').join('')).toContain('Document confidentiel');

    const texts = paragraphTexts(docx);
    const headings = [
      'Profil',
      'Adéquation au poste',
      'Compétences clés',
      'Expériences',
      'Formation et certifications',
      "Points d'attention",
      'Disponibilité',
    ];
    const positions = headings.map((heading) => texts.indexOf(heading));
    expect(positions.every((position) => position > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    const s = input.sections;
    for (const value of [s.title, ...s.profile.split('\n'), ...s.experiences, ...s.pointsOfAttention])
      expect(texts.join('\n')).toContain(value);
    expect(texts).toContain("Architecte cloud · 7,5 ans d'expérience");
    expect(tableRows(docx)).toEqual(
      expect.arrayContaining([
        ['Poste visé', 'Architecte Azure'],
        ["Score d'adéquation", '81/100'],
        ['Document établi le', '23 novembre 2026'],
        ['Bicep', 'Oui', 'Manquante'],
        ['Azure', 'exigée pour le poste'],
      ]),
    );
    expect(await visibleText(docx)).toContain('Formation : Master MIAGE');
  });
});

describe('the templates README', () => {
  const readme = readFileSync(path.resolve(__dirname, '../../samples/templates/README.md'), 'utf8');

  /** Every placeholder of the model: its path, and the group it is in (for the `.field` shorthand). */
  function leaves(fields: Fields, prefix = ''): { path: string; group: string; name: string }[] {
    return Object.entries(fields).flatMap(([name, field]) => {
      const entry = { path: `${prefix}${name}`, group: prefix, name };
      if (typeof field === 'string') return [entry];
      if ('rows' in field) return [entry, ...leaves(field.rows, '')];
      return leaves(field.group, `${prefix}${name}.`);
    });
  }

  it('documents every placeholder of the data model', () => {
    for (const { path: tag, group, name } of leaves(TEMPLATE_FIELDS)) {
      const documented =
        new RegExp(`[{#^]${tag.replace(/\./g, '\\.')}[}]`).test(readme) ||
        (group !== '' && readme.includes(`{${group}`) && readme.includes(`.${name}\``)) ||
        readme.includes(`\`${tag}\``);
      expect(documented, tag).toBe(true);
    }
  });
});

describe('a batch with a template (in one process, as the CLI runs it)', () => {
  const SAMPLES = path.resolve(__dirname, '../../samples');
  const files = {
    consultants: { name: 'consultants.csv', bytes: readFileSync(path.join(SAMPLES, 'consultants.csv')) },
    jobs: { name: 'jobs.csv', bytes: readFileSync(path.join(SAMPLES, 'jobs.csv')) },
  };
  const servers: LocalAiServer[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function aiServer() {
    const server = await startAiServer({
      reply: () => dossierAnswer({ profile: 'Profil rédigé par le modèle.' }),
    });
    servers.push(server);
    const ai = aiWith(
      openAICompatibleProvider({
        baseURL: `${server.url}/v1`,
        apiKey: 'k',
        model: 'gpt-4o-mini',
        timeoutMs: 5000,
      }),
    );
    return { ai, server };
  }

  const run = (ai: AiClient, out: string, template?: Uint8Array) =>
    runLocalBatch({
      batchId: 'tpl',
      ...files,
      options: { topK: 1, minScore: undefined, language: 'fr', regenerateUngrounded: false },
      ...(template ? { template: { name: 'cabinet.docx', bytes: template } } : {}),
      concurrency: 2,
      ai,
      outputs: new DirectoryDossierOutputs(out),
      renderDocx: renderDossier,
    });

  it('fills the template; an unchanged template costs no AI call, a changed one regenerates', async () => {
    const { ai, server } = await aiServer();
    const out = mkdtempSync(path.join(tmpdir(), 'dossiers-template-'));
    dirs.push(out);
    const first = await run(ai, out, sampleTemplate());
    expect(first).toMatchObject({ generated: 4, skipped: 0, failed: 0 });
    expect(server.counters.requests).toBe(4);
    const docxFile = (jobId: string) => {
      const pair = first.pairs.find((x) => x.jobId === jobId && x.status === 'generated');
      return path.join(out, jobId, `${pair?.consultantId ?? ''}.docx`);
    };
    const docx = readFileSync(docxFile('job-2026-01'));
    expect(paragraphTexts(docx, 'word/footer1.xml').join('')).toContain('Document confidentiel');
    expect(paragraphTexts(docx)).toContain('Profil rédigé par le modèle.');
    const modified = readdirSync(path.join(out, 'job-2026-01')).length;

    const unchanged = await run(ai, out, sampleTemplate());
    expect(unchanged).toMatchObject({ generated: 0, skipped: 4 });
    expect(server.counters.requests).toBe(4);
    expect(readFileSync(docxFile('job-2026-01'))).toEqual(docx);
    expect(readdirSync(path.join(out, 'job-2026-01'))).toHaveLength(modified);

    const restyled = editedDocx(
      sampleTemplate(),
      'word/footer1.xml',
      'Document confidentiel',
      'Diffusion restreinte',
    );
    const changed = await run(ai, out, restyled);
    expect(changed).toMatchObject({ generated: 4, skipped: 0 });
    expect(server.counters.requests).toBe(8);
    expect(paragraphTexts(readFileSync(docxFile('job-2026-01')), 'word/footer1.xml').join('')).toContain(
      'Diffusion restreinte',
    );
    // Back to the built-in layout: another input again.
    expect(await run(ai, out)).toMatchObject({ generated: 4 });
  });

  it('refuses a broken template before any AI call', async () => {
    const { ai, server } = await aiServer();
    const out = mkdtempSync(path.join(tmpdir(), 'dossiers-template-'));
    dirs.push(out);
    const broken = await buildTemplate([p('{#keySkills}{name}'), p('{consultant.salary}')]);
    const refused = run(ai, out, broken);
    await expect(refused).rejects.toThrow(InvalidTemplateError);
    await expect(refused).rejects.toThrow(
      /^--template: the template cabinet\.docx has 2 problems: body, paragraph 1 .*unclosed.*; body, paragraph 2 .*consultant\.salary/,
    );
    expect(server.counters.requests).toBe(0);
    expect(readdirSync(out)).toEqual([]);
  });
});
