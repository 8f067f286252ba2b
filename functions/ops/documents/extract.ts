/**
 * Text out of the documents people drop for a summary: PDF (pdf.js through unpdf), Word .docx (mammoth) and
 * plain text in the encodings Windows editors save. What a file is comes from its bytes, not its name; every
 * file that cannot be read fails with a `DocumentError` naming it and saying what to do.
 */
import mammoth from 'mammoth';
import { getResolvedPDFJS } from 'unpdf';
import { decodeCsv, type CsvEncoding } from '../../platform/csv';
import { DomainError } from '../../platform/errors';

export type DocumentKind = 'pdf' | 'docx' | 'txt';
export type DocumentErrorCode =
  'encrypted' | 'corrupt' | 'too-large' | 'too-many-pages' | 'unsupported' | 'empty';

const STATUS: Record<DocumentErrorCode, number> = {
  'too-large': 413,
  unsupported: 415,
  encrypted: 422,
  corrupt: 422,
  'too-many-pages': 422,
  empty: 422,
};

/** One file that cannot be summarised; it fails that file only, and the message tells the user what to do. */
export class DocumentError extends DomainError {
  declare readonly code: DocumentErrorCode;
  readonly status: number;

  constructor(
    readonly file: string,
    code: DocumentErrorCode,
    problem: string,
    options?: { cause: unknown },
  ) {
    super(code, `${file}: ${problem}`);
    this.status = STATUS[code];
    if (options) this.cause = options.cause;
  }
}

export interface DocumentLimits {
  maxBytes: number;
  maxPages: number;
}

export interface ExtractedDocument {
  kind: DocumentKind;
  /** Line ends as `\n`, pages and paragraphs separated by a blank line, trimmed. */
  text: string;
  /** PDF only. */
  pages?: number;
  /** TXT only: the encoding the bytes were read in. */
  encoding?: CsvEncoding;
  characters: number;
  /** The name's extension said another kind (a Word file saved as `.pdf`): it was read as what it is. */
  mislabelled: boolean;
}

const EXTENSIONS: Record<string, DocumentKind> = { '.pdf': 'pdf', '.docx': 'docx', '.txt': 'txt' };
const SEND_INSTEAD = 'send a PDF, a Word .docx or a .txt file';

/**
 * Reads a document within the limits: the size is checked before any parsing, the page count before any
 * page is read. Throws `DocumentError` for a file that is encrypted, damaged, too big, of another kind or
 * without text.
 */
export async function extractDocument(
  name: string,
  bytes: Uint8Array,
  limits: DocumentLimits,
): Promise<ExtractedDocument> {
  const fail = (code: DocumentErrorCode, problem: string, cause?: unknown) =>
    new DocumentError(name, code, problem, cause === undefined ? undefined : { cause });
  if (bytes.byteLength > limits.maxBytes) {
    throw fail(
      'too-large',
      `${sizeOf(bytes.byteLength)}, the limit is ${sizeOf(limits.maxBytes)}: split it, or export it without its images, and send the parts`,
    );
  }
  const extension = extensionOf(name);
  const declared = EXTENSIONS[extension];
  if (!declared) {
    const which = extension ? `${extension} files are` : 'a file without an extension is';
    throw fail('unsupported', `${which} not supported: ${SEND_INSTEAD}`);
  }
  if (bytes.byteLength === 0) throw fail('empty', 'the file is empty (0 bytes): send it again');

  const content = sniff(bytes, declared);
  if (content.kind === 'encrypted-office')
    throw fail(
      'encrypted',
      'the Office document is protected by a password: open it, remove the password (File > Info > Protect Document), save it and send it again',
    );
  if (content.kind === 'other')
    throw fail(
      'unsupported',
      `this is really ${content.what}, not a ${declared.toUpperCase()} file: ${content.advice}`,
    );
  if (content.kind === 'unknown') throw fail('corrupt', unreadableAdvice(declared));

  const extracted =
    content.kind === 'pdf'
      ? await readPdf(bytes, limits.maxPages, fail)
      : content.kind === 'docx'
        ? await readDocx(bytes, fail)
        : readTxt(bytes);
  const text = tidy(extracted.text);
  if (text === '') {
    throw fail(
      'empty',
      content.kind === 'pdf'
        ? 'the PDF has no text layer (a scan?): run text recognition (OCR) on it, or export it from its original, and send it again'
        : 'the file holds no text',
    );
  }
  return {
    ...extracted,
    kind: content.kind,
    text,
    characters: text.length,
    mislabelled: content.kind !== declared,
  };
}

