/*
 * flow_mockserver.c - a loopback mock of the model providers' HTTP APIs, for
 * flow's tests and benchmark.
 *
 * One thread, one epoll loop, HTTP/1.1 with keep-alive and pipelining (one
 * request in service per connection; later ones wait in the input buffer).
 * Speaks OpenAI Chat Completions, Anthropic Messages and Ollama /api/chat,
 * and receives OTLP/HTTP JSON trace exports (POST .../v1/traces); serves
 * scripted replies and injects faults per request; records what it
 * received. Binds 127.0.0.1 only and always exits by itself (--lifetime,
 * --max-requests, SIGTERM). See README.md beside this file.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* Limits. Every buffer and loop in the server is bounded by one of these. */
#define MS_MAX_HEADER (64u * 1024u)       /* request line + headers */
#define MS_MAX_BODY (64u * 1024u * 1024u) /* request body */
#define MS_READ_CHUNK (64u * 1024u)       /* bytes per read() */
#define MS_STREAM_CHUNK (256u * 1024u)    /* oversize bytes generated at once */
#define MS_SCHEMA_DEPTH 32                /* schema instance recursion cap */
#define MS_ACCEPT_BATCH 256               /* accepts per wake-up */
#define MS_READ_BATCH 16                  /* reads per wake-up */
#define MS_PUMP_ROUNDS 64                 /* write/generate rounds per wake-up */
#define MS_EVENTS 512                     /* epoll events per wait */
#define MS_RESET_DELAY_MS 20              /* headers, then RST after this */
#define MS_DRAIN_MS 5000                  /* grace after --max-requests */

/* The only global: set by the signal handler, read by the loop. */
static volatile sig_atomic_t g_stop = 0;

/* ------------------------------------------------------------------------ */
/* Growable byte buffers                                                    */
/* ------------------------------------------------------------------------ */

typedef struct {
  char *p;
  size_t len, cap;
} Buf;

/* Stop the program when memory runs out: a test tool has no better option. */
static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fprintf(stderr, "flow_mockserver: out of memory\n");
    exit(3);
  }
  return q;
}

/* Make room for [extra] more bytes (plus a NUL) in [b]. */
static void buf_reserve(Buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1)
    cap *= 2;
  b->p = xrealloc(b->p, cap);
  b->cap = cap;
}

/* Append [n] bytes from [s] to [b]; the buffer stays NUL-terminated. */
static void buf_put(Buf *b, const void *s, size_t n) {
  buf_reserve(b, n);
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

/* Append the C string [s] to [b]. */
static void buf_puts(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }

/* Append printf-formatted text to [b]. */
__attribute__((format(printf, 2, 3))) static void buf_printf(Buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    buf_put(b, small, (size_t)n);
    return;
  }
  buf_reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* Append the [n] bytes of [s] as a quoted JSON string (bytes >= 0x80 are
 * copied as they are, so valid UTF-8 stays valid). */
static void buf_json_str(Buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  buf_reserve(b, n + 2);
  b->p[b->len++] = '"';
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && (unsigned char)s[j] >= 0x20 && s[j] != '"' && s[j] != '\\')
      j++;
    buf_put(b, s + i, j - i);
    if (j == n) break;
    unsigned char ch = (unsigned char)s[j];
    char esc[6] = {'\\', 0, 0, 0, 0, 0};
    size_t el = 2;
    switch (ch) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default:
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = hex[ch >> 4];
      esc[5] = hex[ch & 15];
      el = 6;
    }
    buf_put(b, esc, el);
    i = j + 1;
  }
  buf_put(b, "\"", 1);
}

/* Release the memory of [b] and leave it empty. */
static void buf_free(Buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* A nanosecond monotonic clock. */
static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* Faults, script entries, recorded requests, connections, the server       */
/* ------------------------------------------------------------------------ */

/* X-macro: the fault kinds and their names in a script. */
#define MS_FAULTS(X)                                                                                         \
  X(F_NONE, "none")                                                                                          \
  X(F_429, "429")                                                                                            \
  X(F_500, "500")                                                                                            \
  X(F_502, "502")                                                                                            \
  X(F_503, "503")                                                                                            \
  X(F_HANG, "hang")                                                                                          \
  X(F_DRIP, "drip")                                                                                          \
  X(F_RESET, "reset_after_headers")                                                                          \
  X(F_EMPTY, "empty")                                                                                        \
  X(F_TRUNCATED, "truncated")                                                                                \
  X(F_MALFORMED, "malformed_json")                                                                           \
  X(F_PROSE, "prose")                                                                                        \
  X(F_FENCED, "fenced")                                                                                      \
  X(F_OVERSIZE, "oversize")                                                                                  \
  X(F_OVERSIZE_CHUNKED, "oversize_chunked")                                                                  \
  X(F_CLOSE, "close")

#define MS_ENUM(id, name) id,
typedef enum { MS_FAULTS(MS_ENUM) F_COUNT } Fault;
#undef MS_ENUM
#define MS_NAME(id, name) name,
static const char *const fault_names[] = {MS_FAULTS(MS_NAME)};
#undef MS_NAME

/* One line of a --script file: when it applies and what it answers. */
typedef struct {
  char *match; /* substring of the request body; NULL = any */
  char *path;  /* substring of the request path; NULL = any */
  long times;  /* uses left; -1 = unlimited */
  Fault fault;
  json_t *reply;        /* the reply value; NULL = the default reply */
  char *reply_text;     /* reply as text: the string, or the compact JSON */
  int status;           /* HTTP status; 0 = the fault's or 200 */
  long delay_ms;        /* -1 = the server's --latency-ms */
  long retry_after;     /* seconds, for 429 */
  int retry_after_date; /* send Retry-After as an HTTP-date */
  long drip_ms;         /* gap between bytes for "drip" */
  unsigned long long oversize_bytes;
  unsigned long long hits;
} ScriptEntry;

/* One recorded request, stored in a ring slot that is reused. [data] holds
 * method, target, raw header lines and body back to back. */
typedef struct {
  unsigned long long n;
  Buf data;
  size_t method_len, target_len, headers_len, body_len;
} Record;

/* What a connection is doing. */
typedef enum {
  C_READY,  /* parsing and answering requests */
  C_WAIT,   /* a reply is built and waits for its delay */
  C_HANG,   /* never answers; waits for the client to give up */
  C_DRIP,   /* sends the reply one byte per tick */
  C_STREAM, /* generates an oversize body as the socket drains */
  C_RESET   /* headers sent; the connection is reset at the next tick */
} ConnMode;

/* What to do with a built reply when its delay ends. */
typedef enum { A_SEND, A_SEND_CLOSE, A_CLOSE, A_HANG, A_DRIP, A_RESET, A_STREAM } Action;

/* One client connection. Slots are indexed by file descriptor and reused;
 * [tseq] only grows, so a timer armed for an earlier use is ignored. */
typedef struct {
  int fd;
  int open;
  uint32_t tseq;
  uint32_t events; /* current epoll interest */
  ConnMode mode;
  int eof;         /* the client closed its side */
  int close_after; /* close once the output is written */
  int in_service;  /* a request is being answered */
  int cont_sent;   /* "100 Continue" sent for the current request */
  Buf in;
  size_t in_off;
  Buf out;
  size_t out_off;
  Buf pend;        /* the reply waiting for release */
  size_t pend_off; /* bytes of [pend] already dripped */
  Action action;
  long drip_ms;
  unsigned long long st_pos, st_total;
  int st_chunked;
} Conn;

/* A timer: fires [kind] for connection [fd] if its [seq] still matches. */
typedef enum { T_RELEASE, T_DRIP, T_RESET } TimerKind;
typedef struct {
  uint64_t due;
  int fd;
  uint32_t seq;
  TimerKind kind;
} Timer;

/* Endpoints, as counted in /stats. */
typedef enum {
  E_OPENAI,
  E_ANTHROPIC,
  E_OLLAMA,
  E_OTLP,
  E_STATS,
  E_REQUESTS,
  E_CONTROL,
  E_OTHER,
  E_COUNT
} Endpoint;
static const char *const endpoint_names[] = {"openai", "anthropic", "ollama",  "otlp",
                                             "stats",  "requests",  "control", "other"};

/* Command-line options. */
typedef struct {
  int port;
  long lifetime_s;
  unsigned long long max_requests;
  long latency_ms;
  const char *script_file;
  const char *reply;
  size_t record_max;
} Options;

/* Counters reported by GET /stats. */
typedef struct {
  unsigned long long requests, recorded, endpoint[E_COUNT];
  unsigned long long scripted, defaults, faults[F_COUNT];
  unsigned long long accepted;
  long open, max_open, in_service, max_in_service;
} Stats;

/* The whole server. */
typedef struct {
  Options opt;
  int ep, lfd, tfd, port;
  Conn **conns;
  size_t nconns;
  Timer *heap;
  size_t hlen, hcap;
  uint64_t armed;
  ScriptEntry *script;
  size_t nscript;
  Record *ring;
  unsigned long long next_n; /* number of the next recorded request */
  Stats st;
  uint64_t deadline;
  int draining;
  uint64_t drain_deadline;
} Server;

/* One parsed request; pointers into the connection's input buffer. */
typedef struct {
  const char *method, *target, *path, *hdrs, *body;
  size_t mlen, tlen, plen, hlen, blen;
} Req;

/* ------------------------------------------------------------------------ */
/* Timers: a binary min-heap driving one timerfd                            */
/* ------------------------------------------------------------------------ */

/* Point the timerfd at the earliest timer (or disarm it). */
static void timer_arm(Server *s) {
  uint64_t due = s->hlen ? s->heap[0].due : 0;
  if (due == s->armed) return;
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  if (due) {
    its.it_value.tv_sec = (time_t)(due / 1000000000ull);
    its.it_value.tv_nsec = (long)(due % 1000000000ull);
  }
  timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL);
  s->armed = due;
}

