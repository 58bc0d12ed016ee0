/* context.c - reading and decoding the sources of `context` declarations
 * (see context.h, docs/language.md §3.5): the sandbox that keeps file
 * sources inside the project root, typed conversion of text (csv cells, env
 * values), and one reader per source kind. */
#include "context.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "csv.h"
#include "json_read.h"
#include "json_value.h"
#include "sha256.h"
#include "textbuf.h"

/* JSON nested deeper than this is refused while reading (the typed decoding
 * refuses more than JSON_VALUE_MAX_DEPTH levels, naming the path). */
#define CONTEXT_JSON_DEPTH 2048
/* At most this many bytes of a value (a cell, a variable) are quoted in a
 * message: an environment variable may hold a secret. */
#define SHOWN_MAX 40
/* Strings and media hold at most 2^32 - 1 bytes; caps above are lowered. */
#define LENGTH_MAX ((size_t)0xFFFFFFF0u)

/* One context_load call. */
typedef struct Loader {
  const ContextEnv *env;
  const ImgContext *c;
  const Image *img;
  char *err;
  size_t errlen;
  char *root;               /* the real path of the project root, once resolved (malloc'd) */
  size_t rootlen;
} Loader;

/* The bytes of a file or a body (malloc'd, NUL-terminated). */
typedef struct Blob {
  char *data;
  size_t len;
} Blob;

/* ---- messages -------------------------------------------------------------------------------- */

