/* tokens.c - the token estimate shared by tokens(), chunk_tokens and the
 * checker's prompt-size warning (see tokens.h). */
#include "tokens.h"

size_t tokens_add_text(TokenEstimate *t, const char *s, size_t n) {
  size_t est = (t->cps + 3) / 4 > t->words ? (t->cps + 3) / 4 : t->words, adv;
  for (size_t i = 0; i < n; i += adv)
    est = tokens_add_cp(t, utf8_decode((const unsigned char *)s + i, n - i, &adv));
  return est;
}

size_t tokens_of(const char *s, size_t n) {
  TokenEstimate t = TOKENS_START;
  return tokens_add_text(&t, s, n);
}

uint64_t tokens_of_size(uint64_t bytes) { return bytes / 4 + (bytes % 4 != 0); }
