import { createHash, createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AiClient } from '../ai/aiClient';
import { redactPersonalData } from '../ai/sensitive';
import type { Email, OutgoingEmail } from '../email';
import { ensureContainer, readJsonBlob, writeJsonBlob } from '../platform/blobs';
import {
  ConflictError,
  DomainError,
  InvalidInputError,
  NotFoundError,
  UnavailableError,
} from '../platform/errors';
import { parseInput } from '../platform/input';
import type { StorageClients } from '../platform/storage';
import { CONTAINERS, QUEUES, TABLES } from '../platform/storageNames';
import { analysisVariables, CALL_ANALYSIS_TASK, CALLS_OFFLINE_GENERATORS, parseAnalysis } from './analysis';
import { toE164 } from './formats';
import { InsurerStore } from './insurer';
import { liveKitAdapter, type LiveKit } from './livekit';
import { callMetrics, type CallMetrics } from './metrics';
import { parsePolicyCsv } from './policyCsv';
import {
  appendCapped,
  CALL_OUTCOMES,
  CALL_STATUSES,
  CallStore,
  RECORD_LIMITS,
  type CallAnalysis,
  type CallRecord,
} from './records';
import {
  outboundRequestSchema,
  reportSchema,
  SERVER_CHOSEN_TOKEN_FIELDS,
  TOOL_NAMES,
  TOOL_SCHEMAS,
  tokenRequestSchema,
  type ToolName,
} from './requests';
import type { CallsSettings } from './settings';
import { TOOL_HANDLERS, type ToolContext } from './tools';
import { applyWebhookEvent, callIdOfRoom, withAbandoned, type CallerNumber } from './webhook';

export { callsSettings, type CallsSettings } from './settings';
export { CALLS_OFFLINE_GENERATORS } from './analysis';
export { TOOL_NAMES, type ToolName } from './requests';

export interface CallsDependencies {
  settings: CallsSettings;
  storage: StorageClients;
  ai: AiClient;
  /** Outbound email, built on first use (follow-up emails). */
  email: () => Pick<Email, 'provider' | 'send'>;
  clock?: () => Date;
}

/** The stored report: the agent's, its free text redacted, with the time it arrived. */
const storedReportSchema = reportSchema.extend({ receivedAt: z.iso.datetime() });
type StoredReport = z.infer<typeof storedReportSchema>;

const OFF =
  'The call centre is not connected to LiveKit: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET.';
const REPORT_BLOB = (id: string) => `${id}/report.json`;
const ANALYSIS_BLOB = (id: string) => `${id}/analysis.json`;

const newCallId = () => randomBytes(8).toString('hex');

/** Calls that are over take no more tool calls: the agent of a finished call cannot act for it. */
function isOver(record: CallRecord): boolean {
  return (
    record.status === 'ended' ||
    record.status === 'failed' ||
    Boolean(record.callerLeftAt) ||
    Boolean(record.endRequestedAt)
  );
}

/**
 * The AI call centre backend: LiveKit tokens and webhooks, call records, the insurance tools the voice
 * agent calls, its end-of-call report, the analysis and the metrics.
 */
