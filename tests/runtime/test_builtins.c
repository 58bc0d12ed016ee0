/* test_builtins.c - unit tests of the built-in functions (runtime/builtins.c).
 *
 * Each check calls one builtin on literal arguments and compares its result,
 * rendered as JSON (floats at the top level in their shortest form, so inf
 * shows as inf), or its error message ("error: ..."), with the expected
 * text. Normal cases, edges (empty inputs, out-of-range indexes, overflow)
 * and non-ASCII text are covered for every builtin; chunk() is also checked
 * against its invariants on generated text. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "image.h"
#include "json_value.h"
#include "tally.h"
#include "textbuf.h"
#include "tokens.h"
#include "value.h"

/* The state of the run: counters, the builtins' context, an image with an
 * enum and a record type. */
typedef struct T {
  Tally tally;
  BuiltinCtx *ctx;
  Image *img;
  uint32_t priority, item;
} T;

static Value S(const char *s) { return value_cstr(s); }
static Value I(int64_t i) { return value_int(i); }
static Value F(double f) { return value_float(f); }
static Value B(bool b) { return value_bool(b); }

/* A list of n values (stolen). */
static Value list_v(uint32_t n, const Value *items) {
  Value l = value_list(n);
  for (uint32_t i = 0; i < n; i++) list_push_steal(l, items[i]);
  return l;
}
#define LIST(...) list_v(sizeof((Value[]){__VA_ARGS__}) / sizeof(Value), (Value[]){__VA_ARGS__})
#define EMPTY() value_list(0)

/* A map from alternating keys and values. */
static Value map_v(uint32_t n, const char *const *keys, const Value *values) {
  Value m = value_map(n);
  for (uint32_t i = 0; i < n; i++) {
    Str *k = str_new(keys[i], strlen(keys[i]));
    map_set_steal(m, k, values[i]);
    value_release(value_obj(V_STR, &k->obj));
  }
  return m;
}

/* The text a result is compared by: JSON, but a float on its own in its
 * shortest form (inf, nan included). */
static char *render(const Image *img, Value v) {
  if (v.tag == V_FLOAT) {
    char *buf = malloc(32);
    json_format_double(v.u.f, buf);
    return buf;
  }
  return value_to_json_text(img, IMG_TYPE_ANY, v);
}

/* Call builtin `id` on args[0..n) (released afterwards) and compare. */
static void expect_at(T *t, BuiltinId id, const char *want, Value *args, uint32_t n, int line) {
  Value out;
  char err[512] = "";
  bool ok = builtin_call(t->ctx, t->img, id, args, n, &out, err, sizeof err);
  char *got;
  if (ok) {
    got = render(t->img, out);
    value_release(out);
  } else {
    got = malloc(strlen(err) + 8);
    sprintf(got, "error: %s", err);
  }
  if (!check_str_at(&t->tally, got, want, __FILE__, line)) fprintf(stderr, "  in a call of `%s`\n", builtin_name(id));
  free(got);
  for (uint32_t i = 0; i < n; i++) value_release(args[i]);
}
#define EXPECT(t, id, want, ...)                                                                             \
  expect_at((t), (id), (want), (Value[]){__VA_ARGS__}, sizeof((Value[]){__VA_ARGS__}) / sizeof(Value), __LINE__)

static void test_table(T *t) {
  CHECK(&t->tally, builtin_lookup("starts_with") == BI_STARTS_WITH);
  CHECK(&t->tally, builtin_lookup("len") == BI_LEN);
  CHECK(&t->tally, builtin_lookup("map") == -1);
  CHECK(&t->tally, builtin_lookup("nope") == -1);
  CHECK_STR(&t->tally, builtin_name(BI_SIMILARITY), "similarity");
  CHECK_STR(&t->tally, builtin_name((BuiltinId)999), "?");
  uint32_t lo, hi;
  builtin_arity(BI_CHUNK, &lo, &hi);
  CHECK(&t->tally, lo == 2 && hi == 3);
  EXPECT(t, BI_LEN, "error: `len` expects 1 argument, found 2", S("a"), S("b"));
  EXPECT(t, BI_CHUNK, "error: `chunk` expects 2 to 3 arguments, found 1", S("a"));
  CHECK(&t->tally, builtin_lookup("valid_json") == BI_VALID_JSON && builtin_lookup("chunk_tokens") == BI_CHUNK_TOKENS);
  builtin_arity(BI_VALID_JSON, &lo, &hi);
  CHECK(&t->tally, lo == 1 && hi == 2);
  EXPECT(t, BI_VALID_JSON, "error: `valid_json` expects 1 to 2 arguments, found 3", S("1"), S("{}"), S("x"));
  EXPECT(t, BI_APPROX, "error: `approx` expects 3 arguments, found 2", I(1), I(1));
}

