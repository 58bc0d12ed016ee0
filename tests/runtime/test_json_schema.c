/* test_json_schema.c - the JSON Schema validator (runtime/json_schema.c):
 * the exact message of a violation of every keyword, with its path in the
 * value; which branch anyOf and oneOf report; the limits (nesting and
 * steps) ending in an error, not a hang; the message of every kind of
 * schema error; and the schemas the compiler derives for prompt output
 * types (compiler/schema.c), against which every mock reply of the same
 * type must be valid and hand-made wrong replies must fail at the right
 * path. (valid_json's verdicts per keyword are in test_builtins.c.) */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "image.h"
#include "json_schema.h"
#include "mock.h"
#include "request.h"
#include "sha256.h"
#include "tally.h"
#include "value.h"

/* Validate the JSON text `value` against the schema text `schema` and
 * compare "valid", "invalid: MESSAGE" or "error: MESSAGE" with `want`. */
static void expect_at(Tally *t, const char *schema, const char *value, const char *want, int line) {
  char err[512], msg[512], got[600];
  JsonSchema *s = json_schema_parse(schema, strlen(schema), err, sizeof err);
  if (!s) {
    snprintf(got, sizeof got, "schema: %s", err);
  } else {
    JsonSchemaResult r = json_schema_validate_text(s, value, strlen(value), msg, sizeof msg);
    snprintf(got, sizeof got, "%s%s%s", r == JSON_SCHEMA_VALID ? "valid" : r == JSON_SCHEMA_INVALID ? "invalid" : "error",
             r == JSON_SCHEMA_VALID ? "" : ": ", r == JSON_SCHEMA_VALID ? "" : msg);
    json_schema_free(s);
  }
  if (!check_str_at(t, got, want, __FILE__, line)) fprintf(stderr, "  schema %s\n  value  %s\n", schema, value);
}
#define EXPECT(t, schema, value, want) expect_at((t), (schema), (value), (want), __LINE__)

/* Compile the schema text and compare the error with `want`. */
static void schema_error_at(Tally *t, const char *schema, const char *want, int line) {
  char err[512] = "";
  JsonSchema *s = json_schema_parse(schema, strlen(schema), err, sizeof err);
  check_str_at(t, s ? "(compiled)" : err, want, __FILE__, line);
  json_schema_free(s);
}
#define SCHEMA_ERROR(t, schema, want) schema_error_at((t), (schema), (want), __LINE__)

