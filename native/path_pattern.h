// A Graphite path pattern (graphite-web's find and render paths), compiled
// once per query: split at '.', each node's braces expanded, each
// alternative a list of tokens. `*` is any run of characters, `?` one
// character, `[a-z0]` (`[!…]` negated) one character of a set, `{ab,cd}` one
// of the listed alternatives (nested up to kMaxNesting); characters are UTF-8
// code points, as graphite-web's fnmatch reads them. A node pattern never
// matches across a '.'. Contract: compiling is bounded (kMaxPatternBytes,
// kMaxAlternatives per node, kMaxNesting) and refuses past the bounds with a
// message; matching one path costs O(alternatives × pattern × path).
#ifndef STATSD_PATH_PATTERN_H_
#define STATSD_PATH_PATTERN_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace statsd {

class PathPattern {
 public:
  static constexpr size_t kMaxPatternBytes = 4096;
  static constexpr size_t kMaxAlternatives = 256;  // per node, after expansion
  static constexpr int kMaxNesting = 8;

  // Compiles `pattern`; false with *error saying which bound it is past.
  bool Compile(std::string_view pattern, std::string* error);

  // Whether `path` has as many nodes as the pattern and each matches.
  bool Match(std::string_view path) const;
  // Whether the first nodes of `path`, as many as the pattern has, match;
  // *length is how many bytes of `path` those nodes take.
  bool MatchPrefix(std::string_view path, size_t* length) const;

 private:
  struct Token {
    enum Kind : uint8_t { kLiteral, kAny, kSet, kStar };
    explicit Token(Kind k) : kind(k) {}
    Kind kind;
    bool negate = false;
    std::string text;                                  // kLiteral: the bytes
    std::vector<std::pair<uint32_t, uint32_t>> ranges;  // kSet: code point ranges
  };
  using Alternative = std::vector<Token>;
  using Node = std::vector<Alternative>;

  static bool MatchAlternative(const Alternative& tokens, std::string_view node);
  static bool MatchNode(const Node& node, std::string_view text);
  static bool Tokenize(std::string_view text, Alternative* out);

  std::vector<Node> nodes_;
};

}  // namespace statsd

#endif  // STATSD_PATH_PATTERN_H_
