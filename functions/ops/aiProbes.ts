import type { AiProviderName, AiSettings } from '../ai/settings';
import { httpProbe, type DependencyProbe } from './health';

/**
 * Reachability probes for the remote AI providers, primary and fallbacks. They send no key and spend no
 * tokens: any HTTP answer, even 401 or 404, shows the endpoint is up. Optional: without the model the
 * suite degrades (retries, fallback, offline) rather than stops.
 */
export function aiProbes(ai: AiSettings, fetchFn: typeof fetch = fetch): DependencyProbe[] {
  const endpoints: Partial<Record<AiProviderName, string | undefined>> = {
    'azure-openai': ai.azureOpenAI?.endpoint,
    openai: ai.openAI ? `${ai.openAI.baseURL.replace(/\/$/, '')}/models` : undefined,
    anthropic: ai.anthropic ? (ai.anthropic.baseURL ?? 'https://api.anthropic.com') : undefined,
  };
  return [ai.provider, ...ai.fallback].flatMap((provider) => {
    const url = endpoints[provider];
    if (!url) return [];
    return [httpProbe(`ai:${provider}`, url, fetchFn)];
  });
}
