import Docxtemplater, { type DXT } from 'docxtemplater';
import InspectModule from 'docxtemplater/js/inspect-module';
import PizZip from 'pizzip';
import { redactSensitive, SENSITIVE_KINDS } from '../ai/sensitive';
import { skillRows, type DossierDocxInput, type SkillRow } from './dossierDocx';
import { DOSSIER_HEADINGS, type DossierSections } from './sections';
import type { DossierLanguage } from './types';

/**
 * A firm's own Word template, filled with docxtemplater: `{consultant.fullName}` places a value,
 * `{#keySkills}…{/keySkills}` repeats for each item of a list (or shows its content only when a value is
 * set), `{^experiences}…{/experiences}` shows its content only when the list is empty, `{.}` is the
 * current item of a list of texts. Templates are checked when they are stored, so a batch never fails
 * at pair 4,000 on a tag the data does not have.
 */

/** What a template may place: a text (or number), a list of texts, a list of rows, or a group of fields. */
type Field = 'text' | 'list' | { rows: Fields } | { group: Fields };
type Fields = Readonly<Record<string, Field>>;

const text = 'text' as const;
const list = 'list' as const;

/** The data model of a template, which `templateData` fills; a tag outside it is refused at upload. */
export const TEMPLATE_FIELDS = {
  language: text,
  generatedAt: text,
  headings: {
    group: {
      title: text,
      profile: text,
      fit: text,
      keySkills: text,
      experiences: text,
      education: text,
      pointsOfAttention: text,
      availability: text,
    },
  },
  consultant: {
    group: {
      fullName: text,
      firstName: text,
      lastName: text,
      title: text,
      years: text,
      location: text,
      languages: text,
      availability: text,
      education: text,
      certifications: text,
      skills: list,
    },
  },
  job: {
    group: {
      title: text,
      client: text,
      description: text,
      seniority: text,
      location: text,
      start: text,
      duration: text,
      requiredSkills: list,
      niceToHave: list,
    },
  },
  match: {
    group: {
      score: text,
      covered: list,
      missing: list,
      niceToHaveCovered: list,
      skills: { rows: { name: text, required: text, status: text } },
    },
  },
  title: text,
  profile: text,
  fit: text,
  keySkills: { rows: { name: text, detail: text } },
  experiences: list,
  education: text,
  pointsOfAttention: list,
  availability: text,
} as const satisfies Fields;

export interface TemplateData extends DossierSections {
  language: DossierLanguage;
  /** The day the dossier was written, spelled out in its language: `23 novembre 2026`. */
  generatedAt: string;
  headings: Record<keyof (typeof DOSSIER_HEADINGS)['fr'], string>;
  consultant: {
    fullName: string;
    firstName: string;
    lastName: string;
    title: string;
    years: string;
    location: string;
    languages: string;
    availability: string;
    education: string;
    certifications: string;
    skills: string[];
  };
  job: {
    title: string;
    client: string;
    description: string;
    seniority: string;
    location: string;
    start: string;
    duration: string;
    requiredSkills: string[];
    niceToHave: string[];
  };
  match: {
    score: number;
    covered: string[];
    missing: string[];
    niceToHaveCovered: string[];
    skills: SkillRow[];
  };
}

const LOCALES: Record<DossierLanguage, string> = { fr: 'fr-FR', en: 'en-GB' };

/**
 * The values a template is filled with. A field the record lacks is an empty text, so a template can
 * test it (`{#consultant.location}…{/consultant.location}`). The daily rate, the record's identifiers
 * and its unnamed columns are left out, and personal data typed into a field is redacted, as in the text.
 */
