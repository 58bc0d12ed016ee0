/* test_runner.c - `flowc test` (see test_runner.h).
 *
 * Each file is compiled as its own program with its tests (the root file's
 * `test` blocks; an imported file's tests run when that file is tested). A
 * test runs on the VM through run_test: offline, its mocks installed as it
 * runs, a call it does not mock to a network binding refused unless
 * --allow-network. Results are collected per file, then written in the
 * chosen format; a failed assertion is shown with its source line, the
 * message, and the values compared (expected and actual for `==`). */
#include "test_runner.h"

#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "ast.h"
#include "compile.h"
#include "diag.h"
#include "diag_render.h"
#include "program.h"
#include "run.h"
#include "textbuf.h"

typedef enum CaseStatus { CASE_PASSED, CASE_FAILED, CASE_ERROR } CaseStatus;

/* A failed assertion, as text for every format. */
typedef struct Failure {
  char *message;            /* the assert's message, or its expression */
  char *expr;               /* the expression's source */
  char *at;                 /* "file:line:col" */
  const char *a_label, *b_label; /* "expected"/"actual", "left"/"right", or "value" and NULL */
  char *a_value, *b_value;
} Failure;

typedef struct Case {
  char *file;
  char *title;
  CaseStatus status;
  double secs;
  char *error;              /* CASE_ERROR: why the test could not run */
  Failure *failures;
  size_t nfailures;
  char *rendered;           /* text format: the failures with their source lines */
} Case;

typedef struct Cases {
  Case *items;
  size_t n, cap;
} Cases;

static Case *case_new(Cases *cs, const char *file, const char *title) {
  if (cs->n == cs->cap) {
    cs->cap = cs->cap ? cs->cap * 2 : 16;
    cs->items = xrealloc(cs->items, cs->cap * sizeof *cs->items);
  }
  Case *c = &cs->items[cs->n++];
  memset(c, 0, sizeof *c);
  c->file = xstrdup(file);
  c->title = xstrdup(title);
  return c;
}

static void cases_free(Cases *cs) {
  for (size_t i = 0; i < cs->n; i++) {
    Case *c = &cs->items[i];
    for (size_t k = 0; k < c->nfailures; k++) {
      Failure *f = &c->failures[k];
      free(f->message);
      free(f->expr);
      free(f->at);
      free(f->a_value);
      free(f->b_value);
    }
    free(c->failures);
    free(c->file);
    free(c->title);
    free(c->error);
    free(c->rendered);
  }
  free(cs->items);
}

static double now_secs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- one file --------------------------------------------------------------------------------- */

/* The `assert` statements of test `d`, in source order (their EXPECT indices). */
static Stmt **test_asserts(const Decl *d, size_t *n) {
  Stmt **out = xmalloc((d->u.test.nbody + 1) * sizeof *out);
  *n = 0;
  for (unsigned i = 0; i < d->u.test.nbody; i++)
    if (d->u.test.body[i]->kind == ST_ASSERT) out[(*n)++] = d->u.test.body[i];
  return out;
}

/* Describe failed assertion `tf` of statement `s`, and render it (source
 * line, carets, values) into `text`. */
