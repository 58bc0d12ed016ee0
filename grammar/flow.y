/* flow.y - the grammar of the .flow language.
 *
 * A pure LALR(1) parser with byte-offset locations and no conflicts
 * (%expect 0). Actions build the AST in the compilation's arena through the
 * constructors in ast_build.h; semantic values are arena pointers, so nothing
 * needs a %destructor: error recovery discards values that the arena frees
 * with the rest of the tree. Syntax errors are reported as diagnostics by
 * yyreport_syntax_error, and the parser recovers at declaration boundaries so
 * one run reports every independent error. The language is documented in
 * docs/language.md; each rule carries the production it implements. */

%require "3.7"
%define api.pure full
%define api.location.type {Span}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%parse-param {ParseCtx *pc}
%lex-param {ParseCtx *pc}

%code requires {
#include <stdbool.h>
#include <stdint.h>
#include "ast.h"
#include "arena.h"
#include "source.h"
typedef struct ParseCtx ParseCtx;
}

%code {
#define yylex parse_lex
#include <stdio.h>
#include <string.h>
#include "ast_build.h"
#include "parse.h"

#define YYLLOC_DEFAULT(Cur, Rhs, N)                          \
  do {                                                       \
    if (N) {                                                 \
      (Cur).file = YYRHSLOC(Rhs, 1).file;                    \
      (Cur).start = YYRHSLOC(Rhs, 1).start;                  \
      (Cur).end = YYRHSLOC(Rhs, N).end;                      \
    } else {                                                 \
      (Cur).file = YYRHSLOC(Rhs, 0).file;                    \
      (Cur).start = (Cur).end = YYRHSLOC(Rhs, 0).end;        \
    }                                                        \
  } while (0)

#define A (pc->arena)

static void yyerror(const Span *loc, ParseCtx *pc, const char *msg);
#define ID(n, l) ((Ident){(n), (l)})
}

%union {
  const char *name;
  int64_t ival;
  double fval;
  bool triple;
  struct { double value; bool is_int; int unit; } unum;
  struct { const char *s; uint32_t len; } text;
  Expr *expr;
  Stmt *stmt;
  Block *block;
  Decl *decl;
  TypeExpr *texpr;
  PtrVec vec;
  Action action;
  Pattern *pat;
  MatchArm *arm;
  Entry *entry;
  Param *param;
  Field *field;
  Annotation *annot;
  PromptItem *pitem;
  Arg *arg;
  FieldInit *finit;
}

%token END 0 "end of file"
%token <name> IDENT "identifier"
%token <ival> INT "integer"
%token <fval> FLOAT "number"
%token <unum> UNIT_NUM "number with a unit"
%token <triple> STR_BEGIN "string"
%token <text> STR_TEXT "string text"
%token STR_END "end of string"
%token TMPL_OPEN "`{{`"
%token TMPL_CLOSE "`}}`"
%token REC_LBRACE "`{` of a record"
%token KW_IMPORT "`import`" KW_MODEL "`model`" KW_POLICY "`policy`" KW_TYPE "`type`"
%token KW_ENUM "`enum`" KW_CONTEXT "`context`" KW_PROMPT "`prompt`" KW_EVAL "`eval`"
%token KW_FLOW "`flow`" KW_TEST "`test`"
%token KW_AND "`and`" KW_ASSERT "`assert`" KW_CHECK "`check`" KW_ELSE "`else`"
%token KW_ENSURE "`ensure`" KW_FAIL "`fail`" KW_FALLBACK "`fallback`" KW_FALSE "`false`"
%token KW_FOR "`for`" KW_IF "`if`" KW_IN "`in`" KW_LET "`let`" KW_MATCH "`match`"
%token KW_MOCK "`mock`" KW_NONE "`none`" KW_NOT "`not`" KW_OR "`or`"
%token KW_PARALLEL "`parallel`" KW_PER "`per`" KW_RETRY "`retry`" KW_SCORE "`score`"
%token KW_SKIP "`skip`" KW_TRUE "`true`" KW_WARN "`warn`" KW_YIELD "`yield`"
%token ARROW "`->`" FATARROW "`=>`" DOTDOT "`..`" EQ "`==`" NE "`!=`" LE "`<=`" GE "`>=`"
%token COALESCE "`??`"
%token '{' "`{`" '}' "`}`" '(' "`(`" ')' "`)`" '[' "`[`" ']' "`]`" ',' "`,`" ':' "`:`"
%token '.' "`.`" '=' "`=`" '<' "`<`" '>' "`>`" '+' "`+`" '-' "`-`" '*' "`*`" '/' "`/`"
%token '%' "`%`" '?' "`?`" '@' "`@`"

