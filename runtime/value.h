/* value.h - run-time values of flow programs and their ownership.
 *
 * A Value is 16 bytes: a tag and a payload. Scalars (none, bool, int, float,
 * enum) are immediate; strings, lists, maps, records and media live in
 * reference-counted heap objects (Obj). Ownership follows jansson's rules:
 *   - a function that returns a Value returns a NEW reference (the caller
 *     must value_release it), unless its comment says "borrowed";
 *   - a function that takes a Value BORROWS it unless its name or comment
 *     says it "steals" it (e.g. list_push_steal).
 * Values are immutable once shared (refcount > 1); builders mutate only
 * objects they own alone. No cycles can form (values are trees), so plain
 * refcounting frees everything; LeakSanitizer checks it in the test suite.
 *
 * Futures (V_FUTURE) stand for the result of an effect (a model call, a
 * context read, a parallel loop) that has not completed; the VM forces them
 * before an instruction reads them. They never appear in program outputs. */
#ifndef FLOW_VALUE_H
#define FLOW_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ValueTag {
  V_NONE,     /* `none` */
  V_BOOL,
  V_INT,
  V_FLOAT,
  V_ENUM,     /* u.e: type id + variant index (immediate) */
  V_STR,      /* u.o -> Str */
  V_LIST,     /* u.o -> List */
  V_MAP,      /* u.o -> Map (keys sorted, unique) */
  V_RECORD,   /* u.o -> Record */
  V_MEDIA,    /* u.o -> Media */
  V_FUTURE,   /* u.o -> Future (runtime/sched.h) */
} ValueTag;

typedef struct Obj {
  uint32_t refs;
  uint8_t tag;        /* the ValueTag of values pointing here */
} Obj;

typedef struct Value {
  uint8_t tag;
  union {
    bool b;
    int64_t i;
    double f;
    struct { uint32_t type, variant; } e;
    Obj *o;
  } u;
} Value;

typedef struct Str {
  Obj obj;
  uint32_t len;       /* bytes, not counting the NUL */
  uint32_t hash;      /* 0 until computed */
  char data[];        /* NUL-terminated UTF-8 */
} Str;

typedef struct List {
  Obj obj;
  uint32_t len, cap;
  Value *items;
} List;

typedef struct MapEntry {
  Str *key;           /* owned reference */
  Value value;        /* owned reference */
} MapEntry;

typedef struct Map {
  Obj obj;
  uint32_t len, cap;
  MapEntry *entries;  /* sorted by key bytes */
} Map;

typedef struct Record {
  Obj obj;
  uint32_t type;      /* type id in the program image */
  uint32_t nfields;
  Value fields[];     /* in declaration order */
} Record;

typedef struct Media {
  Obj obj;
  Str *mime;          /* "image/png" */
  Str *name;          /* file name or "" */
  uint32_t len;
  unsigned char data[];
} Media;

/* ---- constructors (new references) ---------------------------------------- */

static inline Value value_none(void) { Value v = {V_NONE, {0}}; return v; }
static inline Value value_bool(bool b) { Value v = {V_BOOL, {0}}; v.u.b = b; return v; }
static inline Value value_int(int64_t i) { Value v = {V_INT, {0}}; v.u.i = i; return v; }
static inline Value value_float(double f) { Value v = {V_FLOAT, {0}}; v.u.f = f; return v; }
static inline Value value_enum(uint32_t type, uint32_t variant) {
  Value v = {V_ENUM, {0}};
  v.u.e.type = type;
  v.u.e.variant = variant;
  return v;
}
static inline Value value_obj(ValueTag tag, Obj *o) { Value v = {(uint8_t)tag, {0}}; v.u.o = o; return v; }
static inline bool value_is_obj(Value v) { return v.tag >= V_STR; }

Value value_str(const char *s, size_t len);          /* copies */
Value value_cstr(const char *s);
Str *str_new(const char *s, size_t len);            /* refs = 1; s == NULL leaves data to fill */
Value value_list(uint32_t cap);                     /* empty, owned alone */
Value value_map(uint32_t cap);
Value value_record(uint32_t type, uint32_t nfields); /* fields none */
Value value_media(const char *mime, const char *name, const void *data, size_t len);

/* ---- reference counting ------------------------------------------------------ */

static inline Value value_retain(Value v) {
  if (value_is_obj(v)) v.u.o->refs++;
  return v;
}
void value_free_obj(Obj *o); /* called when refs drops to 0 */
static inline void value_release(Value v) {
  if (value_is_obj(v) && --v.u.o->refs == 0) value_free_obj(v.u.o);
}

/* ---- accessors (borrowed) ------------------------------------------------------ */

static inline Str *value_as_str(Value v) { return (Str *)v.u.o; }
static inline List *value_as_list(Value v) { return (List *)v.u.o; }
static inline Map *value_as_map(Value v) { return (Map *)v.u.o; }
static inline Record *value_as_record(Value v) { return (Record *)v.u.o; }
static inline Media *value_as_media(Value v) { return (Media *)v.u.o; }

/* ---- builders (on values owned alone) -------------------------------------------- */

void list_push_steal(Value list, Value item);
/* Set `key` (borrowed) to `value` (stolen); replaces an existing entry. */
void map_set_steal(Value map, Str *key, Value value);
/* The value for `key`, or NULL. Borrowed. */
const Value *map_get(Value map, const char *key, size_t len);
void record_set_steal(Value record, uint32_t field, Value value);

/* ---- comparison and hashing ------------------------------------------------------- */

/* Structural equality (int 1 == float 1.0 is true, as in the language). */
bool value_equal(Value a, Value b);
/* Total order for sort(): numbers, then strings by bytes, ... (same tags). */
int value_compare(Value a, Value b);

#endif
