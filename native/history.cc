// The history store (see history.h): a table of names, one row of points per
// series, one column per flush, a ring over the last `points` flushes.
#include "history.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "number.h"

namespace statsd {
namespace {

constexpr double kGap = std::numeric_limits<double>::quiet_NaN();

}  // namespace

HistoryStore::HistoryStore(uint32_t points, uint64_t max_bytes)
    : points_(points ? points : 1),
      max_bytes_(max_bytes),
      hash_seed_(RandomSeed()),
      column_times_(points_, 0),
      block_series_(static_cast<uint32_t>(std::max<uint64_t>(
          1, std::min<uint64_t>({kMaxBlockSeries, kMaxBlockBytes / (points_ * sizeof(double)),
                                 max_bytes / (points_ * sizeof(double))})))) {}

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
    if (index % block_series_ == 0) blocks_.push_back(std::make_unique<double[]>(block_series_ * size_t{points_}));
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
