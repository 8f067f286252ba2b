import { aiSettings } from '../ai/settings';
import { callsSettings } from '../calls/settings';
import { dossierSettings } from '../dossiers/settings';
import { linkedinSettings } from '../linkedin/settings';
import { emailSettings } from '../email/settings';
import { mailboxSettings } from '../mailbox/settings';
import { healthSettings, opsSettings } from '../ops/settings';
import { hostSettings } from '../platform/hostSettings';
import { loadFragments, settingEntries, type LoadedSettings } from '../platform/settings';

/** Every capability's settings fragment, in the order the README lists them. */
export const APP_SETTINGS = {
  host: hostSettings,
  health: healthSettings,
  ai: aiSettings,
  dossiers: dossierSettings,
  email: emailSettings,
  mailbox: mailboxSettings,
  calls: callsSettings,
  linkedin: linkedinSettings,
  ops: opsSettings,
};

export type AppSettings = LoadedSettings<typeof APP_SETTINGS>;

/** Reads and validates every setting; throws a SettingsError naming each bad one (never its value). */
export function loadAppSettings(env: NodeJS.ProcessEnv): AppSettings {
  return loadFragments(env, APP_SETTINGS);
}

/** The names of every setting the app reads, in declaration order. */
export const SETTING_NAMES: readonly string[] = settingEntries(APP_SETTINGS).map(([name]) => name);

/** Settings whose values must never reach a log line or an error message. */
export const SECRET_SETTINGS: readonly string[] = settingEntries(APP_SETTINGS)
  .filter(([, entry]) => entry.secret)
  .map(([name]) => name);

/**
 * The README's settings table, from the declarations. Cells are written unpadded; the README is
 * formatted by Prettier, so compare after formatting.
 */
export function settingsTableMarkdown(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const rows = settingEntries(APP_SETTINGS).map(([name, entry]) => {
    const meaning = entry.secret ? `${entry.doc} Secret.` : entry.doc;
    return `| \`${name}\` | ${cell(entry.required ?? 'no')} | ${cell(entry.default ?? '—')} | ${cell(meaning)} |`;
  });
  return ['| Setting | Required | Default | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
