/* run_cli.h - the run flags (--input, --mock, --concurrency, budgets, ...)
 * as `flowc run` and the executables `flowc build` makes both take them:
 * one option table, one conversion to RunOptions. */
#ifndef FLOW_RUN_CLI_H
#define FLOW_RUN_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "run.h"

enum {
  RUN_INPUT, RUN_OUTPUT, RUN_ERRORS, RUN_TRACE, RUN_MOCK, RUN_REPLAY, RUN_RECORD, RUN_SEED, RUN_LATENCY,
  RUN_CONCURRENCY, RUN_KEEP_GOING, RUN_MODEL, RUN_ROOT, RUN_METRICS, RUN_MAX_COST, RUN_MAX_TOKENS, RUN_MAX_CALLS,
  RUN_REPORT, RUN_ALLOW_HOST, RUN_STORE, RUN_CACHE, RUN_RESUME, RUN_EXPLAIN_CACHE, RUN_PROGRESS, RUN_OTLP, RUN_NFLAGS
};

extern const CliOpt run_cli_opts[RUN_NFLAGS];
extern const char *const run_cli_cache_modes[];

/* RunOptions and the storage its lists point into. */
typedef struct RunCli {
  RunOptions opt;
  char *swaps;              /* --model, split in place */
  RunModelSwap swap_list[64];
  char *hosts;              /* --allow-host, split in place */
  const char *host_list[64];
} RunCli;

/* Fill rc->opt from the parsed run flags (rc->opt.root, and the store's
 * default path, are left to the caller; --store off leaves opt.store NULL).
 * False with what was expected and found in err[0..errlen). */
bool run_cli_options(const CliArgs *a, RunCli *rc, char *err, size_t errlen);
void run_cli_free(RunCli *rc);

#endif
