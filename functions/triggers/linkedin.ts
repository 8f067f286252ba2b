import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { AppRoot } from '../app/root';
import { LINKEDIN_DURABLE } from '../linkedin';
import { durableOrchestrations, registerActivity, registerOrchestration } from '../platform/durable';
import { UnavailableError } from '../platform/errors';
import { httpRoute, jsonResponse, readBodyBytes } from '../platform/http';
import { parseJsonBytes } from '../platform/input';

const durableClient = df.input.durableClient();
const orchestrationsOf = (context: InvocationContext) => durableOrchestrations(df.getClient(context));

/** A post's JSON, with an image or a thumbnail as base64: LinkedIn's images are at most a few MB. */
const MAX_POST_BYTES = 12 * 1024 * 1024;
const MAX_JSON_BYTES = 64 * 1024;
const OFF = 'LinkedIn is off: set LINKEDIN_CLIENT_ID and its settings.';

export function registerLinkedIn(root: AppRoot): void {
  const linkedin = () => root.linkedin;
  const json = async (request: HttpRequest, max = MAX_JSON_BYTES) =>
    parseJsonBytes(await readBodyBytes(request, max));

  registerOrchestration(LINKEDIN_DURABLE.publish, (context, input) =>
    linkedin().orchestrators.publish(context, input),
  );
  registerActivity(LINKEDIN_DURABLE.uploadMedia, (input) => linkedin().activities.uploadMedia(input));
  registerActivity(LINKEDIN_DURABLE.createPost, (input) => linkedin().activities.createPost(input));

  // One instance at a time (the timer's singleton lock); each due post is claimed under its ETag anyway.
  app.timer('linkedinPublishDue', {
    schedule: root.settings.linkedin.publishSchedule,
    extraInputs: [durableClient],
    handler: async (_timer, context) => {
      if (!linkedin().enabled) return;
      const result = await linkedin().publishDue(orchestrationsOf(context));
      if (result.started || result.paused || result.resumed)
        context.log(
          `LinkedIn: ${result.started} started, ${result.paused} paused, ${result.resumed} resumed.`,
        );
    },
  });

  app.timer('linkedinExpiryReminder', {
    schedule: '0 0 8 * * *',
    handler: async (_timer, context) => {
      if (!linkedin().enabled) return;
      const { sent } = await linkedin().remindExpiring();
      if (sent) context.log(`LinkedIn: ${sent} expiry reminder(s) sent.`);
    },
  });

  app.http('linkedinConnect', {
    route: 'linkedin/connect',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async () => {
      const { url } = await linkedin().connect();
      return { status: 302, headers: { Location: url, 'Cache-Control': 'no-store' } };
    }),
  });

  // Public by nature: LinkedIn redirects the member's browser here; only a stored, unspent state is accepted.
  app.http('linkedinCallback', {
    route: 'linkedin/callback',
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: httpRoute(async (request) => {
      const q = (name: string) => request.query.get(name)?.slice(0, 2000) || undefined;
      const page = await linkedin().callback({
        code: q('code'),
        state: q('state'),
        error: q('error'),
        errorDescription: q('error_description'),
      });
      return {
        status: page.status,
        body: page.html,
        headers: {
          'Content-Type': 'text/html; charset=utf-8',
          'Cache-Control': 'no-store',
          'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
        },
      };
    }),
  });

  app.http('linkedinAccounts', {
    route: 'linkedin/accounts',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async () => jsonResponse(200, { accounts: await linkedin().listAccounts() })),
  });
  app.http('linkedinAccountTest', {
    route: 'linkedin/accounts/{id}/test',
    methods: ['POST'],
    authLevel: 'function',
    handler: httpRoute(async (request) =>
      jsonResponse(200, await linkedin().testAccount(request.params.id ?? '')),
    ),
  });
  app.http('linkedinAccountDelete', {
    route: 'linkedin/accounts/{id}',
    methods: ['DELETE'],
    authLevel: 'function',
    handler: httpRoute(async (request) =>
      jsonResponse(200, await linkedin().disconnect(request.params.id ?? '')),
    ),
  });

  app.http('linkedinPostCreate', {
    route: 'linkedin/posts',
    methods: ['POST'],
    authLevel: 'function',
    handler: httpRoute(async (request) =>
      jsonResponse(201, await linkedin().createPost(await json(request, MAX_POST_BYTES))),
    ),
  });
  app.http('linkedinPostList', {
    route: 'linkedin/posts',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async (request) =>
      jsonResponse(200, {
        posts: await linkedin().listPosts(request.query.get('status')?.trim() || undefined),
      }),
    ),
  });
  app.http('linkedinPost', {
    route: 'linkedin/posts/{id}',
    methods: ['GET', 'PATCH', 'DELETE'],
    authLevel: 'function',
    handler: httpRoute(async (request) => {
      const id = request.params.id ?? '';
      if (request.method === 'PATCH')
        return jsonResponse(200, await linkedin().updatePost(id, await json(request, MAX_POST_BYTES)));
      if (request.method === 'DELETE') return jsonResponse(200, await linkedin().cancelPost(id));
      return jsonResponse(200, await linkedin().getPost(id));
    }),
  });
  app.http('linkedinPostPublish', {
    route: 'linkedin/posts/{id}/publish',
    methods: ['POST'],
    authLevel: 'function',
    extraInputs: [durableClient],
    handler: httpRoute(async (request, context) =>
      jsonResponse(202, await linkedin().publishNow(request.params.id ?? '', orchestrationsOf(context))),
    ),
  });
  app.http('linkedinPostConfirm', {
    route: 'linkedin/posts/{id}/confirm',
    methods: ['POST'],
    authLevel: 'function',
    handler: httpRoute(async (request) =>
      jsonResponse(200, await linkedin().confirmPost(request.params.id ?? '', await json(request))),
    ),
  });
  app.http('linkedinInboxAdd', {
    route: 'linkedin/inbox',
    methods: ['POST'],
    authLevel: 'function',
    handler: httpRoute(async (request) => jsonResponse(201, await linkedin().inbox.add(await json(request)))),
  });
  app.http('linkedinInboxList', {
    route: 'linkedin/inbox',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async (request) => {
      const q = (name: string) => request.query.get(name)?.trim() || undefined;
      return jsonResponse(200, {
        items: await linkedin().inbox.list({ status: q('status'), priority: q('priority') }),
      });
    }),
  });
  app.http('linkedinInboxItem', {
    route: 'linkedin/inbox/{id}',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async (request) =>
      jsonResponse(200, await linkedin().inbox.get(request.params.id ?? '')),
    ),
  });
  app.http('linkedinInboxApprove', {
    route: 'linkedin/inbox/{id}/approve',
    methods: ['POST'],
    authLevel: 'function',
    handler: httpRoute(async (request) =>
      jsonResponse(200, await linkedin().inbox.approve(request.params.id ?? '', await json(request))),
    ),
  });
  app.http('linkedinInboxReject', {
    route: 'linkedin/inbox/{id}/reject',
    methods: ['POST'],
    authLevel: 'function',
    handler: httpRoute(async (request) =>
      jsonResponse(200, await linkedin().inbox.reject(request.params.id ?? '')),
    ),
  });
  // Public by nature: LinkedIn's organization notifications, verified by X-LI-Signature on the raw body.
  app.http('linkedinWebhook', {
    route: 'linkedin/webhook',
    methods: ['GET', 'POST'],
    authLevel: 'anonymous',
    handler: httpRoute(async (request) => {
      if (request.method === 'GET')
        return jsonResponse(200, linkedin().inbox.challenge(request.query.get('challengeCode')));
      const raw = await readBodyBytes(request, MAX_JSON_BYTES);
      return jsonResponse(
        200,
        await linkedin().inbox.notification(raw, request.headers.get('x-li-signature') ?? undefined),
      );
    }),
  });
  app.http('linkedinDraft', {
    route: 'linkedin/drafts',
    methods: ['POST'],
    authLevel: 'function',
    handler: httpRoute(async (request) => jsonResponse(200, await linkedin().draftPost(await json(request)))),
  });
  app.http('linkedinAnalytics', {
    route: 'linkedin/analytics',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async (request) => {
      const q = (name: string) => request.query.get(name)?.trim() || undefined;
      return jsonResponse(200, await linkedin().analytics({ from: q('from'), to: q('to') }));
    }),
  });
  app.timer('linkedinAnalyticsRefresh', {
    schedule: '0 30 6 * * *',
    handler: async (_timer, context) => {
      if (!linkedin().enabled) return;
      const result = await linkedin().refreshMetrics();
      context.log(`LinkedIn metrics: ${result.refreshed} refreshed, ${result.failed} failed.`);
    },
  });

  app.http('linkedinSchedule', {
    route: 'linkedin/schedule',
    methods: ['GET', 'PUT'],
    authLevel: 'function',
    handler: httpRoute(async (request) => {
      if (!linkedin().enabled) throw new UnavailableError(OFF);
      return jsonResponse(
        200,
        request.method === 'PUT'
          ? await linkedin().setSchedule(await json(request))
          : await linkedin().getSchedule(),
      );
    }),
  });
}
