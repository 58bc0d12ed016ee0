/* runs_diff.h - `flowc runs diff A B`: what changed between two recorded runs.
 *
 * The regression view a team reads before shipping a prompt change: which
 * prompts, model bindings and policies changed (by the hash of their source
 * text, with a line diff of the text), which items' outputs changed (field by
 * field), and how each eval's and check's pass rate moved. */
#ifndef FLOW_RUNS_DIFF_H
#define FLOW_RUNS_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "store.h"

/* At most this many changed items are shown (all are counted). */
#define RUNS_DIFF_ITEMS 20

/* Write the differences from run `a` to run `b` to `out`. False (err says
 * why) when the store cannot be read. */
bool runs_diff(Store *st, const StoreRun *a, const StoreRun *b, FILE *out, char *err, size_t errlen);

/* A line diff of two texts with `context` unchanged lines around each
 * change, every line prefixed with `indent` and "- ", "+ " or "  ". Texts too
 * long to compare line by line get a one-line note instead. */
void runs_diff_text(FILE *out, const char *indent, const char *a, const char *b, unsigned context);

#endif
