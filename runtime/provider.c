/* provider.c - request bodies and reply parsing for OpenAI Chat Completions,
 * the Anthropic Messages API and Ollama's /api/chat (see provider.h and
 * docs/providers.md).
 *
 * Building goes in three steps: the endpoint and key (from the binding, then
 * the environment, then the documented defaults), the messages flattened to
 * a list of parts {role, text | media} with their media checked, and one
 * body builder per provider that groups the parts the way that provider
 * wants them. Bodies are built as jansson values and dumped compactly.
 *
 * Parsing classifies the HTTP status first, then reads the body with
 * json_read (strict, with a nesting cap), and walks the documented
 * shape; anything else is a PE_BAD_RESPONSE that says what was expected
 * where and what was found. Nothing here keeps state between calls. */
#include "provider.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "base64.h"
#include "json_read.h"
#include "json_value.h"
#include "json_write.h"
#include "textbuf.h"
#include "url.h"

/* Bodies nested deeper than this are refused while parsing: the reply's
 * own value may be nested JSON_VALUE_MAX_DEPTH deep, inside a few levels of
 * envelope (choices, message, content, input, value). */
#define PROVIDER_MAX_DEPTH (JSON_VALUE_MAX_DEPTH + 16)
/* A provider's error message is cut to this many bytes in ours. */
#define PROVIDER_MESSAGE_CAP 300

/* ---- small utilities ------------------------------------------------------------------------ */

/* Write a formatted message to err[0..errlen) (when there is room). */
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || !errlen) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* ASCII case-insensitive comparison of `n` bytes. */
static bool ascii_ieq(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return false;
  return true;
}

/* Does `s` end with `suffix`? */
static bool ends_with(const char *s, size_t n, const char *suffix) {
  size_t k = strlen(suffix);
  return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Wipe `n` bytes so that the compiler cannot drop the stores. */
static void wipe(void *p, size_t n) {
  volatile unsigned char *v = p;
  while (n--)
    *v++ = 0;
}

/* ---- JSON helpers --------------------------------------------------------------------------- */

/* json_dump_callback sink: append to a TextBuf. */
static int dump_to_buf(const char *s, size_t n, void *data) {
  tb_put(data, s, n);
  return 0;
}

/* The compact text of `j` (malloc'd); its length in *len. Reals print with
 * `precision` significant digits. */
static char *jdump(const json_t *j, int precision, size_t *len) {
  TextBuf b = {0};
  json_dump_callback(j, dump_to_buf, &b, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(precision));
  if (len) *len = b.len;
  return tb_take(&b);
}

/* Parse `n` bytes of JSON text (any value at the top), refusing nesting
 * deeper than PROVIDER_MAX_DEPTH. On failure returns NULL, writes what was
 * wrong to err and sets *truncated when the text ended early. */
static json_t *jload(const char *s, size_t n, bool *truncated, char *err, size_t errlen) {
  JsonReadError re;
  json_t *j = json_read(s, n, PROVIDER_MAX_DEPTH, &re);
  if (truncated) *truncated = !j && re.truncated;
  if (!j) set_err(err, errlen, "%s at byte %zu", re.text, re.position);
  return j;
}

/* The JSON type of `j` as a word for messages ("a string", "null", "missing"). */
static const char *jtype(const json_t *j) {
  if (!j) return "nothing (missing)";
  switch (json_typeof(j)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  case JSON_NULL: return "null";
  }
  return "an unknown value";
}

/* ---- names ------------------------------------------------------------------------------------ */

const char *provider_name(Provider p) {
  switch (p) {
  case PROVIDER_OPENAI: return "openai";
  case PROVIDER_ANTHROPIC: return "anthropic";
  case PROVIDER_OLLAMA: return "ollama";
  case PROVIDER_MOCK: return "mock";
  }
  return "unknown";
}

const char *provider_error_kind_name(ProviderErrorKind k) {
  static const char *const names[] = {"none",       "rate_limit", "server",       "timeout", "connection",
                                      "client",     "auth",       "bad_response", "refused", "too_large"};
  return (unsigned)k < sizeof names / sizeof *names ? names[k] : "unknown";
}

const char *provider_finish_name(ProviderFinish f) {
  static const char *const names[] = {"unknown", "stop", "length", "content_filter", "refusal", "tool_use", "other"};
  return (unsigned)f < sizeof names / sizeof *names ? names[f] : "unknown";
}

const char *provider_process_getenv(void *ctx, const char *name) {
  (void)ctx;
  return getenv(name);
}

/* ---- endpoint and key ----------------------------------------------------------------------------- */

/* A variable's value through `env`, NULL when unset or empty. */
static const char *env_get(const ProviderEnv *env, const char *name) {
  if (!env || !env->getenv || !name) return NULL;
  const char *v = env->getenv(env->ctx, name);
  return v && *v ? v : NULL;
}

/* Normalise an Ollama host the way the official clients read OLLAMA_HOST:
 * without a scheme, http:// is assumed, an empty host is 127.0.0.1 and a
 * missing port is 11434 ("0.0.0.0" -> "http://0.0.0.0:11434",
 * ":8080" -> "http://127.0.0.1:8080"). A value with a scheme is kept. */
static void ollama_host(const char *v, TextBuf *out) {
  if (strstr(v, "://")) {
    tb_puts(out, v);
    return;
  }
  const char *slash = strchr(v, '/');
  size_t hp = slash ? (size_t)(slash - v) : strlen(v);
  tb_puts(out, "http://");
  const char *port = NULL;
  size_t hostlen = hp;
  if (v[0] == '[') {
    const char *close = memchr(v, ']', hp);
    if (close && close + 1 < v + hp && close[1] == ':') {
      port = close + 1;
      hostlen = (size_t)(port - v);
    }
  } else {
    const char *colon = memchr(v, ':', hp);
    if (colon) {
      port = colon;
      hostlen = (size_t)(colon - v);
    }
  }
  if (hostlen)
    tb_put(out, v, hostlen);
  else
    tb_puts(out, "127.0.0.1");
  if (port && port + 1 < v + hp)
    tb_put(out, port, (size_t)(v + hp - port));
  else
    tb_puts(out, ":11434");
  if (slash) tb_puts(out, slash);
}

/* The host part of an http(s) URL (user information and IPv6 brackets
 * removed), as a pointer and length. */
static void url_host(const char *url, const char **host, size_t *len) {
  const char *auth;
  size_t n;
  HostPort hp;
  url_authority(url, &auth, &n);
  if (url_host_port(auth, n, &hp) && !hp.host) { /* an unclosed `[`: what follows it */
    hp.host = auth + (n > 0);
    hp.host_len = n ? n - 1 : 0;
  }
  *host = hp.host;
  *len = hp.host_len;
}

/* Is the URL's host this machine: localhost, 127.0.0.0/8, ::1 or 0.0.0.0?
 * Only such an endpoint may go without an API key. */
static bool url_is_loopback(const char *url) {
  const char *h;
  size_t n;
  url_host(url, &h, &n);
  if (n == 9 && ascii_ieq(h, "localhost", 9)) return true;
  if (n > 10 && ascii_ieq(h + n - 10, ".localhost", 10)) return true;
  if ((n == 3 && !memcmp(h, "::1", 3)) || (n == 15 && !memcmp(h, "0:0:0:0:0:0:0:1", 15))) return true;
  if (n == 7 && !memcmp(h, "0.0.0.0", 7)) return true;
  if (n >= 4 && !memcmp(h, "127.", 4)) {
    for (size_t i = 4; i < n; i++)
      if (!isdigit((unsigned char)h[i]) && h[i] != '.') return false;
    return true;
  }
  return false;
}

/* The provider's default key variable (NULL: Ollama takes no key). */
static const char *default_key_var(Provider p) {
  return p == PROVIDER_OPENAI ? "OPENAI_API_KEY" : p == PROVIDER_ANTHROPIC ? "ANTHROPIC_API_KEY" : NULL;
}

/* Fill `url` with the full endpoint of binding `m`: its base_url, else the
 * provider's variable, else the default; then the provider's path. */
static bool endpoint(const ImgModel *m, const ProviderEnv *env, TextBuf *url, char *err, size_t errlen) {
  static const char *const vars[] = {"OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OLLAMA_HOST"};
  static const char *const defaults[] = {"https://api.openai.com/v1", "https://api.anthropic.com",
                                         "http://127.0.0.1:11434"};
  const char *base = m->base_url && *m->base_url ? m->base_url : NULL;
  char from[96];
  if (base) {
    snprintf(from, sizeof from, "the base_url of binding `%.60s`", m->name);
  } else if ((base = env_get(env, vars[m->provider]))) {
    snprintf(from, sizeof from, "%s", vars[m->provider]);
  } else {
    base = defaults[m->provider];
    snprintf(from, sizeof from, "the default endpoint");
  }
  TextBuf b = {0};
  if (m->provider == PROVIDER_OLLAMA)
    ollama_host(base, &b);
  else
    tb_puts(&b, base);
  const char *sep = strstr(b.data, "://");
  size_t keep = sep ? (size_t)(sep - b.data) + 3 : 0;
  while (b.len > keep && b.data[b.len - 1] == '/')
    b.data[--b.len] = '\0';
  bool http = b.len >= 7 && ascii_ieq(b.data, "http://", 7), https = b.len >= 8 && ascii_ieq(b.data, "https://", 8);
  bool clean = true;
  for (size_t i = 0; i < b.len; i++)
    if ((unsigned char)b.data[i] <= 0x20 || b.data[i] == 0x7f) clean = false;
  if (!(http || https) || !clean) {
    set_err(err, errlen, "%s is \"%.200s\"; expected an http:// or https:// URL without spaces", from, base);
    free(b.data);
    return false;
  }
  const char *h;
  size_t hn;
  url_host(b.data, &h, &hn);
  if (!hn) {
    set_err(err, errlen, "%s is \"%.200s\"; expected a URL with a host name", from, base);
    free(b.data);
    return false;
  }
  if (m->provider == PROVIDER_OPENAI)
    tb_puts(&b, "/chat/completions");
  else if (m->provider == PROVIDER_ANTHROPIC)
    tb_puts(&b, ends_with(b.data, b.len, "/v1") ? "/messages" : "/v1/messages");
  else
    tb_puts(&b, ends_with(b.data, b.len, "/api") ? "/chat" : "/api/chat");
  *url = b;
  return true;
}

/* Find the key of binding `m` for endpoint `url`: the variable it names,
 * else the provider's default. *key is NULL when none is to be sent. A key
 * is required unless the endpoint is on this machine (or the provider is
 * Ollama and the binding names no variable). */
static bool api_key(const ImgModel *m, const ProviderEnv *env, const char *url, const char **key, char *err,
                    size_t errlen) {
  bool named = m->api_key_env && *m->api_key_env;
  const char *var = named ? m->api_key_env : default_key_var(m->provider);
  *key = var ? env_get(env, var) : NULL;
  if (!*key) {
    bool required = var && !url_is_loopback(url);
    if (required) {
      set_err(err, errlen,
              "binding `%s` needs an API key in %s, which is not set (only an endpoint on this machine may "
              "go without one; this one is %s)",
              m->name, var, url);
      return false;
    }
    return true;
  }
  for (const unsigned char *p = (const unsigned char *)*key; *p; p++) {
    if (*p <= 0x20 || *p == 0x7f) {
      set_err(err, errlen,
              "the API key in %s (for binding `%s`) contains a space or control character; expected a "
              "single printable token",
              var, m->name);
      *key = NULL;
      return false;
    }
  }
  return true;
}

/* ---- messages ---------------------------------------------------------------------------------- */

typedef enum Role { ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT } Role;

static const char *const role_names[] = {"system", "user", "assistant"};

typedef enum MediaKind { MK_NONE, MK_IMAGE, MK_AUDIO } MediaKind;

/* One part of the conversation: text or one media item, in order. `owned`
 * is set when the text was made here (the schema instructions). */
typedef struct Part {
  Role role;
  const char *text;
  size_t text_len;
  const Media *media;
  MediaKind kind;
  const char *audio_format; /* OpenAI's "wav" / "mp3" */
  char *owned;
} Part;

typedef struct Parts {
  Part *items;
  size_t n, cap;
} Parts;

/* Append a part. */
static void parts_push(Parts *ps, Part p) {
  if (ps->n == ps->cap) {
    ps->cap = ps->cap ? ps->cap * 2 : 8;
    Part *q = realloc(ps->items, ps->cap * sizeof *q);
    if (!q) flow_oom();
    ps->items = q;
  }
  ps->items[ps->n++] = p;
}

/* Free the parts and the texts they own. */
static void parts_free(Parts *ps) {
  for (size_t i = 0; i < ps->n; i++)
    free(ps->items[i].owned);
  free(ps->items);
  memset(ps, 0, sizeof *ps);
}

/* Is `mime` (lowercase expected) one of the `n` types in `list`? */
static bool mime_in(const char *mime, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(mime, list[i])) return true;
  return false;
}

