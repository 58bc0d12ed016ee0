/* main.c - the `flowc` command line: parses arguments, runs one subcommand
 * (check, explain, help) and maps the outcome to an exit status.
 *
 * Exit statuses: 0 = clean (or warnings only), 1 = errors found (or warnings
 * with --werror), 2 = usage error or I/O error. Each subcommand is one
 * function; options are described by a small table per command and parsed by
 * one shared parser. There is no global mutable state. */
#include <dirent.h>
#include <jansson.h>
#include <libgen.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "cli.h"
#include "compile.h"
#include "diag.h"
#include "diag_render.h"
#include "build.h"
#include "bytecode.h"
#include "disasm.h"
#include "embedded.h"
#include "image.h"
#include "program.h"
#include "run.h"
#include "run_cli.h"
#include "runs_diff.h"
#include "cache_why.h"
#include "store.h"
#include "test_runner.h"

#ifndef FLOW_VERSION
#define FLOW_VERSION "unknown"
#endif

enum { EXIT_CLEAN = 0, EXIT_FOUND = 1, EXIT_USAGE = 2 };

/* ---------------------------------------------------------------------------
 * Option tables and the argument parser
 * ------------------------------------------------------------------------- */

/* Options are described by tables and parsed by the shared parser
 * (runtime/cli.h), which built executables use too. */
typedef CliOpt OptSpec;
typedef CliArgs ParsedArgs;
#define MAX_OPTS CLI_MAX_OPTS

struct Command;
typedef int (*CommandFn)(const struct Command *cmd, const ParsedArgs *args);

/* A subcommand: its name, help texts, options and the function running it. */
typedef struct Command {
  const char *name;
  const char *summary; /* one line, for the command list */
  const char *usage;   /* "flowc check [OPTIONS] FILE|DIR..." */
  const char *details; /* paragraphs printed after the usage line */
  const OptSpec *opts;
  size_t nopts;
  CommandFn run;
} Command;

/* Report a usage error: "flowc: error: MESSAGE" and a pointer to the help
 * of `cmd` (or of flowc when NULL). Returns EXIT_USAGE. */
static int usage_error(const Command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const Command *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("flowc: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if (cmd)
    fprintf(stderr, "\n(see 'flowc help %s')\n", cmd->name);
  else
    fputs("\n(see 'flowc help')\n", stderr);
  return EXIT_USAGE;
}

/* Parse `argv[0..argc)` (the arguments after the command name) against the
 * options of `cmd`. Returns 0 or EXIT_USAGE (after printing what was
 * expected and what was found). `out->pos` must be freed. */
static int parse_args(const Command *cmd, int argc, char **argv, ParsedArgs *out) {
  char command[64], hint[96];
  snprintf(command, sizeof command, "flowc %s", cmd->name);
  snprintf(hint, sizeof hint, "(see 'flowc help %s')", cmd->name);
  return cli_parse(cmd->opts, cmd->nopts, argc, argv, "flowc", command, hint, out) ? 0 : EXIT_USAGE;
}

/* Print the full help of one command: usage, details and its options. */
static void print_command_help(FILE *out, const Command *cmd) {
  fprintf(out, "flowc %s - %s\n\nUsage: %s\n\n%s", cmd->name, cmd->summary, cmd->usage,
          cmd->details);
  fputs("\nOptions:\n", out);
  cli_print_options(out, cmd->opts, cmd->nopts);
}

/* ---------------------------------------------------------------------------
 * flowc check
 * ------------------------------------------------------------------------- */

/* A growable list of owned path strings. */
typedef struct PathList {
  char **items;
  size_t n, cap;
} PathList;

/* Append a copy of `path`. */
static void paths_push(PathList *pl, const char *path) {
  if (pl->n == pl->cap) {
    pl->cap = pl->cap ? 2 * pl->cap : 16;
    char **items = realloc(pl->items, pl->cap * sizeof *items);
    if (!items) abort();
    pl->items = items;
  }
  char *copy = strdup(path);
  if (!copy) abort();
  pl->items[pl->n++] = copy;
}

static void paths_free(PathList *pl) {
  for (size_t i = 0; i < pl->n; i++) free(pl->items[i]);
  free(pl->items);
  pl->items = NULL;
  pl->n = pl->cap = 0;
}

/* qsort comparator for C strings, in byte order (independent of locale). */
static int cmp_strings(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether `name` ends in ".flow" (and has something before it). */
static bool is_flow_file(const char *name) {
  size_t n = strlen(name);
  return n > 5 && strcmp(name + n - 5, ".flow") == 0;
}

/* "dir/name", without doubling a trailing slash of `dir`. New string. */
static char *join_path(const char *dir, const char *name) {
  size_t dn = strlen(dir), nn = strlen(name);
  bool slash = dn > 0 && dir[dn - 1] == '/';
  char *p = malloc(dn + nn + 2);
  if (!p) abort();
  memcpy(p, dir, dn);
  if (!slash) p[dn++] = '/';
  memcpy(p + dn, name, nn + 1);
  return p;
}

/* Print the I/O error of `path` (from errno) and return false. */
static bool io_error(const char *path) {
  fprintf(stderr, "error[E0702]: cannot read `%s`: %s\n", path, strerror(errno));
  return false;
}

/* Add every *.flow file under directory `dir` to `out`, recursively, in
 * sorted order. Hidden entries (names starting with '.') are skipped, and so
 * are symbolic links to directories (they could form cycles). Returns false
 * after printing an error when a directory cannot be read. */
static bool collect_dir(const char *dir, PathList *out) {
  DIR *d = opendir(dir);
  if (!d) return io_error(dir);
  PathList names = {0};
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.') paths_push(&names, e->d_name);
    errno = 0;
  }
  int read_errno = errno;
  closedir(d);
  if (read_errno) {
    errno = read_errno;
    paths_free(&names);
    return io_error(dir);
  }
  if (names.n) qsort(names.items, names.n, sizeof *names.items, cmp_strings);
  bool ok = true;
  for (size_t i = 0; ok && i < names.n; i++) {
    char *path = join_path(dir, names.items[i]);
    struct stat st;
    if (lstat(path, &st) != 0) {
      ok = io_error(path);
    } else if (S_ISDIR(st.st_mode)) {
      ok = collect_dir(path, out);
    } else if (is_flow_file(names.items[i])) {
      struct stat target;
      if (S_ISREG(st.st_mode) || (S_ISLNK(st.st_mode) && stat(path, &target) == 0 &&
                                  S_ISREG(target.st_mode)))
        paths_push(out, path);
    }
    free(path);
  }
  paths_free(&names);
  return ok;
}

/* Add the files named by one command-line argument: the file itself, or
 * the *.flow files under a directory (at least one is expected). Returns
 * false after printing an error. */
static bool collect_arg(const char *arg, PathList *out) {
  struct stat st;
  if (stat(arg, &st) != 0) return io_error(arg);
  if (!S_ISDIR(st.st_mode)) {
    paths_push(out, arg);
    return true;
  }
  size_t before = out->n;
  if (!collect_dir(arg, out)) return false;
  if (out->n == before) {
    fprintf(stderr,
            "flowc: error: expected *.flow files under directory '%s', found none\n", arg);
    return false;
  }
  return true;
}

/* The files of every positional argument (collect_arg); false, with the
 * list freed, when one could not be read. */
static bool collect_args(const ParsedArgs *args, PathList *files) {
  bool ok = true;
  for (size_t i = 0; i < args->npos; i++) ok = collect_arg(args->pos[i], files) && ok;
  if (!ok) paths_free(files);
  return ok;
}

/* Whether text written to `stream` should be coloured for `--color WHEN`:
 * auto means the stream is a terminal and NO_COLOR is unset or empty. */
static bool want_color_on(FILE *stream, const char *when) {
  if (strcmp(when, "always") == 0) return true;
  if (strcmp(when, "never") == 0) return false;
  const char *no_color = getenv("NO_COLOR");
  return isatty(fileno(stream)) && !(no_color && no_color[0]);
}

/* The same for diagnostics, which go to stderr. */
static bool want_color(const char *when) { return want_color_on(stderr, when); }

/* After writing a document to stdout: flush it and turn a write failure
 * (a full disk, a closed pipe) into an I/O error status. */
static int finish_stdout(int status) {
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "flowc: error: cannot write to standard output: %s\n", strerror(errno));
    return EXIT_USAGE;
  }
  return status;
}

