import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { globSync } from 'tinyglobby';
import { z } from 'zod';
import { createStorageClients, type StorageClients } from '../functions/platform/storage';
import { BLOB_POISON_QUEUE, BlobTriggerRunner, HOSTS_CONTAINER, type FoundBlob } from './blobTriggers';
import { systemClock, type Clock } from './clock';
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
import { matchRoute, resolveBindingExpression } from './bindingExpressions';
import { readEventGridDelivery, type EventGridEvent } from './eventGrid';
import { hostJsonSchema, queuesOptions, type HostJson } from './hostConfig';
import { QueueTriggerRunner, type ReceivedMessage } from './queueTriggers';
import { CronSchedule, defaultUseMonitor, ScheduleStatusStore, TimerScheduler } from './timers';

export type { HostJson } from './hostConfig';

export interface LocalHostOptions {
  /** Loads the app: `{ appRoot }` requires package.json's `main` glob there, as the host does. */
  app: { appRoot: string } | { register: () => void };
  /** App settings; AzureWebJobsStorage must point at a running Azurite. */
  settings: Record<string, string>;
  hostJson?: HostJson;
  /** The key that function-level routes accept (`code` query or `x-functions-key` header). */
  functionKey?: string;
  /** The key of the admin API; it opens every function-level route and webhook too. Random when not given. */
  masterKey?: string;
  /** The system key `eventgrid_extension` of the Event Grid webhook. Random when not given. */
  eventGridKey?: string;
  /**
   * Names this host's blob receipts and timer statuses in `azure-webjobs-hosts`; hosts sharing one
   * keep one record. Default: the `AzureFunctionsWebHost__hostid` setting, else the machine name.
   */
  hostId?: string;
  /** Time for the background triggers (timers, queue polling, blob scans). */
  clock?: Clock;
  /** How often the blob watcher lists the watched containers (default 1 s). */
  blobScanIntervalMs?: number;
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
const DEFAULT_BLOB_SCAN_INTERVAL_MS = 1000;
/** The reason the host gives for calls through its APIs (HTTP routes, the admin endpoint). */
const API_REASON = 'This function was programmatically called via the host APIs.';
const ADMIN_PATH = /^\/admin\/functions\/([^/]+)\/?$/;
const EVENT_GRID_PATH = '/runtime/webhooks/eventgrid';

export interface InvokeOptions {
  /** Values for `{name}` expressions of output bindings. */
  bindingData?: Record<string, unknown>;
  /** Why the function runs, for the `Executing` log line. */
  reason?: string;
}

const adminBody = z.object({ input: z.string().optional() });

/**
 * Runs a Function App on this machine as the Functions host would, against Azurite: it captures the
 * registrations, routes HTTP calls (with function-key auth), serves the admin API and the Event Grid
 * webhook, runs timer, queue and blob triggers (in the background after `startBackground()`),
 * applies output bindings, and runs Durable orchestrations with a real replay loop.
 */
export class LocalHost {
  readonly logs: LogRecord[] = [];
  readonly functionKey: string;
  readonly masterKey: string;
  readonly eventGridKey: string;
  readonly hostId: string;
  readonly engine: DurableEngine;
  readonly storage: StorageClients;
  private readonly clientApi: DurableClientApi;
  private readonly instanceStore: AzureInstanceStore;
  readonly routePrefix: string;
  private readonly clock: Clock;
  private readonly timers: TimerScheduler;
  private readonly queueTriggers: QueueTriggerRunner;
  private readonly blobTriggers: BlobTriggerRunner;
  /** Invocations started by the admin endpoint, which answers before they end. */
  private readonly detached = new Set<Promise<unknown>>();
  private background = false;

