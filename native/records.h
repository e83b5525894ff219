// Fixed-size parse records that the bulk parser writes into TypeScript-owned
// memory, and its summary: layouts named for TypeScript (see layout.h).
#ifndef STATSD_RECORDS_H_
#define STATSD_RECORDS_H_

#include <cstdint>
#include <cstring>

#include "codec.h"
#include "layout.h"

namespace statsd {

// One record per sample: kRecordDoubles 8-byte slots (64 bytes), read by
// src/codec/parse.ts by the names of kRecordFields. A slot holds a double, or
// two uint32 (words 2*slot and 2*slot+1). Offsets are bytes from the input's start.
enum RecordSlot : uint32_t {
  kRecordValue,       // f64 the sample's value (0 for a set member)
  kRecordSampleRate,  // f64
  kRecordTimestamp,   // f64 unix seconds from '|T' (0 = none)
  kRecordName,        // u32 start, length
  kRecordTags,        // u32 start, length (0, 0: none)
  kRecordText,        // u32 start, length of the value as written
  kRecordFlags,       // u32 type | kParseFlag* bits, then u32 value index within the line
  kRecordLine,        // u32 start, length of the whole line
  kRecordSlotCount
};
constexpr size_t kRecordDoubles = kRecordSlotCount;
constexpr LayoutField kRecordFields[] = {
    {kRecordValue, "value"}, {kRecordSampleRate, "sampleRate"}, {kRecordTimestamp, "timestamp"},
    {kRecordName, "name"},   {kRecordTags, "tags"},             {kRecordText, "text"},
    {kRecordFlags, "flags"}, {kRecordLine, "line"},
};
static_assert(CoversEachSlotOnce(kRecordFields, kRecordSlotCount));

// The flag word of a record (first word of kRecordFlags). Not the bits of a
// LineBatch's flags (serializer.h kLineFlag*): another word, other bits.
constexpr uint32_t kParseTypeMask = 0xff;          // the MetricType
constexpr uint32_t kParseFlagRelative = 1u << 8;   // the value had an explicit sign
constexpr uint32_t kParseFlagTimestamp = 1u << 9;  // the line had '|T'
constexpr FlagField kParseFlagFields[] = {
    {"typeMask", kParseTypeMask},
    {"relative", kParseFlagRelative},
    {"timestamp", kParseFlagTimestamp},
};

// Summary the bulk parser writes into a Uint32Array (src/codec/parse.ts
// reads it by the names of kInfoFields); kInfoSize slots in all.
enum InfoSlot : uint32_t {
  kInfoResume,    // offset where parsing stopped (input size when done)
  kInfoRecords,   // records written
  kInfoLines,     // good lines
  kInfoErrors,    // bad lines
  kInfoByReason,  // kParseStatusCount counters, indexed by ParseStatus
  kInfoFirstCount = kInfoByReason + kParseStatusCount,  // kept bad-line examples
  kInfoFirst,     // kMaxFirstErrors examples of kExampleSlotCount slots from here
};
constexpr LayoutField kInfoFields[] = {
    {kInfoResume, "resume"}, {kInfoRecords, "records"},       {kInfoLines, "lines"},
    {kInfoErrors, "errors"}, {kInfoByReason, "byReason", true}, {kInfoFirstCount, "firstCount"},
    {kInfoFirst, "first"},
};
static_assert(CoversEachSlotOnce(kInfoFields, kInfoFirst + 1));

// One kept bad line.
enum ExampleSlot : uint32_t { kExampleStart, kExampleLength, kExampleStatus, kExampleSlotCount };
constexpr LayoutField kExampleFields[] = {
    {kExampleStart, "start"}, {kExampleLength, "length"}, {kExampleStatus, "status"}};
static_assert(CoversEachSlotOnce(kExampleFields, kExampleSlotCount));

// The first bad lines of a parse whose text and reason are reported (the
// rest are counted only): enough to show a sender's mistake, bounded so a
// packet of bad lines costs no more to report than one.
constexpr size_t kMaxFirstErrors = 8;
constexpr size_t kInfoSize = kInfoFirst + kExampleSlotCount * kMaxFirstErrors;

// WalkPacket sink that appends records until `capacity` would be exceeded; it
// stops at a line boundary so the caller can grow the records and resume.
class RecordSink {
 public:
  RecordSink(const char* base, double* records, size_t capacity, uint32_t* info)
      : base_(base), records_(records), capacity_(capacity), info_(info) {}

  bool OnLine(const ParsedLine& line, std::string_view text) {
    const size_t written = info_[kInfoRecords];
    if (written + line.sample_count > capacity_) return false;
    for (size_t i = 0; i < line.sample_count; ++i) {
      const Sample& s = line.samples[i];
      double* r = records_ + (written + i) * kRecordDoubles;
      uint32_t* u = reinterpret_cast<uint32_t*>(r);  // word 2*slot, 2*slot+1
      r[kRecordValue] = s.value;
      r[kRecordSampleRate] = line.sample_rate;
      r[kRecordTimestamp] = line.has_timestamp ? static_cast<double>(line.timestamp) : 0.0;
      u[2 * kRecordName] = Offset(line.name.data());
      u[2 * kRecordName + 1] = static_cast<uint32_t>(line.name.size());
      u[2 * kRecordTags] = line.tags.empty() ? 0 : Offset(line.tags.data());
      u[2 * kRecordTags + 1] = static_cast<uint32_t>(line.tags.size());
      u[2 * kRecordText] = Offset(s.text.data());
      u[2 * kRecordText + 1] = static_cast<uint32_t>(s.text.size());
      u[2 * kRecordFlags] = static_cast<uint32_t>(line.type) | (s.relative ? kParseFlagRelative : 0u) |
                            (line.has_timestamp ? kParseFlagTimestamp : 0u);
      u[2 * kRecordFlags + 1] = static_cast<uint32_t>(i);
      u[2 * kRecordLine] = Offset(text.data());
      u[2 * kRecordLine + 1] = static_cast<uint32_t>(text.size());
    }
    info_[kInfoRecords] = static_cast<uint32_t>(written + line.sample_count);
    ++info_[kInfoLines];
    return true;
  }

  void OnError(ParseStatus status, std::string_view text) {
    ++info_[kInfoErrors];
    ++info_[kInfoByReason + static_cast<size_t>(status)];
    uint32_t& kept = info_[kInfoFirstCount];
    if (kept < kMaxFirstErrors) {
      uint32_t* e = info_ + kInfoFirst + kExampleSlotCount * kept;
      e[kExampleStart] = Offset(text.data());
      e[kExampleLength] = static_cast<uint32_t>(text.size());
      e[kExampleStatus] = static_cast<uint32_t>(status);
      ++kept;
    }
  }

 private:
  uint32_t Offset(const char* p) const { return static_cast<uint32_t>(p - base_); }

  const char* base_;
  double* records_;
  size_t capacity_;
  uint32_t* info_;
};

}  // namespace statsd

#endif  // STATSD_RECORDS_H_
