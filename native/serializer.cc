// statsd line formatting with validation, and line-boundary packet packing.
#include "serializer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "number.h"

namespace statsd {
namespace {

constexpr bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Copies `text` to *out, replacing bytes for which `bad` is true with '_' when
// sanitizing; returns false on a bad byte otherwise.
template <class Bad>
bool AppendChecked(std::string_view text, bool sanitize, Bad bad, std::string* out) {
  const size_t start = out->size();
  out->append(text.data(), text.size());
  char* p = out->data() + start;
  for (size_t i = 0; i < text.size(); ++i) {
    if (bad(static_cast<unsigned char>(p[i]))) {
      if (!sanitize) return false;
      p[i] = '_';
    }
  }
  return true;
}

// Names and tags must be UTF-8, as the parser requires (kBadEncoding): bytes
// that are not are refused, or replaced with '_' when sanitizing. (JavaScript
// strings always arrive as UTF-8; other callers of FormatLine may not.)
bool CheckUtf8(bool sanitize, size_t start, std::string* out) {
  if (CheckText(std::string_view(*out).substr(start)) != TextProblem::kNotUtf8) return true;
  if (!sanitize) return false;
  ReplaceInvalidUtf8(out, start);
  return true;
}

bool BadNameByte(unsigned char c) { return IsControl(c) || c == ' ' || c == ':' || c == '|'; }
bool BadTagByte(unsigned char c) { return IsControl(c) || c == ' ' || c == '|' || c == ','; }
bool BadMemberByte(unsigned char c) { return IsControl(c) || c == '|'; }

void AppendNumber(double value, std::string* out) {
  char digits[kMaxNumberChars];
  out->append(digits, FormatNumber(value, digits));
}

bool AppendName(std::string_view name, bool sanitize, std::string* out) {
  if (name.empty()) return false;
  const size_t start = out->size();
  if (!AppendChecked(name, sanitize, BadNameByte, out)) return false;
  if (!CheckUtf8(sanitize, start, out)) return false;
  if (out->back() == '.') {  // Graphite cannot store a name ending in '.'
    if (!sanitize) return false;
    out->back() = '_';
  }
  return true;
}

// tags: written as "|#a:1,b"; kTagSeparator becomes ','.
bool AppendTags(std::string_view tags, bool sanitize, std::string* out) {
  const size_t start = out->size();
  out->append("|#");
  size_t written = 0;
  while (true) {
    const size_t sep = tags.find(kTagSeparator);
    std::string_view tag = tags.substr(0, sep);
    if (tag.empty()) {
      if (!sanitize) return false;
    } else {
      if (written++) out->push_back(',');
      const size_t tag_start = out->size();
      if (!AppendChecked(tag, sanitize, BadTagByte, out)) return false;
      if (!CheckUtf8(sanitize, tag_start, out)) return false;
    }
    if (sep == std::string_view::npos) break;
    tags.remove_prefix(sep + 1);
  }
  if (written == 0) out->resize(start);  // every tag was empty and dropped
  return true;
}

// Appends ":value|type|@rate|#tags|Tts" after a name already written.
ParseStatus AppendBody(const FormatInput& m, double value, bool sanitize, std::string* out) {
  out->push_back(':');
  if (m.type == MetricType::kSet && m.has_text) {
    if (m.text.empty()) return ParseStatus::kBadValue;
    if (!AppendChecked(m.text, sanitize, BadMemberByte, out)) return ParseStatus::kBadValue;
  } else if (m.has_text) {
    // Several values of one key (DogStatsD v1.1 "a:1:2:3|ms"): decimals joined
    // by ':', each checked with the parser's own grammar.
    const char* p = m.text.data();
    const char* const end = p + m.text.size();
    while (true) {
      double v;
      bool sign;
      const char* stop = ScanDecimal(p, end, &v, &sign);
      if (stop == nullptr || !std::isfinite(v) || (stop != end && *stop != ':')) return ParseStatus::kBadValue;
      if (stop == end) break;
      p = stop + 1;
    }
    out->append(m.text.data(), m.text.size());
  } else {
    if (!std::isfinite(value)) return ParseStatus::kBadValue;
    // A relative gauge always carries a sign; FormatNumber prints -0 as "0".
    if (m.relative && m.type == MetricType::kGauge && (value == 0 || !std::signbit(value))) {
      out->push_back('+');
    }
    AppendNumber(value, out);
  }
  out->push_back('|');
  out->append(MetricTypeName(m.type));
  if (m.sample_rate != 1.0) {
    if (!(m.sample_rate > 0.0 && m.sample_rate < 1.0 && std::isfinite(1.0 / m.sample_rate))) {
      return ParseStatus::kBadRate;
    }
    out->append("|@");
    AppendNumber(m.sample_rate, out);
  }
  if (m.has_tags && !AppendTags(m.tags, sanitize, out)) return ParseStatus::kBadTag;
  if (m.has_timestamp) {
    if (!(m.timestamp >= 1 && m.timestamp < 1e12) || std::trunc(m.timestamp) != m.timestamp) {
      return ParseStatus::kBadTimestamp;
    }
    out->append("|T");
    AppendNumber(m.timestamp, out);
  }
  return ParseStatus::kOk;
}

ParseStatus FormatInto(const FormatInput& m, bool sanitize, std::string* out) {
  const size_t name_start = out->size();
  if (!AppendName(m.name, sanitize, out)) return ParseStatus::kBadName;
  const size_t name_end = out->size();
  const bool negative_gauge = m.type == MetricType::kGauge && !m.relative &&
                              !m.has_text && m.value < 0;
  if (negative_gauge) {
    // "name:0|g" first: a bare "-5|g" would be read as a decrement.
    ParseStatus status = AppendBody(m, 0.0, sanitize, out);
    if (status != ParseStatus::kOk) return status;
    out->push_back('\n');
    out->append(*out, name_start, name_end - name_start);
  }
  return AppendBody(m, m.value, sanitize, out);
}

}  // namespace

ParseStatus FormatLine(const FormatInput& metric, bool sanitize, std::string* out) {
  const size_t start = out->size();
  ParseStatus status = FormatInto(metric, sanitize, out);
  if (status != ParseStatus::kOk) out->resize(start);
  return status;
}

bool Packer::Add(std::string_view unit) {
  const size_t tail = trailing_newline_ ? 1 : 0;
  if (unit.size() + tail > max_) {
    // Count lines, not units: a negative gauge is two lines.
    dropped_ += 1 + static_cast<size_t>(std::count(unit.begin(), unit.end(), '\n'));
    return false;
  }
  const size_t current = bytes_.size() - packet_start_;
  if (current > 0) {
    if (current + 1 + unit.size() + tail > max_) {
      Finish();
    } else {
      bytes_.push_back('\n');
    }
  }
  bytes_.append(unit.data(), unit.size());
  return true;
}

void Packer::Finish() {
  if (bytes_.size() == packet_start_) return;
  if (trailing_newline_) bytes_.push_back('\n');
  ends_.push_back(static_cast<uint32_t>(bytes_.size()));
  packet_start_ = bytes_.size();
}

BatchResult PackBatch(std::string_view strings, const double* columns, size_t count,
                      bool sanitize, Packer* packer) {
  BatchResult result;
  std::string line;
  size_t pos = 0;
  auto next_segment = [&](std::string_view* segment) {
    const size_t nl = strings.find('\n', pos);
    if (nl == std::string_view::npos) return false;
    *segment = strings.substr(pos, nl - pos);
    pos = nl + 1;
    return true;
  };
  for (size_t i = 0; i < count; ++i) {
    const double* c = columns + i * kBatchStride;
    const auto flags = static_cast<uint32_t>(c[kBatchFlags]);
    FormatInput m;
    m.value = c[kBatchValue];
    m.sample_rate = c[kBatchSampleRate];
    m.timestamp = c[kBatchTimestamp];
    m.type = static_cast<MetricType>(flags & kLineTypeMask);
    m.relative = flags & kLineFlagRelative;
    m.has_text = flags & kLineFlagText;
    m.has_tags = flags & kLineFlagTags;
    m.has_timestamp = flags & kLineFlagTimestamp;
    if (!next_segment(&m.name) || (m.has_text && !next_segment(&m.text)) ||
        (m.has_tags && !next_segment(&m.tags))) {
      result.strings_mismatch = true;
      return result;
    }
    line.clear();
    ParseStatus status = FormatLine(m, sanitize, &line);
    if (status != ParseStatus::kOk) {
      result.status = status;
      result.failed_index = i;
      return result;
    }
    packer->Add(line);
  }
  if (pos != strings.size()) result.strings_mismatch = true;
  return result;
}

}  // namespace statsd
