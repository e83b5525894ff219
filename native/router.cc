// Key-sharding of statsd lines (see router.h).
#include "router.h"

namespace statsd {

uint64_t RouteHash(std::string_view bytes) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

uint32_t JumpHash(uint64_t key, uint32_t buckets) {
  int64_t b = -1, j = 0;
  while (j < static_cast<int64_t>(buckets)) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = static_cast<int64_t>(static_cast<double>(b + 1) * (static_cast<double>(1LL << 31) / static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<uint32_t>(b);
}

namespace {
// Lines as the daemons parse them: etsy takes spaces (its sanitizer turns
// them into '_') and sample rates above 1.
ParseOptions RouterParseOptions(Convention convention, bool sanitize) {
  ParseOptions options;
  options.etsy = convention == Convention::kEtsy && sanitize;
  return options;
}
}  // namespace

LineRouter::LineRouter(uint32_t nodes, size_t max_packet_bytes, Convention convention, bool sanitize)
    : max_packet_bytes_(max_packet_bytes),
      parser_(RouterParseOptions(convention, sanitize)),
      keys_(convention, sanitize),
      pending_(nodes ? nodes : 1),
      ready_(pending_.size()),
      lines_per_node_(pending_.size(), 0) {}

uint32_t LineRouter::Home(const ParsedLine& line) {
  // The stored key less its kind byte: etsy keeps a namespace per kind, but a
  // name's counter and gauge go to one node all the same.
  const std::string_view key = keys_.Build(line, MetricKind::kCounter).substr(kKeyPrefixBytes);
  return JumpHash(RouteHash(key), nodes());
}

struct LineRouter::Sink {
  LineRouter* router;
  const uint8_t* down;
  bool OnLine(const ParsedLine& parsed, std::string_view line) {
    const uint32_t n = router->nodes();
    const uint32_t home = router->Home(parsed);
    uint32_t node = home;
    while (down != nullptr && down[node]) {
      node = (node + 1) % n;
      if (node == home) {
        ++router->stats_.unroutable;
        return true;
      }
    }
    if (node != home) ++router->stats_.moved;
    ++router->stats_.lines;
    ++router->lines_per_node_[node];
    router->Append(node, line);
    return true;
  }
  void OnError(ParseStatus status, std::string_view) {
    ++router->stats_.errors;
    ++router->stats_.by_reason[static_cast<int>(status)];
  }
};

size_t LineRouter::Route(const char* data, size_t size, const uint8_t* down) {
  Sink sink{this, down};
  WalkPacket(parser_, data, size, sink);
  return ready_count_;
}

uint32_t LineRouter::NodeOf(std::string_view line) {
  ParsedLine parsed;
  if (parser_.Parse(line, &parsed) != ParseStatus::kOk) return UINT32_MAX;
  return Home(parsed);
}

void LineRouter::Append(uint32_t node, std::string_view line) {
  std::string& packet = pending_[node];
  const size_t need = line.size() + 1;  // the line and its '\n'
  if (packet.size() + need > max_packet_bytes_ && !packet.empty()) {  // lines keep their order
    ++ready_count_;
    ready_[node].push_back(std::move(packet));
    packet.clear();
    packet.reserve(max_packet_bytes_);
  }
  if (need > max_packet_bytes_) {  // alone in its packet, without its '\n'
    if (line.size() > max_packet_bytes_) ++stats_.oversize;
    ready_[node].emplace_back(line);
    ++ready_count_;
    return;
  }
  packet.append(line);
  packet.push_back('\n');
  if (packet.size() >= max_packet_bytes_) {
    ++ready_count_;
    ready_[node].push_back(std::move(packet));
    packet.clear();
  }
}

void LineRouter::Take(bool all, std::string* bytes, std::vector<uint32_t>* ends, std::vector<uint32_t>* counts) {
  for (uint32_t node = 0; node < nodes(); ++node) {
    if (all && !pending_[node].empty()) {
      ready_[node].push_back(std::move(pending_[node]));
      pending_[node].clear();
    }
    counts->push_back(static_cast<uint32_t>(ready_[node].size()));
    for (const std::string& packet : ready_[node]) {
      bytes->append(packet);
      ends->push_back(static_cast<uint32_t>(bytes->size()));
    }
    ready_[node].clear();
  }
  ready_count_ = 0;
}

}  // namespace statsd
