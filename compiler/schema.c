/* schema.c - JSON Schema of an output type (see schema.h). */
#include "schema.h"

#include <jansson.h>
#include <stdlib.h>

#include "ast.h"

#define SCHEMA_MAX_DEPTH 12

static json_t *schema_of(const Type *t, int depth);

static json_t *record_schema(const Type *t, int depth) {
  json_t *props = json_object(), *required = json_array();
  Decl *d = t->decl;
  for (unsigned i = 0; i < d->u.record.n; i++) {
    Field *f = d->u.record.fields[i];
    json_t *fs = f->resolved ? schema_of(f->resolved, depth + 1) : json_object();
    for (unsigned k = 0; k < f->nannots; k++) {
      Annotation *a = f->annots[k];
      const char *text = a->nargs == 1 ? expr_const_string(a->args[0].value) : NULL;
      if (text && a->name.name[0] == 'd') json_object_set_new(fs, "description", json_string(text));
    }
    json_object_set_new(props, f->name.name, fs);
    json_array_append_new(required, json_string(f->name.name));
  }
  json_t *o = json_object();
  json_object_set_new(o, "type", json_string("object"));
  json_object_set_new(o, "properties", props);
  json_object_set_new(o, "required", required);
  json_object_set_new(o, "additionalProperties", json_false());
  return o;
}

static json_t *schema_of(const Type *t, int depth) {
  json_t *o = json_object();
  if (depth > SCHEMA_MAX_DEPTH) return o; /* a recursive record: accept anything below */
  switch (t->kind) {
  case T_STRING: json_object_set_new(o, "type", json_string("string")); break;
  case T_INT: json_object_set_new(o, "type", json_string("integer")); break;
  case T_FLOAT: json_object_set_new(o, "type", json_string("number")); break;
  case T_BOOL: json_object_set_new(o, "type", json_string("boolean")); break;
  case T_ENUM: {
    json_t *vals = json_array();
    for (unsigned i = 0; i < t->decl->u.enm.n; i++)
      json_array_append_new(vals, json_string(t->decl->u.enm.variants[i].name.name));
    json_object_set_new(o, "type", json_string("string"));
    json_object_set_new(o, "enum", vals);
    break;
  }
  case T_LIST:
    json_object_set_new(o, "type", json_string("array"));
    json_object_set_new(o, "items", schema_of(t->elem, depth + 1));
    break;
  case T_MAP:
    json_object_set_new(o, "type", json_string("object"));
    json_object_set_new(o, "additionalProperties", schema_of(t->elem, depth + 1));
    break;
  case T_OPT: {
    json_t *any = json_array();
    json_array_append_new(any, schema_of(t->elem, depth + 1));
    json_t *null = json_object();
    json_object_set_new(null, "type", json_string("null"));
    json_array_append_new(any, null);
    json_object_set_new(o, "anyOf", any);
    break;
  }
  case T_RECORD:
    json_decref(o);
    return record_schema(t, depth);
  default:
    break;
  }
  return o;
}

char *schema_for_type(const Type *t) {
  if (t->kind == T_STRING) return NULL;
  json_t *s = schema_of(t, 0);
  char *text = json_dumps(s, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(s);
  return text;
}