/* Add a timer of [kind] for [c] due in [ms] milliseconds; it replaces any
 * timer the connection had (the old one no longer matches [tseq]). */
static void timer_add(Server *s, Conn *c, long ms, TimerKind kind) {
  if (s->hlen == s->hcap) {
    s->hcap = s->hcap ? s->hcap * 2 : 1024;
    s->heap = xrealloc(s->heap, s->hcap * sizeof *s->heap);
  }
  Timer t = {now_ns() + (uint64_t)(ms > 0 ? ms : 0) * 1000000ull, c->fd, ++c->tseq, kind};
  size_t i = s->hlen++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (s->heap[parent].due <= t.due) break;
    s->heap[i] = s->heap[parent];
    i = parent;
  }
  s->heap[i] = t;
  timer_arm(s);
}

/* Remove and return the earliest timer; the heap must not be empty. */
static Timer timer_pop(Server *s) {
  Timer top = s->heap[0], last = s->heap[--s->hlen];
  size_t i = 0, n = s->hlen;
  while (2 * i + 1 < n) {
    size_t l = 2 * i + 1, r = l + 1, m = l;
    if (r < n && s->heap[r].due < s->heap[l].due) m = r;
    if (last.due <= s->heap[m].due) break;
    s->heap[i] = s->heap[m];
    i = m;
  }
  if (n) s->heap[i] = last;
  return top;
}

/* ------------------------------------------------------------------------ */
/* Connections: close, write, interest                                      */
/* ------------------------------------------------------------------------ */

/* Mark the request on [c] as answered. */
static void service_done(Server *s, Conn *c) {
  if (!c->in_service) return;
  c->in_service = 0;
  s->st.in_service--;
}

/* Close [c]; with [reset] the peer gets an RST instead of a FIN. */
static void conn_close(Server *s, Conn *c, int reset) {
  if (!c->open) return;
  if (reset) {
    struct linger lg = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  service_done(s, c);
  c->open = 0;
  c->tseq++;
  s->st.open--;
  /* Keep small buffers for the slot's next connection. */
  if (c->in.cap > 256 * 1024) buf_free(&c->in);
  if (c->out.cap > 256 * 1024) buf_free(&c->out);
  if (c->pend.cap > 256 * 1024) buf_free(&c->pend);
  c->in.len = c->out.len = c->pend.len = 0;
}

/* Set the epoll interest of [c] from its state: input unless the client
 * closed its side, output while bytes wait or a stream is generating. */
static void conn_interest(Server *s, Conn *c) {
  if (!c->open) return;
  uint32_t ev = 0;
  if (!c->eof) ev |= EPOLLIN;
  if (c->out_off < c->out.len || c->mode == C_STREAM) ev |= EPOLLOUT;
  if (ev == c->events) return;
  struct epoll_event e;
  memset(&e, 0, sizeof e);
  e.events = ev;
  e.data.fd = c->fd;
  epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &e);
  c->events = ev;
}

/* Write pending output. Returns 1 when all is written, 0 when the socket is
 * full, -1 when the connection was closed. */
static int conn_write(Server *s, Conn *c) {
  size_t guard = c->out.len - c->out_off + 1;
  while (c->out_off < c->out.len && guard-- > 0) {
    ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c->out_off += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    conn_close(s, c, 0);
    return -1;
  }
  if (c->out_off < c->out.len) return 0;
  c->out.len = c->out_off = 0;
  return 1;
}

/* ------------------------------------------------------------------------ */
/* JSON helpers: schema instances, lookups                                  */
/* ------------------------------------------------------------------------ */

/* Resolve a local "$ref" ("#/a/b") against [root]; NULL when it cannot. */
static json_t *schema_resolve(json_t *root, const char *ref) {
  if (ref[0] != '#') return NULL;
  json_t *cur = root;
  const char *p = ref + 1;
  for (int depth = 0; *p == '/' && cur && depth < MS_SCHEMA_DEPTH; depth++) {
    p++;
    char key[256];
    size_t k = 0;
    while (*p && *p != '/' && k + 1 < sizeof key) {
      if (p[0] == '~' && p[1] == '0') {
        key[k++] = '~';
        p += 2;
      } else if (p[0] == '~' && p[1] == '1') {
        key[k++] = '/';
        p += 2;
      } else
        key[k++] = *p++;
    }
    key[k] = '\0';
    if (json_is_object(cur))
      cur = json_object_get(cur, key);
    else if (json_is_array(cur))
      cur = json_array_get(cur, (size_t)strtoul(key, NULL, 10));
    else
      cur = NULL;
  }
  return *p ? NULL : cur;
}

/* The first type named by a schema's "type" (skipping "null" in a list,
 * unless it is the only one); NULL when absent. */
static const char *schema_type(json_t *schema) {
  json_t *t = json_object_get(schema, "type");
  if (json_is_string(t)) return json_string_value(t);
  if (!json_is_array(t)) return NULL;
  const char *only_null = NULL;
  size_t i;
  json_t *v;
  json_array_foreach(t, i, v) {
    if (!json_is_string(v)) continue;
    if (strcmp(json_string_value(v), "null") == 0)
      only_null = "null";
    else
      return json_string_value(v);
  }
  return only_null;
}

/* A number of a schema keyword, or [dflt] when absent. */
static double schema_num(json_t *schema, const char *key, double dflt) {
  json_t *v = json_object_get(schema, key);
  return json_is_number(v) ? json_number_value(v) : dflt;
}

/* A minimal instance of the JSON Schema [schema] (new reference): objects
 * with their required properties, strings "mock", numbers 0.5, integers 1,
 * booleans true, enums their first value, arrays one item, the first branch
 * of anyOf/oneOf; null once [depth] passes the cap. */
