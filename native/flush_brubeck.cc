// brubeck's flush: every reportable key under its own name (no namespace),
// timers as .count .count_ps .min .max .sum .mean .median .percentile.NN, then
// <serverName>.metrics .errors .unique_keys. Contract: the names and values of
// brubeck (the lukepalmer fork the seed runs; reference/brubeck-fripp.md),
// idle keys reported one more flush unless report_idle; resets per-interval
// values, never frees keys (Aggregator::Flush does).
#include <string>

#include "aggregator.h"
#include "aggregator_entry.h"

namespace statsd {

void Aggregator::FlushBrubeck(int64_t timestamp, GraphiteWriter* out) {
  const double interval = Seconds(options_.flush_interval_ms);
  ForEachEntry([&](Entry& e) {
    if (Expired(e, timestamp)) return;
    // The lukepalmer fork of brubeck (reference/brubeck-fripp.md §2.3): a key
    // is reported in the flush where it was updated and in one more, then it
    // is silent until its next update; its state (a gauge's value, a C
    // counter's last total) is kept. report_idle reports every flush.
    if (!e.updated && e.idle_flushes >= 1 && !options_.report_idle) return;
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
  });
  const std::string& server = options_.server_name;
  out->Add(server + ".metrics", static_cast<double>(IntervalSum(&Shard::interval_lines)));
  out->Add(server + ".errors", static_cast<double>(IntervalSum(&Shard::interval_errors)));
  out->Add(server + ".unique_keys", static_cast<double>(keys()));
}

}  // namespace statsd
