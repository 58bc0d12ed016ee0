/* run.h - running a program over a stream of input items (`flowc run`).
 *
 * The scheduler admits input items up to the concurrency window, runs their
 * tasks on the VM, issues their effects to a provider (mock, replay, and the
 * network providers later), and commits results strictly in input order: the
 * output, the error report, the logical trace and a recorded cassette are
 * byte-identical whatever order replies arrive in (docs/determinism.md). */
#ifndef FLOW_RUN_H
#define FLOW_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "image.h"

/* Exit statuses of a run (docs/running.md). */
enum {
  RUN_OK = 0,          /* every item succeeded */
  RUN_ITEMS_FAILED = 1,/* some item failed (with --keep-going: all others were written) */
  RUN_USAGE = 2,       /* bad flags, unreadable files, a malformed cassette */
  RUN_BUDGET = 3,      /* a budget (--max-cost, --max-tokens, --max-calls) ran out; the rest was not done */
};

/* --cache: whether the run store answers and keeps model calls. */
typedef enum RunCache { RUN_CACHE_RW, RUN_CACHE_RO, RUN_CACHE_OFF } RunCache;

typedef struct RunModelSwap {
  const char *from, *to;  /* --model FROM=TO: calls bound to FROM use binding TO */
} RunModelSwap;

typedef struct RunOptions {
  const char *input;      /* JSON Lines path, "-" for stdin, NULL for none */
  const char *output;     /* path or "-" (default) */
  const char *errors;     /* --errors path: one JSON line per failed item, or NULL */
  const char *trace;      /* --trace path: the logical trace, or NULL */
  const char *replay;     /* --replay cassette, or NULL */
  const char *record;     /* --record cassette, or NULL */
  bool mock;              /* --mock: every binding answers with the mock provider */
  uint64_t seed;          /* --seed: mock latency draws */
  double mock_latency_ms; /* maximum seeded mock latency (0: none) */
  uint32_t concurrency;   /* --concurrency: model calls and items in flight */
  bool keep_going;        /* --keep-going: failed items do not stop the run */
  RunModelSwap *swaps;
  uint32_t nswaps;
  const char *root;       /* the program's folder: context paths and messages are relative to it */
  const char *prog;       /* what messages start with ("flowc", or a built executable's name); NULL: flowc */
  const void *const *native; /* a built executable's compiled functions (NativeFn, vm.h), one per image function */
  const struct ContextFile *files; /* a built executable's context files (context.h), sorted; NULL: read the disk */
  const char *store;      /* the run store's path (store.h), or NULL for none */
  RunCache cache;         /* --cache rw (default), ro or off */
  const char *otlp;       /* --otlp URL: an OTLP/HTTP collector for the run's spans, or NULL */
  bool explain_cache;     /* --explain-cache: why each call was or was not a cache hit, at the end (stderr) */
  const char *argv_json;  /* the command line as a JSON array, recorded with the run (for --resume) */
  const char *cwd;        /* the folder it ran in */
  const char *program;    /* the program's file (absolute), recorded with the run, or NULL */
  const struct StoreDef *defs; /* the program's prompts and bindings with their source text (store.h), or NULL */
  size_t ndefs;
  size_t nfiles;
  const char *metrics;    /* --metrics: usage and cost per prompt, as JSON */
  const char *report;     /* --report: eval and check outcomes per item and their pass rates, as JSON */
  const char *const *allow_hosts; /* --allow-host: hosts every http source may reach, besides its own allow: list */
  uint32_t nallow_hosts;
  double max_cost;        /* --max-cost USD (0: no limit) */
  int64_t max_tokens;     /* --max-tokens (0: no limit) */
  int64_t max_calls;      /* --max-calls (0: no limit) */
  bool progress;          /* --progress: the progress line even when stderr is not a terminal (one line per update) */
} RunOptions;

/* Run `img`'s main flow; messages go to stderr. Returns a RUN_* status. */
int run_image(const Image *img, const RunOptions *opt);

/* `flowc test`: how tests run. */
typedef struct TestOptions {
  const char *root;       /* the program's folder: cassette and context paths are relative to it */
  bool allow_network;     /* a call the test does not mock, or an http source, may go to the network */
  uint32_t concurrency;   /* model calls in flight (default 16) */
} TestOptions;

/* An assertion of a test that did not hold: its index among the test's
 * `assert`s (in source order) and the compared values as JSON text (both
 * the condition's value when it is not a comparison). */
typedef struct TestFailure {
  uint32_t index;
  char *lhs, *rhs;
} TestFailure;

typedef struct TestResult {
  char *error;            /* the test could not run to its end: why, and where; NULL otherwise */
  TestFailure *failures;  /* assertions that did not hold, in the order they ran */
  uint32_t nfailures;
  uint32_t asserts_run;
} TestResult;

/* Run test `test` of `img` (img->tests) offline unless opt->allow_network.
 * Fills *out (free with test_result_free); true when the test passed: it
 * ran to its end and every assertion held. */
bool run_test(const Image *img, uint32_t test, const TestOptions *opt, TestResult *out);
void test_result_free(TestResult *r);

#endif
