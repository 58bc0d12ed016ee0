/* ast_build.c - AST constructors for the grammar's actions (see ast_build.h). */
#include "ast_build.h"

#include <string.h>

#define NEW(T) ARENA_NEW(pc->arena, T)

/* Copy a PtrVec of T* into a fresh T** array of exactly n entries. */
static void *vec_array(ParseCtx *pc, const PtrVec *v, unsigned *n) {
  *n = v ? v->n : 0;
  if (!*n) return NULL;
  void **items = arena_alloc(pc->arena, *n * sizeof(void *));
  memcpy(items, v->items, *n * sizeof(void *));
  return items;
}

static Decl *new_decl(ParseCtx *pc, DeclKind kind, Ident name, Span span) {
  Decl *d = NEW(Decl);
  d->kind = kind;
  d->name = name;
  d->span = span;
  d->file = pc->file;
  d->doc = parse_take_doc(pc, span.start);
  return d;
}

Decl *ast_import(ParseCtx *pc, Expr *path, Span span) {
  Decl *d = new_decl(pc, D_IMPORT, (Ident){0}, span);
  /* A template in an import path is reported by the resolver. */
  d->u.import.path = (path->u.str.nparts == 1 && !path->u.str.parts[0].is_expr)
                         ? path->u.str.parts[0].text
                         : (path->u.str.nparts == 0 ? "" : NULL);
  d->u.import.path_span = path->span;
  return d;
}

Decl *ast_entries_decl(ParseCtx *pc, DeclKind kind, Ident name, PtrVec *entries, Span span) {
  Decl *d = new_decl(pc, kind, name, span);
  d->u.model.entries = vec_array(pc, entries, &d->u.model.n);
  return d;
}

Entry *ast_entry(ParseCtx *pc, Ident key, Expr *value, PtrVec *nested, Span span) {
  Entry *e = NEW(Entry);
  e->key = key;
  e->value = value;
  e->entries = vec_array(pc, nested, &e->nentries);
  e->span = span;
  return e;
}

Decl *ast_type_decl(ParseCtx *pc, Ident name, PtrVec *fields, Span span) {
  Decl *d = new_decl(pc, D_TYPE, name, span);
  d->u.record.fields = vec_array(pc, fields, &d->u.record.n);
  return d;
}

Field *ast_field(ParseCtx *pc, Ident name, TypeExpr *type, PtrVec *annots, Span span) {
  Field *f = NEW(Field);
  f->doc = parse_take_doc(pc, span.start);
  f->name = name;
  f->type = type;
  f->annots = vec_array(pc, annots, &f->nannots);
  f->span = span;
  return f;
}

/* Args are collected as Arg*; nodes keep them as a flat Arg array. */
static Arg *arg_array(ParseCtx *pc, const PtrVec *v, unsigned *n) {
  *n = v ? v->n : 0;
  if (!*n) return NULL;
  Arg *args = arena_alloc(pc->arena, *n * sizeof(Arg));
  for (unsigned i = 0; i < *n; i++) args[i] = *(Arg *)v->items[i];
  return args;
}

Annotation *ast_annot(ParseCtx *pc, Ident name, PtrVec *args, Span span) {
  Annotation *a = NEW(Annotation);
  a->name = name;
  a->args = arg_array(pc, args, &a->nargs);
  a->span = span;
  return a;
}

Decl *ast_enum_decl(ParseCtx *pc, Ident name, PtrVec *variants, Span span) {
  Decl *d = new_decl(pc, D_ENUM, name, span);
  d->u.enm.n = variants->n;
  d->u.enm.variants = arena_alloc(pc->arena, (variants->n ? variants->n : 1) * sizeof(Variant));
  for (unsigned i = 0; i < variants->n; i++) d->u.enm.variants[i] = *(Variant *)variants->items[i];
  return d;
}

Variant *ast_variant(ParseCtx *pc, Ident name) {
  Variant *v = NEW(Variant);
  v->doc = parse_take_doc(pc, name.span.start);
  v->name = name;
  return v;
}

