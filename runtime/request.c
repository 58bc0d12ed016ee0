/* request.c - the canonical JSON of a model request and its key (see request.h).
 *
 * The canonical form is compact JSON with object keys sorted by bytes, so the
 * same request always gives the same bytes whatever order its parts were
 * built in:
 *   {"binding":{"base_url":..,"model":..,"provider":..},
 *    "contexts":{name:sha256,..} (only when the template reads contexts),"kind":"prompt"|"judge",
 *    "messages":[{"role":..,"text":..} | {"media":{"bytes":n,"mime":..,"sha256":..},"role":..}],
 *    "params":{only the parameters that are set},"prompt":name|null,
 *    "schema":parsed JSON Schema|null,"v":1}
 * Integers print as integers; floats print in the shortest form that reads
 * back to the same double, always with a '.' or an exponent ("1.0", "0.1").
 * Strings keep their UTF-8 as is; `"`, `\` and control characters are
 * escaped, and a byte that is not valid UTF-8 becomes U+FFFD. Media parts are
 * represented by their MIME type, size and SHA-256, never by their bytes.
 * Nothing here reads the environment: API keys and the name of the variable
 * that holds them never enter a request. */
#include "arena.h"
#include "provider.h"
#include "request.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_value.h"
#include "sha256.h"
#include "textbuf.h"

/* The canonical format's version, the "v" member. */
#define REQUEST_FORMAT_VERSION 1

/* Append the NUL-terminated `s` as a JSON string, or null when `s` is NULL. */
static void buf_json_cstr(TextBuf *b, const char *s) {
  if (s)
    tb_json_string(b, s, strlen(s));
  else
    tb_puts(b, "null");
}

/* Append an integer. */
static void buf_json_int(TextBuf *b, int64_t v) {
  char num[32];
  snprintf(num, sizeof num, "%" PRId64, v);
  tb_puts(b, num);
}

/* Append a double as json_value.c writes it (the shortest form that reads
 * back to the same value, with ".0" when it would look like an integer:
 * 0.1, 1.0, 100.0, 1e+100). NaN and infinities have no JSON form and print
 * as null. */
static void buf_json_real(TextBuf *b, double v) {
  char num[32];
  if (isfinite(v))
    tb_put(b, num, json_format_double(v, num));
  else
    tb_puts(b, "null");
}

/* Comparison of two C strings for qsort, by bytes. */
static int cmp_cstr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Append the JSON value `j` canonically: objects with their keys sorted by
 * bytes, numbers as described at the top of the file. */
static void buf_json_value(TextBuf *b, const json_t *j) {
  switch (json_typeof(j)) {
  case JSON_OBJECT: {
    size_t n = json_object_size(j);
    const char **keys = n ? xmalloc(n * sizeof *keys) : NULL;
    size_t k = 0;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)j, key, val) keys[k++] = key;
    qsort(keys, k, sizeof *keys, cmp_cstr);
    tb_put(b, "{", 1);
    for (size_t i = 0; i < k; i++) {
      if (i) tb_put(b, ",", 1);
      buf_json_cstr(b, keys[i]);
      tb_put(b, ":", 1);
      buf_json_value(b, json_object_get(j, keys[i]));
    }
    tb_put(b, "}", 1);
    free(keys);
    break;
  }
  case JSON_ARRAY:
    tb_put(b, "[", 1);
    for (size_t i = 0; i < json_array_size(j); i++) {
      if (i) tb_put(b, ",", 1);
      buf_json_value(b, json_array_get(j, i));
    }
    tb_put(b, "]", 1);
    break;
  case JSON_STRING: tb_json_string(b, json_string_value(j), json_string_length(j)); break;
  case JSON_INTEGER: buf_json_int(b, (int64_t)json_integer_value(j)); break;
  case JSON_REAL: buf_json_real(b, json_real_value(j)); break;
  case JSON_TRUE: tb_puts(b, "true"); break;
  case JSON_FALSE: tb_puts(b, "false"); break;
  case JSON_NULL: tb_puts(b, "null"); break;
  }
}


