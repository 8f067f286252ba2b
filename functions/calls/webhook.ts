import { DisconnectReason, ParticipantInfo_Kind, TrackType } from '@livekit/protocol';
import type { WebhookEvent } from 'livekit-server-sdk';
import { appendCapped, RECORD_LIMITS, type CallRecord } from './records';

/** The call a room belongs to: every room the suite creates is `call-<id>`. */
export function callIdOfRoom(room: string | undefined): string | undefined {
  return /^call-([a-z0-9]{16})$/.exec(room ?? '')?.[1];
}

export interface CallerNumber {
  hash: string;
  last4: string;
}

/** The event's time (LiveKit sends Unix seconds), else the time it arrived. */
function eventTime(event: WebhookEvent, now: Date): string {
  const seconds = Number(event.createdAt ?? 0n);
  return (seconds > 0 ? new Date(seconds * 1000) : now).toISOString();
}

const ENDED_REASONS: Partial<Record<DisconnectReason, string>> = {
  [DisconnectReason.CLIENT_INITIATED]: 'caller-hung-up',
  [DisconnectReason.PARTICIPANT_REMOVED]: 'removed',
  [DisconnectReason.ROOM_DELETED]: 'room-deleted',
  [DisconnectReason.ROOM_CLOSED]: 'room-closed',
  [DisconnectReason.USER_UNAVAILABLE]: 'no-answer',
  [DisconnectReason.USER_REJECTED]: 'rejected',
  [DisconnectReason.SIP_TRUNK_FAILURE]: 'sip-trunk-failure',
  [DisconnectReason.CONNECTION_TIMEOUT]: 'connection-timeout',
  [DisconnectReason.MEDIA_FAILURE]: 'media-failure',
  [DisconnectReason.JOIN_FAILURE]: 'join-failure',
};

/** Whether the caller left before the agent said anything (by its first audio track or its transcript). */
export function withAbandoned(record: CallRecord): CallRecord {
  if (!record.callerLeftAt) return record;
  const abandoned = !record.agentSpokeAt || record.agentSpokeAt > record.callerLeftAt;
  return { ...record, abandoned };
}

function ended(record: CallRecord, at: string, reason: string): CallRecord {
  const endedAt = record.endedAt ?? at;
  const start = record.startedAt ?? record.callerJoinedAt ?? record.createdAt;
  return {
    ...record,
    status: record.status === 'failed' ? 'failed' : 'ended',
    endedAt,
    endedReason: record.endedReason ?? reason,
    durationSeconds: Math.max(0, Math.round((Date.parse(endedAt) - Date.parse(start)) / 1000)),
  };
}

/**
 * The call record after one LiveKit event, or undefined when the event changes nothing (a redelivery,
 * or an event the record does not follow). Applied under the record's ETag, so two deliveries of the
 * same event, even at once, are applied once.
 */
export function applyWebhookEvent(
  record: CallRecord,
  event: WebhookEvent,
  now: Date,
  callerNumber: (e164: string) => CallerNumber | undefined,
): CallRecord | undefined {
  if (!event.id || record.events.includes(event.id)) return undefined;
  const at = eventTime(event, now);
  const participant = event.participant;
  const isAgent = participant?.kind === ParticipantInfo_Kind.AGENT;
  let next: CallRecord = record;
  switch (event.event) {
    case 'room_started':
      next = { ...record, startedAt: record.startedAt ?? at };
      break;
    case 'participant_joined': {
      if (!participant) return undefined;
      if (isAgent) {
        next = { ...record, agentJoinedAt: record.agentJoinedAt ?? at };
        break;
      }
      const isSip = participant.kind === ParticipantInfo_Kind.SIP;
      const number = isSip ? callerNumber(participant.attributes['sip.phoneNumber'] ?? '') : undefined;
      next = {
        ...record,
        status: record.status === 'ended' || record.status === 'failed' ? record.status : 'active',
        callerJoinedAt: record.callerJoinedAt ?? at,
        callerIdentity: participant.identity,
        callerIsSip: isSip,
        ...(number ? { callerHash: number.hash, callerLast4: number.last4 } : {}),
      };
      break;
    }
    case 'track_published':
      // The agent's first audio track: it starts speaking (its greeting) as it publishes.
      if (!isAgent || event.track?.type !== TrackType.AUDIO) return undefined;
      next = { ...record, agentSpokeAt: record.agentSpokeAt ?? at };
      break;
    case 'participant_left':
    case 'participant_connection_aborted': {
      if (!participant || isAgent || participant.identity !== record.callerIdentity) return undefined;
      const reason =
        event.event === 'participant_connection_aborted'
          ? 'connection-aborted'
          : (ENDED_REASONS[participant.disconnectReason] ?? 'caller-left');
      next = {
        ...record,
        callerLeftAt: record.callerLeftAt ?? at,
        endedReason: record.endedReason ?? reason,
      };
      break;
    }
    case 'room_finished':
      next = ended(record, at, 'room-finished');
      break;
    default:
      return undefined;
  }
  return withAbandoned({ ...next, events: appendCapped(record.events, event.id, RECORD_LIMITS.events) });
}