/* Write "context `NAME`: WHERE: message"; returns false. */
static bool fail(Loader *L, const char *where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(Loader *L, const char *where, const char *fmt, ...) {
  if (!L->errlen) return false;
  int k = snprintf(L->err, L->errlen, "context `%s`: %s: ", L->c->name, where);
  if (k < 0 || (size_t)k >= L->errlen) return false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(L->err + k, L->errlen - (size_t)k, fmt, ap);
  va_end(ap);
  return false;
}

/* Append `"TEXT"` for "found ..." in a message: at most SHOWN_MAX bytes of
 * s[0..n) (cut at a character boundary), as a JSON string, followed by
 * "... (N bytes)" when cut; [empty] names an empty text. */
static void put_found(TextBuf *b, const char *s, size_t n, const char *empty) {
  if (n == 0) {
    tb_puts(b, empty);
    return;
  }
  size_t shown = 0;
  while (shown < n) {
    size_t k = utf8_seq_len((const unsigned char *)s + shown, n - shown);
    if (k == 0) k = 1;
    if (shown + k > SHOWN_MAX) break;
    shown += k;
  }
  tb_json_string(b, s, shown);
  if (shown < n) {
    char tail[48];
    snprintf(tail, sizeof tail, "... (%zu bytes)", n);
    tb_puts(b, tail);
  }
}

/* The 1-based line and column (in bytes) of byte [pos] of s. */
static void line_col(const char *s, size_t pos, size_t *line, size_t *col) {
  size_t ln = 1, start = 0;
  for (size_t i = 0; i < pos; i++)
    if (s[i] == '\n') ln++, start = i + 1;
  *line = ln;
  *col = pos - start + 1;
}

/* The offset of the first byte of s[0..n) that is not valid UTF-8, or n. */
static size_t utf8_invalid_at(const char *s, size_t n) {
  size_t i = 0;
  for (size_t k; i < n && (k = utf8_seq_len((const unsigned char *)s + i, n - i)) > 0;) i += k;
  return i;
}

/* Is s[0..n) UTF-8? Otherwise fail naming [shown], the line and the byte. */
static bool check_utf8(Loader *L, const char *shown, const char *s, size_t n) {
  size_t i = utf8_invalid_at(s, n);
  if (i == n) return true;
  size_t line, col;
  line_col(s, i, &line, &col);
  char where[600];
  snprintf(where, sizeof where, "%s:%zu", shown, line);
  return fail(L, where, "expected UTF-8 text, found byte 0x%02x at byte %zu of the line (offset %zu of the file)",
              (unsigned char)s[i], col, i);
}

/* ---- the sandbox ----------------------------------------------------------------------------- */

/* Does [path] have a `..` component? */
static bool has_dotdot(const char *path) {
  for (const char *p = path; *p; p++)
    if (p[0] == '.' && p[1] == '.' && (p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0')) return true;
  return false;
}

/* Is [path] (as written in the program) relative and without `..`? */
static bool check_relative(Loader *L, const char *path) {
  if (!*path) return fail(L, "\"\"", "expected a path relative to the declaring file's folder, found an empty path");
  if (path[0] == '/')
    return fail(L, path, "expected a path relative to the declaring file's folder, found an absolute path");
  if (has_dotdot(path))
    return fail(L, path, "expected a path that stays inside the project root, found one that climbs out with `..`");
  return true;
}

/* Is the declaring file's folder (relative to the root) inside the root? */
static bool check_base(Loader *L) {
  const char *base = L->c->base_dir ? L->c->base_dir : ".";
  if (base[0] == '/' || has_dotdot(base))
    return fail(L, L->c->arg, "expected the declaring file inside the project root, found it in `%s`, outside", base);
  return true;
}

/* "a/b", or "b" when [a] is "." or empty (malloc'd). */
static char *join(const char *a, const char *b) {
  if (!a || !*a || !strcmp(a, ".")) return xstrdup(b);
  size_t na = strlen(a), nb = strlen(b);
  bool slash = a[na - 1] == '/';
  char *p = xmalloc(na + nb + 2);
  memcpy(p, a, na);
  if (!slash) p[na++] = '/';
  memcpy(p + na, b, nb + 1);
  return p;
}

/* Resolve the project root to its real path (once per load). */
static bool resolve_root(Loader *L) {
  if (L->root) return true;
  const char *root = L->env->root ? L->env->root : ".";
  L->root = realpath(root, NULL);
  if (!L->root)
    return fail(L, L->c->arg, "expected the project root `%s` to be a folder, found it cannot be resolved: %s", root,
                strerror(errno));
  L->rootlen = strlen(L->root);
  return true;
}

/* Is the real path [real] the root or below it? */
static bool inside_root(const Loader *L, const char *real) {
  if (L->rootlen == 1) return real[0] == '/'; /* the root is "/" */
  return strncmp(real, L->root, L->rootlen) == 0 && (real[L->rootlen] == '/' || real[L->rootlen] == '\0');
}

/* The first symlink along root/[rel] that leads out of the root: its path
 * (relative to the root) in link, its target as written in target. */
static bool find_escape(const Loader *L, const char *rel, char *link, size_t linklen, char *target, size_t targetlen) {
  char *full = join(L->root, rel);
  size_t skip = L->rootlen == 1 ? 1 : L->rootlen + 1; /* "/" + rel, or root + "/" + rel */
  bool found = false;
  for (char *p = full + skip; !found; p++) {
    if (*p != '/' && *p != '\0') continue;
    char saved = *p;
    *p = '\0';
    struct stat st;
    if (lstat(full, &st) == 0 && S_ISLNK(st.st_mode)) {
      char *real = realpath(full, NULL);
      if (!real || !inside_root(L, real)) {
        ssize_t n = readlink(full, target, targetlen - 1);
        target[n < 0 ? 0 : n] = '\0';
        snprintf(link, linklen, "%s", full + skip);
        found = true;
      }
      free(real);
    }
    *p = saved;
    if (saved == '\0') break;
  }
  free(full);
  return found;
}

/* What a file that is not a regular file is. */
static const char *file_kind(mode_t m) {
  if (S_ISDIR(m)) return "a folder";
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "something that is not a regular file";
}

/* root/[rel] does not resolve (errno [e]): say why. */
static bool fail_unresolved(Loader *L, const char *rel, const char *shown, int e) {
  char *full = join(L->root, rel);
  struct stat st;
  char target[512] = "";
  if (e == ENOENT && lstat(full, &st) == 0 && S_ISLNK(st.st_mode)) {
    ssize_t n = readlink(full, target, sizeof target - 1);
    target[n < 0 ? 0 : n] = '\0';
    fail(L, shown, "expected a file, found a symlink to `%s`, which does not exist", target);
  } else if (e == ENOENT) {
    fail(L, shown, "expected a file at %s, found nothing there", full);
  } else {
    fail(L, shown, "expected a readable file at %s, found it cannot be resolved: %s", full, strerror(e));
  }
  free(full);
  return false;
}

/* Resolve [rel] (relative to the root) to its real path inside the root and
 * stat it (following symlinks that stay inside). [shown] names it. */
static bool resolve_in_root(Loader *L, const char *rel, const char *shown, char **real, struct stat *st) {
  char *full = join(L->root, rel);
  *real = realpath(full, NULL);
  int e = errno;
  free(full);
  if (!*real) return fail_unresolved(L, rel, shown, e);
  if (!inside_root(L, *real)) {
    char link[512], target[512];
    if (find_escape(L, rel, link, sizeof link, target, sizeof target))
      fail(L, shown, "expected symlinks that stay inside the project root, found `%s`, a symlink to `%s`, which "
           "leads out of it", link, target);
    else
      fail(L, shown, "expected a file inside the project root %s, found it resolves to %s", L->root, *real);
    free(*real);
    *real = NULL;
    return false;
  }
  if (stat(*real, st) != 0) {
    fail(L, shown, "expected a readable file, found it cannot be examined: %s", strerror(errno));
    free(*real);
    *real = NULL;
    return false;
  }
  return true;
}

/* Read all of descriptor [fd], at most [cap] bytes; *over when it holds more. */
static bool read_fd(int fd, size_t expect, size_t cap, Blob *out, bool *over) {
  size_t alloc = (expect < cap ? expect : cap) + 2, n = 0; /* one byte to notice growth, one for the NUL */
  char *buf = xmalloc(alloc);
  *over = false;
  for (;;) {
    if (n > cap) {
      *over = true;
      break;
    }
    if (n + 1 == alloc) {
      alloc = alloc > cap / 2 ? cap + 2 : alloc * 2;
      buf = xrealloc(buf, alloc);
    }
    ssize_t got = read(fd, buf + n, alloc - 1 - n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      free(buf);
      return false;
    }
    if (got == 0) break;
    n += (size_t)got;
  }
  buf[n] = '\0';
  out->data = buf;
  out->len = n;
  return true;
}

/* Read the file at [real] (stat'ed as [st]): a regular file of at most
 * [cap] bytes. Opened without blocking (a FIFO swapped in cannot hang the
 * run) and checked again once open. [what] names the cap. */
static bool read_regular(Loader *L, const char *real, const struct stat *st, const char *shown, size_t cap,
                         const char *what, Blob *out) {
  if (!S_ISREG(st->st_mode)) return fail(L, shown, "expected a regular file, found %s", file_kind(st->st_mode));
  if ((uintmax_t)st->st_size > cap)
    return fail(L, shown, "expected at most %zu bytes (%s), found %jd bytes", cap, what, (intmax_t)st->st_size);
  int fd = open(real, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return fail(L, shown, "expected a readable file, found it cannot be opened: %s", strerror(errno));
  struct stat now;
  if (fstat(fd, &now) != 0 || !S_ISREG(now.st_mode) || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
    close(fd);
    return fail(L, shown, "expected a regular file, found it was replaced while being opened");
  }
  bool over;
  bool ok = read_fd(fd, (size_t)now.st_size, cap, out, &over);
  int e = errno;
  close(fd);
  if (!ok) return fail(L, shown, "expected a readable file, found a read error: %s", strerror(e));
  if (over) {
    free(out->data);
    out->data = NULL;
    return fail(L, shown, "expected at most %zu bytes (%s), found more (the file grew while being read)", cap, what);
  }
  return true;
}

/* The cap for text sources and for media. */
static size_t file_cap(const Loader *L) {
  size_t cap = L->env->max_file_bytes ? L->env->max_file_bytes : CONTEXT_FILE_CAP;
  return cap > LENGTH_MAX ? LENGTH_MAX : cap;
}

static size_t media_cap(const Loader *L) {
  size_t cap = L->env->max_media_bytes ? L->env->max_media_bytes : CONTEXT_MEDIA_CAP;
  return cap > LENGTH_MAX ? LENGTH_MAX : cap;
}

/* [rel] without "./" steps and doubled slashes: how built-in files are named. */
static char *normal_path(const char *rel) {
  TextBuf b = {0};
  tb_reserve(&b, 0);
  for (const char *p = rel; *p;) {
    const char *end = p + strcspn(p, "/");
    size_t n = (size_t)(end - p);
    if (n && !(n == 1 && *p == '.')) {
      if (b.len) tb_putc(&b, '/');
      tb_put(&b, p, n);
    }
    p = *end ? end + 1 : end;
  }
  return tb_take(&b);
}

static int compare_file(const void *key, const void *item) {
  return strcmp(key, ((const ContextFile *)item)->path);
}

/* The built-in file at [rel] (env->files), copied into *out up to [cap]. */
static bool read_built_in(Loader *L, const char *rel, const char *shown, size_t cap, const char *what, Blob *out) {
  char *path = normal_path(rel);
  const ContextFile *f = bsearch(path, L->env->files, L->env->nfiles, sizeof *L->env->files, compare_file);
  free(path);
  if (!f) return fail(L, shown, "expected a file built into this executable, found none by that path");
  if (f->len > cap) return fail(L, shown, "expected at most %zu bytes (%s), found %zu bytes", cap, what, f->len);
  out->data = xmalloc(f->len + 1);
  memcpy(out->data, f->data, f->len);
  out->data[f->len] = '\0';
  out->len = f->len;
  return true;
}

/* Tell env->record about a file just read. */
static void record_file(Loader *L, const char *rel, const Blob *b) {
  if (!L->env->record) return;
  char *path = normal_path(rel);
  L->env->record(L->env->record_ctx, path, b->data, b->len);
  free(path);
}

/* Read the context's one file, sandboxed, up to [cap] bytes. */
static bool read_source(Loader *L, size_t cap, const char *what, Blob *out) {
  const ImgContext *c = L->c;
  if (!check_base(L) || !check_relative(L, c->arg)) return false;
  char *rel = join(c->base_dir, c->arg), *real = NULL;
  bool ok;
  if (L->env->files) {
    ok = read_built_in(L, rel, c->arg, cap, what, out);
  } else {
    struct stat st;
    ok = resolve_root(L) && resolve_in_root(L, rel, c->arg, &real, &st) &&
         read_regular(L, real, &st, c->arg, cap, what, out);
    if (ok) record_file(L, rel, out);
  }
  free(rel);
  free(real);
  return ok;
}

/* ---- text to typed values (csv cells, environment variables) --------------------------------- */

/* [+-] digits, within 64 bits. Returns 0, or 1 for not a number, 2 out of range. */
static int parse_int(const char *s, size_t n, int64_t *out) {
  size_t i = 0;
  bool neg = n > 0 && s[0] == '-';
  if (n > 0 && (s[0] == '-' || s[0] == '+')) i++;
  if (i == n) return 1;
  uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
  bool range = true;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 1;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (limit - d) / 10) range = false;
    else v = v * 10 + d;
  }
  if (!range) return 2;
  *out = !neg ? (int64_t)v : v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  return 0;
}

/* Decimal notation: [+-] (digits [. digits] | . digits) [(e|E) [+-] digits]. */
static bool is_decimal(const char *s, size_t n) {
  size_t i = 0, digits = 0;
  if (i < n && (s[i] == '-' || s[i] == '+')) i++;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) digits++;
  if (i < n && s[i] == '.')
    for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) digits++;
  if (!digits) return false;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '-' || s[i] == '+')) i++;
    size_t exp = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) exp++;
    if (!exp) return false;
  }
  return i == n;
}

