import { randomUUID } from 'node:crypto';
import {
  programmingModel,
  type BindingMetadata,
  type CoreInvocationContext,
  type InvocationResponse,
  type LogCategory,
  type LogLevel,
  type Registrations,
  type RegisteredFunction,
  type RpcTypedData,
} from './functionsCore';

export interface LogRecord {
  functionName: string;
  invocationId: string;
  level: LogLevel;
  category: LogCategory;
  message: string;
}

export interface InvocationInput {
  /** The trigger's data as the host sends it over RPC. */
  trigger: RpcTypedData | undefined;
  triggerMetadata?: Record<string, RpcTypedData>;
  /** Values of extra input bindings, by binding name. */
  extraInputs?: Record<string, RpcTypedData>;
  retryContext?: { retryCount: number; maxRetryCount: number };
  /** Chosen by the caller when it logs the invocation itself; random otherwise. */
  invocationId?: string;
}

export interface InvocationResult {
  invocationId: string;
  response: InvocationResponse;
}

export function triggerBinding(fn: RegisteredFunction): [string, BindingMetadata] {
  const entry = Object.entries(fn.metadata.bindings).find(([, b]) => /trigger$/i.test(b.type));
  if (!entry) throw new Error(`Function "${fn.metadata.name}" has no trigger binding.`);
  return entry;
}

/**
 * Invokes a registered function the way the Node.js worker does: the library's InvocationModel
 * turns RPC data into the handler's arguments, runs pre/post-invocation hooks and the handler, and
 * turns the result and extra outputs back into RPC data. Log lines pass through the app's log hooks.
 */
export async function invokeFunction(
  registrations: Registrations,
  fn: RegisteredFunction,
  input: InvocationInput,
  onLog: (record: LogRecord) => void,
): Promise<InvocationResult> {
  const invocationId = input.invocationId ?? randomUUID();
  const [triggerName] = triggerBinding(fn);
  const inputData = [{ name: triggerName, data: input.trigger }];
  for (const [name, data] of Object.entries(input.extraInputs ?? {})) inputData.push({ name, data });

  const coreContext: CoreInvocationContext = {
    invocationId,
    request: {
      invocationId,
      functionId: fn.metadata.name,
      inputData,
      triggerMetadata: input.triggerMetadata ?? {},
      ...(input.retryContext ? { retryContext: input.retryContext } : {}),
    },
    metadata: fn.metadata,
    state: 'invocation',
    log: (level, category, message) => {
      const hookContext: Record<string, unknown> = { level, category, message, hookData: {} };
      for (const hook of registrations.hooksFor('log')) void hook(hookContext);
      onLog({
        functionName: fn.metadata.name,
        invocationId,
        level,
        category,
        message: String(hookContext.message),
      });
    },
  };

  const model = programmingModel().getInvocationModel(coreContext);
  const { context, inputs } = await model.getArguments();
  const hookData: Record<string, unknown> = {};
  const pre: Record<string, unknown> = {
    invocationContext: context,
    inputs,
    functionCallback: fn.callback,
    hookData,
  };
  coreContext.state = 'preInvocationHooks';
  for (const hook of registrations.hooksFor('preInvocation')) await hook(pre);
  coreContext.state = 'invocation';
  let result: unknown;
  let error: unknown;
  try {
    result = await model.invokeFunction(
      context,
      pre.inputs as unknown[],
      pre.functionCallback as typeof fn.callback,
    );
  } catch (e) {
    error = e;
  }
  const post: Record<string, unknown> = { invocationContext: context, inputs, result, error, hookData };
  coreContext.state = 'postInvocationHooks';
  for (const hook of registrations.hooksFor('postInvocation')) await hook(post);
  if (post.error !== undefined && post.error !== null) {
    throw post.error instanceof Error ? post.error : new Error(JSON.stringify(post.error));
  }
  const response = await model.getResponse(context, post.result);
  return { invocationId, response };
}

/** Reads RPC data back into a value, as the host's bindings would see it. */
export function fromTypedData(data: RpcTypedData | null | undefined): unknown {
  if (!data) return undefined;
  if ('string' in data) return data.string;
  if ('json' in data) return JSON.parse(data.json) as unknown;
  if ('bytes' in data) return Buffer.from(data.bytes);
  if ('int' in data) return data.int;
  if ('double' in data) return data.double;
  return data.http;
}

export function jsonData(value: unknown): RpcTypedData | undefined {
  return value === undefined ? undefined : { json: JSON.stringify(value) };
}
