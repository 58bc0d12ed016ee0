/* test_json_read.c - runtime/json_read.c against jansson: every document of a
 * hand-written corpus (valid and invalid), every truncation of three provider
 * envelopes and 20,000 seeded byte mutations of them must parse to an equal
 * value in both or fail in both; a cut-off text is reported as truncated;
 * the depth cap holds; error messages say what was expected and found;
 * JSON_READ_BIG_INTEGERS reads integers beyond 64 bits as doubles. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_read.h"
#include "tally.h"

#define DEPTH 2048 /* jansson's own limit, so the two agree */

static const char *const CORPUS[] = {
    "0", "-0", "1.5e3", "-2E-2", "12345678901234", "9223372036854775807", "-9223372036854775808",
    "9223372036854775808", "-9223372036854775809", "1e400", "-1e400", "1e-400", "0.1", "3.141592653589793",
    "[]", "{}", " [ 1 , 2 , [ 3 ] ] ", "{\"a\":{\"b\":[true,false,null]}}", "{\"a\":1,\"a\":2}",
    "\"\"", "\"plain\"", "\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\"\\u00e9\\u4e2d\"", "\"\\ud83d\\ude00\"",
    "\"nul \\u0000 inside\"", "\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\"", "{\"k\\u00e9y\":\"v\"}",
    "", " ", "01", "1.", ".5", "-", "+1", "1e", "1e+", "[1,]", "{\"a\":1,}", "{a:1}", "'x'", "\"\\x\"",
    "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\tb\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
    "\"\xf4\x90\x80\x80\"", "nul", "tru", "fals", "[1 2]", "{\"a\" 1}", "1 2", "{\"\\u0000\":1}", "[", "{", "\"abc",
    "{\"a\":", "[1,", "\"\\u12", "truex", "[true false]", "{\"a\":1 \"b\":2}", "\x01", "[\"a\",]", "{,}", "[,1]",
};

/* Parse with both; record agreement. */
static void agree(Tally *t, const char *s, size_t n, const char *label) {
  json_error_t je;
  JsonReadError re;
  json_t *a = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
  json_t *b = json_read(s, n, DEPTH, &re);
  bool same = (a == NULL) == (b == NULL) && (!a || json_equal(a, b));
  if (!check_at(t, same, __FILE__, __LINE__, label)) {
    fprintf(stderr, "  text (%zu bytes): %.*s\n  jansson: %s, json_read: %s\n", n, (int)(n > 200 ? 200 : n), s,
            a ? "parsed" : je.text, b ? "parsed" : re.text);
  }
  if (!a && !b) check_at(t, re.text[0] != '\0', __FILE__, __LINE__, "a failure has a message");
  json_decref(a);
  json_decref(b);
}

static const char *const ENVELOPES[] = {
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1795519470,\"model\":\"x\",\"choices\":[{"
    "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"{\\\"label\\\":\\\"positive\\\",\\\"confidence\\\""
    ":0.9}\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":7,"
    "\"completion_tokens\":10,\"total_tokens\":17}}",
    "{\"id\":\"msg_01\",\"type\":\"message\",\"content\":[{\"type\":\"tool_use\",\"name\":\"output\",\"input\":{"
    "\"label\":\"caf\xc3\xa9\",\"score\":-1.25e-3}}],\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":7}}",
    "{\"model\":\"x\",\"message\":{\"role\":\"assistant\",\"content\":\"\\u00e9\\ud83d\\ude00 \\n\"},\"done\":true,"
    "\"eval_count\":10}",
};

static uint64_t lcg(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return *s >> 33;
}

