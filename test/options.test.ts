// A misspelt option is an error naming the nearest known key, not a default
// taken without a word (issue [4/7] item 3): `new Aggregator({ flushInteval })`
// and etsy's nested `graphite: { … }` were silently ignored.
import { describe, expect, it } from 'vitest';

import { Aggregator, Emitter, GraphiteSink, StatsdError, StatsdServer } from '../src';

function refused(make: () => unknown, message: RegExp): void {
  let error: unknown;
  try {
    make();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(StatsdError);
  expect((error as StatsdError).code).toBe('ERR_STATSD_INVALID_OPTION');
  expect((error as Error).message).toMatch(message);
}

describe('unknown option keys', () => {
  it('Aggregator: a misspelt key names the one meant', () => {
    refused(() => new Aggregator({ flushInteval: 1000 } as never), /Aggregator has no option "flushInteval": did you mean flushInterval\?/);
    refused(() => new Aggregator({ percentile: [0.5] } as never), /did you mean percentiles\?/);
  });

  it("Aggregator: etsy's nested graphite form says where its keys go", () => {
    refused(() => new Aggregator({ graphite: { legacyNamespace: false } } as never), /"graphite": .*top level/);
  });

  it('Emitter, StatsdServer (and its udp/tcp/http parts), GraphiteSink', () => {
    refused(() => new Emitter({ endpiont: '127.0.0.1:9', env: {} } as never), /Emitter has no option "endpiont": did you mean endpoint\?/);
    refused(() => new StatsdServer({ sinks: [], udp: { prot: 8125 } } as never), /StatsdServer udp has no option "prot": did you mean port\?/);
    refused(() => new StatsdServer({ sinks: [], flushIntervall: 10 } as never), /did you mean flushInterval\?/);
    refused(() => new GraphiteSink({ host: '127.0.0.1', port: 2003, fromat: 'pickle' } as never), /did you mean format\?/);
  });

  it('a key far from any known one lists the known keys', () => {
    refused(() => new Aggregator({ zzzzzzzzzz: 1 } as never), /known: convention, dialect/);
  });

  it('the known keys are taken', () => {
    expect(() => new Aggregator({ flushInterval: 1000, convention: 'etsy', legacyNamespace: false, reportIdle: true })).not.toThrow();
  });
});