%type <decl> decl import_decl model_decl policy_decl type_decl enum_decl context_decl
%type <decl> prompt_decl eval_decl flow_decl test_decl
%type <vec> entries fields variants params param_list pitems eval_body test_body stmts
%type <vec> args arg_list exprs expr_list field_inits map_inits annots patterns match_arms
%type <vec> stmt_arms str_parts arm_list
%type <entry> entry
%type <field> field
%type <param> param
%type <annot> annot
%type <pitem> pitem
%type <texpr> type
%type <block> block
%type <stmt> stmt eval_stmt test_stmt let_stmt assert_stmt if_stmt
%type <expr> expr primary postfix string for_expr opt_parallel opt_message if_expr
%type <action> action
%type <pat> pattern
%type <arm> match_arm stmt_arm
%type <arg> arg
%type <finit> field_init map_init
%type <name> key field_name
%type <ival> opt_count

%precedence KW_ENSURE
%precedence FATARROW
%right COALESCE
%left KW_OR
%left KW_AND
%precedence KW_NOT
%nonassoc EQ NE '<' LE '>' GE KW_IN
%nonassoc KW_PER
%nonassoc DOTDOT
%left '+' '-'
%left '*' '/' '%'
%precedence UMINUS

%%

/* program := decl* */
program
  : %empty
  | program decl            { ptrvec_push(A, &pc->decls, $2); }
  | program error
  ;

decl
  : import_decl | model_decl | policy_decl | type_decl | enum_decl | context_decl
  | prompt_decl | eval_decl | flow_decl | test_decl
  ;

lbrace : '{' | REC_LBRACE ;
opt_comma : %empty | ',' ;

/* import := "import" STRING */
import_decl
  : KW_IMPORT string        { $$ = ast_import(pc, $2, @$); }
  ;

/* model := "model" IDENT "{" entry* "}" */
model_decl
  : KW_MODEL IDENT lbrace entries '}'   { $$ = ast_entries_decl(pc, D_MODEL, ID($2, @2), &$4, @$); }
  ;

/* policy := "policy" IDENT "{" entry* "}" */
policy_decl
  : KW_POLICY IDENT lbrace entries '}'  { $$ = ast_entries_decl(pc, D_POLICY, ID($2, @2), &$4, @$); }
  ;

entries
  : %empty                  { $$ = (PtrVec){0}; }
  | entries entry           { $$ = $1; ptrvec_push(A, &$$, $2); }
  ;

/* entry := key ":" expr ","? | IDENT "{" entry* "}" ","? */
entry
  : key ':' expr opt_comma               { $$ = ast_entry(pc, ID($1, @1), $3, NULL, @$); }
  | IDENT lbrace entries '}' opt_comma   { $$ = ast_entry(pc, ID($1, @1), NULL, &$3, @$); }
  ;

key
  : IDENT
  | KW_RETRY                { $$ = intern_cstr(pc->interner, "retry"); }
  | KW_FALLBACK             { $$ = intern_cstr(pc->interner, "fallback"); }
  ;

/* type := "type" IDENT "{" field* "}" */
type_decl
  : KW_TYPE IDENT lbrace fields '}'     { $$ = ast_type_decl(pc, ID($2, @2), &$4, @$); }
  ;

fields
  : %empty                  { $$ = (PtrVec){0}; }
  | fields field            { $$ = $1; ptrvec_push(A, &$$, $2); }
  ;

