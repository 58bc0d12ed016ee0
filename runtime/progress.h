/* progress.h - the progress line of a run: items done (of how many, when
 * the input is a file), model calls in flight, tokens, cost, failed items
 * and the time left.
 *
 * On a terminal it is one line redrawn in place (carriage return, no
 * newline) and erased at the end; elsewhere (`--progress` with stderr
 * redirected) each update is a line of its own. Updates are at most ten a
 * second: the caller asks progress_due with its clock and draws when due.
 * The caller decides whether there is a progress line at all (run.c: a
 * terminal, or --progress). */
#ifndef FLOW_PROGRESS_H
#define FLOW_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* How the line is drawn. */
typedef enum ProgressMode {
  PROGRESS_TERMINAL,        /* redrawn in place, erased at the end */
  PROGRESS_LINES            /* one line per update */
} ProgressMode;

/* What the line shows. */
typedef struct ProgressFigures {
  uint64_t done;            /* items committed (succeeded, failed or skipped) */
  uint64_t total;           /* items in the input; 0: not known */
  uint64_t failed;          /* items failed */
  uint32_t in_flight;       /* model calls in flight */
  int64_t tokens;           /* input and output tokens so far */
  double cost;              /* USD so far */
} ProgressFigures;

typedef struct Progress Progress;

/* A progress line on `out` (stderr), its lines headed "PROG: " (borrowed),
 * started at `now_ms`. `results` is where the run's results go: on a
 * terminal, the line is erased before each of them is written there too. */
Progress *progress_new(FILE *out, ProgressMode mode, const char *prog, FILE *results, double now_ms);
void progress_free(Progress *p);

/* Is an update due at `now_ms` (the first one always is)? */
bool progress_due(const Progress *p, double now_ms);

/* Draw `f` at `now_ms`. */
void progress_draw(Progress *p, const ProgressFigures *f, double now_ms);

/* About to write to `f`: on a terminal, erase the line first if `f` shows
 * there (stderr, or results going to the same terminal). */
void progress_clear(Progress *p, FILE *f);

/* The run ended: on a terminal, erase the line; otherwise draw `f` a last
 * time. */
void progress_end(Progress *p, const ProgressFigures *f, double now_ms);

/* The text of the line for `f`, `elapsed_ms` after the start (the time left
 * is estimated from the items' rate when the total is known). Returns the
 * length written to buf[0..size). */
size_t progress_format(char *buf, size_t size, const ProgressFigures *f, double elapsed_ms);

/* The non-empty lines of the file at `path` (what --input would read as
 * items), or 0 when it is not a regular file (stdin, a pipe) or cannot be
 * read. */
uint64_t progress_count_lines(const char *path);

#endif
