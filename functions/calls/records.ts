import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { jsonTable } from '../platform/jsonTable';

export const CALL_STATUSES = ['created', 'dialing', 'active', 'ended', 'failed'] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

export const CALL_OUTCOMES = [
  'claim_filed',
  'policy_info',
  'callback',
  'transferred',
  'abandoned',
  'other',
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/** Each list in a record is capped so a row stays far below a table entity's 1 MiB and 32K-character fields. */
export const RECORD_LIMITS = { events: 100, toolCalls: 200, turns: 300, claims: 20 } as const;

const isoDate = z.iso.datetime({ offset: true }).transform((text) => new Date(text).toISOString());
const millis = z.number().min(0).max(600_000);

export const turnSchema = z.object({
  endOfUtteranceMs: millis.nullable().optional(),
  llmTtftMs: millis.nullable().optional(),
  ttsTtfbMs: millis.nullable().optional(),
  endToEndMs: millis.nullable().optional(),
});
export type TurnMetrics = z.infer<typeof turnSchema>;

export const toolCallEntrySchema = z.object({
  tool: z.string().max(40),
  at: isoDate,
  /** The HTTP status the tool answered. */
  status: z.number().int(),
});

export const analysisSchema = z.object({
  summary: z.string().max(2000),
  outcome: z.enum(CALL_OUTCOMES),
  sentiment: z.enum(['positive', 'neutral', 'negative']),
  data: z.record(z.string(), z.unknown()),
  success: z.boolean(),
  /** What the analysis cost (the AI call). */
  costUsd: z.number().min(0).default(0),
  analysedAt: isoDate,
});
export type CallAnalysis = z.infer<typeof analysisSchema>;

/** One call: what LiveKit's webhooks, the agent's tool calls, its report and the analysis said of it. */
export const callRecordSchema = z.object({
  id: z.string().regex(/^[a-z0-9]{16}$/),
  room: z.string(),
  direction: z.enum(['inbound', 'outbound']),
  status: z.enum(CALL_STATUSES),
  createdAt: isoDate,
  /** The caller's participant identity (chosen by the token route, or by SIP). */
  callerIdentity: z.string().optional(),
  callerIsSip: z.boolean().optional(),
  /** HMAC-SHA256 of the caller's number in E.164, and its last four digits: never the number itself. */
  callerHash: z.string().optional(),
  callerLast4: z.string().optional(),
  startedAt: isoDate.optional(),
  callerJoinedAt: isoDate.optional(),
  callerLeftAt: isoDate.optional(),
  agentJoinedAt: isoDate.optional(),
  agentSpokeAt: isoDate.optional(),
  endedAt: isoDate.optional(),
  durationSeconds: z.number().min(0).optional(),
  endedReason: z.string().max(100).optional(),
  abandoned: z.boolean().optional(),
  /** Why an outbound call was placed; no personal data (the number stays in the dispatch). */
  reason: z.string().max(500).optional(),
  verifiedPolicy: z.string().optional(),
  verifyFailures: z.number().int().min(0).default(0),
  locked: z.boolean().optional(),
  claims: z.array(z.string()).max(RECORD_LIMITS.claims).default([]),
  callback: z.object({ at: isoDate, reason: z.string().max(500) }).optional(),
  followUps: z.array(z.string()).default([]),
  transferredAt: isoDate.optional(),
  endRequestedAt: isoDate.optional(),
  toolCalls: z.array(toolCallEntrySchema).max(RECORD_LIMITS.toolCalls).default([]),
  /** Webhook event ids already applied: a redelivery finds its id here and changes nothing. */
  events: z.array(z.string()).max(RECORD_LIMITS.events).default([]),
  report: z
    .object({ receivedAt: isoDate, hash: z.string(), turns: z.number().int(), costUsd: z.number().min(0) })
    .optional(),
  turns: z.array(turnSchema).max(RECORD_LIMITS.turns).default([]),
  analysis: analysisSchema.optional(),
});
export type CallRecord = z.infer<typeof callRecordSchema>;
export type StoredCall = CallRecord & { etag: string };

/** Call records in Azure Tables (partition `call`, row key = call id), changed under their ETag. */
export class CallStore {
  private readonly rows;

  constructor(table: TableClient) {
    this.rows = jsonTable({
      table,
      partition: 'call',
      schema: callRecordSchema,
      what: 'call record',
      id: (record) => record.id,
      columns: (record) => ({
        createdAt: record.createdAt,
        status: record.status,
        outcome: record.analysis?.outcome ?? '',
      }),
    });
  }

  create(record: CallRecord): Promise<boolean> {
    return this.rows.create(record);
  }

  async get(id: string): Promise<StoredCall | undefined> {
    return /^[a-z0-9]{16}$/.test(id) ? this.rows.get(id) : undefined;
  }

  /** Applies `change` under the record's ETag (see jsonTable): webhooks, tools and the report never overwrite each other. */
  async mutate(
    id: string,
    change: (record: CallRecord) => CallRecord | undefined,
  ): Promise<{ record: StoredCall; changed: boolean } | undefined> {
    const result = await this.rows.mutate(id, change);
    return result && { record: result.doc, changed: result.changed };
  }

  /** Calls created in [from, to), newest first. */
  async list(filter: {
    from?: string;
    to?: string;
    status?: string;
    outcome?: string;
  }): Promise<CallRecord[]> {
    const clauses: string[] = [];
    if (filter.from) clauses.push(odata`createdAt ge ${filter.from}`);
    if (filter.to) clauses.push(odata`createdAt lt ${filter.to}`);
    if (filter.status) clauses.push(odata`status eq ${filter.status}`);
    if (filter.outcome) clauses.push(odata`outcome eq ${filter.outcome}`);
    const records = await this.rows.list(clauses.join(' and ') || undefined);
    return records.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  }
}

/** Appends to a capped list, dropping the oldest entries. */
export function appendCapped<T>(list: readonly T[], item: T, max: number): T[] {
  return [...list, item].slice(-max);
}
