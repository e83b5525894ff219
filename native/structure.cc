// Structural bitmaps (see structure.h).
#include "structure.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace statsd {
namespace {

// The four masks of 64 bytes at `p` (all 64 readable).
void Classify64(const char* p, uint64_t out[StructureIndex::kKinds]) {
#if defined(__SSE2__)
  const __m128i newline = _mm_set1_epi8('\n');
  const __m128i colon = _mm_set1_epi8(':');
  const __m128i pipe = _mm_set1_epi8('|');
  // Printable ASCII is 0x21..0x7e: as signed bytes, > 0x20 and < 0x7f.
  const __m128i low = _mm_set1_epi8(0x20);
  const __m128i high = _mm_set1_epi8(0x7f);
  uint64_t m[StructureIndex::kKinds] = {};
  for (int i = 0; i < 4; ++i) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    const int shift = 16 * i;
    m[StructureIndex::kNewline] |= static_cast<uint64_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, newline))) << shift;
    m[StructureIndex::kColon] |= static_cast<uint64_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, colon))) << shift;
    m[StructureIndex::kPipe] |= static_cast<uint64_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, pipe))) << shift;
    // Signed compares: bytes >= 0x80 are negative, so "not > 0x20" catches them too.
    const __m128i printable = _mm_and_si128(_mm_cmpgt_epi8(v, low), _mm_cmplt_epi8(v, high));
    m[StructureIndex::kUnusual] |= static_cast<uint64_t>(_mm_movemask_epi8(printable) ^ 0xffff) << shift;
  }
  std::memcpy(out, m, sizeof(m));
#else
  for (int k = 0; k < StructureIndex::kKinds; ++k) out[k] = 0;
  for (int i = 0; i < 64; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    const uint64_t bit = uint64_t{1} << i;
    if (c == '\n') out[StructureIndex::kNewline] |= bit;
    if (c == ':') out[StructureIndex::kColon] |= bit;
    if (c == '|') out[StructureIndex::kPipe] |= bit;
    if (c <= 0x20 || c >= 0x7f) out[StructureIndex::kUnusual] |= bit;
  }
#endif
}

}  // namespace

void StructureIndex::Build(const char* data, size_t size) {
  size_ = size;
  const size_t words = (size + 63) / 64;
  for (auto& m : masks_) m.resize(words);
  uint64_t word[kKinds];
  size_t i = 0;
  for (; i + 64 <= size; i += 64) {
    Classify64(data + i, word);
    for (int k = 0; k < kKinds; ++k) masks_[k][i / 64] = word[k];
  }
  if (i < size) {  // the last partial block, through a padded copy
    char tail[64];
    std::memset(tail, ' ', sizeof(tail));
    std::memcpy(tail, data + i, size - i);
    Classify64(tail, word);
    for (int k = 0; k < kKinds; ++k) masks_[k][i / 64] = word[k];  // bits past size are never read (Next clips)
  }
}

}  // namespace statsd
