// The key an Aggregator stores a metric under: a kind byte, the path, then
// Graphite tags (";k=v;…", sorted by name, a name once). Contract: one key per
// Graphite series the metric is written to, so lines that differ only in tag
// order or repetition aggregate together; KeyPrefix is the only definition of
// the kind byte, for the writer (KeyBuilder) and the readers (Describe).
#ifndef STATSD_METRIC_KEY_H_
#define STATSD_METRIC_KEY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aggregator_options.h"
#include "codec.h"

namespace statsd {

// What a key aggregates (several wire types share one: ms, h and d are timers;
// C is a counter in the etsy convention).
enum class MetricKind : uint8_t { kCounter, kMonotonic, kGauge, kTimer, kSet };
constexpr int kMetricKindCount = 5;

// "counter", "monotonic", "gauge", "timer", "set" (snapshot JSON).
std::string_view MetricKindName(MetricKind kind);

// Keys live in namespaces: etsy keeps one per kind (a counter and a gauge may
// share a name), brubeck one for all. The first byte of a stored key names its
// namespace; the rest is the key as snapshot() and /metric show it.
constexpr size_t kKeyPrefixBytes = 1;
constexpr int KeyNamespaceCount(Convention convention) {
  return convention == Convention::kEtsy ? kMetricKindCount : 1;
}
constexpr char KeyPrefix(Convention convention, MetricKind kind) {
  return static_cast<char>('0' + (convention == Convention::kEtsy ? static_cast<int>(kind) : 0));
}

// Builds the stored key of parsed lines into a reused buffer (no allocation
// once warm). etsy's convention sanitizes it as statsd 0.9 does (SanitizeEtsyKey)
// when `sanitize`. Not thread-safe.
class KeyBuilder {
 public:
  KeyBuilder(Convention convention, bool sanitize);

  // The key of `line` as `kind`; valid until the next Build.
  std::string_view Build(const ParsedLine& line, MetricKind kind);
  // Bytes of the last key's path (after the prefix, before the tags).
  uint32_t path_length() const { return path_length_; }

 private:
  void NormalizeTags(size_t start);

  Convention convention_;
  bool sanitize_;
  std::string key_;
  uint32_t path_length_ = 0;
  // A tag list being normalized: spans into the key, the result.
  struct TagSpan {
    uint32_t begin, length, key_length;
  };
  std::vector<TagSpan> tag_spans_;
  std::string tag_text_;
};

}  // namespace statsd

#endif  // STATSD_METRIC_KEY_H_
