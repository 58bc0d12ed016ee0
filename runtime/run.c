/* run.c - the deterministic scheduler behind `flowc run` (see run.h).
 *
 * One thread, one event loop. Runnable tasks run until they wait; model
 * calls become events on a virtual clock (mock and replay providers answer
 * at once, after a seeded latency), popped in (time, issue order); items are
 * admitted while fewer than `concurrency` are in flight and committed in
 * input order through a ring of slots. Nothing observable depends on the
 * order in which events complete. */
#include "run.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "callstats.h"
#include "cassette.h"
#include "context.h"
#include "evalstats.h"
#include "store.h"
#include "cache_why.h"
#include "fetch.h"
#include "http.h"
#include "json_read.h"
#include "json_value.h"
#include "json_write.h"
#include "mock.h"
#include "otlp.h"
#include "progress.h"
#include "request.h"
#include "vm.h"

/* The name messages start with: flowc, or a built executable's. */
#define PROG(o) ((o)->prog ? (o)->prog : "flowc")

/* Input lines nested deeper than this are refused while reading (the typed
 * decoding refuses more than JSON_VALUE_MAX_DEPTH levels, naming the path). */
#define INPUT_MAX_DEPTH 2048

/* A model call on its way: issued at `issued`, completing at `at`. */
typedef struct Event {
  double at;
  uint64_t seq;
  Future *future;           /* a reference */
  char *reply;              /* owned */
  size_t len;
  int32_t prompt;           /* -1: judge */
  uint32_t out_type;
  uint32_t pos;
  uint32_t binding;
  double latency;           /* simulated time the provider takes to answer */
  char *failure;            /* owned: the provider could not answer */
  struct NetCall *net;      /* a network call to send (first attempt, retry or fallback) */
  bool timer;               /* a retry's backoff: at its time the call queues for a slot */
  bool recheck;             /* a rate limit refills: start the waiting calls that now fit */
  double tokens;            /* estimated tokens of the call, for tokens_per_minute */
  bool cached;              /* the run store answered: no time, no cost */
  bool refused;             /* the budget ran out: not a call */
  struct Exchange *x;       /* an offline call's record (a reference), filled in when it completes */
} Event;

/* A binding's requests-per-minute or tokens-per-minute limit: a bucket that
 * holds at most a second's worth and refills continuously. */
typedef struct Bucket {
  double level, cap, per_ms, last;
} Bucket;

/* The record of one model call, in the trace of the task that made it
 * (written at commit to --trace, --record, the store and --otlp). Counted
 * references: the trace's, and the pending event's or network call's until
 * the call ends (an item may end first). */
typedef struct Exchange {
  uint32_t refs;
  Request req;              /* req.messages is a reference */
  char key[65];
  char *reply;
  size_t len;
  int64_t in_tok, out_tok;  /* over every attempt */
  bool estimated;           /* the token counts are flowc's estimate, not the provider's */
  const char *source;       /* where the reply came from (StoreCall.source) */
  char *parts;              /* what its key was made of (request_parts), for `flowc why`; or NULL */
  bool stored;              /* its reply is cached under its key (with the parts) */
  bool done;                /* the call ended */
  uint32_t attempts;        /* requests sent (0: none, a cache hit or the budget) */
  uint32_t answered_by;     /* the binding that answered (after fallbacks) */
  double start_ms, end_ms;  /* on the run's clock: sent, and answered or failed */
  char *error;              /* why the network call failed, or NULL */
} Exchange;

/* Where call `x`'s reply came from (StoreCall.source). */
static const char *call_source(const Exchange *x) { return !x->done ? "unread" : x->source ? x->source : "failed"; }

/* The tokens call `x` was billed for: none when the cache answered or the budget refused it. */
static void billed(const Exchange *x, int64_t *in_tok, int64_t *out_tok) {
  const char *s = call_source(x);
  bool free_call = !strcmp(s, "cache") || !strcmp(s, "refused");
  *in_tok = free_call ? 0 : x->in_tok;
  *out_tok = free_call ? 0 : x->out_tok;
}

/* A model call over the network: the request, the attempts made on the
 * current binding, and the position in the policy's fallback chain. */
typedef struct NetCall {
  Request req;              /* own copy; req.messages is a reference */
  HttpRequest http;         /* built for req.model */
  Future *future;           /* a reference */
  Exchange *x;              /* the call's record (a reference) */
  const ImgPolicy *policy;  /* NULL: no retries, no fallbacks */
  uint32_t attempt;         /* attempts made on the current binding */
  uint32_t chain;           /* 0: the primary binding; k: fallback k-1 */
  uint32_t pos;
  double sent;              /* when its first attempt started (ms on the run's clock), or -1 */
  char last_error[512];
} NetCall;

typedef enum SlotState { SLOT_FREE, SLOT_RUNNING, SLOT_DONE } SlotState;

/* An input item between admission and commit. */
typedef struct Slot {
  SlotState state;
  uint64_t item;
  Task *task;               /* while running */
  char *output;             /* result JSON, or NULL */
  char *error;              /* failure message, or NULL */
  bool skipped;
  TraceEvent *trace;
  uint32_t ntrace;
  double start_ms;          /* admitted, on the run's clock (for --otlp) */
} Slot;

typedef struct Sched {
  const Image *img;
  const RunOptions *opt;
  Vm vm;
  /* run queue (FIFO ring) */
  Task **runq;
  size_t rq_head, rq_len, rq_cap;
  /* events: a binary min-heap on (at, seq) */
  Event *events;
  size_t nevents, events_cap;
  uint64_t seq;
  double now;
  /* calls waiting for a free slot (global --concurrency, or the binding's
   * `limits { concurrency }`), in issue order */
  Event *waiting;
  size_t nwaiting, waiting_cap;
  uint32_t inflight_calls;
  uint32_t *binding_inflight;
  Bucket *rpm, *tpm;        /* per binding (cap 0: no limit) */
  double recheck_at;        /* a pending recheck event's time, or -1 */
  /* items */
  FILE *in;
  bool input_done;
  uint64_t next_item, next_commit, line_no;
  Slot *slots;
  uint32_t window, inflight;
  bool stop;                /* a failure ends the run (without --keep-going) */
  /* contexts: each read once per run, at its first use */
  ContextEnv ctx_env;
  Value *ctx_values;
  unsigned char (*ctx_hash)[32]; /* SHA-256 of what each context read (context.h), for the cache keys of calls */
  uint32_t **prompt_ctx;    /* per prompt: the contexts its template reads (OP_CONTEXT in its render function) */
  uint32_t *prompt_nctx;
  char **ctx_error;         /* a failed read's message */
  bool *ctx_loaded;
  /* outputs */
  FILE *out, *errors, *trace, *report;
  EvalStats *stats;         /* eval and check outcomes, in commit order */
  struct TestRun *test;     /* `flowc test`: the test being run, its mocks and results; NULL in a run */
  Store *store;             /* the run store (runs, the model-call cache), or NULL */
  char run_id[17];          /* the store's id of the run (or one made for --otlp) */
  OtlpExporter *otlp;       /* --otlp: spans of the run, its items and its calls */
  uint64_t start_ns;        /* when the run began (Unix ns): the run's clock starts there */
  uint64_t cache_hits, cache_puts;
  Cassette *replay, *record;
  uint64_t ok, failed, skipped;
  int32_t *model_map;       /* --model swaps: binding -> binding */
  /* network providers: the HTTP engine, created at the first network call;
   * from then on the clock is real (ms since t0) */
  HttpEngine *http;
  ProviderCache *provider_cache;
  double t0;
  CallStats *calls;         /* calls, retries, latencies, tokens and cost per prompt */
  Progress *progress;       /* the progress line, or NULL */
  uint64_t items_total;     /* items in the input file, for the progress line; 0: not known */
  uint64_t calls_issued;
  bool budget_hit;          /* no more calls: the items left are not done */
  char budget_why[256];
} Sched;

/* Has a budget run out? Checked before each call is issued (calls already
 * in flight may go a little past it). */
static bool budget_spent(Sched *s) {
  if (s->budget_hit) return true;
  const RunOptions *o = s->opt;
  CallCounts t = callstats_total(s->calls);
  if (o->max_calls > 0 && s->calls_issued >= (uint64_t)o->max_calls)
    snprintf(s->budget_why, sizeof s->budget_why, "--max-calls %lld reached", (long long)o->max_calls);
  else if (o->max_tokens > 0 && t.in_tok + t.out_tok >= o->max_tokens)
    snprintf(s->budget_why, sizeof s->budget_why, "--max-tokens %lld reached (%lld used)", (long long)o->max_tokens,
             (long long)(t.in_tok + t.out_tok));
  else if (o->max_cost > 0 && t.cost >= o->max_cost)
    snprintf(s->budget_why, sizeof s->budget_why, "--max-cost %.4f USD reached (%.4f spent)", o->max_cost, t.cost);
  else
    return false;
  s->budget_hit = true;
  return true;
}

static double wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int64_t epoch_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What `in_tok` and `out_tok` tokens cost on binding `m`. */
static double price(const ImgModel *m, int64_t in_tok, int64_t out_tok) {
  return (double)in_tok * m->price_input + (double)out_tok * m->price_output;
}

/* Count the tokens of an answered attempt (and their cost, priced from the binding). */
static void count_usage(Sched *s, int32_t prompt, uint32_t binding, int64_t in_tok, int64_t out_tok, bool estimated) {
  callstats_usage(s->calls, prompt, in_tok, out_tok, price(&s->img->models[binding], in_tok, out_tok), estimated);
}

/* The run's clock in ms: real once a network call was made, else virtual. */
static double clock_ms(const Sched *s) { return s->http ? wall_ms() - s->t0 : s->now; }

/* ---- run queue and events --------------------------------------------------------------- */

