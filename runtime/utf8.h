/* utf8.h - UTF-8 and code points for the text built-ins.
 *
 * Text in flow is UTF-8; functions that count or cut text work in code
 * points. Bytes that are not valid UTF-8 are never rejected here: each one
 * decodes on its own as U+FFFD, so every byte string has a decoding and a
 * cut between two decoded code points never splits a valid sequence.
 *
 * The case mapping is simple (one code point to one) and covers ASCII,
 * Latin-1, Latin Extended-A, basic Greek and Cyrillic; other code points
 * map to themselves. Nothing here allocates except utf8_decode_all. */
#ifndef FLOW_UTF8_H
#define FLOW_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The code point at p[0..n) (n >= 1); *adv gets the number of bytes it
 * takes. An invalid byte decodes as U+FFFD with *adv = 1. */
uint32_t utf8_decode(const unsigned char *p, size_t n, size_t *adv);

/* Write code point `cp` (at most U+10FFFF) to out[0..4); returns its length. */
size_t utf8_put_code_point(uint32_t cp, char *out);

/* The number of code points in s[0..n): the bytes that do not continue a
 * sequence. */
size_t utf8_count(const char *s, size_t n);

/* The byte offset of code point `k` in s[0..n) (n when k is past the end). */
size_t utf8_offset(const char *s, size_t n, size_t k);

/* Whether `c` is Unicode White_Space (or the byte-order mark U+FEFF). */
bool utf8_is_space(uint32_t c);

/* Whether `c` belongs to a script written without spaces between words:
 * Han ideographs (U+3400-U+4DBF, U+4E00-U+9FFF, U+F900-U+FAFF,
 * U+20000-U+2FFFF), hiragana and katakana (U+3040-U+30FF). */
bool utf8_is_unspaced(uint32_t c);

/* The lower-case and upper-case forms of `c` (see above for the coverage). */
uint32_t utf8_lower(uint32_t c);
uint32_t utf8_upper(uint32_t c);

/* s[0..n) decoded: a malloc'd array of code points (at least one slot) and
 * their number in *count. */
uint32_t *utf8_decode_all(const char *s, size_t n, size_t *count);

#endif
