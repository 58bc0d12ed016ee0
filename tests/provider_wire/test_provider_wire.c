/* test_provider_wire.c - unit tests of the provider wire formats
 * (runtime/provider.c) and base64 (runtime/base64.c), without networking.
 *
 * Builds a program image by hand with one binding per case (OpenAI,
 * Anthropic, Ollama, a local OpenAI-compatible server without JSON mode, the
 * mock), builds HTTP requests from hand-made message lists through an
 * injected environment, parses the bodies back with jansson and checks the
 * fields each provider documents; then feeds provider_parse success replies,
 * error statuses, Retry-After headers and broken bodies. A canary key
 * planted in the environment must appear in exactly one request header and
 * nowhere else. Prints one line per failed check and ends with
 * "N passed, M failed"; exits non-zero when anything failed. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally.h"
#include "base64.h"
#include "image.h"
#include "provider.h"
#include "request.h"
#include "value.h"

#define CANARY "sk-canary-123"

/* ---- checks -------------------------------------------------------------------------------- */

/* Record that [hay] contains [needle]. */
static void check_has_at(Tally *t, const char *hay, const char *needle, const char *file, int line) {
  bool ok = hay && strstr(hay, needle);
  if (!check_at(t, ok, file, line, "text contains"))
    fprintf(stderr, "  expected to contain: %s\n  got: %s\n", needle, hay ? hay : "(null)");
}
#define CHECK_HAS(t, hay, needle) check_has_at((t), (hay), (needle), __FILE__, __LINE__)

/* Record that [hay] does not contain [needle]. */
static void check_lacks_at(Tally *t, const char *hay, const char *needle, const char *file, int line) {
  bool ok = !hay || !strstr(hay, needle);
  if (!check_at(t, ok, file, line, "text does not contain"))
    fprintf(stderr, "  expected not to contain: %s\n  got: %s\n", needle, hay);
}
#define CHECK_LACKS(t, hay, needle) check_lacks_at((t), (hay), (needle), __FILE__, __LINE__)

/* ---- fixture ------------------------------------------------------------------------------- */

/* A malloc'd copy of [s], or NULL. */
static char *copy_str(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  memcpy(p, s, n);
  return p;
}

/* Binding indexes of the test image. */
enum { M_FAST, M_SMART, M_LOCAL, M_PLAIN, M_MOCK, M_CUSTOM, M_BLIND, M_OLLAMA_KEY, M_COUNT };

/* Fill binding [i] of [img]. */
static void model(Image *img, uint32_t i, const char *name, Provider p, const char *mname, const char *base_url,
                  const char *key_env, bool vision, bool audio, bool json_mode) {
  ImgModel *m = &img->models[i];
  m->name = copy_str(name);
  m->provider = p;
  m->model = copy_str(mname);
  m->base_url = copy_str(base_url);
  m->api_key_env = copy_str(key_env);
  m->vision = vision;
  m->audio = audio;
  m->json_mode = json_mode;
}

/* The image: one binding per case. */
static Image *fixture(void) {
  Image *img = image_new();
  img->nmodels = M_COUNT;
  img->models = calloc(M_COUNT, sizeof *img->models);
  model(img, M_FAST, "fast", PROVIDER_OPENAI, "gpt-4o-mini", NULL, NULL, true, true, true);
  model(img, M_SMART, "smart", PROVIDER_ANTHROPIC, "claude-x", NULL, NULL, true, false, true);
  model(img, M_LOCAL, "local", PROVIDER_OLLAMA, "llama3.2", NULL, NULL, true, false, true);
  model(img, M_PLAIN, "plain", PROVIDER_OPENAI, "qwen", "http://localhost:8000/v1/", NULL, false, false, false);
  model(img, M_MOCK, "mocky", PROVIDER_MOCK, "m", NULL, NULL, false, false, true);
  model(img, M_CUSTOM, "custom", PROVIDER_OPENAI, "gw", "https://gateway.example/v1/", "MY_KEY", false, false, true);
  model(img, M_BLIND, "blind", PROVIDER_OPENAI, "gpt", NULL, NULL, false, false, true);
  model(img, M_OLLAMA_KEY, "cloud", PROVIDER_OLLAMA, "llama", "https://ollama.example", "OLLAMA_KEY", false, false,
        true);
  return img;
}

/* A message record: [role] with [text] (or NULL), and media of [mime] with
 * [n] bytes of [media] when [media] is not NULL. */
static Value message(const char *role, const char *text, const char *mime, const void *media, size_t n) {
  Value m = value_record(IMG_TYPE_MESSAGE, 3);
  record_set_steal(m, 0, value_cstr(role));
  if (text) record_set_steal(m, 1, value_cstr(text));
  if (media) record_set_steal(m, 2, value_media(mime, "cat.png", media, n));
  return m;
}

/* A system message and one user message [user]. */
static Value conversation(const char *user) {
  Value l = value_list(2);
  list_push_steal(l, message("system", "Be brief.", NULL, NULL, 0));
  list_push_steal(l, message("user", user, NULL, NULL, 0));
  return l;
}

/* A request on binding [m] with [messages] (borrowed) and [schema]. */
static Request req(const Image *img, uint32_t m, Value messages, const char *schema) {
  Request r = {.img = img, .prompt = -1, .model = m, .messages = messages, .out_type = IMG_TYPE_STRING,
               .schema = schema};
  return r;
}

/* ---- injected environment -------------------------------------------------------------------- */

/* A fake environment: up to 8 variables. */
typedef struct FakeEnv {
  const char *names[8], *values[8];
  int n;
} FakeEnv;

/* ProviderEnv.getenv over a FakeEnv. */
static const char *fake_getenv(void *ctx, const char *name) {
  const FakeEnv *e = ctx;
  for (int i = 0; i < e->n; i++)
    if (!strcmp(e->names[i], name)) return e->values[i];
  return NULL;
}

/* Set [name] to [value] in [e]. */
static void env_set(FakeEnv *e, const char *name, const char *value) {
  for (int i = 0; i < e->n; i++) {
    if (!strcmp(e->names[i], name)) {
      e->values[i] = value;
      return;
    }
  }
  e->names[e->n] = name;
  e->values[e->n++] = value;
}

/* The usual environment: the canary in every key variable. */
static FakeEnv canary_env(void) {
  FakeEnv e = {0};
  env_set(&e, "OPENAI_API_KEY", CANARY);
  env_set(&e, "ANTHROPIC_API_KEY", CANARY);
  env_set(&e, "MY_KEY", CANARY);
  env_set(&e, "OLLAMA_KEY", CANARY);
  return e;
}

/* ---- helpers ------------------------------------------------------------------------------------- */

/* The member at [path] ("messages.1.content.0.type"; numbers index arrays)
 * of [j], borrowed, or NULL. */
