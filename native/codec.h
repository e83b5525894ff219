// statsd line grammar: types, parse statuses, the line parser and the packet walker.
#ifndef STATSD_CODEC_H_
#define STATSD_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "structure.h"

namespace statsd {

// Wire types. The numeric values cross into TypeScript (src/codec/metric.ts METRIC_TYPES).
enum class MetricType : uint8_t {
  kCounter = 0,           // c   brubeck meter, etsy counter
  kMonotonicCounter = 1,  // C   brubeck counter (running total)
  kGauge = 2,             // g
  kTimer = 3,             // ms
  kHistogram = 4,         // h
  kSet = 5,               // s
  kDistribution = 6,      // d
};
constexpr int kMetricTypeCount = 7;

// Why a line was rejected. Values cross into TypeScript (src/core/errors.ts PARSE_REASONS).
enum class ParseStatus : uint8_t {
  kOk = 0,
  kBadName = 1,       // empty, space or control byte, or ends in '.'
  kBadValue = 2,      // no ':' value, not a decimal, overflow, or a multi-value in brubeck
  kBadType = 3,       // missing or unknown type (or s/d in the brubeck dialect)
  kBadRate = 4,       // '@' not followed by a decimal in (0, 1] (etsy: > 0) whose reciprocal is finite
  kBadTag = 5,        // a tag with a space or control byte (empty tags are dropped)
  kBadTimestamp = 6,  // 'T' not followed by 1..12 digits, or zero
  kBadField = 7,      // empty field, duplicate field, or a shape no rule knows
  kTooLong = 8,       // longer than ParseOptions::max_line_bytes
  kBadEncoding = 9,   // name or tags not valid UTF-8 (carbon cannot decode the line)
};
constexpr int kParseStatusCount = 10;

enum class Dialect : uint8_t {
  kFull = 0,     // every rule of DESIGN.md §4
  kBrubeck = 1,  // only what brubeck accepts: c C g ms h, one optional '@rate', one value
};

struct ParseOptions {
  Dialect dialect = Dialect::kFull;
  uint32_t max_line_bytes = 8192;  // lines longer than this are kTooLong
  // What etsy statsd 0.9 takes besides: spaces in names and tags (its key
  // sanitizer turns them into '_'; set only while that sanitizer is on) and
  // sample rates above 1 (`@2` counts each line as 0.5).
  bool etsy = false;
};

// One value of a line. For sets `value` is 0 and `text` is the member.
struct Sample {
  double value;
  bool relative;          // the value carried an explicit '+' or '-'
  std::string_view text;  // the value as written
};

// A parsed line. Views point into the parsed input; `samples` into the parser,
// valid until its next Parse call.
struct ParsedLine {
  std::string_view name;
  std::string_view tags;  // text after '#', e.g. "env:prod,az" (empty when none); may hold empty
                          // entries ("a,,b"), which every reader skips
  MetricType type;
  double sample_rate;
  bool has_timestamp;
  int64_t timestamp;      // unix seconds from '|T', when has_timestamp
  const Sample* samples;
  size_t sample_count;
  bool non_ascii;         // name or tags hold a byte >= 0x80 (see CheckText)
};

// Parses single lines. Holds a reusable sample buffer, so it allocates only
// while a line has more values than any line before it. Not thread-safe.
class LineParser {
 public:
  explicit LineParser(ParseOptions options = {}) : options_(options) {}

  // Parses `line` (no '\n'; one trailing '\r' is dropped). On kOk fills *out.
  ParseStatus Parse(std::string_view line, ParsedLine* out);

  // The common line in one pass: data[begin, end) (no '\n') when it is
  // `name:value|type` with a printable-ASCII name, a plain decimal of 1 to 15
  // digits (or a set member) and no field, its parts found from index(),
  // built over `data`. Fills *out as Parse would (the value to the bit) and
  // returns true; false for any other line, which Parse then takes. The
  // differential tests hold both to the reference parser.
  bool ParseIndexed(const char* data, size_t begin, size_t end, ParsedLine* out);
  // Structural bitmaps of the data WalkPacket walks (see structure.h).
  StructureIndex& index() { return index_; }

  const ParseOptions& options() const { return options_; }
  void set_options(ParseOptions options) { options_ = options; }

 private:
  ParseStatus ParseFields(const char* p, const char* end, ParsedLine* out);
  ParseStatus ParseMember(std::string_view member);

  void FillSimple(const char* data, size_t begin, size_t colon, MetricType type, ParsedLine* out);

  ParseOptions options_;
  std::vector<Sample> samples_;
  StructureIndex index_;
  Sample simple_sample_{};  // ParseIndexed's one value
};

// Splits a datagram or stream chunk at '\n' and parses each line. Empty lines
// (a trailing '\n', "\n\n") are skipped without counting. For each line calls
//   sink.OnLine(const ParsedLine&, std::string_view line)       on success
//   sink.OnError(ParseStatus, std::string_view line)           on a bad line
// `sink.OnLine` may return false to stop; WalkPacket then returns the offset of
// that line so the caller can resume there. Returns `size` when all was walked.
template <class Sink>
size_t WalkPacket(LineParser& parser, const char* data, size_t size, Sink& sink) {
  StructureIndex& index = parser.index();
  index.Build(data, size);
  for (size_t pos = 0; pos < size;) {
    const size_t nl = index.Next(StructureIndex::kNewline, pos);
    const std::string_view line(data + pos, nl - pos);
    ParsedLine parsed;
    ParseStatus status = ParseStatus::kOk;
    if (!parser.ParseIndexed(data, pos, nl, &parsed)) {
      if (line.empty() || (line.size() == 1 && line[0] == '\r')) {
        pos = nl + 1;
        continue;
      }
      status = parser.Parse(line, &parsed);
    }
    if (status == ParseStatus::kOk) {
      if (!sink.OnLine(parsed, line)) return pos;
    } else {
      sink.OnError(status, line);
    }
    pos = nl + 1;
  }
  return size;
}

// What carbon 1.1.7 does with a plaintext line: it decodes it as UTF-8 outside
// its error handling (one bad byte closes the connection, and the rest of the
// flush is lost), then splits it at Python's whitespace (a name holding
// U+00A0 gives four fields: the line is dropped with a log line). So the
// parser refuses names and tags that are not UTF-8 (kBadEncoding), and the
// aggregator refuses keys that hold a Unicode space (after the etsy
// convention's sanitizing, which turns them into '_' as etsy does).
enum class TextProblem : uint8_t { kNone, kNotUtf8, kUnicodeSpace };
TextProblem CheckText(std::string_view text);
// Replaces each byte of (*s)[start..] that is not part of well-formed UTF-8
// with '_' (the length stays; for the serializer's sanitize option).
void ReplaceInvalidUtf8(std::string* s, size_t start);

// Wire text of a type ("c", "ms", ...).
std::string_view MetricTypeName(MetricType type);

// Name of a status as TypeScript knows it ("ok", "bad_name", …: src/core/errors.ts
// PARSE_REASONS, checked at load against the list native/binding_layout.cc exports).
std::string_view ParseStatusName(ParseStatus status);

}  // namespace statsd

#endif  // STATSD_CODEC_H_
