/* diag_render.c - prints diagnostic lists as rustc-style text, as JSON and
 * as SARIF 2.1.0 (see docs/diagnostics.md for the layouts and schemas).
 *
 * This is the only module that prints diagnostics; the front end hands over
 * DiagLists and SourceMaps and never formats anything itself. */
#include "arena.h"
#include "diag_render.h"
#include "textbuf.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * Shared helpers
 * ------------------------------------------------------------------------- */

/* Whether `span` points into a file that `sm` holds (a defensive check:
 * a span with a bad file id is rendered as if it had no location). */
static bool render_span_ok(const SourceMap *sm, Span span) {
  return source_map_file(sm, span.file) != NULL;
}

/* Length of the valid UTF-8 sequence at `s` (which has `n` bytes left), or
 * 0 when the bytes there are not valid UTF-8. NUL is not valid here: it is
 * shown as a replacement character. */
static size_t text_seq_len(const unsigned char *s, size_t n) { return s[0] ? utf8_seq_len(s, n) : 0; }

/* ---------------------------------------------------------------------------
 * Text
 * ------------------------------------------------------------------------- */

#define ANSI_RESET "\033[0m"
#define ANSI_BOLD "\033[1m"
#define ANSI_RED "\033[1;31m"
#define ANSI_YELLOW "\033[1;33m"
#define ANSI_BLUE "\033[1;34m"
#define ANSI_GREEN "\033[1;32m"

/* Width of a tab in the rendered source line (each tab becomes this many
 * spaces, in the line and in the underline row alike). */
#define TEXT_TAB_WIDTH 4

/* The colour state of one rendering: escape sequences, or empty strings. */
typedef struct Palette {
  const char *reset, *bold, *error, *warning, *note, *gutter, *help;
} Palette;

static Palette text_palette(bool color) {
  Palette p;
  if (color) {
    p.reset = ANSI_RESET, p.bold = ANSI_BOLD, p.error = ANSI_RED, p.warning = ANSI_YELLOW;
    p.note = ANSI_BOLD, p.gutter = ANSI_BLUE, p.help = ANSI_GREEN;
  } else {
    p.reset = p.bold = p.error = p.warning = p.note = p.gutter = p.help = "";
  }
  return p;
}

/* The colour of a severity's name and of its primary underline. */
static const char *text_sev_color(const Palette *p, DiagSeverity s) {
  switch (s) {
  case DIAG_ERROR: return p->error;
  case DIAG_WARNING: return p->warning;
  case DIAG_NOTE: return p->note;
  }
  return p->error;
}

/* One annotated span of a diagnostic, with its positions resolved. */
typedef struct TextAnnot {
  Span span;
  const char *label; /* borrowed, may be NULL */
  bool primary;
  size_t order;      /* position in the diagnostic: primary 0, secondaries 1.. */
  SourcePos start;
  SourcePos end;
} TextAnnot;

/* One displayed character of a source line at `s` (with `n` bytes left):
 * sets `*adv` to the bytes it takes and returns its width in columns. A tab
 * is TEXT_TAB_WIDTH columns; a control character, and each byte that is not
 * part of valid UTF-8, is shown as U+FFFD (one column); a valid UTF-8
 * sequence is one column (wide characters are not measured). */
static size_t text_char(const char *s, size_t n, size_t *adv) {
  unsigned char c = (unsigned char)s[0];
  *adv = 1;
  if (c == '\t') return TEXT_TAB_WIDTH;
  if (c < 0x20 || c == 0x7F) return 1;
  size_t len = text_seq_len((const unsigned char *)s, n);
  if (len) *adv = len;
  return 1;
}

/* Display width of the first `n` bytes of a line of length `len`; bytes
 * past the end of the line (the newline, end of file) count one each. */
static size_t text_width(const char *line, size_t len, size_t n) {
  size_t w = 0, adv;
  for (size_t i = 0; i < n; i += adv) {
    if (i >= len) {
      w++;
      adv = 1;
    } else {
      w += text_char(line + i, len - i, &adv);
    }
  }
  return w;
}

/* Write one source line as text_char measures it: tabs expanded, control
 * characters and invalid UTF-8 replaced by U+FFFD, so that the terminal
 * shows exactly what the underline row counts. */
