/* cassette.c - recording and replaying model exchanges (see cassette.h and
 * docs/cassettes.md).
 *
 * Replay loads the whole file up front, checking every line, into an array
 * of exchanges and an open-addressing hash table keyed by the 32-byte request
 * key; the exchanges of one key are chained in file order, and each table
 * slot keeps a cursor into its chain. Recording writes one line per append
 * through a buffered FILE; strings are escaped by jansson, the request is the
 * canonical text from request.c, verbatim. */
#include "arena.h"
#include "cassette.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The format version, the header's "flow_cassette" member. */
#define CASSETTE_VERSION 1
/* "No exchange" in a chain. */
#define NO_EXCHANGE UINT32_MAX

/* One recorded exchange. */
typedef struct Exchange {
  char *reply; /* NUL-terminated; may hold NULs */
  size_t len;
  int64_t in_tok, out_tok;
  uint32_t next; /* the next exchange with the same key, or NO_EXCHANGE */
} Exchange;

/* A hash-table slot: one distinct key. */
typedef struct Slot {
  unsigned char key[32];
  uint32_t used; /* 0: empty slot */
  uint32_t cur;  /* the exchange the next lookup serves */
  uint32_t last; /* the last exchange of the chain (while loading) */
} Slot;

struct Cassette {
  bool recording;
  char *path;
  /* recording */
  FILE *f;
  /* replay */
  char *program;
  Exchange *ex;
  size_t nex, capex;
  Slot *slots;
  size_t nslots; /* a power of two, or 0 */
  size_t nkeys;
};


/* A malloc'd copy of `n` bytes of `s`, NUL-terminated. */
static char *xmemdup(const char *s, size_t n) {
  char *p = xrealloc(NULL, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

/* The value of hex digit `c` (lowercase only), or -1. */
static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decode a key of exactly 64 lowercase hex digits into [out]; false when
 * [hex] is not one. */
static bool key_decode(const char *hex, size_t len, unsigned char out[32]) {
  if (!hex || len != 64) return false;
  for (size_t i = 0; i < 32; i++) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = (unsigned char)(hi << 4 | lo);
  }
  return true;
}

/* The table slot of [key]: the slot holding it, or the empty slot where it
 * belongs. The table must have an empty slot. */
static Slot *slot_find(const Cassette *c, const unsigned char key[32]) {
  /* Keys written by flowc are SHA-256 digests, but a hand-made cassette may
   * hold keys that share most bytes: mix all 32 of them. */
  uint64_t h = 0;
  for (int i = 0; i < 4; i++) {
    uint64_t w;
    memcpy(&w, key + 8 * i, sizeof w);
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
  }
  size_t mask = c->nslots - 1;
  for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
    Slot *s = &c->slots[i];
    if (!s->used || memcmp(s->key, key, 32) == 0) return s;
  }
}

/* Double the table (or create it), reinserting every key. */
static void table_grow(Cassette *c) {
  size_t old_n = c->nslots;
  Slot *old = c->slots;
  c->nslots = old_n ? old_n * 2 : 1024;
  c->slots = calloc(c->nslots, sizeof *c->slots);
  if (!c->slots) flow_oom();
  for (size_t i = 0; i < old_n; i++)
    if (old[i].used) *slot_find(c, old[i].key) = old[i];
  free(old);
}

/* ---- error messages ------------------------------------------------------------- */

/* How a JSON value is described in "found ...". */
static const char *json_kind(const json_t *j) {
  if (!j) return "no such member";
  switch (json_typeof(j)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER:
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  case JSON_NULL: return "null";
  }
  return "a value";
}

/* Quote up to 40 bytes of [s] for a message, replacing unprintable bytes. */
static void quote_short(char *out, size_t outlen, const char *s, size_t n) {
  char tmp[48];
  size_t k = 0;
  for (size_t i = 0; i < n && k < 40; i++) {
    unsigned char ch = (unsigned char)s[i];
    tmp[k++] = ch >= 0x20 && ch < 0x7F ? (char)ch : '?';
  }
  tmp[k] = '\0';
  snprintf(out, outlen, "\"%s\"%s", tmp, n > 40 ? "..." : "");
}

/* ---- replay ------------------------------------------------------------------------- */

/* The state of loading one file, for line-numbered messages. */
typedef struct Loader {
  const char *path;
  size_t line;
  char *err;
  size_t errlen;
} Loader;

