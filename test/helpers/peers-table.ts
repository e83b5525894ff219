// What the statsd parsers of three peers do with a line, as facts from
// shared/reference/peers.md (§1a, §2.8 gostatsd, §2.9 statsd_exporter, §2.11
// the Datadog agent's DogStatsD) and issue 13, written as a table: the line,
// the outcome the peers agree on, and which of them the reference states it
// for. A row is here only when every peer the reference speaks of agrees;
// lines they disagree on (`d` in gostatsd, sets in statsd_exporter, `a:1:2|c`
// packed counters, `|e:` / `|card:`, `|T0`) are left out.
//
// Outcome: refused, or accepted with its values (a line with several values
// gives several samples) and its tags (compared as a set: statsd_exporter
// turns them into labels). Values are the numbers as read, before any unit
// conversion (statsd_exporter divides ms by 1000) or meaning (the agent and
// gostatsd set a gauge to `+5`, statsd_exporter adds 5: the number is 5).
import type { MetricBatch } from '../../src/codec/parse';

export type Peer = 'dogstatsd' | 'gostatsd' | 'statsd_exporter';

export type Outcome =
  | { ok: false }
  | {
      ok: true;
      values: (number | string)[];
      /** undefined: not compared (a peer makes them something else, e.g. a label). */
      tags?: string[];
    };

export interface PeerRow {
  line: string;
  /** The outcome the peers below agree on. */
  peers: Outcome;
  /** The peers the reference states this outcome for. */
  by: Peer[];
  /** The fact, in short. */
  fact: string;
  /** We differ on purpose: the reason, named in README with the line. */
  difference?: string;
}

const D: Peer = 'dogstatsd';
const G: Peer = 'gostatsd';
const E: Peer = 'statsd_exporter';

const refused: Outcome = { ok: false };
const accepted = (values: (number | string)[], tags?: string[]): Outcome => ({ ok: true, values, tags });

