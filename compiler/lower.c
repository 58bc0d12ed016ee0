/* lower.c - lowering a checked program to an Image (see lower.h).
 *
 * Each body becomes a register-machine function. Registers are allocated
 * like a stack: a `let` keeps its register for the rest of its block,
 * temporaries are released after each statement. Loops (`for`, `map`,
 * `filter`, `sort_by`) become functions of their own, called through FORK
 * with the loop variable first and the captured outer values after it.
 *
 * A model call is lowered as: render the messages (CALL of the prompt's
 * render function), then PROMPT, which leaves a future in its register.
 * Every call site owns three registers for re-asking: an attempt counter,
 * the feedback collected so far and a model override. A failed `check` or
 * `ensure` with `retry` or `fallback` jumps back to the call site's render
 * step through RETRY, so everything computed from the reply is recomputed. */
#include "lower.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "check_internal.h"
#include "schema.h"

/* A local's register in the function being built. */
typedef struct LVar {
  Local *local;
  uint32_t reg;
  int producer;          /* model call this value came from, or -1 */
  struct LVar *next;
} LVar;

/* A model call site that a check may re-ask. */
typedef struct Producer {
  uint32_t render_pc;    /* where a retry jumps back to */
  uint32_t ctr;          /* per-action re-ask counts; ctr+1 feedback; ctr+2 model override */
  uint32_t nactions;     /* checks and ensures that re-ask this call so far */
  uint32_t prompt_pc;    /* its PROMPT, whose d names the path for a rejected reply */
} Producer;

typedef struct FnB {
  uint32_t fn;           /* index in img->funcs */
  Instr *code;
  uint32_t *pos;
  uint32_t n, cap;
  uint32_t next_reg, max_reg;
  LVar *vars;
  Producer *prods;
  uint32_t nprods, prods_cap;
  int last_producer;     /* the latest model call lowered in the current expression */
  uint32_t nasserts;     /* eval and test functions: assertions so far */
  const Action **actions;/* re-asking actions lowered so far, and their ordinal on their call */
  uint32_t *action_ords;
  uint32_t nactions;
  bool is_test;          /* a test body: `assert` records with EXPECT, `mock` installs mocks */
  Span span;             /* source span of what is being lowered, for positions */
} FnB;

typedef struct Lower {
  Program *p;
  Image *img;
  Arena *arena;
  FnB *fb;
  uint32_t last_pos_key_file, last_pos_key_start, last_pos;
  bool has_last_pos;
  char *root_dir;        /* folder of the root file; image paths are relative to it */
} Lower;

static uint32_t lower_expr(Lower *L, Expr *e);
static void lower_expr_to(Lower *L, Expr *e, uint32_t dst);
static void lower_block(Lower *L, Block *b);

/* ---- image tables ----------------------------------------------------------------- */

static char *dup(const char *s) { return s ? xstrdup(s) : NULL; }

/* `path` relative to the root file's folder (borrowed, inside `path`). */
static const char *rel_path(const Lower *L, const char *path) {
  size_t n = strlen(L->root_dir);
  if (strcmp(L->root_dir, ".") != 0 && strncmp(path, L->root_dir, n) == 0 && path[n] == '/') return path + n + 1;
  return path;
}

#define GROW(arr, n, T) ((arr) = xrealloc((arr), ((size_t)(n) + 1) * sizeof(T)))

static uint32_t add_const_str(Lower *L, const char *s, size_t len) {
  return image_add_const(L->img, value_str(s, len));
}

static uint32_t add_position(Lower *L, Span s) {
  if (L->has_last_pos && s.file == L->last_pos_key_file && s.start == L->last_pos_key_start) return L->last_pos;
  SourcePos sp = source_map_pos(L->p->sources, s.file, s.start);
  Image *img = L->img;
  GROW(img->positions, img->npositions, ImgPos);
  img->positions[img->npositions] = (ImgPos){s.file, sp.line, sp.col};
  L->has_last_pos = true;
  L->last_pos_key_file = s.file;
  L->last_pos_key_start = s.start;
  L->last_pos = img->npositions++;
  return L->last_pos;
}

/* The image type id of a checked type. */
static uint32_t type_id(Lower *L, Type *t) {
  if (t->has_img_id) return t->img_id;
  ImgType it;
  memset(&it, 0, sizeof it);
  uint32_t id;
  switch (t->kind) {
  case T_STRING: id = IMG_TYPE_STRING; break;
  case T_INT: id = IMG_TYPE_INT; break;
  case T_FLOAT: id = IMG_TYPE_FLOAT; break;
  case T_BOOL: id = IMG_TYPE_BOOL; break;
  case T_IMAGE: id = IMG_TYPE_IMAGE; break;
  case T_AUDIO: id = IMG_TYPE_AUDIO; break;
  case T_DURATION: id = IMG_TYPE_DURATION; break;
  case T_LIST: case T_OPT: case T_MAP:
    it.kind = t->kind == T_LIST ? IT_LIST : t->kind == T_OPT ? IT_OPT : IT_MAP;
    it.elem = type_id(L, t->elem);
    id = image_intern_type(L->img, &it);
    break;
  case T_ENUM: {
    Decl *d = t->decl;
    it.kind = IT_ENUM;
    it.name = (char *)d->name.name;
    it.nvariants = d->u.enm.n;
    it.variants = xmalloc((d->u.enm.n + 1) * sizeof(char *));
    for (unsigned i = 0; i < d->u.enm.n; i++) it.variants[i] = (char *)d->u.enm.variants[i].name.name;
    id = image_intern_type(L->img, &it);
    free(it.variants);
    break;
  }
  case T_RECORD: {
    /* the id first, so recursive fields can refer to it */
    Decl *d = t->decl;
    it.kind = IT_RECORD;
    it.name = (char *)d->name.name;
    id = image_intern_type(L->img, &it);
    t->img_id = id;
    t->has_img_id = true;
    uint32_t n = d->u.record.n;
    char **names = xmalloc((n + 1) * sizeof *names), **docs = xmalloc((n + 1) * sizeof *docs);
    uint32_t *types = xmalloc((n + 1) * sizeof *types);
    for (uint32_t i = 0; i < n; i++) {
      Field *f = d->u.record.fields[i];
      names[i] = dup(f->name.name);
      types[i] = f->resolved ? type_id(L, f->resolved) : IMG_TYPE_ANY;
      docs[i] = NULL;
      for (unsigned k = 0; k < f->nannots; k++) {
        const char *text = f->annots[k]->nargs == 1 ? expr_const_string(f->annots[k]->args[0].value) : NULL;
        if (text) docs[i] = dup(text);
      }
    }
    ImgType *rt = &L->img->types[id]; /* after the recursive calls: the array may have moved */
    rt->nfields = n;
    rt->field_names = names;
    rt->field_types = types;
    rt->field_docs = docs;
    return id;
  }
  default: id = IMG_TYPE_ANY; break;
  }
  t->img_id = id;
  t->has_img_id = true;
  return id;
}

/* ---- function building --------------------------------------------------------------- */

static uint32_t emit(Lower *L, Op op, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  FnB *f = L->fb;
  if (f->n == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 32;
    f->code = xrealloc(f->code, f->cap * sizeof *f->code);
    f->pos = xrealloc(f->pos, f->cap * sizeof *f->pos);
  }
  f->code[f->n] = (Instr){op, a, b, c, d};
  f->pos[f->n] = add_position(L, f->span);
  return f->n++;
}

static uint32_t here(Lower *L) { return L->fb->n; }
static void patch_jump(Lower *L, uint32_t at, uint32_t target) {
  Instr *in = &L->fb->code[at];
  if (in->op == OP_JMP) in->a = target;
  else in->b = target;
}

static uint32_t new_reg(Lower *L) {
  FnB *f = L->fb;
  uint32_t r = f->next_reg++;
  if (f->next_reg > f->max_reg) f->max_reg = f->next_reg;
  return r;
}

/* `n` consecutive registers. */
static uint32_t new_regs(Lower *L, uint32_t n) {
  uint32_t base = L->fb->next_reg;
  for (uint32_t i = 0; i < n; i++) new_reg(L);
  return base;
}

/* Reserve a function slot now (loops inside it are added while it is built). */
static uint32_t reserve_func(Lower *L, const char *name, uint32_t nparams) {
  Image *img = L->img;
  GROW(img->funcs, img->nfuncs, ImgFunc);
  ImgFunc *f = &img->funcs[img->nfuncs];
  memset(f, 0, sizeof *f);
  f->name = dup(name);
  f->nparams = nparams;
  return img->nfuncs++;
}

static void begin_func(Lower *L, FnB *f, uint32_t fn, uint32_t nparams, Span span) {
  memset(f, 0, sizeof *f);
  f->fn = fn;
  f->next_reg = f->max_reg = nparams;
  f->last_producer = -1;
  f->span = span;
  L->fb = f;
}

