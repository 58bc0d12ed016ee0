/* embedded_find.c - lookup in the tables of embedded text (embedded.h).
 *
 * The tables themselves are generated at build time by cmake/embed.cmake;
 * this is the one function that searches them. The tables are small (one
 * entry per error code or stdlib module), so a linear scan is enough. */
#include "embedded.h"

#include <string.h>

const EmbeddedFile *embedded_find(const EmbeddedFile *table, size_t count, const char *name) {
  if (!table || !name) return NULL;
  for (size_t i = 0; i < count; i++)
    if (table[i].name && strcmp(table[i].name, name) == 0) return &table[i];
  return NULL;
}
