/* evalstats.c - evaluation outcomes per item and per run (see evalstats.h). */
#include "evalstats.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "json_value.h"

typedef struct ScoreStat {
  char *name;
  uint64_t n;
  double sum, min, max;
} ScoreStat;

typedef struct Tally {
  uint64_t runs, passed;
} Tally;

typedef struct EvalStat {
  Tally all;
  Tally *asserts;           /* per assertion of the eval */
  ScoreStat *scores;        /* by first appearance */
  uint32_t nscores, scores_cap;
} EvalStat;

typedef struct CheckStat {
  uint32_t pos, text;
  Tally all;
} CheckStat;

struct EvalStats {
  const Image *img;
  FILE *report;
  EvalStat *evals;          /* per eval of the image */
  CheckStat *checks;        /* by first appearance */
  uint32_t nchecks, checks_cap;
  uint32_t *check_at;       /* per source position: 1 + index into checks, 0: none yet */
  bool any;
  bool item_open;           /* the report has an item object open */
  uint64_t item;            /* that item */
  bool first_outcome;       /* no outcome written in the open item yet */
  uint64_t items_written;
};

EvalStats *evalstats_new(const Image *img) {
  EvalStats *st = xmalloc(sizeof *st);
  memset(st, 0, sizeof *st);
  st->img = img;
  st->evals = xmalloc((img->nevals ? img->nevals : 1) * sizeof *st->evals);
  memset(st->evals, 0, (img->nevals ? img->nevals : 1) * sizeof *st->evals);
  for (uint32_t e = 0; e < img->nevals; e++) {
    size_t n = img->evals[e].nasserts ? img->evals[e].nasserts : 1;
    st->evals[e].asserts = xmalloc(n * sizeof(Tally));
    memset(st->evals[e].asserts, 0, n * sizeof(Tally));
  }
  st->check_at = xmalloc((img->npositions ? img->npositions : 1) * sizeof *st->check_at);
  memset(st->check_at, 0, (img->npositions ? img->npositions : 1) * sizeof *st->check_at);
  return st;
}

void evalstats_set_report(EvalStats *st, FILE *report) {
  st->report = report;
  fputs("{\"items\":[", report);
}

void evalstats_free(EvalStats *st) {
  if (!st) return;
  for (uint32_t e = 0; e < st->img->nevals; e++) {
    for (uint32_t i = 0; i < st->evals[e].nscores; i++) free(st->evals[e].scores[i].name);
    free(st->evals[e].scores);
    free(st->evals[e].asserts);
  }
  free(st->evals);
  free(st->checks);
  free(st->check_at);
  free(st);
}

bool evalstats_any(const EvalStats *st) { return st->any; }

static void tally(Tally *t, bool passed) {
  t->runs++;
  t->passed += passed;
}

static ScoreStat *score_stat(EvalStat *es, const char *name) {
  for (uint32_t i = 0; i < es->nscores; i++)
    if (!strcmp(es->scores[i].name, name)) return &es->scores[i];
  if (es->nscores == es->scores_cap) {
    es->scores_cap = es->scores_cap ? es->scores_cap * 2 : 4;
    es->scores = xrealloc(es->scores, es->scores_cap * sizeof *es->scores);
  }
  ScoreStat *s = &es->scores[es->nscores++];
  memset(s, 0, sizeof *s);
  s->name = xstrdup(name);
  return s;
}

static void add_eval(EvalStats *st, const Outcome *o) {
  if (o->eval >= st->img->nevals) return;
  EvalStat *es = &st->evals[o->eval];
  tally(&es->all, o->passed);
  uint32_t n = o->nasserts < st->img->evals[o->eval].nasserts ? o->nasserts : st->img->evals[o->eval].nasserts;
  for (uint32_t i = 0; i < n; i++)
    if (o->asserts[i] != OUTCOME_NOT_REACHED) tally(&es->asserts[i], o->asserts[i] == OUTCOME_PASSED);
  for (uint32_t i = 0; i < o->nscores; i++) {
    ScoreStat *s = score_stat(es, o->score_names[i]);
    double v = o->score_values[i];
    if (!s->n || v < s->min) s->min = v;
    if (!s->n || v > s->max) s->max = v;
    s->n++;
    s->sum += v;
  }
}