static void test_messages(Tally *t) {
  EXPECT(t, "{\"type\": \"string\"}", "3", "invalid: expected a string, found 3");
  EXPECT(t, "{\"type\": [\"integer\", \"string\", \"null\"]}", "2.5",
         "invalid: expected an integer, a string or null, found 2.5");
  EXPECT(t, "{\"type\": [\"number\", \"integer\"]}", "true", "invalid: expected a number, found true");
  EXPECT(t,
         "{\"properties\": {\"items\": {\"type\": \"array\", \"items\": {\"properties\": {\"name\": {\"type\": "
         "\"string\"}}}}}}",
         "{\"items\": [{\"name\": \"a\"}, {\"name\": \"b\"}, {\"name\": 3}]}",
         "invalid: at .items[2].name: expected a string, found 3");
  EXPECT(t, "{\"properties\": {\"a b\": {\"type\": \"integer\"}}}", "{\"a b\": 1.5}",
         "invalid: at [\"a b\"]: expected an integer, found 1.5");
  EXPECT(t, "{\"required\": [\"id\", \"name\"]}", "{\"id\": 1}",
         "invalid: expected an object with the property \"name\", found it missing");
  EXPECT(t, "{\"properties\": {\"name\": {}, \"age\": {}}, \"additionalProperties\": false}", "{\"nmae\": 1}",
         "invalid: expected only the properties the schema lists, found unexpected property \"nmae\" (did you mean "
         "\"name\"?)");
  EXPECT(t, "{\"additionalProperties\": false}", "{\"x\": 1}",
         "invalid: expected only the properties the schema lists, found unexpected property \"x\"");
  EXPECT(t, "{\"additionalProperties\": {\"type\": \"integer\"}}", "{\"x\": 1, \"y\": \"2\"}",
         "invalid: at .y: expected an integer, found \"2\"");
  EXPECT(t, "{\"patternProperties\": {\"^n_\": {\"type\": \"number\"}}, \"additionalProperties\": false}",
         "{\"n_a\": 1, \"n_b\": null}", "invalid: at .n_b: expected a number, found null");
  EXPECT(t, "{\"enum\": [\"low\", \"normal\", \"urgent\"]}", "\"URGENT\"",
         "invalid: expected one of \"low\", \"normal\", \"urgent\", found \"URGENT\"");
  EXPECT(t, "{\"enum\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}", "0",
         "invalid: expected one of 1, 2, 3, 4, 5, 6, 7, 8, ..., found 0");
  EXPECT(t, "{\"const\": {\"a\": [1, 2]}}", "{\"a\": [1, 3]}", "invalid: expected {\"a\":[1,2]}, found an object");
  EXPECT(t, "{\"minimum\": 1}", "0", "invalid: expected a number >= 1, found 0");
  EXPECT(t, "{\"maximum\": 1.5}", "2", "invalid: expected a number <= 1.5, found 2");
  EXPECT(t, "{\"exclusiveMinimum\": 0}", "0.0", "invalid: expected a number > 0, found 0.0");
  EXPECT(t, "{\"exclusiveMaximum\": 10}", "10", "invalid: expected a number < 10, found 10");
  EXPECT(t, "{\"multipleOf\": 0.5}", "1.2", "invalid: expected a multiple of 0.5, found 1.2");
  EXPECT(t, "{\"minLength\": 3}", "\"h\xc3\xa9\"", "invalid: expected a string of at least 3 characters, found \"h\xc3\xa9\" (2)");
  EXPECT(t, "{\"maxLength\": 1}", "\"ab\"", "invalid: expected a string of at most 1 character, found \"ab\" (2)");
  EXPECT(t, "{\"pattern\": \"^[a-z]+$\"}", "\"abc1\"",
         "invalid: expected a string matching the pattern \"^[a-z]+$\", found \"abc1\"");
  EXPECT(t, "{\"minItems\": 2}", "[1]", "invalid: expected an array of at least 2 items, found an array of 1 item");
  EXPECT(t, "{\"maxItems\": 1}", "[1, 2]", "invalid: expected an array of at most 1 item, found an array of 2 items");
  EXPECT(t, "{\"uniqueItems\": true}", "[1, {\"a\": 1}, 2, {\"a\": 1.0}]",
         "invalid: expected unique items, found items [1] and [3] equal ({\"a\":1})");
  EXPECT(t, "{\"prefixItems\": [{\"type\": \"string\"}, {\"type\": \"integer\"}], \"items\": false}",
         "[\"a\", 1, null]", "invalid: at [2]: expected no value here (the schema is false), found null");
  EXPECT(t, "{\"minProperties\": 2}", "{\"a\": 1}", "invalid: expected an object with at least 2 properties, found 1");
  EXPECT(t, "{\"maxProperties\": 1}", "{\"a\": 1, \"b\": 2}",
         "invalid: expected an object with at most 1 property, found 2");
  EXPECT(t, "false", "{}", "invalid: expected no value here (the schema is false), found an object");
  EXPECT(t, "{\"not\": {\"type\": \"null\"}}", "null",
         "invalid: expected a value that does not match the schema of `not`, found null");
  EXPECT(t, "{\"allOf\": [{\"type\": \"integer\"}, {\"minimum\": 5}]}", "4",
         "invalid: expected a number >= 5, found 4");
  EXPECT(t, "{\"type\": \"object\"}", "{\"a\": 1", "invalid: expected JSON, found text that is not: at offset 7, "
         "expected ',' or '}' in an object, found the end of the text");
  EXPECT(t, "{\"type\": \"string\", \"minLength\": 1}", "\"ok\"", "valid");
}

