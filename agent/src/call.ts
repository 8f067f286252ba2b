import { z } from 'zod';
import type { CallContext } from './insuranceAgent.js';

/** The dispatch's job metadata, as the backend writes it (token route and outbound route). */
const jobMetadataSchema = z.object({
  callId: z.string().regex(/^[0-9a-f]{16}$/),
  direction: z.enum(['inbound', 'outbound']),
  phoneNumber: z
    .string()
    .regex(/^\+[1-9]\d{7,14}$/)
    .optional(),
  sipTrunkId: z.string().optional(),
  policyNumber: z.string().optional(),
  reason: z.string().max(500).optional(),
});

export interface DispatchedCall extends CallContext {
  dial?: { phoneNumber: string; sipTrunkId: string };
}

/**
 * The call a job is for: its metadata, else the room's name (`call-<id>`, a room made by the token
 * route whose dispatch carries no metadata). A job for another room is refused by name.
 */
export function callOfJob(metadata: string, roomName: string | undefined): DispatchedCall {
  let raw: unknown;
  try {
    raw = metadata ? JSON.parse(metadata) : undefined;
  } catch {
    raw = undefined;
  }
  const parsed = jobMetadataSchema.safeParse(raw);
  if (parsed.success) {
    const { callId, direction, phoneNumber, sipTrunkId, reason } = parsed.data;
    if (direction === 'outbound' && (!phoneNumber || !sipTrunkId))
      throw new Error(`Outbound call ${callId}: the dispatch has no phoneNumber or sipTrunkId.`);
    return {
      callId,
      direction,
      ...(reason ? { reason } : {}),
      ...(direction === 'outbound' && phoneNumber && sipTrunkId ? { dial: { phoneNumber, sipTrunkId } } : {}),
    };
  }
  const fromRoom = /^call-([0-9a-f]{16})$/.exec(roomName ?? '')?.[1];
  if (!fromRoom)
    throw new Error(
      `Room ${roomName ?? '(none)'} is not a call room (call-<id>) and the job has no call metadata.`,
    );
  return { callId: fromRoom, direction: 'inbound' };
}
