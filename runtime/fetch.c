/* fetch.c - one HTTPS GET under the rules for `http(url)` context sources
 * (see fetch.h): the allow-list, the address rules, redirects followed one
 * hop at a time, and the size and time limits. */
#include "fetch.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arena.h"
#include "curl_api.h"
#include "url.h"

/* ---- allow-list entries ------------------------------------------------- */

typedef enum { ENTRY_NAME, ENTRY_WILDCARD, ENTRY_ADDR } EntryKind;

/* A parsed allow-list entry (or URL host): a name or wildcard suffix
 * (pointing into the entry) or an address. */
typedef struct Entry {
  EntryKind kind;
  const char *name; /* ENTRY_NAME: the name; ENTRY_WILDCARD: what follows "*." */
  size_t namelen;
  int family; /* ENTRY_ADDR: AF_INET or AF_INET6 */
  unsigned char addr[16];
  unsigned port; /* 0: none named (443) */
} Entry;

/* Whether s[0..n) is a DNS host name: dot-separated labels of letters,
 * digits and hyphens (1 to 63 each, no hyphen at either end), 253 at most,
 * the last label holding a letter (so it cannot be mistaken for a number). */
static bool valid_name(const char *s, size_t n) {
  if (n == 0 || n > 253) return false;
  size_t label = 0;
  bool letter = false;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == '.') {
      if (label == 0 || label > 63 || s[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    unsigned char c = (unsigned char)s[i];
    if (label == 0) letter = false;
    if (!isalnum(c) && c != '-') return false;
    if (c == '-' && label == 0) return false;
    if (isalpha(c)) letter = true;
    label++;
  }
  return letter;
}

/* s[0..n) as an IP address of [family] into [addr]. */
static bool parse_ip(const char *s, size_t n, int family, unsigned char addr[16]) {
  char buf[64];
  if (n == 0 || n >= sizeof buf) return false;
  memcpy(buf, s, n);
  buf[n] = '\0';
  return inet_pton(family, buf, addr) == 1;
}

/* The host part of [host] (n bytes: a bracketed IPv6 address, an IPv4
 * address, "*." and a name, or a name) into [e]; false with the reason. */
static bool parse_host_part(const char *host, size_t n, Entry *e, const char **why) {
  if (n && host[0] == '[') {
    e->kind = ENTRY_ADDR;
    e->family = AF_INET6;
    if (n < 2 || host[n - 1] != ']' || !parse_ip(host + 1, n - 2, AF_INET6, e->addr)) {
      *why = "expected an IPv6 address between `[` and `]`";
      return false;
    }
    return true;
  }
  if (parse_ip(host, n, AF_INET, e->addr)) {
    e->kind = ENTRY_ADDR;
    e->family = AF_INET;
    return true;
  }
  e->kind = ENTRY_NAME;
  if (n >= 2 && host[0] == '*' && host[1] == '.') {
    e->kind = ENTRY_WILDCARD;
    host += 2;
    n -= 2;
  }
  e->name = host;
  e->namelen = n;
  if (!valid_name(host, n)) {
    *why = "expected a host name (docs.example.com), `*.` and a domain (*.example.org) or an IP address "
           "(127.0.0.1, [::1]), each with an optional `:port`";
    return false;
  }
  if (e->kind == ENTRY_WILDCARD && !memchr(host, '.', n)) {
    *why = "expected a wildcard over a domain of two labels or more (*.example.org), not a whole top-level "
           "domain";
    return false;
  }
  return true;
}

/* [entry] into [e]; false with the reason in [why]. */
static bool parse_entry(const char *entry, Entry *e, const char **why) {
  memset(e, 0, sizeof *e);
  if (strstr(entry, "://")) {
    *why = "expected a host without a scheme (docs.example.com, not https://docs.example.com)";
    return false;
  }
  HostPort hp;
  const char *problem = url_host_port(entry, strlen(entry), &hp);
  if (problem && hp.host) { /* something after `]` but a port */
    *why = problem;
    return false;
  }
  if (!hp.bracketed && hp.port && memchr(hp.port, ':', hp.port_len)) {
    *why = "expected an IPv6 address in brackets ([::1], [::1]:8443)";
    return false;
  }
  if (hp.port && !url_port(hp.port, hp.port_len, &e->port)) {
    *why = "expected a port from 1 to 65535 after `:`";
    return false;
  }
  /* the host part as written (brackets and all: parse_host_part reads them) */
  size_t n = problem ? strlen(entry) : hp.port ? (size_t)(hp.port - 1 - entry) : strlen(entry);
  return parse_host_part(entry, n, e, why);
}

bool fetch_allow_entry_check(const char *entry, char *err, size_t errlen) {
  Entry e;
  const char *why = NULL;
  if (parse_entry(entry, &e, &why)) return true;
  snprintf(err, errlen, "allow-list entry `%s`: %s", entry, why);
  return false;
}

/* Whether [e] allows the URL host [h] on [port]: addresses match addresses
 * exactly, names match names (or a wildcard's subdomains) without regard to
 * case, and the port must be the entry's (443 when it names none). */
static bool entry_matches(const Entry *e, const Entry *h, unsigned port) {
  if (port != (e->port ? e->port : 443)) return false;
  if (e->kind == ENTRY_ADDR || h->kind == ENTRY_ADDR) {
    size_t n = e->family == AF_INET ? 4 : 16;
    return e->kind == h->kind && e->family == h->family && memcmp(e->addr, h->addr, n) == 0;
  }
  if (h->kind != ENTRY_NAME) return false;
  if (e->kind == ENTRY_NAME)
    return h->namelen == e->namelen && strncasecmp(h->name, e->name, e->namelen) == 0;
  return h->namelen > e->namelen + 1 && h->name[h->namelen - e->namelen - 1] == '.' &&
         strncasecmp(h->name + h->namelen - e->namelen, e->name, e->namelen) == 0;
}

/* The index of the first entry that allows [host] on [port], or -1 (into
 * [matched] when it is not NULL). */
static long allow_index(const char *const *allow, size_t nallow, const char *host, unsigned port,
                        Entry *matched) {
  Entry h;
  const char *why;
  memset(&h, 0, sizeof h);
  if (!parse_host_part(host, strlen(host), &h, &why) || h.kind == ENTRY_WILDCARD) return -1;
  for (size_t i = 0; i < nallow; i++) {
    Entry e;
    if (!parse_entry(allow[i], &e, &why) || !entry_matches(&e, &h, port)) continue;
    if (matched) *matched = e;
    return (long)i;
  }
  return -1;
}

const char *fetch_allow_match(const char *const *allow, size_t nallow, const char *host, unsigned port) {
  long i = allow_index(allow, nallow, host, port, NULL);
  return i < 0 ? NULL : allow[i];
}

/* ---- addresses ---------------------------------------------------------- */

/* An address range that may not be connected to: [bits] leading bits of
 * [prefix]; a NULL [kind] means the range embeds an IPv4 address at byte
 * [embed], which decides. */
typedef struct Range {
  unsigned char prefix[16];
  unsigned bits;
  const char *kind;
  int embed;
} Range;

#define DOC "a reserved (documentation) address"
static const Range V4_RANGES[] = {
    {{0}, 8, "an unspecified address", 0},
    {{10}, 8, "a private address", 0},
    {{100, 64}, 10, "a shared (CGNAT) address", 0},
    {{127}, 8, "a loopback address", 0},
    {{169, 254}, 16, "a link-local address", 0},
    {{172, 16}, 12, "a private address", 0},
    {{192, 0, 0}, 24, "a reserved address", 0},
    {{192, 0, 2}, 24, DOC, 0},
    {{192, 168}, 16, "a private address", 0},
    {{198, 18}, 15, "a reserved (benchmarking) address", 0},
    {{198, 51, 100}, 24, DOC, 0},
    {{203, 0, 113}, 24, DOC, 0},
    {{224}, 4, "a multicast address", 0},
    {{255, 255, 255, 255}, 32, "a broadcast address", 0},
    {{240}, 4, "a reserved address", 0},
};
static const Range V6_RANGES[] = {
    {{0}, 128, "an unspecified address", 0},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "a loopback address", 0},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, NULL, 12}, /* IPv4-mapped */
    {{0, 0x64, 0xff, 0x9b}, 96, NULL, 12},                      /* NAT64 */
    {{0, 0x64, 0xff, 0x9b, 0, 1}, 48, "a private (local NAT64) address", 0},
    {{0}, 8, "a reserved address", 0}, /* IPv4-compatible among them */
    {{0x20, 0x01, 0x0d, 0xb8}, 32, DOC, 0},
    {{0x20, 0x02}, 16, NULL, 2}, /* 6to4 */
    {{0xfc}, 7, "a private address", 0},
    {{0xfe, 0x80}, 10, "a link-local address", 0},
    {{0xfe, 0xc0}, 10, "a private (site-local) address", 0},
    {{0xff}, 8, "a multicast address", 0},
};
#undef DOC

