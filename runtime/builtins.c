/* builtins.c - the built-in functions (docs/language.md §5) and the printing
 * of values as template text (see builtins.h).
 *
 * Every function checks its arguments' tags even though the checker has
 * already typed the call, so that a bad bytecode file gives an error rather
 * than a crash. Strings are UTF-8; functions that count or cut text work in
 * code points. Regular expressions are compiled by PCRE2 (with UTF and
 * invalid-UTF tolerance) and JSON Schemas by json_schema.c; both are kept in
 * small LRU caches in the caller's BuiltinCtx, keyed by their text. There is
 * no global state. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "builtins.h"

#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "json_read.h"
#include "json_schema.h"
#include "json_value.h"
#include "textbuf.h"
#include "textsim.h"
#include "tokens.h"
#include "utf8.h"

/* ---- the table ---------------------------------------------------------------------------------- */

typedef struct BuiltinInfo {
  const char *name;
  uint32_t min_args, max_args;
} BuiltinInfo;

static const BuiltinInfo BUILTINS[BI_COUNT] = {
#define X(id, name, min_args, max_args) {name, min_args, max_args},
#include "builtins.def"
#undef X
};

const char *builtin_name(BuiltinId id) { return (unsigned)id < BI_COUNT ? BUILTINS[id].name : "?"; }

int builtin_lookup(const char *name) {
  for (int i = 0; i < BI_COUNT; i++)
    if (strcmp(BUILTINS[i].name, name) == 0) return i;
  return -1;
}

void builtin_arity(BuiltinId id, uint32_t *min_args, uint32_t *max_args) {
  *min_args = (unsigned)id < BI_COUNT ? BUILTINS[id].min_args : 0;
  *max_args = (unsigned)id < BI_COUNT ? BUILTINS[id].max_args : 0;
}

/* ---- the caches of compiled patterns and schemas ---------------------------------------------------- */

#define REGEX_CACHE_SIZE 32
#define SCHEMA_CACHE_SIZE 8

/* The key of a cache entry: the text the entry was compiled from. */
typedef struct CacheKey {
  char *text;             /* malloc'd copy, NULL when the slot is empty */
  size_t len;
  uint32_t hash;
  uint64_t used;          /* tick of the last use, for LRU eviction */
} CacheKey;

typedef struct RegexEntry {
  CacheKey key;           /* first: entries are found through their keys */
  pcre2_code *re;
  pcre2_match_data *md;
} RegexEntry;

typedef struct SchemaEntry {
  CacheKey key;
  JsonSchema *schema;
} SchemaEntry;

struct BuiltinCtx {
  RegexEntry regex[REGEX_CACHE_SIZE];
  SchemaEntry schema[SCHEMA_CACHE_SIZE];
  uint64_t tick;
};

BuiltinCtx *builtin_ctx_new(void) {
  BuiltinCtx *ctx = calloc(1, sizeof *ctx);
  if (!ctx) flow_oom();
  return ctx;
}

static void regex_entry_clear(RegexEntry *e) {
  free(e->key.text);
  if (e->md) pcre2_match_data_free(e->md);
  if (e->re) pcre2_code_free(e->re);
  memset(e, 0, sizeof *e);
}

static void schema_entry_clear(SchemaEntry *e) {
  free(e->key.text);
  json_schema_free(e->schema);
  memset(e, 0, sizeof *e);
}

void builtin_ctx_free(BuiltinCtx *ctx) {
  if (!ctx) return;
  for (int i = 0; i < REGEX_CACHE_SIZE; i++) regex_entry_clear(&ctx->regex[i]);
  for (int i = 0; i < SCHEMA_CACHE_SIZE; i++) schema_entry_clear(&ctx->schema[i]);
  free(ctx);
}

/* Find `s` among the n entries at `entries`, `stride` bytes apart, each
 * starting with its CacheKey: the entry holding it (*hit), else the one to
 * replace (an empty slot, or the least recently used). Marks it used. */
static CacheKey *cache_find(BuiltinCtx *ctx, void *entries, size_t stride, size_t n, Str *s, bool *hit) {
  uint32_t h = str_hash(s);
  CacheKey *victim = entries;
  ctx->tick++;
  *hit = false;
  for (size_t i = 0; i < n; i++) {
    CacheKey *k = (CacheKey *)((char *)entries + i * stride);
    if (k->text && k->hash == h && k->len == s->len && memcmp(k->text, s->data, s->len) == 0) {
      k->used = ctx->tick;
      *hit = true;
      return k;
    }
    if (!k->text ? victim->text != NULL : (victim->text && k->used < victim->used)) victim = k;
  }
  return victim;
}

/* Make the (cleared) entry `k` the one for `s`. */
static void cache_key_set(BuiltinCtx *ctx, CacheKey *k, Str *s) {
  k->text = xmalloc(s->len + 1);
  memcpy(k->text, s->data, s->len + 1);
  k->len = s->len;
  k->hash = str_hash(s);
  k->used = ctx->tick;
}

/* ---- text buffers --------------------------------------------------------------------------------- */

/* The buffer's text as a new string value; frees the buffer. */
static Value tb_value(TextBuf *b) {
  Value v = value_str(b->data ? b->data : "", b->len);
  free(b->data);
  return v;
}

/* The first occurrence of needle[0..m) in hay[0..n) at or after `from`, or -1. */
static int64_t find_bytes(const char *hay, size_t n, const char *needle, size_t m, size_t from) {
  if (m == 0) return from <= n ? (int64_t)from : -1;
  if (m > n) return -1;
  for (size_t i = from; i + m <= n;) {
    const char *p = memchr(hay + i, needle[0], n - m + 1 - i);
    if (!p) return -1;
    i = (size_t)(p - hay);
    if (memcmp(p, needle, m) == 0) return (int64_t)i;
    i++;
  }
  return -1;
}

/* ---- printing ------------------------------------------------------------------------------------- */

/* Write `i` in decimal to buf (at least 21 bytes, no NUL); returns the length. */
static size_t format_int(int64_t i, char *buf) {
  char tmp[20];
  uint64_t mag = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
  size_t n = 0, len = 0;
  do {
    tmp[n++] = (char)('0' + mag % 10);
    mag /= 10;
  } while (mag);
  if (i < 0) buf[len++] = '-';
  while (n) buf[len++] = tmp[--n];
  return len;
}

/* The variant name of enum value `v`, or NULL when the image does not know it. */
static const char *enum_name(const Image *img, Value v) {
  if (!img || v.u.e.type >= img->ntypes) return NULL;
  const ImgType *t = &img->types[v.u.e.type];
  return t->kind == IT_ENUM && v.u.e.variant < t->nvariants ? t->variants[v.u.e.variant] : NULL;
}

static void text_append(TextBuf *b, const Image *img, Value v) {
  char num[48];
  switch ((ValueTag)v.tag) {
  case V_STR: tb_put(b, value_as_str(v)->data, value_as_str(v)->len); return;
  case V_INT: tb_put(b, num, format_int(v.u.i, num)); return;
  case V_FLOAT: tb_put(b, num, json_format_double(v.u.f, num)); return;
  case V_BOOL: tb_put(b, v.u.b ? "true" : "false", v.u.b ? 4 : 5); return;
  case V_NONE: tb_put(b, "none", 4); return;
  case V_ENUM: {
    const char *name = enum_name(img, v);
    if (name)
      tb_put(b, name, strlen(name));
    else
      tb_put(b, num, (size_t)snprintf(num, sizeof num, "#%u", v.u.e.variant));
    return;
  }
  default: {
    tb_reserve(b, 0);
    value_append_json(img, IMG_TYPE_ANY, v, &b->data, &b->len, &b->cap);
    return;
  }
  }
}

