// Builds the `layout` export (see binding_layout.h): for each layout, its
// names by slot (an array) or its flag values by name (an object).
#include "binding_layout.h"

#include <string>
#include <string_view>

#include "aggregator_options.h"
#include "codec.h"
#include "layout.h"
#include "records.h"
#include "serializer.h"

namespace statsd {
namespace {

// How the numbers TypeScript passes for these options map to the enums.
constexpr LayoutField kConventionFields[] = {
    {static_cast<uint32_t>(Convention::kBrubeck), "brubeck"},
    {static_cast<uint32_t>(Convention::kEtsy), "etsy"},
};
static_assert(CoversEachSlotOnce(kConventionFields, 2));
constexpr LayoutField kDialectFields[] = {
    {static_cast<uint32_t>(Dialect::kFull), "full"},
    {static_cast<uint32_t>(Dialect::kBrubeck), "brubeck"},
};
static_assert(CoversEachSlotOnce(kDialectFields, 2));

Napi::String Text(Napi::Env env, std::string_view s) { return Napi::String::New(env, s.data(), s.size()); }

// ["packets", "lines", …, "byReason.ok", "byReason.bad_name", …]: slot i's name at i.
template <size_t N>
Napi::Array Names(Napi::Env env, const LayoutField (&fields)[N], uint32_t size) {
  Napi::Array names = Napi::Array::New(env, size);
  for (const LayoutField& f : fields) {
    if (!f.by_reason) {
      names.Set(f.index, f.name);
      continue;
    }
    for (int r = 0; r < kParseStatusCount; ++r) {
      const std::string name = std::string(f.name) + "." + std::string(ParseStatusName(static_cast<ParseStatus>(r)));
      names.Set(f.index + r, name);
    }
  }
  return names;
}

template <size_t N>
Napi::Object Flags(Napi::Env env, const FlagField (&fields)[N]) {
  Napi::Object flags = Napi::Object::New(env);
  for (const FlagField& f : fields) flags.Set(f.name, static_cast<double>(f.value));
  return flags;
}

}  // namespace

Napi::Object LayoutExport(Napi::Env env) {
  Napi::Object layout = Napi::Object::New(env);
  // Sizes.
  layout.Set("recordDoubles", static_cast<double>(kRecordDoubles));
  layout.Set("infoSize", static_cast<double>(kInfoSize));
  layout.Set("infoFirst", static_cast<double>(kInfoFirst));
  layout.Set("parseStatusCount", static_cast<double>(kParseStatusCount));
  layout.Set("batchStride", static_cast<double>(kBatchStride));
  // Enums: the name of each value.
  Napi::Array statuses = Napi::Array::New(env, kParseStatusCount);
  for (int i = 0; i < kParseStatusCount; ++i) statuses.Set(i, Text(env, ParseStatusName(static_cast<ParseStatus>(i))));
  layout.Set("parseStatuses", statuses);
  Napi::Array types = Napi::Array::New(env, kMetricTypeCount);
  for (int i = 0; i < kMetricTypeCount; ++i) types.Set(i, Text(env, MetricTypeName(static_cast<MetricType>(i))));
  layout.Set("metricTypes", types);
  layout.Set("conventions", Names(env, kConventionFields, 2));
  layout.Set("dialects", Names(env, kDialectFields, 2));
  // Arrays: the name of each slot.
  layout.Set("records", Names(env, kRecordFields, kRecordSlotCount));
  layout.Set("parseInfo", Names(env, kInfoFields, kInfoFirst + 1));
  layout.Set("parseExample", Names(env, kExampleFields, kExampleSlotCount));
  layout.Set("batchColumns", Names(env, kBatchColumnFields, kBatchColumnCount));
  layout.Set("packResults", Names(env, kPackResultFields, kPackResultCount));
  layout.Set("aggregatorResults", Names(env, kAggregatorResultFields, kAggregatorResultCount));
  layout.Set("aggregatorStats", Names(env, kAggregatorStatFields, kAggregatorStatCount));
  layout.Set("receiverStats", Names(env, kReceiverStatFields, kReceiverStatCount));
  // Flag words: the value of each flag.
  layout.Set("parseFlags", Flags(env, kParseFlagFields));
  layout.Set("lineFlags", Flags(env, kLineFlagFields));
  layout.Set("packFlags", Flags(env, kPackFlagFields));
  return layout;
}

}  // namespace statsd
