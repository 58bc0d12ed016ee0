/* compile.h - the front end's entry point: one Compilation per program.
 *
 * A program is a root file plus everything it imports. The compilation owns
 * the sources, the syntax trees (in its arena) and the diagnostics. Nothing
 * here prints; callers render compilation_diags() with diag_render.h. */
#ifndef FLOW_COMPILE_H
#define FLOW_COMPILE_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "source.h"

typedef struct Compilation Compilation;

/* A compilation keeps at most this many diagnostics; the rest are counted. */
#define COMPILATION_DIAG_LIMIT 200

/* A new, empty compilation. Free with compilation_free. */
Compilation *compilation_new(void);
void compilation_free(Compilation *c);

/* Parse, resolve and type-check the program rooted at the file `path`
 * (read from disk; imports resolve relative to it). Returns true when no
 * error was found (warnings allowed). Call once per compilation. */
bool compilation_check_file(Compilation *c, const char *path);

/* Same, for a root whose text is given in memory; `path` is used for
 * messages and to resolve imports. */
bool compilation_check_source(Compilation *c, const char *path, const char *text, size_t len);

/* The program as an Image for the VM (runtime/image.h), after a check that
 * found no error; NULL otherwise. The caller owns the Image (image_free). */
struct Image *compilation_lower(Compilation *c);
/* The same with the root file's tests (for `flowc test`). */
struct Image *compilation_lower_tests(Compilation *c);

/* Borrowed views of the results. */
const DiagList *compilation_diags(const Compilation *c);
const struct Program *compilation_program(const Compilation *c);
SourceMap *compilation_sources(Compilation *c);

/* Statistics of the last check, for benchmarks and --stats. */
typedef struct CompileStats {
  size_t files;
  size_t bytes;
  size_t lines;
  size_t decls;
} CompileStats;
CompileStats compilation_stats(const Compilation *c);

#endif
