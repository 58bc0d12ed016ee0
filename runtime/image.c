/* image.c - creating and freeing program images, interning their types and
 * constants, and the opcode tables (see image.h).
 *
 * An Image made by image_new is the first member of a private ImageImpl that
 * also holds two hash indexes: one of the constant pool (so that the 100,000th
 * string constant is deduplicated in O(1)) and one of the type table. Images
 * must therefore be created with image_new. Code that appends to `consts` or
 * `types` directly instead of through image_add_const / image_intern_type
 * is tolerated: the indexes notice the change and are rebuilt. */
#include "image.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "builtins.h"

/* ---- opcode tables -------------------------------------------------------------------------- */

static const char *const OP_NAMES[OP_COUNT] = {
#define X(name, kinds, doc) #name,
#include "opcodes.def"
#undef X
};

static const char *const OP_KINDS[OP_COUNT] = {
#define X(name, kinds, doc) kinds,
#include "opcodes.def"
#undef X
};

const char *op_kinds(Op op) { return (unsigned)op < OP_COUNT ? OP_KINDS[op] : "----"; }
const char *op_name(Op op) { return (unsigned)op < OP_COUNT ? OP_NAMES[op] : "?"; }

/* ---- the private part of an image ----------------------------------------------------------- */

#define IMAGE_MAGIC 0x464c4f57u /* "FLOW" */

/* An open-addressing set of indexes into one of the image's arrays; a slot
 * holds index + 1, or 0 when empty. `seen_ptr` and `seen_len` record the
 * array as last indexed, to notice direct appends. */
typedef struct Index {
  uint32_t *slots;
  uint32_t mask;        /* capacity - 1 (capacity a power of two), or 0 before the first use */
  uint32_t used;
  uint32_t array_cap;   /* allocated length of the indexed array */
  const void *seen_ptr;
  uint32_t seen_len;
} Index;

typedef struct ImageImpl {
  Image img; /* first, so that an Image * is an ImageImpl * */
  uint32_t magic;
  Index consts, types;
} ImageImpl;

static ImageImpl *impl_of(Image *img) {
  ImageImpl *impl = (ImageImpl *)img;
  if (impl->magic != IMAGE_MAGIC) abort(); /* not made by image_new */
  return impl;
}

/* ---- hashing of constants and types --------------------------------------------------------- */

/* Whether a constant takes part in deduplication. */
static bool const_dedupable(Value v) { return v.tag == V_STR || v.tag == V_INT || v.tag == V_FLOAT; }

static uint32_t const_hash(Value v) {
  if (v.tag == V_FLOAT) {
    uint64_t bits;
    memcpy(&bits, &v.u.f, sizeof bits);
    bits ^= bits >> 31;
    bits *= 0x9e3779b97f4a7c15ull;
    return (uint32_t)(bits >> 32) ^ 0x5bd1e995u;
  }
  return value_hash(v) ^ v.tag;
}

/* Same tag and same bits: 1 and 1.0 stay distinct constants, as do 0.0 and -0.0. */
static bool const_same(Value a, Value b) {
  if (a.tag != b.tag) return false;
  switch (a.tag) {
  case V_INT: return a.u.i == b.u.i;
  case V_FLOAT: return memcmp(&a.u.f, &b.u.f, sizeof(double)) == 0;
  case V_STR: return value_equal(a, b);
  }
  return false;
}

static uint32_t hash_cstr(uint32_t h, const char *s) {
  if (!s) return h * 31u + 7u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h * 31u;
}

/* Scalar kinds ignore `elem`; containers compare it. */
static bool kind_has_elem(ImgTypeKind k) { return k == IT_LIST || k == IT_OPT || k == IT_MAP; }

/* Records and enums are identified by name alone: names are unique in a
 * program, and the lowerer interns a record before filling in its fields
 * (so that recursive fields can refer to it). */
static uint32_t type_hash(const ImgType *t) {
  uint32_t h = 2166136261u ^ (uint32_t)t->kind;
  if (kind_has_elem(t->kind)) h = (h ^ t->elem) * 16777619u;
  if (t->kind == IT_RECORD || t->kind == IT_ENUM) h = hash_cstr(h, t->name);
  return h;
}

