/* store.c - the run store on SQLite (see store.h). */
#include "store.h"

#include <errno.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "sha256.h"

/* PRAGMA application_id of a flow store: "flow" in ASCII. */
#define STORE_APP_ID 0x666c6f77
/* Writes batched into one transaction before it is committed. */
#define STORE_BATCH 2048

struct Store {
  sqlite3 *db;
  char *path;
  sqlite3_stmt *get, *put, *item_put, *call_put;
  bool in_tx;
  unsigned pending;
  double tx_began;          /* monotonic ms when the open transaction began */
};

/* ---- errors ---------------------------------------------------------------------------------- */

/* "the store PATH: what" from SQLite's last error. */
static bool fail_db(Store *st, const char *what, char *err, size_t errlen) {
  int code = sqlite3_extended_errcode(st->db) & 0xff;
  const char *why = code == SQLITE_BUSY || code == SQLITE_LOCKED
                        ? "it is locked by another run; expected it free (wait for that run, or use --store)"
                    : code == SQLITE_NOTADB || code == SQLITE_CORRUPT
                        ? "expected a flow run store, found a damaged file or one that is not a database"
                        : sqlite3_errmsg(st->db);
  snprintf(err, errlen, "the store %s: %s: %s", st->path, what, why);
  return false;
}

static bool exec(Store *st, const char *sql, const char *what, char *err, size_t errlen) {
  char *msg = NULL;
  if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) == SQLITE_OK) return true;
  sqlite3_free(msg);
  return fail_db(st, what, err, errlen);
}

/* One integer from a query (a PRAGMA). */
static bool query_int(Store *st, const char *sql, int64_t *out, char *err, size_t errlen) {
  sqlite3_stmt *q;
  if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) return fail_db(st, "reading it", err, errlen);
  int rc = sqlite3_step(q);
  *out = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
  sqlite3_finalize(q);
  return rc == SQLITE_ROW || rc == SQLITE_DONE || fail_db(st, "reading it", err, errlen);
}

/* ---- schema ---------------------------------------------------------------------------------- */

static const char SCHEMA_V1[] =
    "CREATE TABLE runs(id TEXT PRIMARY KEY, program_hash TEXT NOT NULL, argv TEXT NOT NULL, cwd TEXT NOT NULL,"
    " started REAL NOT NULL, ended REAL, status TEXT NOT NULL, ok INTEGER NOT NULL DEFAULT 0,"
    " failed INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE calls(key TEXT PRIMARY KEY, prompt TEXT NOT NULL, binding TEXT NOT NULL, reply BLOB NOT NULL,"
    " input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, created REAL NOT NULL);"
    "CREATE INDEX calls_prompt ON calls(prompt);";

/* Version 2: what each run's program was made of, its items' results and
 * its pass rates (for `flowc runs diff`). */
static const char SCHEMA_V2[] =
    "ALTER TABLE runs ADD COLUMN program TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE defs(hash TEXT PRIMARY KEY, text TEXT NOT NULL);"
    "CREATE TABLE run_defs(run TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL,"
    " PRIMARY KEY(run, kind, name));"
    "CREATE TABLE items(run TEXT NOT NULL, item INTEGER NOT NULL, output TEXT, error TEXT, PRIMARY KEY(run, item));"
    "CREATE TABLE run_calls(run TEXT NOT NULL, item INTEGER NOT NULL, seq INTEGER NOT NULL, prompt TEXT NOT NULL,"
    " key TEXT NOT NULL, source TEXT NOT NULL, parts TEXT, input_tokens INTEGER NOT NULL DEFAULT 0,"
    " output_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0, PRIMARY KEY(run, item, seq));"
    "ALTER TABLE calls ADD COLUMN parts TEXT;"
    "CREATE TABLE run_outcomes(run TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, runs INTEGER NOT NULL,"
    " passed INTEGER NOT NULL, PRIMARY KEY(run, kind, name));";

/* Create the schema in a new store, migrate an older one, refuse a foreign
 * or newer one. */
