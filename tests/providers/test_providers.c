/* test_providers.c - unit tests of the offline providers: canonical requests
 * and their keys (runtime/request.c), the mock provider (runtime/mock.c) and
 * cassettes for --record / --replay (runtime/cassette.c).
 *
 * Builds a small program image by hand (a rich output type, two bindings,
 * a plain-text and a structured prompt), renders requests, checks the mock's
 * replies against the types with the strict decoder (runtime/json_value.h),
 * records and replays cassettes in a temporary directory, feeds malformed
 * cassettes to the loader, and plants a fake API key in the environment to
 * check that it never leaks. Prints one line per failed check and ends with
 * "N passed, M failed"; exits non-zero when anything failed. */
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tally.h"
#include "cassette.h"
#include "image.h"
#include "json_value.h"
#include "mock.h"
#include "request.h"
#include "sha256.h"
#include "value.h"

/* Record that [hay] contains [needle]; on failure print both. */
static void check_has_at(Tally *t, const char *hay, const char *needle, const char *file, int line) {
  bool ok = hay && strstr(hay, needle);
  if (check_at(t, ok, file, line, "text contains")) return;
  fprintf(stderr, "--- expected to contain ---\n%s\n--- got ---\n%s\n----------------\n", needle,
          hay ? hay : "(null)");
}
#define CHECK_HAS(t, hay, needle) check_has_at((t), (hay), (needle), __FILE__, __LINE__)

/* ---- the test image ------------------------------------------------------------------- */

/* Type ids and indexes of the test image. */
typedef struct Fixture {
  Image *img;
  uint32_t priority, inner, rich; /* enum, record, record */
  uint32_t write, classify;       /* prompts: plain text, structured */
  uint32_t fast, smart;           /* models */
} Fixture;

/* A malloc'd copy of [s], or NULL. */
static char *copy_str(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  memcpy(p, s, n);
  return p;
}

/* Intern a type with element [elem] of kind [kind] (list, optional, map). */
static uint32_t wrap(Image *img, ImgTypeKind kind, uint32_t elem) {
  ImgType t = {.kind = kind, .elem = elem};
  return image_intern_type(img, &t);
}

/* Intern a record [name] with [n] fields. */
static uint32_t record(Image *img, const char *name, uint32_t n, const char **names, const uint32_t *types,
                       const char **docs) {
  ImgType t = {.kind = IT_RECORD, .name = (char *)name, .nfields = n};
  t.field_names = (char **)names;
  t.field_types = (uint32_t *)types;
  t.field_docs = (char **)docs;
  return image_intern_type(img, &t);
}

/* Build the image: enum Priority, records Inner and Rich, models fast
 * (openai, key in FLOW_TEST_CANARY_KEY) and smart (anthropic, custom URL),
 * prompts write -> string and classify -> Rich. */
static Fixture fixture_new(void) {
  Fixture fx = {0};
  Image *img = fx.img = image_new();

  const char *variants[] = {"low", "normal", "urgent"};
  ImgType pe = {.kind = IT_ENUM, .name = "Priority", .nvariants = 3, .variants = (char **)variants};
  fx.priority = image_intern_type(img, &pe);

  uint32_t strings = wrap(img, IT_LIST, IMG_TYPE_STRING);
  const char *in_names[] = {"label", "weight", "tags", "note"};
  uint32_t in_types[] = {IMG_TYPE_STRING, IMG_TYPE_FLOAT, strings, wrap(img, IT_OPT, IMG_TYPE_STRING)};
  fx.inner = record(img, "Inner", 4, in_names, in_types, NULL);

  uint32_t inners = wrap(img, IT_LIST, fx.inner);
  const char *names[] = {"priority", "category",  "summary", "rating", "confidence", "needs_human", "items",
                         "maybe",    "opt_inner", "counts",  "groups", "matrix",     "levels"};
  uint32_t types[] = {fx.priority,
                      IMG_TYPE_STRING,
                      IMG_TYPE_STRING,
                      IMG_TYPE_INT,
                      IMG_TYPE_FLOAT,
                      IMG_TYPE_BOOL,
                      inners,
                      wrap(img, IT_OPT, IMG_TYPE_INT),
                      wrap(img, IT_OPT, fx.inner),
                      wrap(img, IT_MAP, IMG_TYPE_INT),
                      wrap(img, IT_MAP, inners),
                      wrap(img, IT_LIST, wrap(img, IT_LIST, IMG_TYPE_INT)),
                      wrap(img, IT_LIST, wrap(img, IT_OPT, fx.priority))};
  const char *docs[13] = {NULL, "billing | bug | account | other"};
  fx.rich = record(img, "Rich", 13, names, types, docs);

  img->nmodels = 2;
  img->models = calloc(2, sizeof *img->models);
  ImgModel *fast = &img->models[fx.fast = 0];
  fast->name = copy_str("fast");
  fast->provider = PROVIDER_OPENAI;
  fast->model = copy_str("gpt-4o-mini");
  fast->api_key_env = copy_str("FLOW_TEST_CANARY_KEY");
  ImgModel *smart = &img->models[fx.smart = 1];
  smart->name = copy_str("smart");
  smart->provider = PROVIDER_ANTHROPIC;
  smart->model = copy_str("claude-x");
  smart->base_url = copy_str("https://example.test/v1");
  smart->api_key_env = copy_str("FLOW_TEST_CANARY_KEY");

  img->nprompts = 2;
  img->prompts = calloc(2, sizeof *img->prompts);
  ImgPrompt *w = &img->prompts[fx.write = 0];
  w->name = copy_str("write");
  w->out_type = IMG_TYPE_STRING;
  ImgPrompt *c = &img->prompts[fx.classify = 1];
  c->name = copy_str("classify");
  c->out_type = fx.rich;
  c->model = 1;
  c->schema = copy_str("{\"type\":\"object\",\"properties\":{\"b\":{\"type\":\"integer\",\"minimum\":0},"
                       "\"a\":{\"type\":\"number\",\"maximum\":0.1}}}");
  return fx;
}

