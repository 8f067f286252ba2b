import { containsTokens, skillTokens } from './skills';
import type { Consultant } from './types';

// The section where a dossier may name skills the consultant lacks: that is its purpose.
const POINTS_TO_NOTE = /^##\s+(points d['’]attention|points to note)\s*$/i;

/**
 * The skills of the batch vocabulary (every skill either file names) that the dossier mentions but the
 * consultant's record does not: claims the model made up. Mentions inside the points-to-note section,
 * and the quoted phrases (the job's title and client), are not claims and do not count.
 */
export function findUnsupportedSkills(
  dossierMarkdown: string,
  consultant: Consultant,
  vocabulary: readonly string[],
  quotedPhrases: readonly string[] = [],
): string[] {
  // Quoting the job (its title, its client) is not a claim about the consultant.
  let text = withoutPointsToNote(dossierMarkdown);
  for (const phrase of quotedPhrases.filter(Boolean)) text = text.split(phrase).join(' ');
  const claims = skillTokens(text);
  const record = skillTokens(recordText(consultant));
  const unsupported = new Map<string, string>();
  for (const skill of vocabulary) {
    const tokens = skillTokens(skill);
    const key = tokens.join(' ');
    if (!key || unsupported.has(key)) continue;
    if (containsTokens(claims, tokens) && !containsTokens(record, tokens)) unsupported.set(key, skill);
  }
  return [...unsupported.values()];
}

function recordText(consultant: Consultant): string {
  return [
    consultant.fullName,
    consultant.title,
    consultant.skills.join(' | '),
    consultant.experiences,
    consultant.education,
    consultant.certifications,
    consultant.languages,
    ...Object.values(consultant.extra),
  ]
    .filter(Boolean)
    .join('\n');
}

function withoutPointsToNote(markdown: string): string {
  const kept: string[] = [];
  let skipping = false;
  for (const line of markdown.split(/\r?\n/)) {
    if (/^##\s/.test(line)) skipping = POINTS_TO_NOTE.test(line.trim());
    if (!skipping) kept.push(line);
  }
  return kept.join('\n');
}

/** The instruction added when a dossier is regenerated because it claimed unsupported skills. */
export function strictGroundingInstructions(unsupported: readonly string[], language: 'fr' | 'en'): string {
  const list = unsupported.join(', ');
  return language === 'fr'
    ? `Version précédente rejetée : elle attribuait au consultant des compétences absentes de son dossier (${list}). ` +
        `Ne cite aucune compétence, expérience ou certification qui ne figure pas mot pour mot dans les données du consultant ; ` +
        `les compétences manquantes ne peuvent apparaître que dans la section « Points d'attention ».`
    : `The previous version was rejected: it credited the consultant with skills absent from the record (${list}). ` +
        `Name no skill, experience or certification that is not in the consultant's data; missing skills may appear ` +
        `only in the "Points to note" section.`;
}
