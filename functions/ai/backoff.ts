import { AI_MAX_BACKOFF_MS } from './settings';

const BASE_DELAY_MS = 500;

/** Exponential backoff with jitter: 500 ms × 2^(attempt−1), capped, then scaled by a random 50–100 %. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(AI_MAX_BACKOFF_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}