/* Write "PATH:LINE: <message>" into the loader's error buffer; returns false. */
static bool fail(Loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(Loader *ld, const char *fmt, ...) {
  if (!ld->err || ld->errlen == 0) return false;
  int n = snprintf(ld->err, ld->errlen, "%s:%zu: ", ld->path, ld->line);
  if (n < 0 || (size_t)n >= ld->errlen) return false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
  va_end(ap);
  return false;
}

/* Check that [obj] has no member other than the NUL-separated,
 * double-NUL-terminated [allowed]; [what] names the object in the message. */
static bool only_members(Loader *ld, json_t *obj, const char *allowed, const char *list, const char *what) {
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    bool ok = false;
    for (const char *a = allowed; *a && !ok; a += strlen(a) + 1)
      ok = strcmp(a, k) == 0;
    if (!ok) {
      char q[64];
      quote_short(q, sizeof q, k, strlen(k));
      return fail(ld, "expected only the members %s in %s, found %s", list, what, q);
    }
  }
  return true;
}

/* Read the integer member [name] of [obj] (named [path] in messages) into
 * [out]; it must be a non-negative integer. */
static bool get_count(Loader *ld, json_t *obj, const char *name, const char *path, int64_t *out) {
  json_t *v = json_object_get(obj, name);
  if (!json_is_integer(v)) return fail(ld, "expected an integer \"%s\", found %s", path, json_kind(v));
  if (json_integer_value(v) < 0)
    return fail(ld, "expected a non-negative integer \"%s\", found %" PRId64, path,
                (int64_t)json_integer_value(v));
  *out = (int64_t)json_integer_value(v);
  return true;
}

/* Check the header line and keep the program hash. */
static bool load_header(Cassette *c, Loader *ld, json_t *j) {
  if (!json_is_object(j))
    return fail(ld, "expected the header {\"flow_cassette\": %d, \"program\": ...}, found %s",
                CASSETTE_VERSION, json_kind(j));
  json_t *ver = json_object_get(j, "flow_cassette");
  if (!ver)
    return fail(ld,
                "expected the header {\"flow_cassette\": %d, \"program\": ...}, found an object "
                "without \"flow_cassette\"",
                CASSETTE_VERSION);
  if (!json_is_integer(ver))
    return fail(ld, "expected \"flow_cassette\": %d, found %s", CASSETTE_VERSION, json_kind(ver));
  if (json_integer_value(ver) != CASSETTE_VERSION)
    return fail(ld, "expected \"flow_cassette\": %d (the only version this flowc reads), found %" PRId64,
                CASSETTE_VERSION, (int64_t)json_integer_value(ver));
  json_t *prog = json_object_get(j, "program");
  if (!json_is_string(prog))
    return fail(ld, "expected a string \"program\" in the header, found %s", json_kind(prog));
  const char *p = json_string_value(prog);
  size_t plen = json_string_length(prog);
  for (size_t i = 0; i < plen; i++) {
    if (hex_digit(p[i]) < 0) {
      char q[64];
      quote_short(q, sizeof q, p, plen);
      return fail(ld, "expected a lowercase hex string \"program\" in the header, found %s", q);
    }
  }
  if (!only_members(ld, j, "flow_cassette\0program\0", "\"flow_cassette\" and \"program\"", "the header"))
    return false;
  c->program = xmemdup(p, plen);
  return true;
}

