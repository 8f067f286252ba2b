import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalHost } from '../../local/localHost';
import { startAppHost } from '../support/testHost';

/**
 * The complete list of the app's functions with their bindings, as the Functions host receives
 * them. A changed route, schedule, path or auth level must show up here as a deliberate diff.
 * Generated binding names (hashes) are left out: they carry no meaning.
 */
const EXPECTED = [
  {
    name: 'healthLiveness',
    bindings: [
      { type: 'httpTrigger', direction: 'in', route: 'health', methods: ['GET'], authLevel: 'anonymous' },
      { type: 'http', direction: 'out', binding: '$return' },
    ],
  },
  {
    name: 'healthDetails',
    bindings: [
      {
        type: 'httpTrigger',
        direction: 'in',
        route: 'health/details',
        methods: ['GET'],
        authLevel: 'function',
      },
      { type: 'http', direction: 'out', binding: '$return' },
    ],
  },
];

let host: LocalHost;
beforeAll(async () => {
  host = await startAppHost();
});
afterAll(() => host.stop());

describe('registrations', () => {
  it('registers exactly the expected functions and bindings', () => {
    const actual = host.functions().map((fn) => ({
      name: fn.name,
      bindings: Object.entries(fn.bindings).map(([key, binding]) => {
        const { name: _generated, properties: _properties, ...meaningful } = binding;
        return key === '$return' ? { ...meaningful, binding: key } : meaningful;
      }),
      ...(fn.retryOptions ? { retry: fn.retryOptions } : {}),
    }));
    expect(actual).toEqual(EXPECTED);
  });

  it('registers the log hook that redacts secrets', () => {
    expect([...host.registrations.hooks.keys()]).toEqual(['log']);
  });
});
