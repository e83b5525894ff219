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

// 64-bit hash of a key given as its first byte and the rest (so a key can be
// hashed without being copied together: the kind byte and a name in a
// datagram), 16 bytes per step: each step multiplies two words into 128 bits
// and folds them (wyhash's construction). `seed` must be secret and random
// per process (see RandomSeed): key names come from the network, and with a
// known seed anyone could compute names that all land in one probe chain and
// make every lookup walk it. Both words of a step are mixed with secret
// values, so no chosen input zeroes a multiplication (wyhash's weak spot
// when its constants are public).
inline uint64_t Mum(uint64_t a, uint64_t b) {
  const __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}
inline uint64_t Read64(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
inline uint64_t Read32(const char* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}
inline uint64_t HashKeyParts(unsigned char first, std::string_view rest, uint64_t seed) {
  const uint64_t s1 = seed ^ 0xa0761d6478bd642full;
  const uint64_t s2 = (seed * 0x9e3779b97f4a7c15ull) ^ 0xe7037ed1a0b428dbull;
  const char* p = rest.data();
  size_t n = rest.size();
  uint64_t h = Mum(s1 ^ first, s2 ^ n);
  while (n > 16) {
    h = Mum(Read64(p) ^ s1, Read64(p + 8) ^ h);
    p += 16;
    n -= 16;
  }
  // The last 0-16 bytes, read as two (possibly overlapping) words.
  uint64_t a = 0, b = 0;
  if (n > 8) {
    a = Read64(p);
    b = Read64(p + n - 8);
  } else if (n >= 4) {
    a = Read32(p);
    b = Read32(p + n - 4);
  } else if (n > 0) {
    a = (static_cast<uint64_t>(static_cast<unsigned char>(p[0])) << 16) |
        (static_cast<uint64_t>(static_cast<unsigned char>(p[n >> 1])) << 8) |
        static_cast<unsigned char>(p[n - 1]);
  }
  return Mum(s2 ^ rest.size(), Mum(a ^ s1, b ^ h));
}
// The hash of a whole key (or any text: set members).
inline uint64_t HashKey(std::string_view key, uint64_t seed) {
  if (key.empty()) return HashKeyParts(0, key, seed ^ 1);
  return HashKeyParts(static_cast<unsigned char>(key[0]), key.substr(1), seed);
}

// A random 64-bit value from the operating system, for hash seeds.
inline uint64_t RandomSeed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

// Whether two keys are equal: inline word compares (keys are short: a libc
// memcmp call cost more than the compare, issue [5/7] profile).
inline bool KeysEqual(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n < 8) {
    for (size_t i = 0; i < n; ++i) {
      if (p[i] != q[i]) return false;
    }
    return true;
  }
  for (size_t i = 0; i + 8 < n; i += 8) {
    if (Read64(p + i) != Read64(q + i)) return false;
  }
  return Read64(p + n - 8) == Read64(q + n - 8);
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
      if (s.hash == static_cast<uint32_t>(hash) && KeysEqual(key_of(s.index), key)) return s.index;
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
    while (!(slots_[i].hash == static_cast<uint32_t>(hash) && KeysEqual(key_of(slots_[i].index), key))) {
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