void value_append_text(const Image *img, Value v, char **buf, size_t *len, size_t *cap) {
  TextBuf b = {*buf, *len, *cap};
  tb_reserve(&b, 0);
  text_append(&b, img, v);
  *buf = b.data;
  *len = b.len;
  *cap = b.cap;
}

Value value_to_text(const Image *img, Value v) {
  char num[48];
  switch ((ValueTag)v.tag) {
  case V_STR: return value_retain(v);
  case V_INT: return value_str(num, format_int(v.u.i, num));
  case V_FLOAT: return value_str(num, json_format_double(v.u.f, num));
  case V_BOOL: return v.u.b ? value_str("true", 4) : value_str("false", 5);
  case V_ENUM: {
    const char *name = enum_name(img, v);
    if (name) return value_cstr(name);
    break;
  }
  default: break;
  }
  TextBuf b = {NULL, 0, 0};
  text_append(&b, img, v);
  return tb_value(&b);
}

/* ---- errors ----------------------------------------------------------------------------------------- */

/* One call in progress: its arguments and where errors go. */
typedef struct Call {
  BuiltinCtx *ctx;
  const Image *img;
  BuiltinId id;
  const Value *args;
  uint32_t nargs;
  char *err;
  size_t errlen;
} Call;

static bool fail(Call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(Call *c, const char *fmt, ...) {
  if (c->err && c->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
  }
  return false;
}

/* A short description of `v` for "found ...": the value itself for scalars
 * (strings quoted and cut at about 40 bytes), its shape for the rest. */
static void describe(const Image *img, Value v, char *out, size_t n) {
  switch ((ValueTag)v.tag) {
  case V_NONE: snprintf(out, n, "none"); return;
  case V_BOOL: snprintf(out, n, "%s", v.u.b ? "true" : "false"); return;
  case V_INT: snprintf(out, n, "%lld", (long long)v.u.i); return;
  case V_FLOAT: {
    char num[32];
    json_format_double(v.u.f, num);
    snprintf(out, n, "%s", num);
    return;
  }
  case V_ENUM: {
    const char *name = enum_name(img, v);
    if (name)
      snprintf(out, n, "%s.%s", img->types[v.u.e.type].name ? img->types[v.u.e.type].name : "enum", name);
    else
      snprintf(out, n, "an enum value");
    return;
  }
  case V_STR: {
    Str *s = value_as_str(v);
    size_t cut = s->len;
    if (cut > 40) {
      cut = 40;
      while (cut > 0 && ((unsigned char)s->data[cut] & 0xc0) == 0x80) cut--;
    }
    char *j = value_to_json_text(NULL, IMG_TYPE_ANY, v);
    if (cut < s->len) {
      Value part = value_str(s->data, cut);
      free(j);
      j = value_to_json_text(NULL, IMG_TYPE_ANY, part);
      value_release(part);
      j[strlen(j) - 1] = '\0';
      snprintf(out, n, "%s...\"", j);
    } else {
      snprintf(out, n, "%s", j);
    }
    free(j);
    return;
  }
  case V_LIST: {
    uint32_t len = value_as_list(v)->len;
    snprintf(out, n, len ? "a list of %u item%s" : "an empty list", len, len == 1 ? "" : "s");
    return;
  }
  case V_MAP: snprintf(out, n, "a map of %u entr%s", value_as_map(v)->len, value_as_map(v)->len == 1 ? "y" : "ies"); return;
  case V_RECORD: {
    uint32_t t = value_as_record(v)->type;
    const char *name = img && t < img->ntypes && img->types[t].name ? img->types[t].name : NULL;
    if (name)
      snprintf(out, n, "a %s record", name);
    else
      snprintf(out, n, "a record");
    return;
  }
  case V_MEDIA: snprintf(out, n, "a media value (%s)", value_as_media(v)->mime->data); return;
  case V_FUTURE: snprintf(out, n, "an unfinished effect"); return;
  }
  snprintf(out, n, "a value");
}

static const char *const ORDINAL[] = {"first", "second", "third", "fourth"};

/* Report that argument `i` is not what `want` says. */
static bool bad_arg(Call *c, uint32_t i, const char *want) {
  char found[96];
  describe(c->img, c->args[i], found, sizeof found);
  if (BUILTINS[c->id].max_args == 1)
    return fail(c, "`%s` expects %s, found %s", BUILTINS[c->id].name, want, found);
  return fail(c, "`%s` expects %s as its %s argument, found %s", BUILTINS[c->id].name, want,
              ORDINAL[i < 4 ? i : 3], found);
}

static bool arg_str(Call *c, uint32_t i, Str **out) {
  *out = NULL;
  if (c->args[i].tag != V_STR) return bad_arg(c, i, "a string");
  *out = value_as_str(c->args[i]);
  return true;
}

static bool arg_int(Call *c, uint32_t i, int64_t *out) {
  *out = 0;
  Value v = c->args[i];
  if (v.tag == V_INT) {
    *out = v.u.i;
    return true;
  }
  if (v.tag == V_FLOAT && v.u.f == floor(v.u.f) && fabs(v.u.f) < 9007199254740992.0) {
    *out = (int64_t)v.u.f;
    return true;
  }
  return bad_arg(c, i, "an int");
}

static bool arg_list(Call *c, uint32_t i, List **out) {
  *out = NULL;
  if (c->args[i].tag != V_LIST) return bad_arg(c, i, "a list");
  *out = value_as_list(c->args[i]);
  return true;
}

static bool arg_map(Call *c, uint32_t i, Map **out) {
  *out = NULL;
  if (c->args[i].tag != V_MAP) return bad_arg(c, i, "a map");
  *out = value_as_map(c->args[i]);
  return true;
}

static bool is_number(Value v) { return v.tag == V_INT || v.tag == V_FLOAT; }
static double num_value(Value v) { return v.tag == V_INT ? (double)v.u.i : v.u.f; }

/* A new list holding (retained) items[0..n). */
static Value list_of(const Value *items, uint32_t n) {
  Value lv = value_list(n);
  List *l = value_as_list(lv);
  for (uint32_t i = 0; i < n; i++) l->items[i] = value_retain(items[i]);
  l->len = n;
  return lv;
}

/* Push the string s[0..n) onto list `lv`. */
static void push_str(Value lv, const char *s, size_t n) { list_push_steal(lv, value_str(s, n)); }

/* ---- text functions ----------------------------------------------------------------------------------- */

static bool bi_len(Call *c, Value *out) {
  Value v = c->args[0];
  switch (v.tag) {
  case V_STR: *out = value_int((int64_t)utf8_count(value_as_str(v)->data, value_as_str(v)->len)); return true;
  case V_LIST: *out = value_int(value_as_list(v)->len); return true;
  case V_MAP: *out = value_int(value_as_map(v)->len); return true;
  }
  return bad_arg(c, 0, "a string, a list or a map");
}

/* Whether a code point is a letter with case (one the mappings change). */
static bool cp_is_cased(uint32_t c) { return utf8_lower(c) != c || utf8_upper(c) != c; }

/* Whether the capital sigma at p[i..i+adv) ends a word: a cased letter
 * comes before it and none after it (so it lowers to final ς). */
static bool sigma_is_final(const unsigned char *p, size_t n, size_t i, size_t adv) {
  if (i == 0) return false;
  size_t k = i - 1, a;
  while (k > 0 && (p[k] & 0xc0) == 0x80) k--;
  if (!cp_is_cased(utf8_decode(p + k, n - k, &a))) return false;
  return i + adv >= n || !cp_is_cased(utf8_decode(p + i + adv, n - i - adv, &a));
}

/* lower / upper: map each code point (see cp_lower and cp_upper). */
static bool bi_case(Call *c, Value *out, bool upper) {
  Str *s;
  if (!arg_str(c, 0, &s)) return false;
  TextBuf b = {NULL, 0, 0};
  tb_reserve(&b, s->len);
  const unsigned char *p = (const unsigned char *)s->data;
  for (size_t i = 0; i < s->len;) {
    /* ASCII runs are the common case. */
    if (p[i] < 0x80) {
      char ch = (char)p[i];
      if (upper && ch >= 'a' && ch <= 'z') ch = (char)(ch - 32);
      if (!upper && ch >= 'A' && ch <= 'Z') ch = (char)(ch + 32);
      tb_put(&b, &ch, 1);
      i++;
      continue;
    }
    size_t adv;
    uint32_t cp = utf8_decode(p + i, s->len - i, &adv);
    if (cp == 0xfffd && adv == 1) { /* keep invalid bytes as they are */
      tb_put(&b, (const char *)p + i, 1);
      i++;
      continue;
    }
    uint32_t mapped = upper ? utf8_upper(cp) : utf8_lower(cp);
    if (cp == 0x3a3 && !upper && sigma_is_final(p, s->len, i, adv)) mapped = 0x3c2; /* Σ -> ς */
    char enc[4];
    tb_put(&b, enc, utf8_put_code_point(mapped, enc));
    i += adv;
  }
  *out = tb_value(&b);
  return true;
}

/* The bounds of s[0..n) without leading and trailing white space. */
static void trim_bounds(const char *s, size_t n, size_t *start, size_t *end) {
  const unsigned char *p = (const unsigned char *)s;
  size_t a = 0, e = n, adv;
  while (a < n && utf8_is_space(utf8_decode(p + a, n - a, &adv))) a += adv;
  while (e > a) {
    size_t k = e - 1;
    while (k > a && (p[k] & 0xc0) == 0x80) k--;
    if (!utf8_is_space(utf8_decode(p + k, e - k, &adv)) || k + adv != e) break;
    e = k;
  }
  *start = a;
  *end = e;
}

static bool bi_trim(Call *c, Value *out) {
  Str *s;
  if (!arg_str(c, 0, &s)) return false;
  size_t a, e;
  trim_bounds(s->data, s->len, &a, &e);
  *out = a == 0 && e == s->len ? value_retain(c->args[0]) : value_str(s->data + a, e - a);
  return true;
}

static bool bi_split(Call *c, Value *out) {
  Str *s, *sep;
  if (!arg_str(c, 0, &s) || !arg_str(c, 1, &sep)) return false;
  Value lv = value_list(0);
  if (sep->len == 0) { /* into code points */
    size_t adv;
    for (size_t i = 0; i < s->len; i += adv) {
      utf8_decode((const unsigned char *)s->data + i, s->len - i, &adv);
      push_str(lv, s->data + i, adv);
    }
  } else {
    size_t from = 0;
    for (;;) {
      int64_t at = find_bytes(s->data, s->len, sep->data, sep->len, from);
      if (at < 0) break;
      push_str(lv, s->data + from, (size_t)at - from);
      from = (size_t)at + sep->len;
    }
    push_str(lv, s->data + from, s->len - from);
  }
  *out = lv;
  return true;
}

static bool bi_join(Call *c, Value *out) {
  List *l;
  Str *sep;
  if (!arg_list(c, 0, &l) || !arg_str(c, 1, &sep)) return false;
  TextBuf b = {NULL, 0, 0};
  tb_reserve(&b, 0);
  for (uint32_t i = 0; i < l->len; i++) {
    Value v = l->items[i];
    if (!(v.tag == V_STR || v.tag == V_INT || v.tag == V_FLOAT || v.tag == V_BOOL || v.tag == V_ENUM)) {
      char found[96];
      describe(c->img, v, found, sizeof found);
      free(b.data);
      return fail(c, "`join` expects a list of strings, found %s at index %u", found, i);
    }
    if (i) tb_put(&b, sep->data, sep->len);
    text_append(&b, c->img, v);
  }
  *out = tb_value(&b);
  return true;
}

/* replace(s, from, to): every occurrence, left to right. An empty `from`
 * leaves the text unchanged. */
static bool bi_replace(Call *c, Value *out) {
  Str *s, *from, *to;
  if (!arg_str(c, 0, &s) || !arg_str(c, 1, &from) || !arg_str(c, 2, &to)) return false;
  int64_t at = from->len ? find_bytes(s->data, s->len, from->data, from->len, 0) : -1;
  if (at < 0) {
    *out = value_retain(c->args[0]);
    return true;
  }
  TextBuf b = {NULL, 0, 0};
  tb_reserve(&b, s->len);
  size_t pos = 0;
  while (at >= 0) {
    tb_put(&b, s->data + pos, (size_t)at - pos);
    tb_put(&b, to->data, to->len);
    pos = (size_t)at + from->len;
    at = find_bytes(s->data, s->len, from->data, from->len, pos);
  }
  tb_put(&b, s->data + pos, s->len - pos);
  *out = tb_value(&b);
  return true;
}

static bool bi_contains(Call *c, Value *out) {
  Value hay = c->args[0], x = c->args[1];
  if (hay.tag == V_STR) {
    Str *s = value_as_str(hay), *sub;
    if (!arg_str(c, 1, &sub)) return false;
    *out = value_bool(find_bytes(s->data, s->len, sub->data, sub->len, 0) >= 0);
    return true;
  }
  if (hay.tag == V_LIST) {
    List *l = value_as_list(hay);
    bool found = false;
    for (uint32_t i = 0; i < l->len && !found; i++) found = value_equal(l->items[i], x);
    *out = value_bool(found);
    return true;
  }
  if (hay.tag == V_MAP) {
    Str *k;
    if (!arg_str(c, 1, &k)) return false;
    *out = value_bool(map_get(hay, k->data, k->len) != NULL);
    return true;
  }
  return bad_arg(c, 0, "a string, a list or a map");
}

static bool bi_affix(Call *c, Value *out, bool end) {
  Str *s, *p;
  if (!arg_str(c, 0, &s) || !arg_str(c, 1, &p)) return false;
  bool ok = p->len <= s->len && memcmp(s->data + (end ? s->len - p->len : 0), p->data, p->len) == 0;
  *out = value_bool(ok);
  return true;
}

/* The compiled form of `pattern`, from the cache or compiled now (NULL and
 * an error when PCRE2 refuses it). */
static RegexEntry *regex_get(Call *c, Str *pattern) {
  bool hit;
  RegexEntry *victim =
      (RegexEntry *)cache_find(c->ctx, c->ctx->regex, sizeof(RegexEntry), REGEX_CACHE_SIZE, pattern, &hit);
  if (hit) return victim;
  int code;
  PCRE2_SIZE at;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern->data, pattern->len, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
                                 &code, &at, NULL);
  if (!re) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(code, msg, sizeof msg);
    char found[96];
    describe(c->img, value_obj(V_STR, &pattern->obj), found, sizeof found);
    fail(c, "`matches` expects a valid regular expression, found %s: %s at offset %zu", found, (char *)msg,
         (size_t)at);
    return NULL;
  }
  pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* optional: matching works without it */
  regex_entry_clear(victim);
  cache_key_set(c->ctx, &victim->key, pattern);
  victim->re = re;
  victim->md = pcre2_match_data_create_from_pattern(re, NULL);
  if (!victim->md) flow_oom();
  return victim;
}

