/* test_otlp.c - the OTLP/HTTP JSON trace exporter (runtime/otlp.c) against
 * flow_mockserver's trace receiver: a run of 2 items and 3 calls (one
 * failed, one a cache hit) arrives in two batches whose JSON has the OTLP
 * structure, hex ids that the test predicts, parent links call -> item ->
 * run, the GenAI attribute names and values, 64-bit integers and times as
 * decimal strings, and no trace of the API key in the environment nor of
 * the header values. Then the failures: a collector that answers 503 (once
 * or always), 400, a partial success, hangs, or is not there at all, and
 * URLs and header lists refused at open, with messages that name what was
 * expected and never quote a secret.
 *
 * Usage: test_otlp PORT, with a flow_mockserver on PORT running the script
 * that otlp.sh writes (the paths /flaky/, /down/, /bad/, /partial/, /hang/). */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "curl_api.h"
#include "otlp.h"
#include "tally.h"
#include "textbuf.h"

#define CANARY_KEY "sk-canary-otlp-7d41c2e9"
#define CANARY_HDR "canary-header-secret-93b"
#define CANARY_HDR_SENT                                                                                      \
  "canary%2Dheader%2dsecret-93b" /* percent-encoded as OTEL_EXPORTER_OTLP_HEADERS allows */
#define RUN_ID "run-otlp-test-1"
#define T0 1700000000000000000ull

/* The test's state: the tally, the mock server's port and the number of
 * the last request read from its record. */
typedef struct Ctx {
  Tally t;
  int port;
  unsigned long long seen;
} Ctx;

/* ---- the mock server's record ------------------------------------------- */

static size_t on_data(char *d, size_t size, size_t n, void *ud) {
  tb_put(ud, d, size * n);
  return size * n;
}