/* field := NAME ":" type annot* ","? */
field
  : field_name ':' type annots opt_comma { $$ = ast_field(pc, ID($1, @1), $3, &$4, @$); }
  ;

/* Field names may also be the words `score` and `type`, common in model output. */
field_name
  : IDENT
  | KW_SCORE                { $$ = intern_cstr(pc->interner, "score"); }
  ;

annots
  : %empty                  { $$ = (PtrVec){0}; }
  | annots annot            { $$ = $1; ptrvec_push(A, &$$, $2); }
  ;

/* annot := "@" IDENT ("(" args ")")? */
annot
  : '@' IDENT               { $$ = ast_annot(pc, ID($2, @2), NULL, @$); }
  | '@' IDENT '(' args ')'  { $$ = ast_annot(pc, ID($2, @2), &$4, @$); }
  ;

/* enum := "enum" IDENT "{" (IDENT ","?)* "}" */
enum_decl
  : KW_ENUM IDENT lbrace variants '}'   { $$ = ast_enum_decl(pc, ID($2, @2), &$4, @$); }
  ;

variants
  : %empty                  { $$ = (PtrVec){0}; }
  | variants IDENT opt_comma { $$ = $1; ptrvec_push(A, &$$, ast_variant(pc, ID($2, @2))); }
  ;

/* context := "context" IDENT ":" type "=" expr */
context_decl
  : KW_CONTEXT IDENT ':' type '=' expr  { $$ = ast_context_decl(pc, ID($2, @2), $4, $6, @$); }
  ;

/* prompt := "prompt" IDENT params "->" type "{" pitem* "}" */
prompt_decl
  : KW_PROMPT IDENT params ARROW type lbrace pitems '}'
                            { $$ = ast_prompt_decl(pc, ID($2, @2), &$3, $5, &$7, @$); }
  ;

pitems
  : %empty                  { $$ = (PtrVec){0}; }
  | pitems pitem            { $$ = $1; ptrvec_push(A, &$$, $2); }
  ;

/* pitem := key ":" expr | ROLE STRING | ROLE MEDIA expr */
pitem
  : key ':' expr opt_comma  { $$ = ast_pitem_setting(pc, ast_entry(pc, ID($1, @1), $3, NULL, @$), @$); }
  | IDENT string opt_comma  { $$ = ast_pitem_text(pc, ID($1, @1), $2, @$); }
  | IDENT IDENT expr opt_comma { $$ = ast_pitem_media(pc, ID($1, @1), ID($2, @2), $3, @$); }
  ;

/* params := "(" (param ("," param)* ","?)? ")" */
params
  : '(' ')'                 { $$ = (PtrVec){0}; }
  | '(' param_list opt_comma ')' { $$ = $2; }
  ;

param_list
  : param                   { $$ = (PtrVec){0}; ptrvec_push(A, &$$, $1); }
  | param_list ',' param    { $$ = $1; ptrvec_push(A, &$$, $3); }
  ;

param
  : IDENT ':' type          { $$ = ast_param(pc, ID($1, @1), $3, @$); }
  ;

/* eval := "eval" IDENT params "{" (let | assert | score)* "}" */
eval_decl
  : KW_EVAL IDENT params lbrace eval_body '}' { $$ = ast_eval_decl(pc, ID($2, @2), &$3, &$5, @$); }
  ;

eval_body
  : %empty                  { $$ = (PtrVec){0}; }
  | eval_body eval_stmt     { $$ = $1; ptrvec_push(A, &$$, $2); }
  ;

eval_stmt
  : let_stmt
  | assert_stmt
  | KW_SCORE IDENT '=' expr { $$ = ast_let(pc, ST_SCORE, ID($2, @2), NULL, $4, @$); }
  ;

assert_stmt
  : KW_ASSERT expr opt_message { $$ = ast_assert(pc, $2, $3, @$); }
  ;

opt_message
  : %empty                  { $$ = NULL; }
  | string
  ;