static bool in_range(const unsigned char *addr, const Range *r) {
  unsigned whole = r->bits / 8, rest = r->bits % 8;
  if (memcmp(addr, r->prefix, whole) != 0) return false;
  if (!rest) return true;
  unsigned char mask = (unsigned char)(0xff << (8 - rest));
  return (addr[whole] & mask) == (r->prefix[whole] & mask);
}

static const char *classify(const unsigned char *addr, const Range *ranges, size_t n);

static const char *classify_v4(const unsigned char *addr) {
  return classify(addr, V4_RANGES, sizeof V4_RANGES / sizeof V4_RANGES[0]);
}

/* The kind of the first range holding [addr], or NULL. */
static const char *classify(const unsigned char *addr, const Range *ranges, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!in_range(addr, &ranges[i])) continue;
    return ranges[i].kind ? ranges[i].kind : classify_v4(addr + ranges[i].embed);
  }
  return NULL;
}

const char *fetch_address_refusal(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET) {
    struct sockaddr_in in;
    memcpy(&in, sa, sizeof in);
    return classify_v4((const unsigned char *)&in.sin_addr);
  }
  if (sa->sa_family == AF_INET6) {
    struct sockaddr_in6 in6;
    memcpy(&in6, sa, sizeof in6);
    return classify(in6.sin6_addr.s6_addr, V6_RANGES, sizeof V6_RANGES / sizeof V6_RANGES[0]);
  }
  return "not an IP address";
}

