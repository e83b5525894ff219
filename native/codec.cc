// The statsd line parser (DESIGN.md §4): span-based, allocation-free per line.
// Over 300 lines: the whole line grammar (names, values, fields, tags, UTF-8
// checks) and the names of its types and statuses, read in one pass per line.
#include "codec.h"

#include <array>
#include <cmath>

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
// ORs the words it skips into *seen, so the caller knows whether any byte
// was not ASCII (bit 7).
const char* SkipPlainName(const char* p, const char* end, uint64_t* seen) {
  while (end - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if (HasByteBelow(w, 0x21) || HasByte(w, ':') || HasByte(w, '|') || HasByte(w, 0x7f)) break;
    *seen |= w;
    p += 8;
  }
  return p;
}

// Length of the Unicode space Python's str.split() splits at that starts at
// `p` (U+0085, U+00A0, U+1680, U+2000-200A, U+2028, U+2029, U+202F, U+205F,
// U+3000), or 0.
size_t PythonSpaceLength(const unsigned char* p, size_t left) {
  if (left >= 2 && p[0] == 0xC2 && (p[1] == 0x85 || p[1] == 0xA0)) return 2;
  if (left < 3) return 0;
  const unsigned a = p[0], b = p[1], c = p[2];
  if ((a == 0xE1 && b == 0x9A && c == 0x80) ||
      (a == 0xE2 && b == 0x80 && (c <= 0x8A || c == 0xA8 || c == 0xA9 || c == 0xAF)) ||
      (a == 0xE2 && b == 0x81 && c == 0x9F) || (a == 0xE3 && b == 0x80 && c == 0x80)) {
    return 3;
  }
  return 0;
}

}  // namespace

namespace {

// Length of the well-formed UTF-8 sequence (Unicode Table 3-7: no overlongs,
// no surrogates, nothing past U+10FFFF) that starts with the non-ASCII byte
// at `p`, or 0 if none does.
size_t Utf8SequenceLength(const unsigned char* p, size_t left) {
  const unsigned c = p[0];
  size_t n;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (left < n || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (p[i] < 0x80 || p[i] > 0xBF) return 0;
  }
  return n;
}

}  // namespace

TextProblem CheckText(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  bool space = false;
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    const auto left = static_cast<size_t>(end - p);
    const size_t n = Utf8SequenceLength(p, left);
    if (n == 0) return TextProblem::kNotUtf8;
    space |= PythonSpaceLength(p, left) != 0;
    p += n;
  }
  return space ? TextProblem::kUnicodeSpace : TextProblem::kNone;
}

void ReplaceInvalidUtf8(std::string* s, size_t start) {
  auto* p = reinterpret_cast<unsigned char*>(s->data());
  const size_t size = s->size();
  for (size_t i = start; i < size;) {
    if (p[i] < 0x80) {
      ++i;
    } else if (const size_t n = Utf8SequenceLength(p + i, size - i)) {
      i += n;
    } else {
      p[i++] = '_';
    }
  }
}