/* Registers of model call sites must outlive every statement that may
 * re-ask them, so they come from a pool of their own: operands carry
 * PROD_REG | k until end_func places the pool after the other registers. */
#define PROD_REG 0x40000000u

/* Finish the function being built and store it in its slot. */
static void end_func(Lower *L, FnB *f) {
  uint32_t base = f->max_reg;
  for (uint32_t i = 0; i < f->n; i++) {
    Instr *in = &f->code[i];
    const char *kinds = op_kinds((Op)in->op);
    uint32_t *ops[4] = {&in->a, &in->b, &in->c, &in->d};
    for (int k = 0; k < 4; k++)
      if (kinds[k] == 'r' && (*ops[k] & PROD_REG)) *ops[k] = base + (*ops[k] & ~PROD_REG);
  }
  ImgFunc *fn = &L->img->funcs[f->fn];
  fn->code = f->code;
  fn->pos = f->pos;
  fn->ncode = f->n;
  fn->nregs = base + 3 * f->nprods;
  if (fn->nregs == 0) fn->nregs = 1;
  free(f->prods);
  free(f->actions);
  free(f->action_ords);
}

static void bind(Lower *L, void *local, uint32_t reg, int producer) {
  LVar *v = ARENA_NEW(L->arena, LVar);
  v->local = local;
  v->reg = reg;
  v->producer = producer;
  v->next = L->fb->vars;
  L->fb->vars = v;
}

static LVar *find_var(Lower *L, Local *l) {
  while (l && l->alias) l = l->alias;
  for (LVar *v = L->fb->vars; v; v = v->next)
    if (v->local == l) return v;
  return NULL;
}

/* ---- expressions ------------------------------------------------------------------------ */

static uint32_t lower_const_text(Lower *L, const char *s, size_t len, uint32_t dst) {
  emit(L, OP_LOADK, dst, add_const_str(L, s, len), 0, 0);
  return dst;
}

/* A template string: the text parts as constants, the values printed. */
static void lower_string(Lower *L, Expr *e, uint32_t dst) {
  unsigned n = e->u.str.nparts;
  if (n == 0) {
    lower_const_text(L, "", 0, dst);
    return;
  }
  if (n == 1 && !e->u.str.parts[0].is_expr) {
    lower_const_text(L, e->u.str.parts[0].text, e->u.str.parts[0].len, dst);
    return;
  }
  uint32_t mark = L->fb->next_reg, base = new_regs(L, n);
  for (unsigned i = 0; i < n; i++) {
    StrPart *part = &e->u.str.parts[i];
    if (!part->is_expr) {
      lower_const_text(L, part->text, part->len, base + i);
    } else if (part->expr->type && part->expr->type->kind == T_STRING) {
      lower_expr_to(L, part->expr, base + i);
    } else {
      uint32_t v = lower_expr(L, part->expr);
      emit(L, OP_TOSTR, base + i, v, 0, 0);
    }
  }
  emit(L, OP_STRCAT, dst, base, n, 0);
  L->fb->next_reg = mark;
}

static void lower_name(Lower *L, Expr *e, uint32_t dst) {
  Local *l = e->u.name.local;
  if (l && l->context) {
    emit(L, OP_CONTEXT, dst, l->context->index, 0, 0);
    return;
  }
  if (l) {
    LVar *v = find_var(L, l);
    if (v) {
      if (v->reg != dst) emit(L, OP_MOVE, dst, v->reg, 0, 0);
      if (v->producer >= 0) L->fb->last_producer = v->producer;
      return;
    }
  }
  if (e->u.name.variant >= 0 && e->type && e->type->kind == T_ENUM) {
    emit(L, OP_LOADENUM, dst, type_id(L, e->type), (uint32_t)e->u.name.variant, 0);
    return;
  }
  Decl *d = e->u.name.decl;
  if (d && d->kind == D_CONTEXT) {
    emit(L, OP_CONTEXT, dst, d->index, 0, 0);
    return;
  }
  if (d && d->kind == D_MODEL) {
    emit(L, OP_LOADI, dst, d->index, 0, 0);
    return;
  }
  emit(L, OP_LOADNONE, dst, 0, 0, 0);
}

/* Values of the locals a loop body uses from outside it. */
typedef struct Captures {
  Local **items;
  uint32_t n, cap;
  Local **bound;         /* locals the body binds itself */
  uint32_t nbound, bound_cap;
} Captures;

static void captures_add(Local ***arr, uint32_t *n, uint32_t *cap, Local *l) {
  for (uint32_t i = 0; i < *n; i++)
    if ((*arr)[i] == l) return;
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 8;
    *arr = xrealloc(*arr, *cap * sizeof **arr);
  }
  (*arr)[(*n)++] = l;
}

static void collect_expr(Captures *cap, Expr *e);
static void collect_block(Captures *cap, Block *b);

static void collect_stmt(Captures *cap, Stmt *s) {
  switch (s->kind) {
  case ST_LET: case ST_SCORE:
    collect_expr(cap, s->u.let.value);
    if (s->u.let.local) captures_add(&cap->bound, &cap->nbound, &cap->bound_cap, s->u.let.local);
    break;
  case ST_CHECK: collect_expr(cap, s->u.check.cond); break;
  case ST_YIELD: collect_expr(cap, s->u.yield.value); break;
  case ST_IF:
    collect_expr(cap, s->u.if_s.cond);
    collect_block(cap, s->u.if_s.then_b);
    if (s->u.if_s.else_b) collect_block(cap, s->u.if_s.else_b);
    break;
  case ST_MATCH:
    collect_expr(cap, s->u.match.subject);
    for (unsigned i = 0; i < s->u.match.narms; i++) collect_block(cap, s->u.match.arms[i]->body);
    break;
  case ST_FOR:
    collect_expr(cap, s->u.for_s.iter);
    if (s->u.for_s.local) captures_add(&cap->bound, &cap->nbound, &cap->bound_cap, s->u.for_s.local);
    collect_block(cap, s->u.for_s.body);
    break;
  case ST_ASSERT: collect_expr(cap, s->u.assert_s.cond); break;
  case ST_MOCK: collect_expr(cap, s->u.mock.value); break;
  }
}

static void collect_block(Captures *cap, Block *b) {
  for (unsigned i = 0; i < b->n; i++) collect_stmt(cap, b->stmts[i]);
}

static void collect_expr(Captures *cap, Expr *e) {
  if (!e) return;
  switch (e->kind) {
  case EX_NAME: {
    Local *l = e->u.name.local;
    while (l && l->alias) l = l->alias;
    if (l && !l->context) captures_add(&cap->items, &cap->n, &cap->cap, l);
    break;
  }
  case EX_STRING:
    for (unsigned i = 0; i < e->u.str.nparts; i++)
      if (e->u.str.parts[i].is_expr) collect_expr(cap, e->u.str.parts[i].expr);
    break;
  case EX_MEMBER: collect_expr(cap, e->u.member.obj); break;
  case EX_INDEX: collect_expr(cap, e->u.index.obj); collect_expr(cap, e->u.index.index); break;
  case EX_CALL:
    for (unsigned i = 0; i < e->u.call.nargs; i++) collect_expr(cap, e->u.call.args[i].value);
    break;
  case EX_LIST:
    for (unsigned i = 0; i < e->u.list.n; i++) collect_expr(cap, e->u.list.items[i]);
    break;
  case EX_MAP: case EX_RECORD: {
    FieldInit *f = e->kind == EX_MAP ? e->u.map.fields : e->u.record.fields;
    unsigned n = e->kind == EX_MAP ? e->u.map.n : e->u.record.n;
    for (unsigned i = 0; i < n; i++) collect_expr(cap, f[i].value);
    break;
  }
  case EX_UNARY: collect_expr(cap, e->u.unary.operand); break;
  case EX_BINARY: collect_expr(cap, e->u.binary.lhs); collect_expr(cap, e->u.binary.rhs); break;
  case EX_IF:
    collect_expr(cap, e->u.if_e.cond);
    collect_expr(cap, e->u.if_e.then_e);
    collect_expr(cap, e->u.if_e.else_e);
    break;
  case EX_MATCH:
    collect_expr(cap, e->u.match.subject);
    for (unsigned i = 0; i < e->u.match.narms; i++) collect_expr(cap, e->u.match.arms[i]->value);
    break;
  case EX_FOR:
    collect_expr(cap, e->u.for_e.iter);
    if (e->u.for_e.local) captures_add(&cap->bound, &cap->nbound, &cap->bound_cap, e->u.for_e.local);
    collect_block(cap, e->u.for_e.body);
    break;
  case EX_LAMBDA:
    if (e->u.lambda.local) captures_add(&cap->bound, &cap->nbound, &cap->bound_cap, e->u.lambda.local);
    collect_expr(cap, e->u.lambda.body);
    break;
  case EX_ENSURE:
    collect_expr(cap, e->u.ensure.value);
    for (unsigned i = 0; i < e->u.ensure.nargs; i++) collect_expr(cap, e->u.ensure.args[i].value);
    break;
  default: break;
  }
}

