/* otlp.h - a run exported as OpenTelemetry spans over OTLP/HTTP with the
 * JSON encoding (POST application/json, an ExportTraceServiceRequest).
 *
 * The span tree of a run: one root span "flow run <program>", a child per
 * input item ("flow item"), and under each item a client span per model
 * call ("chat <model>") carrying the OpenTelemetry GenAI attributes
 * (gen_ai.*) and flow's own (flow.*). docs/tracing.md lists every
 * attribute. Ids are derived, not random: the trace id from the SHA-256 of
 * the run id, each span id from the SHA-256 of (run id, item, call
 * sequence), so exporting a run again gives the same ids and a reader can
 * predict every parent.
 *
 * Spans are buffered and POSTed in batches (OtlpOptions.batch) and at
 * otlp_close, each batch a blocking request bounded by the timeout, retried
 * once on a connection error, 429 or 5xx while time remains. After a batch
 * fails, later spans are counted and dropped: a dead collector costs a run
 * one timeout, never more. Nothing here prints: failures come back from
 * otlp_failure and otlp_close for the caller to warn with, and no message
 * holds a header value, the URL's user information or its query string.
 * Spans never carry message contents, headers or keys.
 *
 * Independent of the scheduler: the caller hands over plain records
 * (OtlpRun, OtlpItem, OtlpCall) with their wall-clock times. */
#ifndef FLOW_OTLP_H
#define FLOW_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OTLP_DEFAULT_TIMEOUT_MS 10000
#define OTLP_DEFAULT_BATCH 512
#define OTLP_TRACE_ID_HEX 33 /* 32 hex digits and a NUL */
#define OTLP_SPAN_ID_HEX 17  /* 16 hex digits and a NUL */
/* An absent item or sequence number in otlp_span_id: (NONE, NONE) is the
 * run's span, (item, NONE) an item's. */
#define OTLP_NONE (-1)

typedef struct OtlpExporter OtlpExporter;

typedef struct OtlpOptions {
  const char *url;          /* http:// or https://; without a path, /v1/traces is appended */
  const char *service_name; /* the resource's service.name; NULL: "flow" */
  const char *run_id;       /* the run's id, which the trace and span ids derive from */
  const char *headers;      /* extra headers, OTEL_EXPORTER_OTLP_HEADERS style
                               ("k1=v1,k2=v2", values percent-decoded); NULL: none */
  const char *ca_bundle;    /* a CA bundle for https, or NULL for the system's */
  long timeout_ms;          /* per batch, retry included; 0: OTLP_DEFAULT_TIMEOUT_MS (at most an hour) */
  size_t batch;             /* spans per request; 0: OTLP_DEFAULT_BATCH */
} OtlpOptions;

/* The run's root span. Status error when [error] is set. */
typedef struct OtlpRun {
  const char *program;       /* the program's name: the span is "flow run <program>" */
  const char *program_hash;  /* its content hash (hex), or NULL */
  const char *status;        /* "ok", "failed", "budget", "stopped", or NULL */
  const char *error;         /* why the run did not succeed, or NULL */
  uint64_t start_ns, end_ns; /* Unix epoch nanoseconds */
  int64_t items_ok, items_failed;
} OtlpRun;

/* One input item's span, a child of the run's. */
typedef struct OtlpItem {
  int64_t item;       /* its index in the input, from 0 */
  const char *status; /* "ok", "failed", "skipped", "not_done", or NULL */
  const char *error;  /* why it failed (status error), or NULL */
  uint64_t start_ns, end_ns;
} OtlpItem;

/* One model call's span, a child of its item's (of the run's when [item]
 * is OTLP_NONE). Strings may be NULL (the attribute is left out); the
 * has_* flags say which numbers are known. */
typedef struct OtlpCall {
  int64_t item, seq; /* its item and its sequence number there (the trace's "seq") */
  uint64_t start_ns, end_ns;
  const char *prompt;   /* flow.prompt */
  const char *binding;  /* flow.binding: the binding that answered */
  const char *provider; /* openai, anthropic, ollama, mock */
  const char *model;    /* gen_ai.request.model */
  const char *response_model;
  const char *request_key;   /* the call's request key (hex SHA-256) */
  const char *finish_reason; /* the provider's word, e.g. "stop", "end_turn" */
  const char *error;         /* why the call failed (status error), or NULL */
  const char *error_type;    /* error.type: a short class such as "timeout" or "http_503" */
  bool has_usage;            /* input_tokens and output_tokens are known */
  bool usage_estimated;      /* ... but estimated, not the provider's */
  bool has_temperature, has_max_tokens, has_cost;
  bool cache_hit; /* answered from the run store's cache */
  int64_t input_tokens, output_tokens;
  double temperature;
  int64_t max_tokens;
  int64_t attempts; /* requests sent (0 for a cache hit) */
  double cost_usd;
} OtlpCall;

/* A new exporter for one run, or NULL with a message naming what was
 * expected and what was found: a URL that is not http(s) or has no host,
 * a malformed header list (never quoted), libcurl missing. */
OtlpExporter *otlp_open(const OtlpOptions *opt, char *err, size_t errlen);

/* Add a span (copied at once; the record may go). A full batch is sent
 * before these return. No-ops on a NULL exporter or record. */
void otlp_run_span(OtlpExporter *e, const OtlpRun *r);
void otlp_item_span(OtlpExporter *e, const OtlpItem *it);
void otlp_call_span(OtlpExporter *e, const OtlpCall *c);

/* The first delivery failure so far ("OTLP export to URL: ..."), or NULL;
 * the caller may warn once when it appears. */
const char *otlp_failure(const OtlpExporter *e);

/* Send what is buffered and free the exporter. True when every span was
 * delivered (and on a NULL exporter); otherwise false with a message
 * naming the URL, how many spans were lost and the HTTP status or
 * connection error. */
bool otlp_close(OtlpExporter *e, char *err, size_t errlen);

/* The ids the exporter gives: the trace id of [run_id], and the span id of
 * (run_id, item, seq), both lowercase hex, never all zeros. */
void otlp_trace_id(const char *run_id, char hex[OTLP_TRACE_ID_HEX]);
void otlp_span_id(const char *run_id, int64_t item, int64_t seq, char hex[OTLP_SPAN_ID_HEX]);

/* The wall clock in Unix epoch nanoseconds, for span times. */
uint64_t otlp_now_ns(void);

#endif
