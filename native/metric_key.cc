// Stored keys (see metric_key.h): statsd tags as Graphite tags, their order
// made canonical, and the etsy convention's sanitizing.
#include "metric_key.h"

#include <algorithm>
#include <utility>

#include "etsy_names.h"

namespace statsd {
namespace {

// Tags become Graphite tags: "env:prod,az" → ";env=prod;az" (first ';' → '_',
// first ':' → '=' in each tag, as etsy statsd does).
void AppendGraphiteTags(std::string_view tags, std::string* out) {
  while (!tags.empty()) {
    const size_t comma = tags.find(',');
    std::string_view tag = tags.substr(0, comma);
    if (tag.empty()) {  // "a,,b": empty tags are dropped (see CheckTags)
      if (comma == std::string_view::npos) break;
      tags.remove_prefix(comma + 1);
      continue;
    }
    const size_t start = out->size();
    out->push_back(';');
    out->append(tag.data(), tag.size());
    std::string_view written(out->data() + start + 1, tag.size());
    const size_t semi = written.find(';');
    if (semi != std::string_view::npos) (*out)[start + 1 + semi] = '_';
    const size_t colon = written.find(':');
    if (colon != std::string_view::npos) (*out)[start + 1 + colon] = '=';
    if (comma == std::string_view::npos) break;
    tags.remove_prefix(comma + 1);
  }
}

}  // namespace

std::string_view MetricKindName(MetricKind kind) {
  switch (kind) {
    case MetricKind::kCounter: return "counter";
    case MetricKind::kMonotonic: return "monotonic";
    case MetricKind::kGauge: return "gauge";
    case MetricKind::kTimer: return "timer";
    case MetricKind::kSet: return "set";
  }
  return "?";
}

KeyBuilder::KeyBuilder(Convention convention, bool sanitize)
    : convention_(convention), sanitize_(convention == Convention::kEtsy && sanitize) {}

// key: kind byte (KeyPrefix), the name, then Graphite tags; etsy sanitizes it
// as statsd 0.9 does.
std::string_view KeyBuilder::Build(const ParsedLine& line, MetricKind kind) {
  const bool etsy = convention_ == Convention::kEtsy;
  key_.clear();
  key_.push_back(KeyPrefix(convention_, kind));
  key_.append(line.name.data(), line.name.size());
  if (!line.tags.empty()) AppendGraphiteTags(line.tags, &key_);
  if (sanitize_) SanitizeEtsyKey(&key_, kKeyPrefixBytes);
  // The path ends where the tags begin: brubeck keeps the name as sent; etsy
  // splits the sanitized key at its first ';', as its graphite backend does.
  const size_t tags_start =
      std::min(etsy ? key_.find(';', kKeyPrefixBytes) : kKeyPrefixBytes + line.name.size(), key_.size());
  if (tags_start < key_.size()) NormalizeTags(tags_start);
  path_length_ = static_cast<uint32_t>(tags_start - kKeyPrefixBytes);
  return key_;
}

// Puts the ";name=value" tags in key_[start..] in the order Graphite stores a
// tagged series: sorted by tag name, a name given twice keeping its last
// value. So the order or repetition of tags in a line never makes another
// series (which carbon would merge, last write wins).
void KeyBuilder::NormalizeTags(size_t start) {
  const std::string_view tags = std::string_view(key_).substr(start);
  if (tags.find(';', 1) == std::string_view::npos) return;  // one tag (or none)
  // Already in order, each name once (senders mostly keep one order): as is.
  {
    auto name_at = [&](size_t at) {
      const size_t end = std::min(tags.find(';', at), tags.size());
      const std::string_view tag = tags.substr(at, end - at);
      return std::pair{tag.substr(0, tag.find('=')), end};
    };
    auto [previous, end] = name_at(1);
    bool ordered = true;
    while (ordered && end < tags.size()) {
      auto [name, next_end] = name_at(end + 1);
      ordered = previous < name;
      previous = name;
      end = next_end;
    }
    if (ordered) return;
  }
  tag_spans_.clear();
  for (size_t at = 1; at <= tags.size();) {  // tags[0] == ';'
    size_t end = tags.find(';', at);
    if (end == std::string_view::npos) end = tags.size();
    const std::string_view tag = tags.substr(at, end - at);
    const size_t equals = tag.find('=');
    tag_spans_.push_back({static_cast<uint32_t>(at), static_cast<uint32_t>(tag.size()),
                          static_cast<uint32_t>(equals == std::string_view::npos ? tag.size() : equals)});
    at = end + 1;
  }
  auto name = [&](const TagSpan& t) { return tags.substr(t.begin, t.key_length); };
  std::stable_sort(tag_spans_.begin(), tag_spans_.end(),
                   [&](const TagSpan& a, const TagSpan& b) { return name(a) < name(b); });
  tag_text_.clear();
  for (size_t i = 0; i < tag_spans_.size(); ++i) {
    const TagSpan& t = tag_spans_[i];
    if (i + 1 < tag_spans_.size() && name(tag_spans_[i + 1]) == name(t)) continue;  // a later value wins
    tag_text_.push_back(';');
    tag_text_.append(tags.substr(t.begin, t.length));
  }
  key_.replace(start, std::string::npos, tag_text_);
}

}  // namespace statsd
