// The page's static files: a fixed set, read once into memory from dist/web
// (scripts/web-assets.js puts them there at build time) and served by exact
// path only, so no request names a file outside the set (no traversal).
/// <reference types="node" preserve="true" />
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';

import { type HttpServer, sendJson } from '../http/http-server';

/** dist/web, from src/daemon/web (tests) and dist/daemon/web (the package) alike. */
export const WEB_DIR = path.resolve(__dirname, '..', '..', '..', 'dist', 'web');

const TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
} as const;

/**
 * URL path → file in WEB_DIR, and where the build copies it from (the
 * page's own files, or uPlot's browser build): scripts/web-assets.js reads
 * this list, so it is the only one.
 */
export const WEB_FILES: Readonly<Record<string, { file: string; from: 'page' | 'uplot' }>> = {
  '/': { file: 'index.html', from: 'page' },
  '/web/app.js': { file: 'app.js', from: 'page' },
  '/web/api.js': { file: 'api.js', from: 'page' },
  '/web/keys.js': { file: 'keys.js', from: 'page' },
  '/web/charts.js': { file: 'charts.js', from: 'page' },
  '/web/health.js': { file: 'health.js', from: 'page' },
  '/web/style.css': { file: 'style.css', from: 'page' },
  '/web/uPlot.iife.min.js': { file: 'uPlot.iife.min.js', from: 'uplot' },
  '/web/uPlot.min.css': { file: 'uPlot.min.css', from: 'uplot' },
};

// Everything the page loads comes from here; its script sets no inline code.
// uPlot sizes its elements through style attributes, hence 'unsafe-inline' for styles.
const HEADERS = {
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
};

/**
 * Serves the page's files from `dir` (read now, once). When any is missing
 * (the package was not built) `/` answers 503 saying so, and the daemon runs on.
 */
export function registerAssets(http: HttpServer, dir = WEB_DIR): void {
  const bodies = new Map<string, Buffer>();
  const missing: string[] = [];
  for (const [urlPath, { file }] of Object.entries(WEB_FILES)) {
    try {
      bodies.set(urlPath, fs.readFileSync(path.join(dir, file)));
    } catch {
      missing.push(file);
    }
  }
  if (missing.length > 0) {
    const error = `the web page is not built: ${missing.join(', ')} missing in ${dir} (run \`npm run build\`)`;
    http.route('/', (_req, res) => sendJson(res, 503, { error }));
    return;
  }
  for (const [urlPath, body] of bodies) {
    const type = TYPES[path.extname(WEB_FILES[urlPath]!.file).slice(1) as keyof typeof TYPES];
    http.route(urlPath, (req, res) => serve(req, res, body, type));
  }
}

function serve(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, type: string): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
    res.end('method not allowed\n');
    return;
  }
  res.writeHead(200, { ...HEADERS, 'content-type': type, 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}
