/**
 * CSV files as people export them (Excel in French: `;`, Windows-1252 or UTF-8 with a BOM, headers in their
 * own words): decoding, delimiter sniffing, rows with the line they start on, headers matched to fields by
 * aliases, size and row limits. Each capability turns the rows into its records and says which columns it needs.
 */
import { CsvError, parse } from 'csv-parse/sync';
import { InvalidInputError } from './errors';
import { foldText } from './text';

export type CsvEncoding = 'utf-8' | 'windows-1252' | 'utf-16le' | 'utf-16be';
export type CsvDelimiter = ',' | ';' | '\t';

/** A header alias list; the first alias is the one error messages name for a field. */
export type HeaderAliases = readonly [string, ...string[]];

/** A file that cannot be used at all (missing required column, empty, not CSV); names the file. */
export class CsvFileError extends InvalidInputError {
  /**
   * `field` is the request field that carried the file; by default the file name itself (an upload part),
   * otherwise the message names both: `file: policies.csv: empty file`.
   */
  constructor(
    readonly file: string,
    readonly problem: string,
    field: string = file,
  ) {
    super(field, field === file ? problem : `${file}: ${problem}`, 'invalid_csv');
  }
}

const DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024;
const DEFAULT_MAX_DATA_ROWS = 50_000;

// ---------------------------------------------------------------------------------------------------------
// Decoding and delimiter

const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;
const UTF16LE_BOM = [0xff, 0xfe] as const;
const UTF16BE_BOM = [0xfe, 0xff] as const;

// Windows-1252 bytes 0x80–0x9F. Node 20.18.3+, 22.13+ and 24 decode "windows-1252" as Latin-1 and return
// C1 control characters for them (nodejs/node#60888), which would turn Excel's ’ œ € … into garbage.
const WINDOWS_1252_C1 =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/**
 * UTF-16 when a BOM says so (Excel's "Unicode Text"), UTF-8 (BOM stripped) when the bytes are valid UTF-8 or
 * declare it with a BOM, else Windows-1252.
 */
export function decodeCsv(bytes: Uint8Array): { text: string; encoding: CsvEncoding } {
  const utf16 = utf16Encoding(bytes);
  if (utf16 !== undefined) return { text: new TextDecoder(utf16).decode(bytes), encoding: utf16 };
  // A BOM is a declaration: a stray invalid byte after it is a damaged UTF-8 file, not Windows-1252.
  const fatal = !startsWithBytes(bytes, UTF8_BOM);
  try {
    return { text: new TextDecoder('utf-8', { fatal }).decode(bytes), encoding: 'utf-8' };
  } catch {
    return { text: decodeWindows1252(bytes), encoding: 'windows-1252' };
  }
}

function utf16Encoding(bytes: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  if (startsWithBytes(bytes, UTF16LE_BOM)) return 'utf-16le';
  if (startsWithBytes(bytes, UTF16BE_BOM)) return 'utf-16be';
  return undefined;
}

function decodeWindows1252(bytes: Uint8Array): string {
  return new TextDecoder('windows-1252')
    .decode(bytes)
    .replace(/[\u0080-\u009f]/g, (c) => WINDOWS_1252_C1.charAt(c.charCodeAt(0) - 0x80));
}

function startsWithBytes(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((byte, i) => bytes[i] === byte);
}

const DELIMITERS_BY_PREFERENCE: readonly CsvDelimiter[] = [';', '\t', ','];

