import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Language, Parser, type Node, type Tree } from 'web-tree-sitter';

/**
 * Bicep parsing for the infra tests: the tree-sitter-bicep grammar (WebAssembly) loaded with web-tree-sitter.
 * No Bicep CLI is needed; the grammar checks syntax, and the parse tree lets tests read string literals
 * without matching raw text (so comments never count).
 */

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const BICEP_ROOT = path.join(REPO_ROOT, 'infra', 'bicep');

const GRAMMAR_WASM = path.join(
  path.dirname(createRequire(__filename).resolve('tree-sitter-bicep/package.json')),
  'tree-sitter-bicep.wasm',
);

let parserReady: Promise<Parser> | undefined;

/** One parser per test file (worker), created on first use. */
export function bicepParser(): Promise<Parser> {
  parserReady ??= (async () => {
    await Parser.init();
    const language = await Language.load(GRAMMAR_WASM);
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
  })();
  return parserReady;
}

export async function parseBicep(source: string): Promise<Tree> {
  const tree = (await bicepParser()).parse(source);
  if (!tree) throw new Error('tree-sitter returned no tree for the Bicep source');
  return tree;
}

/** Every `.bicep` file under `root`, recursively, as absolute paths in a stable order. */
export function listBicepFiles(root: string = BICEP_ROOT, extension = '.bicep'): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && entry.name.endsWith(extension)) files.push(full);
    }
  };
  walk(root);
  return files.sort();
}

export interface SyntaxProblem {
  kind: 'ERROR' | 'MISSING';
  /** One-based line. */
  line: number;
  /** One-based column. */
  column: number;
  /** The missing token, or the start of the text tree-sitter could not parse. */
  detail: string;
}

/** The ERROR and MISSING nodes of a tree, in document order. */
export function syntaxProblems(tree: Tree): SyntaxProblem[] {
  const problems: SyntaxProblem[] = [];
  const visit = (node: Node): void => {
    const at = { line: node.startPosition.row + 1, column: node.startPosition.column + 1 };
    if (node.isMissing) {
      problems.push({ kind: 'MISSING', ...at, detail: `missing ${JSON.stringify(node.type)}` });
    } else if (node.isError) {
      const text = node.text.replace(/\s+/g, ' ').trim();
      problems.push({
        kind: 'ERROR',
        ...at,
        detail: `cannot parse ${JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text)}`,
      });
    }
    if (node.hasError) for (const child of node.children) visit(child);
  };
  visit(tree.rootNode);
  return problems;
}

export function formatProblem(file: string, problem: SyntaxProblem): string {
  return `${file}:${problem.line}:${problem.column} ${problem.kind} ${problem.detail}`;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  r: '\r',
  t: '\t',
  '\\': '\\',
  "'": "'",
  $: '$',
};

/**
 * The value of a `string` node, escapes decoded, or undefined when the node is not a string
 * or interpolates an expression (its value is only known at deployment).
 */
export function literalValue(node: Node): string | undefined {
  if (node.type !== 'string') return undefined;
  const raw = node.text;
  if (raw.startsWith("'''")) return raw.slice(3, -3); // multi-line strings have no escapes or interpolation
  if (node.namedChildren.some((child) => child.type === 'interpolation')) return undefined;
  return decodeEscapes(raw.slice(1, -1));
}

function decodeEscapes(text: string): string {
  return text.replace(/\\(u\{[0-9A-Fa-f]+\}|.)/g, (escape, code: string) =>
    code.startsWith('u{')
      ? String.fromCodePoint(parseInt(code.slice(2, -1), 16))
      : (SIMPLE_ESCAPES[code] ?? escape),
  );
}

/** Stands for each interpolated expression in {@link stringTemplate}; no Bicep source text contains it. */
export const INTERPOLATION = '\u0000';

/**
 * The text of a `string` node with escapes decoded and each interpolation replaced by {@link INTERPOLATION},
 * or undefined when the node is not a string. Shows which parts of an interpolated string are fixed.
 */
export function stringTemplate(node: Node): string | undefined {
  if (node.type !== 'string') return undefined;
  if (node.text.startsWith("'''")) return node.text.slice(3, -3);
  return node.namedChildren
    .map((part) => {
      if (part.type === 'interpolation') return INTERPOLATION;
      if (part.type === 'escape_sequence') return decodeEscapes(part.text);
      return part.text;
    })
    .join('');
}

export interface Located {
  value: string;
  line: number;
  column: number;
}

function located(node: Node, value: string): Located {
  return { value, line: node.startPosition.row + 1, column: node.startPosition.column + 1 };
}