let_stmt
  : KW_LET IDENT '=' expr   { $$ = ast_let(pc, ST_LET, ID($2, @2), NULL, $4, @$); }
  | KW_LET IDENT ':' type '=' expr { $$ = ast_let(pc, ST_LET, ID($2, @2), $4, $6, @$); }
  ;

/* flow := "flow" IDENT params "->" type block */
flow_decl
  : KW_FLOW IDENT params ARROW type block { $$ = ast_flow_decl(pc, ID($2, @2), &$3, $5, $6, @$); }
  ;

/* test := "test" STRING "{" (mock | let | assert)* "}"
 * mock := "mock" IDENT "=" expr | "mock" IDENT "from" STRING | "mock" IDENT
 * (`from` is a word only here, so it stays free as a name elsewhere) */
test_decl
  : KW_TEST string lbrace test_body '}' { $$ = ast_test_decl(pc, $2, &$4, @$); }
  ;

test_body
  : %empty                  { $$ = (PtrVec){0}; }
  | test_body test_stmt     { $$ = $1; ptrvec_push(A, &$$, $2); }
  ;

test_stmt
  : let_stmt
  | assert_stmt
  | KW_MOCK IDENT '=' expr  { $$ = ast_mock(pc, ID($2, @2), $4, NULL, @$); }
  | KW_MOCK IDENT IDENT string {
      if (strcmp($3, "from") != 0)
        diag_add(pc->diags, DIAG_E0001, @3, "expected `=` or `from` after `mock %s`, found `%s`", $2, $3);
      $$ = ast_mock(pc, ID($2, @2), NULL, $4, @$);
    }
  | KW_MOCK IDENT           { $$ = ast_mock(pc, ID($2, @2), NULL, NULL, @$); }
  ;

/* type := IDENT | type "[" "]" | type "?" | IDENT "<" type "," type ">" */
type
  : IDENT                   { $$ = ast_type_name(pc, ID($1, @1), @$); }
  | type '[' ']'            { $$ = ast_type_wrap(pc, TE_LIST, $1, @$); }
  | type '?'                { $$ = ast_type_wrap(pc, TE_OPT, $1, @$); }
  | IDENT '<' type ',' type '>' { $$ = ast_type_map(pc, ID($1, @1), $3, $5, @$); }
  ;

/* block := "{" stmt* "}" */
block
  : '{' stmts '}'           { $$ = ast_block(pc, &$2, @$); }
  ;

stmts
  : %empty                  { $$ = (PtrVec){0}; }
  | stmts stmt              { $$ = $1; ptrvec_push(A, &$$, $2); }
  ;

stmt
  : let_stmt
  | KW_CHECK expr KW_ELSE action { $$ = ast_check(pc, $2, $4, @$); }
  | KW_YIELD expr           { $$ = ast_yield(pc, $2, @$); }
  | if_stmt
  | KW_MATCH expr '{' stmt_arms '}' { $$ = ast_match_stmt(pc, $2, &$4, @$); }
  | KW_FOR IDENT KW_IN expr opt_parallel block { $$ = ast_for_stmt(pc, ID($2, @2), $4, $5, $6, @$); }
  ;

if_stmt
  : KW_IF expr block        { $$ = ast_if_stmt(pc, $2, $3, NULL, @$); }
  | KW_IF expr block KW_ELSE block { $$ = ast_if_stmt(pc, $2, $3, $5, @$); }
  | KW_IF expr block KW_ELSE if_stmt { $$ = ast_if_stmt(pc, $2, $3, ast_block_of(pc, $5), @$); }
  ;

opt_parallel
  : %empty                  { $$ = NULL; }
  | KW_PARALLEL expr        { $$ = $2; }
  ;

stmt_arms
  : %empty                  { $$ = (PtrVec){0}; }
  | stmt_arms stmt_arm      { $$ = $1; ptrvec_push(A, &$$, $2); }
  ;

stmt_arm
  : patterns FATARROW block opt_comma { $$ = ast_arm(pc, &$1, NULL, $3, @$); }
  ;

