// The statsd line parser (DESIGN.md §4): span-based, allocation-free per line.
#include "codec.h"

#include <array>

#include "number.h"

namespace statsd {
namespace {

// Bytes that may not appear in a name, a tag or a set member: controls and DEL.
constexpr bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

enum ByteClass : uint8_t { kPlain = 0, kColon, kPipe, kForbidden };

// Classifies bytes while scanning a name: ':' ends it, '|' or a forbidden byte
// (space, control) makes the line bad.
constexpr std::array<uint8_t, 256> MakeNameClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    if (IsControl(static_cast<unsigned char>(c)) || c == ' ') t[c] = kForbidden;
  }
  t[':'] = kColon;
  t['|'] = kPipe;
  return t;
}
constexpr std::array<uint8_t, 256> kNameClasses = MakeNameClasses();

// SWAR tests over 8 bytes at once (exact, from "Bit Twiddling Hacks").
constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;
inline bool HasZeroByte(uint64_t w) { return ((w - kOnes) & ~w & kHighs) != 0; }
inline bool HasByte(uint64_t w, uint8_t c) { return HasZeroByte(w ^ (kOnes * c)); }
inline bool HasByteBelow(uint64_t w, uint8_t n) { return ((w - kOnes * n) & ~w & kHighs) != 0; }

// Skips 8-byte words of plain name bytes: no control, space, ':', '|' or DEL.
const char* SkipPlainName(const char* p, const char* end) {
  while (end - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if (HasByteBelow(w, 0x21) || HasByte(w, ':') || HasByte(w, '|') || HasByte(w, 0x7f)) break;
    p += 8;
  }
  return p;
}

inline bool IsLetter(char c) { return static_cast<unsigned char>((c | 0x20) - 'a') < 26; }
inline bool IsDigit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

const char* FindPipe(const char* p, const char* end) {
  const void* found = std::memchr(p, '|', static_cast<size_t>(end - p));
  return found ? static_cast<const char*>(found) : end;
}

// type: between the first and second '|'     api.hits:1|ms|@0.5
//                                                        ^^
bool ParseType(std::string_view text, Dialect dialect, MetricType* type) {
  if (text.size() == 1) {
    switch (text[0]) {
      case 'c': *type = MetricType::kCounter; return true;
      case 'C': *type = MetricType::kMonotonicCounter; return true;
      case 'g': *type = MetricType::kGauge; return true;
      case 'h': *type = MetricType::kHistogram; return true;
      case 's': *type = MetricType::kSet; return dialect == Dialect::kFull;
      case 'd': *type = MetricType::kDistribution; return dialect == Dialect::kFull;
      default: return false;
    }
  }
  if (text.size() == 2 && text[0] == 'm' && text[1] == 's') {
    *type = MetricType::kTimer;
    return true;
  }
  return false;
}

// tags: after '#', tags separated by ','     api.hits:1|c|#env:prod,az
//                                                           ^^^^^^^^^^^
bool ValidTags(std::string_view tags) {
  if (tags.empty()) return false;
  bool tag_empty = true;
  for (char ch : tags) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ',') {
      if (tag_empty) return false;
      tag_empty = true;
    } else if (IsControl(c) || c == ' ') {
      return false;
    } else {
      tag_empty = false;
    }
  }
  return !tag_empty;
}

// timestamp: after 'T', unix seconds         api.hits:1|c|T1700000000
//                                                          ^^^^^^^^^^
bool ParseTimestamp(std::string_view digits, int64_t* timestamp) {
  if (digits.empty() || digits.size() > 12) return false;
  int64_t t = 0;
  for (char c : digits) {
    if (!IsDigit(c)) return false;
    t = t * 10 + (c - '0');
  }
  if (t == 0) return false;
  *timestamp = t;
  return true;
}

// An extension field DogStatsD defines or may define: letters then ':'
// (`c:container`, `e:external`, `card:low`). Ignored, as the agent does.
bool IsExtensionField(std::string_view field) {
  size_t i = 0;
  while (i < field.size() && IsLetter(field[i])) ++i;
  return i > 0 && i < field.size() && field[i] == ':';
}

}  // namespace

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "c";
    case MetricType::kMonotonicCounter: return "C";
    case MetricType::kGauge: return "g";
    case MetricType::kTimer: return "ms";
    case MetricType::kHistogram: return "h";
    case MetricType::kSet: return "s";
    case MetricType::kDistribution: return "d";
  }
  return "?";
}