/* ---- URLs as errors show them ------------------------------------------- */

void fetch_url_redact(const char *url, char *out, size_t outlen) {
  if (!outlen) return;
  const char *auth = strstr(url, "://");
  size_t skip_from = 0, skip_to = 0; /* the user information, with its '@' */
  if (auth && (size_t)(auth - url) < strcspn(url, "/?#")) {
    size_t start = (size_t)(auth - url) + 3;
    size_t end = start + strcspn(url + start, "/?#");
    for (size_t i = start; i < end; i++)
      if (url[i] == '@') skip_from = start, skip_to = i + 1;
  }
  size_t o = 0, n = strcspn(url, "?#");
  for (size_t i = 0; i < n; i++) {
    if (i >= skip_from && i < skip_to) continue;
    if (o + 1 >= outlen) {
      if (outlen > 4) memcpy(out + outlen - 4, "...", 3), o = outlen - 1;
      break;
    }
    unsigned char c = (unsigned char)url[i];
    out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
  }
  out[o] = '\0';
}

/* ---- the fetch ---------------------------------------------------------- */

#define URL_SHOWN 512

/* One fetch: libcurl's handles, the limits, the rule for the current hop's
 * connections, and what has arrived. */
typedef struct Fetch {
  const FetchConfig *cfg;
  CurlApi api;
  CURL *easy;
  CURLU *url; /* the current hop's URL (what libcurl connects to) */
  size_t max_bytes;
  long timeout_ms;
  int max_redirects;
  struct timespec start;
  char first[URL_SHOWN]; /* the URL asked for, redacted */
  char shown[URL_SHOWN]; /* the current hop's URL, redacted */
  int hops;              /* redirects followed */
  /* the connect-time rule for the current hop */
  bool pinned; /* the matched entry is an address: that one is allowed */
  int pin_family;
  unsigned char pin_addr[16];
  char host[256];    /* the current hop's host, for messages */
  char refused[512]; /* why a connection was refused, when one was */
  /* the reply */
  char *body;
  size_t len, cap;
  bool too_large;
  char *location; /* the Location header of the last response */
  char errbuf[CURL_ERROR_SIZE];
} Fetch;

/* Write "<current URL>[ (redirected from <first URL>)]: <message>". */
static bool fail(Fetch *f, char *err, size_t errlen, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (f->hops)
    snprintf(err, errlen, "%s (redirected from %s): %s", f->shown, f->first, msg);
  else
    snprintf(err, errlen, "%s: %s", f->shown, msg);
  return false;
}

