/* check.c - the checker's driver: declaration passes, type expressions,
 * scopes, suggestions, flow cycles and unused declarations (see check.h). */
#include "check.h"

#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "suggest.h"

const char *tstr(Checker *c, const Type *t) { return type_str(c->arena, t); }

const char *a_tstr(Checker *c, const Type *t) {
  const char *s = tstr(c, t);
  bool vowel = strchr("aeiouAEIOU", s[0]) != NULL && s[0];
  return arena_printf(c->arena, "%s `%s`", vowel ? "an" : "a", s);
}

void check_mark_used(Checker *c, Decl *d) {
  if (d != c->decl) d->used = true;
}

/* ---- scopes ---------------------------------------------------------------- */

Local *check_bind(Checker *c, const char *name, Type *type, Span span, bool warn_unused) {
  Local *l = ARENA_NEW(c->arena, Local);
  l->name = name;
  l->type = type;
  l->span = span;
  l->warn_unused = warn_unused && name[0] != '_';
  l->next = c->scope;
  c->scope = l;
  return l;
}

/* Leave every binding made after `mark`, warning about lets never read. */
void check_unbind(Checker *c, Local *mark) {
  while (c->scope && c->scope != mark) {
    Local *l = c->scope;
    if (l->warn_unused && !l->used) {
      Diag *d = diag_add(c->diags, DIAG_W0408, l->span, "`%s` is never used", l->name);
      diag_set_label(d, "this value is computed but never read");
      diag_set_help(d, "remove it, or name it `_%s` if it is computed on purpose", l->name);
    }
    c->scope = l->next;
  }
}

/* ---- "did you mean" -------------------------------------------------------- */

/* Suggestions compare a name with every declaration: only the first few
 * unknown names of a program get one, so a flood of them stays linear. */
static bool suggest_budget(Checker *c) {
  if (c->suggestions >= 64) return false;
  c->suggestions++;
  return true;
}

const char *check_suggest(Checker *c, const char *name, bool values_only) {
  if (!suggest_budget(c)) return NULL;
  Suggest s = suggest_start(name);
  for (Local *l = c->scope; l; l = l->next) suggest_try(&s, l->name);
  const NameMap *g = &c->p->globals;
  for (size_t i = 0; i < g->cap; i++) {
    if (!g->keys[i]) continue;
    Decl *d = g->values[i];
    if (values_only && (d->kind == D_TYPE || d->kind == D_ENUM)) continue;
    suggest_try(&s, g->keys[i]);
  }
  if (!values_only) return s.best;
  for (const char *const *b = check_builtin_names(); *b; b++) suggest_try(&s, *b);
  return s.best;
}

/* The closest declared name of kind `kind` (any value when -1). */
static const char *suggest_decl(Checker *c, const char *name, int kind) {
  if (kind < 0) return check_suggest(c, name, true);
  if (!suggest_budget(c)) return NULL;
  Suggest s = suggest_start(name);
  const NameMap *g = &c->p->globals;
  for (size_t i = 0; i < g->cap; i++)
    if (g->keys[i] && ((Decl *)g->values[i])->kind == (DeclKind)kind) suggest_try(&s, g->keys[i]);
  return s.best;
}

void check_report_unknown(Checker *c, Ident id, int kind, Type *expected) {
  if (program_poisoned(c->p, id.name)) return;
  Diag *d = diag_add(c->diags, DIAG_E0101, id.span, "unknown name `%s`", id.name);
  if (kind >= 0)
    diag_set_label(d, "expected the name of %s", kind == D_MODEL ? "a model binding"
                                                 : kind == D_POLICY ? "a policy"
                                                 : kind == D_EVAL ? "an eval" : "a declaration");
  else
    diag_set_label(d, "not found in this scope");
  if (c->p->failed_imports)
    diag_add_note(d, "%u import%s could not be loaded; `%s` may be declared there", c->p->failed_imports,
                  c->p->failed_imports == 1 ? "" : "s", id.name);
  const char *hint = NULL;
  if (expected && expected->kind == T_OPT) expected = expected->elem;
  if (expected && expected->kind == T_ENUM) {
    /* a misspelt variant of the enum that was expected */
    Decl *ed = expected->decl;
    const char **names = arena_alloc(c->arena, (ed->u.enm.n + 1) * sizeof *names);
    for (unsigned i = 0; i < ed->u.enm.n; i++) names[i] = ed->u.enm.variants[i].name.name;
    hint = suggest_in(id.name, names, ed->u.enm.n);
  }
  if (!hint) hint = suggest_decl(c, id.name, kind);
  if (hint) diag_set_help(d, "did you mean `%s`?", hint);
}