static bool str_same(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* Whether two types are the same: kind, element type, name. */
static bool type_same(const ImgType *a, const ImgType *b) {
  if (a->kind != b->kind) return false;
  if (kind_has_elem(a->kind)) return a->elem == b->elem;
  if (a->kind == IT_RECORD || a->kind == IT_ENUM) return str_same(a->name, b->name);
  return true;
}

/* ---- the indexes ---------------------------------------------------------------------------- */

static uint32_t index_hash(const Image *img, bool types, uint32_t i) {
  return types ? type_hash(&img->types[i]) : const_hash(img->consts[i]);
}

static void index_insert(Index *ix, uint32_t hash, uint32_t id) {
  uint32_t at = hash & ix->mask;
  while (ix->slots[at]) at = (at + 1) & ix->mask;
  ix->slots[at] = id + 1;
  ix->used++;
}

/* (Re)build the index of `len` entries with room for growth. */
static void index_rebuild(Index *ix, const Image *img, bool types, uint32_t len) {
  uint32_t cap = 64;
  while (cap < (uint64_t)len * 2 + 2) cap *= 2;
  free(ix->slots);
  ix->slots = calloc(cap, sizeof(uint32_t));
  if (!ix->slots) flow_oom();
  ix->mask = cap - 1;
  ix->used = 0;
  for (uint32_t i = 0; i < len; i++) {
    if (!types && !const_dedupable(img->consts[i])) continue;
    index_insert(ix, index_hash(img, types, i), i);
  }
}

/* Bring the index in line with the array when it was changed behind our back. */
static void index_sync(Index *ix, const Image *img, bool types) {
  const void *ptr = types ? (const void *)img->types : (const void *)img->consts;
  uint32_t len = types ? img->ntypes : img->nconsts;
  if (ix->slots && ptr == ix->seen_ptr && len == ix->seen_len) return;
  if (ptr != ix->seen_ptr || len != ix->seen_len) ix->array_cap = len; /* changed elsewhere: capacity unknown */
  index_rebuild(ix, img, types, len);
  ix->seen_ptr = ptr;
  ix->seen_len = len;
}

/* ---- types ---------------------------------------------------------------------------------- */

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

/* A deep copy of `t` into `dst`. */
static void type_copy(ImgType *dst, const ImgType *t) {
  memset(dst, 0, sizeof *dst);
  dst->kind = t->kind;
  dst->elem = kind_has_elem(t->kind) ? t->elem : 0;
  dst->name = dup_or_null(t->name);
  if (t->kind == IT_RECORD && t->nfields) {
    dst->nfields = t->nfields;
    dst->field_names = xmalloc(sizeof(char *) * t->nfields);
    dst->field_types = xmalloc(sizeof(uint32_t) * t->nfields);
    dst->field_docs = xmalloc(sizeof(char *) * t->nfields);
    for (uint32_t i = 0; i < t->nfields; i++) {
      dst->field_names[i] = dup_or_null(t->field_names[i]);
      dst->field_types[i] = t->field_types[i];
      dst->field_docs[i] = t->field_docs ? dup_or_null(t->field_docs[i]) : NULL;
    }
  }
  if (t->kind == IT_ENUM && t->nvariants) {
    dst->nvariants = t->nvariants;
    dst->variants = xmalloc(sizeof(char *) * t->nvariants);
    for (uint32_t i = 0; i < t->nvariants; i++) dst->variants[i] = dup_or_null(t->variants[i]);
  }
}

static void type_free(ImgType *t) {
  free(t->name);
  for (uint32_t i = 0; i < t->nfields; i++) {
    if (t->field_names) free(t->field_names[i]);
    if (t->field_docs) free(t->field_docs[i]);
  }
  free(t->field_names);
  free(t->field_types);
  free(t->field_docs);
  for (uint32_t i = 0; i < t->nvariants; i++) free(t->variants[i]);
  free(t->variants);
}

/* Grow an indexed array by one slot, doubling its capacity. */
static void *grow_for_one(Index *ix, void *array, uint32_t len, size_t elem_size) {
  if (len < ix->array_cap) return array;
  uint64_t cap = (uint64_t)len * 2;
  if (cap < 16) cap = 16;
  if (cap > UINT32_MAX) flow_oom();
  ix->array_cap = (uint32_t)cap;
  return xrealloc(array, elem_size * cap);
}

uint32_t image_intern_type(Image *img, const ImgType *t) {
  ImageImpl *impl = impl_of(img);
  Index *ix = &impl->types;
  index_sync(ix, img, true);
  uint32_t h = type_hash(t);
  for (uint32_t at = h & ix->mask; ix->slots[at]; at = (at + 1) & ix->mask) {
    uint32_t id = ix->slots[at] - 1;
    /* The built-in records never stand for a user's type of the same name. */
    if (id >= IMG_TYPE_MESSAGE && id < IMG_TYPE_FIRST_USER) continue;
    if (type_same(&img->types[id], t)) return id;
  }
  img->types = grow_for_one(ix, img->types, img->ntypes, sizeof(ImgType));
  uint32_t id = img->ntypes++;
  type_copy(&img->types[id], t);
  if ((ix->used + 1) * 2 > ix->mask + 1)
    index_rebuild(ix, img, true, img->ntypes);
  else
    index_insert(ix, h, id);
  ix->seen_ptr = img->types;
  ix->seen_len = img->ntypes;
  return id;
}

/* ---- constants ------------------------------------------------------------------------------ */

uint32_t image_add_const(Image *img, Value v) {
  ImageImpl *impl = impl_of(img);
  Index *ix = &impl->consts;
  index_sync(ix, img, false);
  uint32_t h = 0;
  if (const_dedupable(v)) {
    h = const_hash(v);
    for (uint32_t at = h & ix->mask; ix->slots[at]; at = (at + 1) & ix->mask) {
      uint32_t id = ix->slots[at] - 1;
      if (const_same(img->consts[id], v)) {
        value_release(v);
        return id;
      }
    }
  }
  img->consts = grow_for_one(ix, img->consts, img->nconsts, sizeof(Value));
  uint32_t id = img->nconsts++;
  img->consts[id] = v;
  if (const_dedupable(v)) {
    if ((ix->used + 1) * 2 > ix->mask + 1)
      index_rebuild(ix, img, false, img->nconsts);
    else
      index_insert(ix, h, id);
  }
  ix->seen_ptr = img->consts;
  ix->seen_len = img->nconsts;
  return id;
}

/* ---- creation ------------------------------------------------------------------------------- */

/* Helper types the built-in records refer to (ids from IMG_TYPE_FIRST_USER). */
enum {
  HELPER_STRING_OPT = IMG_TYPE_FIRST_USER, /* string? */
  HELPER_IMAGE_OPT,                        /* image? */
  HELPER_STRING_LIST,                      /* string[] */
  HELPER_FLOAT_MAP,                        /* map<string, float> */
  HELPER_END,
};

/* Fill `t` as a record named `name` with `n` fields. */
static void builtin_record(ImgType *t, const char *name, uint32_t n, const char *const *names,
                           const uint32_t *types) {
  t->kind = IT_RECORD;
  t->name = xstrdup(name);
  t->nfields = n;
  t->field_names = xmalloc(sizeof(char *) * n);
  t->field_types = xmalloc(sizeof(uint32_t) * n);
  t->field_docs = xmalloc(sizeof(char *) * n);
  for (uint32_t i = 0; i < n; i++) {
    t->field_names[i] = xstrdup(names[i]);
    t->field_types[i] = types[i];
    t->field_docs[i] = NULL;
  }
}

Image *image_new(void) {
  ImageImpl *impl = calloc(1, sizeof *impl);
  if (!impl) flow_oom();
  impl->magic = IMAGE_MAGIC;
  Image *img = &impl->img;
  img->main_flow = -1;
  img->types = calloc(32, sizeof(ImgType));
  if (!img->types) flow_oom();
  for (uint32_t k = IT_ANY; k <= IT_DURATION; k++) img->types[k].kind = (ImgTypeKind)k;

  static const char *const msg_names[] = {"role", "text", "media"};
  static const uint32_t msg_types[] = {IMG_TYPE_STRING, HELPER_STRING_OPT, HELPER_IMAGE_OPT};
  builtin_record(&img->types[IMG_TYPE_MESSAGE], "Message", 3, msg_names, msg_types);
  static const char *const res_names[] = {"passed", "failures", "scores"};
  static const uint32_t res_types[] = {IMG_TYPE_BOOL, HELPER_STRING_LIST, HELPER_FLOAT_MAP};
  builtin_record(&img->types[IMG_TYPE_EVALRESULT], "EvalResult", 3, res_names, res_types);

  img->types[HELPER_STRING_OPT] = (ImgType){.kind = IT_OPT, .elem = IMG_TYPE_STRING};
  img->types[HELPER_IMAGE_OPT] = (ImgType){.kind = IT_OPT, .elem = IMG_TYPE_IMAGE};
  img->types[HELPER_STRING_LIST] = (ImgType){.kind = IT_LIST, .elem = IMG_TYPE_STRING};
  img->types[HELPER_FLOAT_MAP] = (ImgType){.kind = IT_MAP, .elem = IMG_TYPE_FLOAT};
  img->ntypes = HELPER_END;
  impl->types.array_cap = 32;
  index_rebuild(&impl->types, img, true, img->ntypes);
  impl->types.seen_ptr = img->types;
  impl->types.seen_len = img->ntypes;
  return img;
}

/* ---- freeing -------------------------------------------------------------------------------- */

static void free_strings(char **v, uint32_t n) {
  if (!v) return;
  for (uint32_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

static void params_free(ImgParams *p) { free_strings(p->stop, p->nstop); }

void image_free(Image *img) {
  if (!img) return;
  ImageImpl *impl = impl_of(img);
  free_strings(img->files, img->nfiles);
  free(img->positions);
  for (uint32_t i = 0; i < img->nconsts; i++) value_release(img->consts[i]);
  free(img->consts);
  for (uint32_t i = 0; i < img->ntypes; i++) type_free(&img->types[i]);
  free(img->types);
  for (uint32_t i = 0; i < img->nfuncs; i++) {
    free(img->funcs[i].name);
    free(img->funcs[i].code);
    free(img->funcs[i].pos);
  }
  free(img->funcs);
  for (uint32_t i = 0; i < img->nmodels; i++) {
    ImgModel *m = &img->models[i];
    free(m->name);
    free(m->model);
    free(m->base_url);
    free(m->api_key_env);
    params_free(&m->params);
  }
  free(img->models);
  for (uint32_t i = 0; i < img->npolicies; i++) {
    free(img->policies[i].name);
    free(img->policies[i].fallback);
  }
  free(img->policies);
  for (uint32_t i = 0; i < img->nprompts; i++) {
    ImgPrompt *p = &img->prompts[i];
    free(p->name);
    params_free(&p->params);
    free(p->schema);
  }
  free(img->prompts);
  for (uint32_t i = 0; i < img->ncontexts; i++) {
    free(img->contexts[i].name);
    free(img->contexts[i].arg);
    free(img->contexts[i].base_dir);
    free_strings(img->contexts[i].allow, img->contexts[i].nallow);
  }
  free(img->contexts);
  for (uint32_t i = 0; i < img->nevals; i++) {
    free(img->evals[i].name);
    free_strings(img->evals[i].assert_messages, img->evals[i].nasserts);
  }
  free(img->evals);
  for (uint32_t i = 0; i < img->nflows; i++) {
    ImgFlow *f = &img->flows[i];
    free(f->name);
    free(f->doc);
    free_strings(f->param_names, f->nparams);
    free_strings(f->param_docs, f->nparams);
    free(f->param_types);
  }
  free(img->flows);
  for (uint32_t i = 0; i < img->ntests; i++) free(img->tests[i].title);
  free(img->tests);
  free(impl->consts.slots);
  free(impl->types.slots);
  free(impl);
}
