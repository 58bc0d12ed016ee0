/* types.c - unique semantic types (see types.h). */
#include "types.h"

#include <string.h>

void types_init(TypeTable *tt, Arena *arena) {
  memset(tt, 0, sizeof *tt);
  tt->arena = arena;
  tt->error.kind = T_ERROR;
  tt->unknown.kind = T_UNKNOWN;
  tt->string.kind = T_STRING;
  tt->int_.kind = T_INT;
  tt->float_.kind = T_FLOAT;
  tt->bool_.kind = T_BOOL;
  tt->image.kind = T_IMAGE;
  tt->audio.kind = T_AUDIO;
  tt->duration.kind = T_DURATION;
  tt->size.kind = T_SIZE;
  tt->price.kind = T_PRICE;
  tt->model.kind = T_MODEL;
}

static Type *type_new(TypeTable *tt, TypeKind kind, Type *elem) {
  Type *t = ARENA_NEW(tt->arena, Type);
  t->kind = kind;
  t->elem = elem;
  return t;
}

Type *type_list(TypeTable *tt, Type *elem) {
  if (elem->kind == T_ERROR) return elem;
  if (!elem->list_of) elem->list_of = type_new(tt, T_LIST, elem);
  return elem->list_of;
}

Type *type_opt(TypeTable *tt, Type *elem) {
  if (elem->kind == T_ERROR || elem->kind == T_OPT) return elem;
  if (!elem->opt_of) elem->opt_of = type_new(tt, T_OPT, elem);
  return elem->opt_of;
}

Type *type_map(TypeTable *tt, Type *elem) {
  if (elem->kind == T_ERROR) return elem;
  if (!elem->map_of) elem->map_of = type_new(tt, T_MAP, elem);
  return elem->map_of;
}

Type *type_range(TypeTable *tt, Type *elem) {
  if (elem->kind == T_ERROR) return elem;
  if (!elem->range_of) elem->range_of = type_new(tt, T_RANGE, elem);
  return elem->range_of;
}

Type *type_named(TypeTable *tt, Decl *decl) {
  if (!decl->type) {
    decl->type = type_new(tt, decl->kind == D_ENUM ? T_ENUM : T_RECORD, NULL);
    decl->type->decl = decl;
  }
  return decl->type;
}

Type *type_builtin(TypeTable *tt, const char *name) {
  switch (name[0]) {
  case 's': if (strcmp(name, "string") == 0) return &tt->string; break;
  case 'i':
    if (strcmp(name, "int") == 0) return &tt->int_;
    if (strcmp(name, "image") == 0) return &tt->image;
    break;
  case 'f': if (strcmp(name, "float") == 0) return &tt->float_; break;
  case 'b': if (strcmp(name, "bool") == 0) return &tt->bool_; break;
  case 'a': if (strcmp(name, "audio") == 0) return &tt->audio; break;
  case 'd': if (strcmp(name, "duration") == 0) return &tt->duration; break;
  }
  return NULL;
}

/* Append the printed form of t to buf (size cap), returning the new length. */
static size_t type_print(char *buf, size_t len, size_t cap, const Type *t) {
  const char *s = NULL;
  switch (t->kind) {
  case T_ERROR: s = "{error}"; break;
  case T_UNKNOWN: s = "_"; break;
  case T_STRING: s = "string"; break;
  case T_INT: s = "int"; break;
  case T_FLOAT: s = "float"; break;
  case T_BOOL: s = "bool"; break;
  case T_IMAGE: s = "image"; break;
  case T_AUDIO: s = "audio"; break;
  case T_DURATION: s = "duration"; break;
  case T_SIZE: s = "size"; break;
  case T_PRICE: s = "price"; break;
  case T_MODEL: s = "model"; break;
  case T_RECORD: case T_ENUM: s = t->decl->name.name; break;
  case T_LIST:
    len = type_print(buf, len, cap, t->elem);
    s = "[]";
    break;
  case T_OPT:
    len = type_print(buf, len, cap, t->elem);
    s = "?";
    break;
  case T_RANGE:
    s = "range<";
    break;
  case T_MAP:
    if (len + 12 < cap) { memcpy(buf + len, "map<string, ", 12); len += 12; }
    len = type_print(buf, len, cap, t->elem);
    s = ">";
    break;
  }
  size_t n = strlen(s);
  if (len + n < cap) {
    memcpy(buf + len, s, n);
    len += n;
  }
  if (t->kind == T_RANGE) {
    len = type_print(buf, len, cap, t->elem);
    if (len + 1 < cap) buf[len++] = '>';
  }
  buf[len < cap ? len : cap - 1] = '\0';
  return len;
}