/* Does s[0..n) equal the lowercase [word], ignoring ASCII case? */
static bool equals_nocase(const char *s, size_t n, const char *word) {
  if (strlen(word) != n) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
    if (c != word[i]) return false;
  }
  return true;
}

/* What a scalar type expects, for "expected ..." in messages. */
static void put_expected(TextBuf *b, const Image *img, const ImgType *t) {
  switch (t->kind) {
  case IT_INT: tb_puts(b, "an int"); break;
  case IT_FLOAT: tb_puts(b, "a float"); break;
  case IT_BOOL: tb_puts(b, "a bool (true or false)"); break;
  case IT_STRING: tb_puts(b, "a string"); break;
  case IT_ENUM:
    tb_puts(b, "one of ");
    for (uint32_t v = 0; v < t->nvariants; v++) {
      if (v) tb_puts(b, ", ");
      tb_json_string(b, t->variants[v], strlen(t->variants[v]));
    }
    break;
  case IT_OPT:
    put_expected(b, img, &img->types[t->elem]);
    break;
  default: tb_puts(b, "a type that text cannot be read as"); break;
  }
}

/* Write "expected T, found "TEXT"" to why[0..whylen); returns false. */
static bool text_mismatch(const Image *img, const ImgType *t, const char *s, size_t n, const char *empty,
                          const char *note, char *why, size_t whylen) {
  TextBuf b = {0};
  tb_puts(&b, "expected ");
  put_expected(&b, img, t);
  if (t->kind == IT_OPT) {
    tb_puts(&b, " or ");
    tb_puts(&b, empty);
  }
  tb_puts(&b, ", found ");
  put_found(&b, s, n, empty);
  tb_puts(&b, note);
  snprintf(why, whylen, "%s", b.data);
  free(b.data);
  return false;
}