static json_t *jp(json_t *j, const char *path) {
  char seg[64];
  while (j && *path) {
    size_t n = strcspn(path, ".");
    if (n >= sizeof seg) return NULL;
    memcpy(seg, path, n);
    seg[n] = '\0';
    path += n + (path[n] == '.');
    if (json_is_array(j)) {
      char *end;
      long i = strtol(seg, &end, 10);
      j = *end ? NULL : json_array_get(j, (size_t)i);
    } else {
      j = json_object_get(j, seg);
    }
  }
  return j;
}

/* The string at [path] of [j], or NULL. */
static const char *js(json_t *j, const char *path) { return json_string_value(jp(j, path)); }

/* The number of times [needle] occurs in [hay]. */
static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; p && (p = strstr(p, needle)); p++)
    n++;
  return n;
}

/* Does [h] hold the header line [line]? */
static bool has_header(const HttpRequest *h, const char *line) {
  for (size_t i = 0; i < h->nheaders; i++)
    if (!strcmp(h->headers[i], line)) return true;
  return false;
}

/* Check that the canary occurs once, in the secret header, and nowhere else. */
static void check_canary(Tally *t, const HttpRequest *h) {
  int in_headers = 0;
  for (size_t i = 0; i < h->nheaders; i++) {
    int c = count(h->headers[i], CANARY);
    in_headers += c;
    if (c) CHECK(t, (int)i == h->secret_header);
  }
  CHECK(t, in_headers == 1);
  CHECK(t, count(h->url, CANARY) == 0);
  CHECK(t, count(h->body, CANARY) == 0);
}

/* Build [r] with [env]; the body parsed back (new reference) or NULL. */
static json_t *build(Tally *t, const Request *r, FakeEnv *env, HttpRequest *h, char *err, size_t errlen) {
  ProviderEnv pe = {fake_getenv, env, NULL};
  if (!CHECK(t, provider_build(r, &pe, h, err, errlen))) {
    fprintf(stderr, "  error: %s\n", err);
    return NULL;
  }
  CHECK(t, strlen(h->body) == h->body_len);
  json_error_t je;
  json_t *j = json_loadb(h->body, h->body_len, 0, &je);
  CHECK(t, j != NULL);
  return j;
}

/* Expect building [r] with [env] to fail with an error containing [want];
 * the canary must not be in it. */
static void build_fails(Tally *t, const Request *r, FakeEnv *env, const char *want) {
  ProviderEnv pe = {fake_getenv, env, NULL};
  HttpRequest h;
  char err[512];
  CHECK(t, !provider_build(r, &pe, &h, err, sizeof err));
  CHECK(t, h.url == NULL && h.body == NULL && h.nheaders == 0);
  CHECK_HAS(t, err, want);
  CHECK_LACKS(t, err, CANARY);
}

static const char *const OBJ_SCHEMA =
  "{\"type\":\"object\",\"properties\":{\"label\":{\"type\":\"string\"},\"score\":{\"anyOf\":[{\"type\":"
  "\"number\"},{\"type\":\"null\"}]}},\"required\":[\"label\",\"score\"],\"additionalProperties\":false}";
static const char *const ARR_SCHEMA = "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}";

/* Is the JSON at [path] of [j] equal to the JSON text [want]? */
static bool json_eq_text(json_t *j, const char *path, const char *want) {
  json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
  bool eq = w && jp(j, path) && json_equal(jp(j, path), w);
  json_decref(w);
  return eq;
}

/* ---- base64 ------------------------------------------------------------------------------------- */

/* RFC 4648 test vectors and the cap check. */
static void test_base64(Tally *t) {
  const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; i++) {
    size_t n;
    char *s = base64_encode(in[i], strlen(in[i]), &n);
    CHECK_STR(t, s, out[i]);
    CHECK(t, n == strlen(out[i]) && n == base64_encoded_len(strlen(in[i])));
    free(s);
  }
  unsigned char bin[] = {0xff, 0xfe, 0x00, 0x3e, 0x3f};
  char buf[16];
  base64_encode_into(buf, bin, sizeof bin);
  CHECK_STR(t, buf, "//4APj8=");
  size_t enc = 0;
  CHECK(t, base64_within_cap(300, 300, &enc) && enc == 400);
  CHECK(t, !base64_within_cap(301, 300, NULL));
  CHECK(t, !base64_within_cap((size_t)-1, (size_t)-1, NULL));
}

/* ---- building: OpenAI ----------------------------------------------------------------------------- */

/* Text request: endpoint, headers, messages, parameters. */
static void test_openai_text(Tally *t, Image *img) {
  FakeEnv env = canary_env();
  Value msgs = conversation("Hello");
  Request r = req(img, M_FAST, msgs, NULL);
  r.params.set = PARAM_TEMPERATURE | PARAM_TOP_P | PARAM_MAX_TOKENS | PARAM_SEED | PARAM_STOP;
  r.params.temperature = 0.2;
  r.params.top_p = 0.9;
  r.params.max_tokens = 100;
  r.params.seed = 7;
  char *stops[] = {"END", "STOP"};
  r.params.nstop = 2;
  r.params.stop = stops;
  HttpRequest h;
  char err[256];
  json_t *b = build(t, &r, &env, &h, err, sizeof err);
  CHECK_STR(t, h.url, "https://api.openai.com/v1/chat/completions");
  CHECK(t, has_header(&h, "Authorization: Bearer " CANARY));
  CHECK(t, has_header(&h, "Content-Type: application/json"));
  check_canary(t, &h);
  CHECK_STR(t, js(b, "model"), "gpt-4o-mini");
  CHECK(t, json_array_size(jp(b, "messages")) == 2);
  CHECK_STR(t, js(b, "messages.0.role"), "system");
  CHECK_STR(t, js(b, "messages.0.content"), "Be brief.");
  CHECK_STR(t, js(b, "messages.1.role"), "user");
  CHECK_STR(t, js(b, "messages.1.content"), "Hello");
  CHECK(t, json_real_value(jp(b, "temperature")) == 0.2);
  CHECK(t, json_real_value(jp(b, "top_p")) == 0.9);
  CHECK_HAS(t, h.body, "\"temperature\":0.2,");
  CHECK(t, json_integer_value(jp(b, "max_completion_tokens")) == 100); /* api.openai.com */
  CHECK(t, jp(b, "max_tokens") == NULL);
  CHECK(t, json_integer_value(jp(b, "seed")) == 7);
  CHECK(t, json_eq_text(b, "stop", "[\"END\",\"STOP\"]"));
  CHECK(t, jp(b, "response_format") == NULL);
  json_decref(b);
  provider_http_free(&h);

  /* invalid UTF-8 in text becomes U+FFFD */
  Value bad = value_list(1);
  list_push_steal(bad, message("user", "a\xff" "b", NULL, NULL, 0));
  Request rb = req(img, M_FAST, bad, NULL);
  b = build(t, &rb, &env, &h, err, sizeof err);
  CHECK_STR(t, js(b, "messages.0.content"), "a\xEF\xBF\xBD" "b");
  json_decref(b);
  provider_http_free(&h);
  value_release(bad);
  value_release(msgs);
}

