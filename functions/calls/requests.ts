import { z } from 'zod';
import { turnSchema } from './records';

/**
 * The bodies the call centre's routes accept. Every object is strict, so a field the route does not
 * take is refused by name instead of ignored.
 */

const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `is longer than ${max} characters`);

/** Fields of the token-endpoint standard that only the server chooses. */
export const SERVER_CHOSEN_TOKEN_FIELDS = ['room_name', 'participant_identity', 'room_config'] as const;

export const tokenRequestSchema = z
  .object({
    participant_name: text(128).optional(),
    participant_metadata: z.string().max(1024, 'is longer than 1024 characters').optional(),
    agent_name: text(64).optional(),
  })
  .strict();
export type TokenRequest = z.infer<typeof tokenRequestSchema>;

export const outboundRequestSchema = z
  .object({
    phone: text(40),
    policyNumber: text(40).optional(),
    reason: text(500),
  })
  .strict();
export type OutboundRequest = z.infer<typeof outboundRequestSchema>;

/** A date as people type it: `1985-03-12` or `12/03/1985` (also with `-` or `.`). */
const dateText = text(20);

const policyNumber = text(40).transform((s) => s.toUpperCase());

export const TOOL_SCHEMAS = {
  'verify-caller': z.object({ policyNumber, dateOfBirth: dateText }).strict(),
  'policy-summary': z.object({ policyNumber }).strict(),
  'claim-status': z
    .object({
      claimNumber: text(40)
        .transform((s) => s.toUpperCase())
        .optional(),
      policyNumber: policyNumber.optional(),
    })
    .strict()
    .refine((b) => Boolean(b.claimNumber) !== Boolean(b.policyNumber), {
      message: 'give either claimNumber or policyNumber',
    }),
  'create-claim': z
    .object({
      policyNumber,
      dateOfLoss: dateText,
      lossType: text(100),
      description: text(4000),
      location: text(300).optional(),
      injuries: z.boolean().optional(),
      policeReport: text(100).optional(),
      thirdParty: text(500).optional(),
    })
    .strict(),
  'schedule-callback': z
    .object({
      at: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date and time with its offset' }),
      reason: text(500),
    })
    .strict(),
  'send-follow-up': z
    .object({
      kind: z.enum(['claim-confirmation', 'policy-summary', 'callback-confirmation']),
      language: z.enum(['fr', 'en']).optional(),
    })
    .strict(),
  transfer: z.object({ reason: text(500).optional() }).strict(),
  'end-call': z.object({ reason: text(200).optional() }).strict(),
} as const;

export type ToolName = keyof typeof TOOL_SCHEMAS;
export const TOOL_NAMES = Object.keys(TOOL_SCHEMAS) as ToolName[];
export type ToolInput<T extends ToolName> = z.output<(typeof TOOL_SCHEMAS)[T]>;

const isoDate = z.iso.datetime({
  offset: true,
  message: 'must be an ISO 8601 date and time with its offset',
});

export const reportSchema = z
  .object({
    transcript: z
      .array(
        z
          .object({
            role: z.enum(['user', 'assistant', 'system', 'tool']),
            text: z.string().max(20_000, 'is longer than 20000 characters'),
            at: isoDate,
          })
          .strict(),
      )
      .max(2000, 'has more than 2000 entries'),
    turns: z.array(turnSchema.strict()).max(2000, 'has more than 2000 entries').default([]),
    toolCalls: z
      .array(
        z
          .object({
            name: text(60),
            at: isoDate.optional(),
            ok: z.boolean().optional(),
            durationMs: z.number().min(0).optional(),
          })
          .strict(),
      )
      .max(500, 'has more than 500 entries')
      .default([]),
    usage: z
      .object({
        llmPromptTokens: z.number().int().min(0).optional(),
        llmCompletionTokens: z.number().int().min(0).optional(),
        sttSeconds: z.number().min(0).optional(),
        ttsCharacters: z.number().int().min(0).optional(),
        costUsd: z.number().min(0).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();
export type CallReport = z.infer<typeof reportSchema>;
