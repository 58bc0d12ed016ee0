/* check_stmt.c - flow, eval and test bodies: statements, yields, matches,
 * loops and check actions (docs/language.md §3.7, §3.8, §6). */
#include <stdio.h>
#include <string.h>

#include "check_internal.h"

static bool check_block(Checker *c, Block *b);

/* ---- actions --------------------------------------------------------------------- */

void check_action(Checker *c, Action *a, Span checked, bool has_model) {
  if (a->kind == ACT_RETRY && a->count != -1 && a->count < 1) {
    Diag *d = diag_add(c->diags, DIAG_E0304, a->span, "`retry %lld` asks for no attempt; expected a count of at least 1",
                       (long long)a->count);
    diag_set_label(d, "out of range");
  }
  if (a->kind == ACT_FALLBACK) {
    Decl *m = program_lookup(c->p, a->model.name);
    if (!m) {
      check_report_unknown(c, a->model, D_MODEL, NULL);
    } else {
      check_mark_used(c, m);
      if (m->kind != D_MODEL) {
        Diag *d = diag_add(c->diags, DIAG_E0308, a->model.span, "`%s` is a %s, not a model binding",
                           a->model.name, decl_kind_str(m->kind));
        diag_set_label(d, "expected a model");
        diag_add_secondary(d, m->name.span, "`%s` is declared here", a->model.name);
      }
    }
  }
  if ((a->kind == ACT_RETRY || a->kind == ACT_FALLBACK) && !has_model) {
    Diag *d = diag_add(c->diags, DIAG_E0407, a->span, "`%s` has no model call to re-ask",
                       a->kind == ACT_RETRY ? "retry" : "fallback");
    diag_set_label(d, "nothing to re-ask");
    diag_add_secondary(d, checked, "this value does not come from a prompt");
    diag_set_help(d, "`%s` re-asks a prompt called in this flow: check the value where the prompt is called, "
                     "or use `fail`, `warn` or `skip`", a->kind == ACT_RETRY ? "retry" : "fallback");
  }
}

/* ---- patterns and matches --------------------------------------------------------------- */

typedef struct Coverage {
  Type *subject;     /* the subject type, looking through `?` */
  bool optional;
  bool *variants;    /* enum: covered variants */
  bool covered_none, covered_true, covered_false, wildcard;
} Coverage;

/* Check one pattern against the subject; returns true when it adds coverage. */
static bool check_pattern(Checker *c, Pattern *pat, Coverage *cov) {
  Type *st = cov->subject;
  switch (pat->kind) {
  case PAT_WILDCARD: {
    bool added = !cov->wildcard;
    cov->wildcard = true;
    return added;
  }
  case PAT_NAME:
  case PAT_QUALIFIED: {
    if (st->kind == T_ERROR) return true;
    if (st->kind != T_ENUM) {
      Diag *d = diag_add(c->diags, DIAG_E0201, pat->span,
                         "type mismatch: the pattern `%s` names an enum variant, but the value matched is `%s`",
                         pat->name.name, tstr(c, st));
      diag_set_label(d, "expected a literal of type `%s` or `_`", tstr(c, st));
      return true;
    }
    if (pat->kind == PAT_QUALIFIED && pat->qual.name != st->decl->name.name) {
      Diag *d = diag_add(c->diags, DIAG_E0201, pat->qual.span,
                         "type mismatch: the pattern names enum `%s`, but the value matched is `%s`",
                         pat->qual.name, tstr(c, st));
      diag_set_label(d, "expected `%s`", st->decl->name.name);
      return true;
    }
    int v = type_variant(st, pat->name.name);
    if (v < 0) {
      Diag *d = diag_add(c->diags, DIAG_E0107, pat->name.span, "enum `%s` has no variant `%s`",
                         st->decl->name.name, pat->name.name);
      diag_set_label(d, "unknown variant");
      diag_add_secondary(d, st->decl->name.span, "`%s` is declared here", st->decl->name.name);
      return true;
    }
    bool added = !cov->variants[v] && !cov->wildcard;
    cov->variants[v] = true;
    return added;
  }
  case PAT_LITERAL: {
    Expr *lit = pat->literal;
    Type *lt = check_expr(c, lit, cov->optional ? type_opt(&c->tt, st) : st);
    if (lit->kind == EX_NONE) {
      if (!cov->optional && st->kind != T_ERROR) {
        Diag *d = diag_add(c->diags, DIAG_E0201, pat->span,
                           "type mismatch: `none` cannot match %s, which is never `none`", a_tstr(c, st));
        diag_set_label(d, "never matches");
      }
      bool added = !cov->covered_none && !cov->wildcard;
      cov->covered_none = true;
      return added;
    }
    if (!type_assignable(lt, st)) {
      check_report_mismatch(c, pat->span, st, lt, "a pattern");
      return true;
    }
    if (lit->kind == EX_BOOL) {
      bool *slot = lit->u.b ? &cov->covered_true : &cov->covered_false;
      bool added = !*slot && !cov->wildcard;
      *slot = true;
      return added;
    }
    return !cov->wildcard;
  }
  }
  return true;
}

