// The relay's HTTP routes: /ping (200 while a node is up, 503 when none is)
// and /stats (every line accounted for: routed, moved, bad, unroutable, and
// per node sent or dropped), in the daemon's snake_case.
import { type HttpServer, sendJson } from '../daemon/http/http-server';
import type { Relay } from './relay';

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
function snakeCase(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [snake(k), v]));
}

export function registerRelayRoutes(http: HttpServer, relay: Relay): void {
  http.route('/ping', (_req, res) => {
    const up = relay.stats.nodes.filter((n) => n.up).length;
    sendJson(res, up > 0 ? 200 : 503, { status: up > 0 ? 'OK' : 'ERROR (no node up)', nodes_up: up, nodes: relay.nodes.length });
  });
  http.route('/stats', (_req, res) => {
    const s = relay.stats;
    sendJson(res, 200, {
      udp: snakeCase(s.udp),
      tcp: snakeCase(s.tcp),
      http: snakeCase(s.http),
      lines: s.router.lines,
      moved: s.router.moved,
      unroutable: s.router.unroutable,
      oversize: s.router.oversize,
      errors: s.router.errors,
      errors_by_reason: s.router.byReason,
      nodes: s.nodes.map((n, i) => ({ ...snakeCase(n), lines_routed: s.router.perNode[i] })),
    });
  });
}
