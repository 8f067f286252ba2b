/** The structured records the dossier pipeline works on, after CSV parsing and header matching. */

export interface Consultant {
  /** Slug `[a-z0-9-]`, unique in the batch (collisions get -2, -3). */
  id: string;
  /** The file line the record started on (1-based, header = line 1). */
  line: number;
  fullName: string;
  firstName?: string;
  lastName?: string;
  title?: string;
  years?: number;
  skills: string[];
  experiences?: string;
  education?: string;
  certifications?: string;
  languages?: string;
  location?: string;
  availability?: string;
  dailyRate?: string;
  /** Columns that matched no alias, kept as facts: header → value. */
  extra: Record<string, string>;
}

export interface JobPosting {
  id: string;
  line: number;
  title: string;
  client?: string;
  description?: string;
  requiredSkills: string[];
  niceToHave: string[];
  seniority?: string;
  location?: string;
  start?: string;
  duration?: string;
  extra: Record<string, string>;
}

export interface RejectedRow {
  file: string;
  line: number;
  reason: string;
}

export interface ParsedFile<T> {
  records: T[];
  rejectedRows: RejectedRow[];
  /** What was detected, for the report and error messages. */
  encoding: 'utf-8' | 'windows-1252';
  delimiter: ',' | ';' | '\t';
}

/** A file that cannot be used at all (missing required column, empty, not CSV). */
export class CsvFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'CsvFileError';
  }
}

export type DossierLanguage = 'fr' | 'en';

/** How well a consultant fits a job, from the deterministic matcher. */
export interface PairMatch {
  /** 0–100: required skills covered (70), nice-to-have covered (15), seniority against years (15). */
  score: number;
  /** Required skills the consultant has, in the job's spelling. */
  coveredSkills: string[];
  /** Required skills the consultant lacks. */
  missingSkills: string[];
  /** Nice-to-have skills the consultant has. */
  niceToHaveCovered: string[];
}

/** The variables of the `dossier` prompt template and of its offline generator. */
export interface DossierPromptInput {
  consultant: Consultant;
  job: JobPosting;
  match: PairMatch;
  language: DossierLanguage;
  /** Extra instructions, e.g. the stricter grounding rule of a regeneration; empty when none. */
  instructions: string;
}