static void text_put_source(FILE *out, const char *line, size_t len) {
  size_t adv;
  for (size_t i = 0; i < len; i += adv) {
    size_t width = text_char(line + i, len - i, &adv);
    unsigned char c = (unsigned char)line[i];
    if (c == '\t')
      fprintf(out, "%*s", (int)width, "");
    else if (adv == 1 && (c < 0x20 || c >= 0x7F))
      fputs("\xEF\xBF\xBD", out);
    else
      fwrite(line + i, 1, adv, out);
  }
}

/* Number of decimal digits of `n` (at least 1). */
static int text_digits(uint32_t n) {
  int d = 1;
  while (n >= 10) n /= 10, d++;
  return d;
}

/* The gutter of a row without a line number: "   |" for width 2. */
static void text_gutter(FILE *out, const Palette *p, int w) {
  fprintf(out, "%*s%s |%s", w, "", p->gutter, p->reset);
}

/* Source lines longer than this many bytes are shown as a window of this
 * size, starting a little before the first annotation, with "..." marking
 * what is cut off; this keeps output linear even for huge one-line files. */
#define TEXT_MAX_LINE 160
#define TEXT_CONTEXT 40

/* The shown part of a source line: bytes [lo, hi) of text[0..len). */
typedef struct LineWindow {
  const char *text;
  size_t len, lo, hi;
} LineWindow;

/* The window of line `line` of `file` for annotations `annots[0..n)` (on
 * that line, sorted by column; n may be 0). Short lines are shown whole. */
static LineWindow text_window(SourceMap *sm, uint32_t file, uint32_t line, const TextAnnot *annots,
                              size_t n) {
  LineWindow win;
  win.text = source_map_line(sm, file, line, &win.len);
  win.lo = 0;
  win.hi = win.len;
  if (win.len <= TEXT_MAX_LINE) return win;
  size_t first = n ? annots[0].start.col - 1 : 0;
  if (first > win.len) first = win.len;
  win.lo = first > TEXT_CONTEXT ? first - TEXT_CONTEXT : 0;
  win.hi = win.lo + TEXT_MAX_LINE < win.len ? win.lo + TEXT_MAX_LINE : win.len;
  if (win.hi == win.len) win.lo = win.len - TEXT_MAX_LINE;
  /* Do not cut a UTF-8 sequence in two. */
  while (win.lo > 0 && ((unsigned char)win.text[win.lo] & 0xC0) == 0x80) win.lo--;
  while (win.hi < win.len && ((unsigned char)win.text[win.hi] & 0xC0) == 0x80) win.hi++;
  return win;
}

/* A source row: line number, bar, and the window of the line's text. */
static void text_source_row(FILE *out, const Palette *p, int w, uint32_t line,
                            const LineWindow *win) {
  fprintf(out, "%s%*u |%s", p->gutter, w, (unsigned)line, p->reset);
  if (win->len) {
    fputs(win->lo > 0 ? " ..." : " ", out);
    text_put_source(out, win->text + win->lo, win->hi - win->lo);
    if (win->hi < win->len) fputs("...", out);
  }
  fputc('\n', out);
}

/* The underline row of one annotation: spaces up to its start column, then
 * `^` (primary) or `-` (secondary) for its width on this line, then the
 * label. A span reaching past the end of its first line (or of the shown
 * window) is underlined to that end; a zero-width span gets a single mark. */
static void text_underline_row(FILE *out, const Palette *p, int w, const LineWindow *win,
                               const TextAnnot *a, DiagSeverity sev) {
  const char *text = win->text;
  size_t len = win->len;
  size_t start = a->start.col - 1;
  size_t end = a->end.line == a->start.line ? a->end.col - 1 : len;
  if (win->hi < len && end > win->hi) end = win->hi;
  if (end < start) end = start;
  size_t lo = start < win->lo ? start : win->lo;
  size_t pad = (lo > 0 ? 3 : 0) + text_width(text + lo, len - lo, start - lo);
  size_t width = text_width(text + (start < len ? start : len), start < len ? len - start : 0,
                            end - start);
  if (width == 0) width = 1;
  const char *color = a->primary ? text_sev_color(p, sev) : p->gutter;
  text_gutter(out, p, w);
  fprintf(out, " %*s%s", (int)pad, "", color);
  for (size_t i = 0; i < width; i++) fputc(a->primary ? '^' : '-', out);
  if (a->label && a->label[0]) fprintf(out, " %s", a->label);
  fprintf(out, "%s\n", p->reset);
}

