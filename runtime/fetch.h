/* fetch.h - one HTTPS GET under the rules for `http(url)` context sources.
 *
 * A program's context may name a web page; reading it must not become a way
 * to reach the machine's own services or the private network it sits on, nor
 * to leak what the URL carries. fetch_get therefore enforces, on its own:
 *   - https only, for the URL and every redirect target;
 *   - the host (and port, 443 unless the entry names one) of the URL and of
 *     every redirect target must match the allow-list;
 *   - redirects (301 302 303 307 308) are followed here, one hop at a time,
 *     each target re-checked, at most `max_redirects` of them;
 *   - at connect time the address libcurl is about to connect to is checked:
 *     loopback, private, link-local, unspecified, shared (CGNAT), multicast,
 *     broadcast and reserved addresses, and IPv6 forms that embed one
 *     (IPv4-mapped, NAT64, 6to4), are refused, so a name that resolves to
 *     one (`localhost`, DNS rebinding) is refused even when the name is
 *     allow-listed. The one exception: when the entry that matched the
 *     current URL is an IP literal, exactly that address is allowed;
 *   - no proxy is ever used (the proxy variables are ignored), so the address
 *     checked is the real peer's;
 *   - TLS peers are always verified (against `ca_bundle` when given);
 *   - the body is capped while it arrives, the whole fetch (redirects
 *     included) has one time limit, and only a 2xx status is a success.
 * Errors name the URL without its user information, query and fragment
 * (they may hold secrets), then what was expected and what was found.
 * libcurl is loaded for each fetch (runtime/curl_api.h); nothing here
 * prints. */
#ifndef FLOW_FETCH_H
#define FLOW_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define FETCH_DEFAULT_MAX_BYTES ((size_t)8 << 20)
#define FETCH_DEFAULT_TIMEOUT_MS 30000L
#define FETCH_DEFAULT_MAX_REDIRECTS 5

typedef struct FetchConfig {
  /* Allow-listed hosts: "docs.example.com"; "*.example.org" (any name that
   * ends in ".example.org", not example.org itself); an IP literal
   * ("127.0.0.1", "[::1]"), which allows exactly that address. Each may end
   * in ":port"; without one only port 443 matches. Names compare without
   * regard to case. */
  const char *const *allow;
  size_t nallow;
  const char *ca_bundle; /* a CA bundle file; NULL: the system's (the runtime passes FLOW_CA_BUNDLE) */
  size_t max_bytes;      /* the most body bytes accepted; 0: FETCH_DEFAULT_MAX_BYTES */
  long timeout_ms;       /* the whole fetch, redirects included; 0: FETCH_DEFAULT_TIMEOUT_MS */
  int max_redirects;     /* 0: FETCH_DEFAULT_MAX_REDIRECTS; negative: none followed */
} FetchConfig;

/* GET [url] under the rules above. On success [body] is a new NUL-terminated
 * buffer (free it) of [len] bytes, the body of the 2xx reply. False with a
 * message in [err] otherwise ([body] NULL, [len] 0). */
bool fetch_get(const FetchConfig *cfg, const char *url, char **body, size_t *len, char *err, size_t errlen);

/* Whether [entry] is a well-formed allow-list entry; false with a message
 * naming what was expected and what was found. fetch_get checks every entry
 * this way before anything else; a checker or command line can call it to
 * report a bad entry early. */
bool fetch_allow_entry_check(const char *entry, char *err, size_t errlen);

/* The first entry of [allow] that matches [host] (as a URL spells it: a
 * name, an IPv4 address or a bracketed IPv6 address) on [port], or NULL.
 * Malformed entries match nothing. */
const char *fetch_allow_match(const char *const *allow, size_t nallow, const char *host, unsigned port);

/* Why the address [sa] (AF_INET or AF_INET6) may not be connected to ("a
 * loopback address", "a private address", ...), or NULL when it is a public
 * address. Any other family is refused. */
const char *fetch_address_refusal(const struct sockaddr *sa);

/* [url] as errors show it, into [out]: without its user information, query
 * string and fragment, control characters replaced by '?', cut short with
 * "..." when longer than [outlen] allows. */
void fetch_url_redact(const char *url, char *out, size_t outlen);

#endif
