// What an Aggregator is configured with: the convention, the limits, and each
// convention's naming options. Plain data, no behaviour; every field mirrors a
// TypeScript option (src/aggregator/aggregator.ts toNativeOptions), read by
// native/binding.cc ReadAggregatorOptions.
#ifndef STATSD_AGGREGATOR_OPTIONS_H_
#define STATSD_AGGREGATOR_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "codec.h"

namespace statsd {

enum class Convention : uint8_t { kBrubeck = 0, kEtsy = 1 };

// A percentile or etsy percentThreshold and the text its output names use:
// brubeck's whole suffix (".percentile.999" for 0.999); etsy's threshold name
// ("90", "top10" for -10, "99_9" for 99.9).
struct Percentile {
  double value;
  std::string name;
};

// etsy `histogram` entry: applies to timers whose key contains `metric`.
struct HistogramBins {
  std::string metric;
  std::vector<double> bounds;      // exclusive upper bounds; +inf allowed
  std::vector<std::string> names;  // "bin_0_5", "bin_inf"
};

// Every field mirrors the TS option of the same name (src/aggregator/aggregator.ts).
struct AggregatorOptions {
  Convention convention = Convention::kBrubeck;
  ParseOptions parse;
  double flush_interval_ms = 10000;   // for count_ps and counter rates
  uint32_t max_samples_per_key = 65535;
  uint32_t max_keys = 1000000;
  // Bytes of key names held (names + tags as stored). With max_keys it bounds
  // the memory of keys: long hostile names cost their length, not just a slot.
  uint64_t max_key_bytes = uint64_t{256} << 20;
  // Distinct members a set key counts per interval; past it, new members are
  // dropped and counted (members_dropped), and the set reports the cap.
  uint32_t max_set_members = 1000000;
  // Bounds on what one interval stores over all keys, whatever the keys: timer
  // samples kept for percentiles (8 bytes each; past it a timer stores no more
  // but still counts every sample in count/sum/min/max, and keeps sampling
  // among what it stored: samples_not_stored), and set members (~64 bytes
  // each; past it new members are dropped: members_dropped).
  uint64_t max_interval_samples = uint64_t{16} << 20;
  uint64_t max_interval_members = uint64_t{2} << 20;
  double expire = 0;                  // seconds idle before a key is freed; 0 = never
  // brubeck: report keys idle since their update flush every flush (upstream
  // brubeck without expire); false: in one more flush only, as the
  // lukepalmer fork the seed uses.
  bool report_idle = false;
  uint64_t seed = 1;                  // reservoir sampling (shard i uses seed + i)
  // Set members are kept as 64-bit hashes: with 0 under the aggregator's
  // random seed (HashKey), else under this one, so daemons that forward their
  // sets upstream (the statsd flush) name a member alike.
  uint64_t member_seed = 0;
  // Partitions of the keys (aggregator.h), each applied to by its own thread
  // in the daemon (shard_pool.h); 1 keeps everything on the receiving thread.
  // The limits hold over all shards (Aggregator::IntervalQuota); shard i
  // samples past max_samples_per_key with seed + i.
  uint32_t shards = 1;
  // brubeck
  std::vector<Percentile> percentiles;  // default 0.75 0.95 0.98 0.99 0.999
  std::string server_name = "brubeck";
  // etsy
  std::vector<Percentile> percent_threshold;  // default 90
  std::vector<HistogramBins> histogram;
  // etsy calculatedTimerMetrics, resolved by TS into the exact timer field
  // names to write ("count", "mean_90", "histogram", …); empty with
  // filter_timer_fields false: every field.
  bool filter_timer_fields = false;
  std::vector<std::string> timer_fields;
  bool legacy_namespace = true;
  bool flush_counts = true;
  bool key_name_sanitize = true;
  std::string global_prefix = "stats";
  std::string prefix_counter = "counters";
  std::string prefix_timer = "timers";
  std::string prefix_gauge = "gauges";
  std::string prefix_set = "sets";
  std::string global_suffix;          // without the leading '.'
  std::string prefix_stats = "statsd";
  bool delete_counters = false;
  bool delete_timers = false;
  bool delete_sets = false;
  bool delete_gauges = false;
  uint32_t gauges_max_ttl = 1;
};

}  // namespace statsd

#endif  // STATSD_AGGREGATOR_OPTIONS_H_
