// etsy statsd's key sanitizer and Graphite namespaces (see etsy_names.h).
#include "etsy_names.h"

#include <initializer_list>

namespace statsd {
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

// "a.b." for {"a", "b"}; empty parts are left out.
std::string Join(std::initializer_list<const std::string*> parts) {
  std::string s;
  for (const std::string* p : parts) {
    if (!p->empty()) s += *p + ".";
  }
  return s;
}

}  // namespace

void SanitizeEtsyKey(std::string* key, size_t start) {
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

EtsyNamespaces EtsyNamespaces::Resolve(const AggregatorOptions& o) {
  EtsyNamespaces ns;
  const std::string& global = o.global_prefix;
  if (o.legacy_namespace) {
    ns.counter = "stats.";
    ns.timer = "stats.timers.";
    ns.gauge = "stats.gauges.";
    ns.set = "stats.sets.";
  } else {
    ns.counter = Join({&global, &o.prefix_counter});
    ns.timer = Join({&global, &o.prefix_timer});
    ns.gauge = Join({&global, &o.prefix_gauge});
    ns.set = Join({&global, &o.prefix_set});
    ns.statsd = Join({&global, &o.prefix_stats});
  }
  if (!o.global_suffix.empty()) ns.suffix = "." + o.global_suffix;
  return ns;
}

}  // namespace statsd
