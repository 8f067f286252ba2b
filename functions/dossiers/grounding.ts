import { claimsText, type DossierSections } from './sections';
import { containsTokens, skillTokens } from './skills';
import type { Consultant } from './types';

/**
 * The skills of the batch vocabulary (every skill either file names) that the dossier mentions but the
 * consultant's record does not: claims the model made up. Mentions in the points of attention (whose
 * purpose is to name what is missing), and the quoted phrases (the job's title and client), are not
 * claims and do not count.
 */
export function findUnsupportedSkills(
  sections: DossierSections,
  consultant: Consultant,
  vocabulary: readonly string[],
  quotedPhrases: readonly string[] = [],
): string[] {
  // Quoting the job (its title, its client) is not a claim about the consultant.
  let text = claimsText(sections);
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

/** The instruction added when a dossier is regenerated because it claimed unsupported skills. */
export function strictGroundingInstructions(unsupported: readonly string[], language: 'fr' | 'en'): string {
  const list = unsupported.join(', ');
  return language === 'fr'
    ? `Version précédente rejetée : elle attribuait au consultant des compétences absentes de son dossier (${list}). ` +
        `Ne cite aucune compétence, expérience ou certification qui ne figure pas mot pour mot dans les données du consultant ; ` +
        `les compétences manquantes ne peuvent apparaître que dans \`pointsOfAttention\`.`
    : `The previous version was rejected: it credited the consultant with skills absent from the record (${list}). ` +
        `Name no skill, experience or certification that is not in the consultant's data; missing skills may appear ` +
        `only in \`pointsOfAttention\`.`;
}
