/* check_expr.c - typing expressions, templates and calls to built-in
 * functions (docs/language.md §4–5). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check_internal.h"
#include "json_schema.h"
#include "suggest.h"

static Type *check_expr_inner(Checker *c, Expr *e, Type *expected);

/* Deeper nesting than this is refused rather than risking the C stack. */
#define MAX_EXPR_DEPTH 1000

Type *check_expr(Checker *c, Expr *e, Type *expected) {
  if (c->depth >= MAX_EXPR_DEPTH) {
    if (!c->depth_reported) {
      Diag *d = diag_add(c->diags, DIAG_E0001, e->span, "this expression nests more than %d levels deep",
                         MAX_EXPR_DEPTH);
      diag_set_label(d, "nesting limit reached here");
      diag_set_help(d, "split it into `let` steps");
      c->depth_reported = true;
    }
    e->type = &c->tt.error;
    return e->type;
  }
  c->depth++;
  Type *t = check_expr_inner(c, e, expected);
  c->depth--;
  e->type = t;
  return t;
}

void check_report_mismatch(Checker *c, Span span, const Type *expected, const Type *found,
                           const char *what) {
  if (type_is_error(expected) || type_is_error(found)) return;
  if (found->kind == T_OPT && found->elem->kind != T_UNKNOWN && type_assignable(found->elem, expected)) {
    Diag *d = diag_add(c->diags, DIAG_E0213, span, "%s must be `%s`, found `%s`, which may be `none`", what,
                       tstr(c, expected), tstr(c, found));
    diag_set_label(d, "this may be `none`");
    diag_set_help(d, "give a default with `?? value`, or branch on `!= none` first");
    return;
  }
  Diag *d = diag_add(c->diags, DIAG_E0201, span, "type mismatch: %s must be `%s`, found `%s`", what,
                     tstr(c, expected), tstr(c, found));
  diag_set_label(d, "this is `%s`", tstr(c, found));
  if (expected->kind == T_STRING && type_is_printable(found))
    diag_set_help(d, "convert it with `str(...)`");
  else if (expected->kind == T_INT && found->kind == T_FLOAT)
    diag_set_help(d, "convert it with `int(...)`");
}

Type *check_expr_as(Checker *c, Expr *e, Type *expected, const char *what_fmt, ...) {
  Type *t = check_expr(c, e, expected);
  if (type_assignable(t, expected)) return t;
  /* the description is formatted only when there is something to report */
  char what[256];
  va_list ap;
  va_start(ap, what_fmt);
  vsnprintf(what, sizeof what, what_fmt, ap);
  va_end(ap);
  check_report_mismatch(c, e->span, expected, t, what);
  return t;
}

/* ---- templates --------------------------------------------------------------- */

void check_template(Checker *c, Expr *str) {
  for (unsigned i = 0; i < str->u.str.nparts; i++) {
    StrPart *part = &str->u.str.parts[i];
    if (!part->is_expr) continue;
    Type *t = check_expr(c, part->expr, NULL);
    if (type_is_printable(t)) continue;
    Diag *d = diag_add(c->diags, DIAG_E0204, part->expr->span,
                       "a value of type `%s` cannot be printed in a template", tstr(c, t));
    diag_set_label(d, "this is `%s`", tstr(c, t));
    diag_add_note(d, "templates print `string`, `int`, `float`, `bool` and enum values");
    if (t->kind == T_OPT && type_is_printable(t->elem))
      diag_set_help(d, "the value may be `none`; write `{{ x ?? \"\" }}` with a default");
    else if (t->kind == T_LIST && t->elem->kind == T_STRING)
      diag_set_help(d, "join the list, e.g. `{{ join(x, \", \") }}`");
    else if (type_is_json(t))
      diag_set_help(d, "print it as JSON with `{{ json(x) }}`");
  }
}

/* ---- names --------------------------------------------------------------------- */

static Local *lookup_local(Checker *c, const char *name) {
  for (Local *l = c->scope; l; l = l->next)
    if (l->name == name) return l;
  return NULL;
}

/* The enum variant `name` of the expected type, looking through `T?`. */
static Type *expected_enum(Type *expected) {
  if (!expected) return NULL;
  if (expected->kind == T_OPT) expected = expected->elem;
  return expected->kind == T_ENUM ? expected : NULL;
}

/* A global used as a value: contexts and models are values; the rest are not. */
static Type *global_as_value(Checker *c, Decl *d, Ident id) {
  check_mark_used(c, d);
  if (program_poisoned(c->p, id.name)) return &c->tt.error;
  switch (d->kind) {
  case D_CONTEXT: return d->type ? d->type : &c->tt.error;
  case D_MODEL: return &c->tt.model;
  default: break;
  }
  Diag *g = diag_add(c->diags, DIAG_E0201, id.span, "`%s` is a %s, not a value", id.name,
                     decl_kind_str(d->kind));
  diag_set_label(g, "expected a value");
  if (d->kind == D_PROMPT || d->kind == D_FLOW)
    diag_set_help(g, "call it with its arguments: `%s(...)`", id.name);
  else if (d->kind == D_EVAL)
    diag_set_help(g, "apply an eval with `value ensure %s else ACTION`", id.name);
  else if (d->kind == D_TYPE)
    diag_set_help(g, "build a record with `%s { field: value, ... }`", id.name);
  else if (d->kind == D_ENUM && d->u.enm.n)
    diag_set_help(g, "name a variant, such as `%s.%s`", id.name, d->u.enm.variants[0].name.name);
  return &c->tt.error;
}

static Type *check_name(Checker *c, Expr *e, Type *expected) {
  Ident id = e->u.name.id;
  Local *l = lookup_local(c, id.name);
  if (l) {
    l->used = true;
    if (l->from_model) c->saw_model = true;
    e->u.name.local = l;
    return l->type;
  }
  Decl *d = program_lookup(c->p, id.name);
  Type *en = expected_enum(expected);
  if (en && (!d || d->kind == D_ENUM || d->kind == D_TYPE)) {
    int v = type_variant(en, id.name);
    if (v >= 0) {
      e->u.name.variant = v;
      return en;
    }
  }
  if (d) {
    e->u.name.decl = d;
    return global_as_value(c, d, id);
  }
  check_report_unknown(c, id, -1, expected);
  return &c->tt.error;
}

/* ---- member access --------------------------------------------------------------- */

static void report_unknown_variant(Checker *c, Decl *ed, Ident field) {
  Diag *d = diag_add(c->diags, DIAG_E0107, field.span, "enum `%s` has no variant `%s`",
                     ed->name.name, field.name);
  diag_set_label(d, "unknown variant");
  Suggest s = suggest_start(field.name);
  for (unsigned i = 0; i < ed->u.enm.n; i++) suggest_try(&s, ed->u.enm.variants[i].name.name);
  const char *best = s.best;
  if (best) diag_set_help(d, "did you mean `%s`?", best);
  else if (ed->u.enm.n) diag_add_note(d, "the variants are listed at the declaration of `%s`", ed->name.name);
  diag_add_secondary(d, ed->name.span, "`%s` is declared here", ed->name.name);
}

