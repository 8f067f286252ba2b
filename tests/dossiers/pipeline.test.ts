import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AiClient } from '../../functions/ai/aiClient';
import { offlineProvider } from '../../functions/ai/providers/offlineProvider';
import { openAICompatibleProvider } from '../../functions/ai/providers/openaiProvider';
import { renderDossier } from '../../functions/dossiers/docxRenderer';
import { DOSSIER_TASK } from '../../functions/dossiers/generatePair';
import { offlineDossier } from '../../functions/dossiers/offlineDossier';
import { DirectoryDossierOutputs } from '../../functions/dossiers/outputs';
import { runLocalBatch } from '../../functions/dossiers/runLocalBatch';
import { startAiServer, type AiServerOptions, type LocalAiServer } from '../../local/servers/aiServer';
import { aiWith, dossierAnswer } from './fixtures';

const SAMPLES = path.resolve(__dirname, '../../samples');
const samples = {
  consultants: { name: 'consultants.csv', bytes: readFileSync(path.join(SAMPLES, 'consultants.csv')) },
  jobs: { name: 'jobs.csv', bytes: readFileSync(path.join(SAMPLES, 'jobs.csv')) },
};

const servers: LocalAiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serverAi(options: AiServerOptions): Promise<{ ai: AiClient; server: LocalAiServer }> {
  const server = await startAiServer(options);
  servers.push(server);
  return {
    ai: aiWith(
      openAICompatibleProvider({
        baseURL: `${server.url}/v1`,
        apiKey: 'k',
        model: 'gpt-4o-mini',
        timeoutMs: 5000,
      }),
    ),
    server,
  };
}

function run(ai: AiClient, out: string, options: { regenerateUngrounded?: boolean; topK?: number } = {}) {
  return runLocalBatch({
    batchId: 'test',
    ...samples,
    options: {
      topK: options.topK,
      minScore: undefined,
      language: 'fr',
      regenerateUngrounded: options.regenerateUngrounded ?? false,
    },
    concurrency: 4,
    ai,
    outputs: new DirectoryDossierOutputs(out),
    renderDocx: renderDossier,
  });
}

const outDir = () => mkdtempSync(path.join(tmpdir(), 'dossiers-'));
const userPrompt = (body: { messages?: { role: string; content: unknown }[] }): string => {
  const content = body.messages?.find((m) => m.role === 'user')?.content;
  return typeof content === 'string' ? content : '';
};

describe('dossier pipeline', () => {
  it('writes a Markdown and a DOCX per pair and a report, and skips existing pairs on a re-run without an AI call', async () => {
    const out = outDir();
    const first = await run(aiWith(offlineProvider({ [DOSSIER_TASK]: offlineDossier })), out);
    expect(first).toMatchObject({ total: 32, generated: 32, skipped: 0, failed: 0 });
    expect(existsSync(path.join(out, 'job-2026-01', `${first.pairs[0]?.consultantId ?? ''}.docx`))).toBe(
      true,
    );
    expect(JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'))).toMatchObject({ generated: 32 });

    const { ai, server } = await serverAi({});
    const second = await run(ai, out);
    expect(second).toMatchObject({ generated: 0, skipped: 32 });
    expect(server.counters.requests).toBe(0);
    expect(second.usage).toEqual({ promptTokens: 0, completionTokens: 0, costUsd: 0 });
  });

  it('lists skills a dossier invents, and regenerates it once with a stricter prompt when asked', async () => {
    const invented = dossierAnswer({
      keySkills: [
        { name: 'Kubernetes', detail: '' },
        { name: 'Terraform', detail: '' },
      ],
    });
    const reply = (body: Parameters<NonNullable<AiServerOptions['reply']>>[0]) =>
      userPrompt(body).includes('Version précédente rejetée')
        ? dossierAnswer({ profile: 'Profil conforme au dossier.' })
        : invented;

    const flagged = await serverAi({ reply });
    const plain = await run(flagged.ai, outDir(), { topK: 1 });
    const flaggedPairs = plain.pairs.filter((p) => p.unsupportedSkills.length > 0);
    // The DevOps consultant really has Kubernetes and Terraform: only the others are flagged.
    expect(flaggedPairs.length).toBe(3);
    expect([...(flaggedPairs[0]?.unsupportedSkills ?? [])].sort()).toEqual(['Kubernetes', 'Terraform']);
    expect(flagged.server.counters.requests).toBe(4);

    const strict = await serverAi({ reply });
    const regenerated = await run(strict.ai, outDir(), { topK: 1, regenerateUngrounded: true });
    const generated = regenerated.pairs.filter((p) => p.status === 'generated');
    expect(generated.every((p) => p.unsupportedSkills.length === 0)).toBe(true);
    expect(strict.server.counters.requests).toBe(4 + flaggedPairs.length);
    // Usage counts both calls of a regenerated pair.
    expect(regenerated.usage.promptTokens).toBe(strict.server.counters.promptTokens);
  });

  it('records a pair that fails and completes the batch with the others', async () => {
    const failing = (n: number, body: Parameters<NonNullable<AiServerOptions['fault']>>[1]) =>
      userPrompt(body).includes('Camille Garnier') ? ('error500' as const) : ('none' as const);
    const { ai } = await serverAi({ fault: failing, reply: () => dossierAnswer() });
    const report = await run(ai, outDir());
    expect(report.failed).toBe(4);
    expect(report.generated).toBe(28);
    const failed = report.pairs.filter((p) => p.status === 'failed');
    expect(failed.every((p) => p.error?.includes('server error (500)'))).toBe(true);
  });

  it('fails a pair whose answer is not the dossier JSON, naming what is wrong, and writes nothing for it', async () => {
    const { ai } = await serverAi({
      reply: (body) =>
        userPrompt(body).includes('Camille Garnier')
          ? '# Dossier de compétences\n## Profil\n'
          : dossierAnswer(),
    });
    const out = outDir();
    const report = await run(ai, out);
    const failed = report.pairs.filter((p) => p.status === 'failed');
    expect(failed).toHaveLength(4);
    expect(failed[0]?.error).toMatch(/^The dossier answer holds no JSON object/);
    expect(existsSync(path.join(out, failed[0]?.jobId ?? '', `${failed[0]?.consultantId ?? ''}.md`))).toBe(
      false,
    );
    // The others are written from their sections: the Markdown carries the answer's title.
    const done = report.pairs.find((p) => p.status === 'generated');
    expect(readFileSync(path.join(out, done?.jobId ?? '', `${done?.consultantId ?? ''}.md`), 'utf8')).toMatch(
      /^# Dossier de compétences — Camille Garnier\n\n## Profil\n/,
    );
  });
});
