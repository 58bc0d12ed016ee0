/* bytecode.c - writing and verified reading of `.flowbc` files.
 *
 * The layout is documented in docs/bytecode.md: a header (magic, format
 * version), fourteen sections in a fixed order, each a 4-byte tag, a 32-bit
 * length and a payload, and the SHA-256 of everything before it. All
 * integers are little-endian and fixed width; strings live once in the
 * strings section (in order of first use) and are named by index elsewhere.
 *
 * Reading happens in three passes: framing (magic, version, section tags and
 * lengths, which is where truncation is caught), the content hash, and a
 * field-by-field parse that checks every index against the table it names.
 * Instructions are verified last, when all tables are known. The reader
 * never trusts a count: each is bounded by the bytes left before anything is
 * allocated. */
#include "bytecode.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"
#include "sha256.h"

/* ---- the format's tables --------------------------------------------------- */

/* The sections, in file order. */
typedef enum Section {
  SEC_STRINGS,
  SEC_FILES,
  SEC_POSITIONS,
  SEC_CONSTS,
  SEC_TYPES,
  SEC_FUNCS,
  SEC_MODELS,
  SEC_POLICIES,
  SEC_PROMPTS,
  SEC_CONTEXTS,
  SEC_EVALS,
  SEC_FLOWS,
  SEC_TESTS,
  SEC_MAIN,
  SEC_COUNT,
  SEC_NONE = SEC_COUNT, /* not inside a section (header, framing, hash) */
} Section;

static const struct {
  char tag[5];
  const char *name;
} SECTIONS[SEC_COUNT] = {
    {"STRS", "strings"}, {"FILE", "files"},     {"POSN", "positions"}, {"CNST", "constants"},
    {"TYPE", "types"},   {"FUNC", "functions"}, {"MODL", "models"},    {"PLCY", "policies"},
    {"PRMT", "prompts"}, {"CTXT", "contexts"},  {"EVAL", "evals"},     {"FLOW", "flows"},
    {"TEST", "tests"},   {"MAIN", "main"},
};

/* Tags of entries in the constants section. */
enum { CONST_NONE, CONST_BOOL, CONST_INT, CONST_FLOAT, CONST_STRING };

/* A string index meaning "no string" (a NULL field). */
#define NO_STRING UINT32_MAX

/* Bytes of one instruction (op and four operands) and of its position. */
#define INSTR_SIZE 20u
#define HEADER_SIZE (BYTECODE_MAGIC_SIZE + 4u)

/* The built-in functions, for CALLB's id and argument count. */
static const struct {
  const char *name;
  unsigned min_args, max_args;
} BUILTINS[] = {
#define X(id, name, min_args, max_args) {name, min_args, max_args},
#include "builtins.def"
#undef X
};
#define NBUILTINS ((uint32_t)(sizeof BUILTINS / sizeof BUILTINS[0]))

/* ---- writing ------------------------------------------------------------------ */

/* A growing byte buffer; `failed` is set on out-of-memory and stays set. */
typedef struct Buf {
  unsigned char *p;
  size_t len, cap;
  bool failed;
} Buf;

static void buf_put(Buf *b, const void *data, size_t n) {
  if (b->failed || n == 0) return;
  if (b->cap - b->len < n) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap - b->len < n) {
      if (cap > SIZE_MAX / 2) {
        b->failed = true;
        return;
      }
      cap *= 2;
    }
    unsigned char *p = realloc(b->p, cap);
    if (!p) {
      b->failed = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
}

static void put_u8(Buf *b, uint8_t v) { buf_put(b, &v, 1); }

static void put_u32(Buf *b, uint32_t v) {
  unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                        (unsigned char)(v >> 24)};
  buf_put(b, x, 4);
}

static void put_u64(Buf *b, uint64_t v) {
  unsigned char x[8];
  for (int i = 0; i < 8; i++)
    x[i] = (unsigned char)(v >> (8 * i));
  buf_put(b, x, 8);
}

static void put_i64(Buf *b, int64_t v) { put_u64(b, (uint64_t)v); }

/* A double as its IEEE 754 bits, so that every value (NaN payloads, -0.0)
 * survives the round trip. */
static void put_f64(Buf *b, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  put_u64(b, bits);
}

/* The strings table being built: entries in order of first use, and an
 * open-addressing index over them (slots hold entry index + 1). */
typedef struct StrTab {
  const char **s;
  uint32_t *len;
  uint32_t n, cap;
  uint32_t *slots;
  size_t nslots;
} StrTab;

/* A writer: the sections after the strings table go to `body` while the
 * table fills; `failed` records an image the format cannot express. */
typedef struct Writer {
  Buf body;
  StrTab tab;
  bool failed;
} Writer;

/* FNV-1a over the bytes of a string. */
static uint32_t tab_hash(const char *s, uint32_t len) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

/* Rebuild the index of [t] with [nslots] slots (a power of two). */
static bool strtab_rehash(StrTab *t, size_t nslots) {
  uint32_t *slots = calloc(nslots, sizeof *slots);
  if (!slots) return false;
  for (uint32_t i = 0; i < t->n; i++) {
    size_t j = tab_hash(t->s[i], t->len[i]) & (nslots - 1);
    while (slots[j])
      j = (j + 1) & (nslots - 1);
    slots[j] = i + 1;
  }
  free(t->slots);
  t->slots = slots;
  t->nslots = nslots;
  return true;
}

/* The index of the string [s] of [len] bytes in the table, adding it when it
 * is new. The table borrows [s], which lives in the image being written. */
static uint32_t strtab_intern(Writer *w, const char *s, uint32_t len) {
  StrTab *t = &w->tab;
  if (w->failed) return 0;
  if ((size_t)t->n * 2 >= t->nslots && !strtab_rehash(t, t->nslots ? t->nslots * 2 : 64)) {
    w->failed = true;
    return 0;
  }
  size_t j = tab_hash(s, len) & (t->nslots - 1);
  for (; t->slots[j]; j = (j + 1) & (t->nslots - 1)) {
    uint32_t i = t->slots[j] - 1;
    if (t->len[i] == len && memcmp(t->s[i], s, len) == 0) return i;
  }
  if (t->n == t->cap) {
    uint32_t cap = t->cap ? t->cap * 2 : 64;
    const char **ns = realloc(t->s, cap * sizeof *ns);
    if (ns) t->s = ns;
    uint32_t *nl = realloc(t->len, cap * sizeof *nl);
    if (nl) t->len = nl;
    if (!ns || !nl || t->n == NO_STRING - 1) {
      w->failed = true;
      return 0;
    }
    t->cap = cap;
  }
  t->s[t->n] = s;
  t->len[t->n] = len;
  t->slots[j] = t->n + 1;
  return t->n++;
}

/* Write a reference to the C string [s] (NULL: NO_STRING). */
static void w_str(Writer *w, const char *s) {
  if (!s) {
    put_u32(&w->body, NO_STRING);
    return;
  }
  size_t len = strlen(s);
  if (len > UINT32_MAX - 1) {
    w->failed = true;
    return;
  }
  put_u32(&w->body, strtab_intern(w, s, (uint32_t)len));
}

/* Fail the write when an array of [n] items is missing. */
static bool w_need(Writer *w, const void *items, uint32_t n) {
  if (n && !items) w->failed = true;
  return !w->failed;
}

/* Start section [s]: its tag and a length patched by w_end. Returns the
 * offset of the length field. */