/* qsort order for annotations: by file group handled by the caller; here by
 * line, then column, then position in the diagnostic (primary first). */
static int text_annot_cmp(const void *va, const void *vb) {
  const TextAnnot *a = va, *b = vb;
  if (a->start.line != b->start.line) return a->start.line < b->start.line ? -1 : 1;
  if (a->start.col != b->start.col) return a->start.col < b->start.col ? -1 : 1;
  return a->order < b->order ? -1 : a->order > b->order;
}

/* Print the snippet of one file: its source lines that carry annotations,
 * in order, each followed by one underline row per annotation. A gap of a
 * single line is filled in; a longer gap is shown as "...". `annots` are all
 * in the same file. */
static void text_snippet(FILE *out, const Palette *p, int w, SourceMap *sm, TextAnnot *annots,
                         size_t n, DiagSeverity sev) {
  qsort(annots, n, sizeof *annots, text_annot_cmp);
  uint32_t file = annots[0].span.file;
  uint32_t prev = 0;
  for (size_t i = 0; i < n;) {
    uint32_t line = annots[i].start.line;
    size_t j = i;
    while (j < n && annots[j].start.line == line) j++;
    if (prev && line == prev + 2) {
      LineWindow gap = text_window(sm, file, prev + 1, NULL, 0);
      text_source_row(out, p, w, prev + 1, &gap);
    } else if (prev && line > prev + 2) {
      fprintf(out, "%s...%s\n", p->gutter, p->reset);
    }
    LineWindow win = text_window(sm, file, line, annots + i, j - i);
    text_source_row(out, p, w, line, &win);
    for (; i < j; i++) text_underline_row(out, p, w, &win, &annots[i], sev);
    prev = line;
  }
}

/* Print one diagnostic: header, snippets (the primary's file first, then
 * every other file in order of first mention, each introduced by ":::"),
 * then notes and help, then a blank line. */
/* One diagnostic; `title` replaces "error[E0101]" in its heading when given. */
static void text_render_one(FILE *out, const Palette *p, SourceMap *sm, const Diag *d, const char *title) {
  const char *sc = text_sev_color(p, d->severity);
  if (title)
    fprintf(out, "%s%s%s%s: %s%s\n", sc, title, p->reset, p->bold, d->message ? d->message : "", p->reset);
  else
    fprintf(out, "%s%s[%s]%s%s: %s%s\n", sc, diag_severity_str(d->severity), diag_code_str(d->code), p->reset,
            p->bold, d->message ? d->message : "", p->reset);

  /* Collect the annotations that point into known files. */
  size_t n = 0;
  TextAnnot *annots = xrealloc(NULL, (d->nsecondary + 1) * sizeof *annots);
  for (size_t i = 0; i <= d->nsecondary; i++) {
    const DiagLabel *l = i == 0 ? &d->primary : &d->secondary[i - 1];
    if ((i == 0 && !d->has_span) || !render_span_ok(sm, l->span)) continue;
    TextAnnot *a = &annots[n++];
    a->span = l->span;
    a->label = l->label;
    a->primary = i == 0;
    a->order = i;
    a->start = source_map_pos(sm, l->span.file, l->span.start);
    a->end = source_map_pos(sm, l->span.file, l->span.end < l->span.start ? l->span.start
                                                                          : l->span.end);
  }

  uint32_t maxline = 1;
  for (size_t i = 0; i < n; i++)
    if (annots[i].start.line > maxline) maxline = annots[i].start.line;
  int w = text_digits(maxline);

  /* Group by file: stable-partition so that each file's annotations are
   * contiguous, files in order of first appearance (the primary's first). */
  TextAnnot *grouped = xrealloc(NULL, (n ? n : 1) * sizeof *grouped);
  size_t ng = 0;
  for (size_t i = 0; i < n; i++) {
    bool seen = false;
    for (size_t j = 0; j < i; j++) seen = seen || annots[j].span.file == annots[i].span.file;
    if (seen) continue;
    for (size_t j = i; j < n; j++)
      if (annots[j].span.file == annots[i].span.file) grouped[ng++] = annots[j];
  }

  for (size_t g = 0; g < ng;) {
    size_t end = g;
    while (end < ng && grouped[end].span.file == grouped[g].span.file) end++;
    const SourceFile *f = source_map_file(sm, grouped[g].span.file);
    /* The location shown is the primary's, or the group's first line. */
    const TextAnnot *loc = &grouped[g];
    for (size_t j = g; j < end; j++)
      if (grouped[j].primary ||
          (!loc->primary && text_annot_cmp(&grouped[j], loc) < 0))
        loc = &grouped[j];
    if (g > 0) { /* a separator row between the snippets of two files */
      text_gutter(out, p, w);
      fputc('\n', out);
    }
    fprintf(out, "%*s%s%s%s %s:%u:%u\n", w, "", p->gutter,
            g == 0 ? "-->" : ":::", p->reset, f->path, (unsigned)loc->start.line,
            (unsigned)loc->start.col);
    text_gutter(out, p, w);
    fputc('\n', out);
    text_snippet(out, p, w, sm, grouped + g, end - g, d->severity);
    g = end;
  }
  free(grouped);
  free(annots);

  if (d->nnotes || d->help) {
    text_gutter(out, p, w);
    fputc('\n', out);
  }
  for (size_t i = 0; i < d->nnotes; i++)
    fprintf(out, "%*s%s =%s %snote%s: %s\n", w, "", p->gutter, p->reset, p->bold, p->reset,
            d->notes[i]);
  if (d->help)
    fprintf(out, "%*s%s =%s %shelp%s: %s\n", w, "", p->gutter, p->reset, p->help, p->reset,
            d->help);
  fputc('\n', out);
}

