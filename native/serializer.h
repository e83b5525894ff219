// Formats metrics as statsd lines and packs lines into size-limited packets.
#ifndef STATSD_SERIALIZER_H_
#define STATSD_SERIALIZER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codec.h"
#include "layout.h"

namespace statsd {

// One metric to format. Views are borrowed for the call.
struct FormatInput {
  std::string_view name;
  std::string_view tags;   // tags separated by kTagSeparator (empty when none)
  std::string_view text;   // set member, or "1:2.5:3" values of another type, when has_text
  double value = 0;
  double sample_rate = 1;
  double timestamp = 0;    // unix seconds, when has_timestamp
  MetricType type = MetricType::kCounter;
  bool relative = false;   // gauge delta: the sign is always written
  bool has_text = false;
  bool has_tags = false;   // even when `tags` is empty: an empty tag is an error
  bool has_timestamp = false;
};

// Separates tags in FormatInput::tags; it cannot occur in a valid tag, so a ','
// inside a tag is caught instead of silently splitting it in two.
constexpr char kTagSeparator = '\x1f';

// Appends the line for `metric` to *out, without a trailing '\n'. An absolute
// negative gauge becomes two lines, "name:0|g\nname:-5|g", so that no server
// reads it as a decrement. Returns kOk, or the reason the metric cannot be
// written (kBadName, kBadValue, kBadRate, kBadTag, kBadTimestamp); with
// `sanitize`, bytes that would corrupt the line become '_' and empty tags are
// dropped instead. On error *out is restored to its size before the call.
ParseStatus FormatLine(const FormatInput& metric, bool sanitize, std::string* out);

// Collects formatted units (one line, or the two lines of a negative gauge)
// into packets of at most max_packet_bytes, split only between units.
class Packer {
 public:
  Packer(size_t max_packet_bytes, bool trailing_newline)
      : max_(max_packet_bytes), trailing_newline_(trailing_newline) {}

  // Adds a unit; returns false and counts a drop when it alone exceeds the limit.
  bool Add(std::string_view unit);
  // Closes the last packet. Call once, after the last Add.
  void Finish();

  const std::string& bytes() const { return bytes_; }          // all packets, back to back
  const std::vector<uint32_t>& ends() const { return ends_; }  // end offset of each packet
  size_t dropped() const { return dropped_; }  // lines in units that could not fit

 private:
  size_t max_;
  bool trailing_newline_;
  std::string bytes_;
  std::vector<uint32_t> ends_;
  size_t packet_start_ = 0;
  size_t dropped_ = 0;
};

// A batch encoded by src/codec/line-batch.ts (LineBatch): `strings` holds, per
// metric, its name, then its set member if kLineFlagText, then its tags if
// kLineFlagTags, each ended by '\n'; `columns` holds kBatchStride doubles per
// metric, named by kBatchColumnFields for TypeScript (see layout.h).
enum BatchColumn : uint32_t {
  kBatchValue,
  kBatchSampleRate,
  kBatchTimestamp,  // unix seconds, with kLineFlagTimestamp
  kBatchFlags,      // the MetricType (kLineTypeMask) | the kLineFlag* bits
  kBatchColumnCount
};
constexpr size_t kBatchStride = kBatchColumnCount;
constexpr LayoutField kBatchColumnFields[] = {
    {kBatchValue, "value"},
    {kBatchSampleRate, "sampleRate"},
    {kBatchTimestamp, "timestamp"},
    {kBatchFlags, "flags"},
};
static_assert(CoversEachSlotOnce(kBatchColumnFields, kBatchColumnCount));

// The flags column. Not the bits of a parse record's flags (records.h
// kParseFlag*): another word, other bits.
constexpr uint32_t kLineTypeMask = 0xf;
constexpr uint32_t kLineFlagRelative = 1u << 4;
constexpr uint32_t kLineFlagText = 1u << 5;
constexpr uint32_t kLineFlagTags = 1u << 6;
constexpr uint32_t kLineFlagTimestamp = 1u << 7;
constexpr FlagField kLineFlagFields[] = {
    {"typeMask", kLineTypeMask}, {"relative", kLineFlagRelative}, {"text", kLineFlagText},
    {"tags", kLineFlagTags},     {"timestamp", kLineFlagTimestamp},
};

struct BatchResult {
  ParseStatus status = ParseStatus::kOk;
  bool strings_mismatch = false;  // a string held '\n', so segments did not line up
  size_t failed_index = 0;        // metric that failed, when status != kOk
};

// Formats every metric of the batch into `packer`. Stops at the first metric
// that cannot be written and reports it.
BatchResult PackBatch(std::string_view strings, const double* columns, size_t count,
                      bool sanitize, Packer* packer);

}  // namespace statsd

#endif  // STATSD_SERIALIZER_H_
