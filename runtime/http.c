/* http.c - the libcurl multi engine (see http.h). */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "curl_api.h"
#include "textbuf.h"

/* One transfer: its easy handle, what it sends and what it has received. */
typedef struct Transfer {
  const CurlApi *api;
  CURL *easy;
  HttpResponse resp;
  size_t cap;               /* of resp.body */
  TextBuf hlines;           /* response header lines, each ending in a NUL */
  size_t nh;                /* how many */
  size_t max_body;
  char errbuf[CURL_ERROR_SIZE];
  struct Transfer *prev, *next; /* in the engine's list of transfers in flight */
} Transfer;

/* A request header set ready for libcurl. Calls of one binding send the same
 * headers, so each distinct set is made into a curl_slist once per engine
 * rather than once per transfer; there are at most as many sets as the
 * program has bindings. */
typedef struct HeaderSet {
  char *text;               /* the lines joined by '\n' (the key; may hold a secret, wiped on free) */
  size_t len;
  struct curl_slist *list;
} HeaderSet;

struct HttpEngine {
  CurlApi api;
  CURLM *multi;
  HttpConfig cfg;
  HeaderSet *sets;
  size_t nsets, sets_cap;
  Transfer *active;
  size_t nactive;
  CURL **idle;              /* easy handles kept for reuse (their caches survive curl_easy_reset) */
  size_t nidle, idle_cap;
  HttpResponse *done;       /* finished, not yet taken (a FIFO ring) */
  size_t done_head, done_len, done_cap;
};

/* libcurl is loaded and its global state initialised with the engine
 * (curl_global_init counts its callers). */
HttpEngine *http_engine_new(const HttpConfig *cfg, char *err, size_t errlen) {
  HttpEngine *e = xmalloc(sizeof *e);
  memset(e, 0, sizeof *e);
  if (!curl_api_open(&e->api, "network providers", err, errlen)) {
    free(e);
    return NULL;
  }
  e->cfg = *cfg;
  if (!e->cfg.max_connections) e->cfg.max_connections = 256;
  if (!e->cfg.max_body) e->cfg.max_body = (size_t)32 << 20;
  e->multi = e->api.multi_init();
  if (!e->multi) {
    curl_api_close(&e->api);
    free(e);
    snprintf(err, errlen, "libcurl could not create a multi handle");
    return NULL;
  }
  e->api.multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)e->cfg.max_connections);
  e->api.multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)e->cfg.max_connections);
  e->api.multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)e->cfg.max_connections);
  e->api.multi_setopt(e->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  return e;
}

static void transfer_free(Transfer *t) {
  if (t->easy) t->api->easy_cleanup(t->easy);
  free(t->hlines.data);
  http_response_free(&t->resp);
  free(t);
}

void http_engine_free(HttpEngine *e, void (*abandon)(void *user)) {
  if (!e) return;
  for (Transfer *t = e->active, *next; t; t = next) {
    next = t->next;
    e->api.multi_remove_handle(e->multi, t->easy);
    if (abandon) abandon(t->resp.user);
    transfer_free(t);
  }
  for (size_t i = 0; i < e->nidle; i++) e->api.easy_cleanup(e->idle[i]);
  free(e->idle);
  for (size_t i = 0; i < e->nsets; i++) {
    memset(e->sets[i].text, 0, e->sets[i].len);
    free(e->sets[i].text);
    e->api.slist_free_all(e->sets[i].list);
  }
  free(e->sets);
  while (e->done_len) {
    if (abandon) abandon(e->done[e->done_head].user);
    http_response_free(&e->done[e->done_head]);
    e->done_head = (e->done_head + 1) % e->done_cap;
    e->done_len--;
  }
  free(e->done);
  e->api.multi_cleanup(e->multi);
  curl_api_close(&e->api);
  free(e);
}

/* Body bytes: kept up to the cap; past it the transfer is aborted (libcurl
 * 7.88 does not cap bodies of unknown length itself). */
