/* mock.c - the built-in `mock` provider (see mock.h).
 *
 * Every reply is drawn from a xoshiro256** generator seeded (through
 * splitmix64) from the request key, so it is a pure function of the request.
 * Prose is built from a small sentence grammar over fixed word lists, with
 * words of the last user message worked in; structured replies walk the
 * output type in the image and write JSON text directly. */
#include "arena.h"
#include "mock.h"
#include "textbuf.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- pseudo-random numbers -------------------------------------------------- */

/* xoshiro256** state. */
typedef struct Rng {
  uint64_t s[4];
} Rng;

/* One step of splitmix64, used to expand a 64-bit seed into a state. */
static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Seed [g] from the text [key] (any length; NULL counts as empty) and a
 * [salt] that separates independent streams (replies, latencies). */
static void rng_seed(Rng *g, const char *key, uint64_t salt) {
  uint64_t h = 0xCBF29CE484222325ull ^ salt;
  for (const unsigned char *p = (const unsigned char *)(key ? key : ""); *p; p++)
    h = (h ^ *p) * 0x100000001B3ull;
  uint64_t x = h;
  for (int i = 0; i < 4; i++)
    g->s[i] = splitmix64(&x);
}

/* Rotate left. */
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* The next 64 random bits (xoshiro256**). */
static uint64_t rng_next(Rng *g) {
  uint64_t *s = g->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* A number in [0, n) (n > 0), by multiply-shift on the high 32 bits. */
static uint32_t rng_below(Rng *g, uint32_t n) {
  return (uint32_t)(((rng_next(g) >> 32) * (uint64_t)n) >> 32);
}

/* A number in [lo, hi]. */
static uint32_t rng_range(Rng *g, uint32_t lo, uint32_t hi) { return lo + rng_below(g, hi - lo + 1); }

/* A double in [0, 1) with 53 random bits. */
static double rng_unit(Rng *g) { return (double)(rng_next(g) >> 11) * 0x1.0p-53; }

/* ---- vocabulary ------------------------------------------------------------------ */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Sentence parts: OPENER SUBJECT VERB a ADJ NOUN [regarding W (and W)] TAIL. */
static const char *const OPENERS[] = {
    "",
    "",
    "",
    "Overall, ",
    "In short, ",
    "Based on the details provided, ",
    "As a next step, ",
    "Notably, ",
    "For now, ",
    "In practice, ",
};
static const char *const SUBJECTS[] = {
    "the request", "this case",         "the team",          "the customer", "the report",
    "our review",  "the current draft", "the latest update", "the proposal", "this message",
};
static const char *const VERBS[] = {
    "suggests", "indicates", "requires",  "highlights", "supports",
    "confirms", "calls for", "points to", "deserves",   "describes",
};
static const char *const ADJS[] = {
    "clear",    "practical", "careful", "consistent", "simple",   "useful",
    "reliable", "timely",    "focused", "balanced",   "thorough", "direct",
};
static const char *const NOUNS[] = {
    "approach", "follow-up", "update",    "summary",     "plan",     "resolution",
    "review",   "response",  "next step", "explanation", "decision", "answer",
};
static const char *const TAILS[] = {
    "",
    "",
    " for everyone involved",
    " within the expected time",
    " without further delay",
    " with minimal risk",
    " before the next release",
    " that keeps the details in mind",
    " based on what we know so far",
};
/* Words for short phrases and map keys. */
static const char *const WORDS[] = {
    "clear",   "account",  "update", "billing", "quick",    "review",   "customer",  "issue",    "plan",
    "summary", "detailed", "next",   "step",    "team",     "report",   "follow-up", "priority", "request",
    "simple",  "useful",   "status", "change",  "product",  "support",  "feature",   "timely",   "error",
    "result",  "note",     "data",   "open",    "question", "response", "draft",     "final",    "option",
};

/* ---- words of the last user message ----------------------------------------------- */

#define MAX_CANDIDATES 256
#define MAX_PICKED 6
#define MAX_WORD 16

/* A word of the input: a slice of a message's text. */
typedef struct Word {
  const char *s;
  size_t len;
} Word;

/* Whether the `n` bytes at `s` are valid UTF-8. */
static bool utf8_valid(const unsigned char *s, size_t n) {
  for (size_t i = 0, k; i < n; i += k)
    if (!(k = utf8_seq_len(s + i, n - i))) return false;
  return true;
}

/* The text of the last message whose role is "user" and that has text, or
 * NULL. */
static const Str *last_user_text(Value messages) {
  if (messages.tag != V_LIST) return NULL;
  const List *l = value_as_list(messages);
  for (uint32_t i = l->len; i-- > 0;) {
    Value m = l->items[i];
    if (m.tag != V_RECORD) continue;
    const Record *rec = value_as_record(m);
    if (rec->nfields < 2 || rec->fields[0].tag != V_STR || rec->fields[1].tag != V_STR) continue;
    if (strcmp(value_as_str(rec->fields[0])->data, "user") != 0) continue;
    return value_as_str(rec->fields[1]);
  }
  return NULL;
}

/* Whether byte `c` belongs to a word: ASCII letters and digits, and every
 * byte of a multi-byte UTF-8 character. */
static bool word_byte(unsigned char c) { return isalnum(c) || c >= 0x80; }

/* Common words that make poor topics, NUL-separated, double-NUL-terminated. */
static const char STOP_WORDS[] =
    "about\0after\0again\0also\0been\0before\0being\0could\0does\0from\0have\0here\0"
    "into\0just\0like\0more\0most\0much\0only\0other\0over\0please\0should\0some\0"
    "than\0that\0their\0them\0then\0there\0these\0they\0this\0those\0very\0want\0"
    "were\0what\0when\0where\0which\0while\0will\0with\0would\0your\0";

/* Whether the `len` bytes at `s` are a stop word, ignoring ASCII case. */
static bool stop_word(const char *s, size_t len) {
  if (len > 6) return false; /* the longest stop word */
  for (const char *p = STOP_WORDS; *p; p += strlen(p) + 1) {
    if (strlen(p) != len) continue;
    size_t i = 0;
    while (i < len && tolower((unsigned char)s[i]) == p[i])
      i++;
    if (i == len) return true;
  }
  return false;
}

/* Pick up to MAX_PICKED distinct words (4-16 bytes, valid UTF-8, with at
 * least one letter, not a stop word) of the last user message into [out]; returns how many. */
static size_t pick_input_words(Rng *g, Value messages, Word out[MAX_PICKED]) {
  const Str *text = last_user_text(messages);
  if (!text) return 0;
  Word cand[MAX_CANDIDATES];
  size_t ncand = 0;
  const char *s = text->data;
  size_t n = text->len, i = 0;
  while (i < n && ncand < MAX_CANDIDATES) {
    while (i < n && !word_byte((unsigned char)s[i]))
      i++;
    size_t start = i;
    bool letter = false;
    while (i < n && word_byte((unsigned char)s[i])) {
      if (isalpha((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80) letter = true;
      i++;
    }
    size_t len = i - start;
    if (len < 4 || len > MAX_WORD || !letter || stop_word(s + start, len)) continue;
    if (!utf8_valid((const unsigned char *)s + start, len)) continue;
    bool dup = false;
    for (size_t k = 0; k < ncand && !dup; k++)
      dup = cand[k].len == len && memcmp(cand[k].s, s + start, len) == 0;
    if (!dup) cand[ncand++] = (Word){s + start, len};
  }
  size_t npick = 0;
  while (npick < MAX_PICKED && ncand > 0) {
    size_t k = rng_below(g, (uint32_t)ncand);
    out[npick++] = cand[k];
    cand[k] = cand[--ncand];
  }
  return npick;
}

#define MAX_QUOTES 2
#define MAX_QUOTE 80

/* The length of an opening quote at `s` (`"` or U+201C), or 0. */
static size_t open_quote(const char *s, size_t n) {
  if (n >= 1 && s[0] == '"') return 1;
  if (n >= 3 && memcmp(s, "\xe2\x80\x9c", 3) == 0) return 3;
  return 0;
}

/* The length of a closing quote at `s` (`"` or U+201D), or 0. */
static size_t close_quote(const char *s, size_t n) {
  if (n >= 1 && s[0] == '"') return 1;
  if (n >= 3 && memcmp(s, "\xe2\x80\x9d", 3) == 0) return 3;
  return 0;
}

/* Find up to MAX_QUOTES quoted phrases ("..." or curly quotes, 2-80 bytes
 * on one line, valid UTF-8, with a letter) in the last user message: the
 * mock echoes them, so that a retry asking to 'sign as "The Acme team"' is
 * answered with that sign-off. Returns how many were stored in [out]. */
static size_t find_quotes(Value messages, Word out[MAX_QUOTES]) {
  const Str *text = last_user_text(messages);
  if (!text) return 0;
  const char *s = text->data;
  size_t n = text->len, i = 0, nq = 0;
  while (i < n && nq < MAX_QUOTES) {
    size_t q = open_quote(s + i, n - i);
    if (!q) {
      i++;
      continue;
    }
    size_t start = i + q, j = start, qc = 0;
    while (j < n && j - start <= MAX_QUOTE && s[j] != '\n' && !(qc = close_quote(s + j, n - j)))
      j++;
    if (!qc) {
      i = start;
      continue;
    }
    size_t len = j - start;
    bool letter = false;
    bool control = false;
    for (size_t k = start; k < j; k++) {
      letter |= isalpha((unsigned char)s[k]) != 0;
      control |= (unsigned char)s[k] < 0x20;
    }
    if (!control && len >= 2 && len <= MAX_QUOTE && letter &&
        utf8_valid((const unsigned char *)s + start, len))
      out[nq++] = (Word){s + start, len};
    i = j + qc;
  }
  return nq;
}

/* ---- prose ------------------------------------------------------------------------ */

/* The state of one reply's generation. */
typedef struct Gen {
  Rng rng;
  const Image *img;
  Word words[MAX_PICKED];  /* picked words of the last user message */
  Word quotes[MAX_QUOTES]; /* quoted phrases of the last user message */
  size_t nquotes;
  size_t nwords;
  size_t next_word; /* the next picked word to use */
  unsigned budget;  /* values left before containers shrink to their minimum */
} Gen;

/* Append one sentence to [b]: capitalised, ending with a period. Uses the
 * next one or two picked input words, if any are left. */
static void add_sentence(Gen *g, TextBuf *b) {
  size_t start = b->len;
  tb_puts(b, OPENERS[rng_below(&g->rng, COUNT(OPENERS))]);
  tb_puts(b, SUBJECTS[rng_below(&g->rng, COUNT(SUBJECTS))]);
  tb_put(b, " ", 1);
  tb_puts(b, VERBS[rng_below(&g->rng, COUNT(VERBS))]);
  tb_puts(b, " a ");
  tb_puts(b, ADJS[rng_below(&g->rng, COUNT(ADJS))]);
  tb_put(b, " ", 1);
  tb_puts(b, NOUNS[rng_below(&g->rng, COUNT(NOUNS))]);
  if (g->next_word < g->nwords) {
    const Word *w = &g->words[g->next_word++];
    tb_puts(b, " regarding ");
    tb_put(b, w->s, w->len);
    if (g->next_word < g->nwords && rng_below(&g->rng, 2)) {
      w = &g->words[g->next_word++];
      tb_puts(b, " and ");
      tb_put(b, w->s, w->len);
    }
  }
  tb_puts(b, TAILS[rng_below(&g->rng, COUNT(TAILS))]);
  tb_put(b, ".", 1);
  b->data[start] = (char)toupper((unsigned char)b->data[start]);
}

#define PROSE_MIN 120
#define PROSE_MAX 600

/* Append 2-4 sentences, 120-600 bytes in all, then each quoted phrase of the
 * last user message on a line of its own (ending with a period). A sentence
 * is at most about 160 bytes and an echoed phrase 83, so two sentences and
 * the echoes always fit, and four sentences always reach the minimum. */
static void add_prose(Gen *g, TextBuf *b) {
  size_t start = b->len, echo = 0;
  for (size_t i = 0; i < g->nquotes; i++)
    echo += g->quotes[i].len + 3;
  uint32_t target = rng_range(&g->rng, 2, 4);
  for (uint32_t n = 0; n < 4; n++) {
    if (n >= target && b->len - start >= PROSE_MIN) break;
    TextBuf s = {0};
    add_sentence(g, &s);
    size_t extra = s.len + (n ? 1 : 0);
    if (n >= 2 && b->len - start + extra + echo > PROSE_MAX) {
      free(s.data);
      break;
    }
    if (n) tb_put(b, " ", 1);
    tb_put(b, s.data, s.len);
    free(s.data);
  }
  for (size_t i = 0; i < g->nquotes; i++) {
    const Word *q = &g->quotes[i];
    tb_puts(b, i ? "\n" : "\n\n");
    tb_put(b, q->s, q->len);
    if (!strchr(".!?", q->s[q->len - 1])) tb_put(b, ".", 1);
  }
}

/* Append a phrase of 3-8 words, the first capitalised; an input word may
 * stand in for one of them. */
static void add_phrase(Gen *g, TextBuf *b) {
  uint32_t n = rng_range(&g->rng, 3, 8);
  size_t start = b->len;
  uint32_t prev = UINT32_MAX;
  for (uint32_t i = 0; i < n; i++) {
    if (i) tb_put(b, " ", 1);
    if (g->nwords && rng_below(&g->rng, 5) == 0) {
      const Word *w = &g->words[rng_below(&g->rng, (uint32_t)g->nwords)];
      tb_put(b, w->s, w->len);
      prev = UINT32_MAX;
    } else {
      uint32_t k = rng_below(&g->rng, COUNT(WORDS));
      if (k == prev) k = (k + 1) % COUNT(WORDS); /* no "clear clear" */
      tb_puts(b, WORDS[k]);
      prev = k;
    }
  }
  b->data[start] = (char)toupper((unsigned char)b->data[start]);
}

/* Append a tag: one lowercase word, from the vocabulary or (one time in
 * three) from the input. */
static void add_tag(Gen *g, TextBuf *b) {
  size_t start = b->len;
  if (g->nwords && rng_below(&g->rng, 3) == 0) {
    const Word *w = &g->words[rng_below(&g->rng, (uint32_t)g->nwords)];
    tb_put(b, w->s, w->len);
  } else {
    tb_puts(b, WORDS[rng_below(&g->rng, COUNT(WORDS))]);
  }
  for (size_t i = start; i < b->len; i++)
    b->data[i] = (char)tolower((unsigned char)b->data[i]);
}

/* ---- structured values -------------------------------------------------------------- */

#define MAX_DEPTH 12  /* deeper than this, containers take their smallest size */
#define HARD_DEPTH 64 /* a type that nests deeper than this gets null */
#define VALUE_BUDGET 4096

/* Whether the field name [name] contains one of the NUL-separated,
 * double-NUL-terminated [needles], ignoring ASCII case. */
static bool name_has(const char *name, const char *needles) {
  if (!name) return false;
  char low[64];
  size_t n = 0;
  for (; name[n] && n < sizeof low - 1; n++)
    low[n] = (char)tolower((unsigned char)name[n]);
  low[n] = '\0';
  for (const char *p = needles; *p; p += strlen(p) + 1)
    if (strstr(low, p)) return true;
  return false;
}

/* Field names whose strings read better as a sentence. */
static const char SENTENCE_NAMES[] = "summary\0text\0description\0reply\0answer\0body\0explanation\0reason\0"
                                     "message\0content\0comment\0note\0rationale\0feedback\0";
/* Field names whose strings are tags: one lowercase word. */
static const char TAG_NAMES[] = "tag\0keyword\0label\0slug\0";
/* Field names whose ints are small ratings. */
static const char RATING_NAMES[] = "rating\0score\0priority\0rank\0stars\0level\0severity\0";
/* Field names whose floats are measures of quality: like the mock judge's
 * scores, they get 0.70-1.00, so flows that check them against a typical
 * threshold ("confidence >= 0.6 else fallback") take their main path. */
static const char QUALITY_NAMES[] =
    "confidence\0certainty\0probability\0quality\0relevance\0score\0similarity\0";

/* When the field's @describe text lists alternatives ("billing | bug |
 * other"), append one of them as a JSON string and return true. */
static bool add_alternative(Gen *g, TextBuf *b, const char *doc) {
  if (!doc || !strchr(doc, '|')) return false;
  Word alts[16];
  size_t nalts = 0;
  const char *p = doc;
  for (;;) {
    const char *end = strchr(p, '|');
    if (!end) end = p + strlen(p);
    const char *s = p, *e = end;
    while (s < e && isspace((unsigned char)*s))
      s++;
    while (e > s && isspace((unsigned char)e[-1]))
      e--;
    if (e == s || e - s > 40 || nalts == COUNT(alts)) return false;
    alts[nalts++] = (Word){s, (size_t)(e - s)};
    if (!*end) break;
    p = end + 1;
  }
  if (nalts < 2) return false;
  const Word *w = &alts[rng_below(&g->rng, (uint32_t)nalts)];
  if (!utf8_valid((const unsigned char *)w->s, w->len)) return false;
  tb_json_string(b, w->s, w->len);
  return true;
}

/* Append the JSON of a value of type [type]. [field] and [doc] are the name
 * and @describe text of the record field it fills, or NULL. */
static void add_value(Gen *g, TextBuf *b, uint32_t type, const char *field, const char *doc, int depth) {
  const Image *img = g->img;
  if (type >= img->ntypes || depth > HARD_DEPTH) {
    tb_puts(b, "null");
    return;
  }
  bool small = depth > MAX_DEPTH || g->budget == 0;
  if (g->budget) g->budget--;
  const ImgType *t = &img->types[type];
  char num[32];
  switch (t->kind) {
  case IT_STRING: {
    if (add_alternative(g, b, doc)) break;
    TextBuf s = {0};
    if (name_has(field, TAG_NAMES))
      add_tag(g, &s);
    else if (name_has(field, SENTENCE_NAMES))
      add_sentence(g, &s);
    else
      add_phrase(g, &s);
    tb_json_string(b, s.data, s.len);
    free(s.data);
    break;
  }
  case IT_INT:
    snprintf(num, sizeof num, "%u",
             name_has(field, RATING_NAMES) ? rng_range(&g->rng, 1, 5) : rng_range(&g->rng, 0, 100));
    tb_puts(b, num);
    break;
  case IT_FLOAT: {
    uint32_t hundredths =
        name_has(field, QUALITY_NAMES) ? rng_range(&g->rng, 70, 100) : rng_range(&g->rng, 0, 100);
    snprintf(num, sizeof num, "%u.%02u", hundredths / 100, hundredths % 100);
    tb_puts(b, num);
    break;
  }
  case IT_BOOL: tb_puts(b, rng_below(&g->rng, 2) ? "true" : "false"); break;
  case IT_ENUM:
    if (t->nvariants == 0) {
      tb_puts(b, "null");
      break;
    }
    {
      const char *v = t->variants[rng_below(&g->rng, t->nvariants)];
      tb_json_string(b, v, strlen(v));
      break;
    }
  case IT_LIST: {
    uint32_t n = small ? 0 : rng_range(&g->rng, 1, 3);
    tb_put(b, "[", 1);
    for (uint32_t i = 0; i < n; i++) {
      if (i) tb_put(b, ",", 1);
      add_value(g, b, t->elem, field, doc, depth + 1);
    }
    tb_put(b, "]", 1);
    break;
  }
  case IT_OPT:
    if (small || rng_below(&g->rng, 4) == 0)
      tb_puts(b, "null");
    else
      add_value(g, b, t->elem, field, doc, depth + 1);
    break;
  case IT_MAP: {
    uint32_t n = small ? 0 : rng_range(&g->rng, 1, 2);
    uint32_t first = rng_below(&g->rng, COUNT(WORDS));
    uint32_t second = (first + 1 + rng_below(&g->rng, COUNT(WORDS) - 1)) % COUNT(WORDS);
    tb_put(b, "{", 1);
    for (uint32_t i = 0; i < n; i++) {
      if (i) tb_put(b, ",", 1);
      const char *k = WORDS[i ? second : first];
      tb_json_string(b, k, strlen(k));
      tb_put(b, ":", 1);
      add_value(g, b, t->elem, NULL, NULL, depth + 1);
    }
    tb_put(b, "}", 1);
    break;
  }
  case IT_RECORD:
    tb_put(b, "{", 1);
    for (uint32_t i = 0; i < t->nfields; i++) {
      if (i) tb_put(b, ",", 1);
      tb_json_string(b, t->field_names[i], strlen(t->field_names[i]));
      tb_put(b, ":", 1);
      add_value(g, b, t->field_types[i], t->field_names[i], t->field_docs ? t->field_docs[i] : NULL,
                depth + 1);
    }
    tb_put(b, "}", 1);
    break;
  case IT_ANY:
  case IT_IMAGE:
  case IT_AUDIO:
  case IT_DURATION: tb_puts(b, "null"); break;
  }
}

/* ---- the provider ------------------------------------------------------------------------- */

/* Salts of the independent random streams. */
#define SALT_REPLY 0x7265706C79ull       /* "reply" */
#define SALT_LATENCY 0x6C6174656E6379ull /* "latency" */

char *mock_reply(const Request *r, const char *key, size_t *len) {
  Gen g = {0};
  rng_seed(&g.rng, key, SALT_REPLY);
  g.img = r->img;
  g.budget = VALUE_BUDGET;
  if (r->prompt >= 0) g.nwords = pick_input_words(&g.rng, r->messages, g.words);
  TextBuf b = {0};
  if (r->prompt < 0) {
    uint32_t hundredths = rng_range(&g.rng, 70, 100);
    char num[48];
    snprintf(num, sizeof num, "{\"score\":%u.%02u}", hundredths / 100, hundredths % 100);
    tb_puts(&b, num);
  } else if (!r->img || r->out_type >= r->img->ntypes || r->img->types[r->out_type].kind == IT_STRING) {
    g.nquotes = find_quotes(r->messages, g.quotes);
    add_prose(&g, &b);
  } else {
    add_value(&g, &b, r->out_type, NULL, NULL, 0);
  }
  if (len) *len = b.len;
  return b.data;
}

double mock_latency_ms(const char *key, uint64_t seed, double max_ms) {
  if (!(max_ms > 0)) return 0;
  Rng g;
  uint64_t x = seed;
  rng_seed(&g, key, SALT_LATENCY ^ splitmix64(&x));
  double ms = rng_unit(&g) * max_ms;
  return ms < max_ms ? ms : 0;
}

/* Tokens for `bytes` bytes: a quarter, rounded up, at least 1. */
static int64_t approx_tokens(uint64_t bytes) {
  uint64_t t = (bytes + 3) / 4;
  return t ? (int64_t)t : 1;
}

/* Tokens counted for one media part, whatever its size. */
#define MEDIA_TOKENS_BYTES (256 * 4)

void mock_usage(const Request *r, const char *reply, int64_t *in_tokens, int64_t *out_tokens) {
  uint64_t in_bytes = 0;
  if (r->messages.tag == V_LIST) {
    const List *l = value_as_list(r->messages);
    for (uint32_t i = 0; i < l->len; i++) {
      if (l->items[i].tag != V_RECORD) continue;
      const Record *rec = value_as_record(l->items[i]);
      if (rec->nfields > 1 && rec->fields[1].tag == V_STR) in_bytes += value_as_str(rec->fields[1])->len;
      if (rec->nfields > 2 && rec->fields[2].tag == V_MEDIA) in_bytes += MEDIA_TOKENS_BYTES;
    }
  }
  if (in_tokens) *in_tokens = approx_tokens(in_bytes);
  if (out_tokens) *out_tokens = approx_tokens(reply ? strlen(reply) : 0);
}
