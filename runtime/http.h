/* http.h - the HTTP engine: many requests in flight on one thread, over
 * libcurl's multi interface.
 *
 * The scheduler submits HttpRequests (built by provider.c) and, when it has
 * nothing to run, waits here for transfers to progress; finished transfers
 * come back through http_take in completion order (the scheduler restores
 * program order itself). Connections are reused (keep-alive; HTTP/2
 * multiplexing when the server offers it), at most `max_connections` at once.
 * TLS peers are always verified. Response bodies are capped while they
 * arrive, whether or not the server announced a length. The proxy variables
 * (http_proxy, https_proxy, no_proxy) are honoured, as libcurl does. Nothing
 * here ever prints a request: keys travel in headers only. */
#ifndef FLOW_HTTP_H
#define FLOW_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provider.h"

/* Response header lines kept per transfer (the status line counts; the rest
 * are ignored). */
#define HTTP_MAX_HEADERS 256

typedef struct HttpConfig {
  uint32_t max_connections;   /* total and per host (default 256) */
  size_t max_body;            /* response bytes kept; more aborts the transfer (default 32 MiB) */
  const char *ca_bundle;      /* a CA bundle file, or NULL for the system's */
} HttpConfig;

typedef struct HttpResponse {
  void *user;                 /* what http_submit was given */
  bool transport_ok;          /* an HTTP response arrived (any status) */
  bool timed_out;
  bool too_large;             /* the body exceeded max_body */
  long status;
  char *body;                 /* NUL-terminated, owned */
  size_t len;
  char **headers;             /* "Name: value" lines (the status line first), pointing into header_block */
  size_t nheaders;
  char *header_block;         /* owned */
  char error[256];            /* when !transport_ok: what went wrong */
  double elapsed_ms;
} HttpResponse;

typedef struct HttpEngine HttpEngine;

/* A new engine, or NULL with a message when libcurl cannot start. */
HttpEngine *http_engine_new(const HttpConfig *cfg, char *err, size_t errlen);
/* Free the engine, abandoning transfers still in flight; `abandon` (if not
 * NULL) is called with the user pointer of each, finished or not. */
void http_engine_free(HttpEngine *e, void (*abandon)(void *user));

/* Start sending `req` with a time limit (0: none); `user` comes back in the
 * response. The URL and headers are copied; the body is read in place, so it
 * must stay unchanged until the response is taken. False with a message when
 * the transfer cannot start. */
bool http_submit(HttpEngine *e, const HttpRequest *req, long timeout_ms, void *user, char *err, size_t errlen);
size_t http_in_flight(const HttpEngine *e);
/* Let transfers progress, waiting at most `timeout_ms` for activity. */
void http_wait(HttpEngine *e, int timeout_ms);
/* The next finished transfer, if any (free it with http_response_free). */
bool http_take(HttpEngine *e, HttpResponse *out);
void http_response_free(HttpResponse *r);

#endif