static bool migrate(Store *st, char *err, size_t errlen) {
  int64_t app = 0, version = 0, tables = 0;
  if (!query_int(st, "PRAGMA application_id", &app, err, errlen) ||
      !query_int(st, "PRAGMA user_version", &version, err, errlen) ||
      !query_int(st, "SELECT count(*) FROM sqlite_master", &tables, err, errlen))
    return false;
  if (app != STORE_APP_ID && (tables || app)) {
    snprintf(err, errlen, "the store %s: expected a flow run store, found an SQLite database of something else "
             "(application id %lld); use --store to choose another file", st->path, (long long)app);
    return false;
  }
  if (version > STORE_SCHEMA_VERSION) {
    snprintf(err, errlen, "the store %s: expected schema version %d or older, found %lld (written by a newer flowc)",
             st->path, STORE_SCHEMA_VERSION, (long long)version);
    return false;
  }
  if (version == STORE_SCHEMA_VERSION) return true;
  /* each step takes the schema one version up, in one transaction */
  char sql[4096];
  snprintf(sql, sizeof sql, "BEGIN IMMEDIATE; %s %s PRAGMA application_id = %d; PRAGMA user_version = %d; COMMIT;",
           version < 1 ? SCHEMA_V1 : "", version < 2 ? SCHEMA_V2 : "", STORE_APP_ID, STORE_SCHEMA_VERSION);
  return exec(st, sql, version ? "migrating it to this flowc's schema" : "creating its tables", err, errlen);
}

/* mkdir -p of the store's folder. */
static bool make_folder(const char *path, char *err, size_t errlen) {
  char *dir = xstrdup(path), *d = dirname(dir);
  bool ok = true;
  for (char *p = d + 1; ok && *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    ok = mkdir(d, 0777) == 0 || errno == EEXIST;
    *p = '/';
  }
  ok = ok && (mkdir(d, 0777) == 0 || errno == EEXIST);
  if (!ok) snprintf(err, errlen, "the store %s: cannot make its folder %s: %s", path, d, strerror(errno));
  free(dir);
  return ok;
}

Store *store_open(const char *path, char *err, size_t errlen) {
  if (!make_folder(path, err, errlen)) return NULL;
  Store *st = xmalloc(sizeof *st);
  memset(st, 0, sizeof *st);
  st->path = xstrdup(path);
  int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  bool ok = rc == SQLITE_OK || fail_db(st, "opening it", err, errlen);
  ok = ok && sqlite3_busy_timeout(st->db, 2000) == SQLITE_OK;
  /* no checkpoint (and its fsync) at every close: SQLite checkpoints as the
   * log grows, and a run's start-up stays in the low milliseconds */
  ok = ok && sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL) == SQLITE_OK;
  /* pages read through a memory map, and a page cache of up to 64 MB: a cached rerun
   * looks up every key of the cache index (80k -> 130k calls/s on store_bench) */
  ok = ok && exec(st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA mmap_size = 268435456; "
                "PRAGMA cache_size = -65536;", "opening it", err, errlen) &&
       migrate(st, err, errlen);
  ok = ok && (sqlite3_prepare_v2(st->db, "SELECT reply, input_tokens, output_tokens FROM calls WHERE key = ?", -1,
                                 &st->get, NULL) == SQLITE_OK ||
              fail_db(st, "reading it", err, errlen));
  ok = ok && (sqlite3_prepare_v2(st->db,
                                 "INSERT OR REPLACE INTO calls(key, prompt, binding, reply, input_tokens, "
                                 "output_tokens, created, parts) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                                 -1, &st->put, NULL) == SQLITE_OK ||
              fail_db(st, "reading it", err, errlen));
  if (!ok) {
    store_close(st);
    return NULL;
  }
  return st;
}

static double mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

bool store_flush(Store *st, char *err, size_t errlen) {
  if (!st || !st->in_tx) return true;
  st->in_tx = false;
  st->pending = 0;
  return exec(st, "COMMIT", "writing to it", err, errlen);
}