static size_t on_body(char *data, size_t size, size_t n, void *ud) {
  Transfer *t = ud;
  size_t len = size * n;
  if (t->resp.len + len > t->max_body) {
    t->resp.too_large = true;
    return 0; /* CURLE_WRITE_ERROR */
  }
  if (t->resp.len + len + 1 > t->cap) {
    /* the first block exactly (most replies arrive in one), then doubling */
    size_t cap = t->cap ? t->cap * 2 : len + 1;
    while (cap < t->resp.len + len + 1) cap *= 2;
    t->resp.body = xrealloc(t->resp.body, cap);
    t->cap = cap;
  }
  memcpy(t->resp.body + t->resp.len, data, len);
  t->resp.len += len;
  t->resp.body[t->resp.len] = '\0';
  return len;
}

/* Response headers, one line at a time (the status line included; a new
 * response after a redirect or 100-continue starts the list again), kept in
 * one buffer; the first HTTP_MAX_HEADERS lines are kept. */
static size_t on_header(char *data, size_t size, size_t n, void *ud) {
  Transfer *t = ud;
  size_t len = size * n;
  while (len && (data[len - 1] == '\n' || data[len - 1] == '\r')) len--;
  if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
    t->hlines.len = 0;
    t->nh = 0;
  }
  if (len == 0 || t->nh >= HTTP_MAX_HEADERS) return size * n;
  tb_reserve(&t->hlines, len + 1);
  char *line = t->hlines.data + t->hlines.len;
  tb_put(&t->hlines, data, len);
  tb_putc(&t->hlines, '\0');
  for (size_t i = 0; i < len; i++) /* a NUL is not HTTP; it would end the line early */
    if (!line[i]) line[i] = ' ';
  t->nh++;
  return size * n;
}

/* Hand the header lines over to the response: one block and an array of
 * pointers into it. */
static void take_headers(Transfer *t) {
  HttpResponse *r = &t->resp;
  if (!t->nh) return;
  r->header_block = tb_take(&t->hlines);
  r->headers = xmalloc(t->nh * sizeof *r->headers);
  char *line = r->header_block;
  for (size_t i = 0; i < t->nh; i++) {
    r->headers[i] = line;
    line += strlen(line) + 1;
  }
  r->nheaders = t->nh;
}

/* The curl_slist for `req`'s headers (and "Expect:", which turns off the
 * 100-continue round trip): the engine's copy of that set, made on first
 * use. */
static struct curl_slist *header_list(HttpEngine *e, const HttpRequest *req) {
  TextBuf key = {0};
  tb_reserve(&key, 0);
  for (size_t i = 0; i < req->nheaders; i++) {
    tb_puts(&key, req->headers[i]);
    tb_putc(&key, '\n');
  }
  for (size_t i = 0; i < e->nsets; i++) {
    if (e->sets[i].len == key.len && !memcmp(e->sets[i].text, key.data, key.len)) {
      memset(key.data, 0, key.len);
      free(key.data);
      return e->sets[i].list;
    }
  }
  struct curl_slist *list = NULL;
  for (size_t i = 0; i < req->nheaders; i++) list = e->api.slist_append(list, req->headers[i]);
  list = e->api.slist_append(list, "Expect:");
  if (e->nsets == e->sets_cap) {
    e->sets_cap = e->sets_cap ? e->sets_cap * 2 : 4;
    e->sets = xrealloc(e->sets, e->sets_cap * sizeof *e->sets);
  }
  e->sets[e->nsets++] = (HeaderSet){key.data, key.len, list};
  return list;
}