static const char *const check_formats[] = {"text", "json", "sarif", NULL};
static const char *const check_colors[] = {"auto", "always", "never", NULL};
enum { CHECK_FORMAT, CHECK_WERROR, CHECK_COLOR };
static const OptSpec check_opts[] = {
    [CHECK_FORMAT] = {"--format", "FORMAT", check_formats,
                      "text (default, on stderr), json or sarif (on stdout)"},
    [CHECK_WERROR] = {"--werror", NULL, NULL, "treat warnings as errors (exit status 1)"},
    [CHECK_COLOR] = {"--color", "WHEN", check_colors,
                     "colour text output: auto (default), always or never"},
};

/* flowc check: check every file (each as its own program) and render all
 * diagnostics together. Text is streamed to stderr file by file with one
 * summary at the end; json and sarif are one document on stdout. */
static int cmd_check(const Command *cmd, const ParsedArgs *args) {
  if (args->npos == 0)
    return usage_error(cmd, "'flowc check' expects at least one FILE or DIR, found none");
  const char *format = args->values[CHECK_FORMAT] ? args->values[CHECK_FORMAT] : "text";
  bool text = strcmp(format, "text") == 0;
  bool werror = args->values[CHECK_WERROR] != NULL;
  bool color = want_color(args->values[CHECK_COLOR] ? args->values[CHECK_COLOR] : "auto");

  PathList files = {0};
  if (!collect_args(args, &files)) return EXIT_USAGE;

  Compilation **comps = calloc(files.n ? files.n : 1, sizeof *comps);
  DiagUnit *units = calloc(files.n ? files.n : 1, sizeof *units);
  if (!comps || !units) abort();
  size_t nerrors = 0, nwarnings = 0;
  for (size_t i = 0; i < files.n; i++) {
    Compilation *c = compilation_new();
    compilation_check_file(c, files.items[i]);
    const DiagList *dl = compilation_diags(c);
    nerrors += dl->nerrors;
    nwarnings += dl->nwarnings;
    if (text) { /* stream: print and free at once */
      diag_render_text_diags(stderr, compilation_sources(c), dl, color);
      compilation_free(c);
    } else {
      comps[i] = c;
      units[i].sources = compilation_sources(c);
      units[i].diags = dl;
    }
  }

  int status = nerrors || (werror && nwarnings) ? EXIT_FOUND : EXIT_CLEAN;
  if (text) {
    diag_render_text_summary(stderr, nerrors, nwarnings, color);
    if (werror && nwarnings && !nerrors)
      fprintf(stderr, "flowc: error: %zu warning%s treated as error%s (--werror)\n", nwarnings,
              nwarnings == 1 ? "" : "s", nwarnings == 1 ? "" : "s");
  } else {
    if (strcmp(format, "json") == 0)
      diag_render_json_units(stdout, units, files.n);
    else
      diag_render_sarif_units(stdout, units, files.n, FLOW_VERSION);
    for (size_t i = 0; i < files.n; i++) compilation_free(comps[i]);
    status = finish_stdout(status);
  }
  free(units);
  free(comps);
  paths_free(&files);
  return status;
}

