import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');
const DIST = path.join(ROOT, 'dist');

/**
 * Brings dist/ up to date before any test runs, since the app tests load the compiled app: `vitest`
 * alone can never test a stale build. The build is incremental and never empties dist/, because another
 * run may be loading it at the same moment; outputs whose source is gone are removed one by one.
 */
export default async function setup(): Promise<void> {
  const tsc = require.resolve('typescript/bin/tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--incremental'], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const { code, stdout } = error as { code?: unknown; stdout?: string };
    // Exit code 2: type errors, but every file was emitted, so dist/ matches the sources; the
    // typecheck step reports the errors. Any other failure leaves dist/ behind the sources.
    if (code !== 2) throw new Error(`The TypeScript build failed:\n${stdout ?? String(error)}`);
    process.stderr.write(`TypeScript build has errors (dist/ was still emitted):\n${stdout ?? ''}\n`);
  }
  removeOrphanOutputs(DIST);
}

/** Deletes compiled files whose .ts source was deleted or moved, so no test can load them. */
function removeOrphanOutputs(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      removeOrphanOutputs(file);
      continue;
    }
    const compiled = /\.js(\.map)?$/.exec(entry.name);
    if (!compiled) continue;
    const source = path.join(ROOT, path.relative(DIST, file)).slice(0, -compiled[0].length) + '.ts';
    if (!existsSync(source)) rmSync(file, { force: true });
  }
}