/* The body of GET [url] (malloc'd), or NULL. */
static char *http_get(const char *url) {
  CurlApi api;
  char err[256];
  if (!curl_api_open(&api, "test_otlp", err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return NULL;
  }
  TextBuf b = {0};
  tb_reserve(&b, 0);
  CURL *c = api.easy_init();
  api.easy_setopt(c, CURLOPT_URL, url);
  api.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  api.easy_setopt(c, CURLOPT_WRITEDATA, &b);
  api.easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  api.easy_setopt(c, CURLOPT_PROXY, "");
  CURLcode rc = api.easy_perform(c);
  api.easy_cleanup(c);
  curl_api_close(&api);
  if (rc != CURLE_OK) {
    free(b.data);
    return NULL;
  }
  return tb_take(&b);
}

/* The requests the server recorded since the last call, as a JSON array
 * (new); their raw text in *[raw] when not NULL (malloc'd). */
static json_t *new_requests(Ctx *c, char **raw) {
  char url[96];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/requests?since=%llu", c->port, c->seen);
  char *text = http_get(url);
  json_t *all = json_array();
  for (char *line = text; line && *line;) {
    char *end = strchr(line, '\n');
    size_t n = end ? (size_t)(end - line) : strlen(line);
    json_t *rec = json_loadb(line, n, 0, NULL);
    if (rec) {
      c->seen = (unsigned long long)json_integer_value(json_object_get(rec, "n"));
      json_array_append_new(all, rec);
    }
    line += n + (end != NULL);
  }
  if (raw)
    *raw = text;
  else
    free(text);
  return all;
}

static const char *str_at(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* Every span of every recorded export in [reqs], in order (new array). */
static json_t *spans_of(json_t *reqs) {
  json_t *out = json_array(), *req, *rs, *ss, *span;
  size_t i, j, k, l;
  json_array_foreach(reqs, i, req) {
    json_array_foreach(json_object_get(json_object_get(req, "body"), "resourceSpans"), j, rs) {
      json_array_foreach(json_object_get(rs, "scopeSpans"), k, ss) {
        json_array_foreach(json_object_get(ss, "spans"), l, span) json_array_append(out, span);
      }
    }
  }
  return out;
}

static size_t span_count(json_t *req) {
  json_t *one = json_array();
  json_array_append(one, req);
  json_t *spans = spans_of(one);
  size_t n = json_array_size(spans);
  json_decref(spans);
  json_decref(one);
  return n;
}

/* The span whose spanId is [id], or NULL. */
static json_t *span_by_id(json_t *spans, const char *id) {
  json_t *s;
  size_t i;
  json_array_foreach(spans, i, s) if (str_at(s, "spanId") && !strcmp(str_at(s, "spanId"), id)) return s;
  return NULL;
}

/* The value object ({"stringValue": ...}) of attribute [key] of [span]. */
static json_t *attr(json_t *span, const char *key) {
  json_t *a;
  size_t i;
  json_array_foreach(json_object_get(span, "attributes"), i,
                     a) if (!strcmp(str_at(a, "key"), key)) return json_object_get(a, "value");
  return NULL;
}

static const char *attr_str(json_t *span, const char *key) { return str_at(attr(span, key), "stringValue"); }
/* An int attribute: its intValue, which must be a string. */
static const char *attr_int(json_t *span, const char *key) { return str_at(attr(span, key), "intValue"); }

static bool is_hex(const char *s, size_t n) {
  return s && strlen(s) == n && strspn(s, "0123456789abcdef") == n && strspn(s, "0") != n;
}

static bool is_decimal(const char *s) { return s && *s && strspn(s, "0123456789") == strlen(s); }

static double seconds_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- the export of a run ------------------------------------------------ */

static OtlpExporter *open_at(Ctx *c, const char *path, const char *run_id, size_t batch, long timeout_ms) {
  char url[128], err[512] = "";
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", c->port, path);
  OtlpOptions o = {.url = url,
                   .service_name = "otlp-test",
                   .run_id = run_id,
                   .headers = " x-collector-token = " CANARY_HDR_SENT ",x-team=flow,",
                   .batch = batch,
                   .timeout_ms = timeout_ms};
  OtlpExporter *e = otlp_open(&o, err, sizeof err);
  if (!CHECK(&c->t, e != NULL)) fprintf(stderr, "  otlp_open(%s): %s\n", url, err);
  return e;
}

/* The run: item 0 has a call that succeeds and one that fails; item 1's
 * one call is a cache hit. */
static void export_run(OtlpExporter *e) {
  OtlpCall ok = {.item = 0,
                 .seq = 0,
                 .start_ns = T0 + 1000,
                 .end_ns = T0 + 2000,
                 .prompt = "classify",
                 .binding = "fast",
                 .provider = "openai",
                 .model = "gpt-4o-mini",
                 .response_model = "gpt-4o-mini-2024-07-18",
                 .request_key = "ab12",
                 .finish_reason = "stop",
                 .has_usage = true,
                 .input_tokens = 120,
                 .output_tokens = 35,
                 .has_temperature = true,
                 .temperature = 0.25,
                 .has_max_tokens = true,
                 .max_tokens = 600,
                 .has_cost = true,
                 .cost_usd = 0.0000390,
                 .attempts = 1};
  OtlpCall failed = {.item = 0,
                     .seq = 1,
                     .start_ns = T0 + 2000,
                     .end_ns = T0 + 9000,
                     .prompt = "summarize",
                     .binding = "smart",
                     .provider = "anthropic",
                     .model = "claude-x",
                     .request_key = "cd34",
                     .error = "anthropic replied HTTP 503 (overloaded_error)",
                     .error_type = "http_503",
                     .attempts = 3};
  OtlpCall cached = {.item = 1,
                     .seq = 0,
                     .start_ns = T0 + 3000,
                     .end_ns = T0 + 3001,
                     .prompt = "classify",
                     .binding = "local",
                     .provider = "ollama",
                     .model = "llama3",
                     .request_key = "ef56",
                     .has_usage = true,
                     .usage_estimated = true,
                     .input_tokens = 9,
                     .output_tokens = 4,
                     .cache_hit = true};
  OtlpItem item0 = {.item = 0,
                    .status = "failed",
                    .error = "prompt summarize failed",
                    .start_ns = T0 + 500,
                    .end_ns = T0 + 9500};
  OtlpItem item1 = {.item = 1, .status = "ok", .start_ns = T0 + 600, .end_ns = T0 + 3500};
  OtlpRun run = {.program = "triage",
                 .program_hash = "0123abcd",
                 .status = "failed",
                 .error = "1 item failed",
                 .start_ns = T0,
                 .end_ns = T0 + 10000,
                 .items_ok = 1,
                 .items_failed = 1};
  otlp_call_span(e, &ok);
  otlp_call_span(e, &failed);
  otlp_item_span(e, &item0);
  otlp_call_span(e, &cached);
  otlp_item_span(e, &item1);
  otlp_run_span(e, &run);
}

/* The envelope: resource, scope, and the headers that came with it. */
static void check_envelope(Tally *t, json_t *req) {
  json_t *body = json_object_get(req, "body"), *headers = json_object_get(req, "headers");
  json_t *rs = json_array_get(json_object_get(body, "resourceSpans"), 0);
  json_t *res_attr = json_array_get(json_object_get(json_object_get(rs, "resource"), "attributes"), 0);
  json_t *scope = json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0), "scope");
  CHECK_STR(t, str_at(req, "path"), "/v1/traces");
  CHECK_STR(t, str_at(headers, "content-type"), "application/json");
  CHECK_STR(t, str_at(headers, "x-collector-token"), CANARY_HDR);
  CHECK_STR(t, str_at(headers, "x-team"), "flow");
  CHECK(t, str_at(headers, "user-agent") && !strncmp(str_at(headers, "user-agent"), "flow/", 5));
  CHECK_STR(t, str_at(res_attr, "key"), "service.name");
  CHECK_STR(t, str_at(json_object_get(res_attr, "value"), "stringValue"), "otlp-test");
  CHECK_STR(t, str_at(scope, "name"), "flow");
  CHECK(t, str_at(scope, "version") != NULL);
}