Decl *ast_context_decl(ParseCtx *pc, Ident name, TypeExpr *type, Expr *source, Span span) {
  Decl *d = new_decl(pc, D_CONTEXT, name, span);
  d->u.context.type = type;
  d->u.context.source = source;
  return d;
}

Decl *ast_prompt_decl(ParseCtx *pc, Ident name, PtrVec *params, TypeExpr *ret, PtrVec *items,
                      Span span) {
  Decl *d = new_decl(pc, D_PROMPT, name, span);
  d->u.prompt.params = vec_array(pc, params, &d->u.prompt.nparams);
  d->u.prompt.ret = ret;
  d->u.prompt.items = vec_array(pc, items, &d->u.prompt.nitems);
  return d;
}

PromptItem *ast_pitem_setting(ParseCtx *pc, Entry *e, Span span) {
  PromptItem *it = NEW(PromptItem);
  it->kind = PI_SETTING;
  it->setting = e;
  it->span = span;
  return it;
}

/* Map a role word to its Role; an unknown word is reported and treated as
 * `user` so checking can go on. */
static Role role_of(ParseCtx *pc, Ident role) {
  if (strcmp(role.name, "system") == 0) return ROLE_SYSTEM;
  if (strcmp(role.name, "user") == 0) return ROLE_USER;
  if (strcmp(role.name, "assistant") == 0) return ROLE_ASSISTANT;
  Diag *d = diag_add(pc->diags, DIAG_E0001, role.span,
                     "unknown message role `%s`; expected `system`, `user` or `assistant`", role.name);
  diag_set_label(d, "not a role");
  pc->syntax_errors++;
  return ROLE_USER;
}

PromptItem *ast_pitem_text(ParseCtx *pc, Ident role, Expr *text, Span span) {
  PromptItem *it = NEW(PromptItem);
  it->kind = PI_TEXT;
  it->role = role_of(pc, role);
  it->value = text;
  it->span = span;
  return it;
}

PromptItem *ast_pitem_media(ParseCtx *pc, Ident role, Ident kind, Expr *value, Span span) {
  PromptItem *it = NEW(PromptItem);
  it->role = role_of(pc, role);
  if (strcmp(kind.name, "image") == 0) {
    it->kind = PI_IMAGE;
  } else if (strcmp(kind.name, "audio") == 0) {
    it->kind = PI_AUDIO;
  } else {
    Diag *d = diag_add(pc->diags, DIAG_E0001, kind.span,
                       "unknown message part `%s`; expected a string, `image EXPR` or `audio EXPR`",
                       kind.name);
    diag_set_label(d, "not a part kind");
    pc->syntax_errors++;
    it->kind = PI_IMAGE;
  }
  it->value = value;
  it->span = span;
  return it;
}

Param *ast_param(ParseCtx *pc, Ident name, TypeExpr *type, Span span) {
  Param *p = NEW(Param);
  p->doc = parse_take_doc(pc, span.start);
  p->name = name;
  p->type = type;
  p->span = span;
  return p;
}

Decl *ast_eval_decl(ParseCtx *pc, Ident name, PtrVec *params, PtrVec *body, Span span) {
  Decl *d = new_decl(pc, D_EVAL, name, span);
  d->u.eval.params = vec_array(pc, params, &d->u.eval.nparams);
  d->u.eval.body = vec_array(pc, body, &d->u.eval.nbody);
  return d;
}

Decl *ast_flow_decl(ParseCtx *pc, Ident name, PtrVec *params, TypeExpr *ret, Block *body,
                    Span span) {
  Decl *d = new_decl(pc, D_FLOW, name, span);
  d->u.flow.params = vec_array(pc, params, &d->u.flow.nparams);
  d->u.flow.ret = ret;
  d->u.flow.body = body;
  return d;
}

/* The text of a string literal without templates, or NULL. */
static const char *plain_text(ParseCtx *pc, Expr *s) {
  if (s->u.str.nparts == 0) return "";
  if (s->u.str.nparts == 1 && !s->u.str.parts[0].is_expr) return s->u.str.parts[0].text;
  Diag *d = diag_add(pc->diags, DIAG_E0001, s->span,
                     "expected a plain string here, found a template with `{{ }}`");
  diag_set_label(d, "templates are not allowed here");
  pc->syntax_errors++;
  return "";
}