/* Check media part `p` (message `idx`) against binding `m`, setting its kind
 * and, for audio, OpenAI's format word. */
static bool check_media(const ImgModel *m, Part *p, size_t idx, char *err, size_t errlen) {
  const Media *md = p->media;
  const char *mime = md->mime ? md->mime->data : "";
  const char *name = md->name && md->name->len ? md->name->data : "(bytes)";
  if (p->role != ROLE_USER) {
    set_err(err, errlen, "message %zu of binding `%s` is a %s message carrying media %s; expected media only in "
            "user messages", idx + 1, m->name, role_names[p->role], name);
    return false;
  }
  for (const char *c = mime; *c; c++) {
    if (!(isalnum((unsigned char)*c) || strchr("/.+-_", *c))) {
      set_err(err, errlen, "media %s has the type \"%.80s\"; expected a MIME type such as image/png", name, mime);
      return false;
    }
  }
  if (!strncmp(mime, "image/", 6)) {
    p->kind = MK_IMAGE;
  } else if (!strncmp(mime, "audio/", 6)) {
    p->kind = MK_AUDIO;
  } else {
    set_err(err, errlen, "media %s has the type \"%.80s\"; expected an image/... or audio/... type", name, mime);
    return false;
  }
  if (!base64_within_cap(md->len, PROVIDER_MEDIA_CAP, NULL)) {
    set_err(err, errlen, "media %s is %" PRIu32 " bytes; expected at most %zu bytes (20 MiB) per part", name,
            md->len, PROVIDER_MEDIA_CAP);
    return false;
  }
  if (p->kind == MK_IMAGE) {
    if (!m->vision) {
      set_err(err, errlen, "binding `%s` does not take images (vision is not set), but message %zu carries %s",
              m->name, idx + 1, name);
      return false;
    }
    static const char *const anthropic_types[] = {"image/jpeg", "image/png", "image/gif", "image/webp"};
    if (m->provider == PROVIDER_ANTHROPIC && !mime_in(mime, anthropic_types, 4)) {
      set_err(err, errlen, "image %s has the type %s; anthropic expects image/jpeg, image/png, image/gif or "
              "image/webp", name, mime);
      return false;
    }
    return true;
  }
  if (m->provider != PROVIDER_OPENAI) {
    set_err(err, errlen, "binding `%s` uses %s, which takes no audio input, but message %zu carries %s", m->name,
            provider_name(m->provider), idx + 1, name);
    return false;
  }
  if (!m->audio) {
    set_err(err, errlen, "binding `%s` does not take audio (audio is not set), but message %zu carries %s",
            m->name, idx + 1, name);
    return false;
  }
  static const char *const wav[] = {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"};
  static const char *const mp3[] = {"audio/mpeg", "audio/mp3", "audio/mpeg3", "audio/x-mpeg-3"};
  if (mime_in(mime, wav, 4)) {
    p->audio_format = "wav";
  } else if (mime_in(mime, mp3, 4)) {
    p->audio_format = "mp3";
  } else {
    set_err(err, errlen, "audio %s has the type %s; openai expects audio/wav or audio/mpeg (mp3)", name, mime);
    return false;
  }
  return true;
}

/* The instructions that carry the schema for a binding without JSON mode. */
static const char schema_instructions[] =
  "Reply with a single JSON value that conforms to the following JSON Schema, and nothing else "
  "(no prose, no code fences):\n";

/* Flatten r->messages into parts, checking roles and media; with
 * `instruct`, the schema instructions are appended to the first system
 * message (or form one at the front). */
static bool collect_parts(const Request *r, const ImgModel *m, bool instruct, Parts *ps, char *err, size_t errlen) {
  if (r->messages.tag != V_LIST) {
    set_err(err, errlen, "the request for binding `%s` has no message list; expected a list of message records",
            m->name);
    return false;
  }
  const List *l = value_as_list(r->messages);
  for (uint32_t i = 0; i < l->len; i++) {
    Value item = l->items[i];
    if (item.tag != V_RECORD || value_as_record(item)->nfields < 3) {
      set_err(err, errlen, "message %" PRIu32 " is not a message record {role, text, media}", i + 1);
      return false;
    }
    const Record *rec = value_as_record(item);
    Value role = rec->fields[0], text = rec->fields[1], media = rec->fields[2];
    Part p = {0};
    const char *rs = role.tag == V_STR ? value_as_str(role)->data : "";
    if (!strcmp(rs, "system"))
      p.role = ROLE_SYSTEM;
    else if (!strcmp(rs, "user"))
      p.role = ROLE_USER;
    else if (!strcmp(rs, "assistant"))
      p.role = ROLE_ASSISTANT;
    else {
      set_err(err, errlen, "message %" PRIu32 " has the role \"%.40s\"; expected system, user or assistant", i + 1,
              rs);
      return false;
    }
    if (text.tag == V_STR) {
      Part t = p;
      t.text = value_as_str(text)->data;
      t.text_len = value_as_str(text)->len;
      parts_push(ps, t);
    }
    if (media.tag == V_MEDIA) {
      Part mp = p;
      mp.media = value_as_media(media);
      if (!check_media(m, &mp, i, err, errlen)) return false;
      parts_push(ps, mp);
    }
  }
  if (!instruct) return true;
  size_t ilen = strlen(schema_instructions), slen = strlen(r->schema);
  for (size_t i = 0; i < ps->n; i++) {
    Part *p = &ps->items[i];
    if (p->role != ROLE_SYSTEM) continue;
    TextBuf b = {0};
    tb_put(&b, p->text, p->text_len);
    tb_puts(&b, "\n\n");
    tb_put(&b, schema_instructions, ilen);
    tb_put(&b, r->schema, slen);
    p->text_len = b.len;
    p->text = p->owned = tb_take(&b);
    return true;
  }
  TextBuf b = {0};
  tb_put(&b, schema_instructions, ilen);
  tb_put(&b, r->schema, slen);
  Part sp = {.role = ROLE_SYSTEM, .text_len = b.len};
  sp.text = sp.owned = tb_take(&b);
  parts_push(ps, sp);
  memmove(ps->items + 1, ps->items, (ps->n - 1) * sizeof *ps->items);
  ps->items[0] = sp;
  return true;
}

/* The base64 text of a media part as a JSON string; with `data_url`, as a
 * data URL "data:<mime>;base64,<data>" (check_media allowed only
 * [A-Za-z0-9/.+-_] in the type, so it needs no escaping). */
static void media_b64(JsonWriter *w, const Media *md, bool data_url) {
  char prefix[96] = "";
  if (data_url) snprintf(prefix, sizeof prefix, "data:%.64s;base64,", md->mime ? md->mime->data : "");
  jw_base64(w, prefix, md->data, md->len);
}

/* ---- schemas --------------------------------------------------------------------------------- */

/* An output schema as the wire formats send it, checked and serialised once:
 * `plain` is the schema itself (Ollama's format), `object` the schema with an
 * object at its root (OpenAI's strict mode and Anthropic's input_schema take
 * nothing else there), which is the schema wrapped as {"value": schema} when
 * its root is not an object schema. */
typedef struct SchemaWire {
  const char *key;          /* the schema text (borrowed from the image) */
  char *plain, *object;
  size_t plain_len, object_len;
  bool wrapped;
} SchemaWire;

struct ProviderCache {
  SchemaWire *items;
  size_t n, cap;
};

ProviderCache *provider_cache_new(void) {
  ProviderCache *c = xmalloc(sizeof *c);
  memset(c, 0, sizeof *c);
  return c;
}

static void schema_wire_free(SchemaWire *s) {
  free(s->plain);
  free(s->object);
  memset(s, 0, sizeof *s);
}

void provider_cache_free(ProviderCache *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n; i++) schema_wire_free(&c->items[i]);
  free(c->items);
  free(c);
}

