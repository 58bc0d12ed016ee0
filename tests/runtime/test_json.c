/* test_json.c - unit tests of JSON <-> value conversion and of the lenient
 * parsing of model replies (runtime/json_value.c).
 *
 * Builds a small image by hand (an enum, nested records, lists, maps,
 * optionals), decodes JSON documents against its types and checks either the
 * values or the exact error message with its field path; encodes values and
 * checks the exact text; parses replies wrapped in markdown fences and prose
 * or written with trailing commas, single quotes and unquoted keys. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "json_value.h"
#include "tally.h"
#include "value.h"

/* The types of the test image. */
typedef struct Types {
  uint32_t priority, triage, item, items, outer, str_opt, float_opt, str_list, int_map, any_list, image_t;
} Types;

static uint32_t record(Image *img, const char *name, uint32_t n, char **names, uint32_t *types) {
  ImgType t = {.kind = IT_RECORD, .name = (char *)name, .nfields = n, .field_names = names, .field_types = types};
  return image_intern_type(img, &t);
}

static Image *test_image(Types *ty) {
  Image *img = image_new();
  char *variants[] = {"low", "normal", "urgent"};
  ty->priority = image_intern_type(img, &(ImgType){.kind = IT_ENUM, .name = "Priority", .nvariants = 3, .variants = variants});
  ty->str_opt = image_intern_type(img, &(ImgType){.kind = IT_OPT, .elem = IMG_TYPE_STRING});
  ty->float_opt = image_intern_type(img, &(ImgType){.kind = IT_OPT, .elem = IMG_TYPE_FLOAT});
  ty->str_list = image_intern_type(img, &(ImgType){.kind = IT_LIST, .elem = IMG_TYPE_STRING});
  ty->int_map = image_intern_type(img, &(ImgType){.kind = IT_MAP, .elem = IMG_TYPE_INT});
  ty->any_list = image_intern_type(img, &(ImgType){.kind = IT_LIST, .elem = IMG_TYPE_ANY});
  ty->image_t = IMG_TYPE_IMAGE;
  char *tn[] = {"priority", "category", "summary", "needs_human", "score", "tags", "note"};
  uint32_t tt[] = {ty->priority, IMG_TYPE_STRING, IMG_TYPE_STRING, IMG_TYPE_BOOL, ty->float_opt, ty->str_list,
                   ty->str_opt};
  ty->triage = record(img, "Triage", 7, tn, tt);
  char *in[] = {"id", "count"};
  uint32_t it[] = {IMG_TYPE_STRING, IMG_TYPE_INT};
  ty->item = record(img, "Item", 2, in, it);
  ty->items = image_intern_type(img, &(ImgType){.kind = IT_LIST, .elem = ty->item});
  char *on[] = {"triage", "items", "counts", "ratio"};
  uint32_t ot[] = {ty->triage, ty->items, ty->int_map, IMG_TYPE_FLOAT};
  ty->outer = record(img, "Outer", 4, on, ot);
  return img;
}

/* Decode `text` as `type`; returns the value (none on failure) and leaves
 * the error in err. */
static bool decode(const Image *img, uint32_t type, const char *text, unsigned flags, Value *out, char *err,
                   size_t errlen) {
  json_error_t jerr;
  json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
  if (!j) {
    snprintf(err, errlen, "test bug: bad JSON: %s", jerr.text);
    *out = value_none();
    return false;
  }
  bool ok = json_to_value(img, type, j, flags, out, err, errlen);
  json_decref(j);
  return ok;
}

/* Check that decoding fails with exactly `want`. */
static void expect_error_at(Tally *t, const Image *img, uint32_t type, const char *text, unsigned flags,
                            const char *want, int line) {
  char err[512] = "";
  Value v;
  bool ok = decode(img, type, text, flags, &v, err, sizeof err);
  check_at(t, !ok && v.tag == V_NONE, __FILE__, line, "decoding fails");
  check_str_at(t, err, want, __FILE__, line);
  value_release(v);
}
#define EXPECT_ERROR(t, img, type, text, want) expect_error_at((t), (img), (type), (text), 0, (want), __LINE__)

