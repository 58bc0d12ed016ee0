/* tally.h - the pass/fail counting shared by the C unit tests.
 *
 * CHECK records one condition, CHECK_STR one string comparison (printing
 * both strings when they differ); tally_report prints "N passed, M failed"
 * (what ctest looks for) and gives the exit status. */
#ifndef FLOW_TESTS_TALLY_H
#define FLOW_TESTS_TALLY_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct Tally {
  int passed, failed;
} Tally;

/* Record one check; print where it failed. */
static inline bool check_at(Tally *t, bool ok, const char *file, int line, const char *what) {
  if (ok) {
    t->passed++;
  } else {
    t->failed++;
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
  }
  return ok;
}
#define CHECK(t, cond) check_at((t), (cond), __FILE__, __LINE__, #cond)

/* Record a string comparison; on failure print both strings. */
static inline bool check_str_at(Tally *t, const char *got, const char *want, const char *file, int line) {
  bool ok = got && want && strcmp(got, want) == 0;
  if (!check_at(t, ok, file, line, "strings equal"))
    fprintf(stderr, "  expected: %s\n  got:      %s\n", want ? want : "(null)", got ? got : "(null)");
  return ok;
}
#define CHECK_STR(t, got, want) check_str_at((t), (got), (want), __FILE__, __LINE__)

/* Print the summary line; the exit status of the test binary. */
static inline int tally_report(const Tally *t) {
  printf("%d passed, %d failed\n", t->passed, t->failed);
  return t->failed ? 1 : 0;
}

#endif
