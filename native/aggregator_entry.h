// One stored key's state (Aggregator::Entry) and the small helpers both
// flushes share. Internal to the Aggregator's own .cc files (aggregator.cc,
// flush_brubeck.cc, flush_etsy.cc, snapshot.cc); nothing else includes it.
#ifndef STATSD_AGGREGATOR_ENTRY_H_
#define STATSD_AGGREGATOR_ENTRY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "aggregator.h"
#include "histogram.h"
#include "metric_key.h"

namespace statsd {

struct Aggregator::Entry {
  // (Ordered so the small fields share words: 104 bytes.)
  std::string key;           // KeyPrefix + path + tags (";k=v;...")
  uint64_t hash = 0;
  uint64_t seq = 0;          // when the key was first seen, over all shards (the output order)
  double value = 0;          // meter/counter sum, gauge value
  double previous = 0;       // monotonic: last total
  int64_t last_update = 0;   // timestamp of the last flush that had an update
  std::unique_ptr<Histogram> histogram;
  std::unique_ptr<std::unordered_set<uint64_t>> members;
  uint32_t path_length = 0;  // bytes of the path after the prefix
  uint32_t gauge_ttl = 0;    // etsy deleteGauges: flushes left
  Kind kind = Kind::kCounter;
  bool updated = false;      // a sample arrived this interval
  bool primed = false;       // monotonic: a first total was seen
  uint8_t idle_flushes = 0;  // flushes since the last one with an update (saturating)

  // The key without its prefix: path + tags, as snapshot() shows it.
  std::string_view stored() const { return std::string_view(key).substr(kKeyPrefixBytes); }
  std::string_view path() const { return stored().substr(0, path_length); }
  std::string_view tags() const { return stored().substr(path_length); }
};

inline double Seconds(double ms) { return ms / 1000.0; }

// Empties a set for the next interval; a large one gives its buckets back
// (clear() keeps them), so memory held between flushes follows use.
inline void ClearMembers(std::unordered_set<uint64_t>* members) {
  if (members->size() > 1024) {
    std::unordered_set<uint64_t>().swap(*members);
  } else {
    members->clear();
  }
}

}  // namespace statsd

#endif  // STATSD_AGGREGATOR_ENTRY_H_