/* A message record with [role] and [text] (or, when [media] is not NULL, an
 * image part with those bytes). */
static Value message(const char *role, const char *text, const char *media, size_t media_len) {
  Value m = value_record(IMG_TYPE_MESSAGE, 3);
  record_set_steal(m, 0, value_cstr(role));
  if (text) record_set_steal(m, 1, value_cstr(text));
  if (media) record_set_steal(m, 2, value_media("image/png", "cat.png", media, media_len));
  return m;
}

/* A list of messages: a system message and one user message [user]. */
static Value conversation(const char *user) {
  Value l = value_list(2);
  list_push_steal(l, message("system", "Be brief.", NULL, 0));
  list_push_steal(l, message("user", user, NULL, 0));
  return l;
}

/* A request for prompt [prompt] of the fixture with [messages] (borrowed). */
static Request request_for(const Fixture *fx, uint32_t prompt, Value messages) {
  const ImgPrompt *p = &fx->img->prompts[prompt];
  Request r = {.img = fx->img,
               .prompt = (int32_t)prompt,
               .model = p->model,
               .messages = messages,
               .out_type = p->out_type,
               .schema = p->schema};
  return r;
}

/* ---- canonical requests and keys ------------------------------------------------------------ */

/* The canonical text is exact, stable, sorted, secret-free; keys are its hash. */
static void test_canonical(Tally *t, const Fixture *fx) {
  Value msgs = conversation("Hello \"world\"\n");
  Request r = request_for(fx, fx->write, msgs);
  r.params.set = PARAM_TEMPERATURE | PARAM_MAX_TOKENS;
  r.params.temperature = 0.1;
  r.params.max_tokens = 600;
  char *a = request_canonical(&r);
  CHECK_STR(
      t, a,
      "{\"binding\":{\"base_url\":null,\"model\":\"gpt-4o-mini\",\"provider\":\"openai\"},"
      "\"kind\":\"prompt\",\"messages\":[{\"role\":\"system\",\"text\":\"Be brief.\"},"
      "{\"role\":\"user\",\"text\":\"Hello \\\"world\\\"\\n\"}],"
      "\"params\":{\"max_tokens\":600,\"temperature\":0.1},\"prompt\":\"write\",\"schema\":null,\"v\":1}");
  char *b = request_canonical(&r);
  CHECK_STR(t, b, a);

  /* The key is the SHA-256 of the canonical bytes, in lowercase hex. */
  char key[65], want[65];
  unsigned char digest[32];
  request_key(&r, key);
  sha256_hash(a, strlen(a), digest);
  sha256_hex(digest, want);
  CHECK_STR(t, key, want);
  CHECK(t, strlen(key) == 64 && strspn(key, "0123456789abcdef") == 64);

  /* Floats: shortest round trip, always looking like floats. */
  r.params.set = PARAM_TEMPERATURE | PARAM_TOP_P | PARAM_SEED | PARAM_STOP;
  r.params.temperature = 1.0;
  r.params.top_p = 0.95;
  r.params.seed = -7;
  char *stops[] = {"END", "\n\n"};
  r.params.stop = stops;
  r.params.nstop = 2;
  char *c = request_canonical(&r);
  CHECK_HAS(t, c,
            "\"params\":{\"seed\":-7,\"stop\":[\"END\",\"\\n\\n\"],\"temperature\":1.0,\"top_p\":0.95}");
  free(c);

  /* A schema's key order does not matter: it is parsed and re-sorted. */
  Request s1 = request_for(fx, fx->classify, msgs);
  Request s2 = s1;
  s2.schema = "{ \"properties\": {\"a\": {\"maximum\": 0.1, \"type\": \"number\"},"
              " \"b\": {\"minimum\": 0, \"type\": \"integer\"}}, \"type\": \"object\" }";
  char *c1 = request_canonical(&s1), *c2 = request_canonical(&s2);
  CHECK_STR(t, c1, c2);
  CHECK_HAS(t, c1,
            "\"schema\":{\"properties\":{\"a\":{\"maximum\":0.1,\"type\":\"number\"},"
            "\"b\":{\"minimum\":0,\"type\":\"integer\"}},\"type\":\"object\"}");
  CHECK_HAS(t, c1,
            "\"binding\":{\"base_url\":\"https://example.test/v1\",\"model\":\"claude-x\","
            "\"provider\":\"anthropic\"}");
  json_error_t jerr;
  json_t *parsed = json_loads(c1, 0, &jerr);
  CHECK(t, parsed != NULL);
  json_decref(parsed);
  free(c1);
  free(c2);

  /* Schemas in other spellings canonicalise alike: escapes, number forms,
   * whitespace, duplicate keys; invalid JSON is kept as a string. */
  static const struct {
    const char *schema, *want;
  } schemas[] = {
      {"{\"b\":1,\"\\u0061\":[1.50,-0,1E2,\"\\u00e9\\n\\ud83d\\ude00\"]}",
       "{\"a\":[1.5,0,100.0,\"\xc3\xa9\\n\xf0\x9f\x98\x80\"],\"b\":1}"},
      {" { \"b\" : { \"z\" : true , \"y\" : null } ,\n\t\"a\" : \"x\\\"y\\\\\\/\" , \"c\": [ ] , \"d\": {} "
       "} ",
       "{\"a\":\"x\\\"y\\\\/\",\"b\":{\"y\":null,\"z\":true},\"c\":[],\"d\":{}}"},
      {"{\"a\":1,\"a\":2}", "{\"a\":2}"},
      {"{\"aa\":1,\"a\":2,\"ab\":[0.1,2.5e-3,-7]}", "{\"a\":2,\"aa\":1,\"ab\":[0.1,0.0025,-7]}"},
      {"{\"a\":", "\"{\\\"a\\\":\""},
      {"[12345678901234567890]", "\"[12345678901234567890]\""},
      {"[\"\\ud800\"]", "\"[\\\"\\\\ud800\\\"]\""},
      {"[01]", "\"[01]\""},
      {"{\"a\":1} x", "\"{\\\"a\\\":1} x\""},
  };
  for (size_t i = 0; i < sizeof schemas / sizeof *schemas; i++) {
    Request rs = request_for(fx, fx->classify, msgs);
    rs.schema = schemas[i].schema;
    char *cs = request_canonical(&rs);
    char want_text[512];
    snprintf(want_text, sizeof want_text, "\"schema\":%s,\"v\":1}", schemas[i].want);
    CHECK_HAS(t, cs, want_text);
    json_t *pj = json_loads(cs, 0, &jerr);
    CHECK(t, pj != NULL);
    json_decref(pj);
    free(cs);
  }

  /* Keys differ when anything that changes the reply differs. */
  char k_base[65], k_other[65];
  Request base = request_for(fx, fx->write, msgs);
  request_key(&base, k_base);
  Value msgs2 = conversation("Hello \"world\"!\n");
  Request other = request_for(fx, fx->write, msgs2);
  request_key(&other, k_other);
  CHECK(t, strcmp(k_base, k_other) != 0);
  other = base;
  other.model = fx->smart;
  request_key(&other, k_other);
  CHECK(t, strcmp(k_base, k_other) != 0);
  other = base;
  other.prompt = -1;
  request_key(&other, k_other);
  CHECK(t, strcmp(k_base, k_other) != 0);
  char *judge = request_canonical(&other);
  CHECK_HAS(t, judge, "\"kind\":\"judge\"");
  CHECK_HAS(t, judge, "\"prompt\":null");
  free(judge);
  other = base;
  other.params.set = PARAM_SEED;
  other.params.seed = 1;
  request_key(&other, k_other);
  CHECK(t, strcmp(k_base, k_other) != 0);
  /* An unset parameter does not count, whatever its field holds. */
  other = base;
  other.params.temperature = 0.7;
  request_key(&other, k_other);
  CHECK_STR(t, k_other, k_base);

  /* Media: represented by MIME type, size and hash; one byte changes the key. */
  unsigned char png[300];
  for (size_t i = 0; i < sizeof png; i++)
    png[i] = (unsigned char)(i * 7);
  Value m1 = value_list(2);
  list_push_steal(m1, message("user", "What is this?", NULL, 0));
  list_push_steal(m1, message("user", NULL, (const char *)png, sizeof png));
  png[150] ^= 1;
  Value m2 = value_list(2);
  list_push_steal(m2, message("user", "What is this?", NULL, 0));
  list_push_steal(m2, message("user", NULL, (const char *)png, sizeof png));
  Request rm1 = request_for(fx, fx->write, m1), rm2 = request_for(fx, fx->write, m2);
  char *cm = request_canonical(&rm1);
  CHECK_HAS(t, cm, "{\"media\":{\"bytes\":300,\"mime\":\"image/png\",\"sha256\":\"");
  CHECK(t, strlen(cm) < 600);
  free(cm);
  request_key(&rm1, k_base);
  request_key(&rm2, k_other);
  CHECK(t, strcmp(k_base, k_other) != 0);

  /* Invalid UTF-8 and control characters still give valid JSON. */
  Value m3 = conversation("bad \xff\xfe byte \x01 and \xc3\xa9t\xc3\xa9");
  Request r3 = request_for(fx, fx->write, m3);
  char *c3 = request_canonical(&r3);
  parsed = json_loads(c3, 0, &jerr);
  CHECK(t, parsed != NULL);
  json_decref(parsed);
  CHECK_HAS(t, c3, "bad \\ufffd\\ufffd byte \\u0001 and \xc3\xa9t\xc3\xa9");
  free(c3);

  value_release(m1);
  value_release(m2);
  value_release(m3);
  value_release(msgs2);
  value_release(msgs);
  free(a);
  free(b);
}