static size_t w_begin(Writer *w, Section s) {
  buf_put(&w->body, SECTIONS[s].tag, 4);
  size_t at = w->body.len;
  put_u32(&w->body, 0);
  return at;
}

static void w_end(Writer *w, size_t at) {
  if (w->body.failed) return;
  size_t n = w->body.len - at - 4;
  if (n > UINT32_MAX) {
    w->failed = true;
    return;
  }
  for (int i = 0; i < 4; i++)
    w->body.p[at + i] = (unsigned char)(n >> (8 * i));
}

static void w_params(Writer *w, const ImgParams *p) {
  Buf *b = &w->body;
  put_u32(b, p->set);
  put_f64(b, p->temperature);
  put_f64(b, p->top_p);
  put_i64(b, p->max_tokens);
  put_i64(b, p->seed);
  if (!w_need(w, p->stop, p->nstop)) return;
  put_u32(b, p->nstop);
  for (uint32_t i = 0; i < p->nstop; i++)
    w_str(w, p->stop[i]);
}

/* Every section after the strings table, into w->body. */
static void w_sections(Writer *w, const Image *img) {
  Buf *b = &w->body;
  size_t at;

  at = w_begin(w, SEC_FILES);
  if (!w_need(w, img->files, img->nfiles)) return;
  put_u32(b, img->nfiles);
  for (uint32_t i = 0; i < img->nfiles; i++)
    w_str(w, img->files[i]);
  w_end(w, at);

  at = w_begin(w, SEC_POSITIONS);
  if (!w_need(w, img->positions, img->npositions)) return;
  put_u32(b, img->npositions);
  for (uint32_t i = 0; i < img->npositions; i++) {
    put_u32(b, img->positions[i].file);
    put_u32(b, img->positions[i].line);
    put_u32(b, img->positions[i].col);
  }
  w_end(w, at);

  at = w_begin(w, SEC_CONSTS);
  if (!w_need(w, img->consts, img->nconsts)) return;
  put_u32(b, img->nconsts);
  for (uint32_t i = 0; i < img->nconsts; i++) {
    Value v = img->consts[i];
    switch (v.tag) {
    case V_NONE: put_u8(b, CONST_NONE); break;
    case V_BOOL:
      put_u8(b, CONST_BOOL);
      put_u8(b, v.u.b ? 1 : 0);
      break;
    case V_INT:
      put_u8(b, CONST_INT);
      put_i64(b, v.u.i);
      break;
    case V_FLOAT:
      put_u8(b, CONST_FLOAT);
      put_f64(b, v.u.f);
      break;
    case V_STR: {
      const Str *s = value_as_str(v);
      put_u8(b, CONST_STRING);
      put_u32(b, strtab_intern(w, s->data, s->len));
      break;
    }
    default: w->failed = true; return;
    }
  }
  w_end(w, at);

  at = w_begin(w, SEC_TYPES);
  if (!w_need(w, img->types, img->ntypes)) return;
  put_u32(b, img->ntypes);
  for (uint32_t i = 0; i < img->ntypes; i++) {
    const ImgType *t = &img->types[i];
    put_u8(b, (uint8_t)t->kind);
    w_str(w, t->name);
    switch (t->kind) {
    case IT_LIST:
    case IT_OPT:
    case IT_MAP: put_u32(b, t->elem); break;
    case IT_RECORD:
      if (!w_need(w, t->field_names, t->nfields) || !w_need(w, t->field_types, t->nfields)) return;
      put_u32(b, t->nfields);
      for (uint32_t f = 0; f < t->nfields; f++) {
        w_str(w, t->field_names[f]);
        put_u32(b, t->field_types[f]);
        w_str(w, t->field_docs ? t->field_docs[f] : NULL);
      }
      break;
    case IT_ENUM:
      if (!w_need(w, t->variants, t->nvariants)) return;
      put_u32(b, t->nvariants);
      for (uint32_t v = 0; v < t->nvariants; v++)
        w_str(w, t->variants[v]);
      break;
    default:
      if ((unsigned)t->kind > IT_ENUM) w->failed = true;
      break;
    }
  }
  w_end(w, at);

  at = w_begin(w, SEC_FUNCS);
  if (!w_need(w, img->funcs, img->nfuncs)) return;
  put_u32(b, img->nfuncs);
  for (uint32_t i = 0; i < img->nfuncs; i++) {
    const ImgFunc *f = &img->funcs[i];
    if (!w_need(w, f->code, f->ncode) || !w_need(w, f->pos, f->ncode)) return;
    w_str(w, f->name);
    put_u32(b, f->nparams);
    put_u32(b, f->nregs);
    put_u32(b, f->ncode);
    for (uint32_t pc = 0; pc < f->ncode; pc++) {
      const Instr *in = &f->code[pc];
      put_u32(b, in->op);
      put_u32(b, in->a);
      put_u32(b, in->b);
      put_u32(b, in->c);
      put_u32(b, in->d);
    }
    for (uint32_t pc = 0; pc < f->ncode; pc++)
      put_u32(b, f->pos[pc]);
  }
  w_end(w, at);

  at = w_begin(w, SEC_MODELS);
  if (!w_need(w, img->models, img->nmodels)) return;
  put_u32(b, img->nmodels);
  for (uint32_t i = 0; i < img->nmodels; i++) {
    const ImgModel *m = &img->models[i];
    w_str(w, m->name);
    put_u8(b, (uint8_t)m->provider);
    w_str(w, m->model);
    w_str(w, m->base_url);
    w_str(w, m->api_key_env);
    w_params(w, &m->params);
    put_i64(b, m->context_window);
    put_u8(b, m->vision);
    put_u8(b, m->audio);
    put_u8(b, m->json_mode);
    put_i64(b, m->concurrency);
    put_i64(b, m->requests_per_minute);
    put_i64(b, m->tokens_per_minute);
    put_f64(b, m->price_input);
    put_f64(b, m->price_output);
  }
  w_end(w, at);

  at = w_begin(w, SEC_POLICIES);
  if (!w_need(w, img->policies, img->npolicies)) return;
  put_u32(b, img->npolicies);
  for (uint32_t i = 0; i < img->npolicies; i++) {
    const ImgPolicy *p = &img->policies[i];
    if (!w_need(w, p->fallback, p->nfallback)) return;
    w_str(w, p->name);
    put_u32(b, p->retry);
    put_u8(b, (uint8_t)p->backoff);
    put_f64(b, p->base_ms);
    put_f64(b, p->factor);
    put_f64(b, p->max_ms);
    put_f64(b, p->timeout_ms);
    put_u32(b, p->nfallback);
    for (uint32_t f = 0; f < p->nfallback; f++)
      put_u32(b, p->fallback[f]);
    put_u8(b, p->cache);
  }
  w_end(w, at);

  at = w_begin(w, SEC_PROMPTS);
  if (!w_need(w, img->prompts, img->nprompts)) return;
  put_u32(b, img->nprompts);
  for (uint32_t i = 0; i < img->nprompts; i++) {
    const ImgPrompt *p = &img->prompts[i];
    w_str(w, p->name);
    put_u32(b, p->render);
    put_u32(b, p->nparams);
    put_u32(b, p->out_type);
    put_u32(b, p->model);
    put_u32(b, (uint32_t)p->policy);
    w_params(w, &p->params);
    w_str(w, p->schema);
    put_u32(b, p->pos);
  }
  w_end(w, at);

  at = w_begin(w, SEC_CONTEXTS);
  if (!w_need(w, img->contexts, img->ncontexts)) return;
  put_u32(b, img->ncontexts);
  for (uint32_t i = 0; i < img->ncontexts; i++) {
    const ImgContext *c = &img->contexts[i];
    w_str(w, c->name);
    put_u8(b, (uint8_t)c->source);
    w_str(w, c->arg);
    w_str(w, c->base_dir);
    put_u8(b, c->has_default);
    put_u32(b, c->default_const);
    put_u32(b, c->type);
    put_u32(b, c->pos);
    put_u32(b, c->nallow);
    for (uint32_t k = 0; k < c->nallow; k++) w_str(w, c->allow[k]);
  }
  w_end(w, at);

  at = w_begin(w, SEC_EVALS);
  if (!w_need(w, img->evals, img->nevals)) return;
  put_u32(b, img->nevals);
  for (uint32_t i = 0; i < img->nevals; i++) {
    const ImgEval *e = &img->evals[i];
    w_str(w, e->name);
    put_u32(b, e->fn);
    put_u32(b, e->nasserts);
    /* Messages are optional: a NULL array means none has one. */
    for (uint32_t a = 0; a < e->nasserts; a++)
      w_str(w, e->assert_messages ? e->assert_messages[a] : NULL);
  }
  w_end(w, at);

  at = w_begin(w, SEC_FLOWS);
  if (!w_need(w, img->flows, img->nflows)) return;
  put_u32(b, img->nflows);
  for (uint32_t i = 0; i < img->nflows; i++) {
    const ImgFlow *f = &img->flows[i];
    if (!w_need(w, f->param_names, f->nparams) || !w_need(w, f->param_types, f->nparams)) return;
    w_str(w, f->name);
    w_str(w, f->doc);
    put_u32(b, f->fn);
    put_u32(b, f->nparams);
    for (uint32_t p = 0; p < f->nparams; p++) {
      w_str(w, f->param_names[p]);
      w_str(w, f->param_docs ? f->param_docs[p] : NULL);
      put_u32(b, f->param_types[p]);
    }
    put_u32(b, f->ret_type);
  }
  w_end(w, at);

  at = w_begin(w, SEC_TESTS);
  if (!w_need(w, img->tests, img->ntests)) return;
  put_u32(b, img->ntests);
  for (uint32_t i = 0; i < img->ntests; i++) {
    w_str(w, img->tests[i].title);
    put_u32(b, img->tests[i].fn);
  }
  w_end(w, at);

  at = w_begin(w, SEC_MAIN);
  put_u32(b, (uint32_t)img->main_flow);
  w_end(w, at);
}