/* Check that `text` decodes and re-encodes as `want`. */
static void expect_roundtrip_at(Tally *t, const Image *img, uint32_t type, const char *text, const char *want,
                                int line) {
  char err[512] = "";
  Value v;
  bool ok = decode(img, type, text, 0, &v, err, sizeof err);
  if (!check_at(t, ok, __FILE__, line, "decoding succeeds")) {
    fprintf(stderr, "  error: %s\n", err);
    return;
  }
  char *back = value_to_json_text(img, type, v);
  check_str_at(t, back, want, __FILE__, line);
  free(back);
  value_release(v);
}
#define EXPECT_ROUNDTRIP(t, img, type, text, want) expect_roundtrip_at((t), (img), (type), (text), (want), __LINE__)

static const char *TRIAGE_OK =
    "{\"priority\": \"urgent\", \"category\": \"bug\", \"summary\": \"site down\", \"needs_human\": true,"
    " \"score\": 0.5, \"tags\": [\"a\", \"b\"]}";

static void test_decode_ok(Tally *t, const Image *img, const Types *ty) {
  char err[512] = "";
  Value v;
  CHECK(t, decode(img, ty->triage, TRIAGE_OK, 0, &v, err, sizeof err));
  Record *r = value_as_record(v);
  CHECK(t, v.tag == V_RECORD && r->type == ty->triage && r->nfields == 7);
  CHECK(t, r->fields[0].tag == V_ENUM && r->fields[0].u.e.type == ty->priority && r->fields[0].u.e.variant == 2);
  CHECK(t, r->fields[1].tag == V_STR && strcmp(value_as_str(r->fields[1])->data, "bug") == 0);
  CHECK(t, r->fields[3].tag == V_BOOL && r->fields[3].u.b);
  CHECK(t, r->fields[4].tag == V_FLOAT && r->fields[4].u.f == 0.5);
  CHECK(t, r->fields[5].tag == V_LIST && value_as_list(r->fields[5])->len == 2);
  CHECK(t, r->fields[6].tag == V_NONE); /* optional, missing */
  char *text = value_to_json_text(img, ty->triage, v);
  CHECK_STR(t, text, "{\"priority\":\"urgent\",\"category\":\"bug\",\"summary\":\"site down\",\"needs_human\":true,"
                     "\"score\":0.5,\"tags\":[\"a\",\"b\"],\"note\":null}");
  free(text);
  value_release(v);

  /* optional given as null; float given as an integer; int given as 3.0 */
  EXPECT_ROUNDTRIP(t, img, ty->outer,
                   "{\"triage\": {\"priority\": \"low\", \"category\": \"c\", \"summary\": \"s\","
                   " \"needs_human\": false, \"score\": null, \"tags\": [], \"note\": \"n\"},"
                   " \"items\": [{\"id\": \"x\", \"count\": 3.0}], \"counts\": {\"b\": 2, \"a\": 1, \"\": 0},"
                   " \"ratio\": 2}",
                   "{\"triage\":{\"priority\":\"low\",\"category\":\"c\",\"summary\":\"s\",\"needs_human\":false,"
                   "\"score\":null,\"tags\":[],\"note\":\"n\"},\"items\":[{\"id\":\"x\",\"count\":3}],"
                   "\"counts\":{\"\":0,\"a\":1,\"b\":2},\"ratio\":2.0}");
  EXPECT_ROUNDTRIP(t, img, IMG_TYPE_INT, "9007199254740992.0", "9007199254740992");
  EXPECT_ROUNDTRIP(t, img, IMG_TYPE_INT, "-12", "-12");
  EXPECT_ROUNDTRIP(t, img, ty->str_opt, "null", "null");
  EXPECT_ROUNDTRIP(t, img, ty->any_list, "[1, 2.5, \"x\", null, true, [1], {\"b\": 1, \"a\": [] }]",
                   "[1,2.5,\"x\",null,true,[1],{\"a\":[],\"b\":1}]");
  EXPECT_ROUNDTRIP(t, img, IMG_TYPE_STRING, "\"h\\u00e9 \\ud83d\\ude00 \\n\\t\\\"q\\\" \\\\ \\u0001\"",
                   "\"hé 😀 \\n\\t\\\"q\\\" \\\\ \\u0001\"");

  /* maps come out sorted by key bytes */
  CHECK(t, decode(img, ty->int_map, "{\"zeta\": 1, \"Alpha\": 2, \"alpha\": 3, \"é\": 4}", 0, &v, err, sizeof err));
  Map *m = value_as_map(v);
  CHECK(t, m->len == 4 && strcmp(m->entries[0].key->data, "Alpha") == 0 && strcmp(m->entries[3].key->data, "é") == 0);
  const Value *z = map_get(v, "zeta", 4);
  CHECK(t, z && z->u.i == 1);
  value_release(v);
}