/* ---- the mock provider ------------------------------------------------------------------------ */

/* Plain-text replies: deterministic, differ across keys, 2-4 sentences,
 * 120-600 bytes, ending with a period, using words of the input. */
static void test_mock_prose(Tally *t, const Fixture *fx) {
  Value msgs = conversation("Refund the duplicate invoice charged twice for order 1234 yesterday");
  Request r = request_for(fx, fx->write, msgs);
  char key[65];
  request_key(&r, key);
  size_t len1, len2;
  char *a = mock_reply(&r, key, &len1), *b = mock_reply(&r, key, &len2);
  CHECK_STR(t, a, b);
  CHECK(t, len1 == strlen(a) && len1 == len2);
  const char *input_words[] = {"Refund", "duplicate", "invoice",   "charged", "twice",
                               "order",  "1234",      "yesterday", "the",     "for"};
  bool uses_input = false;
  for (size_t i = 0; i < sizeof input_words / sizeof *input_words; i++)
    if (strstr(a, input_words[i])) uses_input = true;
  CHECK(t, uses_input);
  free(a);
  free(b);

  int bad_len = 0, bad_end = 0, bad_sentences = 0, same = 0;
  char *prev = NULL;
  for (int i = 0; i < 500; i++) {
    char k[65];
    unsigned char digest[32];
    sha256_hash(&i, sizeof i, digest);
    sha256_hex(digest, k);
    size_t n;
    char *reply = mock_reply(&r, k, &n);
    if (n < 120 || n > 600) bad_len++;
    if (n == 0 || reply[n - 1] != '.') bad_end++;
    int sentences = 0;
    for (size_t j = 0; j < n; j++)
      if (reply[j] == '.' && (j + 1 == n || reply[j + 1] == ' ')) sentences++;
    if (sentences < 2 || sentences > 4) bad_sentences++;
    if (prev && strcmp(prev, reply) == 0) same++;
    free(prev);
    prev = reply;
  }
  free(prev);
  CHECK(t, bad_len == 0);
  CHECK(t, bad_end == 0);
  CHECK(t, bad_sentences == 0);
  CHECK(t, same == 0);

  /* Different inputs give different replies. */
  Value msgs2 = conversation("Where is my parcel? Tracking says delivered");
  Request r2 = request_for(fx, fx->write, msgs2);
  char key2[65];
  request_key(&r2, key2);
  a = mock_reply(&r, key, NULL);
  b = mock_reply(&r2, key2, NULL);
  CHECK(t, strcmp(a, b) != 0);
  free(a);
  free(b);

  /* Quoted phrases of the last user message are echoed on lines of their
   * own, within the length limit. */
  Value fb = conversation("Your previous answer was rejected: sign as \"The Acme Cloud team\". Also say "
                          "\xe2\x80\x9cthanks for waiting!\xe2\x80\x9d and \"a third one\" and \"\".");
  Request rf = request_for(fx, fx->write, fb);
  for (int i = 0; i < 50; i++) {
    char k[65];
    snprintf(k, sizeof k, "%064x", i);
    size_t n;
    char *reply = mock_reply(&rf, k, &n);
    CHECK_HAS(t, reply, ".\n\nThe Acme Cloud team.\nthanks for waiting!");
    CHECK(t, !strstr(reply, "a third one"));
    CHECK(t, n >= 120 && n <= 600 && reply[n - 1] == '!');
    free(reply);
  }
  value_release(fb);

  /* No user text at all is fine. */
  Value empty = value_list(0);
  Request r3 = request_for(fx, fx->write, empty);
  a = mock_reply(&r3, key, &len1);
  CHECK(t, len1 >= 120 && len1 <= 600);
  free(a);

  value_release(empty);
  value_release(msgs2);
  value_release(msgs);
}

