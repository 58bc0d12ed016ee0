/* fetch_driver.c - runs fetch_get (runtime/fetch.c) from the command line,
 * for tests/fetch/fetch.sh.
 *
 *   test_fetch [--allow ENTRY]... [--ca FILE] [--max-bytes N]
 *              [--timeout-ms N] [--max-redirects N] URL
 *
 * Prints the body on stdout and exits 0, or prints "error: MESSAGE" on
 * stderr and exits 1; a usage mistake exits 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"

#define MAX_ALLOW 16

/* The number after a flag; exits 2 when it is not one. */
static long number(const char *flag, const char *s) {
  char *end = NULL;
  long v = s ? strtol(s, &end, 10) : 0;
  if (!s || !*s || *end) {
    fprintf(stderr, "test_fetch: %s expected a number, found '%s'\n", flag, s ? s : "nothing");
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  const char *allow[MAX_ALLOW];
  FetchConfig cfg = {allow, 0, NULL, 0, 0, 0};
  const char *url = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--allow") && v && cfg.nallow < MAX_ALLOW)
      allow[cfg.nallow++] = argv[++i];
    else if (!strcmp(a, "--ca") && v)
      cfg.ca_bundle = argv[++i];
    else if (!strcmp(a, "--max-bytes"))
      cfg.max_bytes = (size_t)number(a, v), i++;
    else if (!strcmp(a, "--timeout-ms"))
      cfg.timeout_ms = number(a, v), i++;
    else if (!strcmp(a, "--max-redirects"))
      cfg.max_redirects = (int)number(a, v), i++;
    else if (a[0] != '-' && !url)
      url = a;
    else {
      fprintf(stderr,
              "test_fetch: expected --allow, --ca, --max-bytes, --timeout-ms, --max-redirects or one URL, "
              "found '%s'\n",
              a);
      return 2;
    }
  }
  if (!url) {
    fprintf(stderr, "test_fetch: expected a URL\n");
    return 2;
  }
  char *body, err[1024];
  size_t len;
  if (!fetch_get(&cfg, url, &body, &len, err, sizeof err)) {
    fprintf(stderr, "error: %s\n", err);
    return 1;
  }
  fwrite(body, 1, len, stdout);
  free(body);
  return 0;
}
