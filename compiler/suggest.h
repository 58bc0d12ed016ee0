/* suggest.h - "did you mean": the closest of a set of names to a misspelt one.
 *
 * Feed candidates one by one to a Suggest; it keeps the closest by edit
 * distance, within a bound that grows with the name's length (1 edit for
 * names of up to 3 characters, 2 up to 6, 3 beyond), ties broken by the
 * alphabetically first candidate so output never depends on table order. */
#ifndef FLOW_SUGGEST_H
#define FLOW_SUGGEST_H

#include <stddef.h>

typedef struct Suggest {
  const char *name;   /* the misspelt name (borrowed) */
  const char *best;   /* the closest candidate so far (borrowed), or NULL */
  unsigned dist, cap;
} Suggest;

Suggest suggest_start(const char *name);
void suggest_try(Suggest *s, const char *candidate);
/* The closest of cands[0..n) (stopping at a NULL entry), or NULL. */
const char *suggest_in(const char *name, const char *const *cands, size_t n);

#endif