Decl *ast_test_decl(ParseCtx *pc, Expr *title, PtrVec *body, Span span) {
  Decl *d = new_decl(pc, D_TEST, (Ident){0}, span);
  d->u.test.title = plain_text(pc, title);
  d->u.test.title_span = title->span;
  d->u.test.body = vec_array(pc, body, &d->u.test.nbody);
  return d;
}

TypeExpr *ast_type_name(ParseCtx *pc, Ident name, Span span) {
  TypeExpr *t = NEW(TypeExpr);
  t->kind = TE_NAME;
  t->name = name;
  t->span = span;
  return t;
}

TypeExpr *ast_type_wrap(ParseCtx *pc, TypeExprKind kind, TypeExpr *elem, Span span) {
  TypeExpr *t = NEW(TypeExpr);
  t->kind = kind;
  t->elem = elem;
  t->span = span;
  return t;
}

TypeExpr *ast_type_map(ParseCtx *pc, Ident map_kw, TypeExpr *key, TypeExpr *elem, Span span) {
  if (strcmp(map_kw.name, "map") != 0) {
    Diag *d = diag_add(pc->diags, DIAG_E0001, map_kw.span,
                       "unknown generic type `%s<...>`; expected `map<string, T>`", map_kw.name);
    diag_set_label(d, "only `map` takes type arguments");
    pc->syntax_errors++;
  }
  TypeExpr *t = NEW(TypeExpr);
  t->kind = TE_MAP;
  t->name = key->kind == TE_NAME ? key->name : (Ident){"?", key->span};
  t->elem = elem;
  t->span = span;
  return t;
}

Block *ast_block(ParseCtx *pc, PtrVec *stmts, Span span) {
  Block *b = NEW(Block);
  b->stmts = vec_array(pc, stmts, &b->n);
  b->span = span;
  return b;
}

Block *ast_block_of(ParseCtx *pc, Stmt *single) {
  Block *b = NEW(Block);
  b->stmts = arena_alloc(pc->arena, sizeof(Stmt *));
  b->stmts[0] = single;
  b->n = 1;
  b->span = single->span;
  return b;
}

static Stmt *new_stmt(ParseCtx *pc, StmtKind kind, Span span) {
  Stmt *s = NEW(Stmt);
  s->kind = kind;
  s->span = span;
  return s;
}

Stmt *ast_let(ParseCtx *pc, StmtKind kind, Ident name, TypeExpr *type, Expr *value, Span span) {
  Stmt *s = new_stmt(pc, kind, span);
  s->u.let.name = name;
  s->u.let.type = type;
  s->u.let.value = value;
  return s;
}

Stmt *ast_assert(ParseCtx *pc, Expr *cond, Expr *message, Span span) {
  Stmt *s = new_stmt(pc, ST_ASSERT, span);
  s->u.assert_s.cond = cond;
  s->u.assert_s.message = message;
  return s;
}

Stmt *ast_mock(ParseCtx *pc, Ident prompt, Expr *value, Expr *cassette, Span span) {
  Stmt *s = new_stmt(pc, ST_MOCK, span);
  s->u.mock.prompt = prompt;
  s->u.mock.value = value;
  s->u.mock.cassette = cassette;
  return s;
}

Stmt *ast_check(ParseCtx *pc, Expr *cond, Action action, Span span) {
  Stmt *s = new_stmt(pc, ST_CHECK, span);
  s->u.check.cond = cond;
  s->u.check.action = action;
  return s;
}

Stmt *ast_yield(ParseCtx *pc, Expr *value, Span span) {
  Stmt *s = new_stmt(pc, ST_YIELD, span);
  s->u.yield.value = value;
  return s;
}

Stmt *ast_if_stmt(ParseCtx *pc, Expr *cond, Block *then_b, Block *else_b, Span span) {
  Stmt *s = new_stmt(pc, ST_IF, span);
  s->u.if_s.cond = cond;
  s->u.if_s.then_b = then_b;
  s->u.if_s.else_b = else_b;
  return s;
}