/* Append the binding object: provider, provider model name and endpoint. The
 * binding's name in the program, its limits, prices and key variable do not
 * change the reply and are left out. */
static void add_binding(TextBuf *b, const Request *r) {
  const ImgModel *m = r->img && r->model < r->img->nmodels ? &r->img->models[r->model] : NULL;
  tb_puts(b, "{\"base_url\":");
  buf_json_cstr(b, m ? m->base_url : NULL);
  tb_puts(b, ",\"model\":");
  buf_json_cstr(b, m ? m->model : NULL);
  tb_puts(b, ",\"provider\":");
  buf_json_cstr(b, m ? provider_name(m->provider) : NULL);
  tb_put(b, "}", 1);
}

/* Append the parameters that are set, in sorted key order. */
static void add_params(TextBuf *b, const ImgParams *p) {
  bool first = true;
  tb_put(b, "{", 1);
#define SEP() (first ? (void)(first = false) : tb_put(b, ",", 1))
  if (p->set & PARAM_MAX_TOKENS) {
    SEP();
    tb_puts(b, "\"max_tokens\":");
    buf_json_int(b, p->max_tokens);
  }
  if (p->set & PARAM_SEED) {
    SEP();
    tb_puts(b, "\"seed\":");
    buf_json_int(b, p->seed);
  }
  if (p->set & PARAM_STOP) {
    SEP();
    tb_puts(b, "\"stop\":[");
    for (uint32_t i = 0; i < p->nstop; i++) {
      if (i) tb_put(b, ",", 1);
      buf_json_cstr(b, p->stop ? p->stop[i] : NULL);
    }
    tb_put(b, "]", 1);
  }
  if (p->set & PARAM_TEMPERATURE) {
    SEP();
    tb_puts(b, "\"temperature\":");
    buf_json_real(b, p->temperature);
  }
  if (p->set & PARAM_TOP_P) {
    SEP();
    tb_puts(b, "\"top_p\":");
    buf_json_real(b, p->top_p);
  }
#undef SEP
  tb_put(b, "}", 1);
}

/* Append one media part: {"bytes":n,"mime":..,"sha256":..}. */
static void add_media(TextBuf *b, const Media *m) {
  unsigned char digest[32];
  char hex[65];
  sha256_hash(m->data, m->len, digest);
  sha256_hex(digest, hex);
  tb_puts(b, "{\"bytes\":");
  buf_json_int(b, m->len);
  tb_puts(b, ",\"mime\":");
  if (m->mime)
    tb_json_string(b, m->mime->data, m->mime->len);
  else
    tb_puts(b, "null");
  tb_puts(b, ",\"sha256\":\"");
  tb_puts(b, hex);
  tb_puts(b, "\"}");
}

/* Append the messages: one object per message record, {role, text} or
 * {media, role}; a field that is none is left out. */
static void add_message(TextBuf *b, Value msg) {
  if (msg.tag != V_RECORD) {
    tb_puts(b, "null");
    return;
  }
  const Record *rec = value_as_record(msg);
  Value role = rec->nfields > 0 ? rec->fields[0] : value_none();
  Value text = rec->nfields > 1 ? rec->fields[1] : value_none();
  Value media = rec->nfields > 2 ? rec->fields[2] : value_none();
  tb_put(b, "{", 1);
  if (media.tag == V_MEDIA) {
    tb_puts(b, "\"media\":");
    add_media(b, value_as_media(media));
    tb_put(b, ",", 1);
  }
  tb_puts(b, "\"role\":");
  if (role.tag == V_STR)
    tb_json_string(b, value_as_str(role)->data, value_as_str(role)->len);
  else
    tb_puts(b, "null");
  if (text.tag == V_STR) {
    tb_puts(b, ",\"text\":");
    tb_json_string(b, value_as_str(text)->data, value_as_str(text)->len);
  }
  tb_put(b, "}", 1);
}

