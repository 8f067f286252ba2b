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
import { DOSSIER_HEADINGS } from './offlineDossier';
import type { Consultant, DossierLanguage, JobPosting, PairMatch } from './types';

export interface DossierDocxInput {
  /** The dossier as written by the model or the offline generator. */
  markdown: string;
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

type TableWording = (typeof TABLE_WORDING)[DossierLanguage];

type MarkdownBlock =
  | { kind: 'heading'; level: number; text: string }
  | { kind: 'bullet'; level: number; text: string }
  | { kind: 'paragraph'; text: string };

const HEADING_STYLES = [HeadingLevel.HEADING_1, HeadingLevel.HEADING_2, HeadingLevel.HEADING_3] as const;

/**
 * The dossier as a Word document: its Markdown in Word's built-in heading and list styles (so the
 * navigation pane shows the outline), with a table of the job's skills and the score at the end of the
 * fit-for-the-role section.
 */
export async function renderDossierDocx(input: DossierDocxInput): Promise<Buffer> {
  const blocks = parseMarkdown(input.markdown);
  const paragraphs = blocks.map(toParagraph);
  const tableAt = skillsTablePosition(blocks, input.language);
  const body: FileChild[] = [
    ...paragraphs.slice(0, tableAt),
    ...skillsTable(input.match, TABLE_WORDING[input.language]),
    ...paragraphs.slice(tableAt),
  ];
  const document = new Document({
    title: `${DOSSIER_HEADINGS[input.language].title} — ${input.consultant.fullName}`,
    subject: input.job.client ? `${input.job.title} — ${input.job.client}` : input.job.title,
    creator: CREATOR,
    styles: documentStyles(TABLE_WORDING[input.language].locale),
    sections: [{ children: body }],
  });
  return Packer.toBuffer(document);
}

/**
 * The block structure of the Markdown dossiers use: ATX headings, `-`/`*` list items (two spaces of
 * indent a level), and paragraphs of lines that blank lines separate. A line that follows a list item
 * with no blank line continues it, as in Markdown.
 */
function parseMarkdown(markdown: string): MarkdownBlock[] {
  const blocks: MarkdownBlock[] = [];
  let open: MarkdownBlock | undefined;
  for (const line of markdown.split(/\r?\n/)) {
    const block = parseLine(line);
    if (block === undefined) {
      open = undefined;
    } else if (block.kind === 'paragraph' && open !== undefined && open.kind !== 'heading') {
      open.text = `${open.text} ${block.text}`;
    } else {
      blocks.push(block);
      open = block;
    }
  }
  return blocks;
}

function parseLine(line: string): MarkdownBlock | undefined {
  if (line.trim() === '') return undefined;
  const heading = /^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
  if (heading?.[1] && heading[2] !== undefined) {
    return { kind: 'heading', level: heading[1].length, text: heading[2] };
  }
  const item = /^(\s*)[-*]\s+(.*)$/.exec(line);
  if (item?.[1] !== undefined && item[2] !== undefined) {
    return { kind: 'bullet', level: Math.min(Math.floor(item[1].length / 2), 8), text: item[2].trim() };
  }
  return { kind: 'paragraph', text: line.trim() };
}

function toParagraph(block: MarkdownBlock): Paragraph {
  const children = inlineRuns(block.text);
  switch (block.kind) {
    case 'heading':
      // A dossier has three levels; a deeper heading stays in the outline at the third, not in body text.
      return new Paragraph({ heading: HEADING_STYLES[Math.min(block.level, 3) - 1], children });
    case 'bullet':
      return new Paragraph({ bullet: { level: block.level }, children });
    case 'paragraph':
      return new Paragraph({ children });
  }
}

/** `**bold**` becomes bold runs; any other inline Markdown is kept as the text it is. */
function inlineRuns(text: string): TextRun[] {
  return text
    .split(/\*\*(.+?)\*\*/)
    .map((part, index) => ({ part, bold: index % 2 === 1 }))
    .filter(({ part }) => part !== '')
    .map(({ part, bold }) => new TextRun({ text: part, bold }));
}

/** Just before the heading that follows the fit-for-the-role section, or at the end without one. */
function skillsTablePosition(blocks: readonly MarkdownBlock[], language: DossierLanguage): number {
  const fitTitle = normalise(DOSSIER_HEADINGS[language].fit);
  const fit = blocks.findIndex((block) => block.kind === 'heading' && normalise(block.text) === fitTitle);
  if (fit === -1) return blocks.length;
  const next = blocks.findIndex(
    (block, index) => index > fit && block.kind === 'heading' && block.level <= 2,
  );
  return next === -1 ? blocks.length : next;
}

function normalise(text: string): string {
  return text.replace(/\s+/g, ' ').trim().toLowerCase();
}

function skillsTable(match: PairMatch, words: TableWording): FileChild[] {
  const rows = [
    ...match.coveredSkills.map((skill) => [skill, words.yes, words.covered]),
    ...match.missingSkills.map((skill) => [skill, words.yes, words.missing]),
    ...match.niceToHaveCovered.map((skill) => [skill, words.no, words.niceToHave]),
  ];
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
