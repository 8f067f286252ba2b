/**
 * Builds `cabinet-exemple.docx`, the sample firm template for dossiers: a header with the firm's logo
 * (a PNG drawn here) and name, the firm's colours, the sections in a fixed order, two skills tables in
 * the firm's own table style, and a footer with the page number. The text is docxtemplater tags (see
 * README.md beside this file). Run it again after changing it, and commit the .docx:
 *
 *   npm exec -- node samples/templates/make-template.mts
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import {
  AlignmentType,
  BorderStyle,
  Document,
  Footer,
  Header,
  HeadingLevel,
  ImageRun,
  LevelFormat,
  Packer,
  PageNumber,
  Paragraph,
  ShadingType,
  Tab,
  Table,
  TableCell,
  TableRow,
  TabStopType,
  TextRun,
  WidthType,
} from 'docx';

const NAVY = '1E3A5F';
const TEAL = '0F766E';
const PALE_TEAL = 'E6F2F1';
const FIRM = 'Cabinet Exemple';
/** The text width of an A4 page with 2 cm margins, in twips. */
const TEXT_WIDTH = 9638;
const TABLE_STYLE = 'TableauCompetences';
const BULLETS = 'puces-cabinet';

/** The firm's logo: a navy rounded square with a white open ring and a teal dot, 96 × 96 pixels. */
function logoPng(size = 96): Buffer {
  const [navy, teal, white] = [hex(NAVY), hex(TEAL), hex('FFFFFF')];
  const samples = 4; // per axis, for smooth edges
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4); // filter byte 0, then RGBA
    for (let x = 0; x < size; x++) {
      const colour = [0, 0, 0];
      let alpha = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const u = (x + (sx + 0.5) / samples) / size;
          const v = (y + (sy + 0.5) / samples) / size;
          const paint = logoAt(u, v, navy, teal, white);
          if (!paint) continue;
          for (let c = 0; c < 3; c++) colour[c] = (colour[c] ?? 0) + (paint[c] ?? 0);
          alpha++;
        }
      }
      const at = 1 + x * 4;
      for (let c = 0; c < 3; c++) row[at + c] = alpha ? Math.round((colour[c] ?? 0) / alpha) : 0;
      row[at + 3] = Math.round((alpha / (samples * samples)) * 255);
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter choice, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

type Rgb = readonly [number, number, number];

/** The logo's colour at (u, v) in [0, 1]², or undefined outside it. */
function logoAt(u: number, v: number, navy: Rgb, teal: Rgb, white: Rgb): Rgb | undefined {
  const radius = 0.18;
  const dx = Math.max(radius - u, 0, u - (1 - radius));
  const dy = Math.max(radius - v, 0, v - (1 - radius));
  if (dx * dx + dy * dy > radius * radius) return undefined;
  const [cx, cy] = [u - 0.46, v - 0.5];
  const distance = Math.hypot(cx, cy);
  const angle = Math.atan2(cy, cx);
  if (Math.hypot(u - 0.74, v - 0.5) < 0.085) return teal;
  if (distance > 0.2 && distance < 0.3 && Math.abs(angle) > Math.PI / 4) return white;
  return navy;
}

