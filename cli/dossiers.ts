import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AI_PROVIDERS } from '../functions/ai/settings';
import { createStandaloneDossiers } from '../functions/app/standalone';
import { describeProblem } from '../functions/dossiers';
import { runCommand, UsageError } from './command';

const USAGE = `Usage: npm run dossiers -- --consultants <csv> --jobs <csv> --out <dir>
  [--provider offline|azure-openai|openai|anthropic] [--top K] [--min-score S]
  [--concurrency N] [--lang fr|en] [--regenerate-ungrounded] [--template <file.docx>]
--template fills the firm's Word template (docxtemplater tags) instead of the built-in layout; it is
checked before anything is generated.
Provider settings come from the environment (AI_PROVIDER, AZURE_OPENAI_ENDPOINT, OPENAI_BASE_URL, ...).
Exit code: 0 every selected pair generated or skipped, 2 some failed, 1 unusable input or template.`;

function integer(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${flag} must be a whole number of at least ${min}.`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      consultants: { type: 'string' },
      jobs: { type: 'string' },
      out: { type: 'string' },
      provider: { type: 'string' },
      top: { type: 'string' },
      'min-score': { type: 'string' },
      concurrency: { type: 'string' },
      lang: { type: 'string' },
      'regenerate-ungrounded': { type: 'boolean' },
      template: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.consultants || !values.jobs || !values.out)
    throw new UsageError('--consultants, --jobs and --out are required.');
  if (values.provider && !(AI_PROVIDERS as readonly string[]).includes(values.provider)) {
    throw new UsageError(`--provider must be one of ${AI_PROVIDERS.join(', ')}.`);
  }
  if (values.lang && values.lang !== 'fr' && values.lang !== 'en')
    throw new UsageError('--lang must be fr or en.');

  const dossiers = createStandaloneDossiers({
    ...process.env,
    ...(values.provider ? { AI_PROVIDER: values.provider } : {}),
  });
  const [consultants, jobs] = await Promise.all([readInput(values.consultants), readInput(values.jobs)]);
  const template = values.template
    ? { name: path.basename(values.template), bytes: await readInput(values.template) }
    : undefined;
  if (template) {
    // Before any AI call: a broken template would fail every pair.
    const { problems } = dossiers.checkTemplate(template.bytes);
    if (problems.length > 0) {
      process.stderr.write(
        `${values.template}: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the template:\n` +
          problems.map((problem) => `  ${describeProblem(problem)}\n`).join(''),
      );
      return 1;
    }
  }
  const progress = progressBar();
  const report = await dossiers.runBatchInFolder({
    consultants: { name: path.basename(values.consultants), bytes: consultants },
    jobs: { name: path.basename(values.jobs), bytes: jobs },
    outDir: values.out,
    options: {
      topK: integer(values.top, 'top', 1),
      minScore: integer(values['min-score'], 'min-score', 0),
      language: values.lang as 'fr' | 'en' | undefined,
      regenerateUngrounded: values['regenerate-ungrounded'],
    },
    template,
    concurrency: integer(values.concurrency, 'concurrency', 1),
    onProgress: progress.update,
  });
  progress.end();
  for (const row of report.rejectedRows)
    process.stderr.write(`rejected ${row.file}:${row.line}: ${row.reason}\n`);
  process.stderr.write(
    `${report.generated} generated, ${report.skipped} skipped, ${report.failed} failed, ${report.notSelected} not selected; ` +
      `${report.usage.promptTokens + report.usage.completionTokens} tokens, $${report.usage.costUsd.toFixed(4)}; ` +
      `report in ${path.join(values.out, 'report.json')}\n`,
  );
  return report.failed > 0 ? 2 : 0;
}

async function readInput(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch {
    throw new UsageError(`Cannot read ${file}.`);
  }
}

/** A one-line progress bar on a terminal; nothing when stderr is a file or a pipe. */
function progressBar() {
  const tty = process.stderr.isTTY;
  const started = Date.now();
  return {
    update: (done: number, total: number, failed: number) => {
      if (!tty) return;
      const width = 30;
      const filled = total ? Math.round((done / total) * width) : width;
      const elapsed = (Date.now() - started) / 1000;
      const eta = done ? Math.round((elapsed / done) * (total - done)) : 0;
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} pairs, ${failed} failed, ETA ${eta}s `,
      );
    },
    end: () => {
      if (tty) process.stderr.write('\n');
    },
  };
}

runCommand(main, USAGE);
