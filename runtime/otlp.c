/* otlp.c - the OTLP/HTTP JSON trace exporter (see otlp.h): the collector
 * URL and headers, the ids, spans written straight to their wire text with
 * json_write, and batches POSTed through the HTTP engine (runtime/http.c). */
#include "otlp.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arena.h"
#include "fetch.h"
#include "http.h"
#include "json_write.h"
#include "sha256.h"
#include "textbuf.h"
#include "url.h"

#define URL_SHOWN 512
#define RETRY_PAUSE_MS 250
#define MAX_REPLY (1u << 20) /* a collector's reply is a small JSON object */
#define MAX_TIMEOUT_MS 3600000L
#define ENVELOPE_TAIL "]}]}]}"

enum { KIND_INTERNAL = 1, KIND_CLIENT = 3 };
enum { STATUS_OK = 1, STATUS_ERROR = 2 };

struct OtlpExporter {
  char *run_id;
  char shown[URL_SHOWN]; /* the URL as messages show it */
  char trace_id[OTLP_TRACE_ID_HEX];
  long timeout_ms;
  size_t batch;
  HttpEngine *http;
  HttpRequest req;               /* the URL and headers; the body is set per batch */
  TextBuf head;                  /* the request body up to the spans */
  TextBuf spans;                 /* buffered spans, comma-separated */
  JsonWriter w;                  /* writes into [spans] */
  size_t nbuf;                   /* spans in [spans] */
  uint64_t total, lost;          /* spans handed over; spans not delivered */
  bool broken;                   /* a batch failed: later spans are dropped */
  char why[512];                 /* the first failure's reason, "" while there is none */
  char failure[URL_SHOWN + 544]; /* ... and with the URL, as otlp_failure gives it */
};

/* ---- ids ---------------------------------------------------------------- */

/* The SHA-256 of [tag], [run_id] and (item, seq), as hex, the first [n]
 * digits kept (never all zeros). */
static void derive_id(const char *tag, const char *run_id, int64_t item, int64_t seq, char *hex, size_t n) {
  Sha256 s;
  unsigned char digest[SHA256_DIGEST_SIZE], num[16];
  char full[SHA256_HEX_SIZE];
  const char *id = run_id ? run_id : "";
  for (int i = 0; i < 8; i++) {
    num[i] = (unsigned char)((uint64_t)item >> (56 - 8 * i));
    num[8 + i] = (unsigned char)((uint64_t)seq >> (56 - 8 * i));
  }
  sha256_init(&s);
  sha256_update(&s, tag, strlen(tag) + 1);
  sha256_update(&s, id, strlen(id) + 1);
  sha256_update(&s, num, sizeof num);
  sha256_final(&s, digest);
  sha256_hex(digest, full);
  memcpy(hex, full, n);
  hex[n] = '\0';
  if (strspn(hex, "0") == n) hex[n - 1] = '1'; /* an all-zero id is invalid in OTLP */
}

void otlp_trace_id(const char *run_id, char hex[OTLP_TRACE_ID_HEX]) {
  derive_id("flow trace", run_id, OTLP_NONE, OTLP_NONE, hex, OTLP_TRACE_ID_HEX - 1);
}

void otlp_span_id(const char *run_id, int64_t item, int64_t seq, char hex[OTLP_SPAN_ID_HEX]) {
  derive_id("flow span", run_id, item, seq, hex, OTLP_SPAN_ID_HEX - 1);
}

uint64_t otlp_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the URL ------------------------------------------------------------ */

/* Check the authority [a] (n bytes, without user information): a host and
 * an optional port. NULL when fine, else what was expected. */
static const char *authority_problem(const char *a, size_t n) {
  HostPort hp;
  const char *problem = url_host_port(a, n, &hp);
  if (problem) return problem;
  if (hp.host_len == 0 && !hp.bracketed) return "expected a host name or address after the scheme";
  if (hp.port && !url_port(hp.port, hp.port_len, NULL)) return "expected a port from 1 to 65535";
  return NULL;
}

/* What is wrong with the scheme and authority of [url], into [why] (NULL
 * when they are fine); the authority's start (after any user information)
 * and length into [auth] and [alen]. */