static void test_text(T *t) {
  EXPECT(t, BI_LEN, "5", S("héllo"));
  EXPECT(t, BI_LEN, "0", S(""));
  EXPECT(t, BI_LEN, "2", S("😀!"));
  EXPECT(t, BI_LEN, "3", LIST(I(1), I(2), S("x")));
  EXPECT(t, BI_LEN, "0", EMPTY());
  EXPECT(t, BI_LEN, "2", map_v(2, (const char *[]){"a", "b"}, (Value[]){I(1), I(2)}));
  EXPECT(t, BI_LEN, "error: `len` expects a string, a list or a map, found 42", I(42));

  EXPECT(t, BI_LOWER, "\"hello wörld àéî ÿ σας привет ąćę\"", S("HeLLo WÖRLD ÀÉÎ Ÿ ΣΑΣ ПРИВЕТ ĄĆĘ"));
  EXPECT(t, BI_UPPER, "\"HELLO WÖRLD ÀÉÎ Ÿ ΣΑΣ ПРИВЕТ ĄĆĘ STRAßE\"", S("hello wörld àéî ÿ σας привет ąćę straße"));
  EXPECT(t, BI_UPPER, "\"\"", S(""));
  EXPECT(t, BI_UPPER, "\"123 _-! 😀 中文\"", S("123 _-! 😀 中文"));
  EXPECT(t, BI_LOWER, "error: `lower` expects a string, found true", B(true));

  EXPECT(t, BI_TRIM, "\"hi there\"", S("  \t hi there \n\r"));
  EXPECT(t, BI_TRIM, "\"hi\"", S("\u00a0\u2003hi\u3000\u2029"));
  EXPECT(t, BI_TRIM, "\"\"", S(" \t\n "));
  EXPECT(t, BI_TRIM, "\"\"", S(""));
  EXPECT(t, BI_TRIM, "\"é\"", S("é"));

  EXPECT(t, BI_SPLIT, "[\"a\",\"b\",\"\",\"c\"]", S("a,b,,c"), S(","));
  EXPECT(t, BI_SPLIT, "[\"\"]", S(""), S(","));
  EXPECT(t, BI_SPLIT, "[\"h\",\"é\",\"😀\"]", S("hé😀"), S(""));
  EXPECT(t, BI_SPLIT, "[]", S(""), S(""));
  EXPECT(t, BI_SPLIT, "[\"a\",\"b\",\"\"]", S("a--b--"), S("--"));
  EXPECT(t, BI_SPLIT, "[\"abc\"]", S("abc"), S("x"));
  EXPECT(t, BI_SPLIT, "[\"x\",\"y\"]", S("x→y"), S("→"));
  EXPECT(t, BI_SPLIT, "error: `split` expects a string as its second argument, found 1", S("a"), I(1));

  EXPECT(t, BI_JOIN, "\"a, b, c\"", LIST(S("a"), S("b"), S("c")), S(", "));
  EXPECT(t, BI_JOIN, "\"\"", EMPTY(), S(","));
  EXPECT(t, BI_JOIN, "\"only\"", LIST(S("only")), S(","));
  EXPECT(t, BI_JOIN, "\"1-2.5-true\"", LIST(I(1), F(2.5), B(true)), S("-"));
  EXPECT(t, BI_JOIN, "error: `join` expects a list of strings, found a list of 1 item at index 1",
         LIST(S("a"), LIST(S("b"))), S(","));

  EXPECT(t, BI_REPLACE, "\"bbb\"", S("aaa"), S("a"), S("b"));
  EXPECT(t, BI_REPLACE, "\"aa\"", S("abcabc"), S("bc"), S(""));
  EXPECT(t, BI_REPLACE, "\"bb\"", S("aaaa"), S("aa"), S("b"));
  EXPECT(t, BI_REPLACE, "\"x\"", S("x"), S(""), S("y"));
  EXPECT(t, BI_REPLACE, "\"hehe\"", S("héhé"), S("é"), S("e"));
  EXPECT(t, BI_REPLACE, "\"same\"", S("same"), S("zz"), S("y"));
  EXPECT(t, BI_REPLACE, "\"<a><a>\"", S("aa"), S("a"), S("<a>"));

  EXPECT(t, BI_CONTAINS, "true", S("hello"), S("ell"));
  EXPECT(t, BI_CONTAINS, "true", S("hello"), S(""));
  EXPECT(t, BI_CONTAINS, "false", S("hi"), S("hello"));
  EXPECT(t, BI_CONTAINS, "true", S("naïve"), S("ïv"));
  EXPECT(t, BI_CONTAINS, "true", LIST(I(1), I(2), I(3)), F(2.0));
  EXPECT(t, BI_CONTAINS, "false", LIST(S("a")), S("b"));
  EXPECT(t, BI_CONTAINS, "true", LIST(LIST(I(1)), S("b")), LIST(I(1)));
  EXPECT(t, BI_CONTAINS, "false", EMPTY(), I(1));
  EXPECT(t, BI_CONTAINS, "true", map_v(1, (const char *[]){"k"}, (Value[]){I(1)}), S("k"));
  EXPECT(t, BI_CONTAINS, "error: `contains` expects a string, a list or a map as its first argument, found 42",
         I(42), S("x"));

  EXPECT(t, BI_STARTS_WITH, "true", S("hello"), S("he"));
  EXPECT(t, BI_STARTS_WITH, "true", S("hello"), S(""));
  EXPECT(t, BI_STARTS_WITH, "false", S("he"), S("hello"));
  EXPECT(t, BI_STARTS_WITH, "true", S("été"), S("é"));
  EXPECT(t, BI_ENDS_WITH, "true", S("hello"), S("llo"));
  EXPECT(t, BI_ENDS_WITH, "false", S("hello"), S("hel"));
  EXPECT(t, BI_ENDS_WITH, "true", S(""), S(""));
}

static void test_regex(T *t) {
  EXPECT(t, BI_MATCHES, "false", S("Hello World"), S("w.rld"));
  EXPECT(t, BI_MATCHES, "true", S("Hello World"), S("(?i)w.rld"));
  EXPECT(t, BI_MATCHES, "true", S("order 123"), S("\\d+"));
  EXPECT(t, BI_MATCHES, "false", S("order"), S("^\\d+$"));
  EXPECT(t, BI_MATCHES, "true", S("é"), S("^.$"));
  EXPECT(t, BI_MATCHES, "true", S("As an AI model"), S("(?i)as an ai"));
  EXPECT(t, BI_MATCHES, "true", S("\xff abc"), S("abc")); /* invalid UTF-8 in the subject */
  EXPECT(t, BI_MATCHES, "true", S(""), S(""));
  EXPECT(t, BI_MATCHES,
         "error: `matches` expects a valid regular expression, found \"(\": missing closing parenthesis at offset 1",
         S("x"), S("("));
  /* more patterns than the cache holds, then the first ones again */
  bool all = true;
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 80; i++) {
      char pat[32], subj[32];
      snprintf(pat, sizeof pat, "^x{%d}$", i + 1);
      memset(subj, 'x', (size_t)(i % 20 + 1));
      subj[i % 20 + 1] = '\0';
      Value args[2] = {S(subj), S(pat)}, out;
      char err[256];
      bool ok = builtin_call(t->ctx, t->img, BI_MATCHES, args, 2, &out, err, sizeof err);
      all &= ok && out.tag == V_BOOL && out.u.b == (i == i % 20);
      value_release(args[0]);
      value_release(args[1]);
    }
  }
  CHECK(&t->tally, all);
}

static void test_lines(T *t) {
  EXPECT(t, BI_LINES, "[\"a\",\"b\",\"c\"]", S("a\nb\r\nc\n"));
  EXPECT(t, BI_LINES, "[]", S(""));
  EXPECT(t, BI_LINES, "[\"\"]", S("\n"));
  EXPECT(t, BI_LINES, "[\"a\",\"\",\"b\"]", S("a\n\nb"));
  EXPECT(t, BI_LINES, "[\"a\",\"\"]", S("a\n\n"));
  EXPECT(t, BI_LINES, "[\"only\"]", S("only"));

  EXPECT(t, BI_PARAGRAPHS, "[\"p1 line1\\np1 line2\",\"p2\",\"p3\"]",
         S("  p1 line1\np1 line2\n\n\n  p2  \n \t \np3"));
  EXPECT(t, BI_PARAGRAPHS, "[]", S(""));
  EXPECT(t, BI_PARAGRAPHS, "[]", S("\n \n\n"));
  EXPECT(t, BI_PARAGRAPHS, "[\"one\"]", S("one"));
  EXPECT(t, BI_PARAGRAPHS, "[\"a\",\"b\"]", S("a\r\n\r\nb\r\n"));
}

/* Whether string `s` starts with string `p`. */
static bool starts_with_str(const Str *s, const Str *p) {
  return p->len <= s->len && memcmp(s->data, p->data, p->len) == 0;
}

/* chunk() on generated text: pieces are at most max_chars code points,
 * overlap repeats exactly, and with overlap 0 they rebuild the text. */
static void test_chunk_invariants(T *t) {
  const char *words[] = {"alpha", "beta", "γάμμα", "delta.", "epsilon!", "\n", "\n\n", "zeta?", "😀", "x"};
  char *text = malloc(20000);
  size_t len = 0;
  unsigned seed = 12345;
  for (int i = 0; i < 1500; i++) {
    seed = seed * 1103515245u + 12345u;
    const char *w = words[(seed >> 16) % 10];
    memcpy(text + len, w, strlen(w));
    len += strlen(w);
    if ((seed >> 8) % 3) text[len++] = ' ';
  }
  text[len] = '\0';
  bool ok = true;
  for (int max = 1; max <= 120 && ok; max += 7) {
    for (int overlap = 0; overlap < max && overlap <= 30; overlap += (max / 3 + 1)) {
      Value args[3] = {S(text), I(max), I(overlap)}, out;
      char err[256];
      if (!builtin_call(t->ctx, t->img, BI_CHUNK, args, 3, &out, err, sizeof err)) {
        ok = false;
        break;
      }
      List *l = value_as_list(out);
      size_t total = 0;
      char *joined = malloc(len + 1);
      size_t jl = 0;
      for (uint32_t i = 0; i < l->len; i++) {
        Str *c = value_as_str(l->items[i]);
        Value lenv;
        builtin_call(t->ctx, t->img, BI_LEN, &l->items[i], 1, &lenv, err, sizeof err);
        ok &= lenv.u.i >= 1 && lenv.u.i <= max;
        total += c->len;
        if (overlap == 0) {
          memcpy(joined + jl, c->data, c->len);
          jl += c->len;
        } else if (i > 0) {
          /* the last `overlap` code points of the previous piece start this one */
          Value prev = l->items[i - 1];
          Value sl[3] = {prev, I(-overlap), I(INT64_MAX)}, tail;
          builtin_call(t->ctx, t->img, BI_SLICE, sl, 3, &tail, err, sizeof err);
          ok &= starts_with_str(c, value_as_str(tail));
          value_release(tail);
        }
      }
      if (overlap == 0) ok &= jl == len && memcmp(joined, text, len) == 0;
      free(joined);
      value_release(out);
      value_release(args[0]);
      if (!ok) fprintf(stderr, "chunk invariants fail at max %d overlap %d\n", max, overlap);
    }
  }
  CHECK(&t->tally, ok);
  free(text);
}