/* The locals `body` reads from the enclosing function (sorted out of what
 * the body binds itself). The caller frees items. */
static Captures captures_of(Block *body, Expr *expr, Local *param) {
  Captures cap;
  memset(&cap, 0, sizeof cap);
  if (param) captures_add(&cap.bound, &cap.nbound, &cap.bound_cap, param);
  if (body) collect_block(&cap, body);
  if (expr) collect_expr(&cap, expr);
  uint32_t k = 0;
  for (uint32_t i = 0; i < cap.n; i++) {
    bool own = false;
    for (uint32_t j = 0; j < cap.nbound && !own; j++) own = cap.bound[j] == cap.items[i];
    if (!own) cap.items[k++] = cap.items[i];
  }
  cap.n = k;
  free(cap.bound);
  cap.bound = NULL;
  return cap;
}

typedef enum LoopKind { LOOP_YIELDS, LOOP_MAP, LOOP_FILTER, LOOP_TRIALS } LoopKind;

/* Lower a loop body to a function of (item, captures...) and FORK it over
 * `iter`: the result is the list of what the body yields. */
static void lower_loop(Lower *L, Local *var, Expr *iter, Expr *parallel, Block *body, Expr *lam_body,
                       LoopKind kind, uint32_t dst, const char *what) {
  Captures cap = captures_of(body, lam_body, var);
  FnB *outer = L->fb;
  SourcePos sp = source_map_pos(L->p->sources, outer->span.file, outer->span.start);
  char name[96];
  snprintf(name, sizeof name, "%s@%u:%u", what, sp.line, sp.col);
  uint32_t fn = reserve_func(L, name, 1 + cap.n);

  /* the call: list, width, captures */
  uint32_t mark = outer->next_reg, base = new_regs(L, 2 + cap.n);
  lower_expr_to(L, iter, base);
  int64_t width = 0;
  if (parallel && parallel->kind == EX_INT) width = parallel->u.i;
  else if (parallel && parallel->kind == EX_UNIT) width = (int64_t)parallel->u.unit.value;
  emit(L, OP_LOADI, base + 1, (uint32_t)(int32_t)(kind == LOOP_YIELDS ? width : 1), 0, 0);
  for (uint32_t i = 0; i < cap.n; i++) {
    LVar *v = find_var(L, cap.items[i]);
    if (v) emit(L, OP_MOVE, base + 2 + i, v->reg, 0, 0);
    else emit(L, OP_LOADNONE, base + 2 + i, 0, 0, 0);
  }

  /* the body */
  FnB inner;
  begin_func(L, &inner, fn, 1 + cap.n, outer->span);
  bind(L, var, 0, -1);
  for (uint32_t i = 0; i < cap.n; i++) {
    LVar *v = NULL;
    for (LVar *o = outer->vars; o && !v; o = o->next)
      if (o->local == cap.items[i]) v = o;
    bind(L, cap.items[i], 1 + i, v ? v->producer : -1);
  }
  if (kind == LOOP_YIELDS) {
    lower_block(L, body);
  } else if (kind == LOOP_MAP || kind == LOOP_TRIALS) {
    uint32_t r = lower_expr(L, lam_body);
    emit(L, OP_YIELD, r, 0, 0, 0); /* reading the value waits for it: a trial succeeds only if it does */
  } else {
    uint32_t r = lower_expr(L, lam_body);
    uint32_t j = emit(L, OP_JMPF, r, 0, 0, 0);
    emit(L, OP_YIELD, 0, 0, 0, 0);
    patch_jump(L, j, here(L));
  }
  emit(L, OP_RETYIELDS, 0, 0, 0, 0);
  end_func(L, &inner);
  L->fb = outer;

  emit(L, kind == LOOP_TRIALS ? OP_TRIALS : OP_FORK, dst, fn, base, cap.n);
  outer->next_reg = mark;
  free(cap.items);
}

/* Arguments into consecutive registers from a fresh base; returns the base. */
static uint32_t lower_args(Lower *L, Arg *args, unsigned nargs) {
  uint32_t base = new_regs(L, nargs ? nargs : 1);
  for (unsigned i = 0; i < nargs; i++) lower_expr_to(L, args[i].value, base + i);
  return base;
}

/* Arguments of a prompt/flow/eval in parameter order (named ones placed). */
static uint32_t lower_call_args(Lower *L, Arg *args, unsigned nargs, Param **params, unsigned nparams,
                                unsigned skip) {
  uint32_t n = nparams - skip;
  uint32_t base = new_regs(L, n ? n : 1);
  unsigned pos = 0;
  for (unsigned i = 0; i < nargs; i++) {
    unsigned k;
    if (!args[i].name.name) {
      k = skip + pos++;
    } else {
      for (k = skip; k < nparams && params[k]->name.name != args[i].name.name; k++) {}
    }
    if (k < nparams) lower_expr_to(L, args[i].value, base + (k - skip));
  }
  return base;
}

/* A model call: render, then PROMPT with this call site's re-ask registers. */
static void lower_prompt_call(Lower *L, Decl *d, Arg *args, unsigned nargs, uint32_t dst) {
  FnB *f = L->fb;
  uint32_t ctr = PROD_REG | (3 * f->nprods);
  emit(L, OP_LOADNONE, ctr, 0, 0, 0);
  emit(L, OP_LOADNONE, ctr + 1, 0, 0, 0);
  emit(L, OP_LOADNONE, ctr + 2, 0, 0, 0);
  uint32_t render_pc = here(L);
  uint32_t mark = f->next_reg;
  uint32_t base = lower_call_args(L, args, nargs, d->u.prompt.params, d->u.prompt.nparams, 0);
  uint32_t msgs = new_regs(L, 3);
  emit(L, OP_CALL, msgs, L->img->prompts[d->index].render, base, d->u.prompt.nparams);
  emit(L, OP_MOVE, msgs + 1, ctr + 1, 0, 0);
  emit(L, OP_MOVE, msgs + 2, ctr + 2, 0, 0);
  uint32_t prompt_pc = emit(L, OP_PROMPT, dst, d->index, msgs, 0);
  f->next_reg = mark;
  if (f->nprods == f->prods_cap) {
    f->prods_cap = f->prods_cap ? f->prods_cap * 2 : 8;
    f->prods = xrealloc(f->prods, f->prods_cap * sizeof *f->prods);
  }
  f->prods[f->nprods] = (Producer){render_pc, ctr, 0, prompt_pc};
  f->last_producer = (int)f->nprods++;
}

static void lower_call(Lower *L, Expr *e, uint32_t dst) {
  Ident id = e->u.call.callee->u.name.id;
  Decl *d = e->u.call.callee->u.name.decl;
  uint32_t mark = L->fb->next_reg;
  if (d && d->kind == D_PROMPT) {
    lower_prompt_call(L, d, e->u.call.args, e->u.call.nargs, dst);
    return;
  }
  if (d && d->kind == D_FLOW) {
    uint32_t base = lower_call_args(L, e->u.call.args, e->u.call.nargs, d->u.flow.params, d->u.flow.nparams, 0);
    emit(L, OP_CALL, dst, L->img->flows[d->index].fn, base, d->u.flow.nparams);
    L->fb->next_reg = mark;
    return;
  }
  const char *name = id.name;
  Arg *args = e->u.call.args;
  unsigned nargs = e->u.call.nargs;
  if (!strcmp(name, "map") || !strcmp(name, "filter")) {
    Expr *lam = args[1].value;
    lower_loop(L, lam->u.lambda.local, args[0].value, NULL, NULL, lam->u.lambda.body,
               name[0] == 'm' ? LOOP_MAP : LOOP_FILTER, dst, name);
    return;
  }
  if (!strcmp(name, "pass_rate")) { /* pass_rate(expr, seeds: n): n trials of expr */
    lower_loop(L, NULL, args[1].value, NULL, NULL, args[0].value, LOOP_TRIALS, dst, "pass_rate");
    return;
  }
  if (!strcmp(name, "sort_by")) {
    Expr *lam = args[1].value;
    uint32_t base = new_regs(L, 2);
    lower_expr_to(L, args[0].value, base);
    lower_loop(L, lam->u.lambda.local, args[0].value, NULL, NULL, lam->u.lambda.body, LOOP_MAP, base + 1, "sort_by");
    emit(L, OP_CALLB, dst, (uint32_t)builtin_lookup("sort_by_keys"), base, 2);
    L->fb->next_reg = mark;
    return;
  }
  if (!strcmp(name, "judge")) {
    uint32_t base = lower_args(L, args, nargs);
    Decl *m = args[0].value->kind == EX_NAME ? args[0].value->u.name.decl : NULL;
    emit(L, OP_JUDGE, dst, m ? m->index : 0, base + 1, 0);
    L->fb->next_reg = mark;
    return;
  }
  /* chunk(text, n, overlap: k): named argument in its position */
  uint32_t base = lower_args(L, args, nargs);
  emit(L, OP_CALLB, dst, (uint32_t)builtin_lookup(name), base, nargs);
  L->fb->next_reg = mark;
}