ParseStatus LineParser::Parse(std::string_view line, ParsedLine* out) {
  if (line.size() > options_.max_line_bytes) return ParseStatus::kTooLong;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const char* p = line.data();
  const char* const end = p + line.size();

  // name: up to the first ':'                 api.hits:1|c
  //                                           ^^^^^^^^
  const char* name_end = SkipPlainName(p, end);
  for (; name_end < end; ++name_end) {
    const uint8_t cls = kNameClasses[static_cast<unsigned char>(*name_end)];
    if (cls == kPlain) continue;
    if (cls == kColon) break;
    if (cls == kPipe) return ParseStatus::kBadValue;  // "name|c": no ':' value
    return ParseStatus::kBadName;
  }
  if (name_end == end) return ParseStatus::kBadValue;
  if (name_end == p || name_end[-1] == '.') return ParseStatus::kBadName;
  out->name = std::string_view(p, static_cast<size_t>(name_end - p));

  // values: decimals separated by ':', up to the first '|'     api.hits:1:2.5|ms
  //                                                                     ^^^^^
  // Read as numbers in the same pass; a set member (or a bad value) stops
  // the numbers early and is looked at again once the type is known.
  const char* values_begin = name_end + 1;
  const char* values_end = nullptr;
  samples_.clear();
  for (const char* v = values_begin;;) {
    Sample sample;
    const char* stop = ScanDecimal(v, end, &sample.value, &sample.relative);
    if (stop == nullptr || stop == end || (*stop != ':' && *stop != '|')) break;
    sample.text = std::string_view(v, static_cast<size_t>(stop - v));
    samples_.push_back(sample);
    if (*stop == '|') {
      values_end = stop;
      break;
    }
    v = stop + 1;
  }
  const bool numbers_ok = values_end != nullptr;
  if (!numbers_ok) values_end = FindPipe(values_begin, end);
  if (values_end == end) return ParseStatus::kBadType;  // "name:1": no type

  const char* type_begin = values_end + 1;
  const char* type_end = FindPipe(type_begin, end);
  if (!ParseType(std::string_view(type_begin, static_cast<size_t>(type_end - type_begin)),
                 options_.dialect, &out->type)) {
    return ParseStatus::kBadType;
  }

  ParseStatus status = ParseFields(type_end, end, out);
  if (status != ParseStatus::kOk) return status;

  if (out->type == MetricType::kSet) {
    status = ParseMember(std::string_view(values_begin, static_cast<size_t>(values_end - values_begin)));
    if (status != ParseStatus::kOk) return status;
  } else if (!numbers_ok || (options_.dialect == Dialect::kBrubeck && samples_.size() > 1)) {
    return ParseStatus::kBadValue;
  }
  out->samples = samples_.data();
  out->sample_count = samples_.size();
  return ParseStatus::kOk;
}

// fields: '|'-separated, any order           api.hits:1|c|@0.5|#env:prod|T1700000000
//                                                         ^^^^^^^^^^^^^^^^^^^^^^^^^^^
ParseStatus LineParser::ParseFields(const char* p, const char* end, ParsedLine* out) {
  out->tags = std::string_view();
  out->sample_rate = 1.0;
  out->has_timestamp = false;
  out->timestamp = 0;
  bool seen_rate = false;
  bool seen_tags = false;
  while (p < end) {  // *p == '|'
    const char* field_begin = p + 1;
    const char* field_end = FindPipe(field_begin, end);
    std::string_view field(field_begin, static_cast<size_t>(field_end - field_begin));
    p = field_end;
    if (field.empty()) return ParseStatus::kBadField;
    const char kind = field[0];
    if (kind == '@') {
      if (seen_rate) return ParseStatus::kBadField;
      seen_rate = true;
      bool signed_rate;
      double rate;
      if (!ParseDecimal(field.data() + 1, field.data() + field.size(), &rate, &signed_rate) ||
          !(rate > 0.0 && rate <= 1.0)) {
        return ParseStatus::kBadRate;
      }
      out->sample_rate = rate;
      continue;
    }
    if (options_.dialect == Dialect::kBrubeck) return ParseStatus::kBadField;
    if (kind == '#') {
      if (seen_tags) return ParseStatus::kBadField;
      seen_tags = true;
      out->tags = field.substr(1);
      if (!ValidTags(out->tags)) return ParseStatus::kBadTag;
    } else if (kind == 'T' && (field.size() == 1 || !IsLetter(field[1]))) {
      if (out->has_timestamp) return ParseStatus::kBadField;
      if (!ParseTimestamp(field.substr(1), &out->timestamp)) return ParseStatus::kBadTimestamp;
      out->has_timestamp = true;
    } else if (!IsExtensionField(field)) {
      return ParseStatus::kBadField;
    }
  }
  return ParseStatus::kOk;
}

// set member: the raw text, ':' included   users.seen:alice:42|s
//                                                     ^^^^^^^^
ParseStatus LineParser::ParseMember(std::string_view member) {
  samples_.clear();
  if (member.empty()) return ParseStatus::kBadValue;
  for (char c : member) {
    if (IsControl(static_cast<unsigned char>(c))) return ParseStatus::kBadValue;
  }
  samples_.push_back(Sample{0.0, false, member});
  return ParseStatus::kOk;
}

}  // namespace statsd
