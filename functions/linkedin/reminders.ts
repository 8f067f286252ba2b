import type { Email } from '../email';
import type { LinkedInSettings } from './settings';
import type { LinkedInStores } from './store';

const DAY_MS = 86_400_000;
/** Days before expiry a reminder goes out, latest first. */
const REMIND_AT_DAYS = ['1', '7'] as const;

/**
 * Member tokens last 60 days and LinkedIn gives no refresh token: LINKEDIN_NOTIFY_EMAIL is told 7 days and
 * 1 day before an account's token expires. Each reminder is recorded on the account and keyed by the
 * token's expiry, so a timer run twice, or a crash between the send and the record, mails once.
 */
export async function remindExpiring(deps: {
  stores: LinkedInStores;
  settings: Pick<LinkedInSettings, 'notifyEmail'>;
  email: Pick<Email, 'provider' | 'send'>;
  clock: () => Date;
}): Promise<{ sent: number }> {
  const { stores, settings, email, clock } = deps;
  if (!settings.notifyEmail || email.provider === 'none') return { sent: 0 };
  let sent = 0;
  for (const account of await stores.accounts.list()) {
    const daysLeft = (Date.parse(account.expiresAt) - clock().getTime()) / DAY_MS;
    const due = REMIND_AT_DAYS.find(
      (d) => daysLeft <= Number(d) && daysLeft > 0 && !account.reminded.includes(d),
    );
    if (!due) continue;
    await email.send({
      key: `linkedin-expiry:${account.id}:${account.expiresAt}:${due}`,
      kind: 'linkedin-expiry',
      to: settings.notifyEmail,
      subject: `LinkedIn: reconnect ${account.name} within ${due} day${due === '1' ? '' : 's'}`,
      text: `The LinkedIn connection of ${account.name} expires on ${account.expiresAt}. Scheduled posts pause when it does.\nReconnect: GET /api/linkedin/connect on the automation suite.`,
    });
    // Both reminders due at once (a timer that did not run for days): the earlier one is not sent late.
    const reminded = REMIND_AT_DAYS.filter((d) => Number(d) >= Number(due));
    await stores.accounts.mutate(account.id, (a) => ({
      ...a,
      reminded: [...new Set([...a.reminded, ...reminded])],
    }));
    sent++;
  }
  return { sent };
}
