/* native_main.c - the command line of a built executable (see native_main.h). */
#include "native_main.h"

#include <libgen.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "bytecode.h"
#include "context.h"
#include "json_value.h"
#include "run_cli.h"

#ifndef FLOW_VERSION
#define FLOW_VERSION "unknown"
#endif

/* The run flags and --version. */
enum { NATIVE_VERSION = RUN_NFLAGS, NATIVE_NOPTS };
_Static_assert(NATIVE_NOPTS <= CLI_MAX_OPTS, "raise CLI_MAX_OPTS for an executable's flags");

/* The program's name as the user typed it, without its folder. */
static const char *prog_name(const char *argv0) {
  const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
  return slash ? slash + 1 : argv0 ? argv0 : "flow-program";
}

/* --help: what the program does (main's doc comment), what each input line
 * holds (main's parameters, their types and doc comments), the options. */
static void print_help(FILE *out, const Image *img, const char *prog, const CliOpt *opts) {
  const ImgFlow *mf = &img->flows[img->main_flow];
  fprintf(out, "%s - %s\n\n", prog, mf->doc && *mf->doc ? mf->doc : "a flow pipeline built with flowc");
  if (mf->nparams == 0) {
    fprintf(out, "Usage: %s [OPTIONS]\n\nRuns once; takes no input.\n", prog);
  } else {
    fprintf(out, "Usage: %s [OPTIONS] --input ITEMS.jsonl\n\n", prog);
    fprintf(out, "Runs once per input line, writing one JSON line per item in input order.\n");
    fprintf(out, mf->nparams == 1 ? "Each input line is:\n" : "Each input line is an object with:\n");
    for (uint32_t i = 0; i < mf->nparams; i++) {
      char type[512];
      json_describe_type(img, mf->param_types[i], type, sizeof type);
      fprintf(out, "  %-16s %s", mf->param_names[i], type);
      if (mf->param_docs && mf->param_docs[i] && *mf->param_docs[i]) fprintf(out, ": %s", mf->param_docs[i]);
      fputc('\n', out);
    }
  }
  fputs("\nOptions:\n", out);
  cli_print_options(out, opts, NATIVE_NOPTS);
}

static void print_version(FILE *out, const Image *img, const char *prog) {
  char hex[65];
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", img->hash[i]);
  fprintf(out, "%s %s (built by flowc %s)\n", prog, hex, FLOW_VERSION);
}

/* Little-endian integers of the files blob. */
static uint64_t get_le(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

/* The files of the blob (pointing into it; free the array), or NULL with
 * *n 0 when it is empty or damaged (*ok false). */
static ContextFile *parse_files(const unsigned char *blob, size_t len, size_t *n, bool *ok) {
  *n = 0;
  *ok = true;
  if (len < 4) return NULL;
  uint64_t count = get_le(blob, 4), at = 4;
  ContextFile *files = xmalloc((count ? count : 1) * sizeof *files);
  for (uint64_t i = 0; i < count && *ok; i++) {
    uint64_t pl = at + 4 <= len ? get_le(blob + at, 4) : UINT64_MAX;
    if (pl == UINT64_MAX || pl == 0 || at + 4 + pl + 8 > len || blob[at + 4 + pl - 1] != '\0') {
      *ok = false;
      break;
    }
    files[i].path = (const char *)blob + at + 4;
    at += 4 + pl;
    uint64_t dl = get_le(blob + at, 8);
    if (dl > len - at - 8) {
      *ok = false;
      break;
    }
    files[i].data = (const char *)blob + at + 8;
    files[i].len = (size_t)dl;
    at += 8 + dl;
    *n = (size_t)i + 1;
  }
  if (!*ok) {
    free(files);
    *n = 0;
    return NULL;
  }
  return files;
}

int flow_native_main(int argc, char **argv, const unsigned char *image, size_t len, const void *const *native,
                     size_t nnative, const unsigned char *files_blob, size_t files_len) {
  const char *prog = prog_name(argc > 0 ? argv[0] : NULL);
  char err[512];
  Image *img = bytecode_read(image, len, err, sizeof err);
  if (!img) {
    fprintf(stderr, "%s: error: the program inside this executable is damaged: %s\n", prog, err);
    return RUN_USAGE;
  }
  size_t nfiles;
  bool files_ok;
  ContextFile *files = parse_files(files_blob, files_len, &nfiles, &files_ok);
  if (nnative != img->nfuncs || !files_ok) {
    free(files);
    fprintf(stderr, "%s: error: the program inside this executable is damaged: %s\n", prog,
            files_ok ? "its compiled functions do not match its image" : "its context files cannot be read");
    image_free(img);
    return RUN_USAGE;
  }
  CliOpt opts[NATIVE_NOPTS];
  memcpy(opts, run_cli_opts, sizeof run_cli_opts);
  opts[RUN_ROOT].help = "read context files from this folder instead of those built in";
  opts[NATIVE_VERSION] = (CliOpt){"--version", NULL, NULL, "print the program's content hash and flowc's version"};
  char hint[300];
  snprintf(hint, sizeof hint, "(see '%s --help')", prog);
  CliArgs args;
  int status = RUN_OK;
  RunCli rc = {0};
  if (!cli_parse(opts, NATIVE_NOPTS, argc > 0 ? argc - 1 : 0, argv + (argc > 0), prog, prog, hint, &args)) {
    status = RUN_USAGE;
  } else if (args.help) {
    print_help(stdout, img, prog, opts);
  } else if (args.values[NATIVE_VERSION]) {
    print_version(stdout, img, prog);
  } else if (args.npos) {
    fprintf(stderr, "%s: error: expected only options (the items come with --input), found '%s'\n%s\n", prog,
            args.pos[0], hint);
    status = RUN_USAGE;
  } else if (args.values[RUN_RESUME]) {
    fprintf(stderr, "%s: error: --resume is for `flowc run`; expected a run of this executable without it\n%s\n",
            prog, hint);
    status = RUN_USAGE;
  } else if (!run_cli_options(&args, &rc, err, sizeof err)) {
    fprintf(stderr, "%s: error: %s\n%s\n", prog, err, hint);
    status = RUN_USAGE;
  } else {
    rc.opt.root = args.values[RUN_ROOT] ? args.values[RUN_ROOT] : ".";
    if (!args.values[RUN_ROOT] && nfiles) { /* the files built in, unless --root points at others */
      rc.opt.files = files;
      rc.opt.nfiles = nfiles;
    }
    rc.opt.prog = prog;
    rc.opt.native = native;
    status = run_image(img, &rc.opt);
  }
  run_cli_free(&rc);
  cli_args_free(&args);
  image_free(img);
  free(files);
  return status;
}