/* ---------------------------------------------------------------------------
 * flowc explain
 * ------------------------------------------------------------------------- */

enum { EXPLAIN_LIST };
static const OptSpec explain_opts[] = {
    [EXPLAIN_LIST] = {"--list", NULL, NULL, "list every code with its title"},
};

/* flowc explain CODE: print the long explanation of a diagnostic code, as
 * embedded from docs/errors/CODE.md; --list prints every code and title. */
static int cmd_explain(const Command *cmd, const ParsedArgs *args) {
  if (args->values[EXPLAIN_LIST]) {
    if (args->npos)
      return usage_error(cmd, "'flowc explain --list' takes no CODE, found '%s'", args->pos[0]);
    for (int c = 0; c < DIAG_CODE_COUNT; c++)
      printf("%s  %s\n", diag_code_str((DiagCode)c), diag_code_title((DiagCode)c));
    return finish_stdout(EXIT_CLEAN);
  }
  if (args->npos == 0)
    return usage_error(cmd, "'flowc explain' expects an error code such as E0101, found nothing");
  if (args->npos > 1)
    return usage_error(cmd, "'flowc explain' expects one error code, found %zu arguments",
                       args->npos);
  DiagCode code;
  if (!diag_code_lookup(args->pos[0], &code)) {
    fprintf(stderr,
            "flowc: error: unknown error code '%s'; expected a code like E0101 "
            "(see `flowc explain --list`)\n",
            args->pos[0]);
    return EXIT_USAGE;
  }
  const char *name = diag_code_str(code);
  const EmbeddedFile *doc = embedded_find(embedded_error_docs, embedded_error_docs_count, name);
  if (!doc) {
    fprintf(stderr,
            "flowc: error: %s (%s) has no explanation in this build of flowc; "
            "expected docs/errors/%s.md to be embedded, found none\n",
            name, diag_code_title(code), name);
    return EXIT_USAGE;
  }
  fwrite(doc->text, 1, doc->len, stdout);
  if (doc->len == 0 || doc->text[doc->len - 1] != '\n') putchar('\n');
  return finish_stdout(EXIT_CLEAN);
}

/* ---------------------------------------------------------------------------
 * flowc run, compile and disasm
 * ------------------------------------------------------------------------- */

/* A program's prompts, model bindings and policies with their source text,
 * recorded with each run for `flowc runs diff`. */
typedef struct ProgramDefs {
  StoreDef *items;          /* names and texts malloc'd */
  size_t n;
} ProgramDefs;

static void collect_defs(Compilation *c, ProgramDefs *out) {
  static const char *const kinds[] = {[D_PROMPT] = "prompt", [D_MODEL] = "model", [D_POLICY] = "policy"};
  const Program *p = compilation_program(c);
  SourceMap *sm = compilation_sources(c);
  out->items = xmalloc((p->ndecls + 1) * sizeof *out->items);
  out->n = 0;
  for (size_t i = 0; i < p->ndecls; i++) {
    const Decl *d = p->decls[i];
    if (d->kind != D_PROMPT && d->kind != D_MODEL && d->kind != D_POLICY) continue;
    const SourceFile *f = source_map_file(sm, d->span.file);
    out->items[out->n++] = (StoreDef){kinds[d->kind], xstrdup(d->name.name),
                                      xstrndup(f->text + d->span.start, d->span.end - d->span.start)};
  }
}

static void defs_free(ProgramDefs *d) {
  for (size_t i = 0; i < d->n; i++) {
    free((char *)d->items[i].name);
    free((char *)d->items[i].text);
  }
  free(d->items);
}

/* The program in `path`: a .flowbc file is loaded and verified, anything
 * else is compiled from source (diagnostics printed). NULL on failure, with
 * *status set to the exit status to return. `defs`, when not NULL, receives
 * a source program's definitions (none for bytecode). */
static Image *load_program(const char *path, int *status, ProgramDefs *defs) {
  size_t n = strlen(path);
  if (n > 7 && strcmp(path + n - 7, ".flowbc") == 0) {
    char *text;
    size_t len;
    if (!program_read_file(path, &text, &len)) {
      io_error(path);
      *status = EXIT_USAGE;
      return NULL;
    }
    char err[512];
    Image *img = bytecode_read((const unsigned char *)text, len, err, sizeof err);
    free(text);
    if (!img) {
      fprintf(stderr, "flowc: error: cannot load `%s`: %s\n", path, err);
      *status = EXIT_USAGE;
    }
    return img;
  }
  Compilation *c = compilation_new();
  bool ok = compilation_check_file(c, path);
  const DiagList *dl = compilation_diags(c);
  if (dl->n) {
    bool color = want_color("auto");
    diag_render_text_diags(stderr, compilation_sources(c), dl, color);
    if (!ok) diag_render_text_summary(stderr, dl->nerrors, dl->nwarnings, color);
  }
  Image *img = ok ? compilation_lower(c) : NULL;
  if (!img) *status = dl->nerrors && dl->n && dl->items[0].code == DIAG_E0702 ? EXIT_USAGE : EXIT_FOUND;
  if (img && defs) collect_defs(c, defs);
  compilation_free(c);
  return img;
}

