import { AiClient } from '../../functions/ai/aiClient';
import { BUILT_IN_PRICES } from '../../functions/ai/prices';
import { defaultTemplateDirectory, TemplateLibrary } from '../../functions/ai/templates';
import type { ChatProvider } from '../../functions/ai/types';
import { MemoryUsageStore } from '../../functions/ai/usage';
import type { DossierSections } from '../../functions/dossiers/sections';
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

/** A dossier's sections, empty but for the title and what the test sets. */
export function sections(overrides: Partial<DossierSections> = {}): DossierSections {
  return {
    title: 'Dossier de compétences — Camille Garnier',
    profile: '',
    fit: '',
    keySkills: [],
    experiences: [],
    education: '',
    pointsOfAttention: [],
    availability: '',
    ...overrides,
  };
}

/** A model's answer to the `dossier` task: the sections as JSON. */
export function dossierAnswer(overrides: Partial<DossierSections> = {}): string {
  return JSON.stringify(sections(overrides));
}

/** An AI client on one provider: no cache, no retries, usage in memory. */
export function aiWith(provider: ChatProvider): AiClient {
  return new AiClient({
    providers: [provider],
    templates: new TemplateLibrary(defaultTemplateDirectory()),
    usage: new MemoryUsageStore(),
    cache: undefined,
    cacheTtlMs: 0,
    prices: BUILT_IN_PRICES,
    outputBlocklist: [],
    rpm: undefined,
    tpm: undefined,
    maxConcurrency: 8,
    timeoutMs: 5000,
    maxRetries: 0,
  });
}