static void coverage_init(Checker *c, Coverage *cov, Type *subject) {
  memset(cov, 0, sizeof *cov);
  cov->optional = subject->kind == T_OPT;
  cov->subject = cov->optional ? subject->elem : subject;
  unsigned n = cov->subject->kind == T_ENUM ? cov->subject->decl->u.enm.n : 0;
  cov->variants = arena_zalloc(c->arena, n + 1);
}

/* Check the arms' patterns; report unreachable arms (W0411) and missing
 * cases (E0404). Returns true when the match is exhaustive. */
static bool check_arms(Checker *c, Span match_span, Type *subject, MatchArm **arms, unsigned narms,
                       void (*body)(Checker *, MatchArm *, void *), void *ctx) {
  Coverage cov;
  coverage_init(c, &cov, subject);
  for (unsigned i = 0; i < narms; i++) {
    MatchArm *arm = arms[i];
    bool added = false;
    bool after_wildcard = cov.wildcard;
    for (unsigned k = 0; k < arm->npatterns; k++) added |= check_pattern(c, arm->patterns[k], &cov);
    if (!added || after_wildcard) {
      Diag *d = diag_add(c->diags, DIAG_W0411, arm->patterns[0]->span, "this arm can never be reached");
      diag_set_label(d, after_wildcard ? "an earlier `_` arm matches everything" : "earlier arms cover these cases");
    }
    body(c, arm, ctx);
  }
  Type *st = cov.subject;
  if (cov.wildcard || st->kind == T_ERROR) return true;
  bool none_ok = !cov.optional || cov.covered_none;
  if (st->kind == T_BOOL && cov.covered_true && cov.covered_false && none_ok) return true;
  if (st->kind == T_BOOL) {
    const char *missing = !cov.covered_true ? (!cov.covered_false ? "`true` and `false`" : "`true`")
                          : !cov.covered_false ? "`false`" : "`none`";
    Diag *d = diag_add(c->diags, DIAG_E0404, match_span, "this match on `%s` does not cover %s", tstr(c, subject),
                       missing);
    diag_set_label(d, "missing a case");
    diag_set_help(d, "add an arm for %s, or a final `_ => ...` arm", missing);
    c->match_error = true;
    return false;
  }
  if (st->kind == T_ENUM) {
    char missing[512];
    size_t len = 0;
    unsigned nmissing = 0;
    missing[0] = '\0';
    for (unsigned v = 0; v < st->decl->u.enm.n; v++) {
      if (cov.variants[v]) continue;
      if (len < sizeof missing - 64)
        len += (size_t)snprintf(missing + len, sizeof missing - len, "%s`%s`", nmissing ? ", " : "",
                                st->decl->u.enm.variants[v].name.name);
      nmissing++;
    }
    if (!cov.covered_none && cov.optional && len < sizeof missing - 16)
      len += (size_t)snprintf(missing + len, sizeof missing - len, "%s`none`", nmissing++ ? ", " : "");
    if (nmissing == 0) return true;
    Diag *d = diag_add(c->diags, DIAG_E0404, match_span, "this match on `%s` does not cover %s",
                       tstr(c, subject), missing);
    diag_set_label(d, "missing %s", nmissing == 1 ? "a case" : "cases");
    diag_add_secondary(d, st->decl->name.span, "`%s` is declared here", st->decl->name.name);
    diag_set_help(d, "add an arm for each missing variant, or a final `_ => ...` arm");
    c->match_error = true;
    return false;
  }
  Diag *d = diag_add(c->diags, DIAG_E0404, match_span, "this match on `%s` does not cover every value",
                     tstr(c, subject));
  diag_set_label(d, "no `_` arm");
  diag_set_help(d, "add a final `_ => ...` arm");
  c->match_error = true;
  return false;
}

