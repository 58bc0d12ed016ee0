/* json_schema.h - checking JSON values against a JSON Schema.
 *
 * The validator understands a documented subset of JSON Schema 2020-12
 * (docs/language.md §5.1): boolean schemas; type (a name or a list of names,
 * "integer" being any number with no fractional part); enum and const (by
 * JSON equality: 1 and 1.0 are equal); properties, required,
 * patternProperties, additionalProperties, minProperties, maxProperties;
 * prefixItems, items, minItems, maxItems, uniqueItems; minLength and
 * maxLength (in code points) and pattern (PCRE2, unanchored, like
 * `matches`); minimum, maximum, exclusiveMinimum, exclusiveMaximum and
 * multipleOf; allOf, anyOf, oneOf, not; $defs (and the older "definitions")
 * with the local references "#", "#/$defs/NAME" and "#/definitions/NAME".
 * Every other keyword is ignored, as the specification asks of unknown
 * keywords ("format", "title" and "description" included); $id does not
 * change how references resolve.
 *
 * A schema is compiled once (json_schema_new) and may then validate any
 * number of values. Compiling checks the shape of every keyword above, so a
 * misspelt type name or a minimum given as a string is an error rather than
 * a schema that silently accepts everything; it also refuses a $ref cycle
 * that never descends into the value ({"$ref": "#"} at the top), which no
 * value could finish validating. Validation is bounded: at most
 * JSON_SCHEMA_MAX_NESTING nested schema applications and JSON_SCHEMA_MAX_STEPS
 * in all (a schema can branch exponentially through anyOf without any
 * cycle); beyond either the result is JSON_SCHEMA_ERROR, never a hang.
 *
 * Messages name what was expected and what was found. A violation names the
 * path in the value (nothing at the top level):
 *   at .items[2].name: expected a string, found 3
 * A schema error names the place in the schema as a JSON pointer:
 *   #/properties/age/minimum must be a number, found "5"
 * Nothing here prints and there is no global state. */
#ifndef FLOW_JSON_SCHEMA_H
#define FLOW_JSON_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* JSON text (a value to check, or a schema) nested deeper than this is not
 * read: a value is then not valid, a schema is an error. */
#define JSON_SCHEMA_TEXT_DEPTH 256
/* Schema applications nested deeper than this end validation with an error. */
#define JSON_SCHEMA_MAX_NESTING 1024
/* Schema applications in one validation, in all. */
#define JSON_SCHEMA_MAX_STEPS 10000000u

typedef struct JsonSchema JsonSchema;

/* Compile the schema `schema` (borrowed; the result keeps its own
 * reference). Returns NULL with a message in err[0..errlen) when it is not a
 * schema this validator understands (err may be NULL). */
JsonSchema *json_schema_new(json_t *schema, char *err, size_t errlen);

/* Parse text[0..n) as JSON and compile it as above. Text that is not JSON
 * is an error naming the offset ("expected JSON: at offset 12: ..."). */
JsonSchema *json_schema_parse(const char *text, size_t n, char *err, size_t errlen);

void json_schema_free(JsonSchema *s);

typedef enum JsonSchemaResult {
  JSON_SCHEMA_VALID,
  JSON_SCHEMA_INVALID, /* the value breaks the schema; msg names the first violation */
  JSON_SCHEMA_ERROR,   /* a limit was reached before a decision; msg says which */
} JsonSchemaResult;

/* Validate `value` (borrowed) against `s`. An invalid value gets its first
 * violation written to msg[0..msglen), an error its reason (msg may be
 * NULL). */
JsonSchemaResult json_schema_validate(const JsonSchema *s, const json_t *value, char *msg, size_t msglen);

/* The verdict alone, which is cheaper: no message is made for a violation;
 * err[0..errlen) gets the reason of an error only. */
JsonSchemaResult json_schema_check(const JsonSchema *s, const json_t *value, char *err, size_t errlen);

/* The same for the JSON text text[0..n): text that is not one JSON value is
 * invalid ("expected JSON, found ..."). Integers beyond 64 bits are read as
 * doubles (JSON sets no limit on numbers). */
JsonSchemaResult json_schema_validate_text(const JsonSchema *s, const char *text, size_t n, char *msg,
                                           size_t msglen);

#endif
