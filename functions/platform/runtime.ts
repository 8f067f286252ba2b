import { loadSettings } from './config';
import { createRedactor } from './redact';
import { createStorageClients } from './storage';

/**
 * The composition root: settings are read and validated when the app loads, so an invalid
 * setting stops the app with a SettingsError naming it before any function runs.
 */
export const settings = loadSettings(process.env);
export const redact = createRedactor(settings.secretValues);
export const storage = createStorageClients(settings.storage);