export function templateData(input: DossierDocxInput, generatedAt: Date): TemplateData {
  const { consultant, job, match, language } = input;
  const locale = LOCALES[language];
  const clean = (value: string | undefined) =>
    redactSensitive((value ?? '').replace(/\s+/g, ' ').trim(), SENSITIVE_KINDS).text;
  return {
    ...input.sections,
    language,
    generatedAt: new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone: 'UTC' }).format(generatedAt),
    headings: { ...DOSSIER_HEADINGS[language] },
    consultant: {
      fullName: clean(consultant.fullName),
      firstName: clean(consultant.firstName),
      lastName: clean(consultant.lastName),
      title: clean(consultant.title),
      years: consultant.years === undefined ? '' : new Intl.NumberFormat(locale).format(consultant.years),
      location: clean(consultant.location),
      languages: clean(consultant.languages),
      availability: clean(consultant.availability),
      education: clean(consultant.education),
      certifications: clean(consultant.certifications),
      skills: consultant.skills.map(clean).filter(Boolean),
    },
    job: {
      title: clean(job.title),
      client: clean(job.client),
      description: clean(job.description),
      seniority: clean(job.seniority),
      location: clean(job.location),
      start: clean(job.start),
      duration: clean(job.duration),
      requiredSkills: job.requiredSkills.map(clean).filter(Boolean),
      niceToHave: job.niceToHave.map(clean).filter(Boolean),
    },
    match: {
      score: match.score,
      covered: match.coveredSkills,
      missing: match.missingSkills,
      niceToHaveCovered: match.niceToHaveCovered,
      skills: skillRows(match, language),
    },
  };
}

/** `a.b.c` walks the scope's own fields, so no tag reaches a prototype's; `.` is the scope itself. */
function pathParser(tag: string): DXT.Parser {
  const path = tag.trim();
  return {
    get: (scope: unknown): unknown =>
      path === '.'
        ? scope
        : path
            .split('.')
            .reduce<unknown>(
              (value, key) =>
                typeof value === 'object' && value !== null && Object.hasOwn(value, key)
                  ? (value as Record<string, unknown>)[key]
                  : undefined,
              scope,
            ),
  };
}

const OPTIONS: DXT.Options = {
  // A loop tag alone in its paragraph repeats the paragraphs between, and leaves no empty one behind.
  paragraphLoop: true,
  // A text section's lines are its paragraphs: in a template they become line breaks.
  linebreaks: true,
  errorLogging: false,
  parser: pathParser,
  // Validation refuses unknown tags, so a missing value can only be an empty optional one.
  nullGetter: () => '',
};

/** The template filled with a dossier's data: a DOCX with the template's layout. */
export function renderTemplate(template: Uint8Array, data: TemplateData): Buffer {
  const document = new Docxtemplater(new PizZip(template), OPTIONS);
  try {
    document.render(data);
  } catch (error) {
    const problems = problemsOf(error, new PartMap(document.getZip())).map(describeProblem);
    throw new Error(`The template cannot be filled: ${problems.join('; ')}`, { cause: error });
  }
  return document.toBuffer({ compression: 'DEFLATE' });
}

/** Where a problem is: the part of the document, the paragraph in it, and the tag. */
export interface TemplatePlace {
  /** `body`, `header 1`, `footer 2`, `footnotes`… */
  part: string;
  /** The part's file in the DOCX package, e.g. `word/document.xml`. */
  file: string;
  /** 1-based, counting every paragraph of the part (table cells' too); absent for the file as a whole. */
  paragraph?: number;
  /** The paragraph's text, shortened: what to look for in Word. */
  text?: string;
  tag?: string;
}

export interface TemplateProblem {
  /** docxtemplater's error id (`unclosed_loop`, `unopened_tag`…) or ours (`unknown_tag`, `split_tag`…). */
  code: string;
  message: string;
  place: TemplatePlace;
}

export interface TemplateCheck {
  /** Every tag the template uses, once, in document order: `consultant.fullName`, `#keySkills`… */
  tags: string[];
  problems: TemplateProblem[];
}

/** One line per problem: `body, paragraph 3 ("Compétences {#keySkills}"), tag {#keySkills}: …`. */
export function describeProblem(problem: TemplateProblem): string {
  const { place } = problem;
  const where = [
    place.paragraph === undefined ? place.part : `${place.part}, paragraph ${place.paragraph}`,
    place.text ? ` ("${place.text}")` : '',
    place.tag ? `, tag ${place.tag}` : '',
  ].join('');
  return `${where}: ${problem.message}`;
}