function hex(colour: string): Rgb {
  return [0, 2, 4].map((i) => parseInt(colour.slice(i, i + 2), 16)) as unknown as Rgb;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * The firm's table style: navy header row in white bold, pale teal bands, navy rules above and below.
 * Word applies it through the tables' look (first row, banded rows). Given as external styles, docx
 * keeps its default styles (headings, lists) beside it.
 */
const externalStyles = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:style w:type="table" w:customStyle="1" w:styleId="${TABLE_STYLE}">
  <w:name w:val="Tableau compétences ${FIRM}"/>
  <w:basedOn w:val="TableNormal"/>
  <w:uiPriority w:val="59"/>
  <w:pPr><w:spacing w:before="40" w:after="40"/></w:pPr>
  <w:rPr><w:sz w:val="19"/></w:rPr>
  <w:tblPr>
    <w:tblStyleRowBandSize w:val="1"/>
    <w:tblBorders>
      <w:top w:val="single" w:sz="12" w:space="0" w:color="${NAVY}"/>
      <w:bottom w:val="single" w:sz="12" w:space="0" w:color="${NAVY}"/>
      <w:insideH w:val="single" w:sz="4" w:space="0" w:color="BFD7D5"/>
    </w:tblBorders>
    <w:tblCellMar>
      <w:top w:w="40" w:type="dxa"/>
      <w:left w:w="108" w:type="dxa"/>
      <w:bottom w:w="40" w:type="dxa"/>
      <w:right w:w="108" w:type="dxa"/>
    </w:tblCellMar>
  </w:tblPr>
  <w:tblStylePr w:type="firstRow">
    <w:rPr><w:b/><w:color w:val="FFFFFF"/></w:rPr>
    <w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="${NAVY}"/></w:tcPr>
  </w:tblStylePr>
  <w:tblStylePr w:type="band1Horz">
    <w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="${PALE_TEAL}"/></w:tcPr>
  </w:tblStylePr>
</w:style>
</w:styles>`;

const text = (
  value: string,
  options: { bold?: boolean; italics?: boolean; color?: string; size?: number } = {},
) => new TextRun({ text: value, ...options });

const paragraph = (...runs: TextRun[]) => new Paragraph({ children: runs });

const sectionHeading = (title: string) =>
  new Paragraph({ heading: HeadingLevel.HEADING_2, children: [text(title)] });

/**
 * A list section: the loop tags alone in their paragraphs, so docxtemplater repeats the bullet between
 * and leaves no empty paragraph; the inverted loop (`{^…}`) shows its text only when the list is empty.
 */
const bulletLoop = (list: string, none: string) => [
  paragraph(text(`{#${list}}`)),
  new Paragraph({ numbering: { reference: BULLETS, level: 0 }, children: [text('{.}')] }),
  paragraph(text(`{/${list}}`)),
  paragraph(text(`{^${list}}`)),
  paragraph(text(none, { italics: true })),
  paragraph(text(`{/${list}}`)),
];

/** A table in the firm's style: a header row, then one row repeated for each item of `list`. */
function skillsTable(list: string, columns: { title: string; tag: string; share: number }[]): Table {
  const widths = columns.map((column) => Math.round(column.share * TEXT_WIDTH));
  const cell = (value: string, width: number) =>
    new TableCell({ width: { size: width, type: WidthType.DXA }, children: [paragraph(text(value))] });
  const last = columns.length - 1;
  return new Table({
    style: TABLE_STYLE,
    tableLook: { firstRow: true, noHBand: false, lastRow: false, firstColumn: false, noVBand: true },
    width: { size: TEXT_WIDTH, type: WidthType.DXA },
    columnWidths: widths,
    rows: [
      new TableRow({
        tableHeader: true,
        children: columns.map((column, i) => cell(column.title, widths[i] ?? 0)),
      }),
      new TableRow({
        children: columns.map((column, i) =>
          cell(
            `${i === 0 ? `{#${list}}` : ''}{${column.tag}}${i === last ? `{/${list}}` : ''}`,
            widths[i] ?? 0,
          ),
        ),
      }),
    ],
  });
}

/** The dossier's key facts in a pale box under the title. */
function factsBox(): Table {
  const facts: [string, string][] = [
    ['Poste visé', '{job.title}'],
    ['Client', '{job.client}'],
    ["Score d'adéquation", '{match.score}/100'],
    ['Document établi le', '{generatedAt}'],
  ];
  const none = { style: BorderStyle.NONE, size: 0, color: 'FFFFFF' };
  const shading = { type: ShadingType.CLEAR, color: 'auto', fill: PALE_TEAL };
  return new Table({
    width: { size: TEXT_WIDTH, type: WidthType.DXA },
    columnWidths: [2800, TEXT_WIDTH - 2800],
    borders: {
      top: none,
      bottom: none,
      left: { style: BorderStyle.SINGLE, size: 24, color: TEAL },
      right: none,
      insideHorizontal: none,
      insideVertical: none,
    },
    rows: facts.map(
      ([label, value]) =>
        new TableRow({
          children: [
            new TableCell({ shading, children: [paragraph(text(label, { bold: true, color: NAVY }))] }),
            new TableCell({ shading, children: [paragraph(text(value))] }),
          ],
        }),
    ),
  });
}

const logo = logoPng();

const header = new Header({
  children: [
    new Paragraph({
      tabStops: [{ type: TabStopType.RIGHT, position: TEXT_WIDTH }],
      border: { bottom: { style: BorderStyle.SINGLE, size: 12, color: TEAL, space: 4 } },
      children: [
        new ImageRun({ type: 'png', data: logo, transformation: { width: 40, height: 40 } }),
        text(`  ${FIRM}`, { bold: true, color: NAVY, size: 26 }),
        new TextRun({
          children: [new Tab(), 'Dossier de compétences — {consultant.fullName}'],
          color: TEAL,
          size: 18,
        }),
      ],
    }),
  ],
});

const footer = new Footer({
  children: [
    new Paragraph({
      alignment: AlignmentType.CENTER,
      border: { top: { style: BorderStyle.SINGLE, size: 4, color: TEAL, space: 4 } },
      children: [
        text(`${FIRM} · 12 rue de l'Exemple, 75002 Paris · Document confidentiel · Page `, {
          size: 16,
          color: NAVY,
        }),
        new TextRun({ children: [PageNumber.CURRENT], size: 16, color: NAVY }),
        text(' / ', { size: 16, color: NAVY }),
        new TextRun({ children: [PageNumber.TOTAL_PAGES], size: 16, color: NAVY }),
      ],
    }),
  ],
});

const body = [
  new Paragraph({ heading: HeadingLevel.HEADING_1, children: [text('{title}')] }),
  paragraph(
    text('{consultant.title}', { italics: true, color: TEAL }),
    text("{#consultant.years} · {consultant.years} ans d'expérience{/consultant.years}", {
      italics: true,
      color: TEAL,
    }),
  ),
  factsBox(),
  sectionHeading('Profil'),
  paragraph(text('{profile}')),
  sectionHeading('Adéquation au poste'),
  paragraph(text('{fit}')),
  skillsTable('match.skills', [
    { title: 'Compétence demandée', tag: 'name', share: 0.5 },
    { title: 'Exigée', tag: 'required', share: 0.2 },
    { title: 'Statut', tag: 'status', share: 0.3 },
  ]),
  sectionHeading('Compétences clés'),
  skillsTable('keySkills', [
    { title: 'Compétence', tag: 'name', share: 0.4 },
    { title: 'Pour ce poste', tag: 'detail', share: 0.6 },
  ]),
  sectionHeading('Expériences'),
  ...bulletLoop('experiences', "Le détail des expériences n'est pas renseigné."),
  sectionHeading('Formation et certifications'),
  paragraph(text('{education}')),
  sectionHeading("Points d'attention"),
  ...bulletLoop('pointsOfAttention', 'Aucun point particulier.'),
  sectionHeading('Disponibilité'),
  paragraph(text('{availability}')),
];

const document = new Document({
  creator: FIRM,
  title: 'Dossier de compétences',
  description: 'Modèle de dossier de compétences (balises docxtemplater)',
  externalStyles,
  styles: {
    default: {
      document: {
        run: { font: 'Calibri', size: 21, language: { value: 'fr-FR' } },
        paragraph: { spacing: { after: 100 } },
      },
      heading1: {
        run: { font: 'Calibri', size: 40, bold: true, color: NAVY },
        paragraph: { outlineLevel: 0, keepNext: true, spacing: { before: 120, after: 60 } },
      },
      heading2: {
        run: { font: 'Calibri', size: 26, bold: true, color: TEAL },
        paragraph: {
          outlineLevel: 1,
          keepNext: true,
          spacing: { before: 300, after: 100 },
          border: { bottom: { style: BorderStyle.SINGLE, size: 6, color: TEAL, space: 2 } },
        },
      },
    },
  },
  numbering: {
    config: [
      {
        reference: BULLETS,
        levels: [
          {
            level: 0,
            format: LevelFormat.BULLET,
            text: '■',
            alignment: AlignmentType.LEFT,
            style: {
              run: { color: TEAL, size: 16 },
              paragraph: { indent: { left: 400, hanging: 260 } },
            },
          },
        ],
      },
    ],
  },
  sections: [
    {
      properties: {
        page: { margin: { top: 1300, bottom: 1134, left: 1134, right: 1134, header: 567, footer: 454 } },
      },
      headers: { default: header },
      footers: { default: footer },
      children: body,
    },
  ],
});

async function main(): Promise<void> {
  const out = path.join(path.dirname(process.argv[1] ?? '.'), 'cabinet-exemple.docx');
  writeFileSync(out, await Packer.toBuffer(document));
  process.stdout.write(`Wrote ${out}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
