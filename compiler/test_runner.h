/* test_runner.h - `flowc test`: compile each file with its `test` blocks,
 * run every test offline (runtime/run.h run_test), and report the results
 * for people (failed assertions with their source and values), as TAP or
 * as JUnit XML. */
#ifndef FLOW_TEST_RUNNER_H
#define FLOW_TEST_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum TestFormat { TEST_TEXT, TEST_TAP, TEST_JUNIT } TestFormat;

typedef struct TestRunConfig {
  const char *const *files;  /* the .flow files, each its own program; its own tests run */
  size_t nfiles;
  TestFormat format;
  bool allow_network;        /* calls a test does not mock may use the network */
  bool color;                /* text: ANSI colour */
  FILE *out;                 /* results (text, TAP or JUnit) */
  FILE *err;                 /* diagnostics of files that do not check */
} TestRunConfig;

/* Run the tests; returns the exit status: 0 every test passed, 1 a test
 * failed or could not run, or a file does not check. */
int test_runner_run(const TestRunConfig *cfg);

#endif