/* The closest field name of record `rt` to `name`, or NULL. */
static const char *suggest_field(const Type *rt, const char *name) {
  Suggest s = suggest_start(name);
  for (unsigned i = 0; i < rt->decl->u.record.n; i++) suggest_try(&s, rt->decl->u.record.fields[i]->name.name);
  return s.best;
}

static Type *check_member(Checker *c, Expr *e) {
  Expr *obj = e->u.member.obj;
  Ident field = e->u.member.field;
  /* Enum.variant, unless a local shadows the enum's name */
  if (obj->kind == EX_NAME && !lookup_local(c, obj->u.name.id.name)) {
    Decl *d = program_lookup(c->p, obj->u.name.id.name);
    if (d && d->kind == D_ENUM) {
      check_mark_used(c, d);
      Type *et = type_named(&c->tt, d);
      obj->type = et;
      obj->u.name.decl = d;
      int v = type_variant(et, field.name);
      if (v < 0) {
        report_unknown_variant(c, d, field);
        return &c->tt.error;
      }
      return et;
    }
  }
  Type *t = check_expr(c, obj, NULL);
  if (t->kind == T_ERROR) return t;
  if (t->kind == T_RECORD) {
    Field *f = type_field(t, field.name, NULL);
    if (f) return f->resolved ? f->resolved : &c->tt.error;
    Diag *d = diag_add(c->diags, DIAG_E0106, field.span, "record `%s` has no field `%s`",
                       t->decl->name.name, field.name);
    diag_set_label(d, "unknown field");
    const char *hint = suggest_field(t, field.name);
    if (hint) diag_set_help(d, "did you mean `%s`?", hint);
    diag_add_secondary(d, t->decl->name.span, "`%s` is declared here", t->decl->name.name);
    return &c->tt.error;
  }
  if (t->kind == T_OPT && t->elem->kind == T_RECORD) {
    Diag *d = diag_add(c->diags, DIAG_E0213, obj->span,
                       "cannot read `.%s` of %s, which may be `none`", field.name, a_tstr(c, t));
    diag_set_label(d, "this may be `none`");
    diag_set_help(d, "branch on it first: `if x != none { ... }`, or give a default with `??`");
    return &c->tt.error;
  }
  Diag *d = diag_add(c->diags, DIAG_E0209, field.span, "cannot read field `%s` of %s",
                     field.name, a_tstr(c, t));
  diag_set_label(d, "`%s` is not a record", tstr(c, t));
  return &c->tt.error;
}

static Type *check_index(Checker *c, Expr *e) {
  Type *t = check_expr(c, e->u.index.obj, NULL);
  if (t->kind == T_ERROR) {
    check_expr(c, e->u.index.index, NULL);
    return t;
  }
  if (t->kind == T_LIST || t->kind == T_STRING) {
    check_expr_as(c, e->u.index.index, &c->tt.int_, "an index");
    return t->kind == T_LIST ? t->elem : t;
  }
  if (t->kind == T_MAP) {
    check_expr_as(c, e->u.index.index, &c->tt.string, "a map key");
    return type_opt(&c->tt, t->elem);
  }
  Diag *d = diag_add(c->diags, DIAG_E0210, e->u.index.obj->span, "a value of type `%s` cannot be indexed",
                     tstr(c, t));
  diag_set_label(d, "expected a list, a map or a string");
  check_expr(c, e->u.index.index, NULL);
  return &c->tt.error;
}

/* ---- calls ------------------------------------------------------------------------- */

/* Match call arguments to parameters (positional, then by name); report
 * arity and name errors; check each argument's type. */
static void check_args_against(Checker *c, Expr *call, Arg *args, unsigned nargs, Param **params,
                               unsigned nparams, unsigned skip, const char *callee) {
  Expr **bound = arena_zalloc(c->arena, (nparams + 1) * sizeof *bound);
  bool positional_done = false, ok = true;
  unsigned pos = skip;
  for (unsigned i = 0; i < nargs; i++) {
    Arg *a = &args[i];
    if (!a->name.name) {
      if (positional_done || pos >= nparams) {
        ok = false;
        check_expr(c, a->value, NULL);
        continue;
      }
      bound[pos++] = a->value;
      continue;
    }
    positional_done = true;
    unsigned k = skip;
    while (k < nparams && params[k]->name.name != a->name.name) k++;
    if (k == nparams) {
      Diag *d = diag_add(c->diags, DIAG_E0214, a->name.span, "`%s` has no parameter `%s`", callee,
                         a->name.name);
      diag_set_label(d, "unknown parameter");
      const char *names[64];
      unsigned nn = 0;
      for (unsigned q = skip; q < nparams && nn < 64; q++) names[nn++] = params[q]->name.name;
      const char *hint = suggest_in(a->name.name, names, nn);
      if (hint) diag_set_help(d, "did you mean `%s`?", hint);
      check_expr(c, a->value, NULL);
      continue;
    }
    if (bound[k]) {
      Diag *d = diag_add(c->diags, DIAG_E0108, a->name.span, "parameter `%s` is given twice",
                         a->name.name);
      diag_set_label(d, "given again here");
      check_expr(c, a->value, NULL);
      continue;
    }
    bound[k] = a->value;
  }
  unsigned given = 0;
  for (unsigned k = skip; k < nparams; k++) given += bound[k] != NULL;
  if (!ok || given < nparams - skip) {
    unsigned want = nparams - skip;
    Diag *d = diag_add(c->diags, DIAG_E0202, call->span, "`%s` takes %u argument%s, found %u",
                       callee, want, want == 1 ? "" : "s", nargs);
    diag_set_label(d, "wrong number of arguments");
    if (want) {
      char list[512];
      size_t len = 0;
      list[0] = '\0';
      for (unsigned k = skip; k < nparams && len < sizeof list - 64; k++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s: %s", k > skip ? ", " : "",
                                params[k]->name.name,
                                params[k]->resolved ? tstr(c, params[k]->resolved) : "?");
      diag_add_note(d, "the parameters are (%s)", list);
    }
  }
  for (unsigned k = skip; k < nparams; k++) {
    if (!bound[k]) continue;
    Type *pt = params[k]->resolved ? params[k]->resolved : &c->tt.error;
    check_expr_as(c, bound[k], pt,
                  "the argument `%s` of `%s`", params[k]->name.name, callee);
  }
}

static Type *check_builtin(Checker *c, Expr *e, const char *name);

