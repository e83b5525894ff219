// brubeck's config.json read into ServerOptions: samplers (statsd), backends
// (carbon), frequency, expire, server_name, http; plus our extensions
// report_idle, dialect and limits (file.ts).
import type { AggregatorOptions } from '../../aggregator/aggregator';
import { hostPortProblem } from '../../net/address';
import { DEFAULT_CARBON_PORT, DEFAULT_HOST, DEFAULT_STATSD_PORT } from './defaults';
import { type Obj, configError, interval, isObject, num, port, str } from './file-values';
import type { ServerOptions } from './server-options';

/** Top-level keys this format reads; others are reported as ignored. */
export const BRUBECK_KEYS = ['samplers', 'backends', 'server_name', 'expire', 'report_idle', 'dialect', 'http', 'limits'];

/** Workers of a `"multisock": true` sampler that names none (brubeck's default). */
const MULTISOCK_WORKERS = 4;

export function fromBrubeck(file: string, c: Obj): ServerOptions {
  const options: ServerOptions = {};
  const aggregator: AggregatorOptions = { convention: 'brubeck', dialect: 'full' };
  options.aggregator = aggregator;
  if (c.server_name !== undefined) aggregator.serverName = str(file, c, 'server_name', 'brubeck');
  if (c.expire !== undefined) aggregator.expire = num(file, c, 'expire', 0);
  if (c.report_idle !== undefined) {
    if (typeof c.report_idle !== 'boolean') throw configError(file, `report_idle must be true or false, not ${JSON.stringify(c.report_idle)}`);
    aggregator.reportIdle = c.report_idle;
  }
  // Our extension: "brubeck" for brubeck's stricter parser (checked with the other aggregator options).
  if (c.dialect !== undefined) aggregator.dialect = c.dialect as AggregatorOptions['dialect'];
  const samplers = c.samplers ?? [];
  const backends = c.backends ?? [];
  if (!Array.isArray(samplers) || !Array.isArray(backends)) throw configError(file, 'samplers and backends must be lists');
  for (const s of samplers) {
    if (!isObject(s) || s.type !== 'statsd') {
      throw configError(file, `unsupported sampler ${JSON.stringify(isObject(s) ? s.type : s)} (only "statsd")`);
    }
    if (options.udp) throw configError(file, 'only one statsd sampler is supported');
    const workers = s.multisock === true ? num(file, s, 'workers', MULTISOCK_WORKERS) : 1;
    if (!Number.isInteger(workers) || workers < 1) throw configError(file, `workers must be a whole number >= 1, not ${JSON.stringify(workers)}`);
    options.udp = { address: str(file, s, 'address', DEFAULT_HOST), port: port(file, s, 'port', DEFAULT_STATSD_PORT), workers };
  }
  for (const b of backends) {
    if (!isObject(b) || b.type !== 'carbon') {
      throw configError(file, `unsupported backend ${JSON.stringify(isObject(b) ? b.type : b)} (only "carbon")`);
    }
    if (options.graphite) throw configError(file, 'only one carbon backend is supported');
    options.graphite = {
      host: str(file, b, 'address', DEFAULT_HOST),
      port: port(file, b, 'port', DEFAULT_CARBON_PORT, 'connect'),
      format: b.pickle === true ? 'pickle' : 'plaintext',
    };
    options.flushInterval = interval(file, 'frequency', num(file, b, 'frequency', 10) * 1000);
  }
  if (c.http !== undefined) {
    // brubeck: "http": ":8080" (only the port is read); we also accept "HOST:PORT".
    const text = str(file, c, 'http', '');
    const parsed = hostPortProblem(text, 'listen', DEFAULT_HOST);
    if (typeof parsed === 'string' || !text.includes(':')) throw configError(file, `http must be ":PORT" or "HOST:PORT", not ${JSON.stringify(text)}`);
    options.http = { address: parsed.host, port: parsed.port };
  }
  return options;
}
