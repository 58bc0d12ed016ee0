/* base64.c - standard base64 encoding with '=' padding (see base64.h). */
#include "arena.h"
#include "base64.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The 64 digits of the standard alphabet, in value order. */
static const char b64_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Four characters per started group of three bytes. */
size_t base64_encoded_len(size_t n) { return (n / 3 + (n % 3 != 0)) * 4; }

/* The cap test, plus a guard that the encoded length (and its NUL) cannot
 * overflow size_t whatever the cap. */
bool base64_within_cap(size_t n, size_t cap, size_t *encoded_len) {
  if (n > cap) return false;
  if (n / 3 + 1 > (SIZE_MAX - 1) / 4) return false;
  if (encoded_len) *encoded_len = base64_encoded_len(n);
  return true;
}

/* Whole groups first, then the one- or two-byte tail with padding. */
size_t base64_encode_into(char *dst, const void *data, size_t n) {
  const unsigned char *s = data;
  char *d = dst;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
    *d++ = b64_digits[v >> 18];
    *d++ = b64_digits[(v >> 12) & 63];
    *d++ = b64_digits[(v >> 6) & 63];
    *d++ = b64_digits[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)s[i] << 16;
    *d++ = b64_digits[v >> 18];
    *d++ = b64_digits[(v >> 12) & 63];
    *d++ = '=';
    *d++ = '=';
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
    *d++ = b64_digits[v >> 18];
    *d++ = b64_digits[(v >> 12) & 63];
    *d++ = b64_digits[(v >> 6) & 63];
    *d++ = '=';
  }
  *d = '\0';
  return (size_t)(d - dst);
}

/* Allocate exactly the text and its NUL, then encode into it. */
char *base64_encode(const void *data, size_t n, size_t *out_len) {
  char *dst = xmalloc(base64_encoded_len(n) + 1);
  size_t len = base64_encode_into(dst, data, n);
  if (out_len) *out_len = len;
  return dst;
}
