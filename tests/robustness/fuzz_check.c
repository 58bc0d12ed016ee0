/* fuzz_check.c - robustness driver: the front end must survive any input.
 *
 * For every .flow file of the corpus (examples/ and
 * tests/robustness/seed_corpus/ under the repository root given on the
 * command line) it checks, in process, through compilation_check_source:
 *
 *   - every truncation of the file (each prefix length, or a deterministic
 *     stride of them for large files), and
 *   - a seeded series of mutations: flipped bytes; deleted, duplicated and
 *     transplanted token-sized spans; inserted delimiters ({ " """ {{ }}),
 *     NUL and 0xFF bytes, keywords, and deep nesting (up to 50k levels).
 *
 * The original path is passed with each text, so imports and context paths
 * resolve as they do for the real file. Every input is copied into a buffer
 * of exactly its length, so the sanitizer build catches any read past it.
 *
 * A case passes when the check returns and its result is consistent: it
 * returns false exactly when an error was reported, and every span points
 * inside a known file. A crash kills the process (under ASan with a report);
 * a case that runs longer than --case-timeout seconds is a hang: SIGALRM
 * prints the case and aborts. Either way the current input is saved to
 * --save (default /tmp/flow-fuzz-case.flow) and the case number is printed,
 * so `fuzz_check --only N ROOT` replays exactly that case.
 *
 * Usage: fuzz_check [--seed N] [--mutations N] [--max-trunc N] [--budget N]
 *                   [--case-timeout S] [--only N] [--save PATH] [--verbose]
 *                   [--corpus DIR]... ROOT
 * Defaults: seed 1, 3000 mutations, at most 20000 truncations per file and
 * 60000 in all (past that every file is sampled with a coarser stride, so the
 * run stays near a minute under ASan on two cores as the corpus grows).
 * Prints "N passed, M failed"; exits 0 iff M is 0. */

/* sigaltstack and SA_ONSTACK are XSI. */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compile.h"
#include "diag.h"
#include "diag_render.h"
#include "source.h"

/* --- what the signal handlers need ------------------------------------------
 * The description of the running case and its input, written by the driver
 * before each case and read only by the crash and timeout handlers (which may
 * use nothing but async-signal-safe calls). */
static char g_sig_case_desc[768];
static volatile sig_atomic_t g_sig_case_desc_len;
static const char *volatile g_sig_case_text;
static volatile size_t g_sig_case_len;
static char g_sig_save_path[512];

/* Present when linked with a sanitizer runtime: a hook run before it exits
 * after a report. Weak, so the plain build links without it. */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static void sig_write(const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

static void sig_puts(const char *s) { sig_write(s, strlen(s)); }

/* Print the current case and save its input (async-signal-safe). */
static void report_current_case(const char *what) {
  sig_puts("\nfuzz_check: ");
  sig_puts(what);
  sig_puts(" in ");
  sig_write(g_sig_case_desc, (size_t)g_sig_case_desc_len);
  sig_puts("\n");
  if (g_sig_save_path[0] && g_sig_case_text) {
    int fd = open(g_sig_save_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      const char *p = g_sig_case_text;
      size_t n = g_sig_case_len;
      while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) break;
        p += w;
        n -= (size_t)w;
      }
      close(fd);
      sig_puts("fuzz_check: input saved to ");
      sig_puts(g_sig_save_path);
      sig_puts(" (put it beside the original file to reproduce its imports)\n");
    }
  }
}

static void on_alarm(int sig) {
  (void)sig;
  report_current_case("TIMEOUT (hang)");
  signal(SIGABRT, SIG_DFL);
  abort();
}

static void on_crash(int sig) {
  report_current_case(sig == SIGSEGV ? "CRASH (SIGSEGV)"
                      : sig == SIGBUS ? "CRASH (SIGBUS)"
                      : sig == SIGFPE ? "CRASH (SIGFPE)"
                      : sig == SIGILL ? "CRASH (SIGILL)"
                                      : "CRASH (SIGABRT)");
  /* SA_RESETHAND restored the default action: die of the same signal. */
  raise(sig);
}

