// Key-sharding of statsd lines (issue [7/7]): each line goes to one of N
// nodes chosen by a consistent hash of its key, so every key is aggregated in
// exactly one daemon. The key is what the daemons' aggregator keys a line by
// (KeyBuilder in their convention: the name, then its DogStatsD tags as
// sorted Graphite tags; in etsy's, sanitized as etsy does, and parsed as etsy
// reads lines), less its kind byte, so `a:1|c|#x:1,y:2` and `a:2|g|#y:2,x:1`
// go to the same node, and so do etsy's `a/b` and `a-b`; the hash is 64-bit FNV-1a of that key, the node Google's jump
// consistent hash of it (adding a node moves ~1/N of the keys). A node marked
// down gives its lines to the next node up in index order (counted as moved).
// Lines go out as they came in (bytes unchanged), packed per node into
// packets of at most max_packet_bytes split at '\n' (a line that does not fit
// with its '\n' goes alone, without it).
// Bad lines are not forwarded; they are counted by reason. Not thread-safe.
#ifndef STATSD_ROUTER_H_
#define STATSD_ROUTER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codec.h"
#include "metric_key.h"

namespace statsd {

// 64-bit FNV-1a of `bytes`.
uint64_t RouteHash(std::string_view bytes);
// Lamping and Veach's jump consistent hash: a bucket in [0, buckets).
uint32_t JumpHash(uint64_t key, uint32_t buckets);

struct RouterStats {
  uint64_t lines = 0;        // good lines routed to a node
  uint64_t moved = 0;        // of those, sent to another node than their own (it was down)
  uint64_t unroutable = 0;   // good lines dropped: every node was down
  uint64_t oversize = 0;     // lines longer than a packet, sent alone (over max_packet_bytes)
  uint64_t errors = 0;       // bad lines, not forwarded
  uint64_t by_reason[kParseStatusCount] = {};
};

class LineRouter {
 public:
  // `convention` and `sanitize` (etsy's keyNameSanitize) as the daemons'.
  LineRouter(uint32_t nodes, size_t max_packet_bytes, Convention convention = Convention::kBrubeck, bool sanitize = true);

  // Routes every line of `data` (a datagram, or whole lines of a stream)
  // to its node's pending packet; `down[i]` != 0 marks node i down.
  // Returns how many full packets wait to be taken.
  size_t Route(const char* data, size_t size, const uint8_t* down);
  // The node a key's lines go to with every node up (for tests and emitters).
  uint32_t NodeOf(std::string_view line);

  // Packets ready to send: full ones, and with `all` the partial ones too.
  // Appends them to *bytes back to back, their end offsets to *ends, and for
  // each node the number of packets it has to *counts (nodes in order).
  void Take(bool all, std::string* bytes, std::vector<uint32_t>* ends, std::vector<uint32_t>* counts);

  uint32_t nodes() const { return static_cast<uint32_t>(pending_.size()); }
  const RouterStats& stats() const { return stats_; }
  const std::vector<uint64_t>& lines_per_node() const { return lines_per_node_; }

 private:
  struct Sink;
  void Append(uint32_t node, std::string_view line);
  // The node of the line just parsed, with every node up.
  uint32_t Home(const ParsedLine& line);

  size_t max_packet_bytes_;
  LineParser parser_;
  KeyBuilder keys_;
  std::vector<std::string> pending_;             // per node: the packet being filled
  std::vector<std::vector<std::string>> ready_;  // per node: full packets
  std::vector<uint64_t> lines_per_node_;
  size_t ready_count_ = 0;  // packets in ready_
  RouterStats stats_;
};

}  // namespace statsd

#endif  // STATSD_ROUTER_H_
