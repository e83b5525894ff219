// The parse stage (see line_stager.h): lines parsed, refused or keyed,
// hashed and copied into their shard's batch.
#include "line_stager.h"

#include "key_table.h"

namespace statsd {
namespace {

// The parser's options for a convention: the etsy convention takes what etsy
// statsd takes (spaces its sanitizer turns into '_', rates above 1).
ParseOptions ParserOptions(const AggregatorOptions& o) {
  ParseOptions p = o.parse;
  p.etsy = o.convention == Convention::kEtsy && o.key_name_sanitize;
  return p;
}

}  // namespace

LineStager::LineStager(const AggregatorOptions& options, uint64_t hash_seed, uint32_t shards)
    : convention_(options.convention),
      hash_seed_(hash_seed),
      member_seed_(options.member_seed ? options.member_seed : hash_seed),
      parser_(ParserOptions(options)),
      key_builder_(options.convention, options.key_name_sanitize),
      batches_(shards == 0 ? 1 : shards) {}

MetricKind LineStager::KindOf(MetricType type) const {
  switch (type) {
    case MetricType::kCounter: return MetricKind::kCounter;
    case MetricType::kMonotonicCounter:
      return convention_ == Convention::kBrubeck ? MetricKind::kMonotonic : MetricKind::kCounter;
    case MetricType::kGauge: return MetricKind::kGauge;
    case MetricType::kSet: return MetricKind::kSet;
    case MetricType::kTimer:
    case MetricType::kHistogram:
    case MetricType::kDistribution: return MetricKind::kTimer;
  }
  return MetricKind::kCounter;
}

size_t LineStager::Stage(const char* data, size_t size) {
  return WalkPacket(parser_, data, size, *this);
}

void LineStager::Reset() {
  for (StagedBatch& b : batches_) b.Clear();
  staged_lines_ = 0;
}

void LineStager::OnError(ParseStatus status, std::string_view) {
  ParseCounts& counts = batches_[0].counts;
  ++counts.errors;
  ++counts.by_reason[static_cast<size_t>(status)];
}

bool LineStager::OnLine(const ParsedLine& line, std::string_view text) {
  if (staged_lines_ >= kMaxStagedLines) return false;  // the caller hands over; WalkPacket resumes here
  if (convention_ == Convention::kEtsy && line.type == MetricType::kTimer) {
    // etsy statsd rejects negative timings as bad lines; the key is not made
    // (etsy writes nothing for a key whose only line was refused).
    for (size_t i = 0; i < line.sample_count; ++i) {
      if (line.samples[i].value < 0) {
        OnError(ParseStatus::kBadValue, text);
        return true;
      }
    }
  }
  const MetricKind kind = KindOf(line.type);
  const char prefix = KeyPrefix(convention_, kind);
  std::string_view key;  // without its prefix byte when `direct`
  uint32_t path_length;
  // brubeck's key for a line without tags is the kind byte and the name as
  // sent: hashed and copied straight from the datagram (KeyBuilder's result,
  // without building it).
  const bool direct = convention_ == Convention::kBrubeck && line.tags.empty();
  if (direct) {
    key = line.name;
    path_length = static_cast<uint32_t>(line.name.size());
  } else {
    key = key_builder_.Build(line, kind);
    path_length = key_builder_.path_length();
  }
  // Carbon splits a line at a Unicode space and drops it (see CheckText): a
  // key holding one is refused here, counted like an ASCII space in a name.
  if (line.non_ascii && CheckText(key) == TextProblem::kUnicodeSpace) {
    OnError(ParseStatus::kBadName, text);
    return true;
  }
  const uint64_t hash = direct ? HashKeyParts(static_cast<unsigned char>(prefix), key, hash_seed_)
                               : HashKey(key, hash_seed_);
  StagedBatch& b = batches_[batches_.size() == 1 ? 0 : ShardOf(hash, shards())];
  StagedLine& s = b.lines.emplace_back();
  s.hash = hash;
  s.sample_rate = line.sample_rate;
  s.key_begin = static_cast<uint32_t>(b.keys.size());
  s.key_length = static_cast<uint32_t>(key.size() + direct);
  s.path_length = path_length;
  s.sample_begin = static_cast<uint32_t>(b.samples.size());
  s.sample_count = static_cast<uint32_t>(line.sample_count);
  s.type = line.type;
  s.kind = kind;
  if (direct) b.keys.push_back(prefix);
  b.keys.append(key.data(), key.size());
  // Written field by field into place: a whole StagedSample built first and
  // copied in made the copy's 8-byte load wait on the 1-byte store of
  // `relative` (a store-forwarding stall, ~20% of this function in perf).
  if (line.type == MetricType::kSet) {  // a member is kept as its hash, not its text
    StagedSample& out = b.samples.emplace_back();
    out.value = 0.0;
    out.member = HashKey(line.samples[0].text, member_seed_);
    out.relative = false;
  } else {
    for (size_t i = 0; i < line.sample_count; ++i) {
      StagedSample& out = b.samples.emplace_back();
      out.value = line.samples[i].value;
      out.member = 0;
      out.relative = line.samples[i].relative;
    }
  }
  ++staged_lines_;
  return true;
}

}  // namespace statsd
