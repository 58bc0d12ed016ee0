/* check.h - name resolution and type checking of a loaded program.
 *
 * check_program walks every declaration of the program, resolves names,
 * assigns a type to every expression (Expr.type) and reports what
 * docs/language.md forbids: type mismatches, unknown names and fields,
 * ill-formed model bindings and policies, context sources that cannot
 * produce their declared type, flows that can reach their end without a
 * yield, cycles, non-exhaustive matches, unused declarations, and more. */
#ifndef FLOW_CHECK_H
#define FLOW_CHECK_H

#include "program.h"

void check_program(Program *p);

#endif
