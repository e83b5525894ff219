// The aggregator's core (DESIGN.md §5): construction, the ingest pipeline
// (lines parsed and keyed into per-shard batches by line_stager.cc, then
// looked up with prefetching and recorded into meters, monotonic counters,
// gauges, timers and sets) and the flush lifecycle (a convention's
// flush, then expiry and the start of a new interval). Contract: see
// aggregator.h; the conventions' output is in flush_brubeck.cc and
// flush_etsy.cc, the JSON views in snapshot.cc.
#include "aggregator.h"

#include <memory>
#include <unordered_set>
#include <utility>

#include "aggregator_entry.h"
#include "number.h"

namespace statsd {

Aggregator::Aggregator(AggregatorOptions options)
    : options_(std::move(options)),
      hash_seed_(RandomSeed()),
      member_seed_(options_.member_seed ? options_.member_seed : hash_seed_),
      stager_(options_, hash_seed_, /*shards=*/1),  // one batch, applied line by line in order
      etsy_(EtsyNamespaces::Resolve(options_)) {
  const uint32_t shards = options_.shards ? options_.shards : 1;
  shards_.reserve(shards);
  for (uint32_t i = 0; i < shards; ++i) shards_.emplace_back(options_.seed + i);
  samples_quota_.Init(options_.max_interval_samples, shards);
  members_quota_.Init(options_.max_interval_members, shards);
}

Aggregator::~Aggregator() = default;

Aggregator::Shard::Shard(uint64_t seed) : random(seed) {}
Aggregator::Shard::Shard(Shard&&) noexcept = default;
Aggregator::Shard::~Shard() = default;

size_t Aggregator::keys() const { return static_cast<size_t>(key_count_.load(std::memory_order_relaxed)); }

AggregatorStats Aggregator::stats() const {
  AggregatorStats sum;
  for (const Shard& shard : shards_) {
    const AggregatorStats& s = shard.stats;
    sum.packets += s.packets;
    sum.lines += s.lines;
    sum.samples += s.samples;
    sum.errors += s.errors;
    for (int r = 0; r < kParseStatusCount; ++r) sum.by_reason[r] += s.by_reason[r];
    sum.keys_dropped += s.keys_dropped;
    sum.members_dropped += s.members_dropped;
    sum.samples_not_stored += s.samples_not_stored;
  }
  sum.nonfinite_dropped = nonfinite_dropped_;
  sum.not_forwarded = not_forwarded_;
  sum.keys_expired = keys_expired_;
  sum.flushes = flushes_;
  return sum;
}

uint64_t Aggregator::IntervalSum(uint64_t Shard::*count) const {
  uint64_t sum = 0;
  for (const Shard& s : shards_) sum += s.*count;
  return sum;
}

IngestResult Aggregator::Ingest(const char* data, size_t size) {
  IngestResult result;
  stager_.CountPacket();
  for (size_t done = 0;;) {
    done += stager_.Stage(data + done, size - done);
    const IngestResult r = ApplyLines(kAnyShard, stager_.batch(0));
    result.lines += r.lines;
    result.errors += r.errors;
    stager_.Reset();
    if (done == size) return result;
  }
}

IngestResult Aggregator::Apply(uint32_t shard, const StagedBatch& batch) { return ApplyLines(shard, batch); }

IngestResult Aggregator::ApplyLines(uint32_t fixed, const StagedBatch& batch) {
  const uint32_t shards = shard_count();
  auto shard_of = [&](const StagedLine& line) -> Shard& {
    return shards_[fixed != kAnyShard ? fixed : (shards == 1 ? 0 : ShardOf(line.hash, shards))];
  };
  IngestResult result;
  const ParseCounts& counts = batch.counts;
  Shard& counted = shards_[fixed != kAnyShard ? fixed : 0];
  counted.stats.packets += counts.packets;
  counted.interval_packets += counts.packets;
  counted.stats.errors += counts.errors;
  counted.interval_errors += counts.errors;
  for (int r = 0; r < kParseStatusCount; ++r) counted.stats.by_reason[r] += counts.by_reason[r];
  result.errors += static_cast<uint32_t>(counts.errors);

  Rooms rooms;
  const size_t n = batch.lines.size();
  for (size_t i = 0; i < n && i < kPrefetchAhead; ++i) shard_of(batch.lines[i]).table.Prefetch(batch.lines[i].hash);
  for (size_t i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) {
      const StagedLine& ahead = batch.lines[i + kPrefetchAhead];
      shard_of(ahead).table.Prefetch(ahead.hash);
    }
    const StagedLine& line = batch.lines[i];
    Shard& shard = shard_of(line);
    const std::string_view key(batch.keys.data() + line.key_begin, line.key_length);
    Entry* e = FindOrCreate(shard, key, line);
    if (e == nullptr) {
      shard.stats.keys_dropped += line.sample_count;
      ++result.errors;
      ++shard.stats.errors;
      ++shard.interval_errors;
      continue;
    }
    const StagedSample* samples = batch.samples.data() + line.sample_begin;
    for (uint32_t j = 0; j < line.sample_count; ++j) Record(shard, rooms, *e, line, samples[j]);
    e->updated = true;
    if (e->kind == Kind::kGauge) e->gauge_ttl = options_.gauges_max_ttl;
    ++result.lines;
    ++shard.stats.lines;
    ++shard.interval_lines;
    shard.stats.samples += line.sample_count;
  }
  samples_quota_.Give(rooms.samples);
  members_quota_.Give(rooms.members);
  return result;
}

