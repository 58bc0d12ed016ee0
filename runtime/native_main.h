/* native_main.h - the entry point of an executable made by `flowc build`:
 * the program's verified bytecode is linked into the executable as data,
 * and its `main` calls flow_native_main, which takes the same run flags as
 * `flowc run`, prints a --help made from `main`'s signature and doc comments,
 * and --version (the program's content hash and the compiler's version). */
#ifndef FLOW_NATIVE_MAIN_H
#define FLOW_NATIVE_MAIN_H

#include <stddef.h>

/* The context files built into an executable, as one blob: u32 count, then
 * per file (sorted by path) u32 n, the path and a NUL (n bytes), u64 len and
 * the bytes. Little-endian. */

/* Run the program in image[0..len) with the command line argv[0..argc),
 * its compiled functions in native[0..nnative) (a NativeFn or NULL per
 * function of the image, vm.h) and its context files in files[0..nfiles)
 * (the blob above); returns the exit status (docs/running.md). */
int flow_native_main(int argc, char **argv, const unsigned char *image, size_t len, const void *const *native,
                     size_t nnative, const unsigned char *files, size_t nfiles);

#endif