/* matches(s, regex): whether the pattern matches anywhere in s. */
static bool bi_matches(Call *c, Value *out) {
  Str *s, *pattern;
  if (!arg_str(c, 0, &s) || !arg_str(c, 1, &pattern)) return false;
  RegexEntry *e = regex_get(c, pattern);
  if (!e) return false;
  int rc = pcre2_match(e->re, (PCRE2_SPTR)s->data, s->len, 0, 0, e->md, NULL);
  if (rc >= 0 || rc == PCRE2_ERROR_NOMATCH) {
    *out = value_bool(rc >= 0);
    return true;
  }
  PCRE2_UCHAR msg[256];
  pcre2_get_error_message(rc, msg, sizeof msg);
  char found[96];
  describe(c->img, c->args[1], found, sizeof found);
  return fail(c, "`matches` could not finish matching %s: %s", found, (char *)msg);
}

/* lines(s): split on \n, a \r before it dropped, no empty last line. */
static bool bi_lines(Call *c, Value *out) {
  Str *s;
  if (!arg_str(c, 0, &s)) return false;
  Value lv = value_list(0);
  size_t pos = 0;
  while (pos < s->len) {
    const char *nl = memchr(s->data + pos, '\n', s->len - pos);
    size_t end = nl ? (size_t)(nl - s->data) : s->len, e = end;
    if (e > pos && s->data[e - 1] == '\r') e--;
    push_str(lv, s->data + pos, e - pos);
    pos = end + 1;
  }
  *out = lv;
  return true;
}

