/* textsim.h - word-level text similarity: token F1 and ROUGE-L, over one
 * tokenizer (docs/language.md §5.2).
 *
 * The tokenizer lower-cases (utf8_lower, with final sigma folded to σ) and
 * splits on every code point that is not a letter or a digit. ASCII letters
 * and digits are word characters; so is every other code point except
 * white space, invalid bytes, the Latin-1 signs U+0080-U+00BF (but ª µ º),
 * × and ÷, and the punctuation and symbol blocks: U+2000-U+206F,
 * U+20A0-U+20CF, U+2100-U+214F, U+2190-U+2BFF, U+2E00-U+2E7F,
 * U+3000-U+303F, U+FE30-U+FE6F, the fullwidth signs of U+FF00-U+FF65,
 * U+FFF0-U+FFFF and U+1F000-U+1FAFF (emoji). Han ideographs, hiragana and
 * katakana, written without spaces, are one token each. So "Don't stop!"
 * is the tokens don, t, stop.
 *
 * Both measures are symmetric and lie in 0..1: two texts without tokens
 * score 1.0, one without tokens against one with some 0.0. */
#ifndef FLOW_TEXTSIM_H
#define FLOW_TEXTSIM_H

#include <stdbool.h>
#include <stddef.h>

/* rouge_l compares at most this many pairs of tokens (see textsim_rouge_l). */
#define TEXTSIM_MAX_LCS_CELLS 100000000u

/* SQuAD-style token F1: with c the number of tokens the two texts share,
 * counted with multiplicity (the size of the multiset intersection),
 * precision c/|a|, recall c/|b| and F1 = 2PR/(P+R) = 2c/(|a|+|b|). Time
 * and memory linear in the texts. */
double textsim_token_f1(const char *a, size_t na, const char *b, size_t nb);

/* ROUGE-L F-measure with beta = 1: with l the length of the longest common
 * subsequence of the two token sequences, P = l/|a|, R = l/|b| and
 * F = 2PR/(P+R) = 2l/(|a|+|b|). The common leading and trailing tokens are
 * counted directly; the rest takes time proportional to the product of
 * their token counts and memory to the smaller. Returns false when that
 * product exceeds TEXTSIM_MAX_LCS_CELLS, with those two counts in *ka and
 * *kb. */
bool textsim_rouge_l(const char *a, size_t na, const char *b, size_t nb, double *out, size_t *ka, size_t *kb);

/* The number of tokens of s[0..n). */
size_t textsim_count(const char *s, size_t n);

#endif