/** The delimiter used most in the header line, outside quotes; ties go to `;`, then tab, then `,`. */
export function sniffDelimiter(text: string): CsvDelimiter {
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

function readRows(text: string, delimiter: CsvDelimiter, fail: (problem: string) => CsvFileError): CsvRow[] {
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
    if (error instanceof CsvError) throw fail(`not readable as CSV: ${error.message}`);
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

/** Header (in its comparison form) → field, built once per file kind with `aliasLookup`. */
export type HeaderLookup<F extends string> = ReadonlyMap<string, F>;

interface ColumnMap<F extends string> {
  fieldColumns: Partial<Record<F, number>>;
  extraColumns: { index: number; header: string }[];
}

/** The comparison form of a header: case, accents, curly apostrophes and spacing do not matter. */
function headerKey(header: string): string {
  return foldText(header).replace(/[’‘`]/g, "'").replace(/\s+/g, ' ').trim();
}

export function aliasLookup<F extends string>(aliases: Record<F, HeaderAliases>): HeaderLookup<F> {
  const lookup = new Map<string, F>();
  for (const [field, names] of Object.entries<HeaderAliases>(aliases)) {
    for (const name of names) lookup.set(headerKey(name), field as F);
  }
  return lookup;
}

/** The first column of each field wins; the later ones, and unknown columns, become extra facts. */
function mapColumns<F extends string>(headers: readonly string[], lookup: HeaderLookup<F>): ColumnMap<F> {
  const columns: ColumnMap<F> = { fieldColumns: {}, extraColumns: [] };
  headers.forEach((header, index) => {
    const field = lookup.get(headerKey(header));
    if (field !== undefined && columns.fieldColumns[field] === undefined) columns.fieldColumns[field] = index;
    else if (!isBlank(header)) columns.extraColumns.push({ index, header: header.trim() });
  });
  return columns;
}

/** `"a", "b", "c"`: aliases as an error message lists them. */
export function quotedList(aliases: readonly string[]): string {
  return aliases.map((alias) => `"${alias}"`).join(', ');
}

// ---------------------------------------------------------------------------------------------------------
// Cells

/** One data row seen through the column map: trimmed text per field, and the extra facts. */
export interface RowReader<F extends string> {
  /** The line the row starts on, 1-based (the header is line 1). */
  line: number;
  /** Set when the row has another number of fields than the header: its cells cannot be trusted. */
  shapeProblem: string | undefined;
  /** The trimmed cell of the field, undefined when the column is absent or the cell empty. */
  text(field: F): string | undefined;
  /** Columns that matched no alias: trimmed header → trimmed value, only when the cell has a value. */
  extra: Record<string, string>;
}

function rowReader<F extends string>(row: CsvRow, columns: ColumnMap<F>, fieldCount: number): RowReader<F> {
  return {
    line: row.line,
    shapeProblem:
      row.cells.length === fieldCount
        ? undefined
        : `wrong number of fields: found ${row.cells.length}, expected ${fieldCount}`,
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

// ---------------------------------------------------------------------------------------------------------
// The table

export interface CsvReadOptions<F extends string> {
  /** The file name, which every file-level error names. */
  file: string;
  /** The request field that carried the file, when it is not the file name itself. */
  field?: string;
  headers: HeaderLookup<F>;
  /** UTF-16 (with its BOM) is decoded, or refused with a hint to save the file as "CSV UTF-8". */
  utf16: 'decode' | 'refuse';
  maxBytes?: number;
  maxRows?: number;
}

export interface CsvTable<F extends string> {
  /** What was detected, for reports and error messages. */
  encoding: CsvEncoding;
  delimiter: CsvDelimiter;
  hasColumn: (field: F) => boolean;
  /** The data rows in file order, blank ones left out. */
  rows: RowReader<F>[];
  /** A file-level error naming this file (and the request field), e.g. for a missing column. */
  fail: (problem: string) => CsvFileError;
}

/** Decodes, sniffs and splits a file into rows read through its header; throws `CsvFileError` when unusable. */
export function readCsvTable<F extends string>(bytes: Uint8Array, options: CsvReadOptions<F>): CsvTable<F> {
  const fail = (problem: string) => new CsvFileError(options.file, problem, options.field);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  const maxRows = options.maxRows ?? DEFAULT_MAX_DATA_ROWS;
  if (bytes.byteLength > maxBytes) {
    const megabytes = (bytes.byteLength / 1024 / 1024).toFixed(1);
    throw fail(`file too large: ${megabytes} MB, the limit is ${maxBytes / 1024 / 1024} MB`);
  }
  // Refused up front: read as Windows-1252 it would only fail later as a misleading missing column.
  if (options.utf16 === 'refuse' && utf16Encoding(bytes) !== undefined) {
    throw fail('UTF-16 text (Excel "Unicode Text"): save the file as "CSV UTF-8" instead');
  }
  const { text, encoding } = decodeCsv(bytes);
  const delimiter = sniffDelimiter(text);
  const [header, ...dataRows] = readRows(normalizeLineEndings(text), delimiter, fail);
  if (header === undefined) throw fail('empty file');
  if (dataRows.length > maxRows) {
    throw fail(
      `too many rows: ${dataRows.length.toLocaleString('en-US')} data rows, ` +
        `the limit is ${maxRows.toLocaleString('en-US')} per file`,
    );
  }
  const columns = mapColumns(header.cells, options.headers);
  return {
    encoding,
    delimiter,
    hasColumn: (field) => columns.fieldColumns[field] !== undefined,
    rows: dataRows.map((row) => rowReader(row, columns, header.cells.length)),
    fail,
  };
}
