/* ast.c - names of AST enumerations, for messages. */
#include "ast.h"

UnitKind unit_kind(Unit u) {
  switch (u) {
  case UNIT_MS: case UNIT_S: case UNIT_MIN: case UNIT_H: return UK_DURATION;
  case UNIT_K: case UNIT_M: case UNIT_G: return UK_COUNT;
  case UNIT_B: case UNIT_KB: case UNIT_MB: case UNIT_GB: return UK_SIZE;
  case UNIT_NONE: break;
  }
  return UK_NONE;
}

const char *unit_str(Unit u) {
  static const char *const names[] = {"", "ms", "s", "m", "h", "K", "M", "G", "B", "KB", "MB", "GB"};
  return names[u];
}

const char *binop_str(BinOp op) {
  static const char *const names[] = {"+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=",
                                      "and", "or", "in", "..", "??"};
  return names[op];
}

const char *decl_kind_str(DeclKind k) {
  static const char *const names[] = {"import", "model", "policy", "type", "enum",
                                      "context", "prompt", "eval", "flow", "test"};
  return names[k];
}

const char *role_str(Role r) {
  static const char *const names[] = {"system", "user", "assistant"};
  return names[r];
}

/* A constant number: a literal, a negated literal, or a count (1M). */
bool expr_const_number(const Expr *e, double *v, bool *is_int) {
  if (e->kind == EX_INT) { *v = (double)e->u.i; *is_int = true; return true; }
  if (e->kind == EX_FLOAT) { *v = e->u.f; *is_int = false; return true; }
  if (e->kind == EX_UNIT && e->u.unit.unit == UNIT_NONE) { /* unknown unit: reported by the scanner */
    *v = e->u.unit.value;
    *is_int = e->u.unit.is_int;
    return true;
  }
  if (e->kind == EX_UNIT && unit_kind(e->u.unit.unit) == UK_COUNT) {
    static const double scale[] = {[UNIT_K] = 1e3, [UNIT_M] = 1e6, [UNIT_G] = 1e9};
    *v = e->u.unit.value * scale[e->u.unit.unit];
    *is_int = true;
    return true;
  }
  if (e->kind == EX_UNARY && e->u.unary.op == UN_NEG && expr_const_number(e->u.unary.operand, v, is_int)) {
    *v = -*v;
    return true;
  }
  return false;
}

/* The text of a string literal without templates, or NULL. */
const char *expr_const_string(const Expr *e) {
  if (e->kind != EX_STRING) return NULL;
  if (e->u.str.nparts == 0) return "";
  if (e->u.str.nparts == 1 && !e->u.str.parts[0].is_expr) return e->u.str.parts[0].text;
  return NULL;
}

