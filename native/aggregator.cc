// The aggregator's core (DESIGN.md §5): construction, the ingest pipeline
// (lines parsed, keyed, looked up in batches, recorded into meters, monotonic
// counters, gauges, timers and sets) and the flush lifecycle (a convention's
// flush, then expiry and the start of a new interval). Contract: see
// aggregator.h; the conventions' output is in flush_brubeck.cc and
// flush_etsy.cc, the JSON views in snapshot.cc.
#include "aggregator.h"

#include <memory>
#include <unordered_set>
#include <utility>

#include "aggregator_entry.h"

namespace statsd {

namespace {

// The parser's options for a convention: the etsy convention takes what etsy
// statsd takes (spaces its sanitizer turns into '_', rates above 1).
ParseOptions ParserOptions(const AggregatorOptions& o) {
  ParseOptions p = o.parse;
  p.etsy = o.convention == Convention::kEtsy && o.key_name_sanitize;
  return p;
}

}  // namespace

Aggregator::Aggregator(AggregatorOptions options)
    : options_(std::move(options)),
      parser_(ParserOptions(options_)),
      random_(options_.seed),
      hash_seed_(RandomSeed()),
      key_builder_(options_.convention, options_.key_name_sanitize),
      etsy_(EtsyNamespaces::Resolve(options_)) {}

Aggregator::~Aggregator() = default;

size_t Aggregator::keys() const { return entries_.size(); }

Aggregator::Kind Aggregator::KindOf(MetricType type) const {
  switch (type) {
    case MetricType::kCounter: return Kind::kCounter;
    case MetricType::kMonotonicCounter:
      return options_.convention == Convention::kBrubeck ? Kind::kMonotonic : Kind::kCounter;
    case MetricType::kGauge: return Kind::kGauge;
    case MetricType::kSet: return Kind::kSet;
    case MetricType::kTimer:
    case MetricType::kHistogram:
    case MetricType::kDistribution: return Kind::kTimer;
  }
  return Kind::kCounter;
}

IngestResult Aggregator::Ingest(const char* data, size_t size) {
  current_ = IngestResult{};
  ++stats_.packets;
  ++interval_packets_;
  WalkPacket(parser_, data, size, *this);
  Drain();
  return current_;
}

void Aggregator::OnError(ParseStatus status, std::string_view) {
  ++current_.errors;
  ++stats_.errors;
  ++stats_.by_reason[static_cast<size_t>(status)];
  ++interval_errors_;
}

Aggregator::Entry* Aggregator::FindOrCreate(std::string_view key, uint64_t hash,
                                            uint32_t path_length, Kind kind) {
  const uint32_t index =
      table_.Find(key, hash, [this](uint32_t i) { return std::string_view(entries_[i].key); });
  if (index != KeyTable::kMissing) return &entries_[index];
  if (entries_.size() >= options_.max_keys) return nullptr;
  if (key_bytes_ + key.size() > options_.max_key_bytes) return nullptr;
  key_bytes_ += key.size();
  table_.Insert(hash, static_cast<uint32_t>(entries_.size()));
  Entry& entry = entries_.emplace_back();
  entry.key.assign(key.data(), key.size());
  entry.path_length = path_length;
  entry.hash = hash;
  entry.kind = kind;
  if (kind == Kind::kTimer) entry.histogram = std::make_unique<Histogram>();
  if (kind == Kind::kSet) entry.members = std::make_unique<std::unordered_set<uint64_t>>();
  return &entry;
}

bool Aggregator::OnLine(const ParsedLine& line, std::string_view text) {
  const Kind kind = KindOf(line.type);
  const std::string_view key = key_builder_.Build(line, kind);
  // Carbon splits a line at a Unicode space and drops it (see CheckText): a
  // key holding one is refused here, counted like an ASCII space in a name.
  if (line.non_ascii && CheckText(key) == TextProblem::kUnicodeSpace) {
    OnError(ParseStatus::kBadName, text);
    return true;
  }
  Pending& p = pending_.emplace_back();
  p.line = line;
  p.kind = kind;
  p.hash = HashKey(key, hash_seed_);
  p.key_begin = static_cast<uint32_t>(pending_keys_.size());
  p.key_length = static_cast<uint32_t>(key.size());
  p.path_length = key_builder_.path_length();
  p.sample_begin = static_cast<uint32_t>(pending_samples_.size());
  pending_keys_.append(key.data(), key.size());
  pending_samples_.insert(pending_samples_.end(), line.samples, line.samples + line.sample_count);
  table_.Prefetch(p.hash);
  if (pending_.size() == kPipelineDepth) Drain();
  return true;
}

void Aggregator::Drain() {
  for (Pending& p : pending_) {
    p.line.samples = pending_samples_.data() + p.sample_begin;
    Aggregate(p);
  }
  pending_.clear();
  pending_samples_.clear();
  pending_keys_.clear();
}

void Aggregator::Aggregate(const Pending& p) {
  const ParsedLine& line = p.line;
  if (options_.convention == Convention::kEtsy && line.type == MetricType::kTimer) {
    // etsy statsd rejects negative timings as bad lines; the key is not made
    // (etsy writes nothing for a key whose only line was refused).
    for (size_t i = 0; i < line.sample_count; ++i) {
      if (line.samples[i].value < 0) {
        OnError(ParseStatus::kBadValue, {});
        return;
      }
    }
  }
  const std::string_view key(pending_keys_.data() + p.key_begin, p.key_length);
  Entry* e = FindOrCreate(key, p.hash, p.path_length, p.kind);
  if (e == nullptr) {
    stats_.keys_dropped += line.sample_count;
    ++current_.errors;
    ++stats_.errors;
    ++interval_errors_;
    return;
  }
  for (size_t i = 0; i < line.sample_count; ++i) Record(*e, line, line.samples[i]);
  e->updated = true;
  if (e->kind == Kind::kGauge) e->gauge_ttl = options_.gauges_max_ttl;
  ++current_.lines;
  ++stats_.lines;
  ++interval_lines_;
  stats_.samples += line.sample_count;
}

void Aggregator::Record(Entry& e, const ParsedLine& line, const Sample& s) {
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
      if (interval_samples_ >= options_.max_interval_samples && stored < cap) {
        // The interval's storage is used up: this key samples among what it has.
        cap = static_cast<uint32_t>(stored);
        ++stats_.samples_not_stored;
      }
      h.Add(s.value, line.sample_rate, cap, random_);
      interval_samples_ += h.samples().size() - stored;
      break;
    }
    case Kind::kSet: {
      const uint64_t member = HashKey(s.text, hash_seed_);
      if (e.members->size() < options_.max_set_members && interval_members_ < options_.max_interval_members) {
        interval_members_ += e.members->insert(member).second ? 1 : 0;
      } else if (e.members->count(member) == 0) {
        ++stats_.members_dropped;
      }
      break;
    }
  }
}