static Op arith_op(BinOp op) {
  switch (op) {
  case BIN_ADD: return OP_ADD;
  case BIN_SUB: return OP_SUB;
  case BIN_MUL: return OP_MUL;
  case BIN_DIV: return OP_DIV;
  case BIN_MOD: return OP_MOD;
  case BIN_EQ: return OP_EQ;
  case BIN_NE: return OP_NE;
  case BIN_LT: return OP_LT;
  case BIN_LE: return OP_LE;
  case BIN_GT: return OP_GT;
  case BIN_GE: return OP_GE;
  default: return OP_NOP;
  }
}

static void lower_binary(Lower *L, Expr *e, uint32_t dst) {
  BinOp op = e->u.binary.op;
  uint32_t mark = L->fb->next_reg;
  if (op == BIN_AND || op == BIN_OR) {
    /* short-circuit: dst = lhs; if it decides, skip rhs */
    lower_expr_to(L, e->u.binary.lhs, dst);
    uint32_t j = emit(L, op == BIN_AND ? OP_JMPF : OP_JMPT, dst, 0, 0, 0);
    lower_expr_to(L, e->u.binary.rhs, dst);
    patch_jump(L, j, here(L));
    return;
  }
  if (op == BIN_COALESCE) {
    /* lazy: the right side (maybe a model call) runs only when needed */
    uint32_t t = new_reg(L), none = new_reg(L), test = new_reg(L);
    lower_expr_to(L, e->u.binary.lhs, t);
    emit(L, OP_LOADNONE, none, 0, 0, 0);
    emit(L, OP_NE, test, t, none, 0);
    emit(L, OP_MOVE, dst, t, 0, 0);
    uint32_t j = emit(L, OP_JMPT, test, 0, 0, 0);
    lower_expr_to(L, e->u.binary.rhs, dst);
    patch_jump(L, j, here(L));
    L->fb->next_reg = mark;
    return;
  }
  if (op == BIN_IN && e->u.binary.rhs->kind == EX_BINARY && e->u.binary.rhs->u.binary.op == BIN_RANGE) {
    uint32_t base = new_regs(L, 3);
    lower_expr_to(L, e->u.binary.lhs, base);
    lower_expr_to(L, e->u.binary.rhs->u.binary.lhs, base + 1);
    lower_expr_to(L, e->u.binary.rhs->u.binary.rhs, base + 2);
    emit(L, OP_INRANGE, dst, base, base + 1, base + 2);
    L->fb->next_reg = mark;
    return;
  }
  uint32_t a = lower_expr(L, e->u.binary.lhs);
  uint32_t b = lower_expr(L, e->u.binary.rhs);
  emit(L, op == BIN_IN ? OP_IN : arith_op(op), dst, a, b, 0);
  L->fb->next_reg = mark;
}

static void lower_if(Lower *L, Expr *e, uint32_t dst) {
  uint32_t c = lower_expr(L, e->u.if_e.cond);
  uint32_t jf = emit(L, OP_JMPF, c, 0, 0, 0);
  lower_expr_to(L, e->u.if_e.then_e, dst);
  uint32_t jend = emit(L, OP_JMP, 0, 0, 0, 0);
  patch_jump(L, jf, here(L));
  lower_expr_to(L, e->u.if_e.else_e, dst);
  patch_jump(L, jend, here(L));
}

/* Load the value a pattern stands for; false for `_`. */
static bool lower_pattern_value(Lower *L, Pattern *pat, Type *subject, uint32_t dst) {
  Type *st = subject && subject->kind == T_OPT ? subject->elem : subject;
  switch (pat->kind) {
  case PAT_WILDCARD: return false;
  case PAT_NAME: case PAT_QUALIFIED:
    emit(L, OP_LOADENUM, dst, type_id(L, st), (uint32_t)type_variant(st, pat->name.name), 0);
    return true;
  case PAT_LITERAL:
    lower_expr_to(L, pat->literal, dst);
    return true;
  }
  return false;
}

/* Shared shape of match expressions and statements: test each arm's
 * patterns in order; `arm_body` lowers the chosen arm. */
static void lower_match(Lower *L, Expr *subject, MatchArm **arms, unsigned narms,
                        void (*arm_body)(Lower *, MatchArm *, uint32_t), uint32_t dst) {
  uint32_t mark = L->fb->next_reg;
  uint32_t s = new_reg(L), v = new_reg(L), t = new_reg(L);
  lower_expr_to(L, subject, s);
  uint32_t *ends = xmalloc((narms + 1) * sizeof *ends);
  unsigned nends = 0;
  for (unsigned i = 0; i < narms; i++) {
    MatchArm *arm = arms[i];
    uint32_t *hits = xmalloc((arm->npatterns + 1) * sizeof *hits);
    unsigned nhits = 0;
    bool always = false;
    for (unsigned k = 0; k < arm->npatterns && !always; k++) {
      if (!lower_pattern_value(L, arm->patterns[k], subject->type, v)) {
        always = true;
        break;
      }
      emit(L, OP_EQ, t, s, v, 0);
      hits[nhits++] = emit(L, OP_JMPT, t, 0, 0, 0);
    }
    uint32_t skip = always ? 0 : emit(L, OP_JMP, 0, 0, 0, 0);
    for (unsigned k = 0; k < nhits; k++) patch_jump(L, hits[k], here(L));
    arm_body(L, arm, dst);
    ends[nends++] = emit(L, OP_JMP, 0, 0, 0, 0);
    if (!always) patch_jump(L, skip, here(L));
    free(hits);
    if (always) break;
  }
  for (unsigned i = 0; i < nends; i++) patch_jump(L, ends[i], here(L));
  free(ends);
  L->fb->next_reg = mark;
}

static void expr_arm(Lower *L, MatchArm *arm, uint32_t dst) { lower_expr_to(L, arm->value, dst); }
static void stmt_arm(Lower *L, MatchArm *arm, uint32_t dst) {
  (void)dst;
  lower_block(L, arm->body);
}

static void lower_record(Lower *L, Expr *e, uint32_t dst) {
  Decl *d = e->u.record.decl;
  uint32_t n = d->u.record.n, mark = L->fb->next_reg;
  uint32_t base = new_regs(L, n ? n : 1);
  for (uint32_t i = 0; i < n; i++) {
    FieldInit *init = NULL;
    for (unsigned k = 0; k < e->u.record.n && !init; k++)
      if (e->u.record.fields[k].name.name == d->u.record.fields[i]->name.name) init = &e->u.record.fields[k];
    if (init) lower_expr_to(L, init->value, base + i);
    else emit(L, OP_LOADNONE, base + i, 0, 0, 0);
  }
  emit(L, OP_NEWREC, dst, type_id(L, e->type), base, 0);
  L->fb->next_reg = mark;
}

/* The failure path of a check: its declared action. `prod` is the model
 * call a retry or fallback re-asks (-1: none; the checker made sure there is
 * one for those actions, else the item fails). */
/* The ordinal of re-asking action `a` among those of call `p`: each check
 * or ensure on a call has its own budget, which its reject path shares. */
static uint32_t action_ordinal(FnB *f, Producer *p, const Action *a) {
  for (uint32_t i = 0; i < f->nactions; i++)
    if (f->actions[i] == a) return f->action_ords[i];
  f->actions = xrealloc(f->actions, (f->nactions + 1) * sizeof *f->actions);
  f->action_ords = xrealloc(f->action_ords, (f->nactions + 1) * sizeof *f->action_ords);
  f->actions[f->nactions] = a;
  f->action_ords[f->nactions++] = p->nactions;
  return p->nactions++;
}

static void lower_action(Lower *L, Action *a, int prod, uint32_t msg) {
  FnB *f = L->fb;
  switch (a->kind) {
  case ACT_WARN: emit(L, OP_WARN, msg, 0, 0, 0); return;
  case ACT_SKIP: emit(L, OP_SKIP, 0, 0, 0, 0); return;
  case ACT_FAIL: emit(L, OP_FAIL, msg, 0, 0, 0); return;
  case ACT_RETRY: case ACT_FALLBACK:
    if (prod < 0) {
      emit(L, OP_FAIL, msg, 0, 0, 0);
      return;
    }
    break;
  }
  Producer *p = &f->prods[prod];
  if (a->kind == ACT_FALLBACK) {
    Decl *m = program_lookup(L->p, a->model.name);
    emit(L, OP_LOADI, p->ctr + 2, m ? m->index : 0, 0, 0);
  }
  uint32_t tries = a->kind == ACT_FALLBACK ? 1 : (a->count > 0 ? (uint32_t)a->count : 1);
  if (tries > 0xffff) tries = 0xffff;
  emit(L, OP_RETRY, p->ctr, action_ordinal(f, p, a) << 16 | tries, p->render_pc, msg);
}