bool bytecode_write(const Image *img, unsigned char **out, size_t *len) {
  Writer w;
  memset(&w, 0, sizeof w);
  Buf file = {0};
  *out = NULL;
  *len = 0;

  w_sections(&w, img);
  if (!w.failed && !w.body.failed) {
    buf_put(&file, BYTECODE_MAGIC, BYTECODE_MAGIC_SIZE);
    put_u32(&file, BYTECODE_VERSION);
    /* The strings table, now complete, goes first. */
    buf_put(&file, SECTIONS[SEC_STRINGS].tag, 4);
    size_t at = file.len;
    put_u32(&file, 0);
    put_u32(&file, w.tab.n);
    for (uint32_t i = 0; i < w.tab.n; i++) {
      put_u32(&file, w.tab.len[i]);
      buf_put(&file, w.tab.s[i], w.tab.len[i]);
    }
    size_t n = file.len - at - 4;
    if (!file.failed) {
      if (n > UINT32_MAX)
        file.failed = true;
      else
        for (int i = 0; i < 4; i++)
          file.p[at + i] = (unsigned char)(n >> (8 * i));
    }
    buf_put(&file, w.body.p, w.body.len);
    unsigned char hash[BYTECODE_HASH_SIZE];
    if (!file.failed) {
      sha256_hash(file.p, file.len, hash);
      buf_put(&file, hash, sizeof hash);
    }
  }
  bool ok = !w.failed && !w.body.failed && !file.failed;
  free(w.body.p);
  free(w.tab.s);
  free(w.tab.len);
  free(w.tab.slots);
  if (!ok) {
    free(file.p);
    return false;
  }
  *out = file.p;
  *len = file.len;
  return true;
}

bool bytecode_stamp(Image *img) {
  unsigned char *bytes;
  size_t len;
  if (!bytecode_write(img, &bytes, &len)) return false;
  memcpy(img->hash, bytes + len - BYTECODE_HASH_SIZE, BYTECODE_HASH_SIZE);
  free(bytes);
  return true;
}

/* ---- reading: the cursor and its errors ------------------------------------------ */

/* A string of the strings section: where its bytes are in the file. */
typedef struct StrRef {
  size_t off;
  uint32_t len;
} StrRef;

/* The reader's state. `pos` and `end` bound the section being parsed;
 * `ctx` names the item being read ("prompt 2 `classify`") for messages. */
typedef struct Reader {
  const unsigned char *data;
  size_t pos, end;
  Section sec;
  char ctx[128];
  char *err;
  size_t errlen;
  bool failed;
  StrRef *strs;
  uint32_t nstrs;
  size_t *code_off; /* per function: file offset of its first instruction */
  Image *img;
} Reader;

/* Record the first error: "section `S`, offset O, CTX: MESSAGE", or just the
 * message outside sections. Always returns false. */
