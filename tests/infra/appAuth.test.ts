import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Node, Tree } from 'web-tree-sitter';
import {
  BICEP_ROOT,
  INTERPOLATION,
  REPO_ROOT,
  literalValue,
  parseBicep,
  propertyAt,
  resourceDeclarations,
  stringTemplate,
} from '../support/bicepParser';

const TRIGGERS_DIR = path.join(REPO_ROOT, 'functions', 'triggers');
const AGENT_DIR = path.join(REPO_ROOT, 'agent', 'src');
/** host.json's extensions.http.routePrefix. */
const ROUTE_PREFIX = '/api/';

/**
 * Anonymous routes (authLevel 'anonymous') that App Service Authentication must keep behind the sign-in, each with
 * the reason. Every other anonymous route must be in its excluded paths.
 */
const BEHIND_SIGN_IN: Readonly<Record<string, string>> = {
  console: 'the ops console page: the sign-in exists for it',
  'console/assets/{name}': "the console's scripts and styles, loaded by the signed-in page",
};

interface Route {
  /** `file:line:column` of the registration. */
  place: string;
  name: string;
  /** The route as registered, or undefined when it is not a literal string. */
  route: string | undefined;
  authLevel: string | undefined;
}

interface TriggerScan {
  routes: Route[];
  /** Whether any function is an Event Grid trigger (`app.eventGrid`). */
  eventGrid: boolean;
  /** Whether any blob trigger is fed by Event Grid (`app.storageBlob` with `source: 'EventGrid'`). */
  eventGridBlobs: boolean;
}

function sourceFiles(dir: string): { name: string; source: ts.SourceFile }[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.ts'))
    .sort()
    .map((name) => {
      const file = path.join(dir, name);
      return {
        name,
        source: ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true),
      };
    });
}

/** The property of an object literal with this name, or undefined. */
function propertyOf(object: ts.ObjectLiteralExpression, key: string): ts.Expression | undefined {
  return object.properties.find(
    (p): p is ts.PropertyAssignment =>
      ts.isPropertyAssignment(p) &&
      (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) &&
      p.name.text === key,
  )?.initializer;
}

const literalText = (expression: ts.Expression | undefined): string | undefined =>
  expression && ts.isStringLiteralLike(expression) ? expression.text : undefined;