Aggregator::Entry* Aggregator::FindOrCreate(Shard& shard, std::string_view key, const StagedLine& line) {
  std::vector<Entry>& entries = shard.entries;
  const uint32_t index =
      shard.table.Find(key, line.hash, [&entries](uint32_t i) { return std::string_view(entries[i].key); });
  if (index != KeyTable::kMissing) return &entries[index];
  {
    // Claim a key and its bytes under the limits, which all shards share (a
    // lock only when a key is made: both limits checked together, exactly).
    std::lock_guard<std::mutex> lock(new_keys_);
    const uint64_t count = key_count_.load(std::memory_order_relaxed);
    const uint64_t bytes = key_bytes_.load(std::memory_order_relaxed);
    if (count >= options_.max_keys || bytes + key.size() > options_.max_key_bytes) return nullptr;
    key_count_.store(count + 1, std::memory_order_relaxed);
    key_bytes_.store(bytes + key.size(), std::memory_order_relaxed);
  }
  shard.table.Insert(line.hash, static_cast<uint32_t>(entries.size()));
  Entry& entry = entries.emplace_back();
  entry.key.assign(key.data(), key.size());
  entry.path_length = line.path_length;
  entry.hash = line.hash;
  entry.seq = next_seq_.fetch_add(1, std::memory_order_relaxed);
  entry.kind = line.kind;
  if (line.kind == Kind::kTimer) entry.histogram = std::make_unique<Histogram>();
  if (line.kind == Kind::kSet) entry.members = std::make_unique<std::unordered_set<uint64_t>>();
  return &entry;
}

void Aggregator::Record(Shard& shard, Rooms& rooms, Entry& e, const StagedLine& line, const StagedSample& s) {
  const bool is_member = line.type == MetricType::kSet;
  switch (e.kind) {
    case Kind::kCounter:
      if (!is_member) e.value += s.value * (1.0 / line.sample_rate);
      break;
    case Kind::kMonotonic: {
      if (is_member) break;
      const double total = s.value * (1.0 / line.sample_rate);
      if (e.primed) e.value += total >= e.previous ? total - e.previous : total;
      e.previous = total;
      e.primed = true;
      break;
    }
    case Kind::kGauge:
      if (is_member) break;
      e.value = s.relative ? e.value + s.value : s.value;
      break;
    case Kind::kTimer: {
      if (is_member) break;
      Histogram& h = *e.histogram;
      uint32_t cap = options_.max_samples_per_key;
      const size_t stored = h.samples().size();
      if (stored < cap && !samples_quota_.Take(&rooms.samples)) {
        // The interval's storage is used up: this key samples among what it has.
        cap = static_cast<uint32_t>(stored);
        ++shard.stats.samples_not_stored;
      }
      h.Add(s.value, line.sample_rate, cap, shard.random);
      break;
    }
    case Kind::kSet: {
      uint64_t member = s.member;
      if (!is_member) {
        // brubeck's one namespace: a number on a key a set line made first
        // (the first type wins) is the member its shortest text is ("1.0"
        // and "1" are the member "1"); its own text was not kept.
        char text[kMaxNumberChars];
        member = HashKey(std::string_view(text, FormatNumber(s.value, text)), member_seed_);
      }
      if (e.members->count(member) != 0) break;  // counted already
      if (e.members->size() < options_.max_set_members && members_quota_.Take(&rooms.members)) {
        e.members->insert(member);
      } else {
        ++shard.stats.members_dropped;
      }
      break;
    }
  }
}