static void rq_push(Sched *s, Task *t) {
  if (s->rq_len == s->rq_cap) {
    size_t cap = s->rq_cap ? s->rq_cap * 2 : 64;
    Task **q = xmalloc(cap * sizeof *q);
    for (size_t i = 0; i < s->rq_len; i++) q[i] = s->runq[(s->rq_head + i) % s->rq_cap];
    free(s->runq);
    s->runq = q;
    s->rq_head = 0;
    s->rq_cap = cap;
  }
  s->runq[(s->rq_head + s->rq_len++) % s->rq_cap] = t;
}

static Task *rq_pop(Sched *s) {
  Task *t = s->runq[s->rq_head];
  s->rq_head = (s->rq_head + 1) % s->rq_cap;
  s->rq_len--;
  return t;
}

static bool event_before(const Event *a, const Event *b) {
  return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void events_push(Sched *s, Event e) {
  if (s->nevents == s->events_cap) {
    s->events_cap = s->events_cap ? s->events_cap * 2 : 64;
    s->events = xrealloc(s->events, s->events_cap * sizeof *s->events);
  }
  size_t i = s->nevents++;
  s->events[i] = e;
  while (i > 0 && event_before(&s->events[i], &s->events[(i - 1) / 2])) {
    Event tmp = s->events[i];
    s->events[i] = s->events[(i - 1) / 2];
    s->events[(i - 1) / 2] = tmp;
    i = (i - 1) / 2;
  }
}

static Event events_pop(Sched *s) {
  Event top = s->events[0];
  s->events[0] = s->events[--s->nevents];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < s->nevents && event_before(&s->events[l], &s->events[m])) m = l;
    if (r < s->nevents && event_before(&s->events[r], &s->events[m])) m = r;
    if (m == i) break;
    Event tmp = s->events[i];
    s->events[i] = s->events[m];
    s->events[m] = tmp;
    i = m;
  }
  return top;
}

/* ---- model calls ------------------------------------------------------------------------ */

static void exchange_release(void *p) {
  Exchange *x = p;
  if (!x || --x->refs) return;
  value_release(x->req.messages);
  free(x->reply);
  free(x->parts);
  free(x->error);
  free(x);
}

/* The messages with each piece of feedback appended as a user turn. */
static Value with_feedback(Value messages, Value feedback) {
  if (feedback.tag != V_LIST || value_as_list(feedback)->len == 0) return value_retain(messages);
  List *m = value_as_list(messages), *f = value_as_list(feedback);
  Value out = value_list(m->len + f->len);
  for (uint32_t i = 0; i < m->len; i++) list_push_steal(out, value_retain(m->items[i]));
  for (uint32_t i = 0; i < f->len; i++) {
    Str *why = value_as_str(f->items[i]);
    char *text = xmalloc(why->len + 128);
    snprintf(text, why->len + 128, "Your previous answer was rejected: %s. Answer again, fixing this.", why->data);
    Value msg = value_record(IMG_TYPE_MESSAGE, 3);
    record_set_steal(msg, 0, value_cstr("user"));
    record_set_steal(msg, 1, value_cstr(text));
    record_set_steal(msg, 2, value_none());
    list_push_steal(out, msg);
    free(text);
  }
  return out;
}