/* Is the schema's root an object schema ({"type": "object", ...})? */
static bool schema_is_object(const json_t *s) {
  const json_t *t = json_is_object(s) ? json_object_get(s, "type") : NULL;
  return t && json_is_string(t) && !strcmp(json_string_value(t), "object");
}

/* Parse and serialise the schema `text` of binding `m` into *out. */
static bool schema_wire_make(const char *text, const ImgModel *m, SchemaWire *out, char *err, size_t errlen) {
  char jerr[160];
  json_t *s = jload(text, strlen(text), NULL, jerr, sizeof jerr);
  if (!s || !(json_is_object(s) || json_is_boolean(s))) {
    set_err(err, errlen, "the output schema of the request for binding `%s` is not a JSON Schema object (%s)",
            m->name, s ? jtype(s) : jerr);
    json_decref(s);
    return false;
  }
  memset(out, 0, sizeof *out);
  out->key = text;
  out->plain = jdump(s, 17, &out->plain_len);
  out->wrapped = !schema_is_object(s);
  if (!out->wrapped) {
    out->object = xstrndup(out->plain, out->plain_len);
    out->object_len = out->plain_len;
  } else {
    TextBuf b = {0};
    tb_puts(&b, "{\"type\":\"object\",\"properties\":{\"value\":");
    tb_put(&b, out->plain, out->plain_len);
    tb_puts(&b, "},\"required\":[\"value\"],\"additionalProperties\":false}");
    out->object_len = b.len;
    out->object = tb_take(&b);
  }
  json_decref(s);
  return true;
}

/* The wire forms of schema `text`: from the cache (keyed by the address of
 * the text, stable for the life of a program image; programs have a handful
 * of schemas, so a linear scan is enough), else made into *tmp, which the
 * caller frees when it was used. NULL with an error when it is not a schema. */
static const SchemaWire *schema_wire(ProviderCache *c, const char *text, const ImgModel *m, SchemaWire *tmp,
                                     char *err, size_t errlen) {
  for (size_t i = 0; c && i < c->n; i++)
    if (c->items[i].key == text) return &c->items[i];
  if (!schema_wire_make(text, m, tmp, err, errlen)) return NULL;
  if (!c || c->n >= 4096) return tmp;
  if (c->n == c->cap) {
    c->cap = c->cap ? c->cap * 2 : 8;
    c->items = xrealloc(c->items, c->cap * sizeof *c->items);
  }
  c->items[c->n] = *tmp;
  memset(tmp, 0, sizeof *tmp);
  return &c->items[c->n++];
}

/* How the schema of a request travels. */
typedef enum SchemaMode { SM_NONE, SM_NATIVE, SM_INSTRUCT } SchemaMode;

/* The mode for binding `m` and a request with (or without) a schema. */
static SchemaMode schema_mode(const ImgModel *m, const Request *r) {
  if (!r->schema) return SM_NONE;
  return m->json_mode ? SM_NATIVE : SM_INSTRUCT;
}

/* ---- bodies -------------------------------------------------------------------------------------- */

/* A part's text as a JSON string. */
static void part_text(JsonWriter *w, const Part *p) { jw_string(w, p->text, p->text_len); }

/* The stop sequences as a JSON array. */
static void stop_array(JsonWriter *w, const ImgParams *pr) {
  jw_array(w);
  for (uint32_t i = 0; i < pr->nstop; i++) jw_cstring(w, pr->stop[i]);
  jw_end_array(w);
}

/* The names one wire format gives the sampling settings; NULL: the format
 * takes that setting elsewhere or not at all. */
typedef struct ParamKeys {
  const char *max_tokens, *seed, *stop;
} ParamKeys;