static void on_sanitizer_death(void) { report_current_case("SANITIZER REPORT"); }

/* Crash reporting: through the sanitizer's death hook when there is one (its
 * own SEGV handling gives the better report), else through signal handlers
 * on an alternate stack, so a stack overflow is reported too. */
static void install_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);

  if (__sanitizer_set_death_callback) {
    __sanitizer_set_death_callback(on_sanitizer_death);
    return;
  }
  stack_t ss;
  memset(&ss, 0, sizeof ss);
  ss.ss_size = 1 << 16;
  ss.ss_sp = malloc(ss.ss_size); /* lives as long as the process */
  if (ss.ss_sp && sigaltstack(&ss, NULL) == 0) sa.sa_flags = SA_ONSTACK;
  sa.sa_flags |= SA_RESETHAND;
  sa.sa_handler = on_crash;
  const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
}

/* --- small utilities ---------------------------------------------------------- */

/* splitmix64: a tiny deterministic generator, state passed explicitly. */
typedef struct Rng {
  uint64_t s;
} Rng;

static uint64_t rng_next(Rng *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static size_t rng_below(Rng *r, size_t n) { return (size_t)(rng_next(r) % n); }

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "fuzz_check: out of memory\n");
    exit(2);
  }
  return p;
}

static void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) {
    fprintf(stderr, "fuzz_check: out of memory\n");
    exit(2);
  }
  return p;
}

static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = xmalloc(n);
  memcpy(d, s, n);
  return d;
}

/* A growable byte buffer. */
typedef struct Buf {
  char *p;
  size_t len, cap;
} Buf;

static void buf_reserve(Buf *b, size_t extra) {
  if (b->len + extra <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra) cap *= 2;
  b->p = xrealloc(b->p, cap);
  b->cap = cap;
}

static void buf_add(Buf *b, const char *s, size_t n) {
  buf_reserve(b, n);
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
}

/* Replace b[at, at+del) by s[0, n). */
static void buf_splice(Buf *b, size_t at, size_t del, const char *s, size_t n) {
  if (at > b->len) at = b->len;
  if (del > b->len - at) del = b->len - at;
  buf_reserve(b, n);
  memmove(b->p + at + n, b->p + at + del, b->len - at - del);
  if (n) memcpy(b->p + at, s, n);
  b->len = b->len - del + n;
}

/* --- the corpus ------------------------------------------------------------------ */

typedef struct CorpusFile {
  char *path; /* as passed to the compiler */
  char *text;
  size_t len;
} CorpusFile;

typedef struct Corpus {
  CorpusFile *files;
  size_t n, cap;
} Corpus;

static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool read_file(const char *path, char **text, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  Buf b = {0};
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_add(&b, chunk, n);
  bool ok = !ferror(f);
  fclose(f);
  if (!ok) {
    free(b.p);
    return false;
  }
  *text = b.p ? b.p : xmalloc(1);
  *len = b.len;
  return true;
}

/* Add every *.flow file under dir, recursively; missing dirs are skipped. */
static void corpus_scan(Corpus *c, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    size_t n = strlen(dir) + strlen(e->d_name) + 2;
    char *path = xmalloc(n);
    snprintf(path, n, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(path, &st) != 0) {
      free(path);
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      corpus_scan(c, path);
      free(path);
    } else if (S_ISREG(st.st_mode) && ends_with(path, ".flow")) {
      CorpusFile f = {path, NULL, 0};
      if (!read_file(path, &f.text, &f.len)) {
        fprintf(stderr, "fuzz_check: cannot read %s: %s\n", path, strerror(errno));
        free(path);
        continue;
      }
      if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->files = xrealloc(c->files, c->cap * sizeof *c->files);
      }
      c->files[c->n++] = f;
    } else {
      free(path);
    }
  }
  closedir(d);
}