static void test_chunk(T *t) {
  EXPECT(t, BI_CHUNK, "[]", S(""), I(10));
  EXPECT(t, BI_CHUNK, "[\"short\"]", S("short"), I(10));
  EXPECT(t, BI_CHUNK, "[\"aaaa aaaa\\n\\n\",\"bbbb bbbb\\n\\ncccc\"]", S("aaaa aaaa\n\nbbbb bbbb\n\ncccc"), I(15));
  EXPECT(t, BI_CHUNK, "[\"line one\\n\",\"line two\\n\",\"line three\"]", S("line one\nline two\nline three"), I(12));
  EXPECT(t, BI_CHUNK, "[\"one two \",\"three \",\"four five\"]", S("one two three four five"), I(10));
  EXPECT(t, BI_CHUNK, "[\"Hi there. \",\"How are you? \",\"Fine.\"]", S("Hi there. How are you? Fine."), I(15));
  EXPECT(t, BI_CHUNK, "[\"abcd\",\"efgh\",\"ij\"]", S("abcdefghij"), I(4));
  EXPECT(t, BI_CHUNK, "[\"abcd\",\"defg\",\"ghij\"]", S("abcdefghij"), I(4), I(1));
  EXPECT(t, BI_CHUNK, "[\"éé\",\"éé\",\"é\"]", S("ééééé"), I(2));
  EXPECT(t, BI_CHUNK, "[\"a\",\"b\",\"c\"]", S("abc"), I(1), I(0));
  EXPECT(t, BI_CHUNK, "error: `chunk` expects a positive max_chars, found 0", S("abc"), I(0));
  EXPECT(t, BI_CHUNK, "error: `chunk` expects an overlap smaller than max_chars (3), found 3", S("abc"), I(3), I(3));
  EXPECT(t, BI_CHUNK, "error: `chunk` expects an overlap of 0 or more, found -1", S("abc"), I(3), I(-1));
  test_chunk_invariants(t);

  EXPECT(t, BI_TOKENS, "0", S(""));
  EXPECT(t, BI_TOKENS, "3", S("hello world"));
  EXPECT(t, BI_TOKENS, "6", S("a b c d e f"));
  EXPECT(t, BI_TOKENS, "2", S("😀😀😀😀😀"));
  EXPECT(t, BI_TOKENS, "2", S("   x   "));
  EXPECT(t, BI_TOKENS, "1", S("x"));
}

static void test_lists(T *t) {
  EXPECT(t, BI_TAKE, "[1,2]", LIST(I(1), I(2), I(3)), I(2));
  EXPECT(t, BI_TAKE, "[]", LIST(I(1), I(2), I(3)), I(0));
  EXPECT(t, BI_TAKE, "[1,2,3]", LIST(I(1), I(2), I(3)), I(10));
  EXPECT(t, BI_TAKE, "[]", LIST(I(1), I(2), I(3)), I(-1));
  EXPECT(t, BI_TAKE, "\"hé\"", S("héllo"), I(2));
  EXPECT(t, BI_TAKE, "\"\"", S(""), I(2));
  EXPECT(t, BI_TAKE, "error: `take` expects a list or a string as its first argument, found 1", I(1), I(2));

  EXPECT(t, BI_SLICE, "[2,3]", LIST(I(1), I(2), I(3), I(4), I(5)), I(1), I(3));
  EXPECT(t, BI_SLICE, "[4,5]", LIST(I(1), I(2), I(3), I(4), I(5)), I(-2), I(5));
  EXPECT(t, BI_SLICE, "[]", LIST(I(1), I(2), I(3), I(4), I(5)), I(3), I(1));
  EXPECT(t, BI_SLICE, "[1,2,3]", LIST(I(1), I(2), I(3)), I(-100), I(100));
  EXPECT(t, BI_SLICE, "\"éll\"", S("héllo"), I(1), I(-1));
  EXPECT(t, BI_SLICE, "\"😀\"", S("a😀b"), I(1), I(2));

  EXPECT(t, BI_SORT, "[-1,1.5,2,3]", LIST(I(3), F(1.5), I(2), I(-1)));
  EXPECT(t, BI_SORT, "[\"B\",\"a\",\"b\",\"é\"]", LIST(S("b"), S("B"), S("é"), S("a")));
  EXPECT(t, BI_SORT, "[]", EMPTY());
  EXPECT(t, BI_SORT, "[\"low\",\"normal\",\"urgent\"]",
         LIST(value_enum(t->priority, 2), value_enum(t->priority, 0), value_enum(t->priority, 1)));
  /* stable: equal keys keep their order */
  EXPECT(t, BI_SORT_BY_KEYS, "[\"x2\",\"x4\",\"x1\",\"x3\"]", LIST(S("x1"), S("x2"), S("x3"), S("x4")),
         LIST(I(2), I(1), I(2), I(1)));
  EXPECT(t, BI_SORT_BY_KEYS, "error: `sort_by` expects one key per item (2), found 1 keys", LIST(S("a"), S("b")),
         LIST(I(1)));
  /* a long reversed list with duplicates */
  Value big = value_list(0), keys = value_list(0);
  for (int i = 5000; i > 0; i--) {
    list_push_steal(big, I(i / 2));
    list_push_steal(keys, I(i % 7));
  }
  Value out;
  char err[256];
  bool ok = builtin_call(t->ctx, t->img, BI_SORT, &big, 1, &out, err, sizeof err);
  bool sorted = ok && value_as_list(out)->len == 5000;
  for (uint32_t i = 1; sorted && i < 5000; i++)
    sorted = value_compare(value_as_list(out)->items[i - 1], value_as_list(out)->items[i]) <= 0;
  CHECK(&t->tally, sorted);
  if (ok) value_release(out);
  Value items = value_list(0);
  for (int i = 5000; i > 0; i--) list_push_steal(items, I(i));
  Value args[2] = {items, keys};
  ok = builtin_call(t->ctx, t->img, BI_SORT_BY_KEYS, args, 2, &out, err, sizeof err);
  bool stable = ok;
  for (uint32_t i = 1; stable && i < 5000; i++) {
    /* keys ascend; within one key the original (descending) order is kept */
    int64_t a = value_as_list(out)->items[i - 1].u.i, b = value_as_list(out)->items[i].u.i;
    stable = a % 7 < b % 7 || (a % 7 == b % 7 && a > b);
  }
  value_release(items);
  CHECK(&t->tally, stable);
  if (ok) value_release(out);
  value_release(big);
  value_release(keys);

  EXPECT(t, BI_UNIQUE, "[1,2,\"a\",[1]]", LIST(I(1), I(2), F(1.0), S("a"), S("a"), LIST(I(1)), LIST(F(1.0))));
  EXPECT(t, BI_UNIQUE, "[]", EMPTY());
  EXPECT(t, BI_UNIQUE, "[\"b\",\"a\"]", LIST(S("b"), S("a"), S("b"), S("a"), S("b")));

  EXPECT(t, BI_FLATTEN, "[1,2,3]", LIST(LIST(I(1), I(2)), EMPTY(), LIST(I(3))));
  EXPECT(t, BI_FLATTEN, "[[1],2]", LIST(LIST(LIST(I(1))), LIST(I(2))));
  EXPECT(t, BI_FLATTEN, "[]", EMPTY());

  EXPECT(t, BI_SUM, "0", EMPTY());
  EXPECT(t, BI_SUM, "6", LIST(I(1), I(2), I(3)));
  EXPECT(t, BI_SUM, "3.5", LIST(I(1), F(2.5)));
  EXPECT(t, BI_SUM, "0.30000000000000004", LIST(F(0.1), F(0.2)));
  EXPECT(t, BI_SUM, "error: `sum` overflowed: expected a total within 64-bit integers, found more at index 1",
         LIST(I(INT64_MAX), I(1)));
  EXPECT(t, BI_SUM, "error: `sum` expects a list of numbers, found \"a\" at index 1", LIST(I(1), S("a")));

  EXPECT(t, BI_MIN, "1", LIST(I(3), I(1), I(2)));
  EXPECT(t, BI_MAX, "3", LIST(I(3), I(1), I(2)));
  EXPECT(t, BI_MIN, "0.5", LIST(I(1), F(0.5)));
  EXPECT(t, BI_MIN, "\"a\"", LIST(S("b"), S("a")));
  EXPECT(t, BI_MAX, "\"é\"", LIST(S("b"), S("é"), S("a")));
  EXPECT(t, BI_MIN, "error: min of an empty list: expected at least one item", EMPTY());
  EXPECT(t, BI_MAX, "error: max of an empty list: expected at least one item", EMPTY());
  EXPECT(t, BI_MIN, "error: `min` expects items of one kind, found \"a\" at index 1 after numbers", LIST(I(1), S("a")));
  EXPECT(t, BI_MAX, "error: `max` expects a list of numbers or strings, found true at index 0", LIST(B(true)));

  EXPECT(t, BI_KEYS, "[\"a\",\"b\"]", map_v(2, (const char *[]){"b", "a"}, (Value[]){I(1), I(2)}));
  EXPECT(t, BI_VALUES, "[2,1]", map_v(2, (const char *[]){"b", "a"}, (Value[]){I(1), I(2)}));
  EXPECT(t, BI_KEYS, "[]", value_map(0));
  EXPECT(t, BI_KEYS, "error: `keys` expects a map, found an empty list", EMPTY());
}

