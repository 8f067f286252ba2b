import { createHash } from 'node:crypto';
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  LockedError,
  NotFoundError,
  UnavailableError,
} from '../platform/errors';
import { isoDate } from './formats';
import { followUpEmail, maskEmail } from './followUp';
import type { Claim, InsurerStore } from './insurer';
import type { LiveKit } from './livekit';
import type { CallRecord } from './records';
import type { ToolInput, ToolName } from './requests';
import type { CallsSettings } from './settings';
import type { OutgoingEmail } from '../email';

/** The insurer's time zone: callback times in follow-up emails are written in it. */
const INSURER_TIME_ZONE = 'Europe/Paris';
const DAY_MS = 24 * 60 * 60_000;
const MAX_CALLBACK_DAYS = 30;
const MAX_LOSS_AGE_YEARS = 10;
const MAX_KEY_CHARS = 200;

/** What a tool answers, and how it changes the call record (applied under its ETag, with the log entry). */
export interface ToolOutcome {
  status: 200 | 201;
  apply: (record: CallRecord) => { record: CallRecord; body: unknown };
}

export interface ToolContext {
  settings: CallsSettings;
  insurer: InsurerStore;
  livekit: () => LiveKit;
  /** Outbound email, or undefined when none is configured. */
  send: () => ((message: OutgoingEmail) => Promise<unknown>) | undefined;
  clock: () => Date;
}

type Handler<T extends ToolName> = (
  call: CallRecord,
  input: ToolInput<T>,
  context: ToolContext,
  options: { idempotencyKey: string | undefined },
) => Promise<ToolOutcome>;

const notVerified = (what: string) =>
  new ForbiddenError('not_verified', `Verify the caller (verify-caller) for ${what} before asking about it.`);

function requireVerified(call: CallRecord, policyNumber: string): void {
  if (call.verifiedPolicy !== policyNumber) throw notVerified(`policy ${policyNumber}`);
}

const unchanged = (body: unknown) => (record: CallRecord) => ({ record, body });

function locked(max: number) {
  return new LockedError(
    'verification_locked',
    `The caller failed verification ${max} times: this call can no longer verify; transfer to a person.`,
  );
}

function dayDate(field: string, value: string): string {
  const date = isoDate(value);
  if (!date) throw new InvalidInputError(field, `"${value}" is not a date (YYYY-MM-DD or DD/MM/YYYY)`);
  return date;
}

const verifyCaller: Handler<'verify-caller'> = async (call, input, { settings, insurer }) => {
  const max = settings.maxVerifyAttempts;
  if (call.locked) throw locked(max);
  const dateOfBirth = dayDate('body.dateOfBirth', input.dateOfBirth);
  const policy = await insurer.policy(input.policyNumber);
  // One answer for an unknown policy and a wrong date: a caller cannot probe which policies exist.
  const match = policy?.dateOfBirth === dateOfBirth;
  return {
    status: 200,
    apply: (record) => {
      if (record.locked) throw locked(max);
      if (match) {
        return {
          record: { ...record, verifiedPolicy: input.policyNumber },
          body: { verified: true, attemptsLeft: max - record.verifyFailures },
        };
      }
      const failures = record.verifyFailures + 1;
      return {
        record: { ...record, verifyFailures: failures, ...(failures >= max ? { locked: true } : {}) },
        body: { verified: false, attemptsLeft: Math.max(0, max - failures) },
      };
    },
  };
};

const policySummary: Handler<'policy-summary'> = async (call, input, { insurer }) => {
  requireVerified(call, input.policyNumber);
  const policy = await insurer.policy(input.policyNumber);
  if (!policy) throw new NotFoundError(`No policy ${input.policyNumber}.`);
  return {
    status: 200,
    apply: unchanged({
      policyNumber: policy.policyNumber,
      holderName: policy.holderName,
      product: policy.product,
      status: policy.status,
      coverage: policy.coverage,
      premium: policy.premium,
      renewalDate: policy.renewalDate,
      emailOnFile: maskEmail(policy.email),
    }),
  };
};

