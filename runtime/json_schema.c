/* json_schema.c - the JSON Schema validator (see json_schema.h).
 *
 * A schema is compiled into a graph of nodes, one per schema: every keyword
 * of the subset is checked and decoded once, patterns are compiled, $refs
 * point at their target nodes, and a $ref cycle that would never consume the
 * value is refused. Validation then walks the value and the graph together
 * and stops at the first violation. Only a validation that was asked for a
 * message formats one; anyOf and oneOf then keep the most telling of their
 * branches' failures (the one that got deepest into the value). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "json_schema.h"

#include <float.h>
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "json_path.h"
#include "json_read.h"
#include "json_value.h"
#include "suggest.h"
#include "textbuf.h"
#include "utf8.h"

/* ---- compiled schemas ------------------------------------------------------------------------- */

/* The JSON types, as bits of SNode.types, in the order of TYPE_NAMES. */
enum { TY_NULL = 1, TY_BOOLEAN = 2, TY_OBJECT = 4, TY_ARRAY = 8, TY_NUMBER = 16, TY_STRING = 32, TY_INTEGER = 64 };
#define NTYPES 7
static const char *const TYPE_NAMES[NTYPES] = {"null", "boolean", "object", "array", "number", "string", "integer"};
static const char *const TYPE_PHRASES[NTYPES] = {"null",     "true or false", "an object", "an array",
                                                 "a number", "a string",      "an integer"};

typedef struct SNode SNode;

/* Subschemas in order (allOf, anyOf, oneOf, prefixItems). */
typedef struct SList {
  SNode **at;
  size_t n;
} SList;

/* A patternProperties entry: the compiled key pattern and its schema. */
typedef struct SPattern {
  const char *text;
  pcre2_code *re;
  SNode *node;
} SPattern;

/* One schema. Absent counts are -1, absent numbers NULL. */
struct SNode {
  const char *where;              /* JSON pointer of this schema: "#/properties/a" */
  int boolean;                    /* 1 `true`, 0 `false`, -1 an object schema */
  unsigned types;                 /* TY_* bits; 0 when there is no "type" */
  const json_t *enum_vals;        /* an array, or NULL */
  const json_t *const_val;        /* NULL when there is no "const" */
  const json_t *minimum, *maximum, *xminimum, *xmaximum, *multiple_of;
  int64_t min_len, max_len, min_items, max_items, min_props, max_props;
  bool unique;
  const char *pattern_text;
  pcre2_code *pattern;
  const json_t *props_json;       /* "properties", for finding a key's schema */
  const char **prop_names;
  SNode **props;
  size_t nprops;
  SPattern *pprops;
  size_t npprops;
  SNode *additional;              /* "additionalProperties", or NULL */
  const json_t *required;         /* an array of strings, or NULL */
  SList prefix;
  SNode *items;
  SList all, any, one;
  SNode *not_;
  const char *ref_text;           /* "$ref", or NULL */
  SNode *ref;                     /* its target, once resolved */
  int mark;                       /* cycle search: 0 unseen, 1 on the path, 2 done */
};

struct JsonSchema {
  json_t *json;                   /* the schema (its own reference) */
  Arena arena;                    /* nodes, lists and JSON pointers */
  SNode *root;
  PtrVec codes;                   /* every compiled pcre2_code, to free */
};

/* One compilation in progress. */
typedef struct Compiler {
  JsonSchema *s;
  PtrVec nodes;                   /* every node: references and cycles are settled over these */
  PtrVec def_names, def_nodes;    /* the root's $defs (and definitions) entries */
  PtrVec def_kinds;               /* "$defs" or "definitions", per entry */
  char *err;
  size_t errlen;
  bool failed;
} Compiler;

/* Record the first error; returns NULL so callers can `return cfail(...)`. */
static void *cfail(Compiler *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void *cfail(Compiler *c, const char *fmt, ...) {
  if (c->failed) return NULL;
  c->failed = true;
  if (c->err && c->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
  }
  return NULL;
}

/* Report that keyword `kw` of the schema at `where` is not `want`. */
static bool bad_keyword(Compiler *c, const char *where, const char *kw, const char *want, const json_t *found) {
  char f[96];
  json_describe(found, f, sizeof f);
  cfail(c, "%s/%s must be %s, found %s", where, kw, want, f);
  return false;
}

/* The JSON pointer `where`/`key`, with '~' and '/' in the key escaped. */
static const char *pointer_to(Compiler *c, const char *where, const char *key) {
  TextBuf b = {0};
  tb_puts(&b, where);
  tb_putc(&b, '/');
  for (const char *p = key; *p; p++) {
    if (*p == '~') tb_puts(&b, "~0");
    else if (*p == '/') tb_puts(&b, "~1");
    else tb_putc(&b, *p);
  }
  char *out = arena_strndup(&c->s->arena, b.data, b.len);
  free(b.data);
  return out;
}

static SNode *compile_node(Compiler *c, const json_t *j, const char *where, int depth);

/* Compile `pattern` (a PCRE2 pattern, UTF) or report it at where/kw. */
static pcre2_code *compile_pattern(Compiler *c, const char *where, const char *kw, const char *pattern,
                                   size_t len) {
  int code;
  PCRE2_SIZE at;
  pcre2_code *re =
      pcre2_compile((PCRE2_SPTR)pattern, len, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &at, NULL);
  if (!re) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(code, msg, sizeof msg);
    return cfail(c, "%s/%s must be a regular expression (PCRE2), found \"%.60s\": %s at offset %zu", where, kw,
                 pattern, (const char *)msg, (size_t)at);
  }
  pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* optional: matching works without it */
  ptrvec_push(&c->s->arena, &c->s->codes, re);
  return re;
}

