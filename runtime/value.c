/* value.c - run-time values: constructors, freeing, builders, equality and
 * ordering (see value.h for the ownership rules).
 *
 * Freeing is iterative: value_free_obj keeps an explicit stack of containers
 * whose count dropped to zero, so a list nested a million levels deep is
 * freed without deep C recursion. Equality and ordering recurse, which is
 * bounded by the nesting of types (at most 64 levels, docs/language.md §7).
 * Futures belong to the scheduler: value_free_obj hands them to
 * future_free_obj (runtime/sched.c), referenced weakly so that programs
 * which never create futures (the unit tests) link without the scheduler. */
#include "value.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "builtins.h"

/* Provided by the scheduler; frees a Future whose count dropped to zero. */
extern void future_free_obj(Obj *o) __attribute__((weak));

/* ---- constructors --------------------------------------------------------------------------- */

Str *str_new(const char *s, size_t len) {
  if (len > UINT32_MAX - 1) flow_oom();
  Str *str = xmalloc(sizeof(Str) + len + 1);
  str->obj.refs = 1;
  str->obj.tag = V_STR;
  str->len = (uint32_t)len;
  str->hash = 0;
  if (len && s) memcpy(str->data, s, len); /* s == NULL: the caller fills data */
  str->data[len] = '\0';
  return str;
}

Value value_str(const char *s, size_t len) { return value_obj(V_STR, &str_new(s, len)->obj); }

Value value_cstr(const char *s) { return value_str(s, strlen(s)); }

Value value_list(uint32_t cap) {
  List *l = xmalloc(sizeof(List));
  l->obj.refs = 1;
  l->obj.tag = V_LIST;
  l->len = 0;
  l->cap = cap;
  l->items = cap ? xmalloc(sizeof(Value) * cap) : NULL;
  return value_obj(V_LIST, &l->obj);
}

Value value_map(uint32_t cap) {
  Map *m = xmalloc(sizeof(Map));
  m->obj.refs = 1;
  m->obj.tag = V_MAP;
  m->len = 0;
  m->cap = cap;
  m->entries = cap ? xmalloc(sizeof(MapEntry) * cap) : NULL;
  return value_obj(V_MAP, &m->obj);
}

Value value_record(uint32_t type, uint32_t nfields) {
  Record *r = xmalloc(sizeof(Record) + sizeof(Value) * nfields);
  r->obj.refs = 1;
  r->obj.tag = V_RECORD;
  r->type = type;
  r->nfields = nfields;
  for (uint32_t i = 0; i < nfields; i++) r->fields[i] = value_none();
  return value_obj(V_RECORD, &r->obj);
}

Value value_media(const char *mime, const char *name, const void *data, size_t len) {
  if (len > UINT32_MAX) flow_oom();
  Media *m = xmalloc(sizeof(Media) + (len ? len : 1));
  m->obj.refs = 1;
  m->obj.tag = V_MEDIA;
  m->mime = str_new(mime ? mime : "", mime ? strlen(mime) : 0);
  m->name = str_new(name ? name : "", name ? strlen(name) : 0);
  m->len = (uint32_t)len;
  if (len) memcpy(m->data, data, len);
  return value_obj(V_MEDIA, &m->obj);
}

/* ---- freeing -------------------------------------------------------------------------------- */

/* A stack of objects waiting to be freed; starts in a caller-provided array. */
typedef struct FreeStack {
  Obj **items;
  size_t len, cap;
  bool heap;
} FreeStack;

/* Push `o`, moving the stack to the heap when the local array is full. */
static void free_push(FreeStack *s, Obj *o) {
  if (s->len == s->cap) {
    size_t cap = s->cap * 2;
    if (s->heap) {
      s->items = xrealloc(s->items, cap * sizeof(Obj *));
    } else {
      Obj **items = xmalloc(cap * sizeof(Obj *));
      memcpy(items, s->items, s->len * sizeof(Obj *));
      s->items = items;
      s->heap = true;
    }
    s->cap = cap;
  }
  s->items[s->len++] = o;
}

/* Drop one reference held by a container being freed. Strings are freed on
 * the spot (they own nothing); other objects go on the stack. */
static inline void free_child(FreeStack *s, Value v) {
  if (!value_is_obj(v) || --v.u.o->refs != 0) return;
  if (v.tag == V_STR)
    free(v.u.o);
  else
    free_push(s, v.u.o);
}

static inline void free_str(Str *str) {
  if (--str->obj.refs == 0) free(str);
}

