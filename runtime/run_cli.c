/* run_cli.c - the run flags and their conversion to RunOptions (see run_cli.h). */
#include "run_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "fetch.h"

const char *const run_cli_cache_modes[] = {"rw", "ro", "off", NULL};

const CliOpt run_cli_opts[RUN_NFLAGS] = {
    [RUN_INPUT] = {"--input", "FILE", NULL, "JSON Lines input, one item per line (- for stdin)"},
    [RUN_OUTPUT] = {"--output", "FILE", NULL, "where results go, one JSON line per item in input order (default -)"},
    [RUN_ERRORS] = {"--errors", "FILE", NULL, "one JSON line per failed item"},
    [RUN_TRACE] = {"--trace", "FILE", NULL, "the logical trace: every model call, in program order"},
    [RUN_MOCK] = {"--mock", NULL, NULL, "answer every model call with the built-in mock provider"},
    [RUN_REPLAY] = {"--replay", "CASSETTE", NULL, "answer model calls from a recorded cassette"},
    [RUN_RECORD] = {"--record", "CASSETTE", NULL, "record every exchange to a cassette"},
    [RUN_SEED] = {"--seed", "N", NULL, "seed of the mock provider's latencies (default 0)"},
    [RUN_LATENCY] = {"--mock-latency", "MS", NULL, "maximum seeded mock latency in ms (default 0, or 50 with --seed)"},
    [RUN_CONCURRENCY] = {"--concurrency", "N", NULL, "items and model calls in flight (default 16)"},
    [RUN_KEEP_GOING] = {"--keep-going", NULL, NULL, "a failed item does not stop the run"},
    [RUN_MODEL] = {"--model", "A=B[,C=D]", NULL, "calls bound to model A use the program's binding B"},
    [RUN_ROOT] = {"--root", "DIR", NULL, "the folder context paths are relative to (default: the program's folder)"},
    [RUN_METRICS] = {"--metrics", "FILE", NULL, "write calls, retries, latencies, tokens and cost per prompt as JSON"},
    [RUN_MAX_COST] = {"--max-cost", "USD", NULL, "stop issuing model calls once this much is spent (exit status 3)"},
    [RUN_MAX_TOKENS] = {"--max-tokens", "N", NULL, "stop issuing model calls after N tokens (exit status 3)"},
    [RUN_MAX_CALLS] = {"--max-calls", "N", NULL, "stop issuing model calls after N calls (exit status 3)"},
    [RUN_REPORT] = {"--report", "FILE", NULL, "write each item's eval and check outcomes and their pass rates as JSON"},
    [RUN_ALLOW_HOST] = {"--allow-host", "H[,H]", NULL, "hosts http(url) sources may reach, besides their own allow: lists"},
    [RUN_STORE] = {"--store", "PATH|off", NULL, "the run store: runs and the model-call cache (default .flow/store.db beside the program)"},
    [RUN_CACHE] = {"--cache", "MODE", run_cli_cache_modes, "rw: use and fill the cache (default); ro: use it; off: neither"},
    [RUN_RESUME] = {"--resume", "ID|last", NULL, "run a recorded run again, its stored calls served from the cache"},
    [RUN_EXPLAIN_CACHE] = {"--explain-cache", NULL, NULL, "at the end, say why each call was or was not served from the cache"},
    [RUN_OTLP] = {"--otlp", "URL", NULL, "export the run as OpenTelemetry spans over OTLP/HTTP JSON (docs/tracing.md)"},
    [RUN_PROGRESS] = {"--progress", NULL, NULL, "show progress on stderr even when it is not a terminal (a line per update)"},
};

_Static_assert(RUN_NFLAGS <= CLI_MAX_OPTS, "raise CLI_MAX_OPTS for the run flags");

/* A non-negative integer flag (`dflt` when absent); false when malformed. */
static bool int_flag(const char *name, const char *v, long long dflt, long long *out, char *err, size_t errlen) {
  *out = dflt;
  if (!v) return true;
  char *end;
  long long x = strtoll(v, &end, 10);
  if (*v == '\0' || *end || x < 0) {
    snprintf(err, errlen, "%s expects a non-negative integer, found '%s'", name, v);
    return false;
  }
  *out = x;
  return true;
}