static Type *check_call(Checker *c, Expr *e) {
  Expr *callee = e->u.call.callee;
  if (callee->kind != EX_NAME) {
    check_expr(c, callee, NULL);
    Diag *d = diag_add(c->diags, DIAG_E0203, callee->span, "this expression cannot be called");
    diag_set_label(d, "expected the name of a prompt, flow or built-in function");
    for (unsigned i = 0; i < e->u.call.nargs; i++) check_expr(c, e->u.call.args[i].value, NULL);
    return &c->tt.error;
  }
  Ident id = callee->u.name.id;
  Local *l = lookup_local(c, id.name);
  Decl *d = l ? NULL : program_lookup(c->p, id.name);
  if (!l && !d && check_is_builtin(id.name)) return check_builtin(c, e, id.name);
  if (d && (d->kind == D_PROMPT || d->kind == D_FLOW)) {
    check_mark_used(c, d);
    callee->u.name.decl = d;
    bool prompt = d->kind == D_PROMPT;
    if (d->bad_params) {
      for (unsigned i = 0; i < e->u.call.nargs; i++) check_expr(c, e->u.call.args[i].value, NULL);
    } else {
      check_args_against(c, e, e->u.call.args, e->u.call.nargs, prompt ? d->u.prompt.params : d->u.flow.params,
                         prompt ? d->u.prompt.nparams : d->u.flow.nparams, 0, id.name);
    }
    if (!prompt && c->decl && c->decl->kind == D_FLOW) {
      CallEdge *edge = ARENA_NEW(c->arena, CallEdge);
      edge->callee = d;
      edge->span = e->span;
      ptrvec_push(c->arena, &c->decl->calls, edge);
    }
    /* only a prompt called here can be re-asked by `retry`/`fallback`: a
     * sub-flow's calls belong to it, and are retried by its own checks */
    if (prompt) c->saw_model = true;
    return d->type ? d->type : &c->tt.error;
  }
  for (unsigned i = 0; i < e->u.call.nargs; i++) check_expr(c, e->u.call.args[i].value, NULL);
  if (!l && !d) {
    check_report_unknown(c, id, -1, NULL);
    return &c->tt.error;
  }
  if (program_poisoned(c->p, id.name)) return &c->tt.error;
  Diag *g = diag_add(c->diags, DIAG_E0203, id.span, "`%s` cannot be called", id.name);
  if (l) {
    diag_set_label(g, "a local value of type `%s`", tstr(c, l->type));
  } else {
    check_mark_used(c, d);
    diag_set_label(g, "`%s` is a %s", id.name, decl_kind_str(d->kind));
    if (d->kind == D_EVAL) diag_set_help(g, "apply an eval with `value ensure %s else ACTION`", id.name);
    else if (d->kind == D_TYPE) diag_set_help(g, "build a record with `%s { field: value, ... }`", id.name);
  }
  return &c->tt.error;
}

/* ---- literals and operators ------------------------------------------------------------ */

static Type *check_list(Checker *c, Expr *e, Type *expected) {
  Type *want = expected && expected->kind == T_LIST ? expected->elem : NULL;
  Type *elem = NULL;
  for (unsigned i = 0; i < e->u.list.n; i++) {
    Expr *item = e->u.list.items[i];
    Type *t = check_expr(c, item, want ? want : elem);
    if (!elem) {
      elem = t;
      continue;
    }
    Type *j = type_join(&c->tt, elem, t);
    if (!j) {
      Diag *d = diag_add(c->diags, DIAG_E0201, item->span,
                         "type mismatch: list items must share one type; this item is `%s`, the first is `%s`",
                         tstr(c, t), tstr(c, elem));
      diag_set_label(d, "this is `%s`", tstr(c, t));
      diag_add_secondary(d, e->u.list.items[0]->span, "the first item is `%s`", tstr(c, elem));
      return &c->tt.error;
    }
    elem = j;
  }
  if (!elem) return want ? type_list(&c->tt, want) : type_list(&c->tt, &c->tt.unknown);
  return type_list(&c->tt, elem);
}

static Type *check_map(Checker *c, Expr *e, Type *expected) {
  Type *want = expected && expected->kind == T_MAP ? expected->elem : NULL;
  Type *elem = NULL;
  for (unsigned i = 0; i < e->u.map.n; i++) {
    FieldInit *f = &e->u.map.fields[i];
    check_template(c, f->key);
    f->key->type = &c->tt.string;
    Type *t = check_expr(c, f->value, want ? want : elem);
    if (!elem) {
      elem = t;
      continue;
    }
    Type *j = type_join(&c->tt, elem, t);
    if (!j) {
      check_report_mismatch(c, f->value->span, elem, t, "every value of a map literal");
      return &c->tt.error;
    }
    elem = j;
  }
  if (!elem) return type_map(&c->tt, want ? want : &c->tt.unknown);
  return type_map(&c->tt, elem);
}

static Type *check_record(Checker *c, Expr *e) {
  Ident tn = e->u.record.type_name;
  Decl *d = program_lookup(c->p, tn.name);
  if (!d || d->kind != D_TYPE) {
    for (unsigned i = 0; i < e->u.record.n && program_poisoned(c->p, tn.name); i++)
      check_expr(c, e->u.record.fields[i].value, NULL);
    if (program_poisoned(c->p, tn.name)) return &c->tt.error;
    Diag *g;
    if (d) {
      g = diag_add(c->diags, DIAG_E0103, tn.span, "`%s` is a %s, not a record type", tn.name,
                   decl_kind_str(d->kind));
      diag_set_label(g, "expected a record type");
    } else {
      g = diag_add(c->diags, DIAG_E0103, tn.span, "unknown type `%s`", tn.name);
      diag_set_label(g, "no record type with this name");
      const char *hint = check_suggest(c, tn.name, false);
      if (hint) diag_set_help(g, "did you mean `%s`?", hint);
    }
    for (unsigned i = 0; i < e->u.record.n; i++) check_expr(c, e->u.record.fields[i].value, NULL);
    return &c->tt.error;
  }
  check_mark_used(c, d);
  e->u.record.decl = d;
  Type *rt = type_named(&c->tt, d);
  unsigned nf = d->u.record.n;
  bool *given = arena_zalloc(c->arena, nf + 1);
  bool unknown = false; /* a misspelt field usually is the missing one */
  for (unsigned i = 0; i < e->u.record.n; i++) {
    FieldInit *fi = &e->u.record.fields[i];
    unsigned idx;
    Field *f = type_field(rt, fi->name.name, &idx);
    if (!f) {
      Diag *g = diag_add(c->diags, DIAG_E0106, fi->name.span, "record `%s` has no field `%s`",
                         tn.name, fi->name.name);
      diag_set_label(g, "unknown field");
      const char *hint = suggest_field(rt, fi->name.name);
      if (hint) diag_set_help(g, "did you mean `%s`?", hint);
      check_expr(c, fi->value, NULL);
      unknown = true;
      continue;
    }
    if (given[idx]) {
      Diag *g = diag_add(c->diags, DIAG_E0108, fi->name.span, "field `%s` is given twice", fi->name.name);
      diag_set_label(g, "given again here");
      check_expr(c, fi->value, NULL);
      continue;
    }
    given[idx] = true;
    Type *ft = f->resolved ? f->resolved : &c->tt.error;
    check_expr_as(c, fi->value, ft, "field `%s` of `%s`", f->name.name, tn.name);
  }
  char missing[512];
  size_t len = 0;
  unsigned nmissing = 0;
  missing[0] = '\0';
  for (unsigned i = 0; i < nf; i++) {
    Field *f = d->u.record.fields[i];
    if (given[i] || !f->resolved || f->resolved->kind == T_OPT || f->resolved->kind == T_ERROR) continue;
    if (len < sizeof missing - 64)
      len += (size_t)snprintf(missing + len, sizeof missing - len, "%s`%s`", nmissing ? ", " : "",
                              f->name.name);
    nmissing++;
  }
  if (nmissing && !unknown) {
    Diag *g = diag_add(c->diags, DIAG_E0211, e->span, "missing field%s %s in `%s`",
                       nmissing == 1 ? "" : "s", missing, tn.name);
    diag_set_label(g, "every field without `?` must be given");
    diag_add_secondary(g, d->name.span, "`%s` is declared here", tn.name);
  }
  return rt;
}