static void add_check(EvalStats *st, const Outcome *o) {
  uint32_t *slot = o->pos < st->img->npositions ? &st->check_at[o->pos] : NULL;
  CheckStat *c = slot && *slot ? &st->checks[*slot - 1] : NULL;
  if (!c) {
    if (st->nchecks == st->checks_cap) {
      st->checks_cap = st->checks_cap ? st->checks_cap * 2 : 8;
      st->checks = xrealloc(st->checks, st->checks_cap * sizeof *st->checks);
    }
    c = &st->checks[st->nchecks++];
    memset(c, 0, sizeof *c);
    c->pos = o->pos;
    c->text = o->text;
    if (slot) *slot = st->nchecks;
  }
  tally(&c->all, o->passed);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

/* The message of assertion `i` of eval `e` ("" when the image has none). */
static const char *assert_message(const Image *img, uint32_t e, uint32_t i) {
  const ImgEval *ev = &img->evals[e];
  return ev->assert_messages && ev->assert_messages[i] ? ev->assert_messages[i] : "";
}

static void put_pos(const EvalStats *st, TextBuf *b, uint32_t pos) {
  char where[256];
  const char *w = vm_pos_str(st->img, pos, where, sizeof where);
  tb_json_string(b, w, strlen(w));
}

static void put_double(TextBuf *b, double v) {
  char num[32];
  tb_put(b, num, json_format_double(v, num));
}

static void put_u64(TextBuf *b, uint64_t v) {
  char num[24];
  int n = snprintf(num, sizeof num, "%" PRIu64, v);
  tb_put(b, num, (size_t)n);
}

/* The source text of a check's condition (`*len` bytes). */
static const char *check_text(const EvalStats *st, uint32_t text, size_t *len) {
  if (text < st->img->nconsts && st->img->consts[text].tag == V_STR) {
    const Str *s = value_as_str(st->img->consts[text]);
    *len = s->len;
    return s->data;
  }
  *len = 0;
  return "";
}

void evalstats_trace_fields(const EvalStats *st, const Outcome *o, TextBuf *b) {
  const Image *img = st->img;
  if (o->is_check) {
    size_t n;
    const char *t = check_text(st, o->text, &n);
    tb_puts(b, "\"event\":\"check\",\"check\":");
    tb_json_string(b, t, n);
  } else {
    const char *name = o->eval < img->nevals ? img->evals[o->eval].name : "?";
    tb_puts(b, "\"event\":\"eval\",\"eval\":");
    tb_json_string(b, name, strlen(name));
  }
  tb_puts(b, ",\"at\":");
  put_pos(st, b, o->pos);
  tb_puts(b, o->passed ? ",\"passed\":true" : ",\"passed\":false");
  if (o->is_check) return;
  const ImgEval *ev = o->eval < img->nevals ? &img->evals[o->eval] : NULL;
  if (!o->passed && ev) {
    tb_puts(b, ",\"failed\":[");
    bool first = true;
    for (uint32_t i = 0; i < o->nasserts && i < ev->nasserts; i++) {
      if (o->asserts[i] != OUTCOME_FAILED) continue;
      if (!first) tb_putc(b, ',');
      const char *m = assert_message(img, o->eval, i);
      tb_json_string(b, m, strlen(m));
      first = false;
    }
    tb_putc(b, ']');
  }
  if (o->nscores) {
    tb_puts(b, ",\"scores\":{");
    for (uint32_t i = 0; i < o->nscores; i++) {
      if (i) tb_putc(b, ',');
      tb_json_string(b, o->score_names[i], strlen(o->score_names[i]));
      tb_putc(b, ':');
      put_double(b, o->score_values[i]);
    }
    tb_putc(b, '}');
  }
}

/* Stream the outcome into the report's current item. */
static void report_outcome(EvalStats *st, uint64_t item, const Outcome *o) {
  TextBuf b = {0};
  if (st->item_open && st->item != item) {
    tb_puts(&b, "]}");
    st->item_open = false;
  }
  if (!st->item_open) {
    if (st->items_written++) tb_putc(&b, ',');
    tb_puts(&b, "{\"item\":");
    put_u64(&b, item);
    tb_puts(&b, ",\"outcomes\":[");
    st->item_open = true;
    st->item = item;
    st->first_outcome = true;
  }
  if (!st->first_outcome) tb_putc(&b, ',');
  st->first_outcome = false;
  tb_putc(&b, '{');
  evalstats_trace_fields(st, o, &b);
  tb_putc(&b, '}');
  fwrite(b.data, 1, b.len, st->report);
  free(b.data);
}

void evalstats_add(EvalStats *st, uint64_t item, const Outcome *o) {
  st->any = true;
  if (o->is_check)
    add_check(st, o);
  else
    add_eval(st, o);
  if (st->report) report_outcome(st, item, o);
}

/* "runs":N,"passed":M,"pass_rate":R */
static void put_tally(TextBuf *b, const Tally *t) {
  tb_puts(b, "\"runs\":");
  put_u64(b, t->runs);
  tb_puts(b, ",\"passed\":");
  put_u64(b, t->passed);
  tb_puts(b, ",\"pass_rate\":");
  if (t->runs)
    put_double(b, (double)t->passed / (double)t->runs);
  else
    tb_puts(b, "null");
}

bool evalstats_finish_report(EvalStats *st) {
  if (!st->report) return true;
  const Image *img = st->img;
  TextBuf b = {0};
  if (st->item_open) tb_puts(&b, "]}");
  tb_puts(&b, "],\"evals\":[");
  bool first = true;
  for (uint32_t e = 0; e < img->nevals; e++) {
    const EvalStat *es = &st->evals[e];
    if (!es->all.runs) continue;
    if (!first) tb_putc(&b, ',');
    first = false;
    tb_puts(&b, "{\"eval\":");
    tb_json_string(&b, img->evals[e].name, strlen(img->evals[e].name));
    tb_putc(&b, ',');
    put_tally(&b, &es->all);
    tb_puts(&b, ",\"asserts\":[");
    for (uint32_t i = 0; i < img->evals[e].nasserts; i++) {
      if (i) tb_putc(&b, ',');
      tb_puts(&b, "{\"assert\":");
      const char *m = assert_message(img, e, i);
      tb_json_string(&b, m, strlen(m));
      tb_putc(&b, ',');
      put_tally(&b, &es->asserts[i]);
      tb_putc(&b, '}');
    }
    tb_puts(&b, "],\"scores\":[");
    for (uint32_t i = 0; i < es->nscores; i++) {
      const ScoreStat *s = &es->scores[i];
      if (i) tb_putc(&b, ',');
      tb_puts(&b, "{\"score\":");
      tb_json_string(&b, s->name, strlen(s->name));
      tb_puts(&b, ",\"n\":");
      put_u64(&b, s->n);
      tb_puts(&b, ",\"mean\":");
      put_double(&b, s->sum / (double)s->n);
      tb_puts(&b, ",\"min\":");
      put_double(&b, s->min);
      tb_puts(&b, ",\"max\":");
      put_double(&b, s->max);
      tb_putc(&b, '}');
    }
    tb_puts(&b, "]}");
  }
  tb_puts(&b, "],\"checks\":[");
  for (uint32_t i = 0; i < st->nchecks; i++) {
    const CheckStat *c = &st->checks[i];
    size_t n;
    const char *t = check_text(st, c->text, &n);
    if (i) tb_putc(&b, ',');
    tb_puts(&b, "{\"check\":");
    tb_json_string(&b, t, n);
    tb_puts(&b, ",\"at\":");
    put_pos(st, &b, c->pos);
    tb_putc(&b, ',');
    put_tally(&b, &c->all);
    tb_putc(&b, '}');
  }
  tb_puts(&b, "]}\n");
  size_t n = fwrite(b.data, 1, b.len, st->report);
  bool ok = n == b.len && fflush(st->report) == 0 && !ferror(st->report);
  free(b.data);
  return ok;
}

/* ---- the summary ----------------------------------------------------------------------------- */

static void print_row(FILE *out, int indent, const char *label, int width, const Tally *t) {
  fprintf(out, "%*s%-*s %8" PRIu64 " run%s  %6.1f%% passed\n", indent, "", width, label, t->runs,
          t->runs == 1 ? " " : "s", t->runs ? 100.0 * (double)t->passed / (double)t->runs : 0.0);
}

/* Checks in source order (positions are assigned in source order within a
 * file; files in import order). */
static int cmp_check(const void *a, const void *b) {
  uint32_t x = ((const CheckStat *)a)->pos, y = ((const CheckStat *)b)->pos;
  return x < y ? -1 : x > y;
}

/* Worth a summary: an eval ran, or a check failed (checks that always held
 * are not news). */
static bool worth_printing(const EvalStats *st) {
  for (uint32_t e = 0; e < st->img->nevals; e++)
    if (st->evals[e].all.runs) return true;
  for (uint32_t i = 0; i < st->nchecks; i++)
    if (st->checks[i].all.passed < st->checks[i].all.runs) return true;
  return false;
}

void evalstats_print(const EvalStats *st, FILE *out, const char *prog) {
  if (!worth_printing(st)) return;
  const Image *img = st->img;
  enum { WIDTH = 52 };
  char label[256];
  fprintf(out, "%s: evaluation\n", prog);
  for (uint32_t e = 0; e < img->nevals; e++) {
    const EvalStat *es = &st->evals[e];
    if (!es->all.runs) continue;
    snprintf(label, sizeof label, "eval %s", img->evals[e].name);
    print_row(out, 2, label, WIDTH, &es->all);
    for (uint32_t i = 0; i < img->evals[e].nasserts; i++) {
      const char *m = assert_message(img, e, i);
      int room = WIDTH - 2 - (int)strlen("assert \"\""); /* keep the columns: the report has the whole message */
      if ((int)strlen(m) > room)
        snprintf(label, sizeof label, "assert \"%.*s...\"", room - 3, m);
      else
        snprintf(label, sizeof label, "assert \"%s\"", m);
      print_row(out, 4, label, WIDTH - 2, &es->asserts[i]);
    }
    for (uint32_t i = 0; i < es->nscores; i++) {
      const ScoreStat *s = &es->scores[i];
      snprintf(label, sizeof label, "score %s", s->name);
      fprintf(out, "    %-*s %8" PRIu64 " run%s  mean %.3f  min %.3f  max %.3f\n", WIDTH - 2, label, s->n,
              s->n == 1 ? " " : "s", s->sum / (double)s->n, s->min, s->max);
    }
  }
  CheckStat *sorted = xmalloc((st->nchecks ? st->nchecks : 1) * sizeof *sorted);
  if (st->nchecks) memcpy(sorted, st->checks, st->nchecks * sizeof *sorted);
  qsort(sorted, st->nchecks, sizeof *sorted, cmp_check);
  for (uint32_t i = 0; i < st->nchecks; i++) {
    char where[256];
    size_t n;
    const char *t = check_text(st, sorted[i].text, &n);
    const char *pos = vm_pos_str(img, sorted[i].pos, where, sizeof where);
    int room = WIDTH - (int)strlen("check  ()") - (int)strlen(pos); /* the condition fits the column, cut if need be */
    if (room < 12) room = 12;
    if ((int)n <= room)
      snprintf(label, sizeof label, "check %.*s (%s)", (int)n, t, pos);
    else
      snprintf(label, sizeof label, "check %.*s... (%s)", room - 3, t, pos);
    print_row(out, 2, label, WIDTH, &sorted[i].all);
  }
  free(sorted);
}

void evalstats_each(const EvalStats *st, void (*each)(void *ctx, const char *kind, const char *name, uint64_t runs,
                                                      uint64_t passed),
                    void *ctx) {
  for (uint32_t e = 0; e < st->img->nevals; e++)
    if (st->evals[e].all.runs) each(ctx, "eval", st->img->evals[e].name, st->evals[e].all.runs, st->evals[e].all.passed);
  for (uint32_t i = 0; i < st->nchecks; i++) {
    size_t n;
    const char *t = check_text(st, st->checks[i].text, &n);
    char where[256], name[600];
    snprintf(name, sizeof name, "%.*s (%s)", n > 300 ? 300 : (int)n, t,
             vm_pos_str(st->img, st->checks[i].pos, where, sizeof where));
    each(ctx, "check", name, st->checks[i].all.runs, st->checks[i].all.passed);
  }
}
