/* json_write.c - a streaming compact JSON writer (see json_write.h). */
#include "json_write.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "json_value.h"

JsonWriter jw_new(TextBuf *out) { return (JsonWriter){.out = out, .comma = false}; }

/* Before a value or a key: the comma that separates it from its sibling. */
static void sep(JsonWriter *w) {
  if (w->comma) tb_putc(w->out, ',');
  w->comma = true;
}

/* Open a container with `c`; its first member needs no comma. */
static void open_with(JsonWriter *w, char c) {
  sep(w);
  tb_putc(w->out, c);
  w->comma = false;
}

/* Close a container with `c`; it is a value, so a sibling may follow. */
static void close_with(JsonWriter *w, char c) {
  tb_putc(w->out, c);
  w->comma = true;
}

void jw_object(JsonWriter *w) { open_with(w, '{'); }
void jw_end_object(JsonWriter *w) { close_with(w, '}'); }
void jw_array(JsonWriter *w) { open_with(w, '['); }
void jw_end_array(JsonWriter *w) { close_with(w, ']'); }

void jw_key(JsonWriter *w, const char *key) {
  sep(w);
  size_t n = strlen(key);
  tb_reserve(w->out, n + 3);
  tb_putc(w->out, '"');
  tb_put(w->out, key, n);
  tb_put(w->out, "\":", 2);
  w->comma = false; /* the member's value follows the colon */
}

void jw_string(JsonWriter *w, const char *s, size_t n) {
  sep(w);
  tb_json_string(w->out, s, n);
}

void jw_cstring(JsonWriter *w, const char *s) { jw_string(w, s, strlen(s)); }

void jw_int(JsonWriter *w, int64_t v) {
  char num[24];
  int n = snprintf(num, sizeof num, "%" PRId64, v);
  jw_raw(w, num, (size_t)n);
}

void jw_real(JsonWriter *w, double v) {
  char num[32];
  if (isfinite(v))
    jw_raw(w, num, json_format_double(v, num));
  else
    jw_raw(w, "null", 4);
}

void jw_bool(JsonWriter *w, bool v) { jw_raw(w, v ? "true" : "false", v ? 4 : 5); }

void jw_raw(JsonWriter *w, const char *json, size_t n) {
  sep(w);
  tb_put(w->out, json, n);
}

void jw_base64(JsonWriter *w, const char *prefix, const void *data, size_t n) {
  sep(w);
  size_t plen = strlen(prefix), blen = base64_encoded_len(n);
  tb_reserve(w->out, plen + blen + 2);
  tb_putc(w->out, '"');
  tb_put(w->out, prefix, plen);
  w->out->len += base64_encode_into(w->out->data + w->out->len, data, n);
  tb_putc(w->out, '"');
}
