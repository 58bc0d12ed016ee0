/* lower.h - from a checked program to an Image (runtime/image.h).
 *
 * Lowering turns every flow, prompt template, eval, test and loop body into a
 * register-machine function, and every declaration the runtime needs (types,
 * models, policies, prompts, contexts) into tables of the Image. It runs only
 * on programs that checked without errors, so it reports nothing: what the
 * checker accepted, it can lower. The same Image feeds the VM (directly or
 * through bytecode) and the LLVM backend. */
#ifndef FLOW_LOWER_H
#define FLOW_LOWER_H

#include "image.h"
#include "program.h"

/* A new Image for program `p` (which must have checked cleanly); with
 * `with_tests`, the root file's `test` blocks become Image.tests (for
 * `flowc test`; a program to run leaves them out). */
Image *lower_program(Program *p, bool with_tests);

#endif