/* "type": a type name or a non-empty array of them. */
static bool compile_type(Compiler *c, SNode *n, const json_t *t) {
  const char *want = "a type name (\"null\", \"boolean\", \"object\", \"array\", \"number\", \"string\" or "
                     "\"integer\") or an array of them";
  size_t count = json_is_array(t) ? json_array_size(t) : 1;
  if (!json_is_string(t) && !(json_is_array(t) && count > 0)) return bad_keyword(c, n->where, "type", want, t);
  for (size_t i = 0; i < count; i++) {
    const json_t *name = json_is_array(t) ? json_array_get(t, i) : t;
    int k = NTYPES;
    if (json_is_string(name))
      for (k = 0; k < NTYPES && strcmp(json_string_value(name), TYPE_NAMES[k]) != 0; k++) {}
    if (k == NTYPES) return bad_keyword(c, n->where, "type", want, name);
    n->types |= 1u << k;
  }
  return true;
}

/* A count keyword (minLength, maxItems, ...): a non-negative integer, which
 * JSON may write as 2.0. Stores -1 when absent. */
static bool compile_count(Compiler *c, SNode *n, const json_t *j, const char *kw, int64_t *out) {
  const json_t *v = json_object_get(j, kw);
  *out = -1;
  if (!v) return true;
  double d = json_is_integer(v) ? (double)json_integer_value(v) : json_is_real(v) ? json_real_value(v) : -1;
  if (!json_is_number(v) || d < 0 || d != floor(d))
    return bad_keyword(c, n->where, kw, "a non-negative integer", v);
  *out = json_is_integer(v) ? (int64_t)json_integer_value(v) : d >= 9.2e18 ? INT64_MAX : (int64_t)d;
  return true;
}

/* A number keyword (minimum, ...). */
static bool compile_number(Compiler *c, SNode *n, const json_t *j, const char *kw, const json_t **out) {
  const json_t *v = json_object_get(j, kw);
  *out = v;
  if (!v || json_is_number(v)) return true;
  if (json_is_boolean(v) && kw[0] == 'e')
    return bad_keyword(c, n->where, kw, "a number (the boolean form of draft 4 is not supported)", v);
  return bad_keyword(c, n->where, kw, "a number", v);
}

/* The numeric bounds, multipleOf and the counts of strings, arrays and
 * objects. */
static bool compile_numbers(Compiler *c, SNode *n, const json_t *j) {
  if (!compile_number(c, n, j, "minimum", &n->minimum) || !compile_number(c, n, j, "maximum", &n->maximum) ||
      !compile_number(c, n, j, "exclusiveMinimum", &n->xminimum) ||
      !compile_number(c, n, j, "exclusiveMaximum", &n->xmaximum) ||
      !compile_number(c, n, j, "multipleOf", &n->multiple_of))
    return false;
  if (n->multiple_of && json_number_value(n->multiple_of) <= 0)
    return bad_keyword(c, n->where, "multipleOf", "a number greater than 0", n->multiple_of);
  return compile_count(c, n, j, "minLength", &n->min_len) && compile_count(c, n, j, "maxLength", &n->max_len) &&
         compile_count(c, n, j, "minItems", &n->min_items) && compile_count(c, n, j, "maxItems", &n->max_items) &&
         compile_count(c, n, j, "minProperties", &n->min_props) &&
         compile_count(c, n, j, "maxProperties", &n->max_props);
}

/* A keyword whose value is one schema ("not", "items", ...), or NULL when absent. */
static bool compile_sub(Compiler *c, SNode *n, const json_t *j, const char *kw, int depth, SNode **out) {
  const json_t *v = json_object_get(j, kw);
  *out = NULL;
  if (!v) return true;
  *out = compile_node(c, v, pointer_to(c, n->where, kw), depth + 1);
  return !c->failed;
}

/* A keyword whose value is a non-empty array of schemas (allOf, prefixItems, ...). */
static bool compile_list(Compiler *c, SNode *n, const json_t *j, const char *kw, int depth, SList *out) {
  const json_t *v = json_object_get(j, kw);
  if (!v) return true;
  if (!json_is_array(v) || json_array_size(v) == 0)
    return bad_keyword(c, n->where, kw, "a non-empty array of schemas", v);
  const char *base = pointer_to(c, n->where, kw);
  out->n = json_array_size(v);
  out->at = arena_alloc(&c->s->arena, out->n * sizeof *out->at);
  for (size_t i = 0; i < out->n && !c->failed; i++)
    out->at[i] = compile_node(c, json_array_get(v, i), arena_printf(&c->s->arena, "%s/%zu", base, i), depth + 1);
  return !c->failed;
}

/* properties, patternProperties, additionalProperties, required. */
static bool compile_object_keywords(Compiler *c, SNode *n, const json_t *j, int depth) {
  const json_t *props = json_object_get(j, "properties");
  if (props && !json_is_object(props))
    return bad_keyword(c, n->where, "properties", "an object of schemas", props);
  if (props) {
    const char *base = pointer_to(c, n->where, "properties");
    n->props_json = props;
    n->nprops = json_object_size(props);
    n->props = arena_alloc(&c->s->arena, (n->nprops + 1) * sizeof *n->props);
    n->prop_names = arena_alloc(&c->s->arena, (n->nprops + 1) * sizeof *n->prop_names);
    size_t i = 0;
    const char *key;
    json_t *sub;
    json_object_foreach((json_t *)props, key, sub) {
      n->prop_names[i] = key;
      n->props[i++] = compile_node(c, sub, pointer_to(c, base, key), depth + 1);
      if (c->failed) return false;
    }
  }
  const json_t *pp = json_object_get(j, "patternProperties");
  if (pp && !json_is_object(pp))
    return bad_keyword(c, n->where, "patternProperties", "an object of schemas keyed by patterns", pp);
  if (pp) {
    const char *base = pointer_to(c, n->where, "patternProperties");
    n->pprops = arena_zalloc(&c->s->arena, (json_object_size(pp) + 1) * sizeof *n->pprops);
    const char *key;
    json_t *sub;
    json_object_foreach((json_t *)pp, key, sub) {
      SPattern *p = &n->pprops[n->npprops++];
      p->text = key;
      p->re = compile_pattern(c, base, key, key, strlen(key));
      if (p->re) p->node = compile_node(c, sub, pointer_to(c, base, key), depth + 1);
      if (c->failed) return false;
    }
  }
  const json_t *req = json_object_get(j, "required");
  if (req) {
    size_t i;
    json_t *name;
    bool ok = json_is_array(req);
    json_array_foreach(req, i, name) ok = ok && json_is_string(name);
    if (!ok) return bad_keyword(c, n->where, "required", "an array of property names (strings)", req);
    n->required = req;
  }
  return compile_sub(c, n, j, "additionalProperties", depth, &n->additional);
}