/* A reply of model call `prod` that does not match the output type counts as
 * a failed check: the first check on the call that can act on it (any action
 * but warn, which would go on without a value) gets a second entry that takes
 * the rejection message, and the call's PROMPT points there. */
static void lower_reject_path(Lower *L, Action *a, int prod) {
  FnB *f = L->fb;
  if (prod < 0 || a->kind == ACT_WARN || f->code[f->prods[prod].prompt_pc].d) return;
  uint32_t over = emit(L, OP_JMP, 0, 0, 0, 0);
  f->code[f->prods[prod].prompt_pc].d = here(L);
  uint32_t mark = f->next_reg, msg = new_reg(L);
  emit(L, OP_REJECTED, msg, 0, 0, 0);
  lower_action(L, a, prod, msg);
  f->next_reg = mark;
  patch_jump(L, over, here(L));
}

/* `value ensure E(args) else action`: run the eval on the value; on failure
 * take the action. The value is the expression's result. */
static void lower_ensure(Lower *L, Expr *e, uint32_t dst) {
  FnB *f = L->fb;
  f->last_producer = -1;
  lower_expr_to(L, e->u.ensure.value, dst);
  int prod = f->last_producer;
  Decl *ev = e->u.ensure.decl;
  uint32_t mark = f->next_reg;
  uint32_t base = new_regs(L, ev->u.eval.nparams);
  emit(L, OP_MOVE, base, dst, 0, 0);
  for (unsigned i = 0, pos = 1; i < e->u.ensure.nargs; i++) {
    Arg *a = &e->u.ensure.args[i];
    unsigned k = pos;
    if (a->name.name) {
      for (k = 1; k < ev->u.eval.nparams && ev->u.eval.params[k]->name.name != a->name.name; k++) {}
    } else {
      pos++;
    }
    if (k < ev->u.eval.nparams) lower_expr_to(L, a->value, base + k);
  }
  uint32_t res = new_reg(L), ok = new_reg(L);
  emit(L, OP_CALL, res, L->img->evals[ev->index].fn, base, ev->u.eval.nparams);
  emit(L, OP_GETFIELD, ok, res, 0, 0); /* EvalResult.passed */
  uint32_t j = emit(L, OP_JMPT, ok, 0, 0, 0);
  /* the message is what failed: "eval `reply_ok` failed: keep it short; ..." */
  char prefix[256];
  snprintf(prefix, sizeof prefix, "eval `%s` failed: ", ev->name.name);
  uint32_t parts = new_regs(L, 2), msg = new_reg(L);
  emit(L, OP_GETFIELD, parts, res, 1, 0); /* EvalResult.failures */
  lower_const_text(L, "; ", 2, parts + 1);
  emit(L, OP_CALLB, msg, (uint32_t)builtin_lookup("join"), parts, 2);
  lower_const_text(L, prefix, strlen(prefix), parts);
  emit(L, OP_ADD, msg, parts, msg, 0);
  lower_action(L, &e->u.ensure.action, prod, msg);
  patch_jump(L, j, here(L));
  f->next_reg = mark;
  lower_reject_path(L, &e->u.ensure.action, prod);
  f->last_producer = prod;
}

static void lower_expr_to(Lower *L, Expr *e, uint32_t dst) {
  Span saved = L->fb->span;
  L->fb->span = e->span;
  switch (e->kind) {
  case EX_INT:
    if (e->u.i >= INT32_MIN && e->u.i <= INT32_MAX) emit(L, OP_LOADI, dst, (uint32_t)(int32_t)e->u.i, 0, 0);
    else emit(L, OP_LOADK, dst, image_add_const(L->img, value_int(e->u.i)), 0, 0);
    break;
  case EX_FLOAT: emit(L, OP_LOADK, dst, image_add_const(L->img, value_float(e->u.f)), 0, 0); break;
  case EX_BOOL: emit(L, OP_LOADBOOL, dst, e->u.b, 0, 0); break;
  case EX_NONE: emit(L, OP_LOADNONE, dst, 0, 0, 0); break;
  case EX_UNIT: {
    static const double scale[] = {[UNIT_NONE] = 1, [UNIT_MS] = 1, [UNIT_S] = 1e3, [UNIT_MIN] = 6e4, [UNIT_H] = 3.6e6,
                                   [UNIT_K] = 1e3, [UNIT_M] = 1e6, [UNIT_G] = 1e9, [UNIT_B] = 1, [UNIT_KB] = 1024,
                                   [UNIT_MB] = 1048576, [UNIT_GB] = 1073741824};
    int64_t v = (int64_t)(e->u.unit.value * scale[e->u.unit.unit]);
    emit(L, OP_LOADK, dst, image_add_const(L->img, value_int(v)), 0, 0);
    break;
  }
  case EX_PRICE: emit(L, OP_LOADNONE, dst, 0, 0, 0); break;
  case EX_STRING: lower_string(L, e, dst); break;
  case EX_NAME: lower_name(L, e, dst); break;
  case EX_MEMBER: {
    Expr *obj = e->u.member.obj;
    if (obj->kind == EX_NAME && obj->u.name.decl && obj->u.name.decl->kind == D_ENUM && !obj->u.name.local) {
      emit(L, OP_LOADENUM, dst, type_id(L, e->type), (uint32_t)type_variant(e->type, e->u.member.field.name), 0);
      break;
    }
    uint32_t mark = L->fb->next_reg;
    uint32_t o = lower_expr(L, obj);
    unsigned idx = 0;
    type_field(obj->type, e->u.member.field.name, &idx);
    emit(L, OP_GETFIELD, dst, o, idx, 0);
    L->fb->next_reg = mark;
    break;
  }
  case EX_INDEX: {
    uint32_t mark = L->fb->next_reg;
    uint32_t o = lower_expr(L, e->u.index.obj), i = lower_expr(L, e->u.index.index);
    emit(L, OP_INDEX, dst, o, i, 0);
    L->fb->next_reg = mark;
    break;
  }
  case EX_CALL: lower_call(L, e, dst); break;
  case EX_LIST: {
    uint32_t mark = L->fb->next_reg, n = e->u.list.n, base = new_regs(L, n ? n : 1);
    for (uint32_t i = 0; i < n; i++) lower_expr_to(L, e->u.list.items[i], base + i);
    emit(L, OP_NEWLIST, dst, base, n, 0);
    L->fb->next_reg = mark;
    break;
  }
  case EX_MAP: {
    uint32_t mark = L->fb->next_reg, n = e->u.map.n, base = new_regs(L, n ? 2 * n : 1);
    for (uint32_t i = 0; i < n; i++) {
      lower_expr_to(L, e->u.map.fields[i].key, base + 2 * i);
      lower_expr_to(L, e->u.map.fields[i].value, base + 2 * i + 1);
    }
    emit(L, OP_NEWMAP, dst, base, n, 0);
    L->fb->next_reg = mark;
    break;
  }
  case EX_RECORD: lower_record(L, e, dst); break;
  case EX_UNARY: {
    uint32_t mark = L->fb->next_reg;
    uint32_t v = lower_expr(L, e->u.unary.operand);
    emit(L, e->u.unary.op == UN_NOT ? OP_NOT : OP_NEG, dst, v, 0, 0);
    L->fb->next_reg = mark;
    break;
  }
  case EX_BINARY: lower_binary(L, e, dst); break;
  case EX_IF: lower_if(L, e, dst); break;
  case EX_MATCH: lower_match(L, e->u.match.subject, e->u.match.arms, e->u.match.narms, expr_arm, dst); break;
  case EX_FOR:
    lower_loop(L, e->u.for_e.local, e->u.for_e.iter, e->u.for_e.parallel, e->u.for_e.body, NULL, LOOP_YIELDS, dst,
               "for");
    break;
  case EX_LAMBDA: emit(L, OP_LOADNONE, dst, 0, 0, 0); break;
  case EX_ENSURE: lower_ensure(L, e, dst); break;
  }
  L->fb->span = saved;
}

/* An expression into a register of its own: a local's register when the
 * expression is just that local, else a new temporary. */
static uint32_t lower_expr(Lower *L, Expr *e) {
  if (e->kind == EX_NAME && e->u.name.local && !((Local *)e->u.name.local)->context) {
    LVar *v = find_var(L, e->u.name.local);
    if (v) {
      if (v->producer >= 0) L->fb->last_producer = v->producer;
      return v->reg;
    }
  }
  uint32_t r = new_reg(L);
  lower_expr_to(L, e, r);
  return r;
}

/* ---- statements ------------------------------------------------------------------------ */

/* The latest model call whose value `e` reads (through lets), or -1. */
static int producer_of(Lower *L, Expr *e) {
  Captures cap = captures_of(NULL, e, NULL);
  int best = -1;
  for (uint32_t i = 0; i < cap.n; i++) {
    LVar *v = find_var(L, cap.items[i]);
    if (v && v->producer > best) best = v->producer;
  }
  free(cap.items);
  return best;
}

