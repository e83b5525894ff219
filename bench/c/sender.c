/*
 * The C sender of the compare-daemons suite: replays the load generator's
 * packets with sendmmsg at a paced rate, so that at the top steps the sender is
 * not what limits a server. Compiled by bench/native-tools.js at run time
 * (cc -O2); no binary is kept in the repository.
 *
 *   sender PACKETS_FILE PORT RATE SECONDS      (to 127.0.0.1:PORT)
 *
 * PACKETS_FILE holds the packets bench/native-tools.js got from
 * dist/load/load.js buildPackets (the ones `statsd-native load` sends), as
 * records of three little-endian u32 (bytes, lines, counter lines) followed by
 * the bytes. They are sent in order, round and round, like runLoad does: every
 * millisecond the sender sends what is due, min(elapsed, SECONDS) × RATE lines
 * (whole packets, so it may run up to one packet ahead), in sendmmsg calls of up
 * to 1024 datagrams on a connected socket. It sends nothing after SECONDS plus
 * one tick: a sender that cannot keep up falls short of RATE instead of
 * sending its backlog late, so achievedRate (lines sent / SECONDS) is what it
 * really offered.
 * At the end it prints one JSON line to stdout, in runLoad's LoadSummary terms:
 *   {"elapsed":s,"linesSent":N,"packetsSent":N,"counterLines":N,"errors":N,
 *    "achievedRate":lines/s,"cpu":<user+sys s>}
 * A failed sendmmsg (ECONNREFUSED from an earlier ICMP, ENOBUFS) counts one
 * error and is tried again at the next tick: a datagram counts as sent only
 * once the kernel took it. It exits 1 after 10000 errors in a row.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 1024

struct packet {
  unsigned char *bytes;
  uint32_t size, lines, counters;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The whole file, split into packets; exits on a malformed file. */
static struct packet *load(const char *file, size_t *count) {
  FILE *f = fopen(file, "rb");
  if (!f) perror(file), exit(1);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  rewind(f);
  unsigned char *data = malloc((size_t)size);
  if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) fprintf(stderr, "%s: cannot read\n", file), exit(1);
  fclose(f);
  size_t n = 0, cap = 256;
  struct packet *packets = malloc(cap * sizeof *packets);
  for (long at = 0; at < size;) {
    if (at + 12 > size) fprintf(stderr, "%s: truncated record\n", file), exit(1);
    struct packet p = {data + at + 12, le32(data + at), le32(data + at + 4), le32(data + at + 8)};
    if (at + 12 + (long)p.size > size) fprintf(stderr, "%s: truncated packet\n", file), exit(1);
    if (n == cap) packets = realloc(packets, (cap *= 2) * sizeof *packets);
    packets[n++] = p;
    at += 12 + (long)p.size;
  }
  if (n == 0) fprintf(stderr, "%s: no packets\n", file), exit(1);
  *count = n;
  return packets;
}

int main(int argc, char **argv) {
  if (argc != 5) return fprintf(stderr, "usage: sender PACKETS_FILE PORT RATE SECONDS\n"), 2;
  size_t count;
  struct packet *packets = load(argv[1], &count);
  int port = atoi(argv[2]);
  double rate = atof(argv[3]), duration = atof(argv[4]);
  if (!(rate > 0) || !(duration > 0)) return fprintf(stderr, "RATE and SECONDS must be > 0\n"), 2;

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return perror("connect"), 1;

  static struct iovec iov[BATCH];
  static struct mmsghdr msgs[BATCH];
  unsigned long long lines = 0, sent = 0, counters = 0, errors = 0, failing = 0;
  size_t next = 0;
  double t0 = now_s(), t = t0;
  struct timespec tick;
  clock_gettime(CLOCK_MONOTONIC, &tick);
  for (;;) {
    t = now_s() - t0;
    double due = (t < duration ? t : duration) * rate;
    while ((double)lines < due && now_s() - t0 < duration + 0.001) {
      /* the packets due, from `next` on, at most BATCH */
      int n = 0;
      double planned = (double)lines;
      for (size_t k = next; n < BATCH && planned < due; k = (k + 1) % count, n++) {
        iov[n].iov_base = packets[k].bytes;
        iov[n].iov_len = packets[k].size;
        memset(&msgs[n].msg_hdr, 0, sizeof msgs[n].msg_hdr);
        msgs[n].msg_hdr.msg_iov = &iov[n];
        msgs[n].msg_hdr.msg_iovlen = 1;
        planned += packets[k].lines;
      }
      int done = sendmmsg(fd, msgs, (unsigned)n, 0);
      if (done < 0) {
        errors++;
        if (++failing >= 10000) return fprintf(stderr, "sendmmsg: %s (%llu errors in a row)\n", strerror(errno), failing), 1;
        break; /* try again at the next tick */
      }
      failing = 0;
      for (int i = 0; i < done; i++) {
        lines += packets[next].lines;
        counters += packets[next].counters;
        sent++;
        next = (next + 1) % count;
      }
    }
    if (t >= duration) break;
    /* the next millisecond boundary since the start */
    tick.tv_nsec += 1000000;
    if (tick.tv_nsec >= 1000000000) tick.tv_sec++, tick.tv_nsec -= 1000000000;
    struct timespec cur;
    clock_gettime(CLOCK_MONOTONIC, &cur);
    if (cur.tv_sec > tick.tv_sec || (cur.tv_sec == tick.tv_sec && cur.tv_nsec > tick.tv_nsec)) tick = cur; /* late: no catch-up burst of ticks */
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, NULL);
  }
  double elapsed = now_s() - t0;
  printf("{\"elapsed\":%.6f,\"linesSent\":%llu,\"packetsSent\":%llu,\"counterLines\":%llu,\"errors\":%llu,\"achievedRate\":%.1f,\"cpu\":%.3f}\n",
         elapsed, lines, sent, counters, errors, lines / (elapsed < duration ? elapsed : duration), cpu_seconds());
  return 0;
}