typedef struct ExprArms {
  Type *expected;
  Type *result;
  Span first;
  bool failed;
} ExprArms;

static void check_expr_arm(Checker *c, MatchArm *arm, void *ctx) {
  ExprArms *ea = ctx;
  Type *t = check_expr(c, arm->value, ea->expected ? ea->expected : ea->result);
  if (ea->failed) return;
  if (!ea->result) {
    ea->result = t;
    ea->first = arm->value->span;
    return;
  }
  Type *j = type_join(&c->tt, ea->result, t);
  if (!j) {
    Diag *d = diag_add(c->diags, DIAG_E0201, arm->value->span,
                       "type mismatch: the arms of `match` must have one type; this arm gives `%s`, the first `%s`",
                       tstr(c, t), tstr(c, ea->result));
    diag_set_label(d, "this is `%s`", tstr(c, t));
    diag_add_secondary(d, ea->first, "this is `%s`", tstr(c, ea->result));
    ea->failed = true;
    return;
  }
  ea->result = j;
}

Type *check_match_expr(Checker *c, Expr *e, Type *expected) {
  Type *st = check_expr(c, e->u.match.subject, NULL);
  ExprArms ea = {expected, NULL, {0, 0, 0}, false};
  check_arms(c, e->span, st, e->u.match.arms, e->u.match.narms, check_expr_arm, &ea);
  if (ea.failed || !ea.result) return &c->tt.error;
  return ea.result;
}

typedef struct StmtArms {
  bool all_terminate;
} StmtArms;

static void check_stmt_arm(Checker *c, MatchArm *arm, void *ctx) {
  StmtArms *sa = ctx;
  if (!check_block(c, arm->body)) sa->all_terminate = false;
}

/* ---- loops -------------------------------------------------------------------------- */

/* The element type of the sequence a `for` iterates over. */
static Type *check_iterable(Checker *c, Expr *iter) {
  Type *t = check_expr(c, iter, NULL);
  if (t->kind == T_LIST) return t->elem;
  if (t->kind == T_ERROR) return t;
  Diag *d = diag_add(c->diags, DIAG_E0201, iter->span, "type mismatch: `for` iterates over a list, found `%s`",
                     tstr(c, t));
  diag_set_label(d, "this is `%s`", tstr(c, t));
  if (t->kind == T_MAP) diag_set_help(d, "iterate over `keys(m)` or `values(m)`");
  else if (t->kind == T_STRING) diag_set_help(d, "iterate over `lines(s)` or `chunk(s, n)`");
  return &c->tt.error;
}

