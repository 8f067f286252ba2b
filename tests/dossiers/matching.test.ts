import { describe, expect, it } from 'vitest';
import { findUnsupportedSkills } from '../../functions/dossiers/grounding';
import { matchPair, requiredYears } from '../../functions/dossiers/matching';
import { skillsMatch } from '../../functions/dossiers/skills';
import { consultant, job, sections } from './fixtures';

describe('matchPair', () => {
  it('compares skills case-, accent- and punctuation-insensitively, and by whole words', () => {
    expect(skillsMatch('Node.js', 'nodejs')).toBe(true);
    expect(skillsMatch('Éthique des données', 'ethique des donnees')).toBe(true);
    expect(skillsMatch('Apache Spark', 'Spark')).toBe(true);
    expect(skillsMatch('C++', 'C#')).toBe(false);
    expect(skillsMatch('Java', 'JavaScript')).toBe(false);
  });

  it('scores required (70), nice-to-have (15) and seniority (15) with covered and missing skills', () => {
    const match = matchPair(consultant(), job());
    expect(match.coveredSkills).toEqual(['python', 'Spark', 'ethique des donnees']);
    expect(match.missingSkills).toEqual(['Kubernetes']);
    expect(match.niceToHaveCovered).toEqual(['SQL']);
    // 70 × 3/4 + 15 × 1/2 + 15 × min(1, 7/6)
    expect(match.score).toBe(75);
  });

  it('reads seniority as years or as a level, and gives half marks when the years are unknown', () => {
    expect(requiredYears('5 ans minimum')).toBe(5);
    expect(requiredYears('Confirmé')).toBe(6);
    expect(requiredYears('junior')).toBe(0);
    expect(requiredYears('à définir')).toBeUndefined();
    const unknownYears = matchPair(
      consultant({ years: undefined }),
      job({ requiredSkills: [], niceToHave: [] }),
    );
    expect(unknownYears.score).toBe(Math.round(70 + 15 + 7.5));
  });
});

describe('findUnsupportedSkills', () => {
  const vocabulary = ['Python', 'Kubernetes', 'Terraform', 'Spark', 'Azure'];

  it('lists vocabulary skills the dossier claims and the record lacks, in any section', () => {
    const dossier = sections({
      keySkills: [
        { name: 'Python', detail: '' },
        { name: 'Kubernetes', detail: '3 ans' },
      ],
      experiences: ['Migration terraform'],
    });
    expect(findUnsupportedSkills(dossier, consultant(), vocabulary)).toEqual(['Kubernetes', 'Terraform']);
  });

  it('does not count missing skills named in the points of attention, nor the quoted job title', () => {
    const dossier = sections({
      fit: 'Poste « Data engineer Azure Kubernetes ».',
      pointsOfAttention: ['Kubernetes : à confirmer', 'Terraform non attesté'],
      availability: 'Immédiate',
    });
    expect(
      findUnsupportedSkills(dossier, consultant(), vocabulary, ['Data engineer Azure Kubernetes']),
    ).toEqual([]);
    expect(findUnsupportedSkills(dossier, consultant(), vocabulary)).toEqual(['Kubernetes']);
  });

  it('accepts skills found anywhere in the record, not only in the skills column', () => {
    const dossier = sections({ profile: 'Expérience Databricks et Spark.' });
    expect(findUnsupportedSkills(dossier, consultant(), ['Databricks', 'Spark'])).toEqual([]);
  });
});