void diag_render_text_diags(FILE *out, SourceMap *sm, const DiagList *dl, bool color) {
  Palette p = text_palette(color);
  for (size_t i = 0; i < dl->n; i++) text_render_one(out, &p, sm, &dl->items[i], NULL);
  if (dl->dropped)
    fprintf(out, "%snote%s: %zu more diagnostic%s for `%s` not shown (at most %zu are kept per program)\n\n",
            p.bold, p.reset, dl->dropped, dl->dropped == 1 ? "" : "s",
            sm->nfiles ? source_map_file(sm, 0)->path : "?", dl->limit);
}

void diag_render_text_titled(FILE *out, SourceMap *sm, const Diag *d, const char *title, bool color) {
  Palette p = text_palette(color);
  text_render_one(out, &p, sm, d, title);
}

void diag_render_text_summary(FILE *out, size_t nerrors, size_t nwarnings, bool color) {
  Palette p = text_palette(color);
  if (nerrors) {
    fprintf(out, "%serror%s%s: aborting due to %zu previous error%s", p.error, p.reset, p.bold,
            nerrors, nerrors == 1 ? "" : "s");
    if (nwarnings) fprintf(out, "; %zu warning%s emitted", nwarnings, nwarnings == 1 ? "" : "s");
    fprintf(out, "%s\n", p.reset);
  } else if (nwarnings) {
    fprintf(out, "%swarning%s%s: %zu warning%s emitted%s\n", p.warning, p.reset, p.bold,
            nwarnings, nwarnings == 1 ? "" : "s", p.reset);
  }
}

void diag_render_text(FILE *out, SourceMap *sm, const DiagList *dl, bool color) {
  diag_render_text_diags(out, sm, dl, color);
  diag_render_text_summary(out, dl->nerrors, dl->nwarnings, color);
}

/* ---------------------------------------------------------------------------
 * JSON values shared by the JSON and SARIF renderers
 * ------------------------------------------------------------------------- */

/* A JSON string for `s` (JSON null for NULL). Invalid UTF-8, which jansson
 * refuses, is repaired by replacing each bad byte with U+FFFD. New ref. */
static json_t *jstr(const char *s) {
  if (!s) return json_null();
  json_t *j = json_string(s);
  if (j) return j;
  size_t n = strlen(s);
  char *fixed = xrealloc(NULL, 3 * n + 1);
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    size_t len = text_seq_len((const unsigned char *)s + i, n - i);
    if (len) {
      memcpy(fixed + k, s + i, len);
      k += len, i += len;
    } else {
      memcpy(fixed + k, "\xEF\xBF\xBD", 3);
      k += 3, i++;
    }
  }
  fixed[k] = '\0';
  j = json_string(fixed);
  free(fixed);
  return j ? j : json_string("");
}

/* Serialise `doc` (steals it) to `out` with stable key order, two-space
 * indentation and a trailing newline. */
static void json_emit(FILE *out, json_t *doc) {
  json_dumpf(doc, out, JSON_PRESERVE_ORDER | JSON_INDENT(2));
  fputc('\n', out);
  json_decref(doc);
}

