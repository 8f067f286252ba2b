import Anthropic from '@anthropic-ai/sdk';
import type { ChatProvider, ProviderAnswer, ProviderCall } from '../types';

interface AnthropicOptions {
  apiKey: string;
  model: string;
  baseURL: string | undefined;
  timeoutMs: number;
}

export function anthropicProvider(options: AnthropicOptions): ChatProvider {
  const client = new Anthropic({
    apiKey: options.apiKey,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    maxRetries: 0,
    timeout: options.timeoutMs + 1000,
  });
  return {
    name: 'anthropic',
    model: options.model,
    remote: true,
    async complete(call: ProviderCall): Promise<ProviderAnswer> {
      const system = call.messages
        .filter((m) => m.role === 'system')
        .map((m) => m.content)
        .join('\n\n');
      const response = await client.messages.create(
        {
          model: options.model,
          max_tokens: call.maxTokens,
          ...(system ? { system } : {}),
          messages: call.messages
            .filter((m) => m.role === 'user')
            .map((m) => ({ role: 'user' as const, content: m.content })),
        },
        { signal: call.signal },
      );
      return {
        text: response.content.map((block) => (block.type === 'text' ? block.text : '')).join(''),
        promptTokens: response.usage.input_tokens,
        completionTokens: response.usage.output_tokens,
        model: response.model || options.model,
      };
    },
  };
}