static void test_conversions(T *t) {
  Value rec = value_record(t->item, 2);
  record_set_steal(rec, 0, S("x\"1"));
  record_set_steal(rec, 1, value_enum(t->priority, 2));
  EXPECT(t, BI_JSON, "\"{\\\"id\\\":\\\"x\\\\\\\"1\\\",\\\"priority\\\":\\\"urgent\\\"}\"", rec);
  EXPECT(t, BI_JSON, "\"[1,2.0,null]\"", LIST(I(1), F(2.0), value_none()));
  EXPECT(t, BI_JSON, "\"\\\"é\\\"\"", S("é"));

  EXPECT(t, BI_STR, "\"42\"", I(42));
  EXPECT(t, BI_STR, "\"-9223372036854775808\"", I(INT64_MIN));
  EXPECT(t, BI_STR, "\"1.0\"", F(1.0));
  EXPECT(t, BI_STR, "\"0.1\"", F(0.1));
  EXPECT(t, BI_STR, "\"1e+100\"", F(1e100));
  EXPECT(t, BI_STR, "\"inf\"", F(INFINITY));
  EXPECT(t, BI_STR, "\"true\"", B(true));
  EXPECT(t, BI_STR, "\"urgent\"", value_enum(t->priority, 2));
  EXPECT(t, BI_STR, "\"as is\"", S("as is"));
  EXPECT(t, BI_STR, "\"none\"", value_none());

  EXPECT(t, BI_INT, "3", F(3.9));
  EXPECT(t, BI_INT, "-3", F(-3.9));
  EXPECT(t, BI_INT, "42", S(" 42 "));
  EXPECT(t, BI_INT, "-17", S("-17"));
  EXPECT(t, BI_INT, "9223372036854775807", S("9223372036854775807"));
  EXPECT(t, BI_INT, "-9223372036854775808", S("-9223372036854775808"));
  EXPECT(t, BI_INT, "1", B(true));
  EXPECT(t, BI_INT, "7", I(7));
  EXPECT(t, BI_INT, "error: `int` expects a decimal integer (within 64 bits), found \"abc\"", S("abc"));
  EXPECT(t, BI_INT, "error: `int` expects a decimal integer (within 64 bits), found \"4.5\"", S("4.5"));
  EXPECT(t, BI_INT, "error: `int` expects a decimal integer (within 64 bits), found \"\"", S(""));
  EXPECT(t, BI_INT, "error: `int` expects a decimal integer (within 64 bits), found \"9223372036854775808\"",
         S("9223372036854775808"));
  EXPECT(t, BI_INT, "error: `int` expects a float within the range of 64-bit integers, found 1e+300", F(1e300));
  EXPECT(t, BI_INT, "error: `int` expects a float within the range of 64-bit integers, found nan", F(NAN));

  EXPECT(t, BI_FLOAT, "3.0", I(3));
  EXPECT(t, BI_FLOAT, "2.5", S("2.5"));
  EXPECT(t, BI_FLOAT, "1000.0", S(" 1e3 "));
  EXPECT(t, BI_FLOAT, "-0.5", S("-.5"));
  EXPECT(t, BI_FLOAT, "inf", S("inf"));
  EXPECT(t, BI_FLOAT, "error: `float` expects a decimal number, found \"abc\"", S("abc"));
  EXPECT(t, BI_FLOAT, "error: `float` expects a decimal number, found \"0x10\"", S("0x10"));
  EXPECT(t, BI_FLOAT, "error: `float` expects a decimal number, found \"1e\"", S("1e"));
  EXPECT(t, BI_FLOAT, "error: `float` expects a number or a string, found an empty list", EMPTY());

  EXPECT(t, BI_FORMAT, "\"3.14\"", F(3.14159), I(2));
  EXPECT(t, BI_FORMAT, "\"2\"", I(2), I(0));
  EXPECT(t, BI_FORMAT, "\"0.500\"", F(0.5), I(3));
  EXPECT(t, BI_FORMAT, "\"-1234567.9\"", F(-1234567.89), I(1));
  EXPECT(t, BI_FORMAT, "\"inf\"", F(INFINITY), I(2));
  EXPECT(t, BI_FORMAT, "error: `format` expects 0 to 20 digits, found 25", F(1.0), I(25));
  EXPECT(t, BI_FORMAT, "error: `format` expects a number as its first argument, found \"x\"", S("x"), I(2));

  EXPECT(t, BI_SIMILARITY, "0.5714285714285714", S("kitten"), S("sitting"));
  EXPECT(t, BI_SIMILARITY, "1.0", S(""), S(""));
  EXPECT(t, BI_SIMILARITY, "0.0", S("abc"), S(""));
  EXPECT(t, BI_SIMILARITY, "1.0", S("same"), S("same"));
  EXPECT(t, BI_SIMILARITY, "0.8", S("héllo"), S("hello"));
  EXPECT(t, BI_SIMILARITY, "0.0", S("abc"), S("xyz"));
  EXPECT(t, BI_SIMILARITY, "0.75", S("😀abc"), S("abc"));
}