/* Every span's ids, kind, times and status have the OTLP/JSON forms. */
static void check_forms(Tally *t, json_t *spans) {
  char trace[OTLP_TRACE_ID_HEX];
  otlp_trace_id(RUN_ID, trace);
  json_t *s;
  size_t i;
  json_array_foreach(spans, i, s) {
    json_t *parent = json_object_get(s, "parentSpanId");
    CHECK(t, is_hex(str_at(s, "traceId"), 32));
    CHECK_STR(t, str_at(s, "traceId"), trace);
    CHECK(t, is_hex(str_at(s, "spanId"), 16));
    CHECK(t, !parent || is_hex(json_string_value(parent), 16));
    CHECK(t, json_is_integer(json_object_get(s, "kind")));
    CHECK(t, is_decimal(str_at(s, "startTimeUnixNano")));
    CHECK(t, is_decimal(str_at(s, "endTimeUnixNano")));
    CHECK(t, json_is_integer(json_object_get(json_object_get(s, "status"), "code")));
  }
}

/* The span with the predicted id (item, seq), its parent the predicted
 * (parent_item, parent_seq) or none. */
static json_t *check_span(Tally *t, json_t *spans, int64_t item, int64_t seq, bool root,
                          int64_t parent_item) {
  char id[OTLP_SPAN_ID_HEX], pid[OTLP_SPAN_ID_HEX];
  otlp_span_id(RUN_ID, item, seq, id);
  json_t *s = span_by_id(spans, id);
  if (!CHECK(t, s != NULL)) {
    fprintf(stderr, "  no span (%lld, %lld)\n", (long long)item, (long long)seq);
    return json_object(); /* leaked on failure only */
  }
  if (root) {
    CHECK(t, json_object_get(s, "parentSpanId") == NULL);
  } else {
    otlp_span_id(RUN_ID, parent_item, OTLP_NONE, pid);
    CHECK_STR(t, str_at(s, "parentSpanId"), pid);
  }
  return s;
}

