/*
 * flow_mockbench.c - a tiny load generator for flow_mockserver: C keep-alive
 * connections on 127.0.0.1, each sending one POST at a time until N replies
 * came back; prints the rate. Used by selftest.sh (256 concurrent
 * connections) and to measure the mock's own speed.
 *
 *   flow_mockbench --port P [--connections C] [--requests N] [--path PATH]
 *                  [--body JSON] [--timeout S]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MB_MAX_CONNS 4096
#define MB_INBUF (256 * 1024)

/* One client connection and what it has received of the current reply. */
typedef struct {
  int fd;
  size_t sent; /* bytes of the request written */
  char *in;
  size_t in_len;
} Client;

/* A monotonic clock in seconds. */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The length of the first complete reply in [p] ([n] bytes), 0 when it is
 * incomplete, -1 when it cannot be parsed (no Content-Length). */
static long reply_length(const char *p, size_t n) {
  const char *end = memmem(p, n, "\r\n\r\n", 4);
  if (!end) return 0;
  size_t head = (size_t)(end - p) + 4;
  const char *h = p;
  long clen = -1;
  while (h < end) {
    const char *le = memmem(h, (size_t)(end + 2 - h), "\r\n", 2);
    if (!le) break;
    if (le - h > 15 && strncasecmp(h, "content-length:", 15) == 0) clen = strtol(h + 15, NULL, 10);
    h = le + 2;
  }
  if (clen < 0) return -1;
  return head + (size_t)clen <= n ? (long)(head + (size_t)clen) : 0;
}

/* Connect one client to 127.0.0.1:[port]; returns the descriptor or -1. */
static int dial(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* Run the load; see the comment at the top of the file. */
int main(int argc, char **argv) {
  int port = 0, nconn = 64;
  long total = 100000;
  double timeout = 60;
  const char *path = "/v1/chat/completions";
  const char *body = "{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}]}";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--port") == 0)
      port = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--connections") == 0)
      nconn = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--requests") == 0)
      total = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--path") == 0)
      path = argv[i + 1];
    else if (strcmp(argv[i], "--body") == 0)
      body = argv[i + 1];
    else if (strcmp(argv[i], "--timeout") == 0)
      timeout = atof(argv[i + 1]);
    else {
      fprintf(stderr, "flow_mockbench: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (port <= 0 || nconn < 1 || nconn > MB_MAX_CONNS || total < 1) {
    fprintf(stderr,
            "usage: flow_mockbench --port P [--connections 1..%d] [--requests N] [--path PATH] "
            "[--body JSON] [--timeout S]\n",
            MB_MAX_CONNS);
    return 2;
  }
  char req[8192];
  int rl = snprintf(req, sizeof req,
                    "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    "Authorization: Bearer mockbench\r\nContent-Length: %zu\r\n\r\n%s",
                    path, strlen(body), body);
  if (rl < 0 || (size_t)rl >= sizeof req) {
    fprintf(stderr, "flow_mockbench: body too long\n");
    return 2;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  Client *cl = calloc((size_t)nconn, sizeof *cl);
  if (ep < 0 || !cl) return 1;
  long started = 0, done = 0, errors = 0;
  for (int i = 0; i < nconn; i++) {
    cl[i].fd = dial(port);
    cl[i].in = malloc(MB_INBUF);
    if (cl[i].fd < 0 || !cl[i].in) {
      fprintf(stderr, "flow_mockbench: cannot connect to 127.0.0.1:%d: %s\n", port, strerror(errno));
      return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, cl[i].fd, &ev);
  }
  double t0 = now_s();
  /* Every connection sends its first request; replies trigger the next. */
  for (int i = 0; i < nconn && started < total; i++, started++)
    if (write(cl[i].fd, req, (size_t)rl) != rl) errors++;
  struct epoll_event evs[512];
  while (done < total && now_s() - t0 < timeout) {
    int n = epoll_wait(ep, evs, 512, 1000);
    for (int k = 0; k < n; k++) {
      Client *c = &cl[evs[k].data.u32];
      ssize_t r = read(c->fd, c->in + c->in_len, MB_INBUF - c->in_len);
      if (r <= 0) {
        fprintf(stderr, "flow_mockbench: connection closed by the server\n");
        return 1;
      }
      c->in_len += (size_t)r;
      long len = reply_length(c->in, c->in_len);
      if (len < 0 || (len == 0 && c->in_len == MB_INBUF)) {
        fprintf(stderr, "flow_mockbench: unparsable reply\n");
        return 1;
      }
      if (len == 0) continue;
      if (memcmp(c->in, "HTTP/1.1 200", 12) != 0) errors++;
      memmove(c->in, c->in + len, c->in_len - (size_t)len);
      c->in_len -= (size_t)len;
      done++;
      if (started < total) {
        started++;
        if (write(c->fd, req, (size_t)rl) != rl) errors++;
      }
    }
  }
  double secs = now_s() - t0;
  printf("requests %ld connections %d seconds %.3f req/s %.0f errors %ld\n", done, nconn, secs,
         secs > 0 ? (double)done / secs : 0.0, errors);
  for (int i = 0; i < nconn; i++) {
    close(cl[i].fd);
    free(cl[i].in);
  }
  free(cl);
  close(ep);
  return done == total && errors == 0 ? 0 : 1;
}
