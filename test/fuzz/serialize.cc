// libFuzzer target: the serializer, statsd::PackBatch (FormatLine + Packer) on
// fuzzed batches. It stands in for the "TCP line reassembly" target:
// that reassembly is TypeScript (src/daemon/inputs/line-assembler.ts); no native code
// reassembles lines.
//
// Input: read with FuzzedDataProvider into a batch in the encoding of
// serializer.h (the one src/codec/serialize.ts writes): per metric a name, an
// optional set member and optional tags, each ended by '\n' (a '\n' inside one
// is the mismatch PackBatch must report); columns value, rate, timestamp and
// flags = type 0-6 | kLineFlag* bits, as src/codec/serialize.ts sets them. With
// kLineFlagText the text is a set member, or for other types a value list
// ("1:2.5", DogStatsD v1.1): the fuzzer writes one of decimals about half the time.
// Checks, besides the sanitizers: packets are at most maxPacketBytes and split
// only at '\n'; every line is kept or counted as dropped, in order; every line
// parses back (statsd::LineParser) to the metric that was written; an error
// names the metric that FormatLine refuses, and leaves its output untouched.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "codec.h"
#include "fuzz_support.h"
#include "number.h"
#include "serializer.h"

namespace {

using statsd::FormatInput;
using statsd::MetricType;
using statsd::ParseStatus;

struct Metric {
  FormatInput input;
  std::string name, text, tags;
};

double Number(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: return static_cast<double>(in.ConsumeIntegralInRange<int64_t>(-100000, 100000));
    case 1: return in.ConsumeFloatingPoint<double>();
    case 2: return in.ConsumeFloatingPointInRange<double>(-1e-300, 1e-300);
    default: {
      const uint64_t bits = in.ConsumeIntegral<uint64_t>();  // NaN, infinities, subnormals
      double d;
      std::memcpy(&d, &bits, 8);
      return d;
    }
  }
}

double Rate(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: return 1;
    case 1: return in.ConsumeProbability<double>();
    case 2: return 1.0 / static_cast<double>(in.ConsumeIntegralInRange(1, 1000));
    default: return Number(in);
  }
}

double Timestamp(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 2)) {
    case 0: return static_cast<double>(in.ConsumeIntegralInRange<int64_t>(0, 1100000000000));
    case 1: return 1700000000;
    default: return Number(in);
  }
}

std::string Tags(const std::string& tags) {
  std::string out = tags;
  for (char& c : out) {
    if (c == statsd::kTagSeparator) c = ',';
  }
  return out;
}

