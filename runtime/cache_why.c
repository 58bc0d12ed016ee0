/* cache_why.c - why calls were, or were not, served from the cache (see cache_why.h). */
#include "cache_why.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* ---- comparing what two keys were made of ----------------------------------------------------- */

/* A growing "; "-separated list of reasons in a caller's buffer. */
typedef struct Reasons {
  char *buf;
  size_t len, used;
} Reasons;

static void add_reason(Reasons *r, const char *fmt, ...) {
  if (r->used + 3 >= r->len) return;
  if (r->used) {
    memcpy(r->buf + r->used, "; ", 2);
    r->used += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(r->buf + r->used, r->len - r->used, fmt, ap);
  va_end(ap);
  if (n > 0) r->used += (size_t)n < r->len - r->used ? (size_t)n : r->len - r->used - 1;
}

/* A JSON value, compact, into a small buffer (cut when long). */
static const char *show(const json_t *v, char *buf, size_t len) {
  if (!v) return "unset";
  char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
  snprintf(buf, len, "%s", s ? s : "?");
  free(s);
  return buf;
}

/* Members of two objects that differ: "WHAT KEY OLD -> NEW" for each. */
static void diff_members(Reasons *r, const char *what, const json_t *a, const json_t *b) {
  const char *key;
  json_t *v;
  char x[96], y[96];
  json_object_foreach((json_t *)b, key, v) {
    json_t *old = json_object_get(a, key);
    if (!json_equal(old, v)) add_reason(r, "%s%s %s -> %s", what, key, show(old, x, sizeof x), show(v, y, sizeof y));
  }
  json_object_foreach((json_t *)a, key, v) if (!json_object_get(b, key))
    add_reason(r, "%s%s %s -> unset", what, key, show(v, x, sizeof x));
}

/* Contexts: a content hash that changed, a context read now and not then, or the reverse. */
static void diff_contexts(Reasons *r, const json_t *a, const json_t *b) {
  const char *name;
  json_t *v;
  json_object_foreach((json_t *)b, name, v) {
    const char *old = json_string_value(json_object_get(a, name)), *now = json_string_value(v);
    if (!old) add_reason(r, "context `%s` is read now and was not before", name);
    else if (now && strcmp(old, now)) add_reason(r, "context `%s` changed (content %.12s -> %.12s)", name, old, now);
  }
  json_object_foreach((json_t *)a, name, v) if (!json_object_get(b, name))
    add_reason(r, "context `%s` is no longer read", name);
}

/* Messages: how many, and which changed (by role, numbered when a role repeats). */
static void diff_messages(Reasons *r, const json_t *a, const json_t *b) {
  size_t na = json_array_size(a), nb = json_array_size(b);
  if (na != nb) {
    add_reason(r, "%zu messages -> %zu", na, nb);
    return;
  }
  for (size_t i = 0; i < nb; i++) {
    json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
    if (json_equal(x, y)) continue;
    const char *role = json_string_value(json_object_get(y, "role"));
    size_t same_role = 0, nth = 0;
    for (size_t j = 0; j < nb; j++) {
      const char *rj = json_string_value(json_object_get(json_array_get(b, j), "role"));
      bool same = rj && role && !strcmp(rj, role);
      same_role += same;
      nth += same && j <= i;
    }
    if (same_role > 1) add_reason(r, "%s message %zu changed", role ? role : "a", nth);
    else add_reason(r, "the %s message changed", role ? role : "");
  }
}

void cache_why_parts(const char *old, const char *parts, char *buf, size_t len) {
  Reasons r = {buf, len, 0};
  buf[0] = '\0';
  json_t *a = old ? json_loads(old, 0, NULL) : NULL, *b = parts ? json_loads(parts, 0, NULL) : NULL;
  if (!json_is_object(a) || !json_is_object(b)) {
    add_reason(&r, "its request changed (what it was made of was not recorded)");
  } else {
    diff_members(&r, "binding ", json_object_get(a, "binding"), json_object_get(b, "binding"));
    diff_members(&r, "", json_object_get(a, "params"), json_object_get(b, "params"));
    json_t *ca = json_object_get(a, "contexts"), *cb = json_object_get(b, "contexts");
    json_t *empty = json_object();
    diff_contexts(&r, ca ? ca : empty, cb ? cb : empty);
    json_decref(empty);
    diff_messages(&r, json_object_get(a, "messages"), json_object_get(b, "messages"));
    if (!json_equal(json_object_get(a, "schema"), json_object_get(b, "schema")))
      add_reason(&r, "the output type's schema changed");
    if (!json_equal(json_object_get(a, "v"), json_object_get(b, "v")) ||
        !json_equal(json_object_get(a, "prompt"), json_object_get(b, "prompt")))
      add_reason(&r, "the request format changed (another flowc version)");
    if (!r.used) add_reason(&r, "its request changed");
  }
  json_decref(a);
  json_decref(b);
}

/* ---- a run's calls -------------------------------------------------------------------------- */

typedef struct Call {
  uint64_t item;
  uint32_t seq, nth;        /* nth: its occurrence among the item's calls of the same prompt */
  char *prompt, *key, *source, *parts;
  double cached_at;
} Call;

typedef struct Calls {
  Call *at;
  size_t n, cap;
} Calls;

static void add_call(void *ctx, const StoreCall *c) {
  Calls *cs = ctx;
  if (cs->n == cs->cap) {
    cs->cap = cs->cap ? cs->cap * 2 : 64;
    cs->at = xrealloc(cs->at, cs->cap * sizeof *cs->at);
  }
  cs->at[cs->n++] = (Call){c->item, c->seq, 0, xstrdup(c->prompt), xstrdup(c->key), xstrdup(c->source),
                           c->parts ? xstrdup(c->parts) : NULL, c->cached_at};
}

static void calls_free(Calls *cs) {
  for (size_t i = 0; i < cs->n; i++) {
    free(cs->at[i].prompt);
    free(cs->at[i].key);
    free(cs->at[i].source);
    free(cs->at[i].parts);
  }
  free(cs->at);
}

/* By prompt, item, occurrence: how calls are matched across runs. */
static int by_prompt_item(const void *pa, const void *pb) {
  const Call *a = pa, *b = pb;
  int c = strcmp(a->prompt, b->prompt);
  if (c) return c;
  if (a->item != b->item) return a->item < b->item ? -1 : 1;
  return (a->nth > b->nth) - (a->nth < b->nth);
}

/* Load a run's calls, number each prompt's occurrences within its item, and sort them for matching. */
static bool load_calls(Store *st, const char *run, Calls *cs, char *err, size_t errlen) {
  memset(cs, 0, sizeof *cs);
  if (!store_run_calls_each(st, run, add_call, cs, err, errlen)) return false;
  for (size_t i = 0; i < cs->n; i++) /* in item and trace order: count earlier same-prompt calls of the item */
    for (size_t j = i; j-- > 0 && cs->at[j].item == cs->at[i].item;)
      cs->at[i].nth += !strcmp(cs->at[j].prompt, cs->at[i].prompt);
  if (cs->n > 1) qsort(cs->at, cs->n, sizeof *cs->at, by_prompt_item);
  return true;
}

static const Call *find_call(const Calls *cs, const Call *c) {
  return cs->n ? bsearch(c, cs->at, cs->n, sizeof *cs->at, by_prompt_item) : NULL;
}

/* ---- prompts edited between the runs ------------------------------------------------------ */

typedef struct Edited {
  char **names;             /* prompts whose source text differs, or that are new */
  size_t n, cap;
  json_t *old;              /* prompt name -> hash in the earlier run */
} Edited;

static void old_def(void *ctx, const char *kind, const char *name, const char *hash, const char *text) {
  (void)text;
  if (!strcmp(kind, "prompt")) json_object_set_new(((Edited *)ctx)->old, name, json_string(hash));
}

static void new_def(void *ctx, const char *kind, const char *name, const char *hash, const char *text) {
  (void)text;
  Edited *e = ctx;
  const char *was = json_string_value(json_object_get(e->old, name));
  if (strcmp(kind, "prompt") || !was || !strcmp(was, hash)) return;
  if (e->n == e->cap) {
    e->cap = e->cap ? e->cap * 2 : 8;
    e->names = xrealloc(e->names, e->cap * sizeof *e->names);
  }
  e->names[e->n++] = xstrdup(name);
}

static bool edited(const Edited *e, const char *prompt) {
  for (size_t i = 0; i < e->n; i++)
    if (!strcmp(e->names[i], prompt)) return true;
  return false;
}

/* ---- reasons, grouped per prompt ---------------------------------------------------------------- */

typedef struct Group {
  char *reason;
  bool hit;
  uint64_t count;
  uint64_t items[CACHE_WHY_ITEMS];
} Group;

typedef struct Groups {
  Group *at;
  size_t n, cap;
} Groups;

static void group_add(Groups *g, const char *reason, bool hit, uint64_t item) {
  Group *x = NULL;
  for (size_t i = 0; i < g->n && !x; i++)
    if (!strcmp(g->at[i].reason, reason)) x = &g->at[i];
  if (!x) {
    if (g->n == g->cap) {
      g->cap = g->cap ? g->cap * 2 : 8;
      g->at = xrealloc(g->at, g->cap * sizeof *g->at);
    }
    x = &g->at[g->n++];
    memset(x, 0, sizeof *x);
    x->reason = xstrdup(reason);
    x->hit = hit;
  }
  if (x->count < CACHE_WHY_ITEMS) x->items[x->count] = item;
  x->count++;
}

static void groups_print(FILE *out, const char *prompt, Groups *g) {
  uint64_t calls = 0, hits = 0;
  for (size_t i = 0; i < g->n; i++) {
    calls += g->at[i].count;
    hits += g->at[i].hit ? g->at[i].count : 0;
  }
  fprintf(out, "prompt %s: %llu calls, %llu from the cache, %llu not\n", prompt, (unsigned long long)calls,
          (unsigned long long)hits, (unsigned long long)(calls - hits));
  for (size_t i = 0; i < g->n; i++) {
    Group *x = &g->at[i];
    fprintf(out, "  %llu %s: %s (item%s", (unsigned long long)x->count, x->hit ? "hit" : "miss", x->reason,
            x->count > 1 ? "s" : "");
    for (uint64_t k = 0; k < x->count && k < CACHE_WHY_ITEMS; k++)
      fprintf(out, "%s %llu", k ? "," : "", (unsigned long long)x->items[k]);
    fprintf(out, "%s)\n", x->count > CACHE_WHY_ITEMS ? ", ..." : "");
    free(x->reason);
  }
  g->n = 0;
}

/* Why call `c` of this run was or was not served from the cache. */
static bool explain(const Call *c, const Call *prev, const StoreRun *before, const Edited *ed, char *buf,
                    size_t len) {
  const char *s = c->source;
  if (!strcmp(s, "cache")) {
    snprintf(buf, len, "served from the cache");
    return true;
  }
  if (!strcmp(s, "mock") || !strcmp(s, "replay") || !strcmp(s, "test")) {
    snprintf(buf, len, "answered by the %s, which is never cached",
             !strcmp(s, "mock") ? "mock provider" : !strcmp(s, "replay") ? "cassette" : "test's mock");
    return false;
  }
  if (!strcmp(s, "refused")) {
    snprintf(buf, len, "not asked: the budget ran out");
    return false;
  }
  if (!strcmp(s, "unread")) {
    snprintf(buf, len, "its item ended before the reply arrived");
    return false;
  }
  if (!before) {
    snprintf(buf, len, "no earlier run of the program to reuse");
  } else if (!prev) {
    snprintf(buf, len, "new: run %s made no such call", before->id);
  } else if (!strcmp(prev->key, c->key)) {
    snprintf(buf, len, "%s",
             !strcmp(prev->source, "failed") ? "the same request failed before, and failures are never cached"
             : strcmp(prev->source, "network") && strcmp(prev->source, "cache")
                 ? "the same request was answered offline before (mock, cassette or test), which is never cached"
                 : "the same request was asked before, but its reply was not in the cache (cleared with flowc cache "
                   "clear, kept out by --cache ro|off or `cache: false`, or it failed validation)");
  } else {
    cache_why_parts(prev->parts, c->parts, buf, len);
    size_t n = strlen(buf);
    if (edited(ed, c->prompt) && n + 40 < len) snprintf(buf + n, len - n, " (prompt `%s` was edited)", c->prompt);
  }
  if (!strcmp(s, "failed")) {
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, "; it failed, so nothing was stored");
  }
  return false;
}

