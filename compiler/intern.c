/* intern.c - open-addressing hash set of names (see intern.h). */
#include "intern.h"

#include <stdlib.h>
#include <string.h>

void interner_init(Interner *in, Arena *arena) {
  memset(in, 0, sizeof *in);
  in->arena = arena;
  in->cap = 1024;
  in->slots = calloc(in->cap, sizeof *in->slots);
  in->hashes = calloc(in->cap, sizeof *in->hashes);
  if (!in->slots || !in->hashes) flow_oom();
}

void interner_free(Interner *in) {
  free(in->slots);
  free(in->hashes);
  memset(in, 0, sizeof *in);
}

/* FNV-1a: short names, fast enough, no dependencies. */
static uint32_t hash_bytes(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

static void interner_rehash(Interner *in) {
  size_t cap = in->cap * 2;
  const char **slots = calloc(cap, sizeof *slots);
  uint32_t *hashes = calloc(cap, sizeof *hashes);
  if (!slots || !hashes) flow_oom();
  for (size_t i = 0; i < in->cap; i++) {
    if (!in->slots[i]) continue;
    size_t j = in->hashes[i] & (cap - 1);
    while (slots[j]) j = (j + 1) & (cap - 1);
    slots[j] = in->slots[i];
    hashes[j] = in->hashes[i];
  }
  free(in->slots);
  free(in->hashes);
  in->slots = slots;
  in->hashes = hashes;
  in->cap = cap;
}

const char *intern(Interner *in, const char *s, size_t n) {
  uint32_t h = hash_bytes(s, n);
  size_t mask = in->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const char *slot = in->slots[i];
    if (!slot) {
      if ((in->count + 1) * 2 > in->cap) {
        interner_rehash(in);
        return intern(in, s, n);
      }
      const char *copy = arena_strndup(in->arena, s, n);
      in->slots[i] = copy;
      in->hashes[i] = h;
      in->count++;
      return copy;
    }
    if (in->hashes[i] == h && strncmp(slot, s, n) == 0 && slot[n] == '\0') return slot;
  }
}

const char *intern_cstr(Interner *in, const char *s) { return intern(in, s, strlen(s)); }
