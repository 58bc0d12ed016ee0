/* arena.h - bump allocation for syntax trees and types.
 *
 * Everything a compilation builds (AST nodes, interned names, types) is
 * allocated from its arena and freed at once with arena_free. Nodes are never
 * freed one by one. */
#ifndef FLOW_ARENA_H
#define FLOW_ARENA_H

#include <stddef.h>

typedef struct ArenaChunk ArenaChunk;

typedef struct Arena {
  ArenaChunk *head;   /* current chunk; older chunks follow via ->next */
  char *ptr, *end;    /* free space in the current chunk */
  size_t total;       /* bytes reserved from malloc, for statistics */
} Arena;

void arena_init(Arena *a);
void arena_free(Arena *a);

/* `n` bytes, 16-byte aligned, uninitialised. Never returns NULL (aborts on
 * out-of-memory, like every allocation in the compiler). */
void *arena_alloc(Arena *a, size_t n);
/* `n` zeroed bytes. */
void *arena_zalloc(Arena *a, size_t n);
/* A NUL-terminated copy of s[0..n). */
char *arena_strndup(Arena *a, const char *s, size_t n);
/* A copy of p[0..old) in a new block of `n` bytes (n >= old). */
void *arena_grow(Arena *a, const void *p, size_t old, size_t n);
/* printf into the arena. */
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ARENA_NEW(a, T) ((T *)arena_zalloc((a), sizeof(T)))

/* A growable array of pointers kept in an arena (old blocks are abandoned). */
typedef struct PtrVec {
  void **items;
  unsigned n, cap;
} PtrVec;

void ptrvec_push(Arena *a, PtrVec *v, void *item);

/* Abort with a message: out of memory. */
_Noreturn void flow_oom(void);
/* malloc/realloc that abort on failure. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* The n bytes at s, NUL-terminated, in a new malloc'd string. */
char *xstrndup(const char *s, size_t n);

#endif