/* Free `o` (whose count is zero) and every object only it kept alive. */
void value_free_obj(Obj *o) {
  Obj *local[32];
  FreeStack s = {local, 0, 32, false};
  free_push(&s, o);
  while (s.len) {
    Obj *x = s.items[--s.len];
    switch ((ValueTag)x->tag) {
    case V_LIST: {
      List *l = (List *)x;
      for (uint32_t i = 0; i < l->len; i++) free_child(&s, l->items[i]);
      free(l->items);
      break;
    }
    case V_MAP: {
      Map *m = (Map *)x;
      for (uint32_t i = 0; i < m->len; i++) {
        free_str(m->entries[i].key);
        free_child(&s, m->entries[i].value);
      }
      free(m->entries);
      break;
    }
    case V_RECORD: {
      Record *r = (Record *)x;
      for (uint32_t i = 0; i < r->nfields; i++) free_child(&s, r->fields[i]);
      break;
    }
    case V_MEDIA: {
      Media *m = (Media *)x;
      free_str(m->mime);
      free_str(m->name);
      break;
    }
    case V_FUTURE:
      if (future_free_obj) {
        future_free_obj(x);
        continue; /* the scheduler frees the object itself */
      }
      break;
    default: break;
    }
    free(x);
  }
  if (s.heap) free(s.items);
}

/* ---- builders ------------------------------------------------------------------------------- */

void list_push_steal(Value list, Value item) {
  List *l = value_as_list(list);
  if (l->len == l->cap) {
    uint32_t cap = l->cap < 4 ? 4 : l->cap * 2;
    if (cap < l->cap) flow_oom();
    l->items = xrealloc(l->items, sizeof(Value) * cap);
    l->cap = cap;
  }
  l->items[l->len++] = item;
}

/* Order of two keys by their bytes (a shorter prefix sorts first). */
static inline int key_cmp(const char *a, size_t alen, const char *b, size_t blen) {
  size_t n = alen < blen ? alen : blen;
  int c = n ? memcmp(a, b, n) : 0;
  if (c) return c;
  return alen < blen ? -1 : alen > blen;
}

/* Binary search: the index of `key` in `m`, or -(insertion point) - 1. */
static inline int64_t map_find(const Map *m, const char *key, size_t len) {
  uint32_t lo = 0, hi = m->len;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    const Str *k = m->entries[mid].key;
    int c = key_cmp(k->data, k->len, key, len);
    if (c == 0) return mid;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -(int64_t)lo - 1;
}

void map_set_steal(Value map, Str *key, Value value) {
  Map *m = value_as_map(map);
  /* Appending keys in ascending order (the common case: decoded JSON,
   * copies of maps) skips the search. */
  int64_t at;
  if (m->len == 0 || key_cmp(m->entries[m->len - 1].key->data, m->entries[m->len - 1].key->len, key->data,
                             key->len) < 0)
    at = -(int64_t)m->len - 1;
  else
    at = map_find(m, key->data, key->len);
  if (at >= 0) {
    value_release(m->entries[at].value);
    m->entries[at].value = value;
    return;
  }
  uint32_t pos = (uint32_t)(-at - 1);
  if (m->len == m->cap) {
    uint32_t cap = m->cap < 4 ? 4 : m->cap * 2;
    if (cap < m->cap) flow_oom();
    m->entries = xrealloc(m->entries, sizeof(MapEntry) * cap);
    m->cap = cap;
  }
  if (pos < m->len) memmove(&m->entries[pos + 1], &m->entries[pos], sizeof(MapEntry) * (m->len - pos));
  key->obj.refs++;
  m->entries[pos].key = key;
  m->entries[pos].value = value;
  m->len++;
}

const Value *map_get(Value map, const char *key, size_t len) {
  Map *m = value_as_map(map);
  int64_t at = map_find(m, key, len);
  return at >= 0 ? &m->entries[at].value : NULL;
}

void record_set_steal(Value record, uint32_t field, Value value) {
  Record *r = value_as_record(record);
  value_release(r->fields[field]);
  r->fields[field] = value;
}

/* ---- hashing -------------------------------------------------------------------------------- */

/* FNV-1a over `len` bytes, continuing from `h`. */
static inline uint32_t fnv1a(uint32_t h, const void *p, size_t len) {
  const unsigned char *b = p;
  for (size_t i = 0; i < len; i++) {
    h ^= b[i];
    h *= 16777619u;
  }
  return h;
}