static int cmp_file(const void *a, const void *b) {
  return strcmp(((const CorpusFile *)a)->path, ((const CorpusFile *)b)->path);
}

static void corpus_free(Corpus *c) {
  for (size_t i = 0; i < c->n; i++) {
    free(c->files[i].path);
    free(c->files[i].text);
  }
  free(c->files);
}

/* --- running one case ----------------------------------------------------------- */

typedef struct Options {
  uint64_t seed;
  size_t mutations;   /* total mutation cases */
  size_t max_trunc;   /* truncation cases per file, at most */
  size_t budget;      /* truncation cases in all, at most (0: no limit) */
  unsigned timeout;   /* seconds per case */
  long only;          /* run only this case number, or -1 */
  bool verbose;
} Options;

typedef struct Driver {
  Options opt;
  FILE *devnull;       /* diagnostics are rendered here, to exercise the renderers */
  size_t case_no;      /* number of the next case */
  size_t passed, failed;
} Driver;

/* Consistency of one result; returns NULL when fine, else what is wrong. */
static const char *check_result(Compilation *c, bool ok, char *why, size_t whylen) {
  const DiagList *dl = compilation_diags(c);
  SourceMap *sm = compilation_sources(c);
  size_t nerr = 0;
  for (size_t i = 0; i < dl->n; i++) {
    const Diag *d = &dl->items[i];
    if (d->severity == DIAG_ERROR) nerr++;
    if ((unsigned)d->code >= DIAG_CODE_COUNT) {
      snprintf(why, whylen, "diagnostic %zu has code %d, out of range", i, (int)d->code);
      return why;
    }
    if (!d->message) {
      snprintf(why, whylen, "diagnostic %zu (%s) has no message", i, diag_code_str(d->code));
      return why;
    }
    const Span *spans[1 + 64];
    size_t ns = 0;
    if (d->has_span) spans[ns++] = &d->primary.span;
    for (size_t k = 0; k < d->nsecondary && ns < 65; k++) spans[ns++] = &d->secondary[k].span;
    for (size_t k = 0; k < ns; k++) {
      const Span *s = spans[k];
      if (s->file >= sm->nfiles) {
        snprintf(why, whylen, "%s: span in file %u of %zu", diag_code_str(d->code), (unsigned)s->file,
                 sm->nfiles);
        return why;
      }
      const SourceFile *f = source_map_file(sm, s->file);
      if (s->start > s->end || s->end > f->len) {
        snprintf(why, whylen, "%s: span %u..%u outside a file of %zu bytes", diag_code_str(d->code),
                 (unsigned)s->start, (unsigned)s->end, f->len);
        return why;
      }
    }
  }
  /* past the list's limit diagnostics are counted but not kept */
  if (nerr > dl->nerrors || (dl->dropped == 0 && nerr != dl->nerrors) ||
      (dl->dropped > 0 && dl->n != dl->limit)) {
    snprintf(why, whylen, "nerrors is %zu but %zu errors are listed (%zu dropped)", dl->nerrors, nerr,
             dl->dropped);
    return why;
  }
  if (ok != (nerr == 0)) {
    snprintf(why, whylen, "check returned %s with %zu errors", ok ? "true" : "false", nerr);
    return why;
  }
  return NULL;
}

