import { describe, expect, it } from 'vitest';
import { checkDependencies, type DependencyProbe } from '../../functions/ops/health';

const ok = (name: string, required = true): DependencyProbe => ({
  name,
  required,
  check: () => Promise.resolve(),
});
const down = (name: string, required: boolean, error: Error): DependencyProbe => ({
  name,
  required,
  check: () => Promise.reject(error),
});
const hanging = (name: string): DependencyProbe => ({
  name,
  required: true,
  check: (signal) =>
    new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
});

describe('checkDependencies', () => {
  const options = { version: '1.2.3', timeoutMs: 200, now: () => new Date('2026-11-21T10:00:00Z') };

  it('is ok when every dependency answers', async () => {
    const report = await checkDependencies([ok('a'), ok('b', false)], options);
    expect(report).toMatchObject({ status: 'ok', version: '1.2.3', checkedAt: '2026-11-21T10:00:00.000Z' });
    expect(report.dependencies.map((d) => [d.name, d.status])).toEqual([
      ['a', 'ok'],
      ['b', 'ok'],
    ]);
    expect(report.dependencies[0]?.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('is degraded when only an optional dependency is down, and down when a required one is', async () => {
    const failure = Object.assign(new Error('connect refused\nstack'), { code: 'ECONNREFUSED' });
    expect((await checkDependencies([ok('a'), down('ai', false, failure)], options)).status).toBe('degraded');
    const report = await checkDependencies([down('storage', true, failure), ok('b')], options);
    expect(report.status).toBe('down');
    expect(report.dependencies[0]).toMatchObject({ status: 'down', error: 'ECONNREFUSED: connect refused' });
  });

  it('gives up on a dependency that does not answer within the timeout, and aborts its call', async () => {
    const report = await checkDependencies([hanging('slow')], options);
    expect(report.dependencies[0]).toMatchObject({ status: 'down', error: 'no answer within 200 ms' });
  });

  it('redacts error text before reporting it', async () => {
    const report = await checkDependencies([down('s', true, new Error('bad AccountKey=abc'))], {
      ...options,
      redact: (t) => t.replace('abc', '***'),
    });
    expect(report.dependencies[0]?.error).toBe('bad AccountKey=***');
  });
});