/* Whether s[a..e) holds only white space. */
static bool is_blank(const char *s, size_t a, size_t e) {
  size_t x, y;
  trim_bounds(s + a, e - a, &x, &y);
  return x == y;
}

/* paragraphs(s): runs of non-blank lines, each trimmed; blank lines separate. */
static bool bi_paragraphs(Call *c, Value *out) {
  Str *s;
  if (!arg_str(c, 0, &s)) return false;
  Value lv = value_list(0);
  TextBuf para = {NULL, 0, 0};
  bool open = false;
  size_t pos = 0;
  while (pos <= s->len) {
    const char *nl = pos < s->len ? memchr(s->data + pos, '\n', s->len - pos) : NULL;
    size_t end = nl ? (size_t)(nl - s->data) : s->len, e = end;
    if (e > pos && s->data[e - 1] == '\r') e--;
    bool blank = is_blank(s->data, pos, e);
    if (!blank) {
      if (open) tb_put(&para, "\n", 1);
      tb_put(&para, s->data + pos, e - pos);
      open = true;
    }
    if ((blank || !nl) && open) {
      size_t a, z;
      trim_bounds(para.data, para.len, &a, &z);
      push_str(lv, para.data + a, z - a);
      para.len = 0;
      open = false;
    }
    if (!nl) break;
    pos = end + 1;
  }
  free(para.data);
  *out = lv;
  return true;
}

/* Break levels of chunk(), best first. */
enum { BREAK_PARAGRAPH, BREAK_LINE, BREAK_SENTENCE, BREAK_WORD, BREAK_LEVELS };

/* Whether a chunk may end right before code point `b` at `level`. */
static bool is_break(const uint32_t *cp, uint64_t b, int level) {
  if (b < 1) return false;
  uint32_t p = cp[b - 1];
  switch (level) {
  case BREAK_PARAGRAPH:
    return p == '\n' && b >= 2 && (cp[b - 2] == '\n' || (cp[b - 2] == '\r' && b >= 3 && cp[b - 3] == '\n'));
  case BREAK_LINE: return p == '\n';
  case BREAK_SENTENCE:
    if (p == 0x3002 || p == 0xff01 || p == 0xff1f) return true; /* 。！？ */
    return utf8_is_space(p) && b >= 2 && (cp[b - 2] == '.' || cp[b - 2] == '!' || cp[b - 2] == '?');
  case BREAK_WORD: return utf8_is_space(p);
  }
  return false;
}

/* Where a piece that may end anywhere in [lo, end] ends: at the last
 * boundary of the best level found there (a blank line, else a line break,
 * else a sentence end, else white space), or at `end` when there is none. */
static uint64_t best_cut(const uint32_t *cp, uint64_t lo, uint64_t end) {
  for (int level = 0; level < BREAK_LEVELS; level++)
    for (uint64_t b = end; b >= lo && b > 0; b--)
      if (is_break(cp, b, level)) return b;
  return end;
}

/* A text being chunked: its code points and their byte offsets (offs[n] is
 * the length). An invalid byte counts as one code point. */
typedef struct Decoded {
  uint32_t *cp, *offs;
  size_t n;
} Decoded;

static Decoded decode_offsets(const Str *s) {
  Decoded d; /* invalid bytes decode one each, so allocate per byte */
  d.cp = xmalloc(sizeof(uint32_t) * ((size_t)s->len + 1));
  d.offs = xmalloc(sizeof(uint32_t) * ((size_t)s->len + 1));
  size_t k = 0, adv;
  for (size_t i = 0; i < s->len; i += adv, k++) {
    d.offs[k] = (uint32_t)i;
    d.cp[k] = utf8_decode((const unsigned char *)s->data + i, s->len - i, &adv);
  }
  d.n = k;
  d.offs[k] = (uint32_t)s->len;
  return d;
}

/* The arguments of chunk and chunk_tokens: the text, a positive size and an
 * overlap in 0 .. size - 1. `unit` names the size in messages. */
static bool chunk_args(Call *c, Str **s, int64_t *max, int64_t *overlap, const char *unit) {
  *overlap = 0;
  if (!arg_str(c, 0, s) || !arg_int(c, 1, max)) return false;
  if (c->nargs > 2 && !arg_int(c, 2, overlap)) return false;
  const char *name = BUILTINS[c->id].name;
  if (*max <= 0) return fail(c, "`%s` expects a positive %s, found %lld", name, unit, (long long)*max);
  if (*overlap < 0) return fail(c, "`%s` expects an overlap of 0 or more, found %lld", name, (long long)*overlap);
  if (*overlap >= *max)
    return fail(c, "`%s` expects an overlap smaller than %s (%lld), found %lld", name, unit, (long long)*max,
                (long long)*overlap);
  return true;
}

/* chunk(text, max_chars, overlap): consecutive pieces of at most max_chars
 * code points. Each piece ends at the best boundary (best_cut) in the second
 * half of its window. The next piece starts `overlap` code points before the
 * end of the previous one. With overlap 0 the pieces concatenate back to the
 * text. */
static bool bi_chunk(Call *c, Value *out) {
  Str *s;
  int64_t max, overlap;
  if (!chunk_args(c, &s, &max, &overlap, "max_chars")) return false;
  Decoded d = decode_offsets(s);
  Value lv = value_list(0);
  uint64_t start = 0, n = d.n;
  while (start < n) {
    if (n - start <= (uint64_t)max) {
      push_str(lv, s->data + d.offs[start], d.offs[n] - d.offs[start]);
      break;
    }
    uint64_t end = start + (uint64_t)max;
    uint64_t lo = start + ((uint64_t)max / 2 > (uint64_t)overlap + 1 ? (uint64_t)max / 2 : (uint64_t)overlap + 1);
    uint64_t cut = best_cut(d.cp, lo, end);
    push_str(lv, s->data + d.offs[start], d.offs[cut] - d.offs[start]);
    start = cut - (uint64_t)overlap;
  }
  free(d.cp);
  free(d.offs);
  *out = lv;
  return true;
}

