import OpenAI, { AzureOpenAI } from 'openai';
import type { ChatProvider, ProviderAnswer, ProviderCall } from '../types';

interface OpenAICompatibleOptions {
  baseURL: string;
  apiKey: string | undefined;
  model: string;
  timeoutMs: number;
}

interface AzureOpenAIOptions {
  endpoint: string;
  deployment: string;
  apiVersion: string;
  /** A key, or else a Microsoft Entra ID token provider (managed identity in Azure). */
  auth: { apiKey: string } | { tokenProvider: () => Promise<string> };
  timeoutMs: number;
}

/** Any server that speaks the OpenAI chat-completions protocol: OpenAI, Mistral, Ollama, vLLM, LM Studio. */
export function openAICompatibleProvider(options: OpenAICompatibleOptions): ChatProvider {
  const client = new OpenAI({
    baseURL: options.baseURL,
    // Local servers (Ollama, vLLM) take no key, but the SDK insists on one.
    apiKey: options.apiKey ?? 'no-key',
    // The AI layer owns retries; the SDK's timeout is a backstop behind the layer's own.
    maxRetries: 0,
    timeout: options.timeoutMs + 1000,
  });
  return chatCompletionsProvider('openai', client, options.model);
}

export function azureOpenAIProvider(options: AzureOpenAIOptions): ChatProvider {
  const client = new AzureOpenAI({
    endpoint: options.endpoint,
    deployment: options.deployment,
    apiVersion: options.apiVersion,
    ...('apiKey' in options.auth
      ? { apiKey: options.auth.apiKey }
      : { azureADTokenProvider: options.auth.tokenProvider }),
    maxRetries: 0,
    timeout: options.timeoutMs + 1000,
  });
  return chatCompletionsProvider('azure-openai', client, options.deployment);
}

function chatCompletionsProvider(
  name: 'openai' | 'azure-openai',
  client: OpenAI,
  model: string,
): ChatProvider {
  return {
    name,
    model,
    remote: true,
    async complete(call: ProviderCall): Promise<ProviderAnswer> {
      const response = await client.chat.completions.create(
        { model, messages: call.messages, max_tokens: call.maxTokens, temperature: call.temperature },
        { signal: call.signal },
      );
      return {
        text: response.choices[0]?.message.content ?? '',
        promptTokens: response.usage?.prompt_tokens ?? 0,
        completionTokens: response.usage?.completion_tokens ?? 0,
        model: response.model || model,
      };
    },
  };
}