/* --model A=B,C=D */
static bool model_swaps(RunCli *rc, const char *v, char *err, size_t errlen) {
  rc->swaps = v ? xstrdup(v) : NULL;
  char *save = NULL;
  for (char *tok = rc->swaps ? strtok_r(rc->swaps, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq || eq == tok || !eq[1] || rc->opt.nswaps == 64) {
      snprintf(err, errlen, "--model expects A=B (two binding names, at most 64 pairs), found '%s'", tok);
      return false;
    }
    *eq = '\0';
    rc->swap_list[rc->opt.nswaps++] = (RunModelSwap){tok, eq + 1};
  }
  rc->opt.swaps = rc->swap_list;
  return true;
}

/* --allow-host a.example.com,*.example.org:8443 */
static bool allow_hosts(RunCli *rc, const char *v, char *err, size_t errlen) {
  rc->hosts = v ? xstrdup(v) : NULL;
  char *save = NULL;
  for (char *tok = rc->hosts ? strtok_r(rc->hosts, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
    char why[256];
    if (rc->opt.nallow_hosts == 64 || !fetch_allow_entry_check(tok, why, sizeof why)) {
      snprintf(err, errlen, "--allow-host expects at most 64 hosts, `*.domain` or IP addresses with an optional "
               ":port; '%s': %s", tok, rc->opt.nallow_hosts == 64 ? "one too many" : why);
      return false;
    }
    rc->host_list[rc->opt.nallow_hosts++] = tok;
  }
  rc->opt.allow_hosts = rc->host_list;
  return true;
}

bool run_cli_options(const CliArgs *a, RunCli *rc, char *err, size_t errlen) {
  memset(rc, 0, sizeof *rc);
  RunOptions *opt = &rc->opt;
  const char *const *v = a->values;
  opt->input = v[RUN_INPUT];
  opt->output = v[RUN_OUTPUT] ? v[RUN_OUTPUT] : "-";
  opt->errors = v[RUN_ERRORS];
  opt->trace = v[RUN_TRACE];
  opt->mock = v[RUN_MOCK] != NULL;
  opt->replay = v[RUN_REPLAY];
  opt->record = v[RUN_RECORD];
  opt->keep_going = v[RUN_KEEP_GOING] != NULL;
  opt->metrics = v[RUN_METRICS];
  opt->report = v[RUN_REPORT];
  opt->explain_cache = v[RUN_EXPLAIN_CACHE] != NULL;
  opt->progress = v[RUN_PROGRESS] != NULL;
  opt->otlp = v[RUN_OTLP];
  opt->cache = !v[RUN_CACHE] || !strcmp(v[RUN_CACHE], "rw") ? RUN_CACHE_RW
               : !strcmp(v[RUN_CACHE], "ro")                ? RUN_CACHE_RO
                                                            : RUN_CACHE_OFF;
  if (v[RUN_STORE] && strcmp(v[RUN_STORE], "off") != 0) opt->store = v[RUN_STORE];
  long long seed, latency, conc, max_tokens, max_calls;
  if (!int_flag("--seed", v[RUN_SEED], 0, &seed, err, errlen) ||
      !int_flag("--mock-latency", v[RUN_LATENCY], v[RUN_SEED] ? 50 : 0, &latency, err, errlen) ||
      !int_flag("--concurrency", v[RUN_CONCURRENCY], 16, &conc, err, errlen) ||
      !int_flag("--max-tokens", v[RUN_MAX_TOKENS], 0, &max_tokens, err, errlen) ||
      !int_flag("--max-calls", v[RUN_MAX_CALLS], 0, &max_calls, err, errlen))
    return false;
  if (v[RUN_MAX_COST]) {
    char *end;
    opt->max_cost = strtod(v[RUN_MAX_COST], &end);
    if (*end || !(opt->max_cost > 0)) {
      snprintf(err, errlen, "--max-cost expects a positive amount in USD, found '%s'", v[RUN_MAX_COST]);
      return false;
    }
  }
  if (conc == 0 || conc > 100000) {
    snprintf(err, errlen, "--concurrency expects 1 to 100000, found %lld", conc);
    return false;
  }
  if (opt->mock && opt->replay) {
    snprintf(err, errlen, "--mock and --replay both answer model calls; expected one of them");
    return false;
  }
  opt->max_tokens = max_tokens;
  opt->max_calls = max_calls;
  opt->seed = (uint64_t)seed;
  opt->mock_latency_ms = (double)latency;
  opt->concurrency = (uint32_t)conc;
  return model_swaps(rc, v[RUN_MODEL], err, errlen) && allow_hosts(rc, v[RUN_ALLOW_HOST], err, errlen);
}

void run_cli_free(RunCli *rc) {
  free(rc->swaps);
  free(rc->hosts);
  rc->swaps = rc->hosts = NULL;
}