uint32_t str_hash(Str *s) {
  if (s->hash == 0) {
    uint32_t h = fnv1a(2166136261u, s->data, s->len);
    s->hash = h ? h : 1;
  }
  return s->hash;
}

/* Mix one 64-bit word into a hash. */
static inline uint32_t mix64(uint32_t h, uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return (h ^ (uint32_t)x ^ (uint32_t)(x >> 32)) * 16777619u;
}

/* The integer value of a float that holds one exactly, for hashing and
 * comparison with ints. */
static inline bool float_as_int(double f, int64_t *out) {
  if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0)) return false;
  int64_t i = (int64_t)f;
  if ((double)i != f) return false;
  *out = i;
  return true;
}

uint32_t value_hash(Value v) {
  switch ((ValueTag)v.tag) {
  case V_NONE: return 0x9e3779b9u;
  case V_BOOL: return v.u.b ? 0x85ebca6bu : 0xc2b2ae35u;
  case V_INT: return mix64(1, (uint64_t)v.u.i);
  case V_FLOAT: {
    int64_t i;
    if (float_as_int(v.u.f, &i)) return mix64(1, (uint64_t)i); /* 1.0 hashes like 1 */
    double f = v.u.f;
    uint64_t bits;
    memcpy(&bits, &f, sizeof bits);
    return mix64(2, bits);
  }
  case V_ENUM: return mix64(3, ((uint64_t)v.u.e.type << 32) | v.u.e.variant);
  case V_STR: return str_hash(value_as_str(v));
  case V_LIST: {
    List *l = value_as_list(v);
    uint32_t h = 0x27d4eb2fu ^ l->len;
    for (uint32_t i = 0; i < l->len; i++) h = mix64(h, value_hash(l->items[i]));
    return h;
  }
  case V_MAP: {
    Map *m = value_as_map(v);
    uint32_t h = 0x165667b1u ^ m->len;
    for (uint32_t i = 0; i < m->len; i++)
      h = mix64(mix64(h, str_hash(m->entries[i].key)), value_hash(m->entries[i].value));
    return h;
  }
  case V_RECORD: {
    Record *r = value_as_record(v);
    uint32_t h = mix64(0xd3a2646cu, r->type);
    for (uint32_t i = 0; i < r->nfields; i++) h = mix64(h, value_hash(r->fields[i]));
    return h;
  }
  case V_MEDIA: {
    Media *m = value_as_media(v);
    return fnv1a(str_hash(m->mime), m->data, m->len);
  }
  case V_FUTURE: return mix64(5, (uint64_t)(uintptr_t)v.u.o);
  }
  return 0;
}

/* ---- comparison ----------------------------------------------------------------------------- */

/* Order of an int and a float, exactly (no rounding of large ints); NaN sorts
 * after every number. */
static int cmp_int_float(int64_t i, double f) {
  if (isnan(f)) return -1;
  if (f >= 9223372036854775808.0) return -1;
  if (f < -9223372036854775808.0) return 1;
  int64_t t = (int64_t)f; /* truncated toward zero */
  if (i < t) return -1;
  if (i > t) return 1;
  double frac = f - (double)t;
  return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

/* Order of two floats; NaN sorts after every number and equals itself. */
static int cmp_float(double a, double b) {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a == b) return 0;
  return isnan(a) ? (isnan(b) ? 0 : 1) : -1;
}

/* The class of a tag in the total order: ints and floats share one. */
static int tag_rank(uint8_t tag) { return tag == V_FLOAT ? V_INT : tag; }

static int cmp_str(const Str *a, const Str *b) { return key_cmp(a->data, a->len, b->data, b->len); }