/* ---------------------------------------------------------------------------
 * JSON
 * ------------------------------------------------------------------------- */

/* {"line","column","offset"} of byte `offset` of file `file`. New ref. */
static json_t *json_pos(SourceMap *sm, uint32_t file, uint32_t offset) {
  const SourceFile *f = source_map_file(sm, file);
  if (offset > f->len) offset = (uint32_t)f->len;
  SourcePos pos = source_map_pos(sm, file, offset);
  json_t *o = json_object();
  json_object_set_new(o, "line", json_integer(pos.line));
  json_object_set_new(o, "column", json_integer(pos.col));
  json_object_set_new(o, "offset", json_integer(offset));
  return o;
}

/* {"start":pos,"end":pos} of `span`. New ref. */
static json_t *json_span(SourceMap *sm, Span span) {
  json_t *o = json_object();
  json_object_set_new(o, "start", json_pos(sm, span.file, span.start));
  json_object_set_new(o, "end", json_pos(sm, span.file, span.end < span.start ? span.start
                                                                              : span.end));
  return o;
}

/* The JSON object of one diagnostic, keys in the documented order. */
static json_t *json_diag(SourceMap *sm, const Diag *d) {
  bool located = d->has_span && render_span_ok(sm, d->primary.span);
  json_t *o = json_object();
  json_object_set_new(o, "code", json_string(diag_code_str(d->code)));
  json_object_set_new(o, "severity", json_string(diag_severity_str(d->severity)));
  json_object_set_new(o, "message", jstr(d->message ? d->message : ""));
  json_object_set_new(o, "file",
                      located ? jstr(source_map_file(sm, d->primary.span.file)->path) : json_null());
  json_object_set_new(o, "span", located ? json_span(sm, d->primary.span) : json_null());
  json_object_set_new(o, "label", located ? jstr(d->primary.label) : json_null());
  json_t *sec = json_array();
  for (size_t i = 0; i < d->nsecondary; i++) {
    const DiagLabel *l = &d->secondary[i];
    if (!render_span_ok(sm, l->span)) continue;
    json_t *s = json_object();
    json_object_set_new(s, "file", jstr(source_map_file(sm, l->span.file)->path));
    json_object_set_new(s, "span", json_span(sm, l->span));
    json_object_set_new(s, "label", jstr(l->label));
    json_array_append_new(sec, s);
  }
  json_object_set_new(o, "secondary", sec);
  json_t *notes = json_array();
  for (size_t i = 0; i < d->nnotes; i++) json_array_append_new(notes, jstr(d->notes[i]));
  json_object_set_new(o, "notes", notes);
  json_object_set_new(o, "help", jstr(d->help));
  return o;
}

void diag_render_json_units(FILE *out, const DiagUnit *units, size_t nunits) {
  json_t *doc = json_object();
  json_t *list = json_array();
  size_t nerrors = 0, nwarnings = 0;
  for (size_t u = 0; u < nunits; u++) {
    const DiagList *dl = units[u].diags;
    for (size_t i = 0; i < dl->n; i++)
      json_array_append_new(list, json_diag(units[u].sources, &dl->items[i]));
    nerrors += dl->nerrors;
    nwarnings += dl->nwarnings;
  }
  json_object_set_new(doc, "version", json_integer(1));
  json_object_set_new(doc, "diagnostics", list);
  json_object_set_new(doc, "errors", json_integer((json_int_t)nerrors));
  json_object_set_new(doc, "warnings", json_integer((json_int_t)nwarnings));
  json_emit(out, doc);
}

void diag_render_json(FILE *out, SourceMap *sm, const DiagList *dl) {
  DiagUnit unit = {sm, dl};
  diag_render_json_units(out, &unit, 1);
}

/* ---------------------------------------------------------------------------
 * SARIF 2.1.0
 * ------------------------------------------------------------------------- */

/* A URI reference for a path as given on the command line: backslashes
 * become slashes, an absolute path becomes a file:// URI, and every byte
 * outside the unreserved set (and '/') is percent-encoded. New ref. */
