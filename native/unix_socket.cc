// POSIX AF_UNIX SOCK_DGRAM sockets.
#include "unix_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace statsd {
namespace {

int MakeAddress(const std::string& path, sockaddr_un* address) {
  std::memset(address, 0, sizeof(*address));
  address->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address->sun_path)) return ENAMETOOLONG;
  std::memcpy(address->sun_path, path.data(), path.size());
  return 0;
}

int OpenSocket() {
  return socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

}  // namespace

int PrepareSocketPath(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return errno == ENOENT ? 0 : errno;
  if (!S_ISSOCK(st.st_mode)) return EEXIST;
  sockaddr_un address;
  if (int error = MakeAddress(path, &address)) return error;
  const int probe = OpenSocket();
  if (probe < 0) return errno;
  const int error = connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 ? 0 : errno;
  close(probe);
  // Only ECONNREFUSED (no socket is bound to the file) or ENOENT (gone since
  // lstat) mean nobody is there. Anything else, success included, is someone's
  // live socket: EPROTOTYPE a stream or seqpacket one (the probe is a datagram
  // socket), EPERM a datagram one connected elsewhere, EACCES one we may not
  // write to.
  if (error != ECONNREFUSED && error != ENOENT) return EADDRINUSE;
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return errno;
  return 0;
}

int UnixDatagramSocket::Connect(const std::string& path) {
  Close();
  sockaddr_un address;
  if (int error = MakeAddress(path, &address)) return error;
  fd_ = OpenSocket();
  if (fd_ < 0) return errno;
  if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    const int error = errno;
    Close();
    return error;
  }
  return 0;
}

int UnixDatagramSocket::Send(const char* data, size_t size) {
  if (fd_ < 0) return ENOTCONN;
  while (true) {
    if (send(fd_, data, size, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

int UnixDatagramSocket::Bind(const std::string& path, int receive_buffer) {
  Close();
  sockaddr_un address;
  if (int error = MakeAddress(path, &address)) return error;
  if (int error = PrepareSocketPath(path)) return error;
  fd_ = OpenSocket();
  if (fd_ < 0) return errno;
  if (receive_buffer > 0) {
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  }
  if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    const int error = errno;
    Close();
    return error;
  }
  bound_path_ = path;
  return 0;
}

long UnixDatagramSocket::Receive(char* buffer, size_t capacity) {
  if (fd_ < 0) return -ENOTCONN;
  while (true) {
    const ssize_t n = recv(fd_, buffer, capacity, MSG_DONTWAIT);
    if (n >= 0) return static_cast<long>(n);
    if (errno != EINTR) return -errno;
  }
}

void UnixDatagramSocket::Close() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  if (!bound_path_.empty()) {
    unlink(bound_path_.c_str());
    bound_path_.clear();
  }
}

}  // namespace statsd