static void test_decode_errors(Tally *t, const Image *img, const Types *ty) {
  EXPECT_ERROR(t, img, ty->outer,
               "{\"triage\": {\"priority\": \"URGENT!\", \"category\": \"c\", \"summary\": \"s\","
               " \"needs_human\": false, \"tags\": []}, \"items\": [], \"counts\": {}, \"ratio\": 1}",
               "at .triage.priority: expected one of \"low\", \"normal\", \"urgent\", found \"URGENT!\"");
  EXPECT_ERROR(t, img, ty->items, "[{\"id\": \"a\", \"count\": 1}, {\"id\": \"b\", \"count\": 2}, {\"id\": 42, \"count\": 3}]",
               "at [2].id: expected a string, found 42");
  EXPECT_ERROR(t, img, ty->outer,
               "{\"triage\": {\"priority\": \"low\", \"category\": \"c\", \"summary\": \"s\","
               " \"needs_human\": false, \"tags\": []}, \"items\": [{\"id\": \"a\", \"count\": 1.5}],"
               " \"counts\": {}, \"ratio\": 1}",
               "at .items[0].count: expected an integer, found 1.5");
  EXPECT_ERROR(t, img, ty->triage,
               "{\"priority\": \"low\", \"category\": \"c\", \"needs_human\": false, \"tags\": []}",
               "missing field \"summary\" (expected a string)");
  EXPECT_ERROR(t, img, ty->triage,
               "{\"priority\": \"low\", \"category\": \"c\", \"sumary\": \"s\", \"needs_human\": false, \"tags\": []}",
               "missing field \"summary\" (expected a string), found unknown field \"sumary\"");
  EXPECT_ERROR(t, img, ty->triage,
               "{\"priority\": \"low\", \"category\": \"c\", \"summary\": \"s\", \"needs_human\": false,"
               " \"tags\": [], \"extra\": 1}",
               "unknown field \"extra\" (Triage has fields \"priority\", \"category\", \"summary\", \"needs_human\", "
               "\"score\", \"tags\", \"note\")");
  EXPECT_ERROR(t, img, ty->triage,
               "{\"priority\": \"low\", \"category\": \"c\", \"summary\": null, \"needs_human\": false, \"tags\": []}",
               "at .summary: expected a string, found null");
  EXPECT_ERROR(t, img, ty->triage,
               "{\"priority\": \"low\", \"category\": \"c\", \"summary\": \"s\", \"needs_human\": \"yes\", \"tags\": []}",
               "at .needs_human: expected true or false, found \"yes\"");
  EXPECT_ERROR(t, img, ty->triage,
               "{\"priority\": \"low\", \"category\": \"c\", \"summary\": \"s\", \"needs_human\": true,"
               " \"tags\": [\"a\", [1, 2]]}",
               "at .tags[1]: expected a string, found an array of 2 items");
  EXPECT_ERROR(t, img, ty->triage,
               "{\"priority\": \"low\", \"category\": \"c\", \"summary\": \"s\", \"needs_human\": true,"
               " \"tags\": [], \"note\": 5}",
               "at .note: expected a string or null, found 5");
  EXPECT_ERROR(t, img, ty->triage, "[1]", "expected an object (Triage), found an array of 1 item");
  EXPECT_ERROR(t, img, ty->int_map, "{\"ok\": 1, \"not ok\": \"x\"}", "at [\"not ok\"]: expected an integer, found \"x\"");
  EXPECT_ERROR(t, img, IMG_TYPE_INT, "9007199254740994.0", "expected an integer, found 9007199254740994.0");
  EXPECT_ERROR(t, img, IMG_TYPE_INT, "\"12\"", "expected an integer, found \"12\"");
  EXPECT_ERROR(t, img, IMG_TYPE_FLOAT, "true", "expected a number, found true");
  EXPECT_ERROR(t, img, IMG_TYPE_STRING, "{}", "expected a string, found an object");
  EXPECT_ERROR(t, img, IMG_TYPE_IMAGE, "\"cat.png\"", "expected an image, which cannot be read from JSON");
  EXPECT_ERROR(t, img, IMG_TYPE_STRING,
               "1.5e300", "expected a string, found 1.5e+300");
  EXPECT_ERROR(t, img, IMG_TYPE_INT,
               "\"a very long string that goes on and on and on for more than forty-eight bytes\"",
               "expected an integer, found \"a very long string that goes on and on and on fo...\"");

  /* enums: exact by default, case-insensitive on request */
  Value v;
  char err[512];
  EXPECT_ERROR(t, img, ty->priority, "\"Urgent\"", "expected one of \"low\", \"normal\", \"urgent\", found \"Urgent\"");
  CHECK(t, decode(img, ty->priority, "\" Urgent \"", JV_LENIENT_ENUMS, &v, err, sizeof err));
  CHECK(t, v.tag == V_ENUM && v.u.e.variant == 2);
  CHECK(t, decode(img, ty->priority, "\"NORMAL\"", JV_LENIENT_ENUMS, &v, err, sizeof err) && v.u.e.variant == 1);
  expect_error_at(t, img, ty->priority, "\"URGENT!\"", JV_LENIENT_ENUMS,
                  "expected one of \"low\", \"normal\", \"urgent\", found \"URGENT!\"", __LINE__);

  /* depth cap: 64 nested arrays decode, 65 do not */
  char deep[200];
  for (int n = 64; n <= 65; n++) {
    memset(deep, '[', (size_t)n);
    memset(deep + n, ']', (size_t)n);
    deep[2 * n] = '\0';
    bool ok = decode(img, ty->any_list, deep, 0, &v, err, sizeof err);
    CHECK(t, ok == (n == 64));
    if (!ok) CHECK(t, strstr(err, "deeper than 64 levels") != NULL);
    value_release(v);
  }
  /* a NULL document */
  CHECK(t, !json_to_value(img, IMG_TYPE_STRING, NULL, 0, &v, err, sizeof err));
  CHECK_STR(t, err, "expected a JSON value, found nothing");
}

