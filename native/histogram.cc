// Histogram sampling and statistics.
#include "histogram.h"

#include <algorithm>
#include <cmath>

namespace statsd {

void Histogram::Add(double value, double sample_rate, uint32_t cap, Random& random) {
  if (seen_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  ++seen_;
  count_ += 1.0 / sample_rate;
  sum_ += value;
  sum_squares_ += value * value;
  if (samples_.size() < cap) {
    samples_.push_back(value);
  } else if (cap > 0) {
    const uint64_t slot = random.Below(seen_);
    if (slot < cap) samples_[slot] = value;
  }
}

void Histogram::Sort() { std::sort(samples_.begin(), samples_.end()); }

double Histogram::Sum() const {
  if (!complete()) return sum_;
  double sum = 0;
  for (double v : samples_) sum += v;
  return sum;
}

double Histogram::SumOfSquares() const {
  if (!complete()) return sum_squares_;
  double sum = 0;
  for (double v : samples_) sum += v * v;
  return sum;
}

double Histogram::BrubeckPercentile(double p) const {
  const size_t n = samples_.size();
  if (n == 0) return 0;
  // brubeck: `floor(r * size + 0.5f)` with r a float, in float arithmetic.
  const float rank_f = std::floor(static_cast<float>(p) * static_cast<float>(n) + 0.5f);
  size_t rank = rank_f < 1.0f ? 1 : static_cast<size_t>(rank_f);
  if (rank > n) rank = n;
  return samples_[rank - 1];
}

void Histogram::Reset() {
  // Keep the storage for a key as busy next interval, but give back what a
  // burst grew: memory held between flushes follows the last interval's use.
  const size_t used = samples_.size();
  samples_.clear();
  if (samples_.capacity() > 2 * used + 16) {
    std::vector<double>().swap(samples_);
    samples_.reserve(used);
  }
  seen_ = 0;
  count_ = 0;
  min_ = max_ = 0;
  sum_ = sum_squares_ = 0;
}

void Histogram::Release() {
  Reset();
  std::vector<double>().swap(samples_);
}

}  // namespace statsd