static void check_parallel(Checker *c, Expr *par) {
  if (!par) return;
  Type *t = check_expr(c, par, &c->tt.int_);
  if (t->kind == T_ERROR) return;
  if (par->kind == EX_INT && par->u.i > 0) return;
  if (par->kind == EX_UNIT && unit_kind(par->u.unit.unit) == UK_COUNT && par->u.unit.value > 0) return;
  Diag *d;
  if (par->kind == EX_INT || (par->kind == EX_UNARY && par->u.unary.operand->kind == EX_INT)) {
    d = diag_add(c->diags, DIAG_E0403, par->span, "`parallel` needs a width of at least 1, found %s",
                 par->kind == EX_INT ? arena_printf(c->arena, "%lld", (long long)par->u.i)
                                     : arena_printf(c->arena, "-%lld", (long long)par->u.unary.operand->u.i));
    diag_set_label(d, "must be a positive integer");
  } else {
    d = diag_add(c->diags, DIAG_E0403, par->span, "`parallel` needs a positive integer constant, found %s",
                 t->kind == T_INT ? "a computed value" : a_tstr(c, t));
    diag_set_label(d, "expected a literal such as `16`");
  }
  diag_set_help(d, "the width bounds how many iterations run at once; use --concurrency for run-wide limits");
}

Type *check_for_expr(Checker *c, Expr *e) {
  Type *elem = check_iterable(c, e->u.for_e.iter);
  check_parallel(c, e->u.for_e.parallel);
  YieldFrame frame = {YT_FOR_EXPR, NULL, 0, c->yields};
  c->yields = &frame;
  Local *mark = c->scope;
  e->u.for_e.local = check_bind(c, e->u.for_e.var.name, elem, e->u.for_e.var.span, false);
  check_block(c, e->u.for_e.body);
  check_unbind(c, mark);
  c->yields = frame.outer;
  if (frame.count == 0) {
    Diag *d = diag_add(c->diags, DIAG_E0402, e->span, "this `for` expression never yields a value");
    diag_set_label(d, "expected a `yield` in its body");
    diag_set_help(d, "a `for` expression builds a list from what its body yields");
    return &c->tt.error;
  }
  return frame.elem ? type_list(&c->tt, frame.elem) : &c->tt.error;
}

/* ---- statements ---------------------------------------------------------------------------- */

static bool check_yield(Checker *c, Stmt *s) {
  YieldFrame *f = c->yields;
  Expr *v = s->u.yield.value;
  if (!f || f->target == YT_NONE) {
    check_expr(c, v, NULL);
    Diag *d = diag_add(c->diags, DIAG_E0405, s->span, "`yield` is only allowed in a flow or a `for` body");
    diag_set_label(d, "nothing receives this value");
    return false;
  }
  f->count++;
  s->u.yield.elem = f->target == YT_FOR_EXPR || c->for_stmts > 0;
  if (f->target == YT_FOR_EXPR) {
    Type *t = check_expr(c, v, f->elem);
    if (!f->elem) {
      f->elem = t;
    } else {
      Type *j = type_join(&c->tt, f->elem, t);
      if (!j) check_report_mismatch(c, v->span, f->elem, t, "every value yielded by this `for`");
      else f->elem = j;
    }
    return false;
  }
  Type *ret = c->flow_ret;
  if (c->for_stmts > 0) {
    /* one element of the flow's list result */
    if (!c->has_elem_yield) c->first_elem_yield = s->span;
    c->has_elem_yield = true;
    if (ret->kind != T_LIST) {
      check_expr(c, v, NULL);
      if (ret->kind == T_ERROR) return false;
      Diag *d = diag_add(c->diags, DIAG_E0405, s->span,
                         "a `yield` inside `for` produces one element of the flow's result, but this flow returns `%s`, not a list",
                         tstr(c, ret));
      diag_set_label(d, "yields an element");
      diag_set_help(d, "declare the flow `-> %s[]`, or collect with `let xs = for ... { yield ... }`", tstr(c, ret));
      return false;
    }
    check_expr_as(c, v, ret->elem, "each element yielded by the flow");
    return false;
  }
  if (!c->has_whole_yield) c->first_whole_yield = s->span;
  c->has_whole_yield = true;
  check_expr_as(c, v, ret, "the flow's result");
  return true;
}

/* `mock judge = score` (or a list of scores for successive judge calls):
 * every `judge(...)` of the test answers with it. */