static void test_encode(Tally *t, const Image *img, const Types *ty) {
  char buf[32];
  struct {
    double d;
    const char *want;
  } nums[] = {{0.1, "0.1"},          {1.0, "1.0"},      {-2.0, "-2.0"},          {1e100, "1e+100"},
              {1.0 / 3, "0.3333333333333333"},             {2.5e-8, "2.5e-08"},     {0.0, "0.0"},
              {-0.0, "-0.0"},        {123456789.0, "123456789.0"},                {1e15, "1e+15"},
              {5e-324, "4.94065645841247e-324"},           {NAN, "nan"},            {-INFINITY, "-inf"},
              {0.30000000000000004, "0.30000000000000004"}};
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    json_format_double(nums[i].d, buf);
    CHECK_STR(t, buf, nums[i].want);
    if (isfinite(nums[i].d)) CHECK(t, strtod(buf, NULL) == nums[i].d);
  }

  /* an int in a float slot is written as a float; NaN as null */
  char *s = value_to_json_text(img, IMG_TYPE_FLOAT, value_int(2));
  CHECK_STR(t, s, "2.0");
  free(s);
  s = value_to_json_text(img, ty->float_opt, value_int(2));
  CHECK_STR(t, s, "2.0");
  free(s);
  s = value_to_json_text(img, IMG_TYPE_ANY, value_float(NAN));
  CHECK_STR(t, s, "null");
  free(s);
  s = value_to_json_text(img, ty->priority, value_enum(ty->priority, 1));
  CHECK_STR(t, s, "\"normal\"");
  free(s);
  s = value_to_json_text(img, IMG_TYPE_ANY, value_none());
  CHECK_STR(t, s, "null");
  free(s);
  /* invalid UTF-8 becomes U+FFFD; control characters are escaped */
  Value bad = value_str("a\xff\xc3(\x1f\x7f", 6);
  s = value_to_json_text(img, IMG_TYPE_STRING, bad);
  CHECK_STR(t, s, "\"a\\ufffd\\ufffd(\\u001f\x7f\"");
  free(s);
  value_release(bad);
  /* media: a summary */
  Value media = value_media("image/png", "cat.png", "abc", 3);
  s = value_to_json_text(img, IMG_TYPE_IMAGE, media);
  CHECK_STR(t, s, "{\"media\":\"image/png\",\"name\":\"cat.png\",\"bytes\":3}");
  free(s);
  value_release(media);

  /* a record by inspection (type any) uses the record's own type */
  Value it = value_record(ty->item, 2);
  record_set_steal(it, 0, value_cstr("x"));
  record_set_steal(it, 1, value_int(7));
  s = value_to_json_text(img, IMG_TYPE_ANY, it);
  CHECK_STR(t, s, "{\"id\":\"x\",\"count\":7}");
  free(s);
  json_t *j = value_to_json(img, ty->item, it);
  CHECK(t, j && json_is_object(j) && json_integer_value(json_object_get(j, "count")) == 7);
  Value back;
  char err[256];
  CHECK(t, json_to_value(img, ty->item, j, 0, &back, err, sizeof err));
  CHECK(t, value_equal(back, it));
  value_release(back);
  json_decref(j);
  value_release(it);

  /* appending to a buffer */
  char *buf2 = NULL;
  size_t len = 0, cap = 0;
  value_append_json(img, IMG_TYPE_ANY, value_int(1), &buf2, &len, &cap);
  value_append_json(img, IMG_TYPE_ANY, value_bool(false), &buf2, &len, &cap);
  CHECK(t, len == 6);
  CHECK_STR(t, buf2, "1false");
  free(buf2);

  /* determinism: the same map built in different orders encodes alike */
  Value m1 = value_map(0), m2 = value_map(0);
  const char *keys[] = {"b", "a", "c", "aa"};
  for (int i = 0; i < 4; i++) {
    Str *k1 = str_new(keys[i], strlen(keys[i])), *k2 = str_new(keys[3 - i], strlen(keys[3 - i]));
    map_set_steal(m1, k1, value_float(0.1 * i));
    map_set_steal(m2, k2, value_float(0.1 * (3 - i)));
    value_release(value_obj(V_STR, &k1->obj));
    value_release(value_obj(V_STR, &k2->obj));
  }
  char *e1 = value_to_json_text(img, IMG_TYPE_ANY, m1), *e2 = value_to_json_text(img, IMG_TYPE_ANY, m2);
  CHECK_STR(t, e1, e2);
  CHECK_STR(t, e1, "{\"a\":0.1,\"aa\":0.30000000000000004,\"b\":0.0,\"c\":0.2}");
  free(e1);
  free(e2);
  value_release(m1);
  value_release(m2);
}

