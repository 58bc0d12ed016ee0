/* json_path.h - where a value sits inside a JSON document, as error messages
 * show it: ".items[2].name", with keys that are not identifiers written as
 * quoted strings (["odd key"], cut at 40 bytes). Shared by the typed decoder
 * (json_value.c) and the JSON Schema validator (json_schema.c). */
#ifndef FLOW_JSON_PATH_H
#define FLOW_JSON_PATH_H

#include <stdbool.h>
#include <stddef.h>

typedef struct JsonPath {
  char text[256];
  size_t len;               /* may exceed the buffer: the path is then shown cut short */
} JsonPath;

/* Append a segment (printf-style); returns the length to go back to. */
size_t json_path_push(JsonPath *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* .key, or ["odd key"] when the key is not an identifier. */
size_t json_path_push_key(JsonPath *p, const char *key);
/* [i] */
size_t json_path_push_index(JsonPath *p, size_t i);
/* Go back to `mark` (what a push returned). */
void json_path_pop(JsonPath *p, size_t mark);
/* The text has been cut short (show it followed by "..."). */
bool json_path_cut(const JsonPath *p);

#endif
