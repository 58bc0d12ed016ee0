/* cassette.h - recorded model exchanges, for `flowc run --record` / `--replay`.
 *
 * A cassette is a JSON Lines file (docs/cassettes.md): a header line
 *   {"flow_cassette": 1, "program": "<program hash hex or empty>"}
 * then one line per exchange
 *   {"key": hex, "prompt": name|null, "binding": name, "request": {...},
 *    "reply": "text", "usage": {"input_tokens": n, "output_tokens": n}}
 * where key = request_key(request). Recording appends exchanges in the order
 * the scheduler commits them (program order). Replaying serves the exchanges
 * of a key in file order, one per lookup, then repeats the last one, so the
 * successive attempts of an identical request replay as they were recorded.
 *
 * A cassette is opened for one of the two uses. It is not thread-safe: the
 * scheduler calls it from one thread. Nothing from the environment (API keys,
 * variable names) is ever written. */
#ifndef FLOW_CASSETTE_H
#define FLOW_CASSETTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "request.h"

typedef struct Cassette Cassette;

/* Load the cassette at [path] for replay and check every line. On failure
 * returns NULL and writes "PATH:LINE: expected ..., found ..." into [err]
 * ([errlen] bytes). */
Cassette *cassette_open_replay(const char *path, char *err, size_t errlen);

/* The reply for [key] (64 hex digits): the next recorded exchange of that key,
 * or its last one when all were served. [reply] receives a pointer (borrowed,
 * valid until cassette_close; NUL-terminated, and [len] bytes long, which
 * counts embedded NULs) and the token counts go to [in_tok], [out_tok]; any
 * of the out-pointers may be NULL. Returns false when the key was never
 * recorded (or the cassette is not open for replay). */
bool cassette_lookup(Cassette *c, const char *key, const char **reply, size_t *len, int64_t *in_tok,
                     int64_t *out_tok);

/* The program hash of a replay cassette's header ("" when none was
 * recorded). Borrowed. */
const char *cassette_program(const Cassette *c);

/* The number of exchanges a replay cassette holds. */
size_t cassette_count(const Cassette *c);

/* Create (or truncate) [path] and write the header with [program_hash_hex]
 * (NULL counts as ""). Returns NULL with a message in [err] on failure. */
Cassette *cassette_open_record(const char *path, const char *program_hash_hex, char *err, size_t errlen);

/* Append one exchange: the request [r] with its [key], the [reply] text
 * ([len] bytes, valid UTF-8) and the token counts. Returns false with a
 * message in [err] when the cassette is not open for recording, the reply is
 * not valid UTF-8, or writing fails. */
bool cassette_append(Cassette *c, const Request *r, const char *key, const char *reply, size_t len,
                     int64_t in_tok, int64_t out_tok, char *err, size_t errlen);

/* Write out what was appended so far. Returns false with a message in [err]
 * when writing fails (cassette_close cannot report it). */
bool cassette_flush(Cassette *c, char *err, size_t errlen);

/* Flush a recording, close the file and free everything. NULL is allowed. */
void cassette_close(Cassette *c);

#endif
