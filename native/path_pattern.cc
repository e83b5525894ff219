// Graphite path patterns (see path_pattern.h): compiled once, matched per name.
#include "path_pattern.h"

namespace statsd {
namespace {

// Bytes of the UTF-8 character at text[i] (1 for a stray byte; never past the end).
size_t CharLength(std::string_view text, size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 1;
  if (i + length > text.size()) length = 1;
  for (size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 1;
  }
  return length;
}

// The code point of the character at text[i] (a stray byte is itself).
uint32_t CodePoint(std::string_view text, size_t i, size_t length) {
  const auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(text[i + k])); };
  switch (length) {
    case 2:
      return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3:
      return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    case 4:
      return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    default:
      return b(0);
  }
}

// The '}' closing the '{' at text[open], nested braces counted; npos if none.
size_t ClosingBrace(std::string_view text, size_t open) {
  int depth = 0;
  for (size_t i = open; i < text.size(); ++i) {
    if (text[i] == '{') ++depth;
    if (text[i] == '}' && --depth == 0) return i;
  }
  return std::string_view::npos;
}

// Every alternative `text` (one node, no '.') stands for, its braces
// expanded left to right: a product kept under PathPattern::kMaxAlternatives
// at each step, so the work is bounded before it is done. An unclosed '{' is
// a literal.
bool Expand(std::string_view text, int depth, std::vector<std::string>* out, std::string* error) {
  std::vector<std::string> results(1);
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find('{', i);
    const size_t close = open == std::string_view::npos ? open : ClosingBrace(text, open);
    const size_t literal_end = close == std::string_view::npos ? text.size() : open;
    for (std::string& r : results) r.append(text.substr(i, literal_end - i));
    if (close == std::string_view::npos) break;
    if (depth >= PathPattern::kMaxNesting) {
      *error = "braces nested deeper than " + std::to_string(PathPattern::kMaxNesting);
      return false;
    }
    // The alternatives inside, split at the commas of this level.
    std::vector<std::string> alternatives;
    const std::string_view inner = text.substr(open + 1, close - open - 1);
    size_t start = 0;
    int level = 0;
    for (size_t k = 0; k <= inner.size(); ++k) {
      if (k < inner.size() && inner[k] == '{') ++level;
      if (k < inner.size() && inner[k] == '}') --level;
      if (k == inner.size() || (inner[k] == ',' && level == 0)) {
        if (!Expand(inner.substr(start, k - start), depth + 1, &alternatives, error)) return false;
        start = k + 1;
      }
    }
    if (results.size() * alternatives.size() > PathPattern::kMaxAlternatives) {
      *error = "braces that expand to more than " + std::to_string(PathPattern::kMaxAlternatives) + " alternatives in one node";
      return false;
    }
    std::vector<std::string> product;
    product.reserve(results.size() * alternatives.size());
    for (const std::string& r : results) {
      for (const std::string& a : alternatives) product.push_back(r + a);
    }
    results = std::move(product);
    i = close + 1;
  }
  if (out->size() + results.size() > PathPattern::kMaxAlternatives) {
    *error = "braces that expand to more than " + std::to_string(PathPattern::kMaxAlternatives) + " alternatives in one node";
    return false;
  }
  for (std::string& r : results) out->push_back(std::move(r));
  return true;
}

}  // namespace

