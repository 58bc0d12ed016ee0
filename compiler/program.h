/* program.h - a whole program: the root file, every file it imports, and the
 * table of its top-level declarations.
 *
 * program_load parses the root, follows `import`s depth first (reporting
 * missing files and cycles), and enters every named declaration into one
 * global namespace (reporting duplicates, with a note at the first one). */
#ifndef FLOW_PROGRAM_H
#define FLOW_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "intern.h"
#include "namemap.h"
#include "source.h"

typedef struct Program {
  Arena *arena;
  Interner *interner;
  SourceMap *sources;
  DiagList *diags;
  uint32_t root;            /* file id of the root */
  FileAst *files;           /* indexed by file id; malloc'd */
  size_t nfiles_cap;
  Decl **decls;             /* named declarations, in load order; malloc'd */
  size_t ndecls, decls_cap;
  Decl **tests;             /* test declarations; malloc'd */
  size_t ntests, tests_cap;
  NameMap globals;          /* name -> Decl* */
  NameMap poisoned;         /* names whose uses are not reported: damaged or duplicate declarations */
  bool broken;              /* some file had a lexical or syntax error */
  unsigned failed_imports;  /* imports that could not be loaded */
  /* import resolution: canonical path of each loaded file (malloc'd) */
  char **canon;
  unsigned char *state;     /* per file: 0 unseen, 1 loading, 2 done */
} Program;

void program_init(Program *p, Arena *arena, Interner *in, SourceMap *sm, DiagList *diags);
void program_free(Program *p);
void program_load(Program *p, uint32_t root);
Decl *program_lookup(const Program *p, const char *name);
/* Is `name` declared by a damaged or duplicate declaration? Errors about its
 * uses would only repeat the one already reported. */
bool program_poisoned(const Program *p, const char *name);

/* Read a whole file into a malloc'd, NUL-terminated buffer. On failure
 * returns false with errno set (a directory gives EISDIR). */
bool program_read_file(const char *path, char **text, size_t *len);

#endif