/* The allow-list, for messages: "a, b, c" (cut short when long). */
static void allow_summary(const FetchConfig *cfg, char *out, size_t outlen) {
  size_t o = 0;
  out[0] = '\0';
  if (!cfg->nallow) snprintf(out, outlen, "it is empty");
  for (size_t i = 0; i < cfg->nallow && o < outlen; i++) {
    int w = snprintf(out + o, outlen - o, "%s%s", i ? ", " : "", cfg->allow[i]);
    if (w < 0 || (size_t)w >= outlen - o) {
      if (outlen > 4) memcpy(out + outlen - 4, "...", 4);
      break;
    }
    o += (size_t)w;
  }
}

/* Check the current URL (f->url): https, and a host and port the allow-list
 * names. Sets the connect-time rule for the hop. [what] prefixes the
 * message ("" or "redirect to X: "). */
static bool check_target(Fetch *f, const char *what, char *err, size_t errlen) {
  char *scheme = NULL, *host = NULL, *port = NULL;
  bool ok = false;
  if (f->api.url_get(f->url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      f->api.url_get(f->url, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      f->api.url_get(f->url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
    fail(f, err, errlen, "%sexpected an absolute https:// URL with a host", what);
  } else if (strcasecmp(scheme, "https") != 0) {
    fail(f, err, errlen, "%sexpected https, found %s", what, scheme);
  } else {
    unsigned portnum = (unsigned)strtoul(port, NULL, 10);
    Entry e;
    snprintf(f->host, sizeof f->host, "%s", host);
    if (allow_index(f->cfg->allow, f->cfg->nallow, host, portnum, &e) < 0) {
      char list[256];
      allow_summary(f->cfg, list, sizeof list);
      fail(f, err, errlen, "%sexpected a host on the allow-list (%s), found %s%s%s", what, list, host,
           portnum == 443 ? "" : ":", portnum == 443 ? "" : port);
    } else {
      f->pinned = e.kind == ENTRY_ADDR;
      f->pin_family = e.family;
      memcpy(f->pin_addr, e.addr, sizeof f->pin_addr);
      ok = true;
    }
  }
  f->api.free(scheme);
  f->api.free(host);
  f->api.free(port);
  return ok;
}

/* The address in [ss] (4 or 16 bytes), or NULL for a family that is not IP. */
static const unsigned char *address_bytes(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET) return (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr;
  if (ss->ss_family == AF_INET6) return ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
  return NULL;
}

/* Why the current hop may not connect to [ss], or NULL: the pinned address
 * is allowed, and otherwise any public one. */
static const char *connect_refusal(const Fetch *f, curlsocktype purpose, const struct sockaddr_storage *ss) {
  if (purpose != CURLSOCKTYPE_IPCXN) return "not an outgoing connection";
  const unsigned char *bytes = address_bytes(ss);
  if (bytes && f->pinned && ss->ss_family == f->pin_family &&
      memcmp(bytes, f->pin_addr, f->pin_family == AF_INET ? 4 : 16) == 0)
    return NULL;
  return fetch_address_refusal((const struct sockaddr *)ss);
}

/* libcurl's socket opener: the address is about to be connected to. Refuse
 * (CURL_SOCKET_BAD, the first reason kept for the error) unless the rule of
 * the hop allows it. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
  Fetch *f = ud;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  memcpy(&ss, &a->addr, a->addrlen < sizeof ss ? a->addrlen : sizeof ss);
  const char *why = connect_refusal(f, purpose, &ss);
  if (why) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (address_bytes(&ss)) inet_ntop(ss.ss_family, address_bytes(&ss), text, sizeof text);
    bool named = strcmp(text, f->host) != 0; /* reached through a name: say which */
    if (!f->refused[0])
      snprintf(f->refused, sizeof f->refused,
               "refused to connect to %s%s%s%s: %s; allow-list the address itself to allow it", text,
               named ? " (" : "", named ? f->host : "", named ? ")" : "", why);
    return CURL_SOCKET_BAD;
  }
  int fd = socket(a->family, a->socktype, a->protocol);
  if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd < 0 ? CURL_SOCKET_BAD : fd;
}

/* Body bytes, kept up to the cap (libcurl 7.88 does not cap bodies of
 * unknown length itself); past it the transfer is aborted. */
static size_t on_body(char *data, size_t size, size_t n, void *ud) {
  Fetch *f = ud;
  size_t len = size * n;
  if (len > f->max_bytes - f->len) {
    f->too_large = true;
    return 0; /* CURLE_WRITE_ERROR */
  }
  if (f->len + len + 1 > f->cap) {
    size_t cap = f->cap ? f->cap : 4096;
    while (cap < f->len + len + 1)
      cap *= 2;
    f->body = xrealloc(f->body, cap);
    f->cap = cap;
  }
  memcpy(f->body + f->len, data, len);
  f->len += len;
  return len;
}

/* Response header lines: the Location of the last response is kept. */
static size_t on_header(char *data, size_t size, size_t n, void *ud) {
  Fetch *f = ud;
  size_t len = size * n;
  if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
    free(f->location);
    f->location = NULL;
  } else if (len > 9 && strncasecmp(data, "location:", 9) == 0) {
    size_t i = 9;
    while (i < len && (data[i] == ' ' || data[i] == '\t'))
      i++;
    while (len > i && isspace((unsigned char)data[len - 1]))
      len--;
    free(f->location);
    f->location = xmalloc(len - i + 1);
    memcpy(f->location, data + i, len - i);
    f->location[len - i] = '\0';
  }
  return size * n;
}

