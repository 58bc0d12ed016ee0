/* intern.h - unique copies of names, so names compare by pointer.
 *
 * The lexer interns every identifier; the resolver and checker then compare
 * `const char *` names with ==. Strings live in the compilation's arena. */
#ifndef FLOW_INTERN_H
#define FLOW_INTERN_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

typedef struct Interner {
  Arena *arena;      /* borrowed */
  const char **slots;
  uint32_t *hashes;
  size_t cap, count;
} Interner;

void interner_init(Interner *in, Arena *arena);
void interner_free(Interner *in);
/* The unique copy of s[0..n). */
const char *intern(Interner *in, const char *s, size_t n);
const char *intern_cstr(Interner *in, const char *s);

#endif