static json_t *schema_instance(json_t *schema, json_t *root, int depth) {
  if (depth > MS_SCHEMA_DEPTH) return json_null();
  if (json_is_true(schema)) return json_string("mock");
  if (!json_is_object(schema)) return json_null();
  json_t *v = json_object_get(schema, "$ref");
  if (json_is_string(v)) {
    json_t *target = schema_resolve(root, json_string_value(v));
    return target ? schema_instance(target, root, depth + 1) : json_null();
  }
  if ((v = json_object_get(schema, "const"))) return json_deep_copy(v);
  v = json_object_get(schema, "enum");
  if (json_is_array(v) && json_array_size(v) > 0) return json_deep_copy(json_array_get(v, 0));
  const char *branches[] = {"anyOf", "oneOf", "allOf"};
  for (size_t i = 0; i < 3; i++) {
    v = json_object_get(schema, branches[i]);
    if (json_is_array(v) && json_array_size(v) > 0)
      return schema_instance(json_array_get(v, 0), root, depth + 1);
  }
  const char *type = schema_type(schema);
  if (!type) {
    if (json_object_get(schema, "properties"))
      type = "object";
    else if (json_object_get(schema, "items"))
      type = "array";
    else
      type = "string";
  }
  if (strcmp(type, "object") == 0) {
    json_t *obj = json_object();
    json_t *props = json_object_get(schema, "properties");
    json_t *req = json_object_get(schema, "required");
    size_t i;
    json_t *name;
    json_array_foreach(req, i, name) {
      if (!json_is_string(name)) continue;
      json_t *ps = json_object_get(props, json_string_value(name));
      json_object_set_new(obj, json_string_value(name),
                          ps ? schema_instance(ps, root, depth + 1) : json_string("mock"));
    }
    return obj;
  }
  if (strcmp(type, "array") == 0) {
    json_t *arr = json_array();
    json_t *items = json_object_get(schema, "items");
    json_t *prefix = json_object_get(schema, "prefixItems");
    if (json_is_array(items)) prefix = items, items = NULL;
    size_t n = 1, i;
    json_t *it;
    double min_items = schema_num(schema, "minItems", 1);
    if (min_items > 1) n = min_items > 8 ? 8 : (size_t)min_items;
    if (schema_num(schema, "maxItems", 1) < 1) n = 0;
    json_array_foreach(prefix, i, it) json_array_append_new(arr, schema_instance(it, root, depth + 1));
    for (i = json_array_size(arr); i < n; i++)
      json_array_append_new(arr, items ? schema_instance(items, root, depth + 1) : json_string("mock"));
    return arr;
  }
  if (strcmp(type, "integer") == 0) {
    double lo = schema_num(schema, "minimum", -1e18), hi = schema_num(schema, "maximum", 1e18);
    json_int_t x = 1;
    if (lo > (double)x) x = (json_int_t)lo;
    if (schema_num(schema, "exclusiveMinimum", -1e18) >= (double)x)
      x = (json_int_t)schema_num(schema, "exclusiveMinimum", 0) + 1;
    if (hi < (double)x) x = (json_int_t)hi;
    return json_integer(x);
  }
  if (strcmp(type, "number") == 0) {
    double x = 0.5, lo = schema_num(schema, "minimum", -1e300), hi = schema_num(schema, "maximum", 1e300);
    if (lo > x) x = lo;
    if (schema_num(schema, "exclusiveMinimum", -1e300) >= x)
      x = schema_num(schema, "exclusiveMinimum", 0) + 0.5;
    if (hi < x) x = hi;
    return json_real(x);
  }
  if (strcmp(type, "boolean") == 0) return json_true();
  if (strcmp(type, "null") == 0) return json_null();
  const char *fmt = json_string_value(json_object_get(schema, "format"));
  if (fmt && strcmp(fmt, "date-time") == 0) return json_string("2024-01-01T00:00:00Z");
  if (fmt && strcmp(fmt, "date") == 0) return json_string("2024-01-01");
  if (fmt && strcmp(fmt, "email") == 0) return json_string("mock@example.com");
  if (fmt && (strcmp(fmt, "uri") == 0 || strcmp(fmt, "url") == 0))
    return json_string("https://example.com/mock");
  double min_len = schema_num(schema, "minLength", 0);
  if (min_len > 4) {
    char pad[257];
    size_t n = min_len > 256 ? 256 : (size_t)min_len;
    for (size_t i = 0; i < n; i++)
      pad[i] = "mock"[i % 4];
    pad[n] = '\0';
    return json_string(pad);
  }
  return json_string("mock");
}

/* The string member [key] of [obj], or NULL. */
static const char *json_str_at(json_t *obj, const char *key) {
  return json_string_value(json_object_get(obj, key));
}

/* ------------------------------------------------------------------------ */
/* The script                                                               */
/* ------------------------------------------------------------------------ */

/* Free the script entries of [s]. */
static void script_free(Server *s) {
  for (size_t i = 0; i < s->nscript; i++) {
    ScriptEntry *e = &s->script[i];
    free(e->match);
    free(e->path);
    free(e->reply_text);
    json_decref(e->reply);
  }
  free(s->script);
  s->script = NULL;
  s->nscript = 0;
}

/* Parse one script line [obj] into [e]. Returns NULL or an error message
 * (static text). */
static const char *script_entry_parse(json_t *obj, ScriptEntry *e) {
  memset(e, 0, sizeof *e);
  e->times = -1;
  e->delay_ms = -1;
  e->retry_after = 1;
  e->drip_ms = 50;
  e->oversize_bytes = 64ull * 1024 * 1024;
  if (!json_is_object(obj)) return "each line must be a JSON object";
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    if (strcmp(key, "match") == 0 || strcmp(key, "path") == 0) {
      if (!json_is_string(v)) return "\"match\" and \"path\" must be strings";
      *(strcmp(key, "match") == 0 ? &e->match : &e->path) = strdup(json_string_value(v));
    } else if (strcmp(key, "times") == 0) {
      if (!json_is_integer(v) || json_integer_value(v) < 0) return "\"times\" must be a non-negative integer";
      e->times = (long)json_integer_value(v);
    } else if (strcmp(key, "fault") == 0) {
      const char *name = json_is_string(v) ? json_string_value(v) : NULL;
      char num[32];
      if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        name = num;
      }
      int found = -1;
      for (int f = 0; name && f < F_COUNT; f++)
        if (strcmp(fault_names[f], name) == 0) found = f;
      if (found < 0) return "unknown \"fault\"";
      e->fault = (Fault)found;
    } else if (strcmp(key, "reply") == 0) {
      e->reply = json_incref(v);
      e->reply_text =
          json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    } else if (strcmp(key, "status") == 0) {
      if (!json_is_integer(v) || json_integer_value(v) < 100 || json_integer_value(v) > 599)
        return "\"status\" must be an integer from 100 to 599";
      e->status = (int)json_integer_value(v);
    } else if (strcmp(key, "delay_ms") == 0 || strcmp(key, "drip_ms") == 0 ||
               strcmp(key, "retry_after") == 0) {
      if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 3600000)
        return "\"delay_ms\", \"drip_ms\" and \"retry_after\" must be integers from 0 to 3600000";
      long x = (long)json_integer_value(v);
      if (key[0] == 'd' && key[1] == 'e')
        e->delay_ms = x;
      else if (key[0] == 'd')
        e->drip_ms = x;
      else
        e->retry_after = x;
    } else if (strcmp(key, "retry_after_date") == 0) {
      if (!json_is_boolean(v)) return "\"retry_after_date\" must be a boolean";
      e->retry_after_date = json_is_true(v);
    } else if (strcmp(key, "oversize_bytes") == 0) {
      if (!json_is_integer(v) || json_integer_value(v) < 1)
        return "\"oversize_bytes\" must be a positive integer";
      e->oversize_bytes = (unsigned long long)json_integer_value(v);
    } else {
      return "unknown key (expected match, path, times, fault, reply, status, delay_ms, "
             "retry_after, retry_after_date, drip_ms, oversize_bytes)";
    }
  }
  return NULL;
}

/* Replace the script of [s] with the JSON Lines in [text] ([n] bytes).
 * Blank lines and lines starting with '#' are skipped. On error the old
 * script stays, and a message naming [origin] and the line goes to [err]. */
static int script_load(Server *s, const char *origin, const char *text, size_t n, Buf *err) {
  ScriptEntry *entries = NULL;
  size_t count = 0, cap = 0, line = 0;
  const char *p = text, *end = text + n;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    line++;
    const char *q = p;
    while (q < le && (*q == ' ' || *q == '\t' || *q == '\r'))
      q++;
    if (q < le && *q != '#') {
      json_error_t je;
      json_t *obj = json_loadb(q, (size_t)(le - q), 0, &je);
      const char *msg = obj ? NULL : je.text;
      if (count == cap) {
        cap = cap ? cap * 2 : 16;
        entries = xrealloc(entries, cap * sizeof *entries);
      }
      if (!msg) msg = script_entry_parse(obj, &entries[count]);
      count++;
      json_decref(obj);
      if (msg) {
        buf_printf(err, "%s:%zu: %s", origin, line, msg);
        Server tmp;
        tmp.script = entries;
        tmp.nscript = count;
        script_free(&tmp);
        return -1;
      }
    }
    p = le + (nl ? 1 : 0);
  }
  script_free(s);
  s->script = entries;
  s->nscript = count;
  return 0;
}

/* The first script entry that applies to this request, with one use taken;
 * NULL when none does. An OTLP export only takes entries that name a
 * `path`, so lines written for model requests never answer one. */