static bool fail(Reader *r, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(Reader *r, size_t off, const char *fmt, ...) {
  if (r->failed) return false;
  r->failed = true;
  if (!r->err || r->errlen == 0) return false;
  int n = 0;
  if (r->sec != SEC_NONE)
    n = snprintf(r->err, r->errlen, "section `%s`, offset %zu%s%s: ", SECTIONS[r->sec].name, off,
                 r->ctx[0] ? ", " : "", r->ctx);
  if (n < 0) n = 0;
  if ((size_t)n >= r->errlen) return false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
  va_end(ap);
  return false;
}

/* Name the item being read, for error messages; [name] may be NULL. */
static void set_ctx(Reader *r, const char *what, uint32_t i, const char *name) {
  if (name)
    snprintf(r->ctx, sizeof r->ctx, "%s %u `%.60s`", what, i, name);
  else
    snprintf(r->ctx, sizeof r->ctx, "%s %u", what, i);
}

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Take [n] bytes at the cursor for [what], or fail when the section ends
 * first. Returns a pointer to them or NULL. */
static const unsigned char *take(Reader *r, size_t n, const char *what) {
  if (r->failed) return NULL;
  if (r->end - r->pos < n) {
    fail(r, r->pos, "expected %s (%zu bytes), but the section ends at offset %zu", what, n, r->end);
    return NULL;
  }
  const unsigned char *p = r->data + r->pos;
  r->pos += n;
  return p;
}

static bool rd_u32(Reader *r, const char *what, uint32_t *v) {
  const unsigned char *p = take(r, 4, what);
  *v = 0;
  if (!p) return false;
  *v = le32(p);
  return true;
}

static bool rd_u64(Reader *r, const char *what, uint64_t *v) {
  const unsigned char *p = take(r, 8, what);
  *v = 0;
  if (!p) return false;
  uint64_t x = 0;
  for (int i = 7; i >= 0; i--)
    x = x << 8 | p[i];
  *v = x;
  return true;
}

static bool rd_i64(Reader *r, const char *what, int64_t *v) {
  uint64_t x;
  if (!rd_u64(r, what, &x)) return false;
  memcpy(v, &x, sizeof *v);
  return true;
}

static bool rd_f64(Reader *r, const char *what, double *v) {
  uint64_t x;
  if (!rd_u64(r, what, &x)) return false;
  memcpy(v, &x, sizeof *v);
  return true;
}

/* A one-byte enumeration value that must be <= [max]. */
static bool rd_enum(Reader *r, const char *what, unsigned max, unsigned *v) {
  size_t at = r->pos;
  *v = 0;
  const unsigned char *p = take(r, 1, what);
  if (!p) return false;
  if (*p > max) return fail(r, at, "%s: expected a value <= %u, found %u", what, max, *p);
  *v = *p;
  return true;
}

static bool rd_bool(Reader *r, const char *what, bool *v) {
  size_t at = r->pos;
  *v = false;
  const unsigned char *p = take(r, 1, what);
  if (!p) return false;
  if (*p > 1) return fail(r, at, "%s: expected a boolean (0 or 1), found %u", what, *p);
  *v = *p == 1;
  return true;
}

/* An index that must be below [limit], the number of [table] entries. */
static bool rd_index(Reader *r, const char *what, uint32_t limit, const char *table, uint32_t *v) {
  size_t at = r->pos;
  if (!rd_u32(r, what, v)) return false;
  if (*v >= limit) return fail(r, at, "%s: expected a %s index < %u, found %u", what, table, limit, *v);
  return true;
}

/* A count of items that take at least [min_each] bytes each: it must fit
 * in what is left of the section, which bounds every allocation. */
static bool rd_count(Reader *r, const char *what, size_t min_each, uint32_t *n) {
  size_t at = r->pos;
  if (!rd_u32(r, what, n)) return false;
  if ((uint64_t)*n * min_each > r->end - r->pos)
    return fail(r, at, "%s %u needs at least %llu bytes, but only %zu are left in the section", what, *n,
                (unsigned long long)*n * min_each, r->end - r->pos);
  return true;
}

/* An array of [n] zeroed items of [size] bytes (NULL when n is 0). */
static void *alloc_items(Reader *r, uint32_t n, size_t size) {
  if (n == 0 || r->failed) return NULL;
  void *p = calloc(n, size);
  if (!p) fail(r, r->pos, "out of memory");
  return p;
}

/* A reference to a string used as a C string: a new copy in [*out], NULL
 * for NO_STRING unless [required]. */
static bool rd_str(Reader *r, const char *what, bool required, char **out) {
  size_t at = r->pos;
  uint32_t i;
  *out = NULL;
  if (!rd_u32(r, what, &i)) return false;
  if (i == NO_STRING) {
    if (required) return fail(r, at, "%s: expected a string, found none", what);
    return true;
  }
  if (i >= r->nstrs) return fail(r, at, "%s: expected a string index < %u, found %u", what, r->nstrs, i);
  const StrRef *s = &r->strs[i];
  if (memchr(r->data + s->off, 0, s->len))
    return fail(r, at, "%s: string %u contains a NUL byte, which a name or text field cannot hold", what, i);
  char *c = malloc((size_t)s->len + 1);
  if (!c) return fail(r, at, "out of memory");
  memcpy(c, r->data + s->off, s->len);
  c[s->len] = '\0';
  *out = c;
  return true;
}

/* ---- reading: sections ----------------------------------------------------------- */

static bool rd_strings(Reader *r) {
  uint32_t n;
  if (!rd_count(r, "string count", 4, &n)) return false;
  r->strs = alloc_items(r, n, sizeof *r->strs);
  if (r->failed) return false;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t len;
    if (!rd_u32(r, "string length", &len)) return false;
    set_ctx(r, "string", i, NULL);
    if (!take(r, len, "string bytes")) return false;
    r->strs[i].off = r->pos - len;
    r->strs[i].len = len;
    r->nstrs = i + 1;
  }
  r->ctx[0] = '\0';
  return true;
}

static bool rd_files(Reader *r) {
  Image *img = r->img;
  uint32_t n;
  if (!rd_count(r, "file count", 4, &n)) return false;
  img->files = alloc_items(r, n, sizeof *img->files);
  img->nfiles = n;
  for (uint32_t i = 0; i < n && !r->failed; i++) {
    set_ctx(r, "file", i, NULL);
    rd_str(r, "file name", true, &img->files[i]);
  }
  return !r->failed;
}

static bool rd_positions(Reader *r) {
  Image *img = r->img;
  uint32_t n;
  if (!rd_count(r, "position count", 12, &n)) return false;
  img->positions = alloc_items(r, n, sizeof *img->positions);
  img->npositions = n;
  for (uint32_t i = 0; i < n && !r->failed; i++) {
    ImgPos *p = &img->positions[i];
    set_ctx(r, "position", i, NULL);
    if (rd_index(r, "file", img->nfiles, "file", &p->file)) {
      rd_u32(r, "line", &p->line);
      rd_u32(r, "column", &p->col);
    }
  }
  return !r->failed;
}

static bool rd_consts(Reader *r) {
  Image *img = r->img;
  uint32_t n;
  if (!rd_count(r, "constant count", 1, &n)) return false;
  img->consts = alloc_items(r, n, sizeof *img->consts);
  img->nconsts = n;
  for (uint32_t i = 0; i < n && !r->failed; i++) {
    set_ctx(r, "constant", i, NULL);
    unsigned tag = 0;
    if (!rd_enum(r, "constant tag", CONST_STRING, &tag)) break;
    switch (tag) {
    case CONST_NONE: img->consts[i] = value_none(); break;
    case CONST_BOOL: {
      bool b = false;
      if (rd_bool(r, "bool constant", &b)) img->consts[i] = value_bool(b);
      break;
    }
    case CONST_INT: {
      int64_t v = 0;
      if (rd_i64(r, "int constant", &v)) img->consts[i] = value_int(v);
      break;
    }
    case CONST_FLOAT: {
      double v = 0;
      if (rd_f64(r, "float constant", &v)) img->consts[i] = value_float(v);
      break;
    }
    default: {
      uint32_t s = 0;
      if (rd_index(r, "string constant", r->nstrs, "string", &s))
        img->consts[i] = value_str((const char *)r->data + r->strs[s].off, r->strs[s].len);
      break;
    }
    }
  }
  return !r->failed;
}

static bool rd_types(Reader *r) {
  Image *img = r->img;
  uint32_t n;
  if (!rd_count(r, "type count", 5, &n)) return false;
  img->types = alloc_items(r, n, sizeof *img->types);
  img->ntypes = n;
  for (uint32_t i = 0; i < n && !r->failed; i++) {
    ImgType *t = &img->types[i];
    unsigned kind = 0;
    set_ctx(r, "type", i, NULL);
    if (!rd_enum(r, "type kind", IT_ENUM, &kind)) break;
    t->kind = (ImgTypeKind)kind;
    bool named = kind == IT_RECORD || kind == IT_ENUM;
    if (!rd_str(r, "type name", named, &t->name)) break;
    set_ctx(r, "type", i, t->name);
    if (kind == IT_LIST || kind == IT_OPT || kind == IT_MAP) {
      rd_index(r, "element type", n, "type", &t->elem);
    } else if (kind == IT_RECORD) {
      uint32_t nf;
      if (!rd_count(r, "field count", 12, &nf)) break;
      t->field_names = alloc_items(r, nf, sizeof *t->field_names);
      t->field_types = alloc_items(r, nf, sizeof *t->field_types);
      t->field_docs = alloc_items(r, nf, sizeof *t->field_docs);
      t->nfields = nf;
      for (uint32_t f = 0; f < nf && !r->failed; f++) {
        if (rd_str(r, "field name", true, &t->field_names[f]) &&
            rd_index(r, "field type", n, "type", &t->field_types[f]))
          rd_str(r, "field doc", false, &t->field_docs[f]);
      }
    } else if (kind == IT_ENUM) {
      uint32_t nv;
      if (!rd_count(r, "variant count", 4, &nv)) break;
      t->variants = alloc_items(r, nv, sizeof *t->variants);
      t->nvariants = nv;
      for (uint32_t v = 0; v < nv && !r->failed; v++)
        rd_str(r, "variant name", true, &t->variants[v]);
    }
  }
  return !r->failed;
}

