/* test_context.c - unit tests of the context sources (runtime/context.c and
 * runtime/csv.c).
 *
 * Builds a small image by hand and a temporary project folder (whose name
 * holds glob metacharacters, so the root must be escaped in patterns), then
 * reads every source with good input and with bad: missing files, invalid
 * UTF-8, `..` and absolute paths, symlinks that lead out (refused, naming
 * the link) and in (allowed), a FIFO (refused without hanging), a socket, a
 * device and a folder, files over the caps, JSON and JSON Lines errors with
 * their line, column and field path, CSV rows and headers that do not fit
 * their record, glob order by bytes, env variables, http through a fake
 * fetch, and the hashes of what was read. Error messages are checked whole. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "context.h"
#include "image.h"
#include "sha256.h"
#include "tally.h"
#include "value.h"

/* The types of the test image. */
typedef struct Types {
  uint32_t level, row, rows, doc, docs, strs, item, items, cfg, int_map, bad_row, bad_rows;
} Types;

/* A fake environment: NULL-terminated name/value pairs. */
typedef struct FakeEnv {
  const char *const *vars;
} FakeEnv;

/* A fake HTTP transport: answers every URL with [body], or fails. */
typedef struct FakeFetch {
  const char *body;
  size_t len;
  bool fail;
  char url[256];            /* the last URL asked for */
  int calls;
} FakeFetch;

/* Everything one test needs. */
typedef struct Fixture {
  Tally *t;
  Image *img;
  Types ty;
  char tmp[1024];           /* the temporary folder: the project and `outside` */
  char root[PATH_MAX];      /* tmp/pro*j[1], the project root */
  char real_root[PATH_MAX]; /* its real path, as messages show it */
  FakeEnv vars;
  FakeFetch fetch;
  ContextEnv env;
} Fixture;

static const char *fake_getenv(void *ctx, const char *name) {
  const FakeEnv *e = ctx;
  for (size_t i = 0; e->vars && e->vars[i]; i += 2)
    if (!strcmp(e->vars[i], name)) return e->vars[i + 1];
  return NULL;
}

static bool fake_fetch(void *ctx, const ImgContext *c, const char *url, char **body, size_t *len, char *err,
                       size_t errlen) {
  (void)c;
  FakeFetch *f = ctx;
  f->calls++;
  snprintf(f->url, sizeof f->url, "%s", url);
  if (f->fail) {
    snprintf(err, errlen, "connection refused by the fake");
    return false;
  }
  *body = malloc(f->len + 1);
  memcpy(*body, f->body, f->len);
  (*body)[f->len] = '\0';
  *len = f->len;
  return true;
}

/* ---- the project folder -------------------------------------------------------------------- */

/* Create the folders on the way to [path]. */
static void make_parents(const char *path) {
  char buf[PATH_MAX * 2];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    mkdir(buf, 0755);
    *p = '/';
  }
}

/* Write [n] bytes to [dir]/[rel]. */
static void put_bytes(const char *dir, const char *rel, const char *data, size_t n) {
  char path[PATH_MAX * 2];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  make_parents(path);
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "test setup: cannot write %s: %s\n", path, strerror(errno));
    exit(2);
  }
  fwrite(data, 1, n, f);
  fclose(f);
}

static void put(const Fixture *f, const char *rel, const char *text) { put_bytes(f->root, rel, text, strlen(text)); }

