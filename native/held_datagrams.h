// Datagrams a receiving thread read but could not aggregate yet, kept in
// arrival order. Reading on keeps the socket buffer from overflowing while the
// aggregator is busy: without it, a flush of ~30 ms at 3M lines/s needs ~4 MB
// of socket buffer, more than an unprivileged process may ask for
// (net.core.rmem_max, often 208 KiB). The queue is also drained a slice at a
// time (DrainSome), so the thread goes back to the socket every few
// milliseconds while it catches up after a flush instead of aggregating the
// whole backlog first (which itself outlasted a small buffer: F12 in
// docs/reliability.md).
#ifndef STATSD_HELD_DATAGRAMS_H_
#define STATSD_HELD_DATAGRAMS_H_

#include <cstdint>
#include <cstring>
#include <deque>
#include <string>

namespace statsd {

class HeldDatagrams {
 public:
  // Bytes of payload (plus a 4-byte length each) kept at most; past it the
  // caller waits for the aggregator instead of reading on.
  explicit HeldDatagrams(size_t capacity) : capacity_(capacity) {}

  bool empty() const { return count_ == 0; }
  // Whether `count` more datagrams of `bytes` in all fit.
  bool Fits(size_t count, size_t bytes) const { return bytes_ + count * sizeof(uint32_t) + bytes <= capacity_; }

  void Add(const char* datagram, uint32_t size) {
    const size_t need = sizeof(uint32_t) + size;
    if (blocks_.empty() || blocks_.back().capacity() - blocks_.back().size() < need) {
      blocks_.emplace_back();
      blocks_.back().reserve(need > kBlockBytes ? need : kBlockBytes);
    }
    std::string& block = blocks_.back();
    char length[sizeof(uint32_t)];
    std::memcpy(length, &size, sizeof(size));
    block.append(length, sizeof(length));
    block.append(datagram, size);
    bytes_ += need;
    ++count_;
  }

  // Calls fn(data, size) for at most `limit` of the oldest datagrams, in
  // arrival order, and forgets them; a block is freed once read through.
  // Returns how many were handed over.
  template <typename Fn>
  size_t DrainSome(size_t limit, Fn&& fn) {
    size_t done = 0;
    while (done < limit && !blocks_.empty()) {
      const std::string& block = blocks_.front();
      uint32_t size;
      std::memcpy(&size, block.data() + read_at_, sizeof(size));
      fn(block.data() + read_at_ + sizeof(size), size);
      read_at_ += sizeof(size) + size;
      bytes_ -= sizeof(size) + size;
      --count_;
      ++done;
      if (read_at_ == block.size()) {
        blocks_.pop_front();
        read_at_ = 0;
      }
    }
    return done;
  }

 private:
  // 1 MiB blocks: allocated as datagrams arrive (a brief pause costs little),
  // and given back as soon as they are read through.
  static constexpr size_t kBlockBytes = 1 << 20;

  size_t capacity_;
  std::deque<std::string> blocks_;
  size_t read_at_ = 0;  // in blocks_.front()
  size_t bytes_ = 0;
  size_t count_ = 0;
};

}  // namespace statsd

#endif  // STATSD_HELD_DATAGRAMS_H_
