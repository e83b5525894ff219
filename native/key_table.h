// Open-addressing hash index from key text to a dense entry index: lookups by
// string_view allocate nothing; erase keeps the table tombstone-free.
#ifndef STATSD_KEY_TABLE_H_
#define STATSD_KEY_TABLE_H_

#include <cstdint>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

namespace statsd {

// 64-bit hash of a byte string, 8 bytes per step (multiply-xorshift mixing).
// `seed` must be secret and random per process (see RandomSeed): key names
// come from the network, and with a known seed anyone could compute names
// that all land in one probe chain and make every lookup walk it.
inline uint64_t HashKey(std::string_view key, uint64_t seed) {
  constexpr uint64_t kMul = 0x9e3779b97f4a7c15ull;
  uint64_t h = (seed ^ 0x243f6a8885a308d3ull) ^ (key.size() * kMul);
  h = (h ^ (h >> 31)) * kMul;
  const char* p = key.data();
  size_t n = key.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  h = (h ^ tail ^ seed) * kMul;
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  return h;
}

// A random 64-bit value from the operating system, for hash seeds.
inline uint64_t RandomSeed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

// Maps keys to indexes into the caller's entry array. `KeyOf(index)` is
// supplied by the caller on each call, so the table stores no key copies.
// Slots are placed by the low bits of the 64-bit hash and keep its low 32 bits,
// so Grow can re-place them without the keys (tables up to 2^32 slots).
class KeyTable {
 public:
  static constexpr uint32_t kMissing = UINT32_MAX;

  explicit KeyTable(uint32_t initial_slots = 1024) : slots_(RoundUp(initial_slots)) {}

  template <class KeyOf>
  uint32_t Find(std::string_view key, uint64_t hash, KeyOf key_of) const {
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.index == kMissing) return kMissing;
      if (s.hash == static_cast<uint32_t>(hash) && key_of(s.index) == key) return s.index;
    }
  }

  // Starts loading the slot a Find for `hash` will read first.
  void Prefetch(uint64_t hash) const { __builtin_prefetch(&slots_[hash & (slots_.size() - 1)]); }

  // Records `index` for a key that Find did not find.
  void Insert(uint64_t hash, uint32_t index) {
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow();
    Place(hash, index);
    ++size_;
  }

  // Removes the key of `index`; keeps probe chains intact (backward shift).
  template <class KeyOf>
  void Erase(std::string_view key, uint64_t hash, KeyOf key_of) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (!(slots_[i].hash == static_cast<uint32_t>(hash) && key_of(slots_[i].index) == key)) {
      i = (i + 1) & mask;
    }
    size_t hole = i;
    for (size_t j = (hole + 1) & mask; slots_[j].index != kMissing; j = (j + 1) & mask) {
      const size_t home = slots_[j].hash & mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (!stays) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = Slot{};
    --size_;
  }

  // The entry at `from` moved to `to` (the caller compacts its array).
  void Renumber(uint64_t hash, uint32_t from, uint32_t to) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      if (slots_[i].index == from) {
        slots_[i].index = to;
        return;
      }
    }
  }

  void Clear() {
    std::vector<Slot>(1024).swap(slots_);
    size_ = 0;
  }

  size_t size() const { return size_; }
  size_t memory_bytes() const { return slots_.size() * sizeof(Slot); }

 private:
  // 8 bytes: the table of a 100k-key aggregator stays small enough to cache.
  struct Slot {
    uint32_t hash = 0;  // low 32 bits of the key's hash
    uint32_t index = kMissing;
  };

  static size_t RoundUp(size_t n) {
    size_t p = 16;
    while (p < n) p <<= 1;
    return p;
  }

  void Place(uint64_t hash, uint32_t index) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (slots_[i].index != kMissing) i = (i + 1) & mask;
    slots_[i] = Slot{static_cast<uint32_t>(hash), index};
  }

  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& s : old) {
      if (s.index != kMissing) Place(s.hash, s.index);
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace statsd

#endif  // STATSD_KEY_TABLE_H_
