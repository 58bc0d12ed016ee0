/* native_main.h - the entry point of an executable made by `flowc build`:
 * the program's verified bytecode is linked into the executable as data,
 * and its `main` calls flow_native_main, which takes the same run flags as
 * `flowc run`, prints a --help made from `main`'s signature and doc comments,
 * and --version (the program's content hash and the compiler's version). */
#ifndef FLOW_NATIVE_MAIN_H
#define FLOW_NATIVE_MAIN_H

#include <stddef.h>

/* Run the program in image[0..len) with the command line argv[0..argc),
 * its compiled functions in native[0..nnative) (a NativeFn or NULL per
 * function of the image, vm.h); returns the exit status (docs/running.md). */
int flow_native_main(int argc, char **argv, const unsigned char *image, size_t len, const void *const *native,
                     size_t nnative);

#endif