static void add_messages(TextBuf *b, Value messages) {
  tb_put(b, "[", 1);
  const List *l = messages.tag == V_LIST ? value_as_list(messages) : NULL;
  for (uint32_t i = 0; l && i < l->len; i++) {
    if (i) tb_put(b, ",", 1);
    add_message(b, l->items[i]);
  }
  tb_put(b, "]", 1);
}

/* Append the SHA-256 of `text[0..n)` as a JSON string of 64 hex digits. */
static void add_hash(TextBuf *b, const char *text, size_t n) {
  unsigned char digest[32];
  char hex[65];
  sha256_hash(text, n, digest);
  sha256_hex(digest, hex);
  buf_json_cstr(b, hex);
}

/* [{"role":R,"sha256":H}...]: each message by role and the hash of its canonical form. */
static void add_message_hashes(TextBuf *b, Value messages) {
  tb_put(b, "[", 1);
  const List *l = messages.tag == V_LIST ? value_as_list(messages) : NULL;
  TextBuf one = {0};
  for (uint32_t i = 0; l && i < l->len; i++) {
    Value msg = l->items[i];
    const Record *rec = msg.tag == V_RECORD ? value_as_record(msg) : NULL;
    Value role = rec && rec->nfields > 0 ? rec->fields[0] : value_none();
    one.len = 0;
    add_message(&one, msg);
    tb_puts(b, i ? ",{\"role\":" : "{\"role\":");
    if (role.tag == V_STR) tb_json_string(b, value_as_str(role)->data, value_as_str(role)->len);
    else tb_puts(b, "null");
    tb_puts(b, ",\"sha256\":");
    add_hash(b, one.data, one.len);
    tb_put(b, "}", 1);
  }
  free(one.data);
  tb_put(b, "]", 1);
}

/* ---- fast canonical JSON ----------------------------------------------------------------------
 *
 * Parsing a schema with jansson costs several microseconds (a hash table per
 * object), more than the rest of a mocked call. So schemas go through a
 * small scanner that emits the canonical form directly: it re-sorts object
 * members by key, re-encodes strings and re-formats numbers exactly as
 * buf_json_value would. Whenever it meets something it does not handle the
 * same way as jansson (an escaped key, a duplicate key, a number it cannot
 * read, invalid JSON), it gives up and the jansson path decides. */

/* A position in JSON text. */
typedef struct Scan {
  const char *s;
  size_t n, pos;
} Scan;

/* An object member: the raw key bytes and where its value starts. */
typedef struct Member {
  size_t key, klen, val;
} Member;

/* Nesting deeper than this is left to jansson. */
#define SCAN_MAX_DEPTH 200