/* The store a program in `folder` uses when --store is not given: $FLOW_STORE
 * (NULL when it says off), else .flow/store.db in the folder (*owned). */
static const char *default_store(const char *folder, char **owned) {
  const char *env = getenv("FLOW_STORE");
  if (env && *env) return strcmp(env, "off") ? env : NULL;
  *owned = xmalloc(strlen(folder) + 32);
  sprintf(*owned, "%s/.flow/store.db", folder);
  return *owned;
}

/* The command line after `flowc`, as a JSON array of strings. */
static char *argv_json(const ParsedArgs *args) {
  json_t *a = json_array();
  json_array_append_new(a, json_string("run"));
  for (int i = 0; i < args->argc; i++) json_array_append_new(a, json_string(args->argv[i]));
  char *s = json_dumps(a, JSON_COMPACT);
  json_decref(a);
  return s;
}

static int cmd_run(const Command *cmd, const ParsedArgs *args);

/* flowc run --resume ID|last: the recorded run's command line, again, from
 * the folder it ran in, its stored calls served from the cache. */
static int resume_run(const Command *cmd, const ParsedArgs *args) {
  const char *path = args->values[RUN_STORE] ? args->values[RUN_STORE] : ".flow/store.db";
  char err[1024];
  Store *st = store_open(path, err, sizeof err);
  StoreRun r;
  if (!st || !store_run_get(st, args->values[RUN_RESUME], &r, err, sizeof err)) {
    store_close(st);
    fprintf(stderr, "flowc: error: --resume: %s\n", err);
    return EXIT_USAGE;
  }
  store_close(st);
  json_t *a = json_loads(r.argv_json, 0, NULL);
  size_t n = json_is_array(a) ? json_array_size(a) : 0;
  int status = EXIT_USAGE;
  if (n < 2 || chdir(r.cwd) != 0) {
    fprintf(stderr, "flowc: error: --resume: run %s recorded %s; expected a command line and a folder that exists\n",
            r.id, n < 2 ? "no command line" : r.cwd);
  } else {
    char **argv = xmalloc((n + 1) * sizeof *argv);
    for (size_t i = 1; i < n; i++) argv[i - 1] = (char *)json_string_value(json_array_get(a, i));
    ParsedArgs again;
    if (parse_args(cmd, (int)(n - 1), argv, &again) == 0) {
      fprintf(stderr, "flowc: resuming run %s in %s\n", r.id, r.cwd);
      status = cmd_run(cmd, &again);
    }
    cli_args_free(&again);
    free(argv);
  }
  json_decref(a);
  store_run_free(&r);
  return status;
}

/* flowc run: compile (or load) a program and run its main flow. */
static int cmd_run(const Command *cmd, const ParsedArgs *args) {
  if (args->values[RUN_RESUME]) {
    if (args->npos) return usage_error(cmd, "--resume runs a recorded command line; expected no FILE, found '%s'", args->pos[0]);
    return resume_run(cmd, args);
  }
  if (args->npos != 1) return usage_error(cmd, "'flowc run' expects one FILE (.flow or .flowbc), found %zu", args->npos);
  RunCli rc;
  char err[512];
  if (!run_cli_options(args, &rc, err, sizeof err)) {
    run_cli_free(&rc);
    return usage_error(cmd, "%s", err);
  }
  int status = EXIT_CLEAN;
  ProgramDefs defs = {0};
  Image *img = load_program(args->pos[0], &status, &defs);
  if (img) {
    char *dir = xstrdup(args->pos[0]), *store = NULL, *json = argv_json(args), cwd[4096];
    char *program = realpath(args->pos[0], NULL);
    const char *folder = dirname(dir);
    rc.opt.root = args->values[RUN_ROOT] ? args->values[RUN_ROOT] : folder;
    if (!args->values[RUN_STORE]) rc.opt.store = default_store(folder, &store);
    rc.opt.argv_json = json;
    rc.opt.cwd = getcwd(cwd, sizeof cwd) ? cwd : ".";
    rc.opt.program = program;
    rc.opt.defs = defs.items;
    rc.opt.ndefs = defs.n;
    status = run_image(img, &rc.opt);
    image_free(img);
    free(program);
    free(dir);
    free(store);
    free(json);
  }
  run_cli_free(&rc);
  defs_free(&defs);
  return status;
}

enum { TEST_FORMAT, TEST_OUTPUT, TEST_ALLOW_NETWORK, TEST_COLOR };
static const char *const test_formats[] = {"text", "tap", "junit", NULL};
static const OptSpec test_opts[] = {
    [TEST_FORMAT] = {"--format", "FORMAT", test_formats, "how results are written (default text)"},
    [TEST_OUTPUT] = {"--output", "FILE", NULL, "where results go (default: standard output)"},
    [TEST_ALLOW_NETWORK] = {"--allow-network", NULL, NULL, "calls a test does not mock may go to their provider"},
    [TEST_COLOR] = {"--color", "WHEN", check_colors, "colour text output: auto, always or never (default auto)"},
};