/* prefixItems, items (a schema: the tuple form of draft 7 is prefixItems now). */
static bool compile_array_keywords(Compiler *c, SNode *n, const json_t *j, int depth) {
  const json_t *items = json_object_get(j, "items");
  if (json_is_array(items))
    return bad_keyword(c, n->where, "items", "a schema (write a tuple's schemas as \"prefixItems\")", items);
  const json_t *u = json_object_get(j, "uniqueItems");
  if (u && !json_is_boolean(u)) return bad_keyword(c, n->where, "uniqueItems", "true or false", u);
  n->unique = json_is_true(u);
  return compile_list(c, n, j, "prefixItems", depth, &n->prefix) && compile_sub(c, n, j, "items", depth, &n->items);
}

/* $defs or definitions: an object of schemas. At the top level they are
 * recorded for $ref; elsewhere they are only checked. */
static bool compile_defs(Compiler *c, SNode *n, const json_t *j, const char *kw, int depth) {
  const json_t *defs = json_object_get(j, kw);
  if (!defs) return true;
  if (!json_is_object(defs)) return bad_keyword(c, n->where, kw, "an object of schemas", defs);
  const char *base = pointer_to(c, n->where, kw);
  const char *key;
  json_t *sub;
  json_object_foreach((json_t *)defs, key, sub) {
    SNode *d = compile_node(c, sub, pointer_to(c, base, key), depth + 1);
    if (c->failed) return false;
    if (depth > 0) continue;
    ptrvec_push(&c->s->arena, &c->def_names, (void *)key);
    ptrvec_push(&c->s->arena, &c->def_nodes, d);
    ptrvec_push(&c->s->arena, &c->def_kinds, (void *)kw);
  }
  return true;
}

/* enum, const, pattern, $ref: the keywords that are only read. */
static bool compile_values(Compiler *c, SNode *n, const json_t *j) {
  n->enum_vals = json_object_get(j, "enum");
  if (n->enum_vals && !json_is_array(n->enum_vals))
    return bad_keyword(c, n->where, "enum", "an array of values", n->enum_vals);
  n->const_val = json_object_get(j, "const");
  const json_t *pat = json_object_get(j, "pattern");
  if (pat && !json_is_string(pat)) return bad_keyword(c, n->where, "pattern", "a regular expression (a string)", pat);
  if (pat) {
    n->pattern_text = json_string_value(pat);
    n->pattern = compile_pattern(c, n->where, "pattern", n->pattern_text, json_string_length(pat));
    if (!n->pattern) return false;
  }
  const json_t *ref = json_object_get(j, "$ref");
  if (ref && !json_is_string(ref)) return bad_keyword(c, n->where, "$ref", "a reference (a string)", ref);
  n->ref_text = ref ? json_string_value(ref) : NULL;
  const json_t *t = json_object_get(j, "type");
  return !t || compile_type(c, n, t);
}

/* Compile the schema `j` found at JSON pointer `where`, `depth` schemas
 * below the top; NULL once an error was recorded. */
static SNode *compile_node(Compiler *c, const json_t *j, const char *where, int depth) {
  SNode *n = ARENA_NEW(&c->s->arena, SNode);
  n->where = where;
  n->boolean = -1;
  ptrvec_push(&c->s->arena, &c->nodes, n);
  if (json_is_boolean(j)) {
    n->boolean = json_is_true(j);
    return n;
  }
  if (!json_is_object(j)) {
    char f[96];
    json_describe(j, f, sizeof f);
    return cfail(c, "%s must be a schema (an object, true or false), found %s", where, f);
  }
  if (depth > JSON_SCHEMA_TEXT_DEPTH)
    return cfail(c, "%s must nest at most %d schemas deep, found deeper nesting", where, JSON_SCHEMA_TEXT_DEPTH);
  bool ok = compile_values(c, n, j) && compile_numbers(c, n, j) && compile_object_keywords(c, n, j, depth) &&
            compile_array_keywords(c, n, j, depth) && compile_list(c, n, j, "allOf", depth, &n->all) &&
            compile_list(c, n, j, "anyOf", depth, &n->any) && compile_list(c, n, j, "oneOf", depth, &n->one) &&
            compile_sub(c, n, j, "not", depth, &n->not_) && compile_defs(c, n, j, "$defs", depth) &&
            compile_defs(c, n, j, "definitions", depth);
  return ok ? n : NULL;
}

/* ---- references -------------------------------------------------------------------------------- */

/* The value of a hex digit, or -1. */
static int hex_value(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Decode one JSON pointer token of a URI fragment (%XX, then ~1 and ~0)
 * into a malloc'd string; NULL when it holds a '/' (a deeper pointer). */
static char *pointer_token(const char *s) {
  size_t n = strlen(s), k = 0;
  char *out = malloc(n + 1);
  if (!out) flow_oom();
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch == '%' && i + 2 < n && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      ch = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else if (ch == '/') {
      free(out);
      return NULL;
    }
    out[k++] = ch;
  }
  out[k] = '\0';
  size_t w = 0;
  for (size_t r = 0; r < k; r++) {
    if (out[r] == '~' && (out[r + 1] == '0' || out[r + 1] == '1')) {
      out[w++] = out[r + 1] == '0' ? '~' : '/';
      r++;
    } else {
      out[w++] = out[r];
    }
  }
  out[w] = '\0';
  return out;
}

/* The node that `$ref` text names, or NULL when this validator cannot
 * resolve it. */
static SNode *ref_target(Compiler *c, const char *ref) {
  if (strcmp(ref, "#") == 0) return c->s->root;
  const char *kinds[] = {"$defs", "definitions"};
  for (int k = 0; k < 2; k++) {
    size_t plen = strlen(kinds[k]);
    if (strncmp(ref, "#/", 2) != 0 || strncmp(ref + 2, kinds[k], plen) != 0 || ref[2 + plen] != '/') continue;
    char *name = pointer_token(ref + 3 + plen);
    SNode *found = NULL;
    for (unsigned i = 0; name && i < c->def_names.n && !found; i++)
      if (strcmp(c->def_kinds.items[i], kinds[k]) == 0 && strcmp(c->def_names.items[i], name) == 0)
        found = c->def_nodes.items[i];
    free(name);
    return found;
  }
  return NULL;
}