int main(void) {
  Tally t = {0, 0};
  for (size_t i = 0; i < sizeof CORPUS / sizeof *CORPUS; i++) agree(&t, CORPUS[i], strlen(CORPUS[i]), CORPUS[i]);

  /* every truncation of each envelope fails in both, and is called truncated */
  for (size_t e = 0; e < 3; e++) {
    size_t n = strlen(ENVELOPES[e]);
    agree(&t, ENVELOPES[e], n, "a whole envelope");
    unsigned truncated = 0;
    for (size_t k = 0; k < n; k++) {
      JsonReadError re;
      json_t *v = json_read(ENVELOPES[e], k, DEPTH, &re);
      truncated += !v && re.truncated;
      json_decref(v);
    }
    CHECK(&t, truncated == n);
  }

  /* seeded mutations: flip, insert or delete bytes drawn from JSON's alphabet */
  static const char ALPHABET[] = "{}[]\",:\\ u0123456789.eE+-truefalsnl\x80\xc3\xff\t\n";
  uint64_t seed = 42;
  unsigned disagreements = 0;
  for (int round = 0; round < 20000; round++) {
    const char *src = ENVELOPES[round % 3];
    size_t n = strlen(src);
    char buf[512];
    memcpy(buf, src, n);
    int edits = 1 + (int)(lcg(&seed) % 3);
    for (int k = 0; k < edits && n > 1 && n < sizeof buf - 1; k++) {
      size_t at = lcg(&seed) % n;
      char c = ALPHABET[lcg(&seed) % (sizeof ALPHABET - 1)];
      switch (lcg(&seed) % 3) {
      case 0: buf[at] = c; break;
      case 1: memmove(buf + at + 1, buf + at, n - at); buf[at] = c; n++; break;
      default: memmove(buf + at, buf + at + 1, n - at - 1); n--; break;
      }
    }
    json_error_t je;
    json_t *a = json_loadb(buf, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    json_t *b = json_read(buf, n, DEPTH, NULL);
    if ((a == NULL) != (b == NULL) || (a && !json_equal(a, b))) {
      if (disagreements++ < 5)
        fprintf(stderr, "  mutation %d differs (jansson: %s): %.*s\n", round, a ? "parsed" : je.text, (int)n, buf);
    }
    json_decref(a);
    json_decref(b);
  }
  CHECK(&t, disagreements == 0);

  /* the depth cap, and messages that say what was expected and found */
  JsonReadError re;
  json_t *three = json_read("[[[1]]]", 7, 3, NULL);
  CHECK(&t, three != NULL);
  json_decref(three);
  CHECK(&t, json_read("[[[[1]]]]", 9, 3, &re) == NULL && strstr(re.text, "at most 3 levels"));
  CHECK(&t, json_read("{\"a\" 1}", 7, 8, &re) == NULL);
  CHECK_STR(&t, re.text, "expected ':' after an object key, found '1'");
  CHECK(&t, re.position == 5 && !re.truncated);
  CHECK(&t, json_read("[1,", 3, 8, &re) == NULL && re.truncated);

  /* JSON_READ_BIG_INTEGERS: an integer beyond 64 bits becomes a double;
   * one beyond a double's range is still refused, and so are bad texts */
  json_t *big = json_read_opts("[123456789012345678901234567890, -9223372036854775809, 7]", 57, 8,
                               JSON_READ_BIG_INTEGERS, &re);
  CHECK(&t, big && json_is_real(json_array_get(big, 0)) && json_real_value(json_array_get(big, 0)) == 1.2345678901234568e29);
  CHECK(&t, big && json_is_real(json_array_get(big, 1)) && json_real_value(json_array_get(big, 1)) == -9223372036854775808.0);
  CHECK(&t, big && json_is_integer(json_array_get(big, 2)) && json_integer_value(json_array_get(big, 2)) == 7);
  json_decref(big);
  char huge[400];
  memset(huge, '9', 399);
  huge[399] = '\0';
  CHECK(&t, json_read_opts(huge, 399, 8, JSON_READ_BIG_INTEGERS, &re) == NULL);
  CHECK_STR(&t, re.text, "expected a number that fits a double, found one that overflows");
  CHECK(&t, json_read("123456789012345678901234567890", 30, 8, &re) == NULL);
  CHECK_STR(&t, re.text, "expected an integer that fits 64 bits, found a too big integer");
  CHECK(&t, json_read_opts("[1,]", 4, 8, JSON_READ_BIG_INTEGERS, &re) == NULL);
  return tally_report(&t);
}