patterns
  : pattern                 { $$ = (PtrVec){0}; ptrvec_push(A, &$$, $1); }
  | patterns ',' pattern    { $$ = $1; ptrvec_push(A, &$$, $3); }
  ;

pattern
  : IDENT                   { $$ = ast_pattern_name(pc, ID($1, @1), @$); }
  | IDENT '.' IDENT         { $$ = ast_pattern_qualified(pc, ID($1, @1), ID($3, @3), @$); }
  | INT                     { $$ = ast_pattern_literal(pc, ast_int(pc, $1, @$), @$); }
  | '-' INT                 { $$ = ast_pattern_literal(pc, ast_int(pc, -$2, @$), @$); }
  | string                  { $$ = ast_pattern_literal(pc, $1, @$); }
  | KW_TRUE                 { $$ = ast_pattern_literal(pc, ast_bool(pc, true, @$), @$); }
  | KW_FALSE                { $$ = ast_pattern_literal(pc, ast_bool(pc, false, @$), @$); }
  | KW_NONE                 { $$ = ast_pattern_literal(pc, ast_none(pc, @$), @$); }
  ;

/* action := "retry" INT? | "fallback" IDENT | "warn" | "fail" | "skip" */
action
  : KW_RETRY opt_count      { $$ = (Action){ACT_RETRY, @$, $2, {0}}; }
  | KW_FALLBACK IDENT       { $$ = (Action){ACT_FALLBACK, @$, 0, ID($2, @2)}; }
  | KW_WARN                 { $$ = (Action){ACT_WARN, @$, 0, {0}}; }
  | KW_FAIL                 { $$ = (Action){ACT_FAIL, @$, 0, {0}}; }
  | KW_SKIP                 { $$ = (Action){ACT_SKIP, @$, 0, {0}}; }
  ;

opt_count
  : %empty                  { $$ = -1; }
  | INT
  ;

/* ---- expressions ---------------------------------------------------------- */

expr
  : postfix
  | expr KW_ENSURE IDENT KW_ELSE action { $$ = ast_ensure(pc, $1, ID($3, @3), NULL, $5, @$); }
  | expr KW_ENSURE IDENT '(' args ')' KW_ELSE action { $$ = ast_ensure(pc, $1, ID($3, @3), &$5, $8, @$); }
  | IDENT FATARROW expr     { $$ = ast_lambda(pc, ID($1, @1), $3, @$); }
  | expr COALESCE expr      { $$ = ast_binary(pc, BIN_COALESCE, $1, $3, @$); }
  | expr KW_OR expr         { $$ = ast_binary(pc, BIN_OR, $1, $3, @$); }
  | expr KW_AND expr        { $$ = ast_binary(pc, BIN_AND, $1, $3, @$); }
  | KW_NOT expr             { $$ = ast_unary(pc, UN_NOT, $2, @$); }
  | expr EQ expr            { $$ = ast_binary(pc, BIN_EQ, $1, $3, @$); }
  | expr NE expr            { $$ = ast_binary(pc, BIN_NE, $1, $3, @$); }
  | expr '<' expr           { $$ = ast_binary(pc, BIN_LT, $1, $3, @$); }
  | expr LE expr            { $$ = ast_binary(pc, BIN_LE, $1, $3, @$); }
  | expr '>' expr           { $$ = ast_binary(pc, BIN_GT, $1, $3, @$); }
  | expr GE expr            { $$ = ast_binary(pc, BIN_GE, $1, $3, @$); }
  | expr KW_IN expr         { $$ = ast_binary(pc, BIN_IN, $1, $3, @$); }
  | expr KW_PER expr        { $$ = ast_price(pc, $1, $3, @$); }
  | expr DOTDOT expr        { $$ = ast_binary(pc, BIN_RANGE, $1, $3, @$); }
  | expr '+' expr           { $$ = ast_binary(pc, BIN_ADD, $1, $3, @$); }
  | expr '-' expr           { $$ = ast_binary(pc, BIN_SUB, $1, $3, @$); }
  | expr '*' expr           { $$ = ast_binary(pc, BIN_MUL, $1, $3, @$); }
  | expr '/' expr           { $$ = ast_binary(pc, BIN_DIV, $1, $3, @$); }
  | expr '%' expr           { $$ = ast_binary(pc, BIN_MOD, $1, $3, @$); }
  | '-' expr %prec UMINUS   { $$ = ast_unary(pc, UN_NEG, $2, @$); }
  | if_expr
  | KW_MATCH expr '{' match_arms '}' { $$ = ast_match_expr(pc, $2, &$4, @$); }
  | for_expr
  ;

