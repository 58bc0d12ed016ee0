/* sha256.h - SHA-256 (FIPS 180-4), incremental and one-shot.
 *
 * Used for the bytecode content hash (the program's version id, see
 * docs/bytecode.md) and for request keys (runtime/request.h). Pure
 * computation: no allocation, no global state. */
#ifndef FLOW_SHA256_H
#define FLOW_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32
#define SHA256_HEX_SIZE 65 /* 64 hex digits and a NUL */

/* The running state of one hash computation. Initialise with sha256_init,
 * feed with sha256_update, finish with sha256_final. */
typedef struct Sha256 {
  uint32_t h[8];         /* chaining value */
  uint64_t nbytes;       /* message bytes hashed so far */
  unsigned char buf[64]; /* a partial block */
  size_t nbuf;           /* bytes held in buf */
} Sha256;

/* Start a new hash in [s]. */
void sha256_init(Sha256 *s);
/* Append [len] bytes at [data] to the message hashed by [s]. */
void sha256_update(Sha256 *s, const void *data, size_t len);
/* Finish the hash of [s] and write the 32-byte digest to [out]. [s] must be
 * initialised again before reuse. */
void sha256_final(Sha256 *s, unsigned char out[SHA256_DIGEST_SIZE]);
/* The digest of the [len] bytes at [data], in one call. */
void sha256_hash(const void *data, size_t len, unsigned char out[SHA256_DIGEST_SIZE]);
/* Write [digest] as 64 lowercase hex digits and a NUL to [hex]. */
void sha256_hex(const unsigned char digest[SHA256_DIGEST_SIZE], char hex[SHA256_HEX_SIZE]);

#endif