Stmt *ast_match_stmt(ParseCtx *pc, Expr *subject, PtrVec *arms, Span span) {
  Stmt *s = new_stmt(pc, ST_MATCH, span);
  s->u.match.subject = subject;
  s->u.match.arms = vec_array(pc, arms, &s->u.match.narms);
  return s;
}

Stmt *ast_for_stmt(ParseCtx *pc, Ident var, Expr *iter, Expr *parallel, Block *body, Span span) {
  Stmt *s = new_stmt(pc, ST_FOR, span);
  s->u.for_s.var = var;
  s->u.for_s.iter = iter;
  s->u.for_s.parallel = parallel;
  s->u.for_s.body = body;
  return s;
}

MatchArm *ast_arm(ParseCtx *pc, PtrVec *patterns, Expr *value, Block *body, Span span) {
  MatchArm *a = NEW(MatchArm);
  a->patterns = vec_array(pc, patterns, &a->npatterns);
  a->value = value;
  a->body = body;
  a->span = span;
  return a;
}

Pattern *ast_pattern_name(ParseCtx *pc, Ident name, Span span) {
  Pattern *p = NEW(Pattern);
  p->kind = strcmp(name.name, "_") == 0 ? PAT_WILDCARD : PAT_NAME;
  p->name = name;
  p->span = span;
  return p;
}

Pattern *ast_pattern_qualified(ParseCtx *pc, Ident qual, Ident name, Span span) {
  Pattern *p = NEW(Pattern);
  p->kind = PAT_QUALIFIED;
  p->qual = qual;
  p->name = name;
  p->span = span;
  return p;
}

Pattern *ast_pattern_literal(ParseCtx *pc, Expr *lit, Span span) {
  Pattern *p = NEW(Pattern);
  p->kind = PAT_LITERAL;
  p->literal = lit;
  p->span = span;
  return p;
}

static Expr *new_expr(ParseCtx *pc, ExprKind kind, Span span) {
  Expr *e = NEW(Expr);
  e->kind = kind;
  e->span = span;
  return e;
}

Expr *ast_int(ParseCtx *pc, int64_t v, Span span) {
  Expr *e = new_expr(pc, EX_INT, span);
  e->u.i = v;
  return e;
}

Expr *ast_float(ParseCtx *pc, double v, Span span) {
  Expr *e = new_expr(pc, EX_FLOAT, span);
  e->u.f = v;
  return e;
}

Expr *ast_unit(ParseCtx *pc, double v, bool is_int, Unit unit, Span span) {
  Expr *e = new_expr(pc, EX_UNIT, span);
  e->u.unit.value = v;
  e->u.unit.is_int = is_int;
  e->u.unit.unit = unit;
  return e;
}

Expr *ast_bool(ParseCtx *pc, bool v, Span span) {
  Expr *e = new_expr(pc, EX_BOOL, span);
  e->u.b = v;
  return e;
}

Expr *ast_none(ParseCtx *pc, Span span) { return new_expr(pc, EX_NONE, span); }

Expr *ast_price(ParseCtx *pc, Expr *amount, Expr *per, Span span) {
  Expr *e = new_expr(pc, EX_PRICE, span);
  e->u.price.amount = amount;
  e->u.price.per = per;
  return e;
}

/* Strip the indentation of a triple-quoted string (docs/language.md §1):
 * drop the line break after the opening quotes and the blank last line, then
 * remove the longest run of leading spaces shared by every non-blank line.
 * Template expressions count as non-blank content. */