static bool is_none(const Type *t) { return t->kind == T_OPT && t->elem->kind == T_UNKNOWN; }

static Type *report_operands(Checker *c, Expr *e, Type *l, Type *r) {
  if (type_is_error(l) || type_is_error(r)) return &c->tt.error;
  BinOp op = e->u.binary.op;
  if ((l->kind == T_OPT || r->kind == T_OPT) && !is_none(l) && !is_none(r) && op != BIN_EQ && op != BIN_NE) {
    Expr *side = l->kind == T_OPT ? e->u.binary.lhs : e->u.binary.rhs;
    Diag *d = diag_add(c->diags, DIAG_E0213, side->span,
                       "`%s` cannot be applied to %s, which may be `none`", binop_str(op),
                       a_tstr(c, l->kind == T_OPT ? l : r));
    diag_set_label(d, "this may be `none`");
    diag_set_help(d, "give a default with `??`, e.g. `(x ?? 0)`");
    return &c->tt.error;
  }
  Diag *d = diag_add(c->diags, DIAG_E0212, e->span, "`%s` cannot be applied to `%s` and `%s`",
                     binop_str(op), tstr(c, l), tstr(c, r));
  diag_set_label(d, "invalid operands");
  diag_add_secondary(d, e->u.binary.lhs->span, "this is `%s`", tstr(c, l));
  diag_add_secondary(d, e->u.binary.rhs->span, "this is `%s`", tstr(c, r));
  return &c->tt.error;
}

static Type *check_in(Checker *c, Expr *e) {
  Expr *rhs = e->u.binary.rhs;
  if (rhs->kind == EX_BINARY && rhs->u.binary.op == BIN_RANGE) {
    Type *lo = check_expr(c, rhs->u.binary.lhs, NULL);
    Type *hi = check_expr(c, rhs->u.binary.rhs, NULL);
    Type *x = check_expr(c, e->u.binary.lhs, NULL);
    Type *num = type_join(&c->tt, lo, hi);
    rhs->type = num ? type_range(&c->tt, num) : &c->tt.error;
    if (num && type_is_numeric(num) && type_is_numeric(x)) return &c->tt.bool_;
    if (num && num->kind == T_ERROR) return &c->tt.bool_;
    return report_operands(c, e, x, rhs->type);
  }
  Type *r = check_expr(c, rhs, NULL);
  Type *want = r->kind == T_LIST ? r->elem : (r->kind == T_MAP || r->kind == T_STRING) ? &c->tt.string : NULL;
  Type *l = check_expr(c, e->u.binary.lhs, want);
  if (r->kind == T_ERROR || l->kind == T_ERROR) return &c->tt.bool_;
  if (want && (type_assignable(l, want) || type_join(&c->tt, l, want))) return &c->tt.bool_;
  return report_operands(c, e, l, r);
}

static Type *check_binary(Checker *c, Expr *e, Type *expected) {
  BinOp op = e->u.binary.op;
  if (op == BIN_IN) return check_in(c, e);
  if (op == BIN_RANGE) {
    check_expr(c, e->u.binary.lhs, NULL);
    check_expr(c, e->u.binary.rhs, NULL);
    Diag *d = diag_add(c->diags, DIAG_E0212, e->span, "a range `a..b` is only allowed after `in`");
    diag_set_label(d, "expected `x in a..b`");
    return &c->tt.error;
  }
  if (op == BIN_COALESCE) {
    Type *l = check_expr(c, e->u.binary.lhs, expected ? type_opt(&c->tt, expected) : NULL);
    Type *inner = l->kind == T_OPT ? l->elem : l;
    Type *r = check_expr(c, e->u.binary.rhs, inner->kind == T_UNKNOWN ? expected : inner);
    if (l->kind == T_ERROR || r->kind == T_ERROR) return &c->tt.error;
    if (l->kind != T_OPT) {
      Diag *d = diag_add(c->diags, DIAG_E0212, e->u.binary.lhs->span,
                         "the left side of `??` is %s, which is never `none`", a_tstr(c, l));
      diag_set_label(d, "expected an optional value");
      return l;
    }
    Type *j = type_join(&c->tt, inner, r);
    if (!j) return report_operands(c, e, l, r);
    return j;
  }
  if (op == BIN_AND || op == BIN_OR) {
    check_expr_as(c, e->u.binary.lhs, &c->tt.bool_, "the left side of `%s`", binop_str(op));
    check_expr_as(c, e->u.binary.rhs, &c->tt.bool_, "the right side of `%s`", binop_str(op));
    return &c->tt.bool_;
  }
  Type *l = check_expr(c, e->u.binary.lhs, NULL);
  Type *r = check_expr(c, e->u.binary.rhs, l->kind == T_OPT ? l : (l->kind == T_ENUM ? l : NULL));
  if (e->u.binary.lhs->kind == EX_NONE || is_none(l)) {
    /* `none == x`: re-type the left side from the right */
    if (op == BIN_EQ || op == BIN_NE) return &c->tt.bool_;
  }
  if (l->kind == T_ERROR || r->kind == T_ERROR) {
    return (op >= BIN_EQ && op <= BIN_GE) ? &c->tt.bool_ : &c->tt.error;
  }
  switch (op) {
  case BIN_ADD:
    if (l->kind == T_STRING && r->kind == T_STRING) return l;
    if (l->kind == T_LIST && r->kind == T_LIST) {
      Type *j = type_join(&c->tt, l, r);
      if (j) return j;
    }
    /* fall through */
  case BIN_SUB: case BIN_MUL: case BIN_DIV: case BIN_MOD:
    if (type_is_numeric(l) && type_is_numeric(r))
      return l->kind == T_INT && r->kind == T_INT ? &c->tt.int_ : &c->tt.float_;
    if ((op == BIN_ADD || op == BIN_SUB) && l->kind == T_DURATION && r->kind == T_DURATION) return l;
    return report_operands(c, e, l, r);
  case BIN_EQ: case BIN_NE:
    if (type_join(&c->tt, l, r)) return &c->tt.bool_;
    return report_operands(c, e, l, r);
  case BIN_LT: case BIN_LE: case BIN_GT: case BIN_GE:
    if ((type_is_numeric(l) && type_is_numeric(r)) || (l->kind == T_STRING && r->kind == T_STRING) ||
        (l->kind == T_DURATION && r->kind == T_DURATION))
      return &c->tt.bool_;
    return report_operands(c, e, l, r);
  default:
    return report_operands(c, e, l, r);
  }
}

static Type *check_unary(Checker *c, Expr *e) {
  if (e->u.unary.op == UN_NOT) {
    check_expr_as(c, e->u.unary.operand, &c->tt.bool_, "the operand of `not`");
    return &c->tt.bool_;
  }
  Type *t = check_expr(c, e->u.unary.operand, NULL);
  if (type_is_numeric(t) || t->kind == T_ERROR) return t;
  Diag *d = diag_add(c->diags, DIAG_E0212, e->span, "`-` cannot be applied to `%s`", tstr(c, t));
  diag_set_label(d, "expected a number");
  return &c->tt.error;
}