static bool url_problem(const char *url, const char **auth, size_t *alen, char *why, size_t whylen) {
  for (const char *p = url; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f)
      return snprintf(why, whylen, "expected a URL without spaces or control characters"), true;
  const char *sep = strstr(url, "://");
  if (!sep || strcspn(url, "/?#") < (size_t)(sep - url))
    return snprintf(why, whylen, "expected an http:// or https:// URL (http://localhost:4318)"), true;
  size_t slen = (size_t)(sep - url);
  if (!((slen == 4 && !strncasecmp(url, "http", 4)) || (slen == 5 && !strncasecmp(url, "https", 5))))
    return snprintf(why, whylen, "expected the scheme http or https, found %.*s",
                    (int)(slen < 32 ? slen : 32), url),
           true;
  url_authority(url, auth, alen);
  const char *problem = authority_problem(*auth, *alen);
  if (problem) return snprintf(why, whylen, "%s", problem), true;
  return false;
}

/* Check [url] and make the URL to POST to ([out], malloc'd): the traces
 * path appended when the URL has none. */
static bool collector_url(const char *url, char **out, char *err, size_t errlen) {
  char shown[URL_SHOWN], why[160];
  const char *auth;
  size_t alen;
  if (!url || !*url) {
    snprintf(err, errlen, "OTLP: expected a collector URL such as http://localhost:4318, found nothing");
    return false;
  }
  if (url_problem(url, &auth, &alen, why, sizeof why)) {
    fetch_url_redact(url, shown, sizeof shown);
    snprintf(err, errlen, "OTLP collector `%s`: %s", shown, why);
    return false;
  }
  const char *rest = auth + alen;
  bool no_path = rest[0] != '/' || rest[1] == '\0' || rest[1] == '?' || rest[1] == '#';
  TextBuf b = {0};
  tb_put(&b, url, (size_t)(rest - url));
  if (no_path) {
    tb_puts(&b, "/v1/traces");
    if (rest[0] == '/') rest++;
  }
  tb_puts(&b, rest);
  *out = tb_take(&b);
  return true;
}

/* ---- headers ------------------------------------------------------------ */

/* Append the header line [line] (taken over) to the request. */
static void add_header(HttpRequest *req, char *line) {
  req->headers = xrealloc(req->headers, (req->nheaders + 1) * sizeof *req->headers);
  req->headers[req->nheaders++] = line;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = (char)tolower((unsigned char)c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* [s] (n bytes) without the blanks at either end. */
static void trim(const char **s, size_t *n) {
  while (*n && isblank((unsigned char)**s))
    (*s)++, (*n)--;
  while (*n && isblank((unsigned char)(*s)[*n - 1]))
    (*n)--;
}

static bool token_char(unsigned char c) { return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c)); }

/* One "key=value" entry (n bytes) as the header line "key: value" into
 * [line]; NULL when fine, else what was expected (never quoting it: the
 * value may be a key). */
static const char *header_entry(const char *s, size_t n, TextBuf *line) {
  const char *eq = memchr(s, '=', n);
  if (!eq) return "expected key=value, found no `=`";
  const char *key = s, *val = eq + 1;
  size_t klen = (size_t)(eq - s), vlen = n - klen - 1;
  trim(&key, &klen);
  trim(&val, &vlen);
  if (!klen) return "expected a header name before `=`";
  for (size_t i = 0; i < klen; i++)
    if (!token_char((unsigned char)key[i]))
      return "expected a header name of letters, digits and !#$%&'*+-.^_`|~";
  tb_put(line, key, klen);
  tb_put(line, ": ", 2);
  for (size_t i = 0; i < vlen; i++) {
    char c = val[i];
    if (c == '%' && i + 2 < vlen && hex_digit(val[i + 1]) >= 0 && hex_digit(val[i + 2]) >= 0) {
      c = (char)(hex_digit(val[i + 1]) * 16 + hex_digit(val[i + 2]));
      i += 2;
    }
    if (c == '\r' || c == '\n' || c == '\0') return "expected a value without line breaks or NUL";
    tb_putc(line, c);
  }
  return NULL;
}

/* Overwrite and free a buffer that may hold a secret. */
static void wipe(TextBuf *b) {
  if (b->data) memset(b->data, 0, b->cap);
  free(b->data);
  memset(b, 0, sizeof *b);
}

