/* types.h - the semantic types of the checker.
 *
 * Types are unique: a list, optional or map of a given element type is built
 * once and cached on the element, so two types are equal exactly when their
 * pointers are. T_ERROR is the type of an expression that already produced a
 * diagnostic; every check accepts it silently, so one mistake gives one error. */
#ifndef FLOW_TYPES_H
#define FLOW_TYPES_H

#include <stdbool.h>

#include "arena.h"
#include "ast.h"

typedef enum TypeKind {
  T_ERROR,     /* poison: already reported */
  T_UNKNOWN,   /* element of `[]`, payload of `none`: fits any type */
  T_STRING, T_INT, T_FLOAT, T_BOOL,
  T_IMAGE, T_AUDIO,
  T_DURATION, T_SIZE, T_PRICE, T_RANGE,
  T_LIST, T_OPT, T_MAP,
  T_RECORD, T_ENUM,
  T_MODEL,     /* a model binding used as a value (judge, fallback) */
} TypeKind;

struct Type {
  TypeKind kind;
  Type *elem;           /* T_LIST, T_OPT, T_MAP, T_RANGE */
  Decl *decl;           /* T_RECORD, T_ENUM */
  Type *list_of, *opt_of, *map_of, *range_of; /* caches */
  uint32_t img_id;      /* type id in the Image being lowered, once has_img_id */
  bool has_img_id;
};

/* The built-in types, owned by a TypeTable. */
typedef struct TypeTable {
  Arena *arena;
  Type error, unknown, string, int_, float_, bool_, image, audio;
  Type duration, size, price, model;
} TypeTable;

void types_init(TypeTable *tt, Arena *arena);
Type *type_list(TypeTable *tt, Type *elem);
Type *type_opt(TypeTable *tt, Type *elem);   /* T?? is T? */
Type *type_map(TypeTable *tt, Type *elem);
Type *type_range(TypeTable *tt, Type *elem);
Type *type_named(TypeTable *tt, Decl *decl); /* record or enum, cached on the decl */

/* The built-in type called `name`, or NULL. */
Type *type_builtin(TypeTable *tt, const char *name);

/* Printed form: "string", "Ticket[]", "map<string, int>", "Priority?". */
const char *type_str(Arena *a, const Type *t);

/* Can a value of type `from` be used where `to` is expected?
 * Implicit conversions: int -> float, T -> T?, none -> T?, and T_UNKNOWN
 * elements (from `[]`) fit any element type. */
bool type_assignable(const Type *from, const Type *to);
/* The common type of two branches (if/match), or NULL when there is none. */
Type *type_join(TypeTable *tt, Type *a, Type *b);

bool type_is_numeric(const Type *t);     /* int or float */
bool type_is_printable(const Type *t);   /* usable in {{ }} */
bool type_is_json(const Type *t);        /* JSON-representable */
bool type_is_error(const Type *t);       /* T_ERROR, or contains it */
/* For a record: the field called `name`, its index in *index. */
Field *type_field(const Type *record, const char *name, unsigned *index);
/* For an enum: the index of variant `name`, or -1. */
int type_variant(const Type *enm, const char *name);

#endif