/* The type graph beyond indices: the built-in types where the runtime
 * expects them, and no type made only of lists, optionals and maps of
 * itself (records may be recursive; a list of itself has no values). */
static bool check_types(Reader *r, size_t off) {
  const Image *img = r->img;
  r->ctx[0] = '\0';
  if (img->ntypes < IMG_TYPE_FIRST_USER)
    return fail(r, off, "expected at least the %d built-in types, found %u types", IMG_TYPE_FIRST_USER,
                img->ntypes);
  for (uint32_t i = 0; i <= IT_DURATION; i++)
    if (img->types[i].kind != (ImgTypeKind)i)
      return fail(r, off, "built-in type %u: expected kind %u, found %u", i, i, img->types[i].kind);
  for (uint32_t i = IMG_TYPE_MESSAGE; i <= IMG_TYPE_EVALRESULT; i++)
    if (img->types[i].kind != IT_RECORD || img->types[i].nfields != 3)
      return fail(r, off, "built-in type %u: expected a record of 3 fields, found kind %u with %u fields", i,
                  img->types[i].kind, img->types[i].nfields);
  unsigned char *state = calloc(img->ntypes, 1); /* 0 unknown, 1 on the walk, 2 fine */
  if (!state) return fail(r, off, "out of memory");
  for (uint32_t i = 0; i < img->ntypes && !r->failed; i++) {
    uint32_t j = i;
    for (;;) {
      const ImgType *t = &img->types[j];
      if (state[j] == 2 || (t->kind != IT_LIST && t->kind != IT_OPT && t->kind != IT_MAP)) break;
      if (state[j] == 1) {
        fail(r, off, "type %u is a list, optional or map of itself (through type %u)", i, j);
        break;
      }
      state[j] = 1;
      j = t->elem;
    }
    for (j = i; state[j] == 1; j = img->types[j].elem)
      state[j] = 2;
  }
  free(state);
  return !r->failed;
}

static bool rd_funcs(Reader *r) {
  Image *img = r->img;
  uint32_t n;
  if (!rd_count(r, "function count", 16, &n)) return false;
  img->funcs = alloc_items(r, n, sizeof *img->funcs);
  r->code_off = alloc_items(r, n, sizeof *r->code_off);
  img->nfuncs = n;
  for (uint32_t i = 0; i < n && !r->failed; i++) {
    ImgFunc *f = &img->funcs[i];
    set_ctx(r, "function", i, NULL);
    if (!rd_str(r, "function name", true, &f->name)) break;
    set_ctx(r, "function", i, f->name);
    size_t at = r->pos;
    uint32_t ncode;
    if (!rd_u32(r, "parameter count", &f->nparams) || !rd_u32(r, "register count", &f->nregs)) break;
    if (f->nregs > BYTECODE_MAX_REGS)
      return fail(r, at + 4, "expected at most %u registers, found %u", BYTECODE_MAX_REGS, f->nregs);
    if (f->nparams > f->nregs)
      return fail(r, at, "expected at most %u parameters (its register count), found %u", f->nregs,
                  f->nparams);
    at = r->pos;
    if (!rd_count(r, "instruction count", INSTR_SIZE + 4, &ncode)) break;
    if (ncode == 0) return fail(r, at, "expected at least one instruction, found none");
    f->code = alloc_items(r, ncode, sizeof *f->code);
    f->pos = alloc_items(r, ncode, sizeof *f->pos);
    if (r->failed) break;
    f->ncode = ncode;
    r->code_off[i] = r->pos;
    for (uint32_t pc = 0; pc < ncode; pc++) {
      Instr *in = &f->code[pc];
      const unsigned char *p = take(r, INSTR_SIZE, "instruction");
      if (!p) return false;
      in->op = le32(p);
      in->a = le32(p + 4);
      in->b = le32(p + 8);
      in->c = le32(p + 12);
      in->d = le32(p + 16);
      if (in->op >= OP_COUNT)
        return fail(r, r->pos - INSTR_SIZE, "pc %u: expected an opcode < %d, found %u", pc, OP_COUNT, in->op);
    }
    for (uint32_t pc = 0; pc < ncode && !r->failed; pc++)
      rd_index(r, "instruction position", img->npositions, "position", &f->pos[pc]);
  }
  return !r->failed;
}

static bool rd_params(Reader *r, ImgParams *p) {
  size_t at = r->pos;
  uint32_t n;
  if (!rd_u32(r, "parameter set", &p->set)) return false;
  uint32_t known = PARAM_TEMPERATURE | PARAM_TOP_P | PARAM_MAX_TOKENS | PARAM_SEED | PARAM_STOP;
  if (p->set & ~known)
    return fail(r, at, "parameter set: expected only bits 0x%x, found 0x%x", known, p->set);
  if (!rd_f64(r, "temperature", &p->temperature) || !rd_f64(r, "top_p", &p->top_p) ||
      !rd_i64(r, "max_tokens", &p->max_tokens) || !rd_i64(r, "seed", &p->seed) ||
      !rd_count(r, "stop sequence count", 4, &n))
    return false;
  p->stop = alloc_items(r, n, sizeof *p->stop);
  p->nstop = n;
  for (uint32_t i = 0; i < n && !r->failed; i++)
    rd_str(r, "stop sequence", true, &p->stop[i]);
  return !r->failed;
}

static bool rd_models(Reader *r) {
  Image *img = r->img;
  uint32_t n;
  if (!rd_count(r, "model count", 4, &n)) return false;
  img->models = alloc_items(r, n, sizeof *img->models);
  img->nmodels = n;
  for (uint32_t i = 0; i < n && !r->failed; i++) {
    ImgModel *m = &img->models[i];
    unsigned provider = 0;
    set_ctx(r, "model", i, NULL);
    if (!rd_str(r, "model binding name", true, &m->name)) break;
    set_ctx(r, "model", i, m->name);
    if (!rd_enum(r, "provider", PROVIDER_MOCK, &provider)) break;
    m->provider = (Provider)provider;
    if (rd_str(r, "provider model name", false, &m->model) && rd_str(r, "base_url", false, &m->base_url) &&
        rd_str(r, "api_key_env", false, &m->api_key_env) && rd_params(r, &m->params) &&
        rd_i64(r, "context_window", &m->context_window) && rd_bool(r, "vision", &m->vision) &&
        rd_bool(r, "audio", &m->audio) && rd_bool(r, "json_mode", &m->json_mode) &&
        rd_i64(r, "concurrency", &m->concurrency) &&
        rd_i64(r, "requests_per_minute", &m->requests_per_minute) &&
        rd_i64(r, "tokens_per_minute", &m->tokens_per_minute) && rd_f64(r, "price_input", &m->price_input))
      rd_f64(r, "price_output", &m->price_output);
  }
  return !r->failed;
}