/* flowc test: run the `test` blocks of each file offline. */
static int cmd_test(const Command *cmd, const ParsedArgs *args) {
  if (args->npos == 0) return usage_error(cmd, "'flowc test' expects at least one FILE or DIR, found none");
  PathList files = {0};
  if (!collect_args(args, &files)) return EXIT_USAGE;
  const char *format = args->values[TEST_FORMAT] ? args->values[TEST_FORMAT] : "text";
  const char *output = args->values[TEST_OUTPUT];
  FILE *out = output ? fopen(output, "w") : stdout;
  if (!out) {
    fprintf(stderr, "flowc: error: cannot write `%s`: %s\n", output, strerror(errno));
    paths_free(&files);
    return EXIT_USAGE;
  }
  TestRunConfig cfg = {(const char *const *)files.items, files.n,
                       !strcmp(format, "tap") ? TEST_TAP : !strcmp(format, "junit") ? TEST_JUNIT : TEST_TEXT,
                       args->values[TEST_ALLOW_NETWORK] != NULL, false, out, stderr};
  cfg.color = cfg.format == TEST_TEXT && want_color_on(out, args->values[TEST_COLOR] ? args->values[TEST_COLOR] : "auto");
  int status = test_runner_run(&cfg);
  paths_free(&files);
  if (output) {
    if (fclose(out) != 0) {
      fprintf(stderr, "flowc: error: cannot write `%s`: %s\n", output, strerror(errno));
      return EXIT_USAGE;
    }
    return status;
  }
  return finish_stdout(status);
}

enum { COMPILE_OUT };
static const OptSpec compile_opts[] = {
    [COMPILE_OUT] = {"-o", "FILE", NULL, "where the bytecode goes (default: FILE with .flowbc)"},
};

/* The program in `path` as verified canonical bytecode (malloc'd) and as
 * the Image that loads from it (what a built executable will run). NULL,
 * with *status set, when it cannot be compiled or written. */
static Image *program_bytecode(const char *path, unsigned char **bytes, size_t *len, int *status) {
  Image *img = load_program(path, status, NULL);
  if (!img) return NULL;
  bool ok = bytecode_write(img, bytes, len);
  image_free(img);
  char err[512] = "";
  Image *check = ok ? bytecode_read(*bytes, *len, err, sizeof err) : NULL; /* write only what loads */
  if (!check) {
    fprintf(stderr, "flowc: error: the program cannot be written as bytecode%s%s\n", *err ? ": " : "", err);
    if (ok) free(*bytes);
    *status = EXIT_FOUND;
  }
  return check;
}

/* FILE without its extension, then `suffix` ("x.flow" -> "x.flowbc"). */
static void default_output(const char *file, const char *suffix, char *out, size_t size) {
  snprintf(out, size, "%s", file);
  char *dot = strrchr(out, '.');
  if (dot && !strchr(dot, '/')) *dot = '\0';
  strncat(out, suffix, size - strlen(out) - 1);
}

/* flowc compile: a program to a verified bytecode file. */
static int cmd_compile(const Command *cmd, const ParsedArgs *args) {
  if (args->npos != 1) return usage_error(cmd, "'flowc compile' expects one FILE, found %zu", args->npos);
  int status = EXIT_CLEAN;
  unsigned char *bytes;
  size_t len;
  Image *img = program_bytecode(args->pos[0], &bytes, &len, &status);
  if (!img) return status;
  image_free(img);
  char def[4096];
  const char *out = args->values[COMPILE_OUT];
  if (!out) {
    default_output(args->pos[0], ".flowbc", def, sizeof def);
    out = def;
  }
  FILE *f = fopen(out, "wb");
  if (!f || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) {
    free(bytes);
    return io_error(out) ? EXIT_CLEAN : EXIT_USAGE;
  }
  free(bytes);
  return EXIT_CLEAN;
}

enum { BUILD_OUT, BUILD_EMIT_LLVM, BUILD_EMIT_OBJ };
static const OptSpec build_opts[] = {
    [BUILD_OUT] = {"-o", "NAME", NULL, "where the executable (or the .ll / .o) goes (default: FILE without .flow)"},
    [BUILD_EMIT_LLVM] = {"--emit-llvm", NULL, NULL, "write the optimised LLVM IR (NAME.ll) instead of an executable"},
    [BUILD_EMIT_OBJ] = {"--emit-obj", NULL, NULL, "write the object file (NAME.o) instead of an executable"},
};

/* flowc build: a program as a standalone executable. */
static int cmd_build(const Command *cmd, const ParsedArgs *args) {
  if (args->npos != 1) return usage_error(cmd, "'flowc build' expects one FILE (.flow or .flowbc), found %zu", args->npos);
  if (args->values[BUILD_EMIT_LLVM] && args->values[BUILD_EMIT_OBJ])
    return usage_error(cmd, "--emit-llvm and --emit-obj each replace the executable; expected one of them");
  BuildEmit emit = args->values[BUILD_EMIT_LLVM] ? BUILD_LLVM_IR : args->values[BUILD_EMIT_OBJ] ? BUILD_OBJECT
                                                                                                : BUILD_EXECUTABLE;
  char def[4096];
  const char *out = args->values[BUILD_OUT];
  if (!out) {
    default_output(args->pos[0], emit == BUILD_LLVM_IR ? ".ll" : emit == BUILD_OBJECT ? ".o" : "", def, sizeof def);
    out = def;
  }
  int status = EXIT_CLEAN;
  unsigned char *bytes;
  size_t len;
  Image *img = program_bytecode(args->pos[0], &bytes, &len, &status);
  if (!img) return status;
  char err[1024];
  if (img->main_flow < 0) {
    snprintf(err, sizeof err, "the program has no `flow main`; expected one to build an executable around");
    status = EXIT_FOUND;
  } else {
    char *dir = xstrdup(args->pos[0]);
    if (!build_program(img, bytes, len, dirname(dir), emit, out, err, sizeof err)) status = EXIT_USAGE;
    free(dir);
  }
  if (status != EXIT_CLEAN) fprintf(stderr, "flowc: error: %s\n", err);
  image_free(img);
  free(bytes);
  return status;
}

