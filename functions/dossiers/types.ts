import { z } from 'zod';
import type { CsvDelimiter, CsvEncoding } from '../platform/csv';

// File-level CSV errors are the platform's, shared by every CSV import.
export { CsvFileError } from '../platform/csv';

/**
 * The structured records the dossier pipeline works on, after CSV parsing and header matching. They
 * cross blob and durable boundaries (the plan), so each is a schema and its type is inferred from it.
 */

const text = z.string();
const optionalText = z.string().optional();

export const consultantSchema = z.object({
  /** Slug `[a-z0-9-]`, unique in the batch (collisions get -2, -3). */
  id: text,
  /** The file line the record started on (1-based, header = line 1). */
  line: z.number().int(),
  fullName: text,
  firstName: optionalText,
  lastName: optionalText,
  title: optionalText,
  years: z.number().optional(),
  skills: z.array(text),
  experiences: optionalText,
  education: optionalText,
  certifications: optionalText,
  languages: optionalText,
  location: optionalText,
  availability: optionalText,
  dailyRate: optionalText,
  /** Columns that matched no alias, kept as facts: header → value. */
  extra: z.record(text, text),
});
export type Consultant = z.infer<typeof consultantSchema>;

export const jobPostingSchema = z.object({
  id: text,
  line: z.number().int(),
  title: text,
  client: optionalText,
  description: optionalText,
  requiredSkills: z.array(text),
  niceToHave: z.array(text),
  seniority: optionalText,
  location: optionalText,
  start: optionalText,
  duration: optionalText,
  extra: z.record(text, text),
});
export type JobPosting = z.infer<typeof jobPostingSchema>;

export const rejectedRowSchema = z.object({ file: text, line: z.number().int(), reason: text });
export type RejectedRow = z.infer<typeof rejectedRowSchema>;

export interface ParsedFile<T> {
  records: T[];
  rejectedRows: RejectedRow[];
  /** What was detected, for the report and error messages. */
  encoding: CsvEncoding;
  delimiter: CsvDelimiter;
}

export const TEMPLATE_NAME_RULE = 'must be 1 to 100 letters, digits, ., _ or -, ending in .docx';

/** A DOCX template's name in `dossiers-templates` (the blob's name). */
export function isTemplateName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,94}\.docx$/i.test(name);
}

export const dossierLanguageSchema = z.enum(['fr', 'en']);
export type DossierLanguage = z.infer<typeof dossierLanguageSchema>;

/** How well a consultant fits a job, from the deterministic matcher. */
export const pairMatchSchema = z.object({
  /** 0–100: required skills covered (70), nice-to-have covered (15), seniority against years (15). */
  score: z.number(),
  /** Required skills the consultant has, in the job's spelling. */
  coveredSkills: z.array(text),
  /** Required skills the consultant lacks. */
  missingSkills: z.array(text),
  /** Nice-to-have skills the consultant has. */
  niceToHaveCovered: z.array(text),
});
export type PairMatch = z.infer<typeof pairMatchSchema>;

/** The variables of the `dossier` prompt template and of its offline generator. */
export interface DossierPromptInput {
  consultant: Consultant;
  job: JobPosting;
  match: PairMatch;
  language: DossierLanguage;
  /** Extra instructions, e.g. the stricter grounding rule of a regeneration; empty when none. */
  instructions: string;
}