static bool rd_policies(Reader *r) {
  Image *img = r->img;
  uint32_t n;
  if (!rd_count(r, "policy count", 4, &n)) return false;
  img->policies = alloc_items(r, n, sizeof *img->policies);
  img->npolicies = n;
  for (uint32_t i = 0; i < n && !r->failed; i++) {
    ImgPolicy *p = &img->policies[i];
    unsigned backoff = 0;
    uint32_t nf;
    set_ctx(r, "policy", i, NULL);
    if (!rd_str(r, "policy name", true, &p->name)) break;
    set_ctx(r, "policy", i, p->name);
    if (!rd_u32(r, "retry", &p->retry) || !rd_enum(r, "backoff", BACKOFF_CONSTANT, &backoff)) break;
    p->backoff = (Backoff)backoff;
    if (!rd_f64(r, "base_ms", &p->base_ms) || !rd_f64(r, "factor", &p->factor) ||
        !rd_f64(r, "max_ms", &p->max_ms) || !rd_f64(r, "timeout_ms", &p->timeout_ms) ||
        !rd_count(r, "fallback count", 4, &nf))
      break;
    p->fallback = alloc_items(r, nf, sizeof *p->fallback);
    p->nfallback = nf;
    for (uint32_t f = 0; f < nf && !r->failed; f++)
      rd_index(r, "fallback", img->nmodels, "model", &p->fallback[f]);
    if (!r->failed) rd_bool(r, "cache", &p->cache);
  }
  return !r->failed;
}

static bool rd_prompts(Reader *r) {
  Image *img = r->img;
  uint32_t n;
  if (!rd_count(r, "prompt count", 4, &n)) return false;
  img->prompts = alloc_items(r, n, sizeof *img->prompts);
  img->nprompts = n;
  for (uint32_t i = 0; i < n && !r->failed; i++) {
    ImgPrompt *p = &img->prompts[i];
    set_ctx(r, "prompt", i, NULL);
    if (!rd_str(r, "prompt name", true, &p->name)) break;
    set_ctx(r, "prompt", i, p->name);
    if (!rd_index(r, "render function", img->nfuncs, "function", &p->render)) break;
    size_t at = r->pos;
    if (!rd_u32(r, "parameter count", &p->nparams)) break;
    /* The render function takes exactly the prompt's arguments. */
    if (p->nparams != img->funcs[p->render].nparams)
      return fail(r, at, "parameter count: expected %u (the parameters of render function %u), found %u",
                  img->funcs[p->render].nparams, p->render, p->nparams);
    uint32_t policy;
    if (!rd_index(r, "output type", img->ntypes, "type", &p->out_type) ||
        !rd_index(r, "model", img->nmodels, "model", &p->model))
      break;
    at = r->pos;
    if (!rd_u32(r, "policy", &policy)) break;
    if (policy != UINT32_MAX && policy >= img->npolicies)
      return fail(r, at, "policy: expected -1 or a policy index < %u, found %u", img->npolicies, policy);
    p->policy = policy == UINT32_MAX ? -1 : (int32_t)policy;
    if (rd_params(r, &p->params) && rd_str(r, "schema", false, &p->schema))
      rd_index(r, "position", img->npositions, "position", &p->pos);
  }
  return !r->failed;
}

static bool rd_contexts(Reader *r) {
  Image *img = r->img;
  uint32_t n;
  if (!rd_count(r, "context count", 4, &n)) return false;
  img->contexts = alloc_items(r, n, sizeof *img->contexts);
  img->ncontexts = n;
  for (uint32_t i = 0; i < n && !r->failed; i++) {
    ImgContext *c = &img->contexts[i];
    unsigned source = 0;
    set_ctx(r, "context", i, NULL);
    if (!rd_str(r, "context name", true, &c->name)) break;
    set_ctx(r, "context", i, c->name);
    if (!rd_enum(r, "source", SRC_HTTP, &source)) break;
    c->source = (SourceKind)source;
    if (!rd_str(r, "source argument", false, &c->arg) || !rd_str(r, "base_dir", false, &c->base_dir) ||
        !rd_bool(r, "has_default", &c->has_default))
      break;
    if (c->has_default) {
      if (!rd_index(r, "default", img->nconsts, "constant", &c->default_const)) break;
    } else if (!rd_u32(r, "default", &c->default_const)) {
      break;
    }
    if (!rd_index(r, "type", img->ntypes, "type", &c->type) ||
        !rd_index(r, "position", img->npositions, "position", &c->pos) ||
        !rd_count(r, "allow-list size", 4, &c->nallow))
      break;
    c->allow = alloc_items(r, c->nallow, sizeof *c->allow);
    for (uint32_t k = 0; k < c->nallow && !r->failed; k++) {
      size_t at = r->pos;
      char why[256];
      if (rd_str(r, "allow-list entry", true, &c->allow[k]) && !fetch_allow_entry_check(c->allow[k], why, sizeof why))
        fail(r, at, "allow-list entry: %s", why);
    }
  }
  return !r->failed;
}

static bool rd_evals(Reader *r) {
  Image *img = r->img;
  uint32_t n;
  if (!rd_count(r, "eval count", 4, &n)) return false;
  img->evals = alloc_items(r, n, sizeof *img->evals);
  img->nevals = n;
  for (uint32_t i = 0; i < n && !r->failed; i++) {
    ImgEval *e = &img->evals[i];
    uint32_t na;
    set_ctx(r, "eval", i, NULL);
    if (!rd_str(r, "eval name", true, &e->name)) break;
    set_ctx(r, "eval", i, e->name);
    if (!rd_index(r, "function", img->nfuncs, "function", &e->fn) || !rd_count(r, "assertion count", 4, &na))
      break;
    e->assert_messages = alloc_items(r, na, sizeof *e->assert_messages);
    e->nasserts = na;
    for (uint32_t a = 0; a < na && !r->failed; a++)
      rd_str(r, "assertion message", false, &e->assert_messages[a]);
  }
  return !r->failed;
}

static bool rd_flows(Reader *r) {
  Image *img = r->img;
  uint32_t n;
  if (!rd_count(r, "flow count", 4, &n)) return false;
  img->flows = alloc_items(r, n, sizeof *img->flows);
  img->nflows = n;
  for (uint32_t i = 0; i < n && !r->failed; i++) {
    ImgFlow *f = &img->flows[i];
    uint32_t np;
    set_ctx(r, "flow", i, NULL);
    if (!rd_str(r, "flow name", true, &f->name)) break;
    set_ctx(r, "flow", i, f->name);
    if (!rd_str(r, "doc", false, &f->doc) || !rd_index(r, "function", img->nfuncs, "function", &f->fn)) break;
    size_t at = r->pos;
    if (!rd_count(r, "parameter count", 12, &np)) break;
    if (np != img->funcs[f->fn].nparams)
      return fail(r, at, "parameter count: expected %u (the parameters of function %u), found %u",
                  img->funcs[f->fn].nparams, f->fn, np);
    f->param_names = alloc_items(r, np, sizeof *f->param_names);
    f->param_docs = alloc_items(r, np, sizeof *f->param_docs);
    f->param_types = alloc_items(r, np, sizeof *f->param_types);
    f->nparams = np;
    for (uint32_t p = 0; p < np && !r->failed; p++)
      if (rd_str(r, "parameter name", true, &f->param_names[p]) &&
          rd_str(r, "parameter doc", false, &f->param_docs[p]))
        rd_index(r, "parameter type", img->ntypes, "type", &f->param_types[p]);
    if (!r->failed) rd_index(r, "return type", img->ntypes, "type", &f->ret_type);
  }
  return !r->failed;
}