void Aggregator::RemoveAt(size_t index) {
  Entry& e = entries_[index];
  auto key_of = [this](uint32_t i) { return std::string_view(entries_[i].key); };
  table_.Erase(e.key, e.hash, key_of);
  key_bytes_ -= e.key.size();
  const size_t last = entries_.size() - 1;
  if (index != last) {
    table_.Renumber(entries_[last].hash, static_cast<uint32_t>(last), static_cast<uint32_t>(index));
    entries_[index] = std::move(entries_[last]);
  }
  entries_.pop_back();
  ++stats_.keys_expired;
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
  if (options_.convention == Convention::kBrubeck) {
    FlushBrubeck(timestamp, out);
  } else {
    FlushEtsy(timestamp, out);
  }
  out->Finish();
  stats_.nonfinite_dropped += out->nonfinite();
  // Free what expired (descending, so RemoveAt's swap never skips an entry).
  for (size_t i = entries_.size(); i-- > 0;) {
    Entry& e = entries_[i];
    const bool etsy_deleted =
        options_.convention == Convention::kEtsy && !e.updated &&
        ((e.kind == Kind::kCounter && options_.delete_counters) ||
         (e.kind == Kind::kTimer && options_.delete_timers) ||
         (e.kind == Kind::kSet && options_.delete_sets));
    const bool gauge_done = options_.convention == Convention::kEtsy &&
                            e.kind == Kind::kGauge && options_.delete_gauges && e.gauge_ttl == 0;
    if (etsy_deleted || gauge_done || Expired(e, timestamp)) {
      RemoveAt(i);
      continue;
    }
    if (e.updated) {
      e.last_update = timestamp;
      e.idle_flushes = 0;
    } else if (e.idle_flushes < UINT8_MAX) {
      ++e.idle_flushes;
    }
    e.updated = false;
  }
  interval_lines_ = interval_errors_ = interval_packets_ = 0;
  interval_samples_ = interval_members_ = 0;
  last_flush_ = timestamp;
  ++stats_.flushes;
}

}  // namespace statsd