if_expr
  : KW_IF expr '{' expr '}' KW_ELSE '{' expr '}' { $$ = ast_if_expr(pc, $2, $4, $8, @$); }
  | KW_IF expr '{' expr '}' KW_ELSE if_expr      { $$ = ast_if_expr(pc, $2, $4, $7, @$); }
  ;

for_expr
  : KW_FOR IDENT KW_IN expr opt_parallel block { $$ = ast_for_expr(pc, ID($2, @2), $4, $5, $6, @$); }
  ;

/* Arms of a match expression are separated by commas. */
match_arms
  : %empty                  { $$ = (PtrVec){0}; }
  | arm_list opt_comma
  ;

arm_list
  : match_arm               { $$ = (PtrVec){0}; ptrvec_push(A, &$$, $1); }
  | arm_list ',' match_arm  { $$ = $1; ptrvec_push(A, &$$, $3); }
  ;

match_arm
  : patterns FATARROW expr  { $$ = ast_arm(pc, &$1, $3, NULL, @$); }
  ;

postfix
  : primary
  | postfix '.' IDENT       { $$ = ast_member(pc, $1, ID($3, @3), @$); }
  | postfix '.' KW_TYPE     { $$ = ast_member(pc, $1, ID(intern_cstr(pc->interner, "type"), @3), @$); }
  | postfix '.' KW_SCORE    { $$ = ast_member(pc, $1, ID(intern_cstr(pc->interner, "score"), @3), @$); }
  | postfix '[' expr ']'    { $$ = ast_index(pc, $1, $3, @$); }
  | postfix '(' args ')'    { $$ = ast_call(pc, $1, &$3, @$); }
  ;

primary
  : INT                     { $$ = ast_int(pc, $1, @$); }
  | FLOAT                   { $$ = ast_float(pc, $1, @$); }
  | UNIT_NUM                { $$ = ast_unit(pc, $1.value, $1.is_int, (Unit)$1.unit, @$); }
  | KW_TRUE                 { $$ = ast_bool(pc, true, @$); }
  | KW_FALSE                { $$ = ast_bool(pc, false, @$); }
  | KW_NONE                 { $$ = ast_none(pc, @$); }
  | string
  | IDENT                   { $$ = ast_name(pc, ID($1, @1), @$); }
  | KW_MOCK                 { $$ = ast_name(pc, ID(intern_cstr(pc->interner, "mock"), @1), @$); }
  | '(' expr ')'            { $$ = $2; }
  | '[' exprs ']'           { $$ = ast_list(pc, &$2, @$); }
  | '{' map_inits '}'       { $$ = ast_map(pc, &$2, @$); }
  | IDENT REC_LBRACE field_inits '}' { $$ = ast_record(pc, ID($1, @1), &$3, @$); }
  ;

string
  : STR_BEGIN str_parts STR_END { $$ = ast_string(pc, &$2, $1, @$); }
  ;

str_parts
  : %empty                  { $$ = (PtrVec){0}; }
  | str_parts STR_TEXT      { $$ = $1; ptrvec_push(A, &$$, ast_str_text(pc, $2.s, $2.len, @2)); }
  | str_parts TMPL_OPEN expr TMPL_CLOSE { $$ = $1; ptrvec_push(A, &$$, ast_str_expr(pc, $3, @$)); }
  ;

exprs
  : %empty                  { $$ = (PtrVec){0}; }
  | expr_list opt_comma
  ;