/* Structured output: response_format json_schema strict, wrapped when the
 * root is not an object. */
static void test_openai_structured(Tally *t, Image *img) {
  FakeEnv env = canary_env();
  Value msgs = conversation("Rate it");
  Request r = req(img, M_FAST, msgs, OBJ_SCHEMA);
  HttpRequest h;
  char err[256];
  json_t *b = build(t, &r, &env, &h, err, sizeof err);
  CHECK_STR(t, js(b, "response_format.type"), "json_schema");
  CHECK_STR(t, js(b, "response_format.json_schema.name"), "output");
  CHECK(t, jp(b, "response_format.json_schema.strict") == json_true());
  CHECK(t, json_eq_text(b, "response_format.json_schema.schema", OBJ_SCHEMA));
  CHECK_STR(t, js(b, "messages.0.content"), "Be brief.");
  json_decref(b);
  provider_http_free(&h);

  r.schema = ARR_SCHEMA;
  b = build(t, &r, &env, &h, err, sizeof err);
  CHECK(t, json_eq_text(b, "response_format.json_schema.schema",
                        "{\"type\":\"object\",\"properties\":{\"value\":{\"type\":\"array\",\"items\":{\"type\":"
                        "\"string\"}}},\"required\":[\"value\"],\"additionalProperties\":false}"));
  json_decref(b);
  provider_http_free(&h);

  r.schema = "{not json";
  build_fails(t, &r, &env, "is not a JSON Schema object");
  value_release(msgs);
}

/* Images as data URLs in merged user content; audio as input_audio. */
static void test_openai_media(Tally *t, Image *img) {
  FakeEnv env = canary_env();
  const unsigned char png[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a};
  Value msgs = value_list(4);
  list_push_steal(msgs, message("system", "Describe.", NULL, NULL, 0));
  list_push_steal(msgs, message("user", "What is this?", NULL, NULL, 0));
  list_push_steal(msgs, message("user", NULL, "image/png", png, sizeof png));
  list_push_steal(msgs, message("user", NULL, "audio/wav", "RIFF", 4));
  Request r = req(img, M_FAST, msgs, NULL);
  HttpRequest h;
  char err[256];
  json_t *b = build(t, &r, &env, &h, err, sizeof err);
  char *b64 = base64_encode(png, sizeof png, NULL);
  char url[64];
  snprintf(url, sizeof url, "data:image/png;base64,%s", b64);
  CHECK(t, json_array_size(jp(b, "messages")) == 2);
  CHECK(t, json_array_size(jp(b, "messages.1.content")) == 3);
  CHECK_STR(t, js(b, "messages.1.content.0.type"), "text");
  CHECK_STR(t, js(b, "messages.1.content.0.text"), "What is this?");
  CHECK_STR(t, js(b, "messages.1.content.1.type"), "image_url");
  CHECK_STR(t, js(b, "messages.1.content.1.image_url.url"), url);
  CHECK_STR(t, js(b, "messages.1.content.2.type"), "input_audio");
  CHECK_STR(t, js(b, "messages.1.content.2.input_audio.data"), "UklGRg==");
  CHECK_STR(t, js(b, "messages.1.content.2.input_audio.format"), "wav");
  check_canary(t, &h);
  free(b64);
  json_decref(b);
  provider_http_free(&h);
  value_release(msgs);

  /* audio on a binding without audio; image without vision; bad types */
  Value a = value_list(1);
  list_push_steal(a, message("user", NULL, "audio/wav", "RIFF", 4));
  Request ra = req(img, M_BLIND, a, NULL);
  build_fails(t, &ra, &env, "binding `blind` does not take audio");
  ra.model = M_SMART;
  build_fails(t, &ra, &env, "uses anthropic, which takes no audio input");
  value_release(a);
  Value i = value_list(1);
  list_push_steal(i, message("user", NULL, "image/png", png, sizeof png));
  Request ri = req(img, M_BLIND, i, NULL);
  build_fails(t, &ri, &env, "binding `blind` does not take images (vision is not set)");
  value_release(i);
  Value o = value_list(1);
  list_push_steal(o, message("user", NULL, "audio/ogg", "OggS", 4));
  Request ro = req(img, M_FAST, o, NULL);
  build_fails(t, &ro, &env, "openai expects audio/wav or audio/mpeg");
  value_release(o);
  Value x = value_list(1);
  list_push_steal(x, message("user", NULL, "application/pdf", "%PDF", 4));
  Request rx = req(img, M_FAST, x, NULL);
  build_fails(t, &rx, &env, "expected an image/... or audio/... type");
  value_release(x);
  Value s = value_list(1);
  list_push_steal(s, message("system", NULL, "image/png", png, sizeof png));
  Request rs = req(img, M_FAST, s, NULL);
  build_fails(t, &rs, &env, "expected media only in user messages");
  value_release(s);
  Value role = value_list(1);
  list_push_steal(role, message("tool", "x", NULL, NULL, 0));
  Request rr = req(img, M_FAST, role, NULL);
  build_fails(t, &rr, &env, "has the role \"tool\"; expected system, user or assistant");
  value_release(role);

  /* the 20 MiB cap */
  size_t big = PROVIDER_MEDIA_CAP + 1;
  char *bytes = calloc(1, big);
  Value l = value_list(1);
  list_push_steal(l, message("user", NULL, "image/png", bytes, big));
  Request rl = req(img, M_FAST, l, NULL);
  build_fails(t, &rl, &env, "expected at most 20971520 bytes (20 MiB) per part");
  value_release(l);
  free(bytes);
}

/* ---- building: Anthropic ---------------------------------------------------------------------- */

