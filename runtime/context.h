/* context.h - reading the source of a `context` declaration
 * (docs/language.md §3.5): file, image, audio, json, jsonl, csv, glob, env
 * and http, decoded into the declared type.
 *
 * File sources are sandboxed: a path resolves inside the project root, and
 * an absolute path, a `..` component, a symlink leading out of the root, a
 * FIFO, a device, a socket or a folder is refused; every file is read up to
 * a size cap. The HTTP transport is the caller's (ContextEnv.fetch), and so
 * is the environment (ContextEnv.getenv): this module opens no connection
 * and reads no process state of its own.
 *
 * Errors are one line, "context `NAME`: PATH[:LINE[:COLUMN]]: message",
 * naming what was expected and what was found. */
#ifndef FLOW_CONTEXT_H
#define FLOW_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "image.h"
#include "value.h"

/* The per-file cap of text sources (file, json, jsonl, csv, glob members,
 * an http body) when ContextEnv.max_file_bytes is 0. */
#define CONTEXT_FILE_CAP ((size_t)32 << 20)
/* The cap of image and audio files when ContextEnv.max_media_bytes is 0
 * (the same as the provider's cap on a media part, PROVIDER_MEDIA_CAP). */
#define CONTEXT_MEDIA_CAP ((size_t)20 << 20)

/* A file built into an executable: its path relative to the project root
 * (base_dir/arg, or a glob member below base_dir) and its bytes. */
typedef struct ContextFile {
  const char *path;
  const char *data;
  size_t len;
} ContextFile;

/* Where a context is read from. [getenv] and [fetch] are called with their
 * own [*_ctx]. */
typedef struct ContextEnv {
  const Image *img;         /* the program: the declared types */
  const char *root;         /* the project root (the main file's folder or --root); NULL: "." */
  size_t max_file_bytes;    /* 0: CONTEXT_FILE_CAP */
  size_t max_media_bytes;   /* 0: CONTEXT_MEDIA_CAP */
  /* The value of environment variable [name] (borrowed, valid until the
   * call returns) or NULL when it is not set. NULL: no variable is set. */
  const char *(*getenv)(void *ctx, const char *name);
  void *env_ctx;
  /* The body of an HTTPS GET of [url] for http context [c] (whose allow
   * list applies): on success *body is malloc'd (the caller of fetch frees
   * it) and *len its length; on failure a message in err[0..errlen). NULL:
   * http sources are off and refused. */
  bool (*fetch)(void *ctx, const ImgContext *c, const char *url, char **body, size_t *len, char *err,
                size_t errlen);
  void *fetch_ctx;
  /* Files built into the executable (`flowc build`), sorted by path: when
   * set, file sources read these instead of the disk (same decoding, caps
   * and hashes; a glob matches their paths). */
  const ContextFile *files;
  size_t nfiles;
  /* Called with every file a file source read (its root-relative path and
   * bytes): how `flowc build` collects them. NULL: not called. */
  void (*record)(void *ctx, const char *path, const char *data, size_t len);
  void *record_ctx;
} ContextEnv;

/* Read context [c] of env->img and decode it into its declared type. On
 * success stores a new reference in *out, the SHA-256 of what was read in
 * [hash], and returns true. What is hashed:
 *   file, image, audio, json, jsonl, csv: the file's bytes (sha256sum's hash);
 *   http: the body's bytes;
 *   glob: for each member in order, its path as the pattern spells it, a NUL,
 *         its length as 8 bytes big-endian, and its bytes;
 *   env: the compact JSON text of the resulting value (so a default and a
 *        variable set to the same value hash alike).
 * On failure stores none, writes the message to err[0..errlen) and returns
 * false. */
bool context_load(const ContextEnv *env, const ImgContext *c, Value *out, unsigned char hash[32], char *err,
                  size_t errlen);

#endif