const claimView = (claim: Claim) => ({
  claimNumber: claim.claimNumber,
  policyNumber: claim.policyNumber,
  status: claim.status,
  dateOfLoss: claim.dateOfLoss,
  lossType: claim.lossType,
  createdAt: claim.createdAt,
});

const claimStatus: Handler<'claim-status'> = async (call, input, { insurer }) => {
  if (input.policyNumber) {
    requireVerified(call, input.policyNumber);
    const claims = await insurer.claimsOf(input.policyNumber);
    return { status: 200, apply: unchanged({ claims: claims.map(claimView) }) };
  }
  if (!call.verifiedPolicy) throw notVerified(`claim ${input.claimNumber ?? ''}`);
  const claim = input.claimNumber ? await insurer.claim(input.claimNumber) : undefined;
  // Another policy's claim is answered as unknown: nothing is said about policies not verified.
  if (!claim || claim.policyNumber !== call.verifiedPolicy)
    throw new NotFoundError(`No claim ${input.claimNumber ?? ''} on the verified policy.`);
  return { status: 200, apply: unchanged(claimView(claim)) };
};

/** The same call and key always give the same number, so a retried request finds its claim. */
function claimNumberOf(call: CallRecord, key: string): string {
  const digest = createHash('sha256').update(`${call.id}\n${key}`).digest('hex').slice(0, 10).toUpperCase();
  return `SIN-${call.createdAt.slice(0, 4)}-${digest}`;
}

const createClaim: Handler<'create-claim'> = async (call, input, { insurer, clock }, { idempotencyKey }) => {
  if (!idempotencyKey) throw new InvalidInputError('Idempotency-Key', 'header is required to create a claim');
  if (idempotencyKey.length > MAX_KEY_CHARS)
    throw new InvalidInputError('Idempotency-Key', `is longer than ${MAX_KEY_CHARS} characters`);
  requireVerified(call, input.policyNumber);
  const dateOfLoss = dayDate('body.dateOfLoss', input.dateOfLoss);
  const today = clock().toISOString().slice(0, 10);
  if (dateOfLoss > today) throw new InvalidInputError('body.dateOfLoss', 'is in the future');
  if (Number(today.slice(0, 4)) - Number(dateOfLoss.slice(0, 4)) > MAX_LOSS_AGE_YEARS)
    throw new InvalidInputError('body.dateOfLoss', `is more than ${MAX_LOSS_AGE_YEARS} years ago`);
  const { claim } = await insurer.createClaim({
    claimNumber: claimNumberOf(call, idempotencyKey),
    policyNumber: input.policyNumber,
    status: 'received',
    dateOfLoss,
    lossType: input.lossType,
    description: input.description,
    ...(input.location ? { location: input.location } : {}),
    ...(input.injuries !== undefined ? { injuries: input.injuries } : {}),
    ...(input.policeReport ? { policeReport: input.policeReport } : {}),
    ...(input.thirdParty ? { thirdParty: input.thirdParty } : {}),
    callId: call.id,
    idempotencyKey,
    createdAt: clock().toISOString(),
  });
  return {
    status: 201,
    apply: (record) => ({
      record: record.claims.includes(claim.claimNumber)
        ? record
        : { ...record, claims: [...record.claims, claim.claimNumber] },
      body: { claimNumber: claim.claimNumber, status: claim.status },
    }),
  };
};

const scheduleCallback: Handler<'schedule-callback'> = (_call, input, { clock }) => {
  const at = new Date(input.at);
  const now = clock().getTime();
  if (at.getTime() <= now) throw new InvalidInputError('body.at', 'is not in the future');
  if (at.getTime() > now + MAX_CALLBACK_DAYS * DAY_MS)
    throw new InvalidInputError('body.at', `is more than ${MAX_CALLBACK_DAYS} days ahead`);
  const callback = { at: at.toISOString(), reason: input.reason };
  return Promise.resolve({
    status: 200,
    apply: (record) => ({ record: { ...record, callback }, body: { scheduledAt: callback.at } }),
  });
};