const char *type_str(Arena *a, const Type *t) {
  char buf[256];
  buf[0] = '\0';
  size_t n = type_print(buf, 0, sizeof buf, t);
  return arena_strndup(a, buf, n < sizeof buf ? n : sizeof buf - 1);
}

bool type_assignable(const Type *from, const Type *to) {
  if (from == to) return true;
  if (from->kind == T_ERROR || to->kind == T_ERROR) return true;
  if (from->kind == T_UNKNOWN || to->kind == T_UNKNOWN) return true;
  if (from->kind == T_INT && to->kind == T_FLOAT) return true;
  if (to->kind == T_OPT) {
    if (from->kind == T_OPT) return type_assignable(from->elem, to->elem);
    return type_assignable(from, to->elem);
  }
  if (from->kind == to->kind && (from->kind == T_LIST || from->kind == T_MAP))
    return type_assignable(from->elem, to->elem); /* values are immutable: covariant */
  return false;
}

Type *type_join(TypeTable *tt, Type *a, Type *b) {
  if (a == b) return a;
  if (a->kind == T_ERROR) return b;
  if (b->kind == T_ERROR) return a;
  if (a->kind == T_UNKNOWN && b->kind != T_OPT) return b;
  if (b->kind == T_UNKNOWN && a->kind != T_OPT) return a;
  /* none + T = T? */
  if (a->kind == T_OPT && a->elem->kind == T_UNKNOWN) return type_opt(tt, b);
  if (b->kind == T_OPT && b->elem->kind == T_UNKNOWN) return type_opt(tt, a);
  if (type_assignable(a, b)) return b;
  if (type_assignable(b, a)) return a;
  if (a->kind == T_OPT && type_assignable(b, a->elem)) return a;
  if (b->kind == T_OPT && type_assignable(a, b->elem)) return b;
  if (a->kind == b->kind && (a->kind == T_LIST || a->kind == T_MAP)) {
    Type *e = type_join(tt, a->elem, b->elem);
    if (!e) return NULL;
    return a->kind == T_LIST ? type_list(tt, e) : type_map(tt, e);
  }
  return NULL;
}

bool type_is_numeric(const Type *t) { return t->kind == T_INT || t->kind == T_FLOAT; }

bool type_is_printable(const Type *t) {
  switch (t->kind) {
  case T_ERROR: case T_UNKNOWN: case T_STRING: case T_INT: case T_FLOAT: case T_BOOL: case T_ENUM:
    return true;
  default:
    return false;
  }
}

/* Records may be recursive (a tree of sections); depth bounds the walk. */
static bool type_is_json_depth(const Type *t, int depth) {
  switch (t->kind) {
  case T_ERROR: case T_UNKNOWN: case T_STRING: case T_INT: case T_FLOAT: case T_BOOL: case T_ENUM:
    return true;
  case T_LIST: case T_OPT: case T_MAP:
    return type_is_json_depth(t->elem, depth);
  case T_RECORD:
    if (depth > 16) return true;
    for (unsigned i = 0; i < t->decl->u.record.n; i++) {
      const Type *ft = t->decl->u.record.fields[i]->resolved;
      if (ft && !type_is_json_depth(ft, depth + 1)) return false;
    }
    return true;
  default:
    return false;
  }
}

bool type_is_json(const Type *t) { return type_is_json_depth(t, 0); }

bool type_is_error(const Type *t) {
  while (t && (t->kind == T_LIST || t->kind == T_OPT || t->kind == T_MAP)) t = t->elem;
  return t && t->kind == T_ERROR;
}

Field *type_field(const Type *record, const char *name, unsigned *index) {
  if (record->kind != T_RECORD) return NULL;
  Decl *d = record->decl;
  for (unsigned i = 0; i < d->u.record.n; i++) {
    if (d->u.record.fields[i]->name.name == name) {
      if (index) *index = i;
      return d->u.record.fields[i];
    }
  }
  return NULL;
}

int type_variant(const Type *enm, const char *name) {
  if (enm->kind != T_ENUM) return -1;
  Decl *d = enm->decl;
  for (unsigned i = 0; i < d->u.enm.n; i++)
    if (d->u.enm.variants[i].name.name == name) return (int)i;
  return -1;
}
