/* json_read.c - a strict, single-pass JSON reader that builds jansson values
 * (see json_read.h). Recursive descent over the bytes; strings are checked
 * for UTF-8 and unescaped in one pass into a reusable buffer. */
#include "json_read.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textbuf.h"

typedef struct Reader {
  const unsigned char *s;
  size_t n, i;
  int depth, max_depth;
  unsigned flags;    /* JSON_READ_* */
  TextBuf buf;       /* the current string, unescaped */
  JsonReadError *err;
} Reader;

static json_t *read_value(Reader *r);

/* Record an error at the current position; returns NULL. */
static json_t *fail(Reader *r, const char *fmt, ...) {
  if (!r->err || r->err->text[0]) return NULL;
  r->err->position = r->i;
  r->err->truncated = r->i >= r->n;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err->text, sizeof r->err->text, fmt, ap);
  va_end(ap);
  return NULL;
}

/* What is at the current position, for "found ..." in messages. */
static const char *found(Reader *r, char *buf, size_t len) {
  if (r->i >= r->n) return "the end of the text";
  unsigned char c = r->s[r->i];
  if (c >= 0x20 && c < 0x7f) snprintf(buf, len, "'%c'", c);
  else snprintf(buf, len, "byte 0x%02x", c);
  return buf;
}

static json_t *expected(Reader *r, const char *what) {
  char b[32];
  return fail(r, "expected %s, found %s", what, found(r, b, sizeof b));
}

static void skip_space(Reader *r) {
  while (r->i < r->n) {
    unsigned char c = r->s[r->i];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    r->i++;
  }
}