static void describe_failure(SourceMap *sm, const Stmt *s, const TestFailure *tf, const char *title, bool color,
                             Failure *f, FILE *text) {
  const Expr *cond = s->u.assert_s.cond;
  const SourceFile *file = source_map_file(sm, cond->span.file);
  SourcePos pos = source_map_pos(sm, cond->span.file, cond->span.start);
  size_t n = cond->span.end - cond->span.start;
  f->expr = xmalloc(n + 1);
  memcpy(f->expr, file->text + cond->span.start, n);
  f->expr[n] = '\0';
  const char *msg = s->u.assert_s.message ? expr_const_string(s->u.assert_s.message) : NULL;
  f->message = xstrdup(msg ? msg : f->expr);
  size_t an = strlen(file->path) + 32;
  f->at = xmalloc(an);
  snprintf(f->at, an, "%s:%u:%u", file->path, pos.line, pos.col);
  BinOp op = cond->kind == EX_BINARY ? cond->u.binary.op : BIN_AND;
  bool compared = cond->kind == EX_BINARY && (op == BIN_EQ || op == BIN_NE || op == BIN_LT || op == BIN_LE ||
                                               op == BIN_GT || op == BIN_GE || op == BIN_IN);
  if (compared && op == BIN_EQ) {
    f->a_label = "expected";
    f->a_value = xstrdup(tf->rhs);
    f->b_label = "actual";
    f->b_value = xstrdup(tf->lhs);
  } else if (compared) {
    f->a_label = "left";
    f->a_value = xstrdup(tf->lhs);
    f->b_label = "right";
    f->b_value = xstrdup(tf->rhs);
  } else {
    f->a_label = "value";
    f->a_value = xstrdup(tf->lhs);
  }
  DiagList dl;
  diag_list_init(&dl);
  Diag *d = diag_add(&dl, DIAG_E0001, cond->span, "\"%s\": %s", title, f->message);
  diag_set_label(d, compared && op == BIN_NE ? "these are equal" : "this is false");
  diag_add_note(d, "%s:%*s%s", f->a_label, (int)(9 - strlen(f->a_label)), "", f->a_value);
  if (f->b_label) diag_add_note(d, "%s:%*s%s", f->b_label, (int)(9 - strlen(f->b_label)), "", f->b_value);
  diag_render_text_titled(text, sm, d, "failed", color);
  diag_list_free(&dl);
}

/* Run test `i` of `img` (declared by `d`) into a new case. */
static void run_one(const TestRunConfig *cfg, Compilation *comp, const Image *img, uint32_t i, const Decl *d,
                    const char *path, const TestOptions *opt, Cases *cs) {
  Case *c = case_new(cs, path, img->tests[i].title);
  TestResult r;
  double t0 = now_secs();
  bool passed = run_test(img, i, opt, &r);
  c->secs = now_secs() - t0;
  c->status = passed ? CASE_PASSED : r.error ? CASE_ERROR : CASE_FAILED;
  if (r.error) c->error = xstrdup(r.error);
  size_t nasserts;
  Stmt **asserts = test_asserts(d, &nasserts);
  char *buf = NULL;
  size_t len = 0;
  FILE *text = open_memstream(&buf, &len);
  if (!text) flow_oom();
  c->failures = xmalloc((r.nfailures + 1) * sizeof *c->failures);
  for (uint32_t k = 0; k < r.nfailures; k++) {
    if (r.failures[k].index >= nasserts) continue;
    Failure *f = &c->failures[c->nfailures++];
    memset(f, 0, sizeof *f);
    describe_failure(compilation_sources(comp), asserts[r.failures[k].index], &r.failures[k], c->title, cfg->color,
                     f, text);
  }
  if (r.error) fprintf(text, "error: \"%s\" did not run to its end: %s\n\n", c->title, r.error);
  fclose(text);
  c->rendered = buf;
  free(asserts);
  test_result_free(&r);
}

/* Compile `path` with its tests and run them. */
static void run_file(const TestRunConfig *cfg, const char *path, Cases *cs) {
  Compilation *comp = compilation_new();
  bool ok = compilation_check_file(comp, path);
  const DiagList *dl = compilation_diags(comp);
  if (!ok) {
    diag_render_text(cfg->err, compilation_sources(comp), dl, cfg->color);
    Case *c = case_new(cs, path, "(the file does not check)");
    c->status = CASE_ERROR;
    c->error = xstrdup(dl->n && dl->items[0].message ? dl->items[0].message : "the file does not check");
    size_t n = strlen(path) + strlen(c->error) + 64;
    c->rendered = xmalloc(n);
    snprintf(c->rendered, n, "error: %s does not check: %s\n\n", path, c->error);
    compilation_free(comp);
    return;
  }
  Image *img = compilation_lower_tests(comp);
  const Program *p = compilation_program(comp);
  char *dir = xstrdup(path);
  TestOptions opt = {dirname(dir), cfg->allow_network, 16};
  uint32_t i = 0;
  for (size_t k = 0; k < p->ntests && i < img->ntests; k++)
    if (p->tests[k]->file == p->root) run_one(cfg, comp, img, i++, p->tests[k], path, &opt, cs);
  free(dir);
  image_free(img);
  compilation_free(comp);
}