/** The properties of an object node by key (identifier or literal string key). */
function objectProperties(object: Node): Map<string, Node> {
  const properties = new Map<string, Node>();
  for (const property of object.namedChildren) {
    if (property.type !== 'object_property') continue;
    const parts = property.namedChildren;
    const key = parts[0];
    const value = parts[parts.length - 1];
    if (!key || !value || parts.length < 2) continue;
    const name = key.type === 'string' ? literalValue(key) : key.text;
    if (name !== undefined) properties.set(name, value);
  }
  return properties;
}

/** The value node at a path of property keys below an object node, e.g. `['properties', 'DisableLocalAuth']`. */
export function propertyAt(object: Node, keys: readonly string[]): Node | undefined {
  let node: Node | undefined = object;
  for (const key of keys) {
    if (node?.type !== 'object') return undefined;
    node = objectProperties(node).get(key);
  }
  return node;
}

export interface AppSetting {
  /** The setting's name, where it is written. */
  name: Located;
  /** The expression given as its value. */
  value: Node;
}

/**
 * The app settings a Bicep file declares: every object literal of the shape `{ name: '<literal>', value: ... }`
 * (the `siteConfig.appSettings` entry shape), wherever it sits (inline in `appSettings`, or in a variable
 * concatenated into it). Names built by interpolation are skipped.
 */
export function appSettings(tree: Tree): AppSetting[] {
  const found: AppSetting[] = [];
  for (const object of tree.rootNode.descendantsOfType('object')) {
    const properties = objectProperties(object);
    const nameNode = properties.get('name');
    const value = properties.get('value');
    if (!nameNode || !value) continue;
    const name = literalValue(nameNode);
    if (name !== undefined) found.push({ name: located(nameNode, name), value });
  }
  return found;
}

/** The names of the app settings a Bicep file declares (see {@link appSettings}). */
export function appSettingNames(tree: Tree): Located[] {
  return appSettings(tree).map((setting) => setting.name);
}

const COMMENT_TYPES = new Set(['comment', 'diagnostic_comment']);

/** A Key Vault reference: `@Microsoft.KeyVault(SecretUri=...)` or `@Microsoft.KeyVault(VaultName=...;SecretName=...)`. */
const KEY_VAULT_REFERENCE = /^@Microsoft\.KeyVault\((SecretUri|VaultName)=[^)]*\)$/;

/**
 * Why an app setting value might put a secret in clear, or undefined when it cannot: the value is an empty
 * string, a Key Vault reference (a string, interpolated or not, that starts with `@Microsoft.KeyVault(VaultName=`
 * or `@Microsoft.KeyVault(SecretUri=` and ends with its only `)`), or a conditional or parenthesised expression whose
 * every outcome is one of those. Anything else (a parameter, a variable, a function call, another string) is
 * reported: its value cannot be told from the source, so a secret value must be written inline in one of
 * those forms.
 */
export function secretValueProblem(value: Node): string | undefined {
  const operands = value.namedChildren.filter((child) => !COMMENT_TYPES.has(child.type));
  switch (value.type) {
    case 'parenthesized_expression': {
      const inner = operands[0];
      return inner ? secretValueProblem(inner) : 'an empty expression';
    }
    case 'ternary_expression': {
      const [, whenTrue, whenFalse] = operands;
      if (!whenTrue || !whenFalse) return 'an incomplete conditional expression';
      return secretValueProblem(whenTrue) ?? secretValueProblem(whenFalse);
    }
    case 'string': {
      const template = stringTemplate(value) ?? '';
      if (template === '' || KEY_VAULT_REFERENCE.test(template)) return undefined;
      return template.includes(INTERPOLATION)
        ? 'an interpolated string that is not a Key Vault reference'
        : 'a literal string that is neither empty nor a Key Vault reference';
    }
    default:
      // The value's text is left out of the message: it could hold the secret.
      return `a ${value.type.replace(/_/g, ' ')}, not an empty string or an inline Key Vault reference`;
  }
}

export interface ParameterDeclaration {
  name: string;
  hasDefault: boolean;
  /** Declared with a nullable type (`int?`): optional, null when not given. */
  nullable: boolean;
}

/** The `param` declarations of a Bicep file. */
export function parameterDeclarations(tree: Tree): ParameterDeclaration[] {
  return tree.rootNode.descendantsOfType('parameter_declaration').flatMap((node) => {
    const identifier = node.namedChildren.find((child) => child.type === 'identifier');
    if (!identifier) return [];
    const type = node.namedChildren.find((child) => child.type === 'type');
    return [
      {
        name: identifier.text,
        hasDefault: node.children.some((child) => child.type === '='),
        nullable: type?.namedChildren[0]?.type === 'nullable_type',
      },
    ];
  });
}