namespace {

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
// Empty tags and an empty list are dropped, as the DogStatsD agent, gostatsd
// and statsd_exporter drop them (readers skip empty entries). A space is a
// bad tag unless `spaces` (the etsy convention sanitizes it). Sets *non_ascii
// when a byte is >= 0x80.
ParseStatus CheckTags(std::string_view tags, bool spaces, bool* non_ascii) {
  unsigned seen = 0;
  for (char ch : tags) {
    const auto c = static_cast<unsigned char>(ch);
    seen |= c;
    if (IsControl(c) || (c == ' ' && !spaces)) return ParseStatus::kBadTag;
  }
  *non_ascii = (seen & 0x80) != 0;
  if (*non_ascii && CheckText(tags) == TextProblem::kNotUtf8) return ParseStatus::kBadEncoding;
  return ParseStatus::kOk;
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

// An extension field DogStatsD defines or may define: letters, digits and
// '_', then ':' (`c:container`, `e:external`, `card:low`, `f2:x`). Ignored,
// as the agent does.
bool IsExtensionField(std::string_view field) {
  size_t i = 0;
  while (i < field.size() && (IsLetter(field[i]) || IsDigit(field[i]) || field[i] == '_')) ++i;
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

std::string_view ParseStatusName(ParseStatus status) {
  switch (status) {
    case ParseStatus::kOk: return "ok";
    case ParseStatus::kBadName: return "bad_name";
    case ParseStatus::kBadValue: return "bad_value";
    case ParseStatus::kBadType: return "bad_type";
    case ParseStatus::kBadRate: return "bad_rate";
    case ParseStatus::kBadTag: return "bad_tag";
    case ParseStatus::kBadTimestamp: return "bad_timestamp";
    case ParseStatus::kBadField: return "bad_field";
    case ParseStatus::kTooLong: return "too_long";
    case ParseStatus::kBadEncoding: return "bad_encoding";
  }
  return "?";
}

namespace {

// ParseIndexed's types by letter: the MetricType, kFullOnly's bit for the
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

bool LineParser::ParseIndexed(const char* data, size_t begin, size_t end, ParsedLine* out) {
  // The shape `name:value|type`: printable ASCII only (no '\r', space,
  // control or UTF-8: those need the full parser's checks), one ':' before
  // the one '|', a name that does not end in '.'.
  using S = StructureIndex;
  if (begin == end || end - begin > options_.max_line_bytes || index_.Any(S::kUnusual, begin, end)) return false;
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
  if (!timer && (type_length != 1 || letter == kNotSimple || ((letter & kFullOnly) != 0 && options_.dialect != Dialect::kFull))) {
    return false;
  }
  const MetricType type = timer ? MetricType::kTimer : static_cast<MetricType>(letter & kTypeBits);
  if (type == MetricType::kSet) {  // the value is the member, as written (no ':' and no control: checked)
    if (pipe == colon + 1) return false;
    simple_sample_ = Sample{0.0, false, std::string_view(data + colon + 1, pipe - colon - 1)};
    FillSimple(data, begin, colon, type, out);
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
  FillSimple(data, begin, colon, type, out);
  return true;
}

void LineParser::FillSimple(const char* data, size_t begin, size_t colon, MetricType type, ParsedLine* out) {
  out->name = std::string_view(data + begin, colon - begin);
  out->tags = std::string_view();
  out->type = type;
  out->sample_rate = 1.0;
  out->has_timestamp = false;
  out->timestamp = 0;
  out->samples = &simple_sample_;
  out->sample_count = 1;
  out->non_ascii = false;
}

ParseStatus LineParser::Parse(std::string_view line, ParsedLine* out) {
  if (line.size() > options_.max_line_bytes) return ParseStatus::kTooLong;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const char* p = line.data();
  const char* const end = p + line.size();

  // name: up to the first ':'                 api.hits:1|c
  //                                           ^^^^^^^^
  uint64_t seen = 0;
  const char* name_end = SkipPlainName(p, end, &seen);
  for (; name_end < end; ++name_end) {
    const uint8_t cls = kNameClasses[static_cast<unsigned char>(*name_end)];
    seen |= static_cast<unsigned char>(*name_end);
    if (cls == kPlain) continue;
    if (cls == kColon) break;
    if (cls == kPipe) return ParseStatus::kBadValue;  // "name|c": no ':' value
    if (*name_end == ' ' && options_.etsy) continue;  // sanitized to '_' by the etsy convention
    return ParseStatus::kBadName;
  }
  if (name_end == end) return ParseStatus::kBadValue;
  if (name_end == p || name_end[-1] == '.') return ParseStatus::kBadName;
  out->name = std::string_view(p, static_cast<size_t>(name_end - p));
  out->non_ascii = (seen & kHighs) != 0;
  if (out->non_ascii && CheckText(out->name) == TextProblem::kNotUtf8) return ParseStatus::kBadEncoding;

  // values: decimals separated by ':', up to the first '|'     api.hits:1:2.5|ms
  //                                                                     ^^^^^
  // Read as numbers in the same pass; a set member (or a bad value) stops
  // the numbers early and is looked at again once the type is known. Empty
  // entries (`1.5:41:`) are skipped, as the DogStatsD agent and gostatsd do;
  // at least one value must be there.
  const char* values_begin = name_end + 1;
  const char* values_end = nullptr;
  samples_.clear();
  for (const char* v = values_begin; v < end;) {
    if (*v == ':' || *v == '|') {  // an empty entry (brubeck reads none: a bad value)
      if (options_.dialect == Dialect::kBrubeck) break;
      if (*v == '|') {
        values_end = v;
        break;
      }
      ++v;
      continue;
    }
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
  const bool numbers_ok = values_end != nullptr && !samples_.empty();
  if (values_end != nullptr && samples_.empty()) values_end = nullptr;  // "name:|c": no value at all
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
          !(rate > 0.0 && (rate <= 1.0 || options_.etsy) && std::isfinite(1.0 / rate))) {
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
      bool non_ascii = false;
      const ParseStatus tags = CheckTags(out->tags, options_.etsy, &non_ascii);
      if (tags != ParseStatus::kOk) return tags;
      out->non_ascii |= non_ascii;
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
