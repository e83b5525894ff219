// The aggregation engine: a metric table fed by parsed lines, flushed to Graphite
// in brubeck's convention (default) or etsy statsd's (DESIGN.md §5).
// Contract: Ingest counts every line once (lines + errors); Flush writes every
// reportable key and starts a new interval; see the class for threads.
// The class is implemented by concern:
//   aggregator.cc     construction, ingest (line_stager.h parses, Apply
//                     records), flush lifecycle (expiry)
//   flush_brubeck.cc  brubeck's Graphite names and statistics
//   flush_etsy.cc     etsy statsd 0.9's Graphite names and statistics
//   snapshot.cc       JSON views of keys (Snapshot, Describe)
//   aggregator_entry.h  one key's state, shared by those files
//   metric_key.h      the stored key;  etsy_names.h  etsy sanitizing, namespaces
//   aggregator_options.h  the options
#ifndef STATSD_AGGREGATOR_H_
#define STATSD_AGGREGATOR_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "aggregator_options.h"
#include "codec.h"
#include "etsy_names.h"
#include "graphite.h"
#include "histogram.h"
#include "key_table.h"
#include "line_stager.h"
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
  uint64_t not_forwarded = 0;     // keys not forwarded (flush format statsd): etsy's sanitizing left no name
  uint64_t keys_expired = 0;
  uint64_t flushes = 0;
};

// What one Ingest call saw.
struct IngestResult {
  uint32_t lines = 0;
  uint32_t errors = 0;
};

// Keys are partitioned among `options.shards` shards by their hash (one
// shard unless asked): each shard has its own table, entries and counts, so
// shards can be applied to from different threads (shard_pool.h) while the
// output, limits and totals stay those of one aggregator: keys are written in
// the order they were first seen, whatever the shards, and the limits are
// shared (see IntervalQuota).
// Not thread-safe beyond that: Ingest, Flush and the readers need exclusive
// use (the daemon holds every lock); Apply needs exclusive use of its shard.
class Aggregator {
 public:
  explicit Aggregator(AggregatorOptions options);
  ~Aggregator();

  // Parses one datagram or chunk of whole lines and aggregates its samples,
  // line by line in order (so which new key a limit refuses is the same
  // with any number of shards).
  IngestResult Ingest(const char* data, size_t size);

  // Aggregates a batch staged for `shard` by a LineStager made with this
  // aggregator's hash_seed() and shard_count(). Safe beside Apply calls for
  // other shards.
  IngestResult Apply(uint32_t shard, const StagedBatch& batch);

  // Reports every live key stamped `timestamp` into *out (which it Begin()s and
  // Finish()es), resets per-interval state, and frees expired keys.
  void Flush(int64_t timestamp, GraphiteWriter* out);

  size_t keys() const;
  // Bytes of the key names held now (what max_key_bytes bounds).
  uint64_t key_bytes() const { return key_bytes_.load(std::memory_order_relaxed); }
  // Totals since construction, summed over the shards.
  AggregatorStats stats() const;
  const AggregatorOptions& options() const { return options_; }
  uint32_t shard_count() const { return static_cast<uint32_t>(shards_.size()); }
  uint64_t hash_seed() const { return hash_seed_; }

  // Appends a JSON array describing every key's current state (slow; for tools).
  void Snapshot(std::string* json) const;
  // The same for the keys stored as `key` (path + ";k=v" tags, as in Snapshot):
  // at most one in brubeck's convention, one per kind in etsy's. O(1) in keys;
  // a timer's samples are listed only with `samples` (O(samples) otherwise).
  void Describe(std::string_view key, bool samples, std::string* json) const;

 private:
  struct Entry;  // aggregator_entry.h
  using Kind = MetricKind;

  // A per-interval bound over all shards (max_interval_samples, _members)
  // without a shared write per sample: a batch takes room in blocks, smaller
  // as the bound nears (down to 1), and gives back what it did not use when
  // it ends. So what is stored never passes the bound; one thread (Ingest)
  // fills it exactly; shards applying at once may each be refused while
  // another holds up to a block it has not used yet.
  class IntervalQuota {
   public:
    void Init(uint64_t limit, uint32_t shards) {
      limit_ = limit;
      shards_ = shards;
    }
    // One unit, from *room (a batch's) or a new block; false past the bound.
    bool Take(uint64_t* room) {
      if (*room > 0) {
        --*room;
        return true;
      }
      uint64_t used = used_.load(std::memory_order_relaxed);
      uint64_t block;
      do {
        if (used >= limit_) return false;
        block = std::min<uint64_t>(kMaxBlock, std::max<uint64_t>(1, (limit_ - used) / (4 * shards_)));
      } while (!used_.compare_exchange_weak(used, used + block, std::memory_order_relaxed));
      *room = block - 1;
      return true;
    }
    // What a batch took and did not use.
    void Give(uint64_t room) {
      if (room > 0) used_.fetch_sub(room, std::memory_order_relaxed);
    }
    // A new interval.
    void Reset() { used_.store(0, std::memory_order_relaxed); }