static bool rd_tests(Reader *r) {
  Image *img = r->img;
  uint32_t n;
  if (!rd_count(r, "test count", 8, &n)) return false;
  img->tests = alloc_items(r, n, sizeof *img->tests);
  img->ntests = n;
  for (uint32_t i = 0; i < n && !r->failed; i++) {
    set_ctx(r, "test", i, NULL);
    if (rd_str(r, "test title", true, &img->tests[i].title))
      rd_index(r, "function", img->nfuncs, "function", &img->tests[i].fn);
  }
  return !r->failed;
}

static bool rd_main(Reader *r) {
  size_t at = r->pos;
  uint32_t m;
  if (!rd_u32(r, "main flow", &m)) return false;
  if (m != UINT32_MAX && m >= r->img->nflows)
    return fail(r, at, "main flow: expected -1 or a flow index < %u, found %u", r->img->nflows, m);
  r->img->main_flow = m == UINT32_MAX ? -1 : (int32_t)m;
  return true;
}

/* ---- verifying instructions ---------------------------------------------------------- */

/* Whether the constant operand (kind 'k') of [op] must be a string (a
 * message or a score name) rather than any constant. */
static bool needs_string_const(uint32_t op) {
  return op == OP_FAIL || op == OP_WARN || op == OP_ASSERT || op == OP_SCORE;
}

/* Whether [op] never falls through to the next instruction. */
static bool is_terminator(uint32_t op) {
  return op == OP_RET || op == OP_RETYIELDS || op == OP_FAIL || op == OP_JMP || op == OP_RETRY ||
         op == OP_SKIP;
}

/* Registers [start] .. [start]+[count]-1 must lie below [nregs]. */
static bool check_range(Reader *r, size_t off, uint32_t pc, const char *opname, const char *what,
                        uint64_t start, uint64_t count, uint32_t nregs) {
  if (start + count <= nregs) return true;
  return fail(r, off,
              "pc %u: %s %s: expected registers below %u (the function's register count), found "
              "r%llu .. r%llu",
              pc, opname, what, nregs, (unsigned long long)start, (unsigned long long)(start + count - 1));
}

/* Verify one instruction of function [fi] at [pc] (already known to have
 * a valid opcode). */
static bool verify_instr(Reader *r, uint32_t fi, uint32_t pc) {
  static const char OPERAND[4] = {'a', 'b', 'c', 'd'};
  const Image *img = r->img;
  const ImgFunc *f = &img->funcs[fi];
  const Instr *in = &f->code[pc];
  const char *kinds = op_kinds((Op)in->op);
  const char *name = op_name((Op)in->op);
  uint32_t v[4] = {in->a, in->b, in->c, in->d};
  size_t off = r->code_off[fi] + (size_t)pc * INSTR_SIZE;

  for (int k = 0; k < 4; k++) {
    size_t at = off + 4 + 4 * (size_t)k;
    uint32_t limit = 0;
    const char *what = NULL;
    char kind = kinds[k];
    switch (kind) {
    case 'r':
      /* A register followed by a count is a range, checked below. */
      if (k < 3 && kinds[k + 1] == 'n') continue;
      if (in->op == OP_NEWREC && k == 2) continue;
      limit = f->nregs, what = "a register";
      break;
    case 'k': limit = img->nconsts, what = "a constant index"; break;
    case 'j': limit = f->ncode, what = "a jump target"; break;
    case 't': limit = img->ntypes, what = "a type id"; break;
    case 'f': limit = img->nfuncs, what = "a function index"; break;
    case 'p': limit = img->nprompts, what = "a prompt index"; break;
    case 'c': limit = img->ncontexts, what = "a context index"; break;
    case 'm': limit = img->nmodels, what = "a model index"; break;
    case 'e': limit = img->nevals, what = "an eval index"; break;
    case 'b': limit = NBUILTINS, what = "a builtin id"; break;
    case '-':
      if (v[k] != 0)
        return fail(r, at, "pc %u: %s operand %c is unused: expected 0, found %u", pc, name, OPERAND[k],
                    v[k]);
      continue;
    default: continue; /* 'i' and 'n' */
    }
    if (v[k] >= limit)
      return fail(r, at, "pc %u: %s operand %c: expected %s < %u, found %u", pc, name, OPERAND[k], what,
                  limit, v[k]);
    if (kind == 'k' && needs_string_const(in->op) && img->consts[v[k]].tag != V_STR)
      return fail(r, at, "pc %u: %s operand %c: expected a string constant, found constant %u of tag %u", pc,
                  name, OPERAND[k], v[k], img->consts[v[k]].tag);
  }

  /* Register ranges, and what the operands must agree with. */
  uint32_t nregs = f->nregs;
  switch (in->op) {
  case OP_NEWMAP: return check_range(r, off, pc, name, "key/value pairs", in->b, 2ull * in->c, nregs);
  case OP_NEWREC: {
    const ImgType *t = &img->types[in->b];
    if (t->kind != IT_RECORD)
      return fail(r, off + 8, "pc %u: NEWREC operand b: expected a record type, found type %u of kind %u", pc,
                  in->b, t->kind);
    return check_range(r, off, pc, name, "fields", in->c, t->nfields, nregs);
  }
  case OP_LOADENUM: {
    const ImgType *t = &img->types[in->b];
    if (t->kind != IT_ENUM)
      return fail(r, off + 8, "pc %u: LOADENUM operand b: expected an enum type, found type %u of kind %u",
                  pc, in->b, t->kind);
    if (in->c >= t->nvariants)
      return fail(r, off + 12, "pc %u: LOADENUM operand c: expected a variant < %u, found %u", pc,
                  t->nvariants, in->c);
    return true;
  }
  case OP_CALLB:
    if (in->d < BUILTINS[in->b].min_args || in->d > BUILTINS[in->b].max_args)
      return fail(r, off + 16, "pc %u: CALLB of `%s`: expected %u to %u arguments, found %u", pc,
                  BUILTINS[in->b].name, BUILTINS[in->b].min_args, BUILTINS[in->b].max_args, in->d);
    return check_range(r, off, pc, name, "arguments", in->c, in->d, nregs);
  case OP_CALL:
    if (in->d != img->funcs[in->b].nparams)
      return fail(r, off + 16, "pc %u: CALL of function %u: expected %u arguments, found %u", pc, in->b,
                  img->funcs[in->b].nparams, in->d);
    return check_range(r, off, pc, name, "arguments", in->c, in->d, nregs);
  case OP_FORK:
    /* The items, the width, then d captures; the body takes the item and
     * the captures. */
    if ((uint64_t)in->d + 1 != img->funcs[in->b].nparams)
      return fail(r, off + 16,
                  "pc %u: FORK of function %u: expected %u captures (its %u parameters "
                  "less the item), found %u",
                  pc, in->b, img->funcs[in->b].nparams ? img->funcs[in->b].nparams - 1 : 0,
                  img->funcs[in->b].nparams, in->d);
    return check_range(r, off, pc, name, "items, width and captures", in->c, 2ull + in->d, nregs);
  case OP_PROMPT:
    /* The rendered messages, the feedback list and the model override. */
    return check_range(r, off, pc, name, "messages, feedback and override", in->c, 3, nregs);
  case OP_RETRY:
    /* The counter and the feedback list after it. */
    return check_range(r, off, pc, name, "counter and feedback", in->a, 2, nregs);
  case OP_ASSERT:
    if ((int32_t)in->c < 0)
      return fail(r, off + 12, "pc %u: ASSERT operand c: expected an assertion number >= 0, found %d", pc,
                  (int32_t)in->c);
    return true;
  default:
    /* Any other register followed by a count names the range r .. r+n-1. */
    for (int k = 0; k < 3; k++)
      if (kinds[k] == 'r' && kinds[k + 1] == 'n' &&
          !check_range(r, off, pc, name, "range", v[k], v[k + 1], nregs))
        return false;
    return true;
  }
}

