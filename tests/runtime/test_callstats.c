/* test_callstats.c - runtime/callstats.c and runtime/progress.c: counts per
 * prompt and in total; exact nearest-rank percentiles (known latencies, and
 * random ones against a sorted copy, zero latencies and the judge row
 * included); the summary table and the --metrics objects as exact text; the
 * progress line's text, its ten-a-second pacing, its lines and its redraw
 * and erasure on a terminal; and the count of an input file's items. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "callstats.h"
#include "progress.h"
#include "tally.h"

/* An image with prompts `alpha` and `beta`. */
static Image *two_prompts(void) {
  Image *img = image_new();
  img->nprompts = 2;
  img->prompts = calloc(2, sizeof *img->prompts);
  img->prompts[0].name = xstrdup("alpha");
  img->prompts[1].name = xstrdup("beta");
  return img;
}

static uint64_t lcg(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return *s >> 33;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* The text callstats_print writes. */
static char *printed(CallStats *cs) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  callstats_print(cs, f, "flowc");
  fclose(f);
  return text;
}

static void test_counts_and_table(Tally *t) {
  Image *img = two_prompts();
  CallStats *cs = callstats_new(img);
  char *empty = printed(cs);
  CHECK_STR(t, empty, ""); /* no call: no table */
  free(empty);
  double ms;
  CHECK(t, !callstats_percentile(cs, 0, 0.5, &ms));
  /* alpha: 1..100 ms in a shuffled order, one a re-ask, two re-sends, one failed */
  uint32_t order[100];
  for (uint32_t i = 0; i < 100; i++) order[i] = i + 1;
  uint64_t seed = 42;
  for (uint32_t i = 99; i > 0; i--) {
    uint32_t j = (uint32_t)(lcg(&seed) % (i + 1)), tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  for (uint32_t i = 0; i < 100; i++) {
    callstats_call(cs, 0, i == 7, false);
    callstats_usage(cs, 0, 10, 2, 0.001, false);
    callstats_done(cs, 0, (double)order[i], i == 3);
  }
  callstats_resend(cs, 0);
  callstats_resend(cs, 0);
  /* beta: three cached (no time), one of 10 ms */
  for (int i = 0; i < 3; i++) {
    callstats_call(cs, 1, false, true);
    callstats_done(cs, 1, 0, false);
  }
  callstats_call(cs, 1, false, false);
  callstats_usage(cs, 1, 5, 1, 0.5, true);
  callstats_done(cs, 1, 10, false);
  /* a judge call still in flight: counted, no latency yet */
  callstats_call(cs, -1, false, false);

  CHECK(t, callstats_percentile(cs, 0, 0.5, &ms) && ms == 50.0);
  CHECK(t, callstats_percentile(cs, 0, 0.95, &ms) && ms == 95.0);
  CHECK(t, callstats_percentile(cs, 0, 1.0, &ms) && ms == 100.0);
  CHECK(t, callstats_percentile(cs, 0, 0.001, &ms) && ms == 1.0);
  CHECK(t, callstats_percentile(cs, 1, 0.5, &ms) && ms == 0.0);   /* rank 2 of 0,0,0,10 */
  CHECK(t, callstats_percentile(cs, 1, 0.95, &ms) && ms == 10.0); /* rank 4 */
  CHECK(t, !callstats_percentile(cs, -1, 0.5, &ms));
  /* all 104: 0,0,0,1,..,9,10,10,11,..,100: rank 52 is 48, rank 99 is 95 */
  CHECK(t, callstats_percentile(cs, CALLSTATS_ALL, 0.5, &ms) && ms == 48.0);
  CHECK(t, callstats_percentile(cs, CALLSTATS_ALL, 0.95, &ms) && ms == 95.0);

  CallCounts all = callstats_total(cs);
  CHECK(t, all.calls == 105 && all.cached == 3 && all.retries == 3 && all.failed == 1);
  CHECK(t, all.in_tok == 1005 && all.out_tok == 201 && all.estimated);
  CHECK(t, fabs(all.cost - 0.6) < 1e-9);

  char *table = printed(cs);
  CHECK_STR(t, table,
            "flowc: model calls\n"
            "  prompt  calls  cached  retries  failed  p50 ms  p95 ms  tokens in/out  cost USD\n"
            "  alpha     100       0        3       1    50.0    95.0       1000/200    0.1000\n"
            "  beta        4       3        0       0     0.0    10.0           ~5/1    0.5000\n"
            "  judge       1       0        0       0       -       -            0/0    0.0000\n"
            "  total     105       3        3       1    48.0    95.0      ~1005/201    0.6000\n");
  free(table);

  json_t *prompts = callstats_prompts_json(cs), *total = callstats_total_json(cs);
  char *pj = json_dumps(prompts, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
  char *tj = json_dumps(total, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
  CHECK_STR(t, pj,
            "{\"alpha\":{\"calls\":100,\"cache_hits\":0,\"retries\":3,\"failed\":1,\"input_tokens\":1000,"
            "\"output_tokens\":200,\"cost_usd\":0.1,\"estimated\":false,\"p50_ms\":50.0,\"p95_ms\":95.0},"
            "\"beta\":{\"calls\":4,\"cache_hits\":3,\"retries\":0,\"failed\":0,\"input_tokens\":5,\"output_tokens\":1,"
            "\"cost_usd\":0.5,\"estimated\":true,\"p50_ms\":0.0,\"p95_ms\":10.0},"
            "\"(judge)\":{\"calls\":1,\"cache_hits\":0,\"retries\":0,\"failed\":0,\"input_tokens\":0,"
            "\"output_tokens\":0,\"cost_usd\":0.0,\"estimated\":false,\"p50_ms\":null,\"p95_ms\":null}}");
  CHECK_STR(t, tj,
            "{\"calls\":105,\"cache_hits\":3,\"retries\":3,\"failed\":1,\"input_tokens\":1005,\"output_tokens\":201,"
            "\"cost_usd\":0.6,\"estimated\":true,\"p50_ms\":48.0,\"p95_ms\":95.0}");
  free(pj);
  free(tj);
  json_decref(prompts);
  json_decref(total);
  callstats_free(cs);
  image_free(img);
}

/* N random latencies (microsecond resolution, some zero, some above 65.5 ms
 * so both radix digits matter) against a sorted copy, per row and in total:
 * 5,000 take the small-sample sort, 300,000 (about 100,000 a row) the radix sort. */
static void test_random_percentiles(Tally *t, uint32_t N) {
  Image *img = two_prompts();
  CallStats *cs = callstats_new(img);
  uint32_t *all = malloc(N * sizeof *all), *rows[3];
  uint32_t nrow[3] = {0, 0, 0};
  for (int r = 0; r < 3; r++) rows[r] = malloc(N * sizeof *rows[r]);
  uint64_t seed = 7;
  for (uint32_t i = 0; i < N; i++) {
    int r = (int)(lcg(&seed) % 3);
    uint32_t us = lcg(&seed) % 5 == 0 ? 0 : (uint32_t)(lcg(&seed) % 3000000);
    callstats_call(cs, r == 2 ? -1 : r, false, false);
    callstats_done(cs, r == 2 ? -1 : r, us / 1000.0, false);
    all[i] = us;
    rows[r][nrow[r]++] = us;
  }
  qsort(all, N, sizeof *all, cmp_u32);
  const double ps[] = {0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0};
  bool ok = true;
  for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
    double ms;
    uint64_t rank = (uint64_t)ceil(ps[k] * N - 1e-9);
    ok &= callstats_percentile(cs, CALLSTATS_ALL, ps[k], &ms) && ms == all[rank - 1] / 1000.0;
    for (int r = 0; r < 3; r++) {
      qsort(rows[r], nrow[r], sizeof *rows[r], cmp_u32);
      rank = (uint64_t)ceil(ps[k] * nrow[r] - 1e-9);
      ok &= callstats_percentile(cs, r == 2 ? -1 : r, ps[k], &ms) && ms == rows[r][rank - 1] / 1000.0;
    }
  }
  CHECK(t, ok);
  for (int r = 0; r < 3; r++) free(rows[r]);
  free(all);
  callstats_free(cs);
  image_free(img);
}

static void test_progress_text(Tally *t) {
  char buf[256];
  ProgressFigures f = {3, 10, 1, 4, 12345, 0.01234};
  progress_format(buf, sizeof buf, &f, 3000); /* 1 s an item, 7 to go */
  CHECK_STR(t, buf, "items 3/10  failed 1  in flight 4  tokens 12.3k  $0.0123  ETA 7s");
  f.total = 0;
  progress_format(buf, sizeof buf, &f, 3000);
  CHECK_STR(t, buf, "items 3  failed 1  in flight 4  tokens 12.3k  $0.0123");
  ProgressFigures g = {0, 5, 0, 0, 999, 0};
  progress_format(buf, sizeof buf, &g, 3000); /* nothing done: no rate yet */
  CHECK_STR(t, buf, "items 0/5  failed 0  in flight 0  tokens 999  $0.0000");
  ProgressFigures h = {1, 101, 0, 16, 45678901, 2.5};
  progress_format(buf, sizeof buf, &h, 1250);
  CHECK_STR(t, buf, "items 1/101  failed 0  in flight 16  tokens 45.7M  $2.5000  ETA 2m05s");
  h.done = 1;
  h.total = 5842;
  progress_format(buf, sizeof buf, &h, 1250);
  CHECK_STR(t, buf, "items 1/5842  failed 0  in flight 16  tokens 45.7M  $2.5000  ETA 2h01m");
}

static void test_progress_output(Tally *t) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  Progress *p = progress_new(f, PROGRESS_LINES, "flowc", NULL, 1000);
  ProgressFigures a = {0, 2, 0, 1, 0, 0}, b = {2, 2, 0, 0, 20, 0};
  CHECK(t, progress_due(p, 1000)); /* the first update at once */
  progress_draw(p, &a, 1000);
  CHECK(t, !progress_due(p, 1099));
  CHECK(t, progress_due(p, 1100));
  progress_clear(p, f); /* lines are never erased */
  progress_end(p, &b, 1050);
  progress_free(p);
  fclose(f);
  CHECK_STR(t, text, "flowc: items 0/2  failed 0  in flight 1  tokens 0  $0.0000\n"
                     "flowc: items 2/2  failed 0  in flight 0  tokens 20  $0.0000  ETA 0s\n");
  free(text);

  /* on a terminal: redrawn after a carriage return, padded over a longer
   * line, erased before other output and at the end */
  f = open_memstream(&text, &len);
  p = progress_new(f, PROGRESS_TERMINAL, "x", NULL, 0);
  ProgressFigures big = {1, 0, 0, 12, 100, 0}, small = {2, 0, 0, 1, 100, 0};
  progress_draw(p, &big, 0);
  progress_draw(p, &small, 200);
  progress_clear(p, stdout); /* not where the line is */
  progress_clear(p, f);
  progress_clear(p, f);      /* nothing left to erase */
  progress_draw(p, &small, 400);
  progress_end(p, &small, 450);
  progress_free(p);
  fclose(f);
  const char *l1 = "x: items 1  failed 0  in flight 12  tokens 100  $0.0000";
  const char *l2 = "x: items 2  failed 0  in flight 1  tokens 100  $0.0000";
  char want[1024];
  snprintf(want, sizeof want, "\r%s\r%s \r%s\r%*s\r\r%s\r%*s\r", l1, l2, l2, (int)strlen(l2), "", l2,
           (int)strlen(l2), "");
  CHECK_STR(t, text, want);
  free(text);
}

static void test_count_lines(Tally *t) {
  char path[] = "/tmp/test_callstats_XXXXXX";
  int fd = mkstemp(path);
  CHECK(t, fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs("{\"a\":1}\n\n\"two\"\n\n\n3", f); /* blank lines are not items; the last has no newline */
  fclose(f);
  CHECK(t, progress_count_lines(path) == 3);
  f = fopen(path, "w");
  for (int i = 0; i < 30000; i++) fputs("\"an item long enough to cross the buffer\"\n", f);
  fclose(f);
  CHECK(t, progress_count_lines(path) == 30000);
  remove(path);
  CHECK(t, progress_count_lines("-") == 0);
  CHECK(t, progress_count_lines("/tmp") == 0);
  CHECK(t, progress_count_lines("/no/such/file") == 0);
}

int main(void) {
  Tally t = {0, 0};
  test_counts_and_table(&t);
  test_random_percentiles(&t, 5000);
  test_random_percentiles(&t, 300000);
  test_progress_text(&t);
  test_progress_output(&t);
  test_count_lines(&t);
  return tally_report(&t);
}