/* A test's `assert`: EXPECT with its index, and for a comparison the two
 * values compared, so a failure can show what was expected and found. */
static void lower_expect(Lower *L, Expr *cond) {
  FnB *f = L->fb;
  uint32_t mark = f->next_reg, c = new_reg(L);
  BinOp op = cond->kind == EX_BINARY ? cond->u.binary.op : BIN_AND;
  if (op == BIN_EQ || op == BIN_NE || op == BIN_LT || op == BIN_LE || op == BIN_GT || op == BIN_GE ||
      (op == BIN_IN && !(cond->u.binary.rhs->kind == EX_BINARY && cond->u.binary.rhs->u.binary.op == BIN_RANGE))) {
    uint32_t a = lower_expr(L, cond->u.binary.lhs), b = lower_expr(L, cond->u.binary.rhs);
    emit(L, op == BIN_IN ? OP_IN : arith_op(op), c, a, b, 0);
    emit(L, OP_EXPECT, c, f->nasserts++, a, b);
  } else {
    lower_expr_to(L, cond, c);
    emit(L, OP_EXPECT, c, f->nasserts++, c, c);
  }
  f->next_reg = mark;
}

/* A test's `mock`: from where it runs, the prompt's calls get this reply
 * (or these successive replies, or the cassette's), or the binding's calls
 * the built-in mock provider. */
static void lower_mock(Lower *L, Stmt *s) {
  Decl *d = s->u.mock.decl;
  if (!d && s->u.mock.value) { /* mock judge = score | [scores] */
    uint32_t mark = L->fb->next_reg, r = lower_expr(L, s->u.mock.value);
    Type *t = s->u.mock.value->type;
    emit(L, OP_MOCKJUDGE, r, t && t->kind == T_LIST, 0, 0);
    L->fb->next_reg = mark;
    return;
  }
  if (!d) return;
  if (d->kind == D_MODEL) {
    emit(L, OP_MOCKMODEL, d->index, 0, 0, 0);
    return;
  }
  if (s->u.mock.cassette) {
    /* relative to the root file's folder, as context paths are */
    const char *path = expr_const_string(s->u.mock.cassette);
    char *file = dup(rel_path(L, source_map_file(L->p->sources, s->span.file)->path));
    const char *dir = dirname(file);
    size_t n = strlen(dir) + strlen(path) + 2;
    char *full = xmalloc(n);
    snprintf(full, n, "%s/%s", dir, path);
    emit(L, OP_MOCKFILE, d->index, add_const_str(L, full, strlen(full)), 0, 0);
    free(full);
    free(file);
    return;
  }
  uint32_t mark = L->fb->next_reg, r = lower_expr(L, s->u.mock.value);
  /* a list of the output type is a sequence of replies (the checker said which) */
  Type *t = s->u.mock.value->type, *rt = d->type;
  bool sequence = t && rt && !type_assignable(t, rt);
  emit(L, OP_MOCKVAL, d->index, r, sequence, 0);
  L->fb->next_reg = mark;
}

static void lower_stmt(Lower *L, Stmt *s) {
  FnB *f = L->fb;
  f->span = s->span;
  switch (s->kind) {
  case ST_LET: case ST_SCORE: {
    uint32_t r = new_reg(L);
    f->last_producer = -1;
    lower_expr_to(L, s->u.let.value, r);
    bind(L, s->u.let.local, r, f->last_producer);
    if (s->kind == ST_SCORE) {
      emit(L, OP_SCORE, r, add_const_str(L, s->u.let.name.name, strlen(s->u.let.name.name)), 0, 0);
    }
    return;
  }
  case ST_CHECK: {
    uint32_t mark = f->next_reg;
    uint32_t c = lower_expr(L, s->u.check.cond);
    const char *src = source_map_file(L->p->sources, s->span.file)->text;
    Span cs = s->u.check.cond->span;
    int shown = (int)(cs.end - cs.start > 400 ? 400 : cs.end - cs.start);
    emit(L, OP_CHECKED, c, add_const_str(L, src + cs.start, (size_t)shown), 0, 0);
    uint32_t j = emit(L, OP_JMPT, c, 0, 0, 0);
    char text[512];
    snprintf(text, sizeof text, "check failed: %.*s", shown, src + cs.start);
    uint32_t msg = lower_const_text(L, text, strlen(text), new_reg(L));
    int prod = producer_of(L, s->u.check.cond);
    lower_action(L, &s->u.check.action, prod, msg);
    patch_jump(L, j, here(L));
    f->next_reg = mark;
    lower_reject_path(L, &s->u.check.action, prod);
    return;
  }
  case ST_YIELD: {
    uint32_t mark = f->next_reg;
    uint32_t r = lower_expr(L, s->u.yield.value);
    /* a flow's whole result returns; elements are collected */
    emit(L, s->u.yield.elem ? OP_YIELD : OP_RET, r, 0, 0, 0);
    f->next_reg = mark;
    return;
  }
  case ST_IF: {
    uint32_t mark = f->next_reg;
    uint32_t c = lower_expr(L, s->u.if_s.cond);
    f->next_reg = mark;
    uint32_t jf = emit(L, OP_JMPF, c, 0, 0, 0);
    lower_block(L, s->u.if_s.then_b);
    if (!s->u.if_s.else_b) {
      patch_jump(L, jf, here(L));
      return;
    }
    uint32_t jend = emit(L, OP_JMP, 0, 0, 0, 0);
    patch_jump(L, jf, here(L));
    lower_block(L, s->u.if_s.else_b);
    patch_jump(L, jend, here(L));
    return;
  }
  case ST_MATCH:
    lower_match(L, s->u.match.subject, s->u.match.arms, s->u.match.narms, stmt_arm, 0);
    return;
  case ST_FOR: {
    uint32_t mark = f->next_reg, r = new_reg(L);
    lower_loop(L, s->u.for_s.local, s->u.for_s.iter, s->u.for_s.parallel, s->u.for_s.body, NULL, LOOP_YIELDS, r,
               "for");
    emit(L, OP_YIELDALL, r, 0, 0, 0);
    f->next_reg = mark;
    return;
  }
  case ST_ASSERT: {
    if (f->is_test) {
      lower_expect(L, s->u.assert_s.cond);
      return;
    }
    uint32_t mark = f->next_reg;
    uint32_t c = lower_expr(L, s->u.assert_s.cond);
    char msg[512];
    const char *text = s->u.assert_s.message ? expr_const_string(s->u.assert_s.message) : NULL;
    if (!text) {
      const char *src = source_map_file(L->p->sources, s->span.file)->text;
      Span cs = s->u.assert_s.cond->span;
      snprintf(msg, sizeof msg, "%.*s", (int)(cs.end - cs.start > 400 ? 400 : cs.end - cs.start), src + cs.start);
      text = msg;
    }
    emit(L, OP_ASSERT, c, add_const_str(L, text, strlen(text)), f->nasserts++, 0);
    f->next_reg = mark;
    return;
  }
  case ST_MOCK: lower_mock(L, s); return;
  }
}

static void lower_block(Lower *L, Block *b) {
  FnB *f = L->fb;
  uint32_t mark = f->next_reg;
  LVar *vars = f->vars;
  for (unsigned i = 0; i < b->n; i++) lower_stmt(L, b->stmts[i]);
  f->next_reg = mark;
  f->vars = vars;
}

/* ---- declarations ------------------------------------------------------------------------ */

static Entry *entry_of(Entry **entries, unsigned n, const char *key) {
  for (unsigned i = 0; i < n; i++)
    if (strcmp(entries[i]->key.name, key) == 0) return entries[i];
  return NULL;
}

static double number_of(Entry *e, double dflt) {
  double v;
  bool is_int;
  return e && e->value && expr_const_number(e->value, &v, &is_int) ? v : dflt;
}

static char *string_of(Entry *e) {
  const char *s = e && e->value ? expr_const_string(e->value) : NULL;
  return s ? dup(s) : NULL;
}

static bool bool_of(Entry *e, bool dflt) {
  return e && e->value && e->value->kind == EX_BOOL ? e->value->u.b : dflt;
}

/* Milliseconds of a duration literal, or `dflt`. */
static double ms_of(Expr *v, double dflt) {
  static const double ms[] = {[UNIT_MS] = 1, [UNIT_S] = 1e3, [UNIT_MIN] = 6e4, [UNIT_H] = 3.6e6};
  if (v && v->kind == EX_UNIT && unit_kind(v->u.unit.unit) == UK_DURATION) return v->u.unit.value * ms[v->u.unit.unit];
  return dflt;
}

