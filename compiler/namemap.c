/* namemap.c - open addressing on interned pointers (see namemap.h). */
#include "namemap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

void namemap_init(NameMap *m) {
  m->cap = 256;
  m->count = 0;
  m->keys = calloc(m->cap, sizeof *m->keys);
  m->values = calloc(m->cap, sizeof *m->values);
  if (!m->keys || !m->values) flow_oom();
}

void namemap_free(NameMap *m) {
  free(m->keys);
  free(m->values);
  memset(m, 0, sizeof *m);
}

static size_t slot_of(const char *key, size_t cap) {
  uintptr_t h = (uintptr_t)key;
  h ^= h >> 17;
  h *= (uintptr_t)0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  return (size_t)h & (cap - 1);
}

void *namemap_get(const NameMap *m, const char *key) {
  if (!m->cap) return NULL;
  for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
    if (!m->keys[i]) return NULL;
    if (m->keys[i] == key) return m->values[i];
  }
}

static void namemap_grow(NameMap *m) {
  NameMap bigger = {calloc(m->cap * 2, sizeof *m->keys), calloc(m->cap * 2, sizeof *m->values),
                    m->cap * 2, 0};
  if (!bigger.keys || !bigger.values) flow_oom();
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i]) namemap_put(&bigger, m->keys[i], m->values[i]);
  free(m->keys);
  free(m->values);
  *m = bigger;
}

void *namemap_put(NameMap *m, const char *key, void *value) {
  if ((m->count + 1) * 2 > m->cap) namemap_grow(m);
  for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
    if (!m->keys[i]) {
      m->keys[i] = key;
      m->values[i] = value;
      m->count++;
      return NULL;
    }
    if (m->keys[i] == key) return m->values[i];
  }
}
