/**
 * Reads the consultants and job postings CSV files as people export them (Excel in French: `;`, Windows-1252
 * or UTF-8 with a BOM, headers in their own words) into the records the dossier pipeline works on.
 * Header aliases are the contract in PRODUCT.md, "CSV header aliases (dossiers)".
 */
import { CsvError, parse } from 'csv-parse/sync';
import { foldText } from '../platform/text';
import { slugify, uniqueIds } from './slug';
import { CsvFileError, type Consultant, type JobPosting, type ParsedFile, type RejectedRow } from './types';

type Encoding = ParsedFile<unknown>['encoding'];
type Delimiter = ParsedFile<unknown>['delimiter'];

/** A header alias list; the first alias is the one error messages name for a field. */
type Aliases = readonly [string, ...string[]];

type ConsultantField = Exclude<keyof Consultant, 'line' | 'extra'>;
type JobField = Exclude<keyof JobPosting, 'line' | 'extra'>;

export const CONSULTANT_HEADER_ALIASES: Record<ConsultantField, Aliases> = {
  id: ['matricule', 'identifiant', 'id', 'code'],
  firstName: ['prénom', 'first name', 'firstname'],
  lastName: ['nom', 'nom de famille', 'last name', 'lastname'],
  fullName: ['nom complet', 'consultant', 'name', 'full name'],
  title: ['titre', 'poste', 'intitulé', 'fonction', 'title', 'role'],
  years: [
    "années d'expérience",
    'expérience (années)',
    'années',
    'ancienneté',
    'years',
    'years of experience',
  ],
  skills: ['compétences', 'compétences techniques', 'skills', 'technologies'],
  experiences: ['expériences', 'missions', 'parcours', 'experience', 'projects'],
  education: ['formation', 'diplômes', 'diplôme', 'education'],
  certifications: ['certifications', 'certificats'],
  languages: ['langues', 'languages'],
  location: ['localisation', 'ville', 'lieu', 'location'],
  availability: ['disponibilité', 'availability'],
  dailyRate: ['tjm', 'taux journalier', 'daily rate'],
};

export const JOB_HEADER_ALIASES: Record<JobField, Aliases> = {
  id: ['référence', 'reference', 'réf', 'ref', 'id'],
  title: ['intitulé du poste', 'intitulé', 'poste', 'titre', 'title', 'job title'],
  client: ['client', 'entreprise', 'company'],
  description: ['description', 'missions', 'contexte', 'description du poste'],
  requiredSkills: ['compétences requises', 'compétences', 'required skills', 'skills', 'prérequis'],
  niceToHave: ['compétences appréciées', 'atouts', 'souhaité', 'nice to have', 'bonus'],
  seniority: ['séniorité', 'niveau', 'expérience requise', 'seniority'],
  location: ['lieu', 'localisation', 'location'],
  start: ['démarrage', 'date de début', 'start'],
  duration: ['durée', 'duration'],
};

const MAX_FILE_BYTES = 20 * 1024 * 1024;
const MAX_DATA_ROWS = 50_000;

// ---------------------------------------------------------------------------------------------------------
// Decoding and delimiter

const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;
const UTF16_BOMS = [
  [0xff, 0xfe],
  [0xfe, 0xff],
] as const;

// Windows-1252 bytes 0x80–0x9F. Node 20.18.3+, 22.13+ and 24 decode "windows-1252" as Latin-1 and return
// C1 control characters for them (nodejs/node#60888), which would turn Excel's ’ œ € … into garbage.
const WINDOWS_1252_C1 =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/** UTF-8 (BOM stripped) when the bytes are valid UTF-8 or declare it with a BOM, else Windows-1252. */
export function decodeCsv(bytes: Uint8Array): { text: string; encoding: Encoding } {
  // A BOM is a declaration: a stray invalid byte after it is a damaged UTF-8 file, not Windows-1252.
  const fatal = !startsWithBytes(bytes, UTF8_BOM);
  try {
    return { text: new TextDecoder('utf-8', { fatal }).decode(bytes), encoding: 'utf-8' };
  } catch {
    return { text: decodeWindows1252(bytes), encoding: 'windows-1252' };
  }
}

