import { app } from '@azure/functions';
import type { AppRoot } from '../app/root';
import { httpRoute, jsonResponse } from '../platform/http';
import { APP_VERSION } from '../platform/version';

export function registerOps(root: AppRoot): void {
  // Liveness is public by nature: load balancers and uptime checks call it without a key.
  app.http('healthLiveness', {
    route: 'health',
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: httpRoute(() => Promise.resolve(jsonResponse(200, { status: 'ok', version: APP_VERSION }))),
  });

  app.http('healthDetails', {
    route: 'health/details',
    methods: ['GET'],
    authLevel: 'function',
    handler: httpRoute(async () => {
      const report = await root.ops.checkHealth();
      return jsonResponse(report.status === 'down' ? 503 : 200, report);
    }),
  });

  // Daily at 03:30 UTC, off-peak: the response cache only grows otherwise.
  app.timer('aiCachePurge', {
    schedule: '0 30 3 * * *',
    handler: async (_timer, context) => {
      const purged = await root.ops.purgeAiCache();
      context.log(`Purged ${purged} expired AI cache entries.`);
    },
  });
}
