/* build.c - linking a built program (see build.h). */
#include "build.h"

#include <errno.h>
#include <libgen.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "context.h"
#include "llvm_backend.h"
#include "textbuf.h"

extern char **environ;

#ifndef FLOW_LINK_FLAGS
#define FLOW_LINK_FLAGS ""
#endif

/* The runtime library: $FLOW_RUNTIME_LIB, else libflowrt.a beside flowc. */
static bool runtime_lib(char *path, size_t size, char *err, size_t errlen) {
  const char *env = getenv("FLOW_RUNTIME_LIB");
  if (env && *env) {
    snprintf(path, size, "%s", env);
  } else {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
      snprintf(err, errlen, "cannot find flowc's own folder (/proc/self/exe: %s); set FLOW_RUNTIME_LIB to libflowrt.a",
               strerror(errno));
      return false;
    }
    exe[n] = '\0';
    snprintf(path, size, "%s/libflowrt.a", dirname(exe));
  }
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "expected the runtime library at %s, found %s; set FLOW_RUNTIME_LIB to its path", path,
             strerror(errno ? errno : ENOENT));
    return false;
  }
  return true;
}

/* Run the C compiler driver ($CC, else cc) to link `obj` into `out`. */
static bool link_executable(const char *obj, const char *out, char *err, size_t errlen) {
  char rt[4096];
  if (!runtime_lib(rt, sizeof rt, err, errlen)) return false;
  const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
  char extra[256];
  snprintf(extra, sizeof extra, "%s", FLOW_LINK_FLAGS);
  char *argv[16];
  int n = 0;
  argv[n++] = (char *)cc;
  argv[n++] = (char *)"-o";
  argv[n++] = (char *)out;
  argv[n++] = (char *)obj;
  argv[n++] = rt;
  argv[n++] = (char *)"-Wl,-Bstatic";
  argv[n++] = (char *)"-ljansson";
  argv[n++] = (char *)"-lpcre2-8";
  argv[n++] = (char *)"-lsqlite3";
  argv[n++] = (char *)"-Wl,-Bdynamic";
  argv[n++] = (char *)"-lm";
  argv[n++] = (char *)"-ldl";
  argv[n++] = (char *)"-lpthread";
  if (extra[0]) argv[n++] = extra;
  argv[n] = NULL;
  pid_t pid;
  int rc = posix_spawnp(&pid, cc, NULL, NULL, argv, environ);
  if (rc != 0) {
    snprintf(err, errlen, "cannot run the C compiler driver `%s` to link: %s", cc, strerror(rc));
    return false;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    snprintf(err, errlen, "linking with `%s` failed (its messages are above); expected it to link %s with %s", cc,
             obj, rt);
    return false;
  }
  return true;
}

/* ---- context files ------------------------------------------------------------------------------ */

typedef struct Collected {
  ContextFile *items;
  size_t n, cap;
} Collected;

/* ContextEnv.record: keep each file once. */
static void collect_file(void *ctx, const char *path, const char *data, size_t len) {
  Collected *c = ctx;
  for (size_t i = 0; i < c->n; i++)
    if (!strcmp(c->items[i].path, path)) return;
  if (c->n == c->cap) {
    c->cap = c->cap ? c->cap * 2 : 8;
    c->items = xrealloc(c->items, c->cap * sizeof *c->items);
  }
  char *copy = xmalloc(len + 1);
  memcpy(copy, data, len);
  copy[len] = '\0';
  c->items[c->n++] = (ContextFile){xstrdup(path), copy, len};
}

static int compare_files(const void *a, const void *b) {
  return strcmp(((const ContextFile *)a)->path, ((const ContextFile *)b)->path);
}

static void put_le(TextBuf *b, uint64_t v, int n) {
  for (int i = 0; i < n; i++) tb_putc(b, (char)(v >> (8 * i) & 0xff));
}

/* Read every file source of `img` below `root` as a run would (the same
 * sandbox, caps and decoding) and write what they read as the blob of
 * runtime/native_main.h. False, naming the context, when one cannot be read. */
static bool context_files(const Image *img, const char *root, TextBuf *blob, char *err, size_t errlen) {
  Collected col = {0};
  ContextEnv env = {.img = img, .root = root, .record = collect_file, .record_ctx = &col};
  bool ok = true;
  for (uint32_t i = 0; i < img->ncontexts && ok; i++) {
    SourceKind k = img->contexts[i].source;
    if (k == SRC_ENV || k == SRC_HTTP) continue; /* read when the executable runs */
    Value v;
    unsigned char hash[32];
    char why[1024];
    if ((ok = context_load(&env, &img->contexts[i], &v, hash, why, sizeof why)))
      value_release(v);
    else
      snprintf(err, errlen, "the files of context `%s` must be readable to be built in: %s", img->contexts[i].name, why);
  }
  if (col.n) qsort(col.items, col.n, sizeof *col.items, compare_files);
  put_le(blob, col.n, 4);
  for (size_t i = 0; i < col.n; i++) {
    size_t pl = strlen(col.items[i].path) + 1;
    put_le(blob, pl, 4);
    tb_put(blob, col.items[i].path, pl);
    put_le(blob, col.items[i].len, 8);
    tb_put(blob, col.items[i].data, col.items[i].len);
    free((char *)col.items[i].path);
    free((char *)col.items[i].data);
  }
  free(col.items);
  return ok;
}

/* The IR, the object file, or the linked executable. */
static bool build_emit(const Image *img, const unsigned char *bc, size_t len, const unsigned char *files,
                       size_t nfiles, BuildEmit emit, const char *out, char *err, size_t errlen) {
  if (emit == BUILD_LLVM_IR) return llvm_emit(img, bc, len, files, nfiles, out, NULL, err, errlen);
  if (emit == BUILD_OBJECT) return llvm_emit(img, bc, len, files, nfiles, NULL, out, err, errlen);
  const char *tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  char dir[4096], obj[4200];
  snprintf(dir, sizeof dir, "%s/flowc-build-XXXXXX", tmpdir);
  if (!mkdtemp(dir)) {
    snprintf(err, errlen, "cannot make a temporary folder in %s: %s", tmpdir, strerror(errno));
    return false;
  }
  snprintf(obj, sizeof obj, "%s/program.o", dir);
  bool ok = llvm_emit(img, bc, len, files, nfiles, NULL, obj, err, errlen) && link_executable(obj, out, err, errlen);
  unlink(obj);
  rmdir(dir);
  return ok;
}

/* ---- building ------------------------------------------------------------------------------------- */

bool build_program(const Image *img, const unsigned char *bc, size_t len, const char *root, BuildEmit emit,
                   const char *out, char *err, size_t errlen) {
  TextBuf files = {0};
  tb_reserve(&files, 0);
  if (!context_files(img, root, &files, err, errlen)) {
    free(files.data);
    return false;
  }
  const unsigned char *fb = (const unsigned char *)files.data;
  bool ok = build_emit(img, bc, len, fb, files.len, emit, out, err, errlen);
  free(files.data);
  return ok;
}
