/**
 * Reads the consultants and job postings CSV files as people export them (Excel in French: `;`, Windows-1252
 * or UTF-8 with a BOM, headers in their own words) into the records the dossier pipeline works on.
 * Header aliases are the contract in PRODUCT.md, "CSV header aliases (dossiers)".
 */
import {
  aliasLookup,
  quotedList,
  readCsvTable,
  type HeaderAliases,
  type HeaderLookup,
  type RowReader,
} from '../platform/csv';
import { foldText } from '../platform/text';
import { slugify, uniqueIds } from './slug';
import type { Consultant, JobPosting, ParsedFile, RejectedRow } from './types';

export { decodeCsv, sniffDelimiter } from '../platform/csv';

type ConsultantField = Exclude<keyof Consultant, 'line' | 'extra'>;
type JobField = Exclude<keyof JobPosting, 'line' | 'extra'>;

export const CONSULTANT_HEADER_ALIASES: Record<ConsultantField, HeaderAliases> = {
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

export const JOB_HEADER_ALIASES: Record<JobField, HeaderAliases> = {
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

// ---------------------------------------------------------------------------------------------------------
// Cells

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
  lookup: HeaderLookup<F>;
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
  // The dossier contract asks for CSV UTF-8 or Windows-1252; UTF-16 gets a hint to save it so.
  const table = readCsvTable(bytes, { file, headers: kind.lookup, utf16: 'refuse' });
  const missing = kind.missingColumns(table.hasColumn);
  if (missing !== undefined) throw table.fail(missing);

  const records: T[] = [];
  const rejectedRows: RejectedRow[] = [];
  for (const row of table.rows) {
    const outcome = row.shapeProblem === undefined ? kind.toRecord(row) : new RowRejection(row.shapeProblem);
    if (outcome instanceof RowRejection) rejectedRows.push({ file, line: row.line, reason: outcome.reason });
    else records.push(outcome);
  }
  return {
    records: withUniqueIds(records),
    rejectedRows,
    encoding: table.encoding,
    delimiter: table.delimiter,
  };
}

function withUniqueIds<T extends { id: string }>(records: T[]): T[] {
  const ids = uniqueIds(records.map((record) => record.id));
  return records.map((record, index) => ({ ...record, id: ids[index] ?? record.id }));
}
