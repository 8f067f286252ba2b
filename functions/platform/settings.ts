import { z } from 'zod';

/**
 * Settings are app settings (environment variables). Each capability declares its own fragment: every
 * entry with its schema, its documentation and whether it is secret. The app validates all fragments
 * together at start-up; the secret list, the drift tests and the README's settings table are derived
 * from these declarations, so a setting is described once.
 */
export interface SettingEntry {
  schema: z.ZodType;
  /** What it means, for the README (Markdown). */
  doc: string;
  /** Never logged or echoed: its value is redacted from every log line. */
  secret?: boolean;
  /** For the README: `yes`, `no` (default) or when it is needed (`for azure-openai`). */
  required?: string;
  /** For the README: the default value or behaviour when unset. */
  default?: string;
}

export type SettingEntries = Record<string, SettingEntry>;
export type SettingValues<E extends SettingEntries> = { [K in keyof E]: z.output<E[K]['schema']> };
export type ReportIssue = (setting: string, message: string) => void;

export interface SettingsFragment<E extends SettingEntries, T> {
  entries: E;
  /** Rules across entries (one needs another); report each problem naming the setting. */
  refine?: (values: SettingValues<E>, issue: ReportIssue) => void;
  build: (values: SettingValues<E>) => T;
}

export function defineSettings<E extends SettingEntries, T>(fragment: SettingsFragment<E, T>) {
  return fragment;
}

export interface SettingIssue {
  setting: string;
  message: string;
}

/** Raised when app settings are missing or invalid; names each setting, never shows a value. */
export class SettingsError extends Error {
  constructor(readonly issues: SettingIssue[]) {
    super(`Invalid app settings: ${issues.map((i) => `${i.setting} ${i.message}`).join('; ')}`);
    this.name = 'SettingsError';
  }
}

// A fragment as the loader sees it: its entries' exact types no longer matter once they are combined.
interface AnyFragment {
  entries: SettingEntries;
  refine?: (values: never, issue: ReportIssue) => void;
  build: (values: never) => unknown;
}

export type LoadedSettings<F extends Record<string, AnyFragment>> = {
  [K in keyof F]: ReturnType<F[K]['build']>;
} & {
  /** The values of the secret settings that are set, for log redaction. */
  secretValues: string[];
};

/** Every entry of the fragments, by setting name, in declaration order. */
export function settingEntries(fragments: Record<string, AnyFragment>): [string, SettingEntry][] {
  return Object.values(fragments).flatMap((f) => Object.entries(f.entries));
}

/** Validates the environment against every fragment at once, reporting all problems together. */
export function loadFragments<F extends Record<string, AnyFragment>>(
  env: NodeJS.ProcessEnv,
  fragments: F,
): LoadedSettings<F> {
  const entries = settingEntries(fragments);
  const issues: SettingIssue[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, entry] of entries) {
    const parsed = entry.schema.safeParse(env[name]);
    if (parsed.success) values[name] = parsed.data;
    else issues.push(...parsed.error.issues.map((i) => ({ setting: name, message: i.message })));
  }
  // Rules across settings run too (an invalid value counts as unset), so one start-up names every
  // problem; a setting already reported invalid is not reported again.
  const invalid = new Set(issues.map((i) => i.setting));
  for (const fragment of Object.values(fragments)) {
    const refine = fragment.refine as ((v: unknown, issue: ReportIssue) => void) | undefined;
    refine?.(values, (setting, message) => {
      if (!invalid.has(setting)) issues.push({ setting, message });
    });
  }
  if (issues.length > 0) throw new SettingsError(issues);
  const built: Record<string, unknown> = {};
  for (const [key, fragment] of Object.entries(fragments)) {
    built[key] = (fragment.build as (v: unknown) => unknown)(values);
  }
  const secretValues = entries
    .filter(([name, entry]) => entry.secret && typeof values[name] === 'string' && values[name])
    .map(([name]) => values[name] as string);
  return { ...built, secretValues } as LoadedSettings<F>;
}

// App settings arrive as strings; an empty value means "not set" (local.settings.json keeps such keys).
const unsetIfEmpty = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

export const optionalText = z.preprocess(unsetIfEmpty, z.string().trim().min(1).optional());
export const optionalUrl = z.preprocess(
  unsetIfEmpty,
  z.url({ message: 'must be an http(s) URL' }).optional(),
);

export function wholeNumber(min: number, max: number, unit: string) {
  return z.preprocess(
    unsetIfEmpty,
    z.coerce
      .number({ message: `must be a number of ${unit}` })
      .int(`must be a whole number of ${unit}`)
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`)
      .optional(),
  );
}

/** An NCRONTAB schedule of a timer trigger: six fields, seconds first (as the Functions host reads it). */
export const optionalSchedule = optionalText.pipe(
  z
    .string()
    .regex(/^\S+(\s+\S+){5}$/, 'must be an NCRONTAB expression of six fields (second first)')
    .optional(),
);

export const optionalEmail = optionalText.pipe(z.email({ message: 'must be an email address' }).optional());

export const optionalBoolean = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() ? v.trim().toLowerCase() : undefined),
  z.enum(['true', 'false'], { message: 'must be true or false' }).optional(),
);

export function optionalEnum<const T extends readonly [string, ...string[]]>(values: T) {
  return z.preprocess(
    unsetIfEmpty,
    z.enum(values, { message: `must be one of ${values.join(', ')}` }).optional(),
  );
}

/** A comma-separated list (blank items dropped), each item checked by `item`. */
export function commaList<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (v) =>
      typeof v === 'string' && v.trim()
        ? v
            .split(',')
            .map((p) => p.trim())
            .filter(Boolean)
        : undefined,
    z.array(item).optional(),
  );
}

/** JSON text parsed, then checked by `schema`; text that is not JSON fails the schema with its message. */
export function jsonSetting<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => {
    if (typeof v !== 'string' || !v.trim()) return undefined;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }, schema.optional());
}