static bool check_mock_judge(Checker *c, Stmt *s) {
  Type *t = check_expr(c, s->u.mock.value, &c->tt.float_);
  if (type_is_error(t) || type_is_numeric(t) || (t->kind == T_LIST && type_is_numeric(t->elem))) return false;
  Diag *g = diag_add(c->diags, DIAG_E0602, s->u.mock.value->span,
                     "the mock of `judge` must be a score (a `float` in 0..1) or a list of them for successive "
                     "judge calls, found `%s`", tstr(c, t));
  diag_set_label(g, "this is `%s`", tstr(c, t));
  return false;
}

/* `mock NAME` with neither a value nor a cassette: NAME must be a model
 * binding, whose calls the built-in mock provider then answers. */
static bool check_mock_model(Checker *c, Stmt *s, Decl *d) {
  Ident name = s->u.mock.prompt;
  if (d && d->kind == D_MODEL) {
    check_mark_used(c, d);
    s->u.mock.decl = d;
    return false;
  }
  Diag *g = diag_add(c->diags, DIAG_E0601, name.span, "`mock %s` alone mocks a model binding, but `%s` is %s",
                     name.name, name.name,
                     d ? arena_printf(c->arena, "a %s", decl_kind_str(d->kind)) : "not declared");
  diag_set_label(g, "expected the name of a model");
  if (d && d->kind == D_PROMPT) {
    check_mark_used(c, d);
    diag_set_help(g, "give the prompt's reply, `mock %s = ...`, or a cassette, `mock %s from \"calls.jsonl\"`",
                  name.name, name.name);
  } else if (!d) {
    const char *hint = check_suggest(c, name.name, false);
    if (hint) diag_set_help(g, "did you mean `%s`?", hint);
  }
  return false;
}