/* Verify every instruction of function [fi] and that it cannot fall off its
 * end. */
static bool verify_func(Reader *r, uint32_t fi) {
  const ImgFunc *f = &r->img->funcs[fi];
  set_ctx(r, "function", fi, f->name);
  for (uint32_t pc = 0; pc < f->ncode; pc++)
    if (!verify_instr(r, fi, pc)) return false;
  uint32_t last = f->code[f->ncode - 1].op;
  if (!is_terminator(last))
    return fail(r, r->code_off[fi] + (size_t)(f->ncode - 1) * INSTR_SIZE,
                "pc %u: expected the last instruction to be RET, RETYIELDS, FAIL, RETRY, SKIP or JMP, "
                "found %s",
                f->ncode - 1, op_name((Op)last));
  return true;
}

/* Free the built-in types image_new put in [img]: the file brings its
 * whole type table, built-in types included. */
static void discard_types(Image *img) {
  for (uint32_t i = 0; i < img->ntypes; i++) {
    ImgType *t = &img->types[i];
    free(t->name);
    for (uint32_t f = 0; f < t->nfields; f++) {
      if (t->field_names) free(t->field_names[f]);
      if (t->field_docs) free(t->field_docs[f]);
    }
    free(t->field_names);
    free(t->field_types);
    free(t->field_docs);
    for (uint32_t v = 0; v < t->nvariants; v++)
      free(t->variants[v]);
    free(t->variants);
  }
  free(img->types);
  img->types = NULL;
  img->ntypes = 0;
}

/* ---- reading: the whole file -------------------------------------------------------- */

/* Write up to [n] bytes at [p] as printable text into [out] (for tags and
 * magic numbers in messages). */
static void show_bytes(char *out, size_t outlen, const unsigned char *p, size_t n) {
  size_t o = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n && o + 5 < outlen; i++) {
    int w = snprintf(out + o, outlen - o, i ? " %02x" : "%02x", p[i]);
    if (w < 0) break;
    o += (size_t)w;
  }
}

Image *bytecode_read(const unsigned char *data, size_t len, char *err, size_t errlen) {
  static bool (*const parse[SEC_COUNT])(Reader *) = {
      rd_strings,  rd_files,   rd_positions, rd_consts, rd_types, rd_funcs, rd_models,
      rd_policies, rd_prompts, rd_contexts,  rd_evals,  rd_flows, rd_tests, rd_main,
  };
  Reader r;
  memset(&r, 0, sizeof r);
  r.data = data;
  r.sec = SEC_NONE;
  r.err = err;
  r.errlen = errlen;
  if (err && errlen) err[0] = '\0';
  if (!data) len = 0;

  /* Header: magic and version. */
  size_t m = len < BYTECODE_MAGIC_SIZE ? len : BYTECODE_MAGIC_SIZE;
  if (m == 0 || memcmp(data, BYTECODE_MAGIC, m) != 0) {
    char want[40], found[40];
    show_bytes(want, sizeof want, (const unsigned char *)BYTECODE_MAGIC, BYTECODE_MAGIC_SIZE);
    found[0] = '\0';
    if (m) show_bytes(found, sizeof found, data, m);
    fail(&r, 0, "not a flow bytecode file: expected the magic bytes %s at offset 0, found %s%s", want,
         m ? found : "an empty file", m && m < BYTECODE_MAGIC_SIZE ? " (then the end of the file)" : "");
    return NULL;
  }
  if (len < HEADER_SIZE) {
    fail(&r, 0, "truncated: the header needs %u bytes at offset 0, file has %zu", HEADER_SIZE, len);
    return NULL;
  }
  uint32_t version = le32(data + BYTECODE_MAGIC_SIZE);
  if (version != BYTECODE_VERSION) {
    fail(&r, 0, "bytecode format version %u is not supported; this flowc reads version %u", version,
         BYTECODE_VERSION);
    return NULL;
  }

  /* Framing: each section's tag and length, then exactly the hash. */
  size_t body_end = len >= BYTECODE_HASH_SIZE ? len - BYTECODE_HASH_SIZE : 0;
  size_t sec_off[SEC_COUNT], sec_len[SEC_COUNT];
  size_t o = HEADER_SIZE;
  for (int s = 0; s < SEC_COUNT; s++) {
    if (body_end < o || body_end - o < 8) {
      fail(&r, o,
           "truncated: section `%s` needs 8 bytes at offset %zu for its header (then %d bytes of "
           "hash), file has %zu",
           SECTIONS[s].name, o, BYTECODE_HASH_SIZE, len);
      return NULL;
    }
    if (memcmp(data + o, SECTIONS[s].tag, 4) != 0) {
      char found[20];
      show_bytes(found, sizeof found, data + o, 4);
      fail(&r, o, "expected section `%s` (tag %s) at offset %zu, found tag bytes %s", SECTIONS[s].name,
           SECTIONS[s].tag, o, found);
      return NULL;
    }
    uint32_t slen = le32(data + o + 4);
    if (slen > body_end - o - 8) {
      fail(&r, o,
           "truncated: section `%s` needs %u bytes at offset %zu (then %d bytes of hash), file has %zu",
           SECTIONS[s].name, slen, o + 8, BYTECODE_HASH_SIZE, len);
      return NULL;
    }
    sec_off[s] = o + 8;
    sec_len[s] = slen;
    o += 8 + (size_t)slen;
  }
  if (o != body_end) {
    fail(&r, o, "expected the %d-byte content hash at offset %zu, found %zu bytes", BYTECODE_HASH_SIZE, o,
         len - o);
    return NULL;
  }

  /* The content hash. */
  unsigned char hash[BYTECODE_HASH_SIZE];
  sha256_hash(data, body_end, hash);
  if (memcmp(hash, data + body_end, BYTECODE_HASH_SIZE) != 0) {
    char want[SHA256_HEX_SIZE], found[SHA256_HEX_SIZE];
    sha256_hex(data + body_end, want);
    sha256_hex(hash, found);
    fail(&r, body_end,
         "corrupted: content hash mismatch: the hash at offset %zu is %s, but the content hashes to %s",
         body_end, want, found);
    return NULL;
  }

  /* Content, section by section, then the instructions. */
  r.img = image_new();
  discard_types(r.img);
  for (int s = 0; s < SEC_COUNT && !r.failed; s++) {
    r.sec = (Section)s;
    r.ctx[0] = '\0';
    r.pos = sec_off[s];
    r.end = sec_off[s] + sec_len[s];
    if (!parse[s](&r)) break;
    if (s == SEC_TYPES && !check_types(&r, sec_off[s])) break;
    if (r.pos != r.end) {
      r.ctx[0] = '\0';
      fail(&r, r.pos, "expected the end of the section, found %zu more bytes", r.end - r.pos);
    }
  }
  r.sec = SEC_FUNCS;
  for (uint32_t fi = 0; fi < r.img->nfuncs && !r.failed; fi++)
    verify_func(&r, fi);

  free(r.strs);
  free(r.code_off);
  if (r.failed) {
    image_free(r.img);
    return NULL;
  }
  memcpy(r.img->hash, hash, sizeof hash);
  return r.img;
}