/* Check one exchange line and add it to the table. */
static bool load_exchange(Cassette *c, Loader *ld, json_t *j) {
  if (!json_is_object(j)) return fail(ld, "expected an exchange object, found %s", json_kind(j));
  json_t *key = json_object_get(j, "key");
  if (!json_is_string(key)) return fail(ld, "expected a string \"key\", found %s", json_kind(key));
  unsigned char kb[32];
  if (!key_decode(json_string_value(key), json_string_length(key), kb)) {
    char q[64];
    quote_short(q, sizeof q, json_string_value(key), json_string_length(key));
    return fail(ld, "expected \"key\" to be 64 lowercase hex digits, found %s", q);
  }
  json_t *prompt = json_object_get(j, "prompt");
  if (!json_is_string(prompt) && !json_is_null(prompt))
    return fail(ld, "expected a string or null \"prompt\", found %s", json_kind(prompt));
  json_t *binding = json_object_get(j, "binding");
  if (!json_is_string(binding))
    return fail(ld, "expected a string \"binding\", found %s", json_kind(binding));
  json_t *request = json_object_get(j, "request");
  if (!json_is_object(request))
    return fail(ld, "expected an object \"request\", found %s", json_kind(request));
  json_t *reply = json_object_get(j, "reply");
  if (!json_is_string(reply)) return fail(ld, "expected a string \"reply\", found %s", json_kind(reply));
  json_t *usage = json_object_get(j, "usage");
  if (!json_is_object(usage)) return fail(ld, "expected an object \"usage\", found %s", json_kind(usage));
  int64_t in_tok, out_tok;
  if (!get_count(ld, usage, "input_tokens", "usage.input_tokens", &in_tok)) return false;
  if (!get_count(ld, usage, "output_tokens", "usage.output_tokens", &out_tok)) return false;
  if (!only_members(ld, usage, "input_tokens\0output_tokens\0", "\"input_tokens\" and \"output_tokens\"",
                    "\"usage\""))
    return false;
  if (!only_members(ld, j, "key\0prompt\0binding\0request\0reply\0usage\0",
                    "key, prompt, binding, request, reply and usage", "an exchange"))
    return false;
  if (c->nex >= NO_EXCHANGE - 1)
    return fail(ld, "expected at most %u exchanges, found more", NO_EXCHANGE - 1);

  if (c->nex == c->capex) {
    c->capex = c->capex ? c->capex * 2 : 256;
    c->ex = xrealloc(c->ex, c->capex * sizeof *c->ex);
  }
  uint32_t idx = (uint32_t)c->nex++;
  Exchange *e = &c->ex[idx];
  e->len = json_string_length(reply);
  e->reply = xmemdup(json_string_value(reply), e->len);
  e->in_tok = in_tok;
  e->out_tok = out_tok;
  e->next = NO_EXCHANGE;

  if ((c->nkeys + 1) * 2 > c->nslots) table_grow(c);
  Slot *s = slot_find(c, kb);
  if (s->used) {
    c->ex[s->last].next = idx;
    s->last = idx;
  } else {
    memcpy(s->key, kb, 32);
    s->used = 1;
    s->cur = s->last = idx;
    c->nkeys++;
  }
  return true;
}

/* Whether the `n` bytes at `s` are only spaces, tabs and line ends. */
static bool blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return false;
  return true;
}

/* A new, empty cassette for [path]. */
static Cassette *cassette_new(const char *path, bool recording) {
  Cassette *c = xrealloc(NULL, sizeof *c);
  memset(c, 0, sizeof *c);
  c->recording = recording;
  c->path = xmemdup(path, strlen(path));
  return c;
}

Cassette *cassette_open_replay(const char *path, char *err, size_t errlen) {
  Loader ld = {path, 0, err, errlen};
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (err && errlen) snprintf(err, errlen, "%s: cannot open the cassette: %s", path, strerror(errno));
    return NULL;
  }
  Cassette *c = cassette_new(path, false);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  bool ok = true, header = false;
  while (ok && (n = getline(&line, &cap, f)) >= 0) {
    ld.line++;
    if (blank(line, (size_t)n)) continue;
    json_error_t jerr;
    json_t *j = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!j) {
      ok = fail(&ld, "expected a JSON %s on one line, found invalid JSON (column %d: %s)",
                header ? "exchange object" : "header object", jerr.column, jerr.text);
      break;
    }
    ok = header ? load_exchange(c, &ld, j) : load_header(c, &ld, j);
    header = true;
    json_decref(j);
  }
  if (ok && ferror(f)) {
    if (err && errlen) snprintf(err, errlen, "%s: cannot read the cassette: %s", path, strerror(errno));
    ok = false;
  }
  if (ok && !header) {
    ld.line = 1;
    ok = fail(&ld, "expected the header {\"flow_cassette\": %d, \"program\": ...}, found an empty file",
              CASSETTE_VERSION);
  }
  free(line);
  fclose(f);
  if (!ok) {
    cassette_close(c);
    return NULL;
  }
  return c;
}

bool cassette_lookup(Cassette *c, const char *key, const char **reply, size_t *len, int64_t *in_tok,
                     int64_t *out_tok) {
  unsigned char kb[32];
  if (!c || c->recording || c->nslots == 0 || !key || !key_decode(key, strlen(key), kb)) return false;
  Slot *s = slot_find(c, kb);
  if (!s->used) return false;
  const Exchange *e = &c->ex[s->cur];
  if (e->next != NO_EXCHANGE) s->cur = e->next;
  if (reply) *reply = e->reply;
  if (len) *len = e->len;
  if (in_tok) *in_tok = e->in_tok;
  if (out_tok) *out_tok = e->out_tok;
  return true;
}

const char *cassette_program(const Cassette *c) { return c && c->program ? c->program : ""; }

size_t cassette_count(const Cassette *c) { return c ? c->nex : 0; }

/* ---- recording ------------------------------------------------------------------------ */

