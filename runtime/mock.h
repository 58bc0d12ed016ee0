/* mock.h - the built-in `mock` provider: deterministic, type-directed replies.
 *
 * A mock reply depends only on the request and its key (the SHA-256 of the
 * canonical request, request.h): the same request always gets the same reply,
 * different requests almost always get different ones. Replies are valid for
 * the prompt's output type, so a flow runs end to end offline:
 *   - a plain-text prompt (output type `string`) gets 2-4 sentences of
 *     plausible English, 120-600 bytes, mixing a fixed vocabulary with up to
 *     six words of the last user message, followed by any phrase the last
 *     user message puts in double quotes, each on a line of its own (so a
 *     retry told to 'sign as "The Acme Cloud team"' complies);
 *   - a structured prompt gets the JSON text of a value of its output type
 *     (records with every field in declaration order, enums as one of their
 *     variants, lists of 1-3 items, maps of 1-2 keys, optionals none about one
 *     time in four, ints 0-100 (1-5 for fields named like rating or priority),
 *     floats 0.00-1.00 (0.70-1.00 for fields named like confidence or score),
 *     short phrases for strings (a sentence for fields named like summary,
 *     one lowercase word for fields named like tags), one of the
 *     alternatives a field's @describe lists as "a | b | c");
 *   - a judge request (prompt -1) gets {"score": x}, x in 0.70-1.00.
 * A separate, seeded latency lets the scheduler vary completion order with
 * --seed while replies stay the same. Nothing here has global state. */
#ifndef FLOW_MOCK_H
#define FLOW_MOCK_H

#include <stddef.h>
#include <stdint.h>

#include "request.h"

/* The reply text for [r], whose key is [key] (64 hex digits, request_key).
 * Returns a malloc'd NUL-terminated string and stores its length in [len]
 * (which may be NULL). */
char *mock_reply(const Request *r, const char *key, size_t *len);

/* A pseudo-random latency in [0, max_ms) milliseconds, a function of the
 * request [key] and the run's [seed] only. 0 when max_ms <= 0. */
double mock_latency_ms(const char *key, uint64_t seed, double max_ms);

/* Approximate token counts of the exchange: bytes / 4 rounded up, at least 1;
 * [in_tokens] counts the text of every message plus 256 per media part,
 * [out_tokens] the reply. Either pointer may be NULL. */
void mock_usage(const Request *r, const char *reply, int64_t *in_tokens, int64_t *out_tokens);

#endif
