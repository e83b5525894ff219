// libFuzzer target: statsd::LineParser::Parse on every line of the input.
//
// Input: byte 0 picks the options (bit 0: brubeck dialect; bits 1-2: max line
// bytes 8192, 16, 100, 65536); the rest is split at '\n' like WalkPacket does,
// and each line is parsed from its own exact-size heap copy.
// Checks, besides the sanitizers: every view of a parsed line lies inside the
// line; the rules of DESIGN.md §4 hold for what was accepted; each value equals
// strtod of its text (correct rounding); formatting the parsed line with
// statsd::FormatLine and parsing it again gives back the same metric, one
// value at a time and as one value list; the one-pass path (ParseIndexed)
// takes only lines Parse accepts, and reads them alike.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "codec.h"
#include "fuzz_support.h"
#include "serializer.h"

namespace {

using statsd::Dialect;
using statsd::LineParser;
using statsd::MetricType;
using statsd::ParsedLine;
using statsd::ParseOptions;
using statsd::ParseStatus;

bool Inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

bool Forbidden(unsigned char c) { return c < 0x20 || c == 0x7f || c == ' '; }

std::string Describe(std::string_view line) { return "line \"" + fuzz::Escape(line) + "\""; }

// The tags of a parsed line without its empty entries ("a,,b" → "a,b"; the
// parser drops them), joined by `separator`.
std::string NonEmptyTags(std::string_view tags, char separator) {
  std::string out;
  while (!tags.empty()) {
    const size_t comma = tags.find(',');
    const std::string_view tag = tags.substr(0, comma);
    if (!tag.empty()) {
      if (!out.empty()) out.push_back(separator);
      out.append(tag);
    }
    if (comma == std::string_view::npos) break;
    tags.remove_prefix(comma + 1);
  }
  return out;
}

// The DESIGN.md §4 rules for an accepted line.
void CheckAccepted(std::string_view line, const ParsedLine& p, const ParseOptions& options) {
  const std::string why = Describe(line);
  FUZZ_CHECK(line.size() <= options.max_line_bytes, why);
  FUZZ_CHECK(!p.name.empty() && Inside(p.name, line), why);
  FUZZ_CHECK(p.name.back() != '.', why);
  for (unsigned char c : p.name) FUZZ_CHECK(!Forbidden(c) && c != ':' && c != '|', why);
  FUZZ_CHECK(Inside(p.tags, line), why);
  for (unsigned char c : p.tags) FUZZ_CHECK(!Forbidden(c) && c != '|', why);
  FUZZ_CHECK(static_cast<int>(p.type) < statsd::kMetricTypeCount, why);
  FUZZ_CHECK(p.sample_rate > 0 && p.sample_rate <= 1, why);
  FUZZ_CHECK(!p.has_timestamp || (p.timestamp > 0 && p.timestamp < 1000000000000), why);
  FUZZ_CHECK(p.sample_count >= 1 && p.samples != nullptr, why);
  if (options.dialect == Dialect::kBrubeck) {
    FUZZ_CHECK(p.sample_count == 1 && p.tags.empty() && !p.has_timestamp, why);
    FUZZ_CHECK(p.type != MetricType::kSet && p.type != MetricType::kDistribution, why);
  }
  if (p.type == MetricType::kSet) {
    FUZZ_CHECK(p.sample_count == 1, why);
    FUZZ_CHECK(!p.samples[0].text.empty() && Inside(p.samples[0].text, line), why);
    for (unsigned char c : p.samples[0].text) FUZZ_CHECK(c >= 0x20 && c != 0x7f && c != '|', why);
    return;
  }
  for (size_t i = 0; i < p.sample_count; ++i) {
    const statsd::Sample& s = p.samples[i];
    FUZZ_CHECK(!s.text.empty() && Inside(s.text, line), why);
    FUZZ_CHECK(std::isfinite(s.value), why);
    FUZZ_CHECK(s.relative == (s.text[0] == '+' || s.text[0] == '-'), why);
    // glibc's strtod is correctly rounded; the grammar is a subset of its own.
    const std::string text(s.text);
    const double expected = std::strtod(text.c_str(), nullptr);
    if (std::isfinite(expected)) {
      FUZZ_CHECK(s.value == expected && std::signbit(s.value) == std::signbit(expected),
                 why + " value " + text);
    }
  }
}

// Formats sample `i` of `p` as a line and parses it again.
void CheckRoundTrip(std::string_view line, const ParsedLine& p, size_t i, Dialect dialect) {
  const statsd::Sample& s = p.samples[i];
  const std::string tags = NonEmptyTags(p.tags, statsd::kTagSeparator);
  statsd::FormatInput m;
  m.name = p.name;
  m.type = p.type;
  m.value = s.value;
  m.relative = s.relative;
  m.sample_rate = p.sample_rate;
  m.has_tags = !tags.empty();
  m.tags = tags;
  m.has_timestamp = p.has_timestamp;
  m.timestamp = static_cast<double>(p.timestamp);
  m.has_text = p.type == MetricType::kSet;
  m.text = s.text;
  std::string out;
  const ParseStatus written = statsd::FormatLine(m, false, &out);
  const std::string why = Describe(line) + " formatted as \"" + fuzz::Escape(out) + "\"";
  FUZZ_CHECK(written == ParseStatus::kOk, why);
  FUZZ_CHECK(out.find('\n') == std::string::npos, why);  // no absolute negative gauge here

  const fuzz::ExactCopy copy(out);
  LineParser again(ParseOptions{dialect, UINT32_MAX});
  ParsedLine q;
  FUZZ_CHECK(again.Parse(copy.view(), &q) == ParseStatus::kOk, why);
  FUZZ_CHECK(q.name == p.name && q.type == p.type && q.tags == NonEmptyTags(p.tags, ','), why);
  FUZZ_CHECK(q.sample_rate == p.sample_rate, why);
  FUZZ_CHECK(q.has_timestamp == p.has_timestamp && q.timestamp == p.timestamp, why);
  FUZZ_CHECK(q.sample_count == 1, why);
  if (p.type == MetricType::kSet) {
    FUZZ_CHECK(q.samples[0].text == s.text, why);
  } else {
    FUZZ_CHECK(q.samples[0].value == s.value, why);
    // A gauge's sign means relative; on other types a '+' or '-' is only a sign.
    if (p.type == MetricType::kGauge) FUZZ_CHECK(q.samples[0].relative == s.relative, why);
  }
}

// Formats every value of `p` as one value list ("a:1:-2|ms", has_text) and
// parses it again: the same values, as written.
void CheckValueListRoundTrip(std::string_view line, const ParsedLine& p, Dialect dialect) {
  std::string values;
  for (size_t i = 0; i < p.sample_count; ++i) {
    if (i) values.push_back(':');
    values.append(p.samples[i].text);
  }
  const std::string tags = NonEmptyTags(p.tags, statsd::kTagSeparator);
  statsd::FormatInput m;
  m.name = p.name;
  m.type = p.type;
  m.sample_rate = p.sample_rate;
  m.has_tags = !tags.empty();
  m.tags = tags;
  m.has_timestamp = p.has_timestamp;
  m.timestamp = static_cast<double>(p.timestamp);
  m.has_text = true;
  m.text = values;
  std::string out;
  const ParseStatus written = statsd::FormatLine(m, false, &out);
  const std::string why = Describe(line) + " formatted as \"" + fuzz::Escape(out) + "\"";
  FUZZ_CHECK(written == ParseStatus::kOk, why);
  const fuzz::ExactCopy copy(out);
  LineParser again(ParseOptions{dialect, UINT32_MAX});
  ParsedLine q;
  FUZZ_CHECK(again.Parse(copy.view(), &q) == ParseStatus::kOk, why);
  FUZZ_CHECK(q.name == p.name && q.type == p.type && q.tags == NonEmptyTags(p.tags, ','), why);
  FUZZ_CHECK(q.sample_count == p.sample_count, why);
  for (size_t i = 0; i < q.sample_count; ++i) {
    FUZZ_CHECK(q.samples[i].text == p.samples[i].text && q.samples[i].value == p.samples[i].value, why);
  }
}

// The one-pass path (ParseIndexed, what WalkPacket tries first) takes a line
// only if Parse accepts it, and gives the same line: name, type, rate, and
// the value to the bit (its sign flag and text too).
void CheckIndexed(std::string_view line, ParseStatus status, const ParsedLine& expected, const ParseOptions& options) {
  LineParser fast(options);
  fast.index().Build(line.data(), line.size());
  ParsedLine got;
  if (!fast.ParseIndexed(line.data(), 0, line.size(), &got)) return;
  const std::string why = Describe(line);
  FUZZ_CHECK(status == ParseStatus::kOk, "ParseIndexed took a line Parse refuses: " + why);
  FUZZ_CHECK(got.name == expected.name && got.type == expected.type && got.tags == expected.tags, why);
  FUZZ_CHECK(got.sample_rate == expected.sample_rate && !got.has_timestamp && !expected.has_timestamp, why);
  FUZZ_CHECK(got.sample_count == 1 && expected.sample_count == 1, why);
  const statsd::Sample& a = got.samples[0];
  const statsd::Sample& b = expected.samples[0];
  FUZZ_CHECK(std::memcmp(&a.value, &b.value, sizeof(double)) == 0 && a.relative == b.relative && a.text == b.text,
             "ParseIndexed's value differs: " + why);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr uint32_t kMaxLine[] = {8192, 16, 100, 65536};
  ParseOptions options;
  options.dialect = (data[0] & 1) ? Dialect::kBrubeck : Dialect::kFull;
  options.max_line_bytes = kMaxLine[(data[0] >> 1) & 3];
  LineParser parser(options);

  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  while (true) {
    const size_t nl = rest.find('\n');
    const fuzz::ExactCopy line(rest.substr(0, nl));
    ParsedLine parsed;
    const ParseStatus status = parser.Parse(line.view(), &parsed);
    CheckIndexed(line.view(), status, parsed, options);
    if (status == ParseStatus::kOk) {
      CheckAccepted(line.view(), parsed, options);
      for (size_t i = 0; i < parsed.sample_count; ++i) {
        CheckRoundTrip(line.view(), parsed, i, options.dialect);
      }
      if (parsed.type != MetricType::kSet) CheckValueListRoundTrip(line.view(), parsed, options.dialect);
    }
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  return 0;
}