/* Check text[0, len) as the file `path`. `what` describes the case. */
static void run_case(Driver *dr, const char *path, const char *text, size_t len, const char *what) {
  size_t no = dr->case_no++;
  if (dr->opt.only >= 0 && (size_t)dr->opt.only != no) return;

  /* An exact-size copy: reading text[len] is a bug the sanitizer should see. */
  char *copy = malloc(len); /* malloc(0) too: no byte may be read */
  if (!copy) copy = xmalloc(len);
  if (len) memcpy(copy, text, len);

  int n = snprintf(g_sig_case_desc, sizeof g_sig_case_desc,
                   "case %zu (replay: --seed %llu --only %zu): %s of %s (%zu bytes)", no,
                   (unsigned long long)dr->opt.seed, no, what, path, len);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof g_sig_case_desc) n = (int)sizeof g_sig_case_desc - 1;
  g_sig_case_desc_len = n;
  g_sig_case_text = copy;
  g_sig_case_len = len;
  if (dr->opt.verbose || dr->opt.only >= 0) fprintf(stderr, "%s\n", g_sig_case_desc);

  alarm(dr->opt.timeout);
  Compilation *c = compilation_new();
  bool ok = compilation_check_source(c, path, copy, len);
  char why[256];
  const char *bad = check_result(c, ok, why, sizeof why);
  /* Render every few cases: the renderers read spans and source lines too. */
  if (no % 8 == 0) diag_render_text(dr->devnull, compilation_sources(c), compilation_diags(c), no % 16 == 0);
  if (no % 64 == 0) diag_render_json(dr->devnull, compilation_sources(c), compilation_diags(c));
  if (no % 128 == 0) diag_render_sarif(dr->devnull, compilation_sources(c), compilation_diags(c), "fuzz");
  compilation_free(c);
  alarm(0);

  g_sig_case_text = NULL;
  free(copy);
  if (bad) {
    dr->failed++;
    fprintf(stderr, "fuzz_check: FAIL %.*s: %s\n", (int)g_sig_case_desc_len, g_sig_case_desc, bad);
  } else {
    dr->passed++;
  }
}

/* Every truncation of f: prefixes of length 0..len, all of them for small
 * files, else a stride that keeps the count near max_trunc (always
 * including the whole file). `scale` (at most 1) shrinks every file's share
 * when the corpus as a whole would exceed the --budget. */
static void run_truncations(Driver *dr, const CorpusFile *f, double scale) {
  size_t stride = 1;
  if (f->len >= 8192 && f->len + 1 > dr->opt.max_trunc)
    stride = (f->len + dr->opt.max_trunc) / dr->opt.max_trunc;
  if (scale < 1.0) {
    size_t want = (size_t)((double)(f->len / stride + 1) * scale) + 1;
    size_t s2 = (f->len + want) / want;
    if (s2 > stride) stride = s2;
  }
  char what[64];
  size_t count = 0;
  for (size_t n = 0; n <= f->len; n += stride) {
    snprintf(what, sizeof what, "truncation to %zu", n);
    run_case(dr, f->path, f->text, n, what);
    count++;
    if (n < f->len && n + stride > f->len) n = f->len - stride; /* end on the whole file */
  }
  if (dr->opt.only < 0)
    printf("  %-60s %zu truncations (stride %zu)\n", f->path, count, stride);
}

/* --- mutations -------------------------------------------------------------------- */

