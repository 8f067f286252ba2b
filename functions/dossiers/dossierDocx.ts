import {
  Document,
  HeadingLevel,
  Packer,
  Paragraph,
  ShadingType,
  Table,
  TableCell,
  TableRow,
  TextRun,
  WidthType,
  type FileChild,
  type IStylesOptions,
} from 'docx';
import { DOSSIER_HEADINGS, EMPTY_LISTS, keySkillLine, paragraphsOf, type DossierSections } from './sections';
import type { Consultant, DossierLanguage, JobPosting, PairMatch } from './types';

/** What a dossier's DOCX is rendered from, built-in layout or template: the sections and the records. */
export interface DossierDocxInput {
  sections: DossierSections;
  consultant: Consultant;
  job: JobPosting;
  match: PairMatch;
  language: DossierLanguage;
}

/** Shown by Word as the document's author: the app that wrote it, not a person. */
const CREATOR = 'automation-suite';
const HEADER_FILL = 'D9E2F3';
/** The text width of an A4 page with docx's default 2.54 cm margins, in twips. */
const A4_TEXT_WIDTH = 9026;
/** The skill names need the room; the yes/no and status columns are short. */
const COLUMN_SHARES = [0.5, 0.25, 0.25];

const TABLE_WORDING = {
  fr: {
    caption: (score: number) => `Synthèse des compétences — score d'adéquation : ${score}/100`,
    columns: ['Compétence', 'Exigée', 'Statut'],
    yes: 'Oui',
    no: 'Non',
    covered: 'Couverte',
    missing: 'Manquante',
    niceToHave: 'Appréciée',
    locale: 'fr-FR',
  },
  en: {
    caption: (score: number) => `Skills overview — match score: ${score}/100`,
    columns: ['Skill', 'Required', 'Status'],
    yes: 'Yes',
    no: 'No',
    covered: 'Covered',
    missing: 'Missing',
    niceToHave: 'Nice to have',
    locale: 'en-GB',
  },
} as const;

/**
 * The dossier as a Word document in the built-in layout: the title and the section headings in Word's
 * heading styles (so the navigation pane shows the outline), a paragraph per line of a text section, a
 * bullet per list item, and a table of the job's skills and the score at the end of the fit section.
 */
export async function renderDossierDocx(input: DossierDocxInput): Promise<Buffer> {
  const { sections, language } = input;
  const headings = DOSSIER_HEADINGS[language];
  const empty = EMPTY_LISTS[language];
  const body: FileChild[] = [
    heading(HeadingLevel.HEADING_1, sections.title),
    heading(HeadingLevel.HEADING_2, headings.profile),
    ...textParagraphs(sections.profile),
    heading(HeadingLevel.HEADING_2, headings.fit),
    ...textParagraphs(sections.fit),
    ...skillsTable(input.match, language),
    heading(HeadingLevel.HEADING_2, headings.keySkills),
    ...bullets(sections.keySkills.map(keySkillLine), empty.keySkills),
    heading(HeadingLevel.HEADING_2, headings.experiences),
    ...bullets(sections.experiences, empty.experiences),
    heading(HeadingLevel.HEADING_2, headings.education),
    ...textParagraphs(sections.education),
    heading(HeadingLevel.HEADING_2, headings.pointsOfAttention),
    ...bullets(sections.pointsOfAttention, empty.pointsOfAttention),
    heading(HeadingLevel.HEADING_2, headings.availability),
    ...textParagraphs(sections.availability),
  ];
  const document = new Document({
    title: sections.title,
    subject: input.job.client ? `${input.job.title} — ${input.job.client}` : input.job.title,
    creator: CREATOR,
    styles: documentStyles(TABLE_WORDING[language].locale),
    sections: [{ children: body }],
  });
  return Packer.toBuffer(document);
}

function heading(level: (typeof HeadingLevel)['HEADING_1' | 'HEADING_2'], text: string): Paragraph {
  return new Paragraph({ heading: level, children: [new TextRun(text)] });
}

function textParagraphs(text: string): Paragraph[] {
  return paragraphsOf(text).map((line) => new Paragraph({ children: [new TextRun(line)] }));
}

/** A bullet per item; an empty list says so in a paragraph rather than leaving its heading bare. */
function bullets(items: readonly string[], none: string): Paragraph[] {
  if (items.length === 0) return [new Paragraph({ children: [new TextRun(none)] })];
  return items.map((item) => new Paragraph({ bullet: { level: 0 }, children: [new TextRun(item)] }));
}

/** A row of the skills overview: a job skill, whether the job requires it, and whether it is covered. */
export interface SkillRow {
  name: string;
  required: string;
  status: string;
}

/** The job's skills as the overview lists them: covered required, missing required, covered nice-to-have. */
export function skillRows(match: PairMatch, language: DossierLanguage): SkillRow[] {
  const words = TABLE_WORDING[language];
  const row = (name: string, required: string, status: string): SkillRow => ({ name, required, status });
  return [
    ...match.coveredSkills.map((skill) => row(skill, words.yes, words.covered)),
    ...match.missingSkills.map((skill) => row(skill, words.yes, words.missing)),
    ...match.niceToHaveCovered.map((skill) => row(skill, words.no, words.niceToHave)),
  ];
}

function skillsTable(match: PairMatch, language: DossierLanguage): FileChild[] {
  const words = TABLE_WORDING[language];
  const rows = skillRows(match, language).map((row) => [row.name, row.required, row.status]);
  const table = new Table({
    width: { size: 100, type: WidthType.PERCENTAGE },
    columnWidths: COLUMN_SHARES.map((share) => Math.round(share * A4_TEXT_WIDTH)),
    rows: [headerRow(words.columns), ...rows.map(bodyRow)],
  });
  const caption = new Paragraph({
    keepNext: true,
    spacing: { before: 240, after: 120 },
    children: [new TextRun({ text: words.caption(match.score), bold: true })],
  });
  // The empty paragraph keeps the next heading off the table's bottom border.
  return [caption, table, new Paragraph({})];
}

function headerRow(columns: readonly string[]): TableRow {
  return new TableRow({
    // Repeats the header at the top of each page the table runs onto.
    tableHeader: true,
    children: columns.map(
      (column) =>
        new TableCell({
          shading: { type: ShadingType.CLEAR, color: 'auto', fill: HEADER_FILL },
          children: [new Paragraph({ children: [new TextRun({ text: column, bold: true })] })],
        }),
    ),
  });
}

function bodyRow(cells: readonly string[]): TableRow {
  return new TableRow({
    children: cells.map((cell) => new TableCell({ children: [new Paragraph(cell)] })),
  });
}

/**
 * Word finds a document's outline from its headings' outline levels; stating them keeps the navigation
 * pane right in readers that do not know the built-in style names. The language sets the spell checker.
 */
function documentStyles(locale: string): IStylesOptions {
  return {
    default: {
      document: { run: { language: { value: locale } } },
      heading1: { paragraph: { outlineLevel: 0, keepNext: true } },
      heading2: { paragraph: { outlineLevel: 1, keepNext: true } },
      heading3: { paragraph: { outlineLevel: 2, keepNext: true } },
    },
  };
}
