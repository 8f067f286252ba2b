import { createHash } from 'node:crypto';
import { llm } from '@livekit/agents';
import { z } from 'zod';
import type { Backend, BackendAnswer } from './backend.js';

/** What the agent's tools need: the call they act for, and the backend. */
export interface ToolDeps {
  callId: string;
  backend: Backend;
  /** Called after the backend ended the call (the worker closes the session; the chat stops). */
  onEnded?: () => void;
  /** Each tool call and whether it worked, for the end-of-call report. */
  onToolCall?: (call: { name: string; ok: boolean; at: string; durationMs: number }) => void;
}

/**
 * What the model receives when a tool fails. Expected refusals (not verified, locked, not found, a bad
 * date) carry the backend's code and message so the model can ask again or explain; anything else (the
 * backend down, a timeout) tells it to apologise and offer a person, so the caller is never left in silence.
 */
function failure(answer: Extract<BackendAnswer, { ok: false }>) {
  if (answer.status >= 400 && answer.status < 500 && answer.status !== 408 && answer.status !== 429)
    return { error: answer.code, message: answer.message };
  return {
    error: 'unavailable',
    instruction:
      'The system is not answering. Apologise to the caller, say you cannot do this right now, and offer to transfer them to an adviser.',
  };
}

/** The same claim details give the same key: a repeated tool call files the claim once. */
export function claimKey(callId: string, details: Record<string, unknown>): string {
  const canonical = JSON.stringify(
    Object.keys(details)
      .sort()
      .map((k) => [k, details[k]]),
  );
  return `claim-${createHash('sha256').update(`${callId}\n${canonical}`).digest('hex').slice(0, 32)}`;
}

export function insuranceTools(deps: ToolDeps) {
  const call = async (name: string, tool: string, body: unknown, idempotencyKey?: string) => {
    const started = Date.now();
    const answer = await deps.backend.tool(deps.callId, tool, body, idempotencyKey);
    deps.onToolCall?.({
      name,
      ok: answer.ok,
      at: new Date(started).toISOString(),
      durationMs: Date.now() - started,
    });
    return answer;
  };
  const run = async (name: string, tool: string, body: unknown, idempotencyKey?: string) => {
    const answer = await call(name, tool, body, idempotencyKey);
    return answer.ok ? answer.body : failure(answer);
  };

  return {
    verify_caller: llm.tool({
      description:
        "Checks the caller's identity: their policy number and date of birth. Call it before saying anything about a policy or a claim.",
      parameters: z.object({
        policyNumber: z.string().describe('The policy number as the caller gave it, e.g. HAB-2024-0042'),
        dateOfBirth: z.string().describe('The date of birth, YYYY-MM-DD'),
      }),
      execute: (args) => run('verify_caller', 'verify-caller', args),
    }),
    policy_summary: llm.tool({
      description:
        'The verified policy: product, status, coverage, premium, renewal date, the email on file (masked).',
      parameters: z.object({ policyNumber: z.string() }),
      execute: (args) => run('policy_summary', 'policy-summary', args),
    }),
    claim_status: llm.tool({
      description: 'The status of a claim by its number, or the claims of the verified policy.',
      parameters: z.object({
        claimNumber: z.string().optional().describe('e.g. SIN-2026-…'),
        policyNumber: z.string().optional(),
      }),
      execute: (args) => run('claim_status', 'claim-status', withoutEmpty(args)),
    }),
    create_claim: llm.tool({
      description:
        'Files a first notice of loss. Only after reading every detail back to the caller and hearing them confirm it.',
      parameters: z.object({
        policyNumber: z.string(),
        dateOfLoss: z.string().describe('YYYY-MM-DD'),
        lossType: z.string().describe('e.g. dégât des eaux, vol, incendie, accident'),
        description: z.string().describe('What happened, in the caller’s words, briefly'),
        location: z.string().optional(),
        injuries: z.boolean().optional(),
        policeReport: z.string().optional().describe('The police report number, if any'),
        thirdParty: z.string().optional().describe('Who else was involved, if anyone'),
        confirmedByCaller: z.boolean().describe('True only when the caller confirmed the details read back'),
      }),
      execute: async ({ confirmedByCaller, ...details }) => {
        if (!confirmedByCaller)
          return {
            error: 'not_confirmed',
            message: 'Read every detail back to the caller and ask them to confirm before filing the claim.',
          };
        const body = withoutEmpty(details);
        return run('create_claim', 'create-claim', body, claimKey(deps.callId, body));
      },
    }),
    schedule_callback: llm.tool({
      description: 'Books a callback by an adviser at a time the caller chose.',
      parameters: z.object({
        at: z.string().describe('ISO 8601 date and time with its offset, e.g. 2026-11-25T09:00:00+01:00'),
        reason: z.string(),
      }),
      execute: (args) => run('schedule_callback', 'schedule-callback', args),
    }),
    send_follow_up: llm.tool({
      description:
        'Emails the caller a written follow-up at the address on their policy (never one said in the call). Offer it; send only if they accept.',
      parameters: z.object({
        kind: z.enum(['claim-confirmation', 'policy-summary', 'callback-confirmation']),
        language: z.enum(['fr', 'en']).optional(),
      }),
      execute: (args) => run('send_follow_up', 'send-follow-up', withoutEmpty(args)),
    }),
    transfer_to_human: llm.tool({
      description:
        'Transfers the caller to a human adviser: when they ask for a person, after two misunderstandings, when they are distressed, or when the system fails. Tell them first.',
      parameters: z.object({ reason: z.string() }),
      execute: (args) => run('transfer_to_human', 'transfer', args),
    }),
    end_call: llm.tool({
      description: 'Ends the call, after saying goodbye, once the caller has nothing more to ask.',
      parameters: z.object({ reason: z.string().optional() }),
      execute: async (args) => {
        const answer = await call('end_call', 'end-call', withoutEmpty(args));
        deps.onEnded?.();
        return answer.ok ? answer.body : failure(answer);
      },
    }),
  };
}

/** Optional fields the model filled with empty strings or nulls are left out. */
function withoutEmpty<T extends Record<string, unknown>>(args: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(args).filter(([, v]) => v !== undefined && v !== null && v !== ''),
  ) as Partial<T>;
}