static bool is_ident(unsigned char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* A token-ish span around a random position of b: a word, or 1-3 bytes of
 * punctuation, or sometimes a whole line. */
static void pick_span(Rng *r, const Buf *b, size_t *start, size_t *end) {
  if (b->len == 0) {
    *start = *end = 0;
    return;
  }
  size_t at = rng_below(r, b->len);
  size_t s = at, e = at + 1;
  unsigned kind = (unsigned)rng_below(r, 8);
  if (kind == 0) { /* a line */
    while (s > 0 && b->p[s - 1] != '\n') s--;
    while (e < b->len && b->p[e - 1] != '\n') e++;
  } else if (is_ident((unsigned char)b->p[at])) {
    while (s > 0 && is_ident((unsigned char)b->p[s - 1])) s--;
    while (e < b->len && is_ident((unsigned char)b->p[e])) e++;
  } else {
    e = at + 1 + rng_below(r, 3);
    if (e > b->len) e = b->len;
  }
  *start = s;
  *end = e;
}

/* Things worth inserting: delimiters, template and string markers, odd
 * bytes, keywords, operators, unit suffixes. */
static const char *const k_snippets[] = {
    "{",        "}",        "(",       ")",       "[",      "]",        "\"",       "\"\"\"",
    "{{",       "}}",       "{{ ",     " }}",     "\\",     "\\{",      "\\u{",     "\\u{110000}",
    "/*",       "*/",       "//",      "///",     "\n",     "\t",       "\r",       "@describe(",
    "@",        "?",        "[]",      "map<",    ">",      "<",        "->",       "=>",
    "..",       "??",       ",",       ":",       "=",      ".",        "0",        "1e",
    "1e999999", "99999999999999999999", "0.15 per 1M", "per", "250ms", "8xs", "1_", "_",
    "let ",     "yield ",   "for ",    "in ",     "if ",    "else ",    "match ",   "check ",
    "ensure ",  "retry ",   "fallback ", "skip",  "warn",   "fail",     "parallel ", "import ",
    "model ",   "policy ",  "type ",   "enum ",   "context ", "prompt ", "eval ",   "flow ",
    "test ",    "mock ",    "assert ", "score ",  "none",   "true",     "not ",     "and ",
    "import \"main.flow\"\n", "import \"nope/missing.flow\"\n", "import \"std/text\"\n",
    "\xC3",     "\xE2\x82", "\xF0\x9F\x98\x80", "\xEF\xBB\xBF", "\xFF",  "\xFE",     "\x01",
};

/* Insert a deep nest: `depth` openers (and sometimes the closers) of one kind. */
static void insert_nest(Rng *r, Buf *b, size_t at, char *what, size_t whatlen) {
  static const char *const openers[] = {"(", "[", "{", "{{ (", "not ", "-", "x ?? ", "[[", "if x { "};
  static const char *const closers[] = {")", "]", "}", ") }}", "", "", "", "]]", " }"};
  static const size_t depths[] = {64, 1000, 10000, 50000};
  size_t k = rng_below(r, sizeof openers / sizeof openers[0]);
  size_t depth = depths[rng_below(r, sizeof depths / sizeof depths[0])];
  bool balanced = rng_below(r, 2) == 0;
  Buf nest = {0};
  for (size_t i = 0; i < depth; i++) buf_add(&nest, openers[k], strlen(openers[k]));
  buf_add(&nest, "1", 1);
  if (balanced)
    for (size_t i = 0; i < depth; i++) buf_add(&nest, closers[k], strlen(closers[k]));
  buf_splice(b, at, 0, nest.p, nest.len);
  free(nest.p);
  snprintf(what, whatlen, "nest%s %zux'%s'@%zu", balanced ? "" : "(open)", depth, openers[k], at);
}

/* Apply one random mutation to b; describe it in what. */
static void mutate_once(Rng *r, Buf *b, char *what, size_t whatlen) {
  size_t s, e;
  unsigned op = (unsigned)rng_below(r, 100);
  size_t at = b->len ? rng_below(r, b->len + 1) : 0;
  if (op < 15 && b->len) { /* flip bits of one byte */
    size_t i = rng_below(r, b->len);
    b->p[i] = (char)(b->p[i] ^ (char)(1u << rng_below(r, 8)));
    snprintf(what, whatlen, "flip@%zu", i);
  } else if (op < 22 && b->len) { /* replace a byte by any byte */
    size_t i = rng_below(r, b->len);
    b->p[i] = (char)rng_below(r, 256);
    snprintf(what, whatlen, "byte@%zu", i);
  } else if (op < 40) { /* delete a span */
    pick_span(r, b, &s, &e);
    buf_splice(b, s, e - s, NULL, 0);
    snprintf(what, whatlen, "delete %zu..%zu", s, e);
  } else if (op < 52) { /* duplicate a span in place */
    pick_span(r, b, &s, &e);
    char *tmp = xmalloc(e - s);
    memcpy(tmp, b->p + s, e - s);
    buf_splice(b, e, 0, tmp, e - s);
    free(tmp);
    snprintf(what, whatlen, "dup %zu..%zu", s, e);
  } else if (op < 64) { /* copy a span elsewhere */
    pick_span(r, b, &s, &e);
    char *tmp = xmalloc(e - s);
    memcpy(tmp, b->p + s, e - s);
    buf_splice(b, at, 0, tmp, e - s);
    free(tmp);
    snprintf(what, whatlen, "copy %zu..%zu@%zu", s, e, at);
  } else if (op < 72) { /* replace a span by a snippet */
    pick_span(r, b, &s, &e);
    const char *sn = k_snippets[rng_below(r, sizeof k_snippets / sizeof k_snippets[0])];
    buf_splice(b, s, e - s, sn, strlen(sn));
    snprintf(what, whatlen, "replace %zu..%zu", s, e);
  } else if (op < 92) { /* insert a snippet */
    size_t k = rng_below(r, sizeof k_snippets / sizeof k_snippets[0]);
    buf_splice(b, at, 0, k_snippets[k], strlen(k_snippets[k]));
    snprintf(what, whatlen, "insert snippet %zu@%zu", k, at);
  } else if (op < 96) { /* NUL bytes */
    size_t n = 1 + rng_below(r, 3);
    buf_splice(b, at, 0, "\0\0\0", n);
    snprintf(what, whatlen, "nul%zu@%zu", n, at);
  } else { /* deep nesting */
    insert_nest(r, b, at, what, whatlen);
  }
}

/* total mutation cases, spread over the corpus files in turn. */
static void run_mutations(Driver *dr, const Corpus *c) {
  if (c->n == 0) return;
  Rng r = {dr->opt.seed * 0x2545F4914F6CDD1Dull + 1};
  Buf b = {0};
  char what[512];
  for (size_t i = 0; i < dr->opt.mutations; i++) {
    const CorpusFile *f = &c->files[i % c->n];
    b.len = 0;
    buf_add(&b, f->text, f->len);
    /* One to four stacked mutations; the first is described in full. */
    size_t nops = 1 + (rng_below(&r, 4) == 0 ? rng_below(&r, 3) + 1 : 0);
    size_t used = (size_t)snprintf(what, sizeof what, "mutation %zu [", i);
    for (size_t k = 0; k < nops; k++) {
      char one[128];
      mutate_once(&r, &b, one, sizeof one);
      if (used < sizeof what)
        used += (size_t)snprintf(what + used, sizeof what - used, "%s%s", k ? ", " : "", one);
    }
    if (used < sizeof what) snprintf(what + used, sizeof what - used, "]");
    run_case(dr, f->path, b.p ? b.p : "", b.len, what);
  }
  free(b.p);
  if (dr->opt.only < 0) printf("  %zu mutations (seed %llu)\n", dr->opt.mutations, (unsigned long long)dr->opt.seed);
}

/* --- main ------------------------------------------------------------------------ */

static void usage(void) {
  fprintf(stderr,
          "usage: fuzz_check [--seed N] [--mutations N] [--max-trunc N] [--budget N] [--case-timeout S]\n"
          "                  [--only N] [--save PATH] [--verbose] [--corpus DIR]... ROOT\n"
          "Fuzzes the front end with the .flow files under ROOT/examples and\n"
          "ROOT/tests/robustness/seed_corpus (or the --corpus directories).\n");
  exit(2);
}

static unsigned long long parse_num(const char *s) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end) usage();
  return v;
}

