/* ast_build.h - AST constructors used by the grammar's actions.
 *
 * Each returns a node allocated in the parse context's arena. PtrVec
 * arguments are the lists the grammar accumulated; the constructors copy them
 * into the node's own array form. Doc comments are attached here, from the
 * `///` block that ends right before the node. */
#ifndef FLOW_AST_BUILD_H
#define FLOW_AST_BUILD_H

#include "ast.h"
#include "parse.h"

Decl *ast_import(ParseCtx *pc, Expr *path, Span span);
Decl *ast_entries_decl(ParseCtx *pc, DeclKind kind, Ident name, PtrVec *entries, Span span);
Entry *ast_entry(ParseCtx *pc, Ident key, Expr *value, PtrVec *nested, Span span);
Decl *ast_type_decl(ParseCtx *pc, Ident name, PtrVec *fields, Span span);
Field *ast_field(ParseCtx *pc, Ident name, TypeExpr *type, PtrVec *annots, Span span);
Annotation *ast_annot(ParseCtx *pc, Ident name, PtrVec *args, Span span);
Decl *ast_enum_decl(ParseCtx *pc, Ident name, PtrVec *variants, Span span);
Variant *ast_variant(ParseCtx *pc, Ident name);
Decl *ast_context_decl(ParseCtx *pc, Ident name, TypeExpr *type, Expr *source, Span span);
Decl *ast_prompt_decl(ParseCtx *pc, Ident name, PtrVec *params, TypeExpr *ret, PtrVec *items,
                      Span span);
PromptItem *ast_pitem_setting(ParseCtx *pc, Entry *e, Span span);
PromptItem *ast_pitem_text(ParseCtx *pc, Ident role, Expr *text, Span span);
PromptItem *ast_pitem_media(ParseCtx *pc, Ident role, Ident kind, Expr *value, Span span);
Param *ast_param(ParseCtx *pc, Ident name, TypeExpr *type, Span span);
Decl *ast_eval_decl(ParseCtx *pc, Ident name, PtrVec *params, PtrVec *body, Span span);
Decl *ast_flow_decl(ParseCtx *pc, Ident name, PtrVec *params, TypeExpr *ret, Block *body,
                    Span span);
Decl *ast_test_decl(ParseCtx *pc, Expr *title, PtrVec *body, Span span);

TypeExpr *ast_type_name(ParseCtx *pc, Ident name, Span span);
TypeExpr *ast_type_wrap(ParseCtx *pc, TypeExprKind kind, TypeExpr *elem, Span span);
TypeExpr *ast_type_map(ParseCtx *pc, Ident map_kw, TypeExpr *key, TypeExpr *elem, Span span);

Block *ast_block(ParseCtx *pc, PtrVec *stmts, Span span);
Block *ast_block_of(ParseCtx *pc, Stmt *single);
Stmt *ast_let(ParseCtx *pc, StmtKind kind, Ident name, TypeExpr *type, Expr *value, Span span);
Stmt *ast_assert(ParseCtx *pc, Expr *cond, Expr *message, Span span);
Stmt *ast_mock(ParseCtx *pc, Ident prompt, Expr *value, Expr *cassette, Span span);
Stmt *ast_check(ParseCtx *pc, Expr *cond, Action action, Span span);
Stmt *ast_yield(ParseCtx *pc, Expr *value, Span span);
Stmt *ast_if_stmt(ParseCtx *pc, Expr *cond, Block *then_b, Block *else_b, Span span);
Stmt *ast_match_stmt(ParseCtx *pc, Expr *subject, PtrVec *arms, Span span);
Stmt *ast_for_stmt(ParseCtx *pc, Ident var, Expr *iter, Expr *parallel, Block *body, Span span);
MatchArm *ast_arm(ParseCtx *pc, PtrVec *patterns, Expr *value, Block *body, Span span);
Pattern *ast_pattern_name(ParseCtx *pc, Ident name, Span span);
Pattern *ast_pattern_qualified(ParseCtx *pc, Ident qual, Ident name, Span span);
Pattern *ast_pattern_literal(ParseCtx *pc, Expr *lit, Span span);

Expr *ast_int(ParseCtx *pc, int64_t v, Span span);
Expr *ast_float(ParseCtx *pc, double v, Span span);
Expr *ast_unit(ParseCtx *pc, double v, bool is_int, Unit unit, Span span);
Expr *ast_bool(ParseCtx *pc, bool v, Span span);
Expr *ast_none(ParseCtx *pc, Span span);
Expr *ast_price(ParseCtx *pc, Expr *amount, Expr *per, Span span);
Expr *ast_string(ParseCtx *pc, PtrVec *parts, bool triple, Span span);
StrPart *ast_str_text(ParseCtx *pc, const char *s, uint32_t len, Span span);
StrPart *ast_str_expr(ParseCtx *pc, Expr *e, Span span);
Expr *ast_name(ParseCtx *pc, Ident id, Span span);
Expr *ast_member(ParseCtx *pc, Expr *obj, Ident field, Span span);
Expr *ast_index(ParseCtx *pc, Expr *obj, Expr *index, Span span);
Expr *ast_call(ParseCtx *pc, Expr *callee, PtrVec *args, Span span);
Arg *ast_arg(ParseCtx *pc, Ident name, Expr *value);
Expr *ast_list(ParseCtx *pc, PtrVec *items, Span span);
Expr *ast_map(ParseCtx *pc, PtrVec *inits, Span span);
Expr *ast_record(ParseCtx *pc, Ident type_name, PtrVec *inits, Span span);
FieldInit *ast_field_init(ParseCtx *pc, Ident name, Expr *key, Expr *value);
Expr *ast_unary(ParseCtx *pc, UnOp op, Expr *operand, Span span);
Expr *ast_binary(ParseCtx *pc, BinOp op, Expr *lhs, Expr *rhs, Span span);
Expr *ast_if_expr(ParseCtx *pc, Expr *cond, Expr *then_e, Expr *else_e, Span span);
Expr *ast_match_expr(ParseCtx *pc, Expr *subject, PtrVec *arms, Span span);
Expr *ast_for_expr(ParseCtx *pc, Ident var, Expr *iter, Expr *parallel, Block *body, Span span);
Expr *ast_lambda(ParseCtx *pc, Ident param, Expr *body, Span span);
Expr *ast_ensure(ParseCtx *pc, Expr *value, Ident eval, PtrVec *args, Action action, Span span);

#endif