/* ---------------------------------------------------------------------------
 * flowc cache, flowc runs: the run store
 * ------------------------------------------------------------------------- */

enum { STORE_PATH };
static const OptSpec store_opts[] = {
    [STORE_PATH] = {"--store", "PATH", NULL, "the run store (default .flow/store.db in the current folder)"},
};

static Store *open_store_arg(const ParsedArgs *args) {
  char err[1024];
  char *owned = NULL;
  const char *path = args->values[STORE_PATH] ? args->values[STORE_PATH] : default_store(".", &owned);
  Store *st = path ? store_open(path, err, sizeof err) : NULL;
  if (!path) snprintf(err, sizeof err, "FLOW_STORE says off; expected --store PATH to name the store");
  if (!st) fprintf(stderr, "flowc: error: %s\n", err);
  free(owned);
  return st;
}

static void print_prompt_stats(void *ctx, const char *prompt, uint64_t entries, uint64_t bytes) {
  fprintf(ctx, "  %-24s %8llu replies %10llu bytes\n", prompt, (unsigned long long)entries, (unsigned long long)bytes);
}

/* flowc cache stats|clear [PROMPT]: what the model-call cache holds; empty it. */
static int cmd_cache(const Command *cmd, const ParsedArgs *args) {
  bool stats = args->npos == 1 && !strcmp(args->pos[0], "stats");
  bool clear = args->npos >= 1 && args->npos <= 2 && !strcmp(args->pos[0], "clear");
  if (!stats && !clear)
    return usage_error(cmd, "'flowc cache' expects `stats` or `clear [PROMPT]`, found %s",
                       args->npos ? args->pos[0] : "nothing");
  Store *st = open_store_arg(args);
  if (!st) return EXIT_USAGE;
  char err[1024];
  bool ok;
  if (stats) {
    StoreCacheStats total;
    ok = store_cache_stats(st, &total, print_prompt_stats, stdout, err, sizeof err);
    if (ok) printf("cache: %llu replies, %llu bytes\n", (unsigned long long)total.entries,
                   (unsigned long long)total.bytes);
  } else {
    uint64_t n = 0;
    ok = store_cache_clear(st, args->npos == 2 ? args->pos[1] : NULL, &n, err, sizeof err);
    if (ok) printf("cache: %llu replies dropped\n", (unsigned long long)n);
  }
  if (!ok) fprintf(stderr, "flowc: error: %s\n", err);
  store_close(st);
  return ok ? finish_stdout(EXIT_CLEAN) : EXIT_USAGE;
}

static void print_run_line(void *ctx, const StoreRun *r) {
  char when[32];
  time_t t = (time_t)r->started;
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime(&t));
  fprintf(ctx, "%s  %s UTC  %-8s %6llu ok %6llu failed  program %.12s\n", r->id, when, r->status,
          (unsigned long long)r->ok, (unsigned long long)r->failed, r->program_hash);
}

/* flowc runs diff [A [B]]: B defaults to the latest run, A to the run of
 * the same program before B. */
static bool runs_diff_args(Store *st, const ParsedArgs *args, char *err, size_t errlen) {
  StoreRun a, b;
  if (!store_run_get(st, args->npos == 3 ? args->pos[2] : "last", &b, err, errlen)) return false;
  bool ok = args->npos >= 2 ? store_run_get(st, args->pos[1], &a, err, errlen)
                            : store_run_latest(st, b.program, &b, &a, err, errlen);
  if (ok) {
    ok = runs_diff(st, &a, &b, stdout, err, errlen);
    store_run_free(&a);
  }
  store_run_free(&b);
  return ok;
}

/* flowc runs list|show ID|diff [A [B]]: the recorded runs. */
static int cmd_runs(const Command *cmd, const ParsedArgs *args) {
  const char *verb = args->npos ? args->pos[0] : "";
  bool list = args->npos == 1 && !strcmp(verb, "list");
  bool show = args->npos == 2 && !strcmp(verb, "show");
  bool diff = args->npos >= 1 && args->npos <= 3 && !strcmp(verb, "diff");
  bool prune = args->npos == 2 && !strcmp(verb, "prune");
  char *end = NULL;
  unsigned long keep = prune ? strtoul(args->pos[1], &end, 10) : 0;
  if (prune && (*args->pos[1] < '0' || *args->pos[1] > '9' || *end || keep > 1000000))
    return usage_error(cmd, "'flowc runs prune' expects how many runs to keep (0 to 1000000), found '%s'",
                       args->pos[1]);
  if (!list && !show && !diff && !prune)
    return usage_error(cmd, "'flowc runs' expects `list`, `show ID`, `diff [A [B]]` or `prune KEEP`, found %s",
                       args->npos ? args->pos[0] : "nothing");
  Store *st = open_store_arg(args);
  if (!st) return EXIT_USAGE;
  char err[1024];
  bool ok;
  if (list) {
    ok = store_runs_each(st, 0, print_run_line, stdout, err, sizeof err);
  } else if (diff) {
    ok = runs_diff_args(st, args, err, sizeof err);
  } else if (prune) {
    uint64_t n;
    if ((ok = store_runs_prune(st, (uint32_t)keep, &n, err, sizeof err)))
      printf("runs: %llu removed, the latest %lu kept (the cache is unchanged)\n", (unsigned long long)n, keep);
  } else {
    StoreRun r;
    if ((ok = store_run_get(st, args->pos[1], &r, err, sizeof err))) {
      print_run_line(stdout, &r);
      printf("program  %s\nfile     %s\nfolder   %s\ncommand  flowc %s\n", r.program_hash, r.program, r.cwd,
             r.argv_json);
      store_run_free(&r);
    }
  }
  if (!ok) fprintf(stderr, "flowc: error: %s\n", err);
  store_close(st);
  return ok ? finish_stdout(EXIT_CLEAN) : EXIT_USAGE;
}

