// What etsy statsd 0.9 does to names: its key sanitizer (sanitizeKeyName) and
// the Graphite namespaces its graphite backend puts each kind under.
// Contract: SanitizeEtsyKey changes the key exactly as etsy's does (so keys
// and output names match etsy's byte for byte); EtsyNamespaces is resolved
// once from the options and never changes after (nothing per flush).
#ifndef STATSD_ETSY_NAMES_H_
#define STATSD_ETSY_NAMES_H_

#include <cstddef>
#include <string>

#include "aggregator_options.h"

namespace statsd {

// etsy's sanitizeKeyName: whitespace runs → '_' (JavaScript's \s, so the
// Unicode spaces too), '/' → '-', then only [a-zA-Z_-0-9.;=] is kept.
// Applied in place to (*key)[start..].
void SanitizeEtsyKey(std::string* key, size_t start);

// The prefixes of etsy's Graphite names, each ending in '.' when not empty
// ("stats.gauges."), as lib/graphite.js builds them from legacyNamespace,
// globalPrefix, prefixCounter/Timer/Gauge/Set and globalSuffix.
struct EtsyNamespaces {
  std::string counter;  // legacy "stats.", else globalPrefix.prefixCounter.
  std::string timer;    // legacy "stats.timers.", else globalPrefix.prefixTimer.
  std::string gauge;    // legacy "stats.gauges.", else globalPrefix.prefixGauge.
  std::string set;      // legacy "stats.sets.", else globalPrefix.prefixSet.
  std::string statsd;   // not legacy: globalPrefix.prefixStats. (numStats …)
  std::string suffix;   // "." + globalSuffix, or empty: ends every name, before the tags

  static EtsyNamespaces Resolve(const AggregatorOptions& options);
};

}  // namespace statsd

#endif  // STATSD_ETSY_NAMES_H_