Local *check_narrow(Checker *c, Expr *cond, bool then_branch) {
  if (cond->kind != EX_BINARY || (cond->u.binary.op != BIN_NE && cond->u.binary.op != BIN_EQ)) return NULL;
  Expr *l = cond->u.binary.lhs, *r = cond->u.binary.rhs;
  Expr *name = l->kind == EX_NAME && r->kind == EX_NONE ? l : r->kind == EX_NAME && l->kind == EX_NONE ? r : NULL;
  if (!name || !name->type || name->type->kind != T_OPT) return NULL;
  /* `x != none` narrows in the then-branch, `x == none` in the else-branch */
  if ((cond->u.binary.op == BIN_NE) != then_branch) return NULL;
  Local *orig = name->u.name.local;
  Local *narrowed = check_bind(c, name->u.name.id.name, name->type->elem, name->u.name.id.span, false);
  narrowed->alias = orig && orig->alias ? orig->alias : orig;
  if (!orig) narrowed->context = name->u.name.decl; /* a narrowed context is read again */
  return narrowed;
}

static Type *check_if(Checker *c, Expr *e, Type *expected) {
  check_expr_as(c, e->u.if_e.cond, &c->tt.bool_, "the condition of `if`");
  Local *mark = c->scope;
  check_narrow(c, e->u.if_e.cond, true);
  Type *a = check_expr(c, e->u.if_e.then_e, expected);
  check_unbind(c, mark);
  check_narrow(c, e->u.if_e.cond, false);
  Type *b = check_expr(c, e->u.if_e.else_e, expected ? expected : a);
  check_unbind(c, mark);
  Type *j = type_join(&c->tt, a, b);
  if (j) return j;
  Diag *d = diag_add(c->diags, DIAG_E0201, e->u.if_e.else_e->span,
                     "type mismatch: the branches of `if` must have one type; `else` gives `%s`, `if` gives `%s`",
                     tstr(c, b), tstr(c, a));
  diag_set_label(d, "this is `%s`", tstr(c, b));
  diag_add_secondary(d, e->u.if_e.then_e->span, "this is `%s`", tstr(c, a));
  return &c->tt.error;
}

static Type *check_ensure(Checker *c, Expr *e) {
  bool outer = c->saw_model;
  c->saw_model = false;
  Type *t = check_expr(c, e->u.ensure.value, NULL);
  bool has_model = c->saw_model;
  Ident ev = e->u.ensure.eval;
  Decl *d = program_lookup(c->p, ev.name);
  if (!d) {
    check_report_unknown(c, ev, D_EVAL, NULL);
  } else if (d->kind != D_EVAL) {
    check_mark_used(c, d);
    Diag *g = diag_add(c->diags, DIAG_E0410, ev.span, "`%s` is a %s, not an eval", ev.name,
                       decl_kind_str(d->kind));
    diag_set_label(g, "expected the name of an eval");
    diag_add_secondary(g, d->name.span, "`%s` is declared here", ev.name);
  } else {
    check_mark_used(c, d);
    e->u.ensure.decl = d;
    if (d->u.eval.nparams > 0) {
      Type *pt = d->u.eval.params[0]->resolved;
      if (pt && !type_assignable(t, pt))
        check_report_mismatch(c, e->u.ensure.value->span, pt, t,
                              arena_printf(c->arena, "the value checked by `%s`", ev.name));
      check_args_against(c, e, e->u.ensure.args, e->u.ensure.nargs, d->u.eval.params,
                         d->u.eval.nparams, 1, ev.name);
    }
  }
  check_action(c, &e->u.ensure.action, e->u.ensure.value->span, has_model);
  c->saw_model = outer || has_model;
  return t;
}

static Type *check_expr_inner(Checker *c, Expr *e, Type *expected) {
  switch (e->kind) {
  case EX_INT: return &c->tt.int_;
  case EX_FLOAT: return &c->tt.float_;
  case EX_BOOL: return &c->tt.bool_;
  case EX_NONE:
    if (expected && expected->kind == T_OPT) return expected;
    return type_opt(&c->tt, &c->tt.unknown);
  case EX_UNIT:
    switch (unit_kind(e->u.unit.unit)) {
    case UK_DURATION: return &c->tt.duration;
    case UK_SIZE: return &c->tt.size;
    case UK_COUNT: return &c->tt.int_;
    case UK_NONE: return &c->tt.error; /* unknown unit, reported by the scanner */
    }
    return &c->tt.error;
  case EX_PRICE: {
    Type *a = check_expr(c, e->u.price.amount, NULL);
    Expr *per = e->u.price.per;
    check_expr(c, per, NULL);
    if (!type_is_numeric(a) && a->kind != T_ERROR) check_report_mismatch(c, e->u.price.amount->span, &c->tt.float_, a, "a price");
    if (!(per->kind == EX_INT || (per->kind == EX_UNIT && unit_kind(per->u.unit.unit) == UK_COUNT)) &&
        !(per->kind == EX_UNIT && per->u.unit.unit == UNIT_NONE)) {
      Diag *d = diag_add(c->diags, DIAG_E0311, per->span,
                         "a price is per a count of tokens such as `1M` or `1K`, found %s",
                         per->kind == EX_UNIT ? arena_printf(c->arena, "a %s", unit_kind(per->u.unit.unit) == UK_DURATION ? "duration" : "size") : "an expression");
      diag_set_label(d, "expected a count");
    }
    return &c->tt.price;
  }
  case EX_STRING:
    check_template(c, e);
    return &c->tt.string;
  case EX_NAME: return check_name(c, e, expected);
  case EX_MEMBER: return check_member(c, e);
  case EX_INDEX: return check_index(c, e);
  case EX_CALL: return check_call(c, e);
  case EX_LIST: return check_list(c, e, expected);
  case EX_MAP: return check_map(c, e, expected);
  case EX_RECORD: return check_record(c, e);
  case EX_UNARY: return check_unary(c, e);
  case EX_BINARY: return check_binary(c, e, expected);
  case EX_IF: return check_if(c, e, expected);
  case EX_MATCH: return check_match_expr(c, e, expected);
  case EX_FOR: return check_for_expr(c, e);
  case EX_LAMBDA: {
    Diag *d = diag_add(c->diags, DIAG_E0201, e->span,
                       "a lambda `x => ...` is only allowed as an argument of `map` or `filter`");
    diag_set_label(d, "not allowed here");
    return &c->tt.error;
  }
  case EX_ENSURE: return check_ensure(c, e);
  }
  return &c->tt.error;
}

/* ---- built-in functions ------------------------------------------------------------------ */

/* Signature letters: s string, i int, f float (an int is accepted), b bool,
 * S string[], m model binding; parameters after '|' may be left out. The
 * result letter follows '>'. Builtins marked '*' are checked by code below. */
typedef struct Builtin {
  const char *name;
  const char *sig;
  const char *named;   /* an optional named parameter, with its letter: "overlap:i" */
} Builtin;