/* temperature, top_p, max_tokens, seed, stop from a list of entries. */
static void params_of(Entry **entries, unsigned n, ImgParams *p) {
  Entry *e;
  if ((e = entry_of(entries, n, "temperature"))) { p->set |= PARAM_TEMPERATURE; p->temperature = number_of(e, 0); }
  if ((e = entry_of(entries, n, "top_p"))) { p->set |= PARAM_TOP_P; p->top_p = number_of(e, 1); }
  if ((e = entry_of(entries, n, "max_tokens"))) { p->set |= PARAM_MAX_TOKENS; p->max_tokens = (int64_t)number_of(e, 0); }
  if ((e = entry_of(entries, n, "seed"))) { p->set |= PARAM_SEED; p->seed = (int64_t)number_of(e, 0); }
  if ((e = entry_of(entries, n, "stop")) && e->value && e->value->kind == EX_LIST) {
    p->set |= PARAM_STOP;
    p->nstop = e->value->u.list.n;
    p->stop = xmalloc((p->nstop + 1) * sizeof *p->stop);
    for (uint32_t i = 0; i < p->nstop; i++) p->stop[i] = dup(expr_const_string(e->value->u.list.items[i]));
  }
}

static double price_of(Entry *block, const char *key) {
  Entry *e = block ? entry_of(block->entries, block->nentries, key) : NULL;
  if (!e || !e->value || e->value->kind != EX_PRICE) return 0;
  double amount, per;
  bool is_int;
  if (!expr_const_number(e->value->u.price.amount, &amount, &is_int) ||
      !expr_const_number(e->value->u.price.per, &per, &is_int) || per <= 0)
    return 0;
  return amount / per;
}

static void lower_model(Decl *d, ImgModel *m) {
  Entry **es = d->u.model.entries;
  unsigned n = d->u.model.n;
  memset(m, 0, sizeof *m);
  m->name = dup(d->name.name);
  Entry *prov = entry_of(es, n, "provider");
  const char *pname = prov && prov->value ? (prov->value->kind == EX_NAME ? prov->value->u.name.id.name
                                                                          : expr_const_string(prov->value))
                                          : "mock";
  m->provider = !strcmp(pname, "openai") ? PROVIDER_OPENAI : !strcmp(pname, "anthropic") ? PROVIDER_ANTHROPIC
                : !strcmp(pname, "ollama") ? PROVIDER_OLLAMA : PROVIDER_MOCK;
  m->model = string_of(entry_of(es, n, "name"));
  if (!m->model) m->model = dup("");
  m->base_url = string_of(entry_of(es, n, "base_url"));
  m->api_key_env = string_of(entry_of(es, n, "api_key_env"));
  params_of(es, n, &m->params);
  m->context_window = (int64_t)number_of(entry_of(es, n, "context_window"), 0);
  m->vision = bool_of(entry_of(es, n, "vision"), false);
  m->audio = bool_of(entry_of(es, n, "audio"), false);
  m->json_mode = bool_of(entry_of(es, n, "json_mode"), true);
  Entry *limits = entry_of(es, n, "limits");
  if (limits) {
    m->concurrency = (int64_t)number_of(entry_of(limits->entries, limits->nentries, "concurrency"), 0);
    m->requests_per_minute = (int64_t)number_of(entry_of(limits->entries, limits->nentries, "requests_per_minute"), 0);
    m->tokens_per_minute = (int64_t)number_of(entry_of(limits->entries, limits->nentries, "tokens_per_minute"), 0);
  }
  Entry *price = entry_of(es, n, "price");
  m->price_input = price_of(price, "input");
  m->price_output = price_of(price, "output");
}

static void lower_policy(Lower *L, Decl *d, ImgPolicy *p) {
  Entry **es = d->u.model.entries;
  unsigned n = d->u.model.n;
  memset(p, 0, sizeof *p);
  p->name = dup(d->name.name);
  p->retry = (uint32_t)number_of(entry_of(es, n, "retry"), 0);
  p->cache = bool_of(entry_of(es, n, "cache"), true);
  Entry *t = entry_of(es, n, "timeout");
  p->timeout_ms = t ? ms_of(t->value, 0) : 0;
  Entry *b = entry_of(es, n, "backoff");
  if (b && b->value && b->value->kind == EX_CALL) {
    Expr *call = b->value;
    bool expo = strcmp(call->u.call.callee->u.name.id.name, "exponential") == 0;
    p->backoff = expo ? BACKOFF_EXPONENTIAL : BACKOFF_CONSTANT;
    p->factor = 2;
    for (unsigned i = 0; i < call->u.call.nargs; i++) {
      Arg *a = &call->u.call.args[i];
      if (!a->name.name) p->base_ms = ms_of(a->value, 0);
      else if (!strcmp(a->name.name, "max")) p->max_ms = ms_of(a->value, 0);
      else if (!strcmp(a->name.name, "factor")) {
        double v;
        bool is_int;
        if (expr_const_number(a->value, &v, &is_int)) p->factor = v;
      }
    }
  }
  Entry *fb = entry_of(es, n, "fallback");
  if (fb && fb->value && fb->value->kind == EX_LIST) {
    p->fallback = xmalloc((fb->value->u.list.n + 1) * sizeof *p->fallback);
    for (unsigned i = 0; i < fb->value->u.list.n; i++) {
      Expr *item = fb->value->u.list.items[i];
      Decl *m = item->kind == EX_NAME ? program_lookup(L->p, item->u.name.id.name) : NULL;
      if (m && m->kind == D_MODEL) p->fallback[p->nfallback++] = m->index;
    }
  }
}

/* The render function of a prompt: its parameters -> list of messages. */
static void lower_prompt(Lower *L, Decl *d) {
  ImgPrompt *ip = &L->img->prompts[d->index];
  char name[256];
  snprintf(name, sizeof name, "prompt %s", d->name.name);
  FnB f;
  begin_func(L, &f, ip->render, d->u.prompt.nparams, d->span);
  for (unsigned i = 0; i < d->u.prompt.nparams; i++) bind(L, d->u.prompt.params[i]->local, i, -1);
  uint32_t nmsg = 0;
  for (unsigned i = 0; i < d->u.prompt.nitems; i++) nmsg += d->u.prompt.items[i]->kind != PI_SETTING;
  uint32_t list = new_regs(L, nmsg ? nmsg : 1), k = 0;
  for (unsigned i = 0; i < d->u.prompt.nitems; i++) {
    PromptItem *it = d->u.prompt.items[i];
    if (it->kind == PI_SETTING) continue;
    f.span = it->span;
    uint32_t mark = f.next_reg, fields = new_regs(L, 3);
    const char *role = role_str(it->role);
    lower_const_text(L, role, strlen(role), fields);
    if (it->kind == PI_TEXT) {
      lower_expr_to(L, it->value, fields + 1);
      emit(L, OP_LOADNONE, fields + 2, 0, 0, 0);
    } else {
      emit(L, OP_LOADNONE, fields + 1, 0, 0, 0);
      lower_expr_to(L, it->value, fields + 2);
    }
    emit(L, OP_NEWREC, list + k++, IMG_TYPE_MESSAGE, fields, 0);
    f.next_reg = mark;
  }
  uint32_t out = new_reg(L);
  emit(L, OP_NEWLIST, out, list, nmsg, 0);
  emit(L, OP_RET, out, 0, 0, 0);
  end_func(L, &f);
  ip->out_type = d->type ? type_id(L, d->type) : IMG_TYPE_STRING;
}

static void lower_flow(Lower *L, Decl *d) {
  ImgFlow *fl = &L->img->flows[d->index];
  FnB f;
  begin_func(L, &f, fl->fn, d->u.flow.nparams, d->span);
  for (unsigned i = 0; i < d->u.flow.nparams; i++) bind(L, d->u.flow.params[i]->local, i, -1);
  lower_block(L, d->u.flow.body);
  f.span = d->u.flow.body->span;
  f.span.start = f.span.end ? f.span.end - 1 : 0;
  /* element-yielding flows return what they yielded; a whole-result flow
   * always returned before here (the checker made sure) */
  emit(L, OP_RETYIELDS, 0, 0, 0, 0);
  end_func(L, &f);
}

static void lower_eval(Lower *L, Decl *d) {
  ImgEval *ev = &L->img->evals[d->index];
  FnB f;
  begin_func(L, &f, ev->fn, d->u.eval.nparams, d->span);
  for (unsigned i = 0; i < d->u.eval.nparams; i++) bind(L, d->u.eval.params[i]->local, i, -1);
  for (unsigned i = 0; i < d->u.eval.nbody; i++) lower_stmt(L, d->u.eval.body[i]);
  uint32_t r = new_reg(L);
  emit(L, OP_EVALRES, r, 0, 0, 0);
  emit(L, OP_RET, r, 0, 0, 0);
  ev->nasserts = f.nasserts;
  /* each assertion's message, for the run's summary and report */
  ev->assert_messages = xmalloc((f.nasserts ? f.nasserts : 1) * sizeof *ev->assert_messages);
  for (uint32_t i = 0; i < f.n; i++)
    if (f.code[i].op == OP_ASSERT && f.code[i].c < f.nasserts)
      ev->assert_messages[f.code[i].c] = dup(value_as_str(L->img->consts[f.code[i].b])->data);
  end_func(L, &f);
}

