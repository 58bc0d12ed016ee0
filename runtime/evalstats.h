/* evalstats.h - the evaluation outcomes of a run: every `ensure` (an eval
 * with its assertions and scores) and every `check`, per item and totalled.
 *
 * The scheduler hands outcomes over in commit order (input order, and
 * iteration order inside loops), so the totals, the summary and the report
 * are the same bytes at any concurrency. The summary goes to people at the
 * end of a run; `--report FILE.json` gets the same totals plus each item's
 * outcomes (docs/running.md describes the format). */
#ifndef FLOW_EVALSTATS_H
#define FLOW_EVALSTATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "image.h"
#include "textbuf.h"
#include "vm.h"

typedef struct EvalStats EvalStats;

/* Totals for `img`. */
EvalStats *evalstats_new(const Image *img);
/* Stream each item's outcomes to `report` (open for writing) as the items
 * commit; evalstats_finish_report completes it. */
void evalstats_set_report(EvalStats *st, FILE *report);
void evalstats_free(EvalStats *st);

/* Add outcome `o` of item `item`; items arrive in order, and every outcome
 * of one item before the next item's. */
void evalstats_add(EvalStats *st, uint64_t item, const Outcome *o);

/* Every eval's and check's totals: kind "eval" with the eval's name, or
 * "check" with "CONDITION (file:line:col)". */
void evalstats_each(const EvalStats *st, void (*each)(void *ctx, const char *kind, const char *name, uint64_t runs,
                                                      uint64_t passed),
                    void *ctx);

/* Was anything recorded? */
bool evalstats_any(const EvalStats *st);

/* The outcome as a trace line body ("\"event\":\"eval\",..." without braces
 * or the item number) appended to `b`. */
void evalstats_trace_fields(const EvalStats *st, const Outcome *o, TextBuf *b);

/* Print the pass-rate summary, headed "PROG: evaluation": per eval, per assertion, per score, per
 * check; nothing when no eval ran and every check held. */
void evalstats_print(const EvalStats *st, FILE *out, const char *prog);

/* Finish the report: the totals after the items. False (with errno set) when
 * writing failed. The FILE stays open (the caller closes it). */
bool evalstats_finish_report(EvalStats *st);

#endif
