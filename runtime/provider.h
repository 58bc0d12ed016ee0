/* provider.h - the wire formats of the model providers: a flow Request as an
 * HTTP request for OpenAI Chat Completions, the Anthropic Messages API or
 * Ollama's /api/chat, and the provider's HTTP response as reply text and
 * usage, or as a classified error. No networking happens here: the HTTP
 * engine sends what provider_build makes and hands what it received to
 * provider_parse. docs/providers.md describes the mapping in full.
 *
 * Secrets: the API key is read through the ProviderEnv the caller passes
 * (never from the process environment directly) and appears in exactly one
 * place, the header HttpRequest.headers[secret_header]; never in the URL,
 * the body or an error message. */
#ifndef FLOW_PROVIDER_H
#define FLOW_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "request.h"

/* A media part (image or audio) larger than this many raw bytes is refused. */
#define PROVIDER_MEDIA_CAP ((size_t)20 << 20)
/* Anthropic requires max_tokens; this is sent when the request sets none. */
#define PROVIDER_ANTHROPIC_DEFAULT_MAX_TOKENS 1024
/* The Anthropic API version sent in the anthropic-version header. */
#define PROVIDER_ANTHROPIC_VERSION "2023-06-01"
/* A Retry-After delay is capped at one day. */
#define PROVIDER_MAX_RETRY_AFTER_MS ((int64_t)86400000)

/* Where provider_build reads environment variables: [getenv] returns the
 * value of variable [name] (borrowed, valid until provider_build returns)
 * or NULL when it is not set; [ctx] is passed through. Tests inject a fake
 * environment; the runtime passes provider_process_getenv. */
typedef struct ProviderCache ProviderCache;

typedef struct ProviderEnv {
  const char *(*getenv)(void *ctx, const char *name);
  void *ctx;
  ProviderCache *cache;     /* parsed schemas kept across calls, or NULL */
} ProviderEnv;

/* Parsed output schemas, keyed by the address of the schema text (stable
 * for the life of a program image), so a run parses each schema once. */
ProviderCache *provider_cache_new(void);
void provider_cache_free(ProviderCache *c);

/* A ProviderEnv.getenv that reads the process environment (ignores [ctx]). */
const char *provider_process_getenv(void *ctx, const char *name);

/* An HTTP POST to send: the full URL, headers as "Name: value" strings
 * (without CR LF), and the JSON body. Everything is malloc'd and owned by
 * the struct. [secret_header] is the index of the header that carries the
 * API key, or -1 when none does, so that debug output and cassettes can
 * leave it out. */
typedef struct HttpRequest {
  char *url;
  char **headers;
  size_t nheaders;
  char *body;
  size_t body_len;
  int secret_header;
} HttpRequest;

/* Free what [req] owns (wiping the key header first) and zero it. */
void provider_http_free(HttpRequest *req);

/* Build the HTTP request for [r] (borrowed) on the binding r->img->models
 * [r->model], reading the endpoint and key variables through [env]. On
 * success fills *[out] (free it with provider_http_free) and returns true;
 * otherwise writes an error to err[0..errlen) - it names the binding and
 * what was expected and found, never the key - and returns false with *out
 * zeroed. Errors: the mock provider (no wire format), a missing key, a bad
 * base URL, a role other than system/user/assistant, media in a system or
 * assistant message, images on a binding without vision, audio on a binding
 * without audio or on a provider that takes none, an unsupported media type,
 * a media part over PROVIDER_MEDIA_CAP, a schema that is not JSON. */
bool provider_build(const Request *r, const ProviderEnv *env, HttpRequest *out, char *err, size_t errlen);

/* How a call failed. PE_TIMEOUT and PE_CONNECTION come from the HTTP engine
 * (provider_reply_transport_error); provider_parse gives the others. */
