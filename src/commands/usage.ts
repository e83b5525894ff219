// `statsd-native --help`: the defaults it states are the constants the code applies.
import {
  DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_HOST, DEFAULT_HTTP_PORT, DEFAULT_SHUTDOWN_TIMEOUT_MS, DEFAULT_STATSD_PORT, DEFAULT_CARBON_BACKLOG_BYTES,
  DEFAULT_STREAM_BACKLOG_BYTES, DEFAULT_UDP_WORKERS, MAX_TIMER_MS, mebibytes,
} from '../daemon/config/defaults';
import { MAX_SHARDS } from '../aggregator/options';
import { DEFAULT_HISTORY_MAX_BYTES, DEFAULT_HISTORY_WINDOW_S } from '../daemon/history/history';
import { LOAD_DEFAULTS } from '../load/load';

export const USAGE = `Usage: statsd-native serve [options]
       statsd-native relay --node HOST:PORT[,http=PORT] [--node …] [options]
       statsd-native load --target HOST:PORT [options]

serve: run the daemon

  --config FILE          brubeck config.json or etsy statsd config.js; both
                         take "limits": { maxKeys, maxKeyBytes, … } (README);
                         the flags below override the file
  --address ADDR         UDP address (default ${DEFAULT_HOST})
  --port PORT            UDP port (default ${DEFAULT_STATSD_PORT}; 0 picks one)
  --workers N            UDP receiving threads (SO_REUSEPORT; default ${DEFAULT_UDP_WORKERS})
  --shards N             aggregation threads, each owning a hash partition of
                         the keys (1 to ${MAX_SHARDS}; default 1: the receiving
                         thread aggregates)
  --tcp-port PORT        also take newline-separated lines over TCP
  --unix PATH            also take datagrams on a unix socket
  --flush-interval MS    flush every MS milliseconds (default ${DEFAULT_FLUSH_INTERVAL_MS})
  --align                flush on wall-clock multiples of the interval
  --convention NAME      brubeck (default) or etsy
  --dialect NAME         parser: full (default) or brubeck (only what brubeck
                         accepts: no sets, distributions, tags, timestamps or
                         multi-values)
  --expire SECONDS       forget keys idle this long (default: never)
  --report-idle          brubeck: report a key every flush; by default one that
                         was not updated is reported once more, then silent
                         until its next update (the lukepalmer fork's rule)
  --server-name NAME     prefix of the internal metrics (brubeck: NAME.metrics …)
  --graphite HOST:PORT   send to carbon (plaintext; with --pickle, pickle)
  --pickle               use carbon's pickle protocol
  --stdout FORMAT        print flushes: carbon (default without --graphite) or json
  --http [HOST:]PORT     the web view at /, Graphite's /render and
                         /metrics/find, Prometheus' /metrics, and /ping, /stats,
                         /metric/<key> (default without --config:
                         ${DEFAULT_HOST}:${DEFAULT_HTTP_PORT}; "off": none)
  --upstream ENDPOINT    two-tier: send each flush as statsd lines (counters
                         as sums, gauges, sets as members, timers as samples)
                         to a daemon or relay upstream (HOST:PORT UDP, or
                         tcp://HOST:PORT) instead of carbon or stdout
  --history-window S     seconds of flushes kept for graphs and /render
                         (default ${DEFAULT_HISTORY_WINDOW_S}; 0: none)
  --history-max-bytes N  memory bound of the history (default ${mebibytes(DEFAULT_HISTORY_MAX_BYTES)}); past
                         it new series are refused and counted
  --shutdown-timeout MS  on SIGTERM/SIGINT, wait this long for carbon to take
                         the last flushes (default ${DEFAULT_SHUTDOWN_TIMEOUT_MS}, at most ${MAX_TIMER_MS});
                         what it did not take is reported as dropped. The exit
                         comes at most about 2 s later (closing inputs and the
                         carbon connection)
  --max-backlog-bytes N  bytes of flushes kept while carbon is down or stdout
                         is not read (default ${mebibytes(DEFAULT_CARBON_BACKLOG_BYTES)} for carbon, ${mebibytes(DEFAULT_STREAM_BACKLOG_BYTES)} for
                         stdout); past it the oldest are dropped and counted

relay: route each line by its key (name and tags, jump consistent hash) to
one of the --node daemons, so each key is aggregated in exactly one

  --node HOST:PORT[,http=PORT]  a downstream daemon's statsd UDP port, and its
                         HTTP port to poll /ping (down after 2 failed polls:
                         its keys go to the next node up, counted as moved);
                         repeat, in the same order everywhere (the order is
                         part of the hash); add new nodes at the end
  --address ADDR         UDP (and TCP) address (default ${DEFAULT_HOST})
  --port PORT            UDP port (default ${DEFAULT_STATSD_PORT})
  --tcp-port PORT        also take newline-separated lines over TCP
  --http [HOST:]PORT     /ping and /stats (every line accounted for)
  --max-packet-bytes N   largest packet sent to a node (default 1432)
  --health-interval MS   ms between /ping polls (default 1000)
  --convention NAME      the daemons' convention, brubeck (default) or etsy:
                         etsy keys names sanitized (a/b and a-b are one key)

load: send a paced statsd mix to any server
  --target ENDPOINT      host:port, udp://, tcp://, unix:///path, unixstream:///path
  --rate N               lines per second (default ${LOAD_DEFAULTS.rate})
  --duration S           seconds (default ${LOAD_DEFAULTS.duration})
  --keys N               distinct keys (default ${LOAD_DEFAULTS.keys})
  --mix SPEC             type weights, e.g. c=35,ms=30,g=15,h=10,s=10
  --tagged F             fraction of keys with tags (default 0)
  --sampled F            fraction of ms/h lines with |@0.5 (default 0)
  --packet-bytes N       datagram size (default ${LOAD_DEFAULTS.packetBytes})
  --sink PORT            also run a Graphite plaintext sink on PORT (point the
                         server's graphite output at it) and report how many of
                         this run's counter increments arrived (its keys are
                         named load.<random id>.*, so an earlier run's are not
                         counted)
  --wait S               with --sink: seconds to wait for the last flush (default 12)
  --json                 print the summary as JSON
`;
