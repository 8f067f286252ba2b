import { randomUUID } from 'node:crypto';

/**
 * Route templates and binding expressions as the Functions host reads them: `{name}`, `{name?}`,
 * `{*rest}` and `{name:constraint}` in routes; `{name}` in blob paths; `{name}`, `{rand-guid}` and
 * `{DateTime}` in output binding properties.
 */

function parameterName(token: string): { name: string; optional: boolean; catchAll: boolean } {
  const inner = token.slice(1, -1);
  const catchAll = inner.startsWith('*');
  const bare = (catchAll ? inner.slice(1) : inner).split(':')[0] ?? '';
  const optional = bare.endsWith('?');
  return { name: optional ? bare.slice(0, -1) : bare, optional, catchAll };
}

/** Matches a path (after the route prefix) against a route template; returns its parameters. */
export function matchRoute(template: string, routePath: string): Record<string, string> | undefined {
  const templateParts = template.replace(/^\/|\/$/g, '').split('/');
  const pathParts = routePath
    .replace(/^\/|\/$/g, '')
    .split('/')
    .filter((p, i) => p !== '' || i === 0);
  const params: Record<string, string> = {};
  for (let i = 0; i < templateParts.length; i++) {
    const part = templateParts[i] ?? '';
    const actual = pathParts[i];
    if (/^\{.*\}$/.test(part)) {
      const { name, optional, catchAll } = parameterName(part);
      if (catchAll) {
        params[name] = pathParts.slice(i).map(decodeURIComponent).join('/');
        return params;
      }
      if (actual === undefined || actual === '') {
        if (optional) continue;
        return undefined;
      }
      params[name] = decodeURIComponent(actual);
    } else if (part.toLowerCase() !== (actual ?? '').toLowerCase()) {
      return undefined;
    }
  }
  return pathParts.length <= templateParts.length ? params : undefined;
}

/** Matches `container/{a}/{b}` against a blob path; the last parameter takes the rest of the path. */
export function matchPathPattern(pattern: string, blobPath: string): Record<string, string> | undefined {
  const names: string[] = [];
  const source = pattern
    .split(/(\{[^}]+\})/)
    .map((piece) => {
      if (/^\{[^}]+\}$/.test(piece)) {
        names.push(piece.slice(1, -1));
        return '(.+?)';
      }
      return piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  const match = new RegExp(`^${source}$`).exec(blobPath);
  if (!match) return undefined;
  return Object.fromEntries(names.map((name, i) => [name, match[i + 1] ?? '']));
}

/** Fills `{name}` from the invocation's binding data; an unknown name is an error, as in the host. */
export function resolveBindingExpression(template: string, data: Record<string, unknown>): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    if (name === 'rand-guid') return randomUUID();
    if (name === 'DateTime') return new Date().toISOString();
    const value = data[name];
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new Error(`The binding expression {${name}} has no value in this invocation.`);
  });
}