export const PEER_ROWS: PeerRow[] = [
  // types
  { line: 'a:1|c', peers: accepted([1], []), by: [D, G, E], fact: 'c is a counter everywhere' },
  { line: 'a:1|g', peers: accepted([1], []), by: [D, G, E], fact: 'g is a gauge everywhere' },
  { line: 'a:1.5|ms', peers: accepted([1.5], []), by: [D, G, E], fact: 'ms is a timer (statsd_exporter later turns it into seconds)' },
  { line: 'a:1|h', peers: accepted([1], []), by: [D, G, E], fact: 'h: a histogram for the agent, a timer for gostatsd, an observer for statsd_exporter' },
  { line: 'a:1|x', peers: refused, by: [D, G, E], fact: 'an unknown type is an error' },
  // the line's parts
  { line: 'a:1', peers: refused, by: [D], fact: 'the agent needs at least one |' },
  { line: ':1|c', peers: refused, by: [D], fact: 'the agent needs a non-empty name' },
  { line: 'a:|c', peers: refused, by: [D], fact: 'the agent needs a non-empty value' },
  { line: 'a:NaN|g', peers: refused, by: [G], fact: 'gostatsd refuses NaN' },
  { line: 'a:+5|g', peers: accepted([5], []), by: [D, G, E], fact: 'the agent and gostatsd read +5 as the value 5; statsd_exporter adds 5' },
  { line: 'a:-5|g', peers: accepted([-5], []), by: [D, G, E], fact: 'the agent and gostatsd set -5; statsd_exporter subtracts 5' },
  { line: 'café:1|c|#pays:françe', peers: accepted([1], ['pays:françe']), by: [D], fact: 'the agent passes Unicode names and tags through' },
  {
    line: 'a b:1|c',
    peers: accepted([1], []),
    by: [G],
    fact: 'gostatsd turns a space in a name into _',
    difference: 'a line splits at spaces in carbon; the parser and the brubeck convention refuse the name (bad_name), the etsy convention turns it into _ as etsy statsd does',
  },
  // rates and tags
  { line: 'a:1|c|@0.5', peers: accepted([1], []), by: [D, G, E], fact: 'every peer reads |@rate' },
  {
    line: 'a:1|c|@0',
    peers: accepted([1], []),
    by: [E],
    fact: 'statsd_exporter reads a rate of 0 as 1',
    difference: 'a rate of 0 stands for infinitely many samples; reading it as 1 would count a sampled line as one line, so it is refused (bad_rate)',
  },
  { line: 'a:1|c|#env:prod,az:1', peers: accepted([1], ['env:prod', 'az:1']), by: [D, G, E], fact: 'DogStatsD |#tags everywhere' },
  { line: 'a:1|c|@0.5|#env:prod', peers: accepted([1], ['env:prod']), by: [D, G, E], fact: 'rate, then tags' },
  { line: 'a:1|c|#env:prod|@0.5', peers: accepted([1], ['env:prod']), by: [D, G, E], fact: 'optional fields come in any order' },
  { line: 'a:1|g|#', peers: accepted([1], []), by: [D, G, E], fact: 'an empty tag list is accepted and dropped' },
  { line: 'a:1|c|#a,,b', peers: accepted([1], ['a', 'b']), by: [D, G, E], fact: 'an empty tag between two is dropped' },
  { line: 'a:1|c|#tag:value,,', peers: accepted([1], ['tag:value']), by: [D, G, E], fact: 'empty tags at the end are dropped' },
  // other fields
  { line: 'a:1|c|f:x|f2:omgthisoneiscooler', peers: accepted([1], []), by: [D, G], fact: 'fields the parser does not know (letters and digits, then :) are ignored' },
  { line: 'a:1|c|m:test', peers: accepted([1], []), by: [D, G], fact: 'an unknown field is ignored' },
  { line: 'a:1|c|c:abc123', peers: accepted([1]), by: [D, G, E], fact: 'a container ID: origin for the agent, ignored by gostatsd, a container_id label for statsd_exporter' },
  { line: 'a:1|c|T1700000000', peers: accepted([1], []), by: [D, G, E], fact: 'a |T timestamp: read by the agent, ignored by gostatsd and statsd_exporter' },
  // several values in one line (DogStatsD 1.1)
  { line: 'x:1.5:41|ms', peers: accepted([1.5, 41], []), by: [D, G, E], fact: 'several timer values split on :' },
  { line: 'x:1.5:41:|ms', peers: accepted([1.5, 41], []), by: [D, G], fact: 'an empty entry in a value list is skipped' },
  { line: 'x:1.5:41:|d', peers: accepted([1.5, 41], []), by: [D], fact: 'the same for a distribution (gostatsd has no d)' },
  { line: 'x:21::22|h', peers: accepted([21, 22], []), by: [D, G], fact: 'an empty entry between two values is skipped' },
  { line: 'u:abc:def|s', peers: accepted(['abc:def'], []), by: [D], fact: 'a set member keeps its : (sets are not split into values)' },
];

/** Our outcome for `line` from a parse() batch of it. */
export function ourOutcome(batch: MetricBatch): Outcome {
  if (batch.errors.total > 0) return refused;
  const metrics = [...batch];
  return { ok: true, values: metrics.map((m) => m.value), tags: metrics[0]?.tags ?? [] };
}

/** Whether `ours` is `peers` (tags as a set, and only when the row gives them). */
export function sameOutcome(ours: Outcome, peers: Outcome): boolean {
  if (!ours.ok || !peers.ok) return ours.ok === peers.ok;
  if (JSON.stringify(ours.values) !== JSON.stringify(peers.values)) return false;
  if (peers.tags === undefined) return true;
  const sorted = (t: string[] | undefined) => JSON.stringify([...(t ?? [])].sort());
  return sorted(ours.tags) === sorted(peers.tags);
}