/* Check that a reply parses leniently to JSON equal to `want` (strict text). */
static void expect_lenient_at(Tally *t, const char *reply, const char *want, int line) {
  char err[256] = "";
  json_t *got = json_parse_lenient(reply, strlen(reply), err, sizeof err);
  json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
  bool ok = got && w && json_equal(got, w);
  if (!check_at(t, ok, __FILE__, line, "lenient parse")) {
    char *dump = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    fprintf(stderr, "  reply: %s\n  want:  %s\n  got:   %s\n  error: %s\n", reply, want, dump ? dump : "(null)", err);
    free(dump);
  }
  json_decref(got);
  json_decref(w);
}
#define EXPECT_LENIENT(t, reply, want) expect_lenient_at((t), (reply), (want), __LINE__)

/* Check that a reply is refused with an error containing `part`. */
static void expect_refused_at(Tally *t, const char *reply, const char *part, int line) {
  char err[256] = "";
  json_t *got = json_parse_lenient(reply, strlen(reply), err, sizeof err);
  check_at(t, got == NULL, __FILE__, line, "lenient parse refuses");
  if (!check_at(t, strstr(err, part) != NULL, __FILE__, line, "error mentions the problem"))
    fprintf(stderr, "  error: %s\n  wanted a mention of: %s\n", err, part);
  json_decref(got);
}
#define EXPECT_REFUSED(t, reply, part) expect_refused_at((t), (reply), (part), __LINE__)