/* ---- evaluation built-ins ---------------------------------------------------------------------------- */

/* valid_json(value, schema) for two C strings, compared with `want`. */
#define EXPECT_SCHEMA(t, want, value, schema) EXPECT((t), BI_VALID_JSON, (want), S(value), S(schema))

/* One keyword of the subset: a value that conforms and one that does not. */
typedef struct KeywordCase {
  const char *schema, *good, *bad;
} KeywordCase;

/* Failures are reported at KEYWORDS_LINE + the case's index: its line. */
enum { KEYWORDS_LINE = __LINE__ + 2 };
static const KeywordCase KEYWORDS[] = {
    {"true", "[1, {\"a\": null}]", NULL},
    {"false", NULL, "null"},
    {"{}", "\"anything\"", NULL},
    {"{\"type\": \"string\"}", "\"x\"", "1"},
    {"{\"type\": \"integer\"}", "2.0", "2.5"},
    {"{\"type\": \"number\"}", "2.5", "\"2.5\""},
    {"{\"type\": \"boolean\"}", "false", "0"},
    {"{\"type\": \"null\"}", "null", "false"},
    {"{\"type\": \"object\"}", "{}", "[]"},
    {"{\"type\": \"array\"}", "[]", "{}"},
    {"{\"type\": [\"string\", \"null\"]}", "null", "0"},
    {"{\"type\": \"integer\"}", "123456789012345678901234567890", "1e-3"},
    {"{\"enum\": [\"a\", 1, null, [1]]}", "[1.0]", "\"b\""},
    {"{\"const\": {\"a\": 1, \"b\": [true]}}", "{\"b\": [true], \"a\": 1.0}", "{\"a\": 1}"},
    {"{\"properties\": {\"a\": {\"type\": \"string\"}}}", "{\"a\": \"x\", \"b\": 1}", "{\"a\": 1}"},
    {"{\"properties\": {\"a\": {\"type\": \"string\"}}}", "3", NULL}, /* keywords of other types do not apply */
    {"{\"required\": [\"a\", \"b\"]}", "{\"a\": 1, \"b\": null}", "{\"a\": 1}"},
    {"{\"properties\": {\"a\": {}}, \"additionalProperties\": false}", "{\"a\": 1}", "{\"a\": 1, \"b\": 2}"},
    {"{\"additionalProperties\": {\"type\": \"integer\"}}", "{\"x\": 1}", "{\"x\": \"1\"}"},
    {"{\"patternProperties\": {\"^x_\": {\"type\": \"integer\"}}}", "{\"x_a\": 1, \"y\": \"s\"}", "{\"x_a\": \"s\"}"},
    {"{\"items\": {\"type\": \"integer\"}}", "[1, 2]", "[1, \"2\"]"},
    {"{\"prefixItems\": [{\"type\": \"string\"}, {\"type\": \"integer\"}]}", "[\"a\", 1, true]", "[1, \"a\"]"},
    {"{\"prefixItems\": [{\"type\": \"string\"}], \"items\": {\"type\": \"integer\"}}", "[\"a\", 1, 2]", "[\"a\", 1, \"b\"]"},
    {"{\"minItems\": 2}", "[1, 2]", "[1]"},
    {"{\"maxItems\": 2}", "[1, 2]", "[1, 2, 3]"},
    {"{\"uniqueItems\": true}", "[1, \"1\", [1], {\"a\": 1}]", "[{\"a\": 1, \"b\": 2}, {\"b\": 2, \"a\": 1.0}]"},
    {"{\"uniqueItems\": false}", "[1, 1]", NULL},
    {"{\"minLength\": 2}", "\"\xc3\xa9\xc3\xa9\"", "\"\xc3\xa9\""},
    {"{\"maxLength\": 2}", "\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\"", "\"abc\""},
    {"{\"pattern\": \"^\\\\d{3}-\\\\d{4}$\"}", "\"555-1234\"", "\"555-12345\""},
    {"{\"pattern\": \"caf\xc3\xa9\"}", "\"un caf\xc3\xa9 noir\"", "\"cafe\""}, /* unanchored, UTF-8 */
    {"{\"minimum\": 1}", "1", "0.999"},
    {"{\"maximum\": 1}", "1.0", "1.001"},
    {"{\"exclusiveMinimum\": 1}", "1.001", "1"},
    {"{\"exclusiveMaximum\": 1}", "0.999", "1.0"},
    {"{\"maximum\": 9223372036854775807}", "9223372036854775807", "9223372036854775808"},
    {"{\"minimum\": 0.5}", "1", "0"},
    {"{\"multipleOf\": 3}", "-9", "10"},
    {"{\"multipleOf\": 0.1}", "0.3", "0.35"},
    {"{\"minProperties\": 1}", "{\"a\": 1}", "{}"},
    {"{\"maxProperties\": 1}", "{\"a\": 1}", "{\"a\": 1, \"b\": 2}"},
    {"{\"allOf\": [{\"type\": \"integer\"}, {\"minimum\": 0}]}", "3", "-3"},
    {"{\"anyOf\": [{\"type\": \"integer\"}, {\"type\": \"string\"}]}", "\"x\"", "null"},
    {"{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 10}]}", "3", "12"},
    {"{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 10}]}", "10.5", "9.5"},
    {"{\"not\": {\"type\": \"string\"}}", "1", "\"x\""},
    {"{\"$defs\": {\"pos\": {\"type\": \"integer\", \"minimum\": 1}}, \"items\": {\"$ref\": \"#/$defs/pos\"}}", "[1, 2]",
     "[1, 0]"},
    {"{\"definitions\": {\"s\": {\"type\": \"string\"}}, \"$ref\": \"#/definitions/s\"}", "\"x\"", "1"},
    {"{\"format\": \"email\", \"x-unknown\": 1}", "\"not an email\"", NULL}, /* unknown keywords are ignored */
};