int main(int argc, char **argv) {
  Driver dr;
  memset(&dr, 0, sizeof dr);
  dr.opt.seed = 1;
  dr.opt.mutations = 3000;
  dr.opt.max_trunc = 20000;
  dr.opt.budget = 60000;
  dr.opt.timeout = 5;
  dr.opt.only = -1;
  const char *root = NULL;
  const char *save = "/tmp/flow-fuzz-case.flow";
  char **dirs = xmalloc((size_t)argc * sizeof *dirs);
  size_t ndirs = 0;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool has_val = i + 1 < argc;
    if (!strcmp(a, "--seed") && has_val) dr.opt.seed = parse_num(argv[++i]);
    else if (!strcmp(a, "--mutations") && has_val) dr.opt.mutations = (size_t)parse_num(argv[++i]);
    else if (!strcmp(a, "--max-trunc") && has_val) dr.opt.max_trunc = (size_t)parse_num(argv[++i]);
    else if (!strcmp(a, "--budget") && has_val) dr.opt.budget = (size_t)parse_num(argv[++i]);
    else if (!strcmp(a, "--case-timeout") && has_val) dr.opt.timeout = (unsigned)parse_num(argv[++i]);
    else if (!strcmp(a, "--only") && has_val) dr.opt.only = (long)parse_num(argv[++i]);
    else if (!strcmp(a, "--save") && has_val) save = argv[++i];
    else if (!strcmp(a, "--corpus") && has_val) dirs[ndirs++] = xstrdup(argv[++i]);
    else if (!strcmp(a, "--verbose")) dr.opt.verbose = true;
    else if (a[0] == '-' || root) usage();
    else root = a;
  }
  if (!root && ndirs == 0) usage();
  if (dr.opt.max_trunc == 0) dr.opt.max_trunc = 1;
  if (dr.opt.timeout == 0) dr.opt.timeout = 5;
  snprintf(g_sig_save_path, sizeof g_sig_save_path, "%s", save);

  if (ndirs == 0) {
    const char *sub[] = {"examples", "tests/robustness/seed_corpus"};
    for (size_t k = 0; k < 2; k++) {
      size_t n = strlen(root) + strlen(sub[k]) + 2;
      dirs[ndirs] = xmalloc(n);
      snprintf(dirs[ndirs++], n, "%s/%s", root, sub[k]);
    }
  }
  Corpus corpus = {0};
  for (size_t k = 0; k < ndirs; k++) corpus_scan(&corpus, dirs[k]);
  for (size_t k = 0; k < ndirs; k++) free(dirs[k]);
  free(dirs);
  if (corpus.n == 0) {
    fprintf(stderr, "fuzz_check: no .flow files found\n");
    return 2;
  }
  qsort(corpus.files, corpus.n, sizeof *corpus.files, cmp_file);

  dr.devnull = fopen("/dev/null", "w");
  if (!dr.devnull) {
    fprintf(stderr, "fuzz_check: cannot open /dev/null\n");
    return 2;
  }
  install_handlers();
  setvbuf(stdout, NULL, _IOLBF, 0);

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (dr.opt.only < 0) printf("fuzz_check: %zu corpus files\n", corpus.n);
  /* Truncation cases at full rate; scale down evenly past the budget. */
  size_t natural = 0;
  for (size_t i = 0; i < corpus.n; i++) {
    size_t len = corpus.files[i].len;
    size_t stride = (len >= 8192 && len + 1 > dr.opt.max_trunc) ? (len + dr.opt.max_trunc) / dr.opt.max_trunc : 1;
    natural += len / stride + 1;
  }
  double scale = dr.opt.budget && natural > dr.opt.budget ? (double)dr.opt.budget / (double)natural : 1.0;
  for (size_t i = 0; i < corpus.n; i++) run_truncations(&dr, &corpus.files[i], scale);
  run_mutations(&dr, &corpus);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  /* A leak report at exit names no case: say so (rerun with --only to narrow). */
  g_sig_case_desc_len = snprintf(g_sig_case_desc, sizeof g_sig_case_desc,
                                 "the end of the run (e.g. a leak report; bisect with --only)");
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

  fclose(dr.devnull);
  corpus_free(&corpus);
  if (dr.opt.only >= 0 && dr.passed + dr.failed == 0) {
    fprintf(stderr, "fuzz_check: there is no case %ld\n", dr.opt.only);
    return 2;
  }
  printf("fuzz_check: %.1f s\n", secs);
  printf("%zu passed, %zu failed\n", dr.passed, dr.failed);
  return dr.failed ? 1 : 0;
}
