import type { Consultant, JobPosting } from '../../functions/dossiers/types';

export function consultant(overrides: Partial<Consultant> = {}): Consultant {
  return {
    id: 'cns-1',
    line: 2,
    fullName: 'Camille Garnier',
    title: 'Data engineer',
    years: 7,
    skills: ['Python', 'SQL', 'Azure Data Factory', 'Apache Spark', 'Éthique des données'],
    experiences: '2022-2025 : migration vers Databricks',
    extra: {},
    ...overrides,
  };
}

export function job(overrides: Partial<JobPosting> = {}): JobPosting {
  return {
    id: 'job-1',
    line: 2,
    title: 'Data engineer Azure',
    client: 'Banque Aurelis',
    requiredSkills: ['python', 'Spark', 'Kubernetes', 'ethique des donnees'],
    niceToHave: ['Airflow', 'SQL'],
    seniority: 'Senior',
    extra: {},
    ...overrides,
  };
}
