import { z } from 'zod';
import { InvalidInputError } from '../platform/errors';
import type { SendStatus } from './sendStore';

export const DELIVERY_REPORT_EVENT = 'Microsoft.Communication.EmailDeliveryReportReceived';

/**
 * The record status a report sets. ACS also reports Expanded (a distribution list), Failed,
 * Quarantined and FilteredSpam: those stay in the record's delivery detail, its status unchanged.
 */
export const REPORTED_STATUS: Readonly<Record<string, SendStatus>> = {
  Delivered: 'delivered',
  Bounced: 'bounced',
  Suppressed: 'suppressed',
};

export interface DeliveryReport {
  /** The ACS operation id of the send. */
  operationId: string;
  recipient: string;
  status: string;
  statusMessage: string | undefined;
  internetMessageId: string | undefined;
}

// An event in the Event Grid schema, or a CloudEvent (`type`): the subscription in infra/bicep uses
// the former, but a subscription set up by hand may use the latter.
const event = z.union([
  z.looseObject({ eventType: z.string(), id: z.string().optional(), data: z.unknown() }),
  z
    .looseObject({ type: z.string(), id: z.string().optional(), data: z.unknown() })
    .transform(({ type, ...rest }) => ({ ...rest, eventType: type })),
]);

const reportData = z.looseObject({
  // Our operation ids are UUIDs; the bound keeps the value safe as a table row key.
  messageId: z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'must be an operation id'),
  recipient: z.string().max(320),
  status: z.string().min(1).max(64),
  deliveryStatusDetails: z.looseObject({ statusMessage: z.string().max(2000).optional() }).nullish(),
  internetMessageId: z.string().max(1000).nullish(),
});

/**
 * The delivery report an Event Grid event carries, undefined for an event of another type, and an
 * InvalidInputError naming the field when the event or its data is malformed.
 */
export function readDeliveryReport(input: unknown): DeliveryReport | undefined {
  const parsed = event.safeParse(input);
  if (!parsed.success) {
    throw new InvalidInputError('event', 'is not an Event Grid event (no eventType or type)');
  }
  if (parsed.data.eventType !== DELIVERY_REPORT_EVENT) return undefined;
  const data = reportData.safeParse(parsed.data.data);
  if (!data.success) {
    const [issue] = data.error.issues;
    throw new InvalidInputError(
      ['data', ...(issue?.path.map(String) ?? [])].join('.'),
      issue?.message ?? 'is invalid',
    );
  }
  return {
    operationId: data.data.messageId,
    recipient: data.data.recipient,
    status: data.data.status,
    statusMessage: data.data.deliveryStatusDetails?.statusMessage ?? undefined,
    internetMessageId: data.data.internetMessageId ?? undefined,
  };
}
