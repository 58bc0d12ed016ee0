/* test_fetch_rules.c - unit tests of the rules of runtime/fetch.c that need
 * no network: allow-list entries (their syntax and what they match), the
 * address classification used at connect time (IPv4, IPv6 and the IPv6
 * forms that embed an IPv4 address), and the redaction of URLs in errors. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "fetch.h"
#include "tally.h"

/* The entry is accepted. */
static void entry_ok(Tally *t, const char *entry) {
  char err[256] = "";
  if (!CHECK(t, fetch_allow_entry_check(entry, err, sizeof err)))
    fprintf(stderr, "  entry: %s: %s\n", entry, err);
}

/* The entry is refused with a message naming it and [reason]. */
static void entry_bad(Tally *t, const char *entry, const char *reason) {
  char err[256] = "", want[128];
  bool ok = fetch_allow_entry_check(entry, err, sizeof err);
  snprintf(want, sizeof want, "allow-list entry `%s`: ", entry);
  if (!CHECK(t, !ok && strncmp(err, want, strlen(want)) == 0 && strstr(err, reason)))
    fprintf(stderr, "  entry: %s\n  expected a refusal with: %s\n  got: %s\n", entry, reason,
            ok ? "(accepted)" : err);
}

static void test_entries(Tally *t) {
  const char *good[] = {"docs.example.com",
                        "DOCS.Example.COM",
                        "localhost",
                        "*.example.org",
                        "*.a.b.example.org",
                        "docs.example.com:8443",
                        "*.example.org:1",
                        "127.0.0.1",
                        "127.0.0.1:65535",
                        "[::1]",
                        "[::1]:8443",
                        "[2001:db8::1]",
                        "xn--bcher-kva.example",
                        "a-b.example",
                        "9x.example"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    entry_ok(t, good[i]);
  const char *syntax = "expected a host name (docs.example.com)";
  entry_bad(t, "", syntax);
  entry_bad(t, "*", syntax);
  entry_bad(t, "*.", syntax);
  entry_bad(t, "*.com", "expected a wildcard over a domain of two labels or more");
  entry_bad(t, "*.*.example.org", syntax);
  entry_bad(t, "a.*.example.org", syntax);
  entry_bad(t, "https://docs.example.com", "expected a host without a scheme");
  entry_bad(t, "docs.example.com:443:443", "expected an IPv6 address in brackets");
  entry_bad(t, "docs.example.com/faq", syntax);
  entry_bad(t, "docs_example.com", syntax);
  entry_bad(t, "-docs.example.com", syntax);
  entry_bad(t, "docs-.example.com", syntax);
  entry_bad(t, "docs..example.com", syntax);
  entry_bad(t, "docs.example.com.", syntax);
  entry_bad(t, "1.2.3", syntax);
  entry_bad(t, "256.1.1.1", syntax);
  entry_bad(t, "2130706433", syntax);
  entry_bad(t, "::1", "expected an IPv6 address in brackets");
  entry_bad(t, "[::1", "expected an IPv6 address between `[` and `]`");
  entry_bad(t, "[::1]x", "expected `:port` or nothing after `]`");
  entry_bad(t, "[localhost]", "expected an IPv6 address between `[` and `]`");
  entry_bad(t, "docs.example.com:", "expected a port from 1 to 65535 after `:`");
  entry_bad(t, "docs.example.com:0", "expected a port from 1 to 65535");
  entry_bad(t, "docs.example.com:65536", "expected a port from 1 to 65535");
  entry_bad(t, "docs.example.com:+443", "expected a port from 1 to 65535");
  entry_bad(t, "docs.example.com:99999999999999999999", "expected a port from 1 to 65535");
  entry_bad(t, ":443", syntax);
  char long_label[80];
  memset(long_label, 'a', 64);
  strcpy(long_label + 64, ".example");
  entry_bad(t, long_label, syntax);
}

/* Whether [host] on [port] matches the one-entry allow-list [entry]. */
static bool allows(const char *entry, const char *host, unsigned port) {
  const char *list[] = {entry};
  return fetch_allow_match(list, 1, host, port) == entry;
}

static void test_matching(Tally *t) {
  CHECK(t, allows("docs.example.com", "docs.example.com", 443));
  CHECK(t, allows("docs.example.com", "DOCS.EXAMPLE.com", 443));
  CHECK(t, allows("DOCS.example.COM", "docs.example.com", 443));
  CHECK(t, !allows("docs.example.com", "docs.example.com", 8443)); /* no port named: 443 only */
  CHECK(t, allows("docs.example.com:8443", "docs.example.com", 8443));
  CHECK(t, !allows("docs.example.com:8443", "docs.example.com", 443));
  CHECK(t, !allows("docs.example.com", "example.com", 443));
  CHECK(t, !allows("docs.example.com", "a.docs.example.com", 443));
  CHECK(t, !allows("docs.example.com", "docs.example.com.evil", 443));
  CHECK(t, !allows("docs.example.com", "docs.example.com.", 443));
  CHECK(t, !allows("docs.example.com", "xdocs.example.com", 443));
  /* wildcards: any subdomain, never the domain itself */
  CHECK(t, allows("*.example.org", "a.example.org", 443));
  CHECK(t, allows("*.example.org", "a.b.example.org", 443));
  CHECK(t, allows("*.example.org", "A.Example.ORG", 443));
  CHECK(t, allows("*.Example.org", "a.example.ORG", 443));
  CHECK(t, !allows("*.example.org", "example.org", 443));
  CHECK(t, !allows("*.example.org", "badexample.org", 443));
  CHECK(t, !allows("*.example.org", ".example.org", 443));
  CHECK(t, !allows("*.example.org", "a.example.org.evil.com", 443));
  CHECK(t, !allows("*.example.org", "a.example.org", 8443));
  CHECK(t, allows("*.example.org:8443", "a.example.org", 8443));
  CHECK(t, !allows("*.example.org", "*.example.org", 443));
  CHECK(t, !allows("*.example.org", "a%2eexample.org", 443));
  CHECK(t, !allows("*.example.org", "a_b.example.org", 443));
  /* addresses match addresses only, exactly */
  CHECK(t, allows("127.0.0.1:8443", "127.0.0.1", 8443));
  CHECK(t, !allows("127.0.0.1:8443", "127.0.0.1", 443));
  CHECK(t, !allows("127.0.0.1:8443", "127.0.0.2", 8443));
  CHECK(t, !allows("127.0.0.1:8443", "localhost", 8443));
  CHECK(t, !allows("localhost:8443", "127.0.0.1", 8443));
  CHECK(t, allows("127.0.0.1", "127.0.0.1", 443));
  CHECK(t, !allows("127.0.0.1", "[::ffff:127.0.0.1]", 443));
  CHECK(t, !allows("127.0.0.1", "2130706433", 443));
  CHECK(t, allows("[::1]", "[::1]", 443));
  CHECK(t, allows("[::1]", "[0:0:0::1]", 443));
  CHECK(t, allows("[::1]:8443", "[::1]", 8443));
  CHECK(t, !allows("[::1]", "[::2]", 443));
  CHECK(t, !allows("[::1]", "::1", 443));
  CHECK(t, !allows("[fe80::1]", "[fe80::1%25eth0]", 443));
  /* the first entry that matches; malformed entries match nothing */
  const char *list[] = {"docs.example.com/x", "*.example.org", "a.example.org", "127.0.0.1:1"};
  CHECK(t, fetch_allow_match(list, 4, "a.example.org", 443) == list[1]);
  CHECK(t, fetch_allow_match(list, 4, "docs.example.com", 443) == NULL);
  CHECK(t, fetch_allow_match(list, 4, "127.0.0.1", 1) == list[3]);
  CHECK(t, fetch_allow_match(list, 0, "a.example.org", 443) == NULL);
}

/* The refusal for the address [text] ("1.2.3.4" or an IPv6 address). */
static const char *refusal(const char *text) {
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
  memset(&in, 0, sizeof in);
  memset(&in6, 0, sizeof in6);
  in.sin_family = AF_INET;
  in6.sin6_family = AF_INET6;
  if (inet_pton(AF_INET, text, &in.sin_addr) == 1) return fetch_address_refusal((struct sockaddr *)&in);
  if (inet_pton(AF_INET6, text, &in6.sin6_addr) == 1) return fetch_address_refusal((struct sockaddr *)&in6);
  return "(not an address)";
}

/* [text] is refused as [kind] (NULL: allowed). */
static void address_is(Tally *t, const char *text, const char *kind) {
  const char *got = refusal(text);
  bool ok = kind ? got && strcmp(got, kind) == 0 : got == NULL;
  if (!CHECK(t, ok))
    fprintf(stderr, "  address %s: expected %s, found %s\n", text, kind ? kind : "public",
            got ? got : "public");
}

static void test_addresses(Tally *t) {
  const char *lo = "a loopback address", *priv = "a private address", *link = "a link-local address",
             *unspec = "an unspecified address", *cgnat = "a shared (CGNAT) address",
             *multi = "a multicast address", *reserved = "a reserved address";
  address_is(t, "127.0.0.1", lo);
  address_is(t, "127.255.255.254", lo);
  address_is(t, "10.0.0.1", priv);
  address_is(t, "10.255.255.255", priv);
  address_is(t, "172.16.0.1", priv);
  address_is(t, "172.31.255.255", priv);
  address_is(t, "172.15.255.255", NULL);
  address_is(t, "172.32.0.1", NULL);
  address_is(t, "192.168.0.1", priv);
  address_is(t, "192.169.0.1", NULL);
  address_is(t, "169.254.169.254", link);
  address_is(t, "0.0.0.0", unspec);
  address_is(t, "0.1.2.3", unspec);
  address_is(t, "100.64.0.1", cgnat);
  address_is(t, "100.127.255.255", cgnat);
  address_is(t, "100.63.255.255", NULL);
  address_is(t, "100.128.0.0", NULL);
  address_is(t, "224.0.0.1", multi);
  address_is(t, "239.255.255.255", multi);
  address_is(t, "255.255.255.255", "a broadcast address");
  address_is(t, "240.0.0.1", reserved);
  address_is(t, "192.0.2.1", "a reserved (documentation) address");
  address_is(t, "198.18.0.1", "a reserved (benchmarking) address");
  address_is(t, "8.8.8.8", NULL);
  address_is(t, "93.184.216.34", NULL);
  address_is(t, "11.0.0.1", NULL);
  address_is(t, "126.255.255.255", NULL);
  address_is(t, "128.0.0.1", NULL);
  address_is(t, "::1", lo);
  address_is(t, "::", unspec);
  address_is(t, "::2", reserved);
  address_is(t, "::127.0.0.1", reserved); /* IPv4-compatible (deprecated) */
  address_is(t, "fc00::1", priv);
  address_is(t, "fdff:ffff::1", priv);
  address_is(t, "fe80::1", link);
  address_is(t, "febf:ffff::1", link);
  address_is(t, "fec0::1", "a private (site-local) address");
  address_is(t, "ff02::1", multi);
  address_is(t, "2001:db8::1", "a reserved (documentation) address");
  address_is(t, "2001:4860:4860::8888", NULL);
  address_is(t, "2606:4700:4700::1111", NULL);
  address_is(t, "fbff::1", NULL);
  /* IPv6 forms that embed an IPv4 address are judged by it */
  address_is(t, "::ffff:127.0.0.1", lo);
  address_is(t, "::ffff:7f00:1", lo);
  address_is(t, "::ffff:10.1.2.3", priv);
  address_is(t, "::ffff:169.254.169.254", link);
  address_is(t, "::ffff:0.0.0.0", unspec);
  address_is(t, "::ffff:100.64.0.1", cgnat);
  address_is(t, "::ffff:255.255.255.255", "a broadcast address");
  address_is(t, "::ffff:8.8.8.8", NULL);
  address_is(t, "64:ff9b::127.0.0.1", lo);
  address_is(t, "64:ff9b::192.168.1.1", priv);
  address_is(t, "64:ff9b::8.8.8.8", NULL);
  address_is(t, "64:ff9b:1::1", "a private (local NAT64) address");
  address_is(t, "2002:7f00:1::1", lo);  /* 6to4 of 127.0.0.1 */
  address_is(t, "2002:a00:1::1", priv); /* 6to4 of 10.0.0.1 */
  address_is(t, "2002:808:808::1", NULL);
  /* a family that is not IP */
  struct sockaddr_un un;
  memset(&un, 0, sizeof un);
  un.sun_family = AF_UNIX;
  const char *why = fetch_address_refusal((struct sockaddr *)&un);
  CHECK(t, why && strcmp(why, "not an IP address") == 0);
}

/* [url] redacted into a buffer of [size] bytes is [want]. */
static void redacts(Tally *t, const char *url, size_t size, const char *want) {
  char out[256];
  fetch_url_redact(url, out, size);
  CHECK_STR(t, out, want);
}

static void test_redaction(Tally *t) {
  redacts(t, "https://docs.example.com/faq.md", 256, "https://docs.example.com/faq.md");
  redacts(t, "https://docs.example.com/faq.md?token=s3cret#part", 256, "https://docs.example.com/faq.md");
  redacts(t, "https://docs.example.com/faq.md#part?x", 256, "https://docs.example.com/faq.md");
  redacts(t, "https://docs.example.com?token=s3cret", 256, "https://docs.example.com");
  redacts(t, "https://user:pass@docs.example.com/a", 256, "https://docs.example.com/a");
  redacts(t, "https://us@r:p@ss@docs.example.com:8443/a?q", 256, "https://docs.example.com:8443/a");
  redacts(t, "https://docs.example.com?a@b", 256, "https://docs.example.com");
  redacts(t, "https://docs.example.com/a@b", 256, "https://docs.example.com/a@b");
  redacts(t, "/relative/path?token=x", 256, "/relative/path");
  redacts(t, "docs.example.com/x?y", 256, "docs.example.com/x");
  redacts(t, "https://docs.example.com/a\nb\x7f", 256, "https://docs.example.com/a?b?");
  redacts(t, "https://docs.example.com/faq.md", 16, "https://docs...");
  redacts(t, "https://a/", 11, "https://a/");
  redacts(t, "https://ab/", 11, "https:/...");
  redacts(t, "", 256, "");
}

int main(void) {
  Tally t = {0, 0};
  test_entries(&t);
  test_matching(&t);
  test_addresses(&t);
  test_redaction(&t);
  return tally_report(&t);
}
