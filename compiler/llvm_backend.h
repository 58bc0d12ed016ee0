/* llvm_backend.h - the native backend of `flowc build`, through the LLVM C
 * API: a module holding the program's verified bytecode as constant data
 * and a C `main` that hands it, with the command line, to the runtime's
 * flow_native_main (runtime/native_main.h); optimised with LLVM's -O2
 * pipeline and emitted as an object file for the host, which the caller
 * links against libflowrt.a. */
#ifndef FLOW_LLVM_BACKEND_H
#define FLOW_LLVM_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "image.h"

/* Emit the module for `img` (whose canonical bytecode is bc[0..len)), with
 * its context files files[0..nfiles) (the blob of runtime/native_main.h):
 * its textual IR to `ll_path` and/or its object code to `obj_path` (either
 * may be NULL). False with what went wrong in err[0..errlen). */
bool llvm_emit(const Image *img, const unsigned char *bc, size_t len, const unsigned char *files, size_t nfiles,
               const char *ll_path, const char *obj_path, char *err, size_t errlen);

#endif
