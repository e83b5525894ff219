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
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "key_table.h"
#include "path_pattern.h"

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
  using Clock = std::chrono::steady_clock;
  using Deadline = Clock::time_point;
  static constexpr size_t kNamesPerClockCheck = 256;

  // Per series beyond its points and its name's bytes: the name's string
  // header and allocation, its table slot (at most 3/4 full), its last flush.
  static constexpr size_t kSeriesOverhead = 32 + 16 + 12 + 8;

  HistoryStore(uint32_t points, uint64_t max_bytes);

  // Records one flush stamped `timestamp`: carbon plaintext lines
  // ("name value timestamp\n", as GraphiteWriter writes them). Starts a new
  // column, so every series not in it has a gap there.
  void AddFlush(const char* data, size_t size, int64_t timestamp);

  // What a scan of the names ended with.
  enum class Scan { kComplete, kLimited, kTimedOut };

  // The names matching `pattern`: calls out(name) for each, in no order;
  // stops after `limit` names (kLimited) or once `deadline` has passed
  // (kTimedOut, checked every kNamesPerClockCheck names).
  template <class Out>
  Scan Find(const PathPattern& pattern, size_t limit, Deadline deadline, Out out) const {
    size_t found = 0;
    for (size_t i = 0; i < names_.size(); ++i) {
      if (i % kNamesPerClockCheck == 0 && i > 0 && Clock::now() > deadline) return Scan::kTimedOut;
      if (last_flush_[i] == kFree || !pattern.Match(names_[i])) continue;
      if (found == limit) return Scan::kLimited;
      out(std::string_view(names_[i]));
      ++found;
    }
    return Scan::kComplete;
  }

  // graphite-web's find: the distinct paths of the pattern's node count that
  // match it and are a series (kNodeLeaf) or the first nodes of a longer
  // series (kNodeBranch), with both flags when both. Calls out(path, flags)
  // once per path, in no order; at most `limit` paths, within `deadline`.
  static constexpr uint8_t kNodeLeaf = 1;
  static constexpr uint8_t kNodeBranch = 2;
  template <class Out>
  Scan FindNodes(const PathPattern& pattern, size_t limit, Deadline deadline, Out out) const {
    std::unordered_map<std::string_view, uint8_t> nodes;
    Scan scan = Scan::kComplete;
    for (size_t i = 0; i < names_.size(); ++i) {
      if (i % kNamesPerClockCheck == 0 && i > 0 && Clock::now() > deadline) {
        scan = Scan::kTimedOut;
        break;
      }
      size_t length = 0;
      if (last_flush_[i] == kFree || !pattern.MatchPrefix(names_[i], &length)) continue;
      const std::string_view path = std::string_view(names_[i]).substr(0, length);
      auto it = nodes.find(path);
      if (it == nodes.end()) {
        if (nodes.size() >= limit) {
          scan = Scan::kLimited;
          continue;
        }
        it = nodes.emplace(path, 0).first;
      }
      it->second |= length == names_[i].size() ? kNodeLeaf : kNodeBranch;
    }
    for (const auto& [path, flags] : nodes) out(path, flags);
    return scan;
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
  // Each series' points_ values, series-major, in blocks of block_series_
  // series: growing by a block, never by doubling (a doubled vector would
  // hold up to twice the bytes max_bytes counts). A block is at most 256
  // series, 4 MiB and max_bytes (at least one series), so the bytes held past
  // what max_bytes counts are less than one block.
  static constexpr uint32_t kMaxBlockSeries = 256;
  static constexpr uint64_t kMaxBlockBytes = 4 << 20;
  const uint32_t block_series_;
  std::vector<std::unique_ptr<double[]>> blocks_;
  double* Row(uint32_t series) { return blocks_[series / block_series_].get() + size_t{series % block_series_} * points_; }
  const double* Row(uint32_t series) const {
    return blocks_[series / block_series_].get() + size_t{series % block_series_} * points_;
  }
  std::vector<uint32_t> free_;        // freed series indexes, for reuse
  HistoryStats stats_;
};

}  // namespace statsd

#endif  // STATSD_HISTORY_H_
