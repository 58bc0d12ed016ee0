/* test_parse.c - unit tests of the scanner and parser: the tree they build.
 *
 * Parses small sources with parse_file and inspects the AST: doc comments on
 * declarations, fields, parameters and variants; the indentation stripping of
 * triple-quoted strings; template parts and their spans; numbers with units;
 * declaration keywords used as names inside braces; recovery that reports
 * several independent errors in one run. Ends with "N passed, M failed". */
#include <stdio.h>
#include <string.h>

#include "tally.h"
#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "intern.h"
#include "parse.h"
#include "source.h"


/* One parse: its arena, diagnostics and tree. */
typedef struct Parsed {
  Arena arena;
  Interner in;
  SourceMap sm;
  DiagList dl;
  FileAst ast;
  bool ok;
} Parsed;

static void parse_text(Parsed *p, const char *text) {
  arena_init(&p->arena);
  interner_init(&p->in, &p->arena);
  source_map_init(&p->sm);
  diag_list_init(&p->dl);
  uint32_t id = source_map_add(&p->sm, "t.flow", text, strlen(text));
  p->ok = parse_file(&p->arena, &p->in, &p->dl, &p->sm, id, &p->ast);
}

static void parsed_free(Parsed *p) {
  diag_list_free(&p->dl);
  source_map_free(&p->sm);
  interner_free(&p->in);
  arena_free(&p->arena);
}

/* The text of a span, for comparisons. */
static const char *span_text(Parsed *p, Span s) {
  return arena_strndup(&p->arena, source_map_file(&p->sm, s.file)->text + s.start, s.end - s.start);
}

/* The concatenated text parts of a string literal, with {{}} for templates. */
static const char *string_text(Parsed *p, const Expr *e) {
  char buf[1024];
  size_t n = 0;
  for (unsigned i = 0; i < e->u.str.nparts && n < sizeof buf - 8; i++) {
    if (e->u.str.parts[i].is_expr) {
      memcpy(buf + n, "{{}}", 4);
      n += 4;
    } else {
      size_t len = e->u.str.parts[i].len;
      if (len > sizeof buf - 8 - n) len = sizeof buf - 8 - n;
      memcpy(buf + n, e->u.str.parts[i].text, len);
      n += len;
    }
  }
  return arena_strndup(&p->arena, buf, n);
}

static void test_docs(Tally *t) {
  Parsed p;
  parse_text(&p,
             "/// A ticket.\n"
             "/// Two lines.\n"
             "type Ticket {\n"
             "  /// The id.\n"
             "  id: string\n"
             "  body: string\n"
             "}\n"
             "// not a doc\n"
             "enum P {\n  /// lowest\n  low, high }\n"
             "/// Run it.\n"
             "flow main(\n  /// the input\n  t: Ticket) -> string { yield t.id }\n");
  CHECK(t, p.ok);
  CHECK(t, p.ast.ndecls == 3);
  Decl *ty = p.ast.decls[0];
  CHECK_STR(t, ty->doc, "A ticket.\nTwo lines.");
  CHECK_STR(t, ty->u.record.fields[0]->doc, "The id.");
  CHECK(t, ty->u.record.fields[1]->doc == NULL);
  Decl *en = p.ast.decls[1];
  CHECK(t, en->doc == NULL);
  CHECK_STR(t, en->u.enm.variants[0].doc, "lowest");
  Decl *fl = p.ast.decls[2];
  CHECK_STR(t, fl->doc, "Run it.");
  CHECK_STR(t, fl->u.flow.params[0]->doc, "the input");
  parsed_free(&p);
}

