/*
 * The bare recvmmsg ceiling of the compare-daemons suite: what one thread that
 * only receives can take off a loopback UDP socket, with nothing parsed or
 * aggregated. Compiled by bench/native-tools.js at run time (cc -O2); no binary
 * is kept in the repository.
 *
 *   ceiling [PORT]        PORT 0 (the default) picks a free one
 *
 * Contract with bench/native-tools.js:
 * - binds 127.0.0.1:PORT with a 64 MiB receive buffer (SO_RCVBUFFORCE as root,
 *   which passes net.core.rmem_max; else SO_RCVBUF, which the kernel caps there),
 *   then prints one JSON line to stdout:
 *     {"port":N,"rcvbuf":<bytes getsockopt reports>,"forced":true|false}
 * - loops recvmmsg (64 slots of 64 KiB, MSG_WAITFORONE) counting datagrams,
 *   bytes and lines: a datagram's '\n' count, plus one when its last byte is
 *   not '\n' (a last line without one), as a statsd server splits them;
 * - on SIGTERM or SIGINT prints one JSON line and exits 0:
 *     {"datagrams":N,"lines":N,"bytes":N,"truncated":N,"cpu":<user+sys s>}
 *   (truncated: datagrams longer than a slot, counted only up to 64 KiB).
 * The caller sends SIGTERM once the socket's queue is empty (/proc/net/udp), so
 * everything the kernel accepted has been counted by then.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define SLOTS 64
#define SLOT_BYTES (64 * 1024)
#define RCVBUF (64 * 1024 * 1024)

static volatile sig_atomic_t stopping = 0;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static unsigned long long count_lines(const unsigned char *p, size_t n) {
  if (n == 0) return 0;
  unsigned long long lines = 0;
  const unsigned char *end = p + n;
  for (const unsigned char *q = p; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++) lines++;
  if (p[n - 1] != '\n') lines++;
  return lines;
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return perror("socket"), 1;

  int size = RCVBUF;
  int forced = geteuid() == 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) == 0;
  if (!forced && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) != 0) return perror("SO_RCVBUF"), 1;
  int effective = 0;
  socklen_t len = sizeof effective;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &effective, &len);
  /* wake up every 100 ms to see a signal that came between two calls */
  struct timeval tv = {0, 100 * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return perror("bind"), 1;
  len = sizeof addr;
  getsockname(fd, (struct sockaddr *)&addr, &len);

  /* no SA_RESTART: a signal ends a blocked recvmmsg with EINTR */
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  printf("{\"port\":%d,\"rcvbuf\":%d,\"forced\":%s}\n", ntohs(addr.sin_port), effective, forced ? "true" : "false");
  fflush(stdout);

  static unsigned char buffers[SLOTS][SLOT_BYTES];
  struct iovec iov[SLOTS];
  struct mmsghdr msgs[SLOTS];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < SLOTS; i++) {
    iov[i].iov_base = buffers[i];
    iov[i].iov_len = SLOT_BYTES;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  unsigned long long datagrams = 0, lines = 0, bytes = 0, truncated = 0;
  while (!stopping) {
    int n = recvmmsg(fd, msgs, SLOTS, MSG_WAITFORONE, NULL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      perror("recvmmsg");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      size_t got = msgs[i].msg_len;
      if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) truncated++;
      datagrams++;
      bytes += got;
      lines += count_lines(buffers[i], got);
      msgs[i].msg_hdr.msg_flags = 0;
    }
  }
  printf("{\"datagrams\":%llu,\"lines\":%llu,\"bytes\":%llu,\"truncated\":%llu,\"cpu\":%.3f}\n", datagrams, lines, bytes, truncated, cpu_seconds());
  fflush(stdout);
  return 0;
}
