import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DEFAULT_MAX_BODY_BYTES, listenHttp, type HostServer } from '../local/httpServer';
import type { LogRecord } from '../local/invoke';
import { LocalHost, readHostJson } from '../local/localHost';
import { APP_ROOT, localSettings } from './localEnvironment';

/**
 * `npm run serve`: the Function App on http://127.0.0.1:7071 as `func start` would serve it, through
 * the local host: HTTP routes (`/api/...`), the admin API, the Event Grid webhook, and timers, queue
 * and blob triggers in the background, against Azurite (or the storage AzureWebJobsStorage names).
 */
const DEFAULT_PORT = 7071;

const out = (line: string) => process.stdout.write(`${line}\n`);

const QUIET_LEVELS = new Set<LogRecord['level']>(['trace', 'debug', 'none']);

/** One line per record: time, function, level when it is not information, message on one line. */
function printLog(record: LogRecord): void {
  if (QUIET_LEVELS.has(record.level)) return;
  const level = record.level === 'information' ? '' : `${record.level.toUpperCase()} `;
  const message = record.message.replace(/\s*\r?\n\s*/g, ' ⏎ ');
  out(`[${new Date().toISOString()}] ${record.functionName}: ${level}${message}`);
}

function bodyLimit(settings: Record<string, string>): number {
  const limit = Number(settings.FUNCTIONS_REQUEST_BODY_SIZE_LIMIT);
  return Number.isInteger(limit) && limit > 0 ? limit : DEFAULT_MAX_BODY_BYTES;
}

function printFunctions(host: LocalHost, origin: string): void {
  out('Functions:');
  for (const fn of host.functions()) {
    const trigger = Object.values(fn.bindings).find((binding) => /trigger$/i.test(binding.type));
    if (trigger?.type === 'httpTrigger') {
      const methods = Array.isArray(trigger.methods) ? trigger.methods.join(',') : 'GET,POST';
      const route = typeof trigger.route === 'string' ? trigger.route : fn.name;
      const prefix = host.routePrefix ? `/${host.routePrefix}` : '';
      out(`  ${fn.name}: [${methods}] ${origin}${prefix}/${route}`);
    } else if (trigger?.type === 'eventGridTrigger') {
      out(
        `  ${fn.name}: eventGridTrigger, POST ${origin}/runtime/webhooks/eventgrid?functionName=${fn.name}&code=${host.eventGridKey}`,
      );
    } else out(`  ${fn.name}: ${trigger?.type ?? 'no trigger'}`);
  }
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    args: process.argv.slice(2),
    options: {
      port: { type: 'string' },
      key: { type: 'string' },
      'master-key': { type: 'string' },
    },
  });
  const { settings, port: filePort, notes, azurite } = await localSettings();
  const port = args.port !== undefined ? Number(args.port) : (filePort ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port ${args.port} is not a port.`);
  notes.forEach(out);

  let host: LocalHost | undefined;
  let server: HostServer | undefined;
  let stopping = false;
  const shutdown = async () => {
    await server?.close();
    await host?.stop();
    await azurite?.stop();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      out(`${signal} again: exiting without waiting.`);
      process.exit(130);
    }
    out(`${signal}: stopping…`);
    stopping = true;
    void shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`Stopping failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  try {
    host = await LocalHost.start({
      app: { appRoot: APP_ROOT },
      settings,
      hostJson: readHostJson(APP_ROOT),
      functionKey: args.key ?? randomUUID(),
      masterKey: args['master-key'] ?? randomUUID(),
      onLog: printLog,
    });
    server = await listenHttp(host, { port, maxBodyBytes: bodyLimit(settings) });
    await host.startBackground();
  } catch (error) {
    await shutdown().catch(() => undefined);
    throw error;
  }
  printFunctions(host, server.url);
  out(`Function key: ${host.functionKey}`);
  out(`Master key: ${host.masterKey}`);
  out(`Listening on ${server.url}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
