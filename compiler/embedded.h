/* embedded.h - text compiled into the binaries (see cmake/embed.cmake):
 * the error-code explanations (docs/errors/CODE.md) and the .flow stdlib. */
#ifndef FLOW_EMBEDDED_H
#define FLOW_EMBEDDED_H

#include <stddef.h>

typedef struct EmbeddedFile {
  const char *name; /* base name without extension: "E0101", "text" */
  const char *text; /* NUL-terminated */
  size_t len;
} EmbeddedFile;

extern const EmbeddedFile embedded_error_docs[];
extern const size_t embedded_error_docs_count;
extern const EmbeddedFile embedded_stdlib[];
extern const size_t embedded_stdlib_count;

/* Look up by name; NULL when absent. */
const EmbeddedFile *embedded_find(const EmbeddedFile *table, size_t count, const char *name);

#endif