static void strip_indent(ParseCtx *pc, StrPart *parts, unsigned n) {
  if (n == 0) return;
  /* 1. leading "<spaces>\n" of the first text part */
  if (!parts[0].is_expr) {
    const char *t = parts[0].text;
    uint32_t k = 0;
    while (k < parts[0].len && (t[k] == ' ' || t[k] == '\t' || t[k] == '\r')) k++;
    if (k < parts[0].len && t[k] == '\n') {
      parts[0].text += k + 1;
      parts[0].len -= k + 1;
    }
  }
  /* 2. trailing "\n<spaces>" of the last text part */
  StrPart *last = &parts[n - 1];
  if (!last->is_expr) {
    uint32_t k = last->len;
    while (k > 0 && (last->text[k - 1] == ' ' || last->text[k - 1] == '\t')) k--;
    if (k > 0 && last->text[k - 1] == '\n') {
      k--;
      if (k > 0 && last->text[k - 1] == '\r') k--;
      last->len = k;
    } else if (k == 0 && n == 1) {
      last->len = 0;
    }
  }
  /* 3. the common indentation */
  uint32_t common = UINT32_MAX, indent = 0;
  bool at_line_start = true;
  for (unsigned i = 0; i < n; i++) {
    if (parts[i].is_expr) {
      if (at_line_start && indent < common) common = indent;
      at_line_start = false;
      continue;
    }
    for (uint32_t k = 0; k < parts[i].len; k++) {
      char c = parts[i].text[k];
      if (c == '\n') {
        at_line_start = true;
        indent = 0;
      } else if (at_line_start && (c == ' ' || c == '\t')) {
        indent++;
      } else if (at_line_start && c != '\r') {
        if (indent < common) common = indent;
        at_line_start = false;
      }
    }
  }
  if (common == UINT32_MAX || common == 0) return;
  /* 4. rebuild each text part without the first `common` blanks of each line */
  at_line_start = true;
  indent = 0;
  for (unsigned i = 0; i < n; i++) {
    if (parts[i].is_expr) {
      at_line_start = false;
      continue;
    }
    char *out = arena_alloc(pc->arena, parts[i].len + 1);
    uint32_t m = 0;
    for (uint32_t k = 0; k < parts[i].len; k++) {
      char c = parts[i].text[k];
      if (c == '\n') {
        at_line_start = true;
        indent = 0;
        out[m++] = c;
      } else if (at_line_start && (c == ' ' || c == '\t') && indent < common) {
        indent++;
      } else {
        at_line_start = false;
        out[m++] = c;
      }
    }
    out[m] = '\0';
    parts[i].text = out;
    parts[i].len = m;
  }
}

Expr *ast_string(ParseCtx *pc, PtrVec *parts, bool triple, Span span) {
  Expr *e = new_expr(pc, EX_STRING, span);
  unsigned n = parts->n;
  StrPart *arr = arena_alloc(pc->arena, (n ? n : 1) * sizeof(StrPart));
  for (unsigned i = 0; i < n; i++) arr[i] = *(StrPart *)parts->items[i];
  if (triple) strip_indent(pc, arr, n);
  e->u.str.parts = arr;
  e->u.str.nparts = n;
  e->u.str.triple = triple;
  return e;
}

StrPart *ast_str_text(ParseCtx *pc, const char *s, uint32_t len, Span span) {
  StrPart *p = NEW(StrPart);
  p->text = s;
  p->len = len;
  p->span = span;
  return p;
}

StrPart *ast_str_expr(ParseCtx *pc, Expr *e, Span span) {
  StrPart *p = NEW(StrPart);
  p->is_expr = true;
  p->expr = e;
  p->span = span;
  return p;
}

Expr *ast_name(ParseCtx *pc, Ident id, Span span) {
  Expr *e = new_expr(pc, EX_NAME, span);
  e->u.name.id = id;
  e->u.name.variant = -1;
  return e;
}

Expr *ast_member(ParseCtx *pc, Expr *obj, Ident field, Span span) {
  Expr *e = new_expr(pc, EX_MEMBER, span);
  e->u.member.obj = obj;
  e->u.member.field = field;
  return e;
}

Expr *ast_index(ParseCtx *pc, Expr *obj, Expr *index, Span span) {
  Expr *e = new_expr(pc, EX_INDEX, span);
  e->u.index.obj = obj;
  e->u.index.index = index;
  return e;
}

