import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { globSync } from 'tinyglobby';
import { createStorageClients, type StorageClients } from '../functions/platform/storage';
import { DurableClientApi } from './durable/clientApi';
import {
  DurableEngine,
  type OrchestrationTriggerPayload,
  type OrchestratorOutcome,
  type OrchestratorState,
} from './durable/engine';
import { AzureInstanceStore } from './durable/store';
import {
  captureRegistrations,
  type BindingMetadata,
  type RegisteredFunction,
  type Registrations,
  type RpcHttpData,
  type RpcTypedData,
} from './functionsCore';
import {
  fromTypedData,
  invokeFunction,
  jsonData,
  triggerBinding,
  type InvocationInput,
  type InvocationResult,
  type LogRecord,
} from './invoke';
import { resolveBindingExpression, matchPathPattern, matchRoute } from './bindingExpressions';

export interface HostJson {
  extensions?: {
    durableTask?: {
      hubName?: string;
      maxConcurrentActivityFunctions?: number;
      maxConcurrentOrchestratorFunctions?: number;
    };
    http?: { routePrefix?: string };
  };
}

export interface LocalHostOptions {
  /** Loads the app: `{ appRoot }` requires package.json's `main` glob there, as the host does. */
  app: { appRoot: string } | { register: () => void };
  /** App settings; AzureWebJobsStorage must point at a running Azurite. */
  settings: Record<string, string>;
  hostJson?: HostJson;
  /** The key that function-level routes accept (`code` query or `x-functions-key` header). */
  functionKey?: string;
  onLog?: (record: LogRecord) => void;
}

export interface HttpCall {
  method?: string;
  /** Path and query, e.g. `/api/health/details?code=…`. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  json<T = unknown>(): T;
}

const MAX_LOG_RECORDS = 5000;

/**
 * Runs a Function App on this machine as the Functions host would, against Azurite: it captures the
 * registrations, routes HTTP calls (with function-key auth), fires timer, blob and queue triggers,
 * applies output bindings, and runs Durable orchestrations with a real replay loop.
 */
export class LocalHost {
  readonly logs: LogRecord[] = [];
  readonly functionKey: string;
  readonly engine: DurableEngine;
  readonly storage: StorageClients;
  private readonly clientApi: DurableClientApi;
  private readonly instanceStore: AzureInstanceStore;
  private readonly routePrefix: string;