/* Point every $ref at its node. */
static bool resolve_refs(Compiler *c) {
  for (unsigned i = 0; i < c->nodes.n; i++) {
    SNode *n = c->nodes.items[i];
    if (!n->ref_text) continue;
    n->ref = ref_target(c, n->ref_text);
    if (n->ref) continue;
    TextBuf names = {0};
    for (unsigned k = 0; k < c->def_names.n && names.len < 200; k++) {
      tb_puts(&names, k ? ", " : "");
      tb_json_string(&names, c->def_names.items[k], strlen(c->def_names.items[k]));
    }
    cfail(c, "%s/$ref must be \"#\" or \"#/$defs/NAME\" naming one of the top-level definitions (%s), found \"%.80s\"",
          n->where, names.len ? names.data : "there are none", n->ref_text);
    free(names.data);
    return false;
  }
  return true;
}

/* The in-place subschemas of `n` (applied to the same value): its $ref,
 * allOf, anyOf, oneOf and not, by index; NULL past the end. */
static SNode *inplace_edge(const SNode *n, size_t k) {
  if (n->ref && k-- == 0) return n->ref;
  const SList *lists[] = {&n->all, &n->any, &n->one};
  for (int l = 0; l < 3; l++) {
    if (k < lists[l]->n) return lists[l]->at[k];
    k -= lists[l]->n;
  }
  return n->not_ && k == 0 ? n->not_ : NULL;
}

/* Report the cycle that runs from `e` (on the stack) up the stack to its
 * top and back to `e`, naming a $ref edge on it (every cycle has one: the
 * other edges go down the schema's tree). The edge stack[k] took is its
 * in-place edge next[k] - 1; its $ref is edge 0. */
static void report_cycle(Compiler *c, SNode **stack, const size_t *next, size_t top, const SNode *e) {
  const SNode *r = stack[top - 1], *to = e;
  for (size_t k = top; k-- > 0;) {
    const SNode *succ = k + 1 == top ? e : stack[k + 1];
    if (stack[k]->ref && next[k] == 1 && stack[k]->ref == succ) {
      r = stack[k];
      to = succ;
      break;
    }
    if (stack[k] == e) break;
  }
  cfail(c, "%s/$ref \"%.80s\" leads back to %s without descending into the value, so no value could finish "
           "validating: expected a reference that is reached only inside properties or items",
        r->where, r->ref_text ? r->ref_text : "?", to->where);
}

/* Refuse a cycle of in-place applications: validating any value would go
 * round it forever. Depth-first over the in-place edges, with an explicit
 * stack (a chain of references may be long). */
static bool find_cycles(Compiler *c) {
  size_t cap = c->nodes.n + 1, top = 0;
  SNode **stack = malloc(cap * sizeof *stack);
  size_t *next = malloc(cap * sizeof *next);
  if (!stack || !next) flow_oom();
  for (unsigned i = 0; i < c->nodes.n && !c->failed; i++) {
    SNode *start = c->nodes.items[i];
    if (start->mark) continue;
    start->mark = 1;
    stack[top] = start;
    next[top++] = 0;
    while (top && !c->failed) {
      SNode *n = stack[top - 1];
      SNode *e = inplace_edge(n, next[top - 1]++);
      if (!e) {
        n->mark = 2;
        top--;
      } else if (e->mark == 0) {
        e->mark = 1;
        stack[top] = e;
        next[top++] = 0;
      } else if (e->mark == 1) {
        report_cycle(c, stack, next, top, e);
      }
    }
  }
  free(stack);
  free(next);
  return !c->failed;
}

JsonSchema *json_schema_new(json_t *schema, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  JsonSchema *s = calloc(1, sizeof *s);
  if (!s) flow_oom();
  arena_init(&s->arena);
  s->json = json_incref(schema);
  Compiler c = {.s = s, .err = err, .errlen = errlen};
  s->root = compile_node(&c, schema, "#", 0);
  if (!c.failed && (!resolve_refs(&c) || !find_cycles(&c))) c.failed = true;
  if (c.failed) {
    json_schema_free(s);
    return NULL;
  }
  return s;
}

JsonSchema *json_schema_parse(const char *text, size_t n, char *err, size_t errlen) {
  JsonReadError je;
  json_t *j = json_read_opts(text, n, JSON_SCHEMA_TEXT_DEPTH, JSON_READ_BIG_INTEGERS, &je);
  if (!j) {
    if (err && errlen) snprintf(err, errlen, "the schema is not JSON: at offset %zu, %s", je.position, je.text);
    return NULL;
  }
  JsonSchema *s = json_schema_new(j, err, errlen);
  json_decref(j);
  return s;
}

void json_schema_free(JsonSchema *s) {
  if (!s) return;
  for (unsigned i = 0; i < s->codes.n; i++) pcre2_code_free(s->codes.items[i]);
  json_decref(s->json);
  arena_free(&s->arena);
  free(s);
}

/* ---- JSON equality ------------------------------------------------------------------------------- */

/* Compare an integer with a double exactly: -1, 0 or 1. */
static int cmp_int_real(json_int_t i, double r) {
  if (r >= 9223372036854775808.0) return -1;
  if (r < -9223372036854775808.0) return 1;
  double t = trunc(r);
  json_int_t ti = (json_int_t)t;
  if (i != ti) return i < ti ? -1 : 1;
  return r > t ? -1 : r < t ? 1 : 0;
}

/* Compare two JSON numbers by value: -1, 0 or 1. */
static int num_cmp(const json_t *a, const json_t *b) {
  if (json_is_integer(a) && json_is_integer(b)) {
    json_int_t x = json_integer_value(a), y = json_integer_value(b);
    return x < y ? -1 : x > y;
  }
  if (json_is_integer(a)) return cmp_int_real(json_integer_value(a), json_real_value(b));
  if (json_is_integer(b)) return -cmp_int_real(json_integer_value(b), json_real_value(a));
  double x = json_real_value(a), y = json_real_value(b);
  return x < y ? -1 : x > y;
}