/* Text, structured output through the forced tool, and image blocks. */
static void test_anthropic(Tally *t, Image *img) {
  FakeEnv env = canary_env();
  Value msgs = conversation("Hello");
  Request r = req(img, M_SMART, msgs, NULL);
  r.params.set = PARAM_TEMPERATURE | PARAM_SEED | PARAM_STOP;
  r.params.temperature = 1.0;
  r.params.seed = 3;
  char *stops[] = {"###"};
  r.params.nstop = 1;
  r.params.stop = stops;
  HttpRequest h;
  char err[256];
  json_t *b = build(t, &r, &env, &h, err, sizeof err);
  CHECK_STR(t, h.url, "https://api.anthropic.com/v1/messages");
  CHECK(t, has_header(&h, "x-api-key: " CANARY));
  CHECK(t, has_header(&h, "anthropic-version: 2023-06-01"));
  check_canary(t, &h);
  CHECK_STR(t, js(b, "model"), "claude-x");
  CHECK(t, json_integer_value(jp(b, "max_tokens")) == 1024);
  CHECK_STR(t, js(b, "system"), "Be brief.");
  CHECK(t, json_array_size(jp(b, "messages")) == 1);
  CHECK_STR(t, js(b, "messages.0.role"), "user");
  CHECK_STR(t, js(b, "messages.0.content"), "Hello");
  CHECK(t, json_real_value(jp(b, "temperature")) == 1.0);
  CHECK(t, json_eq_text(b, "stop_sequences", "[\"###\"]"));
  CHECK(t, jp(b, "seed") == NULL && jp(b, "tools") == NULL);
  json_decref(b);
  provider_http_free(&h);

  r.params.set = PARAM_MAX_TOKENS;
  r.params.max_tokens = 50;
  r.schema = OBJ_SCHEMA;
  b = build(t, &r, &env, &h, err, sizeof err);
  CHECK(t, json_integer_value(jp(b, "max_tokens")) == 50);
  CHECK(t, json_array_size(jp(b, "tools")) == 1);
  CHECK_STR(t, js(b, "tools.0.name"), "output");
  CHECK(t, json_eq_text(b, "tools.0.input_schema", OBJ_SCHEMA));
  CHECK(t, json_eq_text(b, "tool_choice", "{\"type\":\"tool\",\"name\":\"output\"}"));
  CHECK_STR(t, js(b, "system"), "Be brief.");
  json_decref(b);
  provider_http_free(&h);

  r.schema = ARR_SCHEMA;
  b = build(t, &r, &env, &h, err, sizeof err);
  CHECK(t, json_eq_text(b, "tools.0.input_schema.properties.value", ARR_SCHEMA));
  CHECK(t, json_eq_text(b, "tools.0.input_schema.required", "[\"value\"]"));
  CHECK_STR(t, js(b, "tools.0.input_schema.type"), "object");
  json_decref(b);
  provider_http_free(&h);
  value_release(msgs);

  /* images: blocks in one merged user message; system text hoisted */
  const unsigned char jpg[] = {0xff, 0xd8, 0xff, 0xe0};
  Value m2 = value_list(5);
  list_push_steal(m2, message("system", "One.", NULL, NULL, 0));
  list_push_steal(m2, message("user", "Look:", NULL, NULL, 0));
  list_push_steal(m2, message("system", "Two.", NULL, NULL, 0));
  list_push_steal(m2, message("user", NULL, "image/jpeg", jpg, sizeof jpg));
  list_push_steal(m2, message("assistant", "Seen.", NULL, NULL, 0));
  Request r2 = req(img, M_SMART, m2, NULL);
  b = build(t, &r2, &env, &h, err, sizeof err);
  CHECK_STR(t, js(b, "system"), "One.\n\nTwo.");
  CHECK(t, json_array_size(jp(b, "messages")) == 2);
  CHECK(t, json_array_size(jp(b, "messages.0.content")) == 2);
  CHECK_STR(t, js(b, "messages.0.content.0.type"), "text");
  CHECK_STR(t, js(b, "messages.0.content.0.text"), "Look:");
  CHECK_STR(t, js(b, "messages.0.content.1.type"), "image");
  CHECK_STR(t, js(b, "messages.0.content.1.source.type"), "base64");
  CHECK_STR(t, js(b, "messages.0.content.1.source.media_type"), "image/jpeg");
  CHECK_STR(t, js(b, "messages.0.content.1.source.data"), "/9j/4A==");
  CHECK_STR(t, js(b, "messages.1.role"), "assistant");
  CHECK_STR(t, js(b, "messages.1.content"), "Seen.");
  json_decref(b);
  provider_http_free(&h);
  value_release(m2);

  Value bmp = value_list(1);
  list_push_steal(bmp, message("user", NULL, "image/bmp", "BM", 2));
  Request rb = req(img, M_SMART, bmp, NULL);
  build_fails(t, &rb, &env, "anthropic expects image/jpeg, image/png, image/gif or image/webp");
  value_release(bmp);
  Value sys = value_list(1);
  list_push_steal(sys, message("system", "Only this.", NULL, NULL, 0));
  Request rs = req(img, M_SMART, sys, NULL);
  build_fails(t, &rs, &env, "needs at least one user message");
  value_release(sys);
}

/* ---- building: Ollama -------------------------------------------------------------------------- */

/* Messages with images, format, options, stream false; no key. */
static void test_ollama(Tally *t, Image *img) {
  FakeEnv env = canary_env();
  const unsigned char png[] = {1, 2, 3};
  Value msgs = value_list(4);
  list_push_steal(msgs, message("system", "Be brief.", NULL, NULL, 0));
  list_push_steal(msgs, message("user", "First.", NULL, NULL, 0));
  list_push_steal(msgs, message("user", NULL, "image/png", png, sizeof png));
  list_push_steal(msgs, message("user", "Second.", NULL, NULL, 0));
  Request r = req(img, M_LOCAL, msgs, ARR_SCHEMA);
  r.params.set = PARAM_TEMPERATURE | PARAM_TOP_P | PARAM_MAX_TOKENS | PARAM_SEED | PARAM_STOP;
  r.params.temperature = 0.5;
  r.params.top_p = 0.25;
  r.params.max_tokens = 64;
  r.params.seed = 42;
  char *stops[] = {"\n\n"};
  r.params.nstop = 1;
  r.params.stop = stops;
  HttpRequest h;
  char err[256];
  json_t *b = build(t, &r, &env, &h, err, sizeof err);
  CHECK_STR(t, h.url, "http://127.0.0.1:11434/api/chat");
  CHECK(t, h.secret_header == -1);
  for (size_t i = 0; i < h.nheaders; i++)
    CHECK_LACKS(t, h.headers[i], CANARY);
  CHECK_LACKS(t, h.body, CANARY);
  CHECK_STR(t, js(b, "model"), "llama3.2");
  CHECK(t, jp(b, "stream") == json_false());
  CHECK(t, json_eq_text(b, "format", ARR_SCHEMA)); /* not wrapped */
  CHECK(t, json_array_size(jp(b, "messages")) == 2);
  CHECK_STR(t, js(b, "messages.1.content"), "First.\n\nSecond.");
  CHECK(t, json_eq_text(b, "messages.1.images", "[\"AQID\"]"));
  CHECK(t, jp(b, "messages.0.images") == NULL);
  CHECK(t, json_real_value(jp(b, "options.temperature")) == 0.5);
  CHECK(t, json_real_value(jp(b, "options.top_p")) == 0.25);
  CHECK(t, json_integer_value(jp(b, "options.num_predict")) == 64);
  CHECK(t, json_integer_value(jp(b, "options.seed")) == 42);
  CHECK(t, json_eq_text(b, "options.stop", "[\"\\n\\n\"]"));
  CHECK(t, jp(b, "max_tokens") == NULL && jp(b, "temperature") == NULL);
  json_decref(b);
  provider_http_free(&h);

  /* OLLAMA_HOST forms */
  r.params.set = 0;
  r.schema = NULL;
  struct {
    const char *host, *url;
  } hosts[] = {
    {"0.0.0.0", "http://0.0.0.0:11434/api/chat"},
    {"example.com:9999", "http://example.com:9999/api/chat"},
    {":8080", "http://127.0.0.1:8080/api/chat"},
    {"[::1]", "http://[::1]:11434/api/chat"},
    {"[::1]:7000", "http://[::1]:7000/api/chat"},
    {"https://ollama.example/", "https://ollama.example/api/chat"},
    {"http://box:11434/api", "http://box:11434/api/chat"},
  };
  for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++) {
    env_set(&env, "OLLAMA_HOST", hosts[i].host);
    b = build(t, &r, &env, &h, err, sizeof err);
    CHECK_STR(t, h.url, hosts[i].url);
    CHECK(t, jp(b, "options") == NULL && jp(b, "format") == NULL);
    json_decref(b);
    provider_http_free(&h);
  }

  /* a binding that names a key variable sends it as a bearer token */
  Value text = conversation("Hi");
  Request rk = req(img, M_OLLAMA_KEY, text, NULL);
  b = build(t, &rk, &env, &h, err, sizeof err);
  CHECK_STR(t, h.url, "https://ollama.example/api/chat");
  CHECK(t, has_header(&h, "Authorization: Bearer " CANARY));
  check_canary(t, &h);
  json_decref(b);
  provider_http_free(&h);
  FakeEnv none = {0};
  build_fails(t, &rk, &none, "binding `cloud` needs an API key in OLLAMA_KEY, which is not set");
  value_release(text);
  value_release(msgs);
}

