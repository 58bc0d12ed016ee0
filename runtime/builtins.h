/* builtins.h - the built-in functions of flow (docs/language.md §5), called by
 * the VM's CALLB instruction, and the printing of values as template text.
 *
 * builtins.def is the table: one X(ID, "name", min_args, max_args) per
 * function, in bytecode order. Arguments are borrowed; a result is a new
 * reference. Run-time errors (a bad regular expression, int("abc"),
 * min([])) are returned as text naming what was expected and what was found;
 * nothing here prints.
 *
 * Text functions count Unicode code points, not bytes: len("héllo") is 5,
 * take/slice on a string cut between code points. Case mapping (lower,
 * upper) covers ASCII, Latin-1, Latin Extended-A, basic Greek and Cyrillic;
 * other letters are left as they are, and no mapping changes the number of
 * code points (upper("ß") is "ß").
 *
 * The evaluation built-ins: valid_json checks JSON text, and optionally a
 * JSON Schema, with json_schema.h; token_f1 and rouge_l compare words with
 * textsim.h; approx compares numbers within a tolerance; chunk_tokens cuts
 * text like chunk, measuring with the estimate of tokens(). */
#ifndef FLOW_BUILTINS_H
#define FLOW_BUILTINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "value.h"

typedef enum BuiltinId {
#define X(id, name, min_args, max_args) BI_##id,
#include "builtins.def"
#undef X
  BI_COUNT
} BuiltinId;

/* The source name of builtin `id` ("starts_with"), or "?" when out of range. */
const char *builtin_name(BuiltinId id);
/* The id of the builtin called `name`, or -1 when there is none. */
int builtin_lookup(const char *name);
/* The number of arguments builtin `id` accepts: [*min_args, *max_args]. */
void builtin_arity(BuiltinId id, uint32_t *min_args, uint32_t *max_args);

/* Per-run state of the builtins: small LRU caches of compiled regular
 * expressions and JSON Schemas. One per thread of execution; the caller
 * owns it. */
typedef struct BuiltinCtx BuiltinCtx;

BuiltinCtx *builtin_ctx_new(void);
void builtin_ctx_free(BuiltinCtx *ctx);

/* Call builtin `id` on `nargs` borrowed arguments. On success stores a new
 * reference in *out and returns true; on a run-time error writes a message
 * to err[0..errlen) (e.g. "`int` expects a decimal integer, found \"abc\"")
 * and returns false. `img` gives type information (enum variant and record
 * field names) for json() and str(). */
bool builtin_call(BuiltinCtx *ctx, const Image *img, BuiltinId id, const Value *args, uint32_t nargs,
                  Value *out, char *err, size_t errlen);

/* ---- printing values ------------------------------------------------------------------------- */

/* `v` printed as template text, as a new string value: strings as they are,
 * ints in decimal, floats in their shortest round-trip form (1.0, 0.1, 1e+100,
 * inf, nan), bools as true/false, enum values as their variant name, none as
 * "none"; lists, maps and records (not printable in the language) as JSON. */
Value value_to_text(const Image *img, Value v);

/* Append the text of `v` (as value_to_text) to a growing malloc'd buffer
 * *buf of *len bytes and capacity *cap; keeps it NUL-terminated. */
void value_append_text(const Image *img, Value v, char **buf, size_t *len, size_t *cap);

/* ---- hashing (consistent with value_equal) ------------------------------------------------------ */
/* These belong with value.h; they are declared here until they move. */

/* FNV-1a of the string's bytes, cached in s->hash. */
uint32_t str_hash(Str *s);
/* A hash of `v` such that value_equal(a, b) implies equal hashes (1 and 1.0
 * hash alike). */
uint32_t value_hash(Value v);

#endif