static bool check_stmt(Checker *c, Stmt *s) {
  switch (s->kind) {
  case ST_LET: {
    c->saw_model = false;
    Type *want = s->u.let.type ? check_type_expr(c, s->u.let.type) : NULL;
    Type *t = want ? check_expr_as(c, s->u.let.value, want, "`%s`", s->u.let.name.name)
                   : check_expr(c, s->u.let.value, NULL);
    Local *l = check_bind(c, s->u.let.name.name, want ? want : t, s->u.let.name.span, true);
    s->u.let.local = l;
    l->from_model = c->saw_model;
    c->saw_model = false;
    return false;
  }
  case ST_SCORE: {
    c->saw_model = false;
    Type *t = check_expr(c, s->u.let.value, &c->tt.float_);
    if (!type_is_numeric(t) && t->kind != T_ERROR) {
      Diag *d = diag_add(c->diags, DIAG_E0208, s->u.let.value->span, "score `%s` must be a number, found `%s`",
                         s->u.let.name.name, tstr(c, t));
      diag_set_label(d, "this is `%s`", tstr(c, t));
      diag_set_help(d, "a score is a measurement such as `judge(model, \"...\")` or `similarity(a, b)`");
    }
    Local *l = check_bind(c, s->u.let.name.name, &c->tt.float_, s->u.let.name.span, false);
    s->u.let.local = l;
    l->from_model = c->saw_model;
    c->saw_model = false;
    return false;
  }
  case ST_CHECK: {
    c->saw_model = false;
    check_expr_as(c, s->u.check.cond, &c->tt.bool_, "the condition of `check`");
    check_action(c, &s->u.check.action, s->u.check.cond->span, c->saw_model);
    c->saw_model = false;
    return false;
  }
  case ST_YIELD: return check_yield(c, s);
  case ST_IF: {
    check_expr_as(c, s->u.if_s.cond, &c->tt.bool_, "the condition of `if`");
    Local *mark = c->scope;
    check_narrow(c, s->u.if_s.cond, true);
    bool a = check_block(c, s->u.if_s.then_b);
    check_unbind(c, mark);
    check_narrow(c, s->u.if_s.cond, false);
    bool b = s->u.if_s.else_b ? check_block(c, s->u.if_s.else_b) : false;
    check_unbind(c, mark);
    return a && b;
  }
  case ST_MATCH: {
    Type *st = check_expr(c, s->u.match.subject, NULL);
    StmtArms sa = {true};
    bool exhaustive = check_arms(c, s->span, st, s->u.match.arms, s->u.match.narms, check_stmt_arm, &sa);
    return exhaustive && sa.all_terminate && s->u.match.narms > 0;
  }
  case ST_FOR: {
    Type *elem = check_iterable(c, s->u.for_s.iter);
    check_parallel(c, s->u.for_s.parallel);
    Local *mark = c->scope;
    s->u.for_s.local = check_bind(c, s->u.for_s.var.name, elem, s->u.for_s.var.span, false);
    c->for_stmts++;
    check_block(c, s->u.for_s.body);
    c->for_stmts--;
    check_unbind(c, mark);
    return false;
  }
  case ST_ASSERT: {
    Type *t = check_expr(c, s->u.assert_s.cond, &c->tt.bool_);
    if (t->kind != T_BOOL && t->kind != T_ERROR) {
      Diag *d = diag_add(c->diags, DIAG_E0207, s->u.assert_s.cond->span, "an assert needs a `bool`, found `%s`",
                         tstr(c, t));
      diag_set_label(d, "this is `%s`", tstr(c, t));
      if (type_is_numeric(t)) diag_set_help(d, "compare it, e.g. `assert x >= 0.7`, or record it with `score`");
    }
    if (s->u.assert_s.message) check_template(c, s->u.assert_s.message);
    return false;
  }
  case ST_MOCK: {
    Ident name = s->u.mock.prompt;
    Decl *d = program_lookup(c->p, name.name);
    if (!s->u.mock.value && !s->u.mock.cassette) return check_mock_model(c, s, d);
    if (!d && !strcmp(name.name, "judge") && s->u.mock.value) return check_mock_judge(c, s);
    if (!d || d->kind != D_PROMPT) {
      Diag *g = diag_add(c->diags, DIAG_E0601, name.span, "`%s` is %s, so it cannot be mocked", name.name,
                         d ? arena_printf(c->arena, "a %s, not a prompt", decl_kind_str(d->kind)) : "not a declared prompt");
      diag_set_label(g, "expected the name of a prompt");
      if (!d) {
        const char *hint = check_suggest(c, name.name, false);
        if (hint) diag_set_help(g, "did you mean `%s`?", hint);
      }
      if (d) check_mark_used(c, d);
      if (s->u.mock.value) check_expr(c, s->u.mock.value, NULL);
      return false;
    }
    check_mark_used(c, d);
    s->u.mock.decl = d;
    if (s->u.mock.cassette) {
      if (!expr_const_string(s->u.mock.cassette)) {
        Diag *g = diag_add(c->diags, DIAG_E0604, s->u.mock.cassette->span,
                           "the cassette of `mock %s from` must be a path string without templates", name.name);
        diag_set_label(g, "expected a literal path");
        return false;
      }
      check_project_path(c, c->decl, s->u.mock.cassette, false, "cassette", NULL);
      return false;
    }
    Type *rt = d->type ? d->type : &c->tt.error;
    Type *t = check_expr(c, s->u.mock.value, rt);
    if (type_assignable(t, rt) || type_assignable(t, type_list(&c->tt, rt))) return false;
    if (type_is_error(t) || type_is_error(rt)) return false;
    Diag *g = diag_add(c->diags, DIAG_E0602, s->u.mock.value->span,
                       "the mock of `%s` must be %s (or a list of them for successive calls), found `%s`",
                       name.name, a_tstr(c, rt), tstr(c, t));
    diag_set_label(g, "this is `%s`", tstr(c, t));
    diag_add_secondary(g, d->u.prompt.ret->span, "`%s` returns `%s`", name.name, tstr(c, rt));
    return false;
  }
  }
  return false;
}