static void check_run_and_items(Tally *t, json_t *spans) {
  json_t *run = check_span(t, spans, OTLP_NONE, OTLP_NONE, true, 0);
  CHECK_STR(t, str_at(run, "name"), "flow run triage");
  CHECK(t, json_integer_value(json_object_get(run, "kind")) == 1);
  CHECK_STR(t, str_at(run, "startTimeUnixNano"), "1700000000000000000");
  CHECK_STR(t, str_at(run, "endTimeUnixNano"), "1700000000000010000");
  CHECK_STR(t, attr_str(run, "flow.run_id"), RUN_ID);
  CHECK_STR(t, attr_str(run, "flow.program_hash"), "0123abcd");
  CHECK_STR(t, attr_int(run, "flow.items.ok"), "1");
  CHECK_STR(t, attr_int(run, "flow.items.failed"), "1");
  CHECK(t, json_integer_value(json_object_get(json_object_get(run, "status"), "code")) == 2);
  json_t *i0 = check_span(t, spans, 0, OTLP_NONE, false, OTLP_NONE);
  json_t *i1 = check_span(t, spans, 1, OTLP_NONE, false, OTLP_NONE);
  CHECK_STR(t, str_at(i0, "name"), "flow item");
  CHECK_STR(t, attr_int(i0, "flow.item"), "0");
  CHECK_STR(t, attr_int(i1, "flow.item"), "1");
  CHECK_STR(t, attr_str(i0, "flow.item.status"), "failed");
  CHECK_STR(t, str_at(json_object_get(i0, "status"), "message"), "prompt summarize failed");
  CHECK(t, json_integer_value(json_object_get(json_object_get(i1, "status"), "code")) == 1);
  CHECK(t, json_object_get(json_object_get(i1, "status"), "message") == NULL);
}

static void check_calls(Tally *t, json_t *spans) {
  json_t *ok = check_span(t, spans, 0, 0, false, 0);
  CHECK_STR(t, str_at(ok, "name"), "chat gpt-4o-mini");
  CHECK(t, json_integer_value(json_object_get(ok, "kind")) == 3);
  CHECK_STR(t, attr_str(ok, "gen_ai.operation.name"), "chat");
  CHECK_STR(t, attr_str(ok, "gen_ai.provider.name"), "openai");
  CHECK_STR(t, attr_str(ok, "gen_ai.system"), "openai");
  CHECK_STR(t, attr_str(ok, "gen_ai.request.model"), "gpt-4o-mini");
  CHECK_STR(t, attr_str(ok, "gen_ai.response.model"), "gpt-4o-mini-2024-07-18");
  CHECK_STR(t, attr_int(ok, "gen_ai.usage.input_tokens"), "120");
  CHECK_STR(t, attr_int(ok, "gen_ai.usage.output_tokens"), "35");
  CHECK_STR(t, attr_int(ok, "gen_ai.request.max_tokens"), "600");
  CHECK(t, json_real_value(json_object_get(attr(ok, "gen_ai.request.temperature"), "doubleValue")) == 0.25);
  CHECK(t, json_real_value(json_object_get(attr(ok, "flow.cost_usd"), "doubleValue")) == 0.000039);
  json_t *fr =
      json_object_get(json_object_get(attr(ok, "gen_ai.response.finish_reasons"), "arrayValue"), "values");
  CHECK_STR(t, str_at(json_array_get(fr, 0), "stringValue"), "stop");
  CHECK_STR(t, attr_str(ok, "flow.prompt"), "classify");
  CHECK_STR(t, attr_str(ok, "flow.binding"), "fast");
  CHECK_STR(t, attr_str(ok, "flow.request_key"), "ab12");
  CHECK_STR(t, attr_int(ok, "flow.attempts"), "1");
  CHECK(t, json_is_false(json_object_get(attr(ok, "flow.cache_hit"), "boolValue")));
  CHECK(t, attr(ok, "error.type") == NULL);
  CHECK(t, json_integer_value(json_object_get(json_object_get(ok, "status"), "code")) == 1);

  json_t *bad = check_span(t, spans, 0, 1, false, 0);
  CHECK_STR(t, str_at(bad, "name"), "chat claude-x");
  CHECK_STR(t, attr_str(bad, "gen_ai.provider.name"), "anthropic");
  CHECK_STR(t, attr_str(bad, "error.type"), "http_503");
  CHECK_STR(t, attr_int(bad, "flow.attempts"), "3");
  CHECK(t, attr(bad, "gen_ai.usage.input_tokens") == NULL && attr(bad, "gen_ai.request.temperature") == NULL);
  CHECK(t, json_integer_value(json_object_get(json_object_get(bad, "status"), "code")) == 2);
  CHECK_STR(t, str_at(json_object_get(bad, "status"), "message"),
            "anthropic replied HTTP 503 (overloaded_error)");

  json_t *hit = check_span(t, spans, 1, 0, false, 1);
  CHECK_STR(t, attr_str(hit, "gen_ai.provider.name"), "ollama");
  CHECK(t, json_is_true(json_object_get(attr(hit, "flow.cache_hit"), "boolValue")));
  CHECK(t, json_is_true(json_object_get(attr(hit, "flow.usage_estimated"), "boolValue")));
  CHECK_STR(t, attr_int(hit, "flow.attempts"), "0");
  CHECK_STR(t, attr_int(hit, "gen_ai.usage.output_tokens"), "4");
}