/* tokens(s): an estimate of the tokens a model's tokenizer would produce:
 * one per four code points (English averages about that), and never fewer
 * than the number of white-space separated words (tokens.h). */
static bool bi_tokens(Call *c, Value *out) {
  Str *s;
  if (!arg_str(c, 0, &s)) return false;
  *out = value_int((int64_t)tokens_of(s->data, s->len));
  return true;
}

/* Whether a word starts at code point q (q >= 1): after white space, or
 * next to a character of a script written without spaces. */
static bool word_starts(const uint32_t *cp, uint64_t q) {
  if (utf8_is_unspaced(cp[q]) || utf8_is_unspaced(cp[q - 1])) return true;
  return utf8_is_space(cp[q - 1]) && !utf8_is_space(cp[q]);
}

/* Where the next piece of chunk_tokens starts after the piece [start, cut):
 * the overlap is the whole words at the end of the piece that the estimate
 * puts at no more than `overlap` tokens, so it starts at the first word
 * start in the longest such tail; when that tail holds no word start (its
 * last word alone is more), there is no overlap. The piece holds more than
 * `overlap` tokens, so this is after `start`. */
static uint64_t overlap_start(const Decoded *d, uint64_t start, uint64_t cut, int64_t overlap) {
  if (overlap == 0) return cut;
  TokenEstimate t = TOKENS_START;
  uint64_t p = cut;
  while (p > start && tokens_add_cp(&t, d->cp[p - 1]) <= (uint64_t)overlap) p--;
  for (uint64_t q = p; q < cut; q++)
    if (word_starts(d->cp, q)) return q;
  return cut;
}

/* chunk_tokens(text, max_tokens, overlap): like chunk, with sizes measured
 * by the estimate of tokens(): every piece estimates at most max_tokens,
 * and ends at the best boundary among the places where it would estimate at
 * least half of max_tokens (and more than `overlap`). The next piece starts
 * with about `overlap` tokens of the previous one (overlap_start). */
static bool bi_chunk_tokens(Call *c, Value *out) {
  Str *s;
  int64_t max, overlap;
  if (!chunk_args(c, &s, &max, &overlap, "max_tokens")) return false;
  uint64_t enough = (uint64_t)max / 2 > (uint64_t)overlap + 1 ? (uint64_t)max / 2 : (uint64_t)overlap + 1;
  Decoded d = decode_offsets(s);
  Value lv = value_list(0);
  uint64_t start = 0;
  while (start < d.n) {
    TokenEstimate t = TOKENS_START;
    uint64_t end = start, lo = 0;
    size_t est;
    while (end < d.n && (est = tokens_add_cp(&t, d.cp[end])) <= (uint64_t)max) {
      end++;
      if (!lo && est >= enough) lo = end;
    }
    if (end == d.n) {
      push_str(lv, s->data + d.offs[start], d.offs[d.n] - d.offs[start]);
      break;
    }
    uint64_t cut = best_cut(d.cp, lo ? lo : end, end);
    push_str(lv, s->data + d.offs[start], d.offs[cut] - d.offs[start]);
    start = overlap_start(&d, start, cut, overlap);
  }
  free(d.cp);
  free(d.offs);
  *out = lv;
  return true;
}

/* ---- list functions ------------------------------------------------------------------------------------ */

/* Python-style bounds: negative counts from the end, then clamped to [0, len]. */
static uint64_t clamp_index(int64_t i, uint64_t len) {
  if (i < 0) i += (int64_t)len;
  if (i < 0) return 0;
  return (uint64_t)i > len ? len : (uint64_t)i;
}

/* The part [a, b) of a list or a string (in code points). */
static bool sub_range(Call *c, Value *out, int64_t a, int64_t b) {
  Value v = c->args[0];
  if (v.tag == V_LIST) {
    List *l = value_as_list(v);
    uint64_t x = clamp_index(a, l->len), y = clamp_index(b, l->len);
    *out = list_of(l->items + x, y > x ? (uint32_t)(y - x) : 0);
    return true;
  }
  if (v.tag == V_STR) {
    Str *s = value_as_str(v);
    size_t len = utf8_count(s->data, s->len);
    uint64_t x = clamp_index(a, len), y = clamp_index(b, len);
    if (y <= x) {
      *out = value_str("", 0);
      return true;
    }
    size_t bx = utf8_offset(s->data, s->len, x);
    size_t by = bx + utf8_offset(s->data + bx, s->len - bx, y - x);
    *out = bx == 0 && by == s->len ? value_retain(v) : value_str(s->data + bx, by - bx);
    return true;
  }
  return bad_arg(c, 0, "a list or a string");
}

static bool bi_take(Call *c, Value *out) {
  int64_t n;
  if (!arg_int(c, 1, &n)) return false;
  return sub_range(c, out, 0, n < 0 ? 0 : n);
}

static bool bi_slice(Call *c, Value *out) {
  int64_t a, b;
  if (!arg_int(c, 1, &a) || !arg_int(c, 2, &b)) return false;
  return sub_range(c, out, a, b);
}

/* Stable merge sort of the indexes ix[0..n) by value_compare of keys[ix[i]],
 * using tmp[0..n). */
static void merge_sort(uint32_t *ix, uint32_t *tmp, size_t n, const Value *keys) {
  if (n < 2) return;
  if (n <= 12) { /* insertion sort: stable */
    for (size_t i = 1; i < n; i++) {
      uint32_t x = ix[i];
      size_t j = i;
      while (j > 0 && value_compare(keys[ix[j - 1]], keys[x]) > 0) {
        ix[j] = ix[j - 1];
        j--;
      }
      ix[j] = x;
    }
    return;
  }
  size_t h = n / 2;
  merge_sort(ix, tmp, h, keys);
  merge_sort(ix + h, tmp + h, n - h, keys);
  if (value_compare(keys[ix[h - 1]], keys[ix[h]]) <= 0) return; /* already in order */
  size_t i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = value_compare(keys[ix[j]], keys[ix[i]]) < 0 ? ix[j++] : ix[i++];
  while (i < h) tmp[k++] = ix[i++];
  while (j < n) tmp[k++] = ix[j++];
  memcpy(ix, tmp, sizeof(uint32_t) * n);
}

/* The items of `l` ordered stably by keys[0..l->len). */
static Value sorted_by(const List *l, const Value *keys) {
  uint32_t n = l->len;
  uint32_t *ix = xmalloc(sizeof(uint32_t) * (n ? n : 1) * 2);
  for (uint32_t i = 0; i < n; i++) ix[i] = i;
  merge_sort(ix, ix + n, n, keys);
  Value lv = value_list(n);
  List *r = value_as_list(lv);
  for (uint32_t i = 0; i < n; i++) r->items[i] = value_retain(l->items[ix[i]]);
  r->len = n;
  free(ix);
  return lv;
}

static bool bi_sort(Call *c, Value *out) {
  List *l;
  if (!arg_list(c, 0, &l)) return false;
  *out = sorted_by(l, l->items);
  return true;
}

/* sort_by_keys(xs, keys): xs ordered stably by the matching keys (how
 * sort_by(xs, x => key) is compiled). */