static void lower_context(Lower *L, Decl *d, ImgContext *c) {
  memset(c, 0, sizeof *c);
  c->name = dup(d->name.name);
  c->type = d->type ? type_id(L, d->type) : IMG_TYPE_ANY;
  c->pos = add_position(L, d->span);
  Expr *src = d->u.context.source;
  const char *fn = src->kind == EX_CALL && src->u.call.callee->kind == EX_NAME ? src->u.call.callee->u.name.id.name : "";
  static const char *const names[] = {"file", "image", "audio", "json", "jsonl", "csv", "glob", "env", "http"};
  for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(names[i], fn)) c->source = (SourceKind)i;
  for (unsigned i = 0; src->kind == EX_CALL && i < src->u.call.nargs; i++) {
    Arg *a = &src->u.call.args[i];
    if (!a->name.name && !c->arg) {
      c->arg = string_of(&(Entry){.value = a->value});
    } else if (a->name.name && !strcmp(a->name.name, "allow") && a->value->kind == EX_LIST) {
      c->allow = xmalloc((a->value->u.list.n + 1) * sizeof *c->allow);
      for (unsigned k = 0; k < a->value->u.list.n; k++) {
        const char *host = expr_const_string(a->value->u.list.items[k]);
        if (host) c->allow[c->nallow++] = dup(host);
      }
    } else if (a->name.name && !strcmp(a->name.name, "default")) {
      Expr *v = a->value;
      Value val = value_none();
      double num;
      bool is_int;
      const char *s = expr_const_string(v);
      if (s) val = value_cstr(s);
      else if (v->kind == EX_BOOL) val = value_bool(v->u.b);
      else if (expr_const_number(v, &num, &is_int)) val = is_int ? value_int((int64_t)num) : value_float(num);
      c->has_default = true;
      c->default_const = image_add_const(L->img, val);
    }
  }
  if (!c->arg) c->arg = dup("");
  /* relative to the root file's folder, so the image does not depend on
   * where the project is checked out (the runtime resolves it from there) */
  char *path = dup(rel_path(L, source_map_file(L->p->sources, d->file)->path));
  c->base_dir = dup(dirname(path));
  free(path);
}

/* Give every declaration the runtime needs its index, and allocate the tables. */
static void number_decls(Lower *L) {
  Image *img = L->img;
  Program *p = L->p;
  uint32_t counts[D_TEST + 1] = {0};
  for (size_t i = 0; i < p->ndecls; i++) {
    Decl *d = p->decls[i];
    if (program_lookup(p, d->name.name) != d) continue; /* a duplicate (never with a clean check) */
    d->index = counts[d->kind]++;
  }
  img->nmodels = counts[D_MODEL];
  img->models = xmalloc((img->nmodels + 1) * sizeof *img->models);
  img->npolicies = counts[D_POLICY];
  img->policies = xmalloc((img->npolicies + 1) * sizeof *img->policies);
  img->nprompts = counts[D_PROMPT];
  img->prompts = calloc(img->nprompts + 1, sizeof *img->prompts);
  img->ncontexts = counts[D_CONTEXT];
  img->contexts = xmalloc((img->ncontexts + 1) * sizeof *img->contexts);
  img->nevals = counts[D_EVAL];
  img->evals = calloc(img->nevals + 1, sizeof *img->evals);
  img->nflows = counts[D_FLOW];
  img->flows = calloc(img->nflows + 1, sizeof *img->flows);
  if (!img->prompts || !img->evals || !img->flows) flow_oom();
}

/* Signatures first (functions are called before they are built). */
static void declare_functions(Lower *L) {
  Image *img = L->img;
  char name[256];
  for (size_t i = 0; i < L->p->ndecls; i++) {
    Decl *d = L->p->decls[i];
    if (program_lookup(L->p, d->name.name) != d) continue;
    if (d->kind == D_PROMPT) {
      ImgPrompt *ip = &img->prompts[d->index];
      snprintf(name, sizeof name, "prompt %s", d->name.name);
      ip->name = dup(d->name.name);
      ip->nparams = d->u.prompt.nparams;
      ip->render = reserve_func(L, name, d->u.prompt.nparams);
      ip->model = d->u.prompt.model ? d->u.prompt.model->index : 0;
      ip->policy = d->u.prompt.policy ? (int32_t)d->u.prompt.policy->index : -1;
      ip->schema = d->type ? schema_for_type(d->type) : NULL;
      ip->pos = add_position(L, d->span);
      Entry **settings = xmalloc((d->u.prompt.nitems + 1) * sizeof *settings);
      unsigned ns = 0;
      for (unsigned k = 0; k < d->u.prompt.nitems; k++)
        if (d->u.prompt.items[k]->kind == PI_SETTING) settings[ns++] = d->u.prompt.items[k]->setting;
      params_of(settings, ns, &ip->params);
      free(settings);
    } else if (d->kind == D_FLOW) {
      ImgFlow *fl = &img->flows[d->index];
      snprintf(name, sizeof name, "flow %s", d->name.name);
      fl->name = dup(d->name.name);
      fl->doc = dup(d->doc);
      fl->fn = reserve_func(L, name, d->u.flow.nparams);
      fl->nparams = d->u.flow.nparams;
      fl->param_names = xmalloc((fl->nparams + 1) * sizeof(char *));
      fl->param_docs = xmalloc((fl->nparams + 1) * sizeof(char *));
      fl->param_types = xmalloc((fl->nparams + 1) * sizeof(uint32_t));
      for (uint32_t k = 0; k < fl->nparams; k++) {
        Param *pa = d->u.flow.params[k];
        fl->param_names[k] = dup(pa->name.name);
        fl->param_docs[k] = dup(pa->doc);
        fl->param_types[k] = pa->resolved ? type_id(L, pa->resolved) : IMG_TYPE_ANY;
      }
      fl->ret_type = d->type ? type_id(L, d->type) : IMG_TYPE_ANY;
      if (!strcmp(d->name.name, "main") && d->file == L->p->root) img->main_flow = (int32_t)d->index;
    } else if (d->kind == D_EVAL) {
      ImgEval *ev = &img->evals[d->index];
      snprintf(name, sizeof name, "eval %s", d->name.name);
      ev->name = dup(d->name.name);
      ev->fn = reserve_func(L, name, d->u.eval.nparams);
    }
  }
}

/* A test: a function of no parameters running the body's statements in
 * order. */
static void lower_test(Lower *L, Decl *d, ImgTest *t) {
  char name[256];
  snprintf(name, sizeof name, "test \"%.200s\"", d->u.test.title);
  t->title = dup(d->u.test.title);
  t->fn = reserve_func(L, name, 0);
  FnB f;
  begin_func(L, &f, t->fn, 0, d->span);
  f.is_test = true;
  for (unsigned i = 0; i < d->u.test.nbody; i++) lower_stmt(L, d->u.test.body[i]);
  uint32_t r = new_reg(L);
  emit(L, OP_LOADNONE, r, 0, 0, 0);
  emit(L, OP_RET, r, 0, 0, 0);
  end_func(L, &f);
}

Image *lower_program(Program *p, bool with_tests) {
  Lower L;
  memset(&L, 0, sizeof L);
  L.p = p;
  L.arena = p->arena;
  L.img = image_new();
  Image *img = L.img;
  img->nfiles = (uint32_t)p->sources->nfiles;
  img->files = xmalloc((img->nfiles + 1) * sizeof *img->files);
  char *root = dup(source_map_file(p->sources, p->root)->path);
  L.root_dir = dup(dirname(root));
  free(root);
  for (uint32_t i = 0; i < img->nfiles; i++) img->files[i] = dup(rel_path(&L, source_map_file(p->sources, i)->path));

  number_decls(&L);
  for (size_t i = 0; i < p->ndecls; i++) {
    Decl *d = p->decls[i];
    if (program_lookup(p, d->name.name) != d) continue;
    if (d->kind == D_MODEL) lower_model(d, &img->models[d->index]);
    else if (d->kind == D_POLICY) lower_policy(&L, d, &img->policies[d->index]);
    else if (d->kind == D_CONTEXT) lower_context(&L, d, &img->contexts[d->index]);
  }
  declare_functions(&L);
  for (size_t i = 0; i < p->ndecls; i++) {
    Decl *d = p->decls[i];
    if (program_lookup(p, d->name.name) != d) continue;
    if (d->kind == D_PROMPT) lower_prompt(&L, d);
    else if (d->kind == D_EVAL) lower_eval(&L, d);
    else if (d->kind == D_FLOW) lower_flow(&L, d);
  }
  if (with_tests) { /* the root file's tests; an imported file's run when it is tested itself */
    img->tests = calloc(p->ntests + 1, sizeof *img->tests);
    if (!img->tests) flow_oom();
    for (size_t i = 0; i < p->ntests; i++)
      if (p->tests[i]->file == p->root) lower_test(&L, p->tests[i], &img->tests[img->ntests++]);
  }
  free(L.root_dir);
  return img;
}
