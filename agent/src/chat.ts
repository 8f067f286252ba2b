import { createInterface } from 'node:readline';
import { runTextChat } from './textChat.js';

/** `npm run agent:chat`: the agent by text in the terminal (see textChat.ts). */
const lines = createInterface({ input: process.stdin, terminal: process.stdin.isTTY });
// Iterate from now: lines piped in while the chat opens its call would otherwise be read before anyone
// listens, and lost.
const iterator = lines[Symbol.asyncIterator]();
runTextChat({
  env: process.env,
  input: { [Symbol.asyncIterator]: () => iterator },
  write: (line) => process.stdout.write(`${line}\n`),
})
  .then(({ reported }) => {
    process.exitCode = reported ? 0 : 1;
  })
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => lines.close());
