/* callstats.c - the model calls of a run, per prompt (see callstats.h).
 *
 * Latencies are whole microseconds. Calls that took no time (cached
 * replies, mock replies without a seeded latency) are only counted, so a
 * long offline run keeps no samples; the others are appended to the row's
 * array, sorted (radix, two passes) the first time a percentile is asked
 * for. The run's percentiles search the value range, counting the samples
 * at or below a value in every row, so no merged copy is made. */
#include "callstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* The latencies of one row: `zeros` calls that took no time, and the
 * others in us[0..n). */
typedef struct Samples {
  uint64_t zeros;
  uint32_t *us;
  size_t n, cap;
  bool sorted;
} Samples;

struct CallStats {
  const Image *img;
  uint32_t nrows;           /* the prompts, then judges */
  CallCounts *rows;
  Samples *lat;
};

CallStats *callstats_new(const Image *img) {
  CallStats *cs = xmalloc(sizeof *cs);
  cs->img = img;
  cs->nrows = img->nprompts + 1;
  cs->rows = calloc(cs->nrows, sizeof *cs->rows);
  cs->lat = calloc(cs->nrows, sizeof *cs->lat);
  if (!cs->rows || !cs->lat) flow_oom();
  return cs;
}

void callstats_free(CallStats *cs) {
  if (!cs) return;
  for (uint32_t i = 0; i < cs->nrows; i++) free(cs->lat[i].us);
  free(cs->lat);
  free(cs->rows);
  free(cs);
}

/* The row of `prompt` (-1: judges). */
static uint32_t row_of(const CallStats *cs, int32_t prompt) {
  return prompt >= 0 && (uint32_t)prompt < cs->nrows - 1 ? (uint32_t)prompt : cs->nrows - 1;
}

void callstats_call(CallStats *cs, int32_t prompt, bool reask, bool cached) {
  CallCounts *r = &cs->rows[row_of(cs, prompt)];
  r->calls++;
  r->retries += reask;
  r->cached += cached;
}

void callstats_resend(CallStats *cs, int32_t prompt) { cs->rows[row_of(cs, prompt)].retries++; }

void callstats_done(CallStats *cs, int32_t prompt, double latency_ms, bool failed) {
  uint32_t row = row_of(cs, prompt);
  cs->rows[row].failed += failed;
  Samples *s = &cs->lat[row];
  double us = latency_ms * 1000.0;
  if (!(us >= 0.5)) { /* no time (or a clock that went back) */
    s->zeros++;
    return;
  }
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 256;
    s->us = xrealloc(s->us, s->cap * sizeof *s->us);
  }
  s->us[s->n++] = us >= 4294967295.0 ? UINT32_MAX : (uint32_t)lround(us);
  s->sorted = false;
}

void callstats_usage(CallStats *cs, int32_t prompt, int64_t in_tok, int64_t out_tok, double cost, bool estimated) {
  CallCounts *r = &cs->rows[row_of(cs, prompt)];
  r->in_tok += in_tok;
  r->out_tok += out_tok;
  r->cost += cost;
  r->estimated |= estimated;
}

static void add_counts(CallCounts *t, const CallCounts *r) {
  t->calls += r->calls;
  t->cached += r->cached;
  t->retries += r->retries;
  t->failed += r->failed;
  t->in_tok += r->in_tok;
  t->out_tok += r->out_tok;
  t->cost += r->cost;
  t->estimated |= r->estimated;
}

CallCounts callstats_total(const CallStats *cs) {
  CallCounts t;
  memset(&t, 0, sizeof t);
  for (uint32_t i = 0; i < cs->nrows; i++) add_counts(&t, &cs->rows[i]);
  return t;
}

/* ---- percentiles ------------------------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* Sort s->us: qsort for a few samples; for many, a radix sort on the least
 * significant 16 bits, then the most (its 512 KB of counters would cost a
 * short run more than the sort). */
static void sort_samples(Samples *s) {
  if (s->sorted) return;
  if (s->n < 65536) {
    if (s->n > 1) qsort(s->us, s->n, sizeof *s->us, cmp_u32);
    s->sorted = true;
    return;
  }
  uint32_t *tmp = xmalloc((s->n ? s->n : 1) * sizeof *tmp);
  size_t *count = xmalloc(65537 * sizeof *count);
  uint32_t *from = s->us, *to = tmp;
  for (int shift = 0; shift < 32; shift += 16) {
    memset(count, 0, 65537 * sizeof *count);
    for (size_t i = 0; i < s->n; i++) count[((from[i] >> shift) & 0xffff) + 1]++;
    for (size_t d = 1; d <= 65536; d++) count[d] += count[d - 1];
    for (size_t i = 0; i < s->n; i++) to[count[(from[i] >> shift) & 0xffff]++] = from[i];
    uint32_t *swap = from;
    from = to;
    to = swap;
  }
  free(count);
  free(tmp); /* after two passes the sorted samples are back in s->us */
  s->sorted = true;
}