/* ---- endpoints, keys, JSON mode off ------------------------------------------------------------- */

/* Endpoint precedence and the key rule. */
static void test_endpoints_and_keys(Tally *t, Image *img) {
  Value msgs = conversation("Hi");
  HttpRequest h;
  char err[256];
  json_t *b;

  FakeEnv env = canary_env();
  env_set(&env, "OPENAI_BASE_URL", "https://proxy.example/v1/");
  env_set(&env, "ANTHROPIC_BASE_URL", "https://a.example");
  Request r = req(img, M_FAST, msgs, NULL);
  r.params.set = PARAM_MAX_TOKENS;
  r.params.max_tokens = 9;
  b = build(t, &r, &env, &h, err, sizeof err);
  CHECK_STR(t, h.url, "https://proxy.example/v1/chat/completions");
  CHECK(t, json_integer_value(jp(b, "max_tokens")) == 9); /* not api.openai.com */
  json_decref(b);
  provider_http_free(&h);
  Request ra = req(img, M_SMART, msgs, NULL);
  b = build(t, &ra, &env, &h, err, sizeof err);
  CHECK_STR(t, h.url, "https://a.example/v1/messages");
  json_decref(b);
  provider_http_free(&h);
  env_set(&env, "ANTHROPIC_BASE_URL", "https://b.example/v1");
  b = build(t, &ra, &env, &h, err, sizeof err);
  CHECK_STR(t, h.url, "https://b.example/v1/messages");
  json_decref(b);
  provider_http_free(&h);

  /* the binding's base_url wins over the variable; its key variable too */
  Request rc = req(img, M_CUSTOM, msgs, NULL);
  b = build(t, &rc, &env, &h, err, sizeof err);
  CHECK_STR(t, h.url, "https://gateway.example/v1/chat/completions");
  CHECK(t, has_header(&h, "Authorization: Bearer " CANARY));
  check_canary(t, &h);
  json_decref(b);
  provider_http_free(&h);

  /* missing keys */
  FakeEnv none = {0};
  build_fails(t, &r, &none, "binding `fast` needs an API key in OPENAI_API_KEY, which is not set");
  build_fails(t, &ra, &none, "binding `smart` needs an API key in ANTHROPIC_API_KEY, which is not set");
  FakeEnv only_openai = {0};
  env_set(&only_openai, "OPENAI_API_KEY", CANARY);
  build_fails(t, &rc, &only_openai, "binding `custom` needs an API key in MY_KEY, which is not set");
  FakeEnv empty = {0};
  env_set(&empty, "OPENAI_API_KEY", "");
  build_fails(t, &r, &empty, "in OPENAI_API_KEY, which is not set");
  FakeEnv crlf = {0};
  env_set(&crlf, "OPENAI_API_KEY", CANARY "\r\nX-Evil: 1");
  build_fails(t, &r, &crlf, "contains a space or control character");

  /* loopback endpoints may go without a key */
  const char *loops[] = {"http://localhost:8000/v1", "http://127.0.0.1:9/v1", "http://[::1]:8000/v1",
                         "http://user@127.1.2.3/v1"};
  for (size_t i = 0; i < 4; i++) {
    env_set(&none, "OPENAI_BASE_URL", loops[i]);
    b = build(t, &r, &none, &h, err, sizeof err);
    CHECK(t, h.secret_header == -1);
    for (size_t k = 0; k < h.nheaders; k++)
      CHECK_LACKS(t, h.headers[k], "Authorization");
    json_decref(b);
    provider_http_free(&h);
  }
  env_set(&none, "OPENAI_BASE_URL", "http://127.0.0.1.evil.example/v1");
  build_fails(t, &r, &none, "needs an API key in OPENAI_API_KEY");
  env_set(&none, "OPENAI_BASE_URL", "http://localhost.evil.example/v1");
  build_fails(t, &r, &none, "needs an API key in OPENAI_API_KEY");

  /* bad URLs and the mock */
  env_set(&env, "OPENAI_BASE_URL", "ftp://files.example");
  build_fails(t, &r, &env, "OPENAI_BASE_URL is \"ftp://files.example\"; expected an http:// or https:// URL");
  env_set(&env, "OPENAI_BASE_URL", "https://");
  build_fails(t, &r, &env, "expected a URL with a host name");
  Request rm = req(img, M_MOCK, msgs, NULL);
  build_fails(t, &rm, &env, "binding `mocky` uses the mock provider, which has no wire format");
  value_release(msgs);
}

/* A binding with json_mode false: the schema travels as instructions. */
static void test_json_mode_off(Tally *t, Image *img) {
  FakeEnv env = {0}; /* localhost: no key needed */
  Value msgs = conversation("Rate it");
  Request r = req(img, M_PLAIN, msgs, OBJ_SCHEMA);
  HttpRequest h;
  char err[256];
  json_t *b = build(t, &r, &env, &h, err, sizeof err);
  CHECK_STR(t, h.url, "http://localhost:8000/v1/chat/completions");
  CHECK(t, jp(b, "response_format") == NULL);
  const char *sys = js(b, "messages.0.content");
  CHECK(t, sys && !strncmp(sys, "Be brief.\n\nReply with a single JSON value", 40));
  CHECK(t, sys && strlen(sys) > strlen(OBJ_SCHEMA) && !strcmp(sys + strlen(sys) - strlen(OBJ_SCHEMA), OBJ_SCHEMA));
  json_decref(b);
  provider_http_free(&h);
  value_release(msgs);

  Value only_user = value_list(1);
  list_push_steal(only_user, message("user", "Rate it", NULL, NULL, 0));
  r.messages = only_user;
  b = build(t, &r, &env, &h, err, sizeof err);
  CHECK(t, json_array_size(jp(b, "messages")) == 2);
  CHECK_STR(t, js(b, "messages.0.role"), "system");
  CHECK(t, js(b, "messages.0.content") && !strncmp(js(b, "messages.0.content"), "Reply with a single JSON", 24));
  CHECK_STR(t, js(b, "messages.1.content"), "Rate it");
  json_decref(b);
  provider_http_free(&h);
  value_release(only_user);
}

