// The daemon's live page at `/` (DESIGN §7): its static files and the JSON
// API it reads, both read-only, on the daemon's HTTP server (127.0.0.1 by default).
import type { HttpServer } from '../http/http-server';
import type { StatsdServer } from '../server';
import { registerApiRoutes } from './api';
import { registerAssets } from './assets';

/** Registers the page and its API for `server` on `http`. */
export function registerWebRoutes(http: HttpServer, server: StatsdServer): void {
  registerAssets(http);
  registerApiRoutes(http, server);
}
