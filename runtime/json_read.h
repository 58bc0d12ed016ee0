/* json_read.h - a strict, single-pass JSON reader that builds jansson values.
 *
 * jansson's own parser reads through a per-character stream (about 12 ns a
 * byte here), which made parsing the provider's reply envelope the largest
 * single cost of a model call. This reader accepts exactly RFC 8259 JSON,
 * like json_loadb with JSON_DECODE_ANY | JSON_ALLOW_NUL, and returns the same
 * values, so everything downstream keeps using the jansson API. */
#ifndef FLOW_JSON_READ_H
#define FLOW_JSON_READ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct JsonReadError {
  size_t position;  /* byte offset where reading stopped */
  bool truncated;   /* the text ended inside a value */
  char text[160];   /* what was expected and what was found */
} JsonReadError;

/* Parse s[0..n) as one JSON value with optional surrounding whitespace,
 * nesting at most `max_depth` arrays and objects. Returns a new reference,
 * or NULL with *err filled (err may be NULL). */
json_t *json_read(const char *s, size_t n, int max_depth, JsonReadError *err);

/* Options of json_read_opts. JSON_READ_BIG_INTEGERS: an integer outside
 * 64 bits (RFC 8259 sets no limit) is read as the nearest double instead of
 * being refused; one beyond the range of a double is still refused. */
enum { JSON_READ_BIG_INTEGERS = 1 };

/* json_read with options `flags` (JSON_READ_* or'ed). */
json_t *json_read_opts(const char *s, size_t n, int max_depth, unsigned flags, JsonReadError *err);

#endif
