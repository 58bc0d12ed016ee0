/* url.c - a URL's authority, host and port (see url.h). */
#include "url.h"

#include <string.h>

void url_authority(const char *url, const char **auth, size_t *len) {
  const char *sep = strstr(url, "://");
  const char *p = sep && (size_t)(sep - url) < strcspn(url, "/?#") ? sep + 3 : url;
  size_t n = strcspn(p, "/?#");
  for (size_t i = n; i-- > 0;) /* user information ends at the last '@' */
    if (p[i] == '@') {
      n -= i + 1;
      p += i + 1;
      break;
    }
  *auth = p;
  *len = n;
}

const char *url_host_port(const char *a, size_t n, HostPort *hp) {
  memset(hp, 0, sizeof *hp);
  const char *colon;
  if (n && a[0] == '[') {
    const char *close = memchr(a, ']', n);
    if (!close) return "expected `]` after an IPv6 address";
    hp->host = a + 1;
    hp->host_len = (size_t)(close - a - 1);
    hp->bracketed = true;
    size_t after = n - (size_t)(close + 1 - a);
    if (after && close[1] != ':') return "expected `:port` or nothing after `]`";
    colon = after ? close + 1 : NULL;
  } else {
    colon = memchr(a, ':', n);
    hp->host = a;
    hp->host_len = colon ? (size_t)(colon - a) : n;
  }
  if (colon) {
    hp->port = colon + 1;
    hp->port_len = n - (size_t)(colon + 1 - a);
  }
  return NULL;
}

bool url_port(const char *s, size_t n, unsigned *port) {
  unsigned long v = 0;
  if (n == 0 || n > 5) return false;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (unsigned long)(s[i] - '0');
  }
  if (v == 0 || v > 65535) return false;
  if (port) *port = (unsigned)v;
  return true;
}