static json_t *sarif_uri(const char *path) {
  size_t n = strlen(path);
  char *uri = xrealloc(NULL, 3 * n + 8);
  size_t k = 0;
  if (path[0] == '/' || path[0] == '\\') {
    memcpy(uri, "file://", 7);
    k = 7;
  }
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)path[i];
    if (c == '\\') c = '/';
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    if (plain) {
      uri[k++] = (char)c;
    } else {
      uri[k++] = '%';
      uri[k++] = hex[c >> 4];
      uri[k++] = hex[c & 15];
    }
  }
  uri[k] = '\0';
  json_t *j = json_string(uri);
  free(uri);
  return j;
}

/* SARIF line and column (columns counted in Unicode code points, 1-based,
 * as run.columnKind "unicodeCodePoints" declares) of byte `offset`. */
static SourcePos sarif_pos(SourceMap *sm, uint32_t file, uint32_t offset) {
  const SourceFile *f = source_map_file(sm, file);
  if (offset > f->len) offset = (uint32_t)f->len;
  SourcePos pos = source_map_pos(sm, file, offset);
  size_t len;
  const char *line = source_map_line(sm, file, pos.line, &len);
  uint32_t col = 1;
  for (uint32_t i = 0; i + 1 < pos.col; i++)
    if (((unsigned char)line[i] & 0xC0) != 0x80) col++;
  pos.col = col;
  return pos;
}

/* {"physicalLocation":{"artifactLocation":{"uri"},"region":{...}}} for
 * `span`; the end column is exclusive, as SARIF specifies. New ref. */
static json_t *sarif_location(SourceMap *sm, Span span) {
  SourcePos a = sarif_pos(sm, span.file, span.start);
  SourcePos b = sarif_pos(sm, span.file, span.end < span.start ? span.start : span.end);
  json_t *region = json_object();
  json_object_set_new(region, "startLine", json_integer(a.line));
  json_object_set_new(region, "startColumn", json_integer(a.col));
  json_object_set_new(region, "endLine", json_integer(b.line));
  json_object_set_new(region, "endColumn", json_integer(b.col));
  json_t *art = json_object();
  json_object_set_new(art, "uri", sarif_uri(source_map_file(sm, span.file)->path));
  json_t *phys = json_object();
  json_object_set_new(phys, "artifactLocation", art);
  json_object_set_new(phys, "region", region);
  json_t *loc = json_object();
  json_object_set_new(loc, "physicalLocation", phys);
  return loc;
}

/* {"text": s}. New ref. */
static json_t *sarif_message(const char *s) {
  json_t *m = json_object();
  json_object_set_new(m, "text", jstr(s));
  return m;
}

/* The rule name of a code: its title in UpperCamelCase, letters and digits
 * only ("unknown record field" -> "UnknownRecordField"). New ref. */
static json_t *sarif_rule_name(DiagCode code) {
  const char *title = diag_code_title(code);
  char buf[128];
  size_t k = 0;
  bool upper = true;
  for (const char *s = title; *s && k + 1 < sizeof buf; s++) {
    char c = *s;
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum) {
      upper = true;
      continue;
    }
    buf[k++] = upper && c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    upper = false;
  }
  buf[k] = '\0';
  return json_string(buf);
}

/* The reportingDescriptor of one code. New ref. */
static json_t *sarif_rule(DiagCode code) {
  json_t *r = json_object();
  const char *str = diag_code_str(code);
  json_object_set_new(r, "id", json_string(str));
  json_object_set_new(r, "name", sarif_rule_name(code));
  json_object_set_new(r, "shortDescription", sarif_message(diag_code_title(code)));
  char help[160];
  snprintf(help, sizeof help, "Run `flowc explain %s`, or read docs/errors/%s.md.", str, str);
  json_object_set_new(r, "help", sarif_message(help));
  json_t *cfg = json_object();
  json_object_set_new(cfg, "level", json_string(diag_code_severity(code) == DIAG_WARNING
                                                    ? "warning"
                                                    : "error"));
  json_object_set_new(r, "defaultConfiguration", cfg);
  return r;
}

/* The SARIF level of a severity. */
static const char *sarif_level(DiagSeverity s) {
  switch (s) {
  case DIAG_ERROR: return "error";
  case DIAG_WARNING: return "warning";
  case DIAG_NOTE: return "note";
  }
  return "error";
}

/* The result object of one diagnostic; `rule_index` maps codes to indexes
 * into tool.driver.rules. New ref. */