/* Check a block in its own scope; returns true when every path through it
 * ends in a yield of the flow's whole result. */
static bool check_block(Checker *c, Block *b) {
  Local *mark = c->scope;
  bool terminated = false, reported = false;
  for (unsigned i = 0; i < b->n; i++) {
    if (terminated && !reported) {
      Diag *d = diag_add(c->diags, DIAG_E0406, b->stmts[i]->span, "this statement can never run");
      diag_set_label(d, "unreachable");
      diag_add_secondary(d, b->stmts[i - 1]->span, "the flow's result is already yielded here");
      reported = true;
    }
    if (check_stmt(c, b->stmts[i])) terminated = true;
  }
  check_unbind(c, mark);
  return terminated;
}

static void bind_params(Checker *c, Param **params, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    params[i]->local = check_bind(c, params[i]->name.name, params[i]->resolved ? params[i]->resolved : &c->tt.error,
                                  params[i]->name.span, false);
}

/* The span of a block's closing brace, for "reaches its end" messages. */
static Span block_end(Block *b) {
  Span s = b->span;
  s.start = s.end > s.start ? s.end - 1 : s.end;
  return s;
}

void check_flow(Checker *c, Decl *d) {
  c->flow_ret = d->type ? d->type : &c->tt.error;
  c->has_whole_yield = c->has_elem_yield = false;
  c->match_error = false;
  c->for_stmts = 0;
  YieldFrame frame = {YT_FLOW, NULL, 0, NULL};
  c->yields = &frame;
  bind_params(c, d->u.flow.params, d->u.flow.nparams);
  bool terminates = check_block(c, d->u.flow.body);
  check_unbind(c, NULL);
  c->yields = NULL;
  if (c->has_whole_yield && c->has_elem_yield) {
    Diag *g = diag_add(c->diags, DIAG_E0405, c->first_elem_yield,
                       "flow `%s` yields both its whole result and single elements", d->name.name);
    diag_set_label(g, "yields one element");
    diag_add_secondary(g, c->first_whole_yield, "yields the whole result");
    diag_set_help(g, "use one style: `yield` inside a `for` statement, or one `yield` of the whole value");
    return;
  }
  if (c->has_elem_yield) return;
  if (!c->has_whole_yield) {
    Diag *g = diag_add(c->diags, DIAG_E0402, d->name.span, "flow `%s` never yields a result", d->name.name);
    diag_set_label(g, "expected a `yield` of %s", a_tstr(c, c->flow_ret));
    return;
  }
  if (!terminates && !c->match_error) { /* a non-exhaustive match already explains it */
    Diag *g = diag_add(c->diags, DIAG_E0402, block_end(d->u.flow.body),
                       "flow `%s` can reach its end without yielding a result", d->name.name);
    diag_set_label(g, "some path arrives here without a `yield`");
    Block *b = d->u.flow.body;
    Stmt *last = b->n ? b->stmts[b->n - 1] : NULL;
    if (last && last->kind == ST_IF && !last->u.if_s.else_b) {
      diag_add_secondary(g, last->span, "this `if` has no `else`");
      diag_set_help(g, "make every branch end in `yield`, e.g. add an `else` branch");
    } else if (last && last->kind == ST_MATCH) {
      diag_set_help(g, "make every arm of the `match` end in `yield`");
    } else {
      diag_set_help(g, "end every path through the flow with `yield`");
    }
  }
}

void check_eval(Checker *c, Decl *d) {
  c->yields = NULL;
  bind_params(c, d->u.eval.params, d->u.eval.nparams);
  for (unsigned i = 0; i < d->u.eval.nbody; i++) check_stmt(c, d->u.eval.body[i]);
  check_unbind(c, NULL);
}

void check_test(Checker *c, Decl *d) {
  c->yields = NULL;
  for (unsigned i = 0; i < d->u.test.nbody; i++) check_stmt(c, d->u.test.body[i]);
  check_unbind(c, NULL);
}
