/* runs_diff.c - `flowc runs diff A B` (see runs_diff.h). */
#include "runs_diff.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"

/* Texts longer than this many lines (either side) are not diffed line by line. */
#define DIFF_MAX_LINES 2000
/* Field changes shown per item. */
#define FIELDS_PER_ITEM 8
/* Values longer than this are cut in item diffs. */
#define VALUE_CHARS 100

/* ---- what each run recorded, loaded into arrays ----------------------------------------------- */

typedef struct Def {
  char *kind, *name, *hash, *text;
} Def;

typedef struct Item {
  uint64_t item;
  char *output, *error;
} Item;

typedef struct Rate {
  char *kind, *name;
  char *key;                /* the name without a check's position, and its ordinal: "COND#0" */
  uint64_t runs, passed;
} Rate;

typedef struct Usage {
  char *prompt;
  uint64_t calls, cached;
  int64_t in_tok, out_tok;
  double cost;
} Usage;

typedef struct Recorded {
  Def *defs;
  size_t ndefs, defs_cap;
  Item *items;
  size_t nitems, items_cap;
  Rate *rates;
  size_t nrates, rates_cap;
  Usage *usage;
  size_t nusage, usage_cap;
} Recorded;

/* Room for one more element in a growing array. */
static void *grow(void *p, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return p;
  *cap = *cap ? *cap * 2 : 16;
  return xrealloc(p, *cap * size);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

static void add_def(void *ctx, const char *kind, const char *name, const char *hash, const char *text) {
  Recorded *r = ctx;
  r->defs = grow(r->defs, &r->defs_cap, r->ndefs, sizeof *r->defs);
  r->defs[r->ndefs++] = (Def){xstrdup(kind), xstrdup(name), xstrdup(hash), xstrdup(text)};
}

static void add_item(void *ctx, uint64_t item, const char *output, const char *error) {
  Recorded *r = ctx;
  r->items = grow(r->items, &r->items_cap, r->nitems, sizeof *r->items);
  r->items[r->nitems++] = (Item){item, dup_or_null(output), dup_or_null(error)};
}

static void add_rate(void *ctx, const char *kind, const char *name, uint64_t runs, uint64_t passed) {
  Recorded *r = ctx;
  r->rates = grow(r->rates, &r->rates_cap, r->nrates, sizeof *r->rates);
  r->rates[r->nrates++] = (Rate){xstrdup(kind), xstrdup(name), NULL, runs, passed};
}

/* Order of two (kind, name) pairs, as the store returns them. */
static void add_usage(void *ctx, const StoreUsage *u) {
  Recorded *r = ctx;
  r->usage = grow(r->usage, &r->usage_cap, r->nusage, sizeof *r->usage);
  r->usage[r->nusage++] = (Usage){xstrdup(u->prompt), u->calls, u->cached, u->input_tokens, u->output_tokens,
                                  u->cost_usd};
}

static int by_kind_name(const char *ka, const char *na, const char *kb, const char *nb) {
  int c = strcmp(ka, kb);
  return c ? c : strcmp(na, nb);
}

static int by_rate_key(const void *a, const void *b) {
  const Rate *x = a, *y = b;
  return by_kind_name(x->kind, x->key, y->kind, y->key);
}

/* Match checks by their condition, not where they are: an edit above a
 * check moves it without changing it. The k-th check with the same
 * condition gets key "COND#k". */
static void key_rates(Recorded *r) {
  for (size_t i = 0; i < r->nrates; i++) {
    Rate *x = &r->rates[i];
    const char *at = strcmp(x->kind, "check") ? NULL : strstr(x->name, " (");
    size_t n = at ? (size_t)(at - x->name) : strlen(x->name), k = 0;
    for (size_t j = 0; j < i; j++)
      k += !strcmp(r->rates[j].kind, x->kind) && !strncmp(r->rates[j].key, x->name, n) && r->rates[j].key[n] == '#';
    x->key = xmalloc(n + 24);
    snprintf(x->key, n + 24, "%.*s#%zu", (int)n, x->name, k);
  }
  if (r->nrates > 1) qsort(r->rates, r->nrates, sizeof *r->rates, by_rate_key);
}

static void recorded_free(Recorded *r) {
  for (size_t i = 0; i < r->ndefs; i++) {
    free(r->defs[i].kind);
    free(r->defs[i].name);
    free(r->defs[i].hash);
    free(r->defs[i].text);
  }
  for (size_t i = 0; i < r->nitems; i++) {
    free(r->items[i].output);
    free(r->items[i].error);
  }
  for (size_t i = 0; i < r->nrates; i++) {
    free(r->rates[i].kind);
    free(r->rates[i].name);
    free(r->rates[i].key);
  }
  for (size_t i = 0; i < r->nusage; i++) free(r->usage[i].prompt);
  free(r->defs);
  free(r->items);
  free(r->rates);
  free(r->usage);
}

static bool load(Store *st, const char *run, Recorded *r, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  return store_run_defs_each(st, run, add_def, r, err, errlen) &&
         store_items_each(st, run, add_item, r, err, errlen) &&
         store_run_outcomes_each(st, run, add_rate, r, err, errlen) &&
         store_run_usage_each(st, run, add_usage, r, err, errlen) && (key_rates(r), true);
}

/* ---- a line diff ------------------------------------------------------------------------------ */

typedef struct Lines {
  const char **at;          /* start of each line */
  size_t *len;
  size_t n;
} Lines;

static Lines split_lines(const char *text) {
  Lines l = {0};
  size_t cap = 0;
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    if (l.n == cap) {
      cap = cap ? cap * 2 : 32;
      l.at = xrealloc(l.at, cap * sizeof *l.at);
      l.len = xrealloc(l.len, cap * sizeof *l.len);
    }
    l.at[l.n] = p;
    l.len[l.n++] = n;
    p += n + (nl != NULL);
  }
  return l;
}