template <class Gone>
void Aggregator::Compact(Shard& shard, Gone gone) {
  std::vector<Entry>& entries = shard.entries;
  auto key_of = [&entries](uint32_t i) { return std::string_view(entries[i].key); };
  size_t kept = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    Entry& e = entries[i];
    if (gone(e)) {
      shard.table.Erase(e.key, e.hash, key_of);
      std::lock_guard<std::mutex> lock(new_keys_);  // uncontended: a flush holds every shard
      key_bytes_.fetch_sub(e.key.size(), std::memory_order_relaxed);
      key_count_.fetch_sub(1, std::memory_order_relaxed);
      ++keys_expired_;
      continue;
    }
    if (kept != i) {  // moves down: its slot follows (entries below `kept` are final)
      shard.table.Renumber(e.hash, static_cast<uint32_t>(i), static_cast<uint32_t>(kept));
      entries[kept] = std::move(e);
    }
    ++kept;
  }
  entries.resize(kept);
}

bool Aggregator::Expired(const Entry& e, int64_t timestamp) const {
  return options_.expire > 0 && !e.updated && e.last_update > 0 &&
         static_cast<double>(timestamp - e.last_update) >= options_.expire;
}

std::string_view Aggregator::Name(std::string_view prefix, const Entry& e, std::string_view suffix,
                                  std::string_view suffix2) {
  name_.assign(prefix.data(), prefix.size());
  const std::string_view path = e.path();
  name_.append(path.data(), path.size());
  name_.append(suffix.data(), suffix.size());
  name_.append(suffix2.data(), suffix2.size());
  if (options_.convention == Convention::kEtsy) name_.append(etsy_.suffix);
  const std::string_view tags = e.tags();
  name_.append(tags.data(), tags.size());
  return name_;
}

void Aggregator::Flush(int64_t timestamp, GraphiteWriter* out) {
  out->Begin(timestamp);
  if (out->format() == GraphiteFormat::kStatsd) {
    FlushStatsd(timestamp, out);
  } else if (options_.convention == Convention::kBrubeck) {
    FlushBrubeck(timestamp, out);
  } else {
    FlushEtsy(timestamp, out);
  }
  out->Finish();
  nonfinite_dropped_ += out->nonfinite();
  for (Shard& shard : shards_) {
    // Free what expired, keeping the rest in the order first seen.
    Compact(shard, [&](Entry& e) {
      const bool etsy_deleted =
          options_.convention == Convention::kEtsy && !e.updated &&
          ((e.kind == Kind::kCounter && options_.delete_counters) ||
           (e.kind == Kind::kTimer && options_.delete_timers) ||
           (e.kind == Kind::kSet && options_.delete_sets));
      const bool gauge_done = options_.convention == Convention::kEtsy &&
                              e.kind == Kind::kGauge && options_.delete_gauges && e.gauge_ttl == 0;
      if (etsy_deleted || gauge_done || Expired(e, timestamp)) return true;
      if (e.updated) {
        e.last_update = timestamp;
        e.idle_flushes = 0;
      } else if (e.idle_flushes < UINT8_MAX) {
        ++e.idle_flushes;
      }
      e.updated = false;
      return false;
    });
    shard.interval_lines = shard.interval_errors = shard.interval_packets = 0;
  }
  samples_quota_.Reset();
  members_quota_.Reset();
  last_flush_ = timestamp;
  ++flushes_;
}

}  // namespace statsd