/* Convert the NUL-terminated text s[0..n) to a value of scalar type [type]:
 * a string as is; an int or a float in decimal; a bool as true or false in
 * any case; an enum by its variant name; an optional is none when the text
 * is empty. [empty] names empty text in messages ("an empty cell"). */
static bool scalar_from_text(const Image *img, uint32_t type, const char *s, size_t n, const char *empty, Value *out,
                             char *why, size_t whylen) {
  const ImgType *t = &img->types[type];
  *out = value_none();
  if (t->kind == IT_OPT && n == 0) return true;
  const ImgType *base = t->kind == IT_OPT ? &img->types[t->elem] : t;
  int64_t i;
  switch (base->kind) {
  case IT_STRING: *out = value_str(s, n); return true;
  case IT_INT: {
    int rc = parse_int(s, n, &i);
    if (rc == 0) *out = value_int(i);
    return rc == 0 || text_mismatch(img, t, s, n, empty, rc == 2 ? " (out of the 64-bit range)" : "", why, whylen);
  }
  case IT_FLOAT: {
    bool decimal = is_decimal(s, n);
    double d = decimal ? strtod(s, NULL) : 0;
    if (decimal && isfinite(d)) *out = value_float(d);
    return (decimal && isfinite(d)) || text_mismatch(img, t, s, n, empty, decimal ? " (out of range)" : "", why, whylen);
  }
  case IT_BOOL:
    if (equals_nocase(s, n, "true") || equals_nocase(s, n, "false")) {
      *out = value_bool(n == 4);
      return true;
    }
    return text_mismatch(img, t, s, n, empty, "", why, whylen);
  case IT_ENUM:
    for (uint32_t v = 0; v < base->nvariants; v++)
      if (strlen(base->variants[v]) == n && memcmp(base->variants[v], s, n) == 0) {
        *out = value_enum(t->kind == IT_OPT ? t->elem : type, v);
        return true;
      }
    return text_mismatch(img, t, s, n, empty, "", why, whylen);
  default: return text_mismatch(img, t, s, n, empty, "", why, whylen);
  }
}

/* The element type of the declared list type, or fail. */
static bool list_elem(Loader *L, uint32_t *elem) {
  const ImgType *t = &L->img->types[L->c->type];
  if (t->kind != IT_LIST) return fail(L, L->c->arg, "expected a list as the declared type of a %s source",
                                      L->c->source == SRC_CSV ? "csv" : L->c->source == SRC_GLOB ? "glob" : "jsonl");
  *elem = t->elem;
  return true;
}

/* ---- file, image, audio, json, jsonl ---------------------------------------------------------- */

static bool load_file(Loader *L, Value *out, unsigned char hash[32]) {
  Blob b;
  if (!read_source(L, file_cap(L), "the size cap of a text source", &b)) return false;
  bool ok = check_utf8(L, L->c->arg, b.data, b.len);
  if (ok) {
    sha256_hash(b.data, b.len, hash);
    *out = value_str(b.data, b.len);
  }
  free(b.data);
  return ok;
}

/* The media types by file extension (compared ignoring ASCII case). */
static const struct MediaType {
  const char *ext, *mime;
} MEDIA_TYPES[] = {
    {".png", "image/png"}, {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".gif", "image/gif"},
    {".webp", "image/webp"}, {".wav", "audio/wav"}, {".mp3", "audio/mpeg"},
};

/* The extension of [path]'s last component (".png"), or NULL. */
static const char *extension(const char *path) {
  const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
  return dot && (!slash || dot > slash) ? dot : NULL;
}