static ScriptEntry *script_pick(Server *s, const Req *r, Endpoint ep) {
  for (size_t i = 0; i < s->nscript; i++) {
    ScriptEntry *e = &s->script[i];
    if (e->times == 0 || (ep == E_OTLP && !e->path)) continue;
    if (e->match && !memmem(r->body, r->blen, e->match, strlen(e->match))) continue;
    if (e->path && !memmem(r->path, r->plen, e->path, strlen(e->path))) continue;
    if (e->times > 0) e->times--;
    e->hits++;
    return e;
  }
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Recording                                                                */
/* ------------------------------------------------------------------------ */

/* Keep a copy of request [r] in the ring (the oldest slot is reused). */
static unsigned long long record_request(Server *s, const Req *r) {
  unsigned long long n = ++s->next_n;
  if (!s->opt.record_max) return n;
  Record *rec = &s->ring[(n - 1) % s->opt.record_max];
  rec->n = n;
  rec->data.len = 0;
  buf_reserve(&rec->data, r->mlen + r->tlen + r->hlen + r->blen);
  buf_put(&rec->data, r->method, r->mlen);
  buf_put(&rec->data, r->target, r->tlen);
  buf_put(&rec->data, r->hdrs, r->hlen);
  buf_put(&rec->data, r->body, r->blen);
  rec->method_len = r->mlen;
  rec->target_len = r->tlen;
  rec->headers_len = r->hlen;
  rec->body_len = r->blen;
  return n;
}

/* A JSON string of [n] bytes that may not be UTF-8: invalid input has its
 * bytes >= 0x80 replaced by '?'. New reference. */
static json_t *json_string_lossy(const char *p, size_t n) {
  json_t *v = json_stringn(p, n);
  if (v) return v;
  char *copy = xrealloc(NULL, n + 1);
  for (size_t i = 0; i < n; i++)
    copy[i] = ((unsigned char)p[i] >= 0x80 || p[i] == 0) ? '?' : p[i];
  v = json_stringn(copy, n);
  free(copy);
  return v ? v : json_string("");
}

/* Render one record as a JSON object (new reference). */
static json_t *record_json(const Record *rec) {
  const char *p = rec->data.p;
  json_t *o = json_object();
  json_object_set_new(o, "n", json_integer((json_int_t)rec->n));
  json_object_set_new(o, "method", json_string_lossy(p, rec->method_len));
  p += rec->method_len;
  json_object_set_new(o, "path", json_string_lossy(p, rec->target_len));
  p += rec->target_len;
  json_t *h = json_object();
  const char *he = p + rec->headers_len;
  while (p < he) {
    const char *le = memmem(p, (size_t)(he - p), "\r\n", 2);
    if (!le) le = he;
    const char *colon = memchr(p, ':', (size_t)(le - p));
    if (colon && colon > p) {
      char name[256];
      size_t nl = (size_t)(colon - p) < sizeof name - 1 ? (size_t)(colon - p) : sizeof name - 1;
      for (size_t i = 0; i < nl; i++)
        name[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i]);
      name[nl] = '\0';
      const char *v = colon + 1, *ve = le;
      while (v < ve && (*v == ' ' || *v == '\t'))
        v++;
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
      json_t *value = json_string_lossy(v, (size_t)(ve - v));
      json_t *old = json_object_get(h, name);
      if (old) {
        Buf joined = {0};
        buf_puts(&joined, json_string_value(old));
        buf_puts(&joined, ", ");
        buf_puts(&joined, json_string_value(value));
        json_decref(value);
        value = json_string_lossy(joined.p, joined.len);
        buf_free(&joined);
      }
      if (json_string_value(value))
        json_object_set_new(h, name, value);
      else
        json_decref(value);
    }
    p = le + 2;
  }
  json_object_set_new(o, "headers", h);
  p = rec->data.p + rec->method_len + rec->target_len + rec->headers_len;
  json_t *body = NULL;
  if (rec->body_len) {
    body = json_loadb(p, rec->body_len, JSON_DECODE_ANY, NULL);
    if (!body) body = json_string_lossy(p, rec->body_len);
  }
  json_object_set_new(o, "body", body ? body : json_null());
  return o;
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                  */
/* ------------------------------------------------------------------------ */

/* The reason phrase of an HTTP status. */
static const char *status_reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 408: return "Request Timeout";
  case 411: return "Length Required";
  case 413: return "Payload Too Large";
  case 422: return "Unprocessable Entity";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 529: return "Overloaded";
  default: return "Status";
  }
}

/* Append a status line and headers for a body of [len] bytes to [b];
 * [extra] holds further header lines (each ending in CRLF) or is NULL;
 * [len] of ULLONG_MAX means chunked transfer encoding. */