static void test_valid_json(T *t) {
  EXPECT(t, BI_VALID_JSON, "true", S("{\"a\": [1, 2.5, \"x\", true, null]}"));
  EXPECT(t, BI_VALID_JSON, "true", S("  \"just a string\"\n"));
  EXPECT(t, BI_VALID_JSON, "true", S("-0"));
  EXPECT(t, BI_VALID_JSON, "true", S("123456789012345678901234567890")); /* JSON sets no limit */
  EXPECT(t, BI_VALID_JSON, "false", S(""));
  EXPECT(t, BI_VALID_JSON, "false", S("{\"a\": 1,}"));
  EXPECT(t, BI_VALID_JSON, "false", S("{'a': 1}"));
  EXPECT(t, BI_VALID_JSON, "false", S("[1] [2]"));
  EXPECT(t, BI_VALID_JSON, "false", S("NaN"));
  EXPECT(t, BI_VALID_JSON, "false", S("\"\xff\""));
  EXPECT(t, BI_VALID_JSON, "false", S("```json\n{}\n```"));
  /* at most 256 levels of nesting */
  char deep[600];
  memset(deep, '[', 256);
  memset(deep + 256, ']', 256);
  deep[512] = '\0';
  EXPECT(t, BI_VALID_JSON, "true", S(deep));
  memset(deep, '[', 257);
  memset(deep + 257, ']', 257);
  deep[514] = '\0';
  EXPECT(t, BI_VALID_JSON, "false", S(deep));
  EXPECT(t, BI_VALID_JSON, "error: `valid_json` expects a string as its first argument, found 1", I(1));
  EXPECT(t, BI_VALID_JSON, "error: `valid_json` expects a string as its second argument, found 1", S("1"), I(1));

  /* every keyword of the subset, passing and failing */
  for (size_t i = 0; i < sizeof KEYWORDS / sizeof KEYWORDS[0]; i++) {
    const KeywordCase *k = &KEYWORDS[i];
    if (k->good) expect_at(t, BI_VALID_JSON, "true", (Value[]){S(k->good), S(k->schema)}, 2, KEYWORDS_LINE + (int)i);
    if (k->bad) expect_at(t, BI_VALID_JSON, "false", (Value[]){S(k->bad), S(k->schema)}, 2, KEYWORDS_LINE + (int)i);
  }
  /* a value that is not JSON does not conform to any schema */
  EXPECT_SCHEMA(t, "false", "{", "true");

  /* $ref recursion: a tree of any depth */
  const char *tree = "{\"$defs\": {\"node\": {\"type\": \"object\", \"required\": [\"v\"], \"properties\": {\"v\": "
                     "{\"type\": \"integer\"}, \"kids\": {\"type\": \"array\", \"items\": {\"$ref\": "
                     "\"#/$defs/node\"}}}, \"additionalProperties\": false}}, \"$ref\": \"#/$defs/node\"}";
  EXPECT_SCHEMA(t, "true", "{\"v\": 1, \"kids\": [{\"v\": 2}, {\"v\": 3, \"kids\": [{\"v\": 4, \"kids\": []}]}]}", tree);
  EXPECT_SCHEMA(t, "false", "{\"v\": 1, \"kids\": [{\"v\": 2}, {\"v\": 3, \"kids\": [{\"v\": \"4\"}]}]}", tree);
  EXPECT_SCHEMA(t, "false", "{\"v\": 1, \"kids\": [{\"v\": 2, \"x\": 0}]}", tree);
  const char *self = "{\"anyOf\": [{\"type\": \"integer\"}, {\"type\": \"array\", \"items\": {\"$ref\": \"#\"}}]}";
  EXPECT_SCHEMA(t, "true", "[1, [2, [3, []]], 4]", self);
  EXPECT_SCHEMA(t, "false", "[1, [2, [\"3\"]]]", self);

  /* the nesting cap: six schemas per level, 200 levels */
  const char *heavy = "{\"$defs\": {\"n\": {\"allOf\": [{\"allOf\": [{\"allOf\": [{\"allOf\": [{\"properties\": {\"a\": "
                      "{\"$ref\": \"#/$defs/n\"}}}]}]}]}]}}, \"$ref\": \"#/$defs/n\"}";
  char nested[2000];
  size_t len = 0;
  for (int i = 0; i < 200; i++) len += (size_t)snprintf(nested + len, sizeof nested - len, "{\"a\": ");
  len += (size_t)snprintf(nested + len, sizeof nested - len, "1");
  for (int i = 0; i < 200; i++) nested[len++] = '}';
  nested[len] = '\0';
  EXPECT_SCHEMA(t, "error: `valid_json` could not finish: validation stopped at #/$defs/n/allOf/0/allOf/0/allOf/0: "
                   "expected "
                   "schemas nested at most 1024 deep, found deeper nesting",
                nested, heavy);
  EXPECT_SCHEMA(t, "true", "{\"a\": {\"a\": {\"a\": 1}}}", heavy);

  /* a schema that is not one is an error, not false */
  EXPECT_SCHEMA(t, "error: `valid_json` expects a JSON Schema as its second argument, found \"{\\\"type\\\": "
                   "\\\"text\\\"}\": #/type must be a type name (\"null\", \"boolean\", \"object\", \"array\", \"number\", "
                   "\"string\" or \"integer\") or an array of them, found \"text\"",
                "1", "{\"type\": \"text\"}");
  EXPECT_SCHEMA(t, "error: `valid_json` expects a JSON Schema as its second argument, found \"{\\\"type\\\": \": "
                   "the schema is not JSON: at offset 9, expected a JSON value, found the end of the text",
                "1", "{\"type\": ");
  EXPECT_SCHEMA(t, "error: `valid_json` expects a JSON Schema as its second argument, found \"{\\\"$ref\\\": "
                   "\\\"#\\\"}\": #/$ref \"#\" leads back to # without descending into the value, so no value could "
                   "finish validating: expected a reference that is reached only inside properties or items",
                "1", "{\"$ref\": \"#\"}");
  /* more schemas than the cache holds, then the first ones again */
  bool all = true;
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 20; i++) {
      char schema[64];
      snprintf(schema, sizeof schema, "{\"maximum\": %d}", i);
      Value args[2] = {I(0), S(schema)}, out;
      args[0] = S("5");
      char err[256];
      bool ok = builtin_call(t->ctx, t->img, BI_VALID_JSON, args, 2, &out, err, sizeof err);
      all &= ok && out.tag == V_BOOL && out.u.b == (i >= 5);
      value_release(args[0]);
      value_release(args[1]);
    }
  }
  CHECK(&t->tally, all);
}

static void test_approx(T *t) {
  EXPECT(t, BI_APPROX, "true", I(5), I(7), I(2));
  EXPECT(t, BI_APPROX, "false", I(5), I(8), I(2));
  EXPECT(t, BI_APPROX, "true", I(7), I(5), F(2.5));
  EXPECT(t, BI_APPROX, "true", I(3), I(3), I(0));
  /* ints compare exactly: doubles would call these equal, or overflow */
  EXPECT(t, BI_APPROX, "false", I(9007199254740993), I(9007199254740992), I(0));
  EXPECT(t, BI_APPROX, "true", I(INT64_MAX), I(INT64_MAX - 1), I(1));
  EXPECT(t, BI_APPROX, "false", I(INT64_MIN), I(INT64_MAX), I(INT64_MAX));
  EXPECT(t, BI_APPROX, "true", I(INT64_MIN), I(INT64_MAX), F(1e20));
  EXPECT(t, BI_APPROX, "true", F(0.1 + 0.2), F(0.3), F(1e-9));
  EXPECT(t, BI_APPROX, "false", F(0.1 + 0.2), F(0.3), F(0));
  EXPECT(t, BI_APPROX, "true", F(1.0), I(1), I(0));
  EXPECT(t, BI_APPROX, "true", F(-2.5), F(-2.0), F(0.5));
  EXPECT(t, BI_APPROX, "false", F(-2.5), F(-2.0), F(0.4999));
  EXPECT(t, BI_APPROX, "true", F(INFINITY), F(INFINITY), I(0));
  EXPECT(t, BI_APPROX, "false", F(INFINITY), F(1e308), F(1e308));
  EXPECT(t, BI_APPROX, "true", F(1e308), F(-1e308), F(INFINITY));
  /* NaN approximates nothing, itself included */
  EXPECT(t, BI_APPROX, "false", F(NAN), F(NAN), I(1));
  EXPECT(t, BI_APPROX, "false", F(NAN), I(1), F(INFINITY));
  EXPECT(t, BI_APPROX, "error: `approx` expects a tolerance of 0 or more, found nan", I(1), I(1), F(NAN));
  EXPECT(t, BI_APPROX, "error: `approx` expects a tolerance of 0 or more, found -0.5", I(1), I(1), F(-0.5));
  EXPECT(t, BI_APPROX, "error: `approx` expects a tolerance of 0 or more, found -1", F(1), F(1), I(-1));
  EXPECT(t, BI_APPROX, "error: `approx` expects a number as its first argument, found \"1\"", S("1"), I(1), I(0));
  EXPECT(t, BI_APPROX, "error: `approx` expects a number as its third argument, found none", I(1), I(1),
         value_none());
}