static int hex_digit(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Four hex digits at the current position, or -1 (with the position moved
 * to the end of the text when the text ends inside them). */
static long hex4(Reader *r) {
  long v = 0;
  for (size_t k = 0; k < 4; k++) {
    if (r->i + k >= r->n) {
      r->i = r->n;
      return -1;
    }
    int d = hex_digit(r->s[r->i + k]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  r->i += 4;
  return v;
}

static void put_utf8(TextBuf *b, long cp) {
  char u[4];
  size_t len;
  if (cp < 0x80) {
    u[0] = (char)cp;
    len = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xc0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3f));
    len = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xe0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    u[2] = (char)(0x80 | (cp & 0x3f));
    len = 3;
  } else {
    u[0] = (char)(0xf0 | (cp >> 18));
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    u[3] = (char)(0x80 | (cp & 0x3f));
    len = 4;
  }
  tb_put(b, u, len);
}

/* The length of the well-formed UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  size_t len;
  uint32_t cp;
  if (c < 0xc2 || c > 0xf4) return 0;
  if (c < 0xe0) len = 2, cp = c & 0x1f;
  else if (c < 0xf0) len = 3, cp = c & 0x0f;
  else len = 4, cp = c & 0x07;
  if (n < len) return 0;
  for (size_t k = 1; k < len; k++) {
    if ((s[k] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[k] & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

/* Is s[0..n) the start of a UTF-8 sequence that the end of the text cut? */
static bool utf8_cut(const unsigned char *s, size_t n) {
  size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
  if (s[0] < 0xc2 || s[0] > 0xf4 || n >= len) return false;
  for (size_t k = 1; k < n; k++)
    if ((s[k] & 0xc0) != 0x80) return false;
  return true;
}

/* A string at the current position (after its opening quote) into r->buf. */
static bool read_string(Reader *r) {
  r->buf.len = 0;
  for (;;) {
    size_t start = r->i;
    while (r->i < r->n) {
      unsigned char c = r->s[r->i];
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
      r->i++;
    }
    tb_put(&r->buf, (const char *)r->s + start, r->i - start);
    if (r->i >= r->n) return fail(r, "expected the end of a string ('\"'), found the end of the text"), false;
    unsigned char c = r->s[r->i];
    if (c == '"') {
      r->i++;
      return true;
    }
    if (c < 0x20) return expected(r, "a character of a string (control characters must be escaped)"), false;
    if (c >= 0x80) {
      size_t len = utf8_len(r->s + r->i, r->n - r->i);
      if (!len && utf8_cut(r->s + r->i, r->n - r->i)) {
        r->i = r->n;
        return fail(r, "expected the rest of a UTF-8 character, found the end of the text"), false;
      }
      if (!len) return fail(r, "expected UTF-8 text in a string, found an invalid byte 0x%02x", c), false;
      tb_put(&r->buf, (const char *)r->s + r->i, len);
      r->i += len;
      continue;
    }
    r->i++; /* the backslash */
    if (r->i >= r->n) return fail(r, "expected an escape after '\\', found the end of the text"), false;
    c = r->s[r->i++];
    switch (c) {
    case '"': case '\\': case '/': tb_putc(&r->buf, (char)c); break;
    case 'b': tb_putc(&r->buf, '\b'); break;
    case 'f': tb_putc(&r->buf, '\f'); break;
    case 'n': tb_putc(&r->buf, '\n'); break;
    case 'r': tb_putc(&r->buf, '\r'); break;
    case 't': tb_putc(&r->buf, '\t'); break;
    case 'u': {
      long cp = hex4(r);
      if (cp < 0) return expected(r, "four hex digits after \\u"), false;
      if (cp >= 0xdc00 && cp <= 0xdfff) return fail(r, "expected a Unicode escape, found a lone low surrogate"), false;
      if (cp >= 0xd800 && cp <= 0xdbff) {
        long lo = -1;
        if (r->n - r->i < 2 && (r->i == r->n || r->s[r->i] == '\\')) {
          r->i = r->n; /* the text ends where the low surrogate should be */
          return fail(r, "expected a low surrogate escape after a high surrogate, found the end of the text"), false;
        }
        if (r->s[r->i] == '\\' && r->s[r->i + 1] == 'u') {
          r->i += 2;
          lo = hex4(r);
        }
        if (lo < 0xdc00 || lo > 0xdfff)
          return fail(r, "expected a low surrogate escape after a high surrogate"), false;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      }
      put_utf8(&r->buf, cp);
      break;
    }
    default:
      r->i--;
      return expected(r, "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"), false;
    }
  }
}

static json_t *read_number(Reader *r) {
  size_t start = r->i;
  bool real = false;
  if (r->s[r->i] == '-') r->i++;
  if (r->i >= r->n) return expected(r, "a digit");
  if (r->s[r->i] == '0') {
    r->i++;
  } else if (r->s[r->i] >= '1' && r->s[r->i] <= '9') {
    while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') r->i++;
  } else {
    return expected(r, "a digit");
  }
  if (r->i < r->n && r->s[r->i] == '.') {
    real = true;
    r->i++;
    if (r->i >= r->n || r->s[r->i] < '0' || r->s[r->i] > '9') return expected(r, "a digit after '.'");
    while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') r->i++;
  }
  if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
    real = true;
    r->i++;
    if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-')) r->i++;
    if (r->i >= r->n || r->s[r->i] < '0' || r->s[r->i] > '9') return expected(r, "a digit in the exponent");
    while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') r->i++;
  }
  char tmp[64], *text = tmp;
  size_t len = r->i - start;
  if (len >= sizeof tmp) text = malloc(len + 1);
  if (!text) return fail(r, "out of memory");
  memcpy(text, r->s + start, len);
  text[len] = '\0';
  json_t *v = NULL;
  errno = 0;
  if (!real) {
    long long x = strtoll(text, NULL, 10);
    if (errno == ERANGE && (r->flags & JSON_READ_BIG_INTEGERS)) {
      errno = 0;
      real = true; /* read below as a double */
    } else if (errno == ERANGE) {
      r->i = start;
      fail(r, "expected an integer that fits 64 bits, found %s", text[0] == '-' ? "a too big negative integer"
                                                                                 : "a too big integer");
    } else {
      v = json_integer((json_int_t)x);
    }
  }
  if (real) {
    double x = strtod(text, NULL);
    if (errno == ERANGE && (x > 1.0 || x < -1.0)) {
      r->i = start;
      fail(r, "expected a number that fits a double, found one that overflows");
    } else {
      v = json_real(x);
    }
  }
  if (text != tmp) free(text);
  return v;
}

static json_t *read_word(Reader *r, const char *word, json_t *value) {
  size_t len = strlen(word);
  if (r->n - r->i < len || memcmp(r->s + r->i, word, len) != 0) {
    /* a prefix of the word at the end of the text is a truncation */
    if (r->n - r->i < len && memcmp(r->s + r->i, word, r->n - r->i) == 0) {
      r->i = r->n;
      return fail(r, "expected `%s`, found the end of the text", word);
    }
    return expected(r, "a JSON value");
  }
  r->i += len;
  return value;
}