/* A symlink [rel] (in the project) to [target]. */
static void link_at(const Fixture *f, const char *rel, const char *target) {
  char path[PATH_MAX * 2];
  snprintf(path, sizeof path, "%s/%s", f->root, rel);
  make_parents(path);
  unlink(path);
  if (symlink(target, path) != 0) {
    fprintf(stderr, "test setup: cannot link %s: %s\n", path, strerror(errno));
    exit(2);
  }
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

/* ---- the image --------------------------------------------------------------------------------- */

static uint32_t record(Image *img, const char *name, uint32_t n, char **names, uint32_t *types) {
  ImgType t = {.kind = IT_RECORD, .name = (char *)name, .nfields = n, .field_names = names, .field_types = types};
  return image_intern_type(img, &t);
}

static uint32_t list_of(Image *img, uint32_t elem) {
  return image_intern_type(img, &(ImgType){.kind = IT_LIST, .elem = elem});
}

static uint32_t opt_of(Image *img, uint32_t elem) {
  return image_intern_type(img, &(ImgType){.kind = IT_OPT, .elem = elem});
}

static Image *test_image(Types *ty) {
  Image *img = image_new();
  char *variants[] = {"low", "high"};
  ty->level = image_intern_type(img, &(ImgType){.kind = IT_ENUM, .name = "Level", .nvariants = 2, .variants = variants});
  char *rn[] = {"id", "name", "score", "ok", "level", "note", "rank", "mood"};
  uint32_t rt[] = {IMG_TYPE_INT, IMG_TYPE_STRING, IMG_TYPE_FLOAT, IMG_TYPE_BOOL, ty->level,
                   opt_of(img, IMG_TYPE_STRING), opt_of(img, IMG_TYPE_INT), opt_of(img, ty->level)};
  ty->row = record(img, "Row", 8, rn, rt);
  ty->rows = list_of(img, ty->row);
  char *dn[] = {"path", "text", "tag"};
  uint32_t dt[] = {IMG_TYPE_STRING, IMG_TYPE_STRING, opt_of(img, IMG_TYPE_STRING)};
  ty->doc = record(img, "Doc", 3, dn, dt);
  ty->docs = list_of(img, ty->doc);
  ty->strs = list_of(img, IMG_TYPE_STRING);
  char *in[] = {"name", "count"};
  uint32_t it[] = {IMG_TYPE_STRING, IMG_TYPE_INT};
  ty->item = record(img, "Item", 2, in, it);
  ty->items = list_of(img, ty->item);
  char *cn[] = {"title", "items"};
  uint32_t ct[] = {IMG_TYPE_STRING, ty->items};
  ty->cfg = record(img, "Cfg", 2, cn, ct);
  ty->int_map = image_intern_type(img, &(ImgType){.kind = IT_MAP, .elem = IMG_TYPE_INT});
  char *bn[] = {"tags"}; /* a list field: not a csv column type */
  uint32_t bt[] = {ty->strs};
  ty->bad_row = record(img, "Tagged", 1, bn, bt);
  ty->bad_rows = list_of(img, ty->bad_row);
  return img;
}

/* ---- loading ------------------------------------------------------------------------------------ */

/* Load a context declared as `context ctx: TYPE = SRC(ARG)` in the root
 * file (base_dir "."); *out is none on failure. */
static bool load_in(Fixture *f, const char *base, SourceKind src, const char *arg, uint32_t type, Value *out,
                    unsigned char hash[32], char *err, size_t errlen) {
  ImgContext c = {.name = "ctx", .source = src, .arg = (char *)arg, .base_dir = (char *)base, .type = type};
  return context_load(&f->env, &c, out, hash, err, errlen);
}

static bool load(Fixture *f, SourceKind src, const char *arg, uint32_t type, Value *out, unsigned char hash[32],
                 char *err, size_t errlen) {
  return load_in(f, ".", src, arg, type, out, hash, err, errlen);
}

/* Loading must fail with exactly [want] (a printf format over the real root). */
static void expect_error_at(Fixture *f, SourceKind src, const char *arg, uint32_t type, const char *want, int line) {
  char err[1024] = "", full[1024];
  unsigned char hash[32];
  Value v;
  bool ok = load(f, src, arg, type, &v, hash, err, sizeof err);
  check_at(f->t, !ok && v.tag == V_NONE, __FILE__, line, "loading fails");
  snprintf(full, sizeof full, want, f->real_root);
  check_str_at(f->t, err, full, __FILE__, line);
  value_release(v);
}
#define EXPECT_ERROR(f, src, arg, type, want) expect_error_at((f), (src), (arg), (type), (want), __LINE__)

/* Loading must succeed; returns the value (the caller releases it). */
static Value expect_ok_at(Fixture *f, SourceKind src, const char *arg, uint32_t type, unsigned char hash[32], int line) {
  char err[1024] = "";
  Value v;
  bool ok = load(f, src, arg, type, &v, hash, err, sizeof err);
  if (!check_at(f->t, ok, __FILE__, line, "loading succeeds")) fprintf(stderr, "  error: %s\n", err);
  return v;
}
#define EXPECT_OK(f, src, arg, type, hash) expect_ok_at((f), (src), (arg), (type), (hash), __LINE__)

static const char *str_of(Value v) { return v.tag == V_STR ? value_as_str(v)->data : "(not a string)"; }

static Value field(Value rec, uint32_t k) { return value_as_record(rec)->fields[k]; }

static Value item(Value list, uint32_t i) { return value_as_list(list)->items[i]; }

static uint32_t count(Value list) { return list.tag == V_LIST ? value_as_list(list)->len : 0; }

static void hex_of(const unsigned char h[32], char hex[65]) { sha256_hex(h, hex); }

/* ---- file, and the sandbox -------------------------------------------------------------------- */

static void test_file(Fixture *f) {
  unsigned char h[32];
  char hex[65];
  put(f, "kb/abc.txt", "abc");
  Value v = EXPECT_OK(f, SRC_FILE, "kb/abc.txt", IMG_TYPE_STRING, h);
  CHECK_STR(f->t, str_of(v), "abc");
  hex_of(h, hex);
  CHECK_STR(f->t, hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"); /* SHA-256("abc") */
  value_release(v);
  put(f, "kb/policy.md", "Refunds within 30 days.\nCaf\xc3\xa9 \xe4\xb8\xad.\n");
  v = EXPECT_OK(f, SRC_FILE, "kb/policy.md", IMG_TYPE_STRING, h);
  CHECK_STR(f->t, str_of(v), "Refunds within 30 days.\nCaf\xc3\xa9 \xe4\xb8\xad.\n");
  value_release(v);
  EXPECT_ERROR(f, SRC_FILE, "kb/none.md", IMG_TYPE_STRING,
               "context `ctx`: kb/none.md: expected a file at %s/kb/none.md, found nothing there");
  put(f, "kb/bad.md", "line one\nok \xff here\n");
  EXPECT_ERROR(f, SRC_FILE, "kb/bad.md", IMG_TYPE_STRING,
               "context `ctx`: kb/bad.md:2: expected UTF-8 text, found byte 0xff at byte 4 of the line (offset 12 of "
               "the file)");
  put(f, "kb/overlong.md", "\xc0\xaf");
  EXPECT_ERROR(f, SRC_FILE, "kb/overlong.md", IMG_TYPE_STRING,
               "context `ctx`: kb/overlong.md:1: expected UTF-8 text, found byte 0xc0 at byte 1 of the line (offset 0 "
               "of the file)");
}

static void test_paths(Fixture *f) {
  EXPECT_ERROR(f, SRC_FILE, "../outside/secret.txt", IMG_TYPE_STRING,
               "context `ctx`: ../outside/secret.txt: expected a path that stays inside the project root, found one "
               "that climbs out with `..`");
  EXPECT_ERROR(f, SRC_FILE, "kb/../../outside/secret.txt", IMG_TYPE_STRING,
               "context `ctx`: kb/../../outside/secret.txt: expected a path that stays inside the project root, found "
               "one that climbs out with `..`");
  char abs[PATH_MAX + 32];
  snprintf(abs, sizeof abs, "%s/outside/secret.txt", f->tmp);
  char want[PATH_MAX * 2];
  snprintf(want, sizeof want,
           "context `ctx`: %s: expected a path relative to the declaring file's folder, found an absolute path", abs);
  char err[1024];
  unsigned char h[32];
  Value v;
  CHECK(f->t, !load(f, SRC_FILE, abs, IMG_TYPE_STRING, &v, h, err, sizeof err));
  CHECK_STR(f->t, err, want);
  EXPECT_ERROR(f, SRC_FILE, "", IMG_TYPE_STRING,
               "context `ctx`: \"\": expected a path relative to the declaring file's folder, found an empty path");
  /* a declaring file outside the root (a bytecode image could say so) */
  CHECK(f->t, !load_in(f, "../elsewhere", SRC_FILE, "kb/abc.txt", IMG_TYPE_STRING, &v, h, err, sizeof err));
  CHECK_STR(f->t, err,
            "context `ctx`: kb/abc.txt: expected the declaring file inside the project root, found it in "
            "`../elsewhere`, outside");
  /* a file declared in sub/x.flow reads sub/... */
  put(f, "sub/notes.txt", "from sub");
  CHECK(f->t, load_in(f, "sub", SRC_FILE, "notes.txt", IMG_TYPE_STRING, &v, h, err, sizeof err));
  CHECK_STR(f->t, str_of(v), "from sub");
  value_release(v);
  /* "." components and doubled slashes are harmless */
  v = EXPECT_OK(f, SRC_FILE, "./kb//abc.txt", IMG_TYPE_STRING, h);
  CHECK_STR(f->t, str_of(v), "abc");
  value_release(v);
}

static void test_symlinks(Fixture *f) {
  char target[PATH_MAX + 32];
  unsigned char h[32];
  snprintf(target, sizeof target, "%s/outside/secret.txt", f->tmp);
  link_at(f, "kb/out.txt", target);
  char want[PATH_MAX * 2];
  snprintf(want, sizeof want,
           "context `ctx`: kb/out.txt: expected symlinks that stay inside the project root, found `kb/out.txt`, a "
           "symlink to `%s`, which leads out of it", target);
  char err[1024];
  Value v;
  CHECK(f->t, !load(f, SRC_FILE, "kb/out.txt", IMG_TYPE_STRING, &v, h, err, sizeof err));
  CHECK_STR(f->t, err, want);
  /* a folder on the way that leads out is named, not the file */
  link_at(f, "up", "../outside");
  EXPECT_ERROR(f, SRC_FILE, "up/secret.txt", IMG_TYPE_STRING,
               "context `ctx`: up/secret.txt: expected symlinks that stay inside the project root, found `up`, a "
               "symlink to `../outside`, which leads out of it");
  /* a link that stays inside is followed */
  link_at(f, "kb/alias.md", "../kb/abc.txt");
  v = EXPECT_OK(f, SRC_FILE, "kb/alias.md", IMG_TYPE_STRING, h);
  CHECK_STR(f->t, str_of(v), "abc");
  value_release(v);
  link_at(f, "kb/dangling.md", "gone.md");
  EXPECT_ERROR(f, SRC_FILE, "kb/dangling.md", IMG_TYPE_STRING,
               "context `ctx`: kb/dangling.md: expected a file, found a symlink to `gone.md`, which does not exist");
  /* the root itself may be given through a symlink */
  char via[PATH_MAX + 32];
  snprintf(via, sizeof via, "%s/via", f->tmp);
  if (symlink(f->root, via) != 0) fprintf(stderr, "test setup: cannot link %s\n", via);
  const char *saved = f->env.root;
  f->env.root = via;
  v = EXPECT_OK(f, SRC_FILE, "kb/abc.txt", IMG_TYPE_STRING, h);
  CHECK_STR(f->t, str_of(v), "abc");
  value_release(v);
  f->env.root = saved;
}

static void test_special_files(Fixture *f) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/kb/pipe", f->root);
  CHECK(f->t, mkfifo(path, 0644) == 0);
  /* opening a FIFO for reading would block until a writer comes: the alarm
   * set in main ends the test if it does */
  EXPECT_ERROR(f, SRC_FILE, "kb/pipe", IMG_TYPE_STRING,
               "context `ctx`: kb/pipe: expected a regular file, found a FIFO (named pipe)");
  EXPECT_ERROR(f, SRC_JSON, "kb", f->ty.int_map, "context `ctx`: kb: expected a regular file, found a folder");
  /* a socket in the project */
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int written = snprintf(addr.sun_path, sizeof addr.sun_path, "%s/kb/sock", f->root);
  if (written > 0 && (size_t)written < sizeof addr.sun_path) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(f->t, fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    EXPECT_ERROR(f, SRC_FILE, "kb/sock", IMG_TYPE_STRING,
                 "context `ctx`: kb/sock: expected a regular file, found a socket");
    close(fd);
  } else {
    fprintf(stderr, "note: the temporary folder's path is too long for a socket; the socket case is left out\n");
  }
  /* a device: /dev as the root, so that /dev/null is inside it */
  const char *saved = f->env.root;
  f->env.root = "/dev";
  char err[1024];
  unsigned char h[32];
  Value v;
  CHECK(f->t, !load(f, SRC_FILE, "null", IMG_TYPE_STRING, &v, h, err, sizeof err));
  CHECK_STR(f->t, err, "context `ctx`: null: expected a regular file, found a character device");
  f->env.root = saved;
}

static void test_caps(Fixture *f) {
  unsigned char h[32];
  f->env.max_file_bytes = 10;
  put(f, "cap/ten.txt", "0123456789");
  put(f, "cap/eleven.txt", "0123456789A");
  Value v = EXPECT_OK(f, SRC_FILE, "cap/ten.txt", IMG_TYPE_STRING, h);
  CHECK_STR(f->t, str_of(v), "0123456789");
  value_release(v);
  EXPECT_ERROR(f, SRC_FILE, "cap/eleven.txt", IMG_TYPE_STRING,
               "context `ctx`: cap/eleven.txt: expected at most 10 bytes (the size cap of a text source), found 11 "
               "bytes");
  EXPECT_ERROR(f, SRC_CSV, "cap/eleven.txt", f->ty.rows,
               "context `ctx`: cap/eleven.txt: expected at most 10 bytes (the size cap of a text source), found 11 "
               "bytes");
  f->env.max_file_bytes = 0;
  f->env.max_media_bytes = 4;
  put(f, "cap/big.png", "\x89PNG!");
  EXPECT_ERROR(f, SRC_IMAGE, "cap/big.png", IMG_TYPE_IMAGE,
               "context `ctx`: cap/big.png: expected at most 4 bytes (the size cap of an image), found 5 bytes");
  f->env.max_media_bytes = 0;
}

/* ---- image and audio ------------------------------------------------------------------------------- */

static void test_media(Fixture *f) {
  unsigned char h[32], want[32];
  put_bytes(f->root, "img/Logo.PNG", "\x89PNG\r\n\x1a\n\0\1", 10);
  Value v = EXPECT_OK(f, SRC_IMAGE, "img/Logo.PNG", IMG_TYPE_IMAGE, h);
  if (CHECK(f->t, v.tag == V_MEDIA)) {
    Media *m = value_as_media(v);
    CHECK_STR(f->t, m->mime->data, "image/png");
    CHECK_STR(f->t, m->name->data, "Logo.PNG");
    CHECK(f->t, m->len == 10 && memcmp(m->data, "\x89PNG\r\n\x1a\n\0\1", 10) == 0);
  }
  sha256_hash("\x89PNG\r\n\x1a\n\0\1", 10, want);
  CHECK(f->t, memcmp(h, want, 32) == 0);
  value_release(v);
  put(f, "snd/beep.mp3", "ID3");
  v = EXPECT_OK(f, SRC_AUDIO, "snd/beep.mp3", IMG_TYPE_AUDIO, h);
  CHECK(f->t, v.tag == V_MEDIA && !strcmp(value_as_media(v)->mime->data, "audio/mpeg"));
  value_release(v);
  put(f, "img/pic.bmp", "BM");
  EXPECT_ERROR(f, SRC_IMAGE, "img/pic.bmp", IMG_TYPE_IMAGE,
               "context `ctx`: img/pic.bmp: expected an image file (.png, .jpg, .jpeg, .gif or .webp), found the "
               "extension `.bmp`");
  EXPECT_ERROR(f, SRC_AUDIO, "img/Logo.PNG", IMG_TYPE_AUDIO,
               "context `ctx`: img/Logo.PNG: expected an audio file (.wav or .mp3), found the extension `.PNG`");
  EXPECT_ERROR(f, SRC_IMAGE, "img.d/photo", IMG_TYPE_IMAGE,
               "context `ctx`: img.d/photo: expected an image file (.png, .jpg, .jpeg, .gif or .webp), found no "
               "extension");
}

/* ---- json and jsonl ------------------------------------------------------------------------------ */

static void test_json(Fixture *f) {
  unsigned char h[32], want[32];
  const char *doc = "{\"title\": \"T\",\n \"items\": [{\"name\": \"a\", \"count\": 1}, {\"name\": \"b\", \"count\": 2}]}\n";
  put(f, "data/cfg.json", doc);
  Value v = EXPECT_OK(f, SRC_JSON, "data/cfg.json", f->ty.cfg, h);
  if (CHECK(f->t, v.tag == V_RECORD)) {
    CHECK_STR(f->t, str_of(field(v, 0)), "T");
    Value items = field(v, 1);
    CHECK(f->t, count(items) == 2 && field(item(items, 1), 1).u.i == 2);
  }
  sha256_hash(doc, strlen(doc), want);
  CHECK(f->t, memcmp(h, want, 32) == 0);
  value_release(v);
  put(f, "data/syntax.json", "{\"title\": \"T\",\n \"items\": [1,]}");
  EXPECT_ERROR(f, SRC_JSON, "data/syntax.json", f->ty.cfg,
               "context `ctx`: data/syntax.json:2:14: expected a JSON value, found ']'");
  put(f, "data/type.json", "{\"title\": \"T\", \"items\": [{\"name\": \"a\", \"count\": 1}, {\"name\": \"b\", \"count\": \"2\"}]}");
  EXPECT_ERROR(f, SRC_JSON, "data/type.json", f->ty.cfg,
               "context `ctx`: data/type.json: at .items[1].count: expected an integer, found \"2\"");
  put(f, "data/extra.json", "{\"title\": \"T\", \"items\": [], \"more\": 1}");
  EXPECT_ERROR(f, SRC_JSON, "data/extra.json", f->ty.cfg,
               "context `ctx`: data/extra.json: unknown field \"more\" (Cfg has fields \"title\", \"items\")");
}

static void test_jsonl(Fixture *f) {
  unsigned char h[32];
  put(f, "data/items.jsonl", "{\"name\": \"a\", \"count\": 1}\r\n\n   \n{\"name\": \"b\", \"count\": 2}");
  Value v = EXPECT_OK(f, SRC_JSONL, "data/items.jsonl", f->ty.items, h);
  CHECK(f->t, count(v) == 2);
  if (count(v) == 2) CHECK_STR(f->t, str_of(field(item(v, 1), 0)), "b");
  value_release(v);
  put(f, "data/syntax.jsonl", "{\"name\": \"a\", \"count\": 1}\n\n{\"name\" \"b\", \"count\": 2}\n");
  EXPECT_ERROR(f, SRC_JSONL, "data/syntax.jsonl", f->ty.items,
               "context `ctx`: data/syntax.jsonl:3:9: expected ':' after an object key, found '\"'");
  put(f, "data/type.jsonl", "{\"name\": \"a\", \"count\": 1}\n{\"name\": \"b\", \"count\": 2}\n\n{\"name\": \"c\"}\n");
  EXPECT_ERROR(f, SRC_JSONL, "data/type.jsonl", f->ty.items,
               "context `ctx`: data/type.jsonl:4: missing field \"count\" (expected an integer)");
  put(f, "data/nested.jsonl", "{\"title\": \"x\", \"items\": [{\"name\": 5, \"count\": 1}]}\n");
  ImgType *cfg_list = &(ImgType){.kind = IT_LIST, .elem = f->ty.cfg};
  uint32_t cfgs = image_intern_type(f->img, cfg_list);
  EXPECT_ERROR(f, SRC_JSONL, "data/nested.jsonl", cfgs,
               "context `ctx`: data/nested.jsonl:1: at .items[0].name: expected a string, found 5");
}

/* ---- csv ---------------------------------------------------------------------------------------- */

static void test_csv_good(Fixture *f) {
  unsigned char h[32], want[32];
  const char *text = "\xEF\xBB\xBF"
                     " id , name,score,ok,level,note,extra,mood\r\n"
                     "1,\"Ann \"\"A\"\", x\",1.5,TRUE,low,,zz,high\r\n"
                     "\r\n"
                     "2,Bob,2,false,high,\"two\r\nlines\",,\r\n"
                     "-3,\"\",-2.5e1,True,low,n,\"\",\n"
                     "4,Dee,0.25,false,high,caf\xc3\xa9,x,low";
  put(f, "data/rows.csv", text);
  Value v = EXPECT_OK(f, SRC_CSV, "data/rows.csv", f->ty.rows, h);
  sha256_hash(text, strlen(text), want);
  CHECK(f->t, memcmp(h, want, 32) == 0);
  if (!CHECK(f->t, count(v) == 4)) {
    value_release(v);
    return;
  }
  Value r0 = item(v, 0), r1 = item(v, 1), r2 = item(v, 2), r3 = item(v, 3);
  CHECK(f->t, field(r0, 0).u.i == 1 && field(r2, 0).u.i == -3);
  CHECK_STR(f->t, str_of(field(r0, 1)), "Ann \"A\", x");
  CHECK_STR(f->t, str_of(field(r2, 1)), "");
  CHECK(f->t, field(r0, 2).tag == V_FLOAT && field(r0, 2).u.f == 1.5);
  CHECK(f->t, field(r1, 2).tag == V_FLOAT && field(r1, 2).u.f == 2.0);
  CHECK(f->t, field(r2, 2).u.f == -25.0);
  CHECK(f->t, field(r0, 3).tag == V_BOOL && field(r0, 3).u.b && !field(r1, 3).u.b && field(r2, 3).u.b);
  CHECK(f->t, field(r0, 4).tag == V_ENUM && field(r0, 4).u.e.variant == 0 && field(r1, 4).u.e.variant == 1);
  CHECK(f->t, field(r0, 5).tag == V_NONE);                 /* an empty cell of a string? is none */
  CHECK_STR(f->t, str_of(field(r1, 5)), "two\r\nlines");  /* line breaks inside quotes are kept */
  CHECK_STR(f->t, str_of(field(r3, 5)), "caf\xc3\xa9");
  CHECK(f->t, field(r0, 6).tag == V_NONE && field(r3, 6).tag == V_NONE); /* no `rank` column: none */
  CHECK(f->t, field(r0, 7).tag == V_ENUM && field(r0, 7).u.e.type == f->ty.level && field(r0, 7).u.e.variant == 1);
  CHECK(f->t, field(r1, 7).tag == V_NONE);
  value_release(v);
  put(f, "data/header_only.csv", "id,name,score,ok,level\n");
  v = EXPECT_OK(f, SRC_CSV, "data/header_only.csv", f->ty.rows, h);
  CHECK(f->t, v.tag == V_LIST && count(v) == 0);
  value_release(v);
}

/* A csv file whose body follows the header "id,name,score,ok,level" must
 * fail with [want]. */
static void expect_csv_error_at(Fixture *f, const char *body, const char *want, int line) {
  char text[1024];
  snprintf(text, sizeof text, "id,name,score,ok,level\n%s", body);
  put(f, "data/bad.csv", text);
  expect_error_at(f, SRC_CSV, "data/bad.csv", f->ty.rows, want, line);
}
#define EXPECT_CSV_ERROR(f, body, want) expect_csv_error_at((f), (body), (want), __LINE__)

static void test_csv_bad(Fixture *f) {
  EXPECT_CSV_ERROR(f, "1,a,1.5,true,low\n2,\"b\nb\",x7,true,low\n",
                   "context `ctx`: data/bad.csv:3: column `score`: expected a float, found \"x7\"");
  EXPECT_CSV_ERROR(f, "1,a,1.5,true,low\n2,\"b\nb\",2,true,low\n3,c,1,true,mid\n",
                   "context `ctx`: data/bad.csv:5: column `level`: expected one of \"low\", \"high\", found \"mid\"");
  EXPECT_CSV_ERROR(f, "x,a,1,true,low\n", "context `ctx`: data/bad.csv:2: column `id`: expected an int, found \"x\"");
  EXPECT_CSV_ERROR(f, ",a,1,true,low\n",
                   "context `ctx`: data/bad.csv:2: column `id`: expected an int, found an empty cell");
  EXPECT_CSV_ERROR(f, "99999999999999999999,a,1,true,low\n",
                   "context `ctx`: data/bad.csv:2: column `id`: expected an int, found \"99999999999999999999\" (out "
                   "of the 64-bit range)");
  EXPECT_CSV_ERROR(f, "1,a,1,1,low\n",
                   "context `ctx`: data/bad.csv:2: column `ok`: expected a bool (true or false), found \"1\"");
  EXPECT_CSV_ERROR(f, "1,a,1e999,true,low\n",
                   "context `ctx`: data/bad.csv:2: column `score`: expected a float, found \"1e999\" (out of range)");
  EXPECT_CSV_ERROR(f, "1,a,0x10,true,low\n",
                   "context `ctx`: data/bad.csv:2: column `score`: expected a float, found \"0x10\"");
  EXPECT_CSV_ERROR(f, "1,a,1,true\n",
                   "context `ctx`: data/bad.csv:2: expected 5 cells (as many as the header row has), found 4");
  EXPECT_CSV_ERROR(f, "1,a,1,true,low,extra\n",
                   "context `ctx`: data/bad.csv:2: expected 5 cells (as many as the header row has), found 6");
  EXPECT_CSV_ERROR(f, "1,a \"b\",1,true,low\n",
                   "context `ctx`: data/bad.csv:2: cell 2 (column `name`) holds a quote but does not start with one; "
                   "expected the whole cell in quotes with each quote doubled (\"a \"\"b\"\" c\")");
  EXPECT_CSV_ERROR(f, "1,\"a\" ,1,true,low\n",
                   "context `ctx`: data/bad.csv:2: expected ',' or the end of the line after the closing quote of "
                   "cell 2 (column `name`), found ' '");
  EXPECT_CSV_ERROR(f, "1,a,1,true,low\n2,\"never\nclosed,1,true,low\n",
                   "context `ctx`: data/bad.csv:3: the quote that opens cell 2 (column `name`) is never closed; "
                   "expected a closing '\"', found the end of the file");
  char name[128];
  snprintf(name, sizeof name, "1,a,1,true,%s\n", "this-is-a-very-long-variant-name-that-goes-on-and-on");
  EXPECT_CSV_ERROR(f, name,
                   "context `ctx`: data/bad.csv:2: column `level`: expected one of \"low\", \"high\", found "
                   "\"this-is-a-very-long-variant-name-that-go\"... (52 bytes)");
  /* headers */
  put(f, "data/h1.csv", "id,name,ok,level\n1,a,true,low\n");
  EXPECT_ERROR(f, SRC_CSV, "data/h1.csv", f->ty.rows,
               "context `ctx`: data/h1.csv:1: expected a column `score` for field `score` of `Row`, found the columns "
               "id, name, ok, level");
  put(f, "data/h2.csv", "id,name,score,ok,level, id\n");
  EXPECT_ERROR(f, SRC_CSV, "data/h2.csv", f->ty.rows,
               "context `ctx`: data/h2.csv:1: expected each column named once, found column 1 `id` again as column 6");
  put(f, "data/h3.csv", "id,name,,score,ok,level\n");
  EXPECT_ERROR(f, SRC_CSV, "data/h3.csv", f->ty.rows,
               "context `ctx`: data/h3.csv:1: expected a name for column 3 in the header row, found an empty cell");
  put(f, "data/empty.csv", "\xEF\xBB\xBF\n\n");
  EXPECT_ERROR(f, SRC_CSV, "data/empty.csv", f->ty.rows,
               "context `ctx`: data/empty.csv:1: expected a header row naming the columns, found an empty file");
  put(f, "data/latin1.csv", "id,name,score,ok,level\n1,Jos\xe9,1,true,low\n");
  EXPECT_ERROR(f, SRC_CSV, "data/latin1.csv", f->ty.rows,
               "context `ctx`: data/latin1.csv:2: expected UTF-8 text, found byte 0xe9 at byte 6 of the line (offset "
               "28 of the file)");
  put(f, "data/tags.csv", "tags\nx\n");
  EXPECT_ERROR(f, SRC_CSV, "data/tags.csv", f->ty.bad_rows,
               "context `ctx`: data/tags.csv: expected fields a cell can hold (string, int, float, bool, an enum or an "
               "optional of one), found field `tags` of `Tagged` with another type");
}

/* ---- glob --------------------------------------------------------------------------------------- */

static void test_glob(Fixture *f) {
  unsigned char h1[32], h2[32], h3[32];
  /* created out of order; byte order is "B.md" < "a.md" < "b.md" (a locale would put B between a and b) */
  put(f, "notes/b.md", "bee");
  put(f, "notes/B.md", "Big");
  put(f, "notes/a.md", "ant");
  char dir[PATH_MAX + 32];
  snprintf(dir, sizeof dir, "%s/notes/folder.md", f->root);
  mkdir(dir, 0755);
  Value v = EXPECT_OK(f, SRC_GLOB, "notes/*.md", f->ty.strs, h1);
  if (CHECK(f->t, count(v) == 3)) {
    CHECK_STR(f->t, str_of(item(v, 0)), "Big");
    CHECK_STR(f->t, str_of(item(v, 1)), "ant");
    CHECK_STR(f->t, str_of(item(v, 2)), "bee");
  }
  value_release(v);
  v = EXPECT_OK(f, SRC_GLOB, "notes/*.md", f->ty.docs, h2);
  if (CHECK(f->t, count(v) == 3)) {
    CHECK_STR(f->t, str_of(field(item(v, 0), 0)), "notes/B.md");
    CHECK_STR(f->t, str_of(field(item(v, 2), 0)), "notes/b.md");
    CHECK_STR(f->t, str_of(field(item(v, 2), 1)), "bee");
    CHECK(f->t, field(item(v, 0), 2).tag == V_NONE);
  }
  value_release(v);
  CHECK(f->t, memcmp(h1, h2, 32) == 0); /* the same files, read as strings or records */
  /* a path as the pattern spells it, relative to the declaring file's folder */
  char err[1024];
  CHECK(f->t, load_in(f, "notes", SRC_GLOB, "a*", f->ty.docs, &v, h3, err, sizeof err));
  if (CHECK(f->t, count(v) == 1)) CHECK_STR(f->t, str_of(field(item(v, 0), 0)), "a.md");
  value_release(v);
  /* the same content under another name hashes differently */
  put(f, "notes/c.md", "bee");
  remove(dir);
  snprintf(dir, sizeof dir, "%s/notes/b.md", f->root);
  remove(dir);
  v = EXPECT_OK(f, SRC_GLOB, "notes/*.md", f->ty.strs, h3);
  CHECK(f->t, count(v) == 3 && memcmp(h1, h3, 32) != 0);
  value_release(v);
  EXPECT_ERROR(f, SRC_GLOB, "notes/*.txt", f->ty.strs,
               "context `ctx`: notes/*.txt: expected at least one matching file, found none");
  EXPECT_ERROR(f, SRC_GLOB, "nowhere/*.md", f->ty.strs,
               "context `ctx`: nowhere/*.md: expected the folders the pattern searches to exist and be readable, "
               "found one that is missing or cannot be read");
  EXPECT_ERROR(f, SRC_GLOB, "../outside/*", f->ty.strs,
               "context `ctx`: ../outside/*: expected a path that stays inside the project root, found one that "
               "climbs out with `..`");
  EXPECT_ERROR(f, SRC_GLOB, "notes", f->ty.strs,
               "context `ctx`: notes: expected at least one matching file, found only folders");
}

static void test_glob_members(Fixture *f) {
  char target[PATH_MAX + 32], want[PATH_MAX * 2], err[1024];
  unsigned char h[32];
  Value v;
  put(f, "kb2/a.md", "a");
  snprintf(target, sizeof target, "%s/outside/secret.txt", f->tmp);
  link_at(f, "kb2/leak.md", target);
  snprintf(want, sizeof want,
           "context `ctx`: kb2/leak.md: expected symlinks that stay inside the project root, found `kb2/leak.md`, a "
           "symlink to `%s`, which leads out of it", target);
  CHECK(f->t, !load(f, SRC_GLOB, "kb2/*.md", f->ty.strs, &v, h, err, sizeof err));
  CHECK_STR(f->t, err, want);
  CHECK(f->t, v.tag == V_NONE);
  put(f, "kb3/a.md", "a");
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/kb3/b.md", f->root);
  CHECK(f->t, mkfifo(path, 0644) == 0);
  EXPECT_ERROR(f, SRC_GLOB, "kb3/*.md", f->ty.strs,
               "context `ctx`: kb3/b.md: expected a regular file, found a FIFO (named pipe)");
  put(f, "kb4/a.md", "a");
  link_at(f, "kb4/b.md", "missing.md");
  EXPECT_ERROR(f, SRC_GLOB, "kb4/*.md", f->ty.strs,
               "context `ctx`: kb4/b.md: expected a file, found a symlink to `missing.md`, which does not exist");
  put_bytes(f->root, "kb5/a.md", "\xfe", 1);
  EXPECT_ERROR(f, SRC_GLOB, "kb5/*.md", f->ty.strs,
               "context `ctx`: kb5/a.md:1: expected UTF-8 text, found byte 0xfe at byte 1 of the line (offset 0 of "
               "the file)");
  f->env.max_file_bytes = 2;
  put(f, "kb6/a.md", "abc");
  EXPECT_ERROR(f, SRC_GLOB, "kb6/*.md", f->ty.strs,
               "context `ctx`: kb6/a.md: expected at most 2 bytes (the size cap of a text source), found 3 bytes");
  f->env.max_file_bytes = 0;
}

/* ---- env ---------------------------------------------------------------------------------------- */

static void test_env(Fixture *f) {
  static const char *const vars[] = {
      "PORT", "8080", "RATIO", "0.5", "DEBUG", "True", "NAME", "", "BAD_INT", "80a", "SECRET",
      "sk-0123456789abcdef0123456789abcdef0123456789abcdef", "BAD_BOOL", "yes", "LATIN", "Jos\xe9", NULL};
  f->vars.vars = vars;
  unsigned char h1[32], h2[32], want[32];
  char err[1024];
  ImgContext c = {.name = "ctx", .source = SRC_ENV, .arg = "PORT", .base_dir = ".", .type = IMG_TYPE_INT};
  Value v;
  CHECK(f->t, context_load(&f->env, &c, &v, h1, err, sizeof err) && v.tag == V_INT && v.u.i == 8080);
  sha256_hash("8080", 4, want);
  CHECK(f->t, memcmp(h1, want, 32) == 0);
  c = (ImgContext){.name = "ctx", .source = SRC_ENV, .arg = "RATIO", .base_dir = ".", .type = IMG_TYPE_FLOAT};
  CHECK(f->t, context_load(&f->env, &c, &v, h1, err, sizeof err) && v.tag == V_FLOAT && v.u.f == 0.5);
  c = (ImgContext){.name = "ctx", .source = SRC_ENV, .arg = "DEBUG", .base_dir = ".", .type = IMG_TYPE_BOOL};
  CHECK(f->t, context_load(&f->env, &c, &v, h1, err, sizeof err) && v.tag == V_BOOL && v.u.b);
  c = (ImgContext){.name = "ctx", .source = SRC_ENV, .arg = "NAME", .base_dir = ".", .type = IMG_TYPE_STRING};
  CHECK(f->t, context_load(&f->env, &c, &v, h1, err, sizeof err) && v.tag == V_STR && value_as_str(v)->len == 0);
  value_release(v);
  /* unset: the default, as the declared type (an int default of a float becomes a float) */
  c = (ImgContext){.name = "ctx", .source = SRC_ENV, .arg = "UNSET", .base_dir = ".", .type = IMG_TYPE_FLOAT,
                   .has_default = true, .default_const = image_add_const(f->img, value_int(3))};
  CHECK(f->t, context_load(&f->env, &c, &v, h1, err, sizeof err) && v.tag == V_FLOAT && v.u.f == 3.0);
  c = (ImgContext){.name = "ctx", .source = SRC_ENV, .arg = "UNSET", .base_dir = ".", .type = IMG_TYPE_INT,
                   .has_default = true, .default_const = image_add_const(f->img, value_int(8080))};
  CHECK(f->t, context_load(&f->env, &c, &v, h2, err, sizeof err) && v.tag == V_INT && v.u.i == 8080);
  CHECK(f->t, memcmp(h2, want, 32) == 0); /* the default 8080 hashes like PORT=8080 */
  c = (ImgContext){.name = "ctx", .source = SRC_ENV, .arg = "UNSET", .base_dir = ".", .type = IMG_TYPE_INT};
  CHECK(f->t, !context_load(&f->env, &c, &v, h1, err, sizeof err));
  CHECK_STR(f->t, err,
            "context `ctx`: environment variable UNSET: expected it set (the context has no `default:`), found it "
            "unset");
  c = (ImgContext){.name = "ctx", .source = SRC_ENV, .arg = "BAD_INT", .base_dir = ".", .type = IMG_TYPE_INT,
                   .has_default = true, .default_const = image_add_const(f->img, value_int(1))};
  CHECK(f->t, !context_load(&f->env, &c, &v, h1, err, sizeof err));
  CHECK_STR(f->t, err, "context `ctx`: environment variable BAD_INT: expected an int, found \"80a\"");
  /* a long value is cut short in the message: it may be a secret */
  c = (ImgContext){.name = "ctx", .source = SRC_ENV, .arg = "SECRET", .base_dir = ".", .type = IMG_TYPE_INT};
  CHECK(f->t, !context_load(&f->env, &c, &v, h1, err, sizeof err));
  CHECK_STR(f->t, err,
            "context `ctx`: environment variable SECRET: expected an int, found "
            "\"sk-0123456789abcdef0123456789abcdef01234\"... (51 bytes)");
  CHECK(f->t, strstr(err, "56789abcdef\"") == NULL);
  c = (ImgContext){.name = "ctx", .source = SRC_ENV, .arg = "BAD_BOOL", .base_dir = ".", .type = IMG_TYPE_BOOL};
  CHECK(f->t, !context_load(&f->env, &c, &v, h1, err, sizeof err));
  CHECK_STR(f->t, err, "context `ctx`: environment variable BAD_BOOL: expected a bool (true or false), found \"yes\"");
  c = (ImgContext){.name = "ctx", .source = SRC_ENV, .arg = "NAME", .base_dir = ".", .type = IMG_TYPE_INT};
  CHECK(f->t, !context_load(&f->env, &c, &v, h1, err, sizeof err));
  CHECK_STR(f->t, err, "context `ctx`: environment variable NAME: expected an int, found an empty value");
  c = (ImgContext){.name = "ctx", .source = SRC_ENV, .arg = "LATIN", .base_dir = ".", .type = IMG_TYPE_STRING};
  CHECK(f->t, !context_load(&f->env, &c, &v, h1, err, sizeof err));
  CHECK_STR(f->t, err, "context `ctx`: environment variable LATIN: expected UTF-8 text, found byte 0xe9 at byte 4");
  /* no getenv: nothing is set */
  f->env.getenv = NULL;
  c = (ImgContext){.name = "ctx", .source = SRC_ENV, .arg = "PORT", .base_dir = ".", .type = IMG_TYPE_INT};
  CHECK(f->t, !context_load(&f->env, &c, &v, h1, err, sizeof err));
  f->env.getenv = fake_getenv;
}

/* ---- http --------------------------------------------------------------------------------------- */

static void test_http(Fixture *f) {
  unsigned char h[32], want[32];
  EXPECT_ERROR(f, SRC_HTTP, "https://example.com/kb.md", IMG_TYPE_STRING,
               "context `ctx`: https://example.com/kb.md: expected a run that may use the network, found http "
               "sources off (flowc test reads them only with --allow-network)");
  f->env.fetch = fake_fetch;
  f->env.fetch_ctx = &f->fetch;
  f->fetch = (FakeFetch){.body = "# Policy\nBe kind.\n", .len = 18};
  Value v = EXPECT_OK(f, SRC_HTTP, "https://example.com/kb.md", IMG_TYPE_STRING, h);
  CHECK_STR(f->t, str_of(v), "# Policy\nBe kind.\n");
  CHECK_STR(f->t, f->fetch.url, "https://example.com/kb.md");
  sha256_hash("# Policy\nBe kind.\n", 18, want);
  CHECK(f->t, memcmp(h, want, 32) == 0);
  value_release(v);
  f->fetch = (FakeFetch){.fail = true};
  EXPECT_ERROR(f, SRC_HTTP, "https://example.com/kb.md", IMG_TYPE_STRING,
               "context `ctx`: https://example.com/kb.md: expected the body of a GET, found an error: connection "
               "refused by the fake");
  f->fetch = (FakeFetch){.body = "ok\n\x80", .len = 4};
  EXPECT_ERROR(f, SRC_HTTP, "https://example.com/kb.md", IMG_TYPE_STRING,
               "context `ctx`: https://example.com/kb.md:2: expected UTF-8 text, found byte 0x80 at byte 1 of the "
               "line (offset 3 of the file)");
  f->env.max_file_bytes = 3;
  EXPECT_ERROR(f, SRC_HTTP, "https://example.com/kb.md", IMG_TYPE_STRING,
               "context `ctx`: https://example.com/kb.md: expected at most 3 bytes (the size cap of a text source), "
               "found 4 bytes");
  f->env.max_file_bytes = 0;
  f->fetch = (FakeFetch){.body = "x", .len = 1};
  EXPECT_ERROR(f, SRC_HTTP, "http://example.com/kb.md", IMG_TYPE_STRING,
               "context `ctx`: http://example.com/kb.md: expected an https:// URL");
  CHECK(f->t, f->fetch.calls == 0);
  f->env.fetch = NULL;
}

/* ---- hashes ------------------------------------------------------------------------------------- */

static void test_hashes(Fixture *f) {
  unsigned char h1[32], h2[32], h3[32];
  put(f, "h/doc.txt", "version one");
  Value v = EXPECT_OK(f, SRC_FILE, "h/doc.txt", IMG_TYPE_STRING, h1);
  value_release(v);
  v = EXPECT_OK(f, SRC_FILE, "h/doc.txt", IMG_TYPE_STRING, h2);
  value_release(v);
  CHECK(f->t, memcmp(h1, h2, 32) == 0);
  put(f, "h/doc.txt", "version two");
  v = EXPECT_OK(f, SRC_FILE, "h/doc.txt", IMG_TYPE_STRING, h3);
  value_release(v);
  CHECK(f->t, memcmp(h1, h3, 32) != 0);
  static const unsigned char zero[32];
  CHECK(f->t, memcmp(h1, zero, 32) != 0);
  /* a failed load leaves a zero hash */
  char err[256];
  CHECK(f->t, !load(f, SRC_FILE, "h/none.txt", IMG_TYPE_STRING, &v, h1, err, sizeof err));
  CHECK(f->t, memcmp(h1, zero, 32) == 0);
}

/* ---- main --------------------------------------------------------------------------------------- */

static bool setup(Fixture *f, Tally *t) {
  memset(f, 0, sizeof *f);
  f->t = t;
  const char *tmpdir = getenv("TMPDIR");
  snprintf(f->tmp, sizeof f->tmp, "%s/flow-context-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  if (!mkdtemp(f->tmp)) {
    fprintf(stderr, "test setup: cannot create a temporary folder %s: %s\n", f->tmp, strerror(errno));
    return false;
  }
  snprintf(f->root, sizeof f->root, "%s/pro*j[1]", f->tmp);
  mkdir(f->root, 0755);
  put_bytes(f->tmp, "outside/secret.txt", "secret", 6);
  if (!realpath(f->root, f->real_root)) return false;
  f->img = test_image(&f->ty);
  f->env = (ContextEnv){.img = f->img, .root = f->root, .getenv = fake_getenv, .env_ctx = &f->vars};
  return true;
}

int main(void) {
  Tally t = {0, 0};
  alarm(60); /* a read that blocks (a FIFO) must end the test, not hang it */
  Fixture f;
  if (!setup(&f, &t)) return 2;
  test_file(&f);
  test_paths(&f);
  test_symlinks(&f);
  test_special_files(&f);
  test_caps(&f);
  test_media(&f);
  test_json(&f);
  test_jsonl(&f);
  test_csv_good(&f);
  test_csv_bad(&f);
  test_glob(&f);
  test_glob_members(&f);
  test_env(&f);
  test_http(&f);
  test_hashes(&f);
  image_free(f.img);
  nftw(f.tmp, remove_one, 16, FTW_DEPTH | FTW_PHYS);
  return tally_report(&t);
}
