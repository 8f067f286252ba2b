import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import type { AppRoot } from '../app/root';
import { UnavailableError } from '../platform/errors';
import { httpRoute, jsonResponse, readJsonBody } from '../platform/http';
import { QUEUES } from '../platform/storageNames';

/** host.json `extensions.queues.maxDequeueCount`: on the last delivery a failure is recorded, not retried. */
const MAX_DEQUEUE_COUNT = 5;
const MAX_APPROVE_BYTES = 64 * 1024;
const OFF = 'The mailbox responder is off: set MAILBOX_IMAP_HOST, MAILBOX_USER and MAILBOX_ADDRESS.';

const approveBody = z
  .object({ text: z.string().max(30_000, 'is longer than 30000 characters').optional() })
  .strict();

export function registerMailbox(root: AppRoot): void {
  const mailbox = () => root.mailbox;

  const poll = async (context: InvocationContext) => {
    if (!mailbox().enabled) {
      context.log(OFF);
      return undefined;
    }
    const result = await mailbox().pollMailbox();
    context.log(
      `Mailbox polled: ${result.polled} new, ${result.queued} queued, ${result.requeued} queued again, ` +
        `${result.tooLarge} too large, ${result.flagged} flagged \\Answered.`,
    );
    return result;
  };

  // One instance at a time, and never while the previous tick runs (the timer's singleton lock). The
  // schedule comes from the validated settings, so a bad one stops the app with the setting's name.
  app.timer('mailboxPoll', {
    schedule: root.settings.mailbox.pollSchedule,
    handler: async (_timer, context) => {
      await poll(context);
    },
  });

  app.storageQueue('mailboxProcess', {
    queueName: QUEUES.mailboxIncoming,
    connection: 'AzureWebJobsStorage',
    handler: async (message: unknown, context: InvocationContext) => {
      const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 1);
      const outcome = await mailbox().processMail(String(message), {
        dequeueCount,
        maxDequeueCount: MAX_DEQUEUE_COUNT,
      });
      context.log(`Mail ${outcome.id}: ${outcome.status}${outcome.reason ? ` (${outcome.reason})` : ''}.`);
    },
  });

  app.http('mailboxMessages', {
    route: 'mailbox/messages',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async (request: HttpRequest) => {
      const query = (name: string) => request.query.get(name)?.trim() || undefined;
      const filter = { status: query('status'), category: query('category'), from: query('from') };
      return jsonResponse(200, { messages: await mailbox().listMessages(filter) });
    }),
  });

  // The routes on one mail: its id from the route, the use case's view as the answer.
  const onMail = (
    name: string,
    suffix: string,
    method: 'GET' | 'POST',
    run: (id: string, request: HttpRequest) => Promise<unknown>,
  ) =>
    app.http(name, {
      route: `mailbox/messages/{id}${suffix}`,
      methods: [method],
      authLevel: 'function',
      handler: httpRoute(async (request: HttpRequest) =>
        jsonResponse(200, await run(request.params.id ?? '', request)),
      ),
    });
  onMail('mailboxMessage', '', 'GET', (id) => mailbox().getMessage(id));
  onMail('mailboxApprove', '/approve', 'POST', async (id, request) => {
    const body = await readJsonBody(request, MAX_APPROVE_BYTES, approveBody);
    return mailbox().approve(id, body.text);
  });
  onMail('mailboxReject', '/reject', 'POST', (id) => mailbox().reject(id));

  app.http('mailboxPollNow', {
    route: 'mailbox/poll',
    methods: ['POST'],
    authLevel: 'function',
    handler: httpRoute(async (_request: HttpRequest, context: InvocationContext) => {
      const result = await poll(context);
      if (!result) throw new UnavailableError(OFF);
      return jsonResponse(200, result);
    }),
  });

  app.http('mailboxStats', {
    route: 'mailbox/stats',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async () => jsonResponse(200, await mailbox().stats())),
  });
}
