/* disasm.h - a readable listing of a compiled program (`flowc disasm`).
 *
 * The listing shows the header (format version, content hash, table sizes),
 * the tables (files, types, constants, models, policies, prompts, contexts,
 * evals, flows, tests) and every function with one instruction per line:
 * pc, opcode, operands formatted by kind, and the source position. The
 * output depends only on the Image, never on addresses or the environment,
 * so it can be compared byte for byte in tests. */
#ifndef FLOW_DISASM_H
#define FLOW_DISASM_H

#include <stdint.h>
#include <stdio.h>

#include "image.h"

/* Write the whole listing of [img] to [out]. */
void disasm_image(FILE *out, const Image *img);

/* Write the listing of function [fn] of [img] alone (its header line and
 * its instructions) to [out]. */
void disasm_func(FILE *out, const Image *img, uint32_t fn);

#endif
