/* parse.c - driving the scanner and parser over one file (see parse.h). */
#include "parse.h"

#include <stdlib.h>
#include <string.h>

#include "flow_parser.h"
#include "flow_lexer.h"

void parse_push_delim(ParseCtx *pc, char ch, Span span) {
  if (pc->ndelims == pc->delims_cap) {
    pc->delims_cap = pc->delims_cap ? pc->delims_cap * 2 : 32;
    pc->delims = xrealloc(pc->delims, pc->delims_cap * sizeof *pc->delims);
  }
  /* A brace opened outside every delimiter belongs to the declaration being
   * read; remember which, for "unclosed `{` in prompt `x`". */
  bool top = pc->ndelims == 0 && pc->decl_kw && pc->decl_name;
  pc->delims[pc->ndelims++] =
      (OpenDelim){ch, span, top ? pc->decl_kw : NULL, top ? pc->decl_name : NULL, false};
}

/* Close the innermost delimiter. A bracket closer pops only brackets (a stray
 * `}` inside a string's template does not end the template); mismatched
 * brackets pop anyway and the parser reports the mismatch. */
void parse_pop_delim(ParseCtx *pc, char ch) {
  if (pc->ndelims == 0) return;
  char top = pc->delims[pc->ndelims - 1].ch;
  bool bracket = ch == '{' || ch == '(' || ch == '[';
  bool top_bracket = top == '{' || top == '(' || top == '[';
  if (bracket && !top_bracket) return;
  pc->ndelims--;
}

bool parse_template_in_line_string(const ParseCtx *pc) {
  for (unsigned i = pc->ndelims; i-- > 0;) {
    if (pc->delims[i].ch == 't') return i > 0 && pc->delims[i - 1].ch == '"';
  }
  return false;
}

bool parse_line_has_template_close(const ParseCtx *pc) {
  for (uint32_t k = pc->offset; k + 1 < pc->len && pc->text[k] != '\n'; k++)
    if (pc->text[k] == '}' && pc->text[k + 1] == '}') return true;
  return false;
}

Span parse_unwind_template(ParseCtx *pc) {
  Span open = {pc->file, 0, 0};
  while (pc->ndelims > 0) {
    OpenDelim d = pc->delims[--pc->ndelims];
    if (d.ch == 't') open = d.span;
    if (d.ch == '"') break;
  }
  return open;
}

void parse_strbuf_append(ParseCtx *pc, const char *s, uint32_t n) {
  if (pc->strbuf_len + n + 1 > pc->strbuf_cap) {
    uint32_t cap = pc->strbuf_cap ? pc->strbuf_cap : 256;
    while (cap < pc->strbuf_len + n + 1) cap *= 2;
    pc->strbuf = xrealloc(pc->strbuf, cap);
    pc->strbuf_cap = cap;
  }
  memcpy(pc->strbuf + pc->strbuf_len, s, n);
  pc->strbuf_len += n;
}

const char *parse_take_doc(ParseCtx *pc, uint32_t start) {
  /* docs are in source order; find the last one ending at or before start */
  unsigned lo = pc->doc_cursor, hi = pc->ndocs;
  while (lo < hi) {
    unsigned mid = (lo + hi) / 2;
    if (pc->docs[mid].end <= start) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0 || lo <= pc->doc_cursor) return NULL;
  DocComment *d = &pc->docs[lo - 1];
  for (uint32_t k = d->end; k < start; k++) {
    char c = pc->text[k];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return NULL;
  }
  return d->text;
}

void parse_note_broken(ParseCtx *pc) {
  if (pc->decl_name) ptrvec_push(pc->arena, &pc->broken, (void *)pc->decl_name);
}

int parse_lex(YYSTYPE *val, Span *loc, ParseCtx *pc) {
  int kind;
  if (pc->npending) {
    PendingToken t = pc->pending[0];
    memmove(pc->pending, pc->pending + 1, --pc->npending * sizeof *pc->pending);
    *loc = t.span;
    kind = t.kind;
  } else {
    kind = flow_yylex(val, loc, pc->scanner);
  }
  pc->last_kind = kind;
  pc->last_start = loc->start;
  pc->last_end = loc->end;
  return kind;
}

bool parse_file(Arena *arena, Interner *in, DiagList *diags, SourceMap *sm, uint32_t file,
                FileAst *out) {
  const SourceFile *sf = source_map_file(sm, file);
  ParseCtx pc;
  memset(&pc, 0, sizeof pc);
  pc.arena = arena;
  pc.interner = in;
  pc.diags = diags;
  pc.sources = sm;
  pc.file = file;
  pc.text = sf->text;
  pc.len = (uint32_t)sf->len;
  size_t errors_before = diags->nerrors;

  yyscan_t scanner;
  flow_yylex_init_extra(&pc, &scanner);
  pc.scanner = scanner;
  YY_BUFFER_STATE buf = flow_yy_scan_bytes(sf->text, (int)sf->len, scanner);
  yyparse(&pc);
  flow_yy_delete_buffer(buf, scanner);
  flow_yylex_destroy(scanner);

  out->file = file;
  out->ndecls = pc.decls.n;
  out->decls = (Decl **)pc.decls.items;
  out->broken = (const char **)pc.broken.items;
  out->nbroken = pc.broken.n;
  out->ok = diags->nerrors == errors_before && pc.syntax_errors == 0;
  free(pc.delims);
  free(pc.strbuf);
  free(pc.docs);
  return out->ok;
}
