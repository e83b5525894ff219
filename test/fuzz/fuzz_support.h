// Helpers shared by the libFuzzer targets: exact-size copies and invariant checks.
#ifndef STATSD_FUZZ_SUPPORT_H_
#define STATSD_FUZZ_SUPPORT_H_

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace fuzz {

// A heap copy of exactly `size` bytes, so that AddressSanitizer reports a read
// one byte past a line or packet (in the fuzzer's own buffer the next line's
// bytes would be there to read, unnoticed).
class ExactCopy {
 public:
  ExactCopy(const char* data, size_t size) : bytes_(new char[size ? size : 1]), size_(size) {
    if (size) std::memcpy(bytes_.get(), data, size);
  }
  explicit ExactCopy(std::string_view text) : ExactCopy(text.data(), text.size()) {}
  const char* data() const { return bytes_.get(); }
  size_t size() const { return size_; }
  std::string_view view() const { return std::string_view(bytes_.get(), size_); }

 private:
  std::unique_ptr<char[]> bytes_;
  size_t size_;
};

// Bytes as a C string literal, for failure messages.
inline std::string Escape(std::string_view s) {
  std::string out;
  char hex[8];
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out.push_back(static_cast<char>(c));
    } else {
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

// An invariant broke: print why and abort, which libFuzzer reports as a crash
// and saves the input.
[[noreturn]] inline void Fail(const char* file, int line, const char* what, const std::string& detail) {
  std::fprintf(stderr, "\n%s:%d: invariant broken: %s\n  %s\n", file, line, what, detail.c_str());
  std::abort();
}

}  // namespace fuzz

#define FUZZ_CHECK(cond, detail) \
  do {                           \
    if (!(cond)) ::fuzz::Fail(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)

#endif  // STATSD_FUZZ_SUPPORT_H_
