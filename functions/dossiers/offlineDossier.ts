import { z } from 'zod';
import { foldText } from '../platform/text';
import type { OfflineGenerator } from '../ai/providers/offlineProvider';
import { redactSensitive, SENSITIVE_KINDS } from '../ai/sensitive';
import { DOSSIER_HEADINGS, type DossierSections, type KeySkill } from './sections';
import type { Consultant, DossierLanguage, DossierPromptInput, JobPosting, PairMatch } from './types';

const consultantSchema = z.object({
  id: z.string(),
  line: z.number().int(),
  fullName: z.string().trim().min(1),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  title: z.string().optional(),
  years: z.number().nonnegative().optional(),
  skills: z.array(z.string()),
  experiences: z.string().optional(),
  education: z.string().optional(),
  certifications: z.string().optional(),
  languages: z.string().optional(),
  location: z.string().optional(),
  availability: z.string().optional(),
  dailyRate: z.string().optional(),
  extra: z.record(z.string(), z.string()),
});

const jobSchema = z.object({
  id: z.string(),
  line: z.number().int(),
  title: z.string().trim().min(1),
  client: z.string().optional(),
  description: z.string().optional(),
  requiredSkills: z.array(z.string()),
  niceToHave: z.array(z.string()),
  seniority: z.string().optional(),
  location: z.string().optional(),
  start: z.string().optional(),
  duration: z.string().optional(),
  extra: z.record(z.string(), z.string()),
});

const matchSchema = z.object({
  score: z.number().min(0).max(100),
  coveredSkills: z.array(z.string()),
  missingSkills: z.array(z.string()),
  niceToHaveCovered: z.array(z.string()),
});

const dossierInputSchema: z.ZodType<DossierPromptInput> = z.object({
  consultant: consultantSchema,
  job: jobSchema,
  match: matchSchema,
  language: z.enum(['fr', 'en']),
  instructions: z.string(),
});

/**
 * Answers what the `dossier` prompt asks a model for — the sections as JSON — from the same variables,
 * with no network. It states only what the records hold: covered skills and the consultant's own skills
 * in the body, the missing required skills only under the points of attention. `instructions` is
 * validated but not followed: it tightens a model's grounding, and this text is grounded by construction.
 */
export const offlineDossier: OfflineGenerator = (variables) =>
  JSON.stringify(offlineDossierSections(parseDossierInput(variables)));

/** The sections the offline generator answers, deterministically. */
export function offlineDossierSections(input: DossierPromptInput): DossierSections {
  const words = WORDING[input.language];
  const sections: DossierSections = {
    title: `${DOSSIER_HEADINGS[input.language].title} — ${oneLine(input.consultant.fullName)}`,
    profile: paragraphText(profileLines(input.consultant, words)),
    fit: paragraphText(fitLines(input.job, input.match, input.consultant, words)),
    keySkills: keySkills(input.consultant, input.match, words),
    experiences: listItems(input.consultant.experiences),
    education: paragraphText(educationLines(input.consultant, words)),
    pointsOfAttention: pointsOfAttention(input, words),
    availability: paragraphText(availabilityLines(input.consultant, input.job, words)),
  };
  // A dossier carries no contact detail or identifier, whichever free-text field it was typed into.
  return redactSections(sections);
}

function redactSections(sections: DossierSections): DossierSections {
  const redact = (text: string) => redactSensitive(text, SENSITIVE_KINDS).text;
  return {
    title: redact(sections.title),
    profile: redact(sections.profile),
    fit: redact(sections.fit),
    keySkills: sections.keySkills.map((skill) => ({
      name: redact(skill.name),
      detail: redact(skill.detail),
    })),
    experiences: sections.experiences.map(redact),
    education: redact(sections.education),
    pointsOfAttention: sections.pointsOfAttention.map(redact),
    availability: redact(sections.availability),
  };
}

