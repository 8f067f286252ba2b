import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tree } from 'web-tree-sitter';
import { CONTAINERS, QUEUES, TABLES } from '../../functions/platform/storageNames';
import {
  REPO_ROOT,
  listBicepFiles,
  literalValue,
  parseBicep,
  propertyAt,
  resourceDeclarations,
  resourceNames,
  stringTemplate,
} from '../support/bicepParser';

const CONTAINER_TYPE = 'Microsoft.Storage/storageAccounts/blobServices/containers@';
const QUEUE_TYPE = 'Microsoft.Storage/storageAccounts/queueServices/queues@';
const TABLE_TYPE = 'Microsoft.Storage/storageAccounts/tableServices/tables@';
const SYSTEM_TOPIC_TYPE = 'Microsoft.EventGrid/systemTopics@';
const EVENT_SUBSCRIPTION_TYPE = 'Microsoft.EventGrid/systemTopics/eventSubscriptions@';
const TRIGGERS_DIR = path.join(REPO_ROOT, 'functions', 'triggers');

/** The subject prefix of the blobs of a container, as Event Grid filters storage events. */
const containerSubject = (container: string): string => `/blobServices/default/containers/${container}/`;

/** The blob extension webhook of a function app, as the EventGrid-sourced blob trigger expects its events. */
const BLOB_WEBHOOK = /\/runtime\/webhooks\/blobs\?functionName=Host\.Functions\.([A-Za-z0-9_-]+)&code=/;

interface BicepFile {
  /** Path from the repository root, with forward slashes. */
  name: string;
  tree: Tree;
}

interface EventSubscription {
  place: string;
  subjectBeginsWith: string | undefined;
  eventTypes: string[];
  /** The function of the blob extension webhook it delivers to. */
  functionName: string | undefined;
  eventDeliverySchema: string | undefined;
  hasRetryPolicy: boolean;
  /** The topicType of the system topic it belongs to (its `parent`, declared in the same file). */
  topicType: string | undefined;
}

function eventSubscriptions(file: BicepFile): EventSubscription[] {
  const resources = resourceDeclarations(file.tree);
  const literal = (node: ReturnType<typeof propertyAt>) => (node ? literalValue(node) : undefined);
  return resources
    .filter((resource) => resource.type.startsWith(EVENT_SUBSCRIPTION_TYPE) && !resource.existing)
    .map(({ body, line, column }) => {
      const at = (...keys: string[]) => (body ? propertyAt(body, keys) : undefined);
      const endpoint = at('properties', 'destination', 'properties', 'endpointUrl');
      const eventTypes = at('properties', 'filter', 'includedEventTypes');
      const parent = at('parent');
      const topic = resources.find((r) => r.symbol === parent?.text && r.type.startsWith(SYSTEM_TOPIC_TYPE));
      return {
        place: `${file.name}:${line}:${column}`,
        subjectBeginsWith: literal(at('properties', 'filter', 'subjectBeginsWith')),
        eventTypes:
          eventTypes?.type === 'array'
            ? eventTypes.namedChildren.flatMap((type) => literalValue(type) ?? [])
            : [],
        functionName: BLOB_WEBHOOK.exec((endpoint && stringTemplate(endpoint)) ?? '')?.[1],
        eventDeliverySchema: literal(at('properties', 'eventDeliverySchema')),
        hasRetryPolicy: at('properties', 'retryPolicy')?.type === 'object',
        topicType: literal(topic?.body && propertyAt(topic.body, ['properties', 'topicType'])),
      };
    });
}

interface EventGridBlobTrigger {
  /** `file:line:column` of the registration. */
  place: string;
  /** The function name: the webhook's `functionName=Host.Functions.<name>`. */
  name: string;
  /** The watched container, or undefined when its path is not `${CONTAINERS.<key>}/...` or a literal. */
  container: string | undefined;
}

