/* tokens.h - the token estimate of flow (docs/language.md §5.3), shared by
 * the tokens() and chunk_tokens built-ins and by `flowc check`'s prompt-size
 * warning (W0315), so the checker and the runtime count text alike.
 *
 * The estimate of a text is one token per four code points, rounded up, but
 * never fewer than its white-space separated words. It never drops when
 * text is added and grows by at most one per code point. Bytes that are not
 * UTF-8 count one code point each (utf8_decode). */
#ifndef FLOW_TOKENS_H
#define FLOW_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utf8.h"

/* The running estimate: code points and words seen so far. Start from
 * TOKENS_START; a text read backwards gets the same count. */
typedef struct TokenEstimate {
  size_t cps, words;
  bool in_word;
} TokenEstimate;

#define TOKENS_START ((TokenEstimate){0, 0, false})

/* Add code point `cp` to `t`; returns the estimate so far. Inline: chunk_tokens
 * calls it once per code point. */
static inline size_t tokens_add_cp(TokenEstimate *t, uint32_t cp) {
  bool space = utf8_is_space(cp);
  t->cps++;
  if (!space && !t->in_word) t->words++;
  t->in_word = !space;
  size_t est = (t->cps + 3) / 4;
  return est > t->words ? est : t->words;
}

/* Add the UTF-8 text s[0..n) to `t`; returns the estimate so far (that of
 * `t` unchanged when n is 0). */
size_t tokens_add_text(TokenEstimate *t, const char *s, size_t n);

/* tokens(s) of s[0..n). */
size_t tokens_of(const char *s, size_t n);

/* The estimate for a text of `bytes` bytes that is not read: one token per
 * four bytes, rounded up. For ASCII text this is the code-point part of the
 * estimate exactly; for other UTF-8 text, which has fewer code points than
 * bytes, it is more. */
uint64_t tokens_of_size(uint64_t bytes);

#endif
