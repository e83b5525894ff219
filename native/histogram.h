// Per-key sample storage for timers and histograms: exact totals, capped
// storage with reservoir sampling past the cap, and the peers' statistics.
#ifndef STATSD_HISTOGRAM_H_
#define STATSD_HISTOGRAM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace statsd {

// Small fast PRNG for reservoir sampling (xorshift64*); deterministic per seed.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed ? seed : 0x9e3779b97f4a7c15ull) {}
  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dull;
  }
  // Uniform in [0, bound).
  uint64_t Below(uint64_t bound) { return Next() % bound; }

 private:
  uint64_t state_;
};

// The samples of one key for one flush interval. Keeps its capacity across
// flushes (Reset empties it without freeing) so a busy key allocates once.
class Histogram {
 public:
  // Adds a sample seen at `sample_rate`. Past `cap` stored samples, each new
  // sample replaces a random stored one with probability cap/seen (algorithm R),
  // so the stored samples stay a uniform sample of all seen; totals stay exact.
  void Add(double value, double sample_rate, uint32_t cap, Random& random);

  // Sorts the stored samples ascending; call before the statistics below.
  void Sort();

  bool empty() const { return seen_ == 0; }
  size_t seen() const { return seen_; }            // samples received this interval
  double count() const { return count_; }           // Σ 1/rate: what the senders measured
  double min() const { return min_; }
  double max() const { return max_; }
  const std::vector<double>& samples() const { return samples_; }
  bool complete() const { return samples_.size() == seen_; }  // nothing was sampled out

  // Σ values and Σ values² — in sorted order over the stored samples when they
  // are complete (the peers' exact arithmetic), else the running totals.
  double Sum() const;
  double SumOfSquares() const;

  // brubeck's nearest rank: v[floor(p*n + 0.5) - 1], computed in float32 as
  // brubeck does, clamped to [1, n]. Requires Sort() and a non-empty histogram.
  double BrubeckPercentile(double p) const;

  // Empties it for the next interval, keeping storage for as many samples as
  // this one stored (a burst's larger storage is given back).
  void Reset();
  // Frees the storage (for keys that expire).
  void Release();

 private:
  std::vector<double> samples_;
  size_t seen_ = 0;
  double count_ = 0;
  double min_ = 0;
  double max_ = 0;
  double sum_ = 0;
  double sum_squares_ = 0;
};

}  // namespace statsd

#endif  // STATSD_HISTOGRAM_H_
