/* program.c - loading a program's files and its global namespace (see program.h). */
#include "program.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "embedded.h"
#include "parse.h"
#include "suggest.h"
#include "types.h"

#define STD_PREFIX "std/"

void program_init(Program *p, Arena *arena, Interner *in, SourceMap *sm, DiagList *diags) {
  memset(p, 0, sizeof *p);
  p->arena = arena;
  p->interner = in;
  p->sources = sm;
  p->diags = diags;
  namemap_init(&p->globals);
  namemap_init(&p->poisoned);
}

void program_free(Program *p) {
  if (!p->arena) return;
  for (size_t i = 0; i < p->nfiles_cap; i++) free(p->canon[i]);
  free(p->canon);
  free(p->state);
  free(p->files);
  free(p->decls);
  free(p->tests);
  namemap_free(&p->globals);
  namemap_free(&p->poisoned);
  memset(p, 0, sizeof *p);
}

bool program_read_file(const char *path, char **text, size_t *len) {
  struct stat st;
  if (stat(path, &st) != 0) return false;
  if (S_ISDIR(st.st_mode)) {
    errno = EISDIR;
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    errno = EINVAL;
    return false;
  }
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  size_t cap = (size_t)st.st_size + 1, n = 0;
  char *buf = xmalloc(cap);
  for (;;) {
    if (n + 1 >= cap) buf = xrealloc(buf, cap *= 2);
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    if (got == 0) break;
    n += got;
  }
  bool ok = !ferror(f);
  fclose(f);
  if (!ok) {
    free(buf);
    errno = EIO;
    return false;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return true;
}

/* Make room for per-file tables up to file id `id`. */
static void program_reserve(Program *p, size_t id) {
  if (id < p->nfiles_cap) return;
  size_t cap = p->nfiles_cap ? p->nfiles_cap : 8;
  while (cap <= id) cap *= 2;
  p->files = xrealloc(p->files, cap * sizeof *p->files);
  p->canon = xrealloc(p->canon, cap * sizeof *p->canon);
  p->state = xrealloc(p->state, cap);
  for (size_t i = p->nfiles_cap; i < cap; i++) {
    memset(&p->files[i], 0, sizeof p->files[i]);
    p->canon[i] = NULL;
    p->state[i] = 0;
  }
  p->nfiles_cap = cap;
}

/* The canonical identity of a file path: realpath when it exists. */
static char *canonical(const char *path) {
  char buf[PATH_MAX];
  if (realpath(path, buf)) return xstrdup(buf);
  return xstrdup(path);
}

static void push_decl(Decl ***arr, size_t *n, size_t *cap, Decl *d) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 64;
    *arr = xrealloc(*arr, *cap * sizeof **arr);
  }
  (*arr)[(*n)++] = d;
}

/* Enter a named declaration into the global namespace. */
static void program_declare(Program *p, Decl *d) {
  if (!d->name.name) return;
  TypeTable probe;
  if (d->kind == D_TYPE || d->kind == D_ENUM) {
    types_init(&probe, p->arena);
    if (type_builtin(&probe, d->name.name) || strcmp(d->name.name, "map") == 0) {
      Diag *g = diag_add(p->diags, DIAG_E0102, d->name.span,
                         "`%s` is already declared as a built-in type", d->name.name);
      diag_set_label(g, "redeclares a built-in type");
      diag_set_help(g, "choose another name, such as `%s_record`", d->name.name);
      return;
    }
  }
  Decl *first = namemap_put(&p->globals, d->name.name, d);
  /* a duplicate is still checked (what it uses counts as used), but only
   * the first declaration answers to the name */
  push_decl(&p->decls, &p->ndecls, &p->decls_cap, d);
  if (!first) return;
  namemap_put(&p->poisoned, d->name.name, d);
  Diag *g = diag_add(p->diags, DIAG_E0102, d->name.span, "`%s` is declared more than once",
                     d->name.name);
  diag_set_label(g, "second declaration of `%s`", d->name.name);
  diag_add_secondary(g, first->name.span, "first declared here (as a %s)", decl_kind_str(first->kind));
  diag_set_help(g, "every model, policy, type, enum, context, prompt, eval and flow needs a "
                   "name of its own across the program and its imports");
}

/* The directory part of `path` (with trailing slash), or "" for none. */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (size_t)(slash - path + 1) : 0;
  char *d = xmalloc(n + 1);
  memcpy(d, path, n);
  d[n] = '\0';
  return d;
}

static void program_load_file(Program *p, uint32_t file, uint32_t *stack, unsigned depth);

/* For a missing import `full` (dir/name.flow): the closest *.flow file in
 * the same folder, as the import would spell it, or NULL. */