bool PathPattern::Tokenize(std::string_view text, Alternative* out) {
  out->clear();
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '*') {
      if (out->empty() || out->back().kind != Token::kStar) out->push_back(Token(Token::kStar));
      ++i;
      continue;
    }
    if (c == '?') {
      out->push_back(Token(Token::kAny));
      ++i;
      continue;
    }
    const size_t close = c == '[' ? text.find(']', i + 2) : std::string_view::npos;
    if (close != std::string_view::npos) {
      Token set(Token::kSet);
      size_t k = i + 1;
      if (text[k] == '!' || text[k] == '^') {
        set.negate = true;
        ++k;
      }
      while (k < close) {
        const size_t length = CharLength(text, k);
        const uint32_t low = CodePoint(text, k, length);
        k += length;
        uint32_t high = low;
        if (k + 1 < close && text[k] == '-') {  // a range: low-high
          const size_t length2 = CharLength(text, k + 1);
          high = CodePoint(text, k + 1, length2);
          k += 1 + length2;
        }
        set.ranges.emplace_back(low, high);
      }
      out->push_back(std::move(set));
      i = close + 1;
      continue;
    }
    if (out->empty() || out->back().kind != Token::kLiteral) out->push_back(Token(Token::kLiteral));
    out->back().text.push_back(c);
    ++i;
  }
  return true;
}

bool PathPattern::Compile(std::string_view pattern, std::string* error) {
  nodes_.clear();
  if (pattern.size() > kMaxPatternBytes) {
    *error = "a pattern longer than " + std::to_string(kMaxPatternBytes) + " bytes";
    return false;
  }
  // Nodes split at the dots outside braces (braces stay within a node).
  for (size_t start = 0;;) {
    size_t end = start;
    int level = 0;
    while (end < pattern.size() && !(pattern[end] == '.' && level == 0)) {
      if (pattern[end] == '{') ++level;
      if (pattern[end] == '}' && level > 0) --level;
      ++end;
    }
    std::vector<std::string> texts;
    if (!Expand(pattern.substr(start, end - start), 0, &texts, error)) return false;
    Node node(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) Tokenize(texts[i], &node[i]);
    nodes_.push_back(std::move(node));
    if (end >= pattern.size()) break;
    start = end + 1;
  }
  return true;
}

// The classic wildcard walk with one backtrack point (the last '*'), over
// tokens that each match a fixed run: a literal its bytes, '?' and a set one
// UTF-8 character. O(tokens × node).
bool PathPattern::MatchAlternative(const Alternative& tokens, std::string_view node) {
  size_t p = 0, n = 0;
  size_t star = std::string_view::npos, star_n = 0;
  for (;;) {
    if (p == tokens.size()) {
      if (n == node.size()) return true;
    } else if (tokens[p].kind == Token::kStar) {
      star = p++;
      star_n = n;
      continue;
    } else if (n < node.size()) {
      const Token& t = tokens[p];
      bool matched = false;
      size_t length = 0;
      if (t.kind == Token::kLiteral) {
        length = t.text.size();
        matched = node.compare(n, length, t.text) == 0;
      } else {
        length = CharLength(node, n);
        if (t.kind == Token::kAny) {
          matched = true;
        } else {
          const uint32_t cp = CodePoint(node, n, length);
          bool in = false;
          for (const auto& [low, high] : t.ranges) in = in || (cp >= low && cp <= high);
          matched = in != t.negate;
        }
      }
      if (matched) {
        n += length;
        ++p;
        continue;
      }
    }
    if (star == std::string_view::npos || star_n >= node.size()) return false;
    star_n += CharLength(node, star_n);
    n = star_n;
    p = star + 1;
  }
}

bool PathPattern::MatchNode(const Node& node, std::string_view text) {
  for (const Alternative& a : node) {
    if (MatchAlternative(a, text)) return true;
  }
  return false;
}

bool PathPattern::MatchPrefix(std::string_view path, size_t* length) const {
  size_t at = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (at > path.size()) return false;  // the path has fewer nodes
    size_t dot = path.find('.', at);
    if (dot == std::string_view::npos) dot = path.size();
    if (i + 1 < nodes_.size() && dot == path.size()) return false;
    if (!MatchNode(nodes_[i], path.substr(at, dot - at))) return false;
    if (i + 1 == nodes_.size()) {
      *length = dot;
      return true;
    }
    at = dot + 1;
  }
  return false;
}

bool PathPattern::Match(std::string_view path) const {
  size_t length = 0;
  return MatchPrefix(path, &length) && length == path.size();
}

}  // namespace statsd
