/* build.h - `flowc build`: a program as a standalone executable. The LLVM
 * backend (llvm_backend.h) makes its object file; the system C compiler
 * driver links it with the runtime, libflowrt.a (found beside flowc, or at
 * $FLOW_RUNTIME_LIB), and the runtime's libraries (jansson and PCRE2
 * statically, so the executable needs nothing but the C library; libcurl is
 * loaded when a network provider is first used, as in flowc run). */
#ifndef FLOW_BUILD_H
#define FLOW_BUILD_H

#include <stdbool.h>
#include <stddef.h>

#include "image.h"

typedef enum BuildEmit { BUILD_EXECUTABLE, BUILD_LLVM_IR, BUILD_OBJECT } BuildEmit;

/* Write what `emit` asks for to `out`: the executable, the textual IR or
 * the object file of `img` (canonical bytecode bc[0..len)). The files its
 * context sources read below `root` (the program's folder) are built in.
 * False with what went wrong in err[0..errlen). */
bool build_program(const Image *img, const unsigned char *bc, size_t len, const char *root, BuildEmit emit,
                   const char *out, char *err, size_t errlen);

#endif
