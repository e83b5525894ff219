// The parse stage of aggregation: a packet's lines parsed, keyed and hashed
// into one batch per aggregation shard (DESIGN.md §5). A batch holds copies of
// what its lines need (keys, values, set members' hashes), so the thread that
// stages it need not be the one that applies it (shard_pool.h), and a shard's
// batch never touches another shard's keys.
// Contract: every line of a staged packet is counted once, as a staged line
// or as a parse error in the counts of shard 0's batch; nothing here is
// thread-safe (one stager per thread).
#ifndef STATSD_LINE_STAGER_H_
#define STATSD_LINE_STAGER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aggregator_options.h"
#include "codec.h"
#include "metric_key.h"

namespace statsd {

// One parsed line, keyed: its key bytes and values live in its batch.
struct StagedLine {
  uint64_t hash;        // HashKey of the key: the table slot (low bits), the shard (high bits)
  double sample_rate;
  uint32_t key_begin, key_length, path_length;  // in StagedBatch::keys; path after the kind byte
  uint32_t sample_begin, sample_count;          // in StagedBatch::samples
  MetricType type;
  MetricKind kind;
};

// One value: a number, or for sets the member's hash (its text is not kept:
// a number that lands on a set key is the member its shortest text is, see
// Aggregator::Record).
struct StagedSample {
  double value;
  uint64_t member;
  bool relative;  // the value carried an explicit '+' or '-'
};

// What the parse stage counted besides good lines: packets and bad lines.
struct ParseCounts {
  uint64_t packets = 0;
  uint64_t errors = 0;
  uint64_t by_reason[kParseStatusCount] = {};
};

// The lines staged for one shard, with the parse counts they carry.
struct StagedBatch {
  std::vector<StagedLine> lines;
  std::vector<StagedSample> samples;
  std::string keys;
  ParseCounts counts;

  bool empty() const { return lines.empty() && counts.packets == 0 && counts.errors == 0; }
  void Clear() {
    lines.clear();
    samples.clear();
    keys.clear();
    counts = ParseCounts{};
  }
  // Bytes of lines, values and keys staged (what a shard queue bounds).
  size_t bytes() const {
    return lines.size() * sizeof(StagedLine) + samples.size() * sizeof(StagedSample) + keys.size();
  }
};

// The shard of a key's hash: its high 32 bits scaled to [0, shards), so the
// table slot (low bits) stays independent of the shard.
inline uint32_t ShardOf(uint64_t hash, uint32_t shards) {
  return static_cast<uint32_t>(((hash >> 32) * shards) >> 32);
}

class LineStager {
 public:
  // Lines staged before Stage stops so the caller can apply or hand over the
  // batches: ~2k lines is ~30 datagrams, ~150 KiB of batch, enough to make a
  // hand-over (one lock per shard) rare next to the lines it carries.
  static constexpr size_t kMaxStagedLines = 2048;

  // `hash_seed` is the aggregator's (see HashKey): keys hash alike everywhere.
  LineStager(const AggregatorOptions& options, uint64_t hash_seed, uint32_t shards);

  // Counts one datagram or chunk (in shard 0's batch).
  void CountPacket() { ++batches_[0].counts.packets; }
  // Parses the lines of data[0, size) into the shards' batches. Stops early
  // at a line boundary once kMaxStagedLines are staged and returns the bytes
  // it consumed: the caller empties the batches and calls again with the rest.
  size_t Stage(const char* data, size_t size);

  uint32_t shards() const { return static_cast<uint32_t>(batches_.size()); }
  StagedBatch& batch(uint32_t shard) { return batches_[shard]; }
  // Empties every batch (after the caller applied them or swapped them out).
  void Reset();

  // WalkPacket's sink (OnLine: false once kMaxStagedLines are staged).
  bool OnLine(const ParsedLine& line, std::string_view text);
  void OnError(ParseStatus status, std::string_view text);


 private:
  MetricKind KindOf(MetricType type) const;

  const Convention convention_;
  const uint64_t hash_seed_;
  const uint64_t member_seed_;  // set members: AggregatorOptions::member_seed, else hash_seed_
  LineParser parser_;
  KeyBuilder key_builder_;
  std::vector<StagedBatch> batches_;
  size_t staged_lines_ = 0;
};

}  // namespace statsd

#endif  // STATSD_LINE_STAGER_H_