/* Suggest a type name: built-in types and declared records/enums. */
static const char *suggest_type(Checker *c, const char *name) {
  if (!suggest_budget(c)) return NULL;
  Suggest s = suggest_start(name);
  static const char *const builtin[] = {"string", "int", "float", "bool", "image", "audio", NULL};
  for (const char *const *b = builtin; *b; b++) suggest_try(&s, *b);
  const NameMap *g = &c->p->globals;
  for (size_t i = 0; i < g->cap; i++) {
    if (!g->keys[i]) continue;
    Decl *d = g->values[i];
    if (d->kind == D_TYPE || d->kind == D_ENUM) suggest_try(&s, g->keys[i]);
  }
  return s.best;
}

/* ---- type expressions ------------------------------------------------------ */

Type *check_type_expr(Checker *c, TypeExpr *te) {
  /* T[][]...: walk down iteratively to bound recursion on absurd nesting */
  unsigned depth = 0;
  for (TypeExpr *t = te; t->kind != TE_NAME; t = t->elem) {
    if (++depth > 64) {
      Diag *d = diag_add(c->diags, DIAG_E0001, te->span, "this type nests more than 64 levels deep");
      diag_set_label(d, "too deeply nested");
      return &c->tt.error;
    }
  }
  switch (te->kind) {
  case TE_NAME: {
    Type *t = type_builtin(&c->tt, te->name.name);
    if (t) return t;
    Decl *d = program_lookup(c->p, te->name.name);
    if (d && (d->kind == D_TYPE || d->kind == D_ENUM)) {
      check_mark_used(c, d);
      return type_named(&c->tt, d);
    }
    if (program_poisoned(c->p, te->name.name)) return &c->tt.error;
    Diag *g;
    if (d) {
      g = diag_add(c->diags, DIAG_E0103, te->name.span, "`%s` is a %s, not a type",
                   te->name.name, decl_kind_str(d->kind));
      diag_set_label(g, "expected a type");
      diag_add_secondary(g, d->name.span, "`%s` is declared here", te->name.name);
    } else {
      g = diag_add(c->diags, DIAG_E0103, te->name.span, "unknown type `%s`", te->name.name);
      diag_set_label(g, "not a built-in type or a declared `type`/`enum`");
      const char *hint = suggest_type(c, te->name.name);
      if (hint) diag_set_help(g, "did you mean `%s`?", hint);
    }
    return &c->tt.error;
  }
  case TE_LIST: return type_list(&c->tt, check_type_expr(c, te->elem));
  case TE_OPT: return type_opt(&c->tt, check_type_expr(c, te->elem));
  case TE_MAP:
    if (strcmp(te->name.name, "string") != 0) {
      Diag *g = diag_add(c->diags, DIAG_E0103, te->name.span,
                         "map keys must be `string`, found `%s`", te->name.name);
      diag_set_label(g, "expected `string`");
    }
    return type_map(&c->tt, check_type_expr(c, te->elem));
  }
  return &c->tt.error;
}

/* ---- records and enums ----------------------------------------------------- */

static void check_annotations(Checker *c, Field *f) {
  for (unsigned i = 0; i < f->nannots; i++) {
    Annotation *a = f->annots[i];
    if (strcmp(a->name.name, "describe") == 0) {
      if (a->nargs != 1 || a->args[0].name.name || a->args[0].value->kind != EX_STRING) {
        Diag *g = diag_add(c->diags, DIAG_E0701, a->span,
                           "`@describe` takes one string, found %u argument%s", a->nargs,
                           a->nargs == 1 ? " that is not a string" : "s");
        diag_set_label(g, "expected `@describe(\"...\")`");
      } else {
        check_template(c, a->args[0].value);
      }
      continue;
    }
    Diag *g = diag_add(c->diags, DIAG_E0701, a->name.span, "unknown annotation `@%s`", a->name.name);
    diag_set_label(g, "not a known annotation");
    diag_set_help(g, "the known annotation is `@describe(\"...\")`");
  }
}

/* Names are read from a list of declarations' parts through this. */
typedef const Ident *(*NameAt)(void *items, unsigned i);

/* Report each name of `items[0..n)` equal to an earlier one: pairwise for
 * short lists, through a hash map for long ones (no quadratic blow-up on a
 * generated record with thousands of fields). */
static void report_duplicates(Checker *c, void *items, unsigned n, NameAt name_at, const char *what,
                              const char *owner) {
  NameMap seen;
  bool hashed = n > 16;
  if (hashed) namemap_init(&seen);
  for (unsigned i = 0; i < n; i++) {
    const Ident *id = name_at(items, i);
    const Ident *first = NULL;
    if (hashed) {
      first = namemap_put(&seen, id->name, (void *)id);
    } else {
      for (unsigned j = 0; j < i && !first; j++)
        if (name_at(items, j)->name == id->name) first = name_at(items, j);
    }
    if (!first) continue;
    Diag *g = owner ? diag_add(c->diags, DIAG_E0108, id->span, "%s `%s` is declared twice in `%s`", what, id->name, owner)
                    : diag_add(c->diags, DIAG_E0108, id->span, "%s `%s` is declared twice", what, id->name);
    diag_set_label(g, "second %s `%s`", what, id->name);
    diag_add_secondary(g, first->span, "first declared here");
  }
  if (hashed) namemap_free(&seen);
}