   private:
    static constexpr uint64_t kMaxBlock = 64;
    std::atomic<uint64_t> used_{0};
    uint64_t limit_ = 0;
    uint32_t shards_ = 1;
  };
  // A batch's room in the two quotas.
  struct Rooms {
    uint64_t samples = 0;
    uint64_t members = 0;
  };

  // One partition of the keys and everything that changes with them.
  struct Shard {
    explicit Shard(uint64_t seed);
    Shard(Shard&&) noexcept;
    ~Shard();  // out of line, where Entry is complete
    KeyTable table;
    std::vector<Entry> entries;  // dense; the table maps keys to indexes here
    Random random;
    AggregatorStats stats;
    // per-interval internal counts (brubeck .metrics/.errors; etsy statsd.*)
    uint64_t interval_lines = 0;
    uint64_t interval_errors = 0;
    uint64_t interval_packets = 0;
  };
  // Lines whose table slots are prefetched ahead of the one being recorded,
  // so the cache misses of a large table overlap instead of queueing (about
  // a core's fill buffers). Set by reason, not swept; the aggregate bench
  // (keys-100k) is where a change would show.
  static constexpr size_t kPrefetchAhead = 16;

  // Records a batch's lines: all into `shard`, or each into its own when
  // `shard` is kAnyShard (Ingest's single batch).
  static constexpr uint32_t kAnyShard = UINT32_MAX;
  IngestResult ApplyLines(uint32_t shard, const StagedBatch& batch);
  Entry* FindOrCreate(Shard& shard, std::string_view key, const StagedLine& line);
  void Record(Shard& shard, Rooms& rooms, Entry& e, const StagedLine& line, const StagedSample& s);
  // Frees the keys that `gone` says, keeping the others in their order.
  template <class Gone>
  void Compact(Shard& shard, Gone gone);
  // Calls f(entry) for every key in the order keys were first seen: each
  // shard's entries are in that order (Compact keeps it), merged by `seq`
  // through a heap of the shards' next entries (keys × log shards).
  template <class Shards, class F>
  static void Merged(Shards& shards, F f) {
    if (shards.size() == 1) {
      for (auto& e : shards[0].entries) f(e);
      return;
    }
    using Next = std::pair<uint64_t, uint32_t>;  // an entry's seq, its shard
    std::vector<Next> heap;
    std::vector<size_t> at(shards.size(), 0);
    for (uint32_t k = 0; k < shards.size(); ++k) {
      if (!shards[k].entries.empty()) heap.emplace_back(shards[k].entries[0].seq, k);
    }
    const auto later = std::greater<Next>();
    std::make_heap(heap.begin(), heap.end(), later);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), later);
      const uint32_t k = heap.back().second;
      heap.pop_back();
      auto& entries = shards[k].entries;
      f(entries[at[k]++]);
      if (at[k] < entries.size()) {
        heap.emplace_back(entries[at[k]].seq, k);
        std::push_heap(heap.begin(), heap.end(), later);
      }
    }
  }
  template <class F>
  void ForEachEntry(F f) { Merged(shards_, f); }
  template <class F>
  void ForEachEntry(F f) const { Merged(shards_, f); }
  // Sums a per-interval count over the shards.
  uint64_t IntervalSum(uint64_t Shard::*count) const;

  void FlushBrubeck(int64_t timestamp, GraphiteWriter* out);  // flush_brubeck.cc
  void FlushEtsy(int64_t timestamp, GraphiteWriter* out);     // flush_etsy.cc
  void FlushStatsd(int64_t timestamp, GraphiteWriter* out);   // flush_statsd.cc
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
  const uint64_t hash_seed_;  // random per aggregator: see HashKey
  const uint64_t member_seed_;  // set members' hashes (AggregatorOptions::member_seed)
  std::vector<Shard> shards_;
  // Limits over all shards: keys and their bytes change only when a key is
  // made or freed, so shards share them; per-interval storage is taken in
  // blocks (IntervalQuota).
  std::mutex new_keys_;  // held to change the two below (read without it)
  std::atomic<uint64_t> key_count_{0};
  std::atomic<uint64_t> key_bytes_{0};
  std::atomic<uint64_t> next_seq_{0};  // the order keys were first seen in
  IntervalQuota samples_quota_;  // timer samples stored this interval
  IntervalQuota members_quota_;  // set members stored this interval
  uint64_t keys_expired_ = 0;
  uint64_t flushes_ = 0;
  uint64_t nonfinite_dropped_ = 0;
  uint64_t not_forwarded_ = 0;
  int64_t last_flush_ = 0;
  LineStager stager_;  // Ingest's parse stage
  const EtsyNamespaces etsy_;  // resolved once at construction
  std::string name_;
  std::vector<double> prefix_sums_;
  std::vector<double> prefix_squares_;
};

}  // namespace statsd

#endif  // STATSD_AGGREGATOR_H_
