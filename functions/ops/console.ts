import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** What a route answers for one of the console's files. */
export interface ConsoleFile {
  body: string;
  headers: Record<string, string>;
}

export interface ConsolePage {
  /** The page itself: revalidated on every visit, so a deployment's new asset URLs are seen at once. */
  html(): ConsoleFile;
  /** One of the page's scripts, style sheets or icon by file name; undefined when there is no such file. */
  asset(name: string): ConsoleFile | undefined;
}

/**
 * Everything loads from the app itself, scripts only from files (no inline script, no eval), and the page
 * talks to nothing but this origin: a key typed into it can only go back to the app.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The page's own files, and uPlot's from the npm package (no CDN: the page works offline). */
function assetPaths(directory: string): Record<string, string> {
  const resolve = createRequire(__filename).resolve;
  return {
    'console.js': path.join(directory, 'console.js'),
    'console.css': path.join(directory, 'console.css'),
    'i18n.js': path.join(directory, 'i18n.js'),
    'icon.svg': path.join(directory, 'icon.svg'),
    'uPlot.iife.min.js': resolve('uplot/dist/uPlot.iife.min.js'),
    'uPlot.min.css': resolve('uplot/dist/uPlot.min.css'),
  };
}

/** The console/ folder of the app, found from this file in both the source and the compiled layout. */
export function defaultConsoleDirectory(from = __dirname): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'console');
    if (existsSync(path.join(candidate, 'index.html'))) return candidate;
  }
  throw new Error(`No console/ folder above ${from}.`);
}

/**
 * The ops console's page and assets, read from disk on first use and kept. Asset URLs carry the app
 * version (`?v=`), so they are cached for a year and a deployment still loads its own scripts.
 */
export function consolePage(version: string, directory?: string): ConsolePage {
  let files: { html: ConsoleFile; assets: Map<string, ConsoleFile> } | undefined;
  const load = () => {
    if (files) return files;
    const dir = directory ?? defaultConsoleDirectory();
    const html = readFileSync(path.join(dir, 'index.html'), 'utf8').replaceAll(
      '{{version}}',
      encodeURIComponent(version),
    );
    const assets = new Map<string, ConsoleFile>();
    for (const [name, file] of Object.entries(assetPaths(dir))) {
      assets.set(name, {
        body: readFileSync(file, 'utf8'),
        headers: {
          'Content-Type': CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream',
          'Cache-Control': 'public, max-age=31536000, immutable',
          ...SECURITY_HEADERS,
        },
      });
    }
    files = {
      html: {
        body: html,
        headers: {
          'Content-Type': 'text/html; charset=utf-8',
          'Cache-Control': 'no-cache',
          ...SECURITY_HEADERS,
        },
      },
      assets,
    };
    return files;
  };
  return {
    html: () => load().html,
    asset: (name) => load().assets.get(name),
  };
}