static void put_head(Buf *b, int status, const char *ctype, unsigned long long len, const char *extra,
                     unsigned long long n, int close) {
  buf_printf(b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n", status, status_reason(status), ctype);
  if (len == ULLONG_MAX)
    buf_puts(b, "Transfer-Encoding: chunked\r\n");
  else
    buf_printf(b, "Content-Length: %llu\r\n", len);
  if (n) buf_printf(b, "x-mock-n: %llu\r\n", n);
  if (extra) buf_puts(b, extra);
  if (close) buf_puts(b, "Connection: close\r\n");
  buf_puts(b, "\r\n");
}

/* Append a complete response with [body] to [b]. */
static void put_response(Buf *b, int status, const char *ctype, const char *body, size_t blen,
                         const char *extra, unsigned long long n, int close) {
  put_head(b, status, ctype, blen, extra, n, close);
  buf_put(b, body, blen);
}

/* Append an error body in the format of [ep] to [b]. */
static void put_error_body(Buf *b, Endpoint ep, int status, const char *msg) {
  if (ep == E_OTLP) { /* a google.rpc.Status: UNAVAILABLE, RESOURCE_EXHAUSTED, INVALID_ARGUMENT or INTERNAL */
    int code = status == 502 || status == 503 || status == 504 ? 14
               : status == 429                                 ? 8
               : status < 500                                  ? 3
                                                               : 13;
    buf_printf(b, "{\"code\":%d,\"message\":", code);
    buf_json_str(b, msg, strlen(msg));
    buf_puts(b, "}");
  } else if (ep == E_ANTHROPIC) {
    const char *type = status == 429   ? "rate_limit_error"
                       : status == 529 ? "overloaded_error"
                       : status == 401 ? "authentication_error"
                       : status >= 500 ? "api_error"
                                       : "invalid_request_error";
    buf_printf(b, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":", type);
    buf_json_str(b, msg, strlen(msg));
    buf_puts(b, "}}");
  } else if (ep == E_OLLAMA) {
    buf_puts(b, "{\"error\":");
    buf_json_str(b, msg, strlen(msg));
    buf_puts(b, "}");
  } else {
    const char *type = status == 429 ? "requests" : status >= 500 ? "server_error" : "invalid_request_error";
    buf_puts(b, "{\"error\":{\"message\":");
    buf_json_str(b, msg, strlen(msg));
    buf_printf(b, ",\"type\":\"%s\",\"param\":null,\"code\":%s}}", type,
               status == 429 ? "\"rate_limit_exceeded\"" : "null");
  }
}

/* What the request asks for as structured output. */
typedef struct {
  json_t *schema;   /* borrowed; NULL when none */
  int json_mode;    /* JSON asked for without a schema */
  const char *tool; /* Anthropic: the forced tool's name */
} Structured;

/* Find what structured output the request [body] of endpoint [ep] asks for. */
static Structured find_structured(Endpoint ep, json_t *body) {
  Structured st = {NULL, 0, NULL};
  if (ep == E_OPENAI) {
    json_t *rf = json_object_get(body, "response_format");
    const char *type = json_str_at(rf, "type");
    if (type && strcmp(type, "json_schema") == 0) {
      st.schema = json_object_get(json_object_get(rf, "json_schema"), "schema");
      st.json_mode = 1;
    } else if (type && strcmp(type, "json_object") == 0) {
      st.json_mode = 1;
    }
  } else if (ep == E_ANTHROPIC) {
    json_t *choice = json_object_get(body, "tool_choice"), *tools = json_object_get(body, "tools");
    const char *type = json_str_at(choice, "type");
    if (!json_is_array(tools) || json_array_size(tools) == 0 || !type) return st;
    size_t i;
    json_t *tool;
    if (strcmp(type, "any") == 0) {
      tool = json_array_get(tools, 0);
    } else if (strcmp(type, "tool") == 0 && json_str_at(choice, "name")) {
      json_t *found = NULL;
      json_array_foreach(tools, i, tool) if (!found && json_is_string(json_object_get(tool, "name")) &&
                                             strcmp(json_str_at(tool, "name"), json_str_at(choice, "name")) ==
                                                 0) found = tool;
      tool = found;
    } else {
      return st;
    }
    if (!tool || !json_str_at(tool, "name")) return st;
    st.tool = json_str_at(tool, "name");
    st.schema = json_object_get(tool, "input_schema");
    st.json_mode = 1;
  } else if (ep == E_OLLAMA) {
    json_t *fmt = json_object_get(body, "format");
    if (json_is_object(fmt))
      st.schema = fmt, st.json_mode = 1;
    else if (json_is_string(fmt) && strcmp(json_string_value(fmt), "json") == 0)
      st.json_mode = 1;
  }
  return st;
}

/* Append the success body of [ep] to [b]: the assistant says [text], or for
 * Anthropic with [tool_input] (borrowed) non-NULL, calls tool [tool]. */
static void put_success_body(Buf *b, Endpoint ep, unsigned long long n, const char *model, const char *text,
                             size_t text_len, const char *tool, json_t *tool_input, size_t req_len) {
  unsigned long long pt = req_len / 4 + 1, ct = text_len / 4 + 1;
  time_t now = time(NULL);
  if (ep == E_OTLP) {
    buf_put(b, text, text_len); /* by default {}: a full success, no partialSuccess */
  } else if (ep == E_ANTHROPIC) {
    buf_printf(b, "{\"id\":\"msg_mock_%llu\",\"type\":\"message\",\"role\":\"assistant\",\"model\":", n);
    buf_json_str(b, model, strlen(model));
    if (tool_input) {
      char *input = json_dumps(tool_input, JSON_COMPACT | JSON_ENCODE_ANY);
      ct = (input ? strlen(input) : 0) / 4 + 1;
      buf_printf(b, ",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_mock_%llu\",\"name\":", n);
      buf_json_str(b, tool, strlen(tool));
      buf_puts(b, ",\"input\":");
      buf_puts(b, input ? input : "{}");
      buf_puts(b, "}],\"stop_reason\":\"tool_use\"");
      free(input);
    } else {
      buf_puts(b, ",\"content\":[{\"type\":\"text\",\"text\":");
      buf_json_str(b, text, text_len);
      buf_puts(b, "}],\"stop_reason\":\"end_turn\"");
    }
    buf_printf(b, ",\"stop_sequence\":null,\"usage\":{\"input_tokens\":%llu,\"output_tokens\":%llu}}", pt,
               ct);
  } else if (ep == E_OLLAMA) {
    struct tm tm;
    gmtime_r(&now, &tm);
    char ts[64];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    buf_puts(b, "{\"model\":");
    buf_json_str(b, model, strlen(model));
    buf_printf(b, ",\"created_at\":\"%s\",\"message\":{\"role\":\"assistant\",\"content\":", ts);
    buf_json_str(b, text, text_len);
    buf_printf(b,
               "},\"done\":true,\"done_reason\":\"stop\",\"total_duration\":0,\"prompt_eval_count\":%llu,"
               "\"eval_count\":%llu}",
               pt, ct);
  } else {
    buf_printf(b,
               "{\"id\":\"chatcmpl-mock-%llu\",\"object\":\"chat.completion\",\"created\":%lld,\"model\":", n,
               (long long)now);
    buf_json_str(b, model, strlen(model));
    buf_puts(b, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
    buf_json_str(b, text, text_len);
    buf_printf(b,
               "},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":%llu,\"completion_tokens\":%llu,"
               "\"total_tokens\":%llu}}",
               pt, ct, pt + ct);
  }
}

/* Build the reply to model request [r] (number [n], endpoint [ep]) into
 * c->pend and c->action. Returns the delay in milliseconds before release. */
static long build_reply(Server *s, Conn *c, const Req *r, Endpoint ep, unsigned long long n) {
  Buf *b = &c->pend;
  b->len = 0;
  c->pend_off = 0;
  c->action = A_SEND;
  json_error_t je;
  json_t *body = json_loadb(r->body, r->blen, 0, &je);
  if (!json_is_object(body)) {
    Buf msg = {0}, eb = {0};
    buf_printf(&msg, "mock: the request body is not a JSON object: %s", body ? "not an object" : je.text);
    put_error_body(&eb, ep, 400, msg.p);
    put_response(b, 400, "application/json", eb.p, eb.len, NULL, n, c->close_after);
    buf_free(&msg);
    buf_free(&eb);
    json_decref(body);
    s->st.defaults++;
    return s->opt.latency_ms;
  }
  ScriptEntry *e = script_pick(s, r, ep);
  if (e)
    s->st.scripted++;
  else
    s->st.defaults++;
  Fault fault = e ? e->fault : F_NONE;
  s->st.faults[fault]++;
  long delay = e && e->delay_ms >= 0 ? e->delay_ms : ep == E_OTLP ? 0 : s->opt.latency_ms;
  const char *model = json_str_at(body, "model");
  if (!model) model = "mock-model";
  Structured want = find_structured(ep, body);

  /* The reply text, and for Anthropic's forced tool, the tool input. */
  char *owned = NULL;
  const char *text;
  json_t *input = NULL; /* new reference */
  if (e && e->reply) {
    text = e->reply_text ? e->reply_text : "";
    if (want.tool) {
      input = json_is_string(e->reply) ? json_loads(text, JSON_DECODE_ANY, NULL) : json_incref(e->reply);
      if (!json_is_object(input)) {
        json_decref(input);
        input = NULL;
      }
    }
  } else if (want.schema) {
    json_t *inst = schema_instance(want.schema, want.schema, 0);
    owned = json_dumps(inst, JSON_COMPACT | JSON_ENCODE_ANY);
    text = owned ? owned : "{}";
    if (want.tool && json_is_object(inst)) input = json_incref(inst);
    json_decref(inst);
  } else if (want.json_mode) {
    text = want.tool ? "{}" : "{\"result\":\"mock\"}";
    if (want.tool) input = json_object();
  } else {
    text = ep == E_OTLP ? "{}" : s->opt.reply;
  }
  if (!want.tool) {
    json_decref(input);
    input = NULL;
  }

  int status = e && e->status ? e->status : 200;
  if (fault == F_429) status = e->status ? e->status : 429;
  if (fault == F_500 || fault == F_502 || fault == F_503)
    status = e->status ? e->status : atoi(fault_names[fault]);

  Buf body_buf = {0}, extra = {0};
  if (fault == F_429) {
    if (e->retry_after_date) {
      time_t at = time(NULL) + e->retry_after;
      struct tm tm;
      gmtime_r(&at, &tm);
      char date[64];
      strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
      buf_printf(&extra, "Retry-After: %s\r\n", date);
    } else {
      buf_printf(&extra, "Retry-After: %ld\r\n", e->retry_after);
    }
  }
  if (status >= 400) {
    char dflt[64];
    snprintf(dflt, sizeof dflt, "mock: fault %d", status);
    put_error_body(&body_buf, ep, status, e && e->reply ? text : dflt);
  } else if (fault == F_EMPTY) {
    /* An empty body. */
  } else if (fault == F_MALFORMED) {
    buf_puts(&body_buf, "{\"choices\": [");
  } else if (fault == F_PROSE || fault == F_FENCED) {
    Buf wrapped = {0};
    if (fault == F_PROSE)
      buf_puts(&wrapped, "Sure! Here is the answer you asked for:\n");
    else
      buf_puts(&wrapped, "```json\n");
    buf_puts(&wrapped, text);
    if (fault == F_PROSE)
      buf_puts(&wrapped, "\nLet me know if you need anything else.");
    else
      buf_puts(&wrapped, "\n```");
    put_success_body(&body_buf, ep, n, model, wrapped.p, wrapped.len, NULL, NULL, r->blen);
    buf_free(&wrapped);
  } else if (fault != F_OVERSIZE && fault != F_OVERSIZE_CHUNKED) {
    put_success_body(&body_buf, ep, n, model, text, strlen(text), want.tool, input, r->blen);
  }

  switch (fault) {
  case F_HANG: c->action = A_HANG; break;
  case F_CLOSE: c->action = A_CLOSE; break;
  case F_OVERSIZE:
  case F_OVERSIZE_CHUNKED:
    c->st_chunked = fault == F_OVERSIZE_CHUNKED;
    c->st_total = e->oversize_bytes;
    c->st_pos = 0;
    put_head(b, 200, "application/json", c->st_chunked ? ULLONG_MAX : c->st_total, NULL, n, c->close_after);
    c->action = A_STREAM;
    break;
  case F_RESET:
    put_head(b, status, "application/json", body_buf.len, extra.p, n, c->close_after);
    c->action = A_RESET;
    break;
  case F_TRUNCATED:
    put_head(b, status, "application/json", body_buf.len, extra.p, n, c->close_after);
    buf_put(b, body_buf.p, body_buf.len / 2);
    c->action = A_SEND_CLOSE;
    break;
  case F_DRIP:
    put_response(b, status, "application/json", body_buf.p, body_buf.len, extra.p, n, c->close_after);
    c->action = A_DRIP;
    c->drip_ms = e->drip_ms;
    break;
  default:
    put_response(b, status, "application/json", body_buf.p, body_buf.len, extra.p, n, c->close_after);
    break;
  }
  buf_free(&body_buf);
  buf_free(&extra);
  free(owned);
  json_decref(input);
  json_decref(body);
  return delay;
}

/* Generate the next piece of an oversize body into c->out: a JSON-looking
 * prefix, filler, a closing suffix; exactly st_total bytes in all, framed
 * as chunks when st_chunked. Leaves C_STREAM when the last byte is out. */
static void stream_fill(Server *s, Conn *c) {
  static const char prefix[] = "{\"id\":\"mock-oversize\",\"choices\":[{\"index\":0,\"message\":"
                               "{\"role\":\"assistant\",\"content\":\"";
  static const char suffix[] = "\"},\"finish_reason\":\"stop\"}]}";
  unsigned long long left = c->st_total - c->st_pos, pos = c->st_pos, total = c->st_total;
  size_t n = left > MS_STREAM_CHUNK ? MS_STREAM_CHUNK : (size_t)left;
  if (n) {
    if (c->st_chunked) buf_printf(&c->out, "%zx\r\n", n);
    buf_reserve(&c->out, n);
    char *dst = c->out.p + c->out.len;
    memset(dst, 'x', n);
    unsigned long long plen = sizeof prefix - 1, slen = sizeof suffix - 1;
    if (total < plen + slen) plen = slen = 0; /* too small: filler only */
    for (unsigned long long k = pos; k < plen && k < pos + n; k++)
      dst[k - pos] = prefix[k];
    for (unsigned long long k = pos > total - slen ? pos : total - slen; k < pos + n; k++)
      dst[k - pos] = suffix[k - (total - slen)];
    c->out.len += n;
    c->out.p[c->out.len] = '\0';
    if (c->st_chunked) buf_puts(&c->out, "\r\n");
    c->st_pos += n;
  }
  if (c->st_pos == c->st_total) {
    if (c->st_chunked) buf_puts(&c->out, "0\r\n\r\n");
    c->mode = C_READY;
    service_done(s, c);
  }
}

/* Hand the built reply of [c] over according to its action. */
static void conn_release(Server *s, Conn *c) {
  switch (c->action) {
  case A_SEND:
  case A_SEND_CLOSE:
    buf_put(&c->out, c->pend.p, c->pend.len);
    c->mode = C_READY;
    c->close_after = c->close_after || c->action == A_SEND_CLOSE;
    service_done(s, c);
    break;
  case A_CLOSE:
    c->mode = C_READY;
    c->close_after = 1;
    service_done(s, c);
    break;
  case A_HANG: c->mode = C_HANG; break;
  case A_DRIP:
    c->mode = C_DRIP;
    timer_add(s, c, c->drip_ms, T_DRIP);
    break;
  case A_RESET:
    buf_put(&c->out, c->pend.p, c->pend.len);
    c->mode = C_RESET;
    timer_add(s, c, MS_RESET_DELAY_MS, T_RESET);
    break;
  case A_STREAM:
    buf_put(&c->out, c->pend.p, c->pend.len);
    c->mode = C_STREAM;
    break;
  }
  if (c->action != A_DRIP) c->pend.len = 0;
}

/* ------------------------------------------------------------------------ */
/* Control endpoints                                                        */
/* ------------------------------------------------------------------------ */

/* Append the /stats JSON to [b]. */
static void put_stats(Server *s, Buf *b) {
  Stats *t = &s->st;
  buf_printf(b, "{\"requests\":%llu,\"recorded\":%llu,\"endpoints\":{", t->requests, t->recorded);
  for (int i = 0; i < E_COUNT; i++)
    buf_printf(b, "%s\"%s\":%llu", i ? "," : "", endpoint_names[i], t->endpoint[i]);
  buf_printf(b, "},\"replies\":{\"scripted\":%llu,\"default\":%llu},\"faults\":{", t->scripted, t->defaults);
  int first = 1;
  for (int f = 1; f < F_COUNT; f++) {
    if (!t->faults[f]) continue;
    buf_printf(b, "%s\"%s\":%llu", first ? "" : ",", fault_names[f], t->faults[f]);
    first = 0;
  }
  buf_puts(b, "},\"script\":[");
  for (size_t i = 0; i < s->nscript; i++)
    buf_printf(b, "%s{\"index\":%zu,\"hits\":%llu,\"times_left\":%ld}", i ? "," : "", i, s->script[i].hits,
               s->script[i].times);
  buf_printf(b,
             "],\"connections_accepted\":%llu,\"connections_open\":%ld,\"max_concurrent_connections\":%ld,"
             "\"in_service\":%ld,\"max_in_service\":%ld}",
             t->accepted, t->open, t->max_open, t->in_service, t->max_in_service);
}

/* The value of query parameter [name] in target [r], or NULL. */
static const char *query_param(const Req *r, const char *name, char *out, size_t outsz) {
  const char *q = memchr(r->target, '?', r->tlen), *end = r->target + r->tlen;
  size_t nl = strlen(name);
  for (const char *p = q; p && p < end;) {
    p++;
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *pe = amp ? amp : end;
    if ((size_t)(pe - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
      size_t vl = (size_t)(pe - p) - nl - 1;
      if (vl >= outsz) vl = outsz - 1;
      memcpy(out, p + nl + 1, vl);
      out[vl] = '\0';
      return out;
    }
    p = amp;
  }
  return NULL;
}

/* Answer a control request (/stats, /requests, /reset, /script) into c->out. */
static void handle_control(Server *s, Conn *c, const Req *r, Endpoint ep) {
  Buf body = {0};
  int status = 200;
  const char *ctype = "application/json";
  char val[32];
  if (ep == E_STATS) {
    put_stats(s, &body);
    if (query_param(r, "reset", val, sizeof val)) {
      s->st.max_open = s->st.open;
      s->st.max_in_service = s->st.in_service;
    }
  } else if (ep == E_REQUESTS) {
    ctype = "application/x-ndjson";
    unsigned long long since = 0, first = 1;
    if (query_param(r, "since", val, sizeof val)) since = strtoull(val, NULL, 10);
    if (s->opt.record_max && s->next_n > s->opt.record_max) first = s->next_n - s->opt.record_max + 1;
    if (first <= since) first = since + 1;
    for (unsigned long long k = first; s->opt.record_max && k <= s->next_n; k++) {
      json_t *o = record_json(&s->ring[(k - 1) % s->opt.record_max]);
      char *line = json_dumps(o, JSON_COMPACT);
      if (line) buf_puts(&body, line);
      buf_puts(&body, "\n");
      free(line);
      json_decref(o);
    }
  } else if (r->plen == 6 && memcmp(r->path, "/reset", 6) == 0) {
    Options keep = s->opt;
    long open = s->st.open, in_service = s->st.in_service;
    unsigned long long accepted = s->st.accepted;
    memset(&s->st, 0, sizeof s->st);
    s->st.open = s->st.max_open = open;
    s->st.in_service = s->st.max_in_service = in_service;
    s->st.accepted = accepted;
    s->next_n = 0;
    s->opt = keep;
    buf_puts(&body, "{\"reset\":true}");
  } else {
    Buf err = {0};
    if (script_load(s, "script", r->body, r->blen, &err) == 0) {
      buf_printf(&body, "{\"script\":%zu}", s->nscript);
    } else {
      status = 400;
      buf_puts(&body, "{\"error\":");
      buf_json_str(&body, err.p, err.len);
      buf_puts(&body, "}");
    }
    buf_free(&err);
  }
  put_response(&c->out, status, ctype, body.p ? body.p : "", body.len, NULL, 0, c->close_after);
  buf_free(&body);
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */
/* ------------------------------------------------------------------------ */

/* Whether the [n] bytes at [p] end with [suffix]. */
static int ends_with(const char *p, size_t n, const char *suffix) {
  size_t sl = strlen(suffix);
  return n >= sl && memcmp(p + n - sl, suffix, sl) == 0;
}

/* The endpoint a request goes to. */
static Endpoint route(const Req *r) {
  int post = r->mlen == 4 && memcmp(r->method, "POST", 4) == 0;
  int get = r->mlen == 3 && memcmp(r->method, "GET", 3) == 0;
  if (post && ends_with(r->path, r->plen, "/chat/completions")) return E_OPENAI;
  if (post && ends_with(r->path, r->plen, "/v1/messages")) return E_ANTHROPIC;
  if (post && ends_with(r->path, r->plen, "/api/chat")) return E_OLLAMA;
  if (post && ends_with(r->path, r->plen, "/v1/traces")) return E_OTLP;
  if (get && r->plen == 6 && memcmp(r->path, "/stats", 6) == 0) return E_STATS;
  if (get && r->plen == 9 && memcmp(r->path, "/requests", 9) == 0) return E_REQUESTS;
  if (post && ((r->plen == 6 && memcmp(r->path, "/reset", 6) == 0) ||
               (r->plen == 7 && memcmp(r->path, "/script", 7) == 0)))
    return E_CONTROL;
  return E_OTHER;
}

/* Answer one complete request [r] on [c]. */
static void handle_request(Server *s, Conn *c, const Req *r) {
  Endpoint ep = route(r);
  s->st.requests++;
  s->st.endpoint[ep]++;
  if (ep == E_STATS || ep == E_REQUESTS || ep == E_CONTROL) {
    handle_control(s, c, r, ep);
    return;
  }
  unsigned long long n = record_request(s, r);
  s->st.recorded++;
  c->in_service = 1;
  if (++s->st.in_service > s->st.max_in_service) s->st.max_in_service = s->st.in_service;
  long delay;
  if (ep == E_OTHER) {
    static const char nf[] =
        "{\"error\":{\"message\":\"mock: no such endpoint\",\"type\":\"invalid_request_error\"}}";
    c->pend.len = 0;
    put_response(&c->pend, 404, "application/json", nf, sizeof nf - 1, NULL, n, c->close_after);
    c->action = A_SEND;
    delay = 0;
  } else {
    delay = build_reply(s, c, r, ep, n);
  }
  if (s->opt.max_requests && s->st.recorded >= s->opt.max_requests && !s->draining) {
    s->draining = 1;
    s->drain_deadline = now_ns() + MS_DRAIN_MS * 1000000ull;
  }
  if (delay > 0) {
    c->mode = C_WAIT;
    timer_add(s, c, delay, T_RELEASE);
  } else {
    conn_release(s, c);
  }
}

/* Answer a request the server cannot parse: 400 (or [status]) and close. */
static void reject(Conn *c, int status) {
  static const char msg[] =
      "{\"error\":{\"message\":\"mock: bad request\",\"type\":\"invalid_request_error\"}}";
  put_response(&c->out, status, "application/json", msg, sizeof msg - 1, NULL, 0, 1);
  c->close_after = 1;
}

/* Parse and answer the complete requests in c->in, in order, while the
 * connection is ready; stops at the first that must wait. */
static void conn_process(Server *s, Conn *c) {
  size_t guard = c->in.len - c->in_off + 1; /* each request consumes bytes */
  while (c->open && c->mode == C_READY && !c->close_after && c->in_off < c->in.len && guard-- > 0) {
    const char *p = c->in.p + c->in_off;
    size_t avail = c->in.len - c->in_off;
    /* Tolerate stray CRLFs between requests. */
    if (p[0] == '\r' || p[0] == '\n') {
      c->in_off++;
      continue;
    }
    const char *hend = memmem(p, avail, "\r\n\r\n", 4);
    if (!hend) {
      if (avail > MS_MAX_HEADER) reject(c, 431);
      break;
    }
    size_t head = (size_t)(hend - p) + 4;
    const char *eol = memmem(p, head, "\r\n", 2);
    const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || (size_t)(eol - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
      reject(c, 400);
      break;
    }
    Req r;
    memset(&r, 0, sizeof r);
    r.method = p;
    r.mlen = (size_t)(sp1 - p);
    r.target = sp1 + 1;
    r.tlen = (size_t)(sp2 - r.target);
    r.path = r.target;
    const char *qm = memchr(r.target, '?', r.tlen);
    r.plen = qm ? (size_t)(qm - r.target) : r.tlen;
    r.hdrs = eol + 2;
    r.hlen = (size_t)(hend + 2 - r.hdrs);
    int keep = sp2[8] == '1', expect = 0, chunked = 0, bad = 0;
    unsigned long long clen = 0;
    const char *h = r.hdrs, *he = r.hdrs + r.hlen;
    while (h < he) {
      const char *le = memmem(h, (size_t)(he - h), "\r\n", 2);
      if (!le) break;
      size_t ll = (size_t)(le - h);
      if (ll > 15 && strncasecmp(h, "content-length:", 15) == 0) {
        const char *v = h + 15;
        while (v < le && *v == ' ')
          v++;
        if (v == le) bad = 1;
        for (clen = 0; v < le && *v >= '0' && *v <= '9'; v++) {
          clen = clen * 10 + (unsigned)(*v - '0');
          if (clen > MS_MAX_BODY) bad = 1;
        }
        while (v < le && *v == ' ')
          v++;
        if (v != le) bad = 1;
      } else if (ll > 11 && strncasecmp(h, "connection:", 11) == 0) {
        if (memmem(h, ll, "close", 5) || memmem(h, ll, "Close", 5))
          keep = 0;
        else if (memmem(h, ll, "eep-alive", 9))
          keep = 1;
      } else if (ll > 18 && strncasecmp(h, "transfer-encoding:", 18) == 0) {
        chunked = 1;
      } else if (ll > 7 && strncasecmp(h, "expect:", 7) == 0 && memmem(h, ll, "100", 3)) {
        expect = 1;
      }
      h = le + 2;
    }
    if (bad || chunked) {
      reject(c, bad ? 400 : 411);
      break;
    }
    if (avail - head < clen) {
      if (expect && !c->cont_sent) {
        buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
        c->cont_sent = 1;
      }
      break;
    }
    r.body = p + head;
    r.blen = (size_t)clen;
    c->in_off += head + (size_t)clen;
    c->cont_sent = 0;
    if (!keep) c->close_after = 1;
    handle_request(s, c, &r);
  }
  /* Compact the input buffer. */
  if (c->in_off == c->in.len) {
    c->in.len = c->in_off = 0;
  } else if (c->in_off > 0 && (c->in_off >= c->in.len / 2 || c->in.cap - c->in.len < MS_READ_CHUNK)) {
    memmove(c->in.p, c->in.p + c->in_off, c->in.len - c->in_off);
    c->in.len -= c->in_off;
    c->in_off = 0;
  }
}

/* Drive [c] as far as it goes without blocking: answer requests, generate
 * stream bytes, write, close when done. */
static void conn_pump(Server *s, Conn *c) {
  for (int round = 0; round < MS_PUMP_ROUNDS && c->open; round++) {
    if (c->mode == C_READY) conn_process(s, c);
    if (!c->open) return;
    if (c->mode == C_STREAM && c->out_off == c->out.len) stream_fill(s, c);
    int w = conn_write(s, c);
    if (w < 0) return;
    if (w == 0) break;
    if (c->mode == C_READY && (c->close_after || c->eof)) {
      conn_close(s, c, 0);
      return;
    }
    if (c->mode != C_STREAM) break;
  }
  conn_interest(s, c);
}

/* Read what the client sent, then pump. */
static void conn_read(Server *s, Conn *c) {
  for (int i = 0; i < MS_READ_BATCH; i++) {
    buf_reserve(&c->in, MS_READ_CHUNK);
    size_t room = c->in.cap - c->in.len - 1;
    ssize_t n = read(c->fd, c->in.p + c->in.len, room);
    if (n > 0) {
      c->in.len += (size_t)n;
      if (c->in.len - c->in_off > MS_MAX_HEADER + MS_MAX_BODY) {
        conn_close(s, c, 0);
        return;
      }
      if ((size_t)n < room) break;
      continue;
    }
    if (n == 0) {
      c->eof = 1;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      conn_close(s, c, 0);
      return;
    }
    break;
  }
  if (c->eof && c->mode == C_HANG) {
    conn_close(s, c, 0);
    return;
  }
  conn_pump(s, c);
}

/* Send one byte of a dripping reply and schedule the next. */
static void conn_drip(Server *s, Conn *c) {
  if (c->out_off < c->out.len && conn_write(s, c) < 0) return;
  if (c->out_off == c->out.len && c->pend_off < c->pend.len) {
    ssize_t n = send(c->fd, c->pend.p + c->pend_off, 1, MSG_NOSIGNAL);
    if (n == 1)
      c->pend_off++;
    else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      conn_close(s, c, 0);
      return;
    }
  }
  if (c->pend_off < c->pend.len) {
    timer_add(s, c, c->drip_ms, T_DRIP);
    return;
  }
  c->pend.len = c->pend_off = 0;
  c->mode = C_READY;
  service_done(s, c);
  conn_pump(s, c);
}

/* Run the timers that are due. */
static void on_timer(Server *s) {
  uint64_t expirations;
  if (read(s->tfd, &expirations, sizeof expirations) < 0) { /* spurious wake-up */
  }
  s->armed = 0;
  uint64_t now = now_ns();
  size_t guard = s->hlen;
  while (s->hlen && s->heap[0].due <= now && guard-- > 0) {
    Timer t = timer_pop(s);
    Conn *c = t.fd >= 0 && (size_t)t.fd < s->nconns ? s->conns[t.fd] : NULL;
    if (!c || !c->open || c->tseq != t.seq) continue;
    if (t.kind == T_RELEASE && c->mode == C_WAIT) {
      conn_release(s, c);
      conn_pump(s, c);
    } else if (t.kind == T_DRIP && c->mode == C_DRIP) {
      conn_drip(s, c);
    } else if (t.kind == T_RESET && c->mode == C_RESET) {
      conn_close(s, c, 1);
    }
  }
  timer_arm(s);
}

/* Accept waiting connections. */
static void on_accept(Server *s) {
  for (int i = 0; i < MS_ACCEPT_BATCH; i++) {
    int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return; /* EAGAIN, or a transient error such as EMFILE */
    if ((size_t)fd >= s->nconns) {
      size_t n = s->nconns ? s->nconns : 1024;
      while (n <= (size_t)fd)
        n *= 2;
      s->conns = xrealloc(s->conns, n * sizeof *s->conns);
      memset(s->conns + s->nconns, 0, (n - s->nconns) * sizeof *s->conns);
      s->nconns = n;
    }
    Conn *c = s->conns[fd];
    if (!c) {
      c = xrealloc(NULL, sizeof *c);
      memset(c, 0, sizeof *c);
      s->conns[fd] = c;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->open = 1;
    c->mode = C_READY;
    c->eof = c->close_after = c->in_service = c->cont_sent = 0;
    c->in.len = c->in_off = c->out.len = c->out_off = c->pend.len = c->pend_off = 0;
    c->events = EPOLLIN;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
      close(fd);
      c->open = 0;
      continue;
    }
    s->st.accepted++;
    if (++s->st.open > s->st.max_open) s->st.max_open = s->st.open;
  }
}

/* Whether every answered reply has been written (for --max-requests). */
static int all_flushed(Server *s) {
  if (s->st.in_service > 0) return 0;
  for (size_t i = 0; i < s->nconns; i++) {
    Conn *c = s->conns[i];
    if (c && c->open && c->out_off < c->out.len) return 0;
  }
  return 1;
}

/* ------------------------------------------------------------------------ */
/* Set-up, the loop, tear-down                                              */
/* ------------------------------------------------------------------------ */

/* Record the signal for the loop. */
static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

/* Print the usage text to [f]. */
static void usage(FILE *f) {
  fputs("usage: flow_mockserver [--port N] [--lifetime S] [--max-requests N] [--latency-ms N]\n"
        "                       [--script FILE] [--reply TEXT] [--record-max N]\n"
        "A mock of the OpenAI, Anthropic and Ollama chat APIs on 127.0.0.1 for flow's tests.\n"
        "  --port N          port to listen on; 0 (default) picks a free one\n"
        "  --lifetime S      exit after S seconds (default 120, at most 86400)\n"
        "  --max-requests N  exit after answering N model requests (default: no limit)\n"
        "  --latency-ms N    delay before each model reply (default 0)\n"
        "  --script FILE     scripted replies and faults, JSON Lines (see README.md)\n"
        "  --reply TEXT      the default reply text\n"
        "  --record-max N    requests kept for GET /requests (default 10000; 0 = none)\n"
        "Prints \"listening on 127.0.0.1:PORT\" as its first line.\n",
        f);
}

/* Parse a non-negative integer option value no larger than [max]. */
static int parse_count(const char *flag, const char *v, unsigned long long max, unsigned long long *out) {
  char *end;
  errno = 0;
  unsigned long long x = v && *v >= '0' && *v <= '9' ? strtoull(v, &end, 10) : 0;
  if (!v || *v < '0' || *v > '9' || *end || errno || x > max) {
    fprintf(stderr, "flow_mockserver: %s needs an integer from 0 to %llu\n", flag, max);
    return -1;
  }
  *out = x;
  return 0;
}

/* Fill [o] from the command line. Returns 0, 1 for --help, -1 on error. */
static int parse_options(int argc, char **argv, Options *o) {
  o->port = 0;
  o->lifetime_s = 120;
  o->max_requests = 0;
  o->latency_ms = 0;
  o->script_file = NULL;
  o->reply = "This is a reply from the flow mock model server.";
  o->record_max = 10000;
  for (int i = 1; i < argc; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    unsigned long long x = 0;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return 1;
    if (strcmp(a, "--script") == 0 && v)
      o->script_file = v;
    else if (strcmp(a, "--reply") == 0 && v)
      o->reply = v;
    else if (strcmp(a, "--port") == 0) {
      if (parse_count(a, v, 65535, &x)) return -1;
      o->port = (int)x;
    } else if (strcmp(a, "--lifetime") == 0) {
      if (parse_count(a, v, 86400, &x)) return -1;
      if (x == 0) {
        fprintf(stderr, "flow_mockserver: --lifetime must be at least 1\n");
        return -1;
      }
      o->lifetime_s = (long)x;
    } else if (strcmp(a, "--max-requests") == 0) {
      if (parse_count(a, v, ULLONG_MAX / 2, &x)) return -1;
      o->max_requests = x;
    } else if (strcmp(a, "--latency-ms") == 0) {
      if (parse_count(a, v, 3600000, &x)) return -1;
      o->latency_ms = (long)x;
    } else if (strcmp(a, "--record-max") == 0) {
      if (parse_count(a, v, 10000000, &x)) return -1;
      o->record_max = (size_t)x;
    } else {
      fprintf(stderr, "flow_mockserver: unknown or incomplete option '%s'\n", a);
      return -1;
    }
  }
  return 0;
}

/* Read the whole file [path] into [b]. */
static int read_file(const char *path, Buf *b) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  char chunk[65536];
  size_t n;
  size_t guard = (1u << 30) / sizeof chunk;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && guard-- > 0)
    buf_put(b, chunk, n);
  int err = ferror(f);
  fclose(f);
  return err ? -1 : 0;
}

/* Open the listening socket on 127.0.0.1:[port] and the epoll and timer
 * descriptors. */
static int server_open(Server *s, int port) {
  s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->lfd < 0) return -1;
  int one = 1;
  setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 only, always */
  if (bind(s->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(s->lfd, 4096) < 0) return -1;
  socklen_t al = sizeof a;
  if (getsockname(s->lfd, (struct sockaddr *)&a, &al) < 0) return -1;
  s->port = ntohs(a.sin_port);
  s->ep = epoll_create1(EPOLL_CLOEXEC);
  s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (s->ep < 0 || s->tfd < 0) return -1;
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.fd = s->lfd;
  if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev) < 0) return -1;
  ev.data.fd = s->tfd;
  return epoll_ctl(s->ep, EPOLL_CTL_ADD, s->tfd, &ev);
}

