/* check_internal.h - state shared by the checker's files.
 *
 * check.c       the driver: declaration order, types, signatures, unused names
 * check_expr.c  expressions, templates, built-in functions
 * check_stmt.c  flow, eval and test bodies; yields; matches
 * check_model.c model bindings, policies, prompt settings, context sources
 * check_size.c  the prompt-size estimate against context windows (W0315)
 * Not part of the front end's interface. */
#ifndef FLOW_CHECK_INTERNAL_H
#define FLOW_CHECK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "ast.h"
#include "check.h"
#include "diag.h"
#include "types.h"

/* A local value in scope: a parameter, a let, a score, a loop variable. */
typedef struct Local {
  const char *name;
  Type *type;
  Span span;
  bool used;            /* read at least once */
  bool warn_unused;     /* a let or score: W0408 when never read */
  bool from_model;      /* the value depends on a model call */
  struct Local *next;   /* enclosing binding */
  struct Local *alias;  /* a narrowing (`x != none`) rebinds this original */
  Decl *context;        /* a narrowing of a context rebinds that context */
} Local;

/* How a context's size is known to the prompt-size estimate. */
typedef enum ReadKind {
  READ_FILE,        /* one file, measured when its path was checked */
  READ_GLOB,        /* the files a pattern matches, measured at first need */
  READ_AT_RUN_TIME, /* env and http: unknown until the run */
} ReadKind;

/* What a context reads (Decl.u.context.read), set by check_context when the
 * source can be measured or is known to be read at run time. */
typedef struct ContextRead {
  ReadKind kind;
  const char *source;   /* the source's name: "file", "json", "glob", "http" ... */
  const char *path;     /* READ_FILE, READ_GLOB: the path or pattern as written */
  const char *pattern;  /* READ_GLOB: the pattern from the working folder */
  bool measured;        /* READ_GLOB: bytes, largest and files are set */
  uint64_t bytes;       /* every file together */
  uint64_t largest;     /* the largest single file */
  uint64_t files;       /* how many files */
} ContextRead;

/* Where a `yield` goes. */
typedef enum YieldTarget {
  YT_NONE,        /* eval/test bodies, if-expression branches */
  YT_FLOW,        /* the flow's result (whole or element, decided per yield) */
  YT_FOR_EXPR,    /* an element of the enclosing for expression */
} YieldTarget;

typedef struct YieldFrame {
  YieldTarget target;
  Type *elem;            /* YT_FOR_EXPR: element type so far (NULL before the first) */
  unsigned count;
  struct YieldFrame *outer;
} YieldFrame;

typedef struct Checker {
  Program *p;
  Arena *arena;
  DiagList *diags;
  TypeTable tt;
  Decl *decl;            /* the declaration being checked */
  Local *scope;          /* innermost local binding */
  bool saw_model;        /* the expression being checked depends on a model call */
  unsigned depth;        /* expression nesting, bounded by MAX_EXPR_DEPTH */
  unsigned suggestions;  /* "did you mean" searches so far (bounded) */
  bool depth_reported;
  YieldFrame *yields;    /* innermost yield frame */
  unsigned for_stmts;    /* for statements enclosing the current statement (flow level) */
  /* the flow being checked */
  Type *flow_ret;
  Span first_whole_yield, first_elem_yield;
  bool has_whole_yield, has_elem_yield;
  bool match_error;      /* a statement match in this flow was not exhaustive */
} Checker;

/* check.c */
Type *check_type_expr(Checker *c, TypeExpr *te);
void check_mark_used(Checker *c, Decl *d);
const char *check_suggest(Checker *c, const char *name, bool values_only);
/* Report E0101 for `id` (unless its declaration was damaged), suggesting a
 * declaration of kind `kind` (-1: any value) or a variant of `expected`. */
void check_report_unknown(Checker *c, Ident id, int kind, Type *expected);
Local *check_bind(Checker *c, const char *name, Type *type, Span span, bool warn_unused);
void check_unbind(Checker *c, Local *mark);
const char *tstr(Checker *c, const Type *t);
/* "a `string`", "an `int`": the type with its article, for messages. */
const char *a_tstr(Checker *c, const Type *t);

/* check_expr.c */
Type *check_expr(Checker *c, Expr *e, Type *expected);
/* Check `e` against `expected`, reporting E0201 with the printf-style
 * description `what_fmt` ("the argument `%s` of `%s`") when it does not fit.
 * Returns the expression's type. */
Type *check_expr_as(Checker *c, Expr *e, Type *expected, const char *what_fmt, ...)
    __attribute__((format(printf, 4, 5)));
void check_template(Checker *c, Expr *str);
/* After checking `cond`: when it is `x != none` (then-branch) or `x == none`
 * (else-branch) for a local or context `x` of type `T?`, bind `x` as `T`
 * for the branch and return the binding (undo with check_unbind). */
Local *check_narrow(Checker *c, Expr *cond, bool then_branch);
bool check_is_builtin(const char *name);
const char *const *check_builtin_names(void);
/* Report E0201 for `e` (of type `found`) where `expected` was needed. */
void check_report_mismatch(Checker *c, Span span, const Type *expected, const Type *found,
                           const char *what);

/* check_stmt.c */
void check_flow(Checker *c, Decl *d);
void check_eval(Checker *c, Decl *d);
void check_test(Checker *c, Decl *d);
Type *check_for_expr(Checker *c, Expr *e);
Type *check_match_expr(Checker *c, Expr *e, Type *expected);
void check_action(Checker *c, Action *a, Span checked, bool has_model);

/* check_model.c */
void check_model(Checker *c, Decl *d);
void check_policy(Checker *c, Decl *d);
void check_context(Checker *c, Decl *d);
/* A literal path `arg` of declaration `d` (a file, or a glob pattern with
 * `is_glob`) must stay inside the project (E0503) and exist (E0504); `what`
 * says what it is in messages ("context", "cassette"). True when it does
 * (a file: a regular file, whose size goes to *bytes unless NULL; a pattern:
 * one that matches); false after a diagnostic, and for the embedded
 * standard library, whose paths are not checked. */
bool check_project_path(Checker *c, Decl *d, Expr *arg, bool is_glob, const char *what, uint64_t *bytes);
/* `path`, relative to the folder of the file that declares `d`, as a path
 * from the working folder (in the arena); NULL in the standard library. */
const char *check_project_full(Checker *c, Decl *d, const char *path);
void check_prompt(Checker *c, Decl *d);
/* The entry `key` of a model, policy or block body, or NULL. */
Entry *check_find_entry(Entry **entries, unsigned n, const char *key);
/* The bindings that may answer prompt `d`, one per call: its own `model`,
 * then each fallback of its policy that is a model binding, each binding
 * once. Start with *i = 0; *via gets the policy of a fallback (NULL for the
 * prompt's own binding). NULL after the last. */
Decl *check_prompt_binding(Checker *c, Decl *d, unsigned *i, Decl **via);

/* check_size.c */
/* W0315: for each binding that may answer prompt `d` and declares a
 * `context_window`, warn when the prompt's estimated size exceeds it. Called
 * at the end of check_prompt. */
void check_prompt_size(Checker *c, Decl *d);

#endif