  private constructor(
    readonly registrations: Registrations,
    private readonly options: LocalHostOptions,
    readonly hubName: string,
  ) {
    const durable = options.hostJson?.extensions?.durableTask ?? {};
    this.functionKey = options.functionKey ?? randomUUID();
    this.masterKey = options.masterKey ?? randomUUID();
    this.eventGridKey = options.eventGridKey ?? randomUUID();
    this.hostId = options.hostId ?? defaultHostId(options.settings);
    this.clock = options.clock ?? systemClock;
    this.routePrefix = options.hostJson?.extensions?.http?.routePrefix ?? 'api';
    this.storage = createStorageClients({
      kind: 'connectionString',
      connectionString: requireSetting(options.settings, 'AzureWebJobsStorage'),
    });
    const queueSettings = queuesOptions(options.hostJson);
    this.timers = new TimerScheduler(
      this.triggersOf('timerTrigger', (name, trigger) => {
        const schedule = CronSchedule.parse(this.resolve(text(trigger.schedule, '')));
        return {
          functionName: name,
          schedule,
          runOnStartup: trigger.runOnStartup === true,
          useMonitor:
            typeof trigger.useMonitor === 'boolean' ? trigger.useMonitor : defaultUseMonitor(schedule),
        };
      }),
      new ScheduleStatusStore(this.storage.blobs.getContainerClient(HOSTS_CONTAINER), this.hostId),
      this.clock,
      async (name, payload, reason) => {
        await this.invokeLogged(name, { trigger: jsonData(payload) }, { reason });
      },
      (name, message) => this.log(name, 'error', message),
    );
    this.queueTriggers = new QueueTriggerRunner({
      queues: this.storage.queues,
      triggers: this.triggersOf('queueTrigger', (name, trigger) => ({
        functionName: name,
        queueName: this.resolve(String(trigger.queueName)),
      })),
      settings: queueSettings,
      run: async (name, message) =>
        (await this.invokeLogged(name, ...queueInvocation(message))) !== undefined,
      log: (name, level, message) => this.log(name, level, message),
    });
    this.blobTriggers = new BlobTriggerRunner({
      blobs: this.storage.blobs,
      hostId: this.hostId,
      triggers: this.triggersOf('blobTrigger', (name, trigger) => ({
        functionName: name,
        path: this.resolve(String(trigger.path)),
      })),
      poisonQueue: this.storage.queues.getQueueClient(BLOB_POISON_QUEUE),
      maxAttempts: queueSettings.maxDequeueCount,
      run: async (name, blob) => {
        await this.invoke(name, ...blobInvocation(blob));
      },
      log: (name, level, message) => this.log(name, level, message),
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
      log: (level, message) => this.log('durable', level, message),
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
    await host.engine.resumePersisted();
    return host;
  }

  /** The registrations as the host received them: name and bindings of every function. */
  functions(): RegisteredFunction['metadata'][] {
    return [...this.registrations.functions.values()].map((f) => f.metadata);
  }

  /**
   * Starts what the host runs on its own: timers (after firing those past due or set to run on
   * startup), queue polling and the blob watcher. `stop()` ends them.
   */
  async startBackground(): Promise<void> {
    if (this.background) throw new Error('The background triggers are already running.');
    this.background = true;
    await this.timers.start();
    this.queueTriggers.start(this.clock);
    this.blobTriggers.start(this.clock, this.options.blobScanIntervalMs ?? DEFAULT_BLOB_SCAN_INTERVAL_MS);
  }

  /** Stops the background triggers, lets the invocations in progress end, then the durable engine. */
  /** Resolves when the invocations the admin endpoint started have ended. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.detached);
  }

  async stop(): Promise<void> {
    if (this.background) {
      this.background = false;
      await Promise.all([this.timers.stop(), this.queueTriggers.stop(), this.blobTriggers.stop()]);
    }
    await Promise.allSettled(this.detached);
    this.engine.stop();
    await this.instanceStore.flush();
    await this.clientApi.close();
  }

  /**
   * An HTTP call to the host: `/<routePrefix>/...` runs HTTP functions, `/admin/functions/<name>`
   * runs a function now (master key), `/runtime/webhooks/eventgrid` delivers Event Grid events.
   */
  async http(call: HttpCall): Promise<HttpResult> {
    const method = (call.method ?? 'GET').toUpperCase();
    const url = new URL(call.path, 'http://localhost:7071');
    const headers = Object.fromEntries(
      Object.entries(call.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    );
    const body = call.body === undefined ? undefined : Buffer.from(call.body);
    const key = url.searchParams.get('code') ?? headers['x-functions-key'];
    const admin = ADMIN_PATH.exec(url.pathname);
    if (admin) {
      if (key !== this.masterKey) return result(401, {}, Buffer.alloc(0));
      if (method !== 'POST') return errorResult(405, 'method_not_allowed', 'Use POST to run a function.');
      return this.adminInvoke(decodeURIComponent(admin[1] ?? ''), body);
    }
    if (url.pathname === EVENT_GRID_PATH) {
      if (key !== this.eventGridKey && key !== this.masterKey) return result(401, {}, Buffer.alloc(0));
      return this.eventGridWebhook(method, url, headers, body);
    }
    const prefix = this.routePrefix ? `/${this.routePrefix}/` : '/';
    const routePath = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : undefined;
    for (const fn of this.registrations.functions.values()) {
      const [, trigger] = triggerBinding(fn);
      if (trigger.type !== 'httpTrigger' || routePath === undefined) continue;
      const methods = (trigger.methods as string[] | undefined) ?? ['GET', 'POST'];
      const params = matchRoute(text(trigger.route, fn.metadata.name), routePath);
      if (!params || !methods.map((m) => m.toUpperCase()).includes(method)) continue;
      if (!this.authorized(text(trigger.authLevel, 'function'), key)) {
        return result(401, {}, Buffer.alloc(0));
      }
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
      const invocation = await this.invokeLogged(
        fn.metadata.name,
        { trigger: { http } },
        { bindingData, reason: API_REASON },
      );
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

  /** Fires a timer trigger now, with the payload the host sends; throws when the function fails. */
  async timer(functionName: string, options: { isPastDue?: boolean } = {}): Promise<void> {
    const payload = { ...this.timers.payload(functionName), IsPastDue: options.isPastDue ?? false };
    await this.invoke(functionName, { trigger: jsonData(payload) }, { reason: API_REASON });
  }

  /**
   * Delivers one event to an Event Grid function, as the extension does for each event of a delivery:
   * the event is the trigger value, its `data` the binding data. Throws when the function fails.
   */
  async eventGrid(functionName: string, event: EventGridEvent): Promise<void> {
    if (this.triggerType(functionName) !== 'eventGridTrigger') {
      throw new Error(`No Event Grid function named "${functionName}" is registered.`);
    }
    const data: unknown = event.data;
    await this.invoke(
      functionName,
      {
        trigger: jsonData(event),
        triggerMetadata: data === undefined ? {} : { data: { json: JSON.stringify(data) } },
      },
      { bindingData: { data }, reason: `EventGrid trigger fired at ${this.clock.now().toISOString()}` },
    );
  }

  /**
   * Uploads a blob and runs every blob trigger whose path pattern matches it now, with the content and
   * the metadata the host provides; the blob receipt it writes keeps the watcher from running it again.
   * Returns the functions that ran; throws when one failed.
   */
  async dropBlob(
    blobPath: string,
    content: Buffer | string,
    metadata: Record<string, string> = {},
  ): Promise<string[]> {
    const [container = '', ...rest] = blobPath.split('/');
    const bytes = Buffer.from(content);
    const containerClient = this.storage.blobs.getContainerClient(container);
    await containerClient.createIfNotExists();
    await containerClient.getBlockBlobClient(rest.join('/')).upload(bytes, bytes.length, { metadata });
    const outcomes = await this.blobTriggers.fire(blobPath);
    const failed = outcomes.find((outcome) => outcome.error !== undefined);
    if (failed) throw failed.error instanceof Error ? failed.error : new Error(String(failed.error));
    return outcomes.map((outcome) => outcome.functionName);
  }

  /**
   * Lists the containers blob triggers watch and runs each new or changed blob once, as the
   * background watcher does; returns how many functions ran.
   */
  scanBlobs(): Promise<number> {
    return this.blobTriggers.scan();
  }

  /**
   * Receives one batch of every queue-triggered function's queue and runs the function for each
   * message, with the host's semantics (host.json `extensions.queues`): a success deletes the message,
   * a failure makes it visible again after `visibilityTimeout`, the `maxDequeueCount`th failure moves
   * it to `<queue>-poison`. Returns how many ran.
   */
  pollQueues(): Promise<number> {
    return this.queueTriggers.pollOnce();
  }

  /**
   * Runs one function: fills its durable client input, invokes it through the library's invocation
   * model, and writes its blob, queue and table outputs to Azurite.
   */
  async invoke(
    functionName: string,
    input: InvocationInput,
    options: InvokeOptions = {},
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
    const invocationId = randomUUID();
    const started = performance.now();
    const line = (level: LogRecord['level'], message: string) =>
      this.record({ functionName, invocationId, level, category: 'system', message });
    line(
      'information',
      `Executing 'Functions.${functionName}' (Reason='${options.reason ?? '(null)'}', Id=${invocationId})`,
    );
    const bindingData = options.bindingData ?? {};
    try {
      const invocation = await invokeFunction(
        this.registrations,
        fn,
        { ...input, extraInputs, invocationId },
        (record) => this.record(record),
      );
      for (const output of invocation.response.outputData ?? []) {
        const binding = fn.metadata.bindings[output.name];
        if (binding) await this.applyOutput(binding, output.data, bindingData);
      }
      const returnBinding = fn.metadata.bindings.$return;
      if (returnBinding && returnBinding.type !== 'http') {
        await this.applyOutput(returnBinding, invocation.response.returnValue, bindingData);
      }
      line(
        'information',
        `Executed 'Functions.${functionName}' (Succeeded, Id=${invocationId}, Duration=${elapsed(started)}ms)`,
      );
      return invocation;
    } catch (error) {
      line(
        'error',
        `Executed 'Functions.${functionName}' (Failed, Id=${invocationId}, Duration=${elapsed(started)}ms): ${errorText(error)}`,
      );
      throw error;
    }
  }

  /** Invokes a function for a trigger the host owns: a failure is logged (by `invoke`), not thrown. */
  private async invokeLogged(
    functionName: string,
    input: InvocationInput,
    options: InvokeOptions = {},
  ): Promise<InvocationResult | undefined> {
    try {
      return await this.invoke(functionName, input, options);
    } catch {
      return undefined;
    }
  }

  /** `POST /admin/functions/<name>`: runs a non-HTTP function now with `input`, and answers 202 at once. */
  private adminInvoke(functionName: string, body: Buffer | undefined): HttpResult {
    const type = this.triggerType(functionName);
    if (!type) return errorResult(404, 'not_found', `No function named "${functionName}" is registered.`);
    const parsed = adminBody.safeParse(body && body.length > 0 ? tryParseJson(body.toString('utf8')) : {});
    if (!parsed.success) return errorResult(400, 'invalid_body', 'The body must be {"input": "<text>"}.');
    const input = parsed.data.input ?? '';
    let run: () => Promise<unknown>;
    switch (type) {
      case 'timerTrigger':
        run = () =>
          this.invokeLogged(
            functionName,
            { trigger: jsonData(this.timers.payload(functionName)) },
            { reason: API_REASON },
          );
        break;
      case 'queueTrigger':
        run = () => this.invokeLogged(functionName, ...queueInvocation(adminQueueMessage(input), API_REASON));
        break;
      case 'blobTrigger':
        // The input names the blob, `container/path`, as in the real host.
        run = () => this.adminBlob(functionName, input);
        break;
      case 'eventGridTrigger': {
        const delivery = readEventGridDelivery('Notification', input);
        if (delivery.kind !== 'events')
          return errorResult(
            400,
            'invalid_input',
            'The input must be an Event Grid or CloudEvents event, as JSON.',
          );
        // A failure is logged by `invoke`; the caller has had its 202 already.
        run = () => Promise.allSettled(delivery.events.map((event) => this.eventGrid(functionName, event)));
        break;
      }
      default:
        return errorResult(
          400,
          'unsupported_trigger',
          `"${functionName}" has a ${type}; the admin API runs timer, queue, blob and Event Grid functions.`,
        );
    }
    const pending = run().finally(() => this.detached.delete(pending));
    this.detached.add(pending);
    return result(202, {}, Buffer.alloc(0));
  }

  private async adminBlob(functionName: string, blobPath: string): Promise<void> {
    try {
      const blob = await this.blobTriggers.read(functionName, blobPath);
      if (!blob) throw new Error('it does not exist');
      const [input, options] = blobInvocation(blob);
      await this.invokeLogged(functionName, input, { ...options, reason: API_REASON });
    } catch (error) {
      this.log(functionName, 'error', `Reading the blob ${blobPath} failed: ${errorText(error)}`);
    }
  }

  /** `POST /runtime/webhooks/eventgrid?functionName=<name>`, answered as the Event Grid extension does. */
  private async eventGridWebhook(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: Buffer | undefined,
  ): Promise<HttpResult> {
    const functionName = url.searchParams.get('functionName') ?? '';
    if (this.triggerType(functionName) !== 'eventGridTrigger') {
      return errorResult(404, 'not_found', `cannot find function: '${functionName}'`);
    }
    // CloudEvents' abuse protection: the subscriber says which origin may deliver to it.
    const origin = headers['webhook-request-origin'];
    if (method === 'OPTIONS' && origin) {
      return result(200, { 'webhook-allowed-origin': origin, 'webhook-allowed-rate': '*' }, Buffer.alloc(0));
    }
    if (method !== 'POST') return errorResult(405, 'method_not_allowed', 'Event Grid delivers with POST.');
    const delivery = readEventGridDelivery(headers['aeg-event-type'], body?.toString('utf8') ?? '');
    switch (delivery.kind) {
      case 'invalid':
        return errorResult(400, 'invalid_delivery', delivery.message);
      case 'unsubscribe':
        return result(202, {}, Buffer.alloc(0));
      case 'validation':
        return jsonResult(200, { validationResponse: delivery.validationCode });
      case 'events': {
        const outcomes = await Promise.allSettled(
          delivery.events.map((event) => this.eventGrid(functionName, event)),
        );
        const failure = outcomes.find((outcome) => outcome.status === 'rejected');
        // A 500 makes Event Grid deliver the whole batch again, as with the real extension.
        if (failure) return errorResult(500, 'function_failed', errorText(failure.reason));
        return result(202, {}, Buffer.alloc(0));
      }
    }
  }

  /** One definition per function with this trigger type, built from its trigger binding. */
  private triggersOf<T>(type: string, build: (functionName: string, trigger: BindingMetadata) => T): T[] {
    return [...this.registrations.functions.values()].flatMap((fn) => {
      const [, trigger] = triggerBinding(fn);
      return trigger.type === type ? [build(fn.metadata.name, trigger)] : [];
    });
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
        const queueName = expand(binding.queueName);
        const queue = this.storage.queues.getQueueClient(queueName);
        await queue.createIfNotExists();
        for (const item of Array.isArray(value) ? value : [value]) {
          const text = typeof item === 'string' ? item : JSON.stringify(item);
          await queue.sendMessage(Buffer.from(text).toString('base64'));
        }
        // As the host's own queue writes do: a function of this host listening there polls at once.
        this.queueTriggers.notify(queueName);
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

  private authorized(authLevel: string, key: string | undefined): boolean {
    if (authLevel === 'anonymous') return true;
    if (key === this.masterKey) return true;
    return authLevel === 'function' && key === this.functionKey;
  }

  private triggerType(name: string): string | undefined {
    const fn = this.registrations.functions.get(name);
    return fn ? triggerBinding(fn)[1].type : undefined;
  }

  /** `%NAME%` in a binding property reads the app setting NAME, as in function.json. */
  private resolve(value: string): string {
    return resolveSettingReference(value, this.options.settings);
  }

  /** A line of the host's own; it goes through the app's log hooks too, so they can redact it. */
  private log(functionName: string, level: LogRecord['level'], message: string): void {
    const hookContext: Record<string, unknown> = { level, category: 'system', message, hookData: {} };
    for (const hook of this.registrations.hooksFor('log')) void hook(hookContext);
    this.record({
      functionName,
      invocationId: '',
      level,
      category: 'system',
      message: String(hookContext.message),
    });
  }

  private record(entry: LogRecord): void {
    if (this.logs.length >= MAX_LOG_RECORDS) this.logs.shift();
    this.logs.push(entry);
    this.options.onLog?.(entry);
  }
}

/** The app's host.json; a value the local host reads that is not of the right shape stops it, named. */
export function readHostJson(appRoot: string): HostJson {
  const file = path.join(appRoot, 'host.json');
  const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const checked = hostJsonSchema.safeParse(raw);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new Error(`${file}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  // The raw object, not the parsed one: durations stay as written, parsed where they are used.
  return raw as HostJson;
}

/** The host id as the Functions host forms it: the setting if given, else the machine name, sanitised. */
function defaultHostId(settings: Record<string, string>): string {
  const name = settings.AzureFunctionsWebHost__hostid || hostname();
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '')
      .slice(0, 32)
      .replace(/-+$/, '') || 'localhost'
  );
}

/** A queue message as the function receives it: the text, and the host's trigger metadata. */
function queueInvocation(message: ReceivedMessage, reason?: string): [InvocationInput, InvokeOptions] {
  const { item, text } = message;
  const triggerMetadata: Record<string, RpcTypedData> = {
    QueueTrigger: { string: text },
    Id: { string: item.messageId },
    DequeueCount: { int: item.dequeueCount },
    InsertionTime: { string: item.insertedOn.toISOString() },
    ExpirationTime: { string: item.expiresOn.toISOString() },
    NextVisibleTime: { string: item.nextVisibleOn.toISOString() },
    PopReceipt: { string: item.popReceipt },
  };
  // A JSON message's properties are binding data, usable as `{name}` in output bindings.
  const json = tryParseJson(text);
  const bindingData = json && typeof json === 'object' && !Array.isArray(json) ? { ...json } : {};
  return [
    { trigger: { string: text }, triggerMetadata },
    { bindingData, reason: reason ?? `New queue message detected on '${message.queueName}'.` },
  ];
}

/** The message the admin API makes of its input: in memory only, first attempt. */
function adminQueueMessage(text: string): ReceivedMessage {
  const now = new Date();
  return {
    queueName: '',
    text,
    item: {
      messageId: randomUUID(),
      popReceipt: '',
      dequeueCount: 1,
      insertedOn: now,
      expiresOn: new Date(now.getTime() + 7 * 24 * 3_600_000),
      nextVisibleOn: now,
      messageText: text,
    },
  };
}

/** A blob as the function receives it: the content, its path parameters and the host's metadata. */
function blobInvocation(blob: FoundBlob): [InvocationInput, InvokeOptions] {
  const triggerMetadata: Record<string, RpcTypedData> = {
    BlobTrigger: { string: blob.path },
    Uri: { string: blob.url },
    Properties: {
      json: JSON.stringify({
        Length: blob.properties.length,
        ContentType: blob.properties.contentType,
        ETag: blob.properties.etag,
        LastModified: blob.properties.lastModified,
      }),
    },
    Metadata: { json: JSON.stringify(blob.metadata) },
  };
  for (const [key, value] of Object.entries(blob.params)) triggerMetadata[key] = { string: value };
  return [
    { trigger: { bytes: blob.content }, triggerMetadata },
    {
      bindingData: { ...blob.params, blobTrigger: blob.path },
      reason: `New blob detected(LogsAndContainerScan): ${blob.path}`,
    },
  ];
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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

function jsonResult(status: number, value: unknown): HttpResult {
  return result(status, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify(value)));
}

function errorResult(status: number, code: string, message: string): HttpResult {
  return jsonResult(status, { error: { code, message } });
}

function result(status: number, headers: Record<string, string>, body: Buffer): HttpResult {
  return {
    status,
    headers,
    body,
    json: <T>() => JSON.parse(body.toString('utf8')) as T,
  };
}