/* ---- reports ---------------------------------------------------------------------------------- */

typedef struct Totals {
  size_t tests, passed, failed, errors;
  double secs;
} Totals;

static Totals totals_of(const Case *c, size_t n) {
  Totals t = {0};
  for (size_t i = 0; i < n; i++) {
    t.tests++;
    t.secs += c[i].secs;
    if (c[i].status == CASE_PASSED) t.passed++;
    else if (c[i].status == CASE_FAILED) t.failed++;
    else t.errors++;
  }
  return t;
}

static void report_text(const TestRunConfig *cfg, const Cases *cs, size_t nfiles) {
  FILE *out = cfg->out;
  const char *last = NULL;
  for (size_t i = 0; i < cs->n; i++) {
    const Case *c = &cs->items[i];
    if (!last || strcmp(last, c->file)) fprintf(out, "test %s\n", c->file);
    last = c->file;
    static const char *const word[] = {"ok   ", "FAIL ", "ERROR"};
    fprintf(out, "  %s %s\n", word[c->status], c->title);
  }
  bool any = false;
  for (size_t i = 0; i < cs->n; i++) {
    if (cs->items[i].status == CASE_PASSED) continue;
    if (!any) fputc('\n', out);
    any = true;
    fputs(cs->items[i].rendered ? cs->items[i].rendered : "", out);
  }
  Totals t = totals_of(cs->items, cs->n);
  fprintf(out, "%sflowc test: %zu test%s in %zu file%s: %zu passed, %zu failed, %zu error%s\n", any ? "" : "\n",
          t.tests, t.tests == 1 ? "" : "s", nfiles, nfiles == 1 ? "" : "s", t.passed, t.failed, t.errors,
          t.errors == 1 ? "" : "s");
}

/* `key: "value"` at `indent`, the value as a JSON string (valid YAML too),
 * for TAP's YAML blocks. */
static void put_yaml(FILE *out, int indent, const char *key, const char *s) {
  TextBuf b = {0};
  tb_json_string(&b, s, strlen(s));
  fprintf(out, "%*s%s: %s\n", indent, "", key, b.data);
  free(b.data);
}

static void report_tap(const TestRunConfig *cfg, const Cases *cs) {
  FILE *out = cfg->out;
  fprintf(out, "TAP version 13\n1..%zu\n", cs->n);
  for (size_t i = 0; i < cs->n; i++) {
    const Case *c = &cs->items[i];
    /* '#' would start a TAP directive in the description */
    TextBuf d = {0};
    tb_reserve(&d, 0);
    for (const char *p = c->title; *p; p++) tb_putc(&d, *p == '#' ? '_' : *p);
    fprintf(out, "%s %zu - %s: %s\n", c->status == CASE_PASSED ? "ok" : "not ok", i + 1, c->file, d.data);
    free(d.data);
    if (c->status == CASE_PASSED) continue;
    fputs("  ---\n", out);
    if (c->error) put_yaml(out, 2, "error", c->error);
    if (c->nfailures) fputs("  failures:\n", out);
    for (size_t k = 0; k < c->nfailures; k++) {
      const Failure *f = &c->failures[k];
      fputs("    -\n", out);
      put_yaml(out, 6, "message", f->message);
      put_yaml(out, 6, "expression", f->expr);
      put_yaml(out, 6, "at", f->at);
      put_yaml(out, 6, f->a_label, f->a_value);
      if (f->b_label) put_yaml(out, 6, f->b_label, f->b_value);
    }
    fputs("  ...\n", out);
  }
}