const sendFollowUp: Handler<'send-follow-up'> = async (call, input, context) => {
  if (!call.verifiedPolicy) throw notVerified('the policy');
  const policy = await context.insurer.policy(call.verifiedPolicy);
  if (!policy) throw new NotFoundError(`No policy ${call.verifiedPolicy}.`);
  const to = maskEmail(policy.email);
  if (call.followUps.includes(input.kind)) return { status: 200, apply: unchanged({ sent: true, to }) };
  const claimNumber = call.claims.at(-1);
  const claim = claimNumber ? await context.insurer.claim(claimNumber) : undefined;
  if (input.kind === 'claim-confirmation' && !claim)
    throw new ConflictError('No claim was filed in this call: nothing to confirm.', 'nothing_to_confirm');
  if (input.kind === 'callback-confirmation' && !call.callback)
    throw new ConflictError(
      'No callback was scheduled in this call: nothing to confirm.',
      'nothing_to_confirm',
    );
  const send = context.send();
  if (!send)
    throw new UnavailableError('Outbound email is not configured (EMAIL_PROVIDER and EMAIL_SENDER).');
  const email = followUpEmail(input.kind, {
    policy,
    claim,
    callbackAt: call.callback?.at,
    language: input.language ?? 'fr',
    timeZone: INSURER_TIME_ZONE,
  });
  // The address is the policy's, never one dictated in the call; the key makes it one email per call and kind.
  await send({
    key: `call-follow-up:${call.id}:${input.kind}`,
    kind: 'call-follow-up',
    to: policy.email,
    ...email,
  });
  return {
    status: 200,
    apply: (record) => ({
      record: record.followUps.includes(input.kind)
        ? record
        : { ...record, followUps: [...record.followUps, input.kind] },
      body: { sent: true, to },
    }),
  };
};

const transfer: Handler<'transfer'> = async (call, _input, context) => {
  const to = context.settings.transferTo;
  if (!to) throw new UnavailableError('Transfers are off: set CALLS_TRANSFER_TO to the human desk.');
  if (call.transferredAt) return { status: 200, apply: unchanged({ transferred: true }) };
  if (!call.callerIsSip || !call.callerIdentity)
    throw new ConflictError('Only a caller on the phone (SIP) can be transferred.', 'not_sip');
  await context.livekit().transfer(call.room, call.callerIdentity, to);
  const at = context.clock().toISOString();
  return {
    status: 200,
    apply: (record) => ({
      record: { ...record, transferredAt: record.transferredAt ?? at },
      body: { transferred: true },
    }),
  };
};

const endCall: Handler<'end-call'> = async (call, _input, context) => {
  // The end is recorded whatever LiveKit says: the agent leaves anyway, and the room then empties.
  let roomClosed = false;
  if (context.settings.livekit) {
    try {
      await context.livekit().endRoom(call.room);
      roomClosed = true;
    } catch (error) {
      if (!(error instanceof UnavailableError)) throw error;
    }
  }
  const at = context.clock().toISOString();
  return {
    status: 200,
    apply: (record) => ({
      record: { ...record, endRequestedAt: record.endRequestedAt ?? at },
      body: { ended: true, roomClosed },
    }),
  };
};

export const TOOL_HANDLERS: { [T in ToolName]: Handler<T> } = {
  'verify-caller': verifyCaller,
  'policy-summary': policySummary,
  'claim-status': claimStatus,
  'create-claim': createClaim,
  'schedule-callback': scheduleCallback,
  'send-follow-up': sendFollowUp,
  transfer,
  'end-call': endCall,
};