/* The JSON string literal of `n` bytes of [s] (malloc'd), or NULL when they
 * are not valid UTF-8. */
static char *json_quote(const char *s, size_t n) {
  json_t *j = json_stringn(s, n);
  if (!j) return NULL;
  char *out = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
  json_decref(j);
  return out;
}

/* Write the message for a failed write of the cassette; returns false. */
static bool write_failed(const Cassette *c, char *err, size_t errlen) {
  if (err && errlen) snprintf(err, errlen, "%s: cannot write the cassette: %s", c->path, strerror(errno));
  return false;
}

Cassette *cassette_open_record(const char *path, const char *program_hash_hex, char *err, size_t errlen) {
  const char *prog = program_hash_hex ? program_hash_hex : "";
  for (const char *p = prog; *p; p++) {
    if (hex_digit(*p) < 0) {
      if (err && errlen) {
        char q[64];
        quote_short(q, sizeof q, prog, strlen(prog));
        snprintf(err, errlen, "%s: expected a lowercase hex program hash, found %s", path, q);
      }
      return NULL;
    }
  }
  FILE *f = fopen(path, "wb");
  if (!f) {
    if (err && errlen) snprintf(err, errlen, "%s: cannot create the cassette: %s", path, strerror(errno));
    return NULL;
  }
  Cassette *c = cassette_new(path, true);
  c->f = f;
  if (fprintf(f, "{\"flow_cassette\":%d,\"program\":\"%s\"}\n", CASSETTE_VERSION, prog) < 0) {
    write_failed(c, err, errlen);
    cassette_close(c);
    return NULL;
  }
  return c;
}

bool cassette_append(Cassette *c, const Request *r, const char *key, const char *reply, size_t len,
                     int64_t in_tok, int64_t out_tok, char *err, size_t errlen) {
  unsigned char kb[32];
  if (!c || !c->recording) {
    if (err && errlen)
      snprintf(err, errlen, "%s: expected a cassette open for recording, found one open for replay",
               c ? c->path : "(null)");
    return false;
  }
  if (!key || !key_decode(key, strlen(key), kb)) {
    if (err && errlen)
      snprintf(err, errlen, "%s: expected a request key of 64 lowercase hex digits", c->path);
    return false;
  }
  if (in_tok < 0 || out_tok < 0) {
    if (err && errlen)
      snprintf(err, errlen, "%s: expected non-negative token counts, found %" PRId64 " and %" PRId64, c->path,
               in_tok, out_tok);
    return false;
  }
  const Image *img = r->img;
  const char *prompt_name =
      r->prompt >= 0 && img && (uint32_t)r->prompt < img->nprompts ? img->prompts[r->prompt].name : NULL;
  const char *binding_name = img && r->model < img->nmodels ? img->models[r->model].name : "";
  char *q_reply = json_quote(reply ? reply : "", reply ? len : 0);
  if (!q_reply) {
    if (err && errlen)
      snprintf(err, errlen, "%s: expected a reply of valid UTF-8 text%s%s, found invalid bytes", c->path,
               prompt_name ? " from prompt " : "", prompt_name ? prompt_name : "");
    return false;
  }
  char *q_prompt = prompt_name ? json_quote(prompt_name, strlen(prompt_name)) : NULL;
  char *q_binding = json_quote(binding_name ? binding_name : "", binding_name ? strlen(binding_name) : 0);
  char *request = request_canonical(r);
  bool ok = fprintf(c->f,
                    "{\"key\":\"%s\",\"prompt\":%s,\"binding\":%s,\"request\":%s,\"reply\":%s,"
                    "\"usage\":{\"input_tokens\":%" PRId64 ",\"output_tokens\":%" PRId64 "}}\n",
                    key, q_prompt ? q_prompt : "null", q_binding ? q_binding : "\"\"", request, q_reply,
                    in_tok, out_tok) >= 0;
  free(q_reply);
  free(q_prompt);
  free(q_binding);
  free(request);
  if (!ok || ferror(c->f)) return write_failed(c, err, errlen);
  return true;
}

bool cassette_flush(Cassette *c, char *err, size_t errlen) {
  if (!c || !c->recording) return true;
  if (fflush(c->f) != 0 || ferror(c->f)) return write_failed(c, err, errlen);
  return true;
}

void cassette_close(Cassette *c) {
  if (!c) return;
  if (c->f) fclose(c->f);
  for (size_t i = 0; i < c->nex; i++)
    free(c->ex[i].reply);
  free(c->ex);
  free(c->slots);
  free(c->program);
  free(c->path);
  free(c);
}