export interface ResourceDeclaration {
  /** The resource's symbolic name. */
  symbol: string;
  /** Its type as written, `Namespace/type@version` (a child declared inside its parent has the short form). */
  type: string;
  /** One-based line and column of the declaration. */
  line: number;
  column: number;
  /** Declared with `existing`: a reference to a resource deployed elsewhere. */
  existing: boolean;
  /** The body object, inside any `if (...)` condition or `[for ...]` loop. */
  body: Node | undefined;
  /** For a `[for item in items: ...]` loop: the item variable and the iterated expression. */
  loop: { item: string; iterable: Node } | undefined;
}

const withoutComments = (nodes: Node[]): Node[] => nodes.filter((node) => !COMMENT_TYPES.has(node.type));

/** The `resource` declarations of a Bicep file (declarations whose type is not a literal string are skipped). */
export function resourceDeclarations(tree: Tree): ResourceDeclaration[] {
  return tree.rootNode.descendantsOfType('resource_declaration').flatMap((node) => {
    const symbol = node.namedChildren.find((child) => child.type === 'identifier');
    const typeNode = node.namedChildren.find((child) => child.type === 'string');
    const type = typeNode && literalValue(typeNode);
    if (!symbol || type === undefined) return [];
    let value = withoutComments(node.namedChildren).at(-1);
    let loop: ResourceDeclaration['loop'];
    if (value?.type === 'for_statement') {
      // [for <item> in <iterable>: <body>] or [for (<item>, <index>) in <iterable>: <body>]
      const [initializer, iterable, body] = withoutComments(value.namedChildren);
      const item =
        initializer?.type === 'identifier' ? initializer : initializer?.descendantsOfType('loop_variable')[0];
      loop = item && iterable && body ? { item: item.text, iterable } : undefined;
      value = body;
    }
    if (value?.type === 'if_statement') value = withoutComments(value.namedChildren).at(-1);
    return [
      {
        symbol: symbol.text,
        type,
        line: node.startPosition.row + 1,
        column: node.startPosition.column + 1,
        existing: node.children.some((child) => child.type === 'existing'),
        body: value?.type === 'object' ? value : undefined,
        loop,
      },
    ];
  });
}

/** The value of a top-level `var` of a Bicep file, or undefined when it has none of that name. */
function variableValue(tree: Tree, name: string): Node | undefined {
  for (const node of tree.rootNode.namedChildren) {
    if (node.type !== 'variable_declaration') continue;
    const [identifier, ...rest] = withoutComments(node.namedChildren);
    if (identifier?.type === 'identifier' && identifier.text === name) return rest.at(-1);
  }
  return undefined;
}

/** The literal strings of an array literal, or of the array literal a variable of the file holds. */
function literalArray(tree: Tree, node: Node): Located[] {
  const array = node.type === 'identifier' ? variableValue(tree, node.text) : node;
  if (array?.type !== 'array') return [];
  return withoutComments(array.namedChildren).flatMap((element) => {
    const value = literalValue(element);
    return value === undefined ? [] : [located(element, value)];
  });
}

/**
 * The names of the resources (not `existing` references) whose type starts with `typePrefix`: a literal `name`,
 * or, for a loop whose `name` is the loop item, each literal string of the array it iterates (an array literal
 * or a variable of the same file holding one). Names known only at deployment are skipped.
 */
export function resourceNames(tree: Tree, typePrefix: string): Located[] {
  return resourceDeclarations(tree)
    .filter((resource) => resource.type.startsWith(typePrefix) && !resource.existing)
    .flatMap(({ body, loop }) => {
      const name = body && propertyAt(body, ['name']);
      if (!name) return [];
      const value = literalValue(name);
      if (value !== undefined) return [located(name, value)];
      if (loop && name.type === 'identifier' && name.text === loop.item)
        return literalArray(tree, loop.iterable);
      return [];
    });
}

/** The source paths of the `module` declarations of a Bicep file (local paths and registry references). */
export function modulePaths(tree: Tree): Located[] {
  return tree.rootNode.descendantsOfType('module_declaration').flatMap((node) => {
    const source = node.namedChildren.find((child) => child.type === 'string');
    const value = source ? literalValue(source) : undefined;
    return source && value !== undefined ? [located(source, value)] : [];
  });
}
