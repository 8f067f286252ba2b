import {
  AccessToken,
  AgentDispatchClient,
  RoomAgentDispatch,
  RoomConfiguration,
  RoomServiceClient,
  SipClient,
  TwirpError,
  WebhookReceiver,
  type WebhookEvent,
} from 'livekit-server-sdk';
import { errorSummary, UnauthenticatedError, UnavailableError } from '../platform/errors';
import type { LiveKitTarget } from './settings';

export interface CallerToken {
  room: string;
  identity: string;
  name: string | undefined;
  metadata: string | undefined;
  ttlSeconds: number;
  agentName: string;
  /** What the agent receives as its job's metadata. */
  dispatchMetadata: string;
}

/** What the call centre needs of LiveKit: tokens, dispatch, transfer, ending a room, webhook checks. */
export interface LiveKit {
  mintCallerToken(token: CallerToken): Promise<string>;
  dispatchAgent(room: string, agentName: string, metadata: string): Promise<void>;
  transfer(room: string, identity: string, transferTo: string): Promise<void>;
  endRoom(room: string): Promise<void>;
  /** The event, once its JWT signature and body hash check out; else an UnauthenticatedError. */
  receiveWebhook(rawBody: string, authorization: string | undefined): Promise<WebhookEvent>;
}

/** A LiveKit server failure as a domain error: its status and code, never the request's token. */
function unavailable(what: string, error: unknown): UnavailableError {
  const detail =
    error instanceof TwirpError
      ? `${error.status} ${error.code ?? ''} ${error.message}`
      : errorSummary(error);
  return new UnavailableError(`LiveKit could not ${what}: ${detail.replace(/\s+/g, ' ').trim()}.`);
}

export function liveKitAdapter(target: LiveKitTarget): LiveKit {
  const { apiUrl, apiKey, apiSecret } = target;
  const rooms = new RoomServiceClient(apiUrl, apiKey, apiSecret);
  const dispatch = new AgentDispatchClient(apiUrl, apiKey, apiSecret);
  const sip = new SipClient(apiUrl, apiKey, apiSecret);
  const receiver = new WebhookReceiver(apiKey, apiSecret);

  return {
    async mintCallerToken(token) {
      const at = new AccessToken(apiKey, apiSecret, {
        identity: token.identity,
        ttl: token.ttlSeconds,
        ...(token.name ? { name: token.name } : {}),
        ...(token.metadata ? { metadata: token.metadata } : {}),
      });
      // Join this one room, talk and listen; nothing that administers, records or lists rooms.
      at.addGrant({
        roomJoin: true,
        room: token.room,
        canPublish: true,
        canSubscribe: true,
        canPublishData: true,
      });
      // Applies when this participant creates the room, which it does: the room is new.
      at.roomConfig = new RoomConfiguration({
        agents: [new RoomAgentDispatch({ agentName: token.agentName, metadata: token.dispatchMetadata })],
      });
      return at.toJwt();
    },

    async dispatchAgent(room, agentName, metadata) {
      try {
        await dispatch.createDispatch(room, agentName, { metadata });
      } catch (error) {
        throw unavailable('dispatch the agent', error);
      }
    },

    async transfer(room, identity, transferTo) {
      try {
        await sip.transferSipParticipant(room, identity, transferTo, { playDialtone: true });
      } catch (error) {
        throw unavailable('transfer the caller', error);
      }
    },

    async endRoom(room) {
      try {
        await rooms.deleteRoom(room);
      } catch (error) {
        // A room already gone is the end asked for.
        if (error instanceof TwirpError && error.status === 404) return;
        throw unavailable('end the room', error);
      }
    },

    async receiveWebhook(rawBody, authorization) {
      if (!authorization) throw new UnauthenticatedError('The webhook has no Authorization header.');
      try {
        return await receiver.receive(rawBody, authorization);
      } catch {
        // The SDK's reasons (bad signature, expired, hash mismatch) all mean the same to a sender.
        throw new UnauthenticatedError('The webhook signature does not verify against this body.');
      }
    },
  };
}