/* What anyOf and oneOf report when no branch (or two) match. */
static void test_branches(Tally *t) {
  const char *optional = "{\"anyOf\": [{\"type\": \"string\"}, {\"type\": \"null\"}]}";
  EXPECT(t, optional, "3", "invalid: expected a string or null, found 3");
  EXPECT(t, optional, "null", "valid");
  /* the branch that got deeper into the value */
  EXPECT(t,
         "{\"anyOf\": [{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"integer\"}}}, {\"type\": "
         "\"null\"}]}",
         "{\"a\": \"x\"}", "invalid: at .a: expected an integer, found \"x\"");
  /* at the same depth, the branch that got past "type" */
  EXPECT(t, "{\"anyOf\": [{\"type\": \"null\"}, {\"type\": \"string\", \"minLength\": 5}]}", "\"ab\"",
         "invalid: expected a string of at least 5 characters, found \"ab\" (2)");
  /* several such branches: none is singled out */
  EXPECT(t, "{\"anyOf\": [{\"const\": \"a\"}, {\"const\": \"b\"}]}", "\"c\"",
         "invalid: expected a value matching at least one of the 2 schemas of anyOf, found \"c\"");
  EXPECT(t, "{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 0}, {\"type\": \"string\"}]}", "3",
         "invalid: expected a value matching exactly one schema of oneOf, found 3, which matches schemas 0 and 1");
  EXPECT(t, "{\"oneOf\": [{\"type\": \"integer\"}, {\"type\": \"boolean\"}]}", "\"x\"",
         "invalid: expected an integer or true or false, found \"x\"");
  EXPECT(t, "{\"oneOf\": [{\"type\": \"integer\"}, {\"type\": \"string\"}]}", "\"x\"", "valid");
  /* a violation inside `not` is not reported; the `not` is */
  EXPECT(t, "{\"not\": {\"anyOf\": [{\"type\": \"string\"}, {\"const\": 1}]}}", "1",
         "invalid: expected a value that does not match the schema of `not`, found 1");
  EXPECT(t, "{\"not\": {\"anyOf\": [{\"type\": \"string\"}, {\"const\": 1}]}}", "2", "valid");
}

/* The nesting and step limits end validation with an error. */
static void test_limits(Tally *t) {
  /* a linked list 600 levels deep, built directly (text is read 256 deep) */
  const char *list = "{\"$defs\": {\"node\": {\"type\": \"object\", \"properties\": {\"next\": {\"$ref\": "
                     "\"#/$defs/node\"}}}}, \"$ref\": \"#/$defs/node\"}";
  char err[512];
  JsonSchema *s = json_schema_parse(list, strlen(list), err, sizeof err);
  CHECK(t, s != NULL);
  json_t *deep = json_object();
  for (int i = 0; i < 600; i++) {
    json_t *up = json_object();
    json_object_set_new(up, "next", deep);
    deep = up;
  }
  char msg[512];
  CHECK(t, json_schema_validate(s, deep, msg, sizeof msg) == JSON_SCHEMA_ERROR);
  CHECK(t, strstr(msg, "validation stopped at #/$defs/node/properties/next: expected schemas nested at most 1024 deep, "
                       "found deeper nesting") != NULL);
  CHECK(t, strncmp(msg, "at .next.next.", 14) == 0 && strstr(msg, "...: validation stopped") != NULL);
  CHECK(t, json_schema_check(s, deep, msg, sizeof msg) == JSON_SCHEMA_ERROR);
  CHECK_STR(t, msg, "validation stopped at #/$defs/node/properties/next: expected schemas nested at most 1024 deep, "
                    "found deeper nesting");
  json_t *shallow = json_object_get(json_object_get(deep, "next"), "next");
  for (int i = 0; i < 100; i++) shallow = json_object_get(shallow, "next");
  CHECK(t, json_schema_validate(s, shallow, msg, sizeof msg) == JSON_SCHEMA_VALID);
  json_decref(deep);
  json_schema_free(s);

  /* 24 levels of anyOf with two branches each, all failing: 2^24 paths */
  char text[4096];
  size_t len = (size_t)snprintf(text, sizeof text, "{\"$ref\": \"#/$defs/a0\", \"$defs\": {");
  for (int i = 0; i < 24; i++)
    len += (size_t)snprintf(text + len, sizeof text - len,
                            "\"a%d\": {\"anyOf\": [{\"$ref\": \"#/$defs/a%d\"}, {\"$ref\": \"#/$defs/a%d\"}]}, ", i,
                            i + 1, i + 1);
  snprintf(text + len, sizeof text - len, "\"a24\": {\"type\": \"string\"}}}");
  s = json_schema_parse(text, strlen(text), err, sizeof err);
  CHECK(t, s != NULL);
  json_t *one = json_integer(1), *str = json_string("x");
  CHECK(t, s && json_schema_check(s, one, msg, sizeof msg) == JSON_SCHEMA_ERROR);
  CHECK_STR(t, msg, "validation stopped after 10000000 schema applications: expected a schema that branches less "
                    "(anyOf or oneOf nested many times over), found more work than that");
  CHECK(t, s && json_schema_check(s, str, msg, sizeof msg) == JSON_SCHEMA_VALID);
  json_decref(one);
  json_decref(str);
  json_schema_free(s);
}

