import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ScriptError, startScriptedLlm, type ScriptedLlmLogEntry } from '../local/servers/scriptedLlm';
import { portFromEnv, runCommand, UsageError } from './command';

/**
 * `npm run agent:llm-local [-- dialogue.json]`: a local OpenAI-compatible chat-completions server that
 * plays a scripted dialogue, tool calls included (samples/agent/dialogue.json by default), on port 7075
 * (SCRIPTED_LLM_PORT), so `npm run agent:chat` can verify a caller and file a claim with no model and no
 * network. It prints the agent's settings, then one line per request — the rule that answered, never
 * the conversation — until Ctrl-C.
 */
const APP_ROOT = path.resolve(__dirname, '..', '..');
const DEFAULT_SCRIPT = path.join(APP_ROOT, 'samples', 'agent', 'dialogue.json');
const DEFAULT_PORT = 7075;
const API_KEY = 'local';
const MODEL = 'scripted';
const USAGE = 'Usage: npm run agent:llm-local [-- <script.json>]   (port: SCRIPTED_LLM_PORT, default 7075)';
const out = (line: string) => process.stdout.write(`${line}\n`);

function show(entry: ScriptedLlmLogEntry): void {
  const at = entry.at.toISOString().slice(11, 19);
  const { decision } = entry;
  const rule = decision?.rule
    ? `rule ${decision.rule.index}${decision.rule.name ? ` (${decision.rule.name})` : ''}`
    : '';
  const what = !decision
    ? ''
    : decision.outcome === 'rule'
      ? rule
      : decision.outcome === 'fallback'
        ? 'fallback: no rule matched'
        : `fallback: ${rule} calls a tool the request does not offer`;
  out(
    `${at} ${entry.status} ${entry.method} ${entry.path}${entry.stream ? ' stream' : ''}${what ? ` ${what}` : ''}`,
  );
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(USAGE);
    return 0;
  }
  if (argv.length > 1 || argv.some((arg) => arg.startsWith('-')))
    throw new UsageError(`Unexpected arguments: ${argv.join(' ')}`);
  const port = portFromEnv('SCRIPTED_LLM_PORT', DEFAULT_PORT);

  const file = argv[0] ? path.resolve(argv[0]) : DEFAULT_SCRIPT;
  let script: unknown;
  try {
    script = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(
      `Cannot read the script ${file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const server = await startScriptedLlm({ script, port: port, model: MODEL, onRequest: show }).catch(
    (error: unknown) => {
      // Said in one message, as a usage error: an invalid script (each rule and field named), a busy port.
      if (error instanceof ScriptError) throw new UsageError(`${file}: ${error.message}`);
      if (error instanceof Error && 'code' in error && error.code === 'EADDRINUSE')
        throw new UsageError(`Port ${port} is in use: set SCRIPTED_LLM_PORT to another port.`);
      throw error;
    },
  );

  out(
    `Scripted LLM on ${server.url}: ${server.script.rules.length} rules from ${path.relative(process.cwd(), file) || file}.`,
  );
  out('Run the agent chat with these settings:');
  out(`  AGENT_LLM=openai OPENAI_BASE_URL=${server.url} OPENAI_API_KEY=${API_KEY} OPENAI_MODEL=${MODEL}`);
  out('Any non-empty API key is accepted. Requests appear below (the rule that answered); Ctrl-C stops.');

  await new Promise<void>((resolve) => {
    const stop = () => void server.stop().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

runCommand(main, USAGE);
