import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { planBatch, type PlanOptions } from '../../functions/dossiers/plan';
import { buildReport, reportCsv, type PairOutcome } from '../../functions/dossiers/report';

const consultantsCsv = Buffer.from(
  'Matricule;Nom complet;Compétences;Années\n' +
    'C1;Alice Martin;Python, SQL, Spark;8\n' +
    'C2;Bruno Petit;Java, SQL;3\n' +
    'C3;=HYPERLINK("http://x");Python;5\n' +
    'C4;Chloé Roux;Python, Spark;2\n',
);
const jobsCsv = Buffer.from(
  'Référence;Intitulé;Compétences requises;Séniorité\nJOB-1;Data engineer;Python, Spark;5 ans\n',
);
const base: PlanOptions = {
  topK: undefined,
  minScore: undefined,
  language: 'fr',
  regenerateUngrounded: false,
};

function plan(options: Partial<PlanOptions> = {}, jobs = jobsCsv) {
  return planBatch({
    batchId: 'b1',
    consultants: { name: 'consultants.csv', bytes: consultantsCsv },
    jobs: { name: 'jobs.csv', bytes: jobs },
    options: { ...base, ...options },
    templateHash: 'tpl1',
    existingHashes: new Map([['job-1/c2', 'stale-hash']]),
  });
}

describe('planBatch', () => {
  it('plans every (job, consultant) pair by default', () => {
    const p = plan();
    expect(p.pairs.map((x) => `${x.jobId}/${x.consultantId}`)).toEqual([
      'job-1/c1',
      'job-1/c2',
      'job-1/c3',
      'job-1/c4',
    ]);
    expect(p.selected).toEqual([0, 1, 2, 3]);
    expect(p.vocabulary).toEqual(expect.arrayContaining(['Python', 'SQL', 'Spark', 'Java']));
  });

  it('keeps the K best consultants per job with --top, and says why the others are not generated', () => {
    const p = plan({ topK: 2 });
    const selected = p.pairs.filter((x) => x.selected).map((x) => x.consultantId);
    expect(selected).toEqual(['c1', 'c4']);
    expect(p.pairs.find((x) => x.consultantId === 'c2')?.notSelectedReason).toBe(
      'not among the 2 best consultants for this job',
    );
  });

  it('drops pairs below the minimum score, never silently', () => {
    const p = plan({ minScore: 60 });
    const dropped = p.pairs.filter((x) => !x.selected);
    expect(dropped.map((x) => x.consultantId)).toEqual(['c2']);
    expect(dropped[0]?.notSelectedReason).toMatch(/^score \d+ below the minimum 60$/);
  });

  it('marks a pair done only when its existing dossier was made from the same inputs', () => {
    const first = plan();
    const done = planBatch({
      batchId: 'b1',
      consultants: { name: 'consultants.csv', bytes: consultantsCsv },
      jobs: { name: 'jobs.csv', bytes: jobsCsv },
      options: base,
      templateHash: 'tpl1',
      existingHashes: new Map([['job-1/c1', first.pairs[0]?.inputHash ?? '']]),
    });
    expect(done.pairs.map((p) => p.alreadyDone)).toEqual([true, false, false, false]);
    expect(first.pairs.every((p) => !p.alreadyDone)).toBe(true);
  });

  it('gives a pair the same input hash for the same inputs, and another when its data, language or template changes', () => {
    const hash = (p: ReturnType<typeof plan>) => p.pairs[0]?.inputHash;
    expect(hash(plan())).toBe(hash(plan({ topK: 3 })));
    expect(hash(plan())).not.toBe(hash(plan({ language: 'en' })));
    // A DOCX template is part of the inputs: another template's bytes regenerate, the same ones do not.
    const template = (sha256: string) => plan({ template: { name: 'cabinet.docx', sha256 } });
    expect(hash(template('a'))).toBe(hash(template('a')));
    expect(hash(template('a'))).not.toBe(hash(template('b')));
    expect(hash(template('a'))).not.toBe(hash(plan()));
    const otherJob = Buffer.from(jobsCsv.toString().replace('5 ans', '6 ans'));
    expect(hash(plan())).not.toBe(hash(plan({}, otherJob)));
  });
});

describe('report', () => {
  const p = plan({ topK: 3 });
  const outcomes = new Map<number, PairOutcome>([
    [
      0,
      {
        index: 0,
        status: 'generated',
        files: ['dossiers/b1/job-1/c1.md'],
        unsupportedSkills: ['Kafka'],
        usage: { promptTokens: 100, completionTokens: 50, costUsd: 0.001 },
      },
    ],
    [
      2,
      {
        index: 2,
        status: 'skipped',
        files: ['dossiers/b1/job-1/c3.md'],
        unsupportedSkills: [],
        usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
      },
    ],
    [
      3,
      {
        index: 3,
        status: 'failed',
        files: [],
        unsupportedSkills: [],
        usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
        error: '-boom',
      },
    ],
  ]);
  const report = buildReport(p, outcomes, '2026-11-21T10:00:00.000Z', '2026-11-21T10:01:00.000Z');

  it('follows the report contract, counting each status and summing usage', () => {
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining([
        'batchId',
        'startedAt',
        'finishedAt',
        'total',
        'generated',
        'skipped',
        'failed',
        'rejectedRows',
        'usage',
        'pairs',
      ]),
    );
    expect(report).toMatchObject({
      batchId: 'b1',
      total: 4,
      generated: 1,
      skipped: 1,
      failed: 1,
      notSelected: 1,
    });
    expect(report.usage).toEqual({ promptTokens: 100, completionTokens: 50, costUsd: 0.001 });
    const pair = report.pairs[0];
    expect(Object.keys(pair ?? {}).sort()).toEqual(
      [
        'consultantId',
        'coveredSkills',
        'files',
        'jobId',
        'missingSkills',
        'score',
        'status',
        'unsupportedSkills',
        'usage',
      ].sort(),
    );
    expect(report.pairs.map((x) => x.status)).toEqual(['generated', 'not-selected', 'skipped', 'failed']);
  });

  it('writes one CSV row per pair and neutralises cells a spreadsheet would run as formulas', () => {
    const csv = reportCsv(report);
    const rows: string[][] = parse(csv, { bom: true });
    expect(rows).toHaveLength(5);
    expect(rows[4]?.[11]).toBe("'-boom");
    const report2 = {
      ...report,
      pairs: report.pairs.map((x) => ({ ...x, consultantId: '=cmd|calc', jobId: '@SUM(A1)' })),
    };
    const parsed: string[][] = parse(reportCsv(report2), { bom: true });
    const cells = parsed.slice(1).flat();
    expect(cells.filter((c) => /^[=+\-@]/.test(c))).toEqual([]);
    expect(cells).toContain("'=cmd|calc");
  });
});
