// recvmmsg loops feeding a shared Aggregator.
#include "udp_receiver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "held_datagrams.h"
#include "unix_socket.h"

namespace statsd {
namespace {

// A receive slot: the largest UDP payload (65,507 bytes over IPv4) fits, so a
// datagram is never cut unless it is larger still (counted in `truncated`).
constexpr size_t kDatagramBytes = 65536;
// Held datagrams aggregated per turn while catching up: twice a recvmmsg batch,
// so the queue shrinks while the socket is read on. At ~68 lines a datagram
// this is ~1-2 ms of ingest, far less than a 256 KiB buffer lasts at 1M lines/s
// (~15 ms; test/integration/flush-pause.test.ts, bench/flush-pause.bench.js).
constexpr size_t kDrainSlice = 128;

}  // namespace

UdpReceiver::UdpReceiver(std::shared_ptr<SharedAggregator> shared, ReceiverOptions options)
    : shared_(std::move(shared)), options_(std::move(options)) {}

UdpReceiver::~UdpReceiver() { Stop(); }

int UdpReceiver::OpenSocket(bool reuse_port, int* out_fd) {
  sockaddr_storage storage;
  std::memset(&storage, 0, sizeof(storage));
  socklen_t length = 0;
  int family = AF_INET;
  if (options_.unix_socket) {
    auto* un = reinterpret_cast<sockaddr_un*>(&storage);
    if (options_.address.size() >= sizeof(un->sun_path)) return ENAMETOOLONG;
    un->sun_family = family = AF_UNIX;
    std::memcpy(un->sun_path, options_.address.data(), options_.address.size());
    length = sizeof(sockaddr_un);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    if (inet_pton(AF_INET, options_.address.c_str(), &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
      v4->sin_port = htons(bound_port_ ? bound_port_ : options_.port);
      length = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, options_.address.c_str(), &v6->sin6_addr) == 1) {
      v6->sin6_family = family = AF_INET6;
      v6->sin6_port = htons(bound_port_ ? bound_port_ : options_.port);
      length = sizeof(sockaddr_in6);
    } else {
      return EINVAL;
    }
  }
  const int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  const int one = 1;
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  // Ask for a large buffer; as root SO_RCVBUFFORCE may exceed rmem_max.
  const int wanted = options_.receive_buffer;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted, sizeof(wanted)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted, sizeof(wanted));
  }
  int granted = 0;
  socklen_t granted_length = sizeof(granted);
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &granted_length);
  actual_receive_buffer_ = granted;
  setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
  if (options_.unix_socket) {
    if (int error = PrepareSocketPath(options_.address)) {
      close(fd);
      return error;
    }
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    const int error = errno;
    close(fd);
    return error;
  }
  if (!options_.unix_socket && bound_port_ == 0) {
    sockaddr_storage bound;
    socklen_t bound_length = sizeof(bound);
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length);
    bound_port_ = ntohs(bound.ss_family == AF_INET6
                            ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  *out_fd = fd;
  return 0;
}

int UdpReceiver::Start() {
  if (!threads_.empty()) return 0;
  shared_->StartPool(options_.held_bytes);
  stopping_ = false;
  const uint32_t workers = options_.unix_socket ? 1 : (options_.workers ? options_.workers : 1);
  if (workers > 1) {
    // SO_REUSEPORT would let us join another process's port: claim it alone
    // first, so a port in use fails with EADDRINUSE as it does for one worker.
    int probe = -1;
    if (const int error = OpenSocket(false, &probe)) return error;
    close(probe);
  }
  for (uint32_t i = 0; i < workers; ++i) {
    int fd = -1;
    const int error = OpenSocket(workers > 1, &fd);
    if (error != 0) {
      for (int open_fd : fds_) close(open_fd);
      fds_.clear();
      return error;
    }
    fds_.push_back(fd);
  }
  for (int fd : fds_) threads_.emplace_back([this, fd] { Run(fd); });
  return 0;
}

void UdpReceiver::Stop() {
  if (threads_.empty()) return;
  stopping_ = true;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  for (int fd : fds_) close(fd);
  fds_.clear();
  if (options_.unix_socket) unlink(options_.address.c_str());
}