static void test_schema_errors(Tally *t) {
  SCHEMA_ERROR(t, "{\"type\": \"object\"", "the schema is not JSON: at offset 17, expected ',' or '}' in an object, "
                                          "found the end of the text");
  SCHEMA_ERROR(t, "[true]", "# must be a schema (an object, true or false), found an array of 1 item");
  SCHEMA_ERROR(t, "{\"properties\": {\"a/b\": 3}}",
               "#/properties/a~1b must be a schema (an object, true or false), found 3");
  SCHEMA_ERROR(t, "{\"type\": \"text\"}", "#/type must be a type name (\"null\", \"boolean\", \"object\", \"array\", "
                                         "\"number\", \"string\" or \"integer\") or an array of them, found \"text\"");
  SCHEMA_ERROR(t, "{\"type\": []}", "#/type must be a type name (\"null\", \"boolean\", \"object\", \"array\", "
                                    "\"number\", \"string\" or \"integer\") or an array of them, found an array of 0 "
                                    "items");
  SCHEMA_ERROR(t, "{\"minimum\": \"5\"}", "#/minimum must be a number, found \"5\"");
  SCHEMA_ERROR(t, "{\"exclusiveMinimum\": true}",
               "#/exclusiveMinimum must be a number (the boolean form of draft 4 is not supported), found true");
  SCHEMA_ERROR(t, "{\"multipleOf\": 0}", "#/multipleOf must be a number greater than 0, found 0");
  SCHEMA_ERROR(t, "{\"minLength\": -1}", "#/minLength must be a non-negative integer, found -1");
  SCHEMA_ERROR(t, "{\"maxItems\": 1.5}", "#/maxItems must be a non-negative integer, found 1.5");
  SCHEMA_ERROR(t, "{\"uniqueItems\": 1}", "#/uniqueItems must be true or false, found 1");
  SCHEMA_ERROR(t, "{\"required\": [\"a\", 1]}", "#/required must be an array of property names (strings), found an "
                                                "array of 2 items");
  SCHEMA_ERROR(t, "{\"enum\": \"a\"}", "#/enum must be an array of values, found \"a\"");
  SCHEMA_ERROR(t, "{\"pattern\": \"(\"}",
               "#/pattern must be a regular expression (PCRE2), found \"(\": missing closing parenthesis at offset 1");
  SCHEMA_ERROR(t, "{\"patternProperties\": {\"[\": true}}",
               "#/patternProperties/[ must be a regular expression (PCRE2), found \"[\": missing terminating ] for "
               "character class at offset 1");
  SCHEMA_ERROR(t, "{\"items\": [{}, {}]}",
               "#/items must be a schema (write a tuple's schemas as \"prefixItems\"), found an array of 2 items");
  SCHEMA_ERROR(t, "{\"anyOf\": []}", "#/anyOf must be a non-empty array of schemas, found an array of 0 items");
  SCHEMA_ERROR(t, "{\"allOf\": [{\"not\": 1}]}", "#/allOf/0/not must be a schema (an object, true or false), found 1");
  SCHEMA_ERROR(t, "{\"$defs\": []}", "#/$defs must be an object of schemas, found an array of 0 items");
  SCHEMA_ERROR(t, "{\"$ref\": 1}", "#/$ref must be a reference (a string), found 1");
  SCHEMA_ERROR(t, "{\"$ref\": \"other.json#/a\", \"$defs\": {\"a\": true, \"b\": false}}",
               "#/$ref must be \"#\" or \"#/$defs/NAME\" naming one of the top-level definitions (\"a\", \"b\"), "
               "found \"other.json#/a\"");
  SCHEMA_ERROR(t, "{\"properties\": {\"x\": {\"$ref\": \"#/$defs/a/properties/b\"}}, \"$defs\": {\"a\": true}}",
               "#/properties/x/$ref must be \"#\" or \"#/$defs/NAME\" naming one of the top-level definitions "
               "(\"a\"), found \"#/$defs/a/properties/b\"");
  SCHEMA_ERROR(t, "{\"$ref\": \"#\"}",
               "#/$ref \"#\" leads back to # without descending into the value, so no value could finish validating: "
               "expected a reference that is reached only inside properties or items");
  SCHEMA_ERROR(t, "{\"$defs\": {\"a\": {\"not\": {\"$ref\": \"#/$defs/b\"}}, \"b\": {\"anyOf\": [true, {\"$ref\": "
                  "\"#/$defs/a\"}]}}}",
               "#/$defs/b/anyOf/1/$ref \"#/$defs/a\" leads back to #/$defs/a without descending into the value, so "
               "no value could finish validating: expected a reference that is reached only inside properties or "
               "items");
  /* references that do descend, escaped names, the older "definitions" */
  SCHEMA_ERROR(t, "{\"$defs\": {\"a/b\": {\"items\": {\"$ref\": \"#/$defs/a~1b\"}}}, \"$ref\": \"#/$defs/a%7E1b\"}",
               "(compiled)");
  SCHEMA_ERROR(t, "{\"definitions\": {\"x y\": true}, \"$ref\": \"#/definitions/x%20y\"}", "(compiled)");
  /* unknown keywords are ignored */
  SCHEMA_ERROR(t, "{\"format\": \"email\", \"title\": 3, \"if\": 5, \"x-custom\": [1]}", "(compiled)");
}

