/* callstats.h - the model calls of a run, per prompt: how many were made,
 * how many the run store answered, re-asks and re-sends, failures, tokens
 * and cost, and the latency of every call, for the summary at the end of a
 * run, `--metrics` and the progress line.
 *
 * One row per prompt of the image, and one more for every judge call. The
 * scheduler (run.c) reports each event as it happens; nothing here reads a
 * clock: latencies come in from the caller (the virtual clock in mock and
 * replay runs, so the figures of an offline run are the same bytes every
 * time). Latencies are kept as whole microseconds, four bytes a call, and
 * the percentiles are exact (nearest rank). */
#ifndef FLOW_CALLSTATS_H
#define FLOW_CALLSTATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "image.h"

/* The counts of one row (or of the whole run). */
typedef struct CallCounts {
  uint64_t calls;           /* calls made: re-asks and calls the store answered included */
  uint64_t cached;          /* calls the run store answered (no request, no cost) */
  uint64_t retries;         /* re-asks with feedback, and re-sends of a network call (policy retry, fallback) */
  uint64_t failed;          /* calls that ended without a reply of their type */
  int64_t in_tok, out_tok;  /* tokens billed (every attempt, refused replies included) */
  double cost;              /* USD, priced from each binding */
  bool estimated;           /* some token count is an estimate, not the provider's */
} CallCounts;

typedef struct CallStats CallStats;

/* Rows for the prompts of `img` (borrowed: it outlives the stats). */
CallStats *callstats_new(const Image *img);
void callstats_free(CallStats *cs);

/* A call of prompt `prompt` (-1: a judge) was made: `reask` when it carries
 * a failed check's feedback, `cached` when the run store answers it. */
void callstats_call(CallStats *cs, int32_t prompt, bool reask, bool cached);

/* A network call of `prompt` is sent again (after a retryable error, or to
 * its policy's next fallback binding). */
void callstats_resend(CallStats *cs, int32_t prompt);

/* A call of `prompt` ended after `latency_ms` (0 for a cached reply); `failed`
 * when it ended without a reply of its type. */
void callstats_done(CallStats *cs, int32_t prompt, double latency_ms, bool failed);

/* Tokens and cost billed for one attempt of a call of `prompt`. */
void callstats_usage(CallStats *cs, int32_t prompt, int64_t in_tok, int64_t out_tok, double cost, bool estimated);

/* The counts of the whole run. */
CallCounts callstats_total(const CallStats *cs);

/* The p-th percentile (0 < p <= 1, nearest rank) of the latencies of
 * `prompt` (-1: judges; CALLSTATS_ALL: every call) in milliseconds; false
 * when no call has ended. Reorders the kept samples (not their values). */
#define CALLSTATS_ALL INT32_MIN
bool callstats_percentile(CallStats *cs, int32_t prompt, double p, double *ms);

/* Print the table to `out`, headed "PROG: model calls": one row per prompt
 * that made a call (then judges, then the total); nothing when no call was
 * made. */
void callstats_print(CallStats *cs, FILE *out, const char *prog);

/* The --metrics figures: an object per prompt that made a call, keyed by its
 * name ("(judge)" for judges), and the total. New references. */
json_t *callstats_prompts_json(CallStats *cs);
json_t *callstats_total_json(CallStats *cs);

#endif