/* How many samples of `s` are at most `v`. */
static uint64_t count_at_most(const Samples *s, uint32_t v) {
  size_t lo = 0, hi = s->n; /* the first sample above v */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->us[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return s->zeros + lo;
}

/* The k-th smallest (1-based) sample of rows [first, last): the least value
 * with at least k samples at or below it. */
static uint32_t kth(CallStats *cs, uint32_t first, uint32_t last, uint64_t k) {
  for (uint32_t r = first; r < last; r++) sort_samples(&cs->lat[r]);
  uint32_t lo = 0, hi = UINT32_MAX;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    uint64_t n = 0;
    for (uint32_t r = first; r < last; r++) n += count_at_most(&cs->lat[r], mid);
    if (n >= k) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

bool callstats_percentile(CallStats *cs, int32_t prompt, double p, double *ms) {
  uint32_t first = 0, last = cs->nrows;
  if (prompt != CALLSTATS_ALL) {
    first = row_of(cs, prompt);
    last = first + 1;
  }
  uint64_t n = 0;
  for (uint32_t r = first; r < last; r++) n += cs->lat[r].zeros + cs->lat[r].n;
  if (n == 0) return false;
  uint64_t k = (uint64_t)ceil(p * (double)n - 1e-9); /* nearest rank */
  if (k < 1) k = 1;
  if (k > n) k = n;
  *ms = kth(cs, first, last, k) / 1000.0;
  return true;
}

/* ---- the table and --metrics ---------------------------------------------------------------- */

enum { COL_NAME, COL_CALLS, COL_CACHED, COL_RETRIES, COL_FAILED, COL_P50, COL_P95, COL_TOKENS, COL_COST, NCOLS };

static const char *const HEADS[NCOLS] = {"prompt", "calls", "cached", "retries", "failed",
                                         "p50 ms", "p95 ms", "tokens in/out", "cost USD"};

typedef char Cells[NCOLS][48];

/* The name of row `row`. */
static const char *row_name(const CallStats *cs, uint32_t row, bool json) {
  if (row < cs->nrows - 1) return cs->img->prompts[row].name;
  return json ? "(judge)" : "judge";
}

static void latency_cell(CallStats *cs, int32_t prompt, double p, char *cell) {
  double ms;
  if (callstats_percentile(cs, prompt, p, &ms)) snprintf(cell, 48, "%.1f", ms);
  else snprintf(cell, 48, "-");
}

/* The cells of one row of the table. */
static void fill_cells(CallStats *cs, const char *name, const CallCounts *c, int32_t prompt, char cells[NCOLS][48]) {
  snprintf(cells[COL_NAME], 48, "%.47s", name);
  snprintf(cells[COL_CALLS], 48, "%llu", (unsigned long long)c->calls);
  snprintf(cells[COL_CACHED], 48, "%llu", (unsigned long long)c->cached);
  snprintf(cells[COL_RETRIES], 48, "%llu", (unsigned long long)c->retries);
  snprintf(cells[COL_FAILED], 48, "%llu", (unsigned long long)c->failed);
  latency_cell(cs, prompt, 0.5, cells[COL_P50]);
  latency_cell(cs, prompt, 0.95, cells[COL_P95]);
  snprintf(cells[COL_TOKENS], 48, "%s%lld/%lld", c->estimated ? "~" : "", (long long)c->in_tok, (long long)c->out_tok);
  snprintf(cells[COL_COST], 48, "%.4f", c->cost);
}

static void print_cells(FILE *out, char cells[NCOLS][48], const int *width) {
  fprintf(out, "  %-*s", width[COL_NAME], cells[COL_NAME]);
  for (int c = 1; c < NCOLS; c++) fprintf(out, "  %*s", width[c], cells[c]);
  fputc('\n', out);
}

void callstats_print(CallStats *cs, FILE *out, const char *prog) {
  CallCounts total = callstats_total(cs);
  if (!total.calls) return;
  Cells *rows = xmalloc((cs->nrows + 2) * sizeof *rows);
  uint32_t n = 0;
  for (int c = 0; c < NCOLS; c++) snprintf(rows[n][c], 48, "%s", HEADS[c]);
  n++;
  for (uint32_t r = 0; r < cs->nrows; r++)
    if (cs->rows[r].calls)
      fill_cells(cs, row_name(cs, r, false), &cs->rows[r], r < cs->nrows - 1 ? (int32_t)r : -1, rows[n++]);
  fill_cells(cs, "total", &total, CALLSTATS_ALL, rows[n++]);
  int width[NCOLS] = {0};
  for (uint32_t i = 0; i < n; i++)
    for (int c = 0; c < NCOLS; c++)
      if ((int)strlen(rows[i][c]) > width[c]) width[c] = (int)strlen(rows[i][c]);
  fprintf(out, "%s: model calls\n", prog);
  for (uint32_t i = 0; i < n; i++) print_cells(out, rows[i], width);
  free(rows);
}

/* One row's --metrics object. */
static json_t *row_json(CallStats *cs, const CallCounts *c, int32_t prompt) {
  json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:b}", "calls", (json_int_t)c->calls, "cache_hits",
                        (json_int_t)c->cached, "retries", (json_int_t)c->retries, "failed", (json_int_t)c->failed,
                        "input_tokens", (json_int_t)c->in_tok, "output_tokens", (json_int_t)c->out_tok, "cost_usd",
                        c->cost, "estimated", c->estimated);
  double ms;
  json_object_set_new(o, "p50_ms", callstats_percentile(cs, prompt, 0.5, &ms) ? json_real(ms) : json_null());
  json_object_set_new(o, "p95_ms", callstats_percentile(cs, prompt, 0.95, &ms) ? json_real(ms) : json_null());
  return o;
}

json_t *callstats_prompts_json(CallStats *cs) {
  json_t *prompts = json_object();
  for (uint32_t r = 0; r < cs->nrows; r++)
    if (cs->rows[r].calls)
      json_object_set_new(prompts, row_name(cs, r, true),
                          row_json(cs, &cs->rows[r], r < cs->nrows - 1 ? (int32_t)r : -1));
  return prompts;
}

json_t *callstats_total_json(CallStats *cs) {
  CallCounts total = callstats_total(cs);
  return row_json(cs, &total, CALLSTATS_ALL);
}
