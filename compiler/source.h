/* source.h - the set of source files of one compilation, and spans into them.
 *
 * Every byte of source the compiler sees lives in a SourceMap, owned by the
 * compilation. A Span is a file id plus a half-open byte range; line and
 * column numbers are derived on demand (only when a diagnostic is rendered),
 * so the lexer never counts lines. */
#ifndef FLOW_SOURCE_H
#define FLOW_SOURCE_H

#include <stddef.h>
#include <stdint.h>

/* A half-open byte range [start, end) in file `file`. */
typedef struct Span {
  uint32_t file;
  uint32_t start;
  uint32_t end;
} Span;

/* One source file: its display path and contents (NUL-terminated copy). */
typedef struct SourceFile {
  char *path;        /* as given or resolved; owned */
  char *text;        /* owned, text[len] == '\0' */
  size_t len;
  uint32_t *lines;   /* byte offset of each line start, built lazily; owned */
  size_t nlines;
} SourceFile;

typedef struct SourceMap {
  SourceFile *files;
  size_t nfiles, cap;
} SourceMap;

/* A resolved position: 1-based line and column (column counts bytes). */
typedef struct SourcePos {
  uint32_t line;
  uint32_t col;
} SourcePos;

void source_map_init(SourceMap *sm);
void source_map_free(SourceMap *sm);

/* Add a file whose contents are copied from `text[0..len)`; returns its id. */
uint32_t source_map_add(SourceMap *sm, const char *path, const char *text, size_t len);

/* Borrowed pointer to file `id`. */
const SourceFile *source_map_file(const SourceMap *sm, uint32_t id);

/* Line/column of byte `offset` in file `id`. */
SourcePos source_map_pos(SourceMap *sm, uint32_t id, uint32_t offset);

/* The text of line `line` (1-based) of file `id`, without its newline;
 * `*len` receives the length. Borrowed. */
const char *source_map_line(SourceMap *sm, uint32_t id, uint32_t line, size_t *len);

/* A span covering both a and b (same file). */
Span span_join(Span a, Span b);

#endif