/* Does `pr` set anything that keys `k` would write? */
static bool params_any(const ImgParams *pr, ParamKeys k) {
  return (pr->set & (PARAM_TEMPERATURE | PARAM_TOP_P)) || (k.max_tokens && (pr->set & PARAM_MAX_TOKENS)) ||
         (k.seed && (pr->set & PARAM_SEED)) || (k.stop && (pr->set & PARAM_STOP) && pr->nstop);
}

/* The members for the settings `pr` sets: temperature, top_p, and under the
 * names in `k` the token limit, the seed and the stop sequences. */
static void write_params(JsonWriter *w, const ImgParams *pr, ParamKeys k) {
  if (pr->set & PARAM_TEMPERATURE) {
    jw_key(w, "temperature");
    jw_real(w, pr->temperature);
  }
  if (pr->set & PARAM_TOP_P) {
    jw_key(w, "top_p");
    jw_real(w, pr->top_p);
  }
  if (k.max_tokens && (pr->set & PARAM_MAX_TOKENS)) {
    jw_key(w, k.max_tokens);
    jw_int(w, pr->max_tokens);
  }
  if (k.seed && (pr->set & PARAM_SEED)) {
    jw_key(w, k.seed);
    jw_int(w, pr->seed);
  }
  if (k.stop && (pr->set & PARAM_STOP) && pr->nstop) {
    jw_key(w, k.stop);
    stop_array(w, pr);
  }
}

/* An OpenAI content part for a user part: text, image_url or input_audio. */
static void openai_content_part(JsonWriter *w, const Part *p) {
  jw_object(w);
  if (!p->media) {
    jw_key(w, "type");
    jw_cstring(w, "text");
    jw_key(w, "text");
    part_text(w, p);
  } else if (p->kind == MK_IMAGE) {
    jw_key(w, "type");
    jw_cstring(w, "image_url");
    jw_key(w, "image_url");
    jw_object(w);
    jw_key(w, "url");
    media_b64(w, p->media, true);
    jw_end_object(w);
  } else {
    jw_key(w, "type");
    jw_cstring(w, "input_audio");
    jw_key(w, "input_audio");
    jw_object(w);
    jw_key(w, "data");
    media_b64(w, p->media, false);
    jw_key(w, "format");
    jw_cstring(w, p->audio_format);
    jw_end_object(w);
  }
  jw_end_object(w);
}

/* Is the URL's host api.openai.com (whose newer models want
 * max_completion_tokens instead of max_tokens)? */
static bool is_openai_host(const char *url) {
  const char *h;
  size_t n;
  url_host(url, &h, &n);
  return n == 14 && ascii_ieq(h, "api.openai.com", 14);
}

/* OpenAI's content of a run of user parts: plain text for one text part,
 * else an array of content parts. */
static void openai_user_content(JsonWriter *w, const Part *parts, size_t n) {
  jw_key(w, "content");
  if (n == 1 && !parts[0].media) {
    part_text(w, &parts[0]);
    return;
  }
  jw_array(w);
  for (size_t k = 0; k < n; k++) openai_content_part(w, &parts[k]);
  jw_end_array(w);
}

/* Ollama's content of a run of user parts: the texts joined by a blank line,
 * the images in "images". */
static void ollama_user_content(JsonWriter *w, const Part *parts, size_t n) {
  TextBuf text = {0};
  bool first = true, images = false;
  for (size_t k = 0; k < n; k++) {
    if (parts[k].media) {
      images = true;
    } else {
      if (!first) tb_puts(&text, "\n\n");
      tb_put(&text, parts[k].text, parts[k].text_len);
      first = false;
    }
  }
  jw_key(w, "content");
  jw_string(w, text.data ? text.data : "", text.len);
  free(text.data);
  if (!images) return;
  jw_key(w, "images");
  jw_array(w);
  for (size_t k = 0; k < n; k++)
    if (parts[k].media) media_b64(w, parts[k].media, false);
  jw_end_array(w);
}

/* The "messages" array of the chat formats (OpenAI, Ollama): a message per
 * system or assistant part, and one per run of consecutive user parts, whose
 * content `user_content` writes. */
static void chat_messages(JsonWriter *w, const Parts *ps,
                          void (*user_content)(JsonWriter *w, const Part *parts, size_t n)) {
  jw_key(w, "messages");
  jw_array(w);
  for (size_t i = 0; i < ps->n;) {
    const Part *p = &ps->items[i];
    jw_object(w);
    jw_key(w, "role");
    jw_cstring(w, role_names[p->role]);
    if (p->role != ROLE_USER) {
      jw_key(w, "content");
      part_text(w, p);
      i++;
    } else {
      size_t j = i;
      while (j < ps->n && ps->items[j].role == ROLE_USER) j++;
      user_content(w, p, j - i);
      i = j;
    }
    jw_end_object(w);
  }
  jw_end_array(w);
}

/* The Chat Completions body: model, messages (consecutive user parts merged
 * into one message with content parts), parameters, response_format. */
static void openai_body(JsonWriter *w, const Request *r, const ImgModel *m, const Parts *ps,
                        const SchemaWire *schema, const char *url) {
  jw_object(w);
  jw_key(w, "model");
  jw_cstring(w, m->model);
  chat_messages(w, ps, openai_user_content);
  write_params(w, &r->params,
               (ParamKeys){is_openai_host(url) ? "max_completion_tokens" : "max_tokens", "seed", "stop"});
  if (schema) {
    jw_key(w, "response_format");
    jw_object(w);
    jw_key(w, "type");
    jw_cstring(w, "json_schema");
    jw_key(w, "json_schema");
    jw_object(w);
    jw_key(w, "name");
    jw_cstring(w, "output");
    jw_key(w, "schema");
    jw_raw(w, schema->object, schema->object_len);
    jw_key(w, "strict");
    jw_bool(w, true);
    jw_end_object(w);
    jw_end_object(w);
  }
  jw_end_object(w);
}

/* An Anthropic content block for a user or assistant part. */
static void anthropic_block(JsonWriter *w, const Part *p) {
  jw_object(w);
  if (!p->media) {
    jw_key(w, "type");
    jw_cstring(w, "text");
    jw_key(w, "text");
    part_text(w, p);
  } else {
    jw_key(w, "type");
    jw_cstring(w, "image");
    jw_key(w, "source");
    jw_object(w);
    jw_key(w, "type");
    jw_cstring(w, "base64");
    jw_key(w, "media_type");
    jw_cstring(w, p->media->mime->data);
    jw_key(w, "data");
    media_b64(w, p->media, false);
    jw_end_object(w);
  }
  jw_end_object(w);
}

/* Anthropic's "messages": consecutive parts of one role (system parts, which
 * travel in "system", left out) merged into one message. */
static void anthropic_messages(JsonWriter *w, const Parts *ps) {
  jw_key(w, "messages");
  jw_array(w);
  for (size_t i = 0; i < ps->n;) {
    if (ps->items[i].role == ROLE_SYSTEM) {
      i++;
      continue;
    }
    Role role = ps->items[i].role;
    size_t first = i, count = 0, j = i;
    bool media = false;
    for (; j < ps->n && (ps->items[j].role == role || ps->items[j].role == ROLE_SYSTEM); j++) {
      if (ps->items[j].role == ROLE_SYSTEM) continue;
      count++;
      media |= ps->items[j].media != NULL;
    }
    jw_object(w);
    jw_key(w, "role");
    jw_cstring(w, role_names[role]);
    jw_key(w, "content");
    if (count == 1 && !media) {
      part_text(w, &ps->items[first]);
    } else {
      jw_array(w);
      for (size_t k = first; k < j; k++)
        if (ps->items[k].role != ROLE_SYSTEM) anthropic_block(w, &ps->items[k]);
      jw_end_array(w);
    }
    jw_end_object(w);
    i = j;
  }
  jw_end_array(w);
}

/* The Messages body: model, max_tokens, system (all system parts joined),
 * messages, parameters, and the forced tool "output" for structured output.
 * False with an error when there is no user or assistant message. */
