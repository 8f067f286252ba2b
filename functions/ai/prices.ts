/**
 * USD per 1M input / output tokens, matched on the longest model-name prefix (deployments and dated
 * versions such as `gpt-4o-mini-2024-07-18` take the price of their family). AI_PRICES overrides or adds.
 */
export type PriceTable = Record<string, { input: number; output: number }>;

export const BUILT_IN_PRICES: PriceTable = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
  'claude-haiku-4-5': { input: 1, output: 5 },
  'claude-sonnet-4': { input: 3, output: 15 },
  'mistral-small': { input: 0.1, output: 0.3 },
  'mistral-large': { input: 2, output: 6 },
  offline: { input: 0, output: 0 },
};

export function costUsd(
  prices: PriceTable,
  model: string,
  promptTokens: number,
  completionTokens: number,
): number {
  const key = Object.keys(prices)
    .filter((name) => model.toLowerCase().startsWith(name.toLowerCase()))
    .sort((a, b) => b.length - a.length)[0];
  const price = key ? prices[key] : undefined;
  if (!price) return 0;
  return (promptTokens * price.input + completionTokens * price.output) / 1_000_000;
}
