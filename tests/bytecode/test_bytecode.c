/* test_bytecode.c - tests of the bytecode format (runtime/bytecode.h), the
 * disassembler and SHA-256.
 *
 * Builds an Image by hand (types, constants, five functions, two models, a
 * policy, a prompt, two contexts, an eval, a flow and a test), then checks:
 * write -> read -> write gives identical bytes and hash; every truncation
 * and 2,000 seeded single-byte corruptions are rejected with a message;
 * targeted corruptions re-hashed so that they pass the hash check reach the
 * verifier and are rejected for the right reason; random re-hashed
 * corruptions never crash the reader or the disassembler; SHA-256 gives
 * the FIPS 180-4 test vectors. Prints one line per failed check and ends
 * with "N passed, M failed"; exits non-zero when anything failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally.h"
#include "bytecode.h"
#include "disasm.h"
#include "image.h"
#include "sha256.h"

/* A malloc'd copy of [s]; the Image owns it. */
static char *dup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (!p) abort();
  return memcpy(p, s, n);
}

/* A zeroed array of [n] items of [size] bytes. */
static void *zalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) abort();
  return p;
}

/* ---- the test image ------------------------------------------------------------------------ */

/* Indices of things in the test image that the checks refer to. */
enum { F_MAIN, F_RENDER, F_LOOP, F_EVAL, F_TEST, NFUNCS };

typedef struct Ids {
  uint32_t ticket, priority, ticket_list, tree, tree_list;
  uint32_t k_greeting, k_int, k_float, k_true, k_none, k_msg, k_score, k_negzero, k_nul, k_anon;
} Ids;

/* Store function [fn] with [n] instructions from [code] (positions cycle
 * through 0..3). */
static void set_func(Image *img, uint32_t fn, const char *name, uint32_t nparams, uint32_t nregs,
                     const Instr *code, uint32_t n) {
  ImgFunc *f = &img->funcs[fn];
  f->name = dup(name);
  f->nparams = nparams;
  f->nregs = nregs;
  f->ncode = n;
  f->code = zalloc(n, sizeof *f->code);
  f->pos = zalloc(n, sizeof *f->pos);
  memcpy(f->code, code, n * sizeof *code);
  for (uint32_t i = 0; i < n; i++)
    f->pos[i] = i % 4;
}

/* Find the builtin id of [name] through builtins.def. */
static uint32_t builtin_id_of(const char *name) {
  static const char *const names[] = {
#define X(id, nm, lo, hi) nm,
#include "builtins.def"
#undef X
  };
  for (uint32_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(names[i], name) == 0) return i;
  abort();
}

