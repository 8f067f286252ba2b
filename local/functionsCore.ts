import Module from 'node:module';

/**
 * A stand-in for the `@azure/functions-core` module that the Node.js worker injects into a
 * Function App. `@azure/functions` looks it up lazily at the first registration; answering that
 * lookup lets the local host see every `app.*` / `df.app.*` registration exactly as the real
 * host receives it, and run invocations through the library's own InvocationModel.
 */

export type RpcTypedData =
  | { string: string }
  | { json: string }
  | { bytes: Uint8Array }
  | { http: RpcHttpData }
  | { int: number }
  | { double: number };

export interface RpcHttpData {
  method?: string;
  url?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  params?: Record<string, string>;
  body?: RpcTypedData;
  statusCode?: string;
}

export interface BindingMetadata {
  type: string;
  direction: 'in' | 'out' | 'inout';
  name?: string;
  [property: string]: unknown;
}

export interface FunctionMetadata {
  name: string;
  bindings: Record<string, BindingMetadata>;
  retryOptions?: Record<string, unknown>;
}

export type FunctionCallback = (...args: unknown[]) => unknown;

export interface InvocationRequest {
  invocationId: string;
  functionId: string;
  inputData: { name: string; data: RpcTypedData | undefined }[];
  triggerMetadata: Record<string, RpcTypedData>;
  retryContext?: { retryCount: number; maxRetryCount: number };
}

export interface InvocationResponse {
  invocationId: string;
  outputData?: { name: string; data: RpcTypedData | null | undefined }[];
  returnValue?: RpcTypedData | null;
}

export type LogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical' | 'none';
export type LogCategory = 'user' | 'system' | 'customMetric';

export interface CoreInvocationContext {
  invocationId: string;
  request: InvocationRequest;
  metadata: FunctionMetadata;
  state: 'preInvocationHooks' | 'postInvocationHooks' | 'invocation';
  log(level: LogLevel, category: LogCategory, message: string): void;
}

export interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], callback: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<InvocationResponse>;
}

export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreContext: CoreInvocationContext): InvocationModel;
}

export type HookCallback = (context: Record<string, unknown>) => void | Promise<void>;

export interface RegisteredFunction {
  metadata: FunctionMetadata;
  callback: FunctionCallback;
}

/** What one loaded app registered. */
export class Registrations {
  readonly functions = new Map<string, RegisteredFunction>();
  readonly hooks = new Map<string, HookCallback[]>();

  hooksFor(name: string): HookCallback[] {
    return this.hooks.get(name) ?? [];
  }
}

class Disposable {
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => {
      for (const item of items) item.dispose();
    });
  }
  constructor(private readonly onDispose: () => void) {}
  dispose(): void {
    this.onDispose();
  }
}

interface CoreState {
  target: Registrations | undefined;
  programmingModel: ProgrammingModel | undefined;
}

// One per process: `@azure/functions` caches the core module it found, so the stand-in must stay the
// same object and point at whichever app is being loaded now.
const STATE_KEY = Symbol.for('automation-suite.local.functionsCore');
const globalState = globalThis as unknown as Record<symbol, CoreState | undefined>;
const state: CoreState = (globalState[STATE_KEY] ??= { target: undefined, programmingModel: undefined });

function currentTarget(): Registrations {
  if (!state.target) throw new Error('No app is being loaded by the local host.');
  return state.target;
}

const coreApi = {
  Disposable,
  setProgrammingModel(model: ProgrammingModel): void {
    state.programmingModel = model;
  },
  getProgrammingModel(): ProgrammingModel | undefined {
    return state.programmingModel;
  },
  registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable {
    const target = currentTarget();
    if (target.functions.has(metadata.name)) {
      throw new Error(`A function named "${metadata.name}" is already registered.`);
    }
    target.functions.set(metadata.name, { metadata, callback });
    return new Disposable(() => target.functions.delete(metadata.name));
  },
  registerHook(name: string, callback: HookCallback): Disposable {
    const target = currentTarget();
    const list = target.hooks.get(name) ?? [];
    list.push(callback);
    target.hooks.set(name, list);
    return new Disposable(() => list.splice(list.indexOf(callback), 1));
  },
  log(level: LogLevel, category: LogCategory, message: string): void {
    if (level === 'error' || level === 'critical') console.error(`[${category}] ${message}`);
  },
};

const MODULE_ID = '@azure/functions-core';
const FAKE_PATH = '/__local_host__/@azure/functions-core.js';

interface ModuleInternals {
  _resolveFilename(request: string, ...rest: unknown[]): string;
  _cache: Record<string, { exports: unknown; loaded: boolean; id: string; filename: string }>;
}

/** Makes `require('@azure/functions-core')` answer with the stand-in (once per process). */
function install(): void {
  const internals = Module as unknown as ModuleInternals;
  if (internals._cache[FAKE_PATH]) return;
  const original = internals._resolveFilename.bind(Module);
  internals._resolveFilename = (request: string, ...rest: unknown[]) =>
    request === MODULE_ID ? FAKE_PATH : original(request, ...rest);
  internals._cache[FAKE_PATH] = { exports: coreApi, loaded: true, id: FAKE_PATH, filename: FAKE_PATH };
}

/** Runs `load` with registrations captured into a fresh Registrations. */
export function captureRegistrations(load: () => void): Registrations {
  install();
  const target = new Registrations();
  state.target = target;
  try {
    load();
  } finally {
    state.target = undefined;
  }
  return target;
}

export function programmingModel(): ProgrammingModel {
  if (!state.programmingModel) throw new Error('The app registered no function through @azure/functions.');
  return state.programmingModel;
}