// Checks that `line` (one line of the output) parses back to metric `m`;
// `zero_first` for the "name:0|g" line that precedes a negative gauge.
void CheckLine(std::string_view line, const Metric& metric, bool sanitize, bool zero_first) {
  const FormatInput& m = metric.input;
  const std::string why = "line \"" + fuzz::Escape(line) + "\" of metric name \"" + fuzz::Escape(metric.name) + "\"";
  const fuzz::ExactCopy copy(line);
  statsd::LineParser parser(statsd::ParseOptions{statsd::Dialect::kFull, UINT32_MAX});
  statsd::ParsedLine p;
  FUZZ_CHECK(parser.Parse(copy.view(), &p) == ParseStatus::kOk, why);
  FUZZ_CHECK(p.type == m.type, why);
  FUZZ_CHECK(p.name.size() == m.name.size(), why);
  if (!sanitize) FUZZ_CHECK(p.name == m.name, why);
  FUZZ_CHECK(p.sample_rate == (m.sample_rate == 1 ? 1.0 : m.sample_rate), why);
  FUZZ_CHECK(p.has_timestamp == m.has_timestamp, why);
  if (m.has_timestamp) FUZZ_CHECK(static_cast<double>(p.timestamp) == m.timestamp, why);
  if (!sanitize && m.has_tags) FUZZ_CHECK(p.tags == Tags(metric.tags), why);
  if (!m.has_tags) FUZZ_CHECK(p.tags.empty(), why);
  if (m.type == MetricType::kSet && m.has_text) {
    FUZZ_CHECK(p.sample_count == 1, why);
    FUZZ_CHECK(p.samples[0].text.size() == m.text.size(), why);
    if (!sanitize) FUZZ_CHECK(p.samples[0].text == m.text, why);
  } else if (m.has_text) {
    // A value list ("1:-2.5:3e2", DogStatsD v1.1) is written as given.
    std::string_view values = m.text;
    for (size_t k = 0; k < p.sample_count; ++k) {
      const size_t colon = values.find(':');
      FUZZ_CHECK(p.samples[k].text == values.substr(0, colon), why);
      values = colon == std::string_view::npos ? std::string_view() : values.substr(colon + 1);
      FUZZ_CHECK((colon == std::string_view::npos) == (k + 1 == p.sample_count), why);
    }
  } else if (m.type != MetricType::kSet) {
    FUZZ_CHECK(p.sample_count == 1, why);
    FUZZ_CHECK(p.samples[0].value == (zero_first ? 0.0 : m.value), why);
    if (m.type == MetricType::kGauge) {
      FUZZ_CHECK(p.samples[0].relative == (m.relative || (!zero_first && m.value < 0)), why);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const bool sanitize = in.ConsumeBool();
  const bool trailing_newline = in.ConsumeBool();
  const size_t max_packet = in.ConsumeIntegralInRange<size_t>(1, 1500);
  const size_t count = in.ConsumeIntegralInRange<size_t>(0, 24);

  std::vector<Metric> metrics(count);
  std::vector<double> columns(count * statsd::kBatchStride);
  std::string strings;
  bool newline_inside = false;
  for (size_t i = 0; i < count; ++i) {
    Metric& metric = metrics[i];
    FormatInput& m = metric.input;
    m.type = static_cast<MetricType>(in.ConsumeIntegralInRange(0, statsd::kMetricTypeCount - 1));
    m.relative = in.ConsumeBool();
    m.has_text = in.ConsumeBool();
    m.has_tags = in.ConsumeBool();
    m.has_timestamp = in.ConsumeBool();
    metric.name = in.ConsumeRandomLengthString(48);
    if (m.has_text) {
      if (m.type != MetricType::kSet && in.ConsumeBool()) {
        const size_t n = in.ConsumeIntegralInRange<size_t>(1, 4);
        for (size_t k = 0; k < n; ++k) {
          char digits[statsd::kMaxNumberChars];
          if (k) metric.text += ':';
          metric.text.append(digits, statsd::FormatNumber(Number(in), digits));
        }
      } else {
        metric.text = in.ConsumeRandomLengthString(24);
      }
    }
    if (m.has_tags) metric.tags = in.ConsumeRandomLengthString(48);
    m.value = Number(in);
    m.sample_rate = Rate(in);
    m.timestamp = Timestamp(in);
    for (const std::string* s : {&metric.name, &metric.text, &metric.tags}) {
      if (s->find('\n') != std::string::npos) newline_inside = true;
    }
    strings += metric.name + '\n';
    if (m.has_text) strings += metric.text + '\n';
    if (m.has_tags) strings += metric.tags + '\n';
    double* c = &columns[i * statsd::kBatchStride];
    c[0] = m.value;
    c[1] = m.sample_rate;
    c[2] = m.timestamp;
    c[3] = static_cast<double>(static_cast<uint32_t>(m.type) |
                               (m.relative ? statsd::kLineFlagRelative : 0) |
                               (m.has_text ? statsd::kLineFlagText : 0) |
                               (m.has_tags ? statsd::kLineFlagTags : 0) |
                               (m.has_timestamp ? statsd::kLineFlagTimestamp : 0));
  }
  // The views of the inputs point into `metrics` (no more resizing from here).
  for (Metric& metric : metrics) {
    metric.input.name = metric.name;
    metric.input.text = metric.text;
    metric.input.tags = metric.tags;
  }

  const fuzz::ExactCopy batch(strings);
  statsd::Packer packer(max_packet, trailing_newline);
  const statsd::BatchResult result =
      statsd::PackBatch(batch.view(), columns.data(), count, sanitize, &packer);
  packer.Finish();

  // Packets: bounded, back to back, split only between lines.
  const std::string& bytes = packer.bytes();
  const std::vector<uint32_t>& ends = packer.ends();
  size_t start = 0;
  std::vector<std::string_view> lines;
  for (uint32_t end : ends) {
    FUZZ_CHECK(end > start && end <= bytes.size(), "packet ends out of order");
    std::string_view packet(bytes.data() + start, end - start);
    FUZZ_CHECK(packet.size() <= max_packet, "packet of " + std::to_string(packet.size()) +
                                                " bytes > maxPacketBytes " + std::to_string(max_packet));
    if (trailing_newline) {
      FUZZ_CHECK(packet.back() == '\n', "packet without its trailing newline");
      packet.remove_suffix(1);
    }
    while (true) {
      const size_t nl = packet.find('\n');
      lines.push_back(packet.substr(0, nl));
      FUZZ_CHECK(!lines.back().empty(), "empty line in packet");
      if (nl == std::string_view::npos) break;
      packet.remove_prefix(nl + 1);
    }
    start = end;
  }
  FUZZ_CHECK(start == bytes.size(), "bytes after the last packet end");

  // A '\n' inside a string shifts the segments: the output is garbage, but the
  // call must say something went wrong (src/codec/serialize.ts then finds the string).
  if (newline_inside) {
    FUZZ_CHECK(result.strings_mismatch || result.status != ParseStatus::kOk,
               "a string held '\\n' and PackBatch reported success");
    return 0;
  }
  FUZZ_CHECK(!result.strings_mismatch, "strings_mismatch without a '\\n' inside a string");

  // Replay: the lines kept are the units that fit, in order; the rest are counted.
  const size_t formatted = result.status == ParseStatus::kOk ? count : result.failed_index;
  const size_t tail = trailing_newline ? 1 : 0;
  size_t next = 0, dropped = 0;
  for (size_t i = 0; i < formatted; ++i) {
    std::string unit;
    FUZZ_CHECK(statsd::FormatLine(metrics[i].input, sanitize, &unit) == ParseStatus::kOk,
               "metric " + std::to_string(i) + " formats alone but not in the batch");
    const size_t unit_lines = 1 + (unit.find('\n') != std::string::npos ? 1 : 0);
    if (unit.size() + tail > max_packet) {
      dropped += unit_lines;
      continue;
    }
    for (size_t k = 0; k < unit_lines; ++k) {
      FUZZ_CHECK(next < lines.size(), "a line that fits is missing");
      CheckLine(lines[next++], metrics[i], sanitize, unit_lines == 2 && k == 0);
    }
  }
  FUZZ_CHECK(next == lines.size(), "more lines than metrics");
  FUZZ_CHECK(dropped == packer.dropped(), "dropped lines miscounted");

  if (result.status != ParseStatus::kOk) {
    FUZZ_CHECK(result.failed_index < count, "failed_index out of range");
    std::string out = "kept";
    const ParseStatus again = statsd::FormatLine(metrics[result.failed_index].input, sanitize, &out);
    FUZZ_CHECK(again == result.status, "FormatLine disagrees with PackBatch on the failed metric");
    FUZZ_CHECK(out == "kept", "FormatLine changed its output on error");
  }
  return 0;
}
