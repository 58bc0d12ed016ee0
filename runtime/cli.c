/* cli.c - the shared command-line option parser (see cli.h). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"

void cli_print_choices(FILE *out, const char *const *choices) {
  for (size_t i = 0; choices[i]; i++) {
    if (i) fputs(choices[i + 1] ? ", " : " or ", out);
    fputs(choices[i], out);
  }
}

/* "expected one of --a, --b or --help" */
static void print_option_names(FILE *out, const CliOpt *opts, size_t nopts) {
  fputs("expected ", out);
  fputs(nopts ? "one of " : "", out);
  for (size_t i = 0; i < nopts; i++) fprintf(out, "%s, ", opts[i].name);
  fputs(nopts ? "or --help" : "--help", out);
}

/* The option called `arg` (up to `namelen` bytes), or nopts. */
static size_t find_opt(const CliOpt *opts, size_t nopts, const char *arg, size_t namelen) {
  size_t k = 0;
  while (k < nopts && !(strlen(opts[k].name) == namelen && strncmp(opts[k].name, arg, namelen) == 0)) k++;
  return k;
}

/* Check `value` for option `o`; false after printing what was expected. */
static bool good_value(const CliOpt *o, const char *value, const char *prog, const char *hint) {
  if (!value || (o->choices && value[0] == '\0')) {
    fprintf(stderr, "%s: error: option '%s' expects %s", prog, o->name, o->metavar);
    if (o->choices) {
      fputs(" (", stderr);
      cli_print_choices(stderr, o->choices);
      fputs(")", stderr);
    }
    fprintf(stderr, ", found %s\n%s\n", value ? "an empty value" : "the end of the arguments", hint);
    return false;
  }
  if (!o->choices) return true;
  for (size_t c = 0; o->choices[c]; c++)
    if (!strcmp(o->choices[c], value)) return true;
  fprintf(stderr, "%s: error: option '%s' expects ", prog, o->name);
  cli_print_choices(stderr, o->choices);
  fprintf(stderr, ", found '%s'\n%s\n", value, hint);
  return false;
}

bool cli_parse(const CliOpt *opts, size_t nopts, int argc, char **argv, const char *prog, const char *command,
               const char *hint, CliArgs *out) {
  memset(out, 0, sizeof *out);
  out->pos = xmalloc(((size_t)argc + 1) * sizeof *out->pos);
  out->argv = argv;
  out->argc = argc;
  bool options_done = false;
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (options_done || arg[0] != '-' || arg[1] == '\0') {
      out->pos[out->npos++] = arg;
      continue;
    }
    if (!strcmp(arg, "--")) {
      options_done = true;
      continue;
    }
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
      out->help = true;
      continue;
    }
    const char *eq = strchr(arg, '=');
    size_t namelen = eq ? (size_t)(eq - arg) : strlen(arg);
    size_t k = find_opt(opts, nopts, arg, namelen);
    if (k == nopts) {
      fprintf(stderr, "%s: error: unknown option '%.*s' for '%s'; ", prog, (int)namelen, arg, command);
      print_option_names(stderr, opts, nopts);
      fprintf(stderr, "\n%s\n", hint);
      return false;
    }
    const CliOpt *o = &opts[k];
    if (!o->metavar) {
      if (eq) {
        fprintf(stderr, "%s: error: option '%s' takes no value, found '%s'\n%s\n", prog, o->name, arg, hint);
        return false;
      }
      out->values[k] = "";
      continue;
    }
    const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!good_value(o, value, prog, hint)) return false;
    out->values[k] = value;
  }
  return true;
}

void cli_args_free(CliArgs *a) {
  free(a->pos);
  a->pos = NULL;
}

void cli_print_options(FILE *out, const CliOpt *opts, size_t nopts) {
  for (size_t i = 0; i < nopts; i++) {
    const CliOpt *o = &opts[i];
    char left[64];
    snprintf(left, sizeof left, "%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
    fprintf(out, "  %-18s %s\n", left, o->help);
  }
  fprintf(out, "  %-18s %s\n", "-h, --help", "print this help");
}