int value_compare(Value a, Value b) {
  int ra = tag_rank(a.tag), rb = tag_rank(b.tag);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch ((ValueTag)a.tag) {
  case V_NONE: return 0;
  case V_BOOL: return (int)a.u.b - (int)b.u.b;
  case V_INT:
    if (b.tag == V_FLOAT) return cmp_int_float(a.u.i, b.u.f);
    return a.u.i < b.u.i ? -1 : a.u.i > b.u.i;
  case V_FLOAT:
    if (b.tag == V_INT) return -cmp_int_float(b.u.i, a.u.f);
    return cmp_float(a.u.f, b.u.f);
  case V_ENUM:
    if (a.u.e.type != b.u.e.type) return a.u.e.type < b.u.e.type ? -1 : 1;
    return a.u.e.variant < b.u.e.variant ? -1 : a.u.e.variant > b.u.e.variant;
  case V_STR: return a.u.o == b.u.o ? 0 : cmp_str(value_as_str(a), value_as_str(b));
  case V_LIST: {
    List *x = value_as_list(a), *y = value_as_list(b);
    uint32_t n = x->len < y->len ? x->len : y->len;
    for (uint32_t i = 0; i < n; i++) {
      int c = value_compare(x->items[i], y->items[i]);
      if (c) return c;
    }
    return x->len < y->len ? -1 : x->len > y->len;
  }
  case V_MAP: {
    Map *x = value_as_map(a), *y = value_as_map(b);
    uint32_t n = x->len < y->len ? x->len : y->len;
    for (uint32_t i = 0; i < n; i++) {
      int c = cmp_str(x->entries[i].key, y->entries[i].key);
      if (!c) c = value_compare(x->entries[i].value, y->entries[i].value);
      if (c) return c;
    }
    return x->len < y->len ? -1 : x->len > y->len;
  }
  case V_RECORD: {
    Record *x = value_as_record(a), *y = value_as_record(b);
    if (x->type != y->type) return x->type < y->type ? -1 : 1;
    uint32_t n = x->nfields < y->nfields ? x->nfields : y->nfields;
    for (uint32_t i = 0; i < n; i++) {
      int c = value_compare(x->fields[i], y->fields[i]);
      if (c) return c;
    }
    return x->nfields < y->nfields ? -1 : x->nfields > y->nfields;
  }
  case V_MEDIA: {
    Media *x = value_as_media(a), *y = value_as_media(b);
    int c = cmp_str(x->mime, y->mime);
    if (c) return c;
    return key_cmp((const char *)x->data, x->len, (const char *)y->data, y->len);
  }
  case V_FUTURE: return a.u.o == b.u.o ? 0 : ((uintptr_t)a.u.o < (uintptr_t)b.u.o ? -1 : 1);
  }
  return 0;
}

bool value_equal(Value a, Value b) {
  if (a.tag != b.tag) {
    if (a.tag == V_INT && b.tag == V_FLOAT) return !isnan(b.u.f) && cmp_int_float(a.u.i, b.u.f) == 0;
    if (a.tag == V_FLOAT && b.tag == V_INT) return !isnan(a.u.f) && cmp_int_float(b.u.i, a.u.f) == 0;
    return false;
  }
  switch ((ValueTag)a.tag) {
  case V_NONE: return true;
  case V_BOOL: return a.u.b == b.u.b;
  case V_INT: return a.u.i == b.u.i;
  case V_FLOAT: return a.u.f == b.u.f;
  case V_ENUM: return a.u.e.type == b.u.e.type && a.u.e.variant == b.u.e.variant;
  case V_STR: {
    if (a.u.o == b.u.o) return true;
    Str *x = value_as_str(a), *y = value_as_str(b);
    if (x->len != y->len) return false;
    if (x->hash && y->hash && x->hash != y->hash) return false;
    return memcmp(x->data, y->data, x->len) == 0;
  }
  case V_LIST: {
    if (a.u.o == b.u.o) return true;
    List *x = value_as_list(a), *y = value_as_list(b);
    if (x->len != y->len) return false;
    for (uint32_t i = 0; i < x->len; i++)
      if (!value_equal(x->items[i], y->items[i])) return false;
    return true;
  }
  case V_MAP: {
    if (a.u.o == b.u.o) return true;
    Map *x = value_as_map(a), *y = value_as_map(b);
    if (x->len != y->len) return false;
    for (uint32_t i = 0; i < x->len; i++)
      if (cmp_str(x->entries[i].key, y->entries[i].key) != 0 ||
          !value_equal(x->entries[i].value, y->entries[i].value))
        return false;
    return true;
  }
  case V_RECORD: {
    if (a.u.o == b.u.o) return true;
    Record *x = value_as_record(a), *y = value_as_record(b);
    if (x->type != y->type || x->nfields != y->nfields) return false;
    for (uint32_t i = 0; i < x->nfields; i++)
      if (!value_equal(x->fields[i], y->fields[i])) return false;
    return true;
  }
  case V_MEDIA: {
    if (a.u.o == b.u.o) return true;
    Media *x = value_as_media(a), *y = value_as_media(b);
    return x->len == y->len && cmp_str(x->mime, y->mime) == 0 && memcmp(x->data, y->data, x->len) == 0;
  }
  case V_FUTURE: return a.u.o == b.u.o;
  }
  return false;
}