/* The schemas compiler/schema.c derives for prompt output types. */
static const char PROGRAM[] =
    "model m { provider: mock, name: \"m\", max_tokens: 100 }\n"
    "enum Priority { low, normal, urgent }\n"
    "type Contact { name: string, email: string? }\n"
    "type Step { title: string, priority: Priority, done: bool, tags: string[] }\n"
    "type Plan { owner: Contact, steps: Step[], scores: map<string, float>, estimate: int?, notes: Step?[],\n"
    "            matrix: int[][] }\n"
    "prompt plan(goal: string) -> Plan {\n"
    "  model: m\n"
    "  user \"Plan: {{ goal }}\"\n"
    "}\n"
    "flow main(goal: string) -> Plan { yield plan(goal) }\n";

static void test_derived(Tally *t) {
  Compilation *comp = compilation_new();
  CHECK(t, compilation_check_source(comp, "plan.flow", PROGRAM, strlen(PROGRAM)));
  Image *img = compilation_lower(comp);
  CHECK(t, img != NULL && img->nprompts == 1 && img->prompts[0].schema != NULL);
  if (!img || img->nprompts != 1 || !img->prompts[0].schema) {
    compilation_free(comp);
    return;
  }
  const ImgPrompt *p = &img->prompts[0];
  char err[512], msg[512];
  JsonSchema *s = json_schema_parse(p->schema, strlen(p->schema), err, sizeof err);
  if (!check_at(t, s != NULL, __FILE__, __LINE__, "the derived schema compiles")) fprintf(stderr, "  %s\n", err);
  /* every mock reply for the type validates */
  Value msgs = value_list(0);
  Request r = {.img = img, .prompt = 0, .model = p->model, .messages = msgs, .out_type = p->out_type, .schema = p->schema};
  int invalid = 0;
  for (int i = 0; s && i < 300; i++) {
    char key[65];
    unsigned char digest[32];
    sha256_hash(&i, sizeof i, digest);
    sha256_hex(digest, key);
    size_t n;
    char *reply = mock_reply(&r, key, &n);
    if (json_schema_validate_text(s, reply, n, msg, sizeof msg) != JSON_SCHEMA_VALID && invalid++ < 3)
      fprintf(stderr, "  mock reply %d is not valid: %s\n  %s\n", i, msg, reply);
    free(reply);
  }
  CHECK(t, invalid == 0);
  value_release(msgs);
  /* hand-made replies, right and wrong */
  const char *good = "{\"owner\": {\"name\": \"Ann\", \"email\": null}, \"steps\": [{\"title\": \"a\", \"priority\": "
                     "\"low\", \"done\": false, \"tags\": []}], \"scores\": {\"x\": 0.5, \"y\": 1}, \"estimate\": 3, "
                     "\"notes\": [null], \"matrix\": [[1, 2], []]}";
  const struct {
    const char *from, *to, *want;
  } wrong[] = {
      {"\"low\"", "\"high\"", "at .steps[0].priority: expected one of \"low\", \"normal\", \"urgent\", found \"high\""},
      {"\"email\": null", "\"email\": 5", "at .owner.email: expected a string or null, found 5"},
      {"\"estimate\": 3", "\"estimate\": 3.5", "at .estimate: expected an integer or null, found 3.5"},
      {"\"y\": 1", "\"y\": \"1\"", "at .scores.y: expected a number, found \"1\""},
      {"[1, 2]", "[1, 2.5]", "at .matrix[0][1]: expected an integer, found 2.5"},
      {", \"tags\": []", "", "at .steps[0]: expected an object with the property \"tags\", found it missing"},
      {"\"done\": false", "\"done\": false, \"dune\": 1",
       "at .steps[0]: expected only the properties the schema lists, found unexpected property \"dune\" (did you "
       "mean \"done\"?)"},
      {"[null]", "[null, {\"title\": 1, \"priority\": \"low\", \"done\": true, \"tags\": []}]",
       "at .notes[1].title: expected a string, found 1"},
  };
  if (s) {
    CHECK(t, json_schema_validate_text(s, good, strlen(good), msg, sizeof msg) == JSON_SCHEMA_VALID);
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
      char text[1024];
      const char *at = strstr(good, wrong[i].from);
      snprintf(text, sizeof text, "%.*s%s%s", (int)(at - good), good, wrong[i].to, at + strlen(wrong[i].from));
      CHECK(t, json_schema_validate_text(s, text, strlen(text), msg, sizeof msg) == JSON_SCHEMA_INVALID);
      check_str_at(t, msg, wrong[i].want, __FILE__, __LINE__);
    }
  }
  json_schema_free(s);
  image_free(img);
  compilation_free(comp);
}

int main(void) {
  Tally t = {0, 0};
  test_messages(&t);
  test_branches(&t);
  test_limits(&t);
  test_schema_errors(&t);
  test_derived(&t);
  return tally_report(&t);
}