bool http_submit(HttpEngine *e, const HttpRequest *req, long timeout_ms, void *user, char *err, size_t errlen) {
  Transfer *t = xmalloc(sizeof *t);
  memset(t, 0, sizeof *t);
  t->api = &e->api;
  if (e->nidle) {
    t->easy = e->idle[--e->nidle];
    e->api.easy_reset(t->easy);
  } else {
    t->easy = e->api.easy_init();
  }
  if (!t->easy) {
    free(t);
    snprintf(err, errlen, "libcurl could not create a transfer");
    return false;
  }
  t->max_body = e->cfg.max_body;
  t->resp.user = user;
  CURL *c = t->easy;
  e->api.easy_setopt(c, CURLOPT_URL, req->url);
  e->api.easy_setopt(c, CURLOPT_POST, 1L);
  e->api.easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
  e->api.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
  e->api.easy_setopt(c, CURLOPT_HTTPHEADER, header_list(e, req));
  e->api.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  e->api.easy_setopt(c, CURLOPT_WRITEDATA, t);
  e->api.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  e->api.easy_setopt(c, CURLOPT_HEADERDATA, t);
  e->api.easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
  e->api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  e->api.easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  e->api.easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  e->api.easy_setopt(c, CURLOPT_BUFFERSIZE, 4096L); /* replies are small; 256 in flight x 16 KB adds up */
  e->api.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  e->api.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  e->api.easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  e->api.easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
  e->api.easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* whatever libcurl can decode */
  e->api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (e->cfg.ca_bundle) e->api.easy_setopt(c, CURLOPT_CAINFO, e->cfg.ca_bundle);
  if (timeout_ms > 0) e->api.easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  e->api.easy_setopt(c, CURLOPT_PRIVATE, t);
  if (e->api.multi_add_handle(e->multi, c) != CURLM_OK) {
    transfer_free(t);
    snprintf(err, errlen, "libcurl could not start the transfer");
    return false;
  }
  t->next = e->active;
  if (e->active) e->active->prev = t;
  e->active = t;
  e->nactive++;
  return true;
}

size_t http_in_flight(const HttpEngine *e) { return e->nactive; }

static void push_done(HttpEngine *e, HttpResponse r) {
  if (e->done_len == e->done_cap) {
    size_t cap = e->done_cap ? e->done_cap * 2 : 64;
    HttpResponse *q = xmalloc(cap * sizeof *q);
    for (size_t i = 0; i < e->done_len; i++) q[i] = e->done[(e->done_head + i) % e->done_cap];
    free(e->done);
    e->done = q;
    e->done_head = 0;
    e->done_cap = cap;
  }
  e->done[(e->done_head + e->done_len++) % e->done_cap] = r;
}

/* Move finished transfers from curl to the done queue. */
static void collect(HttpEngine *e) {
  CURLMsg *msg;
  int left;
  while ((msg = e->api.multi_info_read(e->multi, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer *t = NULL;
    e->api.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    CURLcode rc = msg->data.result;
    e->api.multi_remove_handle(e->multi, t->easy);
    if (t->prev) t->prev->next = t->next;
    else e->active = t->next;
    if (t->next) t->next->prev = t->prev;
    e->nactive--;
    HttpResponse *r = &t->resp;
    take_headers(t);
    double secs = 0;
    e->api.easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &secs);
    r->elapsed_ms = secs * 1e3;
    e->api.easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r->status);
    if (rc == CURLE_OK) {
      r->transport_ok = true;
      if (!r->body) {
        r->body = xmalloc(1);
        r->body[0] = '\0';
      }
    } else {
      r->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
      snprintf(r->error, sizeof r->error, "%s", r->too_large ? "the response is larger than the limit"
                                                : t->errbuf[0] ? t->errbuf : e->api.easy_strerror(rc));
    }
    push_done(e, *r);
    memset(r, 0, sizeof *r); /* moved */
    if (e->nidle < e->cfg.max_connections) { /* keep the handle for the next transfer */
      if (e->nidle == e->idle_cap) {
        e->idle_cap = e->idle_cap ? e->idle_cap * 2 : 64;
        e->idle = xrealloc(e->idle, e->idle_cap * sizeof *e->idle);
      }
      e->idle[e->nidle++] = t->easy;
      t->easy = NULL;
    }
    transfer_free(t);
  }
}

void http_wait(HttpEngine *e, int timeout_ms) {
  int running = 0;
  e->api.multi_perform(e->multi, &running);
  collect(e);
  if (e->done_len || !e->nactive) return;
  e->api.multi_poll(e->multi, NULL, 0, timeout_ms, NULL);
  e->api.multi_perform(e->multi, &running);
  collect(e);
}

bool http_take(HttpEngine *e, HttpResponse *out) {
  if (!e->done_len) return false;
  *out = e->done[e->done_head];
  e->done_head = (e->done_head + 1) % e->done_cap;
  e->done_len--;
  return true;
}

void http_response_free(HttpResponse *r) {
  free(r->body);
  free(r->header_block);
  free(r->headers);
  memset(r, 0, sizeof *r);
}
