/* progress.c - the progress line of a run (see progress.h).
 *
 * On a terminal the line is redrawn after a carriage return and padded
 * with spaces over what the previous one left, so no terminal escape is
 * needed; it is cut to the terminal's width so that it never wraps. */
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"

/* At most this many updates a second. */
#define PROGRESS_INTERVAL_MS 100.0

struct Progress {
  FILE *out;
  ProgressMode mode;
  const char *prog;
  FILE *results;            /* where the results go, when that is the same terminal; else NULL */
  double start, last;       /* ms; last < 0: nothing drawn yet */
  size_t shown;             /* columns of the line on the terminal; 0: none */
  size_t width;             /* the terminal's columns (0: not known) */
};

Progress *progress_new(FILE *out, ProgressMode mode, const char *prog, FILE *results, double now_ms) {
  Progress *p = xmalloc(sizeof *p);
  memset(p, 0, sizeof *p);
  p->out = out;
  p->mode = mode;
  p->prog = prog;
  p->start = now_ms;
  p->last = -1;
  if (mode == PROGRESS_TERMINAL) {
    if (results && results != out && isatty(fileno(results))) p->results = results;
    struct winsize ws;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) p->width = ws.ws_col;
  }
  return p;
}

void progress_free(Progress *p) { free(p); }

bool progress_due(const Progress *p, double now_ms) {
  return p->last < 0 || now_ms - p->last >= PROGRESS_INTERVAL_MS;
}

/* "1234", "12.3k", "4.6M" */
static void count_text(char *buf, size_t size, int64_t n) {
  if (n < 10000) snprintf(buf, size, "%lld", (long long)n);
  else if (n < 10000000) snprintf(buf, size, "%.1fk", (double)n / 1e3);
  else snprintf(buf, size, "%.1fM", (double)n / 1e6);
}

/* "42s", "3m05s", "2h07m" */
static void time_text(char *buf, size_t size, double ms) {
  long long s = (long long)(ms / 1000.0 + 0.5);
  if (s < 60) snprintf(buf, size, "%llds", s);
  else if (s < 3600) snprintf(buf, size, "%lldm%02llds", s / 60, s % 60);
  else snprintf(buf, size, "%lldh%02lldm", s / 3600, s / 60 % 60);
}

size_t progress_format(char *buf, size_t size, const ProgressFigures *f, double elapsed_ms) {
  char items[64], tokens[32], eta[48] = "";
  if (f->total) snprintf(items, sizeof items, "%llu/%llu", (unsigned long long)f->done, (unsigned long long)f->total);
  else snprintf(items, sizeof items, "%llu", (unsigned long long)f->done);
  count_text(tokens, sizeof tokens, f->tokens);
  if (f->total && f->done && f->done <= f->total) {
    char left[32];
    time_text(left, sizeof left, elapsed_ms / (double)f->done * (double)(f->total - f->done));
    snprintf(eta, sizeof eta, "  ETA %s", left);
  }
  int n = snprintf(buf, size, "items %s  failed %llu  in flight %u  tokens %s  $%.4f%s", items,
                   (unsigned long long)f->failed, f->in_flight, tokens, f->cost, eta);
  return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}

void progress_draw(Progress *p, const ProgressFigures *f, double now_ms) {
  char text[256], line[320];
  progress_format(text, sizeof text, f, now_ms - p->start);
  int n = snprintf(line, sizeof line, "%s: %s", p->prog, text);
  size_t len = n < 0 ? 0 : (size_t)n >= sizeof line ? sizeof line - 1 : (size_t)n;
  p->last = now_ms;
  if (p->mode == PROGRESS_LINES) {
    fprintf(p->out, "%s\n", line);
    fflush(p->out);
    return;
  }
  if (p->width && len > p->width - 1) len = p->width - 1; /* never wrap */
  fprintf(p->out, "\r%.*s", (int)len, line);
  for (size_t i = len; i < p->shown; i++) fputc(' ', p->out);
  if (p->shown > len) fprintf(p->out, "\r%.*s", (int)len, line);
  p->shown = len;
  fflush(p->out);
}

void progress_clear(Progress *p, FILE *f) {
  if (!p || p->mode != PROGRESS_TERMINAL || !p->shown) return;
  if (!f || (f != p->out && f != p->results)) return;
  fputc('\r', p->out);
  for (size_t i = 0; i < p->shown; i++) fputc(' ', p->out);
  fputc('\r', p->out);
  fflush(p->out);
  p->shown = 0;
}

void progress_end(Progress *p, const ProgressFigures *f, double now_ms) {
  if (p->mode == PROGRESS_LINES) progress_draw(p, f, now_ms);
  else progress_clear(p, p->out);
}

uint64_t progress_count_lines(const char *path) {
  struct stat st;
  if (!path || !strcmp(path, "-") || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  char buf[65536];
  uint64_t lines = 0;
  bool content = false; /* the current line has something besides its newline */
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    for (const char *c = buf, *end = buf + n; c < end;) {
      const char *nl = memchr(c, '\n', (size_t)(end - c));
      if (!nl) {
        content = true;
        break;
      }
      lines += content || nl > c;
      content = false;
      c = nl + 1;
    }
  }
  fclose(f);
  return lines + content;
}