static void test_export(Ctx *c) {
  Tally *t = &c->t;
  char err[512] = "";
  OtlpExporter *e = open_at(c, "", RUN_ID, 4, 5000);
  if (!e) return;
  export_run(e);
  CHECK(t, otlp_failure(e) == NULL);
  if (!CHECK(t, otlp_close(e, err, sizeof err))) fprintf(stderr, "  %s\n", err);
  char *raw = NULL;
  json_t *reqs = new_requests(c, &raw);
  CHECK(t, json_array_size(reqs) == 2); /* a batch of 4, then 2 at close */
  CHECK(t, span_count(json_array_get(reqs, 0)) == 4 && span_count(json_array_get(reqs, 1)) == 2);
  check_envelope(t, json_array_get(reqs, 0));
  json_t *spans = spans_of(reqs);
  CHECK(t, json_array_size(spans) == 6);
  check_forms(t, spans);
  check_run_and_items(t, spans);
  check_calls(t, spans);
  /* the key in the environment appears nowhere; the header value only as a header */
  CHECK(t, raw && !strstr(raw, CANARY_KEY));
  json_t *req;
  size_t i;
  json_array_foreach(reqs, i, req) {
    char *body = json_dumps(json_object_get(req, "body"), JSON_COMPACT);
    CHECK(t, body && !strstr(body, CANARY_HDR) && !strstr(body, CANARY_KEY));
    free(body);
  }
  json_decref(spans);
  json_decref(reqs);
  free(raw);
}

/* ---- URLs, faults and failures ------------------------------------------ */

/* Export one item span to [path]; the recorded path must be [want]. */
static void test_path(Ctx *c, const char *path, const char *want) {
  Tally *t = &c->t;
  char err[512];
  OtlpExporter *e = open_at(c, path, "run-paths", 0, 5000);
  OtlpItem it = {.item = 0, .start_ns = T0, .end_ns = T0 + 1};
  otlp_item_span(e, &it);
  CHECK(t, otlp_close(e, err, sizeof err));
  json_t *reqs = new_requests(c, NULL);
  CHECK(t, json_array_size(reqs) == 1);
  CHECK_STR(t, str_at(json_array_get(reqs, 0), "path"), want);
  json_decref(reqs);
}

/* Export [n] item spans to [path] (batches of [batch]): whether all were
 * delivered, the message into [err], the requests made into *[nreq]. */
static bool export_to(Ctx *c, const char *path, int n, size_t batch, long timeout_ms, size_t *nreq, char *err,
                      size_t errlen) {
  OtlpExporter *e = open_at(c, path, "run-faults", batch, timeout_ms);
  for (int i = 0; i < n; i++) {
    OtlpItem it = {.item = i, .start_ns = T0, .end_ns = T0 + 1};
    otlp_item_span(e, &it);
  }
  err[0] = '\0';
  bool ok = otlp_close(e, err, errlen);
  json_t *reqs = new_requests(c, NULL);
  *nreq = json_array_size(reqs);
  json_decref(reqs);
  return ok;
}

