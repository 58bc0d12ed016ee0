/* curl_api.h - libcurl, loaded with dlopen on first use.
 *
 * Offline runs never load libcurl (nor the TLS, HTTP/2 and other libraries
 * it pulls in), which keeps their start-up at a millisecond. Its users (the
 * HTTP engine, runtime/http.c, and the context fetcher, runtime/fetch.c)
 * each open their own CurlApi and call libcurl through it; curl_api_open also
 * initialises libcurl's global state, which counts its callers. */
#ifndef FLOW_CURL_API_H
#define FLOW_CURL_API_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct CurlApi {
  void *lib; /* the dlopen handle */
  CURLcode (*global_init)(long flags);
  void (*global_cleanup)(void);
  CURL *(*easy_init)(void);
  void (*easy_cleanup)(CURL *c);
  void (*easy_reset)(CURL *c);
  CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
  CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
  CURLcode (*easy_perform)(CURL *c);
  const char *(*easy_strerror)(CURLcode code);
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_cleanup)(CURLM *m);
  CURLMcode (*multi_setopt)(CURLM *m, CURLMoption opt, ...);
  CURLMcode (*multi_add_handle)(CURLM *m, CURL *c);
  CURLMcode (*multi_remove_handle)(CURLM *m, CURL *c);
  CURLMcode (*multi_perform)(CURLM *m, int *running);
  CURLMcode (*multi_poll)(CURLM *m, struct curl_waitfd fds[], unsigned n, int timeout_ms, int *ret);
  CURLMsg *(*multi_info_read)(CURLM *m, int *left);
  struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
  void (*slist_free_all)(struct curl_slist *l);
  CURLU *(*url)(void);
  void (*url_cleanup)(CURLU *u);
  CURLUcode (*url_set)(CURLU *u, CURLUPart part, const char *content, unsigned flags);
  CURLUcode (*url_get)(const CURLU *u, CURLUPart part, char **content, unsigned flags);
  void (*free)(void *p);
} CurlApi;

/* Load libcurl, find its functions and initialise its global state. False
 * with a message when it is not installed, too old or fails to start;
 * [user] names what needs it ("network providers"). */
bool curl_api_open(CurlApi *api, const char *user, char *err, size_t errlen);
/* Release libcurl's global state (after every handle made through [api] is
 * freed); the library itself stays loaded until the process exits. */
void curl_api_close(CurlApi *api);

#endif
