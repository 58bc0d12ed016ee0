/* cache_why.h - why each model call of a recorded run was, or was not,
 * served from the cache (`flowc why`, `flowc run --explain-cache`).
 *
 * Each run records its calls (store_run_call): item, position, prompt,
 * request key, where the reply came from, and what the key was made of
 * (request_parts: binding, parameters, one hash per message, the schema's
 * hash, each context's content hash). A call that was asked is matched with
 * the same call of the earlier run — same item, same prompt, same occurrence
 * within the item — and the parts of the two keys are compared, so a miss
 * is explained by the input that changed: "context `rules` changed", "the
 * system message changed (prompt `classify` was edited)", "temperature 0.2
 * -> 0.7". Reasons are grouped per prompt with their counts. */
#ifndef FLOW_CACHE_WHY_H
#define FLOW_CACHE_WHY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "store.h"

/* Items listed per reason (all are counted). */
#define CACHE_WHY_ITEMS 8

/* Explain run `run`'s calls against `before` (the earlier run of the same
 * program, or NULL) on `out`. False (err says why) when the store cannot be
 * read. */
bool cache_why(Store *st, const StoreRun *run, const StoreRun *before, FILE *out, char *err, size_t errlen);

/* The reasons, "; "-separated, why a request made of `parts` differs from
 * one made of `old` (both request_parts JSON), into buf[0..len). */
void cache_why_parts(const char *old, const char *parts, char *buf, size_t len);

#endif