static bool same_line(const Lines *a, size_t i, const Lines *b, size_t j) {
  return a->len[i] == b->len[j] && memcmp(a->at[i], b->at[j], a->len[i]) == 0;
}

/* One step of an edit script: op ' ' (both), '-' (a only) or '+' (b only). */
typedef struct Edit {
  char op;
  const char *at;
  size_t len;
} Edit;

/* The shortest edit script from la to lb (n edits in *out), from the table
 * of longest common subsequences of their suffixes. */
static Edit *edit_script(const Lines *la, const Lines *lb, size_t *n) {
  size_t w = lb->n + 1;
  uint32_t *lcs = xmalloc((la->n + 1) * w * sizeof *lcs);
  for (size_t i = la->n + 1; i-- > 0;)
    for (size_t j = lb->n + 1; j-- > 0;) {
      uint32_t down = i < la->n ? lcs[(i + 1) * w + j] : 0, right = j < lb->n ? lcs[i * w + j + 1] : 0;
      lcs[i * w + j] = i == la->n || j == lb->n ? 0
                       : same_line(la, i, lb, j) ? lcs[(i + 1) * w + j + 1] + 1
                       : down > right            ? down
                                                 : right;
    }
  Edit *e = xmalloc((la->n + lb->n + 1) * sizeof *e);
  size_t i = 0, j = 0, k = 0;
  while (i < la->n || j < lb->n) {
    if (i < la->n && j < lb->n && same_line(la, i, lb, j)) {
      e[k++] = (Edit){' ', la->at[i], la->len[i]};
      i++, j++;
    } else if (j == lb->n || (i < la->n && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
      e[k++] = (Edit){'-', la->at[i], la->len[i]};
      i++;
    } else {
      e[k++] = (Edit){'+', lb->at[j], lb->len[j]};
      j++;
    }
  }
  free(lcs);
  *n = k;
  return e;
}

void runs_diff_text(FILE *out, const char *indent, const char *a, const char *b, unsigned context) {
  Lines la = split_lines(a), lb = split_lines(b);
  if (la.n > DIFF_MAX_LINES || lb.n > DIFF_MAX_LINES) {
    fprintf(out, "%s(%zu lines -> %zu lines: too long to compare line by line)\n", indent, la.n, lb.n);
  } else {
    size_t n;
    Edit *e = edit_script(&la, &lb, &n);
    /* an unchanged line is shown when a change is within `context` edits of it */
    size_t last_change = SIZE_MAX; /* index of the latest change seen */
    bool gap = false;
    for (size_t k = 0; k < n; k++) {
      if (e[k].op != ' ') last_change = k;
      bool show = e[k].op != ' ' || (last_change != SIZE_MAX && k - last_change <= context);
      for (size_t d = 1; !show && d <= context && k + d < n; d++) show = e[k + d].op != ' ';
      if (!show) {
        gap = true;
        continue;
      }
      if (gap) fprintf(out, "%s  ...\n", indent);
      gap = false;
      fprintf(out, "%s%c %.*s\n", indent, e[k].op, (int)e[k].len, e[k].at);
    }
    if (gap) fprintf(out, "%s  ...\n", indent);
    free(e);
  }
  free(la.at);
  free(la.len);
  free(lb.at);
  free(lb.len);
}

/* ---- the sections ------------------------------------------------------------------------------ */

static void run_line(FILE *out, const char *label, const StoreRun *r) {
  char when[32];
  time_t t = (time_t)r->started;
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime(&t));
  fprintf(out, "%s %s  %s UTC  %s, %llu ok, %llu failed  program %.12s\n", label, r->id, when, r->status,
          (unsigned long long)r->ok, (unsigned long long)r->failed, r->program_hash);
}