bool cache_why(Store *st, const StoreRun *run, const StoreRun *before, FILE *out, char *err, size_t errlen) {
  Calls now, then;
  memset(&then, 0, sizeof then);
  Edited ed = {NULL, 0, 0, json_object()};
  bool ok = load_calls(st, run->id, &now, err, errlen) && (!before || load_calls(st, before->id, &then, err, errlen));
  ok = ok && (!before || (store_run_defs_each(st, before->id, old_def, &ed, err, errlen) &&
                          store_run_defs_each(st, run->id, new_def, &ed, err, errlen)));
  if (ok) {
    fprintf(out, "run %s", run->id);
    if (before) fprintf(out, ", compared with the run before it, %s", before->id);
    fputc('\n', out);
    if (!now.n) fputs("no model call was recorded (a run without the store, or without calls)\n", out);
    Groups g = {0};
    char reason[1024];
    for (size_t i = 0; i < now.n; i++) {
      const Call *c = &now.at[i];
      bool hit = explain(c, find_call(&then, c), before, &ed, reason, sizeof reason);
      group_add(&g, reason, hit, c->item);
      if (i + 1 == now.n || strcmp(now.at[i + 1].prompt, c->prompt)) groups_print(out, c->prompt, &g);
    }
    free(g.at);
  }
  for (size_t i = 0; i < ed.n; i++) free(ed.names[i]);
  free(ed.names);
  json_decref(ed.old);
  calls_free(&now);
  calls_free(&then);
  return ok;
}