Expr *ast_call(ParseCtx *pc, Expr *callee, PtrVec *args, Span span) {
  Expr *e = new_expr(pc, EX_CALL, span);
  e->u.call.callee = callee;
  e->u.call.args = arg_array(pc, args, &e->u.call.nargs);
  return e;
}

Arg *ast_arg(ParseCtx *pc, Ident name, Expr *value) {
  Arg *a = NEW(Arg);
  a->name = name;
  a->value = value;
  return a;
}

Expr *ast_list(ParseCtx *pc, PtrVec *items, Span span) {
  Expr *e = new_expr(pc, EX_LIST, span);
  e->u.list.items = vec_array(pc, items, &e->u.list.n);
  return e;
}

static FieldInit *init_array(ParseCtx *pc, const PtrVec *v, unsigned *n) {
  *n = v ? v->n : 0;
  if (!*n) return NULL;
  FieldInit *arr = arena_alloc(pc->arena, *n * sizeof(FieldInit));
  for (unsigned i = 0; i < *n; i++) arr[i] = *(FieldInit *)v->items[i];
  return arr;
}

Expr *ast_map(ParseCtx *pc, PtrVec *inits, Span span) {
  Expr *e = new_expr(pc, EX_MAP, span);
  e->u.map.fields = init_array(pc, inits, &e->u.map.n);
  return e;
}

Expr *ast_record(ParseCtx *pc, Ident type_name, PtrVec *inits, Span span) {
  Expr *e = new_expr(pc, EX_RECORD, span);
  e->u.record.type_name = type_name;
  e->u.record.fields = init_array(pc, inits, &e->u.record.n);
  return e;
}

FieldInit *ast_field_init(ParseCtx *pc, Ident name, Expr *key, Expr *value) {
  FieldInit *f = NEW(FieldInit);
  f->name = name;
  f->key = key;
  f->value = value;
  return f;
}

Expr *ast_unary(ParseCtx *pc, UnOp op, Expr *operand, Span span) {
  Expr *e = new_expr(pc, EX_UNARY, span);
  e->u.unary.op = op;
  e->u.unary.operand = operand;
  return e;
}

Expr *ast_binary(ParseCtx *pc, BinOp op, Expr *lhs, Expr *rhs, Span span) {
  Expr *e = new_expr(pc, EX_BINARY, span);
  e->u.binary.op = op;
  e->u.binary.lhs = lhs;
  e->u.binary.rhs = rhs;
  return e;
}

Expr *ast_if_expr(ParseCtx *pc, Expr *cond, Expr *then_e, Expr *else_e, Span span) {
  Expr *e = new_expr(pc, EX_IF, span);
  e->u.if_e.cond = cond;
  e->u.if_e.then_e = then_e;
  e->u.if_e.else_e = else_e;
  return e;
}

Expr *ast_match_expr(ParseCtx *pc, Expr *subject, PtrVec *arms, Span span) {
  Expr *e = new_expr(pc, EX_MATCH, span);
  e->u.match.subject = subject;
  e->u.match.arms = vec_array(pc, arms, &e->u.match.narms);
  return e;
}

Expr *ast_for_expr(ParseCtx *pc, Ident var, Expr *iter, Expr *parallel, Block *body, Span span) {
  Expr *e = new_expr(pc, EX_FOR, span);
  e->u.for_e.var = var;
  e->u.for_e.iter = iter;
  e->u.for_e.parallel = parallel;
  e->u.for_e.body = body;
  return e;
}

Expr *ast_lambda(ParseCtx *pc, Ident param, Expr *body, Span span) {
  Expr *e = new_expr(pc, EX_LAMBDA, span);
  e->u.lambda.param = param;
  e->u.lambda.body = body;
  return e;
}

Expr *ast_ensure(ParseCtx *pc, Expr *value, Ident eval, PtrVec *args, Action action, Span span) {
  Expr *e = new_expr(pc, EX_ENSURE, span);
  e->u.ensure.value = value;
  e->u.ensure.eval = eval;
  e->u.ensure.args = arg_array(pc, args, &e->u.ensure.nargs);
  e->u.ensure.action = action;
  return e;
}