/** The functions registered in functions/triggers, read from the TypeScript syntax tree (importing them starts the app). */
function scanTriggers(): TriggerScan {
  const scan: TriggerScan = { routes: [], eventGrid: false, eventGridBlobs: false };
  for (const { name: fileName, source } of sourceFiles(TRIGGERS_DIR)) {
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
        const [name, options] = node.arguments;
        const kind = node.expression.name.text;
        if (name && ts.isStringLiteralLike(name) && options && ts.isObjectLiteralExpression(options)) {
          if (kind === 'http') {
            const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
            scan.routes.push({
              place: `functions/triggers/${fileName}:${line + 1}:${character + 1}`,
              name: name.text,
              route: literalText(propertyOf(options, 'route')),
              authLevel: literalText(propertyOf(options, 'authLevel')),
            });
          }
          if (kind === 'eventGrid') scan.eventGrid = true;
          if (kind === 'storageBlob' && literalText(propertyOf(options, 'source')) === 'EventGrid') {
            scan.eventGridBlobs = true;
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return scan;
}

/** The app paths the voice agent calls: strings and templates in agent/src starting with /api/, placeholders as `x`. */
function agentPaths(): string[] {
  const paths = new Set<string>();
  for (const { source } of sourceFiles(AGENT_DIR)) {
    const visit = (node: ts.Node): void => {
      let text: string | undefined;
      if (ts.isStringLiteralLike(node)) text = node.text;
      else if (ts.isTemplateExpression(node)) {
        text = node.head.text + node.templateSpans.map((span) => `x${span.literal.text}`).join('');
      }
      if (text?.startsWith(ROUTE_PREFIX)) paths.add(text);
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return [...paths].sort();
}

/** A request path for a route, its `{parameters}` filled in. */
const requestPath = (route: string): string => `${ROUTE_PREFIX}${route.replace(/\{[^}]+\}/g, 'x')}`;

/** Whether an excluded path lets a request path through: the same path, or under a path ending in `/*`. */
const lets = (excluded: readonly string[], requested: string): boolean =>
  excluded.some((p) => (p.endsWith('/*') ? requested.startsWith(p.slice(0, -1)) : requested === p));

describe('infra/bicep: App Service Authentication (modules/functionApp.bicep, authsettingsV2)', () => {
  let functionApp: Tree;
  let main: Tree;
  let settings: Node;
  let excluded: string[];
  let triggers: TriggerScan;
  const at = (...keys: string[]) => propertyAt(settings, keys);
  const paramDefault = (tree: Tree, name: string): string | undefined => {
    const node = tree.rootNode.namedChildren.find(
      (child) => child.type === 'parameter_declaration' && child.namedChildren[0]?.text === name,
    );
    return node?.children.some((child) => child.type === '=')
      ? node.namedChildren.filter((child) => child.type !== 'comment').at(-1)?.text
      : undefined;
  };

  beforeAll(async () => {
    functionApp = await parseBicep(
      readFileSync(path.join(BICEP_ROOT, 'modules', 'functionApp.bicep'), 'utf8'),
    );
    main = await parseBicep(readFileSync(path.join(BICEP_ROOT, 'main.bicep'), 'utf8'));
    const configs = resourceDeclarations(functionApp).filter(
      (r) =>
        r.type.startsWith('Microsoft.Web/sites/config@') &&
        r.body !== undefined &&
        literalValue(propertyAt(r.body, ['name'])!) === 'authsettingsV2',
    );
    if (configs.length !== 1 || !configs[0]?.body) {
      throw new Error('functionApp.bicep should declare one authsettingsV2 config');
    }
    settings = configs[0].body;
    const paths = at('properties', 'globalValidation', 'excludedPaths');
    const array =
      paths?.type === 'identifier'
        ? functionApp.rootNode.namedChildren
            .find(
              (child) => child.type === 'variable_declaration' && child.namedChildren[0]?.text === paths.text,
            )
            ?.namedChildren.filter((child) => child.type !== 'comment')
            .at(-1)
        : paths;
    excluded = (array?.type === 'array' ? array.namedChildren : []).flatMap((element) => {
      const value = element.type === 'string' ? literalValue(element) : undefined;
      return value === undefined ? [] : [value];
    });
    triggers = scanTriggers();
  });

  it('is off unless enableAppServiceAuth, which main.bicep passes on and leaves false by default', () => {
    const declaration = functionApp.rootNode
      .descendantsOfType('resource_declaration')
      .find((node) => node.text.includes("name: 'authsettingsV2'"));
    expect(declaration?.text).toMatch(/= if \(enableAppServiceAuth\) \{/);
    expect(paramDefault(functionApp, 'enableAppServiceAuth')).toBe('false');
    expect(paramDefault(main, 'enableAppServiceAuth')).toBe('false');
    const module = main.rootNode
      .descendantsOfType('module_declaration')
      .find((node) => node.text.includes("'modules/functionApp.bicep'"));
    for (const param of ['enableAppServiceAuth', 'authClientId', 'authTenantId']) {
      expect(module && propertyAt(module.namedChildren.at(-1)!, ['params', param])?.text).toBe(param);
    }
    expect(paramDefault(main, 'authTenantId')).toBe('tenant().tenantId');
  });

  it('sends a browser without a session to the Entra ID sign-in of the given app registration and tenant', () => {
    expect(at('properties', 'platform', 'enabled')?.text).toBe('true');
    expect(at('properties', 'globalValidation', 'requireAuthentication')?.text).toBe('true');
    expect(literalValue(at('properties', 'globalValidation', 'unauthenticatedClientAction')!)).toBe(
      'RedirectToLoginPage',
    );
    const entra = at('properties', 'identityProviders', 'azureActiveDirectory');
    expect(entra && propertyAt(entra, ['enabled'])?.text).toBe('true');
    expect(entra && propertyAt(entra, ['registration', 'clientId'])?.text).toBe('authClientId');
    const issuer = entra && propertyAt(entra, ['registration', 'openIdIssuer']);
    expect(issuer && stringTemplate(issuer)).toBe(`https://login.microsoftonline.com/${INTERPOLATION}/v2.0`);
    expect(issuer?.text).toContain('${authTenantId}');
    expect(at('properties', 'login', 'tokenStore', 'enabled')?.text).toBe('true');
  });

  it('finds the HTTP routes of functions/triggers (guards against an empty scan)', () => {
    expect(triggers.routes).toContainEqual(
      expect.objectContaining({ name: 'healthLiveness', route: 'health', authLevel: 'anonymous' }),
    );
    expect(triggers.routes.filter((r) => r.authLevel === 'function').length).toBeGreaterThan(10);
  });

  it('lets every anonymous route through without a sign-in, except the console it exists for', () => {
    const blocked = triggers.routes
      .filter((r) => r.authLevel === 'anonymous')
      .flatMap((r) => {
        if (r.route === undefined) return [`${r.place} ${r.name}: route is not a literal string`];
        if (r.route in BEHIND_SIGN_IN) return [];
        return lets(excluded, requestPath(r.route))
          ? []
          : [`${r.place} ${r.name}: ${requestPath(r.route)} is not in excludedPaths`];
      });
    expect(blocked).toEqual([]);
    expect(lets(excluded, '/api/health')).toBe(true);
    expect(lets(excluded, '/api/health/details')).toBe(false);
  });

  it('keeps the console behind the sign-in, and each BEHIND_SIGN_IN entry an anonymous route', () => {
    for (const route of Object.keys(BEHIND_SIGN_IN)) {
      expect(lets(excluded, requestPath(route)), route).toBe(false);
      expect(triggers.routes).toContainEqual(expect.objectContaining({ route, authLevel: 'anonymous' }));
    }
  });

  it("lets the voice agent's calls through (it has a function key, no user)", () => {
    const paths = agentPaths();
    expect(paths).toEqual(expect.arrayContaining(['/api/calls/token', '/api/calls/x/tools/x']));
    expect(paths.filter((p) => !lets(excluded, p))).toEqual([]);
  });

  it('lets Event Grid deliveries and the Durable HTTP API the ops routes call through (they carry a system key)', () => {
    expect(triggers.eventGrid && triggers.eventGridBlobs).toBe(true);
    expect(lets(excluded, '/runtime/webhooks/eventgrid')).toBe(true);
    expect(lets(excluded, '/runtime/webhooks/blobs')).toBe(true);
    expect(lets(excluded, '/runtime/webhooks/durabletask/instances')).toBe(true);
    expect(lets(excluded, '/runtime/webhooks/durabletask/instances/run-1')).toBe(true);
  });
});