static bool anthropic_body(JsonWriter *w, const Request *r, const ImgModel *m, const Parts *ps,
                           const SchemaWire *schema, char *err, size_t errlen) {
  size_t nsys = 0;
  for (size_t i = 0; i < ps->n; i++) nsys += ps->items[i].role == ROLE_SYSTEM;
  if (nsys == ps->n) {
    set_err(err, errlen, "binding `%s` uses anthropic, which needs at least one user message; the prompt has "
            "only system text", m->name);
    return false;
  }
  const ImgParams *pr = &r->params;
  jw_object(w);
  jw_key(w, "model");
  jw_cstring(w, m->model);
  jw_key(w, "max_tokens");
  jw_int(w, pr->set & PARAM_MAX_TOKENS ? pr->max_tokens : PROVIDER_ANTHROPIC_DEFAULT_MAX_TOKENS);
  if (nsys) {
    TextBuf sys = {0};
    for (size_t i = 0; i < ps->n; i++) {
      if (ps->items[i].role != ROLE_SYSTEM) continue;
      if (sys.len) tb_puts(&sys, "\n\n");
      tb_put(&sys, ps->items[i].text, ps->items[i].text_len);
    }
    jw_key(w, "system");
    jw_string(w, sys.data ? sys.data : "", sys.len);
    free(sys.data);
  }
  anthropic_messages(w, ps);
  write_params(w, pr, (ParamKeys){NULL, NULL, "stop_sequences"}); /* max_tokens is above; no seed */
  if (schema) {
    jw_key(w, "tools");
    jw_array(w);
    jw_object(w);
    jw_key(w, "name");
    jw_cstring(w, "output");
    jw_key(w, "description");
    jw_cstring(w, "Give the reply as this tool's input.");
    jw_key(w, "input_schema");
    jw_raw(w, schema->object, schema->object_len);
    jw_end_object(w);
    jw_end_array(w);
    jw_key(w, "tool_choice");
    jw_object(w);
    jw_key(w, "type");
    jw_cstring(w, "tool");
    jw_key(w, "name");
    jw_cstring(w, "output");
    jw_end_object(w);
  }
  jw_end_object(w);
  return true;
}

/* The /api/chat body: model, messages (consecutive user parts merged: their
 * texts joined by a blank line, their images in "images"), stream false,
 * format, options. */
static void ollama_body(JsonWriter *w, const Request *r, const ImgModel *m, const Parts *ps,
                        const SchemaWire *schema) {
  jw_object(w);
  jw_key(w, "model");
  jw_cstring(w, m->model);
  chat_messages(w, ps, ollama_user_content);
  jw_key(w, "stream");
  jw_bool(w, false);
  if (schema) {
    jw_key(w, "format");
    jw_raw(w, schema->plain, schema->plain_len);
  }
  ParamKeys keys = {"num_predict", "seed", "stop"};
  if (params_any(&r->params, keys)) {
    jw_key(w, "options");
    jw_object(w);
    write_params(w, &r->params, keys);
    jw_end_object(w);
  }
  jw_end_object(w);
}

/* ---- building -------------------------------------------------------------------------------- */

/* A malloc'd header line "name: value". */
static char *header(const char *name, const char *value) {
  size_t a = strlen(name), b = strlen(value);
  char *h = xmalloc(a + b + 3);
  memcpy(h, name, a);
  memcpy(h + a, ": ", 2);
  memcpy(h + a + 2, value, b + 1);
  return h;
}

void provider_http_free(HttpRequest *req) {
  if (!req) return;
  for (size_t i = 0; i < req->nheaders; i++) {
    if ((int)i == req->secret_header && req->headers[i]) wipe(req->headers[i], strlen(req->headers[i]));
    free(req->headers[i]);
  }
  free(req->headers);
  free(req->url);
  free(req->body);
  memset(req, 0, sizeof *req);
  req->secret_header = -1;
}

bool provider_build(const Request *r, const ProviderEnv *env, HttpRequest *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  out->secret_header = -1;
  if (err && errlen) err[0] = '\0';
  if (!r || !r->img || r->model >= r->img->nmodels) {
    set_err(err, errlen, "the request names binding %u; expected one of the program's %u bindings",
            r ? r->model : 0, r && r->img ? r->img->nmodels : 0);
    return false;
  }
  const ImgModel *m = &r->img->models[r->model];
  if (m->provider == PROVIDER_MOCK || (unsigned)m->provider > PROVIDER_OLLAMA) {
    set_err(err, errlen, "binding `%s` uses the %s provider, which has no wire format; expected openai, "
            "anthropic or ollama", m->name, provider_name(m->provider));
    return false;
  }
  TextBuf url = {0};
  if (!endpoint(m, env, &url, err, errlen)) return false;
  const char *key = NULL;
  if (!api_key(m, env, url.data, &key, err, errlen)) {
    free(url.data);
    return false;
  }
  SchemaMode sm = schema_mode(m, r);
  SchemaWire tmp = {0};
  const SchemaWire *schema = NULL;
  if (sm != SM_NONE && !(schema = schema_wire(env->cache, r->schema, m, &tmp, err, errlen))) {
    free(url.data);
    return false;
  }
  Parts ps = {0};
  TextBuf body = {0};
  bool ok = collect_parts(r, m, sm == SM_INSTRUCT, &ps, err, errlen);
  if (ok) {
    JsonWriter w = jw_new(&body);
    const SchemaWire *native = sm == SM_NATIVE ? schema : NULL;
    tb_reserve(&body, 512);
    switch (m->provider) {
    case PROVIDER_OPENAI: openai_body(&w, r, m, &ps, native, url.data); break;
    case PROVIDER_ANTHROPIC: ok = anthropic_body(&w, r, m, &ps, native, err, errlen); break;
    default: ollama_body(&w, r, m, &ps, native); break;
    }
  }
  parts_free(&ps);
  schema_wire_free(&tmp);
  if (!ok) {
    free(body.data);
    free(url.data);
    return false;
  }
  out->body_len = body.len;
  out->body = tb_take(&body);
  out->url = tb_take(&url);
  out->headers = xmalloc(4 * sizeof *out->headers);
  out->headers[out->nheaders++] = header("Content-Type", "application/json");
  out->headers[out->nheaders++] = header("Accept", "application/json");
  if (m->provider == PROVIDER_ANTHROPIC) {
    out->headers[out->nheaders++] = header("anthropic-version", PROVIDER_ANTHROPIC_VERSION);
    if (key) {
      out->secret_header = (int)out->nheaders;
      out->headers[out->nheaders++] = header("x-api-key", key);
    }
  } else if (key) {
    size_t n = strlen(key);
    char *bearer = xmalloc(n + 8);
    memcpy(bearer, "Bearer ", 7);
    memcpy(bearer + 7, key, n + 1);
    out->secret_header = (int)out->nheaders;
    out->headers[out->nheaders++] = header("Authorization", bearer);
    wipe(bearer, n + 7);
    free(bearer);
  }
  return true;
}

/* ---- Retry-After ----------------------------------------------------------------------------- */

/* Days from 1970-01-01 to the given civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned mon, unsigned d) {
  y -= mon <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

/* The month number (1-12) of a three-letter English abbreviation, or 0. */
static unsigned month_of(const char *s) {
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  for (unsigned i = 0; i < 12; i++)
    if (ascii_ieq(s, months + 3 * i, 3)) return i + 1;
  return 0;
}

/* Parse an HTTP date in any of the three forms of RFC 9110 section 5.6.7,
 * as seconds since the epoch; false when `s` is none of them. */
static bool parse_http_date(const char *s, int64_t *secs) {
  int d = 0, y = 0, hh = 0, mm = 0, ss = 0, used = 0;
  char mon[4] = {0}, wd[16] = {0};
  /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
  if (sscanf(s, "%15[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", wd, &d, mon, &y, &hh, &mm, &ss, &used) == 7 &&
      used) {
  } else if (used = 0, sscanf(s, "%15[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT%n", wd, &d, mon, &y, &hh, &mm,
                              &ss, &used) == 7 &&
                           used) {
    /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT; two-digit years within 50 years of 2000 */
    y += y < 50 ? 2000 : 1900;
  } else if (used = 0, sscanf(s, "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", wd, mon, &d, &hh, &mm, &ss, &y,
                              &used) == 7 &&
                           used) {
    /* asctime: Sun Nov  6 08:49:37 1994 */
  } else {
    return false;
  }
  while (s[used] == ' ' || s[used] == '\t' || s[used] == '\r' || s[used] == '\n')
    used++;
  if (s[used]) return false;
  unsigned mo = month_of(mon);
  if (!mo || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 || y < 1970 || hh < 0 || mm < 0 || ss < 0)
    return false;
  *secs = days_from_civil(y, mo, (unsigned)d) * 86400 + hh * 3600 + mm * 60 + ss;
  return true;
}