/* Structured replies decode strictly against the output type, cover the
 * type's shapes, and are deterministic. */
static void test_mock_structured(Tally *t, const Fixture *fx) {
  Value msgs = conversation("My invoice was charged twice");
  Request r = request_for(fx, fx->classify, msgs);
  int decoded = 0, none_maybe = 0, some_maybe = 0, rating_out = 0, category_bad = 0;
  int variant_seen[3] = {0};
  for (int i = 0; i < 300; i++) {
    char k[65];
    unsigned char digest[32];
    sha256_hash(&i, sizeof i, digest);
    sha256_hex(digest, k);
    size_t n;
    char *reply = mock_reply(&r, k, &n);
    char *again = mock_reply(&r, k, NULL);
    if (i < 5) CHECK_STR(t, again, reply);
    free(again);
    json_error_t jerr;
    json_t *j = json_loadb(reply, n, 0, &jerr);
    char err[256] = "";
    Value v = value_none();
    if (j && json_to_value(fx->img, fx->rich, j, JV_STRICT, &v, err, sizeof err)) {
      decoded++;
      const Record *rec = value_as_record(v);
      variant_seen[rec->fields[0].u.e.variant % 3] = 1;
      const char *cat = value_as_str(rec->fields[1])->data;
      if (strcmp(cat, "billing") && strcmp(cat, "bug") && strcmp(cat, "account") && strcmp(cat, "other"))
        category_bad++;
      if (rec->fields[3].u.i < 1 || rec->fields[3].u.i > 5) rating_out++;
      if (rec->fields[7].tag == V_NONE)
        none_maybe++;
      else
        some_maybe++;
    } else {
      fprintf(stderr, "reply %d does not decode: %s%s\n%s\n", i, j ? "" : jerr.text, err, reply);
    }
    value_release(v);
    json_decref(j);
    free(reply);
  }
  CHECK(t, decoded == 300);
  CHECK(t, none_maybe > 30 && some_maybe > 150); /* about 1 in 4 */
  CHECK(t, variant_seen[0] && variant_seen[1] && variant_seen[2]);
  CHECK(t, rating_out == 0);
  CHECK(t, category_bad == 0);

  /* Every built-in scalar as a whole output type. */
  uint32_t scalars[] = {IMG_TYPE_INT,
                        IMG_TYPE_FLOAT,
                        IMG_TYPE_BOOL,
                        fx->priority,
                        wrap(fx->img, IT_LIST, fx->inner),
                        wrap(fx->img, IT_OPT, IMG_TYPE_STRING)};
  for (size_t i = 0; i < sizeof scalars / sizeof *scalars; i++) {
    Request rs = r;
    rs.out_type = scalars[i];
    char *reply = mock_reply(&rs, "00", NULL);
    json_t *j = json_loads(reply, JSON_DECODE_ANY, NULL);
    Value v = value_none();
    char err[256] = "";
    bool ok = j && json_to_value(fx->img, scalars[i], j, JV_STRICT, &v, err, sizeof err);
    if (!CHECK(t, ok)) fprintf(stderr, "type %u: %s: %s\n", scalars[i], reply, err);
    value_release(v);
    json_decref(j);
    free(reply);
  }

  /* A recursive type terminates and still decodes: Node { name: string,
   * children: Node[] }, interned list first with Node's future id. */
  Image *img = fx->img;
  uint32_t node_id = img->ntypes + 1;
  uint32_t kids = wrap(img, IT_LIST, node_id);
  const char *nn[] = {"name", "children"};
  uint32_t nt[] = {IMG_TYPE_STRING, kids};
  uint32_t got = record(img, "Node", 2, nn, nt, NULL);
  if (CHECK(t, got == node_id)) {
    Request rn = r;
    rn.out_type = got;
    size_t n;
    char *reply = mock_reply(&rn, "abc", &n);
    CHECK(t, n < 4 * 1024 * 1024);
    json_t *j = json_loadb(reply, n, 0, NULL);
    Value v = value_none();
    char err[256] = "";
    CHECK(t, j && json_to_value(img, got, j, JV_STRICT, &v, err, sizeof err));
    value_release(v);
    json_decref(j);
    free(reply);
  }

  /* Judge: {"score": x}, 0.70 <= x <= 1.00, two decimals. */
  Request rj = r;
  rj.prompt = -1;
  int bad = 0;
  for (int i = 0; i < 200; i++) {
    char k[65];
    snprintf(k, sizeof k, "%064x", i);
    char *reply = mock_reply(&rj, k, NULL);
    json_t *j = json_loads(reply, 0, NULL);
    json_t *s = json_object_get(j, "score");
    double x = json_number_value(s);
    if (!json_is_real(s) || json_object_size(j) != 1 || x < 0.70 || x > 1.0 ||
        fabs(x * 100 - round(x * 100)) > 1e-9)
      bad++;
    json_decref(j);
    free(reply);
  }
  CHECK(t, bad == 0);
  value_release(msgs);
}