/* The OTEL_EXPORTER_OTLP_HEADERS-style list [spec] as header lines. */
static bool parse_headers(const char *spec, HttpRequest *req, char *err, size_t errlen) {
  size_t entry = 0;
  for (const char *p = spec; p && *p;) {
    size_t n = strcspn(p, ",");
    const char *s = p;
    size_t len = n;
    p += n + (p[n] == ',');
    entry++;
    trim(&s, &len);
    if (!len) continue;
    TextBuf line = {0};
    const char *why = header_entry(s, len, &line);
    if (why) {
      wipe(&line);
      snprintf(err, errlen, "OTLP headers: entry %zu: %s", entry, why);
      return false;
    }
    add_header(req, tb_take(&line));
  }
  return true;
}

static void free_request(HttpRequest *req) {
  for (size_t i = 0; i < req->nheaders; i++) {
    memset(req->headers[i], 0, strlen(req->headers[i]));
    free(req->headers[i]);
  }
  free(req->headers);
  free(req->url);
  memset(req, 0, sizeof *req);
}

/* ---- attributes and spans ----------------------------------------------- */

/* {"key":KEY,"value":{TYPE: ... — the caller writes the value, then
 * attr_end. */
static void attr_begin(JsonWriter *w, const char *key, const char *type) {
  jw_object(w);
  jw_key(w, "key");
  jw_cstring(w, key);
  jw_key(w, "value");
  jw_object(w);
  jw_key(w, type);
}

static void attr_end(JsonWriter *w) {
  jw_end_object(w);
  jw_end_object(w);
}

static void attr_str(JsonWriter *w, const char *key, const char *v) {
  if (!v) return;
  attr_begin(w, key, "stringValue");
  jw_cstring(w, v);
  attr_end(w);
}

/* 64-bit integers are decimal strings in OTLP/JSON. */
static void put_u64(JsonWriter *w, uint64_t v) {
  char num[24];
  snprintf(num, sizeof num, "%" PRIu64, v);
  jw_cstring(w, num);
}

static void attr_int(JsonWriter *w, const char *key, int64_t v) {
  char num[24];
  snprintf(num, sizeof num, "%" PRId64, v);
  attr_begin(w, key, "intValue");
  jw_cstring(w, num);
  attr_end(w);
}

static void attr_double(JsonWriter *w, const char *key, double v) {
  if (!isfinite(v)) return;
  attr_begin(w, key, "doubleValue");
  jw_real(w, v);
  attr_end(w);
}

static void attr_bool(JsonWriter *w, const char *key, bool v) {
  attr_begin(w, key, "boolValue");
  jw_bool(w, v);
  attr_end(w);
}

/* A string array of one element. */
static void attr_str_list1(JsonWriter *w, const char *key, const char *v) {
  if (!v || !*v) return;
  attr_begin(w, key, "arrayValue");
  jw_object(w);
  jw_key(w, "values");
  jw_array(w);
  jw_object(w);
  jw_key(w, "stringValue");
  jw_cstring(w, v);
  jw_end_object(w);
  jw_end_array(w);
  jw_end_object(w);
  attr_end(w);
}

/* Where a span sits: its own (item, seq), its parent's, its name (two
 * parts, joined by a space when the second is there) and kind and times. */
typedef struct SpanHead {
  int64_t item, seq;
  bool has_parent;
  int64_t parent_item, parent_seq;
  const char *name, *name_rest;
  int kind;
  uint64_t start_ns, end_ns;
} SpanHead;

/* Whether a span is to be written: false (the span counted as lost) once
 * the exporter has given up, or without one. */
static bool span_wanted(OtlpExporter *e) {
  if (!e) return false;
  e->total++;
  if (!e->broken) return true;
  e->lost++;
  return false;
}

/* The span's fields up to its open attribute list. */
static void span_begin(OtlpExporter *e, const SpanHead *h) {
  JsonWriter *w = &e->w;
  char id[OTLP_SPAN_ID_HEX];
  jw_object(w);
  jw_key(w, "traceId");
  jw_cstring(w, e->trace_id);
  otlp_span_id(e->run_id, h->item, h->seq, id);
  jw_key(w, "spanId");
  jw_cstring(w, id);
  if (h->has_parent) {
    otlp_span_id(e->run_id, h->parent_item, h->parent_seq, id);
    jw_key(w, "parentSpanId");
    jw_cstring(w, id);
  }
  TextBuf name = {0};
  tb_puts(&name, h->name);
  if (h->name_rest && *h->name_rest) {
    tb_putc(&name, ' ');
    tb_puts(&name, h->name_rest);
  }
  jw_key(w, "name");
  jw_string(w, name.data, name.len);
  free(name.data);
  jw_key(w, "kind");
  jw_int(w, h->kind);
  jw_key(w, "startTimeUnixNano");
  put_u64(w, h->start_ns);
  jw_key(w, "endTimeUnixNano");
  put_u64(w, h->end_ns < h->start_ns ? h->start_ns : h->end_ns);
  jw_key(w, "attributes");
  jw_array(w);
}