/**
 * Every problem a template would meet when filled, each with its place: a file that is not a Word
 * document, docxtemplater's syntax errors (an unclosed or unopened tag or loop, loops that cross a table
 * or each other), a tag outside the data model or placed the wrong way (a list or a group as a value,
 * raw XML), and a tag whose text runs over two paragraphs or cells — Word splits a tag typed across a
 * line into pieces docxtemplater then reads as one, moving text between paragraphs.
 */
export function validateTemplate(bytes: Uint8Array): TemplateCheck {
  let zip: PizZip;
  try {
    zip = new PizZip(bytes);
  } catch (error) {
    return fileProblem('corrupt_file', `The file is not a DOCX (a zip package): ${messageOf(error)}.`);
  }
  if (!zip.file('word/document.xml'))
    return fileProblem('not_docx', 'The package has no word/document.xml: it is not a Word document.');
  const parts = new PartMap(zip);
  const inspected = inspect(zip);
  if (inspected.tags) return checkTags(inspected.tags, parts);
  // docxtemplater stops at syntax errors; the tags it could not structure are still checked by name,
  // so one upload lists every problem.
  const problems = [...problemsOf(inspected.error, parts), ...unknownNames(zip, parts)];
  return { tags: [], problems: sortProblems(problems) };
}

function fileProblem(code: string, message: string): TemplateCheck {
  return { tags: [], problems: [{ code, message, place: { part: 'file', file: '' } }] };
}

type TaggedFiles = { file: string; parts: DXT.Part[] }[];

function inspect(zip: PizZip): { tags: TaggedFiles } | { tags?: undefined; error: unknown } {
  const inspector = new InspectModule();
  try {
    new Docxtemplater(zip, { ...OPTIONS, modules: [inspector] });
  } catch (error) {
    return { error };
  }
  return {
    tags: Object.keys(inspector.fullInspected).map((file) => ({
      file,
      parts: inspector.getStructuredTags(file),
    })),
  };
}

/** docxtemplater's errors (one, or the many of a multi error) as problems with their places. */
function problemsOf(error: unknown, parts: PartMap): TemplateProblem[] {
  const nested = propertiesOf(error).errors;
  const errors = Array.isArray(nested) ? (nested as unknown[]) : [error];
  return errors.map((each) => {
    const properties = propertiesOf(each);
    const file = typeof properties.file === 'string' ? properties.file : '';
    const offsets = [properties.offset].flat().filter((o): o is number => typeof o === 'number');
    const tag = typeof properties.xtag === 'string' ? properties.xtag : undefined;
    const id = typeof properties.id === 'string' ? properties.id : 'corrupt_file';
    const explanation = typeof properties.explanation === 'string' ? properties.explanation : messageOf(each);
    return {
      code: id,
      message: `${explanation.replace(/\.?$/, '')}.`,
      place: {
        ...(file ? parts.place(file, offsets[0]) : { part: 'file', file: '' }),
        ...(tag ? { tag } : {}),
      },
    };
  });
}