static void test_lenient(Tally *t) {
  EXPECT_LENIENT(t, "{\"a\": 1, \"b\": [true, null]}", "{\"a\": 1, \"b\": [true, null]}");
  EXPECT_LENIENT(t, "  42 ", "42");
  EXPECT_LENIENT(t, "\"text\"", "\"text\"");
  EXPECT_LENIENT(t, "```json\n{\"priority\": \"low\"}\n```", "{\"priority\": \"low\"}");
  EXPECT_LENIENT(t, "Here you go:\n\n```json\n[1, 2, 3]\n```\nAnything else?", "[1, 2, 3]");
  EXPECT_LENIENT(t, "```\n{\"a\": 1}\n```", "{\"a\": 1}");
  EXPECT_LENIENT(t, "```{\"a\": 1}```", "{\"a\": 1}");
  EXPECT_LENIENT(t, "```json\n{\"a\": 1}", "{\"a\": 1}"); /* unclosed fence */
  EXPECT_LENIENT(t, "Sure! Here's the result: {\"a\": {\"b\": \"}\"}} Let me know if you need more.",
                 "{\"a\": {\"b\": \"}\"}}");
  EXPECT_LENIENT(t, "I think [note] the answer is {\"x\": 1}.", "{\"x\": 1}");
  EXPECT_LENIENT(t, "{\"a\": 1, \"b\": [1, 2, ], }", "{\"a\": 1, \"b\": [1, 2]}");
  EXPECT_LENIENT(t, "{'a': 'it\\'s', 'b': 'say \"hi\"'}", "{\"a\": \"it's\", \"b\": \"say \\\"hi\\\"\"}");
  EXPECT_LENIENT(t, "{priority: \"low\", needs_human: false, first-name: 'x', $x_1: 2}",
                 "{\"priority\": \"low\", \"needs_human\": false, \"first-name\": \"x\", \"$x_1\": 2}");
  EXPECT_LENIENT(t, "{\"ok\": True, \"v\": None, \"n\": False}", "{\"ok\": true, \"v\": null, \"n\": false}");
  EXPECT_LENIENT(t, "{\n  // a comment\n  \"a\": 1, /* another */ \"b\": 2\n}", "{\"a\": 1, \"b\": 2}");
  EXPECT_LENIENT(t, "{\"text\": \"line one\nline two\"}", "{\"text\": \"line one\\nline two\"}");
  EXPECT_LENIENT(t, "{\"n\": +1, \"m\": .5, \"k\": -.25, \"e\": 1e-3, \"f\": 5.}",
                 "{\"n\": 1, \"m\": 0.5, \"k\": -0.25, \"e\": 0.001, \"f\": 5.0}");
  EXPECT_LENIENT(t, "{\"s\": \"caf\\u00e9 😀\"}", "{\"s\": \"café 😀\"}");
  EXPECT_LENIENT(t, "{\"a\": \"\\d+\"}", "{\"a\": \"\\\\d+\"}");

  EXPECT_REFUSED(t, "I cannot help with that.", "expected JSON in the reply, found \"I cannot help with that.\"");
  EXPECT_REFUSED(t, "", "an empty reply");
  EXPECT_REFUSED(t, "{\"a\": 1", "expected JSON");
  EXPECT_REFUSED(t, "{\"a\": \"unterminated}", "expected JSON");
  EXPECT_REFUSED(t, "[1,,2]", "expected JSON");

  /* depth cap: 64 nested arrays parse, 65 are refused, a million do not crash */
  char deep[200];
  for (int n = 64; n <= 65; n++) {
    memset(deep, '[', (size_t)n);
    memset(deep + n, ']', (size_t)n);
    deep[2 * n] = '\0';
    char err[256] = "";
    json_t *j = json_parse_lenient(deep, strlen(deep), err, sizeof err);
    CHECK(t, (j != NULL) == (n == 64));
    if (!j) CHECK_STR(t, err, "the JSON nests deeper than 64 levels");
    json_decref(j);
  }
  size_t big = 1000000;
  char *huge = malloc(2 * big + 1);
  memset(huge, '[', big);
  memset(huge + big, ']', big);
  huge[2 * big] = '\0';
  char err[256] = "";
  json_t *j = json_parse_lenient(huge, 2 * big, err, sizeof err);
  CHECK(t, j == NULL);
  CHECK_STR(t, err, "the JSON nests deeper than 64 levels");
  free(huge);
}

int main(void) {
  Tally t = {0, 0};
  Types ty;
  Image *img = test_image(&ty);
  test_decode_ok(&t, img, &ty);
  test_decode_errors(&t, img, &ty);
  test_encode(&t, img, &ty);
  test_lenient(&t);
  image_free(img);
  return tally_report(&t);
}