function parseDossierInput(variables: Readonly<Record<string, unknown>>): DossierPromptInput {
  const parsed = dossierInputSchema.safeParse(variables);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`,
  );
  throw new Error(`Invalid dossier input: ${problems.join('; ')}`);
}

/** Every sentence of the dossier, per language, so the section builders hold no language branches. */
interface Wording {
  years(years: number): string;
  introWithTitleAndYears(name: string, title: string, years: string): string;
  introWithTitle(name: string, title: string): string;
  introWithYears(name: string, years: string): string;
  introWithNameOnly(name: string): string;
  location: string;
  languages: string;
  otherInformation: string;
  posting(title: string, client: string | undefined): string;
  score: string;
  requiredCovered(covered: number, required: number): string;
  noRequiredCovered: string;
  noRequiredSkills: string;
  niceToHaveCovered: string;
  seniority(requested: string, years: string | undefined): string;
  requiredMark: string;
  niceToHaveMark: string;
  education: string;
  certifications: string;
  noEducation: string;
  missingSkills: string;
  allRequiredCovered: string;
  noRequiredToCompare: string;
  locationGap(jobLocation: string, consultantLocation: string): string;
  availability: string;
  noAvailability: string;
  start: string;
  duration: string;
  /** The separator between a label and its value: French typography puts a space before the colon. */
  colon: string;
  /** Between facts on one line, for the same reason. */
  semicolon: string;
}

const WORDING: Record<DossierLanguage, Wording> = {
  fr: {
    years: (years) =>
      years < 1 ? "moins d'un an" : `${String(years).replace('.', ',')} an${years < 2 ? '' : 's'}`,
    introWithTitleAndYears: (name, title, years) => `${name}, ${title}, compte ${years} d'expérience.`,
    introWithTitle: (name, title) => `${name} exerce en tant que ${title}.`,
    introWithYears: (name, years) => `${name} compte ${years} d'expérience.`,
    introWithNameOnly: (name) => `Profil proposé pour ce poste : ${name}.`,
    location: 'Localisation',
    languages: 'Langues',
    otherInformation: 'Autres informations',
    posting: (title, client) =>
      `Ce dossier répond à la fiche de poste « ${title} »${client ? ` (client : ${client})` : ''}.`,
    score: "Score d'adéquation",
    requiredCovered: (covered, required) => `Compétences exigées couvertes (${covered} sur ${required})`,
    noRequiredCovered:
      "Aucune des compétences exigées par le poste n'est attestée dans le dossier du consultant.",
    noRequiredSkills: 'La fiche de poste ne précise pas de compétence exigée.',
    niceToHaveCovered: 'Compétences appréciées également présentes',
    seniority: (requested, years) =>
      `Séniorité demandée : ${requested}${years ? ` ; expérience du consultant : ${years}` : ''}.`,
    requiredMark: 'exigée pour le poste',
    niceToHaveMark: 'appréciée pour le poste',
    education: 'Formation',
    certifications: 'Certifications',
    noEducation: 'Ni formation ni certification ne sont renseignées dans le dossier du consultant.',
    missingSkills: 'Compétences exigées non attestées dans le dossier du consultant, à confirmer',
    allRequiredCovered: 'Toutes les compétences exigées par le poste figurent dans le dossier du consultant.',
    noRequiredToCompare:
      "La fiche de poste ne précise pas de compétence exigée : l'adéquation technique reste à confirmer en entretien.",
    locationGap: (jobLocation, consultantLocation) =>
      `Lieu de mission : ${jobLocation} ; localisation du consultant : ${consultantLocation}. Mobilité à confirmer.`,
    availability: 'Disponibilité du consultant',
    noAvailability:
      "La disponibilité du consultant n'est pas renseignée dans son dossier : elle reste à confirmer.",
    start: 'Démarrage souhaité',
    duration: 'Durée de la mission',
    colon: ' :',
    semicolon: ' ;',
  },
  en: {
    years: (years) => (years < 1 ? 'less than a year' : `${years} year${years === 1 ? '' : 's'}`),
    introWithTitleAndYears: (name, title, years) => `${name}, ${title}, has ${years} of experience.`,
    introWithTitle: (name, title) => `${name} works as ${title}.`,
    introWithYears: (name, years) => `${name} has ${years} of experience.`,
    introWithNameOnly: (name) => `Profile put forward for this role: ${name}.`,
    location: 'Location',
    languages: 'Languages',
    otherInformation: 'Other information',
    posting: (title, client) =>
      `This dossier responds to the job posting “${title}”${client ? ` (client: ${client})` : ''}.`,
    score: 'Match score',
    requiredCovered: (covered, required) => `Required skills covered (${covered} of ${required})`,
    noRequiredCovered: "None of the role's required skills is evidenced in the consultant's record.",
    noRequiredSkills: 'The job posting lists no required skill.',
    niceToHaveCovered: 'Nice-to-have skills also present',
    seniority: (requested, years) =>
      `Requested seniority: ${requested}${years ? `; consultant's experience: ${years}` : ''}.`,
    requiredMark: 'required for the role',
    niceToHaveMark: 'nice to have for the role',
    education: 'Education',
    certifications: 'Certifications',
    noEducation: "The consultant's record states no education or certification.",
    missingSkills: "Required skills not evidenced in the consultant's record, to be confirmed",
    allRequiredCovered: "Every skill the role requires appears in the consultant's record.",
    noRequiredToCompare:
      'The job posting lists no required skill: technical fit remains to be confirmed at interview.',
    locationGap: (jobLocation, consultantLocation) =>
      `Role based in ${jobLocation}; consultant located in ${consultantLocation}. Mobility to be confirmed.`,
    availability: "Consultant's availability",
    noAvailability: "The consultant's record does not state their availability: it remains to be confirmed.",
    start: 'Requested start',
    duration: 'Duration',
    colon: ':',
    semicolon: ';',
  },
};

