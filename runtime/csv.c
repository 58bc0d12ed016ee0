/* csv.c - the RFC 4180 reader behind the csv context source (see csv.h).
 * One pass over the bytes; each row's cells are unquoted into one buffer,
 * each followed by a NUL. */
#include "csv.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

void csv_init(CsvReader *r, const char *s, size_t n) {
  r->s = s;
  r->n = n;
  r->i = n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  r->line = 1;
  r->header = NULL;
}

/* Does a line break (LF or CR LF) start at the current position? Returns
 * its length, or 0. */
static size_t line_break(const CsvReader *r) {
  if (r->i >= r->n) return 0;
  if (r->s[r->i] == '\n') return 1;
  if (r->s[r->i] == '\r' && r->i + 1 < r->n && r->s[r->i + 1] == '\n') return 2;
  return 0;
}

/* What is at the current position, for "found ..." in messages. */
static const char *found_here(const CsvReader *r, char *buf, size_t len) {
  if (r->i >= r->n) return "the end of the file";
  unsigned char c = (unsigned char)r->s[r->i];
  if (c >= 0x20 && c < 0x7f) snprintf(buf, len, "'%c'", c);
  else snprintf(buf, len, "byte 0x%02x", c);
  return buf;
}

/* "cell K", and "(column `NAME`)" when the reader knows the header. */
static const char *cell_name(const CsvReader *r, uint32_t k, char *buf, size_t len) {
  const CsvRow *h = r->header;
  if (h && k >= 1 && k <= h->ncells)
    snprintf(buf, len, "cell %u (column `%.*s`)", k, (int)(h->len[k - 1] > 64 ? 64 : h->len[k - 1]),
             h->text.data + h->start[k - 1]);
  else
    snprintf(buf, len, "cell %u", k);
  return buf;
}

/* Start a new cell in [row]. */
static void cell_begin(CsvRow *row) {
  if (row->ncells == row->cap) {
    row->cap = row->cap ? row->cap * 2 : 16;
    row->start = xrealloc(row->start, row->cap * sizeof *row->start);
    row->len = xrealloc(row->len, row->cap * sizeof *row->len);
  }
  row->start[row->ncells] = row->text.len;
  row->len[row->ncells] = 0;
  row->ncells++;
}

/* Close the current cell: its length, then its NUL. */
static void cell_end(CsvRow *row) {
  uint32_t k = row->ncells - 1;
  row->len[k] = row->text.len - row->start[k];
  tb_putc(&row->text, '\0');
}

/* quoted = '"' { any byte but '"' | '""' } '"'  (the opening quote is at
 * the current position). Returns false on a quote never closed. */
static bool read_quoted(CsvReader *r, CsvRow *row, uint32_t *err_line, char *err, size_t errlen) {
  uint32_t opened = r->line, k = row->ncells;
  r->i++;
  for (;;) {
    if (r->i >= r->n) {
      char name[100];
      *err_line = opened;
      snprintf(err, errlen, "the quote that opens %s is never closed; expected a closing '\"', found the end of "
               "the file", cell_name(r, k, name, sizeof name));
      return false;
    }
    char c = r->s[r->i];
    if (c == '"' && r->i + 1 < r->n && r->s[r->i + 1] == '"') {
      tb_putc(&row->text, '"');
      r->i += 2;
      continue;
    }
    r->i++;
    if (c == '"') return true;
    if (c == '\n') r->line++;
    tb_putc(&row->text, c);
  }
}

/* unquoted = { any byte but ',' '"' and a line break } */
static bool read_unquoted(CsvReader *r, CsvRow *row, uint32_t *err_line, char *err, size_t errlen) {
  size_t from = r->i;
  while (r->i < r->n && r->s[r->i] != ',' && !line_break(r)) {
    if (r->s[r->i] == '"') {
      char name[100];
      *err_line = r->line;
      snprintf(err, errlen, "%s holds a quote but does not start with one; expected the whole cell in quotes "
               "with each quote doubled (\"a \"\"b\"\" c\")", cell_name(r, row->ncells, name, sizeof name));
      return false;
    }
    r->i++;
  }
  tb_put(&row->text, r->s + from, r->i - from);
  return true;
}

/* row = cell { ',' cell } ( line-break | end ) */
int csv_next(CsvReader *r, CsvRow *row, uint32_t *err_line, char *err, size_t errlen) {
  for (size_t k; (k = line_break(r)) > 0; r->i += k) r->line++; /* empty lines */
  row->ncells = 0;
  row->text.len = 0;
  if (r->i >= r->n) return 0;
  row->line = r->line;
  for (;;) {
    cell_begin(row);
    bool ok = r->i < r->n && r->s[r->i] == '"' ? read_quoted(r, row, err_line, err, errlen)
                                                 : read_unquoted(r, row, err_line, err, errlen);
    if (!ok) return -1;
    cell_end(row);
    if (r->i < r->n && r->s[r->i] == ',') {
      r->i++;
      continue;
    }
    size_t k = line_break(r);
    if (k == 0 && r->i < r->n) {
      char b[32], name[100];
      *err_line = r->line;
      snprintf(err, errlen, "expected ',' or the end of the line after the closing quote of %s, found %s",
               cell_name(r, row->ncells, name, sizeof name), found_here(r, b, sizeof b));
      return -1;
    }
    r->i += k;
    r->line += k > 0;
    return 1;
  }
}

const char *csv_cell(const CsvRow *row, uint32_t k, size_t *len) {
  *len = row->len[k];
  return row->text.data + row->start[k];
}

void csv_row_free(CsvRow *row) {
  free(row->start);
  free(row->len);
  free(row->text.data);
  memset(row, 0, sizeof *row);
}