static const Builtin BUILTINS[] = {
  {"len", "*", NULL},         {"lower", "s>s", NULL},       {"upper", "s>s", NULL},
  {"trim", "s>s", NULL},      {"split", "ss>S", NULL},      {"join", "Ss>s", NULL},
  {"replace", "sss>s", NULL}, {"contains", "*", NULL},      {"starts_with", "ss>b", NULL},
  {"ends_with", "ss>b", NULL},{"matches", "ss>b", NULL},    {"lines", "s>S", NULL},
  {"paragraphs", "s>S", NULL},{"chunk", "si>S", "overlap:i"}, {"tokens", "s>i", NULL},
  {"take", "*", NULL},        {"slice", "*", NULL},         {"sort", "*", NULL},
  {"unique", "*", NULL},      {"flatten", "*", NULL},       {"sum", "*", NULL},
  {"min", "*", NULL},         {"max", "*", NULL},           {"map", "*", NULL},
  {"filter", "*", NULL},      {"sort_by", "*", NULL},      {"keys", "*", NULL},          {"values", "*", NULL},
  {"json", "*", NULL},        {"str", "*", NULL},           {"int", "*", NULL},
  {"float", "*", NULL},       {"format", "fi>s", NULL},     {"judge", "ms>f", NULL},
  {"similarity", "ss>f", NULL},  {"format_date", "ss>s", NULL}, {"zip", "*", NULL},
  {"valid_json", "s|s>b", NULL}, {"approx", "fff>b", NULL},    {"token_f1", "ss>f", NULL},
  {"rouge_l", "ss>f", NULL},     {"chunk_tokens", "si>S", "overlap:i"}, {"pass_rate", "*", NULL},
};
#define NBUILTINS (sizeof BUILTINS / sizeof BUILTINS[0])

static const Builtin *find_builtin(const char *name) {
  for (size_t i = 0; i < NBUILTINS; i++)
    if (strcmp(BUILTINS[i].name, name) == 0) return &BUILTINS[i];
  return NULL;
}

bool check_is_builtin(const char *name) { return find_builtin(name) != NULL; }

const char *const *check_builtin_names(void) {
  static const char *names[NBUILTINS + 1];
  if (!names[0])
    for (size_t i = 0; i < NBUILTINS; i++) names[i] = BUILTINS[i].name;
  return names;
}

static Type *letter_type(Checker *c, char l) {
  switch (l) {
  case 's': return &c->tt.string;
  case 'i': return &c->tt.int_;
  case 'f': return &c->tt.float_;
  case 'b': return &c->tt.bool_;
  case 'S': return type_list(&c->tt, &c->tt.string);
  case 'm': return &c->tt.model;
  }
  return &c->tt.error;
}

/* Report a wrong argument count for a built-in; returns the diagnostic. */
static Diag *builtin_arity_diag(Checker *c, Expr *e, const char *name, const char *want) {
  Diag *d = diag_add(c->diags, DIAG_E0202, e->span, "`%s` takes %s, found %u argument%s", name, want,
                     e->u.call.nargs, e->u.call.nargs == 1 ? "" : "s");
  diag_set_label(d, "wrong number of arguments");
  for (unsigned i = 0; i < e->u.call.nargs; i++)
    if (!e->u.call.args[i].value->type) check_expr(c, e->u.call.args[i].value, NULL);
  return d;
}

static Type *builtin_arity(Checker *c, Expr *e, const char *name, const char *want) {
  builtin_arity_diag(c, e, name, want);
  return &c->tt.error;
}

/* A constant pattern given to `matches` is compiled now, with the same
 * engine the runtime uses (PCRE2), so a bad pattern fails `flowc check`. */
static void check_regex(Checker *c, Expr *pattern) {
  if (pattern->kind != EX_STRING || pattern->u.str.nparts > 1 ||
      (pattern->u.str.nparts == 1 && pattern->u.str.parts[0].is_expr))
    return;
  const char *text = pattern->u.str.nparts ? pattern->u.str.parts[0].text : "";
  size_t len = pattern->u.str.nparts ? pattern->u.str.parts[0].len : 0;
  int err;
  PCRE2_SIZE at;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)text, len, PCRE2_UTF, &err, &at, NULL);
  if (re) {
    pcre2_code_free(re);
    return;
  }
  PCRE2_UCHAR msg[256];
  pcre2_get_error_message(err, msg, sizeof msg);
  Diag *d = diag_add(c->diags, DIAG_E0215, pattern->span, "invalid regular expression: %s at offset %zu",
                     (const char *)msg, (size_t)at);
  diag_set_label(d, "PCRE2 cannot compile this pattern");
  diag_set_help(d, "in a flow string a backslash is written twice: \"\\\\d+\" is the pattern \\d+");
}

/* A constant schema given to `valid_json` is compiled now, by the validator
 * the runtime uses, so a schema that is not JSON, or uses a keyword of the
 * subset wrongly, fails `flowc check`. */
static void check_schema(Checker *c, Expr *schema) {
  const char *text = expr_const_string(schema);
  if (!text) return;
  size_t len = schema->u.str.nparts ? schema->u.str.parts[0].len : 0;
  char why[400];
  JsonSchema *s = json_schema_parse(text, len, why, sizeof why);
  if (s) {
    json_schema_free(s);
    return;
  }
  Diag *d = diag_add(c->diags, DIAG_E0216, schema->span, "invalid JSON Schema: %s", why);
  diag_set_label(d, "`valid_json` cannot check values against this");
  if (strncmp(why, "the schema is not JSON", 22) == 0)
    diag_set_help(d, "in a triple-quoted string \"\"\"{\"type\": \"object\"}\"\"\" the quotes of the JSON need no "
                     "backslashes");
  else
    diag_add_note(d, "`valid_json` understands a subset of JSON Schema 2020-12 (docs/language.md §5.1)");
}

/* A constant number argument that must be at least `min` (E0304). */
static void check_at_least(Checker *c, Expr *arg, double min, const char *param, const char *fn) {
  double x;
  bool is_int;
  if (!arg || (arg->type && type_is_error(arg->type)) || !expr_const_number(arg, &x, &is_int) || x >= min) return;
  Diag *d = diag_add(c->diags, DIAG_E0304, arg->span, "`%s` of `%s` must be at least %g, found %g", param, fn, min, x);
  diag_set_label(d, "out of range");
}

/* The argument of a call bound to positional parameter `pos` or, when
 * `name` is not NULL, given by that name; NULL when there is none. */
static Expr *call_arg(Expr *e, unsigned pos, const char *name) {
  unsigned k = 0;
  for (unsigned i = 0; i < e->u.call.nargs; i++) {
    Arg *a = &e->u.call.args[i];
    if (a->name.name ? (name && strcmp(a->name.name, name) == 0) : k++ == pos) return a->value;
  }
  return NULL;
}

/* Constant arguments that would fail every call at run time: a pattern
 * (E0215), a schema (E0216), a negative tolerance or a chunk size out of
 * range (E0304). */