/* Run the event loop until a signal, the lifetime or --max-requests ends
 * it. Returns the reason as text. */
static const char *server_run(Server *s) {
  struct epoll_event evs[MS_EVENTS];
  while (!g_stop) {
    uint64_t now = now_ns();
    if (now >= s->deadline) return "lifetime reached";
    if (s->draining && (now >= s->drain_deadline || all_flushed(s))) return "max requests reached";
    uint64_t left_ms = (s->deadline - now) / 1000000ull + 1;
    int timeout = s->draining ? 10 : (int)(left_ms < 1000 ? left_ms : 1000);
    int n = epoll_wait(s->ep, evs, MS_EVENTS, timeout);
    if (n < 0 && errno != EINTR) return "epoll_wait failed";
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == s->lfd) {
        on_accept(s);
        continue;
      }
      if (fd == s->tfd) {
        on_timer(s);
        continue;
      }
      Conn *c = (size_t)fd < s->nconns ? s->conns[fd] : NULL;
      if (!c || !c->open) continue;
      uint32_t e = evs[i].events;
      if (e & EPOLLERR) {
        conn_close(s, c, 0);
        continue;
      }
      if (e & EPOLLOUT) {
        conn_pump(s, c);
        if (!c->open) continue;
      }
      if (e & (EPOLLIN | EPOLLHUP)) {
        if (c->eof)
          conn_close(s, c, 0); /* hung up after its FIN */
        else
          conn_read(s, c);
      }
    }
  }
  return "signal";
}

