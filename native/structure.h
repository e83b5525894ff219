// Structural bitmaps of a datagram (simdjson's "stage 1"): one bit per byte
// for '\n', ':', '|', and for "unusual" bytes (outside printable ASCII
// 0x21-0x7e: controls, space, DEL, UTF-8), 64 bytes to a word, computed 16
// bytes at a time with SSE2 (a plain loop elsewhere). The line stager finds a
// common line's fields by counting bits instead of testing bytes one by one
// (line_stager.cc StageSimple); anything unusual goes to the full parser.
#ifndef STATSD_STRUCTURE_H_
#define STATSD_STRUCTURE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace statsd {

class StructureIndex {
 public:
  enum Kind { kNewline = 0, kColon, kPipe, kUnusual, kKinds };

  // Indexes data[0, size); the index holds no pointer to it.
  void Build(const char* data, size_t size);

  // The first position >= from whose byte is of `kind`, or size() if none.
  size_t Next(Kind kind, size_t from) const {
    const std::vector<uint64_t>& m = masks_[kind];
    size_t word = from >> 6;
    if (word >= m.size()) return size_;
    uint64_t bits = m[word] & (~uint64_t{0} << (from & 63));
    while (bits == 0) {
      if (++word == m.size()) return size_;
      bits = m[word];
    }
    const size_t at = (word << 6) + static_cast<size_t>(__builtin_ctzll(bits));
    return at < size_ ? at : size_;
  }
  // Whether any byte in [from, to) is of `kind`.
  bool Any(Kind kind, size_t from, size_t to) const { return from < to && Next(kind, from) < to; }

 private:
  std::vector<uint64_t> masks_[kKinds];
  size_t size_ = 0;
};

}  // namespace statsd

#endif  // STATSD_STRUCTURE_H_