/* Prompts, bindings and policies: changed, added, removed. */
static void diff_defs(FILE *out, const StoreRun *ra, const Recorded *a, const StoreRun *rb, const Recorded *b) {
  fputs("\nprompts and bindings\n", out);
  if (!a->ndefs || !b->ndefs) {
    fprintf(out, "  not recorded for run %s (it ran bytecode or an executable)\n", !a->ndefs ? ra->id : rb->id);
    return;
  }
  size_t i = 0, j = 0, same = 0;
  while (i < a->ndefs || j < b->ndefs) {
    const Def *x = i < a->ndefs ? &a->defs[i] : NULL, *y = j < b->ndefs ? &b->defs[j] : NULL;
    int c = !x ? 1 : !y ? -1 : by_kind_name(x->kind, x->name, y->kind, y->name);
    if (c < 0) {
      fprintf(out, "  removed  %s %s  %.12s\n", x->kind, x->name, x->hash);
      i++;
    } else if (c > 0) {
      fprintf(out, "  added    %s %s  %.12s\n", y->kind, y->name, y->hash);
      runs_diff_text(out, "      ", "", y->text, 2);
      j++;
    } else {
      if (strcmp(x->hash, y->hash)) {
        fprintf(out, "  changed  %s %s  %.12s -> %.12s\n", x->kind, x->name, x->hash, y->hash);
        runs_diff_text(out, "      ", x->text, y->text, 2);
      } else {
        same++;
      }
      i++, j++;
    }
  }
  fprintf(out, "  %zu unchanged\n", same);
}

/* A JSON value, compact and cut to VALUE_CHARS. */
static void put_value(FILE *out, const json_t *v) {
  char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
  size_t n = strlen(s);
  fprintf(out, "%.*s%s", (int)(n > VALUE_CHARS ? VALUE_CHARS : n), s, n > VALUE_CHARS ? "..." : "");
  free(s);
}