/* [err] holds every one of the NULL-terminated [parts]. */
static void check_msg(Tally *t, const char *err, const char *const *parts) {
  for (; *parts; parts++)
    if (!CHECK(t, strstr(err, *parts) != NULL)) fprintf(stderr, "  expected `%s` in: %s\n", *parts, err);
  CHECK(t, !strstr(err, CANARY_HDR) && !strstr(err, CANARY_KEY));
}

static void test_faults(Ctx *c) {
  Tally *t = &c->t;
  char err[1024];
  size_t nreq;
  CHECK(t, export_to(c, "/flaky/v1/traces", 2, 0, 5000, &nreq, err, sizeof err)); /* a 503, then the retry */
  CHECK(t, nreq == 2);
  CHECK(t, !export_to(c, "/down/v1/traces", 1, 0, 5000, &nreq, err, sizeof err) && nreq == 2);
  check_msg(
      t, err,
      (const char *[]){"OTLP export to http://127.0.0.1:", "/down/v1/traces: 1 of 1 spans not delivered",
                       "expected HTTP 2xx, found HTTP 503: mock: fault 503 (2 attempts)", NULL});
  CHECK(t, !export_to(c, "/bad/v1/traces", 1, 0, 5000, &nreq, err, sizeof err) && nreq == 1); /* no retry */
  check_msg(t, err, (const char *[]){"found HTTP 400: no such tenant", NULL});
  CHECK(t, !export_to(c, "/partial/v1/traces", 3, 0, 5000, &nreq, err, sizeof err) && nreq == 1);
  check_msg(t, err,
            (const char *[]){"2 of 3 spans not delivered: the collector rejected 2 spans: too old", NULL});
}

/* A collector that never answers costs one timeout: later spans are
 * dropped at once. */
static void test_hang(Ctx *c) {
  Tally *t = &c->t;
  char err[1024] = "";
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  OtlpExporter *e = open_at(c, "/hang/v1/traces", "run-hang", 1, 1000);
  OtlpItem it = {.item = 0, .start_ns = T0, .end_ns = T0 + 1};
  otlp_item_span(e, &it);
  double first = seconds_since(&t0);
  CHECK(t, first >= 0.9 && first < 2.0);
  CHECK(t, otlp_failure(e) && strstr(otlp_failure(e), "no reply within 1000 ms"));
  clock_gettime(CLOCK_MONOTONIC, &t1);
  it.item = 1;
  otlp_item_span(e, &it);
  CHECK(t, seconds_since(&t1) < 0.1);
  CHECK(t, !otlp_close(e, err, sizeof err));
  check_msg(t, err,
            (const char *[]){"/hang/v1/traces: 2 of 2 spans not delivered: no reply within 1000 ms", NULL});
  json_t *reqs = new_requests(c, NULL);
  CHECK(t, json_array_size(reqs) == 1);
  json_decref(reqs);
}