/* The MIME type of [path] by its extension, or NULL. */
static const char *mime_of(const char *path) {
  const char *dot = extension(path);
  if (!dot) return NULL;
  for (size_t i = 0; i < sizeof MEDIA_TYPES / sizeof MEDIA_TYPES[0]; i++)
    if (equals_nocase(dot, strlen(dot), MEDIA_TYPES[i].ext)) return MEDIA_TYPES[i].mime;
  return NULL;
}

static bool load_media(Loader *L, Value *out, unsigned char hash[32]) {
  const ImgContext *c = L->c;
  bool image = c->source == SRC_IMAGE;
  const char *mime = mime_of(c->arg), *ext = extension(c->arg);
  if (!mime || strncmp(mime, image ? "image/" : "audio/", 6) != 0)
    return fail(L, c->arg, "expected %s, found %s%s%s", image ? "an image file (.png, .jpg, .jpeg, .gif or .webp)"
                                                              : "an audio file (.wav or .mp3)",
                ext ? "the extension `" : "no extension", ext ? ext : "", ext ? "`" : "");
  Blob b;
  if (!read_source(L, media_cap(L), image ? "the size cap of an image" : "the size cap of an audio file", &b))
    return false;
  const char *slash = strrchr(c->arg, '/');
  sha256_hash(b.data, b.len, hash);
  *out = value_media(mime, slash ? slash + 1 : c->arg, b.data, b.len);
  free(b.data);
  return true;
}

/* Parse s[0..n) as JSON and decode it as [type]. [shown] and [line0] place
 * the text in its file for messages: line0 is the line it starts on in a
 * jsonl file (named in type errors too), or 0 for a whole json file. */
static bool decode_json(Loader *L, const char *shown, uint32_t line0, const char *s, size_t n, uint32_t type,
                        Value *out) {
  JsonReadError je;
  json_t *j = json_read(s, n, CONTEXT_JSON_DEPTH, &je);
  char where[600];
  if (!j) {
    size_t line, col;
    line_col(s, je.position, &line, &col);
    snprintf(where, sizeof where, "%s:%zu:%zu", shown, line0 ? line + line0 - 1 : line, col);
    return fail(L, where, "%s", je.text);
  }
  char why[512];
  bool ok = json_to_value(L->img, type, j, JV_STRICT, out, why, sizeof why);
  json_decref(j);
  if (line0) snprintf(where, sizeof where, "%s:%u", shown, line0);
  else snprintf(where, sizeof where, "%s", shown);
  return ok || fail(L, where, "%s", why);
}

static bool load_json(Loader *L, Value *out, unsigned char hash[32]) {
  Blob b;
  if (!read_source(L, file_cap(L), "the size cap of a text source", &b)) return false;
  bool ok = decode_json(L, L->c->arg, 0, b.data, b.len, L->c->type, out);
  if (ok) sha256_hash(b.data, b.len, hash);
  free(b.data);
  return ok;
}

/* Is s[0..n) only spaces, tabs and CRs? */
static bool is_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return false;
  return true;
}

static bool load_jsonl(Loader *L, Value *out, unsigned char hash[32]) {
  Blob b;
  uint32_t elem = 0;
  if (!list_elem(L, &elem) || !read_source(L, file_cap(L), "the size cap of a text source", &b)) return false;
  Value list = value_list(16);
  bool ok = true;
  const char *line = b.data, *end = b.data + b.len;
  for (uint32_t no = 1; ok && line < end; no++) {
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
    Value v;
    if (!is_blank(line, n) && (ok = decode_json(L, L->c->arg, no, line, n, elem, &v))) list_push_steal(list, v);
    line += n + 1;
  }
  if (ok) {
    sha256_hash(b.data, b.len, hash);
    *out = list;
  } else {
    value_release(list);
  }
  free(b.data);
  return ok;
}

/* ---- csv ------------------------------------------------------------------------------------- */

/* A csv file being decoded into records of type [rtype]. */
typedef struct CsvDecode {
  Loader *L;
  const char *shown;
  uint32_t rtype;
  const ImgType *rt;
  CsvRow header;
  int32_t *column;          /* per field: its column, or -1 (an optional field without one) */
} CsvDecode;

/* A header cell's name without surrounding spaces and tabs. */
static const char *header_name(const CsvRow *h, uint32_t k, size_t *len) {
  const char *s = csv_cell(h, k, len);
  while (*len && (s[0] == ' ' || s[0] == '\t')) s++, (*len)--;
  while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t')) (*len)--;
  return s;
}

/* The header's column names, comma separated, for messages. */
static void put_columns(TextBuf *b, const CsvRow *h) {
  for (uint32_t k = 0; k < h->ncells; k++) {
    size_t n;
    const char *s = header_name(h, k, &n);
    if (k) tb_puts(b, ", ");
    tb_put(b, s, n);
  }
}

/* Is every header cell a name, and no name repeated? */
static bool csv_check_header(CsvDecode *d, const char *where) {
  const CsvRow *h = &d->header;
  for (uint32_t k = 0; k < h->ncells; k++) {
    size_t n, m;
    const char *s = header_name(h, k, &n);
    if (n == 0) return fail(d->L, where, "expected a name for column %u in the header row, found an empty cell", k + 1);
    for (uint32_t j = 0; j < k; j++) {
      const char *t = header_name(h, j, &m);
      if (m == n && memcmp(s, t, n) == 0)
        return fail(d->L, where, "expected each column named once, found column %u `%.*s` again as column %u", j + 1,
                    (int)n, s, k + 1);
    }
  }
  return true;
}

