/* utf8.c - UTF-8 decoding and encoding, code point counting and the
 * simple case mapping and white-space test the text built-ins share (see
 * utf8.h). */
#include "utf8.h"

#include "arena.h"

/* Decode the code point at p[0..n) (n >= 1); *adv gets its length. Invalid
 * bytes decode as U+FFFD one at a time. */
uint32_t utf8_decode(const unsigned char *p, size_t n, size_t *adv) {
  unsigned char c = p[0];
  if (c < 0x80) {
    *adv = 1;
    return c;
  }
  if (c >= 0xc2 && c <= 0xdf && n >= 2 && (p[1] & 0xc0) == 0x80) {
    *adv = 2;
    return ((uint32_t)(c & 0x1f) << 6) | (p[1] & 0x3f);
  }
  if (c >= 0xe0 && c <= 0xef && n >= 3 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
    uint32_t cp = ((uint32_t)(c & 0x0f) << 12) | ((uint32_t)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
    if (cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff)) {
      *adv = 3;
      return cp;
    }
  }
  if (c >= 0xf0 && c <= 0xf4 && n >= 4 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 &&
      (p[3] & 0xc0) == 0x80) {
    uint32_t cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(p[1] & 0x3f) << 12) |
                  ((uint32_t)(p[2] & 0x3f) << 6) | (p[3] & 0x3f);
    if (cp >= 0x10000 && cp <= 0x10ffff) {
      *adv = 4;
      return cp;
    }
  }
  *adv = 1;
  return 0xfffd;
}

size_t utf8_put_code_point(uint32_t cp, char *out) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  out[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* The number of code points in s[0..n): the bytes that do not continue a
 * sequence. */
size_t utf8_count(const char *s, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++) count += ((unsigned char)s[i] & 0xc0) != 0x80;
  return count;
}

/* The byte offset of code point `k` in s[0..n) (n when k is past the end). */
size_t utf8_offset(const char *s, size_t n, size_t k) {
  if (k == 0) return 0;
  size_t seen = 0;
  for (size_t i = 0; i < n; i++) {
    if (((unsigned char)s[i] & 0xc0) != 0x80) {
      if (seen == k) return i;
      seen++;
    }
  }
  return n;
}

/* Unicode White_Space (and the byte-order mark). */
bool utf8_is_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
         c == 0x3000 || c == 0xfeff;
}

bool utf8_is_unspaced(uint32_t c) {
  return (c >= 0x3040 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) ||
         (c >= 0xf900 && c <= 0xfaff) || (c >= 0x20000 && c <= 0x2ffff);
}

/* Simple case mapping for ASCII, Latin-1, Latin Extended-A, Greek and
 * Cyrillic; other code points map to themselves. */
uint32_t utf8_lower(uint32_t c) {
  if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 32 : c;
  if (c >= 0xc0 && c <= 0xde && c != 0xd7) return c + 0x20;
  if (c >= 0x100 && c <= 0x17f) {
    if (c == 0x178) return 0xff;
    if ((c <= 0x12f || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177)) && c % 2 == 0) return c + 1;
    if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) && c % 2 == 1) return c + 1;
    return c;
  }
  if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) return c + 0x20;
  if (c == 0x386) return 0x3ac;
  if (c >= 0x388 && c <= 0x38a) return c + 0x25;
  if (c == 0x38c) return 0x3cc;
  if (c == 0x38e || c == 0x38f) return c + 0x3f;
  if (c >= 0x410 && c <= 0x42f) return c + 0x20;
  if (c >= 0x400 && c <= 0x40f) return c + 0x50;
  return c;
}

uint32_t utf8_upper(uint32_t c) {
  if (c < 0x80) return c >= 'a' && c <= 'z' ? c - 32 : c;
  if (c >= 0xe0 && c <= 0xfe && c != 0xf7) return c - 0x20;
  if (c == 0xff) return 0x178;
  if (c >= 0x100 && c <= 0x17f) {
    if ((c <= 0x12f || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177)) && c % 2 == 1) return c - 1;
    if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) && c % 2 == 0) return c - 1;
    return c;
  }
  if (c >= 0x3b1 && c <= 0x3c9) return c == 0x3c2 ? 0x3a3 : c - 0x20;
  if (c == 0x3ac) return 0x386;
  if (c >= 0x3ad && c <= 0x3af) return c - 0x25;
  if (c == 0x3cc) return 0x38c;
  if (c == 0x3cd || c == 0x3ce) return c - 0x3f;
  if (c >= 0x430 && c <= 0x44f) return c - 0x20;
  if (c >= 0x450 && c <= 0x45f) return c - 0x50;
  return c;
}

/* Decode s[0..n) into code points; returns a malloc'd array of *count. */
uint32_t *utf8_decode_all(const char *s, size_t n, size_t *count) {
  uint32_t *cp = xmalloc(sizeof(uint32_t) * (n ? n : 1));
  size_t k = 0, adv;
  for (size_t i = 0; i < n; i += adv) cp[k++] = utf8_decode((const unsigned char *)s + i, n - i, &adv);
  *count = k;
  return cp;
}
