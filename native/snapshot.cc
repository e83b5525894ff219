// JSON views of the aggregator's keys, for tools, tests and the daemon's
// /metric/<key>: Snapshot (every key, O(keys)) and Describe (the keys stored
// as one name, O(1) in keys: one lookup per key namespace, see KeyPrefix).
// Contract: read-only (no per-interval state changes); each key as
// {"key","kind","updated", "value" | "count","samples"} (src/aggregator/
// aggregator.ts KeySnapshot), numbers printed as JavaScript prints them.
#include <cmath>
#include <string>
#include <string_view>

#include "aggregator.h"
#include "aggregator_entry.h"
#include "number.h"

namespace statsd {

void Aggregator::Snapshot(std::string* json) const {
  json->push_back('[');
  bool first = true;
  ForEachEntry([&](const Entry& e) {
    if (!first) json->push_back(',');
    first = false;
    AppendJson(e, /*samples=*/true, json);
  });
  json->push_back(']');
}

void Aggregator::Describe(std::string_view key, bool samples, std::string* json) const {
  json->push_back('[');
  std::string stored;
  bool first = true;
  const Convention convention = options_.convention;
  for (int kind = 0; kind < KeyNamespaceCount(convention); ++kind) {
    stored.assign(1, KeyPrefix(convention, static_cast<MetricKind>(kind)));
    stored.append(key.data(), key.size());
    const uint64_t hash = HashKey(stored, hash_seed_);
    const Shard& shard = shards_[ShardOf(hash, shard_count())];
    const std::vector<Entry>& entries = shard.entries;
    const uint32_t index =
        shard.table.Find(stored, hash, [&entries](uint32_t i) { return std::string_view(entries[i].key); });
    if (index == KeyTable::kMissing) continue;
    if (!first) json->push_back(',');
    first = false;
    AppendJson(entries[index], samples, json);
  }
  json->push_back(']');
}

void Aggregator::AppendJson(const Entry& e, bool samples, std::string* json) const {
  char digits[kMaxNumberChars];
  // JSON has no Infinity: a counter or gauge summed past the largest double
  // reads as null (before, the whole snapshot was JSON that did not parse).
  auto number = [&](double v) {
    if (std::isfinite(v)) {
      json->append(digits, FormatNumber(v, digits));
    } else {
      json->append("null");
    }
  };
  json->append("{\"key\":\"");
  for (char c : e.stored()) {
    if (c == '"' || c == '\\') json->push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) {
      json->append("\\u00");
      json->push_back("0123456789abcdef"[(c >> 4) & 0xf]);
      json->push_back("0123456789abcdef"[c & 0xf]);
      continue;
    }
    json->push_back(c);
  }
  json->append("\",\"kind\":\"");
  const std::string_view kind = MetricKindName(e.kind);
  json->append(kind.data(), kind.size());
  json->append("\",\"updated\":");
  json->append(e.updated ? "true" : "false");
  switch (e.kind) {
    case Kind::kCounter:
    case Kind::kMonotonic:
    case Kind::kGauge:
      json->append(",\"value\":");
      number(e.value);
      break;
    case Kind::kSet:
      json->append(",\"value\":");
      number(static_cast<double>(e.members->size()));
      break;
    case Kind::kTimer: {
      const Histogram& h = *e.histogram;
      json->append(",\"count\":");
      number(h.count());
      json->append(",\"samples\":[");
      for (size_t i = 0; samples && i < h.samples().size(); ++i) {
        if (i) json->push_back(',');
        number(h.samples()[i]);
      }
      json->push_back(']');
      break;
    }
  }
  json->push_back('}');
}

}  // namespace statsd
