// Aggregation per DESIGN.md §5: meters, monotonic counters, gauges, timers and
// sets, reported in brubeck's or etsy statsd's Graphite names.
#include "aggregator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "number.h"

namespace statsd {

struct Aggregator::Entry {
  std::string key;           // kind byte + path + tags (";k=v;...")
  uint32_t path_length = 0;  // bytes of the path after the kind byte
  uint64_t hash = 0;
  Kind kind = Kind::kCounter;
  bool updated = false;      // a sample arrived this interval
  bool primed = false;       // monotonic: a first total was seen
  double value = 0;          // meter/counter sum, gauge value
  double previous = 0;       // monotonic: last total
  int64_t last_update = 0;   // timestamp of the last flush that had an update
  uint32_t gauge_ttl = 0;    // etsy deleteGauges: flushes left
  uint8_t idle_flushes = 0;  // flushes since the last one with an update (saturating)
  std::unique_ptr<Histogram> histogram;
  std::unique_ptr<std::unordered_set<uint64_t>> members;

  std::string_view path() const { return std::string_view(key).substr(1, path_length); }
  std::string_view tags() const { return std::string_view(key).substr(1 + path_length); }
};

namespace {

// Length of the UTF-8 whitespace character JavaScript's \s matches at `p`
// (U+00A0, U+1680, U+2000-200A, U+2028, U+2029, U+202F, U+205F, U+3000,
// U+FEFF), or 0.
size_t JsSpaceLength(const unsigned char* p, const unsigned char* end) {
  const size_t left = static_cast<size_t>(end - p);
  if (left >= 2 && p[0] == 0xC2 && p[1] == 0xA0) return 2;
  if (left < 3) return 0;
  const unsigned a = p[0], b = p[1], c = p[2];
  if (a == 0xE1 && b == 0x9A && c == 0x80) return 3;
  if (a == 0xE2 && b == 0x80 && (c <= 0x8A || c == 0xA8 || c == 0xA9 || c == 0xAF)) return 3;
  if (a == 0xE2 && b == 0x81 && c == 0x9F) return 3;
  if (a == 0xE3 && b == 0x80 && c == 0x80) return 3;
  if (a == 0xEF && b == 0xBB && c == 0xBF) return 3;
  return 0;
}

// etsy's sanitizeKeyName: whitespace runs → '_', '/' → '-', then only
// [a-zA-Z_-0-9.;=] is kept. Applied in place from `start`.
void SanitizeEtsy(std::string* key, size_t start) {
  size_t w = start;
  bool in_space = false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(key->data());
  const auto* end = bytes + key->size();
  for (size_t r = start; r < key->size();) {
    const char c = (*key)[r];
    size_t space = (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') ? 1 : 0;
    if (space == 0 && (static_cast<unsigned char>(c) & 0x80)) space = JsSpaceLength(bytes + r, end);
    if (space) {
      if (!in_space) (*key)[w++] = '_';
      in_space = true;
      r += space;
      continue;
    }
    in_space = false;
    if (c == '/') {
      (*key)[w++] = '-';
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.' || c == ';' || c == '=') {
      (*key)[w++] = c;
    }
    ++r;
  }
  key->resize(w);
}

double Seconds(double ms) { return ms / 1000.0; }

// Empties a set for the next interval; a large one gives its buckets back
// (clear() keeps them), so memory held between flushes follows use.
void ClearMembers(std::unordered_set<uint64_t>* members) {
  if (members->size() > 1024) {
    std::unordered_set<uint64_t>().swap(*members);
  } else {
    members->clear();
  }
}

}  // namespace

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
      hash_seed_(RandomSeed()) {
  if (options_.legacy_namespace) {
    etsy_timer_namespace_ = "stats.timers.";
  } else {
    if (!options_.global_prefix.empty()) etsy_timer_namespace_ += options_.global_prefix + ".";
    if (!options_.prefix_timer.empty()) etsy_timer_namespace_ += options_.prefix_timer + ".";
  }
}

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

namespace {

// Tags become Graphite tags: "env:prod,az" → ";env=prod;az" (first ';' → '_',
// first ':' → '=' in each tag, as etsy statsd does).
void AppendGraphiteTags(std::string_view tags, std::string* out) {
  while (!tags.empty()) {
    const size_t comma = tags.find(',');
    std::string_view tag = tags.substr(0, comma);
    if (tag.empty()) {  // "a,,b": empty tags are dropped (see CheckTags)
      if (comma == std::string_view::npos) break;
      tags.remove_prefix(comma + 1);
      continue;
    }
    const size_t start = out->size();
    out->push_back(';');
    out->append(tag.data(), tag.size());
    std::string_view written(out->data() + start + 1, tag.size());
    const size_t semi = written.find(';');
    if (semi != std::string_view::npos) (*out)[start + 1 + semi] = '_';
    const size_t colon = written.find(':');
    if (colon != std::string_view::npos) (*out)[start + 1 + colon] = '=';
    if (comma == std::string_view::npos) break;
    tags.remove_prefix(comma + 1);
  }
}

}  // namespace

// Puts the ";name=value" tags in (*key)[start..] in the order Graphite stores a
// tagged series: sorted by tag name, a name given twice keeping its last
// value. So the order or repetition of tags in a line never makes another
// series (which carbon would merge, last write wins).
void Aggregator::NormalizeTags(std::string* key, size_t start) {
  const std::string_view tags = std::string_view(*key).substr(start);
  if (tags.find(';', 1) == std::string_view::npos) return;  // one tag (or none)
  // Already in order, each name once (senders mostly keep one order): as is.
  {
    auto name_at = [&](size_t at) {
      const size_t end = std::min(tags.find(';', at), tags.size());
      const std::string_view tag = tags.substr(at, end - at);
      return std::pair{tag.substr(0, tag.find('=')), end};
    };
    auto [previous, end] = name_at(1);
    bool ordered = true;
    while (ordered && end < tags.size()) {
      auto [name, next_end] = name_at(end + 1);
      ordered = previous < name;
      previous = name;
      end = next_end;
    }
    if (ordered) return;
  }
  tag_spans_.clear();
  for (size_t at = 1; at <= tags.size();) {  // tags[0] == ';'
    size_t end = tags.find(';', at);
    if (end == std::string_view::npos) end = tags.size();
    const std::string_view tag = tags.substr(at, end - at);
    const size_t equals = tag.find('=');
    tag_spans_.push_back({static_cast<uint32_t>(at), static_cast<uint32_t>(tag.size()),
                          static_cast<uint32_t>(equals == std::string_view::npos ? tag.size() : equals)});
    at = end + 1;
  }
  auto name = [&](const TagSpan& t) { return tags.substr(t.begin, t.key_length); };
  std::stable_sort(tag_spans_.begin(), tag_spans_.end(),
                   [&](const TagSpan& a, const TagSpan& b) { return name(a) < name(b); });
  tag_text_.clear();
  for (size_t i = 0; i < tag_spans_.size(); ++i) {
    const TagSpan& t = tag_spans_[i];
    if (i + 1 < tag_spans_.size() && name(tag_spans_[i + 1]) == name(t)) continue;  // a later value wins
    tag_text_.push_back(';');
    tag_text_.append(tags.substr(t.begin, t.length));
  }
  key->replace(start, std::string::npos, tag_text_);
}

// key: kind byte (etsy keeps one namespace per kind; brubeck one for all), the
// name, then Graphite tags; etsy sanitizes it as statsd 0.9 does.
std::string_view Aggregator::BuildKey(const ParsedLine& line, Kind kind) {
  const bool etsy = options_.convention == Convention::kEtsy;
  key_.clear();
  key_.push_back(etsy ? static_cast<char>('0' + static_cast<int>(kind)) : '0');
  key_.append(line.name.data(), line.name.size());
  if (!line.tags.empty()) AppendGraphiteTags(line.tags, &key_);
  if (etsy && options_.key_name_sanitize) SanitizeEtsy(&key_, 1);
  // The path ends where the tags begin: brubeck keeps the name as sent; etsy
  // splits the sanitized key at its first ';', as its graphite backend does.
  const size_t tags_start = std::min(etsy ? key_.find(';', 1) : 1 + line.name.size(), key_.size());
  if (tags_start < key_.size()) NormalizeTags(&key_, tags_start);
  key_path_length_ = static_cast<uint32_t>(tags_start - 1);
  return key_;
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
  const std::string_view key = BuildKey(line, kind);
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
  p.path_length = key_path_length_;
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
  if (options_.convention == Convention::kEtsy && !options_.global_suffix.empty()) {
    name_.push_back('.');
    name_.append(options_.global_suffix);
  }
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

void Aggregator::FlushBrubeck(int64_t timestamp, GraphiteWriter* out) {
  const double interval = Seconds(options_.flush_interval_ms);
  for (Entry& e : entries_) {
    if (Expired(e, timestamp)) continue;
    // The lukepalmer fork of brubeck (reference/brubeck-fripp.md §2.3): a key
    // is reported in the flush where it was updated and in one more, then it
    // is silent until its next update; its state (a gauge's value, a C
    // counter's last total) is kept. report_idle reports every flush.
    if (!e.updated && e.idle_flushes >= 1 && !options_.report_idle) continue;
    switch (e.kind) {
      case Kind::kCounter:
      case Kind::kMonotonic:
        out->Add(Name("", e, ""), e.value);
        e.value = 0;
        break;
      case Kind::kGauge:
        out->Add(Name("", e, ""), e.value);
        break;
      case Kind::kSet:
        out->Add(Name("", e, ""), static_cast<double>(e.members->size()));
        ClearMembers(e.members.get());
        break;
      case Kind::kTimer: {
        Histogram& h = *e.histogram;
        out->Add(Name("", e, ".count"), h.count());
        out->Add(Name("", e, ".count_ps"), h.count() / interval);
        if (!h.empty()) {
          h.Sort();
          const double sum = h.Sum();
          out->Add(Name("", e, ".min"), h.min());
          out->Add(Name("", e, ".max"), h.max());
          out->Add(Name("", e, ".sum"), sum);
          out->Add(Name("", e, ".mean"), sum / static_cast<double>(h.seen()));
          if (!h.samples().empty()) {  // none stored when maxSamplesPerKey is 0
            out->Add(Name("", e, ".median"), h.BrubeckPercentile(0.5));
            for (const Percentile& p : options_.percentiles) {
              out->Add(Name("", e, p.name), h.BrubeckPercentile(p.value));
            }
          }
        }
        h.Reset();
        break;
      }
    }
  }
  const std::string& server = options_.server_name;
  out->Add(server + ".metrics", static_cast<double>(interval_lines_));
  out->Add(server + ".errors", static_cast<double>(interval_errors_));
  out->Add(server + ".unique_keys", static_cast<double>(entries_.size()));
}

bool Aggregator::WantTimerField(std::string_view stat, std::string_view threshold) const {
  if (!options_.filter_timer_fields) return true;
  stat.remove_prefix(1);  // the '.'
  if (stat == "histogram.") {  // one name for all of a timer's bins
    stat = "histogram";
    threshold = {};
  }
  for (const std::string& field : options_.timer_fields) {
    if (field.size() == stat.size() + threshold.size() && std::string_view(field).substr(0, stat.size()) == stat &&
        std::string_view(field).substr(stat.size()) == threshold) {
      return true;
    }
  }
  return false;
}

void Aggregator::WriteEtsyTimer(Entry& e, GraphiteWriter* out) {
  const double interval = Seconds(options_.flush_interval_ms);
  const std::string& ns = etsy_timer_namespace_;
  Histogram& h = *e.histogram;
  // One reused name buffer per line, no string temporaries: ".count_" + "90".
  auto add = [&](std::string_view stat, std::string_view threshold, double value) {
    if (WantTimerField(stat, threshold)) out->Add(Name(ns, e, stat, threshold), value);
  };
  if (h.samples().empty()) {
    // No samples stored (none arrived, or maxSamplesPerKey is 0): counts only.
    add(".count", {}, h.count());
    add(".count_ps", {}, h.count() / interval);
    return;
  }
  h.Sort();
  const std::vector<double>& v = h.samples();
  const size_t n = v.size();
  // Prefix sums in sorted order, as statsd's process_metrics computes them.
  prefix_sums_.resize(n);
  prefix_squares_.resize(n);
  prefix_sums_[0] = v[0];
  prefix_squares_[0] = v[0] * v[0];
  for (size_t i = 1; i < n; ++i) {
    prefix_sums_[i] = v[i] + prefix_sums_[i - 1];
    prefix_squares_[i] = v[i] * v[i] + prefix_squares_[i - 1];
  }
  for (const Percentile& p : options_.percent_threshold) {
    size_t in_threshold = n;
    double sum = v[0], squares = v[0] * v[0], mean = v[0], boundary = v[n - 1];
    if (n > 1) {
      in_threshold = static_cast<size_t>(std::floor(std::fabs(p.value) / 100 * static_cast<double>(n) + 0.5));
      if (in_threshold == 0) continue;
      if (p.value > 0) {
        boundary = v[in_threshold - 1];
        sum = prefix_sums_[in_threshold - 1];
        squares = prefix_squares_[in_threshold - 1];
      } else {
        boundary = v[n - in_threshold];
        const size_t below = n - in_threshold;  // values not in the top group
        sum = prefix_sums_[n - 1] - (below ? prefix_sums_[below - 1] : 0.0);
        squares = prefix_squares_[n - 1] - (below ? prefix_squares_[below - 1] : 0.0);
      }
      mean = sum / static_cast<double>(in_threshold);
    }
    add(".count_", p.name, static_cast<double>(in_threshold));
    add(".mean_", p.name, mean);
    add(p.value > 0 ? ".upper_" : ".lower_", p.name, boundary);
    add(".sum_", p.name, sum);
    add(".sum_squares_", p.name, squares);
  }
  const bool complete = h.complete();
  const double sum = complete ? prefix_sums_[n - 1] : h.Sum();
  const double squares = complete ? prefix_squares_[n - 1] : h.SumOfSquares();
  const double mean = sum / static_cast<double>(complete ? n : h.seen());
  double diffs = 0;
  for (double x : v) diffs += (x - mean) * (x - mean);
  const size_t mid = n / 2;
  const double median = (n % 2) ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  add(".std", {}, std::sqrt(diffs / static_cast<double>(n)));
  add(".upper", {}, h.max());
  add(".lower", {}, h.min());
  add(".count", {}, h.count());
  add(".count_ps", {}, h.count() / interval);
  add(".sum", {}, sum);
  add(".sum_squares", {}, squares);
  add(".mean", {}, mean);
  add(".median", {}, median);
  const std::string_view key(e.key.data() + 1, e.key.size() - 1);
  for (const HistogramBins& bins : options_.histogram) {
    if (key.find(bins.metric) == std::string_view::npos) continue;
    size_t i = 0;
    for (size_t b = 0; b < bins.bounds.size(); ++b) {
      size_t freq = 0;
      for (; i < n && v[i] < bins.bounds[b]; ++i) ++freq;
      add(".histogram.", bins.names[b], static_cast<double>(freq));
    }
    break;
  }
}

void Aggregator::FlushEtsy(int64_t timestamp, GraphiteWriter* out) {
  const auto started = std::chrono::steady_clock::now();
  const double interval = Seconds(options_.flush_interval_ms);
  const bool legacy = options_.legacy_namespace;
  const std::string& global = options_.global_prefix;
  auto join = [](std::initializer_list<std::string> parts) {
    std::string s;
    for (const std::string& p : parts) {
      if (!p.empty()) s += p + ".";
    }
    return s;
  };
  const std::string counter_ns = legacy ? "stats." : join({global, options_.prefix_counter});
  const std::string gauge_ns = legacy ? "stats.gauges." : join({global, options_.prefix_gauge});
  const std::string set_ns = legacy ? "stats.sets." : join({global, options_.prefix_set});
  const std::string suffix =
      options_.global_suffix.empty() ? std::string() : "." + options_.global_suffix;
  const std::string& stats_prefix = options_.prefix_stats;
  size_t reported = 0;

  // statsd's own counters come first, as they are created first in statsd.
  const std::pair<const char*, double> internal[] = {
      {"bad_lines_seen", static_cast<double>(interval_errors_)},
      {"packets_received", static_cast<double>(interval_packets_)},
      {"metrics_received", static_cast<double>(interval_lines_ + interval_errors_)},
  };
  for (const auto& [stat, count] : internal) {
    const std::string key = stats_prefix + "." + stat;
    if (legacy) {
      out->Add(counter_ns + key + suffix, count / interval);
      if (options_.flush_counts) out->Add("stats_counts." + key + suffix, count);
    } else {
      out->Add(counter_ns + key + ".rate" + suffix, count / interval);
      if (options_.flush_counts) out->Add(counter_ns + key + ".count" + suffix, count);
    }
    ++reported;
  }

  auto reportable = [&](const Entry& e) {
    if (Expired(e, timestamp)) return false;
    switch (e.kind) {
      case Kind::kCounter: return e.updated || !options_.delete_counters;
      case Kind::kTimer: return e.updated || !options_.delete_timers;
      case Kind::kSet: return e.updated || !options_.delete_sets;
      default: return true;
    }
  };

  for (Entry& e : entries_) {
    if (e.kind != Kind::kCounter) continue;
    if (reportable(e)) {
      if (legacy) {
        out->Add(Name(counter_ns, e, ""), e.value / interval);
        if (options_.flush_counts) out->Add(Name("stats_counts.", e, ""), e.value);
      } else {
        out->Add(Name(counter_ns, e, ".rate"), e.value / interval);
        if (options_.flush_counts) out->Add(Name(counter_ns, e, ".count"), e.value);
      }
      ++reported;
    }
    e.value = 0;
  }
  for (Entry& e : entries_) {
    if (e.kind != Kind::kTimer) continue;
    if (reportable(e)) {
      WriteEtsyTimer(e, out);
      ++reported;
    }
    e.histogram->Reset();
  }
  if (last_flush_ > 0) {
    const double lag = static_cast<double>(timestamp - last_flush_) - interval;
    out->Add(gauge_ns + stats_prefix + ".timestamp_lag" + suffix, lag);
    ++reported;
  }
  for (Entry& e : entries_) {
    if (e.kind != Kind::kGauge || !reportable(e)) continue;
    out->Add(Name(gauge_ns, e, ""), e.value);
    ++reported;
    if (options_.delete_gauges && e.gauge_ttl > 0) --e.gauge_ttl;
  }
  for (Entry& e : entries_) {
    if (e.kind != Kind::kSet) continue;
    if (reportable(e)) {
      out->Add(Name(set_ns, e, ".count"), static_cast<double>(e.members->size()));
      ++reported;
    }
    ClearMembers(e.members.get());
  }
  const double elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  const double whole_ms = std::floor(elapsed_ms);
  if (legacy) {
    out->Add(stats_prefix + ".numStats" + suffix, static_cast<double>(reported));
    out->Add("stats." + stats_prefix + ".graphiteStats.calculationtime" + suffix, whole_ms);
    out->Add("stats." + stats_prefix + ".processing_time" + suffix, whole_ms);
  } else {
    const std::string ns = join({global, stats_prefix});
    out->Add(ns + "numStats" + suffix, static_cast<double>(reported));
    out->Add(ns + "graphiteStats.calculationtime" + suffix, whole_ms);
    out->Add(ns + "processing_time" + suffix, whole_ms);
  }
}

void Aggregator::Snapshot(std::string* json) const {
  json->push_back('[');
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (i) json->push_back(',');
    AppendJson(entries_[i], /*samples=*/true, json);
  }
  json->push_back(']');
}

void Aggregator::Describe(std::string_view key, bool samples, std::string* json) const {
  json->push_back('[');
  std::string stored;
  bool first = true;
  const int kinds = options_.convention == Convention::kEtsy ? 5 : 1;
  for (int kind = 0; kind < kinds; ++kind) {
    stored.assign(1, static_cast<char>('0' + kind));  // the kind byte BuildKey writes
    stored.append(key.data(), key.size());
    const uint32_t index = table_.Find(stored, HashKey(stored, hash_seed_),
                                       [this](uint32_t i) { return std::string_view(entries_[i].key); });
    if (index == KeyTable::kMissing) continue;
    if (!first) json->push_back(',');
    first = false;
    AppendJson(entries_[index], samples, json);
  }
  json->push_back(']');
}

void Aggregator::AppendJson(const Entry& e, bool samples, std::string* json) const {
  static const char* const kKinds[] = {"counter", "monotonic", "gauge", "timer", "set"};
  char digits[kMaxNumberChars];
  auto number = [&](double v) { json->append(digits, FormatNumber(v, digits)); };
  json->append("{\"key\":\"");
  for (char c : std::string_view(e.key).substr(1)) {
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
  json->append(kKinds[static_cast<int>(e.kind)]);
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
