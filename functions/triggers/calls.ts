import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import type { AppRoot } from '../app/root';
import { parseJsonBytes } from '../platform/input';
import { httpRoute, jsonResponse, readBodyBytes, readUploadedFile } from '../platform/http';
import { QUEUES } from '../platform/storageNames';

/** LiveKit's webhook events are a few kilobytes; tool bodies are short JSON. */
const MAX_WEBHOOK_BYTES = 64 * 1024;
const MAX_JSON_BYTES = 16 * 1024;
/** An end-of-call report: a long call's transcript and its turn metrics. */
const MAX_REPORT_BYTES = 1024 * 1024;
const MAX_POLICIES_BYTES = 10 * 1024 * 1024;

export function registerCalls(root: AppRoot): void {
  const calls = () => root.calls;
  const json = async (request: HttpRequest, max = MAX_JSON_BYTES) =>
    parseJsonBytes(await readBodyBytes(request, max));
  const query = (request: HttpRequest, name: string) => request.query.get(name)?.trim() || undefined;

  app.http('callsToken', {
    route: 'calls/token',
    methods: ['POST'],
    authLevel: 'function',
    handler: httpRoute(async (request) => jsonResponse(201, await calls().mintToken(await json(request)))),
  });

  // Public by nature: LiveKit signs each delivery, and the signature over the raw body is the check.
  app.http('callsLivekitWebhook', {
    route: 'calls/livekit-webhook',
    methods: ['POST'],
    authLevel: 'anonymous',
    handler: httpRoute(async (request, context) => {
      const raw = (await readBodyBytes(request, MAX_WEBHOOK_BYTES)).toString('utf8');
      const result = await calls().receiveWebhook(raw, request.headers.get('authorization') ?? undefined);
      context.log(`LiveKit ${result.event}: ${result.applied ? 'applied' : (result.reason ?? 'ignored')}.`);
      return jsonResponse(200, result);
    }),
  });

  app.http('callsOutbound', {
    route: 'calls/outbound',
    methods: ['POST'],
    authLevel: 'function',
    handler: httpRoute(async (request) => {
      const placed = await calls().placeOutboundCall(
        await json(request),
        request.headers.get('idempotency-key') ?? undefined,
      );
      return jsonResponse(202, placed);
    }),
  });

  app.http('callsPoliciesImport', {
    route: 'calls/policies/import',
    methods: ['POST'],
    authLevel: 'function',
    handler: httpRoute(async (request) => {
      const file = await readUploadedFile(request, MAX_POLICIES_BYTES, 'file', 'policies.csv');
      return jsonResponse(200, await calls().importPolicies(file.bytes, file.name));
    }),
  });

  app.http('callsTool', {
    route: 'calls/{id}/tools/{tool}',
    methods: ['POST'],
    authLevel: 'function',
    handler: httpRoute(async (request) => {
      const answer = await calls().runTool(
        request.params.id ?? '',
        request.params.tool ?? '',
        await json(request),
        {
          idempotencyKey: request.headers.get('idempotency-key') ?? undefined,
        },
      );
      return jsonResponse(answer.status, answer.body);
    }),
  });

  app.http('callsReport', {
    route: 'calls/{id}/report',
    methods: ['POST'],
    authLevel: 'function',
    handler: httpRoute(async (request) =>
      jsonResponse(
        202,
        await calls().storeReport(request.params.id ?? '', await json(request, MAX_REPORT_BYTES)),
      ),
    ),
  });

  app.storageQueue('callsAnalyse', {
    queueName: QUEUES.callAnalysis,
    connection: 'AzureWebJobsStorage',
    handler: async (message: unknown, context: InvocationContext) => {
      const analysis = await calls().analyseCall(String(message));
      context.log(`Call analysed: ${analysis.outcome}, ${analysis.sentiment}.`);
    },
  });

  // Registered before `calls/{id}`, so a host that matches in registration order finds it first.
  app.http('callsMetrics', {
    route: 'calls/metrics',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async (request) =>
      jsonResponse(200, await calls().metrics({ from: query(request, 'from'), to: query(request, 'to') })),
    ),
  });

  app.http('callsList', {
    route: 'calls',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async (request) => {
      const filter = {
        from: query(request, 'from'),
        to: query(request, 'to'),
        status: query(request, 'status'),
        outcome: query(request, 'outcome'),
      };
      return jsonResponse(200, { calls: await calls().listCalls(filter) });
    }),
  });

  app.http('callsGet', {
    route: 'calls/{id}',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async (request) => jsonResponse(200, await calls().getCall(request.params.id ?? ''))),
  });
}
