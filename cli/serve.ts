import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  azuriteListening,
  DEFAULT_AZURITE_PORTS,
  startAzurite,
  type AzuriteInstance,
} from '../local/azurite';
import { DEFAULT_MAX_BODY_BYTES, listenHttp, type HostServer } from '../local/httpServer';
import type { LogRecord } from '../local/invoke';
import { LocalHost, readHostJson } from '../local/localHost';

/**
 * `npm run serve`: the Function App on http://127.0.0.1:7071 as `func start` would serve it, through
 * the local host: HTTP routes (`/api/...`), the admin API, the Event Grid webhook, and timers, queue
 * and blob triggers in the background, against Azurite (or the storage AzureWebJobsStorage names).
 */
const APP_ROOT = path.resolve(__dirname, '..', '..');
const DEFAULT_PORT = 7071;

const out = (line: string) => process.stdout.write(`${line}\n`);

const localSettingsSchema = z.object({
  IsEncrypted: z.boolean().optional(),
  Values: z.record(z.string(), z.string()).optional(),
  Host: z.looseObject({ LocalHttpPort: z.number().int().min(0).max(65535).optional() }).optional(),
});

/** `local.settings.json` as Core Tools reads it, else the sample every setting appears in. */
function readLocalSettings(): { file: string; values: Record<string, string>; port?: number } {
  const own = path.join(APP_ROOT, 'local.settings.json');
  const file = existsSync(own) ? own : path.join(APP_ROOT, 'local.settings.sample.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = localSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  if (parsed.data.IsEncrypted)
    throw new Error(`${file} is encrypted; decrypt it with "func settings decrypt".`);
  return { file, values: parsed.data.Values ?? {}, port: parsed.data.Host?.LocalHttpPort };
}

function environment(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/**
 * The storage to use: AzureWebJobsStorage when it names a real account; for development storage, an
 * Azurite already on the default ports, else one started here with its data in `.azurite/`, so state
 * survives a restart and every tool using `UseDevelopmentStorage=true` sees the same storage.
 */
async function resolveStorage(
  settings: Record<string, string>,
): Promise<{ note: string; azurite?: AzuriteInstance }> {
  const configured = settings.AzureWebJobsStorage?.trim() ?? '';
  if (configured !== '' && !/^UseDevelopmentStorage=true;?$/i.test(configured)) {
    return { note: 'Storage: AzureWebJobsStorage' };
  }
  settings.AzureWebJobsStorage = 'UseDevelopmentStorage=true';
  const ports = DEFAULT_AZURITE_PORTS;
  const range = `127.0.0.1:${ports.blob}-${ports.table}`;
  switch (await azuriteListening(ports)) {
    case 'all':
      return { note: `Storage: the Azurite already listening on ${range}` };
    case 'some':
      throw new Error(
        `Only some of ${range} answer: stop what listens there, or start all three Azurite services.`,
      );
    case 'none': {
      const location = path.join(APP_ROOT, '.azurite');
      const azurite = await startAzurite({ location, ports });
      return { note: `Storage: Azurite started on ${range}, data in ${location}`, azurite };
    }
  }
}

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
  const local = readLocalSettings();
  const port = args.port !== undefined ? Number(args.port) : (local.port ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port ${args.port} is not a port.`);
  // As in Core Tools, the process environment wins over the file.
  const settings = { ...local.values, ...environment() };
  out(`Settings: ${path.relative(APP_ROOT, local.file)}, overridden by the environment`);
  const storage = await resolveStorage(settings);
  out(storage.note);

  let host: LocalHost | undefined;
  let server: HostServer | undefined;
  let stopping = false;
  const shutdown = async () => {
    await server?.close();
    await host?.stop();
    await storage.azurite?.stop();
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
