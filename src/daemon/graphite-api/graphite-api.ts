// Graphite's query API on the daemon's HTTP port, over its history: what
// Grafana's Graphite data source calls. `/metrics/find` (treejson, the
// default, and completer) and `/render` (format=json: [{target, tags,
// datapoints: [[value, ts], …]}]), by GET or POST form, as graphite-web 1.1
// answers them for a whisper store holding the same points. Read-only; each
// request's cost is bounded (series, points, time, body bytes, find results)
// and what is refused is counted.
/// <reference types="node" preserve="true" />
import type * as http from 'node:http';

import { StatsdError } from '../../core/errors';
import { integerOption, knownKeys } from '../../core/options';
import type { History } from '../history/history';
import { sendJson } from '../http/http-server';
import { parseAtTime } from './at-time';
import { type RenderLimits, RenderContext, RenderRefused, evaluateTarget } from './evaluate';
import { type TimeSeries, applyMaxDataPoints, datapoints } from './series';
import { parseTarget } from './target';

export interface GraphiteApiOptions {
  /** Series one /render may fetch over all its targets (default 2000); past it: 422, counted. */
  maxSeries?: number;
  /** Points one /render may fetch (default 2,000,000, ~40 MB of JSON); past it: 422, counted. */
  maxPoints?: number;
  /** ms one /render may evaluate (default 5000); past it: 503, counted. */
  timeout?: number;
  /** Nodes one /metrics/find answers (default 10,000); past it the answer is cut, counted. */
  maxFindResults?: number;
}

export const DEFAULT_RENDER_MAX_SERIES = 2000;
export const DEFAULT_RENDER_MAX_POINTS = 2_000_000;
export const DEFAULT_RENDER_TIMEOUT_MS = 5000;
export const DEFAULT_FIND_MAX_RESULTS = 10_000;
/** Bytes of a POST form body (targets are at most 4096 characters each). */
const MAX_BODY_BYTES = 64 * 1024;
/** graphite-web's default range: the last day. */
const DEFAULT_FROM = '-24h';

export interface GraphiteApiStats {
  finds: number;
  renders: number;
  /** Requests refused for what they asked: a bad target, time or parameter (400), a body too large (413). */
  badRequests: number;
  /** Renders refused for their cost: too many series, too many points, too long (see the options). */
  refusedSeries: number;
  refusedPoints: number;
  timeouts: number;
  /** Finds answered with only maxFindResults of their nodes. */
  findsCut: number;
  /** Points rendered on a step another flush had filled (flushes stamped alike): the later kept. */
  pointsOverwritten: number;
}

type Route = (path: string, handler: (req: http.IncomingMessage, res: http.ServerResponse, path: string, query: URLSearchParams) => unknown) => void;

export class GraphiteApi {
  readonly history: History;
  readonly limits: RenderLimits;
  readonly maxFindResults: number;
  readonly #stats: GraphiteApiStats = { finds: 0, renders: 0, badRequests: 0, refusedSeries: 0, refusedPoints: 0, timeouts: 0, findsCut: 0, pointsOverwritten: 0 };

  constructor(history: History, options: GraphiteApiOptions = {}) {
    knownKeys('graphiteApi', options, ['maxSeries', 'maxPoints', 'timeout', 'maxFindResults']);
    this.history = history;
    this.limits = {
      maxSeries: integerOption('graphiteApi.maxSeries', options.maxSeries, DEFAULT_RENDER_MAX_SERIES, 1, 1e9),
      maxPoints: integerOption('graphiteApi.maxPoints', options.maxPoints, DEFAULT_RENDER_MAX_POINTS, 1, 1e12),
      timeoutMs: integerOption('graphiteApi.timeout', options.timeout, DEFAULT_RENDER_TIMEOUT_MS, 1, 2 ** 31 - 1),
    };
    this.maxFindResults = integerOption('graphiteApi.maxFindResults', options.maxFindResults, DEFAULT_FIND_MAX_RESULTS, 1, 1e9);
  }

  /** Registers /metrics/find and /render (with or without a trailing '/'). */
  register(route: Route): void {
    const find = (req: http.IncomingMessage, res: http.ServerResponse, _path: string, query: URLSearchParams) => this.#answer(req, res, query, (p) => this.find(p));
    const render = (req: http.IncomingMessage, res: http.ServerResponse, _path: string, query: URLSearchParams) => this.#answer(req, res, query, (p) => this.render(p));
    route('/metrics/find', find);
    route('/metrics/find/', find);
    route('/render', render);
    route('/render/', render);
  }

