/*
 * tapfwd: the smallest possible TAP-to-TAP forwarder, a reference peer for the bench (src/bench/peers.ts).
 *
 *   tapfwd TAP_A TAP_B      creates both TAPs (IFF_TAP | IFF_NO_PI, as vde_switch -t does), prints
 *                           "ready" on stdout, then forwards every frame read on one to the other until
 *                           SIGTERM (default action: exit; nothing to flush).
 *
 * Why it exists: the bench compares vswitch with other TAP-based switches, and every one of them pays one
 * read() and one write() per frame, plus the kernel work behind them (B's receive path runs inside the
 * write). This program pays exactly that and nothing else: no learning, no parsing, no copy, no
 * allocation, no event loop beyond poll(). Its frames/s and CPU per frame are therefore the floor of any
 * switch built on one-frame-per-syscall TAP I/O on this machine; a goal above what tapfwd reaches cannot
 * be met by userspace work alone.
 *
 * Trade-offs:
 *  - poll() on both fds, then up to kBurst frames from each ready fd (non-blocking read until EAGAIN):
 *    under flood the poll() is amortised over many frames, so what is left per frame is the read() and
 *    the write() themselves, the floor asked for. The burst bound keeps one direction from starving the
 *    other.
 *  - A write that fails (e.g. the other host's interface is down) drops the frame, as a switch would.
 *  - Not a switch: two ports, no MAC table, no flooding decisions. Not for anything but measuring.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Larger than any frame a TAP without vnet_hdr hands out at MTU <= 64 KB: a short buffer would truncate. */
#define kBufSize 65536
/* Frames read from one fd before looking at the other again. */
#define kBurst 64

static unsigned char buf[kBufSize];

/* Create TAP `name` in this network namespace; returns a non-blocking fd, or -1 with a message printed. */
static int tap_open(const char* name) {
  struct ifreq ifr;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    perror("tapfwd: open /dev/net/tun");
    return -1;
  }
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (strlen(name) >= IFNAMSIZ) {
    fprintf(stderr, "tapfwd: interface name too long: %s\n", name);
    close(fd);
    return -1;
  }
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    fprintf(stderr, "tapfwd: TUNSETIFF %s: %s\n", name, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

/* Move up to kBurst frames from `from` to `to`. Returns 0, or -1 on an error reading that is not transient. */
static int forward(int from, int to) {
  for (int i = 0; i < kBurst; i++) {
    ssize_t n = read(from, buf, sizeof buf);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return 0;
      perror("tapfwd: read");
      return -1;
    }
    if (n == 0) return 0;
    (void)!write(to, buf, (size_t)n); /* a failed write is a dropped frame */
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: tapfwd TAP_A TAP_B\n");
    return 2;
  }
  int fd[2];
  fd[0] = tap_open(argv[1]);
  if (fd[0] < 0) return 1;
  fd[1] = tap_open(argv[2]);
  if (fd[1] < 0) return 1;
  /* the bench waits for this line before it moves the TAPs into the host namespaces */
  printf("ready\n");
  fflush(stdout);

  struct pollfd p[2] = {{.fd = fd[0], .events = POLLIN}, {.fd = fd[1], .events = POLLIN}};
  for (;;) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      perror("tapfwd: poll");
      return 1;
    }
    for (int i = 0; i < 2; i++) {
      if (p[i].revents & (POLLERR | POLLNVAL)) {
        fprintf(stderr, "tapfwd: poll error on %s\n", argv[1 + i]);
        return 1;
      }
      if ((p[i].revents & POLLIN) && forward(fd[i], fd[1 - i]) < 0) return 1;
    }
  }
}
