/* test_diag.c - unit tests of the source map, the diagnostic list and the
 * three diagnostic renderers (text, JSON, SARIF).
 *
 * Builds SourceMaps and DiagLists by hand, renders them into memory with
 * open_memstream and compares against exact expected text, or parses the
 * JSON back with jansson and checks its structure. Prints one line per
 * failed check (file:line and what differed) and ends with
 * "N passed, M failed"; exits non-zero when anything failed. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally.h"
#include "diag.h"
#include "diag_render.h"
#include "embedded.h"
#include "source.h"

/* A span of `len` bytes starting at the first occurrence of `needle` in file
 * `file` of `sm` (the test aborts if the needle is missing). */
static Span find_span(const SourceMap *sm, uint32_t file, const char *needle, size_t len) {
  const SourceFile *f = source_map_file(sm, file);
  const char *p = strstr(f->text, needle);
  if (!p) {
    fprintf(stderr, "test bug: '%s' not in %s\n", needle, f->path);
    exit(2);
  }
  Span s = {file, (uint32_t)(p - f->text), (uint32_t)(p - f->text + len)};
  return s;
}

/* Adds a file given as a C string. */
static uint32_t add_file(SourceMap *sm, const char *path, const char *text) {
  return source_map_add(sm, path, text, strlen(text));
}

/* The text rendering of `dl` (without colour), as a new string. */
static char *render_text(SourceMap *sm, const DiagList *dl, bool color) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  diag_render_text(f, sm, dl, color);
  fclose(f);
  return buf;
}

/* The JSON rendering of `dl`, parsed back (NULL if it does not parse). */
static json_t *render_json(Tally *t, SourceMap *sm, const DiagList *dl, bool sarif) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (sarif)
    diag_render_sarif(f, sm, dl, "9.9.9");
  else
    diag_render_json(f, sm, dl);
  fclose(f);
  CHECK(t, len > 0 && buf[len - 1] == '\n');
  json_error_t err;
  json_t *j = json_loads(buf, 0, &err);
  if (!CHECK(t, j != NULL)) fprintf(stderr, "JSON error: %s\n%s\n", err.text, buf);
  free(buf);
  return j;
}

/* Whether the keys of object `o` are exactly `keys` (NULL-terminated), in
 * that order. */
static bool keys_are(json_t *o, const char *const *keys) {
  if (!json_is_object(o)) return false;
  size_t i = 0;
  for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it), i++)
    if (!keys[i] || strcmp(keys[i], json_object_iter_key(it)) != 0) return false;
  return keys[i] == NULL;
}

