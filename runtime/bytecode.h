/* bytecode.h - the versioned binary format of an Image (a `.flowbc` file).
 *
 * bytecode_write serialises an Image to canonical bytes: the same Image
 * always gives the same bytes, and the SHA-256 of those bytes (stored in the
 * last 32 bytes of the file) is the program's version id. bytecode_read
 * parses and verifies a file before handing out an Image: bounds, the
 * content hash, every instruction's operands against opcodes.def, the type
 * graph and the cross references between tables. A file that fails any check
 * is rejected with a message naming what was expected, what was found and
 * where; it is never executed. The layout is documented in docs/bytecode.md. */
#ifndef FLOW_BYTECODE_H
#define FLOW_BYTECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "image.h"

/* The 8 bytes every bytecode file starts with. */
#define BYTECODE_MAGIC "FLOWBC\0\1"
#define BYTECODE_MAGIC_SIZE 8
/* The format version this build writes and reads. */
#define BYTECODE_VERSION 1u
/* The largest register count a function may declare. */
#define BYTECODE_MAX_REGS 65536u
/* Size of the trailing content hash. */
#define BYTECODE_HASH_SIZE 32

/* Serialise [img] to a new malloc'd buffer, returned in [*out] with its
 * length in [*len]; the caller frees it. The last BYTECODE_HASH_SIZE bytes
 * are the SHA-256 of all the bytes before them (copy them to Image.hash, or
 * use bytecode_stamp). [img] is not modified. Returns false (and sets
 * [*out] to NULL) when the image holds something the format cannot express
 * (a constant that is not none, bool, int, float or string) or memory runs
 * out. */
bool bytecode_write(const Image *img, unsigned char **out, size_t *len);

/* Compute the canonical bytes of [img] and store their hash in img->hash,
 * the program's version id. Returns false as bytecode_write does. */
bool bytecode_stamp(Image *img);

/* Parse and verify the [len] bytes at [data]. Returns a new Image (free with
 * image_free) whose hash field holds the file's content hash, or NULL with a
 * NUL-terminated message in [err] (at most [errlen] bytes; [err] may be NULL
 * when [errlen] is 0). Never reads outside [data], whatever the bytes. */
Image *bytecode_read(const unsigned char *data, size_t len, char *err, size_t errlen);

#endif
