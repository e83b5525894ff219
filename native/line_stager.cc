// The parse stage (see line_stager.h): lines parsed, refused or keyed,
// hashed and copied into their shard's batch.
#include "line_stager.h"

#include <array>

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

// StageSimple's types by letter: the MetricType, kFullOnly's bit for the
// full dialect's (d, s), or kNotSimple ("ms" is matched whole).
constexpr uint8_t kNotSimple = 0xff;
constexpr uint8_t kFullOnly = 0x80;
constexpr uint8_t kTypeBits = 0x7f;
constexpr std::array<uint8_t, 256> MakeSimpleTypes() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kNotSimple;
  t['c'] = static_cast<uint8_t>(MetricType::kCounter);
  t['C'] = static_cast<uint8_t>(MetricType::kMonotonicCounter);
  t['g'] = static_cast<uint8_t>(MetricType::kGauge);
  t['h'] = static_cast<uint8_t>(MetricType::kHistogram);
  t['d'] = static_cast<uint8_t>(MetricType::kDistribution) | kFullOnly;
  t['s'] = static_cast<uint8_t>(MetricType::kSet) | kFullOnly;
  return t;
}
constexpr std::array<uint8_t, 256> kSimpleTypes = MakeSimpleTypes();

}  // namespace

LineStager::LineStager(const AggregatorOptions& options, uint64_t hash_seed, uint32_t shards)
    : convention_(options.convention),
      hash_seed_(hash_seed),
      parser_(ParserOptions(options)),
      key_builder_(options.convention, options.key_name_sanitize),
      dialect_(options.parse.dialect),
      max_line_bytes_(options.parse.max_line_bytes),
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
  index_.Build(data, size);
  // Lines as WalkPacket splits them: at '\n', empty and lone-'\r' ones skipped.
  for (size_t pos = 0; pos < size;) {
    if (staged_lines_ >= kMaxStagedLines) return pos;  // the caller hands over, then resumes here
    const size_t nl = index_.Next(StructureIndex::kNewline, pos);
    if (!StageSimple(data, pos, nl)) {
      const std::string_view text(data + pos, nl - pos);
      if (!text.empty() && !(text.size() == 1 && text[0] == '\r')) {
        ParsedLine parsed;
        const ParseStatus status = parser_.Parse(text, &parsed);
        if (status == ParseStatus::kOk) {
          OnLine(parsed, text);
        } else {
          OnError(status, text);
        }
      }
    }
    pos = nl + 1;
  }
  return size;
}

bool LineStager::StageSimple(const char* data, size_t begin, size_t end) {
  // The shape `name:value|type`: printable ASCII only (no '\r', space,
  // control or UTF-8: those need the full parser's checks), one ':' before
  // the one '|', a name that does not end in '.'.
  using S = StructureIndex;
  if (begin == end || end - begin > max_line_bytes_ || index_.Any(S::kUnusual, begin, end)) return false;
  const size_t colon = index_.Next(S::kColon, begin);
  const size_t pipe = index_.Next(S::kPipe, begin);
  if (colon == begin || pipe < colon || pipe >= end || data[colon - 1] == '.') return false;
  if (index_.Any(S::kColon, colon + 1, pipe) || index_.Any(S::kPipe, pipe + 1, end)) return false;

  // type: one letter, or "ms" (decoded without a branch per type: types
  // arrive in no order a predictor could learn)
  const char* t = data + pipe + 1;
  const size_t type_length = end - pipe - 1;
  if (type_length == 0) return false;
  const uint8_t letter = kSimpleTypes[static_cast<unsigned char>(t[0])];
  const bool timer = type_length == 2 && t[0] == 'm' && t[1] == 's';
  if (!timer && (type_length != 1 || letter == kNotSimple || ((letter & kFullOnly) != 0 && dialect_ != Dialect::kFull))) {
    return false;
  }
  const MetricType type = timer ? MetricType::kTimer : static_cast<MetricType>(letter & kTypeBits);
  if (type == MetricType::kSet) {  // the value is the member, as written (no ':' and no control: checked)
    if (pipe == colon + 1) return false;
    simple_sample_ = Sample{0.0, false, std::string_view(data + colon + 1, pipe - colon - 1)};
    StageParsed(data, begin, colon, end, type);
    return true;
  }

  // value: [+-]? digits ('.' digits?)?, 1 to 15 digits: the mantissa and
  // 10^fraction are exact doubles, so one division is the correctly rounded
  // value, to the bit what the full parser's ScanDecimal gives.
  const char* p = data + colon + 1;
  const char* const value_end = data + pipe;
  const bool sign = *p == '+' || *p == '-';
  const bool negative = *p == '-';
  p += sign;
  uint64_t mantissa = 0;
  int digits = 0;
  int fraction = -1;  // digits after the '.', once one is seen
  for (; p < value_end; ++p) {
    const unsigned d = static_cast<unsigned char>(*p) - '0';
    if (d < 10) {
      mantissa = mantissa * 10 + d;
      ++digits;
      fraction += fraction >= 0;
    } else if (*p == '.' && fraction < 0) {
      fraction = 0;
    } else {
      return false;
    }
  }
  if (digits == 0 || digits > 15) return false;
  static constexpr double kPowersOfTen[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                            1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  double value = static_cast<double>(mantissa);
  if (fraction > 0) value /= kPowersOfTen[fraction];
  simple_sample_.value = negative ? -value : value;
  simple_sample_.relative = sign;
  simple_sample_.text = std::string_view(data + colon + 1, pipe - colon - 1);
  StageParsed(data, begin, colon, end, type);
  return true;
}

void LineStager::StageParsed(const char* data, size_t begin, size_t colon, size_t end, MetricType type) {
  ParsedLine line;
  line.name = std::string_view(data + begin, colon - begin);
  line.tags = std::string_view();
  line.type = type;
  line.sample_rate = 1.0;
  line.has_timestamp = false;
  line.timestamp = 0;
  line.samples = &simple_sample_;
  line.sample_count = 1;
  line.non_ascii = false;
  OnLine(line, std::string_view(data + begin, end - begin));
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

void LineStager::OnLine(const ParsedLine& line, std::string_view text) {
  if (convention_ == Convention::kEtsy && line.type == MetricType::kTimer) {
    // etsy statsd rejects negative timings as bad lines; the key is not made
    // (etsy writes nothing for a key whose only line was refused).
    for (size_t i = 0; i < line.sample_count; ++i) {
      if (line.samples[i].value < 0) {
        OnError(ParseStatus::kBadValue, text);
        return;
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
    return;
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
    out.member = HashKey(line.samples[0].text, hash_seed_);
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
}

}  // namespace statsd