typedef enum ProviderErrorKind {
  PE_NONE,
  PE_RATE_LIMIT,   /* HTTP 429 */
  PE_SERVER,       /* HTTP 5xx, 529 overloaded */
  PE_TIMEOUT,      /* no reply in time; HTTP 408 */
  PE_CONNECTION,   /* could not connect, reset, TLS failure */
  PE_CLIENT,       /* other HTTP 4xx: the request is wrong; quota exhausted */
  PE_AUTH,         /* HTTP 401, 403 */
  PE_BAD_RESPONSE, /* a reply that is empty, not JSON, or not the documented shape */
  PE_REFUSED,      /* the model refused, or a content filter withheld the reply */
  PE_TOO_LARGE,    /* HTTP 413 */
} ProviderErrorKind;

/* Why the model stopped. */
typedef enum ProviderFinish {
  PF_UNKNOWN,        /* the reply did not say */
  PF_STOP,           /* natural end or a stop sequence */
  PF_LENGTH,         /* the token limit */
  PF_CONTENT_FILTER, /* withheld by a content filter */
  PF_REFUSAL,        /* the model refused */
  PF_TOOL_USE,       /* a tool call (Anthropic structured output) */
  PF_OTHER,          /* a reason this version does not know */
} ProviderFinish;

/* The outcome of one call. On success [ok] is true and [text] holds the
 * reply (malloc'd, NUL-terminated, [text_len] bytes): plain text, or for
 * structured output the JSON text of the value (Anthropic's tool input,
 * unwrapped when the schema was wrapped; the message content otherwise).
 * Token counts are the provider's, or estimates (about 4 bytes a token)
 * with [usage_estimated] set when it gave none. On failure [text] is NULL,
 * [error] says how it failed, [retryable] whether trying again may help,
 * [retry_after_ms] the delay the provider asked for (-1: none), and
 * [message] a one-line explanation naming the provider's own error type
 * and message (never request headers, never a key). */
typedef struct ProviderReply {
  bool ok;
  char *text;
  size_t text_len;
  int64_t input_tokens, output_tokens;
  bool usage_estimated;
  ProviderFinish finish;
  char finish_raw[32];  /* the provider's word for it: "stop", "end_turn", "" */
  ProviderErrorKind error;
  bool retryable;
  int64_t retry_after_ms;
  long http_status;
  char message[512];
} ProviderReply;

/* Free the reply text and zero *[reply]. */
void provider_reply_free(ProviderReply *reply);

/* Interpret the response to the request provider_build made for [r]:
 * status [http_status], response headers [resp_headers] ("Name: value",
 * a trailing CR LF tolerated; a status line is ignored), body [body]
 * ([len] bytes, need not be NUL-terminated). [now_ms] is the current time
 * in milliseconds since the Unix epoch, for a Retry-After given as an
 * HTTP date. Fills *[out] (free with provider_reply_free) and returns
 * out->ok. Retryable: 408, 429 (except an exhausted quota), 500, 502, 503,
 * 504, 529, and a body that is empty, truncated or not JSON. */
bool provider_parse(const Request *r, long http_status, const char *const *resp_headers, size_t nheaders,
                    const char *body, size_t len, int64_t now_ms, ProviderReply *out);

/* Fill *[out] for a call that got no HTTP response: [kind] is PE_TIMEOUT or
 * PE_CONNECTION (both retryable), [what] the engine's description (for
 * example libcurl's error text, which never holds headers). */
void provider_reply_transport_error(ProviderReply *out, const Request *r, ProviderErrorKind kind, const char *what);

/* The delay a Retry-After header value asks for, in milliseconds: delta
 * seconds ("120") or an HTTP date (IMF-fixdate, RFC 850 or asctime form)
 * relative to [now_ms]; 0 for a date in the past; capped at
 * PROVIDER_MAX_RETRY_AFTER_MS. -1 when [value] is neither. */
int64_t provider_retry_after_ms(const char *value, int64_t now_ms);

/* Names for messages and metrics: "openai", "anthropic", "ollama", "mock";
 * "rate_limit", "server", "timeout", ...; "stop", "length", .... */
const char *provider_name(Provider p);
const char *provider_error_kind_name(ProviderErrorKind k);
const char *provider_finish_name(ProviderFinish f);

#endif
