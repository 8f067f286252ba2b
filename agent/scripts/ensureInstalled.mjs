// Installs the agent's own dependencies when they are missing or older than its lock file. The agent is a
// separate package (its image does not carry the Function App, and the app's package does not carry it), so
// the root `npm ci` does not install it; `npm test` and the agent scripts call this first.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const agent = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const lock = path.join(agent, 'package-lock.json');
const installed = path.join(agent, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  process.stderr.write("Installing the agent's dependencies (npm ci in agent/)…\n");
  // --ignore-scripts: onnxruntime-node's install script downloads GPU builds from the network; its CPU
  // binaries (all Silero needs) ship in the package.
  execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: agent,
    stdio: 'inherit',
  });
}