static const char JUDGE_SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{\"score\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1}},"
    "\"required\":[\"score\"],\"additionalProperties\":false}";

/* ---- network calls ---------------------------------------------------------------- */

static void net_free(NetCall *c) {
  exchange_release(c->x);
  value_release(c->req.messages);
  provider_http_free(&c->http);
  if (c->future) value_release(value_obj(V_FUTURE, &c->future->obj));
  free(c);
}

/* The delay before attempt `attempt` (1-based retry number): the policy's
 * backoff with a jitter in [50%, 100%] drawn from the request key, the
 * attempt and --seed, so a replay waits the same. */
static double backoff_ms(const Sched *s, const NetCall *c, const char *key) {
  const ImgPolicy *p = c->policy;
  if (!p || p->backoff == BACKOFF_NONE) return 0;
  double d = p->base_ms;
  if (p->backoff == BACKOFF_EXPONENTIAL)
    for (uint32_t i = 1; i < c->attempt && d < 1e9; i++) d *= p->factor > 0 ? p->factor : 2;
  if (p->max_ms > 0 && d > p->max_ms) d = p->max_ms;
  uint64_t h = 1469598103934665603ull ^ s->opt->seed ^ ((uint64_t)c->attempt << 32);
  for (const char *k = key; *k; k++) h = (h ^ (unsigned char)*k) * 1099511628211ull;
  h ^= h >> 29;
  return d * (0.5 + 0.5 * (double)(h % 1000001) / 1000000.0);
}

/* Start the HTTP engine on the first network call; the clock turns real. */
static bool ensure_http(Sched *s, char *err, size_t errlen) {
  if (s->http) return true;
  HttpConfig cfg = {s->window, 0, getenv("FLOW_CA_BUNDLE")};
  s->http = http_engine_new(&cfg, err, errlen);
  if (!s->http) return false;
  s->t0 = wall_ms() - s->now;
  return true;
}

static void release_slot(Sched *s, uint32_t binding);

/* Network call `c` ended: answered (error NULL) or failed with `error`. */
static void call_ended(Sched *s, NetCall *c, const char *error) {
  Exchange *x = c->x;
  x->done = true;
  x->end_ms = clock_ms(s);
  x->answered_by = c->req.model;
  if (error) x->error = xstrdup(error);
}

/* Send the current attempt of `c` (its slot is held). */
static void net_submit(Sched *s, NetCall *c) {
  char err[512];
  double timeout = c->policy && c->policy->timeout_ms > 0 ? c->policy->timeout_ms : 120000;
  if (!http_submit(s->http, &c->http, (long)timeout, c, err, sizeof err)) {
    release_slot(s, c->req.model);
    callstats_done(s->calls, c->req.prompt, clock_ms(s) - c->sent, true);
    call_ended(s, c, err);
    future_fail(&s->vm, c->future, err, c->pos);
    net_free(c);
  }
}

/* Rebuild `c`'s HTTP request for binding `binding`. */
static bool net_rebind(Sched *s, NetCall *c, uint32_t binding, char *err, size_t errlen) {
  const ImgModel *m = &s->img->models[binding];
  c->req.model = binding;
  c->req.params = m->params;
  if (c->req.prompt >= 0) {
    const ImgParams *o = &s->img->prompts[c->req.prompt].params;
    if (o->set & PARAM_TEMPERATURE) c->req.params.temperature = o->temperature;
    if (o->set & PARAM_TOP_P) c->req.params.top_p = o->top_p;
    if (o->set & PARAM_MAX_TOKENS) c->req.params.max_tokens = o->max_tokens;
    if (o->set & PARAM_SEED) c->req.params.seed = o->seed;
    if (o->set & PARAM_STOP) {
      c->req.params.nstop = o->nstop;
      c->req.params.stop = o->stop;
    }
    c->req.params.set |= o->set;
  }
  provider_http_free(&c->http);
  ProviderEnv env = {provider_process_getenv, NULL, s->provider_cache};
  return provider_build(&c->req, &env, &c->http, err, errlen);
}

static void issue_or_wait(Sched *s, Event e);
static bool resolve_reply(Sched *s, Future *f, int32_t prompt, uint32_t out_type, const char *text, size_t len,
                          uint32_t pos);

/* A network call ended: resolve its future, retry after a backoff, move to
 * the next fallback binding, or fail with what the provider said. */
/* ---- the model-call cache ------------------------------------------------------------------- */

/* Whether the store may answer (and keep) calls of prompt `prompt`: a
 * store, a cache mode that reads (or writes), and a policy that allows it. */
static bool cacheable(const Sched *s, int32_t prompt, bool writing) {
  if (!s->store || s->test || s->opt->cache == RUN_CACHE_OFF || (writing && s->opt->cache == RUN_CACHE_RO))
    return false;
  const ImgPrompt *p = prompt >= 0 ? &s->img->prompts[prompt] : NULL;
  return !(p && p->policy >= 0 && !s->img->policies[p->policy].cache);
}

/* Keep the validated reply of network call `c` under the key of the
 * request actually sent (after fallbacks). */
static void cache_put(Sched *s, NetCall *c, const ProviderReply *rep) {
  if (!cacheable(s, c->req.prompt, true)) return;
  char key[65], err[512];
  const char *prompt = c->req.prompt >= 0 ? s->img->prompts[c->req.prompt].name : "judge";
  /* the request first built (its key and parts made then), unless a fallback sent another */
  bool first = c->chain == 0 && c->x->parts;
  char *parts = first ? c->x->parts : request_parts(&c->req);
  if (first) memcpy(key, c->x->key, sizeof key);
  else request_key(&c->req, key);
  if (store_cache_put(s->store, key, prompt, s->img->models[c->req.model].name, rep->text, rep->text_len,
                      rep->input_tokens, rep->output_tokens, parts, err, sizeof err)) {
    s->cache_puts++;
    if (first) c->x->stored = true;
  } else {
    fprintf(stderr, "%s: warning: %s\n", PROG(s->opt), err);
  }
  if (!first) free(parts);
}

static void net_done(Sched *s, HttpResponse *r) {
  NetCall *c = r->user;
  release_slot(s, c->req.model);
  ProviderReply rep;
  memset(&rep, 0, sizeof rep);
  if (r->transport_ok) {
    provider_parse(&c->req, r->status, (const char *const *)r->headers, r->nheaders, r->body, r->len, epoch_ms(), &rep);
  } else {
    provider_reply_transport_error(&rep, &c->req, r->timed_out ? PE_TIMEOUT : PE_CONNECTION, r->error);
  }
  count_usage(s, c->req.prompt, c->req.model, rep.input_tokens, rep.output_tokens, /* billed even when refused */
              rep.usage_estimated);
  c->x->attempts++;
  c->x->in_tok += rep.input_tokens;
  c->x->out_tok += rep.output_tokens;
  c->x->estimated |= rep.usage_estimated;
  if (rep.ok) {
    c->x->reply = xmalloc(rep.text_len + 1);
    memcpy(c->x->reply, rep.text, rep.text_len + 1);
    c->x->len = rep.text_len;
    call_ended(s, c, NULL);
    /* only a reply that decoded as its type is kept: errors are never cached */
    double latency = clock_ms(s) - c->sent;
    bool valid = resolve_reply(s, c->future, c->req.prompt, c->req.out_type, rep.text, rep.text_len, c->pos);
    callstats_done(s->calls, c->req.prompt, latency, !valid);
    if (valid) {
      cache_put(s, c, &rep);
      c->x->source = "network";
    }
    provider_reply_free(&rep);
    net_free(c);
    return;
  }
  snprintf(c->last_error, sizeof c->last_error, "%s", rep.message);
  char key[65];
  request_key(&c->req, key);
  Event e;
  memset(&e, 0, sizeof e);
  e.seq = s->seq++;
  e.net = c;
  if (rep.retryable && c->policy && c->attempt < c->policy->retry) {
    c->attempt++;
    callstats_resend(s->calls, c->req.prompt);
    double delay = backoff_ms(s, c, key);
    if (rep.retry_after_ms > delay) delay = (double)rep.retry_after_ms;
    e.binding = c->req.model;
    e.at = s->now + delay;
    e.timer = true;
    provider_reply_free(&rep);
    events_push(s, e);
    return;
  }
  provider_reply_free(&rep);
  char err[512];
  while (c->policy && c->chain < c->policy->nfallback) {
    uint32_t next = c->policy->fallback[c->chain++];
    c->attempt = 0;
    if (net_rebind(s, c, next, err, sizeof err)) {
      callstats_resend(s->calls, c->req.prompt);
      e.binding = next;
      issue_or_wait(s, e);
      return;
    }
    snprintf(c->last_error, sizeof c->last_error, "%s", err);
  }
  char msg[1024];
  const char *name = c->req.prompt >= 0 ? s->img->prompts[c->req.prompt].name : "judge";
  snprintf(msg, sizeof msg, "%s `%s` failed on binding `%s`: %s", c->req.prompt >= 0 ? "prompt" : "a call of", name,
           s->img->models[c->req.model].name, c->last_error);
  callstats_done(s->calls, c->req.prompt, clock_ms(s) - c->sent, true);
  call_ended(s, c, c->last_error);
  future_fail(&s->vm, c->future, msg, c->pos);
  net_free(c);
}

/* Can a call on `binding` start now, as far as concurrency goes? */
static bool slot_free(Sched *s, uint32_t binding) {
  int64_t limit = s->img->models[binding].concurrency;
  return s->inflight_calls < s->window && (limit <= 0 || s->binding_inflight[binding] < (uint64_t)limit);
}

static void bucket_refill(Bucket *b, double now) {
  if (b->cap <= 0) return;
  if (now > b->last) b->level += (now - b->last) * b->per_ms;
  if (b->level > b->cap) b->level = b->cap;
  b->last = now;
}

/* Milliseconds until `b` holds `need` (a need above the capacity waits for
 * a full bucket, so a large call is never blocked for ever). */
static double bucket_wait(Bucket *b, double need, double now) {
  if (b->cap <= 0) return 0;
  bucket_refill(b, now);
  if (need > b->cap) need = b->cap;
  if (b->level >= need - 1e-9) return 0;
  double wait = (need - b->level) / b->per_ms;
  return wait < 0.001 ? 0.001 : wait; /* a step the clock can take */
}

static void bucket_take(Bucket *b, double need) {
  if (b->cap <= 0) return;
  b->level -= need > b->cap ? b->cap : need;
  if (b->level < 0) b->level = 0;
}

/* Milliseconds until the rate limits of `e`'s binding let it start. */
static double rate_wait(Sched *s, const Event *e) {
  double a = bucket_wait(&s->rpm[e->binding], 1, s->now), b = bucket_wait(&s->tpm[e->binding], e->tokens, s->now);
  return a > b ? a : b;
}

/* Start `e` now: take its slot and its rate tokens. */
static void start_call(Sched *s, Event e) {
  if (e.net && e.net->sent < 0) e.net->sent = e.net->x->start_ms = clock_ms(s);
  if (e.x) e.x->start_ms = clock_ms(s);
  s->inflight_calls++;
  s->binding_inflight[e.binding]++;
  bucket_take(&s->rpm[e.binding], 1);
  bucket_take(&s->tpm[e.binding], e.tokens);
  e.at = s->now + e.latency;
  events_push(s, e);
}

/* Look at the waiting calls again at `at`, unless a look is due before. */
static void schedule_recheck(Sched *s, double at) {
  if (s->recheck_at >= 0 && at >= s->recheck_at) return;
  Event r;
  memset(&r, 0, sizeof r);
  r.recheck = true;
  r.at = at;
  r.seq = s->seq++;
  s->recheck_at = at;
  events_push(s, r);
}

/* Start the call (its reply completes `latency` from now), or queue it. */
static void issue_or_wait(Sched *s, Event e) {
  if (s->nwaiting == 0 && slot_free(s, e.binding) && rate_wait(s, &e) == 0) {
    start_call(s, e);
    return;
  }
  if (s->nwaiting == s->waiting_cap) {
    s->waiting_cap = s->waiting_cap ? s->waiting_cap * 2 : 64;
    s->waiting = xrealloc(s->waiting, s->waiting_cap * sizeof *s->waiting);
  }
  s->waiting[s->nwaiting++] = e;
  /* held back by a rate limit: look again when the bucket has refilled */
  if (slot_free(s, e.binding)) schedule_recheck(s, s->now + rate_wait(s, &e));
}

/* Start the waiting calls that now fit, in issue order; schedule a recheck
 * for those held back only by a rate limit. */
static void start_waiting(Sched *s) {
  size_t keep = 0;
  double next = -1;
  for (size_t i = 0; i < s->nwaiting; i++) {
    Event *e = &s->waiting[i];
    if (!slot_free(s, e->binding)) {
      s->waiting[keep++] = *e;
      continue;
    }
    double wait = rate_wait(s, e);
    if (wait == 0) {
      start_call(s, *e);
    } else {
      if (next < 0 || s->now + wait < next) next = s->now + wait;
      s->waiting[keep++] = *e;
    }
  }
  s->nwaiting = keep;
  if (next >= 0) schedule_recheck(s, next);
}

/* A call ended: its slot goes to the waiting calls. */
static void release_slot(Sched *s, uint32_t binding) {
  s->inflight_calls--;
  s->binding_inflight[binding]--;
  start_waiting(s);
}

/* ---- tests ------------------------------------------------------------------------------------ */

/* A mock of one prompt: its reply, its successive replies, or a cassette. */
typedef struct PromptMock {
  bool set;
  MockKind kind;
  Value value;              /* MOCK_VALUE: the reply; MOCK_SEQUENCE: the list of replies */
  uint32_t next;            /* MOCK_SEQUENCE: the next reply to hand out */
  Cassette *cassette;       /* MOCK_CASSETTE */
  char *path;               /* MOCK_CASSETTE: as written, for messages */
} PromptMock;

typedef struct TestRun {
  const Image *img;
  const TestOptions *opt;
  uint32_t test;            /* the test's index in img->tests */
  PromptMock *prompts;      /* per prompt */
  PromptMock judge;         /* every judge call */
  bool *model_mocked;       /* per binding: the mock provider answers it */
  TestResult *out;
} TestRun;

static void prompt_mock_clear(PromptMock *pm) {
  value_release(pm->value);
  cassette_close(pm->cassette);
  free(pm->path);
  memset(pm, 0, sizeof *pm);
}

/* MOCKVAL, MOCKFILE, MOCKMODEL: a later mock of the same prompt replaces an
 * earlier one. */
static bool test_mock(void *ctx, MockKind kind, uint32_t target, Value v, char *err, size_t errlen) {
  Sched *s = ctx;
  TestRun *tr = s->test;
  if (!tr) {
    snprintf(err, errlen, "mocks are only installed by `flowc test`");
    return false;
  }
  if (kind == MOCK_MODEL) {
    tr->model_mocked[target] = true;
    return true;
  }
  PromptMock *pm = target == VM_JUDGE ? &tr->judge : &tr->prompts[target];
  prompt_mock_clear(pm);
  pm->kind = kind;
  if (kind == MOCK_CASSETTE) {
    const char *rel = value_as_str(v)->data;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", tr->opt->root ? tr->opt->root : ".", rel);
    char why[512];
    if (!(pm->cassette = cassette_open_replay(path, why, sizeof why))) {
      snprintf(err, errlen, "mock %s from \"%s\": %s", s->img->prompts[target].name, rel, why);
      return false;
    }
    pm->path = xstrdup(rel);
  } else {
    pm->value = value_retain(v);
  }
  pm->set = true;
  return true;
}

/* EXPECT: keep each failed assertion with the values it compared. */
static void test_expect(void *ctx, Task *t, uint32_t index, bool passed, Value lhs, Value rhs) {
  (void)t;
  Sched *s = ctx;
  if (!s->test) return;
  TestResult *r = s->test->out;
  r->asserts_run++;
  if (passed) return;
  r->failures = xrealloc(r->failures, (r->nfailures + 1) * sizeof *r->failures);
  TestFailure *f = &r->failures[r->nfailures++];
  f->index = index;
  f->lhs = value_to_json_text(s->img, IMG_TYPE_ANY, lhs);
  f->rhs = value_to_json_text(s->img, IMG_TYPE_ANY, rhs);
}

/* Answer a call from the test's mocks: a prompt's own mock (its reply
 * written as the provider would send it, so it is decoded and validated
 * like one), or refuse a call that would go to the network. False when the
 * call goes on as in a run (a mocked or offline binding, or a network call
 * with --allow-network). */
static bool test_answer(Sched *s, int32_t prompt, uint32_t binding, bool model_mocked, Exchange *x, Event *e) {
  TestRun *tr = s->test;
  const Image *img = s->img;
  char msg[768];
  PromptMock *pm = prompt >= 0 ? &tr->prompts[prompt] : &tr->judge;
  char what[300];
  snprintf(what, sizeof what, prompt >= 0 ? "prompt `%s`" : "`judge`", prompt >= 0 ? img->prompts[prompt].name : "");
  if (pm && pm->set) {
    Value reply = pm->value;
    if (pm->kind == MOCK_CASSETTE) {
      const char *text;
      size_t len;
      if (!cassette_lookup(pm->cassette, x->key, &text, &len, &x->in_tok, &x->out_tok)) {
        snprintf(msg, sizeof msg, "no recorded reply for this call of prompt `%s` in the cassette \"%s\" "
                 "(request %.12s...); expected one recorded with `flowc run --record`", img->prompts[prompt].name,
                 pm->path, x->key);
        e->failure = xstrdup(msg);
        return true;
      }
      x->reply = xmalloc(len + 1);
      memcpy(x->reply, text, len);
      x->reply[len] = '\0';
      x->len = len;
      return true;
    }
    if (pm->kind == MOCK_SEQUENCE) {
      const List *l = value_as_list(pm->value);
      if (pm->next >= l->len) {
        snprintf(msg, sizeof msg, "the mock of %s has %u repl%s, and call %u asked for one more", what, l->len,
                 l->len == 1 ? "y" : "ies", pm->next + 1);
        e->failure = xstrdup(msg);
        return true;
      }
      reply = l->items[pm->next++];
    }
    uint32_t type = prompt >= 0 ? img->prompts[prompt].out_type : IMG_TYPE_FLOAT;
    if (prompt < 0) { /* a judge's reply: {"score": x} */
      char num[32];
      size_t n = json_format_double(reply.tag == V_INT ? (double)reply.u.i : reply.u.f, num);
      x->reply = xmalloc(n + 16);
      x->len = (size_t)snprintf(x->reply, n + 16, "{\"score\":%s}", num);
    } else if (type == IMG_TYPE_STRING && reply.tag == V_STR) {
      x->len = value_as_str(reply)->len;
      x->reply = xmalloc(x->len + 1);
      memcpy(x->reply, value_as_str(reply)->data, x->len + 1);
    } else {
      x->reply = value_to_json_text(img, type, reply);
      x->len = strlen(x->reply);
    }
    return true;
  }
  const ImgModel *m = &img->models[binding];
  if (model_mocked || m->provider == PROVIDER_MOCK || tr->opt->allow_network) return false;
  if (prompt >= 0)
    snprintf(msg, sizeof msg, "prompt `%s` calls binding `%s` (%s), which this test does not mock; expected "
             "`mock %s = ...`, `mock %s from \"cassette.jsonl\"` or `mock %s`, or a run with --allow-network",
             img->prompts[prompt].name, m->name, provider_name(m->provider), img->prompts[prompt].name,
             img->prompts[prompt].name, m->name);
  else
    snprintf(msg, sizeof msg, "a judge calls binding `%s` (%s), which this test does not mock; expected `mock %s`, "
             "or a run with --allow-network", m->name, provider_name(m->provider), m->name);
  e->failure = xstrdup(msg);
  return true;
}

/* VmHost.call: build the request, get the reply from the provider, and
 * schedule its completion on the virtual clock. */
static Future *sched_call(void *ctx, Task *t, int32_t prompt, int32_t model, Value messages, Value feedback,
                          uint32_t pos) {
  Sched *s = ctx;
  const Image *img = s->img;
  const ImgPrompt *p = prompt >= 0 ? &img->prompts[prompt] : NULL;
  uint32_t binding = model >= 0 ? (uint32_t)model : (p ? p->model : 0);
  if (s->model_map) binding = (uint32_t)s->model_map[binding];
  const ImgModel *m = &img->models[binding];

  Exchange *x = xmalloc(sizeof *x);
  memset(x, 0, sizeof *x);
  x->refs = 1; /* the trace's */
  x->answered_by = binding;
  x->req.img = img;
  x->req.prompt = prompt;
  x->req.model = binding;
  x->req.params = m->params;
  if (p) {
    /* the prompt's settings override the binding's */
    const ImgParams *o = &p->params;
    if (o->set & PARAM_TEMPERATURE) x->req.params.temperature = o->temperature;
    if (o->set & PARAM_TOP_P) x->req.params.top_p = o->top_p;
    if (o->set & PARAM_MAX_TOKENS) x->req.params.max_tokens = o->max_tokens;
    if (o->set & PARAM_SEED) x->req.params.seed = o->seed;
    if (o->set & PARAM_STOP) {
      x->req.params.nstop = o->nstop;
      x->req.params.stop = o->stop;
    }
    x->req.params.set |= o->set;
  }
  x->req.messages = with_feedback(messages, feedback);
  x->req.out_type = p ? p->out_type : IMG_TYPE_FLOAT;
  x->req.schema = p ? p->schema : JUDGE_SCHEMA;
  if (p) { /* their content hashes are part of the request's key */
    x->req.ncontexts = s->prompt_nctx[prompt];
    x->req.contexts = s->prompt_ctx[prompt];
    x->req.context_hash = s->ctx_hash;
  }
  /* the key (SHA-256 of the canonical request) is needed by the mock, the
   * cassettes and the trace; a plain network run does without it */
  bool offline = s->replay || s->opt->mock || m->provider == PROVIDER_MOCK || s->test || cacheable(s, prompt, false);
  if (offline || s->trace || s->record || s->store) request_key(&x->req, x->key);
  else snprintf(x->key, sizeof x->key, "-");

  Event e;
  memset(&e, 0, sizeof e);
  e.future = future_new();
  e.future->obj.refs++; /* the event's and the register's */
  e.prompt = prompt;
  e.out_type = x->req.out_type;
  e.pos = pos;
  e.seq = s->seq++;
  e.at = s->now;
  const char *name = p ? p->name : "judge";
  bool model_mocked = s->opt->mock || m->provider == PROVIDER_MOCK || (s->test && s->test->model_mocked[binding]);
  bool offline_provider = model_mocked || s->replay; /* only network calls are cached */
  if (s->test && test_answer(s, prompt, binding, model_mocked, x, &e)) {
    x->source = "test"; /* answered (or refused) by the test's mocks */
  } else if (!offline_provider && cacheable(s, prompt, false) &&
             store_cache_get(s->store, x->key, &x->reply, &x->len, &x->in_tok, &x->out_tok)) {
    s->cache_hits++; /* served from the store: no request, no cost */
    x->source = "cache";
    e.cached = true;
  } else if (budget_spent(s)) {
    x->source = "refused";
    char msg[384];
    snprintf(msg, sizeof msg, "not done: the budget ran out (%s)", s->budget_why);
    e.failure = xstrdup(msg);
    e.refused = true;
  } else if (s->replay) {
    x->source = "replay";
    const char *reply;
    size_t len;
    if (cassette_lookup(s->replay, x->key, &reply, &len, &x->in_tok, &x->out_tok)) {
      x->reply = xmalloc(len + 1);
      memcpy(x->reply, reply, len);
      x->reply[len] = '\0';
      x->len = len;
    } else {
      char msg[512];
      snprintf(msg, sizeof msg, "no recorded reply for %s `%s` (request %.12s...) in the cassette", p ? "prompt" : "a judge call of",
               p ? name : m->name, x->key);
      e.failure = xstrdup(msg);
    }
  } else if (model_mocked) {
    x->source = "mock";
    char seeded[96]; /* a pass_rate trial draws its own replies */
    snprintf(seeded, sizeof seeded, "%s/%llu", x->key, (unsigned long long)t->seed);
    x->reply = mock_reply(&x->req, t->seed ? seeded : x->key, &x->len);
    mock_usage(&x->req, x->reply, &x->in_tok, &x->out_tok);
    x->estimated = true;
    count_usage(s, prompt, binding, x->in_tok, x->out_tok, true);
  } else {
    /* a real provider: build the HTTP request now, so a missing key fails
     * before anything is sent */
    char err[512];
    x->source = "failed"; /* until a reply decodes */
    if (s->store) x->parts = request_parts(&x->req);
    NetCall *c = xmalloc(sizeof *c);
    memset(c, 0, sizeof *c);
    c->req = x->req;
    c->req.messages = value_retain(x->req.messages);
    c->policy = p && p->policy >= 0 ? &img->policies[p->policy] : NULL;
    c->pos = pos;
    c->sent = -1;
    ProviderEnv env = {provider_process_getenv, NULL, s->provider_cache};
    if (!provider_build(&c->req, &env, &c->http, err, sizeof err) || !ensure_http(s, err, sizeof err)) {
      e.failure = xstrdup(err);
      net_free(c);
    } else {
      c->future = e.future;
      e.future->obj.refs++;
      c->x = x;
      x->refs++;
      e.net = c;
    }
  }
  if (!e.net) { /* completes as an event */
    e.x = x;
    x->refs++;
  }
  e.binding = binding;
  if (!e.failure) s->calls_issued++;
  if (!e.refused)
    callstats_call(s->calls, prompt, feedback.tag == V_LIST && value_as_list(feedback)->len > 0, e.cached);
  if (m->tokens_per_minute > 0) {
    /* what the call may use: its text at about four bytes a token, plus the reply cap */
    size_t bytes = 0;
    List *ml = value_as_list(x->req.messages);
    for (uint32_t i = 0; i < ml->len; i++) {
      Value text = value_as_record(ml->items[i])->fields[1];
      if (text.tag == V_STR) bytes += value_as_str(text)->len;
    }
    e.tokens = (double)(bytes + 3) / 4 + (double)(x->req.params.set & PARAM_MAX_TOKENS ? x->req.params.max_tokens : 0);
  }
  if (s->opt->mock_latency_ms > 0) e.latency = mock_latency_ms(x->key, s->opt->seed, s->opt->mock_latency_ms);
  if (x->reply) {
    e.reply = xmalloc(x->len + 1);
    memcpy(e.reply, x->reply, x->len + 1);
    e.len = x->len;
  }

  char line[512];
  snprintf(line, sizeof line, "{\"event\":\"%s\",\"name\":\"%s\",\"binding\":\"%s\",\"key\":\"%s\"}",
           p ? "prompt" : "judge", name, m->name, x->key);
  task_trace(t, xstrdup(line), x, exchange_release);
  Future *result = e.future;
  issue_or_wait(s, e);
  return result;
}

/* A reply arrived for a call of prompt `prompt` (-1: a judge): decode it as
 * the output type (leniently: fences, prose, trailing commas; then
 * strictly against the type) and resolve the future, or fail it. */
static bool resolve_reply(Sched *s, Future *f, int32_t prompt, uint32_t out_type, const char *text, size_t len,
                          uint32_t pos) {
  char err[1024];
  const Image *img = s->img;
  if (prompt >= 0 && out_type == IMG_TYPE_STRING) {
    future_resolve(&s->vm, f, value_str(text, len));
    return true;
  }
  json_t *j = json_parse_lenient(text, len, err, sizeof err);
  Value v = value_none();
  bool ok = false;
  char msg[1280];
  if (!j) {
    snprintf(msg, sizeof msg, "the reply of %s is not JSON: %s", prompt >= 0 ? img->prompts[prompt].name : "a judge", err);
  } else if (prompt < 0) {
    json_t *score = json_object_get(j, "score");
    double x = json_is_number(score) ? json_number_value(score) : -1;
    ok = json_is_number(score) && x >= 0 && x <= 1; /* a score on another scale is refused, not rescaled */
    if (ok) v = value_float(x);
    else if (json_is_number(score))
      snprintf(msg, sizeof msg, "the judge's reply has \"score\": %g; expected a number from 0 to 1", x);
    else snprintf(msg, sizeof msg, "the judge's reply has no number \"score\"");
  } else {
    ok = json_to_value(img, out_type, j, JV_LENIENT_ENUMS, &v, err, sizeof err);
    if (!ok) snprintf(msg, sizeof msg, "the reply of prompt `%s` does not match its output type: %s",
                      img->prompts[prompt].name, err);
  }
  json_decref(j);
  if (ok) future_resolve(&s->vm, f, v);
  else future_reject(&s->vm, f, msg, pos);
  return ok;
}

/* An event's time has come. A network call is sent (or, after a backoff,
 * queued for a slot); an offline reply is decoded. */
static void complete(Sched *s, Event *e) {
  if (e->recheck) {
    if (s->recheck_at <= e->at) s->recheck_at = -1;
    start_waiting(s);
    return;
  }
  if (e->net && e->timer) {
    Event q = *e;
    q.timer = false;
    q.future = NULL;
    issue_or_wait(s, q);
    return;
  }
  if (e->net) {
    if (e->future) value_release(value_obj(V_FUTURE, &e->future->obj));
    net_submit(s, e->net);
    return;
  }
  release_slot(s, e->binding);
  bool valid = false;
  if (e->failure) future_fail(&s->vm, e->future, e->failure, e->pos);
  else valid = resolve_reply(s, e->future, e->prompt, e->out_type, e->reply, e->len, e->pos);
  if (!e->refused) /* offline replies take their simulated latency */
    callstats_done(s->calls, e->prompt, e->cached ? 0 : e->latency, !valid);
  if (e->x) {
    e->x->done = true;
    e->x->end_ms = clock_ms(s);
    e->x->attempts = e->cached || e->refused ? 0 : 1;
    exchange_release(e->x);
  }
  value_release(value_obj(V_FUTURE, &e->future->obj));
  free(e->reply);
  free(e->failure);
}

/* ---- contexts ------------------------------------------------------------------------------ */

/* Context [c]: read and decoded at its first use (runtime/context.c), then
 * served from s->ctx_values; a read that failed fails every item that uses
 * the context with the same message, without reading again. */
/* ContextEnv.fetch: an HTTPS GET under the source's allow-list and the
 * run's --allow-host entries (runtime/fetch.h enforces the rules). */
static bool sched_fetch(void *ctx, const ImgContext *c, const char *url, char **body, size_t *len, char *err,
                        size_t errlen) {
  Sched *s = ctx;
  size_t n = c->nallow + s->opt->nallow_hosts;
  const char **allow = xmalloc((n + 1) * sizeof *allow);
  for (uint32_t i = 0; i < c->nallow; i++) allow[i] = c->allow[i];
  for (uint32_t i = 0; i < s->opt->nallow_hosts; i++) allow[c->nallow + i] = s->opt->allow_hosts[i];
  FetchConfig cfg = {allow, n, getenv("FLOW_CA_BUNDLE"), 0, 0, 0};
  bool ok = fetch_get(&cfg, url, body, len, err, errlen);
  free(allow);
  return ok;
}

static bool sched_context(void *ctx, uint32_t c, Value *out, char *err, size_t errlen) {
  Sched *s = ctx;
  if (!s->ctx_loaded[c]) {
    s->ctx_loaded[c] = true;
    if (!context_load(&s->ctx_env, &s->img->contexts[c], &s->ctx_values[c], s->ctx_hash[c], err, errlen)) {
      s->ctx_error[c] = xstrdup(err);
      return false;
    }
  }
  if (s->ctx_error[c]) {
    snprintf(err, errlen, "%s", s->ctx_error[c]);
    return false;
  }
  *out = value_retain(s->ctx_values[c]);
  return true;
}

/* ---- items ---------------------------------------------------------------------------------- */

static void sched_wake(void *ctx, Task *t) { rq_push(ctx, t); }
static void sched_spawn(void *ctx, Task *t) { rq_push(ctx, t); }

/* The trace fields of call `x` after its fixed part: the binding that
 * answered and its model, where the reply came from, requests sent, tokens,
 * cost, the error, and last (the only fields that vary with timing) when it
 * started and ended on the run's clock. */
static void call_fields(Sched *s, const Exchange *x, TextBuf *b) {
  const ImgModel *m = &s->img->models[x->answered_by];
  const char *source = call_source(x);
  int64_t in_tok, out_tok;
  billed(x, &in_tok, &out_tok);
  JsonWriter w = {b, true}; /* members after the fixed part's */
  jw_key(&w, "answered_by");
  jw_cstring(&w, m->name);
  jw_key(&w, "model");
  jw_cstring(&w, m->model);
  jw_key(&w, "source");
  jw_cstring(&w, source);
  jw_key(&w, "cached");
  jw_bool(&w, !strcmp(source, "cache"));
  jw_key(&w, "attempts");
  jw_int(&w, x->attempts);
  jw_key(&w, "input_tokens");
  jw_int(&w, in_tok);
  jw_key(&w, "output_tokens");
  jw_int(&w, out_tok);
  jw_key(&w, "cost_usd");
  jw_real(&w, price(m, in_tok, out_tok));
  if (x->error) {
    jw_key(&w, "error");
    jw_cstring(&w, x->error);
  }
  jw_key(&w, "start_ms"); /* to the microsecond */
  jw_real(&w, round(x->start_ms * 1e3) / 1e3);
  jw_key(&w, "end_ms");
  jw_real(&w, x->done ? round(x->end_ms * 1e3) / 1e3 : -1);
}

/* Record call `x`, made by item `item` at trace position `at`, in the store (for `flowc why`). */
static void record_call(Sched *s, uint64_t item, uint32_t at, const Exchange *x) {
  char err[512];
  const char *prompt = x->req.prompt >= 0 ? s->img->prompts[x->req.prompt].name : "judge";
  int64_t in_tok, out_tok;
  billed(x, &in_tok, &out_tok);
  StoreCall c = {item, at, prompt, x->key, call_source(x), x->stored ? NULL : x->parts, 0, in_tok, out_tok,
                 price(&s->img->models[x->answered_by], in_tok, out_tok)};
  if (!store_run_call(s->store, s->run_id, &c, err, sizeof err)) fprintf(stderr, "%s: warning: %s\n", PROG(s->opt), err);
}

/* ---- --otlp ---- */

/* A time on the run's clock (ms) in Unix ns. */
static uint64_t span_ns(const Sched *s, double ms) { return s->start_ns + (uint64_t)(ms > 0 ? ms * 1e6 : 0); }

/* Call `x` of item `item` (trace position `at`) as a span. */
static void export_call(Sched *s, uint64_t item, uint32_t at, const Exchange *x) {
  const ImgModel *m = &s->img->models[x->answered_by];
  const ImgParams *p = &x->req.params;
  OtlpCall c;
  memset(&c, 0, sizeof c);
  c.item = (int64_t)item;
  c.seq = at;
  c.start_ns = span_ns(s, x->start_ms);
  c.end_ns = span_ns(s, x->done ? x->end_ms : clock_ms(s));
  c.prompt = x->req.prompt >= 0 ? s->img->prompts[x->req.prompt].name : "judge";
  c.binding = m->name;
  c.provider = provider_name(m->provider);
  c.model = m->model;
  c.request_key = strcmp(x->key, "-") ? x->key : NULL;
  c.error = x->error ? x->error : !x->done ? "its item ended before the reply came" : NULL;
  c.error_type = c.error ? "_OTHER" : NULL;
  c.cache_hit = x->source && !strcmp(x->source, "cache");
  c.attempts = x->attempts;
  c.has_usage = c.has_cost = true;
  c.usage_estimated = x->estimated;
  billed(x, &c.input_tokens, &c.output_tokens);
  c.cost_usd = price(m, c.input_tokens, c.output_tokens);
  c.has_temperature = p->set & PARAM_TEMPERATURE;
  c.temperature = p->temperature;
  c.has_max_tokens = p->set & PARAM_MAX_TOKENS;
  c.max_tokens = p->max_tokens;
  otlp_call_span(s->otlp, &c);
}

/* A committed item as a span. */
static void export_item(Sched *s, const Slot *slot) {
  OtlpItem it = {(int64_t)slot->item, slot->output ? "ok" : slot->skipped ? "skipped" : "failed",
                 slot->output || slot->skipped ? NULL : slot->error, span_ns(s, slot->start_ms),
                 span_ns(s, clock_ms(s))};
  otlp_item_span(s->otlp, &it);
}

/* Open the exporter: $OTEL_SERVICE_NAME, and headers from
 * $OTEL_EXPORTER_OTLP_TRACES_HEADERS or $OTEL_EXPORTER_OTLP_HEADERS. */
static bool open_otlp(Sched *s, const RunOptions *opt) {
  char err[1024];
  const char *headers = getenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS");
  if (!headers) headers = getenv("OTEL_EXPORTER_OTLP_HEADERS");
  if (!s->store) store_new_run_id("-", opt->argv_json ? opt->argv_json : "[]", s->run_id);
  OtlpOptions o = {opt->otlp, getenv("OTEL_SERVICE_NAME"), s->run_id, headers, getenv("FLOW_CA_BUNDLE"), 0, 0};
  if (!(s->otlp = otlp_open(&o, err, sizeof err))) fprintf(stderr, "%s: error: --otlp: %s\n", PROG(opt), err);
  return s->otlp != NULL;
}

/* The run's own span, then every span still buffered; a failed export is a warning. */
static void close_otlp(Sched *s, const char *status, const char *why) {
  char err[1024], hash[65];
  const char *slash = s->opt->program ? strrchr(s->opt->program, '/') : NULL;
  for (int i = 0; i < 32; i++) snprintf(hash + 2 * i, 3, "%02x", s->img->hash[i]);
  OtlpRun r = {slash ? slash + 1 : PROG(s->opt), hash, status, why, s->start_ns, otlp_now_ns(),
               (int64_t)s->ok, (int64_t)s->failed};
  otlp_run_span(s->otlp, &r);
  if (!otlp_close(s->otlp, err, sizeof err)) fprintf(stderr, "%s: warning: %s\n", PROG(s->opt), err);
  s->otlp = NULL;
}

/* Write one trace event (and its nested loop events) for item `item`. */
static void write_trace(Sched *s, uint64_t item, TraceEvent *ev, uint32_t n, uint64_t *seq) {
  for (uint32_t i = 0; i < n; i++) {
    uint64_t at = ev[i].line ? (*seq)++ : 0;
    if (ev[i].line && s->trace) {
      const char *line = ev[i].line + 1;
      if (ev[i].data) { /* a call: its fixed part, then what happened to it */
        TextBuf b = {0};
        tb_put(&b, line, strlen(line) - 1);
        call_fields(s, ev[i].data, &b);
        fprintf(s->trace, "{\"item\":%llu,\"seq\":%llu,%s}\n", (unsigned long long)item, (unsigned long long)at, b.data);
        free(b.data);
      } else {
        fprintf(s->trace, "{\"item\":%llu,\"seq\":%llu,%s\n", (unsigned long long)item, (unsigned long long)at, line);
      }
    }
    if (ev[i].data && s->store) record_call(s, item, (uint32_t)at, ev[i].data);
    if (ev[i].data && s->otlp) export_call(s, item, (uint32_t)at, ev[i].data);
    if (ev[i].outcome) {
      evalstats_add(s->stats, item, ev[i].outcome);
      if (s->trace) {
        TextBuf b = {0};
        evalstats_trace_fields(s->stats, ev[i].outcome, &b);
        fprintf(s->trace, "{\"item\":%llu,\"seq\":%llu,%s}\n", (unsigned long long)item,
                (unsigned long long)(*seq)++, b.data);
        free(b.data);
      }
    }
    if (ev[i].data && s->record) {
      Exchange *x = ev[i].data;
      char err[256];
      if (!cassette_append(s->record, &x->req, x->key, x->reply ? x->reply : "", x->len, x->in_tok, x->out_tok, err,
                           sizeof err))
        fprintf(stderr, "%s: error: recording: %s\n", PROG(s->opt), err);
    }
    write_trace(s, item, ev[i].sub, ev[i].nsub, seq);
  }
}

/* Commit finished items in input order. */
static void commit(Sched *s) {
  for (;;) {
    Slot *slot = &s->slots[s->next_commit % s->window];
    if (slot->state != SLOT_DONE || slot->item != s->next_commit) return;
    uint64_t seq = 0;
    write_trace(s, slot->item, slot->trace, slot->ntrace, &seq);
    if (s->otlp) export_item(s, slot);
    if (s->store) { /* the item's result, for `flowc runs diff` */
      char err[512];
      if (!store_item(s->store, s->run_id, slot->item, slot->output, slot->output ? NULL : slot->error, err,
                      sizeof err))
        fprintf(stderr, "%s: warning: %s\n", PROG(s->opt), err);
    }
    if (slot->output) {
      progress_clear(s->progress, s->out);
      fputs(slot->output, s->out);
      fputc('\n', s->out);
      s->ok++;
    } else if (slot->skipped) {
      s->skipped++;
    } else {
      s->failed++;
      if (s->errors) {
        json_t *e = json_pack("{s:I, s:s}", "item", (json_int_t)slot->item, "error", slot->error);
        char *text = json_dumps(e, JSON_COMPACT);
        fprintf(s->errors, "%s\n", text);
        free(text);
        json_decref(e);
      }
      progress_clear(s->progress, stderr);
      fprintf(stderr, "%s: item %llu failed: %s\n", PROG(s->opt), (unsigned long long)slot->item, slot->error);
      if (!s->opt->keep_going && !s->budget_hit) s->stop = true;
    }
    free(slot->output);
    free(slot->error);
    trace_events_free(slot->trace, slot->ntrace);
    memset(slot, 0, sizeof *slot);
    s->next_commit++;
    s->inflight--;
    if (s->stop) return;
  }
}

static void sched_finished(void *ctx, Task *t) {
  Sched *s = ctx;
  if (s->test) { /* the test's own task: it ran to its end, or why not */
    char where[256];
    if (t->state == TASK_FAILED) {
      size_t n = strlen(t->error) + 300;
      s->test->out->error = xmalloc(n);
      const char *root = s->opt->root && strcmp(s->opt->root, ".") ? s->opt->root : NULL;
      snprintf(s->test->out->error, n, "%s (at %s%s%s)", t->error, root ? root : "", root ? "/" : "",
               vm_pos_str(s->img, t->error_pos, where, sizeof where));
    } else if (t->state == TASK_SKIPPED) {
      s->test->out->error = xstrdup("the test was skipped by a `skip` action; expected it to run to its end");
    }
    trace_events_free(t->trace, t->ntrace);
    t->trace = NULL;
    t->ntrace = 0;
    s->inflight--;
    vm_task_free(t);
    return;
  }
  Slot *slot = &s->slots[t->item % s->window];
  const Image *img = s->img;
  char where[256];
  if (t->state == TASK_DONE) {
    slot->output = value_to_json_text(img, img->flows[img->main_flow].ret_type, t->result);
  } else if (t->state == TASK_SKIPPED) {
    slot->skipped = true;
  } else {
    size_t n = strlen(t->error) + 300;
    slot->error = xmalloc(n);
    const char *root = s->opt->root && strcmp(s->opt->root, ".") ? s->opt->root : NULL;
    snprintf(slot->error, n, "%s (at %s%s%s)", t->error, root ? root : "", root ? "/" : "",
             vm_pos_str(img, t->error_pos, where, sizeof where));
  }
  slot->trace = t->trace;
  slot->ntrace = t->ntrace;
  t->trace = NULL;
  t->ntrace = 0;
  slot->state = SLOT_DONE;
  slot->task = NULL;
  vm_task_free(t);
  commit(s);
}

/* The next input line as main's arguments; false at the end of input.
 * A line that does not decode makes a failed item. */
static bool next_input(Sched *s, Value *args, char **error) {
  const Image *img = s->img;
  const ImgFlow *mf = &img->flows[img->main_flow];
  *error = NULL;
  if (!s->in) {
    if (s->next_item > 0) return false; /* no input: one run with no arguments */
    return true;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  do {
    n = getline(&line, &cap, s->in);
    s->line_no++;
  } while (n >= 0 && (n == 0 || (n == 1 && line[0] == '\n')));
  if (n < 0) {
    free(line);
    return false;
  }
  char err[1024];
  JsonReadError je;
  json_t *j = json_read(line, (size_t)n, INPUT_MAX_DEPTH, &je);
  free(line);
  if (!j) {
    snprintf(err, sizeof err, "input line %llu, column %zu is not JSON: %s", (unsigned long long)s->line_no,
             je.position + 1, je.text);
    *error = xstrdup(err);
    return true;
  }
  bool ok = true;
  if (mf->nparams == 1) {
    ok = json_to_value(img, mf->param_types[0], j, JV_STRICT, &args[0], err, sizeof err);
  } else {
    for (uint32_t i = 0; i < mf->nparams && ok; i++) {
      json_t *f = json_is_object(j) ? json_object_get(j, mf->param_names[i]) : NULL;
      if (!f) {
        snprintf(err, sizeof err, "expected an object with a field \"%s\"", mf->param_names[i]);
        ok = false;
      } else {
        ok = json_to_value(img, mf->param_types[i], f, JV_STRICT, &args[i], err, sizeof err);
      }
    }
  }
  json_decref(j);
  if (!ok) {
    char msg[1200];
    snprintf(msg, sizeof msg, "input line %llu: %s", (unsigned long long)s->line_no, err);
    *error = xstrdup(msg);
  }
  return true;
}

/* Admit input items while the window has room. */
static void admit(Sched *s) {
  if (s->test) return; /* a test runs one task, started by run_test */
  const Image *img = s->img;
  const ImgFlow *mf = &img->flows[img->main_flow];
  while (!s->stop && !s->budget_hit && !s->input_done && s->inflight < s->window) {
    Value *args = xmalloc((mf->nparams + 1) * sizeof *args);
    for (uint32_t i = 0; i < mf->nparams; i++) args[i] = value_none();
    char *error;
    if (!next_input(s, args, &error)) {
      s->input_done = true;
      free(args);
      return;
    }
    uint64_t item = s->next_item++;
    Slot *slot = &s->slots[item % s->window];
    memset(slot, 0, sizeof *slot);
    slot->item = item;
    s->inflight++;
    if (error) {
      for (uint32_t i = 0; i < mf->nparams; i++) value_release(args[i]);
      free(args);
      slot->error = error;
      slot->state = SLOT_DONE;
      commit(s);
      continue;
    }
    slot->state = SLOT_RUNNING;
    slot->start_ms = clock_ms(s);
    slot->task = vm_task_new(&s->vm, mf->fn, args, mf->nparams, item);
    free(args);
    rq_push(s, slot->task);
  }
}

/* ---- the loop ---------------------------------------------------------------------------------- */

static FILE *open_out(const RunOptions *opt, const char *path, const char *what) {
  if (!path || !strcmp(path, "-")) return stdout;
  FILE *f = fopen(path, "w");
  if (!f) fprintf(stderr, "%s: error: cannot write %s `%s`: %s\n", PROG(opt), what, path, strerror(errno));
  return f;
}

/* Which contexts each prompt's template reads: the CONTEXT instructions of
 * its render function, each context once, in the order they appear. */
static void prompt_contexts(Sched *s) {
  const Image *img = s->img;
  s->prompt_ctx = xmalloc((img->nprompts + 1) * sizeof *s->prompt_ctx);
  s->prompt_nctx = xmalloc((img->nprompts + 1) * sizeof *s->prompt_nctx);
  for (uint32_t p = 0; p < img->nprompts; p++) {
    const ImgFunc *fn = &img->funcs[img->prompts[p].render];
    uint32_t *list = NULL, n = 0;
    for (uint32_t i = 0; i < fn->ncode; i++) {
      if (fn->code[i].op != OP_CONTEXT) continue;
      bool seen = false;
      for (uint32_t k = 0; k < n && !seen; k++) seen = list[k] == fn->code[i].b;
      if (seen) continue;
      list = xrealloc(list, (n + 1) * sizeof *list);
      list[n++] = fn->code[i].b;
    }
    s->prompt_ctx[p] = list;
    s->prompt_nctx[p] = n;
  }
}

/* evalstats_each into the store: each pass rate of the run. */
typedef struct OutcomeSink {
  Store *store;
  const char *run;
  bool ok;
} OutcomeSink;

static void store_outcome(void *ctx, const char *kind, const char *name, uint64_t runs, uint64_t passed) {
  OutcomeSink *k = ctx;
  char err[512];
  if (k->ok && !(k->ok = store_run_outcome(k->store, k->run, kind, name, runs, passed, err, sizeof err)))
    fprintf(stderr, "flowc: warning: %s\n", err);
}

/* --explain-cache: this run's calls against the run of the program before it. */
static void explain_cache(Sched *s) {
  char err[1024];
  StoreRun now, before;
  bool has_before = false, ok = store_run_get(s->store, s->run_id, &now, err, sizeof err);
  if (ok) {
    has_before = store_run_latest(s->store, now.program, &now, &before, err, sizeof err);
    fprintf(stderr, "%s: the cache\n", PROG(s->opt));
    ok = cache_why(s->store, &now, has_before ? &before : NULL, stderr, err, sizeof err);
    store_run_free(&now);
  }
  if (has_before) store_run_free(&before);
  if (!ok) fprintf(stderr, "%s: warning: --explain-cache: %s\n", PROG(s->opt), err);
}

/* Open the run store and record the run starting. */
static bool open_store(Sched *s, const Image *img, const RunOptions *opt) {
  char err[1024], hex[65];
  if (!(s->store = store_open(opt->store, err, sizeof err))) {
    fprintf(stderr, "%s: error: %s\n", PROG(opt), err);
    return false;
  }
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", img->hash[i]);
  if (!store_run_begin(s->store, hex, opt->program ? opt->program : "", opt->argv_json ? opt->argv_json : "[]",
                       opt->cwd ? opt->cwd : ".", s->run_id, err, sizeof err) ||
      !store_run_defs(s->store, s->run_id, opt->defs, opt->ndefs, err, sizeof err)) {
    fprintf(stderr, "%s: error: %s\n", PROG(opt), err);
    return false;
  }
  return true;
}

static bool setup(Sched *s, const Image *img, const RunOptions *opt) {
  struct TestRun *test = s->test; /* the only field a caller sets first */
  memset(s, 0, sizeof *s);
  s->start_ns = otlp_now_ns();
  s->test = test;
  s->img = img;
  s->opt = opt;
  s->window = opt->concurrency ? opt->concurrency : 16;
  s->slots = calloc(s->window, sizeof *s->slots);
  s->ctx_values = calloc(img->ncontexts + 1, sizeof *s->ctx_values);
  s->ctx_loaded = calloc(img->ncontexts + 1, sizeof *s->ctx_loaded);
  s->ctx_hash = calloc(img->ncontexts + 1, sizeof *s->ctx_hash);
  s->ctx_error = calloc(img->ncontexts + 1, sizeof *s->ctx_error);
  s->ctx_env = (ContextEnv){.img = img, .root = opt->root, .getenv = provider_process_getenv, .files = opt->files,
                            .nfiles = opt->nfiles};
  if (!s->test || s->test->opt->allow_network) { /* a test reads no http source unless the network is allowed */
    s->ctx_env.fetch = sched_fetch;
    s->ctx_env.fetch_ctx = s;
  }
  s->binding_inflight = calloc(img->nmodels + 1, sizeof *s->binding_inflight);
  s->calls = callstats_new(img);
  s->provider_cache = provider_cache_new();
  s->rpm = calloc(img->nmodels + 1, sizeof *s->rpm);
  s->tpm = calloc(img->nmodels + 1, sizeof *s->tpm);
  if (!s->rpm || !s->tpm) flow_oom();
  s->recheck_at = -1;
  for (uint32_t i = 0; i < img->nmodels; i++) {
    /* a bucket holds a second's worth (at least one request), full at the start */
    const ImgModel *m = &img->models[i];
    if (m->requests_per_minute > 0) {
      double cap = (double)m->requests_per_minute / 60.0;
      s->rpm[i] = (Bucket){cap < 1 ? 1 : cap, cap < 1 ? 1 : cap, (double)m->requests_per_minute / 60000.0, 0};
    }
    if (m->tokens_per_minute > 0) {
      double cap = (double)m->tokens_per_minute / 60.0;
      s->tpm[i] = (Bucket){cap, cap, (double)m->tokens_per_minute / 60000.0, 0};
    }
  }
  if (!s->slots || !s->ctx_values || !s->ctx_loaded || !s->ctx_hash || !s->ctx_error || !s->binding_inflight)
    flow_oom();
  s->stats = evalstats_new(img);
  prompt_contexts(s);
  VmHost host = {s, sched_call, sched_context, sched_wake, sched_spawn, sched_finished, test_mock, test_expect};
  vm_init(&s->vm, img, host, s->window);
  s->vm.native = (const NativeFn *)opt->native;
  char err[512];
  if (opt->nswaps) {
    s->model_map = xmalloc((img->nmodels + 1) * sizeof *s->model_map);
    for (uint32_t i = 0; i < img->nmodels; i++) s->model_map[i] = (int32_t)i;
    for (uint32_t k = 0; k < opt->nswaps; k++) {
      int32_t from = -1, to = -1;
      for (uint32_t i = 0; i < img->nmodels; i++) {
        if (!strcmp(img->models[i].name, opt->swaps[k].from)) from = (int32_t)i;
        if (!strcmp(img->models[i].name, opt->swaps[k].to)) to = (int32_t)i;
      }
      if (from < 0 || to < 0) {
        fprintf(stderr, "%s: error: --model %s=%s: expected two model bindings of the program, found no binding `%s`\n",
                PROG(opt),
                opt->swaps[k].from, opt->swaps[k].to, from < 0 ? opt->swaps[k].from : opt->swaps[k].to);
        return false;
      }
      s->model_map[from] = to;
    }
  }
  if (s->test) return true; /* a test: no input, output or cassettes of the run's own */
  if (opt->input) {
    s->in = strcmp(opt->input, "-") ? fopen(opt->input, "r") : stdin;
    if (!s->in) {
      fprintf(stderr, "%s: error: cannot read input `%s`: %s\n", PROG(opt), opt->input, strerror(errno));
      return false;
    }
  } else if (img->flows[img->main_flow].nparams > 0) {
    fprintf(stderr, "%s: error: `main` takes %u parameter%s; give the items with --input FILE.jsonl\n", PROG(opt),
            img->flows[img->main_flow].nparams, img->flows[img->main_flow].nparams == 1 ? "" : "s");
    return false;
  }
  if (!(s->out = open_out(opt, opt->output, "output"))) return false;
  if (opt->errors && !(s->errors = open_out(opt, opt->errors, "errors"))) return false;
  if (opt->trace && !(s->trace = open_out(opt, opt->trace, "trace"))) return false;
  if (opt->report && !(s->report = open_out(opt, opt->report, "report"))) return false;
  if (opt->store && !open_store(s, img, opt)) return false;
  if (opt->otlp && !open_otlp(s, opt)) return false;
  if (s->report) evalstats_set_report(s->stats, s->report);
  if (opt->replay && !(s->replay = cassette_open_replay(opt->replay, err, sizeof err))) {
    fprintf(stderr, "%s: error: %s\n", PROG(opt), err);
    return false;
  }
  if (opt->record) {
    char hex[65];
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", img->hash[i]);
    if (!(s->record = cassette_open_record(opt->record, hex, err, sizeof err))) {
      fprintf(stderr, "%s: error: %s\n", PROG(opt), err);
      return false;
    }
  }
  return true;
}

static void net_abandon(void *user) { net_free(user); }

/* Free an event that will never complete (a run that stopped early). */
static void event_free(Event *e) {
  if (e->future) value_release(value_obj(V_FUTURE, &e->future->obj));
  if (e->net) net_free(e->net);
  exchange_release(e->x);
  free(e->reply);
  free(e->failure);
}

static void teardown(Sched *s) {
  store_close(s->store);
  while (s->rq_len) {
    Task *t = rq_pop(s);
    (void)t; /* tasks still queued belong to slots or forks, freed below */
  }
  for (size_t i = 0; i < s->nevents; i++) event_free(&s->events[i]);
  for (size_t i = 0; i < s->nwaiting; i++) event_free(&s->waiting[i]);
  http_engine_free(s->http, net_abandon);
  provider_cache_free(s->provider_cache);
  free(s->rpm);
  free(s->tpm);
  callstats_free(s->calls);
  progress_free(s->progress);
  free(s->waiting);
  free(s->binding_inflight);
  for (uint32_t i = 0; i < s->window; i++) { /* tasks still running are freed by vm_free */
    free(s->slots[i].output);
    free(s->slots[i].error);
    trace_events_free(s->slots[i].trace, s->slots[i].ntrace);
  }
  for (uint32_t i = 0; i < s->img->ncontexts; i++) {
    value_release(s->ctx_values[i]);
    free(s->ctx_error[i]);
  }
  free(s->ctx_values);
  free(s->ctx_hash);
  for (uint32_t i = 0; s->prompt_ctx && i < s->img->nprompts; i++) free(s->prompt_ctx[i]);
  free(s->prompt_ctx);
  free(s->prompt_nctx);
  free(s->ctx_error);
  free(s->ctx_loaded);
  free(s->slots);
  free(s->runq);
  free(s->events);
  free(s->model_map);
  vm_free(&s->vm);
  if (s->in && s->in != stdin) fclose(s->in);
  if (s->out && s->out != stdout) fclose(s->out);
  else if (s->out) fflush(s->out);
  if (s->errors && s->errors != stdout) fclose(s->errors);
  if (s->trace && s->trace != stdout) fclose(s->trace);
  if (s->report && s->report != stdout) fclose(s->report);
  evalstats_free(s->stats);
  cassette_close(s->replay);
  cassette_close(s->record);
  char err[256];
  otlp_close(s->otlp, err, sizeof err); /* a run that could not start: nothing to send */
}

/* --metrics: calls, retries, latencies, tokens and cost per prompt and for the run. */
static void write_metrics(Sched *s, const char *path) {
  json_t *m = json_pack("{s:{s:I, s:I, s:I}, s:o, s:o}", "items", "ok", (json_int_t)s->ok, "failed",
                        (json_int_t)s->failed, "skipped", (json_int_t)s->skipped, "total",
                        callstats_total_json(s->calls), "prompts", callstats_prompts_json(s->calls));
  if (json_dump_file(m, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
    fprintf(stderr, "%s: error: cannot write metrics `%s`: %s\n", PROG(s->opt), path, strerror(errno));
  json_decref(m);
}

/* The tables of calls and evaluations on stderr, in one write (stderr is
 * unbuffered: a line per write would cost a system call per line). */
static void print_tables(Sched *s) {
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  FILE *out = m ? m : stderr;
  callstats_print(s->calls, out, PROG(s->opt));
  evalstats_print(s->stats, out, PROG(s->opt));
  if (m && fclose(m) == 0) fwrite(text, 1, len, stderr);
  free(text);
}

/* The progress line, when it is shown: at most ten updates a second, and the
 * last one at the end of the run. */
static void show_progress(Sched *s, bool last) {
  if (!s->progress) return;
  double now = wall_ms();
  if (!last && !progress_due(s->progress, now)) return;
  CallCounts t = callstats_total(s->calls);
  ProgressFigures f = {s->ok + s->failed + s->skipped, s->items_total, s->failed, s->inflight_calls,
                       t.in_tok + t.out_tok, t.cost};
  if (last) progress_end(s->progress, &f, now);
  else progress_draw(s->progress, &f, now);
}

/* Show a progress line on a terminal, or with --progress one line per update. */
static void start_progress(Sched *s) {
  bool terminal = isatty(fileno(stderr));
  if (!terminal && !s->opt->progress) return;
  s->items_total = s->opt->input ? progress_count_lines(s->opt->input) : 1;
  s->progress = progress_new(stderr, terminal ? PROGRESS_TERMINAL : PROGRESS_LINES, PROG(s->opt), s->out, wall_ms());
}

/* Run until every admitted item is done (or the run stops): tasks first,
 * then due events; in real time (a network call was made) wait for the
 * network, in virtual time jump to the next event. */
static void sched_loop(Sched *s) {
  admit(s);
  while (!s->stop) {
    show_progress(s, false);
    while (s->rq_len && !s->stop) vm_run(&s->vm, rq_pop(s));
    if (s->stop) break;
    admit(s);
    if (s->rq_len) continue;
    if (s->http) {
      /* real time: due events first, else wait for the network */
      s->now = wall_ms() - s->t0;
      if (s->nevents && s->events[0].at <= s->now) {
        Event e = events_pop(s);
        complete(s, &e);
        continue;
      }
      if (!s->nevents && !http_in_flight(s->http)) break;
      double wait = s->nevents ? s->events[0].at - s->now : 1000;
      if (s->store) { /* while the network works, commit what was stored (at most every 50 ms) */
        char err[512];
        if (!store_flush_older(s->store, 50, err, sizeof err))
          fprintf(stderr, "%s: warning: %s\n", PROG(s->opt), err);
      }
      double most = s->progress ? 100 : 1000; /* the progress line moves on while nothing happens */
      http_wait(s->http, wait < 1 ? 1 : wait > most ? (int)most : (int)wait);
      s->now = wall_ms() - s->t0;
      HttpResponse r;
      while (http_take(s->http, &r)) {
        net_done(s, &r);
        http_response_free(&r);
      }
      continue;
    }
    if (!s->nevents) break;
    Event e = events_pop(s); /* virtual time: jump to the next event */
    if (e.at > s->now) s->now = e.at;
    complete(s, &e);
  }
}

int run_image(const Image *img, const RunOptions *opt) {
  if (img->main_flow < 0) {
    fprintf(stderr, "%s: error: the program has no `flow main`; expected one to run\n", PROG(opt));
    return RUN_USAGE;
  }
  Sched s;
  s.test = NULL;
  if (!setup(&s, img, opt)) {
    teardown(&s);
    return RUN_USAGE;
  }
  start_progress(&s);
  sched_loop(&s);
  show_progress(&s, true);
  int status = s.failed ? RUN_ITEMS_FAILED : RUN_OK;
  if (s.budget_hit) {
    uint64_t not_started = 0;
    if (s.in) {
      char *line = NULL;
      size_t cap = 0;
      while (getline(&line, &cap, s.in) > 0) not_started += line[0] != '\n';
      free(line);
    }
    fprintf(stderr, "%s: the budget ran out (%s): %llu item%s done, %llu failed or not done, %llu not started\n",
            PROG(opt),
            s.budget_why, (unsigned long long)s.ok, s.ok == 1 ? "" : "s", (unsigned long long)s.failed,
            (unsigned long long)not_started);
    status = RUN_BUDGET;
  }
  if (opt->metrics) write_metrics(&s, opt->metrics);
  print_tables(&s);
  const char *how = status == RUN_OK ? "ok" : status == RUN_BUDGET ? "budget" : s.stop && !s.failed ? "stopped"
                                                                                                : "failed";
  if (s.otlp) close_otlp(&s, how, status == RUN_BUDGET ? s.budget_why : NULL);
  if (s.store) {
    char err[512];
    OutcomeSink sink = {s.store, s.run_id, true};
    evalstats_each(s.stats, store_outcome, &sink);
    if (!store_run_end(s.store, s.run_id, how, s.ok, s.failed, err, sizeof err))
      fprintf(stderr, "%s: warning: %s\n", PROG(opt), err);
    if (opt->explain_cache) explain_cache(&s);
  }
  if (s.report && !evalstats_finish_report(s.stats)) {
    fprintf(stderr, "%s: error: cannot write report `%s`: %s\n", PROG(opt), opt->report, strerror(errno));
    status = RUN_USAGE;
  }
  if (!s.stop && s.inflight) {
    fprintf(stderr, "%s: internal error: %u item%s never finished\n",
            PROG(opt), s.inflight, s.inflight == 1 ? "" : "s");
    status = RUN_ITEMS_FAILED;
  }
  teardown(&s);
  return status;
}

bool run_test(const Image *img, uint32_t test, const TestOptions *opt, TestResult *out) {
  memset(out, 0, sizeof *out);
  if (test >= img->ntests) {
    out->error = xstrdup("no such test");
    return false;
  }
  RunOptions ro;
  memset(&ro, 0, sizeof ro);
  ro.concurrency = opt->concurrency ? opt->concurrency : 16;
  ro.root = opt->root;
  ro.keep_going = true;
  TestRun tr;
  memset(&tr, 0, sizeof tr);
  tr.img = img;
  tr.opt = opt;
  tr.test = test;
  tr.out = out;
  tr.prompts = xmalloc((img->nprompts + 1) * sizeof *tr.prompts);
  memset(tr.prompts, 0, (img->nprompts + 1) * sizeof *tr.prompts);
  tr.model_mocked = xmalloc(img->nmodels + 1);
  memset(tr.model_mocked, 0, img->nmodels + 1);
  Sched s;
  memset(&s, 0, sizeof s);
  s.test = &tr;
  if (setup(&s, img, &ro)) {
    Task *task = vm_task_new(&s.vm, img->tests[test].fn, NULL, 0, 0);
    s.inflight = 1;
    rq_push(&s, task);
    sched_loop(&s);
    if (s.inflight && !out->error) out->error = xstrdup("the test never finished (a call was never answered)");
  } else if (!out->error) {
    out->error = xstrdup("the test could not be set up");
  }
  teardown(&s);
  for (uint32_t i = 0; i < img->nprompts; i++) prompt_mock_clear(&tr.prompts[i]);
  prompt_mock_clear(&tr.judge);
  free(tr.prompts);
  free(tr.model_mocked);
  return !out->error && out->nfailures == 0;
}

void test_result_free(TestResult *r) {
  free(r->error);
  for (uint32_t i = 0; i < r->nfailures; i++) {
    free(r->failures[i].lhs);
    free(r->failures[i].rhs);
  }
  free(r->failures);
  memset(r, 0, sizeof *r);
}
