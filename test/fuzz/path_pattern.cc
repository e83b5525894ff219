// libFuzzer target: Graphite path patterns (native/path_pattern), the query
// text the daemon's /metrics/find and /render take from any HTTP client.
//
// Input: a pattern, then names, separated by '\n' (each an exact-size heap
// copy). Checks, besides the sanitizers: Compile refuses only with a message,
// and only past its bounds' reasons; Match(name) is MatchPrefix covering the
// whole name; MatchPrefix ends at the end or at a '.'; a pattern with no
// special character matches exactly itself; a pattern of '*' nodes matches
// exactly the names with as many nodes.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "path_pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t end = input.find('\n', start);
    parts.push_back(input.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  const fuzz::ExactCopy pattern_text(parts[0]);
  statsd::PathPattern pattern;
  std::string error;
  if (!pattern.Compile(pattern_text.view(), &error)) {
    FUZZ_CHECK(!error.empty(), fuzz::Escape(pattern_text.view()));
    return 0;
  }
  const std::string_view p = pattern_text.view();
  const bool plain = p.find_first_of("*?[{") == std::string_view::npos;
  // Every node one or more '*': matches any name of as many nodes.
  const bool stars = !p.empty() && p.find_first_not_of("*.") == std::string_view::npos && p.front() != '.' &&
                     p.back() != '.' && p.find("..") == std::string_view::npos;
  for (size_t i = 1; i < parts.size(); ++i) {
    const fuzz::ExactCopy name(parts[i]);
    const std::string_view n = name.view();
    size_t length = 0;
    const bool prefix = pattern.MatchPrefix(n, &length);
    if (prefix) FUZZ_CHECK(length == n.size() || (length < n.size() && n[length] == '.'), fuzz::Escape(p) + " / " + fuzz::Escape(n));
    const bool match = pattern.Match(n);
    FUZZ_CHECK(match == (prefix && length == n.size()), fuzz::Escape(p) + " / " + fuzz::Escape(n));
    if (plain) FUZZ_CHECK(match == (p == n), fuzz::Escape(p) + " / " + fuzz::Escape(n));
    if (stars) {
      const auto nodes = [](std::string_view s) {
        size_t k = 1;
        for (char c : s) k += c == '.';
        return k;
      };
      FUZZ_CHECK(match == (nodes(p) == nodes(n)), fuzz::Escape(p) + " / " + fuzz::Escape(n));
    }
  }
  return 0;
}