function extensionOf(name: string): string {
  const match = /\.[^./\\]+$/.exec(name);
  return match ? match[0].toLowerCase() : '';
}

function sizeOf(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1).replace(/\.0$/, '')} MB`;
}

function unreadableAdvice(declared: DocumentKind): string {
  const what = { pdf: 'a PDF', docx: 'a Word document', txt: 'text' }[declared];
  return `not ${what}, nor any document this workflow reads (damaged, or not what its name says): open it, save it again as PDF, .docx or .txt, and send it again`;
}

// ---------------------------------------------------------------------------------------------------------
// What the bytes are

type Sniffed =
  | { kind: DocumentKind }
  | { kind: 'encrypted-office' }
  | { kind: 'other'; what: string; advice: string }
  | { kind: 'unknown' };

const ZIP = [0x50, 0x4b, 0x03, 0x04];
const COMPOUND_FILE = [0xd0, 0xcf, 0x11, 0xe0];
/** The stream a password-protected .docx/.xlsx keeps its encrypted zip in, named in UTF-16LE (MS-OFFCRYPTO). */
const ENCRYPTED_PACKAGE = Buffer.from('EncryptedPackage', 'utf16le');
const AS_PDF = 'save or print it as PDF and send that';
/** Formats people drop by mistake, told apart by their first bytes. */
const OTHER_FORMATS: { magic: number[]; what: string; advice: string }[] = [
  {
    magic: [0x89, 0x50, 0x4e, 0x47],
    what: 'a PNG image',
    advice: `for a scanned page, ${AS_PDF} with text recognition (OCR)`,
  },
  {
    magic: [0xff, 0xd8, 0xff],
    what: 'a JPEG image',
    advice: `for a scanned page, ${AS_PDF} with text recognition (OCR)`,
  },
  { magic: [0x47, 0x49, 0x46, 0x38], what: 'a GIF image', advice: SEND_INSTEAD },
  {
    magic: [0x49, 0x49, 0x2a, 0x00],
    what: 'a TIFF image',
    advice: `for a scanned page, ${AS_PDF} with text recognition (OCR)`,
  },
  {
    magic: [0x4d, 0x4d, 0x00, 0x2a],
    what: 'a TIFF image',
    advice: `for a scanned page, ${AS_PDF} with text recognition (OCR)`,
  },
  {
    magic: COMPOUND_FILE,
    what: 'an old Office file (.doc or .xls)',
    advice: 'open it in Word and save it as .docx',
  },
  {
    magic: [0x7b, 0x5c, 0x72, 0x74, 0x66],
    what: 'an RTF document',
    advice: 'open it in Word and save it as .docx',
  },
  { magic: [0x4d, 0x5a], what: 'a Windows program', advice: SEND_INSTEAD },
  { magic: [0x7f, 0x45, 0x4c, 0x46], what: 'a program', advice: SEND_INSTEAD },
];

function sniff(bytes: Uint8Array, declared: DocumentKind): Sniffed {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The PDF header may follow a little junk (mail gateways prepend some): pdf.js looks within the first 1 KB too.
  if (buffer.subarray(0, 1024).includes('%PDF-')) return { kind: 'pdf' };
  if (startsWith(bytes, ZIP)) {
    // Zip entry names are stored uncompressed, so a Word document shows its main part's name in the bytes.
    if (buffer.includes('word/document.xml')) return { kind: 'docx' };
    // A .docx without its main part is a damaged one; another zip (.xlsx, an archive) is another format.
    return declared === 'docx'
      ? { kind: 'unknown' }
      : { kind: 'other', what: 'a ZIP archive or another Office file', advice: SEND_INSTEAD };
  }
  // Office saves a password-protected .docx inside an old-style compound file, not as a zip.
  if (startsWith(bytes, COMPOUND_FILE) && buffer.includes(ENCRYPTED_PACKAGE))
    return { kind: 'encrypted-office' };
  const other = OTHER_FORMATS.find((format) => startsWith(bytes, format.magic));
  if (other) return { kind: 'other', what: other.what, advice: other.advice };
  return looksLikeText(bytes) ? { kind: 'txt' } : { kind: 'unknown' };
}

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return magic.every((byte, i) => bytes[i] === byte);
}

/**
 * Text has no NUL byte (but UTF-16 with its BOM, which is full of them) and almost no control characters;
 * a binary file of any kind has many. Tab, line ends, form feed and the DOS end-of-file mark are text.
 */
function looksLikeText(bytes: Uint8Array): boolean {
  if (startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff])) return true;
  let controls = 0;
  for (const byte of bytes) {
    if (byte === 0) return false;
    if (
      (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d && byte !== 0x1a) ||
      byte === 0x7f
    )
      controls++;
  }
  return controls <= bytes.byteLength / 100;
}

// ---------------------------------------------------------------------------------------------------------
// Readers

type Fail = (code: DocumentErrorCode, problem: string, cause?: unknown) => DocumentError;
type Extracted = Pick<ExtractedDocument, 'text' | 'pages' | 'encoding'>;

/** pdf.js failures that are about the file (any other error is a fault of ours and goes up as it is). */
const PDF_FILE_ERRORS = new Set([
  'InvalidPDFException',
  'UnknownErrorException',
  'FormatError',
  'MissingPDFException',
]);

async function readPdf(bytes: Uint8Array, maxPages: number, fail: Fail): Promise<Extracted> {
  const { getDocument } = await getResolvedPDFJS();
  // Not unpdf's getDocumentProxy: it hides the loading task, and only the task can be destroyed when the
  // load itself fails (an encrypted or damaged file), which would otherwise keep its memory (pdf.js#11645).
  const task = getDocument({
    // A plain copy: pdf.js refuses a Buffer (what blob downloads give) and may detach the array it is given,
    // while the caller may still need the bytes.
    data: new Uint8Array(bytes),
    // No `isEvalSupported: false`: pdf.js 6 removed the option with the last `eval`/`new Function` in it
    // (the path of CVE-2024-4367). No console noise for damage pdf.js recovers from.
    verbosity: 0,
  });
  try {
    const pdf = await task.promise;
    if (pdf.numPages > maxPages) {
      throw fail(
        'too-many-pages',
        `${pdf.numPages} pages, the limit is ${maxPages}: split the document and send the parts`,
      );
    }
    const pages: string[] = [];
    for (let number = 1; number <= pdf.numPages; number++) {
      const page = await pdf.getPage(number);
      try {
        const content = await page.getTextContent();
        pages.push(
          content.items.map((item) => ('str' in item ? item.str + (item.hasEOL ? '\n' : '') : '')).join(''),
        );
      } finally {
        // Each page's parsed resources (fonts, operator lists) are freed as soon as its text is read.
        page.cleanup();
      }
    }
    return { text: pages.join('\n\n'), pages: pdf.numPages };
  } catch (error) {
    if (error instanceof DocumentError) throw error;
    if (!(error instanceof Error)) throw error;
    if (error.name === 'PasswordException') {
      throw fail(
        'encrypted',
        'the PDF is protected by a password: save or print it again without the password, and send that copy',
        error,
      );
    }
    if (PDF_FILE_ERRORS.has(error.name)) {
      throw fail(
        'corrupt',
        `the PDF is damaged (${error.message}): open it, save or export it again as PDF, and send it again`,
        error,
      );
    }
    throw error;
  } finally {
    await task.destroy();
  }
}

async function readDocx(bytes: Uint8Array, fail: Fail): Promise<Extracted> {
  try {
    const result = await mammoth.extractRawText({
      buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    });
    return { text: result.value };
  } catch (error) {
    // The size was capped before, and mammoth only reads the buffer: whatever it throws is about the file
    // ("Corrupted zip: can't find end of central directory", a damaged XML part).
    const detail = error instanceof Error ? error.message : String(error);
    throw fail(
      'corrupt',
      `the Word document is damaged (${detail}): open it in Word, save it again as .docx, and send it again`,
      error,
    );
  }
}

function readTxt(bytes: Uint8Array): Extracted {
  const { text, encoding } = decodeCsv(bytes);
  return { text, encoding };
}

/** One form for every kind: `\n` line ends, no trailing spaces, at most one blank line in a row, NFC accents. */
function tidy(text: string): string {
  return text
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t\f\v\u00a0]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