/* JSON equality as JSON Schema defines it: numbers by value (1 equals 1.0),
 * objects regardless of key order. */
static bool json_same(const json_t *a, const json_t *b) {
  if (json_is_number(a) && json_is_number(b)) return num_cmp(a, b) == 0;
  if (json_typeof(a) != json_typeof(b)) return false;
  switch (json_typeof(a)) {
  case JSON_STRING:
    return json_string_length(a) == json_string_length(b) &&
           memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
  case JSON_ARRAY: {
    size_t n = json_array_size(a);
    if (n != json_array_size(b)) return false;
    for (size_t i = 0; i < n; i++)
      if (!json_same(json_array_get(a, i), json_array_get(b, i))) return false;
    return true;
  }
  case JSON_OBJECT: {
    if (json_object_size(a) != json_object_size(b)) return false;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)a, key, v) {
      const json_t *w = json_object_get(b, key);
      if (!w || !json_same(v, w)) return false;
    }
    return true;
  }
  default: return true; /* null, true, false: the type says it all */
  }
}

/* A 64-bit finalizer (MurmurHash3's), to spread hash bits. */
static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

/* FNV-1a of s[0..n). */
static uint64_t bytes_hash(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
  return h;
}

/* A hash consistent with json_same. */
static uint64_t json_hash(const json_t *j) {
  switch (json_typeof(j)) {
  case JSON_INTEGER: return mix64((uint64_t)json_integer_value(j));
  case JSON_REAL: {
    double d = json_real_value(j);
    if (d == trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
      return mix64((uint64_t)(int64_t)d);
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return mix64(bits);
  }
  case JSON_STRING: return bytes_hash(json_string_value(j), json_string_length(j));
  case JSON_ARRAY: {
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < json_array_size(j); i++) h = mix64(h ^ json_hash(json_array_get(j, i))) + i;
    return h;
  }
  case JSON_OBJECT: {
    uint64_t h = 0x51ed270b27a5ull; /* a sum: key order does not matter */
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v) h += mix64(bytes_hash(key, strlen(key)) ^ (json_hash(v) * 31));
    return h;
  }
  case JSON_TRUE: return 1;
  case JSON_FALSE: return 2;
  case JSON_NULL: return 3;
  }
  return 0;
}

/* The first pair of equal items of array `a`, by hashing: true with their
 * indexes in *first < *second. */
static bool find_duplicate(const json_t *a, size_t *first, size_t *second) {
  size_t n = json_array_size(a), cap = 16;
  while (cap < 2 * n) cap *= 2;
  size_t *slots = calloc(cap, sizeof *slots); /* item index + 1 */
  if (!slots) flow_oom();
  bool dup = false;
  for (size_t i = 0; i < n && !dup; i++) {
    const json_t *x = json_array_get(a, i);
    size_t at = (size_t)json_hash(x) & (cap - 1);
    for (; slots[at]; at = (at + 1) & (cap - 1)) {
      if (json_same(json_array_get(a, slots[at] - 1), x)) {
        *first = slots[at] - 1;
        *second = i;
        dup = true;
        break;
      }
    }
    if (!dup) slots[at] = i + 1;
  }
  free(slots);
  return dup;
}

/* ---- validation ---------------------------------------------------------------------------------- */

typedef struct Validator {
  bool explain;                   /* write messages for violations */
  JsonPath path;                  /* where in the value: ".items[2].name" */
  TextBuf fail;                   /* the last violation (or the error) */
  size_t fail_depth;              /* plen at that violation */
  unsigned fail_types;            /* the expected types when it was a type mismatch, else 0 */
  unsigned nesting;
  uint64_t steps;
  bool error;                     /* a limit was reached: `fail` says which */
  pcre2_match_data *md;           /* created at the first pattern */
} Validator;

/* Write "at PATH: message" (just the message at the top level) to v->fail. */
static void vwrite(Validator *v, const char *fmt, va_list ap) {
  v->fail.len = 0;
  tb_reserve(&v->fail, 0);
  v->fail.data[0] = '\0';
  if (v->path.len) {
    tb_puts(&v->fail, "at ");
    bool cut = json_path_cut(&v->path);
    tb_put(&v->fail, v->path.text, cut ? sizeof v->path.text - 1 : v->path.len);
    tb_puts(&v->fail, cut ? "...: " : ": ");
  }
  char msg[600];
  vsnprintf(msg, sizeof msg, fmt, ap);
  tb_puts(&v->fail, msg);
}

