import type { ChatProvider, ProviderAnswer, ProviderCall } from '../types';

/** Writes a task's answer from its structured inputs, deterministically, with no network. */
export type OfflineGenerator = (variables: Readonly<Record<string, unknown>>) => string;

/**
 * The offline provider: a real generator per task, so the whole suite runs with no key. Token counts
 * are estimated (4 characters a token) so usage reports keep their shape; the cost is zero.
 */
export function offlineProvider(generators: Readonly<Record<string, OfflineGenerator>>): ChatProvider {
  return {
    name: 'offline',
    model: 'offline',
    remote: false,
    complete(call: ProviderCall): Promise<ProviderAnswer> {
      const generate = generators[call.task];
      if (!generate)
        return Promise.reject(
          new Error(`The offline provider has no generator for the task "${call.task}".`),
        );
      const text = generate(call.variables);
      return Promise.resolve({
        text,
        promptTokens: estimateTokens(call.messages.map((m) => m.content).join('\n')),
        completionTokens: estimateTokens(text),
        model: 'offline',
      });
    },
  };
}

/** A rough token count (about 4 characters a token), used for pacing estimates and offline usage. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