static bool bi_sort_by_keys(Call *c, Value *out) {
  List *l, *keys;
  if (!arg_list(c, 0, &l) || !arg_list(c, 1, &keys)) return false;
  if (keys->len != l->len)
    return fail(c, "`sort_by` expects one key per item (%u), found %u keys", l->len, keys->len);
  *out = sorted_by(l, keys->items);
  return true;
}

/* unique(xs): the first occurrence of each value, in order (hashed). */
static bool bi_unique(Call *c, Value *out) {
  List *l;
  if (!arg_list(c, 0, &l)) return false;
  size_t cap = 16;
  while (cap < (size_t)l->len * 2) cap *= 2;
  uint32_t *slots = calloc(cap, sizeof(uint32_t)); /* index into the result + 1 */
  if (!slots) flow_oom();
  Value lv = value_list(0);
  List *r = value_as_list(lv);
  for (uint32_t i = 0; i < l->len; i++) {
    Value x = l->items[i];
    size_t at = value_hash(x) & (cap - 1);
    bool dup = false;
    for (; slots[at]; at = (at + 1) & (cap - 1)) {
      if (value_equal(r->items[slots[at] - 1], x)) {
        dup = true;
        break;
      }
    }
    if (dup) continue;
    list_push_steal(lv, value_retain(x));
    slots[at] = r->len;
  }
  free(slots);
  *out = lv;
  return true;
}

/* flatten(xss): the items of each inner list in order (one level). Items
 * that are not lists are kept as they are. */
static bool bi_flatten(Call *c, Value *out) {
  List *l;
  if (!arg_list(c, 0, &l)) return false;
  uint64_t total = 0;
  for (uint32_t i = 0; i < l->len; i++) total += l->items[i].tag == V_LIST ? value_as_list(l->items[i])->len : 1;
  if (total > UINT32_MAX) return fail(c, "`flatten` would make a list of %llu items (more than 2^32)",
                                      (unsigned long long)total);
  Value lv = value_list((uint32_t)total);
  for (uint32_t i = 0; i < l->len; i++) {
    Value x = l->items[i];
    if (x.tag != V_LIST) {
      list_push_steal(lv, value_retain(x));
      continue;
    }
    List *in = value_as_list(x);
    for (uint32_t j = 0; j < in->len; j++) list_push_steal(lv, value_retain(in->items[j]));
  }
  *out = lv;
  return true;
}

/* The first item of `l` that is not a number, reported as an error. */
static bool not_numbers(Call *c, List *l, uint32_t i) {
  char found[96];
  describe(c->img, l->items[i], found, sizeof found);
  return fail(c, "`%s` expects a list of numbers, found %s at index %u", BUILTINS[c->id].name, found, i);
}

static bool bi_sum(Call *c, Value *out) {
  List *l;
  if (!arg_list(c, 0, &l)) return false;
  int64_t isum = 0;
  double fsum = 0;
  bool is_float = false;
  for (uint32_t i = 0; i < l->len; i++) {
    Value x = l->items[i];
    if (!is_number(x)) return not_numbers(c, l, i);
    if (x.tag == V_FLOAT && !is_float) {
      is_float = true;
      fsum = (double)isum;
    }
    if (is_float) {
      fsum += num_value(x);
    } else if (__builtin_add_overflow(isum, x.u.i, &isum)) {
      return fail(c, "`sum` overflowed: expected a total within 64-bit integers, found more at index %u", i);
    }
  }
  *out = is_float ? value_float(fsum) : value_int(isum);
  return true;
}

/* min / max: the least or greatest item (the first of equal ones). */
static bool bi_extreme(Call *c, Value *out, bool want_max) {
  List *l;
  if (!arg_list(c, 0, &l)) return false;
  const char *name = want_max ? "max" : "min";
  if (l->len == 0) return fail(c, "%s of an empty list: expected at least one item", name);
  uint32_t best = 0;
  for (uint32_t i = 0; i < l->len; i++) {
    Value x = l->items[i];
    if (!is_number(x) && x.tag != V_STR) {
      char found[96];
      describe(c->img, x, found, sizeof found);
      return fail(c, "`%s` expects a list of numbers or strings, found %s at index %u", name, found, i);
    }
    if (i && !is_number(x) != !is_number(l->items[best])) {
      char found[96];
      describe(c->img, x, found, sizeof found);
      return fail(c, "`%s` expects items of one kind, found %s at index %u after %s", name, found, i,
                  is_number(l->items[best]) ? "numbers" : "strings");
    }
    int cmp = value_compare(x, l->items[best]);
    if (want_max ? cmp > 0 : cmp < 0) best = i;
  }
  *out = value_retain(l->items[best]);
  return true;
}

static bool bi_keys(Call *c, Value *out, bool keys) {
  Map *m;
  if (!arg_map(c, 0, &m)) return false;
  Value lv = value_list(m->len);
  List *l = value_as_list(lv);
  for (uint32_t i = 0; i < m->len; i++) {
    if (keys) {
      m->entries[i].key->obj.refs++;
      l->items[i] = value_obj(V_STR, &m->entries[i].key->obj);
    } else {
      l->items[i] = value_retain(m->entries[i].value);
    }
  }
  l->len = m->len;
  *out = lv;
  return true;
}

/* ---- conversions -------------------------------------------------------------------------------------- */

static bool bi_json(Call *c, Value *out) {
  Value v = c->args[0];
  if (v.tag == V_FUTURE) return bad_arg(c, 0, "a JSON-representable value");
  char *text = value_to_json_text(c->img, IMG_TYPE_ANY, v);
  *out = value_str(text, strlen(text));
  free(text);
  return true;
}

static bool bi_str(Call *c, Value *out) {
  Value v = c->args[0];
  if (v.tag == V_FUTURE || v.tag == V_MEDIA) return bad_arg(c, 0, "a printable value");
  *out = value_to_text(c->img, v);
  return true;
}

/* Parse an optionally signed decimal integer filling all of s[0..n). */
static bool parse_int(const char *s, size_t n, int64_t *out) {
  size_t i = 0;
  bool neg = false;
  if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (i == n) return false;
  uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    unsigned d = (unsigned)(s[i] - '0');
    if (mag > (limit - d) / 10) return false;
    mag = mag * 10 + d;
  }
  *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
  return true;
}

/* Parse a decimal float (digits, optional fraction and exponent; or inf /
 * infinity / nan) filling all of s[0..n). No hex forms. */
static bool parse_float(const char *s, size_t n, double *out) {
  if (n == 0 || n > 400) return false;
  char buf[401];
  memcpy(buf, s, n);
  buf[n] = '\0';
  const char *p = buf;
  if (*p == '+' || *p == '-') p++;
  bool special = !strcmp(p, "inf") || !strcmp(p, "infinity") || !strcmp(p, "nan") || !strcmp(p, "Infinity") ||
                 !strcmp(p, "NaN") || !strcmp(p, "INF") || !strcmp(p, "NAN");
  if (!special) {
    size_t digits = 0;
    while (*p >= '0' && *p <= '9') p++, digits++;
    if (*p == '.') {
      p++;
      while (*p >= '0' && *p <= '9') p++, digits++;
    }
    if (!digits) return false;
    if (*p == 'e' || *p == 'E') {
      p++;
      if (*p == '+' || *p == '-') p++;
      if (!(*p >= '0' && *p <= '9')) return false;
      while (*p >= '0' && *p <= '9') p++;
    }
    if (*p) return false;
  }
  char *end;
  *out = strtod(buf, &end);
  return *end == '\0';
}

