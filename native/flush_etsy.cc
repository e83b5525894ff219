// etsy statsd 0.9's flush (lib/graphite.js, lib/process_metrics.js): statsd's
// own counters, then counters, timers, the timestamp lag gauge, gauges, sets,
// then numStats and the calculation times, under EtsyNamespaces (resolved at
// construction). Contract: the names, order and values etsy writes (checked
// against etsy itself by test/integration/etsy-differential.test.ts), timer
// fields filtered by calculatedTimerMetrics; deleteIdleStats keys that were
// idle are left out here and freed by Aggregator::Flush.
#include <chrono>
#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aggregator.h"
#include "aggregator_entry.h"

namespace statsd {

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
  const std::string& ns = etsy_.timer;
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
  const std::string_view key = e.stored();
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
  const std::string& counter_ns = etsy_.counter;
  const std::string& gauge_ns = etsy_.gauge;
  const std::string& set_ns = etsy_.set;
  const std::string& suffix = etsy_.suffix;
  const std::string& stats_prefix = options_.prefix_stats;
  size_t reported = 0;

  // statsd's own counters come first, as they are created first in statsd.
  const std::pair<const char*, double> internal[] = {
      {"bad_lines_seen", static_cast<double>(IntervalSum(&Shard::interval_errors))},
      {"packets_received", static_cast<double>(IntervalSum(&Shard::interval_packets))},
      {"metrics_received",
       static_cast<double>(IntervalSum(&Shard::interval_lines) + IntervalSum(&Shard::interval_errors))},
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

  ForEachEntry([&](Entry& e) {
    if (e.kind != Kind::kCounter) return;
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
  });
  ForEachEntry([&](Entry& e) {
    if (e.kind != Kind::kTimer) return;
    if (reportable(e)) {
      WriteEtsyTimer(e, out);
      ++reported;
    }
    e.histogram->Reset();
  });
  if (last_flush_ > 0) {
    const double lag = static_cast<double>(timestamp - last_flush_) - interval;
    out->Add(gauge_ns + stats_prefix + ".timestamp_lag" + suffix, lag);
    ++reported;
  }
  ForEachEntry([&](Entry& e) {
    if (e.kind != Kind::kGauge || !reportable(e)) return;
    out->Add(Name(gauge_ns, e, ""), e.value);
    ++reported;
    if (options_.delete_gauges && e.gauge_ttl > 0) --e.gauge_ttl;
  });
  ForEachEntry([&](Entry& e) {
    if (e.kind != Kind::kSet) return;
    if (reportable(e)) {
      out->Add(Name(set_ns, e, ".count"), static_cast<double>(e.members->size()));
      ++reported;
    }
    ClearMembers(e.members.get());
  });
  const double elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  const double whole_ms = std::floor(elapsed_ms);
  if (legacy) {
    out->Add(stats_prefix + ".numStats" + suffix, static_cast<double>(reported));
    out->Add("stats." + stats_prefix + ".graphiteStats.calculationtime" + suffix, whole_ms);
    out->Add("stats." + stats_prefix + ".processing_time" + suffix, whole_ms);
  } else {
    const std::string& ns = etsy_.statsd;
    out->Add(ns + "numStats" + suffix, static_cast<double>(reported));
    out->Add(ns + "graphiteStats.calculationtime" + suffix, whole_ms);
    out->Add(ns + "processing_time" + suffix, whole_ms);
  }
}

}  // namespace statsd
