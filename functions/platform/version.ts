import { version } from '../../package.json';

/** The deployed version, from package.json, reported by the health routes. */
export const APP_VERSION: string = version;
