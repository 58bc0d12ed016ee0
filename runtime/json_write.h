/* json_write.h - a streaming writer of compact JSON text into a TextBuf.
 *
 * Provider request bodies are written with it straight to their wire text:
 * building a jansson tree and dumping it cost more than everything else the
 * runtime does for a model call. The writer places the commas; the caller
 * keeps the nesting balanced (begin/end pairs, a key before each member of an
 * object). Strings are escaped by tb_json_string, so the output is valid JSON
 * whatever bytes the strings hold. */
#ifndef FLOW_JSON_WRITE_H
#define FLOW_JSON_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "textbuf.h"

typedef struct JsonWriter {
  TextBuf *out;
  bool comma;               /* the next value or key follows a sibling */
} JsonWriter;

/* A writer appending to `out`. */
JsonWriter jw_new(TextBuf *out);

void jw_object(JsonWriter *w);   /* { */
void jw_end_object(JsonWriter *w); /* } */
void jw_array(JsonWriter *w);    /* [ */
void jw_end_array(JsonWriter *w); /* ] */

/* A member name; `key` is written as it is, so it must need no escaping
 * (the fixed names of a wire format). */
void jw_key(JsonWriter *w, const char *key);

/* Values. */
void jw_string(JsonWriter *w, const char *s, size_t n);
void jw_cstring(JsonWriter *w, const char *s); /* NUL-terminated */
void jw_int(JsonWriter *w, int64_t v);
void jw_real(JsonWriter *w, double v); /* shortest round-trip form; null when not finite */
void jw_bool(JsonWriter *w, bool v);

/* A value that is already JSON text (`n` bytes), copied as it is. */
void jw_raw(JsonWriter *w, const char *json, size_t n);

/* A string holding `prefix` (which must need no escaping) and then the
 * base64 text of data[0..n), encoded straight into the buffer. */
void jw_base64(JsonWriter *w, const char *prefix, const void *data, size_t n);

#endif
