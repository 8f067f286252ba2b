import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../functions/ai/backoff';
import { classifyProviderError, retryAfter } from '../../functions/ai/errors';
import { BUILT_IN_PRICES, costUsd } from '../../functions/ai/prices';
import { offlineProvider } from '../../functions/ai/providers/offlineProvider';
import { findBlockedTerm, redactSensitive } from '../../functions/ai/sensitive';
import { TemplateLibrary } from '../../functions/ai/templates';
import { FIXTURE_PROMPTS } from '../support/aiTestClient';

describe('sensitive data', () => {
  const all = ['email', 'phone', 'iban', 'nir'] as const;

  it('finds French and international phone formats', () => {
    const { text, counts } = redactSensitive(
      '06.12.34.56.78, 01 23 45 67 89, +33 6 12 34 56 78, +33 (0)1 23 45 67 89',
      all,
    );
    expect(text).toBe('[PHONE], [PHONE], [PHONE], [PHONE]');
    expect(counts.phone).toBe(4);
  });

  it('redacts only IBANs and NIRs whose mod-97 key is right', () => {
    const { text } = redactSensitive(
      'FR76 3000 6000 0112 3456 7890 189 / FR76 3000 6000 0112 3456 7890 188',
      all,
    );
    expect(text).toBe('[IBAN] / FR76 3000 6000 0112 3456 7890 188');
    expect(redactSensitive('185057800608491 et 185057800608436', all).text).toBe('[NIR] et 185057800608436');
    expect(redactSensitive('2 69 05 2A 123 456 12', ['nir']).counts.nir).toBe(0);
  });

  it('redacts only the kinds a template asks for', () => {
    expect(redactSensitive('a@b.fr 06 12 34 56 78', ['email']).text).toBe('[EMAIL] 06 12 34 56 78');
  });

  it('matches blocklist terms as whole words, ignoring case and accents', () => {
    expect(findBlockedTerm('Document CONFIDENTIEL', ['confidentiel'])).toBe('confidentiel');
    expect(findBlockedTerm('la confidentialité', ['confidentiel'])).toBeUndefined();
    expect(findBlockedTerm('Révélé ici', ['revele'])).toBe('revele');
  });
});

describe('templates', () => {
  it('renders named variables and names a missing one', () => {
    const template = new TemplateLibrary(FIXTURE_PROMPTS).get('summary');
    expect(template.render({ note: 'Bonjour' })[1]?.content).toContain('Bonjour');
    expect(() => template.render({})).toThrow('The summary template needs the variable "note".');
  });

  it('changes its hash when its text changes, and refuses an unknown task', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'prompts-'));
    const spec = { id: 't', version: 1, maxTokens: 10, temperature: 0, system: 's.md', user: 'u.md' };
    writeFileSync(path.join(dir, 't.json'), JSON.stringify(spec));
    writeFileSync(path.join(dir, 's.md'), 'system');
    writeFileSync(path.join(dir, 'u.md'), 'user {{x}}');
    const first = new TemplateLibrary(dir).get('t').hash;
    writeFileSync(path.join(dir, 'u.md'), 'user {{x}}!');
    expect(new TemplateLibrary(dir).get('t').hash).not.toBe(first);
    expect(() => new TemplateLibrary(dir).get('../t')).toThrow('is not a task name');
    expect(() => new TemplateLibrary(dir).get('absent')).toThrow('No prompt template for task "absent"');
  });
});

describe('retry policy parts', () => {
  it('backs off exponentially with jitter, capped at 20 s', () => {
    expect(backoffDelay(1, () => 0)).toBe(250);
    expect(backoffDelay(1, () => 1)).toBe(500);
    expect(backoffDelay(3, () => 1)).toBe(2000);
    expect(backoffDelay(10, () => 1)).toBe(20_000);
  });

  it('reads retry-after-ms, retry-after seconds and dates', () => {
    expect(retryAfter(new Headers({ 'retry-after-ms': '1500' }))).toBe(1500);
    expect(retryAfter(new Headers({ 'retry-after': '3' }))).toBe(3000);
    expect(retryAfter(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 4000)).toBe(6000);
  });

  it('retries 429, 5xx, timeouts and connection errors, not other 4xx', () => {
    const error = (status?: number) => Object.assign(new Error('x'), { status, headers: new Headers() });
    expect(classifyProviderError(error(429), false).retryable).toBe(true);
    expect(classifyProviderError(error(503), false).retryable).toBe(true);
    expect(classifyProviderError(error(), false)).toMatchObject({ kind: 'connection', retryable: true });
    expect(classifyProviderError(error(400), false).retryable).toBe(false);
    expect(classifyProviderError(error(400), true).kind).toBe('timeout');
  });
});

describe('prices', () => {
  it('prices a dated model by its family, and AI_PRICES overrides', () => {
    expect(costUsd(BUILT_IN_PRICES, 'gpt-4o-mini-2024-07-18', 1_000_000, 1_000_000)).toBeCloseTo(0.75);
    expect(costUsd(BUILT_IN_PRICES, 'gpt-4o-2024-08-06', 1_000_000, 0)).toBeCloseTo(2.5);
    expect(
      costUsd({ ...BUILT_IN_PRICES, mine: { input: 1, output: 2 } }, 'mine', 500_000, 500_000),
    ).toBeCloseTo(1.5);
    expect(costUsd(BUILT_IN_PRICES, 'unknown-model', 1000, 1000)).toBe(0);
  });
});

describe('offline provider', () => {
  it('answers from its task generator, deterministically, with estimated usage', async () => {
    const provider = offlineProvider({ summary: (v) => `Résumé : ${String(v.note)}` });
    const call = {
      task: 'summary',
      messages: [{ role: 'user' as const, content: 'x'.repeat(40) }],
      maxTokens: 10,
      temperature: 0,
      variables: { note: 'abc' },
      signal: new AbortController().signal,
    };
    const first = await provider.complete(call);
    expect(first).toEqual(await provider.complete(call));
    expect(first).toEqual({ text: 'Résumé : abc', promptTokens: 10, completionTokens: 3, model: 'offline' });
    await expect(provider.complete({ ...call, task: 'other' })).rejects.toThrow(
      'no generator for the task "other"',
    );
  });
});