static Image *build_image(Ids *ids) {
  Image *img = image_new();

  /* files and positions */
  img->nfiles = 1;
  img->files = zalloc(1, sizeof(char *));
  img->files[0] = dup("triage.flow");
  img->npositions = 4;
  img->positions = zalloc(4, sizeof(ImgPos));
  for (uint32_t i = 0; i < 4; i++)
    img->positions[i] = (ImgPos){0, 3 + i * 4, 5 + i};

  /* types */
  uint32_t str_list = image_intern_type(img, &(ImgType){.kind = IT_LIST, .elem = IMG_TYPE_STRING});
  char *tnames[] = {"id", "subject", "tags"};
  uint32_t ttypes[] = {IMG_TYPE_STRING, IMG_TYPE_STRING, str_list};
  char *tdocs[] = {NULL, "the subject line", NULL};
  ids->ticket = image_intern_type(img, &(ImgType){.kind = IT_RECORD,
                                                  .name = "Ticket",
                                                  .nfields = 3,
                                                  .field_names = tnames,
                                                  .field_types = ttypes,
                                                  .field_docs = tdocs});
  char *variants[] = {"low", "normal", "high"};
  ids->priority = image_intern_type(
      img, &(ImgType){.kind = IT_ENUM, .name = "Priority", .nvariants = 3, .variants = variants});
  ids->ticket_list = image_intern_type(img, &(ImgType){.kind = IT_LIST, .elem = ids->ticket});
  /* A recursive record: Tree { children: Tree[] }. */
  ids->tree_list = image_intern_type(img, &(ImgType){.kind = IT_LIST, .elem = img->ntypes + 1});
  char *trnames[] = {"children"};
  uint32_t trtypes[] = {ids->tree_list};
  ids->tree = image_intern_type(
      img,
      &(ImgType){
          .kind = IT_RECORD, .name = "Tree", .nfields = 1, .field_names = trnames, .field_types = trtypes});

  /* constants */
  ids->k_greeting = image_add_const(
      img, value_cstr("Hello, {name}! This greeting is much longer than forty characters, \"quoted\"."));
  ids->k_int = image_add_const(img, value_int(-1234567890123LL));
  ids->k_float = image_add_const(img, value_float(3.5));
  ids->k_true = image_add_const(img, value_bool(true));
  ids->k_none = image_add_const(img, value_none());
  ids->k_msg = image_add_const(img, value_cstr("the ticket has no subject"));
  ids->k_score = image_add_const(img, value_cstr("quality"));
  ids->k_negzero = image_add_const(img, value_float(-0.0));
  ids->k_nul = image_add_const(img, value_str("h\xc3\xa9llo\0x", 8));
  ids->k_anon = image_add_const(img, value_cstr("anon"));

  /* functions */
  img->nfuncs = NFUNCS;
  img->funcs = zalloc(NFUNCS, sizeof(ImgFunc));
  uint32_t len = builtin_id_of("len");
  const Instr main_code[] = {
      {OP_LOADK, 1, ids->k_greeting, 0, 0},  /* 0 */
      {OP_GETFIELD, 2, 0, 1, 0},             /* 1 */
      {OP_CALLB, 3, len, 2, 1},              /* 2 */
      {OP_LOADI, 4, 3, 0, 0},                /* 3 */
      {OP_GT, 5, 3, 4, 0},                   /* 4 */
      {OP_JMPF, 5, 7, 0, 0},                 /* 5 */
      {OP_FAIL, 1, 0, 0, 0},                 /* 6 */
      {OP_CALL, 5, F_RENDER, 0, 1},          /* 7 */
      {OP_LOADNONE, 6, 0, 0, 0},             /* 8 */
      {OP_LOADNONE, 7, 0, 0, 0},             /* 9 */
      {OP_PROMPT, 2, 0, 5, 0},               /* 10 */
      {OP_CONTEXT, 3, 0, 0, 0},              /* 11 */
      {OP_LOADENUM, 4, ids->priority, 2, 0}, /* 12 */
      {OP_NEWREC, 1, ids->ticket, 2, 0},     /* 13 */
      {OP_NEWLIST, 5, 1, 1, 0},              /* 14 */
      {OP_LOADI, 6, 4, 0, 0},                /* 15 */
      {OP_MOVE, 7, 3, 0, 0},                 /* 16 */
      {OP_FORK, 9, F_LOOP, 5, 1},            /* 17 */
      {OP_NEWMAP, 10, 2, 1, 0},              /* 18 */
      {OP_WARN, 1, 0, 0, 0},                 /* 19 */
      {OP_RET, 9, 0, 0, 0},                  /* 20 */
  };
  set_func(img, F_MAIN, "flow main", 1, 12, main_code, sizeof main_code / sizeof main_code[0]);
  const Instr render_code[] = {
      {OP_GETFIELD, 1, 0, 1, 0}, {OP_TOSTR, 2, 1, 0, 0}, {OP_NEWLIST, 3, 2, 1, 0}, {OP_RET, 3, 0, 0, 0}};
  set_func(img, F_RENDER, "prompt classify (render)", 1, 4, render_code, 4);
  const Instr loop_code[] = {{OP_YIELD, 0, 0, 0, 0}, {OP_RETYIELDS, 0, 0, 0, 0}};
  set_func(img, F_LOOP, "for@3:5", 2, 2, loop_code, 2);
  const Instr eval_code[] = {{OP_LOADBOOL, 1, 1, 0, 0},         {OP_ASSERT, 1, ids->k_msg, 0, 0},
                             {OP_LOADK, 2, ids->k_float, 0, 0}, {OP_SCORE, 2, ids->k_score, 0, 0},
                             {OP_EVALRES, 0, 0, 0, 0},          {OP_RET, 0, 0, 0, 0}};
  set_func(img, F_EVAL, "eval reply_ok", 1, 3, eval_code, 6);
  const Instr test_code[] = {
      {OP_LOADI, 0, 0, 0, 0}, {OP_LOADK, 2, ids->k_msg, 0, 0}, {OP_NOP, 0, 0, 0, 0}, {OP_RETRY, 0, 2, 2, 2}};
  set_func(img, F_TEST, "test basic", 0, 3, test_code, 4);

  /* models and policies */
  img->nmodels = 2;
  img->models = zalloc(2, sizeof(ImgModel));
  ImgModel *m = &img->models[0];
  m->name = dup("fast");
  m->provider = PROVIDER_OPENAI;
  m->model = dup("gpt-4o-mini");
  m->api_key_env = dup("OPENAI_API_KEY");
  m->params.set = PARAM_TEMPERATURE | PARAM_MAX_TOKENS | PARAM_STOP;
  m->params.temperature = 0.2;
  m->params.max_tokens = 200;
  m->params.nstop = 1;
  m->params.stop = zalloc(1, sizeof(char *));
  m->params.stop[0] = dup("END");
  m->context_window = 128000;
  m->vision = true;
  m->json_mode = true;
  m->concurrency = 4;
  m->price_input = 1.5e-7;
  m->price_output = 6e-7;
  m = &img->models[1];
  m->name = dup("backup");
  m->provider = PROVIDER_MOCK;
  m->base_url = dup("http://localhost:1234/v1");

  img->npolicies = 1;
  img->policies = zalloc(1, sizeof(ImgPolicy));
  ImgPolicy *p = &img->policies[0];
  p->name = dup("careful");
  p->retry = 3;
  p->backoff = BACKOFF_EXPONENTIAL;
  p->base_ms = 100;
  p->factor = 2;
  p->max_ms = 2000;
  p->timeout_ms = 5000;
  p->nfallback = 1;
  p->fallback = zalloc(1, sizeof(uint32_t));
  p->fallback[0] = 1;
  p->cache = true;

  /* prompt, contexts, eval, flow, test */
  img->nprompts = 1;
  img->prompts = zalloc(1, sizeof(ImgPrompt));
  ImgPrompt *pr = &img->prompts[0];
  pr->name = dup("classify");
  pr->render = F_RENDER;
  pr->nparams = 1;
  pr->out_type = ids->priority;
  pr->model = 0;
  pr->policy = 0;
  pr->params.set = PARAM_SEED;
  pr->params.seed = 7;
  pr->schema = dup("{\"enum\":[\"low\",\"normal\",\"high\"]}");
  pr->pos = 1;

  img->ncontexts = 2;
  img->contexts = zalloc(2, sizeof(ImgContext));
  ImgContext *c = &img->contexts[0];
  c->name = dup("faq");
  c->source = SRC_FILE;
  c->arg = dup("faq.md");
  c->base_dir = dup("/srv/flows");
  c->type = IMG_TYPE_STRING;
  c->pos = 2;
  c = &img->contexts[1];
  c->name = dup("who");
  c->source = SRC_ENV;
  c->arg = dup("WHO");
  c->has_default = true;
  c->default_const = ids->k_anon;
  c->type = IMG_TYPE_STRING;
  c->pos = 3;

  img->nevals = 1;
  img->evals = zalloc(1, sizeof(ImgEval));
  img->evals[0].name = dup("reply_ok");
  img->evals[0].fn = F_EVAL;
  img->evals[0].nasserts = 1;
  img->evals[0].assert_messages = zalloc(1, sizeof(char *));
  img->evals[0].assert_messages[0] = dup("the reply is short");

  img->nflows = 1;
  img->flows = zalloc(1, sizeof(ImgFlow));
  ImgFlow *fl = &img->flows[0];
  fl->name = dup("main");
  fl->doc = dup("Triage one support ticket.");
  fl->fn = F_MAIN;
  fl->nparams = 1;
  fl->param_names = zalloc(1, sizeof(char *));
  fl->param_docs = zalloc(1, sizeof(char *));
  fl->param_types = zalloc(1, sizeof(uint32_t));
  fl->param_names[0] = dup("ticket");
  fl->param_docs[0] = dup("the ticket, as received");
  fl->param_types[0] = ids->ticket;
  fl->ret_type = ids->ticket_list;

  img->ntests = 1;
  img->tests = zalloc(1, sizeof(ImgTest));
  img->tests[0].title = dup("basic triage");
  img->tests[0].fn = F_TEST;
  img->main_flow = 0;
  return img;
}

