import { app } from '@azure/functions';
import type { AppRoot } from './root';

/** App-wide hooks: every log line of every function passes through the redactor before it leaves. */
export function registerHooks(root: AppRoot): void {
  app.hook.log((context) => {
    context.message = root.redact(context.message);
  });
}
