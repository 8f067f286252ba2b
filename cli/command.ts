import { DomainError } from '../functions/platform/errors';
import { SettingsError } from '../functions/platform/settings';

/** A command line that cannot be run as given: the message is followed by the usage. */
export class UsageError extends Error {}

/**
 * Runs a command's `main` and turns its outcome into the exit code: the code it returns, or 1 for a
 * failure. Usage, settings and domain errors say what to fix in one message; anything else shows its
 * stack, for a bug report.
 */
export function runCommand(main: (argv: string[]) => Promise<number>, usage: string): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const known =
        error instanceof UsageError || error instanceof DomainError || error instanceof SettingsError;
      const text =
        error instanceof Error ? (known ? error.message : (error.stack ?? error.message)) : String(error);
      process.stderr.write(`${text}\n${error instanceof UsageError ? `${usage}\n` : ''}`);
      process.exitCode = 1;
    },
  );
}

/** The port an environment variable names (0 = a free one), else `fallback`; a UsageError naming it otherwise. */
export function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  const port = raw ? Number(raw) : fallback;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(`${name} must be a port number, not "${raw ?? ''}".`);
  return port;
}