static void check_constant_args(Checker *c, Expr *e, const char *fn) {
  Expr *second = call_arg(e, 1, NULL);
  if (!strcmp(fn, "matches") && second) check_regex(c, second);
  if (!strcmp(fn, "valid_json") && second) check_schema(c, second);
  if (!strcmp(fn, "approx")) check_at_least(c, call_arg(e, 2, NULL), 0, "tol", fn);
  if (strcmp(fn, "chunk") != 0 && strcmp(fn, "chunk_tokens") != 0) return;
  const char *size = fn[5] ? "max_tokens" : "max_chars";
  Expr *max = call_arg(e, 1, NULL), *overlap = call_arg(e, 2, "overlap");
  check_at_least(c, max, 1, size, fn);
  check_at_least(c, overlap, 0, "overlap", fn);
  double m, o;
  bool is_int;
  if (max && overlap && expr_const_number(max, &m, &is_int) && expr_const_number(overlap, &o, &is_int) && m >= 1 &&
      o >= m) {
    Diag *d = diag_add(c->diags, DIAG_E0304, overlap->span, "`overlap` of `%s` must be smaller than %s (%g), found %g",
                       fn, size, m, o);
    diag_set_label(d, "out of range");
  }
}

/* The model argument of `judge`: a name that must denote a model binding.
 * Returns false when it was reported. */
static bool check_model_arg(Checker *c, Expr *arg, const char *fn) {
  if (arg->kind != EX_NAME || lookup_local(c, arg->u.name.id.name)) return true;
  Decl *d = program_lookup(c->p, arg->u.name.id.name);
  if (!d || d->kind == D_MODEL) return true;
  check_mark_used(c, d);
  arg->type = &c->tt.error;
  if (program_poisoned(c->p, arg->u.name.id.name)) return false;
  Diag *g = diag_add(c->diags, DIAG_E0308, arg->span, "`%s` is a %s, not a model binding",
                     arg->u.name.id.name, decl_kind_str(d->kind));
  diag_set_label(g, "`%s` needs a model here", fn);
  diag_add_secondary(g, d->name.span, "`%s` is declared here", arg->u.name.id.name);
  return false;
}

static Type *check_fixed_builtin(Checker *c, Expr *e, const Builtin *b) {
  char sig[16]; /* the parameter letters without the '|' */
  const char *arrow = strchr(b->sig, '>'), *bar = strchr(b->sig, '|');
  unsigned want = 0, least, positional = 0;
  for (const char *p = b->sig; p < arrow; p++)
    if (*p != '|') sig[want++] = *p;
  least = bar && bar < arrow ? (unsigned)(bar - b->sig) : want;
  for (unsigned i = 0; i < e->u.call.nargs; i++) {
    Arg *a = &e->u.call.args[i];
    if (a->name.name) {
      size_t n = strlen(a->name.name);
      if (b->named && strncmp(b->named, a->name.name, n) == 0 && b->named[n] == ':') {
        check_expr_as(c, a->value, letter_type(c, b->named[n + 1]),
                      "`%s` of `%s`", a->name.name, b->name);
      } else {
        Diag *d = diag_add(c->diags, DIAG_E0214, a->name.span, "`%s` has no parameter `%s`", b->name,
                           a->name.name);
        diag_set_label(d, "unknown parameter");
        if (b->named) {
          const char *colon = strchr(b->named, ':');
          const char *only = arena_strndup(c->arena, b->named, (size_t)(colon - b->named));
          if (suggest_in(a->name.name, &only, 1)) diag_set_help(d, "did you mean `%s`?", only);
        }
        check_expr(c, a->value, NULL);
      }
      continue;
    }
    if (positional >= want) {
      positional++;
      check_expr(c, a->value, NULL);
      continue;
    }
    Type *pt = letter_type(c, sig[positional]);
    if (sig[positional] == 'm' && !check_model_arg(c, a->value, b->name)) {
      positional++;
      continue;
    }
    bool outer = c->saw_model;
    check_expr_as(c, a->value, pt, "argument %u of `%s`", positional + 1, b->name);
    if (sig[positional] == 'm') c->saw_model = outer;
    positional++;
  }
  if (positional < least || positional > want) {
    Diag *d = builtin_arity_diag(c, e, b->name,
                                 least < want ? arena_printf(c->arena, "%u to %u arguments", least, want)
                                              : arena_printf(c->arena, "%u argument%s", want, want == 1 ? "" : "s"));
    if (positional == want + 1 && b->named) { /* chunk(text, 500, 50) */
      int n = (int)(strchr(b->named, ':') - b->named);
      diag_set_help(d, "`%.*s` is given by name: `%s(..., %.*s: value)`", n, b->named, b->name, n, b->named);
    }
    return &c->tt.error;
  }
  check_constant_args(c, e, b->name);
  return letter_type(c, arrow[1]);
}

/* The positional arguments of a call to a built-in (named ones are refused). */
static bool builtin_positional(Checker *c, Expr *e, const char *name) {
  bool ok = true;
  for (unsigned i = 0; i < e->u.call.nargs; i++) {
    Arg *a = &e->u.call.args[i];
    if (!a->name.name) continue;
    Diag *d = diag_add(c->diags, DIAG_E0214, a->name.span, "`%s` has no parameter `%s`", name, a->name.name);
    diag_set_label(d, "unknown parameter");
    ok = false;
  }
  return ok;
}

static Type *check_lambda_arg(Checker *c, Expr *lam, Type *param, Type *want_result, const char *fn) {
  if (lam->kind != EX_LAMBDA) {
    Type *t = check_expr(c, lam, NULL);
    if (t->kind != T_ERROR) {
      Diag *d = diag_add(c->diags, DIAG_E0201, lam->span,
                         "type mismatch: the second argument of `%s` must be a lambda `x => ...`", fn);
      diag_set_label(d, "this is `%s`", tstr(c, t));
    }
    return &c->tt.error;
  }
  Local *mark = c->scope;
  lam->u.lambda.local = check_bind(c, lam->u.lambda.param.name, param, lam->u.lambda.param.span, false);
  Type *r = want_result ? check_expr_as(c, lam->u.lambda.body, want_result,
                                        "the lambda of `%s`", fn)
                        : check_expr(c, lam->u.lambda.body, NULL);
  check_unbind(c, mark);
  lam->type = r;
  return r;
}

/* pass_rate(expr, seeds: n) -> float: in a test, the fraction of n trials
 * of `expr` (each with its own mock seed) that succeed. */
static Type *check_pass_rate(Checker *c, Expr *e) {
  unsigned n = e->u.call.nargs;
  Arg *args = e->u.call.args;
  bool shape = n == 2 && !args[0].name.name && (!args[1].name.name || !strcmp(args[1].name.name, "seeds"));
  if (!shape) return builtin_arity(c, e, "pass_rate", "2 arguments, `pass_rate(expr, seeds: n)`");
  check_expr(c, args[0].value, NULL);
  check_expr_as(c, args[1].value, &c->tt.int_, "the `seeds` of `pass_rate`");
  if (!c->decl || c->decl->kind != D_TEST) {
    Diag *d = diag_add(c->diags, DIAG_E0605, e->span, "`pass_rate` runs its expression on several mock seeds, which "
                       "only a test can do; found it in %s",
                       c->decl ? arena_printf(c->arena, "%s `%s`", decl_kind_str(c->decl->kind), c->decl->name.name)
                               : "a declaration");
    diag_set_label(d, "only inside a `test` block");
    return &c->tt.error;
  }
  return &c->tt.float_;
}

