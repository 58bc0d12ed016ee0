/* textbuf.c - the growable text buffer, JSON string literals and UTF-8
 * validation shared by the runtime's writers (see textbuf.h). */
#include "textbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* Grow to at least 64 bytes, doubling until `n` more bytes and the NUL fit;
 * the text stays NUL-terminated. */
void tb_reserve(TextBuf *b, size_t n) {
  if (b->len + n + 1 <= b->cap) return;
  size_t cap = b->cap < 64 ? 64 : b->cap;
  while (cap < b->len + n + 1)
    cap *= 2;
  b->data = xrealloc(b->data, cap);
  b->cap = cap;
  b->data[b->len] = '\0';
}

/* Copy the bytes in after the text and move the NUL. */
void tb_put(TextBuf *b, const char *s, size_t n) {
  tb_reserve(b, n);
  if (n) memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

/* One byte, then the NUL. */
void tb_putc(TextBuf *b, char c) {
  tb_reserve(b, 1);
  b->data[b->len++] = c;
  b->data[b->len] = '\0';
}

/* The string up to its NUL. */
void tb_puts(TextBuf *b, const char *s) { tb_put(b, s, strlen(s)); }

/* Hand over the block (or a new empty string) and reset to {0}. */
char *tb_take(TextBuf *b) {
  char *s = b->data;
  if (!s) {
    s = xmalloc(1);
    s[0] = '\0';
  }
  b->data = NULL;
  b->len = b->cap = 0;
  return s;
}

/* Copy runs of bytes that need no escape in one go (printable ASCII other
 * than `"` and `\`, and valid UTF-8 sequences); escape the rest one byte at
 * a time. */
void tb_json_string(TextBuf *b, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  tb_reserve(b, n + 2);
  tb_putc(b, '"');
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    for (;;) {
      if (run >= n) break;
      unsigned char c = p[run];
      if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
        run++;
      } else if (c >= 0x80) {
        size_t len = utf8_seq_len(p + run, n - run);
        if (!len) break;
        run += len;
      } else {
        break;
      }
    }
    if (run > i) {
      tb_put(b, s + i, run - i);
      i = run;
      continue;
    }
    unsigned char c = p[i++];
    char esc[8];
    switch (c) {
    case '"': tb_puts(b, "\\\""); break;
    case '\\': tb_puts(b, "\\\\"); break;
    case '\n': tb_puts(b, "\\n"); break;
    case '\t': tb_puts(b, "\\t"); break;
    case '\r': tb_puts(b, "\\r"); break;
    case '\b': tb_puts(b, "\\b"); break;
    case '\f': tb_puts(b, "\\f"); break;
    default:
      if (c < 0x20) {
        snprintf(esc, sizeof esc, "\\u%04x", c);
        tb_puts(b, esc);
      } else {
        tb_puts(b, "\\ufffd"); /* a byte that is not valid UTF-8 */
      }
    }
  }
  tb_putc(b, '"');
}

/* Decode the lead byte's length and payload, check the continuation bytes,
 * then refuse overlong forms, surrogates and values above U+10FFFF. */
size_t utf8_seq_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  if (cp > 0x10FFFF) return 0;
  return len;
}