bool store_flush_older(Store *st, double ms, char *err, size_t errlen) {
  return !st || !st->in_tx || mono_ms() - st->tx_began < ms || store_flush(st, err, errlen);
}

void store_close(Store *st) {
  if (!st) return;
  char err[256];
  store_flush(st, err, sizeof err);
  sqlite3_finalize(st->get);
  sqlite3_finalize(st->put);
  sqlite3_finalize(st->item_put);
  sqlite3_finalize(st->call_put);
  sqlite3_close(st->db);
  free(st->path);
  free(st);
}

/* Writes go into one transaction, committed every STORE_BATCH writes (and by store_flush). */
static bool batch_write(Store *st, char *err, size_t errlen) {
  if (!st->in_tx) {
    if (!exec(st, "BEGIN IMMEDIATE", "writing to it", err, errlen)) return false;
    st->in_tx = true;
    st->tx_began = mono_ms();
  }
  if (++st->pending >= STORE_BATCH) return store_flush(st, err, errlen);
  return true;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- runs ------------------------------------------------------------------------------------ */

void store_new_run_id(const char *program_hash, const char *argv_json, char id[17]) {
  /* unique enough for one project's history: time, process, and the arguments */
  char seed[512], hex[65];
  unsigned char digest[32];
  snprintf(seed, sizeof seed, "%.6f/%ld/%s/%.200s", now_s(), (long)getpid(), program_hash, argv_json);
  sha256_hash(seed, strlen(seed), digest);
  sha256_hex(digest, hex);
  memcpy(id, hex, 16);
  id[16] = '\0';
}

bool store_run_begin(Store *st, const char *program_hash, const char *program, const char *argv_json,
                     const char *cwd, char id[17], char *err, size_t errlen) {
  store_new_run_id(program_hash, argv_json, id);
  sqlite3_stmt *q;
  if (sqlite3_prepare_v2(st->db, "INSERT INTO runs(id, program_hash, argv, cwd, started, status, program) "
                         "VALUES(?, ?, ?, ?, ?, 'running', ?)", -1, &q, NULL) != SQLITE_OK)
    return fail_db(st, "recording the run", err, errlen);
  sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 2, program_hash, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 3, argv_json, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 4, cwd, -1, SQLITE_TRANSIENT);
  sqlite3_bind_double(q, 5, now_s());
  sqlite3_bind_text(q, 6, program, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(q);
  sqlite3_finalize(q);
  /* the run is visible at once, so an interrupted run can be resumed */
  return (rc == SQLITE_DONE || fail_db(st, "recording the run", err, errlen)) && store_flush(st, err, errlen);
}

bool store_run_end(Store *st, const char *id, const char *status, uint64_t ok, uint64_t failed, char *err,
                   size_t errlen) {
  if (!store_flush(st, err, errlen)) return false;
  sqlite3_stmt *q;
  if (sqlite3_prepare_v2(st->db, "UPDATE runs SET ended = ?, status = ?, ok = ?, failed = ? WHERE id = ?", -1, &q,
                         NULL) != SQLITE_OK)
    return fail_db(st, "recording the run's end", err, errlen);
  sqlite3_bind_double(q, 1, now_s());
  sqlite3_bind_text(q, 2, status, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 3, (sqlite3_int64)ok);
  sqlite3_bind_int64(q, 4, (sqlite3_int64)failed);
  sqlite3_bind_text(q, 5, id, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(q);
  sqlite3_finalize(q);
  return rc == SQLITE_DONE || fail_db(st, "recording the run's end", err, errlen);
}

static char *column_dup(sqlite3_stmt *q, int i) {
  const unsigned char *t = sqlite3_column_text(q, i);
  return xstrdup(t ? (const char *)t : "");
}

static void run_from_row(sqlite3_stmt *q, StoreRun *r) {
  memset(r, 0, sizeof *r);
  snprintf(r->id, sizeof r->id, "%s", (const char *)sqlite3_column_text(q, 0));
  snprintf(r->program_hash, sizeof r->program_hash, "%s", (const char *)sqlite3_column_text(q, 1));
  r->argv_json = column_dup(q, 2);
  r->cwd = column_dup(q, 3);
  r->started = sqlite3_column_double(q, 4);
  r->ended = sqlite3_column_type(q, 5) == SQLITE_NULL ? 0 : sqlite3_column_double(q, 5);
  snprintf(r->status, sizeof r->status, "%s", (const char *)sqlite3_column_text(q, 6));
  r->ok = (uint64_t)sqlite3_column_int64(q, 7);
  r->failed = (uint64_t)sqlite3_column_int64(q, 8);
  r->program = column_dup(q, 9);
}

#define RUN_COLUMNS "id, program_hash, argv, cwd, started, ended, status, ok, failed, program"
#define RUN_ORDER " ORDER BY started DESC, rowid DESC"

/* The first run `q` (bound by the caller) selects; err says `missing` when none. */
static bool one_run(Store *st, sqlite3_stmt *q, StoreRun *out, const char *missing, char *err, size_t errlen) {
  int rc = sqlite3_step(q);
  bool found = rc == SQLITE_ROW;
  if (found) run_from_row(q, out);
  bool more = found && sqlite3_step(q) == SQLITE_ROW;
  sqlite3_finalize(q);
  if (found && more) {
    snprintf(err, errlen, "the store %s: expected one run, found several whose ids start that way (give more digits)",
             st->path);
    store_run_free(out);
    return false;
  }
  if (found) return true;
  if (rc != SQLITE_DONE) return fail_db(st, "reading its runs", err, errlen);
  snprintf(err, errlen, "the store %s: %s", st->path, missing);
  return false;
}

bool store_run_get(Store *st, const char *id, StoreRun *out, char *err, size_t errlen) {
  long back = -1; /* "last~N": N runs before the latest */
  if (!strcmp(id, "last")) back = 0;
  else if (!strncmp(id, "last~", 5)) {
    char *end;
    back = strtol(id + 5, &end, 10);
    if (id[5] < '0' || id[5] > '9' || *end || back < 0 || back > 1000000) {
      snprintf(err, errlen, "expected a run id, `last` or `last~N`, found '%s'", id);
      return false;
    }
  } else if (strlen(id) < 4 || strlen(id) > 16 || strspn(id, "0123456789abcdef") != strlen(id)) {
    snprintf(err, errlen, "expected a run id (at least 4 of its hex digits), `last` or `last~N`, found '%s'", id);
    return false;
  }
  sqlite3_stmt *q;
  const char *sql = back >= 0 ? "SELECT " RUN_COLUMNS " FROM runs" RUN_ORDER " LIMIT 1 OFFSET ?"
                              : "SELECT " RUN_COLUMNS " FROM runs WHERE substr(id, 1, length(?1)) = ?1 LIMIT 2";
  if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) return fail_db(st, "reading its runs", err, errlen);
  if (back >= 0) sqlite3_bind_int64(q, 1, back);
  else sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
  char missing[160];
  snprintf(missing, sizeof missing, "expected %s, found %s", back > 0 ? "that many runs" : back == 0 ? "a run" : "the run",
           back == 0 ? "no run recorded yet" : "no such run (see `flowc runs list`)");
  return one_run(st, q, out, missing, err, errlen);
}

bool store_run_latest(Store *st, const char *program, const StoreRun *before, StoreRun *out, char *err,
                      size_t errlen) {
  sqlite3_stmt *q;
  if (sqlite3_prepare_v2(st->db, "SELECT " RUN_COLUMNS " FROM runs WHERE program = ?1 AND (?2 IS NULL OR "
                         "(id != ?2 AND (started < ?3 OR (started = ?3 AND rowid < (SELECT rowid FROM runs WHERE "
                         "id = ?2)))))" RUN_ORDER " LIMIT 1", -1, &q, NULL) != SQLITE_OK)
    return fail_db(st, "reading its runs", err, errlen);
  sqlite3_bind_text(q, 1, program, -1, SQLITE_TRANSIENT);
  if (before) {
    sqlite3_bind_text(q, 2, before->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(q, 3, before->started);
  }
  char missing[160 + 4096];
  if (before)
    snprintf(missing, sizeof missing, "expected an earlier run of %s to compare run %s with, found none",
             *program ? program : "its program", before->id);
  else
    snprintf(missing, sizeof missing, "expected a recorded run of %s, found none (run it first)", program);
  return one_run(st, q, out, missing, err, errlen);
}

void store_run_free(StoreRun *r) {
  free(r->program);
  free(r->argv_json);
  free(r->cwd);
  memset(r, 0, sizeof *r);
}

bool store_runs_each(Store *st, uint32_t limit, void (*each)(void *ctx, const StoreRun *r), void *ctx, char *err,
                     size_t errlen) {
  sqlite3_stmt *q;
  if (sqlite3_prepare_v2(st->db, "SELECT " RUN_COLUMNS " FROM runs" RUN_ORDER " LIMIT ?", -1,
                         &q, NULL) != SQLITE_OK)
    return fail_db(st, "reading its runs", err, errlen);
  sqlite3_bind_int64(q, 1, limit ? (sqlite3_int64)limit : -1);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    StoreRun r;
    run_from_row(q, &r);
    each(ctx, &r);
    store_run_free(&r);
  }
  sqlite3_finalize(q);
  return rc == SQLITE_DONE || fail_db(st, "reading its runs", err, errlen);
}

/* ---- cache ----------------------------------------------------------------------------------- */

bool store_cache_get(Store *st, const char *key, char **reply, size_t *len, int64_t *in_tokens, int64_t *out_tokens) {
  sqlite3_reset(st->get);
  sqlite3_bind_text(st->get, 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step(st->get) != SQLITE_ROW) return false;
  int n = sqlite3_column_bytes(st->get, 0);
  const void *b = sqlite3_column_blob(st->get, 0);
  *reply = xmalloc((size_t)n + 1);
  if (n) memcpy(*reply, b, (size_t)n);
  (*reply)[n] = '\0';
  *len = (size_t)n;
  *in_tokens = sqlite3_column_int64(st->get, 1);
  *out_tokens = sqlite3_column_int64(st->get, 2);
  sqlite3_reset(st->get);
  return true;
}

bool store_cache_put(Store *st, const char *key, const char *prompt, const char *binding, const char *reply,
                     size_t len, int64_t in_tokens, int64_t out_tokens, const char *parts, char *err, size_t errlen) {
  if (!batch_write(st, err, errlen)) return false;
  sqlite3_reset(st->put);
  sqlite3_bind_text(st->put, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st->put, 2, prompt, -1, SQLITE_STATIC);
  sqlite3_bind_text(st->put, 3, binding, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st->put, 4, reply, (int)len, SQLITE_STATIC);
  sqlite3_bind_int64(st->put, 5, in_tokens);
  sqlite3_bind_int64(st->put, 6, out_tokens);
  sqlite3_bind_double(st->put, 7, now_s());
  if (parts) sqlite3_bind_text(st->put, 8, parts, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st->put, 8);
  int rc = sqlite3_step(st->put);
  sqlite3_reset(st->put);
  return rc == SQLITE_DONE || fail_db(st, "caching a reply", err, errlen);
}

bool store_cache_stats(Store *st, StoreCacheStats *total,
                       void (*each)(void *ctx, const char *prompt, uint64_t entries, uint64_t bytes), void *ctx,
                       char *err, size_t errlen) {
  memset(total, 0, sizeof *total);
  sqlite3_stmt *q;
  if (sqlite3_prepare_v2(st->db, "SELECT prompt, count(*), sum(length(reply)) FROM calls GROUP BY prompt "
                         "ORDER BY prompt", -1, &q, NULL) != SQLITE_OK)
    return fail_db(st, "reading its cache", err, errlen);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    uint64_t n = (uint64_t)sqlite3_column_int64(q, 1), bytes = (uint64_t)sqlite3_column_int64(q, 2);
    total->entries += n;
    total->bytes += bytes;
    if (each) each(ctx, (const char *)sqlite3_column_text(q, 0), n, bytes);
  }
  sqlite3_finalize(q);
  return rc == SQLITE_DONE || fail_db(st, "reading its cache", err, errlen);
}