/* ---- parsing ------------------------------------------------------------------------------------ */

/* Parse [body] as the reply to [r] with [status] and headers. */
static bool parse(const Request *r, long status, const char *const *hs, size_t nh, const char *body,
                  ProviderReply *out) {
  return provider_parse(r, status, hs, nh, body, body ? strlen(body) : 0, 1000000000000, out);
}

/* Successful replies for each provider, usage present and absent. */
static void test_parse_success(Tally *t, Image *img) {
  Value msgs = conversation("Hello there, how are you?");
  ProviderReply p;

  Request ro = req(img, M_FAST, msgs, NULL);
  CHECK(t, parse(&ro, 200, NULL, 0,
                 "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi!\","
                 "\"refusal\":null},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,"
                 "\"completion_tokens\":3,\"total_tokens\":15}}",
                 &p));
  CHECK_STR(t, p.text, "Hi!");
  CHECK(t, p.text_len == 3 && p.input_tokens == 12 && p.output_tokens == 3 && !p.usage_estimated);
  CHECK(t, p.finish == PF_STOP && !strcmp(p.finish_raw, "stop") && p.error == PE_NONE);
  provider_reply_free(&p);
  CHECK(t, parse(&ro, 200, NULL, 0,
                 "{\"choices\":[{\"message\":{\"content\":\"A longer reply here\"},\"finish_reason\":\"length\"}]}",
                 &p));
  CHECK(t, p.usage_estimated && p.input_tokens > 0 && p.output_tokens == 5 && p.finish == PF_LENGTH);
  provider_reply_free(&p);

  /* structured: the content is the JSON; a wrapped schema is unwrapped */
  Request rs = req(img, M_FAST, msgs, ARR_SCHEMA);
  CHECK(t, parse(&rs, 200, NULL, 0,
                 "{\"choices\":[{\"message\":{\"content\":\"{\\\"value\\\":[\\\"a\\\",\\\"b\\\"]}\"},"
                 "\"finish_reason\":\"stop\"}]}",
                 &p));
  CHECK_STR(t, p.text, "[\"a\",\"b\"]");
  provider_reply_free(&p);
  rs.schema = OBJ_SCHEMA;
  CHECK(t, parse(&rs, 200, NULL, 0,
                 "{\"choices\":[{\"message\":{\"content\":\"{\\\"label\\\":\\\"x\\\",\\\"score\\\":null}\"},"
                 "\"finish_reason\":\"stop\"}]}",
                 &p));
  CHECK_STR(t, p.text, "{\"label\":\"x\",\"score\":null}");
  provider_reply_free(&p);

  /* Anthropic: text blocks joined; tool_use unwrapped; cache tokens counted */
  Request ra = req(img, M_SMART, msgs, NULL);
  CHECK(t, parse(&ra, 200, NULL, 0,
                 "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"text\","
                 "\"text\":\"Hello\"},{\"type\":\"text\",\"text\":\" world\"}],\"stop_reason\":\"end_turn\","
                 "\"usage\":{\"input_tokens\":10,\"output_tokens\":4,\"cache_read_input_tokens\":5}}",
                 &p));
  CHECK_STR(t, p.text, "Hello world");
  CHECK(t, p.input_tokens == 15 && p.output_tokens == 4 && !p.usage_estimated && p.finish == PF_STOP);
  CHECK_STR(t, p.finish_raw, "end_turn");
  provider_reply_free(&p);
  CHECK(t, parse(&ra, 200, NULL, 0,
                 "{\"content\":[{\"type\":\"text\",\"text\":\"cut\"}],\"stop_reason\":\"max_tokens\"}", &p));
  CHECK(t, p.finish == PF_LENGTH && p.usage_estimated);
  provider_reply_free(&p);
  Request rat = req(img, M_SMART, msgs, ARR_SCHEMA);
  CHECK(t, parse(&rat, 200, NULL, 0,
                 "{\"content\":[{\"type\":\"text\",\"text\":\"Sure.\"},{\"type\":\"tool_use\",\"id\":\"t1\","
                 "\"name\":\"output\",\"input\":{\"value\":[\"a\",\"b\"]}}],\"stop_reason\":\"tool_use\","
                 "\"usage\":{\"input_tokens\":20,\"output_tokens\":8}}",
                 &p));
  CHECK_STR(t, p.text, "[\"a\",\"b\"]");
  CHECK(t, p.finish == PF_TOOL_USE);
  provider_reply_free(&p);
  rat.schema = OBJ_SCHEMA;
  CHECK(t, parse(&rat, 200, NULL, 0,
                 "{\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"output\",\"input\":{\"label\":\"x\","
                 "\"score\":0.5}}],\"stop_reason\":\"tool_use\"}",
                 &p));
  CHECK_STR(t, p.text, "{\"label\":\"x\",\"score\":0.5}");
  provider_reply_free(&p);

  /* Ollama */
  Request rl = req(img, M_LOCAL, msgs, NULL);
  CHECK(t, parse(&rl, 200, NULL, 0,
                 "{\"model\":\"llama3.2\",\"created_at\":\"2024-01-01T00:00:00Z\",\"message\":{\"role\":"
                 "\"assistant\",\"content\":\"Hey\"},\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":5,"
                 "\"eval_count\":2}",
                 &p));
  CHECK_STR(t, p.text, "Hey");
  CHECK(t, p.input_tokens == 5 && p.output_tokens == 2 && !p.usage_estimated && p.finish == PF_STOP);
  provider_reply_free(&p);
  CHECK(t, parse(&rl, 200, NULL, 0,
                 "{\"message\":{\"role\":\"assistant\",\"content\":\"Hey\"},\"done\":true,\"eval_count\":2}", &p));
  CHECK(t, p.usage_estimated && p.output_tokens == 2 && p.input_tokens > 0 && p.finish == PF_UNKNOWN);
  provider_reply_free(&p);
  value_release(msgs);
}