/* Release everything the server holds. */
static void server_free(Server *s) {
  for (size_t i = 0; i < s->nconns; i++) {
    Conn *c = s->conns[i];
    if (!c) continue;
    if (c->open) close(c->fd);
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->pend);
    free(c);
  }
  free(s->conns);
  for (size_t i = 0; s->ring && i < s->opt.record_max; i++)
    buf_free(&s->ring[i].data);
  free(s->ring);
  free(s->heap);
  script_free(s);
  if (s->lfd >= 0) close(s->lfd);
  if (s->ep >= 0) close(s->ep);
  if (s->tfd >= 0) close(s->tfd);
}

/* Start the server from the command line; see usage(). */
int main(int argc, char **argv) {
  Server s;
  memset(&s, 0, sizeof s);
  s.lfd = s.ep = s.tfd = -1;
  int rc = parse_options(argc, argv, &s.opt);
  if (rc) {
    usage(rc > 0 ? stdout : stderr);
    return rc > 0 ? 0 : 2;
  }
  if (s.opt.script_file) {
    Buf text = {0}, err = {0};
    if (read_file(s.opt.script_file, &text) < 0) {
      fprintf(stderr, "flow_mockserver: cannot read %s: %s\n", s.opt.script_file, strerror(errno));
      buf_free(&text);
      return 2;
    }
    rc = script_load(&s, s.opt.script_file, text.p ? text.p : "", text.len, &err);
    buf_free(&text);
    if (rc) {
      fprintf(stderr, "flow_mockserver: %s\n", err.p);
      buf_free(&err);
      return 2;
    }
  }
  if (s.opt.record_max) {
    s.ring = xrealloc(NULL, s.opt.record_max * sizeof *s.ring);
    memset(s.ring, 0, s.opt.record_max * sizeof *s.ring);
  }
  if (server_open(&s, s.opt.port) < 0) {
    fprintf(stderr, "flow_mockserver: cannot listen on 127.0.0.1:%d: %s\n", s.opt.port, strerror(errno));
    server_free(&s);
    return 1;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  s.deadline = now_ns() + (uint64_t)s.opt.lifetime_s * 1000000000ull;
  printf("listening on 127.0.0.1:%d\n", s.port);
  fflush(stdout);
  const char *why = server_run(&s);
  fprintf(stderr, "flow_mockserver: exiting (%s) after %llu requests\n", why, s.st.requests);
  server_free(&s);
  return 0;
}
