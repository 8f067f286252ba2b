import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  Document,
  Header,
  Packer,
  Paragraph,
  Table,
  TableCell,
  TableRow,
  TextRun,
  type FileChild,
} from 'docx';
import mammoth from 'mammoth';
import PizZip from 'pizzip';

/** Helpers to build DOCX templates in tests and read rendered ones back, as Word would show them. */

export const SAMPLE_TEMPLATE = path.resolve(__dirname, '../../samples/templates/cabinet-exemple.docx');

export function sampleTemplate(): Buffer {
  return readFileSync(SAMPLE_TEMPLATE);
}

/** A paragraph; several strings are several runs, as Word writes a tag its spell checker split. */
export function p(...runs: string[]): Paragraph {
  return new Paragraph({ children: runs.map((text) => new TextRun(text)) });
}

/** A table of one row per entry, a cell per string. */
export function table(...rows: string[][]): Table {
  return new Table({
    rows: rows.map(
      (cells) => new TableRow({ children: cells.map((cell) => new TableCell({ children: [p(cell)] })) }),
    ),
  });
}

export async function buildTemplate(body: FileChild[], header?: Paragraph[]): Promise<Buffer> {
  const document = new Document({
    sections: [
      { children: body, ...(header ? { headers: { default: new Header({ children: header }) } } : {}) },
    ],
  });
  return Packer.toBuffer(document);
}

/** A part of a DOCX package, as XML. */
export function partXml(docx: Uint8Array, file = 'word/document.xml'): string {
  const part = new PizZip(docx).file(file);
  if (!part) throw new Error(`The DOCX has no ${file}.`);
  return part.asText();
}

/** The text of each paragraph of a part, entities decoded, a line break as `\n`. */
export function paragraphTexts(docx: Uint8Array, file = 'word/document.xml'): string[] {
  return [...partXml(docx, file).matchAll(/<w:p[ >][\s\S]*?<\/w:p>/g)].map((paragraph) =>
    [...paragraph[0].matchAll(/<w:t(?:\s[^>]*)?>([^<]*)<\/w:t>|<w:br\/>/g)]
      .map((token) => (token[0] === '<w:br/>' ? '\n' : decode(token[1] ?? '')))
      .join(''),
  );
}

/** The rows of the tables of a part, each a list of cell texts. */
export function tableRows(docx: Uint8Array, file = 'word/document.xml'): string[][] {
  return [...partXml(docx, file).matchAll(/<w:tr[ >][\s\S]*?<\/w:tr>/g)].map((row) =>
    [...row[0].matchAll(/<w:tc>[\s\S]*?<\/w:tc>/g)].map((cell) =>
      [...cell[0].matchAll(/<w:t(?:\s[^>]*)?>([^<]*)<\/w:t>/g)].map((t) => decode(t[1] ?? '')).join(''),
    ),
  );
}

/** The document's text as Word shows it (mammoth reads the XML, so a broken package fails here). */
export async function visibleText(docx: Uint8Array): Promise<string> {
  return (await mammoth.extractRawText({ buffer: Buffer.from(docx) })).value;
}

/** A copy of a DOCX whose `file` has `from` replaced with `to`: another version of a template. */
export function editedDocx(docx: Uint8Array, file: string, from: string, to: string): Buffer {
  const zip = new PizZip(docx);
  const xml = zip.file(file)?.asText() ?? '';
  if (!xml.includes(from)) throw new Error(`${file} does not contain ${from}.`);
  zip.file(file, xml.replace(from, to));
  return zip.generate({ type: 'nodebuffer', compression: 'DEFLATE' });
}

function decode(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp);/g, (_, name: string) =>
    name === 'lt' ? '<' : name === 'gt' ? '>' : name === 'quot' ? '"' : name === 'apos' ? "'" : '&',
  );
}
