/* compile.c - one compilation: load the root file and its imports, parse
 * them, then resolve names and type-check the whole program (see compile.h). */
#include "compile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "ast.h"
#include "check.h"
#include "embedded.h"
#include "bytecode.h"
#include "intern.h"
#include "lower.h"
#include "parse.h"
#include "program.h"

struct Compilation {
  Arena arena;
  Interner interner;
  SourceMap sources;
  DiagList diags;
  Program program;
  CompileStats stats;
};

Compilation *compilation_new(void) {
  Compilation *c = xmalloc(sizeof *c);
  memset(c, 0, sizeof *c);
  arena_init(&c->arena);
  interner_init(&c->interner, &c->arena);
  source_map_init(&c->sources);
  diag_list_init(&c->diags);
  c->diags.limit = COMPILATION_DIAG_LIMIT;
  return c;
}

void compilation_free(Compilation *c) {
  if (!c) return;
  program_free(&c->program);
  diag_list_free(&c->diags);
  source_map_free(&c->sources);
  interner_free(&c->interner);
  arena_free(&c->arena);
  free(c);
}

/* Run every pass on the program whose root is file `root`. */
static bool compilation_run(Compilation *c, uint32_t root) {
  program_init(&c->program, &c->arena, &c->interner, &c->sources, &c->diags);
  program_load(&c->program, root);
  check_program(&c->program);
  diag_list_sort(&c->diags);
  c->stats.files = c->sources.nfiles;
  for (size_t i = 0; i < c->sources.nfiles; i++) {
    const SourceFile *f = source_map_file(&c->sources, (uint32_t)i);
    c->stats.bytes += f->len;
    size_t lines = 0;
    for (const char *p = f->text; (p = memchr(p, '\n', (size_t)(f->text + f->len - p))); p++) lines++;
    if (f->len && f->text[f->len - 1] != '\n') lines++;
    c->stats.lines += lines;
  }
  c->stats.decls = c->program.ndecls;
  return c->diags.nerrors == 0;
}

bool compilation_check_source(Compilation *c, const char *path, const char *text, size_t len) {
  uint32_t root = source_map_add(&c->sources, path, text, len);
  return compilation_run(c, root);
}

bool compilation_check_file(Compilation *c, const char *path) {
  char *text;
  size_t len;
  if (!program_read_file(path, &text, &len)) {
    diag_add_nospan(&c->diags, DIAG_E0702, "cannot read `%s`: %s", path, strerror(errno));
    return false;
  }
  uint32_t root = source_map_add(&c->sources, path, text, len);
  free(text);
  return compilation_run(c, root);
}

static struct Image *lower(Compilation *c, bool with_tests) {
  if (c->diags.nerrors || !c->program.arena) return NULL;
  Image *img = lower_program(&c->program, with_tests);
  bytecode_stamp(img); /* the version id: the hash of the canonical bytecode */
  return img;
}

struct Image *compilation_lower(Compilation *c) { return lower(c, false); }
struct Image *compilation_lower_tests(Compilation *c) { return lower(c, true); }

const DiagList *compilation_diags(const Compilation *c) { return &c->diags; }
const Program *compilation_program(const Compilation *c) { return &c->program; }
SourceMap *compilation_sources(Compilation *c) { return &c->sources; }
CompileStats compilation_stats(const Compilation *c) { return c->stats; }