/* Map each field onto the column of its name; a required field needs one,
 * an optional field without one is none in every record. */
static bool csv_map_columns(CsvDecode *d) {
  const CsvRow *h = &d->header;
  char where[600];
  snprintf(where, sizeof where, "%s:%u", d->shown, h->line);
  if (!csv_check_header(d, where)) return false;
  for (uint32_t f = 0; f < d->rt->nfields; f++) {
    d->column[f] = -1;
    const char *name = d->rt->field_names[f];
    for (uint32_t k = 0; k < h->ncells && d->column[f] < 0; k++) {
      size_t n;
      const char *s = header_name(h, k, &n);
      if (strlen(name) == n && memcmp(name, s, n) == 0) d->column[f] = (int32_t)k;
    }
    if (d->column[f] < 0 && d->L->img->types[d->rt->field_types[f]].kind != IT_OPT) {
      TextBuf b = {0};
      put_columns(&b, h);
      fail(d->L, where, "expected a column `%s` for field `%s` of `%s`, found the columns %s", name, name,
           d->rt->name ? d->rt->name : "record", b.data);
      free(b.data);
      return false;
    }
  }
  return true;
}

/* One row as a record. */
static bool csv_record(CsvDecode *d, const CsvRow *row, Value *out) {
  char where[600];
  snprintf(where, sizeof where, "%s:%u", d->shown, row->line);
  if (row->ncells != d->header.ncells)
    return fail(d->L, where, "expected %u cells (as many as the header row has), found %u", d->header.ncells,
                row->ncells);
  Value r = value_record(d->rtype, d->rt->nfields);
  for (uint32_t f = 0; f < d->rt->nfields; f++) {
    if (d->column[f] < 0) continue;
    size_t n;
    const char *s = csv_cell(row, (uint32_t)d->column[f], &n);
    Value v;
    char why[400];
    if (!scalar_from_text(d->L->img, d->rt->field_types[f], s, n, "an empty cell", &v, why, sizeof why)) {
      value_release(r);
      return fail(d->L, where, "column `%s`: %s", d->rt->field_names[f], why);
    }
    record_set_steal(r, f, v);
  }
  *out = r;
  return true;
}

/* Read every row of [text] after the header into [list]. */
static bool csv_rows(CsvDecode *d, CsvReader *rd, Value list) {
  CsvRow row = {0};
  uint32_t line;
  char why[400];
  int rc;
  bool ok = true;
  while (ok && (rc = csv_next(rd, &row, &line, why, sizeof why)) != 0) {
    Value v;
    if (rc < 0) {
      char where[600];
      snprintf(where, sizeof where, "%s:%u", d->shown, line);
      ok = fail(d->L, where, "%s", why);
    } else if ((ok = csv_record(d, &row, &v))) {
      list_push_steal(list, v);
    }
  }
  csv_row_free(&row);
  return ok;
}

/* Is every field of the record a scalar (or an optional of one), which a
 * cell can hold? */
static bool csv_check_fields(CsvDecode *d) {
  for (uint32_t f = 0; f < d->rt->nfields; f++) {
    const ImgType *t = &d->L->img->types[d->rt->field_types[f]];
    if (t->kind == IT_OPT) t = &d->L->img->types[t->elem];
    if (t->kind != IT_STRING && t->kind != IT_INT && t->kind != IT_FLOAT && t->kind != IT_BOOL && t->kind != IT_ENUM)
      return fail(d->L, d->shown, "expected fields a cell can hold (string, int, float, bool, an enum or an "
                  "optional of one), found field `%s` of `%s` with another type", d->rt->field_names[f],
                  d->rt->name ? d->rt->name : "record");
  }
  return true;
}

/* Decode csv [text] into a list of records: the header row, then the rows. */
static bool csv_decode(Loader *L, const char *text, size_t len, Value *out) {
  CsvDecode d = {.L = L, .shown = L->c->arg};
  if (!list_elem(L, &d.rtype)) return false;
  d.rt = &L->img->types[d.rtype];
  if (d.rt->kind != IT_RECORD) return fail(L, L->c->arg, "expected a list of records as the declared type");
  if (!csv_check_fields(&d)) return false;
  CsvReader rd;
  csv_init(&rd, text, len);
  uint32_t line = 1;
  char why[400];
  int rc = csv_next(&rd, &d.header, &line, why, sizeof why);
  char where[600];
  snprintf(where, sizeof where, "%s:%u", L->c->arg, rc < 0 ? line : 1);
  if (rc <= 0) {
    csv_row_free(&d.header);
    return rc < 0 ? fail(L, where, "%s", why)
                  : fail(L, where, "expected a header row naming the columns, found an empty file");
  }
  rd.header = &d.header;
  d.column = xmalloc((d.rt->nfields + 1) * sizeof *d.column);
  Value list = value_list(16);
  bool ok = csv_map_columns(&d) && csv_rows(&d, &rd, list);
  free(d.column);
  csv_row_free(&d.header);
  if (ok) *out = list;
  else value_release(list);
  return ok;
}

static bool load_csv(Loader *L, Value *out, unsigned char hash[32]) {
  Blob b;
  if (!read_source(L, file_cap(L), "the size cap of a text source", &b)) return false;
  bool ok = check_utf8(L, L->c->arg, b.data, b.len) && csv_decode(L, b.data, b.len, out);
  if (ok) sha256_hash(b.data, b.len, hash);
  free(b.data);
  return ok;
}