/* ---- helpers ---------------------------------------------------------------------------------- */

/* A deterministic pseudo-random sequence (xorshift64*). */
static uint64_t next_rand(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545F4914F6CDD1DULL;
}

static unsigned char *copy_bytes(const unsigned char *p, size_t n) {
  unsigned char *q = malloc(n ? n : 1);
  if (!q) abort();
  if (n) memcpy(q, p, n);
  return q;
}

/* Recompute the trailing hash of a file, so that corruptions reach the
 * verifier. */
static void rehash(unsigned char *p, size_t n) {
  sha256_hash(p, n - BYTECODE_HASH_SIZE, p + n - BYTECODE_HASH_SIZE);
}

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

/* Offset of the only occurrence of instruction [in] in the file; aborts
 * the test when it is missing or not unique. */
static size_t find_instr(const unsigned char *p, size_t n, Instr in) {
  unsigned char pat[20];
  put32(pat, in.op);
  put32(pat + 4, in.a);
  put32(pat + 8, in.b);
  put32(pat + 12, in.c);
  put32(pat + 16, in.d);
  size_t found = SIZE_MAX;
  for (size_t i = 0; i + 20 <= n; i++)
    if (memcmp(p + i, pat, 20) == 0) {
      if (found != SIZE_MAX) {
        fprintf(stderr, "test bug: instruction %u found twice\n", in.op);
        exit(2);
      }
      found = i;
    }
  if (found == SIZE_MAX) {
    fprintf(stderr, "test bug: instruction %u not found\n", in.op);
    exit(2);
  }
  return found;
}

