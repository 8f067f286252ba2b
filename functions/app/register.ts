import { registerCalls } from '../triggers/calls';
import { registerDossiers } from '../triggers/dossiers';
import { registerLinkedIn } from '../triggers/linkedin';
import { registerEmail } from '../triggers/email';
import { registerMailbox } from '../triggers/mailbox';
import { registerOps } from '../triggers/ops';
import { registerHooks } from './hooks';
import type { AppRoot } from './root';

/** Registers the app-wide hooks and every capability's functions with the Functions host. */
export function registerApp(root: AppRoot): void {
  registerHooks(root);
  registerDossiers(root);
  registerEmail(root);
  registerMailbox(root);
  registerCalls(root);
  registerLinkedIn(root);
  registerOps(root);
}