static const Ident *field_name_at(void *items, unsigned i) { return &((Field **)items)[i]->name; }
static const Ident *variant_name_at(void *items, unsigned i) { return &((Variant *)items)[i].name; }
static const Ident *param_name_at(void *items, unsigned i) { return &((Param **)items)[i]->name; }

static void check_record_decl(Checker *c, Decl *d) {
  report_duplicates(c, d->u.record.fields, d->u.record.n, field_name_at, "field", d->name.name);
  for (unsigned i = 0; i < d->u.record.n; i++) {
    Field *f = d->u.record.fields[i];
    f->resolved = check_type_expr(c, f->type);
    check_annotations(c, f);
  }
}

static void check_enum_decl(Checker *c, Decl *d) {
  if (d->u.enm.n == 0) {
    Diag *g = diag_add(c->diags, DIAG_E0001, d->name.span, "enum `%s` has no variants", d->name.name);
    diag_set_label(g, "expected at least one variant");
  }
  report_duplicates(c, d->u.enm.variants, d->u.enm.n, variant_name_at, "variant", d->name.name);
}

/* Resolve a parameter list, reporting duplicate names. */
static void check_params(Checker *c, Param **params, unsigned n) {
  size_t before = c->diags->nerrors;
  report_duplicates(c, params, n, param_name_at, "parameter", NULL);
  if (c->diags->nerrors != before && c->decl) c->decl->bad_params = true;
  for (unsigned i = 0; i < n; i++) params[i]->resolved = check_type_expr(c, params[i]->type);
}

/* Resolve the signature (parameters and result) of prompts, evals, flows. */
static void check_signature(Checker *c, Decl *d) {
  switch (d->kind) {
  case D_PROMPT:
    check_params(c, d->u.prompt.params, d->u.prompt.nparams);
    d->type = check_type_expr(c, d->u.prompt.ret);
    break;
  case D_FLOW:
    check_params(c, d->u.flow.params, d->u.flow.nparams);
    d->type = check_type_expr(c, d->u.flow.ret);
    break;
  case D_EVAL:
    check_params(c, d->u.eval.params, d->u.eval.nparams);
    if (d->u.eval.nparams == 0) {
      Diag *g = diag_add(c->diags, DIAG_E0202, d->name.span,
                         "eval `%s` takes no parameters; expected the value to check as the first",
                         d->name.name);
      diag_set_label(g, "an eval needs at least one parameter");
    }
    break;
  default:
    break;
  }
}

/* ---- cycles between flows --------------------------------------------------- */

/* Depth-first walk of the flow call graph with an explicit stack (a chain
 * of calls may be as long as the program): a call to a flow still on the
 * stack (grey) closes a cycle. Every flow ends black, so a cycle is reported
 * once, at the call that closes it. */
static void report_cycle_at(Checker *c, CallEdge *e, Decl *caller, Decl **stack, size_t depth) {
  Diag *g = diag_add(c->diags, DIAG_E0401, e->span, "flow `%s` calls itself%s", e->callee->name.name,
                     e->callee == caller ? "" : " through other flows");
  diag_set_label(g, "this call closes a cycle");
  size_t from = 0;
  while (from < depth && stack[from] != e->callee) from++;
  size_t shown = 0;
  for (size_t k = from; k < depth && shown < 16; k++, shown++)
    diag_add_note(g, "`%s` calls `%s`", stack[k]->name.name,
                  k + 1 < depth ? stack[k + 1]->name.name : e->callee->name.name);
  if (depth - from > shown) diag_add_note(g, "... and %zu more calls", depth - from - shown);
  diag_set_help(g, "a flow is a finite graph of steps; iterate with `for` instead of recursion");
}

