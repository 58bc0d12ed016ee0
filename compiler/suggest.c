/* suggest.c - closest-name search by capped Levenshtein distance (see suggest.h). */
#include "suggest.h"

#include <string.h>

/* Levenshtein distance of a and b, or cap+1 as soon as it must exceed cap. */
static unsigned edit_distance(const char *a, const char *b, unsigned cap) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return cap + 1;
  if ((la > lb ? la - lb : lb - la) > cap) return cap + 1;
  unsigned row[65];
  for (size_t j = 0; j <= lb; j++) row[j] = (unsigned)j;
  for (size_t i = 1; i <= la; i++) {
    unsigned prev = row[0], best = row[0] = (unsigned)i;
    for (size_t j = 1; j <= lb; j++) {
      unsigned cur = row[j];
      unsigned sub = prev + (a[i - 1] != b[j - 1]);
      unsigned del = row[j] + 1, ins = row[j - 1] + 1;
      row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
      prev = cur;
      if (row[j] < best) best = row[j];
    }
    if (best > cap) return cap + 1;
  }
  return row[lb];
}

Suggest suggest_start(const char *name) {
  size_t n = strlen(name);
  return (Suggest){name, NULL, (unsigned)-1, n <= 3 ? 1 : (n <= 6 ? 2 : 3)};
}

void suggest_try(Suggest *s, const char *cand) {
  if (!cand || strcmp(cand, s->name) == 0) return;
  unsigned d = edit_distance(s->name, cand, s->cap);
  if (d <= s->cap && (d < s->dist || (d == s->dist && s->best && strcmp(cand, s->best) < 0))) {
    s->dist = d;
    s->best = cand;
  }
}

const char *suggest_in(const char *name, const char *const *cands, size_t n) {
  Suggest s = suggest_start(name);
  for (size_t i = 0; i < n && cands[i]; i++) suggest_try(&s, cands[i]);
  return s.best;
}
