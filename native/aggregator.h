// The aggregation engine: a metric table fed by parsed lines, flushed to Graphite
// in brubeck's convention (default) or etsy statsd's (DESIGN.md §5).
// Contract: Ingest counts every line once (lines + errors); Flush writes every
// reportable key and starts a new interval; nothing here is thread-safe.
// The class is implemented by concern:
//   aggregator.cc     construction, ingest pipeline, flush lifecycle (expiry)
//   flush_brubeck.cc  brubeck's Graphite names and statistics
//   flush_etsy.cc     etsy statsd 0.9's Graphite names and statistics
//   snapshot.cc       JSON views of keys (Snapshot, Describe)
//   aggregator_entry.h  one key's state, shared by those files
//   metric_key.h      the stored key;  etsy_names.h  etsy sanitizing, namespaces
//   aggregator_options.h  the options
#ifndef STATSD_AGGREGATOR_H_
#define STATSD_AGGREGATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aggregator_options.h"
#include "codec.h"
#include "etsy_names.h"
#include "graphite.h"
#include "histogram.h"
#include "key_table.h"
#include "metric_key.h"

namespace statsd {

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
  struct Entry;  // aggregator_entry.h
  using Kind = MetricKind;

  // A parsed line waiting for its table lookup (see OnLine).
  struct Pending {
    ParsedLine line;        // samples point into pending_samples_ once drained
    Kind kind;
    uint64_t hash;
    uint32_t key_begin, key_length, path_length;  // key bytes in pending_keys_
    uint32_t sample_begin;
  };
  // Lines are looked up in batches: staging a line prefetches its table slot,
  // so the cache misses of a batch overlap instead of queueing. 32 lines is
  // about half a 1432-byte datagram: enough misses in flight for a core's
  // fill buffers, while the batch's keys stay in L1. Set by reason, not
  // swept; the aggregate bench (keys-100k) is where a change would show.
  static constexpr size_t kPipelineDepth = 32;

  Kind KindOf(MetricType type) const;
  Entry* FindOrCreate(std::string_view key, uint64_t hash, uint32_t path_length, Kind kind);
  void Drain();
  void Aggregate(const Pending& pending);
  void Record(Entry& e, const ParsedLine& line, const Sample& s);
  void RemoveAt(size_t index);

  void FlushBrubeck(int64_t timestamp, GraphiteWriter* out);  // flush_brubeck.cc
  void FlushEtsy(int64_t timestamp, GraphiteWriter* out);     // flush_etsy.cc
  void WriteEtsyTimer(Entry& e, GraphiteWriter* out);
  // Whether the etsy timer field `stat` + `threshold` (".count_" + "90" →
  // "count_90"; ".histogram." → "histogram") is written (calculatedTimerMetrics).
  bool WantTimerField(std::string_view stat, std::string_view threshold) const;
  // Writes prefix + path + suffix + suffix2 + etsy's global suffix + tags of `e` to name_.
  std::string_view Name(std::string_view prefix, const Entry& e, std::string_view suffix,
                        std::string_view suffix2 = {});
  bool Expired(const Entry& e, int64_t timestamp) const;
  void AppendJson(const Entry& e, bool samples, std::string* json) const;  // snapshot.cc

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
  KeyBuilder key_builder_;
  const EtsyNamespaces etsy_;  // resolved once at construction
  std::string name_;
  std::vector<double> prefix_sums_;
  std::vector<double> prefix_squares_;
};

}  // namespace statsd

#endif  // STATSD_AGGREGATOR_H_