static bool bi_int(Call *c, Value *out) {
  Value v = c->args[0];
  switch (v.tag) {
  case V_INT: *out = v; return true;
  case V_BOOL: *out = value_int(v.u.b); return true;
  case V_FLOAT: {
    double t = trunc(v.u.f);
    if (!(t >= -9223372036854775808.0 && t < 9223372036854775808.0))
      return bad_arg(c, 0, "a float within the range of 64-bit integers");
    *out = value_int((int64_t)t);
    return true;
  }
  case V_STR: {
    Str *s = value_as_str(v);
    size_t a, e;
    int64_t i;
    trim_bounds(s->data, s->len, &a, &e);
    if (!parse_int(s->data + a, e - a, &i)) return bad_arg(c, 0, "a decimal integer (within 64 bits)");
    *out = value_int(i);
    return true;
  }
  }
  return bad_arg(c, 0, "a number, a string or a bool");
}

static bool bi_float(Call *c, Value *out) {
  Value v = c->args[0];
  switch (v.tag) {
  case V_FLOAT: *out = v; return true;
  case V_INT: *out = value_float((double)v.u.i); return true;
  case V_BOOL: *out = value_float(v.u.b ? 1.0 : 0.0); return true;
  case V_STR: {
    Str *s = value_as_str(v);
    size_t a, e;
    double f;
    trim_bounds(s->data, s->len, &a, &e);
    if (!parse_float(s->data + a, e - a, &f)) return bad_arg(c, 0, "a decimal number");
    *out = value_float(f);
    return true;
  }
  }
  return bad_arg(c, 0, "a number or a string");
}

/* format(x, digits): fixed-point text with `digits` decimals (0..20). */
static bool bi_format(Call *c, Value *out) {
  int64_t digits;
  if (!is_number(c->args[0])) return bad_arg(c, 0, "a number");
  if (!arg_int(c, 1, &digits)) return false;
  if (digits < 0 || digits > 20)
    return fail(c, "`format` expects 0 to 20 digits, found %lld", (long long)digits);
  double x = num_value(c->args[0]);
  if (!isfinite(x)) {
    *out = value_cstr(isnan(x) ? "nan" : x < 0 ? "-inf" : "inf");
    return true;
  }
  int n = snprintf(NULL, 0, "%.*f", (int)digits, x);
  char *buf = xmalloc((size_t)n + 1);
  snprintf(buf, (size_t)n + 1, "%.*f", (int)digits, x);
  *out = value_str(buf, (size_t)n);
  free(buf);
  return true;
}

/* zip(xs, ys): pairs [x, y] of elements at the same index, as long as the
 * shorter list. */
static bool bi_zip(Call *c, Value *out) {
  List *a, *b;
  if (!arg_list(c, 0, &a) || !arg_list(c, 1, &b)) return false;
  uint32_t n = a->len < b->len ? a->len : b->len;
  Value l = value_list(n);
  for (uint32_t i = 0; i < n; i++) {
    Value pair = value_list(2);
    list_push_steal(pair, value_retain(a->items[i]));
    list_push_steal(pair, value_retain(b->items[i]));
    list_push_steal(l, pair);
  }
  *out = l;
  return true;
}

/* format_date(date, pattern): an ISO 8601 date ("2026-11-24", optionally
 * with "T14:05" or "T14:05:09" and a trailing "Z") printed with strftime
 * conversions (%Y %m %d %H %M %S %B %b %A %a %j %%) in the C locale. There
 * is no clock: dates come from the data, so runs stay deterministic. */
