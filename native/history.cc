// The history store (see history.h): a table of names, one row of points per
// series, one column per flush, a ring over the last `points` flushes.
#include "history.h"

#include <cmath>
#include <limits>
#include <memory>

#include "number.h"

namespace statsd {
namespace {

constexpr double kGap = std::numeric_limits<double>::quiet_NaN();

// Most alternatives a pattern's braces may expand to: past it nothing
// matches (a query's cost stays bounded whatever its braces).
constexpr size_t kMaxAlternatives = 256;

// One character of a node pattern at p[0..]: `?`, a `[...]` set, or a
// literal. Sets its length in *length; whether `c` matches in the result.
bool MatchOne(std::string_view pattern, size_t at, char c, size_t* length) {
  if (pattern[at] == '?') {
    *length = 1;
    return true;
  }
  if (pattern[at] == '[') {
    const size_t close = pattern.find(']', at + 1);
    if (close != std::string_view::npos) {
      *length = close - at + 1;
      for (size_t i = at + 1; i < close; ++i) {
        if (i + 2 < close && pattern[i + 1] == '-') {  // a range a-z
          if (c >= pattern[i] && c <= pattern[i + 2]) return true;
          i += 2;
        } else if (pattern[i] == c) {
          return true;
        }
      }
      return false;
    }
  }
  *length = 1;
  return pattern[at] == c;
}

// Wildcard matching without braces: `*` any run, the rest one character each
// (the classic two-pointer walk with one backtrack point: O(pattern × node)).
bool MatchFlat(std::string_view pattern, std::string_view node) {
  size_t p = 0, n = 0;
  size_t star = std::string_view::npos, star_node = 0;
  while (n < node.size()) {
    size_t length = 1;
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_node = n;
    } else if (p < pattern.size() && MatchOne(pattern, p, node[n], &length)) {
      p += length;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++star_node;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// Expands the first `{a,b}` of `pattern` (no nesting) into *out, recursively.
void ExpandBraces(std::string_view pattern, std::vector<std::string>* out) {
  if (out->size() > kMaxAlternatives) return;
  const size_t open = pattern.find('{');
  const size_t close = open == std::string_view::npos ? open : pattern.find('}', open);
  if (close == std::string_view::npos) {
    out->emplace_back(pattern);
    return;
  }
  const std::string_view head = pattern.substr(0, open);
  const std::string_view tail = pattern.substr(close + 1);
  std::string_view alternatives = pattern.substr(open + 1, close - open - 1);
  for (;;) {
    const size_t comma = alternatives.find(',');
    std::string one(head);
    one.append(alternatives.substr(0, comma));
    one.append(tail);
    ExpandBraces(one, out);
    if (comma == std::string_view::npos || out->size() > kMaxAlternatives) return;
    alternatives.remove_prefix(comma + 1);
  }
}

}  // namespace

HistoryStore::HistoryStore(uint32_t points, uint64_t max_bytes)
    : points_(points ? points : 1), max_bytes_(max_bytes), hash_seed_(RandomSeed()), column_times_(points_, 0) {}

bool HistoryStore::MatchNode(std::string_view pattern, std::string_view node) {
  if (pattern.find('{') == std::string_view::npos) return MatchFlat(pattern, node);
  std::vector<std::string> alternatives;
  ExpandBraces(pattern, &alternatives);
  if (alternatives.size() > kMaxAlternatives) return false;
  for (const std::string& a : alternatives) {
    if (MatchFlat(a, node)) return true;
  }
  return false;
}

bool HistoryStore::MatchPath(std::string_view pattern, std::string_view path) {
  for (;;) {
    // Braces may hold dots in graphite-web ({a.b,c}); here a node's braces
    // stay inside the node, as they almost always are.
    const size_t pd = pattern.find('.');
    const size_t nd = path.find('.');
    if ((pd == std::string_view::npos) != (nd == std::string_view::npos)) return false;
    if (!MatchNode(pattern.substr(0, pd), path.substr(0, nd))) return false;
    if (pd == std::string_view::npos) return true;
    pattern.remove_prefix(pd + 1);
    path.remove_prefix(nd + 1);
  }
}

bool HistoryStore::MatchPrefix(std::string_view pattern, std::string_view path, size_t* length) {
  const std::string_view whole = path;
  for (;;) {
    const size_t pd = pattern.find('.');
    const size_t nd = path.find('.');
    if (pd != std::string_view::npos && nd == std::string_view::npos) return false;  // path too short
    if (!MatchNode(pattern.substr(0, pd), path.substr(0, nd))) return false;
    if (pd == std::string_view::npos) {
      *length = nd == std::string_view::npos ? whole.size() : static_cast<size_t>(path.data() - whole.data()) + nd;
      return true;
    }
    pattern.remove_prefix(pd + 1);
    path.remove_prefix(nd + 1);
  }
}

uint32_t HistoryStore::SeriesFor(std::string_view name, uint64_t hash) {
  const uint32_t found = table_.Find(name, hash, [this](uint32_t i) { return std::string_view(names_[i]); });
  if (found != KeyTable::kMissing) return found;
  const size_t cost = SeriesBytes(name);
  if (bytes_ + cost > max_bytes_) return KeyTable::kMissing;
  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
    names_[index].assign(name.data(), name.size());
  } else {
    index = static_cast<uint32_t>(names_.size());
    names_.emplace_back(name);
    last_flush_.push_back(kFree);
    if (index % kBlockSeries == 0) blocks_.push_back(std::make_unique<double[]>(kBlockSeries * size_t{points_}));
  }
  std::fill(Row(index), Row(index) + points_, kGap);
  table_.Insert(hash, index);
  bytes_ += cost;
  return index;
}

void HistoryStore::AddFlush(const char* data, size_t size, int64_t timestamp) {
  const uint64_t flush = flush_++;
  const size_t column = flush % points_;
  column_times_[column] = timestamp;
  // The column last held the flush `points_` ago: a gap for every series
  // until this flush writes it.
  for (uint32_t i = 0; i < names_.size(); ++i) Row(i)[column] = kGap;
  std::string_view rest(data, size);
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    const size_t second = space == std::string_view::npos ? space : line.find(' ', space + 1);
    double value;
    bool sign;
    if (second == std::string_view::npos || space == 0 ||
        !ParseDecimal(line.data() + space + 1, line.data() + second, &value, &sign)) {
      ++stats_.lines_skipped;
      continue;
    }
    const std::string_view name = line.substr(0, space);
    const uint32_t series = SeriesFor(name, HashKey(name, hash_seed_));
    if (series == KeyTable::kMissing) {
      ++stats_.series_refused;
      continue;
    }
    Row(series)[column] = value;
    last_flush_[series] = flush;
    ++stats_.points;
  }
  ++stats_.flushes;
  Expire();
}

void HistoryStore::Expire() {
  for (uint32_t i = 0; i < names_.size(); ++i) {
    if (last_flush_[i] == kFree || flush_ - last_flush_[i] <= points_) continue;
    const std::string_view name = names_[i];
    table_.Erase(name, HashKey(name, hash_seed_), [this](uint32_t j) { return std::string_view(names_[j]); });
    bytes_ -= SeriesBytes(name);
    std::string().swap(names_[i]);
    last_flush_[i] = kFree;
    free_.push_back(i);
    ++stats_.series_expired;
  }
}

bool HistoryStore::Fetch(std::string_view name, int64_t from, int64_t until, std::vector<int64_t>* times,
                         std::vector<double>* values) const {
  const uint32_t series =
      table_.Find(name, HashKey(name, hash_seed_), [this](uint32_t i) { return std::string_view(names_[i]); });
  const uint64_t first = flush_ > points_ ? flush_ - points_ : 0;
  for (uint64_t f = first; f < flush_; ++f) {
    const size_t column = f % points_;
    const int64_t t = column_times_[column];
    if (t < from || t > until) continue;
    times->push_back(t);
    values->push_back(series == KeyTable::kMissing ? kGap : Row(series)[column]);
  }
  return series != KeyTable::kMissing;
}

}  // namespace statsd