/* ---- glob ------------------------------------------------------------------------------------ */

/* Append [s] with the characters glob treats specially escaped. */
static void put_glob_escaped(TextBuf *b, const char *s) {
  for (; *s; s++) {
    if (strchr("*?[]\\", *s)) tb_putc(b, '\\');
    tb_putc(b, *s);
  }
}

static int compare_paths(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Feed one member to the glob hash: path, NUL, 8-byte big-endian length, bytes. */
static void hash_member(Sha256 *h, const char *path, const Blob *b) {
  unsigned char len[8];
  for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)b->len >> (56 - 8 * i));
  sha256_update(h, path, strlen(path) + 1);
  sha256_update(h, len, sizeof len);
  sha256_update(h, b->data, b->len);
}

/* The list element for one member: its text, or a record with path and text. */
static Value glob_element(const Loader *L, const char *path, const Blob *b) {
  uint32_t et = L->img->types[L->c->type].elem;
  const ImgType *t = &L->img->types[et];
  if (t->kind != IT_RECORD) return value_str(b->data, b->len);
  Value r = value_record(et, t->nfields);
  for (uint32_t k = 0; k < t->nfields; k++) {
    if (!strcmp(t->field_names[k], "path")) record_set_steal(r, k, value_cstr(path));
    else if (!strcmp(t->field_names[k], "text")) record_set_steal(r, k, value_str(b->data, b->len));
  }
  return r;
}

/* Add member [path] (as the pattern spells it) to [list]; folders are
 * skipped (*added false). */
static bool glob_member(Loader *L, const char *path, Value list, Sha256 *h, bool *added) {
  char *rel = join(L->c->base_dir, path), *real;
  struct stat st;
  Blob b = {0};
  bool ok = resolve_in_root(L, rel, path, &real, &st);
  *added = ok && !S_ISDIR(st.st_mode);
  if (*added) ok = read_regular(L, real, &st, path, file_cap(L), "the size cap of a text source", &b) &&
                   check_utf8(L, path, b.data, b.len);
  if (ok && *added) record_file(L, rel, &b);
  if (ok && *added) {
    hash_member(h, path, &b);
    list_push_steal(list, glob_element(L, path, &b));
  }
  free(b.data);
  free(rel);
  free(real);
  return ok;
}

/* The matches of the pattern: paths below root/base_dir, unsorted. */
static bool glob_match(Loader *L, glob_t *g, size_t *prefix) {
  const ImgContext *c = L->c;
  TextBuf pat = {0}, pre = {0};
  tb_puts(&pre, L->root);
  if (L->rootlen > 1) tb_putc(&pre, '/');
  if (c->base_dir && *c->base_dir && strcmp(c->base_dir, ".") != 0) {
    tb_puts(&pre, c->base_dir);
    if (pre.data[pre.len - 1] != '/') tb_putc(&pre, '/');
  }
  put_glob_escaped(&pat, pre.data);
  tb_puts(&pat, c->arg);
  *prefix = pre.len;
  int rc = glob(pat.data, GLOB_ERR | GLOB_NOSORT, NULL, g);
  free(pat.data);
  free(pre.data);
  if (rc == 0) return true;
  if (rc == GLOB_NOMATCH) return fail(L, c->arg, "expected at least one matching file, found none");
  globfree(g);
  if (rc == GLOB_NOSPACE) flow_oom();
  return fail(L, c->arg, "expected the folders the pattern searches to exist and be readable, found one that is "
              "missing or cannot be read");
}

/* A glob over the built-in files: the paths below base_dir that the
 * pattern matches (sorted already), each decoded like a file on disk. */
static bool load_glob_built_in(Loader *L, Value *out, unsigned char hash[32]) {
  const ImgContext *c = L->c;
  char *base = normal_path(c->base_dir ? c->base_dir : "."), *pattern = normal_path(c->arg);
  size_t blen = strlen(base);
  Value list = value_list(4);
  Sha256 h;
  sha256_init(&h);
  bool ok = true;
  for (size_t i = 0; ok && i < L->env->nfiles; i++) {
    const ContextFile *f = &L->env->files[i];
    const char *rel = f->path;
    if (blen) {
      if (strncmp(rel, base, blen) != 0 || rel[blen] != '/') continue;
      rel += blen + 1;
    }
    if (fnmatch(pattern, rel, FNM_PATHNAME | FNM_PERIOD) != 0) continue;
    Blob b = {(char *)f->data, f->len};
    if (f->len > file_cap(L))
      ok = fail(L, rel, "expected at most %zu bytes (the size cap of a text source), found %zu bytes", file_cap(L),
                f->len);
    ok = ok && check_utf8(L, rel, b.data, b.len);
    if (ok) {
      hash_member(&h, rel, &b);
      list_push_steal(list, glob_element(L, rel, &b));
    }
  }
  if (ok && value_as_list(list)->len == 0) ok = fail(L, c->arg, "expected at least one matching file, found none");
  free(base);
  free(pattern);
  if (!ok) {
    value_release(list);
    return false;
  }
  sha256_final(&h, hash);
  *out = list;
  return true;
}