void UdpReceiver::Run(int fd) {
  const size_t batch = options_.batch ? options_.batch : 1;
  std::vector<char> buffers(batch * kDatagramBytes);
  std::vector<iovec> iovecs(batch);
  std::vector<mmsghdr> messages(batch);
  constexpr size_t kControlBytes = CMSG_SPACE(sizeof(uint32_t));
  std::vector<char> controls(batch * kControlBytes);
  uint32_t last_drop_count = 0;
  HeldDatagrams held(options_.held_bytes);
  // Bounds the drain at stop, should senders keep sending (a full 32 MiB
  // buffer of small datagrams is well under this many batches).
  int drain_batches_left = 1 << 16;
  // Whether the last try to aggregate held datagrams found the aggregator busy.
  bool busy = false;
  ShardPool* const pool = shared_->pool.get();
  std::unique_ptr<LineStager> stager;
  if (pool) stager = std::make_unique<LineStager>(shared_->aggregator.options(), shared_->aggregator.hash_seed(),
                                                  shared_->aggregator.shard_count());
  for (;;) {
    // Wake every 100 ms to notice Stop(); once stopping, read what the kernel
    // still holds (datagrams accepted before the stop) until it is empty.
    const bool stopping = stopping_.load(std::memory_order_relaxed);
    if (!stopping) {
      pollfd p{fd, POLLIN, 0};
      // Held datagrams must not wait for the next one to arrive: while some
      // are held, only glance at the socket (or wait 1 ms while a flush runs).
      const int timeout = held.empty() ? 100 : (busy ? 1 : 0);
      if (poll(&p, 1, timeout) <= 0) {
        if (!held.empty()) busy = !IngestHeld(&held, /*wait=*/false);
        continue;
      }
    } else if (--drain_batches_left < 0) {
      break;
    }
    for (size_t i = 0; i < batch; ++i) {
      iovecs[i] = iovec{buffers.data() + i * kDatagramBytes, kDatagramBytes};
      std::memset(&messages[i], 0, sizeof(mmsghdr));
      messages[i].msg_hdr.msg_iov = &iovecs[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_control = controls.data() + i * kControlBytes;
      messages[i].msg_hdr.msg_controllen = kControlBytes;
    }
    const int received = recvmmsg(fd, messages.data(), static_cast<unsigned>(batch), MSG_DONTWAIT, nullptr);
    if (received <= 0) {
      if (received < 0 && errno != EAGAIN && errno != EINTR) {
        stats_.receive_errors.fetch_add(1, std::memory_order_relaxed);
      }
      if (stopping) break;
      if (!held.empty()) busy = !IngestHeld(&held, /*wait=*/false);
      continue;
    }
    uint64_t bytes = 0;
    for (int i = 0; i < received; ++i) {
      bytes += messages[i].msg_len;
      if (messages[i].msg_hdr.msg_flags & MSG_TRUNC) stats_.truncated.fetch_add(1, std::memory_order_relaxed);
    }
    // SO_RXQ_OVFL: a running count of datagrams the kernel dropped on this socket.
    for (int i = received - 1; i >= 0; --i) {
      msghdr& h = messages[i].msg_hdr;
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      if (c != nullptr && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        uint32_t drops;
        std::memcpy(&drops, CMSG_DATA(c), sizeof(drops));
        if (drops != last_drop_count) {
          stats_.kernel_drops.fetch_add(drops - last_drop_count, std::memory_order_relaxed);
          last_drop_count = drops;
        }
        break;
      }
    }
    stats_.datagrams.fetch_add(static_cast<uint64_t>(received), std::memory_order_relaxed);
    stats_.bytes.fetch_add(bytes, std::memory_order_relaxed);

    if (pool) {
      if (pool->flushing()) {  // the shards take these after the flush
        if (options_.held_bytes == 0) {
          // Hold nothing: wait for the flush as the socket buffer fills (as
          // the one-shard path waits for the lock).
          while (pool->flushing()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        } else {
          stats_.held.fetch_add(static_cast<uint64_t>(received), std::memory_order_relaxed);
        }
      }
      for (int i = 0; i < received; ++i) Stage(stager.get(), buffers.data() + i * kDatagramBytes, messages[i].msg_len);
      pool->Submit(stager.get());
      continue;
    }
    // Nothing held and the aggregator free: the usual case, straight in.
    std::unique_lock<std::mutex> lock(shared_->mutex, std::defer_lock);
    if (held.empty() && lock.try_lock()) {
      for (int i = 0; i < received; ++i) {
        shared_->aggregator.Ingest(buffers.data() + i * kDatagramBytes, messages[i].msg_len);
      }
      continue;
    }
    // Busy (a flush holds the lock) or still catching up: queue this batch
    // behind what is held, in order, then aggregate a slice if the lock is free.
    if (held.Fits(static_cast<size_t>(received), bytes)) {
      for (int i = 0; i < received; ++i) held.Add(buffers.data() + i * kDatagramBytes, messages[i].msg_len);
      stats_.held.fetch_add(static_cast<uint64_t>(received), std::memory_order_relaxed);
      busy = !IngestHeld(&held, /*wait=*/false);
    } else {
      // The holding space is full: wait for the aggregator (as the kernel
      // buffer fills), then aggregate only what makes room for this batch, and
      // go back to the socket (catching up on all of it first outlasted a
      // small buffer: F12).
      lock.lock();
      while (!held.empty() && !held.Fits(static_cast<size_t>(received), bytes)) AggregateHeld(&held, kDrainSlice);
      if (held.empty()) {
        for (int i = 0; i < received; ++i) {
          shared_->aggregator.Ingest(buffers.data() + i * kDatagramBytes, messages[i].msg_len);
        }
      } else {
        for (int i = 0; i < received; ++i) held.Add(buffers.data() + i * kDatagramBytes, messages[i].msg_len);
        stats_.held.fetch_add(static_cast<uint64_t>(received), std::memory_order_relaxed);
      }
    }
  }
  IngestHeld(&held, /*wait=*/true);  // what was read during a last flush belongs to the final one
}

void UdpReceiver::Stage(LineStager* stager, const char* data, size_t size) {
  stager->CountPacket();
  for (size_t done = stager->Stage(data, size); done < size; done += stager->Stage(data + done, size - done)) {
    shared_->pool->Submit(stager);  // kMaxStagedLines reached: hand over, then go on
  }
}

bool UdpReceiver::IngestHeld(HeldDatagrams* held, bool wait) {
  if (held->empty()) return true;
  std::unique_lock<std::mutex> lock(shared_->mutex, std::defer_lock);
  if (wait) {
    lock.lock();
    AggregateHeld(held, SIZE_MAX);
    return true;
  }
  if (!lock.try_lock()) return false;  // still flushing: try again after the next poll
  AggregateHeld(held, kDrainSlice);
  return true;
}

void UdpReceiver::AggregateHeld(HeldDatagrams* held, size_t limit) {
  held->DrainSome(limit, [this](const char* data, uint32_t size) { shared_->aggregator.Ingest(data, size); });
}

}  // namespace statsd