/* Latency varies with the seed, not the reply; usage counts are sane. */
static void test_mock_latency_usage(Tally *t, const Fixture *fx) {
  const char *key = "5f2b0e0c3a8d4e6f5f2b0e0c3a8d4e6f5f2b0e0c3a8d4e6f5f2b0e0c3a8d4e6f";
  double a = mock_latency_ms(key, 1, 50), b = mock_latency_ms(key, 1, 50);
  CHECK(t, a == b);
  int differ = 0, out_of_range = 0;
  for (uint64_t seed = 2; seed < 100; seed++) {
    double l = mock_latency_ms(key, seed, 50);
    if (l != a) differ++;
    if (l < 0 || l >= 50) out_of_range++;
  }
  CHECK(t, differ >= 95);
  CHECK(t, out_of_range == 0);
  CHECK(t, mock_latency_ms(key, 3, 0) == 0);
  CHECK(t, mock_latency_ms("other", 1, 50) != a);

  Value msgs = conversation("12345678"); /* "Be brief." (9) + 8 = 17 bytes -> 5 tokens */
  Request r = request_for(fx, fx->write, msgs);
  int64_t in = 0, out = 0;
  mock_usage(&r, "abcde", &in, &out);
  CHECK(t, in == 5);
  CHECK(t, out == 2);
  mock_usage(&r, "", &in, &out);
  CHECK(t, out == 1);
  value_release(msgs);
}

/* ---- cassettes -------------------------------------------------------------------------------- */

/* The temporary directory of this run. */
typedef struct Tmp {
  char dir[64];
} Tmp;

/* The path of [name] in the temporary directory (static storage per call
 * site is avoided: writes into [buf]). */
static const char *tmp_path(const Tmp *tmp, const char *name, char buf[256]) {
  snprintf(buf, 256, "%s/%s", tmp->dir, name);
  return buf;
}

/* Write [text] to [path]. */
static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    exit(2);
  }
  fputs(text, f);
  fclose(f);
}

/* The whole content of [path] (malloc'd), or NULL. */
static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0, n;
  char chunk[4096];
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (len + n + 1 > cap) {
      cap = (len + n + 1) * 2;
      buf = realloc(buf, cap);
    }
    memcpy(buf + len, chunk, n);
    len += n;
  }
  fclose(f);
  if (!buf) buf = calloc(1, 1);
  buf[len] = '\0';
  return buf;
}

/* Record, then replay: replies in order per key, then the last repeated;
 * usage, program hash, NULs and special characters survive. */
