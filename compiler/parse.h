/* parse.h - turning one source file into a FileAst.
 *
 * parse_file runs the flex scanner (grammar/flow.l) and the bison parser
 * (grammar/flow.y) over a file already in the SourceMap. Lexical and syntax
 * errors are appended to the DiagList; the parser recovers at declaration
 * boundaries, so one run reports every independent error. ParseCtx is the
 * state shared by the scanner and the parser (flex's "extra" and bison's
 * parse-param); nothing in it outlives the call except what it allocates in
 * the arena. */
#ifndef FLOW_PARSE_H
#define FLOW_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "intern.h"
#include "source.h"

/* An open delimiter the scanner has not seen closed yet. */
typedef struct OpenDelim {
  char ch;             /* '{', '(', '[', or 't' for a template's {{ */
  Span span;
  const char *owner_kw;   /* "prompt" when opened at depth 0 in a declaration, else NULL */
  const char *owner_name; /* "classify" */
  bool curly;             /* a string opened with a curly quote */
} OpenDelim;

/* A `///` comment block: its text and where it ends. */
typedef struct DocComment {
  uint32_t start, end;
  const char *text;
} DocComment;

/* A token the scanner produced early and will hand out next. */
typedef struct PendingToken {
  int kind;
  Span span;
  const char *text;
  uint32_t len;
} PendingToken;

typedef struct ParseCtx {
  Arena *arena;
  Interner *interner;
  DiagList *diags;
  SourceMap *sources;
  uint32_t file;
  const char *text;       /* the file's text (borrowed) */
  uint32_t len;

  /* scanner state */
  void *scanner;          /* yyscan_t */
  uint32_t offset;        /* byte offset of the next unread character */
  OpenDelim *delims;      /* malloc'd stack */
  unsigned ndelims, delims_cap;
  PendingToken pending[4];
  unsigned npending;
  char *strbuf;           /* malloc'd: text of the string part being read */
  uint32_t strbuf_len, strbuf_cap, strbuf_start;
  Span string_open;       /* the quote that opened the current string */
  bool string_triple;
  const char *decl_kw;    /* last declaration keyword at depth 0 */
  const char *decl_name;  /* its name, once seen */
  bool want_decl_name;
  uint32_t last_start, last_end; /* span of the last token handed to the parser */
  int last_kind;
  bool eof_reported;      /* a lexical error at EOF already explains the end */
  bool mismatch_reported; /* a mismatched bracket was reported in this declaration */
  bool suppress_set;      /* no syntax error at a token synthesised after an error */
  uint32_t suppress_at;

  DocComment *docs;       /* malloc'd, in source order */
  unsigned ndocs, docs_cap;
  uint32_t doc_cursor;    /* docs before this index are consumed */

  /* parser output */
  PtrVec decls;
  PtrVec broken;          /* const char*: names of declarations hit by syntax errors */
  unsigned syntax_errors;
} ParseCtx;

/* Parse file `file` of `sm` into `out`. Returns false when there were
 * lexical or syntax errors (the tree holds what could be recovered). */
bool parse_file(Arena *arena, Interner *in, DiagList *diags, SourceMap *sm, uint32_t file,
                FileAst *out);

/* --- used by the generated scanner and parser only ----------------------- */

/* Remember that the declaration being parsed (if named) is damaged, so that
 * the checker does not report every use of its name as unknown. */
void parse_note_broken(ParseCtx *pc);

/* The doc comment that ends right before byte `start` (only whitespace
 * between), or NULL. */
const char *parse_take_doc(ParseCtx *pc, uint32_t start);
void parse_push_delim(ParseCtx *pc, char ch, Span span);
void parse_pop_delim(ParseCtx *pc, char ch);
void parse_strbuf_append(ParseCtx *pc, const char *s, uint32_t n);
/* True when the innermost open template sits in a one-line "..." string. */
bool parse_template_in_line_string(const ParseCtx *pc);
/* True when `}}` appears between the scanner's position and the line's end. */
bool parse_line_has_template_close(const ParseCtx *pc);
/* Pop delimiters down to and including that template and its string;
 * returns the span of the template's `{{`. */
Span parse_unwind_template(ParseCtx *pc);
/* The scanner entry point used by the parser (hands out pending tokens first). */
union YYSTYPE;
int parse_lex(union YYSTYPE *val, Span *loc, ParseCtx *pc);

#endif
