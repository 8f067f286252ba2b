import { z } from 'zod';
import { parseJsonAnswer } from '../ai/jsonAnswer';
import type { DossierLanguage } from './types';

export const DOSSIER_TASK = 'dossier';

/**
 * The titles of a dossier's sections, in the order they appear, keyed by the section they title. The
 * Markdown, the built-in DOCX and a template's `headings` all take them from here.
 */
export const DOSSIER_HEADINGS = {
  fr: {
    title: 'Dossier de compétences',
    profile: 'Profil',
    fit: 'Adéquation au poste',
    keySkills: 'Compétences clés',
    experiences: 'Expériences',
    education: 'Formation et certifications',
    pointsOfAttention: "Points d'attention",
    availability: 'Disponibilité',
  },
  en: {
    title: 'Skills dossier',
    profile: 'Profile',
    fit: 'Fit for the role',
    keySkills: 'Key skills',
    experiences: 'Experience',
    education: 'Education and certifications',
    pointsOfAttention: 'Points to note',
    availability: 'Availability',
  },
} as const satisfies Record<DossierLanguage, Record<string, string>>;

/** What the Markdown and the built-in DOCX say under a list section the dossier leaves empty. */
export const EMPTY_LISTS = {
  fr: {
    keySkills:
      "Le dossier du consultant ne liste aucune compétence : elles restent à préciser avec lui avant l'envoi.",
    experiences: "Le détail des expériences n'est pas renseigné dans le dossier du consultant.",
    pointsOfAttention: 'Aucun point particulier.',
  },
  en: {
    keySkills: "The consultant's record lists no skill: they remain to be stated with them before sending.",
    experiences: "The consultant's record does not detail their experience.",
    pointsOfAttention: 'Nothing in particular.',
  },
} as const satisfies Record<DossierLanguage, Record<string, string>>;

/** A text section: plain text, one paragraph a line. */
const textSection = z.string().trim();
const listItem = z.string().trim();

/** A key skill, with what makes it relevant (empty when nothing does); a bare string is a skill alone. */
const keySkillSchema = z.union([
  z.object({ name: z.string().trim().min(1), detail: z.string().trim().default('') }),
  z
    .string()
    .trim()
    .min(1)
    .transform((name) => ({ name, detail: '' })),
]);

/**
 * The dossier as the `dossier` task answers it: the sections as data, from which the Markdown, the
 * built-in DOCX and a firm's template are all filled, so nothing is ever read back out of Markdown.
 */
export const dossierSectionsSchema = z.object({
  title: z.string().trim().min(1),
  profile: textSection,
  fit: textSection,
  keySkills: z.array(keySkillSchema),
  experiences: z.array(listItem).transform(nonEmpty),
  education: textSection,
  pointsOfAttention: z.array(listItem).transform(nonEmpty),
  availability: textSection,
});
export type DossierSections = z.output<typeof dossierSectionsSchema>;
export type KeySkill = DossierSections['keySkills'][number];

function nonEmpty(items: string[]): string[] {
  return items.filter((item) => item !== '');
}

/** The model's answer as sections; a malformed one is an error naming what is wrong. */
export function parseDossierAnswer(text: string): DossierSections {
  return parseJsonAnswer(DOSSIER_TASK, text, dossierSectionsSchema);
}

/** The lines of a text section: each is a paragraph. */
export function paragraphsOf(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** A key skill as one line: `Python — required for the role`. */
export function keySkillLine(skill: KeySkill): string {
  return skill.detail ? `${skill.name} — ${skill.detail}` : skill.name;
}

/**
 * Everything the dossier says about the consultant, for the grounding check: every section but the
 * points of attention, whose purpose is to name what the consultant lacks.
 */
export function claimsText(sections: DossierSections): string {
  return [
    sections.title,
    sections.profile,
    sections.fit,
    ...sections.keySkills.map(keySkillLine),
    ...sections.experiences,
    sections.education,
    sections.availability,
  ].join('\n');
}

/** The dossier as Markdown: the title, then each section under its heading, in the fixed order. */
export function dossierMarkdown(sections: DossierSections, language: DossierLanguage): string {
  const headings = DOSSIER_HEADINGS[language];
  const empty = EMPTY_LISTS[language];
  const text = (value: string) => paragraphsOf(value).map(escapeBlock).join('\n\n');
  const list = (items: readonly string[], none: string) =>
    items.length === 0 ? escapeBlock(none) : items.map((item) => `- ${escapeBlock(item)}`).join('\n');
  const blocks = [
    `# ${inline(sections.title)}`,
    `## ${headings.profile}`,
    text(sections.profile),
    `## ${headings.fit}`,
    text(sections.fit),
    `## ${headings.keySkills}`,
    list(sections.keySkills.map(keySkillLine), empty.keySkills),
    `## ${headings.experiences}`,
    list(sections.experiences, empty.experiences),
    `## ${headings.education}`,
    text(sections.education),
    `## ${headings.pointsOfAttention}`,
    list(sections.pointsOfAttention, empty.pointsOfAttention),
    `## ${headings.availability}`,
    text(sections.availability),
  ];
  return `${blocks.filter((block) => block !== '').join('\n\n')}\n`;
}

/** A value on one line, so no field can end its list item or heading. */
function inline(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}

/** A paragraph that would read as a heading, a list item or a quote in Markdown is kept as text. */
function escapeBlock(line: string): string {
  return inline(line).replace(/^([#>+*-]|\d+[.)])/, '\\$1');
}