/* Integer member `key` of `o` (-1 when missing). */
static json_int_t jint(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* String member `key` of `o` (NULL when missing or not a string). */
static const char *jstring(json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

/* ------------------------------------------------------------------------- */

/* Line/column mapping, including end of file with and without a trailing
 * newline, CRLF line ends and out-of-range queries. */
static void test_source_map(Tally *t) {
  SourceMap sm;
  source_map_init(&sm);
  uint32_t a = add_file(&sm, "a.flow", "ab\ncd\n\nef");
  uint32_t b = add_file(&sm, "b.flow", "x\r\ny\n");
  uint32_t e = add_file(&sm, "empty.flow", "");
  CHECK(t, a == 0 && b == 1 && e == 2);
  CHECK_STR(t, source_map_file(&sm, a)->path, "a.flow");
  CHECK(t, source_map_file(&sm, 3) == NULL);

  SourcePos p = source_map_pos(&sm, a, 0);
  CHECK(t, p.line == 1 && p.col == 1);
  p = source_map_pos(&sm, a, 2); /* the newline itself */
  CHECK(t, p.line == 1 && p.col == 3);
  p = source_map_pos(&sm, a, 3);
  CHECK(t, p.line == 2 && p.col == 1);
  p = source_map_pos(&sm, a, 6); /* empty line 3 */
  CHECK(t, p.line == 3 && p.col == 1);
  p = source_map_pos(&sm, a, 9);
  CHECK(t, p.line == 4 && p.col == 3);
  p = source_map_pos(&sm, a, 10); /* offset == len, no trailing newline */
  CHECK(t, p.line == 4 && p.col == 3);
  p = source_map_pos(&sm, a, 500); /* clamped to len */
  CHECK(t, p.line == 4 && p.col == 3);
  p = source_map_pos(&sm, b, 6); /* offset == len after a trailing newline */
  CHECK(t, p.line == 3 && p.col == 1);
  p = source_map_pos(&sm, e, 0);
  CHECK(t, p.line == 1 && p.col == 1);

  size_t len;
  const char *l = source_map_line(&sm, a, 2, &len);
  CHECK(t, len == 2 && strncmp(l, "cd", 2) == 0);
  l = source_map_line(&sm, a, 3, &len);
  CHECK(t, len == 0);
  l = source_map_line(&sm, a, 4, &len);
  CHECK(t, len == 2 && strncmp(l, "ef", 2) == 0);
  source_map_line(&sm, a, 5, &len);
  CHECK(t, len == 0);
  source_map_line(&sm, a, 0, &len);
  CHECK(t, len == 0);
  l = source_map_line(&sm, b, 1, &len); /* CRLF: the \r is not shown */
  CHECK(t, len == 1 && l[0] == 'x');
  source_map_line(&sm, b, 3, &len);
  CHECK(t, len == 0);

  Span s1 = {0, 5, 9}, s2 = {0, 2, 7};
  Span j = span_join(s1, s2);
  CHECK(t, j.file == 0 && j.start == 2 && j.end == 9);
  source_map_free(&sm);
  CHECK(t, sm.nfiles == 0 && sm.files == NULL);
}

/* Building diagnostics: counts, owned strings, code facts. */
static void test_diag_list(Tally *t) {
  DiagList dl;
  diag_list_init(&dl);
  Span s = {0, 1, 2};
  Diag *d = diag_add(&dl, DIAG_E0101, s, "unknown name `%s`", "foo");
  diag_set_label(d, "first %d", 1);
  diag_set_label(d, "not found in this %s", "scope"); /* replaces */
  diag_add_note(d, "note %d", 1);
  diag_add_note(d, "note %d", 2);
  diag_set_help(d, "did you mean `%s`?", "fob");
  diag_add_secondary(d, s, "here");
  diag_add(&dl, DIAG_W0408, s, "unused value `x`");
  diag_add_nospan(&dl, DIAG_E0702, "cannot read '%s'", "x.flow");
  CHECK(t, dl.n == 3 && dl.nerrors == 2 && dl.nwarnings == 1);
  CHECK_STR(t, dl.items[0].message, "unknown name `foo`");
  CHECK_STR(t, dl.items[0].primary.label, "not found in this scope");
  CHECK(t, dl.items[0].nnotes == 2 && dl.items[0].nsecondary == 1);
  CHECK_STR(t, dl.items[0].help, "did you mean `fob`?");
  CHECK(t, dl.items[0].has_span && !dl.items[2].has_span);
  CHECK(t, dl.items[1].severity == DIAG_WARNING);

  /* A long message: the formatter must size it exactly. */
  char big[3000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  d = diag_add(&dl, DIAG_E0001, s, "%s!", big);
  CHECK(t, strlen(d->message) == sizeof big && d->message[sizeof big - 1] == '!');

  CHECK_STR(t, diag_code_str(DIAG_E0106), "E0106");
  CHECK_STR(t, diag_code_title(DIAG_E0106), "unknown record field");
  CHECK(t, diag_code_severity(DIAG_W0305) == DIAG_WARNING);
  CHECK(t, diag_code_severity(DIAG_E0301) == DIAG_ERROR);
  DiagCode c;
  CHECK(t, diag_code_lookup("E0702", &c) && c == DIAG_E0702);
  CHECK(t, diag_code_lookup("w0408", &c) && c == DIAG_W0408);
  CHECK(t, !diag_code_lookup("E9999", &c));
  CHECK(t, !diag_code_lookup("", &c));
  CHECK(t, !diag_code_lookup("E010", &c));
  CHECK_STR(t, diag_severity_str(DIAG_ERROR), "error");
  CHECK_STR(t, diag_severity_str(DIAG_WARNING), "warning");
  CHECK_STR(t, diag_severity_str(DIAG_NOTE), "note");
  diag_list_free(&dl);
  CHECK(t, dl.n == 0 && dl.items == NULL && dl.nerrors == 0);
}

/* Sorting: located diagnostics by (file, start); ties keep insertion order;
 * diagnostics without a location come first. */
static void test_sort(Tally *t) {
  DiagList dl;
  diag_list_init(&dl);
  Span f1_10 = {1, 10, 11}, f0_20 = {0, 20, 21}, f0_5 = {0, 5, 6};
  diag_add(&dl, DIAG_E0201, f1_10, "a");
  diag_add(&dl, DIAG_E0201, f0_20, "b");
  diag_add(&dl, DIAG_E0101, f0_5, "c");
  diag_add(&dl, DIAG_E0001, f0_20, "d"); /* same place as b, added later */
  diag_add_nospan(&dl, DIAG_E0702, "e");
  diag_add(&dl, DIAG_E0001, f0_5, "f"); /* same place as c, lower code */
  for (int i = 0; i < 20; i++) diag_add(&dl, DIAG_E0001, f1_10, "g");
  diag_list_sort(&dl);
  const char *want[] = {"e", "c", "f", "b", "d", "a"};
  for (size_t i = 0; i < 6; i++) CHECK_STR(t, dl.items[i].message, want[i]);
  for (size_t i = 6; i < dl.n; i++) CHECK_STR(t, dl.items[i].message, "g");
  CHECK(t, dl.nerrors == 26);
  diag_list_free(&dl);
}

/* embedded_find on a hand-made table. */
static void test_embedded_find(Tally *t) {
  const EmbeddedFile table[] = {{"E0101", "a", 1}, {"E0102", "bb", 2}};
  CHECK(t, embedded_find(table, 2, "E0102") == &table[1]);
  CHECK(t, embedded_find(table, 2, "E0103") == NULL);
  CHECK(t, embedded_find(table, 0, "E0101") == NULL);
}

/* The text layout of the reference example (docs/diagnostics.md). */
static void test_text_basic(Tally *t) {
  SourceMap sm;
  source_map_init(&sm);
  const char *src =
      "type Ticket { subject: string }\n\n\n\n\n\n\n\n\n\n"
      "prompt p(t: Ticket) -> string {\n"
      "  user \"\"\"\n"
      "    Subject: {{ t.subjet }}\n"
      "  \"\"\"\n}\n";
  /* line 11 is "prompt ...", line 13 the template. */
  uint32_t f = add_file(&sm, "examples/x.flow", src);
  DiagList dl;
  diag_list_init(&dl);
  Span sp = find_span(&sm, f, "subjet", 6);
  SourcePos pos = source_map_pos(&sm, f, sp.start);
  CHECK(t, pos.line == 13 && pos.col == 19);
  Diag *d = diag_add(&dl, DIAG_E0106, sp, "unknown field `subjet` on record `Ticket`");
  diag_set_label(d, "no field `subjet`");
  diag_add_note(d, "`Ticket` has the fields `subject`");
  diag_set_help(d, "did you mean `subject`?");
  char *out = render_text(&sm, &dl, false);
  CHECK_STR(t, out,
            "error[E0106]: unknown field `subjet` on record `Ticket`\n"
            "  --> examples/x.flow:13:19\n"
            "   |\n"
            "13 |     Subject: {{ t.subjet }}\n"
            "   |                   ^^^^^^ no field `subjet`\n"
            "   |\n"
            "   = note: `Ticket` has the fields `subject`\n"
            "   = help: did you mean `subject`?\n"
            "\n"
            "error: aborting due to 1 previous error\n");
  free(out);

  /* The same with colour: escape sequences around each part. */
  out = render_text(&sm, &dl, true);
  CHECK_STR(t, out,
            "\033[1;31merror[E0106]\033[0m\033[1m: unknown field `subjet` on record "
            "`Ticket`\033[0m\n"
            "  \033[1;34m-->\033[0m examples/x.flow:13:19\n"
            "  \033[1;34m |\033[0m\n"
            "\033[1;34m13 |\033[0m     Subject: {{ t.subjet }}\n"
            "  \033[1;34m |\033[0m                   \033[1;31m^^^^^^ no field "
            "`subjet`\033[0m\n"
            "  \033[1;34m |\033[0m\n"
            "  \033[1;34m =\033[0m \033[1mnote\033[0m: `Ticket` has the fields `subject`\n"
            "  \033[1;34m =\033[0m \033[1;32mhelp\033[0m: did you mean `subject`?\n"
            "\n"
            "\033[1;31merror\033[0m\033[1m: aborting due to 1 previous error\033[0m\n");
  free(out);
  diag_list_free(&dl);

  /* An empty list prints nothing at all. */
  out = render_text(&sm, &dl, false);
  CHECK_STR(t, out, "");
  free(out);
  source_map_free(&sm);
}

/* Tabs are expanded in the line and the underline alike; a span that runs
 * onto later lines is underlined to the end of its first line; a zero-width
 * span gets one caret, also at the end of a file. */
static void test_text_layout(Tally *t) {
  SourceMap sm;
  source_map_init(&sm);
  uint32_t a = add_file(&sm, "tabs.flow", "flow main() -> int {\n\tlet x =\ty\n}");
  uint32_t b = add_file(&sm, "eof.flow", "type T {");
  uint32_t c = add_file(&sm, "eofnl.flow", "type T {\n");
  DiagList dl;
  diag_list_init(&dl);
  Diag *d = diag_add(&dl, DIAG_E0101, find_span(&sm, a, "y", 1), "unknown name `y`");
  diag_set_label(d, "not found");
  Span multi = find_span(&sm, a, "main", 4);
  multi.end = (uint32_t)source_map_file(&sm, a)->len; /* to the end of the file */
  d = diag_add(&dl, DIAG_E0402, multi, "a flow path yields nothing");
  diag_set_label(d, "this flow");
  Span eof = {b, 8, 8};
  d = diag_add(&dl, DIAG_E0003, eof, "unclosed delimiter");
  diag_set_label(d, "expected `}`");
  diag_add_secondary(d, find_span(&sm, b, "{", 1), "opened here");
  Span eofnl = {c, 9, 9};
  diag_add(&dl, DIAG_E0003, eofnl, "unclosed delimiter");
  char *out = render_text(&sm, &dl, false);
  CHECK_STR(t, out,
            "error[E0101]: unknown name `y`\n"
            " --> tabs.flow:2:10\n"
            "  |\n"
            "2 |     let x =    y\n"
            "  |                ^ not found\n"
            "\n"
            "error[E0402]: a flow path yields nothing\n"
            " --> tabs.flow:1:6\n"
            "  |\n"
            "1 | flow main() -> int {\n"
            "  |      ^^^^^^^^^^^^^^^ this flow\n"
            "\n"
            "error[E0003]: unclosed delimiter\n"
            " --> eof.flow:1:9\n"
            "  |\n"
            "1 | type T {\n"
            "  |        - opened here\n"
            "  |         ^ expected `}`\n"
            "\n"
            "error[E0003]: unclosed delimiter\n"
            " --> eofnl.flow:2:1\n"
            "  |\n"
            "2 |\n"
            "  | ^\n"
            "\n"
            "error: aborting due to 4 previous errors\n");
  free(out);
  diag_list_free(&dl);
  source_map_free(&sm);
}

/* Secondary labels: on other lines of the same file (with a one-line gap
 * filled in and a longer gap elided), in another file (":::"), and the
 * gutter width taken from the largest line number shown. Also a warning,
 * a diagnostic without a location, and the mixed summary. */
static void test_text_secondary(Tally *t) {
  SourceMap sm;
  source_map_init(&sm);
  char src[512] = "model fast { provider: openai }\n";
  for (int i = 2; i <= 9; i++) strcat(src, "\n");
  strcat(src, "model fast { provider: mock }\n"); /* line 10 */
  strcat(src, "// gap\n");                        /* line 11 */
  strcat(src, "let z = fast\n");                  /* line 12 */
  uint32_t a = add_file(&sm, "a.flow", src);
  uint32_t b = add_file(&sm, "lib/b.flow", "type T { a: string }\n");
  DiagList dl;
  diag_list_init(&dl);
  Span second = find_span(&sm, a, "fast { provider: mock", 4);
  Diag *d = diag_add(&dl, DIAG_E0102, second, "duplicate declaration `fast`");
  diag_set_label(d, "declared again here");
  diag_add_secondary(d, find_span(&sm, a, "fast", 4), "first declared here");
  diag_add_secondary(d, find_span(&sm, a, "z = fast", 1), "used here");
  diag_add_secondary(d, find_span(&sm, b, "T", 1), "and a type");
  d = diag_add(&dl, DIAG_W0408, find_span(&sm, b, "a:", 1), "unused value `a`");
  d = diag_add_nospan(&dl, DIAG_E0702, "cannot read 'gone.flow': No such file or directory");
  diag_add_note(d, "imported from the command line");
  char *out = render_text(&sm, &dl, false);
  CHECK_STR(t, out,
            "error[E0102]: duplicate declaration `fast`\n"
            "  --> a.flow:10:7\n"
            "   |\n"
            " 1 | model fast { provider: openai }\n"
            "   |       ---- first declared here\n"
            "...\n"
            "10 | model fast { provider: mock }\n"
            "   |       ^^^^ declared again here\n"
            "11 | // gap\n"
            "12 | let z = fast\n"
            "   |     - used here\n"
            "   |\n"
            "  ::: lib/b.flow:1:6\n"
            "   |\n"
            " 1 | type T { a: string }\n"
            "   |      - and a type\n"
            "\n"
            "warning[W0408]: unused value `a`\n"
            " --> lib/b.flow:1:10\n"
            "  |\n"
            "1 | type T { a: string }\n"
            "  |          ^\n"
            "\n"
            "error[E0702]: cannot read 'gone.flow': No such file or directory\n"
            "  |\n"
            "  = note: imported from the command line\n"
            "\n"
            "error: aborting due to 2 previous errors; 1 warning emitted\n");
  free(out);
  diag_list_free(&dl);

  /* Warnings only. */
  diag_add(&dl, DIAG_W0408, find_span(&sm, b, "a:", 1), "unused value `a`");
  diag_add(&dl, DIAG_W0408, find_span(&sm, b, "a:", 1), "unused value `a`");
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  diag_render_text_summary(f, dl.nerrors, dl.nwarnings, false);
  diag_render_text_summary(f, 0, 0, false);
  diag_render_text_summary(f, 1, 1, false);
  fclose(f);
  CHECK_STR(t, buf,
            "warning: 2 warnings emitted\n"
            "error: aborting due to 1 previous error; 1 warning emitted\n");
  free(buf);
  diag_list_free(&dl);
  source_map_free(&sm);
}

/* Invalid UTF-8 and control bytes are shown as U+FFFD, one column each, and
 * a valid multi-byte character is one column: the caret stays aligned. */
static void test_text_bytes(Tally *t) {
  SourceMap sm;
  source_map_init(&sm);
  uint32_t f = source_map_add(&sm, "u.flow", "a\x80" "b\t\xC3\xA9\x01x\n", 9);
  DiagList dl;
  diag_list_init(&dl);
  diag_add(&dl, DIAG_E0101, find_span(&sm, f, "x", 1), "unknown name `x`");
  char *out = render_text(&sm, &dl, false);
  CHECK_STR(t, out,
            "error[E0101]: unknown name `x`\n"
            " --> u.flow:1:8\n"
            "  |\n"
            "1 | a\xEF\xBF\xBD" "b    \xC3\xA9\xEF\xBF\xBDx\n"
            "  |          ^\n"
            "\n"
            "error: aborting due to 1 previous error\n");
  free(out);
  diag_list_free(&dl);
  source_map_free(&sm);
}

/* A very long line is shown as a window around the annotation, with "..."
 * marking the cut-off parts, and the carets still line up. */
static void test_text_long_line(Tally *t) {
  char src[1002];
  memset(src, 'a', 1000);
  memcpy(src + 500, "BAD", 3);
  src[1000] = '\n';
  src[1001] = '\0';
  SourceMap sm;
  source_map_init(&sm);
  uint32_t f = add_file(&sm, "long.flow", src);
  DiagList dl;
  diag_list_init(&dl);
  Diag *d = diag_add(&dl, DIAG_E0101, find_span(&sm, f, "BAD", 3), "unknown name `BAD`");
  diag_set_label(d, "here");
  char *out = render_text(&sm, &dl, false);
  /* The window is bytes [460, 620): 40 bytes of context before `BAD`. */
  char want[1024];
  int n = snprintf(want, sizeof want, "error[E0101]: unknown name `BAD`\n --> long.flow:1:501\n  |\n1 | ...");
  memcpy(want + n, src + 460, 160);
  n += 160;
  n += snprintf(want + n, sizeof want - (size_t)n, "...\n  | %43s^^^ here\n\n", "");
  snprintf(want + n, sizeof want - (size_t)n, "error: aborting due to 1 previous error\n");
  CHECK_STR(t, out, want);
  free(out);
  diag_list_free(&dl);
  source_map_free(&sm);
}

/* The JSON document: key order, positions, labels, notes, null help, a
 * diagnostic without location, and repair of invalid UTF-8. */
static void test_json(Tally *t) {
  SourceMap sm;
  source_map_init(&sm);
  uint32_t a = add_file(&sm, "dir/a.flow", "type T {\n  a: strin\n}\n");
  DiagList dl;
  diag_list_init(&dl);
  Diag *d = diag_add(&dl, DIAG_E0103, find_span(&sm, a, "strin", 5), "unknown type `strin`");
  diag_set_label(d, "not a type");
  diag_add_secondary(d, find_span(&sm, a, "T", 1), "in this record");
  diag_add_note(d, "types are declared with `type` or `enum`");
  diag_set_help(d, "did you mean `string`?");
  diag_add(&dl, DIAG_W0409, find_span(&sm, a, "T", 1), "unused declaration `T`");
  diag_add_nospan(&dl, DIAG_E0702, "bad byte \xff here");

  json_t *j = render_json(t, &sm, &dl, false);
  if (!j) return;
  static const char *const top[] = {"version", "diagnostics", "errors", "warnings", NULL};
  static const char *const keys[] = {"code",  "severity",  "message", "file", "span",
                                     "label", "secondary", "notes",   "help", NULL};
  static const char *const spank[] = {"start", "end", NULL};
  static const char *const posk[] = {"line", "column", "offset", NULL};
  static const char *const seck[] = {"file", "span", "label", NULL};
  CHECK(t, keys_are(j, top));
  CHECK(t, jint(j, "version") == 1 && jint(j, "errors") == 2 && jint(j, "warnings") == 1);
  json_t *list = json_object_get(j, "diagnostics");
  CHECK(t, json_array_size(list) == 3);
  json_t *d0 = json_array_get(list, 0);
  CHECK(t, keys_are(d0, keys));
  CHECK_STR(t, jstring(d0, "code"), "E0103");
  CHECK_STR(t, jstring(d0, "severity"), "error");
  CHECK_STR(t, jstring(d0, "message"), "unknown type `strin`");
  CHECK_STR(t, jstring(d0, "file"), "dir/a.flow");
  CHECK_STR(t, jstring(d0, "label"), "not a type");
  CHECK_STR(t, jstring(d0, "help"), "did you mean `string`?");
  json_t *span = json_object_get(d0, "span");
  CHECK(t, keys_are(span, spank));
  json_t *start = json_object_get(span, "start"), *end = json_object_get(span, "end");
  CHECK(t, keys_are(start, posk) && keys_are(end, posk));
  CHECK(t, jint(start, "line") == 2 && jint(start, "column") == 6 && jint(start, "offset") == 14);
  CHECK(t, jint(end, "line") == 2 && jint(end, "column") == 11 && jint(end, "offset") == 19);
  json_t *sec = json_object_get(d0, "secondary");
  CHECK(t, json_array_size(sec) == 1 && keys_are(json_array_get(sec, 0), seck));
  CHECK_STR(t, jstring(json_array_get(sec, 0), "label"), "in this record");
  json_t *notes = json_object_get(d0, "notes");
  CHECK(t, json_array_size(notes) == 1 &&
               strcmp(json_string_value(json_array_get(notes, 0)),
                      "types are declared with `type` or `enum`") == 0);
  json_t *d1 = json_array_get(list, 1);
  CHECK_STR(t, jstring(d1, "severity"), "warning");
  CHECK(t, json_is_null(json_object_get(d1, "label")) && json_is_null(json_object_get(d1, "help")));
  CHECK(t, json_array_size(json_object_get(d1, "notes")) == 0);
  json_t *d2 = json_array_get(list, 2);
  CHECK(t, keys_are(d2, keys));
  CHECK(t, json_is_null(json_object_get(d2, "file")) && json_is_null(json_object_get(d2, "span")));
  CHECK_STR(t, jstring(d2, "message"), "bad byte \xEF\xBF\xBD here");
  json_decref(j);

  /* Several compilations in one document. */
  DiagList empty;
  diag_list_init(&empty);
  DiagUnit units[2] = {{&sm, &dl}, {&sm, &empty}};
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  diag_render_json_units(f, units, 2);
  diag_render_json_units(f, units + 1, 1);
  fclose(f);
  json_error_t err;
  j = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &err);
  CHECK(t, j && json_array_size(json_object_get(j, "diagnostics")) == 3);
  json_decref(j);
  CHECK(t, strstr(buf, "}\n{") != NULL); /* each document ends with a newline */
  CHECK(t, strstr(buf, "\"diagnostics\": []") != NULL);
  free(buf);
  diag_list_free(&dl);
  source_map_free(&sm);
}

/* SARIF: the log skeleton, one rule per code used, result locations with
 * exclusive end columns counted in code points, related locations, help in
 * the message, and URI escaping of paths. */
static void test_sarif(Tally *t) {
  SourceMap sm;
  source_map_init(&sm);
  uint32_t a = add_file(&sm, "my dir/a b.flow", "let s = \"\xC3\xA9t\xC3\xA9\" + x\n");
  uint32_t b = add_file(&sm, "/abs/c.flow", "type T {}\n");
  DiagList dl;
  diag_list_init(&dl);
  Diag *d = diag_add(&dl, DIAG_E0101, find_span(&sm, a, "x", 1), "unknown name `x`");
  diag_set_label(d, "not found");
  diag_set_help(d, "declare it first");
  diag_add_secondary(d, find_span(&sm, b, "T", 1), "a type");
  diag_add(&dl, DIAG_W0409, find_span(&sm, b, "T", 1), "unused declaration `T`");
  diag_add(&dl, DIAG_E0101, find_span(&sm, b, "type", 4), "again");

  json_t *j = render_json(t, &sm, &dl, true);
  if (!j) return;
  CHECK_STR(t, jstring(j, "$schema"), "https://json.schemastore.org/sarif-2.1.0.json");
  CHECK_STR(t, jstring(j, "version"), "2.1.0");
  json_t *runs = json_object_get(j, "runs");
  CHECK(t, json_array_size(runs) == 1);
  json_t *run = json_array_get(runs, 0);
  CHECK_STR(t, jstring(run, "columnKind"), "unicodeCodePoints");
  json_t *driver = json_object_get(json_object_get(run, "tool"), "driver");
  CHECK_STR(t, jstring(driver, "name"), "flowc");
  CHECK_STR(t, jstring(driver, "version"), "9.9.9");
  json_t *rules = json_object_get(driver, "rules");
  CHECK(t, json_array_size(rules) == 2); /* E0101 once, W0409 */
  json_t *r0 = json_array_get(rules, 0), *r1 = json_array_get(rules, 1);
  CHECK_STR(t, jstring(r0, "id"), "E0101");
  CHECK_STR(t, jstring(r0, "name"), "UnknownName");
  CHECK_STR(t, jstring(json_object_get(r0, "shortDescription"), "text"), "unknown name");
  CHECK(t, jstring(json_object_get(r0, "help"), "text") != NULL);
  CHECK_STR(t, jstring(r1, "id"), "W0409");
  CHECK_STR(t, jstring(json_object_get(r1, "defaultConfiguration"), "level"), "warning");

  json_t *results = json_object_get(run, "results");
  CHECK(t, json_array_size(results) == 3);
  json_t *res = json_array_get(results, 0);
  CHECK_STR(t, jstring(res, "ruleId"), "E0101");
  CHECK(t, jint(res, "ruleIndex") == 0);
  CHECK_STR(t, jstring(res, "level"), "error");
  CHECK_STR(t, jstring(json_object_get(res, "message"), "text"),
            "unknown name `x` \xE2\x80\x94 help: declare it first");
  json_t *phys =
      json_object_get(json_array_get(json_object_get(res, "locations"), 0), "physicalLocation");
  CHECK_STR(t, jstring(json_object_get(phys, "artifactLocation"), "uri"), "my%20dir/a%20b.flow");
  json_t *region = json_object_get(phys, "region");
  /* `x` is byte column 19 but code point column 17 (two 2-byte letters). */
  CHECK(t, jint(region, "startLine") == 1 && jint(region, "startColumn") == 17);
  CHECK(t, jint(region, "endLine") == 1 && jint(region, "endColumn") == 18);
  json_t *rel = json_object_get(res, "relatedLocations");
  CHECK(t, json_array_size(rel) == 1);
  json_t *rel0 = json_array_get(rel, 0);
  CHECK(t, jint(rel0, "id") == 0);
  CHECK_STR(t, jstring(json_object_get(rel0, "message"), "text"), "a type");
  CHECK_STR(t,
            jstring(json_object_get(json_object_get(rel0, "physicalLocation"), "artifactLocation"),
                    "uri"),
            "file:///abs/c.flow");
  json_t *res1 = json_array_get(results, 1);
  CHECK_STR(t, jstring(res1, "level"), "warning");
  CHECK(t, jint(res1, "ruleIndex") == 1);
  CHECK(t, json_object_get(res1, "relatedLocations") == NULL);
  CHECK(t, jint(json_array_get(results, 2), "ruleIndex") == 0);
  json_decref(j);

  /* No diagnostics: still a valid log with an empty result list. */
  DiagList empty;
  diag_list_init(&empty);
  j = render_json(t, &sm, &empty, true);
  if (j) {
    json_t *run0 = json_array_get(json_object_get(j, "runs"), 0);
    CHECK(t, json_array_size(json_object_get(run0, "results")) == 0);
    json_decref(j);
  }
  diag_list_free(&dl);
  source_map_free(&sm);
}

int main(void) {
  Tally t = {0, 0};
  test_source_map(&t);
  test_diag_list(&t);
  test_sort(&t);
  test_embedded_find(&t);
  test_text_basic(&t);
  test_text_layout(&t);
  test_text_secondary(&t);
  test_text_long_line(&t);
  test_text_bytes(&t);
  test_json(&t);
  test_sarif(&t);
  printf("%d passed, %d failed\n", t.passed, t.failed);
  return t.failed ? 1 : 0;
}
