/* native_main.c - the command line of a built executable (see native_main.h). */
#include "native_main.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "bytecode.h"
#include "json_value.h"
#include "run_cli.h"

#ifndef FLOW_VERSION
#define FLOW_VERSION "unknown"
#endif

/* The run flags and --version. */
enum { NATIVE_VERSION = RUN_NFLAGS, NATIVE_NOPTS };

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

int flow_native_main(int argc, char **argv, const unsigned char *image, size_t len, const void *const *native,
                     size_t nnative) {
  const char *prog = prog_name(argc > 0 ? argv[0] : NULL);
  char err[512];
  Image *img = bytecode_read(image, len, err, sizeof err);
  if (!img) {
    fprintf(stderr, "%s: error: the program inside this executable is damaged: %s\n", prog, err);
    return RUN_USAGE;
  }
  if (nnative != img->nfuncs) {
    fprintf(stderr, "%s: error: the program inside this executable is damaged: %zu compiled functions for %u\n", prog,
            nnative, img->nfuncs);
    image_free(img);
    return RUN_USAGE;
  }
  CliOpt opts[NATIVE_NOPTS];
  memcpy(opts, run_cli_opts, sizeof run_cli_opts);
  opts[RUN_ROOT].help = "the folder context paths are relative to (default: the current folder)";
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
  } else if (!run_cli_options(&args, &rc, err, sizeof err)) {
    fprintf(stderr, "%s: error: %s\n%s\n", prog, err, hint);
    status = RUN_USAGE;
  } else {
    rc.opt.root = args.values[RUN_ROOT] ? args.values[RUN_ROOT] : ".";
    rc.opt.prog = prog;
    rc.opt.native = native;
    status = run_image(img, &rc.opt);
  }
  run_cli_free(&rc);
  cli_args_free(&args);
  image_free(img);
  return status;
}