/** A text section: one paragraph a line. */
function paragraphText(paragraphs: readonly string[]): string {
  return paragraphs.join('\n');
}

function profileLines(consultant: Consultant, words: Wording): string[] {
  const facts = [
    labelled(words.location, present(consultant.location), words),
    labelled(words.languages, present(consultant.languages), words),
    labelled(words.otherInformation, extraFacts(consultant.extra, words), words),
  ].filter((fact) => fact !== undefined);
  const intro = introduction(consultant, words);
  return [intro, ...facts];
}

function introduction(consultant: Consultant, words: Wording): string {
  const name = oneLine(consultant.fullName);
  const title = present(consultant.title);
  const years = consultant.years === undefined ? undefined : words.years(consultant.years);
  if (title && years) return words.introWithTitleAndYears(name, title, years);
  if (title) return words.introWithTitle(name, title);
  if (years) return words.introWithYears(name, years);
  return words.introWithNameOnly(name);
}

/**
 * The columns no alias matched, as one line. A value holding contact details or an identifier is left
 * out whole: once redacted, "Email: [EMAIL]" would tell the client nothing.
 */
function extraFacts(extra: Record<string, string>, words: Wording): string | undefined {
  const facts = Object.entries(extra)
    .map(([header, value]) => [oneLine(header), present(value)] as const)
    .filter(([header, value]) => header !== '' && value !== undefined && !holdsSensitiveData(value))
    .map(([header, value]) => `${header}${words.colon} ${value}`);
  return facts.length === 0 ? undefined : facts.join(`${words.semicolon} `);
}

function holdsSensitiveData(value: string): boolean {
  const { counts } = redactSensitive(value, SENSITIVE_KINDS);
  return Object.values(counts).some((count) => count > 0);
}

function fitLines(job: JobPosting, match: PairMatch, consultant: Consultant, words: Wording): string[] {
  const lines = [
    words.posting(oneLine(job.title), present(job.client)),
    `${words.score}${words.colon} ${match.score}/100.`,
    requiredCoverage(match, words),
  ];
  if (match.niceToHaveCovered.length > 0) {
    lines.push(`${words.niceToHaveCovered}${words.colon} ${listOf(match.niceToHaveCovered)}.`);
  }
  const seniority = present(job.seniority);
  if (seniority) {
    const years = consultant.years === undefined ? undefined : words.years(consultant.years);
    lines.push(words.seniority(seniority, years));
  }
  return lines;
}

