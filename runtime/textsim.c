/* textsim.c - token F1 and ROUGE-L (see textsim.h). Both texts are
 * tokenized into one buffer and each distinct token gets a small integer id
 * (an open-addressing table), so the measures compare integers. */
#include "textsim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "textbuf.h"
#include "utf8.h"

/* ---- the tokenizer ------------------------------------------------------------------------------- */

/* How a code point takes part in tokens. */
typedef enum CpClass { CP_SEP, CP_WORD, CP_SINGLE } CpClass;

/* Non-ASCII ranges of punctuation and symbols, which separate words. */
static const uint32_t SEPARATORS[][2] = {
    {0x80, 0xa9},       {0xab, 0xb4},       {0xb6, 0xb9},     {0xbb, 0xbf},     {0xd7, 0xd7},
    {0xf7, 0xf7},       {0x2000, 0x206f},   {0x20a0, 0x20cf}, {0x2100, 0x214f}, {0x2190, 0x2bff},
    {0x2e00, 0x2e7f},   {0x3000, 0x303f},   {0xfe30, 0xfe6f}, {0xff00, 0xff0f}, {0xff1a, 0xff20},
    {0xff3b, 0xff40},   {0xff5b, 0xff65},   {0xfff0, 0xffff}, {0x1f000, 0x1faff},
};

/* How code point `c` takes part in tokens (see textsim.h). */
static CpClass cp_class(uint32_t c) {
  if (c < 0x80)
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ? CP_WORD : CP_SEP;
  if (utf8_is_space(c)) return CP_SEP;
  for (size_t i = 0; i < sizeof SEPARATORS / sizeof SEPARATORS[0]; i++)
    if (c >= SEPARATORS[i][0] && c <= SEPARATORS[i][1]) return CP_SEP;
  if (utf8_is_unspaced(c)) return CP_SINGLE;
  return CP_WORD;
}

/* The tokens of texts: their lower-cased bytes one after the other, where
 * each starts, and their ids once interned. */
typedef struct Tokens {
  TextBuf text;
  size_t *start;   /* n + 1 entries: token i is text[start[i] .. start[i+1]) */
  uint32_t *id;
  size_t n, cap;
} Tokens;

/* Start a token at the current end of the text. */
static void tokens_mark(Tokens *t) {
  if (t->n + 2 > t->cap) {
    t->cap = t->cap ? t->cap * 2 : 64;
    t->start = xrealloc(t->start, t->cap * sizeof *t->start);
  }
  t->start[t->n++] = t->text.len;
}

/* Append the tokens of s[0..n) to t. */
static void tokenize(Tokens *t, const char *s, size_t n) {
  bool in_word = false;
  size_t adv;
  tb_reserve(&t->text, n);
  for (size_t i = 0; i < n; i += adv) {
    uint32_t c = utf8_decode((const unsigned char *)s + i, n - i, &adv);
    if (c == 0xfffd && adv == 1) c = 0xfffe; /* an invalid byte: a separator, never a word */
    CpClass k = cp_class(c);
    if (k == CP_SEP) {
      in_word = false;
      continue;
    }
    if (k == CP_SINGLE || !in_word) tokens_mark(t);
    in_word = k == CP_WORD;
    uint32_t low = utf8_lower(c);
    if (low == 0x3c2) low = 0x3c3; /* final sigma folds to sigma */
    char enc[4];
    tb_put(&t->text, enc, utf8_put_code_point(low, enc));
  }
}

/* Close the token list: the end of the last token. */
static void tokens_end(Tokens *t) {
  tokens_mark(t);
  t->n--;
}

static void tokens_free(Tokens *t) {
  free(t->text.data);
  free(t->start);
  free(t->id);
}

