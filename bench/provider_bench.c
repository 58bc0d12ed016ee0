/*
 * provider_bench.c - what one model call costs in the provider layer, without
 * the network: provider_build (endpoint, key, parts, request body) and
 * provider_parse (reply envelope to text and usage) for each wire format, on
 * the typed request of net_bench.py, and jansson's parse of the same
 * envelope for scale. Prints the median of 5 batches, in µs per call.
 * Usage: provider_bench [CALLS_PER_BATCH]
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image.h"
#include "provider.h"
#include "request.h"
#include "value.h"

#define BATCHES 5

static const char SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{\"label\":{\"type\":\"string\",\"enum\":[\"positive\",\"negative\","
    "\"neutral\"]},\"confidence\":{\"type\":\"number\"}},\"required\":[\"label\",\"confidence\"],"
    "\"additionalProperties\":false}";

/* The reply envelopes of the three providers, as their servers send them. */
static const char *const REPLIES[] = {
    "{\"id\":\"chatcmpl-mock-48746\",\"object\":\"chat.completion\",\"created\":1795519470,\"model\":\"x\","
    "\"system_fingerprint\":\"fp_mock\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
    "\"{\\\"label\\\":\\\"positive\\\",\\\"confidence\\\":0.9}\",\"refusal\":null},\"logprobs\":null,"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":10,\"total_tokens\":17}}",
    "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"x\",\"content\":[{\"type\":"
    "\"tool_use\",\"id\":\"toolu_01\",\"name\":\"output\",\"input\":{\"label\":\"positive\",\"confidence\":0.9}}],"
    "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":7,\"output_tokens\":10}}",
    "{\"model\":\"x\",\"created_at\":\"2026-11-24T10:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":"
    "\"{\\\"label\\\":\\\"positive\\\",\\\"confidence\\\":0.9}\"},\"done_reason\":\"stop\",\"done\":true,"
    "\"prompt_eval_count\":7,\"eval_count\":10}",
};

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static const char *bench_getenv(void *ctx, const char *name) {
  (void)ctx;
  return strstr(name, "API_KEY") ? "sk-bench" : NULL;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef enum Step { BUILD, PARSE, JANSSON } Step;

/* One batch of `n` steps; µs per step. */
static double batch(Step step, const Request *r, const ProviderEnv *env, const char *reply, int n) {
  size_t len = strlen(reply);
  char err[256];
  double t0 = now();
  for (int i = 0; i < n; i++) {
    if (step == BUILD) {
      HttpRequest h;
      if (!provider_build(r, env, &h, err, sizeof err)) {
        fprintf(stderr, "provider_bench: %s\n", err);
        exit(1);
      }
      provider_http_free(&h);
    } else if (step == PARSE) {
      ProviderReply p;
      if (!provider_parse(r, 200, NULL, 0, reply, len, 0, &p)) {
        fprintf(stderr, "provider_bench: the reply did not parse: %s\n", p.message);
        exit(1);
      }
      provider_reply_free(&p);
    } else {
      json_t *j = json_loadb(reply, len, 0, NULL);
      json_decref(j);
    }
  }
  return (now() - t0) / n * 1e6;
}

static double median(Step step, const Request *r, const ProviderEnv *env, const char *reply, int n) {
  double us[BATCHES];
  for (int b = 0; b < BATCHES; b++) us[b] = batch(step, r, env, reply, n);
  qsort(us, BATCHES, sizeof *us, by_value);
  return us[BATCHES / 2];
}

static Value message(const char *role, const char *text) {
  Value m = value_record(IMG_TYPE_MESSAGE, 3);
  record_set_steal(m, 0, value_cstr(role));
  record_set_steal(m, 1, value_cstr(text));
  return m;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 50000;
  if (n <= 0) {
    fprintf(stderr, "usage: provider_bench [CALLS_PER_BATCH]; expected a positive count, found %s\n", argv[1]);
    return 2;
  }
  static const Provider providers[] = {PROVIDER_OPENAI, PROVIDER_ANTHROPIC, PROVIDER_OLLAMA};
  Image *img = image_new();
  img->nmodels = 3;
  img->models = calloc(3, sizeof *img->models);
  for (int i = 0; i < 3; i++) {
    ImgModel *m = &img->models[i];
    m->name = strdup(provider_name(providers[i]));
    m->provider = providers[i];
    m->model = strdup("bench-model");
    m->base_url = strdup(i == 0 ? "http://127.0.0.1:1/v1" : "http://127.0.0.1:1");
    m->json_mode = true;
  }
  Value msgs = value_list(2);
  list_push_steal(msgs, message("system", "You classify the sentiment of product reviews."));
  list_push_steal(msgs, message("user", "Review: Great product number 12345, works well"));
  ProviderCache *cache = provider_cache_new();
  ProviderEnv env = {bench_getenv, NULL, cache};
  printf("provider_bench: µs per call, median of %d batches of %d (typed request of net_bench.py)\n", BATCHES, n);
  for (int i = 0; i < 3; i++) {
    Request r = {.img = img, .prompt = -1, .model = (uint32_t)i, .messages = msgs, .out_type = IMG_TYPE_STRING,
                 .schema = SCHEMA};
    r.params.set = PARAM_MAX_TOKENS;
    r.params.max_tokens = 50;
    printf("  %-9s  build %5.2f   parse %5.2f   (jansson alone on the %zu-byte reply: %5.2f)\n",
           provider_name(providers[i]), median(BUILD, &r, &env, "", n), median(PARSE, &r, &env, REPLIES[i], n),
           strlen(REPLIES[i]), median(JANSSON, &r, &env, REPLIES[i], n));
  }
  value_release(msgs);
  provider_cache_free(cache);
  image_free(img);
  return 0;
}
