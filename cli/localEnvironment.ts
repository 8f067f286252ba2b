import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import {
  azuriteListening,
  DEFAULT_AZURITE_PORTS,
  startAzurite,
  type AzuriteInstance,
} from '../local/azurite';

/** The repository root (commands run from `dist/cli/`). */
export const APP_ROOT = path.resolve(__dirname, '..', '..');

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

/**
 * The settings a local command runs with, as `func start` reads them: `local.settings.json` (else the
 * sample), overridden by the process environment; and its storage, Azurite started here when needed
 * (stop it with `azurite.stop()`). `notes` say where each came from.
 */
export async function localSettings(): Promise<{
  settings: Record<string, string>;
  port: number | undefined;
  notes: string[];
  azurite: AzuriteInstance | undefined;
}> {
  const local = readLocalSettings();
  const settings = { ...local.values, ...environment() };
  const storage = await resolveStorage(settings);
  return {
    settings,
    port: local.port,
    notes: [`Settings: ${path.relative(APP_ROOT, local.file)}, overridden by the environment`, storage.note],
    azurite: storage.azurite,
  };
}