static void test_triple_strings(Tally *t) {
  Parsed p;
  parse_text(&p,
             "context c: string = env(\"X\")\n"
             "prompt f(t: string) -> string {\n"
             "  model: m\n"
             "  system \"\"\"\n"
             "    First line.\n"
             "      Indented {{ t }} here.\n"
             "\n"
             "    Last.\n"
             "  \"\"\"\n"
             "  user \"one {{ t }} two \\{{ x\\u{41}\"\n"
             "}\n");
  CHECK(t, p.ok);
  Decl *pr = p.ast.decls[1];
  CHECK(t, pr->u.prompt.nitems == 3);
  Expr *sys = pr->u.prompt.items[1]->value;
  CHECK(t, sys->u.str.triple);
  CHECK_STR(t, string_text(&p, sys), "First line.\n  Indented {{}} here.\n\nLast.");
  Expr *user = pr->u.prompt.items[2]->value;
  CHECK_STR(t, string_text(&p, user), "one {{}} two {{ xA");
  /* the template expression keeps its exact span */
  Expr *inner = user->u.str.parts[1].expr;
  CHECK(t, inner->kind == EX_NAME);
  CHECK_STR(t, span_text(&p, inner->span), "t");
  SourcePos pos = source_map_pos(&p.sm, inner->span.file, inner->span.start);
  CHECK(t, pos.line == 10 && pos.col == 16);
  parsed_free(&p);
}

static void test_units_and_keywords(Tally *t) {
  Parsed p;
  parse_text(&p,
             "policy p { retry: 3, timeout: 250ms, backoff: exponential(1s, factor: 2, max: 8s) }\n"
             "model m { provider: openai, name: \"x\", max_tokens: 1_000,\n"
             "  price { input: 0.15 per 1M } }\n"
             "type T { type: string, test: int, score: float }\n");
  CHECK(t, p.ok);
  Decl *pol = p.ast.decls[0];
  CHECK(t, pol->u.model.n == 3);
  Expr *timeout = pol->u.model.entries[1]->value;
  CHECK(t, timeout->kind == EX_UNIT && timeout->u.unit.unit == UNIT_MS && timeout->u.unit.value == 250);
  Decl *m = p.ast.decls[1];
  CHECK(t, m->u.model.entries[2]->value->kind == EX_INT && m->u.model.entries[2]->value->u.i == 1000);
  Entry *price = m->u.model.entries[3];
  CHECK(t, price->nentries == 1 && price->entries[0]->value->kind == EX_PRICE);
  Decl *ty = p.ast.decls[2];
  CHECK(t, ty->u.record.n == 3);
  CHECK_STR(t, ty->u.record.fields[0]->name.name, "type");
  CHECK_STR(t, ty->u.record.fields[2]->name.name, "score");
  parsed_free(&p);
}

static void test_recovery(Tally *t) {
  Parsed p;
  parse_text(&p,
             "type A { x: string }\n"
             "model m { provider openai }\n"  /* missing ':' */
             "type B { y: int }\n"
             "flow f() -> int { yield 1 + }\n" /* bad expression */
             "type C { z: bool }\n");
  CHECK(t, !p.ok);
  CHECK(t, p.dl.nerrors == 2);
  /* every well-formed declaration survives */
  unsigned types = 0;
  for (unsigned i = 0; i < p.ast.ndecls; i++) types += p.ast.decls[i]->kind == D_TYPE;
  CHECK(t, types == 3);
  parsed_free(&p);
}

static void test_unterminated(Tally *t) {
  Parsed p;
  parse_text(&p, "flow f() -> string {\n  yield \"abc\n}\n");
  CHECK(t, p.dl.n >= 1 && p.dl.items[0].code == DIAG_E0002);
  parsed_free(&p);
  parse_text(&p, "prompt f() -> string {\n  user \"hi\"\n\nflow g() -> int { yield 1 }\n");
  CHECK(t, p.dl.n == 1 && p.dl.items[0].code == DIAG_E0003);
  CHECK(t, p.dl.n == 1 && strstr(p.dl.items[0].message, "prompt `f`") != NULL);
  parsed_free(&p);
  parse_text(&p, "/* never closed\n");
  CHECK(t, p.dl.n == 1 && p.dl.items[0].code == DIAG_E0007);
  parsed_free(&p);
  parse_text(&p, "context c: string = env(\"A {{ x \")\n");
  CHECK(t, p.dl.n == 1 && p.dl.items[0].code == DIAG_E0008);
  parsed_free(&p);
}

int main(void) {
  Tally t = {0, 0};
  test_docs(&t);
  test_triple_strings(&t);
  test_units_and_keywords(&t);
  test_recovery(&t);
  test_unterminated(&t);
  printf("%d passed, %d failed\n", t.passed, t.failed);
  return t.failed ? 1 : 0;
}