/* Milliseconds left of the whole fetch's time limit. */
static long remaining_ms(const Fetch *f) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long spent = (long)(now.tv_sec - f->start.tv_sec) * 1000 + (now.tv_nsec - f->start.tv_nsec) / 1000000;
  return f->timeout_ms - spent;
}

/* The options every hop shares. */
static void set_options(Fetch *f) {
  const CurlApi *c = &f->api;
  c->easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, on_body);
  c->easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
  c->easy_setopt(f->easy, CURLOPT_HEADERFUNCTION, on_header);
  c->easy_setopt(f->easy, CURLOPT_HEADERDATA, f);
  c->easy_setopt(f->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  c->easy_setopt(f->easy, CURLOPT_OPENSOCKETDATA, f);
  c->easy_setopt(f->easy, CURLOPT_ERRORBUFFER, f->errbuf);
  c->easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L);
  c->easy_setopt(f->easy, CURLOPT_FOLLOWLOCATION, 0L);
  c->easy_setopt(f->easy, CURLOPT_PROXY, ""); /* never a proxy: the address checked is the peer's */
  c->easy_setopt(f->easy, CURLOPT_PROTOCOLS_STR, "https");
  c->easy_setopt(f->easy, CURLOPT_SSL_VERIFYPEER, 1L);
  c->easy_setopt(f->easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (f->cfg->ca_bundle) c->easy_setopt(f->easy, CURLOPT_CAINFO, f->cfg->ca_bundle);
  c->easy_setopt(f->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_bytes);
  c->easy_setopt(f->easy, CURLOPT_ACCEPT_ENCODING, ""); /* capped as decoded */
  c->easy_setopt(f->easy, CURLOPT_USERAGENT, "flow/" FLOW_VERSION);
}

/* The message for a hop that libcurl could not complete. */
static bool transfer_failed(Fetch *f, CURLcode rc, char *err, size_t errlen) {
  if (rc == CURLE_OPERATION_TIMEDOUT) return fail(f, err, errlen, "no reply within %ld ms", f->timeout_ms);
  if (f->too_large || rc == CURLE_FILESIZE_EXCEEDED)
    return fail(f, err, errlen, "the body is larger than %zu bytes", f->max_bytes);
  if (f->refused[0]) return fail(f, err, errlen, "%s", f->refused);
  const char *detail = f->errbuf[0] ? f->errbuf : f->api.easy_strerror(rc);
  if (rc == CURLE_PEER_FAILED_VERIFICATION)
    return fail(f, err, errlen, "expected a certificate trusted by %s, found: %s",
                f->cfg->ca_bundle ? f->cfg->ca_bundle : "the system's CAs", detail);
  return fail(f, err, errlen, "%s", detail);
}

/* Run the current hop; its status into [status]. */
static bool perform_hop(Fetch *f, long *status, char *err, size_t errlen) {
  long left = remaining_ms(f);
  if (left <= 0) return fail(f, err, errlen, "no reply within %ld ms", f->timeout_ms);
  f->len = 0;
  f->too_large = false;
  f->refused[0] = '\0';
  f->errbuf[0] = '\0';
  f->api.easy_setopt(f->easy, CURLOPT_CURLU, f->url);
  f->api.easy_setopt(f->easy, CURLOPT_TIMEOUT_MS, left);
  CURLcode rc = f->api.easy_perform(f->easy);
  if (rc != CURLE_OK) return transfer_failed(f, rc, err, errlen);
  f->api.easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, status);
  return true;
}