static json_t *sarif_result(SourceMap *sm, const Diag *d, const int *rule_index) {
  json_t *r = json_object();
  json_object_set_new(r, "ruleId", json_string(diag_code_str(d->code)));
  json_object_set_new(r, "ruleIndex", json_integer(rule_index[d->code]));
  json_object_set_new(r, "level", json_string(sarif_level(d->severity)));
  const char *msg = d->message ? d->message : "";
  if (d->help) {
    size_t n = strlen(msg) + strlen(d->help) + 16;
    char *text = xrealloc(NULL, n);
    snprintf(text, n, "%s \xE2\x80\x94 help: %s", msg, d->help); /* U+2014 em dash */
    json_object_set_new(r, "message", sarif_message(text));
    free(text);
  } else {
    json_object_set_new(r, "message", sarif_message(msg));
  }
  if (d->has_span && render_span_ok(sm, d->primary.span)) {
    json_t *locs = json_array();
    json_t *loc = sarif_location(sm, d->primary.span);
    if (d->primary.label && d->primary.label[0])
      json_object_set_new(loc, "message", sarif_message(d->primary.label));
    json_array_append_new(locs, loc);
    json_object_set_new(r, "locations", locs);
  }
  json_t *related = json_array();
  for (size_t i = 0; i < d->nsecondary; i++) {
    const DiagLabel *l = &d->secondary[i];
    if (!render_span_ok(sm, l->span)) continue;
    json_t *loc = json_object();
    json_object_set_new(loc, "id", json_integer((json_int_t)json_array_size(related)));
    json_t *full = sarif_location(sm, l->span);
    json_object_set(loc, "physicalLocation", json_object_get(full, "physicalLocation"));
    json_decref(full);
    if (l->label && l->label[0]) json_object_set_new(loc, "message", sarif_message(l->label));
    json_array_append_new(related, loc);
  }
  if (json_array_size(related))
    json_object_set_new(r, "relatedLocations", related);
  else
    json_decref(related);
  if (d->nnotes) {
    json_t *notes = json_array();
    for (size_t i = 0; i < d->nnotes; i++) json_array_append_new(notes, jstr(d->notes[i]));
    json_t *props = json_object();
    json_object_set_new(props, "notes", notes);
    json_object_set_new(r, "properties", props);
  }
  return r;
}

void diag_render_sarif_units(FILE *out, const DiagUnit *units, size_t nunits,
                             const char *tool_version) {
  /* Rules: one per code that occurs, in table order. */
  int rule_index[DIAG_CODE_COUNT];
  bool used[DIAG_CODE_COUNT] = {false};
  for (size_t u = 0; u < nunits; u++)
    for (size_t i = 0; i < units[u].diags->n; i++) {
      DiagCode c = units[u].diags->items[i].code;
      if ((unsigned)c < DIAG_CODE_COUNT) used[c] = true;
    }
  json_t *rules = json_array();
  for (int c = 0; c < DIAG_CODE_COUNT; c++) {
    rule_index[c] = -1;
    if (!used[c]) continue;
    rule_index[c] = (int)json_array_size(rules);
    json_array_append_new(rules, sarif_rule((DiagCode)c));
  }

  json_t *driver = json_object();
  json_object_set_new(driver, "name", json_string("flowc"));
  json_object_set_new(driver, "version", jstr(tool_version ? tool_version : "unknown"));
  json_object_set_new(driver, "rules", rules);
  json_t *tool = json_object();
  json_object_set_new(tool, "driver", driver);

  json_t *results = json_array();
  for (size_t u = 0; u < nunits; u++)
    for (size_t i = 0; i < units[u].diags->n; i++)
      json_array_append_new(results,
                            sarif_result(units[u].sources, &units[u].diags->items[i], rule_index));

  json_t *run = json_object();
  json_object_set_new(run, "tool", tool);
  json_object_set_new(run, "columnKind", json_string("unicodeCodePoints"));
  json_object_set_new(run, "results", results);
  json_t *runs = json_array();
  json_array_append_new(runs, run);

  json_t *doc = json_object();
  json_object_set_new(doc, "$schema", json_string("https://json.schemastore.org/sarif-2.1.0.json"));
  json_object_set_new(doc, "version", json_string("2.1.0"));
  json_object_set_new(doc, "runs", runs);
  json_emit(out, doc);
}

void diag_render_sarif(FILE *out, SourceMap *sm, const DiagList *dl, const char *tool_version) {
  DiagUnit unit = {sm, dl};
  diag_render_sarif_units(out, &unit, 1, tool_version);
}