static const char *nearest_sibling(Program *p, const char *full) {
  const char *slash = strrchr(full, '/');
  const char *base = slash ? slash + 1 : full;
  char *dir = slash ? arena_strndup(p->arena, full, (size_t)(slash - full)) : ".";
  DIR *d = opendir(dir);
  if (!d) return NULL;
  Suggest s = suggest_start(base);
  for (struct dirent *e; (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    if (n >= 6 && strcmp(e->d_name + n - 5, ".flow") == 0) suggest_try(&s, arena_strndup(p->arena, e->d_name, n));
  }
  closedir(d);
  return s.best;
}

/* Report an import cycle: the chain from the file being imported back to
 * the importer. */
static void report_cycle(Program *p, Decl *imp, uint32_t target, uint32_t *stack, unsigned depth) {
  Diag *d = diag_add(p->diags, DIAG_E0105, imp->u.import.path_span,
                     "importing `%s` creates a cycle", imp->u.import.path);
  diag_set_label(d, "this import leads back to this file");
  unsigned from = 0;
  while (from < depth && stack[from] != target) from++;
  for (unsigned i = from; i < depth; i++) {
    const char *a = source_map_file(p->sources, stack[i])->path;
    const char *b = source_map_file(p->sources, i + 1 < depth ? stack[i + 1] : target)->path;
    diag_add_note(d, "`%s` imports `%s`", a, b);
  }
  diag_set_help(d, "move the declarations both files need into a third file that both import");
}

/* Resolve one import declaration of `file` and load its target. */
static void program_import(Program *p, uint32_t file, Decl *imp, uint32_t *stack, unsigned depth) {
  const char *path = imp->u.import.path;
  if (!path || !*path) {
    p->failed_imports++;
    Diag *d = diag_add(p->diags, DIAG_E0104, imp->u.import.path_span,
                       "expected a file path or `std/NAME` in the import, found %s",
                       path ? "an empty string" : "a template");
    diag_set_label(d, "not an importable path");
    return;
  }
  char *full = NULL;
  const char *text = NULL;
  size_t len = 0;
  char *owned_text = NULL;
  if (strncmp(path, STD_PREFIX, strlen(STD_PREFIX)) == 0) {
    const EmbeddedFile *ef = embedded_find(embedded_stdlib, embedded_stdlib_count, path + strlen(STD_PREFIX));
    if (!ef) {
      p->failed_imports++;
    Diag *d = diag_add(p->diags, DIAG_E0104, imp->u.import.path_span,
                         "no standard-library module `%s`", path);
      diag_set_label(d, "not in the standard library");
      diag_set_help(d, "the standard library has `std/text`");
      return;
    }
    full = xstrdup(path);
    text = ef->text;
    len = ef->len;
  } else {
    const char *importer = source_map_file(p->sources, file)->path;
    char *dir = path[0] == '/' ? xstrdup("") : dir_of(importer);
    full = xmalloc(strlen(dir) + strlen(path) + 1);
    strcpy(full, dir);
    strcat(full, path);
    free(dir);
  }
  char *canon = text ? xstrdup(full) : canonical(full);
  for (size_t i = 0; i < p->sources->nfiles && i < p->nfiles_cap; i++) {
    if (p->canon[i] && strcmp(p->canon[i], canon) == 0) {
      if (p->state[i] == 1) report_cycle(p, imp, (uint32_t)i, stack, depth);
      free(canon);
      free(full);
      return;
    }
  }
  if (!text) {
    if (!program_read_file(full, &owned_text, &len)) {
      p->failed_imports++;
    Diag *d = diag_add(p->diags, DIAG_E0104, imp->u.import.path_span,
                         "cannot import `%s`: %s", path, strerror(errno));
      diag_set_label(d, "looked for `%s`", full);
      const char *near = nearest_sibling(p, full);
      size_t n = strlen(full);
      const char *pslash = strrchr(path, '/');
      if (near) diag_set_help(d, "did you mean `%.*s%s`?", pslash ? (int)(pslash - path + 1) : 0, path, near);
      else if (n < 5 || strcmp(full + n - 5, ".flow") != 0) diag_set_help(d, "did you mean `%s.flow`?", path);
      free(canon);
      free(full);
      return;
    }
    text = owned_text;
  }
  uint32_t id = source_map_add(p->sources, full, text, len);
  free(owned_text);
  free(full);
  program_reserve(p, id);
  p->canon[id] = canon;
  program_load_file(p, id, stack, depth);
}

/* Parse `file`, load its imports (depth first), then declare its names. */
static void program_load_file(Program *p, uint32_t file, uint32_t *stack, unsigned depth) {
  program_reserve(p, file);
  p->state[file] = 1;
  stack[depth] = file;
  FileAst ast;
  parse_file(p->arena, p->interner, p->diags, p->sources, file, &ast);
  p->files[file] = ast; /* imports may grow p->files: keep working on the copy */
  if (!ast.ok) p->broken = true;
  for (unsigned i = 0; i < ast.nbroken; i++) namemap_put(&p->poisoned, ast.broken[i], (void *)ast.broken[i]);
  for (unsigned i = 0; i < ast.ndecls; i++) {
    if (ast.decls[i]->kind != D_IMPORT) continue;
    if (depth + 1 >= 256) {
      diag_add(p->diags, DIAG_E0105, ast.decls[i]->u.import.path_span,
               "imports nest more than 256 files deep");
      continue;
    }
    program_import(p, file, ast.decls[i], stack, depth + 1);
  }
  for (unsigned i = 0; i < ast.ndecls; i++) {
    Decl *d = ast.decls[i];
    if (d->kind == D_IMPORT) continue;
    if (d->kind == D_TEST) push_decl(&p->tests, &p->ntests, &p->tests_cap, d);
    else program_declare(p, d);
  }
  p->state[file] = 2;
}

void program_load(Program *p, uint32_t root) {
  p->root = root;
  program_reserve(p, root);
  p->canon[root] = canonical(source_map_file(p->sources, root)->path);
  uint32_t stack[257];
  program_load_file(p, root, stack, 0);
}

Decl *program_lookup(const Program *p, const char *name) { return namemap_get(&p->globals, name); }

bool program_poisoned(const Program *p, const char *name) { return namemap_get(&p->poisoned, name) != NULL; }