static void check_flow_cycles(Checker *c) {
  size_t n = c->p->ndecls;
  /* index of each flow in decls, through Decl.calls of the callers */
  unsigned char *color = calloc(n + 1, 1);
  Decl **stack = xmalloc((n + 1) * sizeof *stack);
  unsigned *next = xmalloc((n + 1) * sizeof *next);
  size_t *index = xmalloc((n + 1) * sizeof *index);
  if (!color) flow_oom();
  NameMap pos;
  namemap_init(&pos);
  for (size_t i = 0; i < n; i++) {
    index[i] = i;
    if (c->p->decls[i]->kind == D_FLOW && !namemap_get(&pos, c->p->decls[i]->name.name))
      namemap_put(&pos, c->p->decls[i]->name.name, &index[i]);
  }
  for (size_t root = 0; root < n; root++) {
    Decl *r = c->p->decls[root];
    if (r->kind != D_FLOW || color[root]) continue;
    size_t depth = 0;
    stack[depth] = r;
    next[depth] = 0;
    color[root] = 1;
    depth++;
    while (depth) {
      Decl *d = stack[depth - 1];
      if (next[depth - 1] == d->calls.n) {
        size_t *at = namemap_get(&pos, d->name.name);
        if (at) color[*at] = 2;
        depth--;
        continue;
      }
      CallEdge *e = d->calls.items[next[depth - 1]++];
      size_t *at = namemap_get(&pos, e->callee->name.name);
      if (!at || c->p->decls[*at] != e->callee || color[*at] == 2) continue;
      if (color[*at] == 1) {
        report_cycle_at(c, e, d, stack, depth);
        continue;
      }
      color[*at] = 1;
      stack[depth] = e->callee;
      next[depth] = 0;
      depth++;
    }
  }
  namemap_free(&pos);
  free(index);
  free(next);
  free(stack);
  free(color);
}

/* ---- unused declarations ---------------------------------------------------- */

/* Only the root file's declarations are expected to be used, and only when
 * the root has an entry point (a flow or a test): a file of shared
 * declarations is a library meant for its importers. */
static void check_unused(Checker *c) {
  if (c->p->broken) return; /* uses may sit in code the parser had to drop */
  bool has_entry = c->p->ntests > 0;
  for (size_t i = 0; i < c->p->ndecls && !has_entry; i++)
    if (c->p->decls[i]->kind == D_FLOW && c->p->decls[i]->file == c->p->root) has_entry = true;
  if (!has_entry) return;
  for (size_t i = 0; i < c->p->ndecls; i++) {
    Decl *d = c->p->decls[i];
    if (d->used || d->file != c->p->root || program_poisoned(c->p, d->name.name)) continue;
    if (d->kind == D_TYPE || d->kind == D_ENUM) continue;
    if (d->kind == D_FLOW && strcmp(d->name.name, "main") == 0) continue;
    Diag *g = diag_add(c->diags, DIAG_W0409, d->name.span, "%s `%s` is never used",
                       decl_kind_str(d->kind), d->name.name);
    diag_set_label(g, "declared here but nothing refers to it");
    diag_set_help(g, "remove it, or use it from `main` or a test");
  }
}

/* ---- driver ------------------------------------------------------------------ */

static void check_each(Checker *c, DeclKind kind, void (*fn)(Checker *, Decl *)) {
  for (size_t i = 0; i < c->p->ndecls; i++) {
    Decl *d = c->p->decls[i];
    if (d->kind != kind) continue;
    c->decl = d;
    c->scope = NULL;
    fn(c, d);
  }
  c->decl = NULL;
}

void check_program(Program *p) {
  /* in the arena: expressions keep pointers to the built-in types in c->tt */
  Checker *c = ARENA_NEW(p->arena, Checker);
  c->p = p;
  c->arena = p->arena;
  c->diags = p->diags;
  types_init(&c->tt, p->arena);

  for (size_t i = 0; i < p->ndecls; i++)
    if (p->decls[i]->kind == D_TYPE || p->decls[i]->kind == D_ENUM) type_named(&c->tt, p->decls[i]);
  check_each(c, D_TYPE, check_record_decl);
  check_each(c, D_ENUM, check_enum_decl);
  check_each(c, D_PROMPT, check_signature);
  check_each(c, D_FLOW, check_signature);
  check_each(c, D_EVAL, check_signature);
  check_each(c, D_MODEL, check_model);
  check_each(c, D_POLICY, check_policy);
  check_each(c, D_CONTEXT, check_context);
  check_each(c, D_PROMPT, check_prompt);
  check_each(c, D_EVAL, check_eval);
  check_each(c, D_FLOW, check_flow);
  /* tests, with duplicate titles */
  for (size_t i = 0; i < p->ntests; i++) {
    Decl *t = p->tests[i];
    for (size_t j = 0; j < i; j++) {
      if (strcmp(p->tests[j]->u.test.title, t->u.test.title) == 0) {
        Diag *g = diag_add(c->diags, DIAG_E0603, t->u.test.title_span,
                           "test \"%s\" is declared more than once", t->u.test.title);
        diag_set_label(g, "second test with this name");
        diag_add_secondary(g, p->tests[j]->u.test.title_span, "first declared here");
        break;
      }
    }
    c->decl = t;
    c->scope = NULL;
    check_test(c, t);
  }
  c->decl = NULL;
  check_flow_cycles(c);
  check_unused(c);
}
