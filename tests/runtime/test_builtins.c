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
  test_text_rendering(&t);
  builtin_ctx_free(t.ctx);
  image_free(t.img);
  return tally_report(&t.tally);
}