/* The fields where two outputs differ, as `path: old -> new`; *budget lines at most. */
static void diff_json(FILE *out, char *path, size_t plen, size_t pcap, const json_t *x, const json_t *y,
                      unsigned *budget) {
  if (json_equal((json_t *)x, (json_t *)y)) return;
  if (json_is_object(x) && json_is_object(y)) {
    /* every key of either side, in sorted order */
    size_t n = json_object_size(x) + json_object_size(y), k = 0;
    const char **keys = xmalloc((n ? n : 1) * sizeof *keys);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)x, key, v) keys[k++] = key;
    json_object_foreach((json_t *)y, key, v) if (!json_object_get(x, key)) keys[k++] = key;
    qsort(keys, k, sizeof *keys, cmp_str);
    for (size_t i = 0; i < k && *budget; i++) {
      int m = snprintf(path + plen, pcap - plen, "%s%s", plen ? "." : "", keys[i]);
      size_t len = m < 0 ? plen : plen + (size_t)m < pcap ? plen + (size_t)m : pcap - 1;
      diff_json(out, path, len, pcap, json_object_get(x, keys[i]), json_object_get(y, keys[i]), budget);
      path[plen] = '\0';
    }
    free(keys);
    return;
  }
  if (json_is_array(x) && json_is_array(y) && json_array_size(x) == json_array_size(y)) {
    for (size_t i = 0; i < json_array_size(x) && *budget; i++) {
      int m = snprintf(path + plen, pcap - plen, "[%zu]", i);
      size_t len = m < 0 ? plen : plen + (size_t)m < pcap ? plen + (size_t)m : pcap - 1;
      diff_json(out, path, len, pcap, json_array_get(x, i), json_array_get(y, i), budget);
      path[plen] = '\0';
    }
    return;
  }
  if (!--*budget) {
    fputs("      ...\n", out);
    return;
  }
  fprintf(out, "      %s: ", plen ? path : "(output)");
  if (x) put_value(out, x);
  else fputs("(none)", out);
  fputs(" -> ", out);
  if (y) put_value(out, y);
  else fputs("(none)", out);
  fputc('\n', out);
}

/* One item that differs: its outputs field by field, or how it failed. */
static void diff_item(FILE *out, const Item *x, const Item *y) {
  if (!x || !y) {
    const Item *only = x ? x : y;
    fprintf(out, "  item %llu: only in run %s\n", (unsigned long long)only->item, x ? "A" : "B");
    return;
  }
  fprintf(out, "  item %llu\n", (unsigned long long)x->item);
  if (!x->output || !y->output) {
    if (x->output || x->error) fprintf(out, "      was: %s%s\n", x->output ? "" : "failed: ", x->output ? x->output : x->error);
    fprintf(out, "      now: %s%s\n", y->output ? "" : "failed: ", y->output ? y->output : y->error ? y->error : "");
    return;
  }
  json_t *jx = json_loads(x->output, JSON_DECODE_ANY, NULL), *jy = json_loads(y->output, JSON_DECODE_ANY, NULL);
  if (jx && jy) {
    char path[512] = "";
    unsigned budget = FIELDS_PER_ITEM + 1;
    diff_json(out, path, 0, sizeof path, jx, jy, &budget);
  } else {
    fprintf(out, "      was: %s\n      now: %s\n", x->output, y->output);
  }
  json_decref(jx);
  json_decref(jy);
}

static bool same_item(const Item *x, const Item *y) {
  const char *a = x->output ? x->output : x->error, *b = y->output ? y->output : y->error;
  return (x->output != NULL) == (y->output != NULL) && !strcmp(a ? a : "", b ? b : "");
}

/* Items whose output or error differs (the first RUNS_DIFF_ITEMS shown). */
static void diff_items(FILE *out, const Recorded *a, const Recorded *b) {
  size_t i = 0, j = 0, same = 0, changed = 0;
  fprintf(out, "\nitems (%zu in A, %zu in B)\n", a->nitems, b->nitems);
  while (i < a->nitems || j < b->nitems) {
    const Item *x = i < a->nitems ? &a->items[i] : NULL, *y = j < b->nitems ? &b->items[j] : NULL;
    if (x && y && x->item != y->item) { /* one side lacks an item (a run stopped early) */
      if (x->item < y->item) y = NULL;
      else x = NULL;
    }
    i += x != NULL;
    j += y != NULL;
    if (x && y && same_item(x, y)) {
      same++;
      continue;
    }
    if (++changed <= RUNS_DIFF_ITEMS) diff_item(out, x, y);
  }
  if (changed > RUNS_DIFF_ITEMS) fprintf(out, "  ... and %zu more\n", changed - RUNS_DIFF_ITEMS);
  fprintf(out, "  %zu changed, %zu unchanged\n", changed, same);
}

static void put_rate(FILE *out, const Rate *r) {
  if (r) fprintf(out, "%5.1f%% of %-5llu", 100.0 * (double)r->passed / (double)(r->runs ? r->runs : 1),
                 (unsigned long long)r->runs);
  else fprintf(out, "%-15s", "-");
}