static void flush(OtlpExporter *e);

/* Close the attribute list, write the status (error with [error] as its
 * message, else ok) and count the span; a full batch is sent. */
static void span_end(OtlpExporter *e, const char *error) {
  JsonWriter *w = &e->w;
  jw_end_array(w);
  jw_key(w, "status");
  jw_object(w);
  jw_key(w, "code");
  jw_int(w, error ? STATUS_ERROR : STATUS_OK);
  if (error) {
    jw_key(w, "message");
    jw_cstring(w, error);
  }
  jw_end_object(w);
  jw_end_object(w);
  if (++e->nbuf >= e->batch) flush(e);
}

void otlp_run_span(OtlpExporter *e, const OtlpRun *r) {
  if (!r || !span_wanted(e)) return;
  SpanHead h = {OTLP_NONE,  OTLP_NONE,  false,         0,           0,
                "flow run", r->program, KIND_INTERNAL, r->start_ns, r->end_ns};
  span_begin(e, &h);
  attr_str(&e->w, "flow.run_id", e->run_id);
  attr_str(&e->w, "flow.program", r->program);
  attr_str(&e->w, "flow.program_hash", r->program_hash);
  attr_str(&e->w, "flow.run.status", r->status);
  attr_int(&e->w, "flow.items.ok", r->items_ok);
  attr_int(&e->w, "flow.items.failed", r->items_failed);
  span_end(e, r->error);
}

void otlp_item_span(OtlpExporter *e, const OtlpItem *it) {
  if (!it || !span_wanted(e)) return;
  SpanHead h = {it->item,    OTLP_NONE, true,          OTLP_NONE,    OTLP_NONE,
                "flow item", NULL,      KIND_INTERNAL, it->start_ns, it->end_ns};
  span_begin(e, &h);
  attr_int(&e->w, "flow.item", it->item);
  attr_str(&e->w, "flow.item.status", it->status);
  span_end(e, it->error);
}

/* The GenAI semantic-convention attributes of a call. */
static void call_gen_ai(JsonWriter *w, const OtlpCall *c) {
  attr_str(w, "gen_ai.operation.name", "chat");
  attr_str(w, "gen_ai.provider.name", c->provider);
  attr_str(w, "gen_ai.system", c->provider); /* the name before semantic conventions 1.37 */
  attr_str(w, "gen_ai.request.model", c->model);
  attr_str(w, "gen_ai.response.model", c->response_model);
  if (c->has_temperature) attr_double(w, "gen_ai.request.temperature", c->temperature);
  if (c->has_max_tokens) attr_int(w, "gen_ai.request.max_tokens", c->max_tokens);
  if (c->has_usage) {
    attr_int(w, "gen_ai.usage.input_tokens", c->input_tokens);
    attr_int(w, "gen_ai.usage.output_tokens", c->output_tokens);
  }
  attr_str_list1(w, "gen_ai.response.finish_reasons", c->finish_reason);
  if (c->error) attr_str(w, "error.type", c->error_type ? c->error_type : "_OTHER");
}

void otlp_call_span(OtlpExporter *e, const OtlpCall *c) {
  if (!c || !span_wanted(e)) return;
  bool in_item = c->item != OTLP_NONE;
  SpanHead h = {c->item,     c->seq,   true,     in_item ? c->item : OTLP_NONE,
                OTLP_NONE,   "chat",   c->model, KIND_CLIENT,
                c->start_ns, c->end_ns};
  span_begin(e, &h);
  JsonWriter *w = &e->w;
  call_gen_ai(w, c);
  attr_str(w, "flow.prompt", c->prompt);
  attr_str(w, "flow.binding", c->binding);
  if (in_item) attr_int(w, "flow.item", c->item);
  attr_int(w, "flow.seq", c->seq);
  attr_bool(w, "flow.cache_hit", c->cache_hit);
  attr_int(w, "flow.attempts", c->attempts);
  if (c->has_cost) attr_double(w, "flow.cost_usd", c->cost_usd);
  if (c->has_usage && c->usage_estimated) attr_bool(w, "flow.usage_estimated", true);
  attr_str(w, "flow.request_key", c->request_key);
  span_end(e, c->error);
}

