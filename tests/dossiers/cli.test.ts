import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startAiServer, type LocalAiServer } from '../../local/servers/aiServer';
import { dossierAnswer } from './fixtures';
import { buildTemplate, p, paragraphTexts, SAMPLE_TEMPLATE } from './templates';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/cli/dossiers.js');
const run = promisify(execFile);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const samples = [
  '--consultants',
  path.join(ROOT, 'samples/consultants.csv'),
  '--jobs',
  path.join(ROOT, 'samples/jobs.csv'),
];
const out = () => mkdtempSync(path.join(tmpdir(), 'cli-'));
const servers: LocalAiServer[] = [];
afterAll(() => Promise.all(servers.map((s) => s.close())));

describe('npm run dossiers (the CLI)', () => {
  it('generates every pair offline and exits 0', async () => {
    const dir = out();
    const result = await cli([
      ...samples,
      '--out',
      dir,
      '--provider',
      'offline',
      '--top',
      '3',
      '--lang',
      'en',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('12 generated, 0 skipped, 0 failed, 20 not selected');
    const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as { generated: number };
    expect(report.generated).toBe(12);
    const first = readFileSync(path.join(dir, 'job-2026-01', firstGeneratedFile(dir, 'job-2026-01')), 'utf8');
    expect(first).toMatch(/^# Skills dossier — /);
  });

  it('exits 2 when some pairs failed, 1 on unusable input', async () => {
    const server = await startAiServer({
      fault: (n) => (n % 2 === 0 ? 'error500' : 'none'),
      reply: () => dossierAnswer(),
    });
    servers.push(server);
    const partial = await cli([...samples, '--out', out(), '--concurrency', '1'], {
      AI_PROVIDER: 'openai',
      OPENAI_BASE_URL: `${server.url}/v1`,
      AI_MAX_RETRIES: '0',
    });
    expect(partial.code).toBe(2);
    expect(partial.stderr).toMatch(/[1-9]\d* generated, 0 skipped, [1-9]\d* failed/);

    const noName = path.join(out(), 'consultants.csv');
    writeFileSync(noName, 'Matricule;Compétences\nC1;Python\n');
    const unusable = await cli([
      '--consultants',
      noName,
      '--jobs',
      path.join(ROOT, 'samples/jobs.csv'),
      '--out',
      out(),
    ]);
    expect(unusable.code).toBe(1);
    expect(unusable.stderr).toContain('consultants.csv: no name column');

    const missingArgs = await cli(['--consultants', noName]);
    expect(missingArgs.code).toBe(1);
    expect(missingArgs.stderr).toContain('--consultants, --jobs and --out are required.');
  });

  it('fills the template given with --template; a broken one exits 1 listing its problems, before any AI call', async () => {
    const server = await startAiServer({ reply: () => dossierAnswer({ profile: 'Profil du modèle.' }) });
    servers.push(server);
    const env = { AI_PROVIDER: 'openai', OPENAI_BASE_URL: `${server.url}/v1` };
    const dir = out();
    const filled = await cli([...samples, '--out', dir, '--top', '1', '--template', SAMPLE_TEMPLATE], env);
    expect(filled.code).toBe(0);
    expect(filled.stderr).toContain('4 generated, 0 skipped, 0 failed');
    const docx = readFileSync(
      path.join(dir, 'job-2026-01', firstGeneratedFile(dir, 'job-2026-01').replace(/\.md$/, '.docx')),
    );
    expect(paragraphTexts(docx, 'word/header1.xml').join('')).toContain('Cabinet Exemple');
    expect(paragraphTexts(docx)).toContain('Profil du modèle.');
    expect(server.counters.requests).toBe(4);

    const again = await cli([...samples, '--out', dir, '--top', '1', '--template', SAMPLE_TEMPLATE], env);
    expect(again.stderr).toContain('0 generated, 4 skipped, 0 failed');
    expect(server.counters.requests).toBe(4);

    const broken = path.join(out(), 'broken.docx');
    writeFileSync(broken, await buildTemplate([p('{title}'), p('{#keySkills}{nom}')]));
    const emptyDir = out();
    const refused = await cli([...samples, '--out', emptyDir, '--template', broken], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `${broken}: 2 problems in the template:\n` +
        '  body, paragraph 2 ("{#keySkills}{nom}"), tag keySkills: The loop with tag "keySkills" is unclosed.\n' +
        '  body, paragraph 2 ("{#keySkills}{nom}"), tag {nom}: "nom" is not in the dossier\'s data.\n',
    );
    expect(server.counters.requests).toBe(4);
    expect(readdirSync(emptyDir)).toEqual([]);
  });
});

/** The Markdown file of the first generated pair of a job, from the report. */
function firstGeneratedFile(dir: string, jobId: string): string {
  const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as {
    pairs: { jobId: string; consultantId: string; status: string }[];
  };
  const pair = report.pairs.find((p) => p.jobId === jobId && p.status === 'generated');
  return `${pair?.consultantId ?? ''}.md`;
}