/* Skip JSON whitespace. */
static void scan_ws(Scan *sc) {
  while (sc->pos < sc->n) {
    char c = sc->s[sc->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    sc->pos++;
  }
}

/* The value of the four hex digits at `p`, or -1. */
static long scan_hex4(const char *p) {
  long v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/* Append code point `cp` as UTF-8. */
static void buf_utf8(TextBuf *b, uint32_t cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (char)cp, n = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
    u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
  } else {
    u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
  }
  tb_put(b, u, n);
}

/* Scan the string at the current position (a '"'). Its raw bytes (between
 * the quotes) go to [*start], [*len]; [*escaped] tells whether it holds an
 * escape. When [out] is not NULL the decoded string is appended to it in
 * canonical form. False on anything invalid. */
static bool scan_string(Scan *sc, TextBuf *out, size_t *start, size_t *len, bool *escaped) {
  const unsigned char *s = (const unsigned char *)sc->s;
  size_t i = ++sc->pos;
  *start = i;
  *escaped = false;
  for (;;) {
    if (i >= sc->n || s[i] < 0x20) return false;
    if (s[i] == '"') break;
    if (s[i] == '\\') {
      *escaped = true;
      i += 2;
    } else if (s[i] < 0x80) {
      i++;
    } else {
      size_t k = utf8_seq_len(s + i, sc->n - i);
      if (!k) return false;
      i += k;
    }
  }
  *len = i - *start;
  sc->pos = i + 1;
  if (!*escaped) {
    if (out) tb_json_string(out, sc->s + *start, *len);
    return true;
  }
  /* Decode the escapes (needed to validate them even when not emitting). */
  TextBuf dec = {0};
  bool ok = true;
  for (size_t k = *start; ok && k < i;) {
    if (s[k] != '\\') {
      tb_put(&dec, sc->s + k, 1);
      k++;
      continue;
    }
    char e = sc->s[k + 1];
    const char *simple = strchr("\"\\/bfnrt", e);
    if (e && simple) {
      static const char DECODED[] = "\"\\/\b\f\n\r\t";
      tb_put(&dec, &DECODED[simple - "\"\\/bfnrt"], 1);
      k += 2;
    } else if (e == 'u' && k + 6 <= i) {
      long cp = scan_hex4(sc->s + k + 2);
      k += 6;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = k + 6 <= i && s[k] == '\\' && s[k + 1] == 'u' ? scan_hex4(sc->s + k + 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF) {
          ok = false;
          break;
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        k += 6;
      } else if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) {
        ok = false;
        break;
      }
      buf_utf8(&dec, (uint32_t)cp);
    } else {
      ok = false;
    }
  }
  if (ok && out) tb_json_string(out, dec.data ? dec.data : "", dec.len);
  free(dec.data);
  return ok;
}

/* Scan a number and append it canonically: integers through strtoll (as
 * jansson reads them), reals through strtod. */
static bool scan_number(Scan *sc, TextBuf *out) {
  const char *s = sc->s;
  size_t i = sc->pos, n = sc->n;
  bool real = false;
  if (i < n && s[i] == '-') i++;
  if (i < n && s[i] == '0') {
    i++;
  } else if (i < n && s[i] >= '1' && s[i] <= '9') {
    while (i < n && s[i] >= '0' && s[i] <= '9')
      i++;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    real = true;
    size_t d = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
      i++;
    if (i == d) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    real = true;
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t d = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
      i++;
    if (i == d) return false;
  }
  char num[64];
  size_t len = i - sc->pos;
  if (len >= sizeof num) return false;
  memcpy(num, s + sc->pos, len);
  num[len] = '\0';
  sc->pos = i;
  errno = 0;
  if (real) {
    double d = strtod(num, NULL);
    if (!isfinite(d)) return false;
    if (out) buf_json_real(out, d);
  } else {
    long long v = strtoll(num, NULL, 10);
    if (errno == ERANGE) return false;
    if (out) buf_json_int(out, (int64_t)v);
  }
  return true;
}

/* Order of two object members by raw key bytes (keys have no escapes, so
 * this is the order of the decoded keys too). */