/* Give every token an id: equal tokens equal ids, 0 .. *distinct - 1. */
static void intern(Tokens *t, uint32_t *distinct) {
  size_t cap = 16;
  while (cap < 2 * t->n) cap *= 2;
  uint32_t *slots = calloc(cap, sizeof *slots); /* token index + 1 of the first of its kind */
  if (!slots) flow_oom();
  t->id = xmalloc((t->n ? t->n : 1) * sizeof *t->id);
  uint32_t next = 0;
  for (size_t i = 0; i < t->n; i++) {
    const char *p = t->text.data + t->start[i];
    size_t len = t->start[i + 1] - t->start[i];
    uint32_t h = 2166136261u;
    for (size_t k = 0; k < len; k++) h = (h ^ (unsigned char)p[k]) * 16777619u;
    size_t at = h & (cap - 1);
    for (; slots[at]; at = (at + 1) & (cap - 1)) {
      size_t o = slots[at] - 1;
      if (t->start[o + 1] - t->start[o] == len && memcmp(t->text.data + t->start[o], p, len) == 0) break;
    }
    if (slots[at]) {
      t->id[i] = t->id[slots[at] - 1];
    } else {
      slots[at] = (uint32_t)i + 1;
      t->id[i] = next++;
    }
  }
  free(slots);
  *distinct = next;
}

/* Tokenize a and b into one list; the tokens of b start at *b_start. */
static uint32_t tokenize_pair(Tokens *t, const char *a, size_t na, const char *b, size_t nb, size_t *b_start) {
  tokenize(t, a, na);
  size_t split = t->n; /* a's last token ends where b's first begins */
  tokenize(t, b, nb);
  tokens_end(t);
  *b_start = split;
  uint32_t distinct;
  intern(t, &distinct);
  return distinct;
}

size_t textsim_count(const char *s, size_t n) {
  Tokens t = {0};
  tokenize(&t, s, n);
  size_t count = t.n;
  tokens_free(&t);
  return count;
}

/* ---- the measures ------------------------------------------------------------------------------- */

/* 2k / (x + y), with both empty scoring 1. */
static double dice(size_t k, size_t x, size_t y) { return x + y == 0 ? 1.0 : 2.0 * (double)k / (double)(x + y); }

double textsim_token_f1(const char *a, size_t na, const char *b, size_t nb) {
  Tokens t = {0};
  size_t split;
  uint32_t distinct = tokenize_pair(&t, a, na, b, nb, &split);
  uint32_t *count = calloc(distinct ? distinct : 1, sizeof *count);
  if (!count) flow_oom();
  for (size_t i = 0; i < split; i++) count[t.id[i]]++;
  size_t common = 0;
  for (size_t i = split; i < t.n; i++) {
    if (count[t.id[i]]) {
      count[t.id[i]]--;
      common++;
    }
  }
  double f = dice(common, split, t.n - split);
  free(count);
  tokens_free(&t);
  return f;
}

/* The length of the longest common subsequence of x[0..n) and y[0..m),
 * m <= n, with one row of m + 1 counters. */
static size_t lcs(const uint32_t *x, size_t n, const uint32_t *y, size_t m) {
  uint32_t *row = calloc(m + 1, sizeof *row);
  if (!row) flow_oom();
  for (size_t i = 0; i < n; i++) {
    uint32_t diag = 0; /* row[j - 1] of the previous line */
    for (size_t j = 1; j <= m; j++) {
      uint32_t up = row[j];
      row[j] = x[i] == y[j - 1] ? diag + 1 : up > row[j - 1] ? up : row[j - 1];
      diag = up;
    }
  }
  size_t l = row[m];
  free(row);
  return l;
}

bool textsim_rouge_l(const char *a, size_t na, const char *b, size_t nb, double *out, size_t *ka, size_t *kb) {
  Tokens t = {0};
  size_t split;
  tokenize_pair(&t, a, na, b, nb, &split);
  const uint32_t *x = t.id, *y = t.id + split;
  size_t n = split, m = t.n - split, pre = 0, post = 0;
  while (pre < n && pre < m && x[pre] == y[pre]) pre++;
  while (post < n - pre && post < m - pre && x[n - 1 - post] == y[m - 1 - post]) post++;
  size_t rx = n - pre - post, ry = m - pre - post;
  *ka = rx;
  *kb = ry;
  if (rx && ry && (uint64_t)rx * ry > TEXTSIM_MAX_LCS_CELLS) {
    tokens_free(&t);
    return false;
  }
  size_t l = pre + post;
  if (rx && ry) l += rx >= ry ? lcs(x + pre, rx, y + pre, ry) : lcs(y + pre, ry, x + pre, rx);
  *out = dice(l, n, m);
  tokens_free(&t);
  return true;
}
