/* request.h - one model call, as the scheduler issues it to a provider.
 *
 * A Request is everything that determines a model's reply: the binding
 * (provider, model name, parameters), the rendered messages, and the output
 * type with its JSON Schema. Its canonical JSON (stable key order, no
 * secrets, media as content hashes) is what caches and cassettes key on:
 * request_key = SHA-256 of those bytes, as 64 hex digits. */
#ifndef FLOW_REQUEST_H
#define FLOW_REQUEST_H

#include <stdint.h>

#include "image.h"
#include "value.h"

typedef struct Request {
  const Image *img;
  int32_t prompt;           /* prompt index, or -1 for a judge call */
  uint32_t model;           /* the binding actually used (after overrides and fallbacks) */
  ImgParams params;         /* effective parameters: the binding's, overridden by the prompt's */
  Value messages;           /* borrowed: list of IMG_TYPE_MESSAGE records */
  uint32_t out_type;        /* type id of the expected reply */
  const char *schema;       /* JSON Schema text, or NULL for plain text */
  uint32_t ncontexts;       /* the contexts the prompt's template reads (indices into img->contexts) */
  const uint32_t *contexts;
  const unsigned char (*context_hash)[32]; /* per context of the image: the SHA-256 of what it read */
} Request;

/* The canonical JSON text of `r` (malloc'd, NUL-terminated). */
char *request_canonical(const Request *r);
/* What the key is made of, to say why two keys differ: the canonical JSON
 * with each message and the schema replaced by their SHA-256 (malloc'd). */
char *request_parts(const Request *r);
/* SHA-256 of the canonical JSON, as 64 lowercase hex digits and a NUL. */
void request_key(const Request *r, char key[65]);

#endif
