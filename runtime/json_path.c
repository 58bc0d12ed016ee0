/* json_path.c - paths to values inside JSON documents (see json_path.h). */
#include "json_path.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textbuf.h"

size_t json_path_push(JsonPath *p, const char *fmt, ...) {
  size_t mark = p->len;
  if (p->len < sizeof p->text) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(p->text + p->len, sizeof p->text - p->len, fmt, ap);
    va_end(ap);
    p->len += k < 0 ? 0 : (size_t)k;
  }
  return mark;
}

void json_path_pop(JsonPath *p, size_t mark) {
  p->len = mark;
  if (mark < sizeof p->text) p->text[mark] = '\0';
}

bool json_path_cut(const JsonPath *p) { return p->len >= sizeof p->text; }

/* Whether a key can be written .key in a path. */
static bool is_ident(const char *s) {
  if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))) return false;
  for (s++; *s; s++)
    if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
      return false;
  return true;
}

size_t json_path_push_key(JsonPath *p, const char *key) {
  if (is_ident(key)) return json_path_push(p, ".%s", key);
  TextBuf b = {0};
  tb_json_string(&b, key, strlen(key) > 40 ? 40 : strlen(key));
  size_t mark = json_path_push(p, "[%s]", b.data);
  free(b.data);
  return mark;
}

size_t json_path_push_index(JsonPath *p, size_t i) { return json_path_push(p, "[%zu]", i); }
