// Recent history of what the daemon flushed (issue [6/7] item 1): every
// Graphite name a flush wrote, with its values for the last `points` flushes,
// so the daemon can answer graph and query requests without Graphite.
// Contract: memory is bounded by `max_bytes` (each series costs
// SeriesBytes(name): its points and its name); a new series past the bound is
// refused and counted, never an existing one evicted for it. A series none of
// the last `points` flushes wrote is freed. Values are stored as written
// (doubles); a flush that did not write a series leaves a gap (NaN). Not
// thread-safe: the caller serializes (the JS thread owns it).
#ifndef STATSD_HISTORY_H_
#define STATSD_HISTORY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "key_table.h"

namespace statsd {

struct HistoryStats {
  uint64_t flushes = 0;          // flushes recorded
  uint64_t points = 0;           // datapoints recorded
  uint64_t series_refused = 0;   // datapoints of new series refused: max_bytes reached
  uint64_t series_expired = 0;   // series freed: no value in the whole window
  uint64_t lines_skipped = 0;    // input lines not "name value timestamp"
};

class HistoryStore {
 public:
  // Per series beyond its points and its name's bytes: the name's string
  // header and allocation, its table slot (at most 3/4 full), its last flush.
  static constexpr size_t kSeriesOverhead = 32 + 16 + 12 + 8;

  HistoryStore(uint32_t points, uint64_t max_bytes);

  // Records one flush stamped `timestamp`: carbon plaintext lines
  // ("name value timestamp\n", as GraphiteWriter writes them). Starts a new
  // column, so every series not in it has a gap there.
  void AddFlush(const char* data, size_t size, int64_t timestamp);

  // The names matching a Graphite pattern (see MatchPath): calls
  // out(name) for each, in no order; stops after `limit` names.
  template <class Out>
  size_t Find(std::string_view pattern, size_t limit, Out out) const {
    size_t found = 0;
    for (size_t i = 0; i < names_.size() && found < limit; ++i) {
      if (last_flush_[i] == kFree) continue;
      if (MatchPath(pattern, names_[i])) {
        out(std::string_view(names_[i]));
        ++found;
      }
    }
    return found;
  }

  // graphite-web's find: the distinct paths of the pattern's node count that
  // match it and are a series (kNodeLeaf) or the first nodes of a longer
  // series (kNodeBranch), with both flags when both. Calls out(path, flags)
  // once per path, in no order; at most `limit` paths (returns false when
  // there were more).
  static constexpr uint8_t kNodeLeaf = 1;
  static constexpr uint8_t kNodeBranch = 2;
  template <class Out>
  bool FindNodes(std::string_view pattern, size_t limit, Out out) const {
    std::unordered_map<std::string_view, uint8_t> nodes;
    bool whole = true;
    for (size_t i = 0; i < names_.size(); ++i) {
      if (last_flush_[i] == kFree) continue;
      size_t length = 0;
      if (!MatchPrefix(pattern, names_[i], &length)) continue;
      const std::string_view path = std::string_view(names_[i]).substr(0, length);
      auto it = nodes.find(path);
      if (it == nodes.end()) {
        if (nodes.size() >= limit) {
          whole = false;
          continue;
        }
        it = nodes.emplace(path, 0).first;
      }
      it->second |= length == names_[i].size() ? kNodeLeaf : kNodeBranch;
    }
    for (const auto& [path, flags] : nodes) out(path, flags);
    return whole;
  }

  // The recorded flushes stamped in [from, until], oldest first: their
  // timestamps into *times and `name`'s values into *values (NaN for a gap,
  // all NaN when the series is unknown). False when the name is unknown.
  bool Fetch(std::string_view name, int64_t from, int64_t until, std::vector<int64_t>* times,
             std::vector<double>* values) const;

  // Bytes a series named `name` holds (what max_bytes counts).
  size_t SeriesBytes(std::string_view name) const { return points_ * sizeof(double) + name.size() + kSeriesOverhead; }
  uint64_t bytes() const { return bytes_; }
  uint64_t max_bytes() const { return max_bytes_; }
  uint32_t points() const { return points_; }
  size_t series() const { return table_.size(); }
  const HistoryStats& stats() const { return stats_; }

  // Whether `path` matches the Graphite pattern `pattern` (graphite-web's
  // find): both split at '.', the same number of nodes, each node matched by
  // its pattern node, where `*` is any run of characters, `?` one character,
  // `[a-z0]` one of a set (a range or listed), `{ab,cd}` one of the listed
  // alternatives; no node pattern matches across a '.'.
  static bool MatchPath(std::string_view pattern, std::string_view path);
  // Whether the first nodes of `path`, as many as `pattern` has, match it
  // (as MatchPath); *length is how many bytes of `path` those nodes take.
  static bool MatchPrefix(std::string_view pattern, std::string_view path, size_t* length);
  // One node against one node pattern (no '.' in either).
  static bool MatchNode(std::string_view pattern, std::string_view node);

 private:
  static constexpr uint64_t kFree = UINT64_MAX;  // last_flush_ of a freed slot

  uint32_t SeriesFor(std::string_view name, uint64_t hash);  // or KeyTable::kMissing (refused)
  void Expire();

  const uint32_t points_;
  const uint64_t max_bytes_;
  const uint64_t hash_seed_;
  uint64_t bytes_ = 0;
  uint64_t flush_ = 0;                // flushes recorded; the column of flush f is f % points_
  std::vector<int64_t> column_times_; // the timestamp of each column's flush
  KeyTable table_;                    // name -> series index
  std::vector<std::string> names_;
  std::vector<uint64_t> last_flush_;  // the last flush that wrote the series (kFree: slot free)
  // Each series' points_ values, series-major, in blocks of kBlockSeries
  // series: growing by a block, never by doubling (a doubled vector would
  // hold up to twice the bytes max_bytes counts), wasting at most one block.
  static constexpr uint32_t kBlockSeries = 256;
  std::vector<std::unique_ptr<double[]>> blocks_;
  double* Row(uint32_t series) { return blocks_[series / kBlockSeries].get() + size_t{series % kBlockSeries} * points_; }
  const double* Row(uint32_t series) const {
    return blocks_[series / kBlockSeries].get() + size_t{series % kBlockSeries} * points_;
  }
  std::vector<uint32_t> free_;        // freed series indexes, for reuse
  HistoryStats stats_;
};

}  // namespace statsd

#endif  // STATSD_HISTORY_H_