/* Refusals, content filters, truncation at the token limit, missing parts. */
static void test_parse_refusals(Tally *t, Image *img) {
  Value msgs = conversation("x");
  ProviderReply p;
  Request ro = req(img, M_FAST, msgs, OBJ_SCHEMA);
  CHECK(t, !parse(&ro, 200, NULL, 0,
                  "{\"choices\":[{\"message\":{\"content\":null,\"refusal\":\"I can't help with that.\"},"
                  "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":6}}",
                  &p));
  CHECK(t, p.error == PE_REFUSED && !p.retryable && p.text == NULL && p.finish == PF_REFUSAL);
  CHECK_STR(t, p.message, "openai refused: I can't help with that.");
  CHECK(t, p.input_tokens == 4 && p.output_tokens == 6);
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 200, NULL, 0,
                  "{\"choices\":[{\"message\":{\"content\":\"\"},\"finish_reason\":\"content_filter\"}]}", &p));
  CHECK(t, p.error == PE_REFUSED && p.finish == PF_CONTENT_FILTER);
  CHECK_HAS(t, p.message, "content_filter");
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 200, NULL, 0,
                  "{\"choices\":[{\"message\":{\"content\":\"{\\\"label\\\":\"},\"finish_reason\":\"length\"}]}", &p));
  CHECK(t, p.error == PE_BAD_RESPONSE && !p.retryable);
  CHECK_HAS(t, p.message, "finish_reason \"length\"");
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 200, NULL, 0, "{\"choices\":[]}", &p));
  CHECK(t, p.error == PE_BAD_RESPONSE);
  CHECK_HAS(t, p.message, "expected a non-empty array at choices, found an empty array");
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 200, NULL, 0, "{\"object\":\"chat.completion\"}", &p));
  CHECK_HAS(t, p.message, "found nothing (missing)");
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 200, NULL, 0, "{\"choices\":[{\"message\":{\"content\":null},\"finish_reason\":\"stop\"}]}",
                  &p));
  CHECK_HAS(t, p.message, "expected a string at choices[0].message.content, found null");
  provider_reply_free(&p);

  Request ra = req(img, M_SMART, msgs, OBJ_SCHEMA);
  CHECK(t, !parse(&ra, 200, NULL, 0,
                  "{\"content\":[{\"type\":\"tool_use\",\"name\":\"output\",\"input\":{}}],\"stop_reason\":"
                  "\"max_tokens\"}",
                  &p));
  CHECK(t, p.error == PE_BAD_RESPONSE && !p.retryable);
  CHECK_HAS(t, p.message, "stop_reason \"max_tokens\"");
  provider_reply_free(&p);
  CHECK(t, !parse(&ra, 200, NULL, 0, "{\"content\":[],\"stop_reason\":\"refusal\"}", &p));
  CHECK(t, p.error == PE_REFUSED && p.finish == PF_REFUSAL);
  provider_reply_free(&p);
  CHECK(t, !parse(&ra, 200, NULL, 0, "{\"content\":[],\"stop_reason\":\"tool_use\"}", &p));
  CHECK_HAS(t, p.message, "expected a tool_use block named \"output\"");
  provider_reply_free(&p);
  CHECK(t, !parse(&ra, 200, NULL, 0, "{\"content\":\"text\"}", &p));
  CHECK_HAS(t, p.message, "expected an array at content, found a string");
  provider_reply_free(&p);

  Request rl = req(img, M_LOCAL, msgs, NULL);
  CHECK(t, !parse(&rl, 200, NULL, 0, "{\"done\":true}", &p));
  CHECK_HAS(t, p.message, "expected a string at message.content");
  provider_reply_free(&p);
  value_release(msgs);
}

/* HTTP errors: classification, retryability, Retry-After, messages. */
static void test_parse_errors(Tally *t, Image *img) {
  Value msgs = conversation("x");
  ProviderReply p;
  Request ro = req(img, M_FAST, msgs, NULL);
  const char *rl_body =
    "{\"error\":{\"message\":\"Rate limit reached for gpt-4o-mini\",\"type\":\"requests\",\"param\":null,"
    "\"code\":\"rate_limit_exceeded\"}}";

  const char *h1[] = {"HTTP/1.1 429 Too Many Requests\r\n", "content-type: application/json\r\n",
                      "Retry-After: 7\r\n"};
  CHECK(t, !parse(&ro, 429, h1, 3, rl_body, &p));
  CHECK(t, p.error == PE_RATE_LIMIT && p.retryable && p.retry_after_ms == 7000 && p.http_status == 429);
  CHECK_STR(t, p.message, "openai replied HTTP 429 (rate limited): requests: Rate limit reached for gpt-4o-mini");
  provider_reply_free(&p);

  /* HTTP date: now is 1e12 ms; the date is 30 s later */
  const char *h2[] = {"retry-after: Sun, 09 Sep 2001 01:47:10 GMT"};
  CHECK(t, !parse(&ro, 429, h2, 1, rl_body, &p));
  CHECK(t, p.retry_after_ms == 30000);
  provider_reply_free(&p);
  const char *h3[] = {"Retry-After-Ms: 1500", "Retry-After: 9"};
  CHECK(t, !parse(&ro, 429, h3, 2, rl_body, &p));
  CHECK(t, p.retry_after_ms == 1500);
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 429, NULL, 0, rl_body, &p));
  CHECK(t, p.retry_after_ms == -1);
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 429, NULL, 0,
                  "{\"error\":{\"message\":\"You exceeded your current quota\",\"type\":\"insufficient_quota\","
                  "\"code\":\"insufficient_quota\"}}",
                  &p));
  CHECK(t, p.error == PE_CLIENT && !p.retryable);
  CHECK_HAS(t, p.message, "quota exhausted");
  provider_reply_free(&p);

  long retry[] = {500, 502, 503, 504, 529};
  for (size_t i = 0; i < 5; i++) {
    CHECK(t, !parse(&ro, retry[i], NULL, 0, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}", &p));
    CHECK(t, p.error == PE_SERVER && p.retryable);
    provider_reply_free(&p);
  }
  Request ra = req(img, M_SMART, msgs, NULL);
  const char *h4[] = {"retry-after: 2"};
  CHECK(t, !parse(&ra, 529, h4, 1,
                  "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}", &p));
  CHECK(t, p.error == PE_SERVER && p.retryable && p.retry_after_ms == 2000);
  CHECK_STR(t, p.message, "anthropic replied HTTP 529 (overloaded): overloaded_error: Overloaded");
  provider_reply_free(&p);
  CHECK(t, !parse(&ra, 400, NULL, 0,
                  "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"max_tokens: "
                  "Field required\"}}",
                  &p));
  CHECK(t, p.error == PE_CLIENT && !p.retryable);
  CHECK_STR(t, p.message,
            "anthropic replied HTTP 400 (request rejected): invalid_request_error: max_tokens: Field required");
  provider_reply_free(&p);

  /* the provider echoing a (masked or whole) key is redacted */
  CHECK(t, !parse(&ro, 401, NULL, 0,
                  "{\"error\":{\"message\":\"Incorrect API key provided: " CANARY ". You can find your API key at "
                  "https://platform.openai.com/account/api-keys.\",\"type\":\"invalid_request_error\",\"code\":"
                  "\"invalid_api_key\"}}",
                  &p));
  CHECK(t, p.error == PE_AUTH && !p.retryable);
  CHECK_LACKS(t, p.message, CANARY);
  CHECK_HAS(t, p.message, "Incorrect API key provided: [redacted]");
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 401, NULL, 0, "{\"error\":{\"message\":\"Bad key sk-cana*****-123\"}}", &p));
  CHECK_LACKS(t, p.message, "sk-cana");
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 403, NULL, 0, "{\"error\":\"forbidden\"}", &p));
  CHECK(t, p.error == PE_AUTH);
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 413, NULL, 0, "", &p));
  CHECK(t, p.error == PE_TOO_LARGE && !p.retryable);
  CHECK_HAS(t, p.message, "an empty body");
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 408, NULL, 0, "", &p));
  CHECK(t, p.error == PE_TIMEOUT && p.retryable);
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 404, NULL, 0, "{\"detail\":\"Not Found\"}", &p));
  CHECK(t, p.error == PE_CLIENT && !p.retryable);
  CHECK_HAS(t, p.message, "Not Found");
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 501, NULL, 0, "", &p));
  CHECK(t, p.error == PE_SERVER && !p.retryable);
  provider_reply_free(&p);
  Request rl = req(img, M_LOCAL, msgs, NULL);
  CHECK(t, !parse(&rl, 404, NULL, 0, "{\"error\":\"model \\\"llama9\\\" not found, try pulling it first\"}", &p));
  CHECK_STR(t, p.message, "ollama replied HTTP 404 (request rejected): model \"llama9\" not found, try pulling it first");
  provider_reply_free(&p);

  /* a non-JSON error page is not echoed (it may hold request headers) */
  CHECK(t, !parse(&ro, 502, NULL, 0, "<html>Authorization: Bearer " CANARY "</html>", &p));
  CHECK(t, p.error == PE_SERVER && p.retryable);
  CHECK_LACKS(t, p.message, CANARY);
  CHECK_HAS(t, p.message, "a body that is not JSON");
  provider_reply_free(&p);
  value_release(msgs);
}

