// The flush as statsd lines for a daemon upstream (issue [7/7] item 3: a
// local tier per host forwarding to a global tier sharded by key). Each key
// updated this interval is written so that the upstream aggregator, adding
// the lines of every local daemon, gets what one daemon seeing all of them
// would: counters as their sum (`k:12|c`, exact; a `C` total as its change, `c`), gauges as their
// value (a negative one as `0|g` then `-N|g`: a leading sign means a change),
// sets as their members (the 64-bit hashes the aggregator keeps, as text
// `h<16 hex>`: daemons hashing members under one shared member_seed name a
// member alike), timers as their stored samples in multi-value lines with the
// rate that makes the upstream count the count seen (stored ÷ count; all
// stored: rate 1 when every sample came at rate 1). Tags go back to
// DogStatsD form (`|#k:v,flag`). Keys not updated, and the internal
// metrics, are not written. Resets per-interval state as the other flushes.
#include <cmath>
#include <cstdio>
#include <string>

#include "aggregator.h"
#include "aggregator_entry.h"
#include "number.h"

namespace statsd {
namespace {

// Values per timer line are cut so a line stays within a UDP packet.
constexpr size_t kTimerLineBytes = 1200;

void AppendNumber(double value, std::string* out) {
  char text[kMaxNumberChars];
  out->append(text, FormatNumber(value, text));
}

// ";k=v;flag" (the stored tags) as "|#k:v,flag"; empty for none.
std::string DogStatsdTags(std::string_view tags) {
  if (tags.empty()) return {};
  std::string out = "|#";
  bool name = true;  // in a tag's name: its first '=' is the separator, later ones are its value's
  for (char c : tags.substr(1)) {  // after the first ';'
    if (c == ';') {
      out.push_back(',');
      name = true;
    } else if (c == '=' && name) {
      out.push_back(':');
      name = false;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

void Aggregator::FlushStatsd(int64_t timestamp, GraphiteWriter* out) {
  std::string line;
  ForEachEntry([&](Entry& e) {
    if (!e.updated || Expired(e, timestamp)) return;
    const std::string_view path = e.path();
    if (path.empty()) {  // etsy's sanitizing left nothing: no line can name it (reset, counted)
      ++unnamed_dropped_;
      e.value = e.kind == Kind::kGauge ? e.value : 0;
      if (e.members) ClearMembers(e.members.get());
      if (e.histogram) e.histogram->Reset();
      return;
    }
    const std::string tags = DogStatsdTags(e.tags());
    const auto start = [&] {
      line.assign(path.data(), path.size());
      line.push_back(':');
    };
    switch (e.kind) {
      case Kind::kCounter:
      case Kind::kMonotonic:
        if (!std::isfinite(e.value)) {  // a sum past the largest double, as the Graphite flushes count it
          ++nonfinite_dropped_;
          e.value = 0;
          break;
        }
        start();
        AppendNumber(e.value, &line);
        line.append("|c").append(tags);  // a C total forwards its change: upstream sums the changes
        out->AddLine(line);
        e.value = 0;
        break;
      case Kind::kGauge:
        if (!std::isfinite(e.value)) {
          ++nonfinite_dropped_;
          break;
        }
        if (e.value < 0 || (e.value == 0 && std::signbit(e.value))) {
          start();
          line.append("0|g").append(tags);
          out->AddLine(line);
        }
        start();
        AppendNumber(e.value, &line);
        line.append("|g").append(tags);
        out->AddLine(line);
        break;
      case Kind::kSet:
        for (uint64_t member : *e.members) {
          start();
          char hex[20];
          std::snprintf(hex, sizeof hex, "h%016llx", static_cast<unsigned long long>(member));
          line.append(hex).append("|s").append(tags);
          out->AddLine(line);
        }
        ClearMembers(e.members.get());
        break;
      case Kind::kTimer: {
        Histogram& h = *e.histogram;
        const std::vector<double>& samples = h.samples();
        if (!samples.empty() && h.count() > 0) {
          // Each stored sample stands for count ÷ stored of what was seen.
          const double rate = static_cast<double>(samples.size()) / h.count();
          std::string tail = "|ms";
          if (rate < 1) {
            tail.append("|@");
            AppendNumber(rate, &tail);
          }
          tail.append(tags);
          size_t i = 0;
          while (i < samples.size()) {
            start();
            for (bool first = true; i < samples.size() && (first || line.size() < kTimerLineBytes); ++i) {
              if (!std::isfinite(samples[i])) {
                ++nonfinite_dropped_;
                continue;
              }
              if (!first) line.push_back(':');
              AppendNumber(samples[i], &line);
              first = false;
            }
            if (line.size() == path.size() + 1) continue;  // every value of this line was dropped
            line.append(tail);
            out->AddLine(line);
          }
        }
        h.Reset();
        break;
      }
    }
  });
}

}  // namespace statsd
