import { app, type EventGridEvent, type InvocationContext } from '@azure/functions';
import type { AppRoot } from '../app/root';

export function registerEmail(root: AppRoot): void {
  // ACS publishes Microsoft.Communication.EmailDeliveryReportReceived through Event Grid (the
  // subscription is in infra/bicep/modules/emailEvents.bicep). A malformed event throws, so the
  // failure is logged and Event Grid retries or dead-letters it; anything else is acknowledged.
  app.eventGrid('emailDeliveryReport', {
    handler: async (event: EventGridEvent, context: InvocationContext) => {
      const record = await root.email.applyDeliveryReport(event);
      if (record) {
        context.log(`Email ${record.key}: delivery report recorded, status ${record.status}.`);
      } else {
        context.log(
          `Ignored Event Grid event ${event.id} (${event.eventType}): not a delivery report of an email this app sent.`,
        );
      }
    },
  });
}