/* ---- sending ------------------------------------------------------------ */

/* [s] with control characters as '?', at most [outlen] - 1 bytes. */
static void clip(const char *s, char *out, size_t outlen) {
  size_t i = 0;
  for (; s && s[i] && i + 1 < outlen; i++)
    out[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
  out[i] = '\0';
}

/* The collector's reply [body] as JSON, or NULL. */
static json_t *reply_json(const HttpResponse *r) {
  return r->body && r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
}

/* The "message" of an error reply (a google.rpc.Status), clipped, into
 * [out] after ": ", or "". */
static void status_message(const HttpResponse *r, char *out, size_t outlen) {
  json_t *j = reply_json(r);
  const char *msg = json_string_value(json_object_get(j, "message"));
  out[0] = '\0';
  if (msg && *msg && outlen > 3) {
    memcpy(out, ": ", 3);
    clip(msg, out + 2, outlen - 2 < 201 ? outlen - 2 : 201);
  }
  json_decref(j);
}

/* The spans a 2xx reply says were rejected (partialSuccess), with its
 * message into [why]. */
static uint64_t rejected_spans(const HttpResponse *r, char *why, size_t whylen) {
  json_t *j = reply_json(r), *ps = json_object_get(j, "partialSuccess");
  json_t *n = json_object_get(ps, "rejectedSpans");
  uint64_t count = 0;
  if (json_is_integer(n) && json_integer_value(n) > 0) count = (uint64_t)json_integer_value(n);
  if (json_is_string(n)) count = strtoull(json_string_value(n), NULL, 10);
  if (count) {
    char msg[201];
    clip(json_string_value(json_object_get(ps, "errorMessage")), msg, sizeof msg);
    snprintf(why, whylen, "the collector rejected %" PRIu64 " spans%s%s", count, msg[0] ? ": " : "", msg);
  }
  json_decref(j);
  return count;
}

typedef enum { SENT, RETRY, GIVE_UP } Outcome;

/* One POST of [body] within [left_ms]: its outcome, the reason in [why]. */
static Outcome post_once(OtlpExporter *e, const TextBuf *body, long left_ms, uint64_t *rejected, char *why,
                         size_t whylen) {
  HttpResponse r;
  e->req.body = body->data;
  e->req.body_len = body->len;
  if (!http_submit(e->http, &e->req, left_ms, NULL, why, whylen)) return GIVE_UP;
  while (!http_take(e->http, &r))
    http_wait(e->http, 100); /* the transfer's own time limit ends it */
  Outcome o = SENT;
  if (!r.transport_ok) {
    if (r.timed_out)
      snprintf(why, whylen, "no reply within %ld ms", e->timeout_ms);
    else
      snprintf(why, whylen, "%s", r.error);
    o = r.timed_out ? GIVE_UP : RETRY;
  } else if (r.status < 200 || r.status > 299) {
    char msg[210];
    status_message(&r, msg, sizeof msg);
    snprintf(why, whylen, "expected HTTP 2xx, found HTTP %ld%s", r.status, msg);
    bool transient = r.status == 429 || r.status == 502 || r.status == 503 || r.status == 504;
    o = transient ? RETRY : GIVE_UP;
  } else {
    *rejected = rejected_spans(&r, why, whylen);
  }
  http_response_free(&r);
  return o;
}

/* POST [body] (a batch of [n] spans), retrying once while time remains;
 * the spans lost are counted and the first failure kept. */
static void post_batch(OtlpExporter *e, const TextBuf *body, size_t n) {
  char why[512] = "";
  uint64_t rejected = 0;
  int64_t deadline = monotonic_ms() + e->timeout_ms;
  Outcome o = post_once(e, body, e->timeout_ms, &rejected, why, sizeof why);
  long left = (long)(deadline - monotonic_ms()) - RETRY_PAUSE_MS;
  if (o == RETRY && left > 0) {
    struct timespec pause = {0, RETRY_PAUSE_MS * 1000000L};
    nanosleep(&pause, NULL);
    o = post_once(e, body, left, &rejected, why, sizeof why);
    if (o != SENT) strncat(why, " (2 attempts)", sizeof why - strlen(why) - 1);
  }
  if (o != SENT) {
    e->broken = true;
    rejected = n;
  }
  e->lost += rejected > n ? n : rejected;
  if (rejected && !e->why[0]) {
    memcpy(e->why, why, sizeof e->why);
    snprintf(e->failure, sizeof e->failure, "OTLP export to %s: %s", e->shown, why);
  }
}

/* Send the buffered spans as one request. */
static void flush(OtlpExporter *e) {
  if (!e->nbuf) return;
  size_t n = e->nbuf;
  TextBuf body = {0};
  tb_reserve(&body, e->head.len + e->spans.len + sizeof ENVELOPE_TAIL);
  tb_put(&body, e->head.data, e->head.len);
  tb_put(&body, e->spans.data, e->spans.len);
  tb_puts(&body, ENVELOPE_TAIL);
  e->spans.len = 0;
  e->spans.data[0] = '\0';
  e->w = jw_new(&e->spans);
  e->nbuf = 0;
  post_batch(e, &body, n);
  free(body.data);
}

/* ---- open and close ----------------------------------------------------- */

/* The request body up to the spans: the resource and the scope. */
static void write_head(TextBuf *b, const char *service) {
  JsonWriter w = jw_new(b);
  jw_object(&w);
  jw_key(&w, "resourceSpans");
  jw_array(&w);
  jw_object(&w);
  jw_key(&w, "resource");
  jw_object(&w);
  jw_key(&w, "attributes");
  jw_array(&w);
  attr_str(&w, "service.name", service && *service ? service : "flow");
  jw_end_array(&w);
  jw_end_object(&w);
  jw_key(&w, "scopeSpans");
  jw_array(&w);
  jw_object(&w);
  jw_key(&w, "scope");
  jw_object(&w);
  jw_key(&w, "name");
  jw_cstring(&w, "flow");
  jw_key(&w, "version");
  jw_cstring(&w, FLOW_VERSION);
  jw_end_object(&w);
  jw_key(&w, "spans");
  jw_array(&w); /* the spans and ENVELOPE_TAIL follow */
}

static void exporter_free(OtlpExporter *e) {
  if (e->http) http_engine_free(e->http, NULL);
  e->req.body = NULL;
  free_request(&e->req);
  free(e->head.data);
  free(e->spans.data);
  free(e->run_id);
  free(e);
}

OtlpExporter *otlp_open(const OtlpOptions *opt, char *err, size_t errlen) {
  if (!opt) {
    snprintf(err, errlen, "OTLP: expected exporter options, found none");
    return NULL;
  }
  OtlpExporter *e = xmalloc(sizeof *e);
  memset(e, 0, sizeof *e);
  if (!collector_url(opt->url, &e->req.url, err, errlen)) {
    free(e);
    return NULL;
  }
  fetch_url_redact(e->req.url, e->shown, sizeof e->shown);
  e->req.secret_header = -1;
  add_header(&e->req, xstrdup("Content-Type: application/json"));
  add_header(&e->req, xstrdup("User-Agent: flow/" FLOW_VERSION));
  HttpConfig cfg = {.max_connections = 2, .max_body = MAX_REPLY, .ca_bundle = opt->ca_bundle};
  if (!parse_headers(opt->headers, &e->req, err, errlen) || !(e->http = http_engine_new(&cfg, err, errlen))) {
    exporter_free(e);
    return NULL;
  }
  e->run_id = xstrdup(opt->run_id ? opt->run_id : "");
  otlp_trace_id(e->run_id, e->trace_id);
  e->timeout_ms = opt->timeout_ms <= 0               ? OTLP_DEFAULT_TIMEOUT_MS
                  : opt->timeout_ms > MAX_TIMEOUT_MS ? MAX_TIMEOUT_MS
                                                     : opt->timeout_ms;
  e->batch = opt->batch ? opt->batch : OTLP_DEFAULT_BATCH;
  write_head(&e->head, opt->service_name);
  tb_reserve(&e->spans, 4096);
  e->w = jw_new(&e->spans);
  return e;
}

const char *otlp_failure(const OtlpExporter *e) { return e && e->failure[0] ? e->failure : NULL; }

bool otlp_close(OtlpExporter *e, char *err, size_t errlen) {
  if (!e) return true;
  flush(e);
  bool ok = e->lost == 0;
  if (!ok)
    snprintf(err, errlen, "OTLP export to %s: %" PRIu64 " of %" PRIu64 " spans not delivered: %s", e->shown,
             e->lost, e->total, e->why);
  exporter_free(e);
  return ok;
}