/* Each eval's and check's pass rate in A and B, and the change in points. */
static void diff_rates(FILE *out, const Recorded *a, const Recorded *b) {
  fputs("\nevals and checks (pass rate: A -> B)\n", out);
  if (!a->nrates && !b->nrates) {
    fputs("  none recorded\n", out);
    return;
  }
  size_t i = 0, j = 0;
  while (i < a->nrates || j < b->nrates) {
    const Rate *x = i < a->nrates ? &a->rates[i] : NULL, *y = j < b->nrates ? &b->rates[j] : NULL;
    int c = !x ? 1 : !y ? -1 : by_kind_name(x->kind, x->key, y->kind, y->key);
    if (c < 0) y = NULL;
    if (c > 0) x = NULL;
    i += x != NULL;
    j += y != NULL;
    const Rate *r = y ? y : x;
    fprintf(out, "  %-5s %-48.48s ", r->kind, r->name);
    put_rate(out, x);
    fputs(" -> ", out);
    put_rate(out, y);
    if (x && y && x->runs && y->runs) {
      double d = 100.0 * ((double)y->passed / (double)y->runs - (double)x->passed / (double)x->runs);
      if (d > 0.05 || d < -0.05) fprintf(out, "  %+.1f points", d);
      else fputs("  same", out);
    }
    fputc('\n', out);
  }
}

static void put_usage(FILE *out, const Usage *u) {
  if (!u) {
    fprintf(out, "%-55s", "-");
    return;
  }
  char tok[48];
  snprintf(tok, sizeof tok, "%lld/%lld", (long long)u->in_tok, (long long)u->out_tok);
  fprintf(out, "%5llu calls %5llu cached %13s tok %8.4f USD", (unsigned long long)u->calls,
          (unsigned long long)u->cached, tok, u->cost);
}

static void add_to(Usage *t, const Usage *u) {
  if (!u) return;
  t->calls += u->calls;
  t->cached += u->cached;
  t->in_tok += u->in_tok;
  t->out_tok += u->out_tok;
  t->cost += u->cost;
}

/* Model calls, cache hits, tokens and cost per prompt in A and B. */
static void diff_usage(FILE *out, const Recorded *a, const Recorded *b) {
  fputs("\nmodel calls (A -> B)\n", out);
  if (!a->nusage && !b->nusage) {
    fputs("  none recorded\n", out);
    return;
  }
  Usage ta = {(char *)"total", 0, 0, 0, 0, 0}, tb = ta;
  size_t i = 0, j = 0;
  while (i < a->nusage || j < b->nusage) {
    const Usage *x = i < a->nusage ? &a->usage[i] : NULL, *y = j < b->nusage ? &b->usage[j] : NULL;
    int c = !x ? 1 : !y ? -1 : strcmp(x->prompt, y->prompt);
    if (c < 0) y = NULL;
    if (c > 0) x = NULL;
    i += x != NULL;
    j += y != NULL;
    fprintf(out, "  %-20.20s ", (x ? x : y)->prompt);
    put_usage(out, x);
    fputs("  ->  ", out);
    put_usage(out, y);
    fputc('\n', out);
    add_to(&ta, x);
    add_to(&tb, y);
  }
  fprintf(out, "  %-20s ", "total");
  put_usage(out, &ta);
  fputs("  ->  ", out);
  put_usage(out, &tb);
  fputc('\n', out);
}

bool runs_diff(Store *st, const StoreRun *ra, const StoreRun *rb, FILE *out, char *err, size_t errlen) {
  Recorded a, b;
  memset(&b, 0, sizeof b);
  bool ok = load(st, ra->id, &a, err, errlen) && load(st, rb->id, &b, err, errlen);
  if (ok) {
    run_line(out, "A", ra);
    run_line(out, "B", rb);
    if (strcmp(ra->program, rb->program) && *ra->program && *rb->program)
      fprintf(out, "note: the runs are of different programs (%s, %s)\n", ra->program, rb->program);
    diff_defs(out, ra, &a, rb, &b);
    diff_items(out, &a, &b);
    diff_rates(out, &a, &b);
    diff_usage(out, &a, &b);
  }
  recorded_free(&a);
  recorded_free(&b);
  return ok;
}
