/* source.c - the source map: owned copies of every file of a compilation,
 * and the mapping from byte offsets to line/column positions.
 *
 * Line tables are built lazily, on the first position query for a file, in a
 * single pass over its text; queries then binary-search the table. Nothing
 * here prints; allocation failure aborts (the compiler cannot continue). */
#include "arena.h"
#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void source_map_init(SourceMap *sm) {
  sm->files = NULL;
  sm->nfiles = 0;
  sm->cap = 0;
}

void source_map_free(SourceMap *sm) {
  for (size_t i = 0; i < sm->nfiles; i++) {
    free(sm->files[i].path);
    free(sm->files[i].text);
    free(sm->files[i].lines);
  }
  free(sm->files);
  source_map_init(sm);
}

uint32_t source_map_add(SourceMap *sm, const char *path, const char *text, size_t len) {
  if (sm->nfiles == sm->cap) {
    sm->cap = sm->cap ? sm->cap * 2 : 4;
    sm->files = xrealloc(sm->files, sm->cap * sizeof *sm->files);
  }
  SourceFile *f = &sm->files[sm->nfiles];
  f->path = xstrndup(path ? path : "", path ? strlen(path) : 0);
  f->text = xstrndup(text ? text : "", text ? len : 0);
  f->len = text ? len : 0;
  f->lines = NULL;
  f->nlines = 0;
  return (uint32_t)sm->nfiles++;
}

const SourceFile *source_map_file(const SourceMap *sm, uint32_t id) {
  if (id >= sm->nfiles) return NULL;
  return &sm->files[id];
}

/* Build the line table of `f` if it does not exist yet: the offset of the
 * first byte of every line. There is always one more line than there are
 * newlines, so a file that ends with a newline has a final empty line whose
 * start is `len` (where an end-of-file position lands). */
static void source_build_lines(SourceFile *f) {
  if (f->lines) return;
  size_t count = 1;
  for (size_t i = 0; i < f->len; i++)
    if (f->text[i] == '\n') count++;
  f->lines = xrealloc(NULL, count * sizeof *f->lines);
  size_t n = 0;
  f->lines[n++] = 0;
  for (size_t i = 0; i < f->len; i++)
    if (f->text[i] == '\n') f->lines[n++] = (uint32_t)(i + 1);
  f->nlines = n;
}

/* The file with id `id` with its line table built, or NULL if no such file. */
static SourceFile *source_lined_file(SourceMap *sm, uint32_t id) {
  if (id >= sm->nfiles) return NULL;
  SourceFile *f = &sm->files[id];
  source_build_lines(f);
  return f;
}

/* The 0-based index of the line containing `offset`: the last line whose
 * start is <= offset (binary search over the line table). */
static size_t source_line_index(const SourceFile *f, uint32_t offset) {
  size_t lo = 0, hi = f->nlines; /* invariant: lines[lo] <= offset < lines[hi] */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (f->lines[mid] <= offset)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

SourcePos source_map_pos(SourceMap *sm, uint32_t id, uint32_t offset) {
  SourcePos pos = {1, 1};
  SourceFile *f = source_lined_file(sm, id);
  if (!f) return pos;
  if (offset > f->len) offset = (uint32_t)f->len;
  size_t line = source_line_index(f, offset);
  pos.line = (uint32_t)(line + 1);
  pos.col = offset - f->lines[line] + 1;
  return pos;
}

const char *source_map_line(SourceMap *sm, uint32_t id, uint32_t line, size_t *len) {
  SourceFile *f = source_lined_file(sm, id);
  if (!f || line == 0 || line > f->nlines) {
    *len = 0;
    return "";
  }
  size_t start = f->lines[line - 1];
  size_t end = line < f->nlines ? f->lines[line] - 1 : f->len; /* drop the '\n' */
  if (end > start && f->text[end - 1] == '\r' && line < f->nlines) end--; /* CRLF */
  *len = end - start;
  return f->text + start;
}

Span span_join(Span a, Span b) {
  Span s;
  s.file = a.file;
  s.start = a.start < b.start ? a.start : b.start;
  s.end = a.end > b.end ? a.end : b.end;
  return s;
}