static int cmp_member(const Scan *sc, const Member *a, const Member *b) {
  size_t n = a->klen < b->klen ? a->klen : b->klen;
  int c = memcmp(sc->s + a->key, sc->s + b->key, n);
  return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

/* Sort members by key: insertion sort, objects in schemas are small. */
static void sort_members(const Scan *sc, Member *m, size_t n) {
  for (size_t i = 1; i < n; i++) {
    Member x = m[i];
    size_t j = i;
    while (j > 0 && cmp_member(sc, &m[j - 1], &x) > 0) {
      m[j] = m[j - 1];
      j--;
    }
    m[j] = x;
  }
}

static bool scan_value(Scan *sc, TextBuf *out, int depth);

/* Scan an object (at its '{'), appending it with sorted members. */
static bool scan_object(Scan *sc, TextBuf *out, int depth) {
  Member local[16], *m = local;
  size_t n = 0, cap = 16;
  bool ok = false;
  sc->pos++;
  scan_ws(sc);
  if (sc->pos < sc->n && sc->s[sc->pos] == '}') {
    sc->pos++;
    ok = true;
  }
  while (!ok) {
    if (sc->pos >= sc->n || sc->s[sc->pos] != '"') goto done;
    size_t kstart, klen;
    bool escaped;
    if (!scan_string(sc, NULL, &kstart, &klen, &escaped) || escaped) goto done;
    scan_ws(sc);
    if (sc->pos >= sc->n || sc->s[sc->pos] != ':') goto done;
    sc->pos++;
    scan_ws(sc);
    size_t val = sc->pos;
    if (!scan_value(sc, NULL, depth + 1)) goto done;
    if (n == cap) {
      cap *= 2;
      Member *grown = malloc(cap * sizeof *grown);
      if (!grown) goto done;
      memcpy(grown, m, n * sizeof *m);
      if (m != local) free(m);
      m = grown;
    }
    m[n++] = (Member){kstart, klen, val};
    scan_ws(sc);
    if (sc->pos < sc->n && sc->s[sc->pos] == ',') {
      sc->pos++;
      scan_ws(sc);
    } else if (sc->pos < sc->n && sc->s[sc->pos] == '}') {
      sc->pos++;
      ok = true;
    } else {
      goto done;
    }
  }
  sort_members(sc, m, n);
  for (size_t i = 1; i < n; i++)
    if (cmp_member(sc, &m[i - 1], &m[i]) == 0) ok = false; /* duplicates: jansson keeps the last */
  if (ok && out) {
    tb_put(out, "{", 1);
    for (size_t i = 0; i < n && ok; i++) {
      if (i) tb_put(out, ",", 1);
      tb_json_string(out, sc->s + m[i].key, m[i].klen);
      tb_put(out, ":", 1);
      Scan sub = {sc->s, sc->n, m[i].val};
      ok = scan_value(&sub, out, depth + 1);
    }
    tb_put(out, "}", 1);
  }
done:
  if (m != local) free(m);
  return ok;
}

/* Scan an array (at its '['), appending it. */
static bool scan_array(Scan *sc, TextBuf *out, int depth) {
  sc->pos++;
  scan_ws(sc);
  if (out) tb_put(out, "[", 1);
  if (sc->pos < sc->n && sc->s[sc->pos] == ']') {
    sc->pos++;
    if (out) tb_put(out, "]", 1);
    return true;
  }
  for (bool first = true;; first = false) {
    if (!first && out) tb_put(out, ",", 1);
    if (!scan_value(sc, out, depth + 1)) return false;
    scan_ws(sc);
    if (sc->pos < sc->n && sc->s[sc->pos] == ',') {
      sc->pos++;
      scan_ws(sc);
    } else if (sc->pos < sc->n && sc->s[sc->pos] == ']') {
      sc->pos++;
      if (out) tb_put(out, "]", 1);
      return true;
    } else {
      return false;
    }
  }
}

/* Scan one value at the current position (no leading whitespace) and append
 * it canonically to [out] (when not NULL). */
static bool scan_value(Scan *sc, TextBuf *out, int depth) {
  if (depth > SCAN_MAX_DEPTH || sc->pos >= sc->n) return false;
  const char *p = sc->s + sc->pos;
  size_t left = sc->n - sc->pos;
  switch (*p) {
  case '{': return scan_object(sc, out, depth);
  case '[': return scan_array(sc, out, depth);
  case '"': {
    size_t start, len;
    bool escaped;
    return scan_string(sc, out, &start, &len, &escaped);
  }
  case 't':
  case 'f':
  case 'n': {
    const char *word = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
    size_t wl = strlen(word);
    if (left < wl || memcmp(p, word, wl) != 0) return false;
    sc->pos += wl;
    if (out) tb_put(out, word, wl);
    return true;
  }
  default: return scan_number(sc, out);
  }
}

/* Append the parsed schema, canonically; a schema that is not valid JSON (it
 * comes from the compiler, so it should not happen) is kept as a string so
 * the key still depends on it. */
static void add_schema(TextBuf *b, const char *schema) {
  if (!schema) {
    tb_puts(b, "null");
    return;
  }
  size_t mark = b->len;
  Scan sc = {schema, strlen(schema), 0};
  scan_ws(&sc);
  if (scan_value(&sc, b, 0)) {
    scan_ws(&sc);
    if (sc.pos == sc.n) return;
  }
  b->len = mark; /* the fast path gave up: let jansson decide */
  if (b->data) b->data[mark] = '\0';
  json_error_t jerr;
  json_t *j = json_loads(schema, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  if (!j) {
    buf_json_cstr(b, schema);
    return;
  }
  buf_json_value(b, j);
  json_decref(j);
}

/* ,"contexts":{name:hex,...}: the content hash of each context the prompt's
 * template reads, by name (sorted), so an edited source changes the key of
 * every call that uses it even where the text it contributes is cut. */
static void add_contexts(TextBuf *b, const Request *r) {
  if (!r->ncontexts || !r->context_hash || !r->img) return;
  const char **names = xmalloc(r->ncontexts * sizeof *names);
  uint32_t *order = xmalloc(r->ncontexts * sizeof *order);
  uint32_t n = 0;
  for (uint32_t i = 0; i < r->ncontexts; i++) {
    if (r->contexts[i] >= r->img->ncontexts) continue;
    names[n] = r->img->contexts[r->contexts[i]].name;
    order[n++] = r->contexts[i];
  }
  for (uint32_t i = 1; i < n; i++) /* insertion sort by name: a template reads a few contexts */
    for (uint32_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
      const char *tn = names[j];
      names[j] = names[j - 1];
      names[j - 1] = tn;
      uint32_t to = order[j];
      order[j] = order[j - 1];
      order[j - 1] = to;
    }
  tb_puts(b, ",\"contexts\":{");
  for (uint32_t i = 0; i < n; i++) {
    char hex[65];
    sha256_hex(r->context_hash[order[i]], hex);
    if (i) tb_putc(b, ',');
    buf_json_cstr(b, names[i]);
    tb_putc(b, ':');
    buf_json_cstr(b, hex);
  }
  tb_putc(b, '}');
  free(names);
  free(order);
}

/* The canonical JSON of `r`; with `hashed`, its messages and schema are
 * replaced by their SHA-256 (request_parts). */
static char *canonical(const Request *r, bool hashed) {
  TextBuf b = {0};
  const Image *img = r->img;
  bool judge = r->prompt < 0;
  tb_puts(&b, "{\"binding\":");
  add_binding(&b, r);
  add_contexts(&b, r);
  tb_puts(&b, ",\"kind\":");
  tb_puts(&b, judge ? "\"judge\"" : "\"prompt\"");
  tb_puts(&b, ",\"messages\":");
  if (hashed) add_message_hashes(&b, r->messages);
  else add_messages(&b, r->messages);
  tb_puts(&b, ",\"params\":");
  add_params(&b, &r->params);
  tb_puts(&b, ",\"prompt\":");
  if (!judge && img && (uint32_t)r->prompt < img->nprompts)
    buf_json_cstr(&b, img->prompts[r->prompt].name);
  else
    tb_puts(&b, "null");
  tb_puts(&b, ",\"schema\":");
  if (hashed && r->schema) {
    TextBuf sb = {0};
    add_schema(&sb, r->schema);
    add_hash(&b, sb.data, sb.len);
    free(sb.data);
  } else {
    add_schema(&b, r->schema);
  }
  tb_puts(&b, ",\"v\":");
  buf_json_int(&b, REQUEST_FORMAT_VERSION);
  tb_put(&b, "}", 1);
  return b.data;
}

char *request_canonical(const Request *r) { return canonical(r, false); }

char *request_parts(const Request *r) { return canonical(r, true); }

void request_key(const Request *r, char key[65]) {
  char *text = request_canonical(r);
  unsigned char digest[32];
  sha256_hash(text, strlen(text), digest);
  sha256_hex(digest, key);
  free(text);
}
