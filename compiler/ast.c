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