static void test_cassette_roundtrip(Tally *t, const Fixture *fx, const Tmp *tmp) {
  char path[256];
  tmp_path(tmp, "round.jsonl", path);
  char err[512] = "";
  const char *prog = "00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff";
  Cassette *c = cassette_open_record(path, prog, err, sizeof err);
  if (!CHECK(t, c != NULL)) {
    fprintf(stderr, "%s\n", err);
    return;
  }
  Value m1 = conversation("first question"), m2 = conversation("second question");
  Request r1 = request_for(fx, fx->write, m1), r2 = request_for(fx, fx->classify, m2);
  Request rj = r1;
  rj.prompt = -1;
  char k1[65], k2[65], kj[65];
  request_key(&r1, k1);
  request_key(&r2, k2);
  request_key(&rj, kj);
  static const char weird[] = "line\nquote\" back\\ tab\t nul\0 \xc3\xa9 \xe2\x82\xac end";
  CHECK(t, cassette_append(c, &r1, k1, "attempt one", 11, 10, 3, err, sizeof err));
  CHECK(t, cassette_append(c, &r2, k2, weird, sizeof weird - 1, 20, 30, err, sizeof err));
  CHECK(t, cassette_append(c, &r1, k1, "attempt two", 11, 10, 4, err, sizeof err));
  CHECK(t, cassette_append(c, &rj, kj, "{\"score\":0.9}", 13, 7, 5, err, sizeof err));
  CHECK(t, !cassette_append(c, &r1, k1, "bad \xff", 5, 1, 1, err, sizeof err));
  CHECK_HAS(t, err, "expected a reply of valid UTF-8 text from prompt write, found invalid bytes");
  CHECK(t, !cassette_append(c, &r1, "xyz", "x", 1, 1, 1, err, sizeof err));
  CHECK(t, cassette_flush(c, err, sizeof err));
  CHECK(t, cassette_lookup(c, k1, NULL, NULL, NULL, NULL) == false); /* not open for replay */
  cassette_close(c);

  char *text = read_file(path);
  CHECK(t, text && strncmp(text, "{\"flow_cassette\":1,\"program\":\"00ff", 34) == 0);
  CHECK_HAS(t, text, "\"prompt\":\"write\",\"binding\":\"fast\",\"request\":{\"binding\":");
  CHECK_HAS(t, text, "\"prompt\":null,\"binding\":\"fast\",\"request\":{\"binding\":");
  CHECK_HAS(t, text, "\"usage\":{\"input_tokens\":20,\"output_tokens\":30}}\n");
  /* Every line is valid JSON and the request is the canonical text, verbatim. */
  char *canon = request_canonical(&r2);
  CHECK_HAS(t, text, canon);
  free(canon);
  int lines = 0;
  for (char *p = text; p && *p;) {
    char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    json_t *j = json_loadb(p, n, JSON_ALLOW_NUL, NULL);
    CHECK(t, json_is_object(j));
    json_decref(j);
    lines++;
    p = nl ? nl + 1 : p + n;
  }
  CHECK(t, lines == 5);
  free(text);

  c = cassette_open_replay(path, err, sizeof err);
  if (!CHECK(t, c != NULL)) {
    fprintf(stderr, "%s\n", err);
  } else {
    CHECK_STR(t, cassette_program(c), prog);
    CHECK(t, cassette_count(c) == 4);
    const char *reply;
    size_t len;
    int64_t in, out;
    CHECK(t, cassette_lookup(c, k1, &reply, &len, &in, &out));
    CHECK(t, len == 11 && strcmp(reply, "attempt one") == 0 && in == 10 && out == 3);
    CHECK(t, cassette_lookup(c, k2, &reply, &len, &in, &out));
    CHECK(t, len == sizeof weird - 1 && memcmp(reply, weird, len) == 0 && in == 20 && out == 30);
    CHECK(t, cassette_lookup(c, k1, &reply, &len, &in, &out));
    CHECK(t, strcmp(reply, "attempt two") == 0 && out == 4);
    CHECK(t, cassette_lookup(c, k1, &reply, &len, NULL, NULL));
    CHECK(t, strcmp(reply, "attempt two") == 0);
    CHECK(t, cassette_lookup(c, k2, &reply, &len, NULL, NULL));
    CHECK(t, len == sizeof weird - 1);
    CHECK(t, cassette_lookup(c, kj, &reply, NULL, NULL, NULL) && strcmp(reply, "{\"score\":0.9}") == 0);
    char miss[65];
    Value m3 = conversation("third question");
    Request r3 = request_for(fx, fx->write, m3);
    request_key(&r3, miss);
    CHECK(t, !cassette_lookup(c, miss, &reply, &len, &in, &out));
    CHECK(t, !cassette_lookup(c, "not a key", &reply, &len, &in, &out));
    char err2[128];
    CHECK(t, !cassette_append(c, &r3, miss, "x", 1, 1, 1, err2, sizeof err2));
    CHECK_HAS(t, err2, "expected a cassette open for recording");
    value_release(m3);
    cassette_close(c);
  }

  /* An empty program hash, and no exchanges. */
  tmp_path(tmp, "empty.jsonl", path);
  c = cassette_open_record(path, NULL, err, sizeof err);
  CHECK(t, c != NULL);
  cassette_close(c);
  c = cassette_open_replay(path, err, sizeof err);
  CHECK(t, c != NULL && cassette_count(c) == 0 && strcmp(cassette_program(c), "") == 0);
  CHECK(t, !cassette_lookup(c, k1, NULL, NULL, NULL, NULL));
  cassette_close(c);
  CHECK(t, cassette_open_record(path, "not hex!", err, sizeof err) == NULL);
  CHECK(t, cassette_open_record("/nonexistent-dir/x.jsonl", "", err, sizeof err) == NULL);
  CHECK_HAS(t, err, "/nonexistent-dir/x.jsonl: cannot create the cassette");
  CHECK(t, cassette_open_replay("/nonexistent-dir/x.jsonl", err, sizeof err) == NULL);
  CHECK_HAS(t, err, "/nonexistent-dir/x.jsonl: cannot open the cassette");

  value_release(m1);
  value_release(m2);
}

/* A well-formed exchange line, as a template for malformed ones. */
#define KEY64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEADER "{\"flow_cassette\": 1, \"program\": \"\"}\n"
#define GOOD                                                                                                 \
  "{\"key\": \"" KEY64 "\", \"prompt\": \"p\", \"binding\": \"b\", \"request\": {}, \"reply\": \"r\", "      \
  "\"usage\": {\"input_tokens\": 1, \"output_tokens\": 2}}\n"

/* Malformed cassettes are rejected with the line number and what was
 * expected and found; random corruption never crashes. */
