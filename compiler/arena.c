/* arena.c - bump allocator (see arena.h). */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ArenaChunk {
  ArenaChunk *next;
  size_t size;
  /* payload follows, 16-byte aligned */
};

#define CHUNK_HEADER ((sizeof(ArenaChunk) + 15u) & ~(size_t)15u)
#define MIN_CHUNK ((size_t)64 * 1024)

_Noreturn void flow_oom(void) {
  fputs("flowc: fatal: out of memory\n", stderr);
  abort();
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) flow_oom();
  return p;
}

void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) flow_oom();
  return q;
}

char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xmalloc(n), s, n);
}

char *xstrndup(const char *s, size_t n) {
  char *d = xmalloc(n + 1);
  if (n) memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

void arena_init(Arena *a) { memset(a, 0, sizeof *a); }

void arena_free(Arena *a) {
  ArenaChunk *c = a->head;
  while (c) {
    ArenaChunk *next = c->next;
    free(c);
    c = next;
  }
  memset(a, 0, sizeof *a);
}

/* Start a new chunk able to hold at least `n` bytes; chunks double in size
 * up to 1 MiB so small programs stay small and large ones make few calls. */
static void arena_new_chunk(Arena *a, size_t n) {
  size_t size = a->head ? a->head->size * 2 : MIN_CHUNK;
  if (size > (size_t)1 << 20) size = (size_t)1 << 20;
  if (size < n + CHUNK_HEADER) size = n + CHUNK_HEADER;
  ArenaChunk *c = xmalloc(size);
  c->next = a->head;
  c->size = size;
  a->head = c;
  a->ptr = (char *)c + CHUNK_HEADER;
  a->end = (char *)c + size;
  a->total += size;
}

void *arena_alloc(Arena *a, size_t n) {
  n = (n + 15u) & ~(size_t)15u;
  if ((size_t)(a->end - a->ptr) < n) arena_new_chunk(a, n);
  void *p = a->ptr;
  a->ptr += n;
  return p;
}

void *arena_zalloc(Arena *a, size_t n) { return memset(arena_alloc(a, n), 0, n); }

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

void *arena_grow(Arena *a, const void *p, size_t old, size_t n) {
  void *q = arena_alloc(a, n);
  if (old) memcpy(q, p, old);
  return q;
}

char *arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = arena_alloc(a, (size_t)(n < 0 ? 0 : n) + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return p;
}

void ptrvec_push(Arena *a, PtrVec *v, void *item) {
  if (v->n == v->cap) {
    unsigned cap = v->cap ? v->cap * 2 : 4;
    v->items = arena_grow(a, v->items, v->n * sizeof(void *), cap * sizeof(void *));
    v->cap = cap;
  }
  v->items[v->n++] = item;
}