int64_t provider_retry_after_ms(const char *value, int64_t now_ms) {
  if (!value) return -1;
  while (*value == ' ' || *value == '\t')
    value++;
  if (isdigit((unsigned char)*value)) {
    int64_t secs = 0;
    const char *p = value;
    for (; isdigit((unsigned char)*p); p++)
      if (secs <= PROVIDER_MAX_RETRY_AFTER_MS / 1000) secs = secs * 10 + (*p - '0');
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
      p++;
    if (*p) return -1;
    int64_t ms = secs * 1000;
    return ms > PROVIDER_MAX_RETRY_AFTER_MS ? PROVIDER_MAX_RETRY_AFTER_MS : ms;
  }
  int64_t at;
  if (!parse_http_date(value, &at)) return -1;
  int64_t ms = at * 1000 - now_ms;
  if (ms < 0) return 0;
  return ms > PROVIDER_MAX_RETRY_AFTER_MS ? PROVIDER_MAX_RETRY_AFTER_MS : ms;
}

/* The value of response header `name` (case-insensitive) copied to
 * buf[0..size) without surrounding spaces or CR LF; false when absent. */
static bool find_header(const char *const *hs, size_t n, const char *name, char *buf, size_t size) {
  size_t k = strlen(name);
  for (size_t i = 0; i < n; i++) {
    const char *h = hs[i];
    if (!h || strlen(h) <= k || !ascii_ieq(h, name, k) || h[k] != ':') continue;
    const char *v = h + k + 1;
    while (*v == ' ' || *v == '\t')
      v++;
    size_t len = strcspn(v, "\r\n");
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
      len--;
    if (len >= size) len = size - 1;
    memcpy(buf, v, len);
    buf[len] = '\0';
    return true;
  }
  return false;
}

/* The delay the response asks for: retry-after-ms (OpenAI's), else
 * Retry-After; -1 when neither is there or readable. */
static int64_t retry_after(const char *const *hs, size_t n, int64_t now_ms) {
  char v[128];
  if (find_header(hs, n, "retry-after-ms", v, sizeof v)) {
    char *end;
    double ms = strtod(v, &end);
    if (end != v && !*end && ms >= 0)
      return ms > (double)PROVIDER_MAX_RETRY_AFTER_MS ? PROVIDER_MAX_RETRY_AFTER_MS : (int64_t)ms;
  }
  if (find_header(hs, n, "retry-after", v, sizeof v)) return provider_retry_after_ms(v, now_ms);
  return -1;
}

/* ---- replies ---------------------------------------------------------------------------------- */

/* Copy a provider's message into `dst` as one line: control characters and
 * runs of spaces become one space, words that look like keys (containing
 * "***", or starting with "sk-") and the word after "Bearer" become
 * "[redacted]", and the text is cut at PROVIDER_MESSAGE_CAP bytes on a
 * character boundary. */
static void clean_message(const char *src, size_t n, char *dst, size_t size) {
  TextBuf b = {0};
  size_t i = 0;
  bool redact_next = false;
  while (i < n && b.len < PROVIDER_MESSAGE_CAP) {
    while (i < n && ((unsigned char)src[i] <= 0x20 || src[i] == 0x7f))
      i++;
    if (i >= n) break;
    size_t start = i;
    while (i < n && (unsigned char)src[i] > 0x20 && src[i] != 0x7f)
      i++;
    const char *w = src + start;
    size_t wl = i - start;
    size_t lead = 0;
    while (lead < wl && strchr("\"'`([{<", w[lead]))
      lead++;
    bool secret = redact_next || (wl - lead >= 3 && !strncmp(w + lead, "sk-", 3));
    for (size_t k = 0; k + 2 < wl && !secret; k++)
      if (w[k] == '*' && w[k + 1] == '*' && w[k + 2] == '*') secret = true;
    redact_next = wl == 6 && ascii_ieq(w, "bearer", 6);
    if (b.len) tb_put(&b, " ", 1);
    if (secret)
      tb_puts(&b, "[redacted]");
    else
      tb_put(&b, w, wl);
  }
  size_t len = b.len;
  if (len > PROVIDER_MESSAGE_CAP) {
    len = PROVIDER_MESSAGE_CAP;
    while (len && ((unsigned char)b.data[len] & 0xC0) == 0x80)
      len--;
  }
  if (len >= size) {
    len = size - 1;
    while (len && ((unsigned char)b.data[len] & 0xC0) == 0x80)
      len--;
  }
  if (len) memcpy(dst, b.data, len);
  dst[len] = '\0';
  free(b.data);
}

/* Mark `out` failed with `kind`, `retryable` and a formatted message. */
static bool fail(ProviderReply *out, ProviderErrorKind kind, bool retryable, const char *fmt, ...) {
  free(out->text);
  out->text = NULL;
  out->text_len = 0;
  out->ok = false;
  out->error = kind;
  out->retryable = retryable;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->message, sizeof out->message, fmt, ap);
  va_end(ap);
  return false;
}

/* A rough token count: about four bytes a token, rounded up. */
static int64_t estimate_tokens(size_t bytes) { return (int64_t)((bytes + 3) / 4); }

/* Estimate the input tokens of `r`: its texts and schema at four bytes a
 * token, and a flat 256 tokens per media part. */
static int64_t estimate_input(const Request *r) {
  size_t bytes = r->schema ? strlen(r->schema) : 0;
  int64_t media = 0;
  if (r->messages.tag == V_LIST) {
    const List *l = value_as_list(r->messages);
    for (uint32_t i = 0; i < l->len; i++) {
      if (l->items[i].tag != V_RECORD) continue;
      const Record *rec = value_as_record(l->items[i]);
      if (rec->nfields > 1 && rec->fields[1].tag == V_STR) bytes += value_as_str(rec->fields[1])->len;
      if (rec->nfields > 2 && rec->fields[2].tag == V_MEDIA) media += 256;
    }
  }
  return estimate_tokens(bytes) + media;
}

/* Store the reply text (a copy of `n` bytes of `s`). */
static void set_text(ProviderReply *out, const char *s, size_t n) {
  free(out->text);
  out->text = xstrndup(s, n);
  out->text_len = n;
}

/* Read an integer member of `obj` into *v; false when it is not one. */
static bool get_count(const json_t *obj, const char *key, int64_t *v) {
  const json_t *j = json_is_object(obj) ? json_object_get(obj, key) : NULL;
  if (!json_is_integer(j) || json_integer_value(j) < 0) return false;
  *v = json_integer_value(j);
  return true;
}

/* Fill the token counts, estimating the ones the provider left out. */
static void set_usage(ProviderReply *out, const Request *r, bool have_in, int64_t in, bool have_out, int64_t outn) {
  out->input_tokens = have_in ? in : estimate_input(r);
  out->output_tokens = have_out ? outn : estimate_tokens(out->text_len);
  out->usage_estimated = !have_in || !have_out;
}

/* Record the provider's finish word. */
static void set_finish(ProviderReply *out, ProviderFinish f, const json_t *word) {
  out->finish = f;
  if (json_is_string(word)) snprintf(out->finish_raw, sizeof out->finish_raw, "%s", json_string_value(word));
}

/* The provider's error type and message from an error body: OpenAI and
 * vLLM {"error":{"type","code","message"}}, Anthropic {"type":"error",
 * "error":{"type","message"}}, Ollama {"error":"..."}, and top-level
 * "message"/"detail" of other compatible servers. Sets *json to whether the
 * body was JSON at all. */