static void test_cassette_malformed(Tally *t, const Tmp *tmp) {
  static const struct {
    const char *text, *want;
  } cases[] = {
      {"", "bad.jsonl:1: expected the header {\"flow_cassette\": 1, \"program\": ...}, found an empty file"},
      {"\n\n", "bad.jsonl:1: expected the header"},
      {"[1]\n", "bad.jsonl:1: expected the header {\"flow_cassette\": 1, \"program\": ...}, found an array"},
      {"{\"program\": \"\"}\n", "bad.jsonl:1: expected the header {\"flow_cassette\": 1, \"program\": ...}, "
                                "found an object without \"flow_cassette\""},
      {"{\"flow_cassette\": 2, \"program\": \"\"}\n", "bad.jsonl:1: expected \"flow_cassette\": 1 (the only "
                                                      "version this flowc reads), found 2"},
      {"{\"flow_cassette\": \"1\", \"program\": \"\"}\n",
       "bad.jsonl:1: expected \"flow_cassette\": 1, found a string"},
      {"{\"flow_cassette\": 1}\n",
       "bad.jsonl:1: expected a string \"program\" in the header, found no such member"},
      {"{\"flow_cassette\": 1, \"program\": \"XYZ\"}\n",
       "expected a lowercase hex string \"program\" in the header, found \"XYZ\""},
      {"{\"flow_cassette\": 1, \"program\": \"\", \"extra\": 1}\n",
       "bad.jsonl:1: expected only the members "
       "\"flow_cassette\" and \"program\" in the header, found \"extra\""},
      {HEADER GOOD "{\"key\": \"" KEY64
                   "\", \"prompt\": \"p\", \"binding\": \"b\", \"request\": {}, \"reply\": 3, "
                   "\"usage\": {\"input_tokens\": 1, \"output_tokens\": 2}}\n",
       "bad.jsonl:3: expected a string \"reply\", found a number"},
      {HEADER GOOD GOOD "{\"key\": \"" KEY64 "\",\n",
       "bad.jsonl:4: expected a JSON exchange object on one line, found invalid JSON (column"},
      {"{\"flow_cassette\": 1,",
       "bad.jsonl:1: expected a JSON header object on one line, found invalid JSON"},
      {HEADER "{\"key\": \"ABC\"}\n",
       "bad.jsonl:2: expected \"key\" to be 64 lowercase hex digits, found \"ABC\""},
      {HEADER "{\"key\": 5}\n", "bad.jsonl:2: expected a string \"key\", found a number"},
      {HEADER "{\"key\": \"" KEY64 "\", \"prompt\": 1}\n",
       "bad.jsonl:2: expected a string or null \"prompt\", found a number"},
      {HEADER "{\"key\": \"" KEY64 "\", \"prompt\": null}\n",
       "bad.jsonl:2: expected a string \"binding\", found no such member"},
      {HEADER "{\"key\": \"" KEY64 "\", \"prompt\": null, \"binding\": \"b\", \"request\": \"x\"}\n",
       "bad.jsonl:2: expected an object \"request\", found a string"},
      {HEADER "{\"key\": \"" KEY64
              "\", \"prompt\": null, \"binding\": \"b\", \"request\": {}, \"reply\": \"\"}\n",
       "bad.jsonl:2: expected an object \"usage\", found no such member"},
      {HEADER "{\"key\": \"" KEY64
              "\", \"prompt\": null, \"binding\": \"b\", \"request\": {}, \"reply\": \"\", "
              "\"usage\": {\"input_tokens\": -1, \"output_tokens\": 2}}\n",
       "bad.jsonl:2: expected a non-negative integer \"usage.input_tokens\", found -1"},
      {HEADER "{\"key\": \"" KEY64
              "\", \"prompt\": null, \"binding\": \"b\", \"request\": {}, \"reply\": \"\", "
              "\"usage\": {\"input_tokens\": 1, \"output_tokens\": 2.5}}\n",
       "bad.jsonl:2: expected an integer \"usage.output_tokens\", found a number"},
      {HEADER "{\"key\": \"" KEY64
              "\", \"prompt\": null, \"binding\": \"b\", \"request\": {}, \"reply\": \"\", "
              "\"usage\": {\"input_tokens\": 1, \"output_tokens\": 2}, \"rpely\": \"\"}\n",
       "bad.jsonl:2: expected only the members key, prompt, binding, request, reply and usage in an "
       "exchange, "
       "found \"rpely\""},
      {HEADER "{\"key\": \"" KEY64 "\", \"key\": \"" KEY64 "\"}\n",
       "bad.jsonl:2: expected a JSON exchange object on one line, found invalid JSON"},
      {HEADER "\n" GOOD "\n[]\n", "bad.jsonl:5: expected an exchange object, found an array"},
  };
  char path[256];
  tmp_path(tmp, "bad.jsonl", path);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    write_file(path, cases[i].text);
    char err[512] = "";
    Cassette *c = cassette_open_replay(path, err, sizeof err);
    if (!check_at(t, c == NULL, __FILE__, __LINE__, "malformed cassette rejected"))
      fprintf(stderr, "case %zu was accepted\n", i);
    cassette_close(c);
    char want[600];
    snprintf(want, sizeof want, "%s/%s", tmp->dir, cases[i].want);
    if (strncmp(cases[i].want, "bad.jsonl", 9) == 0)
      CHECK_HAS(t, err, want);
    else
      CHECK_HAS(t, err, cases[i].want);
  }

  /* A good file with a blank line and CRLF endings loads. */
  write_file(path, HEADER "\n" GOOD "\r\n");
  char err[512] = "";
  Cassette *c = cassette_open_replay(path, err, sizeof err);
  CHECK(t, c != NULL && cassette_count(c) == 1);
  cassette_close(c);

  /* Random corruption: rejected with a line number, or loaded; never a crash. */
  const char base[] = HEADER GOOD GOOD GOOD;
  uint64_t x = 12345;
  int rejected_ok = 0, accepted = 0, bad_message = 0;
  for (int round = 0; round < 400; round++) {
    char buf[sizeof base];
    memcpy(buf, base, sizeof base);
    int nmut = 1 + round % 4;
    for (int m = 0; m < nmut; m++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      size_t at = (size_t)(x >> 33) % (sizeof base - 1);
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      buf[at] = (char)(x >> 56);
      if (buf[at] == '\0') buf[at] = '{';
    }
    if (round % 7 == 0) buf[(size_t)(x >> 40) % (sizeof base - 1)] = '\0'; /* truncation */
    write_file(path, buf);
    c = cassette_open_replay(path, err, sizeof err);
    if (c) {
      accepted++;
    } else {
      char prefix[300];
      snprintf(prefix, sizeof prefix, "%s:", path);
      if (strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, "expected"))
        rejected_ok++;
      else {
        bad_message++;
        fprintf(stderr, "corruption message: %s\n", err);
      }
    }
    cassette_close(c);
  }
  CHECK(t, bad_message == 0);
  CHECK(t, rejected_ok + accepted == 400 && rejected_ok > 100);
}