static bool load_glob(Loader *L, Value *out, unsigned char hash[32]) {
  uint32_t elem = 0;
  if (!list_elem(L, &elem) || !check_base(L) || !check_relative(L, L->c->arg)) return false;
  if (L->env->files) return load_glob_built_in(L, out, hash);
  if (!resolve_root(L)) return false;
  glob_t g;
  size_t prefix;
  if (!glob_match(L, &g, &prefix)) return false;
  qsort(g.gl_pathv, g.gl_pathc, sizeof *g.gl_pathv, compare_paths);
  Value list = value_list((uint32_t)g.gl_pathc);
  Sha256 h;
  sha256_init(&h);
  bool ok = true;
  for (size_t i = 0; ok && i < g.gl_pathc; i++) {
    bool added;
    ok = glob_member(L, g.gl_pathv[i] + prefix, list, &h, &added);
  }
  globfree(&g);
  if (ok && value_as_list(list)->len == 0) ok = fail(L, L->c->arg, "expected at least one matching file, found only folders");
  if (!ok) {
    value_release(list);
    return false;
  }
  sha256_final(&h, hash);
  *out = list;
  return true;
}

/* ---- env and http ----------------------------------------------------------------------------- */

/* The default of an env context, as its declared type (an int default of a
 * float context becomes a float). */
static bool env_default(Loader *L, Value *out) {
  const ImgContext *c = L->c;
  char where[300];
  snprintf(where, sizeof where, "environment variable %s", c->arg);
  if (!c->has_default)
    return fail(L, where, "expected it set (the context has no `default:`), found it unset");
  if (c->default_const >= L->img->nconsts)
    return fail(L, where, "expected a default among the program's constants, found constant %u", c->default_const);
  Value v = L->img->consts[c->default_const];
  if (v.tag == V_INT && L->img->types[c->type].kind == IT_FLOAT) *out = value_float((double)v.u.i);
  else *out = value_retain(v);
  return true;
}

static bool load_env(Loader *L, Value *out, unsigned char hash[32]) {
  const ContextEnv *env = L->env;
  const ImgContext *c = L->c;
  const char *v = env->getenv ? env->getenv(env->env_ctx, c->arg) : NULL;
  char where[300], why[400];
  snprintf(where, sizeof where, "environment variable %s", c->arg);
  if (!v) {
    if (!env_default(L, out)) return false;
  } else {
    size_t n = strlen(v), bad = utf8_invalid_at(v, n);
    if (bad < n)
      return fail(L, where, "expected UTF-8 text, found byte 0x%02x at byte %zu", (unsigned char)v[bad], bad + 1);
    if (!scalar_from_text(L->img, c->type, v, n, "an empty value", out, why, sizeof why)) return fail(L, where, "%s", why);
  }
  char *text = value_to_json_text(L->img, c->type, *out);
  sha256_hash(text, strlen(text), hash);
  free(text);
  return true;
}

static bool load_http(Loader *L, Value *out, unsigned char hash[32]) {
  const ContextEnv *env = L->env;
  const char *url = L->c->arg;
  if (strncmp(url, "https://", 8) != 0) return fail(L, url, "expected an https:// URL");
  if (!env->fetch)
    return fail(L, url, "expected a run that may use the network, found http sources off (flowc test reads them only with --allow-network)");
  Blob b = {0};
  char why[512] = "";
  if (!env->fetch(env->fetch_ctx, L->c, url, &b.data, &b.len, why, sizeof why)) {
    free(b.data);
    return fail(L, url, "expected the body of a GET, found an error: %s", why[0] ? why : "(no message)");
  }
  size_t cap = file_cap(L);
  bool ok = b.len <= cap ||
            fail(L, url, "expected at most %zu bytes (the size cap of a text source), found %zu bytes", cap, b.len);
  ok = ok && check_utf8(L, url, b.data, b.len);
  if (ok) {
    sha256_hash(b.data, b.len, hash);
    *out = value_str(b.data, b.len);
  }
  free(b.data);
  return ok;
}

/* ---- the entry point ------------------------------------------------------------------------- */

bool context_load(const ContextEnv *env, const ImgContext *c, Value *out, unsigned char hash[32], char *err,
                  size_t errlen) {
  Loader L = {.env = env, .c = c, .img = env->img, .err = err, .errlen = errlen};
  *out = value_none();
  memset(hash, 0, 32);
  if (errlen) err[0] = '\0';
  bool ok = false;
  if (c->type >= L.img->ntypes) return fail(&L, c->arg, "expected a declared type, found type id %u", c->type);
  switch (c->source) {
  case SRC_FILE: ok = load_file(&L, out, hash); break;
  case SRC_IMAGE:
  case SRC_AUDIO: ok = load_media(&L, out, hash); break;
  case SRC_JSON: ok = load_json(&L, out, hash); break;
  case SRC_JSONL: ok = load_jsonl(&L, out, hash); break;
  case SRC_CSV: ok = load_csv(&L, out, hash); break;
  case SRC_GLOB: ok = load_glob(&L, out, hash); break;
  case SRC_ENV: ok = load_env(&L, out, hash); break;
  case SRC_HTTP: ok = load_http(&L, out, hash); break;
  default: fail(&L, c->arg, "expected a known source, found source kind %d", (int)c->source); break;
  }
  free(L.root);
  if (!ok) {
    value_release(*out);
    *out = value_none();
    memset(hash, 0, 32);
  }
  return ok;
}
