import { skillsMatch } from './skills';
import { foldText } from '../platform/text';
import type { Consultant, JobPosting, PairMatch } from './types';

const WEIGHT_REQUIRED = 70;
const WEIGHT_NICE = 15;
const WEIGHT_SENIORITY = 15;

// Levels as French and English postings write them, in years of experience.
// Matched on folded text (no accents, lower case).
const SENIORITY_LEVELS: [RegExp, number][] = [
  [/\b(expert|principal|lead|architecte|staff)\b/, 10],
  [/\b(senior|confirme|experimente)\b/, 6],
  [/\b(intermediaire|intermediate|mid|medior)\b/, 3],
  [/\b(junior|debutant|entry)\b/, 0],
];

/** Years of experience a seniority cell asks for: a number ("5 ans", "5+ years") or a level name. */
export function requiredYears(seniority: string | undefined): number | undefined {
  if (!seniority) return undefined;
  const number = /(\d+(?:[.,]\d+)?)/.exec(seniority)?.[1];
  if (number) return Number(number.replace(',', '.'));
  const text = foldText(seniority);
  return SENIORITY_LEVELS.find(([pattern]) => pattern.test(text))?.[1];
}

/** The deterministic fit of a consultant for a job (see PairMatch for the weights). */
export function matchPair(consultant: Consultant, job: JobPosting): PairMatch {
  const has = (skill: string) => consultant.skills.some((own) => skillsMatch(own, skill));
  const coveredSkills = job.requiredSkills.filter(has);
  const missingSkills = job.requiredSkills.filter((skill) => !has(skill));
  const niceToHaveCovered = job.niceToHave.filter(has);

  const requiredShare = job.requiredSkills.length ? coveredSkills.length / job.requiredSkills.length : 1;
  const niceShare = job.niceToHave.length ? niceToHaveCovered.length / job.niceToHave.length : 1;
  const needed = requiredYears(job.seniority);
  let seniorityShare = 1;
  if (needed !== undefined && needed > 0) {
    seniorityShare = consultant.years === undefined ? 0.5 : Math.min(1, consultant.years / needed);
  }
  const score = Math.round(
    WEIGHT_REQUIRED * requiredShare + WEIGHT_NICE * niceShare + WEIGHT_SENIORITY * seniorityShare,
  );
  return { score, coveredSkills, missingSkills, niceToHaveCovered };
}
