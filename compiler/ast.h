/* ast.h - the syntax tree of a .flow file.
 *
 * The parser builds these nodes in the compilation's arena; every node has a
 * Span. Names are interned (intern.h) and compare by pointer. Lists are arrays
 * of pointers with a count. The checker annotates expressions with their type
 * (Expr.type) and names with what they resolve to (Expr.ref); nothing else in
 * the tree changes after parsing. */
#ifndef FLOW_AST_H
#define FLOW_AST_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "source.h"

typedef struct Type Type;     /* types.h */
typedef struct Decl Decl;
typedef struct Expr Expr;
typedef struct Stmt Stmt;
struct ContextRead;           /* check_internal.h */

/* A name as written, with its span. `name` is interned. */
typedef struct Ident {
  const char *name;
  Span span;
} Ident;

/* ---- type expressions ---------------------------------------------------- */

typedef enum TypeExprKind {
  TE_NAME,  /* string, int, Ticket, ... */
  TE_LIST,  /* elem[] */
  TE_OPT,   /* elem? */
  TE_MAP,   /* map<key, elem> */
} TypeExprKind;

typedef struct TypeExpr {
  TypeExprKind kind;
  Span span;
  Ident name;              /* TE_NAME; TE_MAP: the key type's name */
  struct TypeExpr *elem;   /* TE_LIST, TE_OPT, TE_MAP */
} TypeExpr;

/* ---- expressions ----------------------------------------------------------- */

/* Units of number literals; UNIT_NONE for a plain number. */
typedef enum Unit {
  UNIT_NONE,
  UNIT_MS, UNIT_S, UNIT_MIN, UNIT_H,           /* durations */
  UNIT_K, UNIT_M, UNIT_G,                      /* counts */
  UNIT_B, UNIT_KB, UNIT_MB, UNIT_GB,           /* sizes */
} Unit;

typedef enum UnitKind { UK_NONE, UK_DURATION, UK_COUNT, UK_SIZE } UnitKind;
UnitKind unit_kind(Unit u);
const char *unit_str(Unit u);

typedef enum BinOp {
  BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_MOD,
  BIN_EQ, BIN_NE, BIN_LT, BIN_LE, BIN_GT, BIN_GE,
  BIN_AND, BIN_OR, BIN_IN, BIN_RANGE, BIN_COALESCE,
} BinOp;
const char *binop_str(BinOp op);

typedef enum UnOp { UN_NEG, UN_NOT } UnOp;

typedef enum ExprKind {
  EX_INT, EX_FLOAT, EX_BOOL, EX_NONE,
  EX_UNIT,     /* number with a unit: 250ms, 1M, 10MB */
  EX_PRICE,    /* amount per count: 0.15 per 1M */
  EX_STRING,   /* a template: text and {{ expr }} parts */
  EX_NAME,     /* identifier */
  EX_MEMBER,   /* obj.field */
  EX_INDEX,    /* obj[index] */
  EX_CALL,     /* callee(args) */
  EX_LIST,     /* [a, b] */
  EX_MAP,      /* { "k": v } */
  EX_RECORD,   /* Type { f: v } */
  EX_UNARY,
  EX_BINARY,
  EX_IF,       /* if c { a } else { b } */
  EX_MATCH,    /* match e { p => v, ... } */
  EX_FOR,      /* for x in xs parallel N { stmts } */
  EX_LAMBDA,   /* x => e */
  EX_ENSURE,   /* e ensure Eval(args) else action */
} ExprKind;

/* One piece of a template string. */
typedef struct StrPart {
  bool is_expr;
  const char *text;   /* !is_expr: the text (escapes processed) */
  uint32_t len;
  Expr *expr;         /* is_expr */
  Span span;
} StrPart;

/* A call argument, positional (name.name == NULL) or named. */
typedef struct Arg {
  Ident name;
  Expr *value;
} Arg;

/* `key: value` in a record literal or map literal (map keys are strings). */
typedef struct FieldInit {
  Ident name;        /* record literal */
  Expr *key;         /* map literal */
  Expr *value;
} FieldInit;

typedef enum PatternKind { PAT_WILDCARD, PAT_NAME, PAT_QUALIFIED, PAT_LITERAL } PatternKind;