static void error_details(const char *body, size_t len, char *type, size_t tsize, char *code, size_t csize,
                          char *msg, size_t msize, bool *json) {
  type[0] = code[0] = msg[0] = '\0';
  *json = false;
  json_t *j = len ? jload(body, len, NULL, NULL, 0) : NULL;
  if (!j) return;
  *json = true;
  const json_t *e = json_is_object(j) ? json_object_get(j, "error") : NULL;
  const json_t *holder = json_is_object(e) ? e : j;
  const json_t *t = json_object_get(holder, "type"), *c = json_object_get(holder, "code");
  const json_t *m = json_object_get(holder, "message");
  if (json_is_string(e)) m = e;
  if (!json_is_string(m)) m = json_is_object(j) ? json_object_get(j, "detail") : NULL;
  if (json_is_string(t) && strcmp(json_string_value(t), "error") != 0)
    clean_message(json_string_value(t), json_string_length(t), type, tsize < 64 ? tsize : 64);
  if (json_is_string(c)) clean_message(json_string_value(c), json_string_length(c), code, csize < 64 ? csize : 64);
  if (json_is_string(m)) clean_message(json_string_value(m), json_string_length(m), msg, msize);
  json_decref(j);
}

/* Classify a non-2xx response. */
static bool fail_status(ProviderReply *out, const char *pname, long status, const char *body, size_t len) {
  char type[64], code[64], msg[PROVIDER_MESSAGE_CAP + 8];
  bool json;
  error_details(body, len, type, sizeof type, code, sizeof code, msg, sizeof msg, &json);
  char detail[PROVIDER_MESSAGE_CAP + 160];
  const char *label = type[0] ? type : code;
  if (msg[0] || label[0])
    snprintf(detail, sizeof detail, "%s%s%s", label, label[0] && msg[0] ? ": " : "", msg);
  else if (len && !json)
    snprintf(detail, sizeof detail, "a body that is not JSON (%zu bytes)", len);
  else
    snprintf(detail, sizeof detail, "%s", len ? "no error message" : "an empty body");
  ProviderErrorKind kind;
  bool retry = false;
  const char *what;
  switch (status) {
  case 429:
    if (!strcmp(code, "insufficient_quota") || !strcmp(type, "insufficient_quota")) {
      kind = PE_CLIENT;
      what = "quota exhausted";
    } else {
      kind = PE_RATE_LIMIT;
      retry = true;
      what = "rate limited";
    }
    break;
  case 408: kind = PE_TIMEOUT, retry = true, what = "request timeout"; break;
  case 401:
  case 403: kind = PE_AUTH, what = "not authorised"; break;
  case 413: kind = PE_TOO_LARGE, what = "request too large"; break;
  case 500:
  case 502:
  case 503:
  case 504: kind = PE_SERVER, retry = true, what = "server error"; break;
  case 529: kind = PE_SERVER, retry = true, what = "overloaded"; break;
  default:
    if (status >= 400 && status < 500)
      kind = PE_CLIENT, what = "request rejected";
    else if (status >= 500 && status < 600)
      kind = PE_SERVER, what = "server error";
    else
      kind = PE_BAD_RESPONSE, what = "unexpected HTTP status";
    break;
  }
  return fail(out, kind, retry, "%s replied HTTP %ld (%s): %s", pname, status, what, detail);
}

/* Should the reply for `r` hold JSON (a schema was sent natively or as
 * instructions)? */
static bool wants_json(const Request *r) { return r->schema != NULL; }

/* Was the schema wrapped as {"value": ...} for this request? */
static bool schema_was_wrapped(const Request *r, const ImgModel *m) {
  if (schema_mode(m, r) != SM_NATIVE || m->provider == PROVIDER_OLLAMA) return false;
  if (!strncmp(r->schema, "{\"type\":\"object\"", 16)) return false; /* the compiler's record schemas */
  json_t *s = jload(r->schema, strlen(r->schema), NULL, NULL, 0);
  bool wrapped = s && !schema_is_object(s);
  json_decref(s);
  return wrapped;
}

/* Store `v` as JSON text, or its "value" member when `unwrap` and there is one. */
static void set_json_text(ProviderReply *out, const json_t *v, bool unwrap) {
  const json_t *inner = unwrap && json_is_object(v) ? json_object_get(v, "value") : NULL;
  size_t n;
  char *s = jdump(inner ? inner : v, 17, &n);
  free(out->text);
  out->text = s;
  out->text_len = n;
}

/* The text of a reply that was cut at the token limit while JSON was wanted. */
static bool fail_cut(ProviderReply *out, const char *pname, const char *field, const json_t *word) {
  return fail(out, PE_BAD_RESPONSE, false,
              "%s stopped at the token limit (%s \"%s\") before the JSON reply was complete; expected a complete "
              "reply: raise max_tokens",
              pname, field, json_string_value(word));
}

/* OpenAI: choices[0].message.{content, refusal}, finish_reason, usage. */
static bool parse_openai(const Request *r, const ImgModel *m, const json_t *j, ProviderReply *out) {
  const json_t *usage = json_object_get(j, "usage");
  int64_t in = 0, on = 0;
  bool hi = get_count(usage, "prompt_tokens", &in), ho = get_count(usage, "completion_tokens", &on);
  const json_t *choices = json_object_get(j, "choices");
  if (!json_is_array(choices) || json_array_size(choices) == 0) {
    set_usage(out, r, hi, in, ho, on);
    return fail(out, PE_BAD_RESPONSE, false, "openai replied without choices; expected a non-empty array at "
                "choices, found %s", json_is_array(choices) ? "an empty array" : jtype(choices));
  }
  const json_t *c0 = json_array_get(choices, 0);
  const json_t *msg = json_object_get(c0, "message");
  const json_t *fr = json_object_get(c0, "finish_reason");
  const char *f = json_is_string(fr) ? json_string_value(fr) : "";
  set_finish(out,
             !strcmp(f, "stop")             ? PF_STOP
             : !strcmp(f, "length")         ? PF_LENGTH
             : !strcmp(f, "content_filter") ? PF_CONTENT_FILTER
             : !strcmp(f, "tool_calls") || !strcmp(f, "function_call") ? PF_TOOL_USE
             : json_is_string(fr)           ? PF_OTHER
                                            : PF_UNKNOWN,
             fr);
  const json_t *refusal = json_object_get(msg, "refusal");
  const json_t *content = json_object_get(msg, "content");
  if (json_is_string(content)) set_text(out, json_string_value(content), json_string_length(content));
  set_usage(out, r, hi, in, ho, on);
  if (json_is_string(refusal)) {
    char why[PROVIDER_MESSAGE_CAP + 8];
    clean_message(json_string_value(refusal), json_string_length(refusal), why, sizeof why);
    out->finish = PF_REFUSAL;
    return fail(out, PE_REFUSED, false, "openai refused: %s", why);
  }
  if (out->finish == PF_CONTENT_FILTER)
    return fail(out, PE_REFUSED, false, "openai withheld the reply (finish_reason \"content_filter\")");
  if (!json_is_object(msg))
    return fail(out, PE_BAD_RESPONSE, false, "openai replied without a message; expected an object at "
                "choices[0].message, found %s", jtype(msg));
  if (!json_is_string(content))
    return fail(out, PE_BAD_RESPONSE, false, "openai replied without text; expected a string at "
                "choices[0].message.content, found %s", jtype(content));
  if (out->finish == PF_LENGTH && wants_json(r)) return fail_cut(out, "openai", "finish_reason", fr);
  if (schema_was_wrapped(r, m)) {
    json_t *v = jload(out->text, out->text_len, NULL, NULL, 0);
    if (json_is_object(v) && json_object_get(v, "value")) set_json_text(out, v, true);
    json_decref(v);
  }
  out->ok = true;
  return true;
}

/* Anthropic: content blocks (text, or tool_use "output" for structured
 * output), stop_reason, usage. */
