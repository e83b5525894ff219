// Fixed-size parse records that the bulk parser writes into TypeScript-owned memory.
#ifndef STATSD_RECORDS_H_
#define STATSD_RECORDS_H_

#include <cstdint>
#include <cstring>

#include "codec.h"

namespace statsd {

// One record per sample, 8 doubles (64 bytes). The layout is the contract with
// src/codec.ts (RECORD_* constants); offsets are bytes from the input's start.
//   f64[0] value   f64[1] sample_rate   f64[2] timestamp (0 = none)
//   u32[6,7]  name start, length        u32[8,9]   tags start, length
//   u32[10,11] value text start, length u32[12]    type | relative<<8 | timestamp<<9
//   u32[13] value index within the line u32[14,15] line start, length
constexpr size_t kRecordDoubles = 8;

// Summary the bulk parser writes into a Uint32Array (src/codec.ts INFO_*).
constexpr size_t kInfoResume = 0;       // offset where parsing stopped (input size when done)
constexpr size_t kInfoRecords = 1;      // records written
constexpr size_t kInfoLines = 2;        // good lines
constexpr size_t kInfoErrors = 3;       // bad lines
constexpr size_t kInfoByReason = 4;     // kParseStatusCount counters, indexed by ParseStatus
constexpr size_t kInfoFirstCount = kInfoByReason + kParseStatusCount;  // kept bad-line samples
constexpr size_t kInfoFirst = kInfoFirstCount + 1;  // (start, length, status) triples
constexpr size_t kMaxFirstErrors = 8;
constexpr size_t kInfoSize = kInfoFirst + 3 * kMaxFirstErrors;

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
      uint32_t* u = reinterpret_cast<uint32_t*>(r);
      r[0] = s.value;
      r[1] = line.sample_rate;
      r[2] = line.has_timestamp ? static_cast<double>(line.timestamp) : 0.0;
      u[6] = Offset(line.name.data());
      u[7] = static_cast<uint32_t>(line.name.size());
      u[8] = line.tags.empty() ? 0 : Offset(line.tags.data());
      u[9] = static_cast<uint32_t>(line.tags.size());
      u[10] = Offset(s.text.data());
      u[11] = static_cast<uint32_t>(s.text.size());
      u[12] = static_cast<uint32_t>(line.type) | (s.relative ? 1u << 8 : 0u) |
              (line.has_timestamp ? 1u << 9 : 0u);
      u[13] = static_cast<uint32_t>(i);
      u[14] = Offset(text.data());
      u[15] = static_cast<uint32_t>(text.size());
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
      uint32_t* e = info_ + kInfoFirst + 3 * kept;
      e[0] = Offset(text.data());
      e[1] = static_cast<uint32_t>(text.size());
      e[2] = static_cast<uint32_t>(status);
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