/* token_f1 and rouge_l on (a, b) and (b, a): both are symmetric. */
static void expect_similar_at(T *t, BuiltinId id, const char *want, const char *a, const char *b, int line) {
  expect_at(t, id, want, (Value[]){S(a), S(b)}, 2, line);
  expect_at(t, id, want, (Value[]){S(b), S(a)}, 2, line);
}
#define EXPECT_SIMILAR(t, id, want, a, b) expect_similar_at((t), (id), (want), (a), (b), __LINE__)

static void test_token_f1(T *t) {
  /* SQuAD's example: 3 shared tokens, P = 3/3, R = 3/6, F1 = 2/3 */
  EXPECT_SIMILAR(t, BI_TOKEN_F1, "0.6666666666666666", "the cat sat", "the cat sat on the mat");
  EXPECT_SIMILAR(t, BI_TOKEN_F1, "1.0", "Hello, World!", "hello world");
  EXPECT_SIMILAR(t, BI_TOKEN_F1, "0.75", "the gunman kill police", "police killed the gunman");
  EXPECT_SIMILAR(t, BI_TOKEN_F1, "0.5", "a a a", "a"); /* a multiset: one shared a */
  EXPECT_SIMILAR(t, BI_TOKEN_F1, "0.0", "red", "blue");
  EXPECT_SIMILAR(t, BI_TOKEN_F1, "1.0", "", "");
  EXPECT_SIMILAR(t, BI_TOKEN_F1, "1.0", "?!", " ... "); /* no tokens on either side */
  EXPECT_SIMILAR(t, BI_TOKEN_F1, "0.0", "", "word");
  EXPECT_SIMILAR(t, BI_TOKEN_F1, "0.4", "don't stop", "dont stop"); /* don, t, stop against dont, stop */
  EXPECT_SIMILAR(t, BI_TOKEN_F1, "1.0", "Don't stop, Zo\xc3\xab!", "don t STOP zo\xc3\xab");
  EXPECT_SIMILAR(t, BI_TOKEN_F1, "1.0", "STRASSE Caf\xc3\x89 \xce\xa3\xce\x91\xce\xa3", "strasse caf\xc3\xa9 \xcf\x83\xce\xb1\xcf\x82");
  EXPECT_SIMILAR(t, BI_TOKEN_F1, "0.6666666666666666", "\xe6\x88\x91\xe7\x88\xb1\xe7\x8c\xab", "\xe6\x88\x91\xe7\x88\xb1\xe7\x8b\x97"); /* 我爱猫, 我爱狗: one token per ideograph */
  EXPECT_SIMILAR(t, BI_TOKEN_F1, "1.0", "good\xf0\x9f\x98\x80job 42\xe2\x80\x94x", "good job 42 x"); /* emoji and dash separate */
  EXPECT_SIMILAR(t, BI_TOKEN_F1, "1.0", "na\xc3\xafve \xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", "NA\xc3\x8fVE \xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2");
  EXPECT_SIMILAR(t, BI_TOKEN_F1, "1.0", "a\xff" "b", "a b"); /* an invalid byte separates */
  EXPECT(t, BI_TOKEN_F1, "error: `token_f1` expects a string as its first argument, found 1", I(1), S("a"));
}

/* A text of n numbered words "p0 p1 ...". */
static char *numbered(const char *prefix, int n) {
  size_t cap = (size_t)n * 12 + 1, len = 0;
  char *s = malloc(cap);
  for (int i = 0; i < n; i++) len += (size_t)snprintf(s + len, cap - len, "%s%s%d", i ? " " : "", prefix, i);
  return s;
}

static void test_rouge_l(T *t) {
  EXPECT_SIMILAR(t, BI_ROUGE_L, "0.6666666666666666", "the cat sat", "the cat sat on the mat");
  /* ROUGE-L's example: LCS "police the gunman", 2 * 3 / (4 + 4) */
  EXPECT_SIMILAR(t, BI_ROUGE_L, "0.75", "police kill the gunman", "police killed the gunman");
  /* the same words in another order: LCS "the gunman" (token F1 says 0.75) */
  EXPECT_SIMILAR(t, BI_ROUGE_L, "0.5", "the gunman kill police", "police killed the gunman");
  EXPECT_SIMILAR(t, BI_ROUGE_L, "0.25", "a b c d", "d c b a");
  EXPECT_SIMILAR(t, BI_ROUGE_L, "0.5", "a b c d e", "a x c y e z b"); /* LCS a c e: 2 * 3 / (5 + 7) */
  EXPECT_SIMILAR(t, BI_ROUGE_L, "1.0", "Hello, WORLD!", "hello world");
  EXPECT_SIMILAR(t, BI_ROUGE_L, "1.0", "", "...");
  EXPECT_SIMILAR(t, BI_ROUGE_L, "0.0", "", "a");
  EXPECT_SIMILAR(t, BI_ROUGE_L, "0.0", "a b", "c d");
  EXPECT(t, BI_ROUGE_L, "error: `rouge_l` expects a string as its second argument, found none", S("a"), value_none());
  /* the work bound: only the parts that differ count */
  char *a = numbered("w", 10001), *b = numbered("v", 10001), *c = numbered("w", 20000);
  EXPECT(t, BI_ROUGE_L,
         "error: `rouge_l` expects texts whose differing parts make at most 100000000 token pairs, found 10001 x "
         "10001 tokens; compare shorter texts, such as chunk_tokens pieces",
         S(a), S(b));
  EXPECT(t, BI_ROUGE_L, "1.0", S(c), S(c));
  char *d = strdup(c);
  memcpy(strstr(d, " w10000 "), " x10000 ", 8); /* one token differs in the middle */
  EXPECT(t, BI_ROUGE_L, "0.99995", S(c), S(d));
  free(a);
  free(b);
  free(c);
  free(d);
}

/* chunk_tokens on generated text of unique words, separators and non-ASCII:
 * every piece estimates at most max_tokens, pieces are whole code points,
 * and after removing the overlap (a tail of the previous piece of at most
 * `overlap` tokens) they rebuild the text. */
static void test_chunk_tokens_invariants(T *t) {
  const char *prefixes[] = {"w", "\xc3\xa9t\xc3\xa9", "\xf0\x9f\x98\x80", "\xce\xb3", "longerword"};
  const char *seps[] = {" ", ". ", "\n", "\n\n", ", ", "  "};
  char *text = malloc(40000);
  size_t len = 0;
  unsigned seed = 777;
  for (int i = 0; i < 1500; i++) {
    seed = seed * 1103515245u + 12345u;
    len += (size_t)sprintf(text + len, "%s%d%s", prefixes[(seed >> 16) % 5], i, seps[(seed >> 8) % 6]);
  }
  bool ok = true;
  char err[256];
  for (int max = 1; max <= 90 && ok; max += 11) {
    for (int overlap = 0; overlap < max && overlap <= 24; overlap += max / 3 + 1) {
      Value args[3] = {S(text), I(max), I(overlap)}, out;
      if (!builtin_call(t->ctx, t->img, BI_CHUNK_TOKENS, args, 3, &out, err, sizeof err)) {
        ok = false;
        break;
      }
      List *l = value_as_list(out);
      size_t at = 0; /* how much of the text the pieces rebuilt */
      for (uint32_t i = 0; i < l->len && ok; i++) {
        Str *p = value_as_str(l->items[i]);
        Value est;
        builtin_call(t->ctx, t->img, BI_TOKENS, &l->items[i], 1, &est, err, sizeof err);
        ok &= est.u.i >= 1 && est.u.i <= max;
        for (size_t k = 0; k < p->len && ok; k += utf8_seq_len((const unsigned char *)p->data + k, p->len - k))
          ok &= utf8_seq_len((const unsigned char *)p->data + k, p->len - k) > 0;
        size_t skip = 0; /* the overlap: the longest prefix that the rebuilt text ends with */
        if (i > 0 && overlap > 0)
          for (size_t k = p->len - 1; k > 0 && !skip; k--)
            if (k <= at && memcmp(text + at - k, p->data, k) == 0) skip = k;
        if (skip) {
          Value head = value_str(p->data, skip), est2;
          builtin_call(t->ctx, t->img, BI_TOKENS, &head, 1, &est2, err, sizeof err);
          ok &= est2.u.i <= overlap;
          value_release(head);
        }
        ok &= at + p->len - skip <= len && memcmp(text + at, p->data + skip, p->len - skip) == 0;
        at += p->len - skip;
      }
      ok &= at == len;
      value_release(out);
      value_release(args[0]);
      if (!ok) fprintf(stderr, "chunk_tokens invariants fail at max %d overlap %d\n", max, overlap);
    }
  }
  CHECK(&t->tally, ok);
  free(text);
}

