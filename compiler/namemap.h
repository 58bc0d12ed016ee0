/* namemap.h - a hash map from interned names to pointers.
 *
 * Keys are interned strings (intern.h), hashed and compared by address. Used
 * for the program's global declarations. */
#ifndef FLOW_NAMEMAP_H
#define FLOW_NAMEMAP_H

#include <stddef.h>

typedef struct NameMap {
  const char **keys;
  void **values;
  size_t cap, count;
} NameMap;

void namemap_init(NameMap *m);
void namemap_free(NameMap *m);
void *namemap_get(const NameMap *m, const char *key);
/* Insert key -> value unless present; returns the existing value or NULL. */
void *namemap_put(NameMap *m, const char *key, void *value);

#endif
