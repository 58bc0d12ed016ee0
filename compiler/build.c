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
#include "llvm_backend.h"

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
  argv[n++] = (char *)"-Wl,-Bdynamic";
  argv[n++] = (char *)"-lm";
  argv[n++] = (char *)"-ldl";
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

bool build_program(const Image *img, const unsigned char *bc, size_t len, BuildEmit emit, const char *out, char *err,
                   size_t errlen) {
  if (emit == BUILD_LLVM_IR) return llvm_emit(img, bc, len, out, NULL, err, errlen);
  if (emit == BUILD_OBJECT) return llvm_emit(img, bc, len, NULL, out, err, errlen);
  const char *tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  char dir[4096], obj[4200];
  snprintf(dir, sizeof dir, "%s/flowc-build-XXXXXX", tmpdir);
  if (!mkdtemp(dir)) {
    snprintf(err, errlen, "cannot make a temporary folder in %s: %s", tmpdir, strerror(errno));
    return false;
  }
  snprintf(obj, sizeof obj, "%s/program.o", dir);
  bool ok = llvm_emit(img, bc, len, NULL, obj, err, errlen) && link_executable(obj, out, err, errlen);
  unlink(obj);
  rmdir(dir);
  return ok;
}