/* A large cassette loads and answers quickly through the hash table. */
static void test_cassette_large(Tally *t, const Tmp *tmp) {
  enum { N = 200000 };
  char path[256];
  tmp_path(tmp, "large.jsonl", path);
  FILE *f = fopen(path, "wb");
  fputs(HEADER, f);
  for (int i = 0; i < N; i++)
    fprintf(f,
            "{\"key\":\"%064x\",\"prompt\":\"p\",\"binding\":\"b\",\"request\":{},\"reply\":\"reply %d\","
            "\"usage\":{\"input_tokens\":1,\"output_tokens\":%d}}\n",
            i * 2654435761u, i, i);
  fclose(f);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  char err[512] = "";
  Cassette *c = cassette_open_replay(path, err, sizeof err);
  if (!CHECK(t, c != NULL)) {
    fprintf(stderr, "%s\n", err);
    return;
  }
  int wrong = 0;
  for (int i = 0; i < N; i++) {
    char key[65], want[32];
    snprintf(key, sizeof key, "%064x", i * 2654435761u);
    snprintf(want, sizeof want, "reply %d", i);
    const char *reply;
    int64_t out;
    if (!cassette_lookup(c, key, &reply, NULL, NULL, &out) || strcmp(reply, want) != 0 || out != i) wrong++;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  CHECK(t, wrong == 0);
  CHECK(t, cassette_count(c) == N);
  printf("large cassette: %d exchanges loaded and looked up in %.3f s\n", N, secs);
  cassette_close(c);
}

/* An API key planted in the environment, and the variable's name, never
 * appear in canonical requests, mock replies or cassettes. */
static void test_canary(Tally *t, const Fixture *fx, const Tmp *tmp) {
  setenv("FLOW_TEST_CANARY_KEY", "sk-canary-123", 1);
  Value msgs = conversation("Is my key safe?");
  char path[256];
  tmp_path(tmp, "canary.jsonl", path);
  char err[512] = "";
  Cassette *c = cassette_open_record(path, "", err, sizeof err);
  CHECK(t, c != NULL);
  for (uint32_t p = 0; p < 2; p++) {
    Request r = request_for(fx, p, msgs);
    for (uint32_t m = 0; m < 2; m++) {
      r.model = m;
      char key[65];
      request_key(&r, key);
      char *canon = request_canonical(&r);
      CHECK(t, !strstr(canon, "sk-canary-123") && !strstr(canon, "FLOW_TEST_CANARY_KEY"));
      free(canon);
      size_t len;
      char *reply = mock_reply(&r, key, &len);
      CHECK(t, !strstr(reply, "sk-canary-123"));
      int64_t in, out;
      mock_usage(&r, reply, &in, &out);
      CHECK(t, c && cassette_append(c, &r, key, reply, len, in, out, err, sizeof err));
      free(reply);
    }
  }
  cassette_close(c);
  char *text = read_file(path);
  CHECK(t, text && !strstr(text, "sk-canary-123") && !strstr(text, "FLOW_TEST_CANARY_KEY"));
  CHECK(t, text && !strstr(text, "api_key"));
  free(text);
  value_release(msgs);
  unsetenv("FLOW_TEST_CANARY_KEY");
}

/* Remove one entry of the temporary tree (nftw callback). */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

int main(void) {
  Tally t = {0, 0};
  Tmp tmp;
  const char *base = getenv("TMPDIR");
  snprintf(tmp.dir, sizeof tmp.dir, "%s/flow-providers-XXXXXX", base && strlen(base) < 40 ? base : "/tmp");
  if (!mkdtemp(tmp.dir)) {
    perror("mkdtemp");
    return 2;
  }
  Fixture fx = fixture_new();
  test_canonical(&t, &fx);
  test_mock_prose(&t, &fx);
  test_mock_structured(&t, &fx);
  test_mock_latency_usage(&t, &fx);
  test_cassette_roundtrip(&t, &fx, &tmp);
  test_cassette_malformed(&t, &tmp);
  test_cassette_large(&t, &tmp);
  test_canary(&t, &fx, &tmp);
  image_free(fx.img);
  nftw(tmp.dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
  printf("%d passed, %d failed\n", t.passed, t.failed);
  return t.failed ? 1 : 0;
}