/* The estimate of tokens.h, shared with `flowc check` (W0315): a text fed in
 * pieces, cut between code points, estimates as the whole does, tokens()
 * agrees with it, the estimate never exceeds the byte length (the bound the
 * checker relies on), and tokens_of_size rounds bytes/4 up. */
static void test_token_estimate(T *t) {
  const char *texts[] = {"", "x", "hello world", "a b c d e f", "   x   ", "\xf0\x9f\x98\x80 caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac",
                         "one\ttwo\nthree  four", "\xff\xfe bad bytes", "ab"};
  char err[256];
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    const char *s = texts[i];
    size_t n = strlen(s), whole = tokens_of(s, n);
    Value arg = S(s), est;
    CHECK(&t->tally, builtin_call(t->ctx, t->img, BI_TOKENS, &arg, 1, &est, err, sizeof err) &&
                         est.u.i == (int64_t)whole);
    value_release(arg);
    CHECK(&t->tally, whole <= n);
    for (size_t cut = 0; cut <= n; cut++) {
      if (cut < n && ((unsigned char)s[cut] & 0xc0) == 0x80) continue; /* inside a sequence */
      TokenEstimate e = TOKENS_START;
      tokens_add_text(&e, s, cut);
      CHECK(&t->tally, tokens_add_text(&e, s + cut, n - cut) == whole);
    }
  }
  CHECK(&t->tally, tokens_of_size(0) == 0 && tokens_of_size(1) == 1 && tokens_of_size(4) == 1 &&
                       tokens_of_size(5) == 2 && tokens_of_size(96000) == 24000);
}

static void test_chunk_tokens(T *t) {
  EXPECT(t, BI_CHUNK_TOKENS, "[]", S(""), I(10));
  EXPECT(t, BI_CHUNK_TOKENS, "[\"short\"]", S("short"), I(10));
  /* max(code points / 4 rounded up, words): "a b " is 2 tokens by its words */
  EXPECT(t, BI_CHUNK_TOKENS, "[\"a b \",\"c d \",\"e f\"]", S("a b c d e f"), I(2));
  /* at most 6 tokens; a sentence end is a better place than a word's */
  EXPECT(t, BI_CHUNK_TOKENS, "[\"The quick brown fox \",\"jumps over the lazy \",\"dog. It was not amused \",\"at all.\"]",
         S("The quick brown fox jumps over the lazy dog. It was not amused at all."), I(6));
  /* an overlap of at most 2 tokens, starting at a word */
  EXPECT(t, BI_CHUNK_TOKENS,
         "[\"The quick brown fox \",\"fox jumps over the lazy \",\"lazy dog. \",\"dog. It was not amused \",\"amused "
         "at all.\"]",
         S("The quick brown fox jumps over the lazy dog. It was not amused at all."), I(6), I(2));
  EXPECT(t, BI_CHUNK_TOKENS, "[\"one\\n\\n\",\"two three\\n\",\"four\"]", S("one\n\ntwo three\nfour"), I(3));
  /* the overlap is whole words: none when the last word alone is more */
  EXPECT(t, BI_CHUNK_TOKENS, "[\"a bb ccc \",\"bb ccc dddd \",\"dddd eeeee \",\"eeeee f g \",\"f g h\"]",
         S("a bb ccc dddd eeeee f g h"), I(3), I(2));
  EXPECT(t, BI_CHUNK_TOKENS, "[\"alpha beta \",\"gamma delta \",\"epsilon\"]", S("alpha beta gamma delta epsilon"),
         I(3), I(1));
  /* in Han text every character starts a word */
  EXPECT(t, BI_CHUNK_TOKENS, "[\"一二三四五六七八\",\"五六七八九十百千\"]", S("一二三四五六七八九十百千"), I(2), I(1));
  /* whole code points: 4 of them estimate 1 token */
  EXPECT(t, BI_CHUNK_TOKENS, "[\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\",\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\",\"\xc3\xa9\"]",
         S("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"), I(1));
  EXPECT(t, BI_CHUNK_TOKENS, "[\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\",\"\xf0\x9f\x98\x80\"]",
         S("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"), I(1));
  EXPECT(t, BI_CHUNK_TOKENS, "error: `chunk_tokens` expects a positive max_tokens, found 0", S("abc"), I(0));
  EXPECT(t, BI_CHUNK_TOKENS, "error: `chunk_tokens` expects an overlap smaller than max_tokens (3), found 3", S("abc"),
         I(3), I(3));
  EXPECT(t, BI_CHUNK_TOKENS, "error: `chunk_tokens` expects an overlap of 0 or more, found -1", S("abc"), I(3), I(-1));
  EXPECT(t, BI_CHUNK_TOKENS, "error: `chunk_tokens` expects a string as its first argument, found 3", I(3), I(3));
  test_chunk_tokens_invariants(t);
}

static void test_text_rendering(T *t) {
  char *buf = NULL;
  size_t len = 0, cap = 0;
  Value vals[] = {S("a"), I(42), value_enum(t->priority, 0), F(2.0), LIST(I(1)), value_none()};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    value_append_text(t->img, vals[i], &buf, &len, &cap);
    value_release(vals[i]);
  }
  CHECK_STR(&t->tally, buf, "a42low2.0[1]none");
  CHECK(&t->tally, len == strlen("a42low2.0[1]none"));
  free(buf);
  Value s = S("same");
  Value txt = value_to_text(t->img, s);
  CHECK(&t->tally, txt.u.o == s.u.o); /* a string is its own text */
  value_release(txt);
  value_release(s);
}

int main(void) {
  T t = {{0, 0}, builtin_ctx_new(), image_new(), 0, 0};
  char *variants[] = {"low", "normal", "urgent"};
  t.priority = image_intern_type(t.img, &(ImgType){.kind = IT_ENUM, .name = "Priority", .nvariants = 3, .variants = variants});
  char *names[] = {"id", "priority"};
  uint32_t types[] = {IMG_TYPE_STRING, t.priority};
  t.item = image_intern_type(t.img, &(ImgType){.kind = IT_RECORD, .name = "Item", .nfields = 2, .field_names = names, .field_types = types});
  test_table(&t);
  test_text(&t);
  test_regex(&t);
  test_lines(&t);
  test_chunk(&t);
  test_lists(&t);
  test_conversions(&t);
  test_valid_json(&t);
  test_approx(&t);
  test_token_f1(&t);
  test_rouge_l(&t);
  test_chunk_tokens(&t);
  test_token_estimate(&t);
  test_text_rendering(&t);
  builtin_ctx_free(t.ctx);
  image_free(t.img);
  return tally_report(&t.tally);
}