typedef struct Pattern {
  PatternKind kind;
  Span span;
  Ident name;        /* PAT_NAME: variant; PAT_QUALIFIED: Enum.variant -> qual.variant */
  Ident qual;        /* PAT_QUALIFIED: the enum's name */
  Expr *literal;     /* PAT_LITERAL */
} Pattern;

typedef struct Block Block;

typedef struct MatchArm {
  Pattern **patterns;
  unsigned npatterns;
  Expr *value;       /* expression match */
  Block *body;       /* statement match */
  Span span;
} MatchArm;

typedef enum ActionKind { ACT_RETRY, ACT_FALLBACK, ACT_WARN, ACT_FAIL, ACT_SKIP } ActionKind;

typedef struct Action {
  ActionKind kind;
  Span span;
  int64_t count;     /* ACT_RETRY: attempts, -1 when not written */
  Ident model;       /* ACT_FALLBACK */
} Action;

struct Expr {
  ExprKind kind;
  Span span;
  Type *type;        /* set by the checker */
  union {
    int64_t i;                                              /* EX_INT */
    double f;                                               /* EX_FLOAT */
    bool b;                                                 /* EX_BOOL */
    struct { double value; bool is_int; Unit unit; } unit;  /* EX_UNIT */
    struct { Expr *amount; Expr *per; } price;              /* EX_PRICE */
    struct { StrPart *parts; unsigned nparts; bool triple; } str;
    struct { Ident id; Decl *decl; void *local; int variant; } name; /* EX_NAME */
    struct { Expr *obj; Ident field; } member;
    struct { Expr *obj; Expr *index; } index;
    struct { Expr *callee; Arg *args; unsigned nargs; } call;
    struct { Expr **items; unsigned n; } list;
    struct { FieldInit *fields; unsigned n; } map;
    struct { Ident type_name; FieldInit *fields; unsigned n; Decl *decl; } record;
    struct { UnOp op; Expr *operand; } unary;
    struct { BinOp op; Expr *lhs, *rhs; } binary;
    struct { Expr *cond, *then_e, *else_e; } if_e;
    struct { Expr *subject; MatchArm **arms; unsigned narms; } match;
    struct { Ident var; Expr *iter; Expr *parallel; Block *body; void *local; } for_e;
    struct { Ident param; Expr *body; void *local; } lambda;
    struct { Expr *value; Ident eval; Arg *args; unsigned nargs; Action action; Decl *decl; } ensure;
  } u;
};

/* ---- statements ------------------------------------------------------------ */

typedef enum StmtKind {
  ST_LET,     /* let x (: T)? = e */
  ST_CHECK,   /* check e else action */
  ST_YIELD,   /* yield e */
  ST_IF,      /* if c { } else { } */
  ST_MATCH,   /* match e { p => { } } */
  ST_FOR,     /* for x in e parallel N { } */
  ST_ASSERT,  /* assert e "message"   (eval, test) */
  ST_SCORE,   /* score name = e       (eval) */
  ST_MOCK,    /* mock prompt = e | mock prompt from "cassette" | mock model   (test) */
} StmtKind;

struct Block {
  Stmt **stmts;
  unsigned n;
  Span span;
};

struct Stmt {
  StmtKind kind;
  Span span;
  union {
    struct { Ident name; TypeExpr *type; Expr *value; bool used; void *local; } let;  /* ST_LET, ST_SCORE */
    struct { Expr *cond; Action action; } check;
    struct { Expr *value; bool elem; } yield;  /* elem: one element of a list (set by the checker) */
    struct { Expr *cond; Block *then_b; Block *else_b; } if_s;   /* else-if: else_b holds one ST_IF */
    struct { Expr *subject; MatchArm **arms; unsigned narms; } match;
    struct { Ident var; Expr *iter; Expr *parallel; Block *body; void *local; } for_s;
    struct { Expr *cond; Expr *message; } assert_s;               /* message: EX_STRING or NULL */
    /* `value` for `= e`, `cassette` for `from "path"`, neither for a model */
    struct { Ident prompt; Expr *value; Expr *cassette; Decl *decl; } mock;
  } u;
};

