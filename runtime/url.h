/* url.h - the authority of a URL as several modules read it: where it is,
 * and its host and port, with IPv6 addresses in brackets. One reading for
 * the providers' loopback check, the OTLP collector's URL and the http
 * sources' allow-list entries. */
#ifndef FLOW_URL_H
#define FLOW_URL_H

#include <stdbool.h>
#include <stddef.h>

/* A host and an optional port within an authority. */
typedef struct HostPort {
  const char *host;         /* without the brackets of an IPv6 address */
  size_t host_len;
  bool bracketed;           /* the host was written [like:this] */
  const char *port;         /* the digits after ':', or NULL when there is no ':' */
  size_t port_len;
} HostPort;

/* The authority of `url`: after "scheme://" (the whole URL when it has no
 * scheme), before its path, query or fragment, without user information. */
void url_authority(const char *url, const char **auth, size_t *len);

/* Split the authority a[0..n) into host and port. NULL when it reads, else
 * what was expected (an unclosed `[`, something after `]` but a port). */
const char *url_host_port(const char *a, size_t n, HostPort *hp);

/* s[0..n) as a decimal port from 1 to 65535 (into *port when not NULL). */
bool url_port(const char *s, size_t n, unsigned *port);

#endif