/* flowc why FILE [RUN]: why each call of the program's latest run (or RUN)
 * was or was not served from the cache. */
static int cmd_why(const Command *cmd, const ParsedArgs *args) {
  if (args->npos < 1 || args->npos > 2)
    return usage_error(cmd, "'flowc why' expects a program FILE and optionally a RUN, found %zu arguments", args->npos);
  char *program = realpath(args->pos[0], NULL), *owned = NULL, *dir = xstrdup(args->pos[0]), err[1024];
  const char *path = args->values[STORE_PATH] ? args->values[STORE_PATH] : default_store(dirname(dir), &owned);
  Store *st = program && path ? store_open(path, err, sizeof err) : NULL;
  if (!program) snprintf(err, sizeof err, "cannot read `%s`: %s", args->pos[0], strerror(errno));
  else if (!path) snprintf(err, sizeof err, "FLOW_STORE says off; expected --store PATH to name the store");
  StoreRun run, before;
  bool ok = st && (args->npos == 2 ? store_run_get(st, args->pos[1], &run, err, sizeof err)
                                   : store_run_latest(st, program, NULL, &run, err, sizeof err));
  if (ok) {
    bool has_before = store_run_latest(st, run.program, &run, &before, err, sizeof err);
    ok = cache_why(st, &run, has_before ? &before : NULL, stdout, err, sizeof err);
    if (has_before) store_run_free(&before);
    store_run_free(&run);
  }
  if (!ok) fprintf(stderr, "flowc: error: %s\n", err);
  store_close(st);
  free(program);
  free(owned);
  free(dir);
  return ok ? finish_stdout(EXIT_CLEAN) : EXIT_USAGE;
}

/* flowc disasm: the listing of a program's bytecode. */
static int cmd_disasm(const Command *cmd, const ParsedArgs *args) {
  if (args->npos != 1) return usage_error(cmd, "'flowc disasm' expects one FILE (.flow or .flowbc), found %zu", args->npos);
  int status = EXIT_CLEAN;
  Image *img = load_program(args->pos[0], &status, NULL);
  if (!img) return status;
  disasm_image(stdout, img);
  image_free(img);
  return finish_stdout(EXIT_CLEAN);
}

/* ---------------------------------------------------------------------------
 * flowc help, and the command table
 * ------------------------------------------------------------------------- */

static int cmd_help(const Command *cmd, const ParsedArgs *args);

