/**
 * Every blob container, queue and table the suite uses, named in one place so infra, clean-up flows
 * and tests agree.
 */
export const CONTAINERS = {
  /** AI response cache, one blob per cache key. */
  aiCache: 'ai-cache',
  /** Drop a batch's two CSV files in `{batchId}/` here to start it (blob trigger). */
  dossiersInbox: 'dossiers-inbox',
  /** CSV files of batches started over HTTP (not watched by the trigger). */
  dossiersUploads: 'dossiers-uploads',
  /** Dossiers and reports: `{batchId}/{jobId}/{consultantId}.md|.docx`, `{batchId}/report.json|.csv`. */
  dossiers: 'dossiers',
  /** A run's plan and per-pair outcomes, and each batch's latest run. */
  dossiersWork: 'dossiers-work',
} as const;

export const TABLES = {
  /** One row per AI call (partition = UTC day). */
  aiCalls: 'aicalls',
  /** AI usage totals per model and per task, one row per writer. */
  aiTotals: 'aitotals',
} as const;