/* A port on 127.0.0.1 that nothing listens on (bound, then closed). */
static int closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  socklen_t len = sizeof a;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &len)) {
    if (fd >= 0) close(fd);
    return 1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

static void test_unreachable(Tally *t) {
  char url[160], err[1024] = "", want[96];
  int port = closed_port();
  snprintf(url, sizeof url, "http://user:pw-secret@127.0.0.1:%d/v1/traces?token=q-secret", port);
  OtlpOptions o = {
      .url = url, .run_id = "run-down", .headers = "authorization=Bearer " CANARY_HDR, .timeout_ms = 3000};
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  OtlpExporter *e = otlp_open(&o, err, sizeof err);
  if (!CHECK(t, e != NULL)) return;
  OtlpItem it = {.item = 0, .start_ns = T0, .end_ns = T0 + 1};
  otlp_item_span(e, &it);
  CHECK(t, !otlp_close(e, err, sizeof err));
  CHECK(t, seconds_since(&t0) < 3.5);
  snprintf(want, sizeof want,
           "OTLP export to http://127.0.0.1:%d/v1/traces: 1 of 1 spans not delivered: ", port);
  check_msg(t, err, (const char *[]){want, "(2 attempts)", NULL});
  CHECK(t, !strstr(err, "pw-secret") && !strstr(err, "q-secret"));
}

/* otlp_open refuses [url] (or [headers]) with a message holding [want]. */
static void open_refused(Tally *t, const char *url, const char *headers, const char *want) {
  char err[512] = "";
  OtlpOptions o = {.url = url, .run_id = "r", .headers = headers};
  OtlpExporter *e = otlp_open(&o, err, sizeof err);
  if (!CHECK(t, e == NULL && strstr(err, want)))
    fprintf(stderr, "  url %s: expected a refusal with `%s`, got: %s\n", url ? url : "(null)", want,
            e ? "(accepted)" : err);
  otlp_close(e, err, sizeof err);
  CHECK(t, !strstr(err, CANARY_HDR));
}

static void test_refusals(Tally *t) {
  const char *scheme = "expected an http:// or https:// URL (http://localhost:4318)";
  open_refused(t, "ftp://x", NULL, "OTLP collector `ftp://x`: expected the scheme http or https, found ftp");
  open_refused(t, "localhost:4318", NULL, "OTLP collector `localhost:4318`: ");
  open_refused(t, "localhost:4318", NULL, scheme);
  open_refused(t, "localhost/v1/traces", NULL, scheme);
  open_refused(t, "", NULL, "expected a collector URL such as http://localhost:4318, found nothing");
  open_refused(t, NULL, NULL, "found nothing");
  open_refused(t, "http://", NULL, "expected a host name or address after the scheme");
  open_refused(t, "https://:4318", NULL, "expected a host name or address");
  open_refused(t, "http://localhost:99999", NULL, "expected a port from 1 to 65535");
  open_refused(t, "http://localhost:43a8", NULL, "expected a port from 1 to 65535");
  open_refused(t, "http://[::1/v1/traces", NULL, "expected `]` after an IPv6 address");
  open_refused(t, "http://local host:4318", NULL, "expected a URL without spaces or control characters");
  open_refused(t, "http://localhost:4318", CANARY_HDR,
               "OTLP headers: entry 1: expected key=value, found no `=`");
  open_refused(t, "http://localhost:4318", "a=b, bad key=" CANARY_HDR, "entry 2: expected a header name of");
  open_refused(t, "http://localhost:4318", "=" CANARY_HDR, "entry 1: expected a header name before `=`");
  open_refused(t, "http://localhost:4318", "k=" CANARY_HDR "%0D%0AX-Evil: 1",
               "expected a value without line breaks");
}

static void test_ids(Tally *t) {
  char a[OTLP_TRACE_ID_HEX], b[OTLP_TRACE_ID_HEX], s1[OTLP_SPAN_ID_HEX], s2[OTLP_SPAN_ID_HEX];
  otlp_trace_id("run-a", a);
  otlp_trace_id("run-a", b);
  CHECK(t, is_hex(a, 32) && !strcmp(a, b));
  otlp_trace_id("run-b", b);
  CHECK(t, strcmp(a, b) != 0);
  otlp_span_id("run-a", 3, 7, s1);
  otlp_span_id("run-a", 3, 7, s2);
  CHECK(t, is_hex(s1, 16) && !strcmp(s1, s2));
  otlp_span_id("run-a", 3, OTLP_NONE, s2);
  CHECK(t, strcmp(s1, s2) != 0);
  otlp_span_id("run-a", 7, 3, s2);
  CHECK(t, strcmp(s1, s2) != 0);
  CHECK(t, otlp_now_ns() > T0);
}

int main(int argc, char **argv) {
  Ctx c = {{0, 0}, argc == 2 ? atoi(argv[1]) : 0, 0};
  if (c.port <= 0) {
    fprintf(stderr, "usage: test_otlp PORT (expected the port of a running flow_mockserver, found %s)\n",
            argc > 1 ? argv[1] : "nothing");
    return 2;
  }
  setenv("OPENAI_API_KEY", CANARY_KEY, 1);
  test_ids(&c.t);
  test_refusals(&c.t);
  test_export(&c);
  test_path(&c, "/", "/v1/traces");
  test_path(&c, "/gateway/v1/traces", "/gateway/v1/traces");
  test_path(&c, "?tenant=a", "/v1/traces?tenant=a");
  test_faults(&c);
  test_hang(&c);
  test_unreachable(&c.t);
  return tally_report(&c.t);
}