function decodeWindows1252(bytes: Uint8Array): string {
  return new TextDecoder('windows-1252')
    .decode(bytes)
    .replace(/[\u0080-\u009f]/g, (c) => WINDOWS_1252_C1.charAt(c.charCodeAt(0) - 0x80));
}

function startsWithBytes(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((byte, i) => bytes[i] === byte);
}

const DELIMITERS_BY_PREFERENCE: readonly Delimiter[] = [';', '\t', ','];

/** The delimiter used most in the header line, outside quotes; ties go to `;`, then tab, then `,`. */
export function sniffDelimiter(text: string): Delimiter {
  const counts = delimiterCountsInHeader(text);
  return DELIMITERS_BY_PREFERENCE.reduce((best, candidate) =>
    (counts.get(candidate) ?? 0) > (counts.get(best) ?? 0) ? candidate : best,
  );
}

/** Counts characters of the first non-empty line, which may span lines inside a quoted header. */
function delimiterCountsInHeader(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  let inQuotes = false;
  for (let i = text.search(/[^\r\n]/); i >= 0 && i < text.length; i++) {
    const char = text.charAt(i);
    // An escaped quote ("") toggles twice, so it leaves the state as it was.
    if (char === '"') inQuotes = !inQuotes;
    else if (inQuotes) continue;
    else if (char === '\n' || char === '\r') break;
    else counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------------------
// Rows

interface CsvRow {
  /** The line the row starts on, 1-based. */
  line: number;
  cells: string[];
}

function readRows(text: string, delimiter: Delimiter, file: string): CsvRow[] {
  const rows: CsvRow[] = [];
  try {
    parse(text, {
      delimiter,
      // Field counts are checked per row, so that one bad row is rejected and the others go on.
      relax_column_count: true,
      // `Dupont "Jr"` unquoted keeps its quotes instead of failing the whole file.
      relax_quotes: true,
      skip_empty_lines: true,
      on_record: (cells, context) => {
        if (!cells.every(isBlank)) rows.push({ cells, line: context.lines - newlinesIn(cells) });
        return null;
      },
    });
  } catch (error) {
    if (error instanceof CsvError) throw new CsvFileError(file, `not readable as CSV: ${error.message}`);
    throw error;
  }
  return rows;
}

/** csv-parse counts the line a record ends on; its quoted newlines say how many lines earlier it started. */
function newlinesIn(cells: readonly string[]): number {
  return cells.reduce((count, cell) => count + cell.split('\n').length - 1, 0);
}

// Spreadsheets export rows of empty cells (`;;;;`) below the data; they are empty lines, not bad rows.
function isBlank(cell: string): boolean {
  return cell.trim() === '';
}

// csv-parse miscounts lines in CRLF files and keeps the \r inside quoted cells; one line ending fixes both.
function normalizeLineEndings(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

// ---------------------------------------------------------------------------------------------------------
// Header → fields

interface ColumnMap<F extends string> {
  fieldColumns: Partial<Record<F, number>>;
  extraColumns: { index: number; header: string }[];
}

/** The comparison form of a header: case, accents, curly apostrophes and spacing do not matter. */
function headerKey(header: string): string {
  return foldText(header).replace(/[’‘`]/g, "'").replace(/\s+/g, ' ').trim();
}

function aliasLookup<F extends string>(aliases: Record<F, Aliases>): ReadonlyMap<string, F> {
  const lookup = new Map<string, F>();
  for (const [field, names] of Object.entries<Aliases>(aliases)) {
    for (const name of names) lookup.set(headerKey(name), field as F);
  }
  return lookup;
}

/** The first column of each field wins; the later ones, and unknown columns, become extra facts. */
function mapColumns<F extends string>(
  headers: readonly string[],
  lookup: ReadonlyMap<string, F>,
): ColumnMap<F> {
  const columns: ColumnMap<F> = { fieldColumns: {}, extraColumns: [] };
  headers.forEach((header, index) => {
    const field = lookup.get(headerKey(header));
    if (field !== undefined && columns.fieldColumns[field] === undefined) columns.fieldColumns[field] = index;
    else if (!isBlank(header)) columns.extraColumns.push({ index, header: header.trim() });
  });
  return columns;
}

function quotedList(aliases: readonly string[]): string {
  return aliases.map((alias) => `"${alias}"`).join(', ');
}

// ---------------------------------------------------------------------------------------------------------
// Cells

/** One data row seen through the column map: trimmed text per field, and the extra facts. */
interface RowReader<F extends string> {
  line: number;
  text(field: F): string | undefined;
  extra: Record<string, string>;
}

function rowReader<F extends string>(row: CsvRow, columns: ColumnMap<F>): RowReader<F> {
  return {
    line: row.line,
    text: (field) => {
      const index = columns.fieldColumns[field];
      return index === undefined ? undefined : textOf(row.cells[index]);
    },
    extra: extraFacts(row.cells, columns.extraColumns),
  };
}

function textOf(cell: string | undefined): string | undefined {
  const text = cell?.trim();
  return text === '' ? undefined : text;
}

function extraFacts(
  cells: readonly string[],
  extraColumns: ColumnMap<string>['extraColumns'],
): Record<string, string> {
  const facts = new Map<string, string>();
  for (const { index, header } of extraColumns) {
    const value = textOf(cells[index]);
    if (value !== undefined && !facts.has(header)) facts.set(header, value);
  }
  // fromEntries defines own properties, so a header such as "__proto__" stays a plain key.
  return Object.fromEntries(facts);
}

/** A skills cell as a list: split on , ; | and newlines, trimmed, repeats (any case or accents) dropped. */
function skillList(cell: string | undefined): string[] {
  const skills = new Map<string, string>();
  for (const part of (cell ?? '').split(/[,;|\n]/)) {
    const skill = part.trim();
    const key = foldText(skill).replace(/\s+/g, ' ');
    if (skill !== '' && !skills.has(key)) skills.set(key, skill);
  }
  return [...skills.values()];
}

/** The first number in the cell: `8`, `8 ans`, `8,5` (French decimal comma), `10+`. */
function yearsOf(cell: string | undefined): number | undefined {
  const number = cell?.match(/\d+(?:[.,]\d+)?/)?.[0];
  return number === undefined ? undefined : Number(number.replace(',', '.'));
}

// ---------------------------------------------------------------------------------------------------------
// Records

class RowRejection {
  constructor(readonly reason: string) {}
}

interface FileKind<F extends string, T extends { id: string }> {
  lookup: ReadonlyMap<string, F>;
  /** Why the header cannot be used, or undefined when it has every required column. */
  missingColumns(hasColumn: (field: F) => boolean): string | undefined;
  /** The record with its id still a plain slug, before duplicates are suffixed. */
  toRecord(row: RowReader<F>): T | RowRejection;
}

const CONSULTANTS: FileKind<ConsultantField, Consultant> = {
  lookup: aliasLookup(CONSULTANT_HEADER_ALIASES),
  missingColumns: (hasColumn) =>
    hasColumn('fullName') || hasColumn('firstName') || hasColumn('lastName')
      ? undefined
      : `no name column: expected one of ${quotedList(CONSULTANT_HEADER_ALIASES.fullName)}, ` +
        `or "${CONSULTANT_HEADER_ALIASES.firstName[0]}"/"${CONSULTANT_HEADER_ALIASES.lastName[0]}" ` +
        '(first name / last name)',
  toRecord: (row) => {
    const firstName = row.text('firstName');
    const lastName = row.text('lastName');
    const fullName = row.text('fullName') ?? joinedName(firstName, lastName);
    if (fullName === undefined) return new RowRejection('no name: the name cells are empty');
    return {
      id: slugify(row.text('id') ?? fullName),
      line: row.line,
      fullName,
      firstName,
      lastName,
      title: row.text('title'),
      years: yearsOf(row.text('years')),
      skills: skillList(row.text('skills')),
      experiences: row.text('experiences'),
      education: row.text('education'),
      certifications: row.text('certifications'),
      languages: row.text('languages'),
      location: row.text('location'),
      availability: row.text('availability'),
      dailyRate: row.text('dailyRate'),
      extra: row.extra,
    };
  },
};

function joinedName(firstName: string | undefined, lastName: string | undefined): string | undefined {
  const name = [firstName, lastName].filter((part) => part !== undefined).join(' ');
  return name === '' ? undefined : name;
}

const JOBS: FileKind<JobField, JobPosting> = {
  lookup: aliasLookup(JOB_HEADER_ALIASES),
  missingColumns: (hasColumn) =>
    hasColumn('title')
      ? undefined
      : `no title column: expected one of ${quotedList(JOB_HEADER_ALIASES.title)}`,
  toRecord: (row) => {
    const title = row.text('title');
    if (title === undefined) return new RowRejection('no title: the title cell is empty');
    return {
      id: slugify(row.text('id') ?? title),
      line: row.line,
      title,
      client: row.text('client'),
      description: row.text('description'),
      requiredSkills: skillList(row.text('requiredSkills')),
      niceToHave: skillList(row.text('niceToHave')),
      seniority: row.text('seniority'),
      location: row.text('location'),
      start: row.text('start'),
      duration: row.text('duration'),
      extra: row.extra,
    };
  },
};

export function parseConsultants(bytes: Uint8Array, fileName: string): ParsedFile<Consultant> {
  return parseFile(bytes, fileName, CONSULTANTS);
}

export function parseJobs(bytes: Uint8Array, fileName: string): ParsedFile<JobPosting> {
  return parseFile(bytes, fileName, JOBS);
}

function parseFile<F extends string, T extends { id: string }>(
  bytes: Uint8Array,
  file: string,
  kind: FileKind<F, T>,
): ParsedFile<T> {
  checkFileSize(bytes, file);
  checkNotUtf16(bytes, file);
  const { text, encoding } = decodeCsv(bytes);
  const delimiter = sniffDelimiter(text);
  const [header, ...dataRows] = readRows(normalizeLineEndings(text), delimiter, file);
  if (header === undefined) throw new CsvFileError(file, 'empty file');
  checkRowCount(dataRows, file);
  const columns = mapColumns(header.cells, kind.lookup);
  const missing = kind.missingColumns((field) => columns.fieldColumns[field] !== undefined);
  if (missing !== undefined) throw new CsvFileError(file, missing);

  const records: T[] = [];
  const rejectedRows: RejectedRow[] = [];
  for (const row of dataRows) {
    const outcome =
      row.cells.length === header.cells.length
        ? kind.toRecord(rowReader(row, columns))
        : new RowRejection(
            `wrong number of fields: found ${row.cells.length}, expected ${header.cells.length}`,
          );
    if (outcome instanceof RowRejection) rejectedRows.push({ file, line: row.line, reason: outcome.reason });
    else records.push(outcome);
  }
  return { records: withUniqueIds(records), rejectedRows, encoding, delimiter };
}

function withUniqueIds<T extends { id: string }>(records: T[]): T[] {
  const ids = uniqueIds(records.map((record) => record.id));
  return records.map((record, index) => ({ ...record, id: ids[index] ?? record.id }));
}

function checkFileSize(bytes: Uint8Array, file: string): void {
  if (bytes.byteLength > MAX_FILE_BYTES) {
    const megabytes = (bytes.byteLength / 1024 / 1024).toFixed(1);
    throw new CsvFileError(
      file,
      `file too large: ${megabytes} MB, the limit is ${MAX_FILE_BYTES / 1024 / 1024} MB`,
    );
  }
}

// Excel's "Unicode Text" export; read as Windows-1252 it would only fail later as "no name column".
function checkNotUtf16(bytes: Uint8Array, file: string): void {
  if (UTF16_BOMS.some((bom) => startsWithBytes(bytes, bom))) {
    throw new CsvFileError(file, 'UTF-16 text (Excel "Unicode Text"): save the file as "CSV UTF-8" instead');
  }
}

function checkRowCount(dataRows: readonly CsvRow[], file: string): void {
  if (dataRows.length > MAX_DATA_ROWS) {
    throw new CsvFileError(
      file,
      `too many rows: ${dataRows.length.toLocaleString('en-US')} data rows, ` +
        `the limit is ${MAX_DATA_ROWS.toLocaleString('en-US')} per file`,
    );
  }
}
