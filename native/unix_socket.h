// Unix datagram sockets (which Node's dgram lacks): connect-and-send for the
// emitter, bind-and-receive for the daemon and tests. Non-blocking; errors are
// returned as errno values, never thrown.
#ifndef STATSD_UNIX_SOCKET_H_
#define STATSD_UNIX_SOCKET_H_

#include <cstddef>
#include <string>

namespace statsd {

// Makes `path` ready for bind(): removes a stale socket file left by a process
// that is gone (a connect to it is refused). 0, or EADDRINUSE when a socket of
// any type is live there, or EEXIST when the path is not a socket; neither is
// ever removed.
int PrepareSocketPath(const std::string& path);

class UnixDatagramSocket {
 public:
  UnixDatagramSocket() = default;
  ~UnixDatagramSocket() { Close(); }
  UnixDatagramSocket(const UnixDatagramSocket&) = delete;
  UnixDatagramSocket& operator=(const UnixDatagramSocket&) = delete;

  // Opens a socket connected to the receiver bound at `path`. 0 or an errno
  // (ENOENT, ECONNREFUSED when nobody listens; ENAMETOOLONG).
  int Connect(const std::string& path);
  // Sends one datagram without blocking. 0, or an errno: EAGAIN/ENOBUFS when
  // the receiver is congested, ECONNREFUSED/ENOTCONN/ENOENT when it is gone.
  int Send(const char* data, size_t size);

  // Binds a receiving socket at `path` (an existing socket file is replaced)
  // with a receive buffer of about `receive_buffer` bytes. 0 or an errno.
  int Bind(const std::string& path, int receive_buffer);
  // Receives one datagram into `buffer` without blocking. Returns its size,
  // or -errno (-EAGAIN when none is waiting).
  long Receive(char* buffer, size_t capacity);

  void Close();
  bool open() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  std::string bound_path_;  // unlinked on Close
};

}  // namespace statsd

#endif  // STATSD_UNIX_SOCKET_H_
