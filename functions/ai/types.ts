import type { AiProviderName } from './settings';

export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

/** One request to one provider, already rendered, redacted and paced. */
export interface ProviderCall {
  task: string;
  messages: ChatMessage[];
  maxTokens: number;
  temperature: number;
  /** The structured inputs of the task, for the offline generator (never sent anywhere). */
  variables: Readonly<Record<string, unknown>>;
  signal: AbortSignal;
}

export interface ProviderAnswer {
  text: string;
  promptTokens: number;
  completionTokens: number;
  model: string;
}

export interface ChatProvider {
  readonly name: AiProviderName;
  readonly model: string;
  /** Remote providers are paced under the quota; the offline generator is not. */
  readonly remote: boolean;
  complete(call: ProviderCall): Promise<ProviderAnswer>;
}