function requiredCoverage(match: PairMatch, words: Wording): string {
  const required = match.coveredSkills.length + match.missingSkills.length;
  if (required === 0) return words.noRequiredSkills;
  if (match.coveredSkills.length === 0) return words.noRequiredCovered;
  return `${words.requiredCovered(match.coveredSkills.length, required)}${words.colon} ${listOf(match.coveredSkills)}.`;
}

/** Covered required skills first, then covered nice-to-haves, then the consultant's other skills. */
function keySkills(consultant: Consultant, match: PairMatch, words: Wording): KeySkill[] {
  const matched = new Set([...match.coveredSkills, ...match.niceToHaveCovered].map(fold));
  const others = distinct(
    consultant.skills.map(oneLine).filter((skill) => skill !== '' && !matched.has(fold(skill))),
  );
  return [
    ...match.coveredSkills.map((skill) => ({ name: oneLine(skill), detail: words.requiredMark })),
    ...match.niceToHaveCovered.map((skill) => ({ name: oneLine(skill), detail: words.niceToHaveMark })),
    ...others.map((name) => ({ name, detail: '' })),
  ];
}

function educationLines(consultant: Consultant, words: Wording): string[] {
  const facts = [
    labelled(words.education, present(consultant.education), words),
    labelled(words.certifications, present(consultant.certifications), words),
  ].filter((fact) => fact !== undefined);
  return facts.length === 0 ? [words.noEducation] : facts;
}

function pointsOfAttention({ consultant, job, match }: DossierPromptInput, words: Wording): string[] {
  const points = [skillGap(match, words)];
  const jobLocation = present(job.location);
  const consultantLocation = present(consultant.location);
  if (jobLocation && consultantLocation && !sameLocation(jobLocation, consultantLocation)) {
    points.push(words.locationGap(jobLocation, consultantLocation));
  }
  return points;
}

function skillGap(match: PairMatch, words: Wording): string {
  if (match.missingSkills.length > 0) {
    return `${words.missingSkills}${words.colon} ${listOf(match.missingSkills)}.`;
  }
  return match.coveredSkills.length === 0 ? words.noRequiredToCompare : words.allRequiredCovered;
}

/** "Paris" and "Paris (75)" are the same place: only a location neither contains is a gap. */
function sameLocation(a: string, b: string): boolean {
  const [x, y] = [fold(a), fold(b)];
  return x.includes(y) || y.includes(x);
}

function availabilityLines(consultant: Consultant, job: JobPosting, words: Wording): string[] {
  const availability = present(consultant.availability);
  const facts = [
    availability ? `${words.availability}${words.colon} ${availability}` : words.noAvailability,
    labelled(words.start, present(job.start), words),
    labelled(words.duration, present(job.duration), words),
  ].filter((fact) => fact !== undefined);
  return facts;
}

function labelled(label: string, value: string | undefined, words: Wording): string | undefined {
  return value === undefined ? undefined : `${label}${words.colon} ${value}`;
}

function listOf(skills: readonly string[]): string {
  return skills.map(oneLine).join(', ');
}

/**
 * The items of a free-text field. A CSV cell holds one line, so lists in it are usually joined with
 * semicolons; line breaks and leading bullet marks are honoured too.
 */
function listItems(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(/[\r\n;]+/)
    .map((item) => oneLine(item.replace(/^\s*[-*•]\s*/, '')))
    .filter((item) => item !== '');
}

/** A record value on one line, so no field can start a heading or a list item of its own. */
function oneLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}

/** A value worth printing: CSV cells arrive as empty strings as often as absent. */
function present(value: string | undefined): string | undefined {
  const text = value === undefined ? '' : oneLine(value);
  return text === '' ? undefined : text;
}

function distinct(values: readonly string[]): string[] {
  const seen = new Set<string>();
  return values.filter((value) => {
    const key = fold(value);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Case- and accent-insensitive form, to compare skill spellings and places. */
function fold(value: string): string {
  return foldText(oneLine(value));
}
