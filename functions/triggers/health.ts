import { app } from '@azure/functions';
import { aiProbes } from '../ops/aiProbes';
import { checkDependencies } from '../ops/health';
import { storageProbes } from '../ops/storageProbes';
import { jsonResponse } from '../platform/http';
import { redact, settings, storage } from '../platform/runtime';
import { APP_VERSION } from '../platform/version';

// Liveness is public by nature: load balancers and uptime checks call it without a key.
app.http('healthLiveness', {
  route: 'health',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: () => Promise.resolve(jsonResponse(200, { status: 'ok', version: APP_VERSION })),
});

app.http('healthDetails', {
  route: 'health/details',
  methods: ['GET'],
  authLevel: 'function',
  handler: async () => {
    const report = await checkDependencies([...storageProbes(storage), ...aiProbes(settings.ai)], {
      version: APP_VERSION,
      timeoutMs: settings.healthTimeoutMs,
      redact,
    });
    return jsonResponse(report.status === 'down' ? 503 : 200, report);
  },
});