/* The disassembly of [img] as a malloc'd string. */
static char *disasm_text(const Image *img) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (!f) abort();
  disasm_image(f, img);
  fclose(f);
  return buf;
}

/* Read [n] bytes at [p]; expect rejection with a message containing
 * [want]. */
static void expect_reject_at(Tally *t, const unsigned char *p, size_t n, const char *want, const char *file,
                             int line) {
  char err[512];
  Image *img = bytecode_read(p, n, err, sizeof err);
  bool ok = img == NULL && strstr(err, want) != NULL;
  if (!check_at(t, ok, file, line, want))
    fprintf(stderr, "  expected rejection with \"%s\", got %s: \"%s\"\n", want, img ? "an image" : "NULL",
            img ? "" : err);
  image_free(img);
}
#define EXPECT_REJECT(t, p, n, want) expect_reject_at((t), (p), (n), (want), __FILE__, __LINE__)

/* ---- the tests -------------------------------------------------------------------------------- */

static void test_sha256(Tally *t) {
  unsigned char d[32];
  char hex[65];
  sha256_hash("abc", 3, d);
  sha256_hex(d, hex);
  CHECK(t, strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
  const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  sha256_hash(m448, strlen(m448), d);
  sha256_hex(d, hex);
  CHECK(t, strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
  /* One million 'a', fed in uneven pieces through the incremental API. */
  Sha256 s;
  sha256_init(&s);
  char a[997];
  memset(a, 'a', sizeof a);
  size_t left = 1000000;
  for (size_t piece = 1; left; piece = piece % 997 + 1) {
    size_t k = piece < left ? piece : left;
    sha256_update(&s, a, k);
    left -= k;
  }
  sha256_final(&s, d);
  sha256_hex(d, hex);
  CHECK(t, strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
  sha256_hash("", 0, d);
  sha256_hex(d, hex);
  CHECK(t, strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
}

/* Write, read, write: the same bytes, the same hash, the same listing, and
 * every field preserved. */
static void test_round_trip(Tally *t, const Image *img, const Ids *ids, const unsigned char *bytes,
                            size_t len) {
  unsigned char *again;
  size_t again_len;
  CHECK(t, bytecode_write(img, &again, &again_len));
  CHECK(t, again_len == len && memcmp(again, bytes, len) == 0); /* deterministic */
  free(again);
  CHECK(t, memcmp(bytes, BYTECODE_MAGIC, BYTECODE_MAGIC_SIZE) == 0);

  char err[512];
  Image *back = bytecode_read(bytes, len, err, sizeof err);
  if (!CHECK(t, back != NULL)) {
    fprintf(stderr, "  read failed: %s\n", err);
    return;
  }
  CHECK(t, memcmp(back->hash, bytes + len - 32, 32) == 0);
  CHECK(t, bytecode_write(back, &again, &again_len));
  CHECK(t, again_len == len && memcmp(again, bytes, len) == 0);
  free(again);

  Image *stamped = build_image(&(Ids){0});
  CHECK(t, bytecode_stamp(stamped));
  CHECK(t, memcmp(stamped->hash, back->hash, 32) == 0);
  char *l1 = disasm_text(stamped), *l2 = disasm_text(back);
  CHECK(t, strcmp(l1, l2) == 0);
  CHECK(t, strstr(l2, "CALLB      r3, builtin len, r2, 1") != NULL);
  CHECK(t, strstr(l2, "JMPF       r5, -> 7") != NULL);
  CHECK(t, strstr(l2, "PROMPT     r2, prompt classify, r5") != NULL);
  CHECK(t, strstr(l2, "NEWREC     r1, type Ticket, r2") != NULL);
  CHECK(t, strstr(l2, "FORK       r9, f2 `for@3:5`, r5, 1") != NULL);
  CHECK(t, strstr(l2, "LOADK      r1, k0 \"Hello, {name}! This greeting is much lon\xe2\x80\xa6\"") != NULL);
  CHECK(t, strstr(l2, "triage.flow:7:6") != NULL);
  CHECK(t, strstr(l2, "record Tree { children: Tree[] }") != NULL);
  CHECK(t, strstr(l2, "function f0 `flow main` (params 1, regs 12, 21 instructions)") != NULL);
  CHECK(t, strstr(l2, "main       flow 0 `main`") != NULL);
  free(l1);
  free(l2);
  image_free(stamped);

  /* Fields the VM and the docs rely on. */
  CHECK(t, back->ntypes == img->ntypes && back->types[ids->ticket].nfields == 3);
  CHECK(t, strcmp(back->types[ids->ticket].field_docs[1], "the subject line") == 0);
  CHECK(t, back->types[ids->ticket].field_docs[0] == NULL);
  CHECK(t, back->types[ids->tree_list].elem == ids->tree);
  CHECK(t, strcmp(back->flows[0].doc, "Triage one support ticket.") == 0);
  CHECK(t, strcmp(back->flows[0].param_docs[0], "the ticket, as received") == 0);
  CHECK(t, back->consts[ids->k_int].tag == V_INT && back->consts[ids->k_int].u.i == -1234567890123LL);
  Value nz = back->consts[ids->k_negzero];
  CHECK(t, nz.tag == V_FLOAT && nz.u.f == 0.0 && memcmp(&nz.u.f, &(double){-0.0}, sizeof(double)) == 0);
  Value nul = back->consts[ids->k_nul];
  CHECK(t, nul.tag == V_STR && value_as_str(nul)->len == 8 &&
               memcmp(value_as_str(nul)->data, "h\xc3\xa9llo\0x", 8) == 0);
  CHECK(t, back->consts[ids->k_true].tag == V_BOOL && back->consts[ids->k_true].u.b);
  CHECK(t, back->consts[ids->k_none].tag == V_NONE);
  CHECK(t, back->models[0].params.nstop == 1 && strcmp(back->models[0].params.stop[0], "END") == 0);
  CHECK(t, back->models[0].price_input == 1.5e-7 && back->models[0].vision && !back->models[0].audio);
  CHECK(t,
        back->models[1].model == NULL && strcmp(back->models[1].base_url, "http://localhost:1234/v1") == 0);
  CHECK(t, back->policies[0].nfallback == 1 && back->policies[0].fallback[0] == 1 && back->policies[0].cache);
  CHECK(t, back->prompts[0].policy == 0 && back->prompts[0].params.seed == 7);
  CHECK(t, back->contexts[1].has_default && back->contexts[1].default_const == ids->k_anon);
  CHECK(t, back->contexts[0].base_dir && strcmp(back->contexts[0].base_dir, "/srv/flows") == 0);
  CHECK(t, strcmp(back->evals[0].assert_messages[0], "the reply is short") == 0);
  CHECK(t, strcmp(back->tests[0].title, "basic triage") == 0 && back->tests[0].fn == F_TEST);
  CHECK(t, back->main_flow == 0);
  CHECK(t, back->funcs[F_MAIN].ncode == 21 && back->funcs[F_MAIN].code[17].op == OP_FORK);

  /* A loaded image can still grow through the image.h helpers. */
  uint32_t before = back->ntypes;
  uint32_t opt = image_intern_type(back, &(ImgType){.kind = IT_OPT, .elem = ids->tree});
  CHECK(t, opt == before && back->ntypes == before + 1);
  uint32_t k = image_add_const(back, value_cstr("quality"));
  CHECK(t, k == ids->k_score);
  image_free(back);

  /* No main flow. */
  Image *nomain = build_image(&(Ids){0});
  nomain->main_flow = -1;
  unsigned char *b2;
  size_t n2;
  CHECK(t, bytecode_write(nomain, &b2, &n2));
  back = bytecode_read(b2, n2, err, sizeof err);
  CHECK(t, back && back->main_flow == -1);
  CHECK(t, back && memcmp(back->hash, bytes + len - 32, 32) != 0); /* a different program, a different id */
  image_free(back);
  free(b2);
  image_free(nomain);
}

/* Every proper prefix of the file is rejected as truncated. */
static void test_truncation(Tally *t, const unsigned char *bytes, size_t len) {
  int bad = 0;
  for (size_t n = 0; n < len; n++) {
    char err[512] = "x";
    unsigned char *copy = copy_bytes(bytes, n); /* exact-size buffer: ASan sees overreads */
    Image *img = bytecode_read(copy, n, err, sizeof err);
    const char *want = n == 0 ? "not a flow bytecode file" : "truncated: ";
    if (img || strncmp(err, want, strlen(want)) != 0) {
      if (bad++ < 5) fprintf(stderr, "  truncation to %zu bytes: %s\n", n, img ? "accepted" : err);
      image_free(img);
    }
    free(copy);
  }
  CHECK(t, bad == 0);
  char err[512];
  bytecode_read(bytes, len - 100, err, sizeof err);
  CHECK(t,
        strstr(err, "truncated: section `") && strstr(err, "bytes at offset") && strstr(err, ", file has "));
  CHECK(t, bytecode_read(NULL, 0, err, sizeof err) == NULL && err[0]);
  Image *quiet = bytecode_read(bytes, len, NULL, 0); /* no message buffer */
  CHECK(t, quiet != NULL);
  image_free(quiet);
  CHECK(t, bytecode_read(bytes, 5, NULL, 0) == NULL);
}

/* 2,000 seeded single-byte corruptions: all rejected with a message. */
static void test_corruption(Tally *t, const unsigned char *bytes, size_t len) {
  uint64_t seed = 0x9E3779B97F4A7C15ULL;
  int accepted = 0, silent = 0, by_hash = 0;
  unsigned char *copy = copy_bytes(bytes, len);
  for (int i = 0; i < 2000; i++) {
    size_t at = (size_t)(next_rand(&seed) % len);
    unsigned char x = (unsigned char)(next_rand(&seed) % 255 + 1);
    copy[at] ^= x;
    char err[512] = "";
    Image *img = bytecode_read(copy, len, err, sizeof err);
    if (img)
      accepted++;
    else if (!err[0])
      silent++;
    else if (strstr(err, "corrupted: content hash mismatch"))
      by_hash++;
    image_free(img);
    copy[at] ^= x;
  }
  free(copy);
  CHECK(t, accepted == 0);
  CHECK(t, silent == 0);
  CHECK(t, by_hash > 1500); /* most bytes are content; the rest fail framing */
}

/* Corrupt [bytes] at [off] with the 32-bit value [v], re-hash, and expect
 * the verifier to reject it with [want]. */
static void patch_expect_at(Tally *t, const unsigned char *bytes, size_t len, size_t off, uint32_t v,
                            const char *want, const char *file, int line) {
  unsigned char *copy = copy_bytes(bytes, len);
  put32(copy + off, v);
  rehash(copy, len);
  expect_reject_at(t, copy, len, want, file, line);
  free(copy);
}
#define PATCH_EXPECT(t, b, n, off, v, want)                                                                  \
  patch_expect_at((t), (b), (n), (off), (v), (want), __FILE__, __LINE__)

/* Targeted corruptions, re-hashed so that the hash check passes: the
 * verifier must catch each one and say why. */
static void test_verifier(Tally *t, const Image *img, const Ids *ids, const unsigned char *bytes,
                          size_t len) {
  const ImgFunc *fm = &img->funcs[F_MAIN];
  size_t loadk = find_instr(bytes, len, fm->code[0]);
  size_t jmpf = find_instr(bytes, len, fm->code[5]);
  size_t callb = find_instr(bytes, len, fm->code[2]);
  size_t fail_at = find_instr(bytes, len, fm->code[6]);
  size_t call = find_instr(bytes, len, fm->code[7]);
  size_t prompt = find_instr(bytes, len, fm->code[10]);
  size_t enm = find_instr(bytes, len, fm->code[12]);
  size_t newrec = find_instr(bytes, len, fm->code[13]);
  size_t fork = find_instr(bytes, len, fm->code[17]);
  size_t newmap = find_instr(bytes, len, fm->code[18]);
  size_t newlist = find_instr(bytes, len, fm->code[14]);
  size_t ret_main = find_instr(bytes, len, fm->code[20]);
  size_t retyields = find_instr(bytes, len, img->funcs[F_LOOP].code[1]);
  size_t assert_at = find_instr(bytes, len, img->funcs[F_EVAL].code[1]);
  size_t score = find_instr(bytes, len, img->funcs[F_EVAL].code[3]);
  size_t retry = find_instr(bytes, len, img->funcs[F_TEST].code[3]);
  size_t body_end = len - 32;

  /* bad opcode, registers, constants, jumps */
  PATCH_EXPECT(t, bytes, len, loadk, OP_COUNT, "expected an opcode < ");
  PATCH_EXPECT(t, bytes, len, loadk + 4, 12, "LOADK operand a: expected a register < 12, found 12");
  PATCH_EXPECT(t, bytes, len, loadk + 8, img->nconsts, "LOADK operand b: expected a constant index < ");
  PATCH_EXPECT(t, bytes, len, jmpf + 8, 21, "JMPF operand b: expected a jump target < 21, found 21");
  PATCH_EXPECT(t, bytes, len, loadk + 12, 5, "LOADK operand c is unused: expected 0, found 5");
  PATCH_EXPECT(t, bytes, len, fail_at + 4, 99, "FAIL operand a: expected a register < 12, found 99");
  PATCH_EXPECT(t, bytes, len, assert_at + 8, ids->k_float, "ASSERT operand b: expected a string constant");
  PATCH_EXPECT(t, bytes, len, score + 8, ids->k_none, "SCORE operand b: expected a string constant");
  PATCH_EXPECT(t, bytes, len, assert_at + 12, (uint32_t)-1, "ASSERT operand c: expected an assertion number");
  PATCH_EXPECT(t, bytes, len, retry + 16, 3, "RETRY operand d: expected a register < 3, found 3");
  PATCH_EXPECT(t, bytes, len, retry + 4, 2, "RETRY counter and feedback");
  /* builtins and calls */
  PATCH_EXPECT(t, bytes, len, callb + 8, 9999, "CALLB operand b: expected a builtin id < ");
  PATCH_EXPECT(t, bytes, len, callb + 16, 2, "CALLB of `len`: expected 1 to 1 arguments, found 2");
  PATCH_EXPECT(t, bytes, len, callb + 12, 12, "CALLB arguments: expected registers below 12");
  PATCH_EXPECT(t, bytes, len, call + 8, NFUNCS, "CALL operand b: expected a function index < 5");
  PATCH_EXPECT(t, bytes, len, call + 16, 0, "CALL of function 1: expected 1 arguments, found 0");
  PATCH_EXPECT(t, bytes, len, prompt + 8, 1, "PROMPT operand b: expected a prompt index < 1, found 1");
  PATCH_EXPECT(t, bytes, len, prompt + 12, 10, "PROMPT messages, feedback and override");
  PATCH_EXPECT(t, bytes, len, fork + 16, 0, "FORK of function 2: expected 1 captures");
  PATCH_EXPECT(t, bytes, len, fork + 12, 10, "FORK items, width and captures");
  PATCH_EXPECT(t, bytes, len, newmap + 12, 6, "NEWMAP key/value pairs");
  PATCH_EXPECT(t, bytes, len, newlist + 12, 20,
               "NEWLIST range: expected registers below 12 (the function's register count), found r1 .. r20");
  /* types in instructions */
  PATCH_EXPECT(t, bytes, len, newrec + 8, ids->priority, "NEWREC operand b: expected a record type");
  PATCH_EXPECT(t, bytes, len, newrec + 12, 10, "NEWREC fields");
  PATCH_EXPECT(t, bytes, len, enm + 12, 3, "LOADENUM operand c: expected a variant < 3, found 3");
  PATCH_EXPECT(t, bytes, len, enm + 8, ids->ticket, "LOADENUM operand b: expected an enum type");
  /* control flow */
  PATCH_EXPECT(t, bytes, len, retyields, OP_NOP, "expected the last instruction to be RET");
  PATCH_EXPECT(t, bytes, len, ret_main, OP_YIELD, "found YIELD");
  /* positions, types, main flow */
  PATCH_EXPECT(t, bytes, len, loadk + 20 * fm->ncode, 4,
               "instruction position: expected a position index < 4");
  PATCH_EXPECT(t, bytes, len, body_end - 4, 1, "main flow: expected -1 or a flow index < 1, found 1");
  {
    /* The list of Ticket: kind 8, no name, element. */
    unsigned char pat[9] = {IT_LIST, 0xff, 0xff, 0xff, 0xff};
    put32(pat + 5, ids->ticket);
    size_t at = 0;
    while (at + 9 <= len && memcmp(bytes + at, pat, 9) != 0)
      at++;
    CHECK(t, at + 9 <= len);
    PATCH_EXPECT(t, bytes, len, at + 5, img->ntypes, "element type: expected a type index < ");
    PATCH_EXPECT(t, bytes, len, at + 5, ids->ticket_list, "is a list, optional or map of itself");
  }
  /* header and framing */
  PATCH_EXPECT(t, bytes, len, 8, 7, "bytecode format version 7 is not supported; this flowc reads version 1");
  PATCH_EXPECT(t, bytes, len, 0, 0x574f4c46 ^ 1, "not a flow bytecode file: expected the magic bytes");
  PATCH_EXPECT(t, bytes, len, 12, 0x53525453 + 1, "expected section `strings` (tag STRS) at offset 12");
  {
    unsigned char *copy = copy_bytes(bytes, len);
    copy[len / 2] ^= 0x40;
    EXPECT_REJECT(t, copy, len, "corrupted: content hash mismatch");
    free(copy);
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, bytes, len);
    longer[len] = 0;
    EXPECT_REJECT(t, longer, len + 1, "expected the 32-byte content hash at offset");
    free(longer);
  }
}

/* Random corruptions of 1 to 8 bytes, re-hashed: whatever the reader
 * decides, it must not crash, must explain a rejection, and what it accepts
 * must write, read and disassemble again. */
static void test_fuzz_rehashed(Tally *t, const unsigned char *bytes, size_t len) {
  uint64_t seed = 42;
  int silent = 0, unstable = 0, accepted = 0;
  unsigned char *copy = copy_bytes(bytes, len);
  for (int i = 0; i < 3000; i++) {
    memcpy(copy, bytes, len);
    int nbytes = 1 + (int)(next_rand(&seed) % 8);
    for (int k = 0; k < nbytes; k++) {
      size_t at = 12 + (size_t)(next_rand(&seed) % (len - 44));
      uint64_t r = next_rand(&seed);
      /* Small values and 0xff are where index bugs hide. */
      copy[at] = (unsigned char)(r % 3 == 0 ? r >> 8 : r % 3 == 1 ? (r >> 8) % 4 : 0xff);
    }
    rehash(copy, len);
    char err[512] = "";
    Image *img = bytecode_read(copy, len, err, sizeof err);
    if (!img) {
      if (!err[0]) silent++;
      continue;
    }
    accepted++;
    unsigned char *w1 = NULL, *w2 = NULL;
    size_t n1 = 0, n2 = 0;
    Image *again = NULL;
    if (bytecode_write(img, &w1, &n1) && (again = bytecode_read(w1, n1, err, sizeof err)) &&
        bytecode_write(again, &w2, &n2) && n1 == n2 && memcmp(w1, w2, n1) == 0) {
      free(disasm_text(again));
    } else {
      unstable++;
    }
    free(w1);
    free(w2);
    image_free(again);
    image_free(img);
  }
  free(copy);
  CHECK(t, silent == 0);
  CHECK(t, unstable == 0);
  CHECK(t, accepted > 0); /* some corruptions only change data (a line, a float) */
}

/* ---- the opcode table of docs/bytecode.md ---------------------------------------------------- */

static const char *const OP_DOCS[] = {
#define X(name, kinds, doc) doc,
#include "opcodes.def"
#undef X
};

/* The markdown table of the instruction set, as a malloc'd string. */
static char *opcode_table(void) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (!f) abort();
  fprintf(f, "| # | opcode | a b c d | meaning |\n|---|---|---|---|\n");
  for (int op = 0; op < OP_COUNT; op++) {
    fprintf(f, "| %d | `%s` | `%s` | ", op, op_name((Op)op), op_kinds((Op)op));
    for (const char *d = OP_DOCS[op]; *d; d++) {
      if (*d == '|') fputc('\\', f);
      fputc(*d, f);
    }
    fprintf(f, " |\n");
  }
  fclose(f);
  return buf;
}

#define TABLE_BEGIN "<!-- opcode table: generated by `test_bytecode --opcode-table` -->\n"
#define TABLE_END "<!-- end of opcode table -->"

/* The table between the markers of [path] must be the generated one. */
static void test_docs(Tally *t, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!check_at(t, f != NULL, __FILE__, __LINE__, "docs/bytecode.md can be opened")) return;
  char *text = NULL;
  size_t cap = 0, n = 0;
  for (int c; (c = fgetc(f)) != EOF;) {
    if (n + 2 > cap) {
      cap = cap ? cap * 2 : 4096;
      text = realloc(text, cap);
      if (!text) abort();
    }
    text[n++] = (char)c;
  }
  fclose(f);
  if (!text) return;
  text[n] = '\0';
  char *table = opcode_table();
  char *begin = strstr(text, TABLE_BEGIN);
  char *end = begin ? strstr(begin, TABLE_END) : NULL;
  bool ok = begin && end && (size_t)(end - begin) == strlen(TABLE_BEGIN) + strlen(table) &&
            memcmp(begin + strlen(TABLE_BEGIN), table, strlen(table)) == 0;
  if (!CHECK(t, ok))
    fprintf(stderr,
            "  the opcode table in %s differs from runtime/opcodes.def; regenerate it with "
            "`test_bytecode --opcode-table`\n",
            path);
  free(table);
  free(text);
}

/* `test_bytecode [--docs docs/bytecode.md]` runs the tests (and checks the
 * opcode table of the docs); `--opcode-table` prints that table;
 * `--write FILE` writes the test image's bytecode to FILE (a sample for
 * `flowc disasm`). */
int main(int argc, char **argv) {
  Tally t = {0, 0};
  if (argc == 2 && strcmp(argv[1], "--opcode-table") == 0) {
    char *table = opcode_table();
    fputs(table, stdout);
    free(table);
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "--docs") == 0) test_docs(&t, argv[2]);
  if (argc == 3 && strcmp(argv[1], "--write") == 0) {
    Ids ids;
    Image *img = build_image(&ids);
    unsigned char *bytes;
    size_t len;
    bool ok = bytecode_write(img, &bytes, &len);
    FILE *f = ok ? fopen(argv[2], "wb") : NULL;
    ok = f && fwrite(bytes, 1, len, f) == len;
    if (f && fclose(f) != 0) ok = false;
    if (ok) free(bytes);
    image_free(img);
    return ok ? 0 : 1;
  }
  test_sha256(&t);

  Ids ids;
  Image *img = build_image(&ids);
  unsigned char *bytes;
  size_t len;
  if (!CHECK(&t, bytecode_write(img, &bytes, &len))) {
    printf("%d passed, %d failed\n", t.passed, t.failed);
    return 1;
  }
  test_round_trip(&t, img, &ids, bytes, len);
  test_truncation(&t, bytes, len);
  test_corruption(&t, bytes, len);
  test_verifier(&t, img, &ids, bytes, len);
  test_fuzz_rehashed(&t, bytes, len);
  free(bytes);
  image_free(img);

  printf("%d passed, %d failed\n", t.passed, t.failed);
  return t.failed ? 1 : 0;
}