static Type *check_builtin(Checker *c, Expr *e, const char *name) {
  const Builtin *b = find_builtin(name);
  if (b->sig[0] != '*') return check_fixed_builtin(c, e, b);
  if (!strcmp(name, "pass_rate")) return check_pass_rate(c, e);
  if (!builtin_positional(c, e, name)) {
    for (unsigned i = 0; i < e->u.call.nargs; i++) check_expr(c, e->u.call.args[i].value, NULL);
    return &c->tt.error;
  }
  unsigned n = e->u.call.nargs;
  Expr *a0 = n > 0 ? e->u.call.args[0].value : NULL;
  Expr *a1 = n > 1 ? e->u.call.args[1].value : NULL;

  if (!strcmp(name, "map") || !strcmp(name, "filter") || !strcmp(name, "sort_by")) {
    if (n != 2) return builtin_arity(c, e, name, "2 arguments (a list and a lambda)");
    Type *lt = check_expr(c, a0, NULL);
    if (lt->kind != T_LIST) {
      if (lt->kind != T_ERROR) check_report_mismatch(c, a0->span, type_list(&c->tt, &c->tt.unknown), lt, arena_printf(c->arena, "the first argument of `%s`", name));
      check_lambda_arg(c, a1, &c->tt.error, NULL, name);
      return &c->tt.error;
    }
    bool filter = name[0] == 'f';
    Type *r = check_lambda_arg(c, a1, lt->elem, filter ? &c->tt.bool_ : NULL, name);
    if (name[0] != 's') return filter ? lt : type_list(&c->tt, r);
    /* sort_by: the key must be ordered */
    if (!type_is_numeric(r) && r->kind != T_STRING && r->kind != T_ERROR) {
      Diag *d = diag_add(c->diags, DIAG_E0201, a1->span,
                         "type mismatch: the key of `sort_by` must be a number or a string, found `%s`", tstr(c, r));
      diag_set_label(d, "this key is `%s`", tstr(c, r));
    }
    return lt;
  }
  if (!strcmp(name, "int") || !strcmp(name, "float") || !strcmp(name, "str") || !strcmp(name, "json") ||
      !strcmp(name, "len") || !strcmp(name, "sort") || !strcmp(name, "unique") || !strcmp(name, "flatten") ||
      !strcmp(name, "sum") || !strcmp(name, "min") || !strcmp(name, "max") || !strcmp(name, "keys") ||
      !strcmp(name, "values")) {
    if (n != 1) return builtin_arity(c, e, name, "1 argument");
    Type *t = check_expr(c, a0, NULL);
    if (t->kind == T_ERROR) return t;
    const char *want = NULL;
    if (!strcmp(name, "int")) {
      if (type_is_numeric(t) || t->kind == T_STRING || t->kind == T_BOOL) return &c->tt.int_;
      want = "a number, a string or a bool";
    } else if (!strcmp(name, "float")) {
      if (type_is_numeric(t) || t->kind == T_STRING) return &c->tt.float_;
      want = "a number or a string";
    } else if (!strcmp(name, "str")) {
      if (type_is_printable(t)) return &c->tt.string;
      want = "a printable value (string, int, float, bool or enum)";
    } else if (!strcmp(name, "json")) {
      if (type_is_json(t)) return &c->tt.string;
      want = "a JSON-representable value";
    } else if (!strcmp(name, "len")) {
      if (t->kind == T_STRING || t->kind == T_LIST || t->kind == T_MAP) return &c->tt.int_;
      want = "a string, a list or a map";
    } else if (!strcmp(name, "sort")) {
      if (t->kind == T_LIST && (type_is_numeric(t->elem) || t->elem->kind == T_STRING ||
                                t->elem->kind == T_UNKNOWN || t->elem->kind == T_ENUM))
        return t;
      want = "a list of numbers, strings or enum values";
    } else if (!strcmp(name, "unique")) {
      if (t->kind == T_LIST) return t;
      want = "a list";
    } else if (!strcmp(name, "flatten")) {
      if (t->kind == T_LIST && (t->elem->kind == T_LIST || t->elem->kind == T_UNKNOWN))
        return t->elem->kind == T_LIST ? t->elem : t;
      want = "a list of lists";
    } else if (!strcmp(name, "keys")) {
      if (t->kind == T_MAP) return type_list(&c->tt, &c->tt.string);
      want = "a map";
    } else if (!strcmp(name, "values")) {
      if (t->kind == T_MAP) return type_list(&c->tt, t->elem);
      want = "a map";
    } else { /* sum, min, max */
      if (t->kind == T_LIST && (type_is_numeric(t->elem) || t->elem->kind == T_UNKNOWN))
        return t->elem->kind == T_UNKNOWN ? &c->tt.int_ : t->elem;
      if (t->kind == T_LIST && strcmp(name, "sum") != 0 && t->elem->kind == T_STRING) return t->elem;
      want = "a list of numbers";
    }
    Diag *d = diag_add(c->diags, DIAG_E0201, a0->span, "type mismatch: `%s` expects %s, found `%s`", name,
                       want, tstr(c, t));
    diag_set_label(d, "this is `%s`", tstr(c, t));
    return &c->tt.error;
  }
  if (!strcmp(name, "zip")) {
    if (n != 2) return builtin_arity(c, e, name, "2 arguments (two lists)");
    Type *ta = check_expr(c, a0, NULL);
    Type *tb = check_expr(c, a1, ta->kind == T_LIST ? ta : NULL);
    if (ta->kind == T_ERROR || tb->kind == T_ERROR) return &c->tt.error;
    Type *j = ta->kind == T_LIST && tb->kind == T_LIST ? type_join(&c->tt, ta, tb) : NULL;
    if (j && j->kind == T_LIST) return type_list(&c->tt, j);
    Diag *d = diag_add(c->diags, DIAG_E0201, e->span,
                       "type mismatch: `zip` pairs two lists of one element type, found `%s` and `%s`", tstr(c, ta),
                       tstr(c, tb));
    diag_set_label(d, "expected two `T[]`");
    return &c->tt.error;
  }
  if (!strcmp(name, "contains")) {
    if (n != 2) return builtin_arity(c, e, name, "2 arguments");
    Type *t = check_expr(c, a0, NULL);
    if (t->kind == T_LIST) {
      check_expr_as(c, a1, t->elem, "the value searched for");
      return &c->tt.bool_;
    }
    if (t->kind != T_STRING && t->kind != T_ERROR)
      check_report_mismatch(c, a0->span, &c->tt.string, t, "the first argument of `contains`");
    check_expr_as(c, a1, &c->tt.string, "the second argument of `contains`");
    return &c->tt.bool_;
  }
  /* take(xs, n), slice(xs, a, b) */
  unsigned want = !strcmp(name, "take") ? 2 : 3;
  if (n != want) return builtin_arity(c, e, name, want == 2 ? "2 arguments (a list and a count)" : "3 arguments (a list, a start and an end)");
  Type *t = check_expr(c, a0, NULL);
  for (unsigned i = 1; i < n; i++)
    check_expr_as(c, e->u.call.args[i].value, &c->tt.int_, "argument %u of `%s`", i + 1, name);
  if (t->kind == T_LIST || t->kind == T_STRING || t->kind == T_ERROR) return t;
  check_report_mismatch(c, a0->span, type_list(&c->tt, &c->tt.unknown), t, arena_printf(c->arena, "the first argument of `%s`", name));
  return &c->tt.error;
}
