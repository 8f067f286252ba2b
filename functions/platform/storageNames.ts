/**
 * Every blob container, queue and table the suite uses, named in one place so infra, clean-up flows
 * and tests agree.
 */
export const CONTAINERS = {
  /** AI response cache, one blob per cache key. */
  aiCache: 'ai-cache',
} as const;

export const TABLES = {
  /** One row per AI call (partition = UTC day). */
  aiCalls: 'aicalls',
  /** AI usage totals per model and per task, one row per writer. */
  aiTotals: 'aitotals',
} as const;