static const Command commands[] = {
    {"check", "check .flow files for errors without running them",
     "flowc check [OPTIONS] FILE|DIR...",
     "Each FILE is checked as its own program, together with everything it imports.\n"
     "A DIR is searched recursively for *.flow files, in sorted order; hidden files\n"
     "and directories are skipped. A clean check prints nothing.\n"
     "\n"
     "Exit status: 0 no errors (warnings allowed), 1 errors found (or warnings with\n"
     "--werror), 2 usage or I/O error.\n",
     check_opts, sizeof check_opts / sizeof check_opts[0], cmd_check},
    {"explain", "print the explanation of a diagnostic code", "flowc explain CODE\n"
     "       flowc explain --list",
     "Prints the long explanation of CODE (such as E0101), with an example that\n"
     "draws it and the fix.\n",
     explain_opts, sizeof explain_opts / sizeof explain_opts[0], cmd_explain},
    {"run", "run a program's main flow over JSON Lines input", "flowc run [OPTIONS] FILE|FILE.flowbc",
     "Compiles FILE (or loads compiled bytecode) and runs `main` once per input line;\n"
     "results are written in input order whatever order replies arrive in.\n"
     "\n"
     "Exit status: 0 every item succeeded, 1 an item failed (the program does not\n"
     "check, or a run-time failure), 2 usage or I/O error, 3 a budget ran out.\n",
     run_cli_opts, RUN_NFLAGS, cmd_run},
    {"test", "run the test blocks of .flow files offline", "flowc test [OPTIONS] FILE|DIR...",
     "Each FILE is compiled as its own program and its `test` blocks run, in order,\n"
     "offline: prompts answer with their mocks, a `mock MODEL` binding with the\n"
     "built-in mock provider, and a call to a network binding the test does not mock\n"
     "is an error unless --allow-network. A DIR is searched for *.flow files as by\n"
     "`flowc check`.\n"
     "\n"
     "Exit status: 0 every test passed, 1 a test failed or could not run (or a file\n"
     "does not check), 2 usage or I/O error.\n",
     test_opts, sizeof test_opts / sizeof test_opts[0], cmd_test},
    {"build", "compile a program into a standalone executable", "flowc build [-o NAME] FILE",
     "Compiles FILE through LLVM into an executable that runs the program's `main`\n"
     "with the same options as `flowc run` (--input, --mock, --replay, budgets, ...),\n"
     "needing neither flowc nor the source; its --help describes `main`'s input and\n"
     "its --version gives the program's content hash.\n"
     "\n"
     "Exit status: 0 built, 1 the program does not check, 2 usage or I/O error, or\n"
     "LLVM or the linker failed.\n",
     build_opts, sizeof build_opts / sizeof build_opts[0], cmd_build},
    {"cache", "show or empty the model-call cache", "flowc cache stats|clear [PROMPT] [--store PATH]",
     "`stats` prints how many replies the run store caches, per prompt; `clear` drops\n"
     "them all, or those of one prompt.\n",
     store_opts, sizeof store_opts / sizeof store_opts[0], cmd_cache},
    {"runs", "list, show, compare or prune recorded runs",
     "flowc runs list|show RUN|diff [A [B]]|prune KEEP [--store PATH]",
     "The runs the store recorded: id, start, status, items done and failed, and\n"
     "the program's content hash; `show` adds the folder and command line\n"
     "(what `flowc run --resume ID` runs again). `diff` compares run A with run B:\n"
     "the prompts, bindings and policies whose text changed (by hash, with a line\n"
     "diff), the items whose output changed (field by field), and each eval's and\n"
     "check's pass rate. B defaults to the latest run, A to the run of the same\n"
     "program before B. RUN is an id, a unique prefix of it (4+ digits), `last`\n"
     "or `last~N` (N runs before the latest). `prune KEEP` forgets every finished\n"
     "run but the latest KEEP (the model-call cache stays).\n",
     store_opts, sizeof store_opts / sizeof store_opts[0], cmd_runs},
    {"why", "say why calls were or were not served from the cache", "flowc why FILE [RUN] [--store PATH]",
     "For the latest recorded run of program FILE (or RUN), each prompt's calls\n"
     "served from the cache and those that were not, with the reason: what in the\n"
     "request changed since the run of the program before it (the binding, a\n"
     "parameter, a context's content, which message, the output schema), or why\n"
     "nothing could be reused. The store is FILE's (.flow/store.db beside it).\n",
     store_opts, sizeof store_opts / sizeof store_opts[0], cmd_why},
    {"compile", "compile a program to bytecode", "flowc compile [-o X.flowbc] FILE",
     "Writes the program as verified, versioned bytecode; its SHA-256 is the\nprogram's version id.\n",
     compile_opts, sizeof compile_opts / sizeof compile_opts[0], cmd_compile},
    {"disasm", "print the bytecode of a program", "flowc disasm FILE|FILE.flowbc", "", NULL, 0, cmd_disasm},
    {"help", "print help for flowc or one of its commands", "flowc help [COMMAND]", "", NULL, 0,
     cmd_help},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* Print the overview: usage, the commands and the global options. */
static void print_overview(FILE *out) {
  fprintf(out,
          "flowc %s - the compiler for flow, a language for AI workflows\n\n"
          "Usage: flowc COMMAND [OPTIONS] [ARGS]\n\nCommands:\n",
          FLOW_VERSION);
  for (size_t i = 0; i < NCOMMANDS; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fputs("\nOptions:\n"
        "  -h, --help   print this help\n"
        "  --version    print the version of flowc\n"
        "\nRun 'flowc help COMMAND' for the options of one command.\n",
        out);
}

/* The command called `name`, or NULL. */
static const Command *find_command(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

/* Report a name that is not a command: what was found, what is expected. */
static int unknown_command(const char *name) {
  fprintf(stderr, "flowc: error: unknown command '%s'; expected one of ", name);
  for (size_t i = 0; i < NCOMMANDS; i++)
    fprintf(stderr, "%s%s", commands[i].name,
            i + 2 < NCOMMANDS ? ", " : i + 1 < NCOMMANDS ? " or " : "");
  fputs("\n(see 'flowc help')\n", stderr);
  return EXIT_USAGE;
}

/* flowc help [COMMAND]: the overview, or one command's help, on stdout. */
static int cmd_help(const Command *cmd, const ParsedArgs *args) {
  if (args->npos > 1)
    return usage_error(cmd, "'flowc help' expects at most one COMMAND, found %zu arguments",
                       args->npos);
  if (args->npos == 0) {
    print_overview(stdout);
    return finish_stdout(EXIT_CLEAN);
  }
  const Command *target = find_command(args->pos[0]);
  if (!target) return unknown_command(args->pos[0]);
  print_command_help(stdout, target);
  return finish_stdout(EXIT_CLEAN);
}

/* Dispatch on argv[1]: a global option (--version, --help) or a command. */
int main(int argc, char **argv) {
  if (argc < 2) {
    fputs("flowc: error: expected a command (check, explain or help), found nothing\n\n",
          stderr);
    print_overview(stderr);
    return EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
    printf("flowc %s\n", FLOW_VERSION);
    return finish_stdout(EXIT_CLEAN);
  }
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
    print_overview(stdout);
    return finish_stdout(EXIT_CLEAN);
  }
  if (name[0] == '-')
    return usage_error(NULL, "unknown option '%s'; expected a command (check, explain or help), "
                             "--help or --version",
                       name);
  const Command *cmd = find_command(name);
  if (!cmd) return unknown_command(name);

  ParsedArgs args;
  int status = parse_args(cmd, argc - 2, argv + 2, &args);
  if (status == 0 && args.help) {
    print_command_help(stdout, cmd);
    status = finish_stdout(EXIT_CLEAN);
  } else if (status == 0) {
    status = cmd->run(cmd, &args);
  }
  free(args.pos);
  return status;
}
