/* diag.c - building, sorting and freeing diagnostic lists, and the static
 * facts about each diagnostic code (from the X-macro table diag_codes.def).
 *
 * Every string a Diag holds is owned by it; the formatting helpers below
 * allocate exactly what vsnprintf says is needed. Nothing here prints, except
 * the fatal out-of-memory message. */
#include "arena.h"
#include "diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The static facts of every code, in table order (indexed by DiagCode). */
typedef struct DiagCodeInfo {
  const char *str;
  const char *title;
  DiagSeverity severity;
} DiagCodeInfo;

#define DIAG_SEV_ERROR DIAG_ERROR
#define DIAG_SEV_WARNING DIAG_WARNING
#define DIAG_SEV_NOTE DIAG_NOTE
static const DiagCodeInfo diag_code_info[DIAG_CODE_COUNT] = {
#define X(id, s, sev, title) {s, title, DIAG_SEV_##sev},
#include "diag_codes.def"
#undef X
};

/* A newly allocated string formatted from `fmt` and `ap` (like vasprintf,
 * written with two vsnprintf passes so that it is portable C11). */
static char *diag_vformat(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) n = 0; /* an encoding error: keep an empty string */
  char *s = xrealloc(NULL, (size_t)n + 1);
  if (n > 0)
    vsnprintf(s, (size_t)n + 1, fmt, ap);
  else
    s[0] = '\0';
  return s;
}

void diag_list_init(DiagList *dl) { memset(dl, 0, sizeof *dl); }

/* Release every string and array owned by one diagnostic. */
static void diag_free_one(Diag *d) {
  free(d->message);
  free(d->primary.label);
  for (size_t i = 0; i < d->nsecondary; i++) free(d->secondary[i].label);
  free(d->secondary);
  for (size_t i = 0; i < d->nnotes; i++) free(d->notes[i]);
  free(d->notes);
  free(d->help);
}

void diag_list_free(DiagList *dl) {
  for (size_t i = 0; i < dl->n; i++) diag_free_one(&dl->items[i]);
  diag_free_one(&dl->overflow);
  free(dl->items);
  diag_list_init(dl);
}

/* Append an empty diagnostic of `code` (severity from the table, counted in
 * nerrors/nwarnings) that takes ownership of `message`; returns it. */
static Diag *diag_push(DiagList *dl, DiagCode code, char *message) {
  if (dl->limit && dl->n >= dl->limit) {
    /* counted, but not kept: a pathological input cannot flood the output */
    diag_free_one(&dl->overflow);
    Diag *d = &dl->overflow;
    memset(d, 0, sizeof *d);
    d->code = code;
    d->severity = diag_code_severity(code);
    d->message = message;
    if (d->severity == DIAG_ERROR) dl->nerrors++;
    else if (d->severity == DIAG_WARNING) dl->nwarnings++;
    dl->dropped++;
    return d;
  }
  if (dl->n == dl->cap) {
    dl->cap = dl->cap ? dl->cap * 2 : 8;
    dl->items = xrealloc(dl->items, dl->cap * sizeof *dl->items);
  }
  Diag *d = &dl->items[dl->n++];
  memset(d, 0, sizeof *d);
  d->code = code;
  d->severity = diag_code_severity(code);
  d->message = message;
  if (d->severity == DIAG_ERROR)
    dl->nerrors++;
  else if (d->severity == DIAG_WARNING)
    dl->nwarnings++;
  return d;
}

Diag *diag_add(DiagList *dl, DiagCode code, Span span, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = diag_vformat(fmt, ap);
  va_end(ap);
  Diag *d = diag_push(dl, code, msg);
  d->has_span = true;
  d->primary.span = span;
  return d;
}

Diag *diag_add_nospan(DiagList *dl, DiagCode code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = diag_vformat(fmt, ap);
  va_end(ap);
  return diag_push(dl, code, msg);
}

void diag_set_label(Diag *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  free(d->primary.label);
  d->primary.label = diag_vformat(fmt, ap);
  va_end(ap);
}

void diag_add_secondary(Diag *d, Span span, const char *fmt, ...) {
  d->secondary = xrealloc(d->secondary, (d->nsecondary + 1) * sizeof *d->secondary);
  DiagLabel *l = &d->secondary[d->nsecondary++];
  l->span = span;
  va_list ap;
  va_start(ap, fmt);
  l->label = diag_vformat(fmt, ap);
  va_end(ap);
}

void diag_add_note(Diag *d, const char *fmt, ...) {
  d->notes = xrealloc(d->notes, (d->nnotes + 1) * sizeof *d->notes);
  va_list ap;
  va_start(ap, fmt);
  d->notes[d->nnotes++] = diag_vformat(fmt, ap);
  va_end(ap);
}

void diag_set_help(Diag *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  free(d->help);
  d->help = diag_vformat(fmt, ap);
  va_end(ap);
}

/* The sort order: diagnostics without a location first, then by file id,
 * then by start offset. Ties keep insertion order (the sort is stable). */
static int diag_cmp(const Diag *a, const Diag *b) {
  if (a->has_span != b->has_span) return a->has_span ? 1 : -1;
  if (!a->has_span) return 0;
  if (a->primary.span.file != b->primary.span.file)
    return a->primary.span.file < b->primary.span.file ? -1 : 1;
  if (a->primary.span.start != b->primary.span.start)
    return a->primary.span.start < b->primary.span.start ? -1 : 1;
  return 0;
}

/* Stable bottom-up merge sort of `items[0..n)` using `tmp` (n elements). */
static void diag_merge_sort(Diag *items, Diag *tmp, size_t n) {
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) /* take from the left run on ties: stable */
        tmp[k++] = diag_cmp(&items[j], &items[i]) < 0 ? items[j++] : items[i++];
      while (i < mid) tmp[k++] = items[i++];
      while (j < hi) tmp[k++] = items[j++];
    }
    memcpy(items, tmp, n * sizeof *items);
  }
}

void diag_list_sort(DiagList *dl) {
  if (dl->n < 2) return;
  Diag *tmp = xrealloc(NULL, dl->n * sizeof *tmp);
  diag_merge_sort(dl->items, tmp, dl->n);
  free(tmp);
}

const char *diag_code_str(DiagCode code) {
  return (unsigned)code < DIAG_CODE_COUNT ? diag_code_info[code].str : "E????";
}

const char *diag_code_title(DiagCode code) {
  return (unsigned)code < DIAG_CODE_COUNT ? diag_code_info[code].title : "unknown code";
}

DiagSeverity diag_code_severity(DiagCode code) {
  return (unsigned)code < DIAG_CODE_COUNT ? diag_code_info[code].severity : DIAG_ERROR;
}

/* Look a code up by its string, ignoring the case of the leading letter
 * ("e0101" finds E0101). */
bool diag_code_lookup(const char *str, DiagCode *out) {
  if (!str || !str[0]) return false;
  for (size_t i = 0; i < DIAG_CODE_COUNT; i++) {
    const char *s = diag_code_info[i].str;
    char c0 = str[0] >= 'a' && str[0] <= 'z' ? (char)(str[0] - 'a' + 'A') : str[0];
    if (c0 == s[0] && strcmp(str + 1, s + 1) == 0) {
      *out = (DiagCode)i;
      return true;
    }
  }
  return false;
}

const char *diag_severity_str(DiagSeverity s) {
  switch (s) {
  case DIAG_ERROR: return "error";
  case DIAG_WARNING: return "warning";
  case DIAG_NOTE: return "note";
  }
  return "error";
}
