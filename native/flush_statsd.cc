// The flush as statsd lines for a daemon upstream (issue [7/7] item 3: a
// local tier per host forwarding to a global tier sharded by key). Each key
// updated this interval is written so that the upstream aggregator, adding
// the lines of every local daemon, gets what one daemon seeing all of them
// would: counters as their sum (`k:12|c`, exact; a `C` total as its change,
// `c`), gauges as their value (a negative one as `0|g` then `-N|g`: a
// leading sign means a change), sets as their members (the 64-bit hashes the
// aggregator keeps, as text `h<16 hex>`: daemons hashing members under one
// shared member_seed name a member alike), timers as their stored samples (as
// `h`: the same timer, and etsy takes a negative one) in
// multi-value lines with sample rates that give the upstream the count seen:
// when that count is whole, each sample at rate 1/q or 1/(q+1) so that the
// upstream's sum of 1/rate is exactly it. Tags go back to DogStatsD form
// (`|#k:v,flag`). Keys not updated, and the internal metrics, are not
// written. What cannot be carried is counted in not_forwarded_ (values): a
// key etsy's sanitizing left nameless, a timer that stored no sample, a line
// an upstream would not parse (longer than max_line_bytes, or a path such as
// etsy's `a.` from `a.;t`). Resets per-interval state as the other flushes.
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

// ";k=v;flag" (the stored tags) as "|#k:v,flag" (empty tags left out, as the
// upstream parser drops them); empty for none.
std::string DogStatsdTags(std::string_view tags) {
  std::string out;
  while (!tags.empty()) {
    tags.remove_prefix(1);  // the ';'
    const size_t end = tags.find(';');
    std::string_view tag = tags.substr(0, end);
    tags.remove_prefix(end == std::string_view::npos ? tags.size() : end);
    if (tag.empty()) continue;
    out.append(out.empty() ? "|#" : ",");
    const size_t eq = tag.find('=');  // the separator; later '=' are the value's
    if (eq == std::string_view::npos) {
      out.append(tag);
    } else {
      out.append(tag.substr(0, eq)).push_back(':');
      out.append(tag.substr(eq + 1));
    }
  }
  return out;
}

// The rate text for 1/q when the upstream reads it back as exactly 1/q's
// reciprocal q (so n samples at it add exactly n·q); empty if not.
std::string ExactRate(double q) {
  std::string text;
  AppendNumber(1.0 / q, &text);
  double back;
  bool sign;
  if (!ParseDecimal(text.data(), text.data() + text.size(), &back, &sign) || 1.0 / back != q) return {};
  return text;
}

}  // namespace

void Aggregator::FlushStatsd(int64_t timestamp, GraphiteWriter* out) {
  std::string line;
  // A line goes out only if a daemon of this fleet parses it (the full
  // dialect, this one's etsy reading and maxLineBytes): a key such as etsy's
  // `a.;t` (path `a.`, a name no parser takes) or a line grown past
  // maxLineBytes is counted (`values` of them) instead.
  ParseOptions check = options_.parse;
  check.dialect = Dialect::kFull;
  check.etsy = options_.convention == Convention::kEtsy && options_.key_name_sanitize;  // as LineStager reads lines
  LineParser parser(check);
  ParsedLine parsed;
  const auto emit = [&](size_t values) {
    if (parser.Parse(line, &parsed) != ParseStatus::kOk) {
      not_forwarded_ += values;
    } else {
      out->AddLine(line);
    }
  };
  ForEachEntry([&](Entry& e) {
    if (!e.updated || Expired(e, timestamp)) return;
    const std::string_view path = e.path();
    if (path.empty()) {  // etsy's sanitizing left nothing: no line can name it (reset, counted)
      ++not_forwarded_;
      if (e.kind != Kind::kGauge) e.value = 0;
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
        emit(1);
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
          emit(1);
        }
        start();
        AppendNumber(e.value, &line);
        line.append("|g").append(tags);
        emit(1);
        break;
      case Kind::kSet:
        for (uint64_t member : *e.members) {
          start();
          char hex[20];
          std::snprintf(hex, sizeof hex, "h%016llx", static_cast<unsigned long long>(member));
          line.append(hex).append("|s").append(tags);
          emit(1);
        }
        ClearMembers(e.members.get());
        break;
      case Kind::kTimer: {
        Histogram& h = *e.histogram;
        const std::vector<double>& samples = h.samples();
        if (samples.empty()) {
          not_forwarded_ += h.seen();  // seen but none stored (maxIntervalSamples, or maxSamplesPerKey 0)
          h.Reset();
          break;
        }
        const double n = static_cast<double>(samples.size());
        const double count = h.count();
        // Runs of samples and their rate text ("" for rate 1).
        struct Run {
          size_t end;
          std::string rate;
        };
        std::vector<Run> runs;
        const double q = std::floor(count / n);
        const double k = count - n * q;  // samples that stand for q + 1
        std::string r0, r1;
        if (count == n) {
          runs.push_back({samples.size(), ""});
        } else if (count == std::floor(count) && q >= 1 && !(r0 = q == 1 ? "1" : ExactRate(q)).empty() &&
                   (k == 0 || !(r1 = ExactRate(q + 1)).empty())) {
          const size_t split = samples.size() - static_cast<size_t>(k);
          if (split > 0) runs.push_back({split, q == 1 ? "" : r0});
          if (k > 0) runs.push_back({samples.size(), r1});
        } else {
          std::string rate;
          AppendNumber(n / count, &rate);  // not exact: the count is not whole, or its rates do not read back
          runs.push_back({samples.size(), rate});
        }
        size_t i = 0;
        for (const Run& run : runs) {
          std::string tail = "|h";  // a timer: etsy refuses a negative `ms`, not an `h`
          if (!run.rate.empty()) tail.append("|@").append(run.rate);
          tail.append(tags);
          while (i < run.end) {
            start();
            size_t values = 0;
            for (; i < run.end && (values == 0 || line.size() < kTimerLineBytes); ++i, ++values) {
              if (values > 0) line.push_back(':');
              AppendNumber(samples[i], &line);
            }
            line.append(tail);
            emit(values);
          }
        }
        h.Reset();
        break;
      }
    }
  });
}

}  // namespace statsd