export function createCalls(deps: CallsDependencies) {
  const { settings, storage } = deps;
  const clock = deps.clock ?? (() => new Date());
  const calls = new CallStore(storage.table(TABLES.calls));
  const insurer = new InsurerStore(storage.table(TABLES.callPolicies), storage.table(TABLES.callClaims));
  const transcripts = storage.blobs.getContainerClient(CONTAINERS.callTranscripts);
  const analysisQueue = storage.queues.getQueueClient(QUEUES.callAnalysis);
  let queueReady: Promise<unknown> | undefined;

  let adapter: LiveKit | undefined;
  const livekit = (): LiveKit => {
    if (!settings.livekit) throw new UnavailableError(OFF);
    return (adapter ??= liveKitAdapter(settings.livekit));
  };

  // A keyed hash, so a stored hash cannot be reversed by hashing every possible number.
  const callerNumber = (raw: string): CallerNumber | undefined => {
    const e164 = toE164(raw);
    if (!e164) return undefined;
    const key = settings.livekit?.apiSecret ?? 'calls';
    return { hash: createHmac('sha256', key).update(e164).digest('hex').slice(0, 32), last4: e164.slice(-4) };
  };

  const toolContext: ToolContext = {
    settings,
    insurer,
    livekit,
    send: () => {
      const email = deps.email();
      return email.provider === 'none' ? undefined : (message: OutgoingEmail) => email.send(message);
    },
    clock,
  };

  const recordOf = async (id: string) => {
    const record = await calls.get(id);
    if (!record) throw new NotFoundError(`No call ${id}.`);
    return record;
  };

  const newRecord = (id: string, fields: Partial<CallRecord> & Pick<CallRecord, 'direction' | 'status'>) =>
    ({
      id,
      room: `call-${id}`,
      createdAt: clock().toISOString(),
      verifyFailures: 0,
      claims: [],
      followUps: [],
      toolCalls: [],
      events: [],
      turns: [],
      ...fields,
    }) satisfies CallRecord;

  const logTool = (record: CallRecord, tool: string, status: number): CallRecord => ({
    ...record,
    toolCalls: appendCapped(
      record.toolCalls,
      { tool, at: clock().toISOString(), status },
      RECORD_LIMITS.toolCalls,
    ),
  });

  return {
    offlineGenerators: CALLS_OFFLINE_GENERATORS,

    /**
     * The token endpoint: a new room per call (`call-<id>`), an identity and grants chosen here, and the
     * configured agent dispatched by the room's configuration.
     */
    mintToken: async (body: unknown) => {
      const target = settings.livekit;
      if (!target) throw new UnavailableError(OFF);
      if (body && typeof body === 'object') {
        for (const field of SERVER_CHOSEN_TOKEN_FIELDS) {
          const value = (body as Record<string, unknown>)[field];
          if (value !== undefined && value !== null && value !== '')
            throw new InvalidInputError(field, 'is chosen by the server; leave it out');
        }
      }
      const request = parseInput(tokenRequestSchema, body);
      if (request.agent_name && request.agent_name !== settings.agentName)
        throw new InvalidInputError(
          'agent_name',
          `must be "${settings.agentName}", the agent this app dispatches`,
        );
      const id = newCallId();
      const identity = `caller-${randomBytes(6).toString('hex')}`;
      const record = newRecord(id, { direction: 'inbound', status: 'created', callerIdentity: identity });
      const token = await livekit().mintCallerToken({
        room: record.room,
        identity,
        name: request.participant_name,
        metadata: request.participant_metadata,
        ttlSeconds: settings.tokenTtlMinutes * 60,
        agentName: settings.agentName,
        dispatchMetadata: JSON.stringify({ callId: id, direction: 'inbound' }),
      });
      await calls.create(record);
      const participantName = request.participant_name ?? identity;
      return {
        server_url: target.wsUrl,
        participant_token: token,
        serverUrl: target.wsUrl,
        roomName: record.room,
        participantName,
        participantToken: token,
      };
    },

    /** A LiveKit webhook, verified on its raw body; a redelivered event changes nothing. */
    receiveWebhook: async (rawBody: string, authorization: string | undefined) => {
      const event = await livekit().receiveWebhook(rawBody, authorization);
      const id = callIdOfRoom(event.room?.name);
      if (!id) return { event: event.event, applied: false, reason: 'not a call room' };
      const result = await calls.mutate(id, (record) =>
        applyWebhookEvent(record, event, clock(), callerNumber),
      );
      if (!result) return { event: event.event, applied: false, reason: 'unknown call' };
      return {
        event: event.event,
        applied: result.changed,
        ...(result.changed ? {} : { reason: 'duplicate or not followed' }),
      };
    },

    /** Dispatches the agent into a new room to call `phone` through the SIP trunk. */
    placeOutboundCall: async (body: unknown, idempotencyKey: string | undefined) => {
      const request = parseInput(outboundRequestSchema, body);
      const target = livekit();
      if (!settings.sipTrunkId)
        throw new UnavailableError(
          'Outbound calls are off: set CALLS_SIP_TRUNK_ID to a LiveKit outbound trunk.',
        );
      const phone = toE164(request.phone);
      if (!phone)
        throw new InvalidInputError(
          'body.phone',
          'is not a phone number (E.164 such as +33612345678, or 06 12 34 56 78)',
        );
      if (request.policyNumber && !(await insurer.policy(request.policyNumber.toUpperCase())))
        throw new InvalidInputError('body.policyNumber', 'is not a known policy');
      if (idempotencyKey && idempotencyKey.length > 200)
        throw new InvalidInputError('Idempotency-Key', 'is longer than 200 characters');
      // The same key is the same call: a retried request neither creates nor dials again.
      const id = idempotencyKey
        ? createHash('sha256').update(`outbound\n${idempotencyKey}`).digest('hex').slice(0, 16)
        : newCallId();
      const number = callerNumber(phone);
      const record = newRecord(id, {
        direction: 'outbound',
        status: 'dialing',
        reason: request.reason,
        callerIsSip: true,
        ...(number ? { callerHash: number.hash, callerLast4: number.last4 } : {}),
      });
      if (!(await calls.create(record))) return { id, dispatched: false };
      const metadata = {
        callId: id,
        direction: 'outbound',
        phoneNumber: phone,
        sipTrunkId: settings.sipTrunkId,
        ...(request.policyNumber ? { policyNumber: request.policyNumber.toUpperCase() } : {}),
        reason: request.reason,
      };
      try {
        await target.dispatchAgent(record.room, settings.agentName, JSON.stringify(metadata));
      } catch (error) {
        await calls.mutate(id, (r) => ({ ...r, status: 'failed', endedReason: 'dispatch-failed' }));
        throw error;
      }
      return { id, dispatched: true };
    },

    /** One of the agent's tools; every call, answered or refused, is logged on the record. */
    runTool: async (
      id: string,
      tool: string,
      body: unknown,
      options: { idempotencyKey?: string | undefined } = {},
    ): Promise<{ status: number; body: unknown }> => {
      if (!(TOOL_NAMES as string[]).includes(tool))
        throw new NotFoundError(`No tool "${tool}"; the tools are ${TOOL_NAMES.join(', ')}.`);
      const name = tool as ToolName;
      const call = await recordOf(id);
      if (isOver(call) && name !== 'end-call')
        throw new ConflictError(`Call ${id} is over: its tools are closed.`, 'call_over');
      try {
        const input = parseInput(TOOL_SCHEMAS[name], body);
        const handler = TOOL_HANDLERS[name] as (
          c: CallRecord,
          i: unknown,
          ctx: ToolContext,
          o: { idempotencyKey: string | undefined },
        ) => ReturnType<(typeof TOOL_HANDLERS)[ToolName]>;
        const outcome = await handler(call, input, toolContext, { idempotencyKey: options.idempotencyKey });
        let answer: unknown;
        await calls.mutate(id, (record) => {
          const applied = outcome.apply(record);
          answer = applied.body;
          return logTool(applied.record, name, outcome.status);
        });
        return { status: outcome.status, body: answer };
      } catch (error) {
        if (error instanceof DomainError)
          await calls.mutate(id, (record) => logTool(record, name, error.status)).catch(() => undefined);
        throw error;
      }
    },

    /**
     * The agent's end-of-call report: stored with personal data redacted, then analysed from the queue.
     * The same report sent again is acknowledged without a second analysis.
     */
    storeReport: async (id: string, body: unknown) => {
      const report = parseInput(reportSchema, body);
      const record = await recordOf(id);
      const hash = createHash('sha256').update(JSON.stringify(report)).digest('hex');
      if (record.report)
        if (record.report.hash === hash) return { id, stored: false, duplicate: true };
        else throw new ConflictError(`Call ${id} already has its report.`, 'report_exists');
      const knownBirthDates = record.verifiedPolicy
        ? [(await insurer.policy(record.verifiedPolicy))?.dateOfBirth ?? ''].filter(Boolean)
        : [];
      const receivedAt = clock().toISOString();
      const stored: StoredReport = {
        ...report,
        // The turn before counts as context: "Votre date de naissance ?" makes the answer one.
        transcript: report.transcript.map((t, i) => ({
          ...t,
          text: redactPersonalData(t.text, { knownBirthDates, precedingText: report.transcript[i - 1]?.text })
            .text,
        })),
        receivedAt,
      };
      await ensureContainer(transcripts);
      await writeJsonBlob(transcripts, REPORT_BLOB(id), stored);
      queueReady ??= analysisQueue.createIfNotExists();
      await queueReady;
      await analysisQueue.sendMessage(Buffer.from(id).toString('base64'));
      const firstSpoken = report.transcript.find((t) => t.role === 'assistant')?.at;
      await calls.mutate(id, (r) =>
        withAbandoned({
          ...r,
          report: { receivedAt, hash, turns: report.turns.length, costUsd: report.usage.costUsd ?? 0 },
          turns: report.turns.slice(-RECORD_LIMITS.turns),
          ...(firstSpoken && (!r.agentSpokeAt || firstSpoken < r.agentSpokeAt)
            ? { agentSpokeAt: new Date(firstSpoken).toISOString() }
            : {}),
        }),
      );
      return { id, stored: true, duplicate: false };
    },

    /** The queue: reads a reported call and stores its analysis (run again, it writes the same place). */
    analyseCall: async (message: string): Promise<CallAnalysis> => {
      const id = message.trim();
      const record = await recordOf(id);
      const report = await readJsonBlob(transcripts, REPORT_BLOB(id), storedReportSchema);
      if (!report) throw new NotFoundError(`Call ${id} has no report to analyse.`);
      const result = await deps.ai.complete({
        task: CALL_ANALYSIS_TASK,
        variables: analysisVariables(record, report),
      });
      const analysis: CallAnalysis = {
        ...parseAnalysis(result.text),
        costUsd: result.usage.costUsd,
        analysedAt: clock().toISOString(),
      };
      await writeJsonBlob(transcripts, ANALYSIS_BLOB(id), analysis);
      await calls.mutate(id, (r) => ({ ...r, analysis }));
      return analysis;
    },

    importPolicies: async (bytes: Uint8Array, fileName: string) => {
      const parsed = parsePolicyCsv(bytes, fileName, clock());
      const importedAt = clock().toISOString();
      await insurer.savePolicies(
        parsed.policies.map(({ line: _line, ...policy }) => policy),
        importedAt,
      );
      return { imported: parsed.policies.length, rejected: parsed.rejected };
    },

    listCalls: async (filter: { from?: string; to?: string; status?: string; outcome?: string }) => {
      if (filter.status && !(CALL_STATUSES as readonly string[]).includes(filter.status))
        throw new InvalidInputError('status', `must be one of ${CALL_STATUSES.join(', ')}`);
      if (filter.outcome && !(CALL_OUTCOMES as readonly string[]).includes(filter.outcome))
        throw new InvalidInputError('outcome', `must be one of ${CALL_OUTCOMES.join(', ')}`);
      const range = dateRange(filter);
      const records = await calls.list({ ...filter, ...range });
      return records.map(summaryOf);
    },

    getCall: async (id: string) => {
      const record = await recordOf(id);
      const report = await readJsonBlob(transcripts, REPORT_BLOB(id), storedReportSchema);
      return {
        ...summaryOf(record),
        verified: Boolean(record.verifiedPolicy),
        locked: record.locked ?? false,
        verifyFailures: record.verifyFailures,
        claims: record.claims,
        callback: record.callback ?? null,
        followUps: record.followUps,
        toolCalls: record.toolCalls,
        turns: record.turns,
        transcript: report?.transcript ?? [],
        usage: report?.usage ?? null,
        analysis: record.analysis ?? null,
      };
    },

    metrics: async (filter: { from?: string; to?: string }): Promise<CallMetrics> =>
      callMetrics(await calls.list(dateRange(filter))),
  };
}