static json_t *read_array(Reader *r) {
  json_t *a = json_array();
  if (!a) return fail(r, "out of memory");
  skip_space(r);
  if (r->i < r->n && r->s[r->i] == ']') {
    r->i++;
    return a;
  }
  for (;;) {
    json_t *v = read_value(r);
    if (!v || json_array_append_new(a, v) != 0) break;
    skip_space(r);
    if (r->i < r->n && r->s[r->i] == ',') {
      r->i++;
      continue;
    }
    if (r->i < r->n && r->s[r->i] == ']') {
      r->i++;
      return a;
    }
    expected(r, "',' or ']' in an array");
    break;
  }
  json_decref(a);
  return NULL;
}

static json_t *read_object(Reader *r) {
  json_t *o = json_object();
  if (!o) return fail(r, "out of memory");
  skip_space(r);
  if (r->i < r->n && r->s[r->i] == '}') {
    r->i++;
    return o;
  }
  for (;;) {
    skip_space(r);
    if (r->i >= r->n || r->s[r->i] != '"') {
      expected(r, "a string key in an object");
      break;
    }
    r->i++;
    if (!read_string(r)) break;
    size_t klen = r->buf.len;
    if (klen && memchr(r->buf.data, '\0', klen)) {
      fail(r, "expected an object key without NUL characters, found one with \\u0000");
      break;
    }
    /* the key outlives r->buf, which the value's strings reuse */
    char small[64], *key = klen < sizeof small ? small : malloc(klen + 1);
    if (!key) {
      fail(r, "out of memory");
      break;
    }
    if (klen) memcpy(key, r->buf.data, klen);
    key[klen] = '\0';
    skip_space(r);
    if (r->i >= r->n || r->s[r->i] != ':') {
      if (key != small) free(key);
      expected(r, "':' after an object key");
      break;
    }
    r->i++;
    json_t *v = read_value(r);
    bool ok = v && json_object_setn_new_nocheck(o, key, klen, v) == 0;
    if (key != small) free(key);
    if (!ok) break;
    skip_space(r);
    if (r->i < r->n && r->s[r->i] == ',') {
      r->i++;
      continue;
    }
    if (r->i < r->n && r->s[r->i] == '}') {
      r->i++;
      return o;
    }
    expected(r, "',' or '}' in an object");
    break;
  }
  json_decref(o);
  return NULL;
}

static json_t *read_value(Reader *r) {
  skip_space(r);
  if (r->i >= r->n) return expected(r, "a JSON value");
  switch (r->s[r->i]) {
  case '{':
  case '[': {
    if (r->depth >= r->max_depth)
      return fail(r, "expected JSON nested at most %d levels, found it nested deeper than %d levels", r->max_depth,
                  r->max_depth);
    bool obj = r->s[r->i++] == '{';
    r->depth++;
    json_t *v = obj ? read_object(r) : read_array(r);
    r->depth--;
    return v;
  }
  case '"': {
    r->i++;
    if (!read_string(r)) return NULL;
    json_t *v = json_stringn_nocheck(r->buf.data ? r->buf.data : "", r->buf.len);
    return v ? v : fail(r, "out of memory");
  }
  case 't': return read_word(r, "true", json_true());
  case 'f': return read_word(r, "false", json_false());
  case 'n': return read_word(r, "null", json_null());
  default:
    if (r->s[r->i] == '-' || (r->s[r->i] >= '0' && r->s[r->i] <= '9')) return read_number(r);
    return expected(r, "a JSON value");
  }
}

json_t *json_read(const char *s, size_t n, int max_depth, JsonReadError *err) {
  return json_read_opts(s, n, max_depth, 0, err);
}

json_t *json_read_opts(const char *s, size_t n, int max_depth, unsigned flags, JsonReadError *err) {
  if (err) memset(err, 0, sizeof *err);
  Reader r = {.s = (const unsigned char *)s, .n = s ? n : 0, .max_depth = max_depth, .flags = flags, .err = err};
  json_t *v = read_value(&r);
  if (v) {
    skip_space(&r);
    if (r.i < r.n) {
      expected(&r, "the end of the text after the JSON value");
      json_decref(v);
      v = NULL;
    }
  }
  free(r.buf.data);
  return v;
}