/* ---- declarations ---------------------------------------------------------- */

typedef enum DeclKind {
  D_IMPORT, D_MODEL, D_POLICY, D_TYPE, D_ENUM, D_CONTEXT, D_PROMPT, D_EVAL, D_FLOW, D_TEST,
} DeclKind;
const char *decl_kind_str(DeclKind k); /* "model", "prompt", ... */

/* `key: value` or `key { entries }` inside model/policy/prompt bodies. */
typedef struct Entry {
  Ident key;
  Expr *value;              /* NULL for a nested block */
  struct Entry **entries;   /* nested block */
  unsigned nentries;
  Span span;
} Entry;

typedef struct Annotation {
  Ident name;
  Arg *args;
  unsigned nargs;
  Span span;
} Annotation;

typedef struct Field {
  const char *doc;          /* doc comment, or NULL */
  Ident name;
  TypeExpr *type;
  Type *resolved;           /* set by the checker */
  Annotation **annots;
  unsigned nannots;
  Span span;
} Field;

typedef struct Param {
  const char *doc;
  Ident name;
  TypeExpr *type;
  Type *resolved;           /* set by the checker */
  bool used;
  void *local;              /* the checker's binding (check_internal.h Local), for lowering */
  Span span;
} Param;

typedef struct Variant {
  const char *doc;
  Ident name;
} Variant;

typedef enum Role { ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT } Role;
const char *role_str(Role r);

typedef enum PromptItemKind { PI_SETTING, PI_TEXT, PI_IMAGE, PI_AUDIO } PromptItemKind;

typedef struct PromptItem {
  PromptItemKind kind;
  Role role;
  Entry *setting;           /* PI_SETTING: model:, policy:, temperature: ... */
  Expr *value;              /* PI_TEXT: EX_STRING; PI_IMAGE/AUDIO: the media */
  Span span;
} PromptItem;

struct Decl {
  DeclKind kind;
  Span span;                /* the whole declaration */
  Ident name;               /* not for import/test */
  const char *doc;
  uint32_t file;            /* file id */
  bool used;                /* set by the checker */
  bool checked;             /* set by the checker */
  bool bad_params;          /* duplicate parameter names: calls are not checked against them */
  uint32_t index;           /* position in its Image table (set by lowering) */
  Type *type;               /* type/enum: the type; context: declared type; prompt/flow: result */
  PtrVec calls;             /* flow: CallEdge* to the flows its body calls (set by the checker) */
  union {
    struct { const char *path; Span path_span; } import;
    struct { Entry **entries; unsigned n; } model;      /* D_MODEL, D_POLICY */
    struct { Field **fields; unsigned n; } record;      /* D_TYPE */
    struct { Variant *variants; unsigned n; } enm;      /* D_ENUM */
    /* read: what the source reads, for the prompt-size estimate (set by the
     * checker, check_internal.h; NULL when unknown) */
    struct { TypeExpr *type; Expr *source; struct ContextRead *read; } context;
    struct { Param **params; unsigned nparams; TypeExpr *ret; PromptItem **items; unsigned nitems;
             Decl *model; Decl *policy; } prompt;
    struct { Param **params; unsigned nparams; Stmt **body; unsigned nbody; } eval;
    struct { Param **params; unsigned nparams; TypeExpr *ret; Block *body; } flow;
    struct { const char *title; Span title_span; Stmt **body; unsigned nbody; } test;
  } u;
};

/* A call from one flow to another, for cycle detection. */
typedef struct CallEdge {
  Decl *callee;
  Span span;
} CallEdge;

/* The value of a constant number expression: a literal, a negated literal,
 * or a count such as `1M` (an unknown unit reads as its digits). */
bool expr_const_number(const Expr *e, double *v, bool *is_int);
/* The text of a string literal without templates, or NULL. */
const char *expr_const_string(const Expr *e);

/* One parsed file. */
typedef struct FileAst {
  uint32_t file;
  Decl **decls;
  unsigned ndecls;
  const char **broken;      /* names of declarations dropped by syntax errors */
  unsigned nbroken;
  bool ok;                  /* no lexical or syntax error */
} FileAst;

#endif
