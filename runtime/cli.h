/* cli.h - the command-line option parser shared by `flowc` and the
 * executables `flowc build` makes: options described by a table, parsed
 * as "--opt value", "--opt=value" or "--" (end of options), with -h/--help
 * anywhere; errors say what was expected and what was found. */
#ifndef FLOW_CLI_H
#define FLOW_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One option: a flag (metavar NULL) or an option taking a value, optionally
 * one of a NULL-terminated list of choices. */
typedef struct CliOpt {
  const char *name;            /* "--format" */
  const char *metavar;         /* "FORMAT", or NULL for a flag */
  const char *const *choices;  /* allowed values, NULL-terminated; NULL = any */
  const char *help;
} CliOpt;

#define CLI_MAX_OPTS 32

/* values[i] is the value of option i ("" for a flag that is present) or NULL
 * when absent; pos holds the positional arguments (borrowed from argv, the
 * array owned: cli_args_free). */
typedef struct CliArgs {
  const char *values[CLI_MAX_OPTS];
  const char **pos;
  size_t npos;
  bool help;
  char **argv;              /* what was parsed (borrowed), e.g. to record a run's command line */
  int argc;
} CliArgs;

/* Parse argv[0..argc) against the options of `command` ("flowc run", or a
 * built executable's name). On a bad argument prints "PROG: error: ..." and
 * `hint` (e.g. "(see 'flowc help run')") to stderr and returns false. */
bool cli_parse(const CliOpt *opts, size_t nopts, int argc, char **argv, const char *prog, const char *command,
               const char *hint, CliArgs *out);
void cli_args_free(CliArgs *a);

/* The options as a help listing ("  --input FILE       JSON Lines ..."),
 * followed by -h, --help. */
void cli_print_options(FILE *out, const CliOpt *opts, size_t nopts);

/* Print "a, b or c" for a NULL-terminated list of choices. */
void cli_print_choices(FILE *out, const char *const *choices);

#endif