  get stats(): GraphiteApiStats {
    return { ...this.#stats };
  }

  /** `/metrics/find` for `params`: graphite-web's treejson (default) or completer. Throws a StatsdError for bad input. */
  find(params: URLSearchParams): unknown {
    this.#stats.finds++;
    let query = params.get('query') ?? '';
    if (query === '') throw new StatsdError('ERR_STATSD_INVALID_OPTION', "missing required parameter 'query'");
    const format = params.get('format') ?? 'treejson';
    if (format !== 'treejson' && format !== 'completer') {
      throw new StatsdError('ERR_STATSD_INVALID_OPTION', `format ${JSON.stringify(format)}: this daemon answers treejson and completer`);
    }
    const basePath = query.includes('.') ? `${query.slice(0, query.lastIndexOf('.'))}.` : '';
    if (format === 'completer') {
      query = query.replaceAll('..', '*.');
      if (!query.endsWith('*')) query += '*';
    }
    const { nodes, scan } = this.history.findNodes(query, this.maxFindResults, this.limits.timeoutMs);
    if (scan === 'timeout') throw new RenderRefused('timeout', `the find took more than ${this.limits.timeoutMs} ms (the daemon's render timeout)`);
    if (scan === 'limited') this.#stats.findsCut++;
    const leafOnly = (n: { leaf: boolean; branch: boolean }) => n.leaf && !n.branch;
    const text = (path: string) => path.slice(path.lastIndexOf('.') + 1);
    if (format === 'completer') {
      return {
        metrics: nodes.map((n) => ({ path: leafOnly(n) ? n.path : `${n.path}.`, name: text(n.path), is_leaf: leafOnly(n) ? '1' : '0' })),
      };
    }
    // graphite-web lists branches first, then leaves, each by name; a path
    // that is both a series and the start of longer ones is listed once, as
    // a branch (so a tree browser can open it).
    const branch = { allowChildren: 1, expandable: 1, leaf: 0 };
    const leaf = { allowChildren: 0, expandable: 0, leaf: 1 };
    const node = (n: { path: string }, kind: typeof branch) => ({ text: text(n.path), id: basePath + text(n.path), ...kind });
    return [...nodes.filter((n) => !leafOnly(n)).map((n) => node(n, branch)), ...nodes.filter(leafOnly).map((n) => node(n, leaf))];
  }

  /** `/render` for `params` (format=json only): graphite-web's JSON. Throws a StatsdError (or RenderRefused) for bad or too costly input. */
  render(params: URLSearchParams, now = Math.floor(Date.now() / 1000), clock: () => number = Date.now): unknown {
    this.#stats.renders++;
    const format = params.get('format') ?? 'json';
    if (format !== 'json') throw new StatsdError('ERR_STATSD_INVALID_OPTION', `format ${JSON.stringify(format)}: this daemon renders json only (no images)`);
    const targets = params.getAll('target').filter((t) => t.trim() !== '');
    const until = parseAtTime(params.get('until') ?? 'now', now, 'until');
    const from = parseAtTime(params.get('from') ?? DEFAULT_FROM, now, 'from');
    if (from >= until) throw new StatsdError('ERR_STATSD_INVALID_OPTION', `from (${from}) must be before until (${until})`);
    const maxDataPoints = params.get('maxDataPoints');
    if (maxDataPoints !== null && maxDataPoints !== '' && !/^[1-9]\d*$/.test(maxDataPoints)) {
      throw new StatsdError('ERR_STATSD_INVALID_OPTION', `maxDataPoints must be a positive integer, not ${JSON.stringify(maxDataPoints.slice(0, 40))}`);
    }
    const parsed = targets.map(parseTarget); // every target checked before any is evaluated
    const context = new RenderContext(this.history, from, until, now, this.limits, clock);
    const series: TimeSeries[] = parsed.flatMap((t) => evaluateTarget(t, context));
    context.checkTime(); // the functions ran after the last fetch's check
    this.#stats.pointsOverwritten += context.overwritten;
    const out: { target: string; tags: Record<string, string | number>; datapoints: [number | null, number][] }[] = [];
    if (series.length > 0 && maxDataPoints !== null && maxDataPoints !== '') {
      const timeRange = Math.max(...series.map((s) => s.end)) - Math.min(...series.map((s) => s.start));
      for (const s of series) applyMaxDataPoints(s, Number(maxDataPoints), timeRange);
    }
    for (const s of series) {
      // JSON has no infinities (graphite-web writes 1e9999, which JSON.parse
      // reads as Infinity in JS but not every client takes): they are null.
      let points = datapoints(s).map(([v, t]): [number | null, number] => [v !== null && Number.isFinite(v) ? v : null, t]);
      if (params.has('noNullPoints')) {
        points = points.filter(([v]) => v !== null);
        if (points.length === 0) continue;
      }
      out.push({ target: s.name, tags: s.tags, datapoints: points });
    }
    return out;
  }

  /** Reads the parameters (the query, and a POST form body), answers, and counts a refusal by why. */
  async #answer(req: http.IncomingMessage, res: http.ServerResponse, query: URLSearchParams, answer: (params: URLSearchParams) => unknown): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, POST, HEAD');
      return sendJson(res, 405, { error: 'read-only: GET or POST a form' });
    }
    const params = new URLSearchParams(query);
    if (req.method === 'POST') {
      const body = await readBody(req, MAX_BODY_BYTES);
      if (body === ABORTED) return; // the client left: no one to answer
      if (body === undefined) {
        this.#stats.badRequests++;
        return sendJson(res, 413, { error: `a form body over ${MAX_BODY_BYTES} bytes` });
      }
      for (const [k, v] of new URLSearchParams(body)) params.append(k, v);
    }
    let result: unknown;
    try {
      result = answer(params);
    } catch (error) {
      if (error instanceof RenderRefused) {
        if (error.reason === 'series') this.#stats.refusedSeries++;
        else if (error.reason === 'points') this.#stats.refusedPoints++;
        else this.#stats.timeouts++;
        return sendJson(res, error.reason === 'timeout' ? 503 : 422, { error: error.message });
      }
      if (error instanceof StatsdError) {
        this.#stats.badRequests++;
        return sendJson(res, 400, { error: error.message });
      }
      throw error; // a bug: the HTTP server answers 500 and reports it
    }
    sendJson(res, 200, result);
  }
}

const ABORTED = Symbol('aborted');

/**
 * The request body as text; undefined past `limit` bytes (the rest is not
 * read: the connection closes after the answer); ABORTED when the client
 * left before its end.
 */
function readBody(req: http.IncomingMessage, limit: number): Promise<string | undefined | typeof ABORTED> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
    // A client gone before its body ended: nothing to answer (the promise settles, nothing waits).
    req.once('close', () => resolve(ABORTED));
  });
}