static bool parse_anthropic(const Request *r, const ImgModel *m, const json_t *j, ProviderReply *out) {
  const json_t *usage = json_object_get(j, "usage");
  int64_t in = 0, on = 0, cache = 0;
  bool hi = get_count(usage, "input_tokens", &in), ho = get_count(usage, "output_tokens", &on);
  if (hi && get_count(usage, "cache_creation_input_tokens", &cache)) in += cache;
  if (hi && get_count(usage, "cache_read_input_tokens", &cache)) in += cache;
  const json_t *sr = json_object_get(j, "stop_reason");
  const char *s = json_is_string(sr) ? json_string_value(sr) : "";
  set_finish(out,
             !strcmp(s, "end_turn") || !strcmp(s, "stop_sequence")               ? PF_STOP
             : !strcmp(s, "max_tokens") || !strcmp(s, "model_context_window_exceeded") ? PF_LENGTH
             : !strcmp(s, "tool_use")                                           ? PF_TOOL_USE
             : !strcmp(s, "refusal")                                            ? PF_REFUSAL
             : json_is_string(sr)                                               ? PF_OTHER
                                                                                : PF_UNKNOWN,
             sr);
  const json_t *content = json_object_get(j, "content");
  if (!json_is_array(content)) {
    set_usage(out, r, hi, in, ho, on);
    return fail(out, PE_BAD_RESPONSE, false, "anthropic replied without content; expected an array at content, "
                "found %s", jtype(content));
  }
  bool structured = schema_mode(m, r) == SM_NATIVE;
  const json_t *tool_input = NULL;
  TextBuf text = {0};
  bool any_text = false;
  for (size_t i = 0; i < json_array_size(content); i++) {
    const json_t *b = json_array_get(content, i);
    const json_t *t = json_object_get(b, "type");
    const char *ts = json_is_string(t) ? json_string_value(t) : "";
    if (!strcmp(ts, "text")) {
      const json_t *tx = json_object_get(b, "text");
      if (json_is_string(tx)) {
        tb_put(&text, json_string_value(tx), json_string_length(tx));
        any_text = true;
      }
    } else if (!strcmp(ts, "tool_use") && !tool_input) {
      const json_t *name = json_object_get(b, "name");
      if (json_is_string(name) && !strcmp(json_string_value(name), "output")) tool_input = json_object_get(b, "input");
    }
  }
  if (structured && tool_input)
    set_json_text(out, tool_input, schema_was_wrapped(r, m));
  else if (any_text)
    set_text(out, text.data, text.len);
  free(text.data);
  set_usage(out, r, hi, in, ho, on);
  if (out->finish == PF_REFUSAL) {
    return fail(out, PE_REFUSED, false, "anthropic refused (stop_reason \"refusal\")%s%.300s", any_text ? ": " : "",
                any_text && out->text ? out->text : "");
  }
  if (out->finish == PF_LENGTH && wants_json(r)) return fail_cut(out, "anthropic", "stop_reason", sr);
  if (structured && !tool_input && !any_text)
    return fail(out, PE_BAD_RESPONSE, false, "anthropic replied without the structured output; expected a "
                "tool_use block named \"output\" in content, found %zu other blocks", json_array_size(content));
  if (!out->text)
    return fail(out, PE_BAD_RESPONSE, false, "anthropic replied without text; expected a text block in content, "
                "found %zu blocks of other types", json_array_size(content));
  out->ok = true;
  return true;
}

/* Ollama: message.content, done_reason, prompt_eval_count/eval_count. */
static bool parse_ollama(const Request *r, const json_t *j, ProviderReply *out) {
  int64_t in = 0, on = 0;
  bool hi = get_count(j, "prompt_eval_count", &in), ho = get_count(j, "eval_count", &on);
  const json_t *dr = json_object_get(j, "done_reason");
  const char *d = json_is_string(dr) ? json_string_value(dr) : "";
  set_finish(out,
             !strcmp(d, "stop")     ? PF_STOP
             : !strcmp(d, "length") ? PF_LENGTH
             : json_is_string(dr)   ? PF_OTHER
                                    : PF_UNKNOWN,
             dr);
  const json_t *msg = json_object_get(j, "message");
  const json_t *content = json_object_get(msg, "content");
  if (json_is_string(content)) set_text(out, json_string_value(content), json_string_length(content));
  set_usage(out, r, hi, in, ho, on);
  if (!json_is_string(content))
    return fail(out, PE_BAD_RESPONSE, false, "ollama replied without text; expected a string at message.content, "
                "found %s", jtype(content));
  if (out->finish == PF_LENGTH && wants_json(r)) return fail_cut(out, "ollama", "done_reason", dr);
  out->ok = true;
  return true;
}

void provider_reply_free(ProviderReply *reply) {
  if (!reply) return;
  free(reply->text);
  memset(reply, 0, sizeof *reply);
  reply->retry_after_ms = -1;
}

bool provider_parse(const Request *r, long http_status, const char *const *resp_headers, size_t nheaders,
                    const char *body, size_t len, int64_t now_ms, ProviderReply *out) {
  memset(out, 0, sizeof *out);
  out->retry_after_ms = -1;
  out->http_status = http_status;
  if (!r || !r->img || r->model >= r->img->nmodels)
    return fail(out, PE_BAD_RESPONSE, false, "the reply belongs to binding %u; expected one of the program's "
                "%u bindings", r ? r->model : 0, r && r->img ? r->img->nmodels : 0);
  const ImgModel *m = &r->img->models[r->model];
  const char *pname = provider_name(m->provider);
  if (!body) len = 0;
  if (http_status == 0)
    return fail(out, PE_CONNECTION, true, "%s: no HTTP response was received", pname);
  if (http_status < 200 || http_status > 299) {
    out->retry_after_ms = retry_after(resp_headers, nheaders, now_ms);
    return fail_status(out, pname, http_status, body, len);
  }
  if (len == 0)
    return fail(out, PE_BAD_RESPONSE, true, "%s replied HTTP %ld with an empty body; expected a JSON object",
                pname, http_status);
  char jerr[160];
  bool truncated;
  json_t *j = jload(body, len, &truncated, jerr, sizeof jerr);
  if (!j) {
    if (truncated)
      return fail(out, PE_BAD_RESPONSE, true, "%s replied with a truncated body (%zu bytes; %s); expected a "
                  "complete JSON object", pname, len, jerr);
    return fail(out, PE_BAD_RESPONSE, true, "%s replied with a body that is not JSON (%s); expected a JSON object",
                pname, jerr);
  }
  bool ok;
  const json_t *err = json_is_object(j) ? json_object_get(j, "error") : NULL;
  if (!json_is_object(j)) {
    ok = fail(out, PE_BAD_RESPONSE, false, "%s replied with %s; expected a JSON object", pname, jtype(j));
  } else if (err && !json_is_null(err)) {
    char type[64], code[64], msg[PROVIDER_MESSAGE_CAP + 8];
    bool json;
    error_details(body, len, type, sizeof type, code, sizeof code, msg, sizeof msg, &json);
    ok = fail(out, PE_BAD_RESPONSE, false, "%s replied HTTP %ld with an error: %s%s%s", pname, http_status,
              type[0] ? type : code, (type[0] || code[0]) && msg[0] ? ": " : "", msg);
  } else if (m->provider == PROVIDER_OPENAI) {
    ok = parse_openai(r, m, j, out);
  } else if (m->provider == PROVIDER_ANTHROPIC) {
    ok = parse_anthropic(r, m, j, out);
  } else if (m->provider == PROVIDER_OLLAMA) {
    ok = parse_ollama(r, j, out);
  } else {
    ok = fail(out, PE_BAD_RESPONSE, false, "binding `%s` uses the %s provider, which has no wire format", m->name,
              pname);
  }
  json_decref(j);
  return ok;
}

void provider_reply_transport_error(ProviderReply *out, const Request *r, ProviderErrorKind kind, const char *what) {
  memset(out, 0, sizeof *out);
  out->retry_after_ms = -1;
  const char *pname = r && r->img && r->model < r->img->nmodels ? provider_name(r->img->models[r->model].provider)
                                                                 : "provider";
  char clean[PROVIDER_MESSAGE_CAP + 8];
  clean_message(what ? what : "", what ? strlen(what) : 0, clean, sizeof clean);
  if (kind != PE_TIMEOUT) kind = PE_CONNECTION;
  fail(out, kind, true, "%s: %s: %s", pname, kind == PE_TIMEOUT ? "timed out" : "connection failed",
       clean[0] ? clean : "no details");
}