/* XML text: markup characters escaped; characters XML 1.0 does not allow
 * (C0 controls other than tab, newline and carriage return) replaced. */
static void put_xml(FILE *out, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '&': fputs("&amp;", out); break;
    case '<': fputs("&lt;", out); break;
    case '>': fputs("&gt;", out); break;
    case '"': fputs("&quot;", out); break;
    case '\'': fputs("&apos;", out); break;
    default:
      if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') fputs("\xEF\xBF\xBD", out);
      else fputc(*p, out);
    }
  }
}

/* "examples/support/triage.flow" -> "examples.support.triage" */
static void put_classname(FILE *out, const char *file) {
  size_t n = strlen(file);
  if (n > 5 && !strcmp(file + n - 5, ".flow")) n -= 5;
  char *s = xmalloc(n + 1);
  for (size_t i = 0; i < n; i++) s[i] = file[i] == '/' ? '.' : file[i];
  s[n] = '\0';
  put_xml(out, s);
  free(s);
}

static void junit_case(FILE *out, const Case *c) {
  fputs("    <testcase classname=\"", out);
  put_classname(out, c->file);
  fputs("\" name=\"", out);
  put_xml(out, c->title);
  fprintf(out, "\" time=\"%.6f\"", c->secs);
  if (c->status == CASE_PASSED) {
    fputs("/>\n", out);
    return;
  }
  fputs(">\n", out);
  if (c->status == CASE_ERROR) {
    fputs("      <error message=\"", out);
    put_xml(out, c->error);
    fputs("\" type=\"TestError\">", out);
    put_xml(out, c->error);
    fputs("</error>\n", out);
  } else {
    const Failure *first = &c->failures[0];
    fputs("      <failure message=\"", out);
    put_xml(out, first->message);
    fputs("\" type=\"AssertionFailure\">", out);
    for (size_t k = 0; k < c->nfailures; k++) {
      const Failure *f = &c->failures[k];
      fprintf(out, "%s", k ? "\n\n" : "");
      put_xml(out, f->at);
      fputs(": assert ", out);
      put_xml(out, f->expr);
      fputs("\n", out);
      put_xml(out, f->a_label);
      fputs(": ", out);
      put_xml(out, f->a_value);
      if (f->b_label) {
        fputs("\n", out);
        put_xml(out, f->b_label);
        fputs(": ", out);
        put_xml(out, f->b_value);
      }
    }
    fputs("</failure>\n", out);
  }
  fputs("    </testcase>\n", out);
}

static void report_junit(const TestRunConfig *cfg, const Cases *cs) {
  FILE *out = cfg->out;
  Totals all = totals_of(cs->items, cs->n);
  fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuites name=\"flowc test\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.6f\">\n",
          all.tests, all.failed, all.errors, all.secs);
  for (size_t i = 0; i < cs->n;) {
    size_t j = i;
    while (j < cs->n && !strcmp(cs->items[j].file, cs->items[i].file)) j++;
    Totals t = totals_of(cs->items + i, j - i);
    fputs("  <testsuite name=\"", out);
    put_xml(out, cs->items[i].file);
    fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\" time=\"%.6f\">\n", t.tests, t.failed,
            t.errors, t.secs);
    for (size_t k = i; k < j; k++) junit_case(out, &cs->items[k]);
    fputs("  </testsuite>\n", out);
    i = j;
  }
  fputs("</testsuites>\n", out);
}

int test_runner_run(const TestRunConfig *cfg) {
  Cases cs = {0};
  for (size_t i = 0; i < cfg->nfiles; i++) run_file(cfg, cfg->files[i], &cs);
  if (cfg->format == TEST_TAP) report_tap(cfg, &cs);
  else if (cfg->format == TEST_JUNIT) report_junit(cfg, &cs);
  else report_text(cfg, &cs, cfg->nfiles);
  Totals t = totals_of(cs.items, cs.n);
  cases_free(&cs);
  return t.failed || t.errors ? 1 : 0;
}