expr_list
  : expr                    { $$ = (PtrVec){0}; ptrvec_push(A, &$$, $1); }
  | expr_list ',' expr      { $$ = $1; ptrvec_push(A, &$$, $3); }
  ;

args
  : %empty                  { $$ = (PtrVec){0}; }
  | arg_list opt_comma
  ;

arg_list
  : arg                     { $$ = (PtrVec){0}; ptrvec_push(A, &$$, $1); }
  | arg_list ',' arg        { $$ = $1; ptrvec_push(A, &$$, $3); }
  ;

arg
  : expr                    { $$ = ast_arg(pc, (Ident){0}, $1); }
  | IDENT ':' expr          { $$ = ast_arg(pc, ID($1, @1), $3); }
  ;

/* Fields of a record literal are separated by commas, newlines, or both. */
field_inits
  : field_init              { $$ = (PtrVec){0}; ptrvec_push(A, &$$, $1); }
  | field_inits field_init  { $$ = $1; ptrvec_push(A, &$$, $2); }
  | field_inits ','         { $$ = $1; }
  ;

field_init
  : field_name ':' expr     { $$ = ast_field_init(pc, ID($1, @1), NULL, $3); }
  ;

map_inits
  : %empty                  { $$ = (PtrVec){0}; }
  | map_init                { $$ = (PtrVec){0}; ptrvec_push(A, &$$, $1); }
  | map_inits ',' map_init  { $$ = $1; ptrvec_push(A, &$$, $3); }
  ;

map_init
  : string ':' expr         { $$ = ast_field_init(pc, (Ident){0}, $1, $3); }
  ;

%%

/* Describe the token at `loc` of kind `tok` for a message: "`foo`",
 * "end of file", "a string". */
static const char *describe_token(ParseCtx *pc, yysymbol_kind_t tok, const YYLTYPE *loc) {
  switch (tok) {
  case YYSYMBOL_YYEOF: return "end of file";
  case YYSYMBOL_STR_BEGIN: return "a string";
  case YYSYMBOL_STR_TEXT: return "string text";
  case YYSYMBOL_IDENT:
  case YYSYMBOL_INT:
  case YYSYMBOL_FLOAT:
  case YYSYMBOL_UNIT_NUM: {
    uint32_t n = loc->end - loc->start;
    if (n > 40) n = 40;
    return arena_printf(pc->arena, "`%.*s`", (int)n, pc->text + loc->start);
  }
  default: return yysymbol_name(tok);
  }
}

/* The first declaration keyword at the start of a line in [from, to), or
 * false. Inside an unclosed brace the scanner hands such words out as
 * identifiers, so their presence shows where the brace should have closed. */
static bool find_decl_word(ParseCtx *pc, uint32_t from, uint32_t to, Span *out) {
  static const char *const words[] = {"import", "model", "policy", "type", "enum",
                                      "context", "prompt", "eval", "flow", "test"};
  if (to > pc->len) to = pc->len;
  for (uint32_t k = from; k < to; k++) {
    if (k > 0 && pc->text[k - 1] != '\n') continue;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
      size_t n = strlen(words[i]);
      if (k + n < pc->len && memcmp(words[i], pc->text + k, n) == 0 &&
          (pc->text[k + n] == ' ' || pc->text[k + n] == '\t')) {
        *out = (Span){pc->file, k, (uint32_t)(k + n)};
        return true;
      }
    }
  }
  return false;
}

/* The innermost open brace, paren or bracket opened before `before`, or NULL. */
static const OpenDelim *innermost_open(ParseCtx *pc, uint32_t before) {
  for (unsigned i = pc->ndelims; i-- > 0;)
    if ((pc->delims[i].ch == '{' || pc->delims[i].ch == '(' || pc->delims[i].ch == '[') &&
        pc->delims[i].span.start < before)
      return &pc->delims[i];
  return NULL;
}

static char closer_of(char open) { return open == '{' ? '}' : open == '(' ? ')' : ']'; }