/* The current URL, redacted, into [out]. */
static void show_url(Fetch *f, char *out) {
  char *full = NULL;
  if (f->api.url_get(f->url, CURLUPART_URL, &full, 0) == CURLUE_OK) fetch_url_redact(full, out, URL_SHOWN);
  f->api.free(full);
}

/* Follow the redirect of the last response: resolve its Location against
 * the current URL, count the hop and check the target. */
static bool follow(Fetch *f, long status, char *err, size_t errlen) {
  char target[URL_SHOWN], what[URL_SHOWN + 32];
  if (!f->location || !f->location[0])
    return fail(f, err, errlen, "expected a Location header with the HTTP %ld redirect, found none", status);
  fetch_url_redact(f->location, target, sizeof target);
  if (f->api.url_set(f->url, CURLUPART_URL, f->location, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
    return fail(f, err, errlen, "redirect to %s: expected a URL", target);
  show_url(f, target);
  if (f->hops >= f->max_redirects)
    return fail(f, err, errlen, "redirect to %s: expected at most %d redirects, found more", target,
                f->max_redirects);
  snprintf(what, sizeof what, "redirect to %s: ", target);
  if (!check_target(f, what, err, errlen)) return false;
  f->hops++;
  memcpy(f->shown, target, sizeof f->shown);
  return true;
}

/* The hops, from the checked first URL to a 2xx reply. */
static bool run_hops(Fetch *f, char *err, size_t errlen) {
  for (;;) {
    long status = 0;
    if (!perform_hop(f, &status, err, errlen)) return false;
    if (status >= 200 && status < 300) return true;
    bool redirect = status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    if (!redirect) return fail(f, err, errlen, "expected a 2xx status, found HTTP %ld", status);
    if (!follow(f, status, err, errlen)) return false;
  }
}

/* The limits, with the defaults filled in. */
static void set_limits(Fetch *f, const FetchConfig *cfg) {
  f->cfg = cfg;
  f->max_bytes = cfg->max_bytes ? cfg->max_bytes : FETCH_DEFAULT_MAX_BYTES;
  f->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : FETCH_DEFAULT_TIMEOUT_MS;
  f->max_redirects = cfg->max_redirects > 0   ? cfg->max_redirects
                     : cfg->max_redirects < 0 ? 0
                                              : FETCH_DEFAULT_MAX_REDIRECTS;
  clock_gettime(CLOCK_MONOTONIC, &f->start);
}

/* Load libcurl, make the handles and check the URL asked for. */
static bool start(Fetch *f, const char *url, char *err, size_t errlen) {
  for (size_t i = 0; i < f->cfg->nallow; i++)
    if (!fetch_allow_entry_check(f->cfg->allow[i], err, errlen)) return false;
  if (!curl_api_open(&f->api, "http() context sources", err, errlen)) return false;
  f->easy = f->api.easy_init();
  f->url = f->api.url();
  if (!f->easy || !f->url) return fail(f, err, errlen, "libcurl could not create a transfer");
  if (f->api.url_set(f->url, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
    return fail(f, err, errlen, "expected an absolute https:// URL");
  show_url(f, f->shown);
  memcpy(f->first, f->shown, sizeof f->first);
  if (!check_target(f, "", err, errlen)) return false;
  set_options(f);
  return true;
}

bool fetch_get(const FetchConfig *cfg, const char *url, char **body, size_t *len, char *err, size_t errlen) {
  Fetch *f = xmalloc(sizeof *f);
  memset(f, 0, sizeof *f);
  set_limits(f, cfg);
  fetch_url_redact(url, f->shown, sizeof f->shown);
  memcpy(f->first, f->shown, sizeof f->first);
  bool ok = start(f, url, err, errlen) && run_hops(f, err, errlen);
  *body = NULL;
  *len = 0;
  if (ok) {
    *body = f->body ? xrealloc(f->body, f->len + 1) : xmalloc(1);
    (*body)[f->len] = '\0';
    *len = f->len;
    f->body = NULL;
  }
  free(f->body);
  free(f->location);
  if (f->api.lib) {
    if (f->url) f->api.url_cleanup(f->url);
    if (f->easy) f->api.easy_cleanup(f->easy);
    curl_api_close(&f->api);
  }
  free(f);
  return ok;
}
