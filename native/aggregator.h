// The aggregation engine: a metric table fed by parsed lines, flushed to Graphite
// in brubeck's convention (default) or etsy statsd's (DESIGN.md §5).
#ifndef STATSD_AGGREGATOR_H_
#define STATSD_AGGREGATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec.h"
#include "graphite.h"
#include "histogram.h"
#include "key_table.h"

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

// Every field mirrors the TS option of the same name (src/aggregator.ts).
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
  uint64_t seed = 1;                  // reservoir sampling
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

// Totals since construction (the daemon's /stats and internal metrics).
struct AggregatorStats {
  uint64_t packets = 0;
  uint64_t lines = 0;           // good lines
  uint64_t samples = 0;         // values aggregated (a multi-value line gives several)
  uint64_t errors = 0;          // bad lines (parse errors and rejected values)
  uint64_t by_reason[kParseStatusCount] = {};
  uint64_t keys_dropped = 0;    // samples refused because maxKeys or maxKeyBytes was reached
  uint64_t members_dropped = 0; // set members refused: maxSetMembers or maxIntervalMembers reached
  uint64_t samples_not_stored = 0;  // timer samples counted but not stored: maxIntervalSamples reached
  uint64_t nonfinite_dropped = 0;   // datapoints not written because the value was NaN or infinite
  uint64_t keys_expired = 0;
  uint64_t flushes = 0;
};

// What one Ingest call saw.
struct IngestResult {
  uint32_t lines = 0;
  uint32_t errors = 0;
};

// Not thread-safe: callers serialize Ingest and Flush (the daemon holds a lock).
class Aggregator {
 public:
  explicit Aggregator(AggregatorOptions options);
  ~Aggregator();

  // Parses one datagram or chunk of whole lines and aggregates its samples.
  IngestResult Ingest(const char* data, size_t size);

  // Reports every live key stamped `timestamp` into *out (which it Begin()s and
  // Finish()es), resets per-interval state, and frees expired keys.
  void Flush(int64_t timestamp, GraphiteWriter* out);

  size_t keys() const;
  // Bytes of the key names held now (what max_key_bytes bounds).
  uint64_t key_bytes() const { return key_bytes_; }
  const AggregatorStats& stats() const { return stats_; }
  const AggregatorOptions& options() const { return options_; }

  // Appends a JSON array describing every key's current state (slow; for tools).
  void Snapshot(std::string* json) const;
  // The same for the keys stored as `key` (path + ";k=v" tags, as in Snapshot):
  // at most one in brubeck's convention, one per kind in etsy's. O(1) in keys;
  // a timer's samples are listed only with `samples` (O(samples) otherwise).
  void Describe(std::string_view key, bool samples, std::string* json) const;

  // Called by WalkPacket.
  bool OnLine(const ParsedLine& line, std::string_view text);
  void OnError(ParseStatus status, std::string_view text);

 private:
  struct Entry;
  enum class Kind : uint8_t { kCounter, kMonotonic, kGauge, kTimer, kSet };

  // A parsed line waiting for its table lookup (see OnLine).
  struct Pending {
    ParsedLine line;        // samples point into pending_samples_ once drained
    Kind kind;
    uint64_t hash;
    uint32_t key_begin, key_length, path_length;  // key bytes in pending_keys_
    uint32_t sample_begin;
  };
  // Lines are looked up in batches: staging a line prefetches its table slot,
  // so the cache misses of a batch overlap instead of queueing.
  static constexpr size_t kPipelineDepth = 32;

  Kind KindOf(MetricType type) const;
  std::string_view BuildKey(const ParsedLine& line, Kind kind);
  void NormalizeTags(std::string* key, size_t start);
  Entry* FindOrCreate(std::string_view key, uint64_t hash, uint32_t path_length, Kind kind);
  void Drain();
  void Aggregate(const Pending& pending);
  void Record(Entry& e, const ParsedLine& line, const Sample& s);
  void RemoveAt(size_t index);

  void FlushBrubeck(int64_t timestamp, GraphiteWriter* out);
  void FlushEtsy(int64_t timestamp, GraphiteWriter* out);
  void WriteEtsyTimer(Entry& e, GraphiteWriter* out);
  // Whether the etsy timer field `stat` + `threshold` (".count_" + "90" →
  // "count_90"; ".histogram." → "histogram") is written (calculatedTimerMetrics).
  bool WantTimerField(std::string_view stat, std::string_view threshold) const;
  // Writes prefix + path + suffix + global suffix + tags of `e` to name_.
  std::string_view Name(std::string_view prefix, const Entry& e, std::string_view suffix,
                        std::string_view suffix2 = {});
  bool Expired(const Entry& e, int64_t timestamp) const;
  void AppendJson(const Entry& e, bool samples, std::string* json) const;

  AggregatorOptions options_;
  LineParser parser_;
  KeyTable table_;
  std::vector<Entry> entries_;  // dense; the table maps keys to indexes here
  Random random_;
  const uint64_t hash_seed_;  // random per aggregator: see HashKey
  AggregatorStats stats_;
  uint64_t key_bytes_ = 0;
  IngestResult current_;
  // per-interval internal counts (brubeck .metrics/.errors; etsy statsd.*)
  uint64_t interval_lines_ = 0;
  uint64_t interval_errors_ = 0;
  uint64_t interval_packets_ = 0;
  uint64_t interval_samples_ = 0;  // timer samples stored this interval (max_interval_samples)
  uint64_t interval_members_ = 0;  // set members stored this interval (max_interval_members)
  int64_t last_flush_ = 0;
  // scratch, reused
  std::vector<Pending> pending_;
  std::vector<Sample> pending_samples_;
  std::string pending_keys_;
  std::string key_;
  // A tag list being normalized (NormalizeTags): spans into the key, the result.
  struct TagSpan {
    uint32_t begin, length, key_length;
  };
  std::string tag_text_;
  std::vector<TagSpan> tag_spans_;
  std::string etsy_timer_namespace_;  // "stats.timers." or prefixes, fixed at construction
  uint32_t key_path_length_ = 0;  // of key_, set by BuildKey
  std::string name_;
  std::vector<double> prefix_sums_;
  std::vector<double> prefix_squares_;
};

}  // namespace statsd

#endif  // STATSD_AGGREGATOR_H_
