/* llvm_api.c - loading the LLVM C API on first use (see llvm_api.h). */
#include "llvm_api.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* The libraries tried, newest first: Debian ships libLLVM-N.so.1 with llvm-N. */
static const char *const LIBS[] = {"libLLVM-14.so.1", "libLLVM-14.so", "libLLVM.so", NULL};

/* The initialiser prefix of the host's architecture ("X86", "AArch64"). */
static const char *host_arch(void) {
#if defined(__x86_64__) || defined(__i386__)
  return "X86";
#elif defined(__aarch64__)
  return "AArch64";
#elif defined(__arm__)
  return "ARM";
#elif defined(__riscv)
  return "RISCV";
#else
  return NULL;
#endif
}

static void *sym(LlvmApi *api, const char *name, char *err, size_t errlen) {
  void *p = dlsym(api->lib, name);
  if (!p) snprintf(err, errlen, "the LLVM library lacks %s (expected LLVM 14 or newer)", name);
  return p;
}

bool llvm_api_open(LlvmApi *api, char *err, size_t errlen) {
  memset(api, 0, sizeof *api);
  for (size_t i = 0; LIBS[i] && !api->lib; i++) api->lib = dlopen(LIBS[i], RTLD_NOW | RTLD_LOCAL);
  if (!api->lib) {
    snprintf(err, errlen, "flowc build needs the LLVM library (libLLVM-14.so.1, package llvm-14), which could not "
             "be loaded: %s", dlerror());
    return false;
  }
  bool ok = true;
#define LLVM_API_LOAD(name) ok = ok && (*(void **)&api->name = sym(api, "LLVM" #name, err, errlen)) != NULL;
  LLVM_API_FUNCTIONS(LLVM_API_LOAD)
#undef LLVM_API_LOAD
  const char *arch = host_arch();
  if (ok && !arch) {
    snprintf(err, errlen, "flowc build does not know this machine's architecture; expected x86-64, AArch64, ARM "
             "or RISC-V");
    ok = false;
  }
  static const char *const INITS[] = {"TargetInfo", "Target", "TargetMC", "AsmPrinter"};
  void (**slots[])(void) = {&api->InitTargetInfo, &api->InitTarget, &api->InitTargetMC, &api->InitAsmPrinter};
  for (int i = 0; ok && i < 4; i++) {
    char name[64];
    snprintf(name, sizeof name, "LLVMInitialize%s%s", arch, INITS[i]);
    ok = (*(void **)slots[i] = sym(api, name, err, errlen)) != NULL;
  }
  if (!ok) llvm_api_close(api);
  return ok;
}

/* The library stays mapped until flowc exits: unloading it gains nothing
 * for a one-shot build, and LLVM's thread-local state would dangle (as
 * libcurl's did: runtime/curl_api.c). */
void llvm_api_close(LlvmApi *api) { memset(api, 0, sizeof *api); }
