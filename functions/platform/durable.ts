import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';
import { z } from 'zod';

/**
 * Durable functions declared once: a name with the schemas of what crosses the durable boundary. The
 * registration parses the input before the function body runs, and the orchestrator parses what comes
 * back, so neither side casts what the other wrote (a history may hold data from an older version).
 */
export interface DurableContract<I, O> {
  name: string;
  input: z.ZodType<I>;
  output: z.ZodType<O>;
}

export function durableContract<I, O>(
  name: string,
  input: z.ZodType<I>,
  output: z.ZodType<O>,
): DurableContract<I, O> {
  return { name, input, output };
}

export type ActivityHandler<I, O> = (input: I) => Promise<O>;
export type Orchestrator<I, O> = (context: OrchestrationContext, input: I) => Generator<df.Task, O, unknown>;

/** Registers an activity whose input is parsed with its contract. */
export function registerActivity<I, O>(
  contract: DurableContract<I, O>,
  handler: ActivityHandler<I, O>,
): void {
  df.app.activity(contract.name, { handler: (input: unknown) => handler(contract.input.parse(input)) });
}

/** Registers an activity that also reaches the task hub's HTTP API (through a durable client binding). */
export function registerClientActivity<I, O>(
  contract: DurableContract<I, O>,
  handler: (input: I, target: DurableHttpTarget) => Promise<O>,
): void {
  const client = df.input.durableClient();
  df.app.activity(contract.name, {
    extraInputs: [client],
    handler: (input: unknown, context) =>
      handler(contract.input.parse(input), durableHttpTarget(context.extraInputs.get(client))),
  });
}

/** Registers an orchestrator; its input is parsed with its contract (deterministic, so replay-safe). */
export function registerOrchestration<I, O>(
  contract: DurableContract<I, O>,
  orchestrator: Orchestrator<I, O>,
): void {
  df.app.orchestration(contract.name, function* (context: OrchestrationContext) {
    return yield* orchestrator(context, contract.input.parse(context.df.getInput()));
  });
}

/** Calls an activity and parses its result: `const out = yield* callActivity(context, contract, input)`. */
export function* callActivity<I, O>(
  context: OrchestrationContext,
  contract: DurableContract<I, O>,
  input: I,
  retry?: df.RetryOptions,
): Generator<df.Task, O, unknown> {
  const task = retry
    ? context.df.callActivityWithRetry(contract.name, retry, input)
    : context.df.callActivity(contract.name, input);
  return contract.output.parse(yield task);
}

/** Schedules a sub-orchestration without waiting, for `Task.all`; parse its result with `contract.output`. */
export function startSubOrchestration<I, O>(
  context: OrchestrationContext,
  contract: DurableContract<I, O>,
  input: I,
  instanceId: string,
): df.Task {
  return context.df.callSubOrchestrator(contract.name, input, instanceId);
}

/** The runtime statuses of an orchestration instance, as the Durable extension names them. */
export const RUNTIME_STATUSES = [
  'Pending',
  'Running',
  'Suspended',
  'Completed',
  'ContinuedAsNew',
  'Failed',
  'Terminated',
] as const;
export type RuntimeStatus = (typeof RUNTIME_STATUSES)[number];

/** What a capability may see of an orchestration instance. */
export interface InstanceView {
  runtimeStatus: string;
  customStatus?: unknown;
  output?: unknown;
}

/** How capabilities start and look up orchestrations, without depending on the durable client. */
export interface Orchestrations {
  /** The instance, or undefined when there is none (other failures are thrown). */
  status(instanceId: string): Promise<InstanceView | undefined>;
  /**
   * Starts an instance under this id. As in the Durable extension, an id that is Pending or Running
   * cannot be started again (`conflict`); a Completed, Failed or Terminated id starts afresh.
   */
  start<I>(
    contract: DurableContract<I, unknown>,
    instanceId: string,
    input: I,
  ): Promise<'started' | 'conflict'>;
}

/** Where the Durable extension's HTTP API answers for this task hub (…/instances), and the query it needs. */
export interface DurableHttpTarget {
  instancesUrl: string;
  query: Readonly<Record<string, string>>;
}

const clientInputSchema = z.object({ rpcBaseUrl: z.url() });

/**
 * The extension's local RPC endpoint (`rpcBaseUrl` of the durable client binding), which durable-functions
 * itself calls: loopback, no key, and not behind App Service Authentication. The management URLs are not
 * used: without WEBSITE_HOSTNAME, durable-functions rewrites them to localhost:7071 (Core Tools).
 */
export function durableHttpTarget(clientInput: unknown): DurableHttpTarget {
  const { rpcBaseUrl } = clientInputSchema.parse(clientInput);
  return { instancesUrl: new URL('instances', rpcBaseUrl).href, query: {} };
}

// durable-functions reports the extension's answers only as error text, with the HTTP status in it.
const hasStatus = (error: unknown, status: number) =>
  error instanceof Error && new RegExp(`\\b${status}\\b`).test(error.message);

/** Orchestrations backed by the Durable extension's client. */
export function durableOrchestrations(client: df.DurableClient): Orchestrations {
  return {
    status: async (instanceId) => {
      try {
        return await client.getStatus(instanceId);
      } catch (error) {
        if (hasStatus(error, 404)) return undefined;
        throw error;
      }
    },
    start: async (contract, instanceId, input) => {
      try {
        await client.startNew(contract.name, { instanceId, input: contract.input.parse(input) });
        return 'started';
      } catch (error) {
        if (hasStatus(error, 409)) return 'conflict';
        throw error;
      }
    },
  };
}

// durable-functions reports a failed activity as "<reason> \n <stack>"; the reason is what users need.
export function failureReason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? text).replace(/^Activity function '[^']+' failed:\s*/, '').trim();
}
