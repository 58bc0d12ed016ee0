/* json_value.h - conversion between JSON (jansson) and flow values, directed
 * by the types of a program image, and lenient parsing of model replies.
 *
 * Decoding is strict: a record needs every non-optional field and rejects
 * unknown ones, an enum is one of its variant names, an int is a JSON integer
 * (or a float with an integral value of magnitude at most 2^53). An error
 * names the field path and what was expected and found:
 *   at .triage.priority: expected one of "low", "normal", "urgent", found "URGENT!"
 *
 * Encoding is deterministic: record fields in declaration order, map keys in
 * byte order, floats in the shortest form that reads back to the same double
 * (always with a '.' or an exponent: 1.0, 0.1, 1e+100), enums as variant
 * names, none as null. Infinite and NaN floats, which JSON cannot represent,
 * are written as null. Media values are written as a summary object
 * {"media": "image/png", "name": "cat.png", "bytes": 1234} - not their
 * content - and cannot be decoded. */
#ifndef FLOW_JSON_VALUE_H
#define FLOW_JSON_VALUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "value.h"

/* JSON nested deeper than this is refused (an error, never a crash). */
#define JSON_VALUE_MAX_DEPTH 64

/* Flags of json_to_value. */
enum {
  JV_STRICT = 0,
  JV_LENIENT_ENUMS = 1u << 0, /* enum variants match ignoring ASCII case and surrounding spaces */
};

/* Decode `j` (borrowed) as a value of type `type` of `img`. On success stores
 * a new reference in *out (which may legitimately be none, for an optional)
 * and returns true; on a mismatch stores none, writes the error (with the
 * field path) to err[0..errlen) and returns false. */
bool json_to_value(const Image *img, uint32_t type, const json_t *j, unsigned flags, Value *out, char *err,
                   size_t errlen);

/* The compact JSON text of `v` (borrowed) seen as type `type`
 * (IMG_TYPE_ANY: as the value itself says), malloc'd and NUL-terminated.
 * With `type` a float type an int value is written as a float (2.0). */
char *value_to_json_text(const Image *img, uint32_t type, Value v);
/* Append the same text to the growing malloc'd buffer *buf (length *len,
 * capacity *cap), keeping it NUL-terminated. */
void value_append_json(const Image *img, uint32_t type, Value v, char **buf, size_t *len, size_t *cap);
/* The same as a jansson value (a new reference). */
json_t *value_to_json(const Image *img, uint32_t type, Value v);

/* Parse a model's reply as JSON, leniently: strict JSON; JSON inside a
 * markdown code fence (```json ... ```); or the first balanced {...} or [...]
 * in prose. Trailing commas, single-quoted strings, unquoted object keys,
 * raw newlines inside strings, comments and Python's True/False/None are
 * tolerated. Returns a new reference, or NULL with a message in err. */
json_t *json_parse_lenient(const char *text, size_t len, char *err, size_t errlen);

/* A short description of `j` for "found ..." messages, at most about 60
 * bytes: scalars as JSON (strings cut at about 48 bytes, marked with ...),
 * "an array of 3 items", "an object". */
void json_describe(const json_t *j, char *out, size_t outlen);

/* Write the shortest decimal form of `d` that strtod reads back exactly
 * (trying 15, 16 and 17 significant digits), with ".0" added when it would
 * otherwise read as an integer; "inf", "-inf" and "nan" for the special
 * values. `buf` needs 32 bytes. Returns the length. */
size_t json_format_double(double d, char buf[32]);

/* What JSON type `type` of `img` expects, for people: "a string", "an
 * integer", "one of \"low\", \"high\"", "an object (Ticket)". */
void json_describe_type(const Image *img, uint32_t type, char *out, size_t outlen);

#endif