/* Broken bodies on HTTP 200. */
static void test_parse_broken(Tally *t, Image *img) {
  Value msgs = conversation("x");
  ProviderReply p;
  Request ro = req(img, M_FAST, msgs, NULL);
  CHECK(t, !parse(&ro, 200, NULL, 0, "", &p));
  CHECK(t, p.error == PE_BAD_RESPONSE && p.retryable);
  CHECK_HAS(t, p.message, "empty body");
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 200, NULL, 0, NULL, &p));
  CHECK(t, p.error == PE_BAD_RESPONSE);
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 200, NULL, 0, "{\"choices\":[{\"message\":{\"content\":\"Hel", &p));
  CHECK(t, p.error == PE_BAD_RESPONSE && p.retryable);
  CHECK_HAS(t, p.message, "truncated body");
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 200, NULL, 0, "{choices: oops}", &p));
  CHECK(t, p.error == PE_BAD_RESPONSE && p.retryable);
  CHECK_HAS(t, p.message, "not JSON");
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 200, NULL, 0, "[1,2]", &p));
  CHECK_HAS(t, p.message, "replied with an array; expected a JSON object");
  provider_reply_free(&p);
  CHECK(t, !parse(&ro, 200, NULL, 0, "{\"error\":{\"message\":\"upstream failed\",\"type\":\"proxy\"}}", &p));
  CHECK(t, p.error == PE_BAD_RESPONSE);
  CHECK_HAS(t, p.message, "proxy: upstream failed");
  provider_reply_free(&p);
  size_t deep = 100000;
  char *d = malloc(deep + 1);
  memset(d, '[', deep);
  d[deep] = '\0';
  CHECK(t, !parse(&ro, 200, NULL, 0, d, &p));
  CHECK_HAS(t, p.message, "nested deeper than");
  provider_reply_free(&p);
  free(d);
  /* a body with a NUL byte inside a string, passed by length */
  const char nul[] = "{\"choices\":[{\"message\":{\"content\":\"a\\u0000b\"},\"finish_reason\":\"stop\"}]}";
  CHECK(t, provider_parse(&ro, 200, NULL, 0, nul, sizeof nul - 1, 0, &p));
  CHECK(t, p.text_len == 3 && p.text[1] == '\0');
  provider_reply_free(&p);

  provider_reply_transport_error(&p, &ro, PE_TIMEOUT, "Operation timed out after 30000 milliseconds");
  CHECK(t, !p.ok && p.error == PE_TIMEOUT && p.retryable);
  CHECK_STR(t, p.message, "openai: timed out: Operation timed out after 30000 milliseconds");
  provider_reply_free(&p);
  provider_reply_transport_error(&p, &ro, PE_CONNECTION, "Connection refused");
  CHECK(t, p.error == PE_CONNECTION && p.retryable);
  provider_reply_free(&p);
  value_release(msgs);
}

/* Retry-After values on their own. */
static void test_retry_after(Tally *t) {
  int64_t at = (int64_t)784111777 * 1000; /* Sun, 06 Nov 1994 08:49:37 GMT */
  CHECK(t, provider_retry_after_ms("120", 0) == 120000);
  CHECK(t, provider_retry_after_ms(" 0 ", 0) == 0);
  CHECK(t, provider_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", at - 5000) == 5000);
  CHECK(t, provider_retry_after_ms("Sunday, 06-Nov-94 08:49:37 GMT", at - 5000) == 5000);
  CHECK(t, provider_retry_after_ms("Sun Nov  6 08:49:37 1994", at - 5000) == 5000);
  CHECK(t, provider_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", at + 5000) == 0);
  CHECK(t, provider_retry_after_ms("99999999999999999999", 0) == PROVIDER_MAX_RETRY_AFTER_MS);
  CHECK(t, provider_retry_after_ms("soon", 0) == -1);
  CHECK(t, provider_retry_after_ms("-5", 0) == -1);
  CHECK(t, provider_retry_after_ms("12abc", 0) == -1);
  CHECK(t, provider_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT trailing", 0) == -1);
  CHECK(t, provider_retry_after_ms("Sun, 06 Foo 1994 08:49:37 GMT", 0) == -1);
  CHECK(t, provider_retry_after_ms(NULL, 0) == -1);
  CHECK_STR(t, provider_error_kind_name(PE_RATE_LIMIT), "rate_limit");
  CHECK_STR(t, provider_finish_name(PF_CONTENT_FILTER), "content_filter");
  CHECK_STR(t, provider_name(PROVIDER_ANTHROPIC), "anthropic");
}

int main(void) {
  Tally t = {0};
  Image *img = fixture();
  test_base64(&t);
  test_openai_text(&t, img);
  test_openai_structured(&t, img);
  test_openai_media(&t, img);
  test_anthropic(&t, img);
  test_ollama(&t, img);
  test_endpoints_and_keys(&t, img);
  test_json_mode_off(&t, img);
  test_parse_success(&t, img);
  test_parse_refusals(&t, img);
  test_parse_errors(&t, img);
  test_parse_broken(&t, img);
  test_retry_after(&t);
  image_free(img);
  printf("%d passed, %d failed\n", t.passed, t.failed);
  return t.failed ? 1 : 0;
}
