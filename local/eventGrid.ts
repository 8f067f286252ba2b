import { z } from 'zod';

/**
 * What the Event Grid extension's webhook (`/runtime/webhooks/eventgrid`) makes of a delivery: the
 * `aeg-event-type` header says whether it is the subscription-validation handshake, events, or an
 * unsubscription; events come in the Event Grid schema (an array) or the CloudEvents schema (one
 * event or an array).
 */

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

const eventGridEvent = z.looseObject({
  id: z.string(),
  eventType: z.string(),
  subject: z.string(),
  eventTime: z.string(),
  data: z.unknown().optional(),
  dataVersion: z.string().optional(),
  topic: z.string().optional(),
  metadataVersion: z.string().optional(),
});

const cloudEvent = z.looseObject({
  specversion: z.string(),
  id: z.string(),
  source: z.string(),
  type: z.string(),
  data: z.unknown().optional(),
});

const anyEvent = z.union([eventGridEvent, cloudEvent]);
export type EventGridEvent = z.infer<typeof anyEvent>;

const delivery = z.union([z.array(anyEvent).min(1), anyEvent.transform((event) => [event])]);

/** A CloudEvent validation carries its data as JSON text; the Event Grid schema as an object. */
const validationData = z.union([
  z.object({ validationCode: z.string() }),
  z
    .string()
    .transform(parseJson)
    .pipe(z.object({ validationCode: z.string() })),
]);

export type EventGridDelivery =
  | { kind: 'validation'; validationCode: string }
  | { kind: 'events'; events: EventGridEvent[] }
  | { kind: 'unsubscribe' }
  | { kind: 'invalid'; message: string };

export function readEventGridDelivery(eventTypeHeader: string | undefined, body: string): EventGridDelivery {
  const kind = (eventTypeHeader ?? '').toLowerCase();
  if (kind === 'unsubscribe') return { kind: 'unsubscribe' };
  if (kind !== 'subscriptionvalidation' && kind !== 'notification') {
    return {
      kind: 'invalid',
      message: 'The aeg-event-type header must be SubscriptionValidation or Notification.',
    };
  }
  const events = delivery.safeParse(parseJson(body));
  if (!events.success) {
    return {
      kind: 'invalid',
      message: 'The body is not an Event Grid or CloudEvents event, nor an array of them.',
    };
  }
  if (kind === 'notification') return { kind: 'events', events: events.data };
  const data = validationData.safeParse(events.data[0]?.data);
  if (!data.success) return { kind: 'invalid', message: 'The validation event has no data.validationCode.' };
  return { kind: 'validation', validationCode: data.data.validationCode };
}
