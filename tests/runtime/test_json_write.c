/* test_json_write.c - runtime/json_write.c: commas and nesting, string
 * escaping (controls, quotes, invalid UTF-8), numbers, raw values and base64
 * strings give the exact compact text expected, and a random nesting of
 * every kind of value reads back with json_read as valid JSON equal to the
 * same value built with jansson. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_read.h"
#include "json_write.h"
#include "tally.h"

static uint64_t lcg(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return *s >> 33;
}

/* One random value of at most `depth` levels, written by `w` and built as
 * jansson's value at the same time (returned, a new reference). */
static json_t *random_value(JsonWriter *w, uint64_t *seed, int depth) {
  static const char *const STRINGS[] = {"", "plain", "q\"uote", "back\\slash", "tab\tnl\n", "\x01\x1f",
                                        "caf\xc3\xa9", "\xf0\x9f\x98\x80", "bad \xff byte"};
  unsigned kind = (unsigned)(lcg(seed) % (depth > 0 ? 8 : 6));
  switch (kind) {
  case 0: jw_int(w, (int64_t)lcg(seed) - (1 << 30)); return NULL; /* compared by re-reading, below */
  case 1: {
    double d = (double)(int64_t)(lcg(seed) % 2000000 - 1000000) / 64.0;
    jw_real(w, d);
    return json_real(d);
  }
  case 2: {
    bool b = lcg(seed) & 1;
    jw_bool(w, b);
    return json_boolean(b);
  }
  case 3: jw_raw(w, "null", 4); return json_null();
  case 4:
  case 5: {
    const char *s = STRINGS[lcg(seed) % (sizeof STRINGS / sizeof *STRINGS)];
    jw_cstring(w, s);
    if (strstr(s, "\xff")) return json_string("bad \xef\xbf\xbd byte"); /* U+FFFD */
    return json_string(s);
  }
  case 6: {
    json_t *a = json_array();
    jw_array(w);
    for (unsigned i = 0, n = (unsigned)(lcg(seed) % 4); i < n; i++) {
      json_t *v = random_value(w, seed, depth - 1);
      json_array_append_new(a, v ? v : json_null());
    }
    jw_end_array(w);
    return a;
  }
  default: {
    json_t *o = json_object();
    jw_object(w);
    for (unsigned i = 0, n = (unsigned)(lcg(seed) % 4); i < n; i++) {
      char key[16];
      snprintf(key, sizeof key, "k%u", i);
      jw_key(w, key);
      json_t *v = random_value(w, seed, depth - 1);
      json_object_set_new(o, key, v ? v : json_null());
    }
    jw_end_object(w);
    return o;
  }
  }
}

/* Integers are written but built as null above (their value is random):
 * replace every integer of `v` by null before comparing. */
static void ints_to_null(json_t *v) {
  if (json_is_array(v)) {
    for (size_t i = 0; i < json_array_size(v); i++) {
      if (json_is_integer(json_array_get(v, i))) json_array_set_new(v, i, json_null());
      else ints_to_null(json_array_get(v, i));
    }
  } else if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
      if (json_is_integer(x)) json_object_set_new(v, k, json_null());
      else ints_to_null(x);
    }
  }
}

int main(void) {
  Tally t = {0, 0};
  TextBuf b = {0};
  JsonWriter w = jw_new(&b);
  jw_object(&w);
  jw_key(&w, "a");
  jw_array(&w);
  jw_int(&w, -7);
  jw_real(&w, 1);
  jw_real(&w, 0.1);
  jw_real(&w, 1.0 / 0.0);
  jw_bool(&w, false);
  jw_object(&w);
  jw_end_object(&w);
  jw_array(&w);
  jw_end_array(&w);
  jw_end_array(&w);
  jw_key(&w, "s");
  jw_string(&w, "a\"b\\c\n\x01\xff\xc3\xa9", 10);
  jw_key(&w, "raw");
  jw_raw(&w, "{\"x\":[1]}", 9);
  jw_key(&w, "b64");
  jw_base64(&w, "data:image/png;base64,", "hello", 5);
  jw_key(&w, "e");
  jw_base64(&w, "", "", 0);
  jw_end_object(&w);
  CHECK_STR(&t, b.data, "{\"a\":[-7,1.0,0.1,null,false,{},[]],\"s\":\"a\\\"b\\\\c\\n\\u0001\\ufffd\xc3\xa9\","
                        "\"raw\":{\"x\":[1]},\"b64\":\"data:image/png;base64,aGVsbG8=\",\"e\":\"\"}");
  CHECK(&t, b.len == strlen(b.data));
  free(b.data);

  /* a top-level scalar, and two writers on one buffer */
  TextBuf s = {0};
  JsonWriter w1 = jw_new(&s);
  jw_cstring(&w1, "x");
  CHECK_STR(&t, s.data, "\"x\"");
  free(s.data);

  /* random nestings read back equal to jansson's value */
  uint64_t seed = 7;
  unsigned bad = 0;
  for (int round = 0; round < 5000; round++) {
    TextBuf rb = {0};
    JsonWriter rw = jw_new(&rb);
    json_t *want = random_value(&rw, &seed, 4);
    JsonReadError re;
    json_t *got = json_read(rb.data, rb.len, 64, &re);
    if (!want) want = json_null();
    if (got) ints_to_null(got);
    if (json_is_integer(got)) {
      json_decref(got);
      got = json_null();
    }
    if (!got || !json_equal(got, want)) {
      if (bad++ < 5) fprintf(stderr, "  round %d: %s\n  %s\n", round, got ? "differs" : re.text, rb.data);
    }
    json_decref(got);
    json_decref(want);
    free(rb.data);
  }
  CHECK(&t, bad == 0);
  return tally_report(&t);
}
