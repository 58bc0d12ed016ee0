/* textbuf.h - a growable NUL-terminated text buffer, JSON string literals
 * and UTF-8 validation, shared by the runtime's text and JSON writers
 * (builtins, json_value, mock, provider, request).
 *
 * A TextBuf starts zeroed ({0}); once anything was reserved or written its
 * text is NUL-terminated. Every function aborts when memory is exhausted,
 * like every allocation in the runtime. */
#ifndef FLOW_TEXTBUF_H
#define FLOW_TEXTBUF_H

#include <stddef.h>

/* A growing NUL-terminated byte buffer: `data` (malloc'd, NULL until the
 * first reservation) holds `len` bytes and a NUL in `cap` bytes. */
typedef struct TextBuf {
  char *data;
  size_t len, cap;
} TextBuf;

/* Make room for `n` more bytes plus the NUL. */
void tb_reserve(TextBuf *b, size_t n);

/* Append `n` bytes of `s` (`s` may be NULL when `n` is 0). */
void tb_put(TextBuf *b, const char *s, size_t n);

/* Append the byte `c`. */
void tb_putc(TextBuf *b, char c);

/* Append the NUL-terminated `s`. */
void tb_puts(TextBuf *b, const char *s);

/* The buffer's text, malloc'd (the caller frees it; "" when nothing was
 * written); the buffer is left empty. */
char *tb_take(TextBuf *b);

/* Append `s` (`n` bytes) as a JSON string literal. `"` and `\` are escaped,
 * control characters use \n \t \r \b \f or \u00XX, valid UTF-8 is kept as
 * is and a byte that is not valid UTF-8 becomes \ufffd, so the output is
 * always valid JSON. */
void tb_json_string(TextBuf *b, const char *s, size_t n);

/* The length of the valid UTF-8 sequence at `s` (`n` >= 1 bytes available),
 * or 0 when the bytes there are not valid UTF-8 (overlong forms, surrogates
 * and code points above U+10FFFF are invalid). */
size_t utf8_seq_len(const unsigned char *s, size_t n);

#endif
