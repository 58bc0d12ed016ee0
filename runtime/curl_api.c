/* curl_api.c - loading libcurl with dlopen (see curl_api.h). */
#include "curl_api.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* Find every function in the table; false with a message naming the first
 * one missing. */
static bool find_symbols(CurlApi *api, char *err, size_t errlen) {
  struct {
    const char *name;
    void **slot;
  } syms[] = {
#define SYM(field) {"curl_" #field, (void **)&api->field}
      SYM(global_init),      SYM(global_cleanup),
      SYM(easy_init),        SYM(easy_cleanup),
      SYM(easy_reset),       SYM(easy_setopt),
      SYM(easy_getinfo),     SYM(easy_perform),
      SYM(easy_strerror),    SYM(multi_init),
      SYM(multi_cleanup),    SYM(multi_setopt),
      SYM(multi_add_handle), SYM(multi_remove_handle),
      SYM(multi_perform),    SYM(multi_poll),
      SYM(multi_info_read),  SYM(slist_append),
      SYM(slist_free_all),   SYM(url),
      SYM(url_cleanup),      SYM(url_set),
      SYM(url_get),          SYM(free),
#undef SYM
  };
  for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
    *syms[i].slot = dlsym(api->lib, syms[i].name);
    if (!*syms[i].slot) {
      snprintf(err, errlen, "libcurl.so.4 lacks %s (expected libcurl 7.66 or newer)", syms[i].name);
      return false;
    }
  }
  return true;
}

bool curl_api_open(CurlApi *api, const char *user, char *err, size_t errlen) {
  memset(api, 0, sizeof *api);
  api->lib = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);
  if (!api->lib) {
    snprintf(err, errlen, "%s need libcurl (libcurl.so.4), which could not be loaded: %s", user, dlerror());
    return false;
  }
  if (!find_symbols(api, err, errlen)) {
    dlclose(api->lib);
    api->lib = NULL;
    return false;
  }
  if (api->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(err, errlen, "libcurl failed to initialise");
    dlclose(api->lib);
    api->lib = NULL;
    return false;
  }
  return true;
}

void curl_api_close(CurlApi *api) {
  if (!api->lib) return;
  api->global_cleanup();
  /* libcurl stays mapped (no dlclose): unloading it and the TLS libraries it
   * pulled in gains nothing at exit and leaves their thread-local storage
   * dangling, which crashed LeakSanitizer's exit-time scan. Opening it
   * again only takes another reference. */
  api->lib = NULL;
}