/* An unclosed delimiter explains the error better than the token list. */
static void report_unclosed(ParseCtx *pc, const OpenDelim *open, yysymbol_kind_t tok,
                            const Span *loc) {
  const char *owner = pc->ndelims && pc->delims[0].owner_kw
                          ? arena_printf(pc->arena, "%s `%s`", pc->delims[0].owner_kw, pc->delims[0].owner_name)
                          : NULL;
  SourcePos at = source_map_pos(pc->sources, open->span.file, open->span.start);
  Diag *d;
  if (tok == YYSYMBOL_YYEOF) {
    d = diag_add(pc->diags, DIAG_E0003, open->span,
                 "unclosed `%c`%s%s; expected `%c` before the end of the file", open->ch,
                 owner ? " in " : "", owner ? owner : "", closer_of(open->ch));
  } else {
    d = diag_add(pc->diags, DIAG_E0003, open->span,
                 "expected `%c` to close the `%c` opened at line %u%s%s, found a new declaration",
                 closer_of(open->ch), open->ch, at.line, owner ? " in " : "", owner ? owner : "");
    diag_add_secondary(d, *loc, "a new declaration starts here");
  }
  diag_set_label(d, "this `%c` is never closed", open->ch);
}

static int yyreport_syntax_error(const yypcontext_t *ctx, ParseCtx *pc) {
  yysymbol_kind_t tok = yypcontext_token(ctx);
  const YYLTYPE *loc = yypcontext_location(ctx);
  pc->syntax_errors++;
  parse_note_broken(pc);
  if (tok == YYSYMBOL_YYEOF && pc->eof_reported) return 0;
  if (pc->suppress_set && loc->start == pc->suppress_at) return 0;
  Span word;
  if (pc->ndelims && find_decl_word(pc, pc->delims[0].span.end, loc->start + 1, &word)) {
    const OpenDelim *open = innermost_open(pc, word.start);
    if (open) {
      report_unclosed(pc, open, YYSYMBOL_IDENT, &word);
      return 0;
    }
  }
  const OpenDelim *open = innermost_open(pc, loc->start + 1);
  if (open && tok == YYSYMBOL_YYEOF) {
    report_unclosed(pc, open, tok, loc);
    return 0;
  }

  yysymbol_kind_t expected[7];
  int n = yypcontext_expected_tokens(ctx, expected, 7);
  const char *found = describe_token(pc, tok, loc);
  Diag *d;
  if (n <= 0 || n > 6) {
    d = diag_add(pc->diags, DIAG_E0001, *loc, "found %s where it cannot appear", found);
  } else {
    char list[512];
    size_t len = 0;
    list[0] = '\0';
    /* `{` and the record `{` print alike: list each name once */
    const char *names[7];
    int m = 0;
    for (int i = 0; i < n; i++) {
      const char *name = expected[i] == YYSYMBOL_REC_LBRACE ? "`{`" : yysymbol_name(expected[i]);
      bool seen = false;
      for (int j = 0; j < m; j++) seen |= strcmp(names[j], name) == 0;
      if (!seen) names[m++] = name;
    }
    for (int i = 0; i < m; i++) {
      const char *sep = i == 0 ? "" : (i == m - 1 ? " or " : ", ");
      int w = snprintf(list + len, sizeof list - len, "%s%s", sep, names[i]);
      if (w < 0 || (size_t)w >= sizeof list - len) break;
      len += (size_t)w;
    }
    d = diag_add(pc->diags, DIAG_E0001, *loc, "expected %s, found %s", list, found);
  }
  diag_set_label(d, "unexpected %s", tok == YYSYMBOL_YYEOF ? "end of file" : "here");
  return 0;
}

/* Called by bison only when its stack is exhausted (absurdly deep nesting). */
static void yyerror(const Span *loc, ParseCtx *pc, const char *msg) {
  pc->syntax_errors++;
  Diag *d = diag_add(pc->diags, DIAG_E0001, *loc, "the program nests too deeply for the parser (%s)", msg);
  diag_set_label(d, "nesting limit reached here");
  diag_set_help(d, "split deeply nested expressions into `let` steps");
}