/** The container a blob trigger path names: `${CONTAINERS.<key>}/...` or a literal `<container>/...`. */
function pathContainer(expression: ts.Expression | undefined): string | undefined {
  if (!expression) return undefined;
  if (ts.isStringLiteralLike(expression)) return expression.text.split('/')[0];
  if (!ts.isTemplateExpression(expression) || expression.head.text !== '') return undefined;
  const [first] = expression.templateSpans;
  if (!first?.literal.text.startsWith('/') || !ts.isPropertyAccessExpression(first.expression))
    return undefined;
  const { expression: object, name } = first.expression;
  if (!ts.isIdentifier(object) || object.text !== 'CONTAINERS' || !Object.hasOwn(CONTAINERS, name.text)) {
    return undefined;
  }
  return CONTAINERS[name.text as keyof typeof CONTAINERS];
}

/**
 * The blob triggers registered in functions/triggers with `app.storageBlob('<name>', { source: 'EventGrid', ... })`,
 * read from the TypeScript syntax tree (importing the modules would start the app's runtime).
 */
function eventGridBlobTriggers(): EventGridBlobTrigger[] {
  const triggers: EventGridBlobTrigger[] = [];
  const fileNames = readdirSync(TRIGGERS_DIR).filter((name) => name.endsWith('.ts'));
  for (const fileName of fileNames.sort()) {
    const file = path.join(TRIGGERS_DIR, fileName);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        node.expression.name.text === 'storageBlob'
      ) {
        const [name, options] = node.arguments;
        if (name && ts.isStringLiteralLike(name) && options && ts.isObjectLiteralExpression(options)) {
          const property = (key: string) =>
            options.properties.find(
              (p): p is ts.PropertyAssignment =>
                ts.isPropertyAssignment(p) &&
                (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) &&
                p.name.text === key,
            )?.initializer;
          const sourceKind = property('source');
          if (sourceKind && ts.isStringLiteralLike(sourceKind) && sourceKind.text === 'EventGrid') {
            const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
            triggers.push({
              place: `functions/triggers/${fileName}:${line + 1}:${character + 1}`,
              name: name.text,
              container: pathContainer(property('path')),
            });
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return triggers;
}

describe('storage drift: storageNames.ts, functions/triggers, infra/bicep', () => {
  let files: BicepFile[];
  let subscriptions: EventSubscription[];
  /** The names the Bicep files create resources of a type with. */
  const created = (typePrefix: string): Set<string> =>
    new Set(files.flatMap((file) => resourceNames(file.tree, typePrefix)).map((n) => n.value));
  beforeAll(async () => {
    files = await Promise.all(
      listBicepFiles().map(async (file) => ({
        name: path.relative(REPO_ROOT, file).split(path.sep).join('/'),
        tree: await parseBicep(readFileSync(file, 'utf8')),
      })),
    );
    subscriptions = files.flatMap(eventSubscriptions);
  });

  it.each([
    ['CONTAINERS', 'blob container', CONTAINERS, CONTAINER_TYPE],
    ['QUEUES', 'queue', QUEUES, QUEUE_TYPE],
    ['TABLES', 'table', TABLES, TABLE_TYPE],
  ] as const)('creates every name in %s as a %s resource', (list, kind, names, typePrefix) => {
    const deployed = created(typePrefix);
    const missing = Object.entries(names)
      .filter(([, name]) => !deployed.has(name))
      .map(([key, name]) => `${list}.${key} (${name})`);
    expect(missing, `${kind}s missing from the Bicep: ${missing.join(', ')}`).toEqual([]);
  });

  /** The inbox containers whose drops start a batch, each with the blob trigger of the same name. */
  const INBOXES = ['dossiersInbox', 'documentsInbox'] as const;

  it.each(INBOXES)(
    'delivers BlobCreated events of CONTAINERS.%s through an Event Grid subscription to the blob extension webhook',
    (inbox) => {
      const served = subscriptions.filter((s) =>
        s.subjectBeginsWith?.startsWith(containerSubject(CONTAINERS[inbox])),
      );
      expect(served.map((s) => s.place)).toHaveLength(1);
      expect(served[0]?.eventTypes).toContain('Microsoft.Storage.BlobCreated');
      expect(served[0]).toMatchObject({
        functionName: inbox,
        eventDeliverySchema: 'EventGridSchema',
        hasRetryPolicy: true,
        topicType: 'Microsoft.Storage.StorageAccounts',
      });
    },
  );

  it('finds the EventGrid-sourced blob triggers of functions/triggers (guards against an empty scan)', () => {
    const triggers = eventGridBlobTriggers();
    for (const inbox of INBOXES) {
      expect(triggers).toContainEqual(expect.objectContaining({ name: inbox, container: CONTAINERS[inbox] }));
    }
  });

  it('subscribes every EventGrid-sourced blob trigger to the BlobCreated events of its container', () => {
    const unserved = eventGridBlobTriggers().flatMap((trigger) => {
      if (trigger.container === undefined) {
        return [
          `${trigger.place} ${trigger.name}: path does not start with \${CONTAINERS.<key>}/ or a literal`,
        ];
      }
      const served = subscriptions.some(
        (s) =>
          s.functionName === trigger.name &&
          s.eventTypes.includes('Microsoft.Storage.BlobCreated') &&
          s.subjectBeginsWith?.startsWith(containerSubject(trigger.container ?? '')),
      );
      return served
        ? []
        : [`${trigger.place} ${trigger.name}: no Event Grid subscription for ${trigger.container}`];
    });
    expect(unserved).toEqual([]);
  });

  it('reads container names from the parse tree: literals and loops over literal arrays, no comments', async () => {
    const source = [
      "var names = [\n  'from-variable'\n  // 'commented-out'\n]",
      "resource a 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {\n  name: 'literal'\n}",
      "resource b 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for n in names: {\n  name: n\n}]",
      "resource c 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for (n, i) in ['inline']: if (i >= 0) {\n  name: n\n}]",
      "resource d 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = if (true) {\n  name: 'conditional'\n}",
      "resource e 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {\n  name: 'prefix-${suffix}'\n}",
      "resource f 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {\n  name: 'existing'\n}",
      "resource g 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {\n  name: 'a-queue'\n}",
      "// resource h 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = { name: 'commented' }",
      '',
    ].join('\n');
    const names = resourceNames(await parseBicep(source), CONTAINER_TYPE).map((n) => n.value);
    expect(names).toEqual(['literal', 'from-variable', 'inline', 'conditional']);
  });

  it('reads an event subscription: filter, webhook function and parent topic, through a condition', async () => {
    const source = [
      "resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {",
      "  name: 't'",
      "  properties: { topicType: 'Microsoft.Storage.StorageAccounts' }",
      '}',
      "resource sub 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (deploy) {",
      '  parent: topic',
      "  name: 's'",
      '  properties: {',
      "    destination: { endpointType: 'WebHook', properties: { endpointUrl: 'https://${host}/runtime/webhooks/blobs?functionName=Host.Functions.myTrigger&code=${key}' } }",
      "    filter: { includedEventTypes: ['Microsoft.Storage.BlobCreated'], subjectBeginsWith: '/blobServices/default/containers/box/' }",
      "    eventDeliverySchema: 'EventGridSchema'",
      '    retryPolicy: { maxDeliveryAttempts: 3 }',
      '  }',
      '}',
      '',
    ].join('\n');
    const [sub] = eventSubscriptions({ name: 'x.bicep', tree: await parseBicep(source) });
    expect(sub).toEqual({
      place: 'x.bicep:5:1',
      subjectBeginsWith: '/blobServices/default/containers/box/',
      eventTypes: ['Microsoft.Storage.BlobCreated'],
      functionName: 'myTrigger',
      eventDeliverySchema: 'EventGridSchema',
      hasRetryPolicy: true,
      topicType: 'Microsoft.Storage.StorageAccounts',
    });
  });
});
