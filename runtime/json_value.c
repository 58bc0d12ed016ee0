/* json_value.c - JSON <-> value conversion directed by image types, and the
 * lenient parsing of model replies (see json_value.h).
 *
 * Encoding writes text directly (jansson's float formatting is not the
 * shortest round-trip form); value_to_json re-reads that text, so both forms
 * agree. Decoding walks a jansson tree next to the type, keeping the field
 * path in a fixed buffer for error messages. The lenient parser rewrites the
 * tolerated forms to strict JSON with a small tokenizer and hands the result
 * to jansson. */
#include "json_value.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "json_path.h"
#include "json_read.h"
#include "textbuf.h"

/* ---- numbers ---------------------------------------------------------------------------------- */

size_t json_format_double(double d, char buf[32]) {
  if (isnan(d)) return (size_t)snprintf(buf, 32, "nan");
  if (isinf(d)) return (size_t)snprintf(buf, 32, d < 0 ? "-inf" : "inf");
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(buf, 32, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
  /* Keep it a float when read back: 1 -> 1.0 (an exponent already does). */
  if (!strpbrk(buf, ".en")) {
    buf[n++] = '.';
    buf[n++] = '0';
    buf[n] = '\0';
  }
  return (size_t)n;
}

/* ---- encoding ---------------------------------------------------------------------------------- */

/* The type `type` of `img`, or NULL when unknown (no image, out of range,
 * or `any`). Optionals are looked through. */
static const ImgType *known_type(const Image *img, uint32_t type) {
  for (int guard = 0; img && type < img->ntypes && guard < 70; guard++) {
    const ImgType *t = &img->types[type];
    if (t->kind != IT_OPT) return t->kind == IT_ANY ? NULL : t;
    type = t->elem;
  }
  return NULL;
}

static void encode(TextBuf *b, const Image *img, uint32_t type, Value v);

static void encode_record(TextBuf *b, const Image *img, const Record *r) {
  const ImgType *t = img && r->type < img->ntypes ? &img->types[r->type] : NULL;
  bool named = t && t->kind == IT_RECORD && t->nfields == r->nfields;
  tb_putc(b, '{');
  for (uint32_t i = 0; i < r->nfields; i++) {
    if (i) tb_putc(b, ',');
    if (named) {
      tb_json_string(b, t->field_names[i], strlen(t->field_names[i]));
    } else {
      char name[24];
      int n = snprintf(name, sizeof name, "_%u", i);
      tb_json_string(b, name, (size_t)n);
    }
    tb_putc(b, ':');
    encode(b, img, named ? t->field_types[i] : IMG_TYPE_ANY, r->fields[i]);
  }
  tb_putc(b, '}');
}

/* Append the JSON of `v` seen as type `type`. */
static void encode(TextBuf *b, const Image *img, uint32_t type, Value v) {
  const ImgType *t = known_type(img, type);
  char num[32];
  switch ((ValueTag)v.tag) {
  case V_NONE:
  case V_FUTURE: tb_puts(b, "null"); return;
  case V_BOOL: tb_puts(b, v.u.b ? "true" : "false"); return;
  case V_INT:
    if (t && t->kind == IT_FLOAT) {
      tb_put(b, num, json_format_double((double)v.u.i, num));
    } else {
      int n = snprintf(num, sizeof num, "%lld", (long long)v.u.i);
      tb_put(b, num, (size_t)n);
    }
    return;
  case V_FLOAT:
    if (isfinite(v.u.f))
      tb_put(b, num, json_format_double(v.u.f, num));
    else
      tb_puts(b, "null");
    return;
  case V_ENUM: {
    const ImgType *et = img && v.u.e.type < img->ntypes ? &img->types[v.u.e.type] : NULL;
    if (et && et->kind == IT_ENUM && v.u.e.variant < et->nvariants) {
      const char *name = et->variants[v.u.e.variant];
      tb_json_string(b, name, strlen(name));
    } else {
      int n = snprintf(num, sizeof num, "%u", v.u.e.variant);
      tb_put(b, num, (size_t)n);
    }
    return;
  }
  case V_STR: {
    Str *s = value_as_str(v);
    tb_json_string(b, s->data, s->len);
    return;
  }
  case V_LIST: {
    List *l = value_as_list(v);
    uint32_t elem = t && t->kind == IT_LIST ? t->elem : IMG_TYPE_ANY;
    tb_putc(b, '[');
    for (uint32_t i = 0; i < l->len; i++) {
      if (i) tb_putc(b, ',');
      encode(b, img, elem, l->items[i]);
    }
    tb_putc(b, ']');
    return;
  }
  case V_MAP: {
    Map *m = value_as_map(v);
    uint32_t elem = t && t->kind == IT_MAP ? t->elem : IMG_TYPE_ANY;
    tb_putc(b, '{');
    for (uint32_t i = 0; i < m->len; i++) {
      if (i) tb_putc(b, ',');
      tb_json_string(b, m->entries[i].key->data, m->entries[i].key->len);
      tb_putc(b, ':');
      encode(b, img, elem, m->entries[i].value);
    }
    tb_putc(b, '}');
    return;
  }
  case V_RECORD: encode_record(b, img, value_as_record(v)); return;
  case V_MEDIA: {
    Media *m = value_as_media(v);
    tb_puts(b, "{\"media\":");
    tb_json_string(b, m->mime->data, m->mime->len);
    tb_puts(b, ",\"name\":");
    tb_json_string(b, m->name->data, m->name->len);
    int n = snprintf(num, sizeof num, ",\"bytes\":%u}", m->len);
    tb_put(b, num, (size_t)n);
    return;
  }
  }
  tb_puts(b, "null");
}

void value_append_json(const Image *img, uint32_t type, Value v, char **buf, size_t *len, size_t *cap) {
  TextBuf b = {*buf, *len, *cap};
  tb_reserve(&b, 0);
  encode(&b, img, type, v);
  *buf = b.data;
  *len = b.len;
  *cap = b.cap;
}

char *value_to_json_text(const Image *img, uint32_t type, Value v) {
  TextBuf b = {NULL, 0, 0};
  tb_reserve(&b, 0);
  encode(&b, img, type, v);
  return b.data;
}

json_t *value_to_json(const Image *img, uint32_t type, Value v) {
  TextBuf b = {NULL, 0, 0};
  tb_reserve(&b, 0);
  encode(&b, img, type, v);
  json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  free(b.data);
  return j;
}

/* ---- decoding ---------------------------------------------------------------------------------- */

typedef struct Decoder {
  const Image *img;
  unsigned flags;
  char *err;
  size_t errlen;
  JsonPath path;
} Decoder;

/* Write "at PATH: message" (or just the message at the top level). */
static bool dec_fail(Decoder *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool dec_fail(Decoder *d, const char *fmt, ...) {
  if (!d->err || !d->errlen) return false;
  size_t n = 0;
  if (d->path.len) {
    bool cut = json_path_cut(&d->path);
    int k = snprintf(d->err, d->errlen, "at %s%s: ", d->path.text, cut ? "..." : "");
    n = k < 0 ? 0 : (size_t)k;
    if (n >= d->errlen) return false;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->err + n, d->errlen - n, fmt, ap);
  va_end(ap);
  return false;
}

void json_describe(const json_t *j, char *out, size_t outlen) {
  switch (json_typeof(j)) {
  case JSON_NULL: snprintf(out, outlen, "null"); return;
  case JSON_TRUE: snprintf(out, outlen, "true"); return;
  case JSON_FALSE: snprintf(out, outlen, "false"); return;
  case JSON_INTEGER: snprintf(out, outlen, "%lld", (long long)json_integer_value(j)); return;
  case JSON_REAL: {
    char num[32];
    json_format_double(json_real_value(j), num);
    snprintf(out, outlen, "%s", num);
    return;
  }
  case JSON_STRING: {
    const char *s = json_string_value(j);
    size_t n = json_string_length(j), cut = n;
    if (cut > 48) {
      cut = 48;
      while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80) cut--; /* whole code points */
    }
    TextBuf b = {NULL, 0, 0};
    tb_json_string(&b, s, cut);
    if (cut < n) {
      b.len--; /* reopen the quote to mark the cut */
      tb_puts(&b, "...\"");
    }
    snprintf(out, outlen, "%s", b.data);
    free(b.data);
    return;
  }
  case JSON_ARRAY:
    snprintf(out, outlen, "an array of %zu item%s", json_array_size(j), json_array_size(j) == 1 ? "" : "s");
    return;
  case JSON_OBJECT: snprintf(out, outlen, "an object"); return;
  }
  snprintf(out, outlen, "?");
}

/* What a value of type `type` looks like in JSON, for "expected ...". */
static void describe_type(const Image *img, uint32_t type, bool nullable, char *out, size_t outlen);

void json_describe_type(const Image *img, uint32_t type, char *out, size_t outlen) {
  describe_type(img, type, false, out, outlen);
}

static void describe_type(const Image *img, uint32_t type, bool nullable, char *out, size_t outlen) {
  const ImgType *t = type < img->ntypes ? &img->types[type] : NULL;
  TextBuf b = {NULL, 0, 0};
  tb_reserve(&b, 0);
  while (t && t->kind == IT_OPT) {
    nullable = true;
    t = t->elem < img->ntypes ? &img->types[t->elem] : NULL;
  }
  if (!t) {
    tb_puts(&b, "a value");
  } else {
    switch (t->kind) {
    case IT_ANY: tb_puts(&b, "a value"); break;
    case IT_STRING: tb_puts(&b, "a string"); break;
    case IT_INT: tb_puts(&b, "an integer"); break;
    case IT_FLOAT: tb_puts(&b, "a number"); break;
    case IT_BOOL: tb_puts(&b, "true or false"); break;
    case IT_IMAGE: tb_puts(&b, "an image"); break;
    case IT_AUDIO: tb_puts(&b, "an audio clip"); break;
    case IT_DURATION: tb_puts(&b, "a duration"); break;
    case IT_LIST: tb_puts(&b, "an array"); break;
    case IT_MAP: tb_puts(&b, "an object"); break;
    case IT_RECORD:
      tb_puts(&b, "an object (");
      tb_puts(&b, t->name ? t->name : "record");
      tb_putc(&b, ')');
      break;
    case IT_ENUM:
      tb_puts(&b, "one of ");
      for (uint32_t i = 0; i < t->nvariants; i++) {
        if (i) tb_puts(&b, ", ");
        if (i == 12 && t->nvariants > 13) {
          tb_puts(&b, "...");
          break;
        }
        tb_json_string(&b, t->variants[i], strlen(t->variants[i]));
      }
      break;
    case IT_OPT: break;
    }
  }
  if (nullable) tb_puts(&b, " or null");
  snprintf(out, outlen, "%s", b.data);
  free(b.data);
}

static bool dec_mismatch(Decoder *d, uint32_t type, bool nullable, const json_t *j) {
  char want[512], found[80];
  describe_type(d->img, type, nullable, want, sizeof want);
  json_describe(j, found, sizeof found);
  return dec_fail(d, "expected %s, found %s", want, found);
}

static bool decode(Decoder *d, uint32_t type, const json_t *j, int depth, bool nullable, Value *out);

/* Order of map entries by key bytes, for qsort. */
static int entry_cmp(const void *pa, const void *pb) {
  const MapEntry *a = pa, *b = pb;
  size_t n = a->key->len < b->key->len ? a->key->len : b->key->len;
  int c = memcmp(a->key->data, b->key->data, n);
  if (c) return c;
  return a->key->len < b->key->len ? -1 : a->key->len > b->key->len;
}

/* An object as map<string, elem>. */
static bool decode_map(Decoder *d, uint32_t elem, const json_t *j, int depth, Value *out) {
  size_t n = json_object_size(j);
  Value mv = value_map((uint32_t)n);
  Map *m = value_as_map(mv);
  const char *key;
  json_t *item;
  json_object_foreach((json_t *)j, key, item) {
    size_t mark = json_path_push_key(&d->path, key);
    Value v;
    bool ok = decode(d, elem, item, depth + 1, false, &v);
    json_path_pop(&d->path, mark);
    if (!ok) {
      value_release(mv);
      return false;
    }
    m->entries[m->len].key = str_new(key, strlen(key));
    m->entries[m->len].value = v;
    m->len++;
  }
  if (m->len > 1) qsort(m->entries, m->len, sizeof(MapEntry), entry_cmp);
  *out = mv;
  return true;
}

/* The index of field `key` in record type `t`, or -1. */
static int field_index(const ImgType *t, const char *key) {
  for (uint32_t i = 0; i < t->nfields; i++)
    if (strcmp(t->field_names[i], key) == 0) return (int)i;
  return -1;
}

static bool is_optional(const Image *img, uint32_t type) {
  return type < img->ntypes && img->types[type].kind == IT_OPT;
}

/* An object as a record of type `t` (id `type`). */
static bool decode_record(Decoder *d, uint32_t type, const ImgType *t, const json_t *j, int depth,
                          Value *out) {
  /* The first key that is not a field, for the error messages. */
  const char *unknown = NULL, *key;
  json_t *item;
  json_object_foreach((json_t *)j, key, item) {
    if (field_index(t, key) < 0) {
      unknown = key;
      break;
    }
  }
  Value rv = value_record(type, t->nfields);
  Record *r = value_as_record(rv);
  for (uint32_t i = 0; i < t->nfields; i++) {
    const char *name = t->field_names[i];
    json_t *fj = json_object_get(j, name);
    if (!fj) {
      if (is_optional(d->img, t->field_types[i])) continue;
      char want[512];
      describe_type(d->img, t->field_types[i], false, want, sizeof want);
      value_release(rv);
      if (unknown) {
        TextBuf b = {NULL, 0, 0};
        tb_json_string(&b, unknown, strlen(unknown));
        dec_fail(d, "missing field \"%s\" (expected %s), found unknown field %s", name, want, b.data);
        free(b.data);
        return false;
      }
      return dec_fail(d, "missing field \"%s\" (expected %s)", name, want);
    }
    size_t mark = json_path_push_key(&d->path, name);
    bool ok = decode(d, t->field_types[i], fj, depth + 1, false, &r->fields[i]);
    json_path_pop(&d->path, mark);
    if (!ok) {
      value_release(rv);
      return false;
    }
  }
  if (unknown) {
    value_release(rv);
    TextBuf b = {NULL, 0, 0};
    tb_json_string(&b, unknown, strlen(unknown));
    TextBuf f = {NULL, 0, 0};
    tb_reserve(&f, 0);
    for (uint32_t i = 0; i < t->nfields; i++) {
      if (i) tb_puts(&f, ", ");
      tb_json_string(&f, t->field_names[i], strlen(t->field_names[i]));
    }
    dec_fail(d, "unknown field %s (%s has fields %s)", b.data, t->name ? t->name : "the record", f.data);
    free(b.data);
    free(f.data);
    return false;
  }
  *out = rv;
  return true;
}

/* ASCII case-insensitive equality of s and t[0..n). */
static bool ascii_ieq(const char *s, const char *t, size_t n) {
  if (strlen(s) != n) return false;
  for (size_t i = 0; i < n; i++) {
    char a = s[i], b = t[i];
    if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = (char)(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

static bool decode_enum(Decoder *d, uint32_t type, const ImgType *t, const json_t *j, bool nullable,
                        Value *out) {
  if (!json_is_string(j)) return dec_mismatch(d, type, nullable, j);
  const char *s = json_string_value(j);
  size_t n = json_string_length(j);
  for (uint32_t i = 0; i < t->nvariants; i++) {
    if (strlen(t->variants[i]) == n && memcmp(t->variants[i], s, n) == 0) {
      *out = value_enum(type, i);
      return true;
    }
  }
  if (d->flags & JV_LENIENT_ENUMS) {
    while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
    for (uint32_t i = 0; i < t->nvariants; i++) {
      if (ascii_ieq(t->variants[i], s, n)) {
        *out = value_enum(type, i);
        return true;
      }
    }
  }
  return dec_mismatch(d, type, nullable, j);
}

/* Any JSON value, decoded as the value itself says (type `any`). */
static bool decode_any(Decoder *d, const json_t *j, int depth, Value *out) {
  switch (json_typeof(j)) {
  case JSON_NULL: *out = value_none(); return true;
  case JSON_TRUE: *out = value_bool(true); return true;
  case JSON_FALSE: *out = value_bool(false); return true;
  case JSON_INTEGER: *out = value_int(json_integer_value(j)); return true;
  case JSON_REAL: *out = value_float(json_real_value(j)); return true;
  case JSON_STRING: *out = value_str(json_string_value(j), json_string_length(j)); return true;
  case JSON_ARRAY:
  case JSON_OBJECT: break;
  }
  return decode(d, IMG_TYPE_ANY, j, depth, false, out);
}

/* Decode `j` as `type`; `nullable` says an enclosing optional also allows
 * null (for the error message only). */
static bool decode(Decoder *d, uint32_t type, const json_t *j, int depth, bool nullable, Value *out) {
  *out = value_none();
  if (depth > JSON_VALUE_MAX_DEPTH && (json_is_array(j) || json_is_object(j)))
    return dec_fail(d, "the JSON nests deeper than %d levels", JSON_VALUE_MAX_DEPTH);
  if (type >= d->img->ntypes) return dec_fail(d, "internal error: unknown type id %u", type);
  const ImgType *t = &d->img->types[type];
  switch (t->kind) {
  case IT_ANY:
    if (json_is_array(j)) {
      size_t n = json_array_size(j);
      Value lv = value_list((uint32_t)n);
      for (size_t i = 0; i < n; i++) {
        size_t mark = json_path_push_index(&d->path, i);
        Value v;
        bool ok = decode_any(d, json_array_get(j, i), depth + 1, &v);
        json_path_pop(&d->path, mark);
        if (!ok) {
          value_release(lv);
          return false;
        }
        list_push_steal(lv, v);
      }
      *out = lv;
      return true;
    }
    if (json_is_object(j)) return decode_map(d, IMG_TYPE_ANY, j, depth, out);
    return decode_any(d, j, depth, out);
  case IT_OPT:
    if (json_is_null(j)) return true;
    return decode(d, t->elem, j, depth, true, out);
  case IT_STRING:
    if (!json_is_string(j)) return dec_mismatch(d, type, nullable, j);
    *out = value_str(json_string_value(j), json_string_length(j));
    return true;
  case IT_INT:
    if (json_is_integer(j)) {
      *out = value_int(json_integer_value(j));
      return true;
    }
    if (json_is_real(j)) {
      double f = json_real_value(j);
      if (f == floor(f) && fabs(f) <= 9007199254740992.0) {
        *out = value_int((int64_t)f);
        return true;
      }
    }
    return dec_mismatch(d, type, nullable, j);
  case IT_FLOAT:
    if (!json_is_number(j)) return dec_mismatch(d, type, nullable, j);
    *out = value_float(json_number_value(j));
    return true;
  case IT_BOOL:
    if (!json_is_boolean(j)) return dec_mismatch(d, type, nullable, j);
    *out = value_bool(json_is_true(j));
    return true;
  case IT_IMAGE:
  case IT_AUDIO:
  case IT_DURATION: {
    char want[64];
    describe_type(d->img, type, false, want, sizeof want);
    return dec_fail(d, "expected %s, which cannot be read from JSON", want);
  }
  case IT_LIST: {
    if (!json_is_array(j)) return dec_mismatch(d, type, nullable, j);
    size_t n = json_array_size(j);
    Value lv = value_list((uint32_t)n);
    for (size_t i = 0; i < n; i++) {
      size_t mark = json_path_push_index(&d->path, i);
      Value v;
      bool ok = decode(d, t->elem, json_array_get(j, i), depth + 1, false, &v);
      json_path_pop(&d->path, mark);
      if (!ok) {
        value_release(lv);
        return false;
      }
      list_push_steal(lv, v);
    }
    *out = lv;
    return true;
  }
  case IT_MAP:
    if (!json_is_object(j)) return dec_mismatch(d, type, nullable, j);
    return decode_map(d, t->elem, j, depth, out);
  case IT_RECORD:
    if (!json_is_object(j)) return dec_mismatch(d, type, nullable, j);
    return decode_record(d, type, t, j, depth, out);
  case IT_ENUM: return decode_enum(d, type, t, j, nullable, out);
  }
  return dec_fail(d, "internal error: unknown kind of type %u", type);
}

bool json_to_value(const Image *img, uint32_t type, const json_t *j, unsigned flags, Value *out, char *err,
                   size_t errlen) {
  Decoder d = {.img = img, .flags = flags, .err = err, .errlen = errlen};
  if (err && errlen) err[0] = '\0';
  *out = value_none();
  if (!j) return dec_fail(&d, "expected a JSON value, found nothing");
  if (!img) return dec_fail(&d, "internal error: no program image to take types from");
  return decode(&d, type, j, 1, false, out);
}

/* ---- lenient parsing --------------------------------------------------------------------------- */

/* The tolerant tokenizer: rewrites src[0..n) to strict JSON in `out`.
 * Returns false with a message in err on text it cannot make sense of. */
typedef struct Rewriter {
  const char *s;
  size_t n, i;
  TextBuf out;
  bool comma;              /* a ',' is pending: dropped before '}' or ']' */
  char stack[JSON_VALUE_MAX_DEPTH + 1]; /* '{' or '[' per open container */
  int depth;
  char *err;
  size_t errlen;
} Rewriter;

static bool rw_fail(Rewriter *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool rw_fail(Rewriter *r, const char *fmt, ...) {
  if (r->err && r->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
  }
  return false;
}

/* Emit a token, first flushing a pending comma unless the token closes. */
static void rw_emit(Rewriter *r, const char *tok, size_t n) {
  if (r->comma && !(n == 1 && (tok[0] == '}' || tok[0] == ']'))) tb_putc(&r->out, ',');
  r->comma = false;
  tb_put(&r->out, tok, n);
}

static bool is_word_char(char c) {
  return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Copy a string literal quoted with `q` (" or ') as a strict JSON string. */
static bool rw_string(Rewriter *r, char q) {
  size_t start = r->i++;
  if (r->comma) tb_putc(&r->out, ',');
  r->comma = false;
  tb_putc(&r->out, '"');
  while (r->i < r->n) {
    unsigned char c = (unsigned char)r->s[r->i];
    if (c == (unsigned char)q) {
      r->i++;
      tb_putc(&r->out, '"');
      return true;
    }
    if (c == '\\' && r->i + 1 < r->n) {
      char e = r->s[r->i + 1];
      if (e == '\'') {
        tb_putc(&r->out, '\'');
      } else if (strchr("\"\\/bfnrtu", e)) {
        tb_putc(&r->out, '\\');
        tb_putc(&r->out, e);
      } else {
        tb_puts(&r->out, "\\\\"); /* an unknown escape keeps its backslash as text */
        r->i++;
        continue;
      }
      r->i += 2;
      continue;
    }
    if (c == '"') {
      tb_puts(&r->out, "\\\"");
    } else if (c < 0x20) {
      char esc[8];
      if (c == '\n')
        tb_puts(&r->out, "\\n");
      else if (c == '\t')
        tb_puts(&r->out, "\\t");
      else if (c == '\r')
        tb_puts(&r->out, "\\r");
      else {
        snprintf(esc, sizeof esc, "\\u%04x", c);
        tb_puts(&r->out, esc);
      }
    } else {
      tb_putc(&r->out, (char)c);
    }
    r->i++;
  }
  return rw_fail(r, "unterminated string starting at offset %zu", start);
}

/* Whether the next significant character after position `i` is ':'. */
static bool followed_by_colon(const Rewriter *r, size_t i) {
  while (i < r->n && (r->s[i] == ' ' || r->s[i] == '\t' || r->s[i] == '\n' || r->s[i] == '\r')) i++;
  return i < r->n && r->s[i] == ':';
}

static bool rewrite(Rewriter *r) {
  while (r->i < r->n) {
    char c = r->s[r->i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      r->i++;
      continue;
    }
    if (c == '/' && r->i + 1 < r->n && r->s[r->i + 1] == '/') {
      while (r->i < r->n && r->s[r->i] != '\n') r->i++;
      continue;
    }
    if (c == '/' && r->i + 1 < r->n && r->s[r->i + 1] == '*') {
      const char *end = NULL;
      for (size_t k = r->i + 2; k + 1 < r->n; k++)
        if (r->s[k] == '*' && r->s[k + 1] == '/') {
          end = r->s + k;
          break;
        }
      if (!end) return rw_fail(r, "unterminated comment at offset %zu", r->i);
      r->i = (size_t)(end - r->s) + 2;
      continue;
    }
    if (c == '"' || c == '\'') {
      if (!rw_string(r, c)) return false;
      continue;
    }
    if (c == '{' || c == '[') {
      if (r->depth >= JSON_VALUE_MAX_DEPTH)
        return rw_fail(r, "the JSON nests deeper than %d levels", JSON_VALUE_MAX_DEPTH);
      r->stack[r->depth++] = c;
      rw_emit(r, &c, 1);
      r->i++;
      continue;
    }
    if (c == '}' || c == ']') {
      if (r->depth > 0) r->depth--;
      rw_emit(r, &c, 1);
      r->i++;
      continue;
    }
    if (c == ',') {
      if (r->comma) tb_putc(&r->out, ','); /* ",," stays an error for jansson */
      r->comma = true;
      r->i++;
      continue;
    }
    if (c == ':') {
      rw_emit(r, ":", 1);
      r->i++;
      continue;
    }
    if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) {
      size_t start = r->i;
      if (c == '+') start++;
      r->i++;
      while (r->i < r->n && (is_word_char(r->s[r->i]) || r->s[r->i] == '.' ||
                             ((r->s[r->i] == '-' || r->s[r->i] == '+') &&
                              (r->s[r->i - 1] == 'e' || r->s[r->i - 1] == 'E'))))
        r->i++;
      const char *num = r->s + start;
      size_t len = r->i - start;
      if (len && num[0] == '.') { /* .5 -> 0.5 */
        rw_emit(r, "0", 1);
        tb_put(&r->out, num, len);
      } else if (len > 1 && num[0] == '-' && num[1] == '.') {
        rw_emit(r, "-0", 2);
        tb_put(&r->out, num + 1, len - 1);
      } else {
        rw_emit(r, num, len);
      }
      if (len && num[len - 1] == '.') tb_putc(&r->out, '0'); /* 5. -> 5.0 */
      continue;
    }
    if (is_word_char(c)) {
      size_t start = r->i;
      while (r->i < r->n && (is_word_char(r->s[r->i]) || r->s[r->i] == '-')) r->i++;
      const char *w = r->s + start;
      size_t len = r->i - start;
      if (r->depth > 0 && r->stack[r->depth - 1] == '{' && followed_by_colon(r, r->i)) {
        if (r->comma) tb_putc(&r->out, ',');
        r->comma = false;
        tb_json_string(&r->out, w, len);
        continue;
      }
      static const struct {
        const char *word, *json;
      } WORDS[] = {{"true", "true"},   {"false", "false"}, {"null", "null"}, {"True", "true"},
                   {"False", "false"}, {"None", "null"},   {"TRUE", "true"}, {"FALSE", "false"},
                   {"NULL", "null"}};
      for (size_t k = 0; k < sizeof WORDS / sizeof WORDS[0]; k++) {
        if (strlen(WORDS[k].word) == len && memcmp(WORDS[k].word, w, len) == 0) {
          rw_emit(r, WORDS[k].json, strlen(WORDS[k].json));
          goto next;
        }
      }
      return rw_fail(r, "unexpected word \"%.*s\" at offset %zu", (int)(len > 32 ? 32 : len), w, start);
    next:
      continue;
    }
    return rw_fail(r, "unexpected character '%c' at offset %zu", (c >= 0x20 && c < 0x7f) ? c : '?', r->i);
  }
  if (r->comma) tb_putc(&r->out, ','); /* a trailing comma at top level stays an error */
  return true;
}

/* Parse s[0..n) leniently as one JSON value (NULL and err on failure). */
static json_t *parse_tolerant(const char *s, size_t n, char *err, size_t errlen) {
  Rewriter r = {.s = s, .n = n, .err = err, .errlen = errlen};
  tb_reserve(&r.out, n);
  if (!rewrite(&r)) {
    free(r.out.data);
    return NULL;
  }
  JsonReadError jerr;
  json_t *j = json_read(r.out.data, r.out.len, JSON_VALUE_MAX_DEPTH + 1, &jerr);
  if (!j && err && errlen) snprintf(err, errlen, "invalid JSON: %s", jerr.text);
  free(r.out.data);
  return j;
}

/* The end (one past the closing bracket) of the balanced {...} or [...]
 * starting at s[i], or 0 when it is not closed. Strings (either quote) are
 * skipped; mismatched closers end the scan. */
static size_t balanced_end(const char *s, size_t n, size_t i) {
  char stack[JSON_VALUE_MAX_DEPTH + 2];
  int depth = 0;
  for (size_t k = i; k < n; k++) {
    char c = s[k];
    if (c == '"' || (c == '\'' && k > i)) {
      /* An apostrophe inside prose-like text is not a quote: only treat it
       * as one right after a structural character. */
      if (c == '\'') {
        size_t p = k;
        while (p > i && (s[p - 1] == ' ' || s[p - 1] == '\t' || s[p - 1] == '\n' || s[p - 1] == '\r')) p--;
        char prev = s[p - 1];
        if (!(prev == '{' || prev == '[' || prev == ',' || prev == ':')) continue;
      }
      for (k++; k < n && s[k] != c; k++)
        if (s[k] == '\\') k++;
      if (k >= n) return 0;
      continue;
    }
    if (c == '{' || c == '[') {
      if (depth > JSON_VALUE_MAX_DEPTH) return 0;
      stack[depth++] = c == '{' ? '}' : ']';
    } else if (c == '}' || c == ']') {
      if (depth == 0 || stack[depth - 1] != c) return 0;
      if (--depth == 0) return k + 1;
    }
  }
  return 0;
}

/* Find a markdown code fence: the text between the first ``` line and the
 * next ``` (or the end). Returns false when there is no fence. */
static bool find_fence(const char *s, size_t n, size_t *start, size_t *end) {
  for (size_t i = 0; i + 3 <= n; i++) {
    if (memcmp(s + i, "```", 3) != 0) continue;
    /* Skip an info string ("json") up to the end of the line, unless the
     * fence and its content share one line: ```{"a": 1}``` */
    size_t k = i + 3;
    while (k < n && (is_word_char(s[k]) || s[k] == '-' || s[k] == '+' || s[k] == ' ')) k++;
    if (k < n && s[k] == '\r') k++;
    if (k >= n || s[k] == '\n')
      k = k < n ? k + 1 : k;
    else
      k = i + 3;
    size_t e = k;
    while (e + 3 <= n && memcmp(s + e, "```", 3) != 0) e++;
    if (e + 3 > n) e = n;
    *start = k;
    *end = e;
    return true;
  }
  return false;
}

json_t *json_parse_lenient(const char *text, size_t len, char *err, size_t errlen) {
  char first[256] = "";
  json_t *j = parse_tolerant(text, len, first, sizeof first);
  if (j) return j;
  bool deep = strstr(first, "deeper") != NULL;

  size_t fs, fe;
  char why[256] = "";
  if (find_fence(text, len, &fs, &fe)) {
    j = parse_tolerant(text + fs, fe - fs, why, sizeof why);
    if (j) return j;
    if (strstr(why, "deeper")) deep = true;
  }
  /* The first balanced {...} or [...] that parses; a few attempts at most. */
  int attempts = 0;
  for (size_t i = 0; i < len && attempts < 16; i++) {
    if (text[i] != '{' && text[i] != '[') continue;
    size_t e = balanced_end(text, len, i);
    if (!e) continue;
    attempts++;
    char msg[256];
    j = parse_tolerant(text + i, e - i, msg, sizeof msg);
    if (j) return j;
    if (strstr(msg, "deeper")) deep = true;
    if (!why[0]) snprintf(why, sizeof why, "%s", msg);
    i = e - 1; /* skip past this candidate */
  }
  if (err && errlen) {
    if (deep) {
      snprintf(err, errlen, "the JSON nests deeper than %d levels", JSON_VALUE_MAX_DEPTH);
    } else {
      /* Quote the start of the reply, cut at a code point boundary. */
      size_t cut = len < 40 ? len : 40;
      while (cut < len && cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80) cut--;
      TextBuf b = {NULL, 0, 0};
      tb_reserve(&b, 0);
      tb_json_string(&b, text, cut);
      if (cut < len) {
        b.len--;
        tb_puts(&b, "...\"");
      }
      snprintf(err, errlen, "expected JSON in the reply, found %s%s (%s)", len ? "" : "an empty reply",
               len ? b.data : "", why[0] ? why : first);
      free(b.data);
    }
  }
  return NULL;
}