/** `from` and `to` as ISO dates (a day alone means its midnight UTC). */
function dateRange(filter: { from?: string; to?: string }): { from?: string; to?: string } {
  const parse = (field: 'from' | 'to') => {
    const value = filter[field];
    if (!value) return undefined;
    const time = Date.parse(value);
    if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time))
      throw new InvalidInputError(field, 'must be an ISO 8601 date (2026-11-23 or 2026-11-23T08:00:00Z)');
    return new Date(time).toISOString();
  };
  const from = parse('from');
  const to = parse('to');
  return { ...(from ? { from } : {}), ...(to ? { to } : {}) };
}

/** What lists show of a call: the caller only as the last four digits of the number. */
function summaryOf(record: CallRecord) {
  return {
    id: record.id,
    direction: record.direction,
    status: record.status,
    caller: record.callerLast4 ? `…${record.callerLast4}` : null,
    createdAt: record.createdAt,
    startedAt: record.startedAt ?? null,
    endedAt: record.endedAt ?? null,
    durationSeconds: record.durationSeconds ?? null,
    endedReason: record.endedReason ?? null,
    abandoned: record.abandoned ?? false,
    transferred: Boolean(record.transferredAt),
    outcome: record.analysis?.outcome ?? null,
    sentiment: record.analysis?.sentiment ?? null,
    summary: record.analysis?.summary ?? null,
  };
}

export type Calls = ReturnType<typeof createCalls>;
