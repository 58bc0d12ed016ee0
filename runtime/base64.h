/* base64.h - standard base64 (RFC 4648 section 4, with '=' padding), as
 * providers want media inside JSON request bodies: data URLs (OpenAI), image
 * blocks (Anthropic) and `images` arrays (Ollama).
 *
 * The encoder never fails on its own; callers check the raw size against
 * their cap with base64_within_cap first, which also guards the length
 * arithmetic against overflow. */
#ifndef FLOW_BASE64_H
#define FLOW_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* The length of the base64 text of [n] raw bytes, not counting a NUL
 * (4 characters per started group of 3 bytes). [n] must pass
 * base64_within_cap (any cap) for the result to be meaningful. */
size_t base64_encoded_len(size_t n);

/* Does a part of [n] raw bytes fit under [cap] raw bytes? When it does,
 * stores the length of its base64 text in *[encoded_len] (when not NULL). */
bool base64_within_cap(size_t n, size_t cap, size_t *encoded_len);

/* Write the base64 text of [data] ([n] bytes) to [dst], which needs
 * base64_encoded_len(n) + 1 bytes; a NUL is written after the text.
 * Returns the text's length. */
size_t base64_encode_into(char *dst, const void *data, size_t n);

/* The base64 text of [data] ([n] bytes), malloc'd and NUL-terminated (new;
 * the caller frees it); its length in *[out_len] when not NULL. Aborts when
 * memory is exhausted, like every allocation in the runtime. */
char *base64_encode(const void *data, size_t n, size_t *out_len);

#endif