function propertiesOf(error: unknown): Record<string, unknown> {
  const properties: unknown =
    typeof error === 'object' && error !== null ? (error as { properties?: unknown }).properties : undefined;
  return typeof properties === 'object' && properties !== null ? (properties as Record<string, unknown>) : {};
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface Scope {
  fields: Fields;
  /** `{.}` means the current item here: inside a loop over texts, or a condition on a text. */
  dot: boolean;
}

/** Each tag against the data model, in the scopes its loops open. */
function checkTags(files: TaggedFiles, parts: PartMap): TemplateCheck {
  const tags = new Set<string>();
  const problems: TemplateProblem[] = [];
  const root: Scope = { fields: TEMPLATE_FIELDS, dot: false };
  for (const { file, parts: tagParts } of files) {
    const visit = (items: readonly DXT.Part[], scopes: readonly Scope[]) => {
      for (const part of items) {
        if (part.type !== 'placeholder') continue;
        const written = tagText(part);
        tags.add(written.slice(1, -1));
        const report = (code: string, message: string, offset = part.offset) =>
          problems.push({ code, message, place: { ...parts.place(file, offset), tag: written } });
        const first = parts.paragraphOf(file, part.offset);
        const last = parts.paragraphOf(file, part.offset + written.length - 1);
        if (first !== last) {
          report(
            'split_tag',
            `The tag runs over two paragraphs (or table cells), ${first} and ${last}: retype it on one line.`,
          );
        }
        if (part.module === 'rawxml') {
          report('raw_xml_tag', 'Raw XML tags ({@…}) are not supported: the dossier is inserted as text.');
          continue;
        }
        const field = resolve(part.value, scopes);
        if (field === undefined)
          report('unknown_tag', `"${part.value.trim()}" is not in the dossier's data.`);
        if (part.module === 'loop') {
          visit(
            part.subparsed ?? [],
            part.inverted || field === undefined ? scopes : [...scopes, scopeOf(field)],
          );
        } else if (field === list || (typeof field === 'object' && 'rows' in field)) {
          report(
            'list_as_value',
            `"${part.value.trim()}" is a list: repeat it with {#${part.value.trim()}}…{/${part.value.trim()}}.`,
          );
        } else if (typeof field === 'object') {
          report(
            'group_as_value',
            `"${part.value.trim()}" is a group of fields: place one of them, such as {${part.value.trim()}.${Object.keys(field.group)[0] ?? ''}}.`,
          );
        }
      }
    };
    visit(tagParts, [root]);
  }
  return { tags: [...tags], problems: sortProblems(problems) };
}

/**
 * The tags of a template docxtemplater could not structure, found in each part's text, whose name is
 * nowhere in the data model (neither at the top, nor in a group, nor as a row's field).
 */
function unknownNames(zip: PizZip, parts: PartMap): TemplateProblem[] {
  const everywhere = (fields: Fields): Scope[] =>
    Object.values(fields).flatMap((field) =>
      typeof field === 'object'
        ? [scopeOf(field), ...everywhere('rows' in field ? field.rows : field.group)]
        : [],
    );
  const scopes = [{ fields: TEMPLATE_FIELDS, dot: false }, ...everywhere(TEMPLATE_FIELDS)];
  return zip
    .file(/^word\/(document|header\d*|footer\d*|footnotes|endnotes)\.xml$/)
    .flatMap(({ name: file }) =>
      [...parts.text(file).matchAll(/\{([#^/@]?)([^{}]*)\}/g)]
        .filter(([, , name = '']) => name.trim() !== '.' && resolve(name, scopes) === undefined)
        .map((found) => ({
          code: 'unknown_tag',
          message: `"${(found[2] ?? '').trim()}" is not in the dossier's data.`,
          place: { ...parts.place(file, found.index), tag: found[0] },
        })),
    );
}

/** The tag as written in the document, braces included: `{#keySkills}`, `{name}`. */
function tagText(part: DXT.Part): string {
  const raw = part.raw ?? (part.module === 'loop' ? `${part.inverted ? '^' : '#'}${part.value}` : part.value);
  return `{${raw}}`;
}

/** What a tag names, looked up from the innermost scope out, as docxtemplater does. */
function resolve(tag: string, scopes: readonly Scope[]): Field | undefined {
  const path = tag.trim();
  if (path === '.') return scopes.at(-1)?.dot ? text : undefined;
  for (const scope of [...scopes].reverse()) {
    let fields: Fields | undefined = scope.fields;
    let found: Field | undefined;
    for (const key of path.split('.')) {
      found = fields && Object.hasOwn(fields, key) ? fields[key] : undefined;
      fields = typeof found === 'object' && 'group' in found ? found.group : undefined;
      if (found === undefined) break;
    }
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The scope a loop opens: a row's fields, a group's fields, or the current text for `{.}`. */
function scopeOf(field: Field): Scope {
  if (typeof field === 'object') return { fields: 'rows' in field ? field.rows : field.group, dot: false };
  return { fields: {}, dot: true };
}

const PART_ORDER = [/document\.xml$/, /header\d*\.xml$/, /footer\d*\.xml$/];

function sortProblems(problems: TemplateProblem[]): TemplateProblem[] {
  const rank = (file: string) => {
    const index = PART_ORDER.findIndex((pattern) => pattern.test(file));
    return index === -1 ? PART_ORDER.length : index;
  };
  return [...problems].sort(
    (a, b) =>
      rank(a.place.file) - rank(b.place.file) ||
      a.place.file.localeCompare(b.place.file) ||
      (a.place.paragraph ?? 0) - (b.place.paragraph ?? 0),
  );
}

interface TextRun {
  /** Offsets in the part's text as docxtemplater counts them: the XML text of its text elements. */
  start: number;
  end: number;
  paragraph: number;
}

/**
 * The paragraphs of each part and where their text sits in docxtemplater's offsets, which count the
 * characters of the part's text elements (`<w:t>`, as written in the XML: `&amp;` is five).
 */
class PartMap {
  private readonly runs = new Map<string, { runs: TextRun[]; texts: string[]; text: string }>();

  constructor(private readonly zip: PizZip) {}

  place(file: string, offset: number | undefined): TemplatePlace {
    const place: TemplatePlace = { part: partName(file), file };
    const paragraph = offset === undefined ? undefined : this.paragraphOf(file, offset);
    if (paragraph === undefined) return place;
    const paragraphText = this.parse(file).texts[paragraph - 1] ?? '';
    return { ...place, paragraph, text: shorten(paragraphText) };
  }

  /** The part's text as docxtemplater reads it: its text elements' XML, end to end. */
  text(file: string): string {
    return this.parse(file).text;
  }

  paragraphOf(file: string, offset: number): number | undefined {
    return this.parse(file).runs.find((run) => offset >= run.start && offset < run.end)?.paragraph;
  }

  private parse(file: string) {
    let parsed = this.runs.get(file);
    if (parsed) return parsed;
    const xml = this.zip.file(file)?.asText() ?? '';
    const runs: TextRun[] = [];
    const texts: string[] = [];
    const open: number[] = [];
    let text = '';
    for (const token of xml.matchAll(/<w:p[ >]|<w:p\/>|<\/w:p>|<([wam]):t(?:\s[^>]*)?>([^<]*)<\/\1:t>/g)) {
      const [whole, , content] = token;
      if (whole.startsWith('<w:p/')) texts.push('');
      else if (whole.startsWith('<w:p')) open.push(texts.push('') - 1);
      else if (whole === '</w:p>') open.pop();
      else if (content) {
        // Text boxes nest paragraphs: text belongs to the innermost open one.
        const paragraph = open.at(-1);
        if (paragraph !== undefined) {
          runs.push({ start: text.length, end: text.length + content.length, paragraph: paragraph + 1 });
          texts[paragraph] += content;
        }
        text += content;
      }
    }
    parsed = { runs, texts: texts.map(unescapeXml), text };
    this.runs.set(file, parsed);
    return parsed;
  }
}

function partName(file: string): string {
  const numbered = /^word\/(header|footer)(\d*)\.xml$/.exec(file);
  if (numbered) return `${numbered[1]} ${numbered[2] || 1}`;
  if (file === 'word/document.xml') return 'body';
  if (file.startsWith('docProps/')) return 'document properties';
  return /^word\/(\w+)\.xml$/.exec(file)?.[1] ?? file;
}

function shorten(value: string): string {
  const line = value.replace(/\s+/g, ' ').trim();
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

function unescapeXml(value: string): string {
  return value.replace(/&(lt|gt|quot|apos|amp);/g, (_, name: string) =>
    name === 'lt' ? '<' : name === 'gt' ? '>' : name === 'quot' ? '"' : name === 'apos' ? "'" : '&',
  );
}
