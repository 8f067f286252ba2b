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
  /** The firms' DOCX templates for dossiers, `{name}.docx`, stored by `POST /api/dossiers/templates`. */
  dossiersTemplates: 'dossiers-templates',
  /** Each polled mail's raw MIME (size-capped), `{id}.eml`: the queue function reads it, not IMAP. */
  mailboxRaw: 'mailbox-raw',
  /** The school's knowledge base: Markdown documents whose front matter names the categories they serve. */
  mailboxKnowledge: 'mailbox-knowledge',
  /** Each call's end-of-call report (transcript redacted, turn metrics) and analysis: `{callId}/report.json|analysis.json`. */
  callTranscripts: 'call-transcripts',
  /** Images of LinkedIn posts (and link thumbnails) until they are uploaded: `{postId}/image|thumbnail`. */
  linkedinMedia: 'linkedin-media',
  /** Each ops run's step log, `{runId}/log.jsonl` (one JSON object per line). */
  opsRuns: 'ops-runs',
  /** Table backups of the maintenance workflow: `{date}/{table}.jsonl.gz` and `{date}/manifest.json`. */
  opsBackups: 'ops-backups',
  /** Drop PDF, DOCX or TXT files in `{batchId}/` here to summarise them (blob trigger). */
  documentsInbox: 'documents-inbox',
  /** Each document's summary, `{batchId}/{name}.json`, and the batch's `{batchId}/report.json`. */
  documents: 'documents',
} as const;

export const QUEUES = {
  /** One message per new mail (its ledger id); a queue-triggered function answers it. */
  mailboxIncoming: 'mailbox-incoming',
  /** One message per reported call (its id); a queue-triggered function analyses it. */
  callAnalysis: 'call-analysis',
} as const;

export const TABLES = {
  /** One row per AI call (partition = UTC day). */
  aiCalls: 'aicalls',
  /** AI usage totals per model and per task, one row per writer. */
  aiTotals: 'aitotals',
  /** Every outbound email: its idempotency key, recipient, provider operation and delivery status. */
  emailSends: 'emailsends',
  /** Recipients not to mail again until a date (bounced, suppressed). */
  emailSuppressions: 'emailsuppressions',
  /** The mailbox ledger, one row per mail by Message-ID, and the IMAP checkpoint. */
  mailboxLedger: 'mailboxledger',
  /** Call records, one row per call: webhook events, tool calls, report summary, analysis. */
  calls: 'calls',
  /** The insurer's policies, imported from CSV (row key = policy number). */
  callPolicies: 'callpolicies',
  /** Claims filed by the agent (row key = claim number). */
  callClaims: 'callclaims',
  /** Connected LinkedIn accounts: member URN, granted scopes, expiry and the sealed token. */
  linkedinAccounts: 'linkedinaccounts',
  /** OAuth states, single-use, 10 minutes. */
  linkedinStates: 'linkedinstates',
  /** LinkedIn posts: content, schedule, status and URN once published. */
  linkedinPosts: 'linkedinposts',
  /** LinkedIn queue slots. */
  linkedinSettings: 'linkedinsettings',
  /**
   * The LinkedIn inbox: pasted messages and comments and the page's comments from the webhook (row key
   * derived from `notificationId`, so a redelivery is a conditional insert that finds it), with their
   * triage, AI draft and approval.
   */
  linkedinInbox: 'linkedininbox',
  /** Health reports (partition `history`, newest first) and the alert state (partition `alert`). */
  opsHealth: 'opshealth',
} as const;