bool store_cache_clear(Store *st, const char *prompt, uint64_t *n, char *err, size_t errlen) {
  if (!store_flush(st, err, errlen)) return false;
  sqlite3_stmt *q;
  if (sqlite3_prepare_v2(st->db, prompt ? "DELETE FROM calls WHERE prompt = ?" : "DELETE FROM calls", -1, &q, NULL) !=
      SQLITE_OK)
    return fail_db(st, "clearing its cache", err, errlen);
  if (prompt) sqlite3_bind_text(q, 1, prompt, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(q);
  sqlite3_finalize(q);
  *n = (uint64_t)sqlite3_changes(st->db);
  return rc == SQLITE_DONE || fail_db(st, "clearing its cache", err, errlen);
}

/* ---- what runs were made of, and what they gave ----------------------------------------------- */

/* Prepare `sql`, bind `n` texts, step it to the end. */
static bool write_texts(Store *st, const char *sql, const char *const *texts, int n, const char *what, char *err,
                        size_t errlen) {
  sqlite3_stmt *q;
  if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) return fail_db(st, what, err, errlen);
  for (int i = 0; i < n; i++) sqlite3_bind_text(q, i + 1, texts[i], -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  sqlite3_finalize(q);
  return rc == SQLITE_DONE || fail_db(st, what, err, errlen);
}

bool store_run_defs(Store *st, const char *run, const StoreDef *defs, size_t n, char *err, size_t errlen) {
  for (size_t i = 0; i < n; i++) {
    unsigned char digest[32];
    char hex[65];
    sha256_hash(defs[i].text, strlen(defs[i].text), digest);
    sha256_hex(digest, hex);
    const char *d[] = {hex, defs[i].text}, *r[] = {run, defs[i].kind, defs[i].name, hex};
    if (!batch_write(st, err, errlen) ||
        !write_texts(st, "INSERT OR IGNORE INTO defs(hash, text) VALUES(?, ?)", d, 2, "recording the program", err,
                     errlen) ||
        !write_texts(st, "INSERT OR REPLACE INTO run_defs(run, kind, name, hash) VALUES(?, ?, ?, ?)", r, 4,
                     "recording the program", err, errlen))
      return false;
  }
  return true;
}

bool store_run_defs_each(Store *st, const char *run,
                         void (*each)(void *ctx, const char *kind, const char *name, const char *hash,
                                      const char *text),
                         void *ctx, char *err, size_t errlen) {
  sqlite3_stmt *q;
  if (sqlite3_prepare_v2(st->db, "SELECT r.kind, r.name, r.hash, d.text FROM run_defs r JOIN defs d ON d.hash = "
                         "r.hash WHERE r.run = ? ORDER BY r.kind, r.name", -1, &q, NULL) != SQLITE_OK)
    return fail_db(st, "reading a run's program", err, errlen);
  sqlite3_bind_text(q, 1, run, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW)
    each(ctx, (const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
         (const char *)sqlite3_column_text(q, 2), (const char *)sqlite3_column_text(q, 3));
  sqlite3_finalize(q);
  return rc == SQLITE_DONE || fail_db(st, "reading a run's program", err, errlen);
}

/* Prepare *q once (kept until the store closes). */
static bool prepared(Store *st, sqlite3_stmt **q, const char *sql, const char *what, char *err, size_t errlen) {
  if (!*q && sqlite3_prepare_v2(st->db, sql, -1, q, NULL) != SQLITE_OK) return fail_db(st, what, err, errlen);
  sqlite3_reset(*q);
  return true;
}

bool store_item(Store *st, const char *run, uint64_t item, const char *output, const char *error, char *err,
                size_t errlen) {
  if (!batch_write(st, err, errlen) ||
      !prepared(st, &st->item_put, "INSERT OR REPLACE INTO items(run, item, output, error) VALUES(?, ?, ?, ?)",
                "recording an item", err, errlen))
    return false;
  sqlite3_bind_text(st->item_put, 1, run, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st->item_put, 2, (sqlite3_int64)item);
  if (output) sqlite3_bind_text(st->item_put, 3, output, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st->item_put, 3);
  if (error) sqlite3_bind_text(st->item_put, 4, error, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st->item_put, 4);
  int rc = sqlite3_step(st->item_put);
  sqlite3_reset(st->item_put);
  return rc == SQLITE_DONE || fail_db(st, "recording an item", err, errlen);
}

bool store_items_each(Store *st, const char *run,
                      void (*each)(void *ctx, uint64_t item, const char *output, const char *error), void *ctx,
                      char *err, size_t errlen) {
  sqlite3_stmt *q;
  if (sqlite3_prepare_v2(st->db, "SELECT item, output, error FROM items WHERE run = ? ORDER BY item", -1, &q,
                         NULL) != SQLITE_OK)
    return fail_db(st, "reading a run's items", err, errlen);
  sqlite3_bind_text(q, 1, run, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW)
    each(ctx, (uint64_t)sqlite3_column_int64(q, 0), (const char *)sqlite3_column_text(q, 1),
         (const char *)sqlite3_column_text(q, 2));
  sqlite3_finalize(q);
  return rc == SQLITE_DONE || fail_db(st, "reading a run's items", err, errlen);
}

bool store_run_outcome(Store *st, const char *run, const char *kind, const char *name, uint64_t runs,
                       uint64_t passed, char *err, size_t errlen) {
  char r[24], p[24];
  snprintf(r, sizeof r, "%llu", (unsigned long long)runs);
  snprintf(p, sizeof p, "%llu", (unsigned long long)passed);
  const char *t[] = {run, kind, name, r, p};
  return batch_write(st, err, errlen) &&
         write_texts(st, "INSERT OR REPLACE INTO run_outcomes(run, kind, name, runs, passed) VALUES(?, ?, ?, ?, ?)",
                     t, 5, "recording a pass rate", err, errlen);
}

bool store_run_outcomes_each(Store *st, const char *run,
                             void (*each)(void *ctx, const char *kind, const char *name, uint64_t runs,
                                          uint64_t passed),
                             void *ctx, char *err, size_t errlen) {
  sqlite3_stmt *q;
  if (sqlite3_prepare_v2(st->db, "SELECT kind, name, runs, passed FROM run_outcomes WHERE run = ? ORDER BY kind, "
                         "name", -1, &q, NULL) != SQLITE_OK)
    return fail_db(st, "reading a run's pass rates", err, errlen);
  sqlite3_bind_text(q, 1, run, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW)
    each(ctx, (const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
         (uint64_t)sqlite3_column_int64(q, 2), (uint64_t)sqlite3_column_int64(q, 3));
  sqlite3_finalize(q);
  return rc == SQLITE_DONE || fail_db(st, "reading a run's pass rates", err, errlen);
}

/* ---- each run's calls, for `flowc why` ------------------------------------------------------- */

bool store_run_call(Store *st, const char *run, const StoreCall *c, char *err, size_t errlen) {
  if (!batch_write(st, err, errlen) ||
      !prepared(st, &st->call_put, "INSERT OR REPLACE INTO run_calls(run, item, seq, prompt, key, source, parts, "
                "input_tokens, output_tokens, cost_usd) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "recording a call", err, errlen))
    return false;
  sqlite3_stmt *q = st->call_put;
  sqlite3_bind_text(q, 1, run, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, (sqlite3_int64)c->item);
  sqlite3_bind_int64(q, 3, (sqlite3_int64)c->seq);
  sqlite3_bind_text(q, 4, c->prompt, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, c->key, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 6, c->source, -1, SQLITE_STATIC);
  if (c->parts) sqlite3_bind_text(q, 7, c->parts, -1, SQLITE_STATIC);
  else sqlite3_bind_null(q, 7);
  sqlite3_bind_int64(q, 8, c->input_tokens);
  sqlite3_bind_int64(q, 9, c->output_tokens);
  sqlite3_bind_double(q, 10, c->cost_usd);
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  return rc == SQLITE_DONE || fail_db(st, "recording a call", err, errlen);
}

bool store_run_calls_each(Store *st, const char *run, void (*each)(void *ctx, const StoreCall *c), void *ctx,
                          char *err, size_t errlen) {
  sqlite3_stmt *q;
  if (sqlite3_prepare_v2(st->db, "SELECT c.item, c.seq, c.prompt, c.key, c.source, coalesce(c.parts, k.parts), k.created "
                         "FROM run_calls c LEFT JOIN calls k ON k.key = c.key "
                         "WHERE c.run = ? ORDER BY c.item, c.seq", -1, &q, NULL) != SQLITE_OK)
    return fail_db(st, "reading a run's calls", err, errlen);
  sqlite3_bind_text(q, 1, run, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    StoreCall c = {(uint64_t)sqlite3_column_int64(q, 0), (uint32_t)sqlite3_column_int64(q, 1),
                   (const char *)sqlite3_column_text(q, 2), (const char *)sqlite3_column_text(q, 3),
                   (const char *)sqlite3_column_text(q, 4), (const char *)sqlite3_column_text(q, 5),
                   sqlite3_column_type(q, 6) == SQLITE_NULL ? 0 : sqlite3_column_double(q, 6), 0, 0, 0};
    each(ctx, &c);
  }
  sqlite3_finalize(q);
  return rc == SQLITE_DONE || fail_db(st, "reading a run's calls", err, errlen);
}

bool store_run_usage_each(Store *st, const char *run, void (*each)(void *ctx, const StoreUsage *u), void *ctx,
                          char *err, size_t errlen) {
  sqlite3_stmt *q;
  if (sqlite3_prepare_v2(st->db, "SELECT prompt, count(*), sum(source = 'cache'), sum(input_tokens), "
                         "sum(output_tokens), sum(cost_usd) FROM run_calls WHERE run = ? GROUP BY prompt ORDER BY "
                         "prompt", -1, &q, NULL) != SQLITE_OK)
    return fail_db(st, "reading a run's usage", err, errlen);
  sqlite3_bind_text(q, 1, run, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    StoreUsage u = {(const char *)sqlite3_column_text(q, 0), (uint64_t)sqlite3_column_int64(q, 1),
                    (uint64_t)sqlite3_column_int64(q, 2), sqlite3_column_int64(q, 3), sqlite3_column_int64(q, 4),
                    sqlite3_column_double(q, 5)};
    each(ctx, &u);
  }
  sqlite3_finalize(q);
  return rc == SQLITE_DONE || fail_db(st, "reading a run's usage", err, errlen);
}

bool store_runs_prune(Store *st, uint32_t keep, uint64_t *removed, char *err, size_t errlen) {
  char sql[1024];
  *removed = 0;
  snprintf(sql, sizeof sql, "DELETE FROM runs WHERE status != 'running' AND id NOT IN (SELECT id FROM runs" RUN_ORDER
           " LIMIT %u)", keep);
  if (!store_flush(st, err, errlen) || !exec(st, "BEGIN IMMEDIATE", "pruning its runs", err, errlen)) return false;
  bool ok = exec(st, sql, "pruning its runs", err, errlen);
  *removed = ok ? (uint64_t)sqlite3_changes(st->db) : 0;
  /* what the removed runs kept; the definitions no run uses any more */
  ok = ok && exec(st, "DELETE FROM items WHERE run NOT IN (SELECT id FROM runs);"
                  "DELETE FROM run_calls WHERE run NOT IN (SELECT id FROM runs);"
                  "DELETE FROM run_outcomes WHERE run NOT IN (SELECT id FROM runs);"
                  "DELETE FROM run_defs WHERE run NOT IN (SELECT id FROM runs);"
                  "DELETE FROM defs WHERE hash NOT IN (SELECT hash FROM run_defs);",
                  "pruning its runs", err, errlen);
  return exec(st, ok ? "COMMIT" : "ROLLBACK", "pruning its runs", err, errlen) && ok;
}