  private constructor(
    readonly registrations: Registrations,
    private readonly options: LocalHostOptions,
    readonly hubName: string,
  ) {
    const durable = options.hostJson?.extensions?.durableTask ?? {};
    this.functionKey = options.functionKey ?? randomUUID();
    this.routePrefix = options.hostJson?.extensions?.http?.routePrefix ?? 'api';
    this.storage = createStorageClients({
      kind: 'connectionString',
      connectionString: requireSetting(options.settings, 'AzureWebJobsStorage'),
    });
    this.instanceStore = new AzureInstanceStore(this.storage, hubName, (error) => {
      this.log(
        'durable',
        'error',
        `Saving orchestration state failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
    this.engine = new DurableEngine({
      runner: {
        isOrchestrator: (name) => this.triggerType(name) === 'orchestrationTrigger',
        isActivity: (name) => this.triggerType(name) === 'activityTrigger',
        runOrchestrator: (name, payload) => this.runOrchestrator(name, payload),
        runActivity: async (name, input) =>
          fromTypedData((await this.invoke(name, { trigger: jsonData(input) })).response.returnValue),
      },
      store: this.instanceStore,
      maxConcurrentActivities: durable.maxConcurrentActivityFunctions ?? 10,
      maxConcurrentOrchestrations: durable.maxConcurrentOrchestratorFunctions ?? 5,
    });
    this.clientApi = new DurableClientApi(this.engine, hubName);
  }

  static async start(options: LocalHostOptions): Promise<LocalHost> {
    const hubName = resolveSettingReference(
      options.hostJson?.extensions?.durableTask?.hubName ?? 'TestHubName',
      options.settings,
    );
    // The app reads its settings when it loads; they are its environment for that moment only, so
    // hosts started one after another in a process do not inherit each other's settings.
    const saved = { ...process.env };
    Object.assign(process.env, options.settings);
    let registrations: Registrations;
    try {
      registrations = captureRegistrations(() => {
        if ('register' in options.app) options.app.register();
        else loadAppFiles(options.app.appRoot);
      });
    } finally {
      for (const key of Object.keys(process.env))
        if (!(key in saved)) Reflect.deleteProperty(process.env, key);
      Object.assign(process.env, saved);
    }
    const host = new LocalHost(registrations, options, hubName);
    await host.clientApi.listen();
    return host;
  }

  /** The registrations as the host received them: name and bindings of every function. */
  functions(): RegisteredFunction['metadata'][] {
    return [...this.registrations.functions.values()].map((f) => f.metadata);
  }

  async stop(): Promise<void> {
    this.engine.stop();
    await this.instanceStore.flush();
    await this.clientApi.close();
  }

  async http(call: HttpCall): Promise<HttpResult> {
    const method = (call.method ?? 'GET').toUpperCase();
    const url = new URL(call.path, 'http://localhost:7071');
    const prefix = `/${this.routePrefix}/`;
    const routePath = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : undefined;
    for (const fn of this.registrations.functions.values()) {
      const [, trigger] = triggerBinding(fn);
      if (trigger.type !== 'httpTrigger' || routePath === undefined) continue;
      const methods = (trigger.methods as string[] | undefined) ?? ['GET', 'POST'];
      const params = matchRoute(text(trigger.route, fn.metadata.name), routePath);
      if (!params || !methods.map((m) => m.toUpperCase()).includes(method)) continue;
      const headers = Object.fromEntries(
        Object.entries(call.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
      );
      if (!this.authorized(text(trigger.authLevel, 'function'), url, headers)) {
        return result(401, {}, Buffer.alloc(0));
      }
      const body = call.body === undefined ? undefined : Buffer.from(call.body);
      const http: RpcHttpData = {
        method,
        url: url.toString(),
        headers,
        query: Object.fromEntries(url.searchParams),
        params,
        ...(body ? { body: { bytes: body } } : {}),
      };
      const bindingData: Record<string, unknown> = { ...Object.fromEntries(url.searchParams), ...params };
      const json = body ? tryParseJson(body.toString('utf8')) : undefined;
      if (json && typeof json === 'object') Object.assign(bindingData, json);
      const invocation = await this.invokeLogged(fn.metadata.name, { trigger: { http } }, bindingData);
      if (!invocation) return result(500, {}, Buffer.alloc(0));
      const out = invocation.response.returnValue;
      const response = out && 'http' in out ? out.http : undefined;
      if (!response) return result(204, {}, Buffer.alloc(0));
      const responseBody = fromTypedData(response.body);
      return result(
        Number(response.statusCode ?? 200),
        response.headers ?? {},
        Buffer.isBuffer(responseBody) ? responseBody : Buffer.from(text(responseBody, '')),
      );
    }
    return result(404, {}, Buffer.alloc(0));
  }

  /** Fires a timer trigger with the payload the host sends. */
  async timer(functionName: string, options: { isPastDue?: boolean } = {}): Promise<void> {
    const now = new Date().toISOString();
    await this.invoke(functionName, {
      trigger: jsonData({
        Schedule: { AdjustForDST: true },
        ScheduleStatus: { Last: now, Next: now, LastUpdated: now },
        IsPastDue: options.isPastDue ?? false,
      }),
    });
  }

  /**
   * Uploads a blob to Azurite and runs every blob trigger whose path pattern matches it, with the
   * content and the metadata the host provides (path parameters, uri, properties).
   */
  async dropBlob(
    blobPath: string,
    content: Buffer | string,
    metadata: Record<string, string> = {},
  ): Promise<string[]> {
    const [container = '', ...rest] = blobPath.split('/');
    const name = rest.join('/');
    const bytes = Buffer.from(content);
    const containerClient = this.storage.blobs.getContainerClient(container);
    await containerClient.createIfNotExists();
    const blob = containerClient.getBlockBlobClient(name);
    await blob.upload(bytes, bytes.length, { metadata });
    const properties = await blob.getProperties();
    const triggered: string[] = [];
    for (const fn of this.registrations.functions.values()) {
      const [, trigger] = triggerBinding(fn);
      if (trigger.type !== 'blobTrigger') continue;
      const params = matchPathPattern(this.resolve(String(trigger.path)), blobPath);
      if (!params) continue;
      const triggerMetadata: Record<string, RpcTypedData> = {
        BlobTrigger: { string: blobPath },
        Uri: { string: blob.url },
        Properties: {
          json: JSON.stringify({
            Length: bytes.length,
            ContentType: properties.contentType,
            ETag: properties.etag,
            LastModified: properties.lastModified,
          }),
        },
        Metadata: { json: JSON.stringify(metadata) },
      };
      for (const [key, value] of Object.entries(params)) triggerMetadata[key] = { string: value };
      await this.invoke(
        fn.metadata.name,
        { trigger: { bytes }, triggerMetadata },
        { ...params, blobTrigger: blobPath },
      );
      triggered.push(fn.metadata.name);
    }
    return triggered;
  }

  /**
   * Receives the visible messages of every queue-triggered function's queue and runs the function
   * for each: a success deletes the message, a failure leaves it for another try, and a message that
   * failed five times moves to `<queue>-poison`, as the host does. Returns how many ran.
   */
  async pollQueues(): Promise<number> {
    let handled = 0;
    for (const fn of this.registrations.functions.values()) {
      const [, trigger] = triggerBinding(fn);
      if (trigger.type !== 'queueTrigger') continue;
      const queueName = this.resolve(String(trigger.queueName));
      const queue = this.storage.queues.getQueueClient(queueName);
      await queue.createIfNotExists();
      const { receivedMessageItems } = await queue.receiveMessages({
        numberOfMessages: 16,
        visibilityTimeout: 30,
      });
      for (const message of receivedMessageItems) {
        const text = Buffer.from(message.messageText, 'base64').toString('utf8');
        const triggerMetadata: Record<string, RpcTypedData> = {
          Id: { string: message.messageId },
          DequeueCount: { int: message.dequeueCount },
          InsertionTime: { string: message.insertedOn.toISOString() },
          ExpirationTime: { string: message.expiresOn.toISOString() },
          NextVisibleTime: { string: message.nextVisibleOn.toISOString() },
          PopReceipt: { string: message.popReceipt },
        };
        const ok =
          (await this.invokeLogged(fn.metadata.name, { trigger: { string: text }, triggerMetadata })) !==
          undefined;
        handled++;
        if (ok) await queue.deleteMessage(message.messageId, message.popReceipt);
        else if (message.dequeueCount >= 5) {
          const poison = this.storage.queues.getQueueClient(`${queueName}-poison`);
          await poison.createIfNotExists();
          await poison.sendMessage(message.messageText);
          await queue.deleteMessage(message.messageId, message.popReceipt);
        } else await queue.updateMessage(message.messageId, message.popReceipt, undefined, 0);
      }
    }
    return handled;
  }

  /**
   * Runs one function: fills its durable client input, invokes it through the library's invocation
   * model, and writes its blob, queue and table outputs to Azurite.
   */
  async invoke(
    functionName: string,
    input: InvocationInput,
    bindingData: Record<string, unknown> = {},
  ): Promise<InvocationResult> {
    const fn = this.registrations.functions.get(functionName);
    if (!fn) throw new Error(`No function named "${functionName}" is registered.`);
    const extraInputs: Record<string, RpcTypedData> = { ...input.extraInputs };
    for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
      if (binding.direction !== 'in' || /trigger$/i.test(binding.type)) continue;
      if (binding.type === 'durableClient' || binding.type === 'orchestrationClient') {
        extraInputs[name] = { string: JSON.stringify(this.clientApi.clientInput(this.functionKey)) };
      } else {
        throw new Error(
          `The local host does not supply "${binding.type}" input bindings (function "${functionName}").`,
        );
      }
    }
    const invocation = await invokeFunction(this.registrations, fn, { ...input, extraInputs }, (record) =>
      this.record(record),
    );
    for (const output of invocation.response.outputData ?? []) {
      const binding = fn.metadata.bindings[output.name];
      if (binding) await this.applyOutput(binding, output.data, bindingData);
    }
    const returnBinding = fn.metadata.bindings.$return;
    if (returnBinding && returnBinding.type !== 'http') {
      await this.applyOutput(returnBinding, invocation.response.returnValue, bindingData);
    }
    return invocation;
  }

  /** Invokes a function for a trigger the host owns: a failure is logged, as the host does, not thrown. */
  private async invokeLogged(
    functionName: string,
    input: InvocationInput,
    bindingData: Record<string, unknown> = {},
  ): Promise<InvocationResult | undefined> {
    try {
      return await this.invoke(functionName, input, bindingData);
    } catch (error) {
      this.log(
        functionName,
        'error',
        `Function failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      return undefined;
    }
  }

  private async applyOutput(
    binding: BindingMetadata,
    data: RpcTypedData | null | undefined,
    bindingData: Record<string, unknown>,
  ): Promise<void> {
    const value = fromTypedData(data);
    if (value === undefined || value === null) return;
    const expand = (template: unknown) =>
      resolveBindingExpression(this.resolve(String(template)), bindingData);
    switch (binding.type) {
      case 'blob': {
        const [container = '', ...rest] = expand(binding.path).split('/');
        const client = this.storage.blobs.getContainerClient(container);
        await client.createIfNotExists();
        const bytes = Buffer.isBuffer(value)
          ? value
          : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
        await client.getBlockBlobClient(rest.join('/')).upload(bytes, bytes.length);
        return;
      }
      case 'queue': {
        const queue = this.storage.queues.getQueueClient(expand(binding.queueName));
        await queue.createIfNotExists();
        for (const item of Array.isArray(value) ? value : [value]) {
          const text = typeof item === 'string' ? item : JSON.stringify(item);
          await queue.sendMessage(Buffer.from(text).toString('base64'));
        }
        return;
      }
      case 'table': {
        const table = this.storage.table(expand(binding.tableName));
        await table.createTable();
        for (const item of (Array.isArray(value) ? value : [value]) as Record<string, unknown>[]) {
          const { PartitionKey, RowKey, ...rest } = item;
          await table.upsertEntity(
            { partitionKey: String(PartitionKey), rowKey: String(RowKey), ...rest },
            'Replace',
          );
        }
        return;
      }
      default:
        throw new Error(`The local host does not apply "${binding.type}" output bindings.`);
    }
  }

  private async runOrchestrator(
    name: string,
    payload: OrchestrationTriggerPayload,
  ): Promise<OrchestratorOutcome> {
    try {
      const invocation = await this.invoke(name, { trigger: { string: JSON.stringify(payload) } });
      return { ok: true, state: fromTypedData(invocation.response.returnValue) as OrchestratorState };
    } catch (error) {
      return { ok: false, message: `Orchestrator function '${name}' failed: ${orchestratorError(error)}` };
    }
  }

  private authorized(authLevel: string, url: URL, headers: Record<string, string>): boolean {
    if (authLevel === 'anonymous') return true;
    const key = url.searchParams.get('code') ?? headers['x-functions-key'];
    return key === this.functionKey;
  }

  private triggerType(name: string): string | undefined {
    const fn = this.registrations.functions.get(name);
    return fn ? triggerBinding(fn)[1].type : undefined;
  }

  /** `%NAME%` in a binding property reads the app setting NAME, as in function.json. */
  private resolve(value: string): string {
    return resolveSettingReference(value, this.options.settings);
  }

  private log(functionName: string, level: LogRecord['level'], message: string): void {
    this.record({ functionName, invocationId: '', level, category: 'system', message });
  }

  private record(entry: LogRecord): void {
    if (this.logs.length >= MAX_LOG_RECORDS) this.logs.shift();
    this.logs.push(entry);
    this.options.onLog?.(entry);
  }
}

export function readHostJson(appRoot: string): HostJson {
  return JSON.parse(readFileSync(path.join(appRoot, 'host.json'), 'utf8')) as HostJson;
}

/** Requires the files package.json's `main` glob names, as the Node.js worker does. */
function loadAppFiles(appRoot: string): void {
  const pkg = JSON.parse(readFileSync(path.join(appRoot, 'package.json'), 'utf8')) as { main?: string };
  if (!pkg.main) throw new Error(`${appRoot}/package.json has no "main" entry.`);
  const files = globSync(pkg.main, { cwd: appRoot, absolute: true }).sort();
  if (files.length === 0)
    throw new Error(`No file matches "main": "${pkg.main}" in ${appRoot} (run npm run build).`);
  // A fresh load each time, so every host in a process sees the app's registrations.
  const distDir = path.join(appRoot, 'dist');
  for (const cached of Object.keys(require.cache)) {
    if (cached.startsWith(distDir)) delete require.cache[cached];
  }
  const loadModule = createRequire(path.join(appRoot, 'package.json'));
  for (const file of files) loadModule(file);
}

function resolveSettingReference(value: string, settings: Record<string, string>): string {
  return value.replace(/%([A-Za-z0-9_]+)%/g, (_, name: string) => requireSetting(settings, name));
}

function requireSetting(settings: Record<string, string>, name: string): string {
  const value = settings[name];
  if (value === undefined) throw new Error(`The app setting ${name} is not set.`);
  return value;
}

/** durable-functions puts the orchestrator state, with the user's error, after this label. */
function orchestratorError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const [, stateJson] = text.split('\n\n$OutOfProcData$:');
  const state = stateJson ? (tryParseJson(stateJson) as { error?: string } | undefined) : undefined;
  return state?.error ?? text;
}

/** A binding property or body that should be text; anything else falls back. */
function text(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function result(status: number, headers: Record<string, string>, body: Buffer): HttpResult {
  return {
    status,
    headers,
    body,
    json: <T>() => JSON.parse(body.toString('utf8')) as T,
  };
}
