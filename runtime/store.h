/* store.h - the run store: one SQLite file per project (.flow/store.db
 * beside the program, or --store PATH) holding the runs (what was run, with
 * which program and arguments, when, how it ended) and the model-call
 * cache (a validated reply per request key, runtime/request.h). WAL mode,
 * writes batched into transactions. The schema is versioned (PRAGMA
 * user_version) and migrated on open; a file that is not a flow store, is
 * damaged or is locked by another writer is an error that says so. No
 * secret is ever stored: request keys hash requests that hold none. */
#ifndef FLOW_STORE_H
#define FLOW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Store Store;

/* The schema version this build writes (and migrates older stores to). */
#define STORE_SCHEMA_VERSION 2

/* Open (creating it and its folder when missing) the store at `path`.
 * NULL with what was expected and found in err[0..errlen). */
Store *store_open(const char *path, char *err, size_t errlen);
/* Commit what is pending and close. */
void store_close(Store *st);
/* Commit the writes batched so far (a crash loses nothing committed). */
bool store_flush(Store *st, char *err, size_t errlen);
/* The same, when the writes batched so far began at least `ms` ago. */
bool store_flush_older(Store *st, double ms, char *err, size_t errlen);

/* ---- runs ---- */

/* A new run id (16 hex digits) from the time, the process and the arguments. */
void store_new_run_id(const char *program_hash, const char *argv_json, char id[17]);
/* Record a run starting: its program's content hash (hex) and file, its
 * command line as a JSON array of strings, and the folder it ran in. Writes
 * its new id (16 hex digits) to id. */
bool store_run_begin(Store *st, const char *program_hash, const char *program, const char *argv_json,
                     const char *cwd, char id[17], char *err, size_t errlen);
/* Record how it ended: "ok", "failed", "budget", "usage"; items done and failed. */
bool store_run_end(Store *st, const char *id, const char *status, uint64_t ok, uint64_t failed, char *err,
                   size_t errlen);

typedef struct StoreRun {
  char id[17];
  char program_hash[65];
  char *program;            /* the program's file (absolute), "" when unknown; malloc'd */
  char *argv_json;          /* malloc'd */
  char *cwd;                /* malloc'd */
  double started, ended;    /* Unix seconds; ended 0 while running or when it never finished */
  char status[16];          /* "running" until it ends */
  uint64_t ok, failed;
} StoreRun;

/* The run `id`: a full id, a unique prefix of at least 4 digits, "last"
 * (the latest run) or "last~N" (the Nth before it); false when there is none. */
bool store_run_get(Store *st, const char *id, StoreRun *out, char *err, size_t errlen);
/* The latest run of the program file `program` (that started before `before`,
 * when not NULL); false (err says so) when there is none. */
bool store_run_latest(Store *st, const char *program, const StoreRun *before, StoreRun *out, char *err,
                      size_t errlen);
void store_run_free(StoreRun *r);
/* Forget every finished run but the latest `keep`, with their items, calls,
 * pass rates and the definitions no kept run uses; the cache stays.
 * *removed: how many runs went. */
bool store_runs_prune(Store *st, uint32_t keep, uint64_t *removed, char *err, size_t errlen);
/* Call `each` for every run, newest first (at most `limit`; 0: all). */
bool store_runs_each(Store *st, uint32_t limit, void (*each)(void *ctx, const StoreRun *r), void *ctx, char *err,
                     size_t errlen);

/* What a run's program was made of, for `flowc runs diff`: each prompt and
 * model binding by name, the SHA-256 of its source text, and the text. */
typedef struct StoreDef {
  const char *kind;         /* "prompt", "model" */
  const char *name;
  const char *text;
} StoreDef;
bool store_run_defs(Store *st, const char *run, const StoreDef *defs, size_t n, char *err, size_t errlen);
/* Call `each` with every definition of run `run`, by kind and name. */
bool store_run_defs_each(Store *st, const char *run,
                         void (*each)(void *ctx, const char *kind, const char *name, const char *hash,
                                      const char *text),
                         void *ctx, char *err, size_t errlen);

/* One item's result (its output line, or its error) as the run commits it (batched). */
bool store_item(Store *st, const char *run, uint64_t item, const char *output, const char *error, char *err,
                size_t errlen);
/* Call `each` with every item of run `run`, in item order. */
bool store_items_each(Store *st, const char *run,
                      void (*each)(void *ctx, uint64_t item, const char *output, const char *error), void *ctx,
                      char *err, size_t errlen);

/* A run's pass rate of one eval or check (kind "eval", "check"). */
bool store_run_outcome(Store *st, const char *run, const char *kind, const char *name, uint64_t runs,
                       uint64_t passed, char *err, size_t errlen);
bool store_run_outcomes_each(Store *st, const char *run,
                             void (*each)(void *ctx, const char *kind, const char *name, uint64_t runs,
                                          uint64_t passed),
                             void *ctx, char *err, size_t errlen);

/* One model call of a run, for `flowc why`: where in the run it was (item,
 * position in the item's trace), its prompt ("judge" for a judge call), its
 * request key, where its reply came from ("cache", "network", "failed",
 * "mock", "replay", "test", "refused" by the budget, "unread": its item
 * ended first) and what its key was made of (request_parts; NULL when the
 * cache entry under its key keeps it). Read back, `parts` comes from
 * either place. */
typedef struct StoreCall {
  uint64_t item;
  uint32_t seq;
  const char *prompt, *key, *source, *parts;
  double cached_at;         /* when its reply entered the cache (Unix seconds); 0: not cached now */
  int64_t input_tokens, output_tokens; /* over its attempts (written, not read back by store_run_calls_each) */
  double cost_usd;
} StoreCall;
bool store_run_call(Store *st, const char *run, const StoreCall *c, char *err, size_t errlen);
/* Call `each` with every call of run `run`, in item and trace order. */
bool store_run_calls_each(Store *st, const char *run, void (*each)(void *ctx, const StoreCall *c), void *ctx,
                          char *err, size_t errlen);

/* A run's calls of one prompt, summed: how many, how many from the cache,
 * tokens and cost. */
typedef struct StoreUsage {
  const char *prompt;
  uint64_t calls, cached;
  int64_t input_tokens, output_tokens;
  double cost_usd;
} StoreUsage;
/* Call `each` with the usage of every prompt of run `run`, by prompt name. */
bool store_run_usage_each(Store *st, const char *run, void (*each)(void *ctx, const StoreUsage *u), void *ctx,
                          char *err, size_t errlen);

/* ---- the model-call cache ---- */

/* The cached reply for request `key`: a new malloc'd copy in *reply. */
bool store_cache_get(Store *st, const char *key, char **reply, size_t *len, int64_t *in_tokens, int64_t *out_tokens);
/* Keep a validated reply and what its key was made of (request_parts, or
 * NULL); batched, committed by store_flush or close. */
bool store_cache_put(Store *st, const char *key, const char *prompt, const char *binding, const char *reply,
                     size_t len, int64_t in_tokens, int64_t out_tokens, const char *parts, char *err, size_t errlen);

typedef struct StoreCacheStats {
  uint64_t entries, bytes;
} StoreCacheStats;
/* Totals, and `each` per prompt (entries, bytes). */
bool store_cache_stats(Store *st, StoreCacheStats *total,
                       void (*each)(void *ctx, const char *prompt, uint64_t entries, uint64_t bytes), void *ctx,
                       char *err, size_t errlen);
/* Drop every cached reply (or only those of `prompt` when not NULL); the
 * number dropped in *n. */
bool store_cache_clear(Store *st, const char *prompt, uint64_t *n, char *err, size_t errlen);

#endif