/* Record a violation (only called when explaining: see FAIL). */
static bool vfail(Validator *v, unsigned types, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool vfail(Validator *v, unsigned types, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vwrite(v, fmt, ap);
  va_end(ap);
  v->fail_depth = v->path.len;
  v->fail_types = types;
  return false;
}
/* A violation: false, with a message when one is wanted (the arguments are
 * not even evaluated otherwise). */
#define FAIL(v, ...) ((v)->explain ? vfail((v), __VA_ARGS__) : false)

/* A limit was reached: always written, and validation stops. */
static bool verror(Validator *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool verror(Validator *v, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vwrite(v, fmt, ap);
  va_end(ap);
  v->error = true;
  return false;
}

/* Path segments are kept only when explaining a failure (json_path.h). */
static size_t path_push_key(Validator *v, const char *key) {
  return v->explain ? json_path_push_key(&v->path, key) : v->path.len;
}

static size_t path_push_index(Validator *v, size_t i) {
  return v->explain ? json_path_push_index(&v->path, i) : v->path.len;
}

static void path_pop(Validator *v, size_t mark) { json_path_pop(&v->path, mark); }

/* "found ..." text of a value, in a per-call buffer. */
typedef struct Found {
  char text[96];
} Found;
static const char *found_text(Found *f, const json_t *j) {
  json_describe(j, f->text, sizeof f->text);
  return f->text;
}
#define FOUND(j) found_text(&(Found){{0}}, (j))

/* JSON text of `j` cut to about 60 bytes, in a per-call buffer. */
typedef struct Dumped {
  char text[80];
} Dumped;
static const char *dump_text(Dumped *d, const json_t *j) {
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  size_t n = s ? strlen(s) : 0;
  if (n > 60) {
    n = 57;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
    snprintf(d->text, sizeof d->text, "%.*s...", (int)n, s);
  } else {
    snprintf(d->text, sizeof d->text, "%s", s ? s : "?");
  }
  free(s);
  return d->text;
}
#define DUMP(j) dump_text(&(Dumped){{0}}, (j))

/* "an integer, a string or null" for a set of TY_* bits. */
typedef struct Phrase {
  char text[120];
} Phrase;
static const char *types_text(Phrase *p, unsigned types) {
  if (types & TY_NUMBER) types &= ~(unsigned)TY_INTEGER;
  unsigned total = 0, seen = 0;
  for (int k = 0; k < NTYPES; k++) total += (types >> k) & 1;
  size_t len = 0;
  p->text[0] = '\0';
  static const int order[NTYPES] = {6, 4, 5, 1, 3, 2, 0}; /* integer, number, string, bool, array, object, null */
  for (int i = 0; i < NTYPES; i++) {
    int k = order[i];
    if (!((types >> k) & 1)) continue;
    const char *sep = seen == 0 ? "" : seen + 1 == total ? " or " : ", ";
    len += (size_t)snprintf(p->text + len, sizeof p->text - len, "%s%s", sep, TYPE_PHRASES[k]);
    seen++;
  }
  return p->text;
}
#define TYPES(t) types_text(&(Phrase){{0}}, (t))

/* A JSON number as text. */
typedef struct Num {
  char text[32];
} Num;
static const char *num_text(Num *n, const json_t *j) {
  if (json_is_integer(j)) snprintf(n->text, sizeof n->text, "%lld", (long long)json_integer_value(j));
  else json_format_double(json_real_value(j), n->text);
  return n->text;
}
#define NUM(j) num_text(&(Num){{0}}, (j))

static bool validate(Validator *v, const SNode *n, const json_t *j);

/* The TY_* bits a value belongs to ("integer" also for 2.0). */
static unsigned type_bits(const json_t *j) {
  switch (json_typeof(j)) {
  case JSON_NULL: return TY_NULL;
  case JSON_TRUE:
  case JSON_FALSE: return TY_BOOLEAN;
  case JSON_OBJECT: return TY_OBJECT;
  case JSON_ARRAY: return TY_ARRAY;
  case JSON_STRING: return TY_STRING;
  case JSON_INTEGER: return TY_NUMBER | TY_INTEGER;
  case JSON_REAL: return TY_NUMBER | (json_real_value(j) == trunc(json_real_value(j)) ? TY_INTEGER : 0);
  }
  return 0;
}

/* A list of the enum's values for a message: "a", "b", 3 (at most 8). */
static void enum_text(const json_t *vals, char *out, size_t outlen) {
  size_t len = 0;
  out[0] = '\0';
  for (size_t i = 0; i < json_array_size(vals) && len < outlen; i++) {
    if (i == 8) {
      snprintf(out + len, outlen - len, ", ...");
      return;
    }
    len += (size_t)snprintf(out + len, outlen - len, "%s%s", i ? ", " : "", DUMP(json_array_get(vals, i)));
  }
}

/* type, enum, const. */
static bool check_values(Validator *v, const SNode *n, const json_t *j) {
  if (n->types && !(n->types & type_bits(j)))
    return FAIL(v, n->types, "expected %s, found %s", TYPES(n->types), FOUND(j));
  if (n->enum_vals) {
    bool in = false;
    for (size_t i = 0; i < json_array_size(n->enum_vals) && !in; i++) in = json_same(json_array_get(n->enum_vals, i), j);
    if (!in) {
      char list[400] = "";
      if (v->explain) enum_text(n->enum_vals, list, sizeof list);
      return FAIL(v, 0, "expected one of %s, found %s", list, FOUND(j));
    }
  }
  if (n->const_val && !json_same(n->const_val, j)) return FAIL(v, 0, "expected %s, found %s", DUMP(n->const_val), FOUND(j));
  return true;
}

/* Whether number x is a multiple of m (> 0): exactly for integers, else
 * x / m is an integer up to rounding (a relative 8 machine epsilons). */
static bool is_multiple(const json_t *x, const json_t *m) {
  if (json_is_integer(x) && json_is_integer(m)) return json_integer_value(x) % json_integer_value(m) == 0;
  double q = json_number_value(x) / json_number_value(m);
  if (!isfinite(q)) return false;
  return fabs(q - round(q)) <= 8 * DBL_EPSILON * fmax(1.0, fabs(q));
}

/* The keywords of numbers: bounds and multipleOf. */
static bool check_number(Validator *v, const SNode *n, const json_t *j) {
  if (n->minimum && num_cmp(j, n->minimum) < 0)
    return FAIL(v, 0, "expected a number >= %s, found %s", NUM(n->minimum), FOUND(j));
  if (n->maximum && num_cmp(j, n->maximum) > 0)
    return FAIL(v, 0, "expected a number <= %s, found %s", NUM(n->maximum), FOUND(j));
  if (n->xminimum && num_cmp(j, n->xminimum) <= 0)
    return FAIL(v, 0, "expected a number > %s, found %s", NUM(n->xminimum), FOUND(j));
  if (n->xmaximum && num_cmp(j, n->xmaximum) >= 0)
    return FAIL(v, 0, "expected a number < %s, found %s", NUM(n->xmaximum), FOUND(j));
  if (n->multiple_of && !is_multiple(j, n->multiple_of))
    return FAIL(v, 0, "expected a multiple of %s, found %s", NUM(n->multiple_of), FOUND(j));
  return true;
}

/* The keywords of strings: lengths in code points and pattern. */
static bool check_string(Validator *v, const SNode *n, const json_t *j) {
  const char *s = json_string_value(j);
  size_t bytes = json_string_length(j);
  if (n->min_len >= 0 || n->max_len >= 0) {
    size_t len = utf8_count(s, bytes);
    if (n->min_len >= 0 && len < (uint64_t)n->min_len)
      return FAIL(v, 0, "expected a string of at least %lld character%s, found %s (%zu)", (long long)n->min_len,
                  n->min_len == 1 ? "" : "s", FOUND(j), len);
    if (n->max_len >= 0 && len > (uint64_t)n->max_len)
      return FAIL(v, 0, "expected a string of at most %lld character%s, found %s (%zu)", (long long)n->max_len,
                  n->max_len == 1 ? "" : "s", FOUND(j), len);
  }
  if (!n->pattern) return true;
  if (!v->md) v->md = pcre2_match_data_create(1, NULL);
  if (!v->md) flow_oom();
  int rc = pcre2_match(n->pattern, (PCRE2_SPTR)s, bytes, 0, 0, v->md, NULL);
  if (rc >= 0) return true;
  if (rc == PCRE2_ERROR_NOMATCH)
    return FAIL(v, 0, "expected a string matching the pattern \"%.60s\", found %s", n->pattern_text, FOUND(j));
  PCRE2_UCHAR msg[256];
  pcre2_get_error_message(rc, msg, sizeof msg);
  return verror(v, "could not finish matching the pattern \"%.60s\": %s", n->pattern_text, (const char *)msg);
}

/* The keywords of arrays: counts, uniqueItems, then each item against
 * prefixItems or items. */
static bool check_array(Validator *v, const SNode *n, const json_t *j) {
  size_t count = json_array_size(j);
  if (n->min_items >= 0 && count < (uint64_t)n->min_items)
    return FAIL(v, 0, "expected an array of at least %lld item%s, found %s", (long long)n->min_items,
                n->min_items == 1 ? "" : "s", FOUND(j));
  if (n->max_items >= 0 && count > (uint64_t)n->max_items)
    return FAIL(v, 0, "expected an array of at most %lld item%s, found %s", (long long)n->max_items,
                n->max_items == 1 ? "" : "s", FOUND(j));
  size_t a, b;
  if (n->unique && find_duplicate(j, &a, &b))
    return FAIL(v, 0, "expected unique items, found items [%zu] and [%zu] equal (%s)", a, b, DUMP(json_array_get(j, a)));
  for (size_t i = 0; i < count; i++) {
    const SNode *sub = i < n->prefix.n ? n->prefix.at[i] : n->items;
    if (!sub) break;
    size_t mark = path_push_index(v, i);
    bool ok = validate(v, sub, json_array_get(j, i));
    path_pop(v, mark);
    if (!ok) return false;
  }
  return true;
}

/* The schema of `n` that names `key` in "properties", or NULL. */
static const SNode *named_property(const SNode *n, const char *key) {
  if (!n->props_json || !json_object_get(n->props_json, key)) return NULL;
  for (size_t i = 0; i < n->nprops; i++)
    if (strcmp(n->prop_names[i], key) == 0) return n->props[i];
  return NULL;
}

/* A property's value against its named, pattern and additional schemas. */
static bool check_property(Validator *v, const SNode *n, const char *key, const json_t *val) {
  const SNode *named = named_property(n, key);
  bool matched = named != NULL;
  size_t mark = path_push_key(v, key);
  bool ok = !named || validate(v, named, val);
  for (size_t i = 0; ok && i < n->npprops; i++) {
    if (pcre2_match(n->pprops[i].re, (PCRE2_SPTR)key, strlen(key), 0, 0, v->md, NULL) < 0) continue;
    matched = true;
    ok = validate(v, n->pprops[i].node, val);
  }
  if (ok && !matched && n->additional) {
    if (n->additional->boolean == 0) {
      path_pop(v, mark);
      const char *hint = v->explain ? suggest_in(key, n->prop_names, n->nprops) : NULL;
      return FAIL(v, 0, "expected only the properties the schema lists, found unexpected property \"%.60s\"%s%s%s",
                  key, hint ? " (did you mean \"" : "", hint ? hint : "", hint ? "\"?)" : "");
    }
    ok = validate(v, n->additional, val);
  }
  path_pop(v, mark);
  return ok;
}

/* The keywords of objects: counts, required, then each property. */
static bool check_object(Validator *v, const SNode *n, const json_t *j) {
  size_t count = json_object_size(j);
  if (n->min_props >= 0 && count < (uint64_t)n->min_props)
    return FAIL(v, 0, "expected an object with at least %lld propert%s, found %zu", (long long)n->min_props,
                n->min_props == 1 ? "y" : "ies", count);
  if (n->max_props >= 0 && count > (uint64_t)n->max_props)
    return FAIL(v, 0, "expected an object with at most %lld propert%s, found %zu", (long long)n->max_props,
                n->max_props == 1 ? "y" : "ies", count);
  size_t i;
  json_t *name;
  if (n->required) json_array_foreach(n->required, i, name) {
      if (!json_object_get(j, json_string_value(name)))
        return FAIL(v, 0, "expected an object with the property \"%.60s\", found it missing", json_string_value(name));
    }
  if (!n->props_json && !n->npprops && !n->additional) return true;
  if (n->npprops && !v->md) v->md = pcre2_match_data_create(1, NULL);
  if (n->npprops && !v->md) flow_oom();
  const char *key;
  json_t *val;
  json_object_foreach((json_t *)j, key, val) {
    if (!check_property(v, n, key, val)) return false;
  }
  return true;
}

/* The most telling failure among the branches of anyOf or oneOf: the one
 * that got deepest into the value; at equal depth one that got past "type". */
typedef struct Best {
  char *msg;                      /* malloc'd, or NULL before the first failure */
  size_t depth;
  unsigned types;                 /* union of the expected types of type mismatches at `depth` */
  bool typed;                     /* every failure at `depth` so far was a type mismatch */
  unsigned others;                /* failures at `depth` that were not type mismatches */
} Best;

static void best_take(Validator *v, Best *b) {
  bool is_type = v->fail_types != 0;
  if (b->msg && v->fail_depth < b->depth) return;
  if (b->msg && v->fail_depth == b->depth) {
    if (is_type) b->types |= v->fail_types;
    else if (b->others++ == 0) { /* the first failure here that got past "type" */
      free(b->msg);
      b->msg = xstrdup(v->fail.data ? v->fail.data : "");
      b->typed = false;
    }
    return;
  }
  free(b->msg);
  b->msg = xstrdup(v->fail.data ? v->fail.data : "");
  b->depth = v->fail_depth;
  b->types = v->fail_types;
  b->typed = is_type;
  b->others = !is_type;
}

/* Report the failure of every branch of `kw` (n of them). */
static bool best_report(Validator *v, Best *b, const json_t *j, const char *kw, size_t n) {
  bool ok;
  if (b->depth == v->path.len && b->typed) {
    ok = vfail(v, b->types, "expected %s, found %s", TYPES(b->types), FOUND(j));
  } else if (b->depth == v->path.len && b->others > 1) {
    ok = vfail(v, 0, "expected a value matching %s of the %zu schemas of %s, found %s",
               kw[0] == 'a' ? "at least one" : "exactly one", n, kw, FOUND(j));
  } else {
    v->fail.len = 0;
    tb_puts(&v->fail, b->msg ? b->msg : "");
    v->fail_depth = b->depth;
    v->fail_types = b->typed ? b->types : 0;
    ok = false;
  }
  free(b->msg);
  return ok;
}

/* anyOf (exactly = false) or oneOf (exactly = true). */
static bool check_some(Validator *v, const SList *l, const json_t *j, bool exactly) {
  const char *kw = exactly ? "oneOf" : "anyOf";
  Best best = {0};
  size_t first = 0, second = 0, passed = 0;
  for (size_t i = 0; i < l->n; i++) {
    if (validate(v, l->at[i], j)) {
      if (passed++ == 0) first = i;
      else second = i;
      if (!exactly || passed > 1) break;
      continue;
    }
    if (v->error) break;
    if (v->explain) best_take(v, &best);
  }
  if (v->error || (passed == 1) || (passed && !exactly)) {
    free(best.msg);
    return !v->error;
  }
  if (passed > 1) {
    free(best.msg);
    return FAIL(v, 0, "expected a value matching exactly one schema of oneOf, found %s, which matches schemas %zu and %zu",
                FOUND(j), first, second);
  }
  if (!v->explain) return false;
  return best_report(v, &best, j, kw, l->n);
}

/* $ref, allOf, anyOf, oneOf, not. */
static bool check_applicators(Validator *v, const SNode *n, const json_t *j) {
  if (n->ref && !validate(v, n->ref, j)) return false;
  for (size_t i = 0; i < n->all.n; i++)
    if (!validate(v, n->all.at[i], j)) return false;
  if (n->any.n && !check_some(v, &n->any, j, false)) return false;
  if (n->one.n && !check_some(v, &n->one, j, true)) return false;
  if (!n->not_) return true;
  bool explain = v->explain;
  v->explain = false;
  bool inner = validate(v, n->not_, j);
  v->explain = explain;
  if (v->error) return false;
  return !inner || FAIL(v, 0, "expected a value that does not match the schema of `not`, found %s", FOUND(j));
}

/* Whether `j` conforms to the schema `n`; stops at the first violation.
 * Every application of an object schema counts against the limits. */
static bool validate(Validator *v, const SNode *n, const json_t *j) {
  if (n->boolean == 1) return true;
  if (n->boolean == 0) return FAIL(v, 0, "expected no value here (the schema is false), found %s", FOUND(j));
  if (++v->steps > JSON_SCHEMA_MAX_STEPS)
    return verror(v, "validation stopped after %u schema applications: expected a schema that branches less "
                     "(anyOf or oneOf nested many times over), found more work than that",
                  JSON_SCHEMA_MAX_STEPS);
  if (v->nesting >= JSON_SCHEMA_MAX_NESTING)
    return verror(v, "validation stopped at %s: expected schemas nested at most %d deep, found deeper nesting",
                  n->where, JSON_SCHEMA_MAX_NESTING);
  v->nesting++;
  bool ok = check_values(v, n, j);
  if (ok) {
    switch (json_typeof(j)) {
    case JSON_INTEGER:
    case JSON_REAL: ok = check_number(v, n, j); break;
    case JSON_STRING: ok = check_string(v, n, j); break;
    case JSON_ARRAY: ok = check_array(v, n, j); break;
    case JSON_OBJECT: ok = check_object(v, n, j); break;
    default: break;
    }
  }
  ok = ok && check_applicators(v, n, j);
  v->nesting--;
  return ok;
}

/* Validate `value`; with `explain`, a violation's message goes to msg too
 * (an error's always does). */
static JsonSchemaResult run(const JsonSchema *s, const json_t *value, bool explain, char *msg, size_t msglen) {
  Validator v = {.explain = explain};
  bool ok = validate(&v, s->root, value);
  JsonSchemaResult r = ok ? JSON_SCHEMA_VALID : v.error ? JSON_SCHEMA_ERROR : JSON_SCHEMA_INVALID;
  if (msg && msglen) snprintf(msg, msglen, "%s", ok || !(explain || v.error) || !v.fail.data ? "" : v.fail.data);
  free(v.fail.data);
  if (v.md) pcre2_match_data_free(v.md);
  return r;
}

JsonSchemaResult json_schema_validate(const JsonSchema *s, const json_t *value, char *msg, size_t msglen) {
  return run(s, value, true, msg, msglen);
}

JsonSchemaResult json_schema_check(const JsonSchema *s, const json_t *value, char *err, size_t errlen) {
  return run(s, value, false, err, errlen);
}

JsonSchemaResult json_schema_validate_text(const JsonSchema *s, const char *text, size_t n, char *msg,
                                           size_t msglen) {
  JsonReadError je;
  json_t *j = json_read_opts(text, n, JSON_SCHEMA_TEXT_DEPTH, JSON_READ_BIG_INTEGERS, &je);
  if (!j) {
    if (msg && msglen) snprintf(msg, msglen, "expected JSON, found text that is not: at offset %zu, %s", je.position, je.text);
    return JSON_SCHEMA_INVALID;
  }
  JsonSchemaResult r = json_schema_validate(s, j, msg, msglen);
  json_decref(j);
  return r;
}