static bool bi_format_date(Call *c, Value *out) {
  Str *d, *pat;
  if (!arg_str(c, 0, &d) || !arg_str(c, 1, &pat)) return false;
  int y = 0, mo = 0, da = 0, h = 0, mi = 0, se = 0, used = 0;
  int fields = sscanf(d->data, "%4d-%2d-%2d%n", &y, &mo, &da, &used);
  if (fields == 3 && (d->data[used] == 'T' || d->data[used] == ' ')) {
    int more = 0;
    if (sscanf(d->data + used + 1, "%2d:%2d%n", &h, &mi, &more) == 2) {
      used += 1 + more;
      if (d->data[used] == ':' && sscanf(d->data + used + 1, "%2d%n", &se, &more) == 1) used += 1 + more;
    }
  }
  if (fields == 3 && d->data[used] == 'Z') used++;
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (fields != 3 || (size_t)used != d->len || mo < 1 || mo > 12 || da < 1 || da > mdays[mo - 1] || h > 23 ||
      mi > 59 || se > 60 || (mo == 2 && da == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
    return fail(c, "`format_date` expects an ISO date such as \"2026-11-24\" or \"2026-11-24T14:05:00Z\", found \"%.40s\"",
                d->data);
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = da;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  /* day of week and of year, without mktime's time zone */
  int a = (14 - mo) / 12, yy = y + 4800 - a, mm = mo + 12 * a - 3;
  long jdn = da + (153 * mm + 2) / 5 + 365L * yy + yy / 4 - yy / 100 + yy / 400 - 32045;
  tm.tm_wday = (int)((jdn + 1) % 7);
  static const int before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  tm.tm_yday = before[mo - 1] + da - 1 + (leap && mo > 2);
  char buf[512];
  size_t n = pat->len ? strftime(buf, sizeof buf, pat->data, &tm) : 0;
  if (pat->len && n == 0) return fail(c, "`format_date`: the pattern gives an empty or too long text");
  *out = value_str(buf, n);
  return true;
}

/* similarity(a, b): 1 - Levenshtein distance / the longer length, over code
 * points; 1.0 for two empty strings. The common prefix and suffix are
 * skipped first; the rest takes O(|a| * |b|) time and O(|b|) memory. */
static bool bi_similarity(Call *c, Value *out) {
  Str *sa, *sb;
  if (!arg_str(c, 0, &sa) || !arg_str(c, 1, &sb)) return false;
  size_t na, nb;
  uint32_t *a = utf8_decode_all(sa->data, sa->len, &na);
  uint32_t *b = utf8_decode_all(sb->data, sb->len, &nb);
  size_t longer = na > nb ? na : nb;
  if (longer == 0) {
    free(a);
    free(b);
    *out = value_float(1.0);
    return true;
  }
  size_t pre = 0;
  while (pre < na && pre < nb && a[pre] == b[pre]) pre++;
  size_t ea = na, eb = nb;
  while (ea > pre && eb > pre && a[ea - 1] == b[eb - 1]) ea--, eb--;
  const uint32_t *x = a + pre, *y = b + pre;
  size_t m = ea - pre, k = eb - pre;
  size_t dist;
  if (m == 0 || k == 0) {
    dist = m + k;
  } else {
    size_t *row = xmalloc(sizeof(size_t) * (k + 1));
    for (size_t j = 0; j <= k; j++) row[j] = j;
    for (size_t i = 1; i <= m; i++) {
      size_t diag = row[0];
      row[0] = i;
      for (size_t j = 1; j <= k; j++) {
        size_t up = row[j];
        size_t best = diag + (x[i - 1] != y[j - 1]);
        if (up + 1 < best) best = up + 1;
        if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
        row[j] = best;
        diag = up;
      }
    }
    dist = row[k];
    free(row);
  }
  free(a);
  free(b);
  *out = value_float(1.0 - (double)dist / (double)longer);
  return true;
}

/* ---- evaluation ------------------------------------------------------------------------------------------ */

/* The compiled form of the schema text `text`, from the cache or compiled
 * now (NULL and an error when it is not a schema the validator knows). */
static JsonSchema *schema_get(Call *c, Str *text) {
  bool hit;
  SchemaEntry *victim =
      (SchemaEntry *)cache_find(c->ctx, c->ctx->schema, sizeof(SchemaEntry), SCHEMA_CACHE_SIZE, text, &hit);
  if (hit) return victim->schema;
  char why[400];
  JsonSchema *schema = json_schema_parse(text->data, text->len, why, sizeof why);
  if (!schema) {
    char found[96];
    describe(c->img, c->args[1], found, sizeof found);
    fail(c, "`valid_json` expects a JSON Schema as its second argument, found %s: %s", found, why);
    return NULL;
  }
  schema_entry_clear(victim);
  cache_key_set(c->ctx, &victim->key, text);
  victim->schema = schema;
  return schema;
}

/* valid_json(s) / valid_json(s, schema): whether s is one JSON text (RFC
 * 8259; integers of any size), and whether it conforms to the schema. */
static bool bi_valid_json(Call *c, Value *out) {
  Str *s, *schema_text = NULL;
  if (!arg_str(c, 0, &s) || (c->nargs > 1 && !arg_str(c, 1, &schema_text))) return false;
  JsonSchema *schema = schema_text ? schema_get(c, schema_text) : NULL;
  if (schema_text && !schema) return false;
  json_t *j = json_read_opts(s->data, s->len, JSON_SCHEMA_TEXT_DEPTH, JSON_READ_BIG_INTEGERS, NULL);
  if (!j || !schema) {
    *out = value_bool(j != NULL);
    json_decref(j);
    return true;
  }
  char why[400];
  JsonSchemaResult r = json_schema_check(schema, j, why, sizeof why);
  json_decref(j);
  if (r == JSON_SCHEMA_ERROR) return fail(c, "`valid_json` could not finish: %s", why);
  *out = value_bool(r == JSON_SCHEMA_VALID);
  return true;
}

/* approx(a, b, tol): a == b or |a - b| <= tol. Two ints compare exactly
 * (their difference as an unsigned 64-bit number); otherwise in doubles, so
 * NaN approximates nothing. tol must be 0 or more. */
static bool bi_approx(Call *c, Value *out) {
  for (uint32_t i = 0; i < 3; i++)
    if (!is_number(c->args[i])) return bad_arg(c, i, "a number");
  Value a = c->args[0], b = c->args[1], tol = c->args[2];
  double t = num_value(tol);
  if (!(t >= 0)) {
    char found[96];
    describe(c->img, tol, found, sizeof found);
    return fail(c, "`approx` expects a tolerance of 0 or more, found %s", found);
  }
  bool near;
  if (a.tag == V_INT && b.tag == V_INT) {
    uint64_t diff = a.u.i >= b.u.i ? (uint64_t)a.u.i - (uint64_t)b.u.i : (uint64_t)b.u.i - (uint64_t)a.u.i;
    near = tol.tag == V_INT ? diff <= (uint64_t)tol.u.i : t >= 18446744073709551616.0 || diff <= (uint64_t)t;
  } else {
    double x = num_value(a), y = num_value(b);
    near = x == y || fabs(x - y) <= t;
  }
  *out = value_bool(near);
  return true;
}

/* token_f1(a, b) and rouge_l(a, b): see textsim.h. */
static bool bi_token_f1(Call *c, Value *out) {
  Str *a, *b;
  if (!arg_str(c, 0, &a) || !arg_str(c, 1, &b)) return false;
  *out = value_float(textsim_token_f1(a->data, a->len, b->data, b->len));
  return true;
}

static bool bi_rouge_l(Call *c, Value *out) {
  Str *a, *b;
  if (!arg_str(c, 0, &a) || !arg_str(c, 1, &b)) return false;
  double f;
  size_t ka, kb;
  if (!textsim_rouge_l(a->data, a->len, b->data, b->len, &f, &ka, &kb))
    return fail(c, "`rouge_l` expects texts whose differing parts make at most %u token pairs, found %zu x %zu "
                   "tokens; compare shorter texts, such as chunk_tokens pieces",
                TEXTSIM_MAX_LCS_CELLS, ka, kb);
  *out = value_float(f);
  return true;
}

/* ---- dispatch ------------------------------------------------------------------------------------------ */

bool builtin_call(BuiltinCtx *ctx, const Image *img, BuiltinId id, const Value *args, uint32_t nargs,
                  Value *out, char *err, size_t errlen) {
  Call c = {ctx, img, id, args, nargs, err, errlen};
  *out = value_none();
  if ((unsigned)id >= BI_COUNT) return fail(&c, "unknown built-in function #%d", (int)id);
  const BuiltinInfo *bi = &BUILTINS[id];
  if (nargs < bi->min_args || nargs > bi->max_args) {
    if (bi->min_args == bi->max_args)
      return fail(&c, "`%s` expects %u argument%s, found %u", bi->name, bi->min_args,
                  bi->min_args == 1 ? "" : "s", nargs);
    return fail(&c, "`%s` expects %u to %u arguments, found %u", bi->name, bi->min_args, bi->max_args, nargs);
  }
  switch (id) {
  case BI_LEN: return bi_len(&c, out);
  case BI_LOWER: return bi_case(&c, out, false);
  case BI_UPPER: return bi_case(&c, out, true);
  case BI_TRIM: return bi_trim(&c, out);
  case BI_SPLIT: return bi_split(&c, out);
  case BI_JOIN: return bi_join(&c, out);
  case BI_REPLACE: return bi_replace(&c, out);
  case BI_CONTAINS: return bi_contains(&c, out);
  case BI_STARTS_WITH: return bi_affix(&c, out, false);
  case BI_ENDS_WITH: return bi_affix(&c, out, true);
  case BI_MATCHES: return bi_matches(&c, out);
  case BI_LINES: return bi_lines(&c, out);
  case BI_PARAGRAPHS: return bi_paragraphs(&c, out);
  case BI_CHUNK: return bi_chunk(&c, out);
  case BI_TOKENS: return bi_tokens(&c, out);
  case BI_TAKE: return bi_take(&c, out);
  case BI_SLICE: return bi_slice(&c, out);
  case BI_SORT: return bi_sort(&c, out);
  case BI_UNIQUE: return bi_unique(&c, out);
  case BI_FLATTEN: return bi_flatten(&c, out);
  case BI_SUM: return bi_sum(&c, out);
  case BI_MIN: return bi_extreme(&c, out, false);
  case BI_MAX: return bi_extreme(&c, out, true);
  case BI_KEYS: return bi_keys(&c, out, true);
  case BI_VALUES: return bi_keys(&c, out, false);
  case BI_JSON: return bi_json(&c, out);
  case BI_STR: return bi_str(&c, out);
  case BI_INT: return bi_int(&c, out);
  case BI_FLOAT: return bi_float(&c, out);
  case BI_FORMAT: return bi_format(&c, out);
  case BI_SIMILARITY: return bi_similarity(&c, out);
  case BI_SORT_BY_KEYS: return bi_sort_by_keys(&c, out);
  case BI_ZIP: return bi_zip(&c, out);
  case BI_FORMAT_DATE: return bi_format_date(&c, out);
  case BI_VALID_JSON: return bi_valid_json(&c, out);
  case BI_APPROX: return bi_approx(&c, out);
  case BI_TOKEN_F1: return bi_token_f1(&c, out);
  case BI_ROUGE_L: return bi_rouge_l(&c, out);
  case BI_CHUNK_TOKENS: return bi_chunk_tokens(&c, out);
  case BI_COUNT: break;
  }
  return fail(&c, "unknown built-in function #%d", (int)id);
}
