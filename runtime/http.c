/* http.c - the libcurl multi engine (see http.h). */
#include "http.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* libcurl, loaded when the first engine starts: offline runs never load it
 * (nor the TLS, HTTP/2 and other libraries it pulls in), which keeps their
 * start-up at a millisecond. */
typedef struct CurlApi {
  void *lib;
  CURLcode (*global_init)(long flags);
  void (*global_cleanup)(void);
  CURL *(*easy_init)(void);
  void (*easy_cleanup)(CURL *c);
  void (*easy_reset)(CURL *c);
  CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
  CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
  const char *(*easy_strerror)(CURLcode code);
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_cleanup)(CURLM *m);
  CURLMcode (*multi_setopt)(CURLM *m, CURLMoption opt, ...);
  CURLMcode (*multi_add_handle)(CURLM *m, CURL *c);
  CURLMcode (*multi_remove_handle)(CURLM *m, CURL *c);
  CURLMcode (*multi_perform)(CURLM *m, int *running);
  CURLMcode (*multi_poll)(CURLM *m, struct curl_waitfd fds[], unsigned n, int timeout_ms, int *ret);
  CURLMsg *(*multi_info_read)(CURLM *m, int *left);
  struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
  void (*slist_free_all)(struct curl_slist *l);
} CurlApi;

/* Load libcurl and find its functions; false with a message when it is not
 * installed. */
static bool curl_api_load(CurlApi *api, char *err, size_t errlen) {
  memset(api, 0, sizeof *api);
  api->lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!api->lib) {
    snprintf(err, errlen, "network providers need libcurl (libcurl.so.4), which could not be loaded: %s", dlerror());
    return false;
  }
  struct { const char *name; void **slot; } syms[] = {
#define SYM(field) {"curl_" #field, (void **)&api->field}
      SYM(global_init), SYM(global_cleanup), SYM(easy_init), SYM(easy_cleanup), SYM(easy_reset),
      SYM(easy_setopt), SYM(easy_getinfo), SYM(easy_strerror), SYM(multi_init), SYM(multi_cleanup),
      SYM(multi_setopt), SYM(multi_add_handle), SYM(multi_remove_handle), SYM(multi_perform), SYM(multi_poll),
      SYM(multi_info_read), SYM(slist_append), SYM(slist_free_all),
#undef SYM
  };
  for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
    *syms[i].slot = dlsym(api->lib, syms[i].name);
    if (!*syms[i].slot) {
      snprintf(err, errlen, "libcurl.so.4 lacks %s (expected libcurl 7.66 or newer)", syms[i].name);
      dlclose(api->lib);
      api->lib = NULL;
      return false;
    }
  }
  return true;
}

/* One transfer: its easy handle, what it sends and what it has received. */
typedef struct Transfer {
  const CurlApi *api;
  CURL *easy;
  struct curl_slist *headers;
  char *body;               /* the request body (curl reads it in place) */
  size_t body_len;
  HttpResponse resp;
  size_t cap;               /* of resp.body */
  size_t hcap;              /* of resp.headers */
  size_t max_body;
  char errbuf[CURL_ERROR_SIZE];
  struct Transfer *prev, *next; /* in the engine's list of transfers in flight */
} Transfer;

struct HttpEngine {
  CurlApi api;
  CURLM *multi;
  HttpConfig cfg;
  Transfer *active;
  size_t nactive;
  CURL **idle;              /* easy handles kept for reuse (their caches survive curl_easy_reset) */
  size_t nidle, idle_cap;
  HttpResponse *done;       /* finished, not yet taken (a FIFO ring) */
  size_t done_head, done_len, done_cap;
};

/* libcurl's global state is initialised with the engine (curl_global_init
 * counts its callers); the engine is its only user. */
HttpEngine *http_engine_new(const HttpConfig *cfg, char *err, size_t errlen) {
  HttpEngine *e = xmalloc(sizeof *e);
  memset(e, 0, sizeof *e);
  if (!curl_api_load(&e->api, err, errlen)) {
    free(e);
    return NULL;
  }
  if (e->api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(err, errlen, "libcurl failed to initialise");
    dlclose(e->api.lib);
    free(e);
    return NULL;
  }
  e->cfg = *cfg;
  if (!e->cfg.max_connections) e->cfg.max_connections = 256;
  if (!e->cfg.max_body) e->cfg.max_body = (size_t)32 << 20;
  e->multi = e->api.multi_init();
  if (!e->multi) {
    e->api.global_cleanup();
    dlclose(e->api.lib);
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
  t->api->slist_free_all(t->headers);
  if (t->body) memset(t->body, 0, t->body_len);
  free(t->body);
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
  while (e->done_len) {
    if (abandon) abandon(e->done[e->done_head].user);
    http_response_free(&e->done[e->done_head]);
    e->done_head = (e->done_head + 1) % e->done_cap;
    e->done_len--;
  }
  free(e->done);
  e->api.multi_cleanup(e->multi);
  e->api.global_cleanup();
  dlclose(e->api.lib);
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
    size_t cap = t->cap ? t->cap : 4096;
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
 * response after a redirect or 100-continue starts the list again). */
static size_t on_header(char *data, size_t size, size_t n, void *ud) {
  Transfer *t = ud;
  size_t len = size * n;
  while (len && (data[len - 1] == '\n' || data[len - 1] == '\r')) len--;
  if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
    for (size_t i = 0; i < t->resp.nheaders; i++) free(t->resp.headers[i]);
    t->resp.nheaders = 0;
  }
  if (len == 0 || t->resp.nheaders >= 256) return size * n;
  if (t->resp.nheaders == t->hcap) {
    t->hcap = t->hcap ? t->hcap * 2 : 16;
    t->resp.headers = xrealloc(t->resp.headers, t->hcap * sizeof *t->resp.headers);
  }
  char *h = xmalloc(len + 1);
  memcpy(h, data, len);
  h[len] = '\0';
  t->resp.headers[t->resp.nheaders++] = h;
  return size * n;
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
  t->body = xmalloc(req->body_len + 1);
  memcpy(t->body, req->body, req->body_len);
  t->body[req->body_len] = '\0';
  t->body_len = req->body_len;
  for (size_t i = 0; i < req->nheaders; i++) t->headers = e->api.slist_append(t->headers, req->headers[i]);
  t->headers = e->api.slist_append(t->headers, "Expect:"); /* no 100-continue round trip */
  CURL *c = t->easy;
  e->api.easy_setopt(c, CURLOPT_URL, req->url);
  e->api.easy_setopt(c, CURLOPT_POST, 1L);
  e->api.easy_setopt(c, CURLOPT_POSTFIELDS, t->body);
  e->api.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body_len);
  e->api.easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
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
  for (size_t i = 0; i < r->nheaders; i++) free(r->headers[i]);
  free(r->headers);
  memset(r, 0, sizeof *r);
}
