// Named layouts of what crosses the N-API boundary by position: the slots of
// the typed arrays TypeScript and C++ share, and the bits of the flag words.
// Each layout is defined once, here or beside the code that fills it
// (records.h, serializer.h): an enum of slots (or constexpr flag values) and a
// table giving each slot its name. native/binding_layout.cc exports the names
// as `layout` (e.g. layout.aggregatorStats = ['packets', 'lines', …]) and
// src/core/native.ts checks them at load against the names TypeScript reads by
// (fieldIndex), so a slot moved on one side only is an error at load, not a
// silently wrong number. Contract: a table names every slot of its layout
// exactly once (checked at compile time by CoversEachSlotOnce).
#ifndef STATSD_LAYOUT_H_
#define STATSD_LAYOUT_H_

#include <cstddef>
#include <cstdint>

#include "codec.h"

namespace statsd {

// One named slot, or with `by_reason` a block of kParseStatusCount slots (one
// per ParseStatus) named "<name>.<status name>" ("byReason.bad_name").
struct LayoutField {
  uint32_t index;
  const char* name;
  bool by_reason = false;
};

// One named value of a flag word: a bit, or a mask ("typeMask").
struct FlagField {
  const char* name;
  uint32_t value;
};

constexpr uint32_t SlotsOf(const LayoutField& f) { return f.by_reason ? kParseStatusCount : 1; }

// Whether `fields` names each slot of [0, size) exactly once.
template <size_t N>
constexpr bool CoversEachSlotOnce(const LayoutField (&fields)[N], uint32_t size) {
  for (uint32_t slot = 0; slot < size; ++slot) {
    int named = 0;
    for (const LayoutField& f : fields) {
      if (slot >= f.index && slot < f.index + SlotsOf(f)) ++named;
    }
    if (named != 1) return false;
  }
  for (const LayoutField& f : fields) {
    if (f.index + SlotsOf(f) > size) return false;
  }
  return true;
}

// --- Arrays filled by native/binding.cc ---

// new NativeAggregator(options, results): Float64Array the aggregator writes
// what its last ingest and its last flush did into.
enum AggregatorResult : uint32_t {
  kResultIngestLines,
  kResultIngestErrors,
  kResultFlushMetrics,
  kAggregatorResultCount
};
constexpr LayoutField kAggregatorResultFields[] = {
    {kResultIngestLines, "ingestLines"},
    {kResultIngestErrors, "ingestErrors"},
    {kResultFlushMetrics, "flushMetrics"},
};
static_assert(CoversEachSlotOnce(kAggregatorResultFields, kAggregatorResultCount));

// aggregator.stats(out: Float64Array): AggregatorStats, keys() and key_bytes().
enum AggregatorStat : uint32_t {
  kStatPackets,
  kStatLines,
  kStatSamples,
  kStatErrors,
  kStatKeysDropped,
  kStatKeysExpired,
  kStatFlushes,
  kStatKeys,
  kStatByReason,  // kParseStatusCount slots, by ParseStatus
  kStatMembersDropped = kStatByReason + kParseStatusCount,
  kStatKeyBytes,
  kStatSamplesNotStored,
  kStatNonfiniteDropped,
  kStatNotForwarded,
  kAggregatorStatCount
};
constexpr LayoutField kAggregatorStatFields[] = {
    {kStatPackets, "packets"},
    {kStatLines, "lines"},
    {kStatSamples, "samples"},
    {kStatErrors, "errors"},
    {kStatKeysDropped, "keysDropped"},
    {kStatKeysExpired, "keysExpired"},
    {kStatFlushes, "flushes"},
    {kStatKeys, "keys"},
    {kStatByReason, "byReason", true},
    {kStatMembersDropped, "membersDropped"},
    {kStatKeyBytes, "keyBytes"},
    {kStatSamplesNotStored, "samplesNotStored"},
    {kStatNonfiniteDropped, "nonfiniteDropped"},
    {kStatNotForwarded, "notForwarded"},
};
static_assert(CoversEachSlotOnce(kAggregatorStatFields, kAggregatorStatCount));

// receiver.stats(out: Float64Array): the bound socket and ReceiverStats.
enum ReceiverStat : uint32_t {
  kReceiverPort,
  kReceiverReceiveBuffer,
  kReceiverDatagrams,
  kReceiverBytes,
  kReceiverKernelDrops,
  kReceiverReceiveErrors,
  kReceiverTruncated,
  kReceiverHeldWhileBusy,
  kReceiverStatCount
};
constexpr LayoutField kReceiverStatFields[] = {
    {kReceiverPort, "port"},
    {kReceiverReceiveBuffer, "receiveBuffer"},
    {kReceiverDatagrams, "datagrams"},
    {kReceiverBytes, "bytes"},
    {kReceiverKernelDrops, "kernelDrops"},
    {kReceiverReceiveErrors, "receiveErrors"},
    {kReceiverTruncated, "truncated"},
    {kReceiverHeldWhileBusy, "heldWhileBusy"},
};
static_assert(CoversEachSlotOnce(kReceiverStatFields, kReceiverStatCount));

// pack(…, result: Uint32Array): what one PackBatch did.
enum PackResult : uint32_t {
  kPackPackets,
  kPackDropped,
  kPackStatus,    // a ParseStatus
  kPackMismatch,  // 1: a string held '\n', so the segments did not line up
  kPackFailedIndex,
  kPackResultCount
};
constexpr LayoutField kPackResultFields[] = {
    {kPackPackets, "packets"},
    {kPackDropped, "dropped"},
    {kPackStatus, "status"},
    {kPackMismatch, "mismatch"},
    {kPackFailedIndex, "failedIndex"},
};
static_assert(CoversEachSlotOnce(kPackResultFields, kPackResultCount));

// pack(…, flags, …): how the whole batch is packed.
constexpr uint32_t kPackSanitize = 1u << 0;          // bytes that would corrupt a line become '_'
constexpr uint32_t kPackTrailingNewline = 1u << 1;   // every packet ends with '\n'
constexpr FlagField kPackFlagFields[] = {
    {"sanitize", kPackSanitize},
    {"trailingNewline", kPackTrailingNewline},
};

}  // namespace statsd

#endif  // STATSD_LAYOUT_H_
