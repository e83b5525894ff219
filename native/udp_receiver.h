// Receives statsd datagrams on native threads and aggregates them with no
// JavaScript per datagram: recvmmsg batches, large SO_RCVBUF, optional
// SO_REUSEPORT workers, kernel drops read from SO_RXQ_OVFL.
#ifndef STATSD_UDP_RECEIVER_H_
#define STATSD_UDP_RECEIVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aggregator.h"
#include "held_datagrams.h"
#include "shared_aggregator.h"

namespace statsd {

struct ReceiverOptions {
  std::string address = "127.0.0.1";  // IPv4 or IPv6 literal, or a unix socket path
  uint16_t port = 8125;               // 0 picks a free port (see bound_port)
  bool unix_socket = false;           // `address` is a path for a unix datagram socket
  uint32_t workers = 1;               // threads; each gets its own SO_REUSEPORT socket
  uint32_t batch = 64;                // datagrams per recvmmsg
  int receive_buffer = 32 << 20;      // SO_RCVBUF wanted (the kernel may cap it)
  size_t held_bytes = 64 << 20;       // per thread: datagrams read while a flush holds the lock
};

struct ReceiverStats {
  std::atomic<uint64_t> datagrams{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> kernel_drops{0};    // datagrams the kernel dropped (SO_RXQ_OVFL)
  std::atomic<uint64_t> receive_errors{0};
  std::atomic<uint64_t> truncated{0};       // datagrams longer than the 64 KiB buffer
  std::atomic<uint64_t> held{0};            // datagrams queued: read while the aggregator was busy or behind
};

class UdpReceiver {
 public:
  UdpReceiver(std::shared_ptr<SharedAggregator> shared, ReceiverOptions options);
  ~UdpReceiver();
  UdpReceiver(const UdpReceiver&) = delete;
  UdpReceiver& operator=(const UdpReceiver&) = delete;

  // Opens and binds the sockets, then starts the threads. 0 or an errno
  // (EADDRINUSE, EACCES, EINVAL for a bad address); nothing runs on error.
  int Start();
  // Stops and joins the threads, closes the sockets. Idempotent.
  void Stop();

  uint16_t bound_port() const { return bound_port_; }
  int receive_buffer() const { return actual_receive_buffer_; }  // what the kernel granted
  const ReceiverStats& stats() const { return stats_; }

 private:
  int OpenSocket(bool reuse_port, int* fd);
  void Run(int fd);
  // A sharded aggregator's way in: the datagrams' lines staged on this
  // thread and handed to the shards' threads (no aggregator lock here).
  void Stage(LineStager* stager, const char* data, size_t size);
  // Aggregates held datagrams: with `wait`, all of them once the lock is
  // free; without, a slice of them if the lock is free now. False when the
  // lock was busy and nothing was done.
  bool IngestHeld(HeldDatagrams* held, bool wait);
  // Aggregates up to `limit` held datagrams; the caller holds the lock.
  void AggregateHeld(HeldDatagrams* held, size_t limit);

  std::shared_ptr<SharedAggregator> shared_;
  ReceiverOptions options_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  uint16_t bound_port_ = 0;
  int actual_receive_buffer_ = 0;
  ReceiverStats stats_;
};

}  // namespace statsd

#endif  // STATSD_UDP_RECEIVER_H_
