// Datagrams a receiving thread read while the aggregator was busy (a flush
// holds its lock), kept in arrival order until the lock is free again. Reading
// on keeps the socket buffer from overflowing during a flush: without it, a
// flush of ~30 ms at 3M lines/s needs ~4 MB of socket buffer, more than an
// unprivileged process may ask for (net.core.rmem_max, often 208 KiB).
#ifndef STATSD_HELD_DATAGRAMS_H_
#define STATSD_HELD_DATAGRAMS_H_

#include <cstdint>
#include <cstring>
#include <string>

namespace statsd {

class HeldDatagrams {
 public:
  // Bytes of payload kept at most; past it the caller waits for the lock.
  explicit HeldDatagrams(size_t capacity) : capacity_(capacity) {}

  bool empty() const { return data_.empty(); }
  // Whether `count` more datagrams of `bytes` in all fit.
  bool Fits(size_t count, size_t bytes) const { return data_.size() + count * sizeof(uint32_t) + bytes <= capacity_; }

  void Add(const char* datagram, uint32_t size) {
    // Reserved whole at first use: no re-copying while the flush goes on, and
    // pages cost memory only once written.
    if (data_.capacity() < capacity_) data_.reserve(capacity_);
    char length[sizeof(uint32_t)];
    std::memcpy(length, &size, sizeof(size));
    data_.append(length, sizeof(length));
    data_.append(datagram, size);
  }

  // Calls fn(data, size) for each datagram in arrival order, then forgets them
  // and gives the memory back (a flush pause is rare; the reserve is cheap).
  template <typename Fn>
  void Drain(Fn&& fn) {
    size_t at = 0;
    while (at < data_.size()) {
      uint32_t size;
      std::memcpy(&size, data_.data() + at, sizeof(size));
      at += sizeof(size);
      fn(data_.data() + at, size);
      at += size;
    }
    std::string().swap(data_);
  }

 private:
  size_t capacity_;
  std::string data_;
};

}  // namespace statsd

#endif  // STATSD_HELD_DATAGRAMS_H_
