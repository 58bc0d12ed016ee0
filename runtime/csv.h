/* csv.h - an RFC 4180 reader: splits CSV text into rows of cells, for the
 * csv context source (runtime/context.c), which gives the cells their types.
 *
 * Accepted: cells separated by commas; rows ended by CRLF or LF (the last
 * row may end at the end of the text); a cell in double quotes may hold
 * commas, line breaks and doubled quotes ("" is one "); a UTF-8 byte order
 * mark at the start is skipped; an empty line is skipped (it holds no row).
 * Refused, with the line: a quote inside an unquoted cell, anything but a
 * comma or the end of the line after a closing quote, a quoted cell that is
 * never closed. Lines are counted from 1 and include the line breaks inside
 * quoted cells. No allocation failure is reported: allocation aborts, like
 * everywhere in the runtime. */
#ifndef FLOW_CSV_H
#define FLOW_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "textbuf.h"

typedef struct CsvRow CsvRow;

/* A position in the text being read. */
typedef struct CsvReader {
  const char *s;
  size_t n, i;
  uint32_t line;            /* the line of s[i] */
  const CsvRow *header;     /* when set, messages name a cell's column too */
} CsvReader;

/* One row: cell k is text.data + start[k], len[k] bytes, NUL-terminated.
 * Start zeroed ({0}); csv_next reuses the memory; csv_row_free frees it. */
struct CsvRow {
  uint32_t line;            /* the line the row starts on */
  uint32_t ncells, cap;
  size_t *start, *len;
  TextBuf text;
};

/* Start reading s[0..n) (borrowed for the reader's life). */
void csv_init(CsvReader *r, const char *s, size_t n);

/* Read the next row into *row. Returns 1 for a row, 0 at the end of the
 * text, or -1 on malformed text, with the line in *err_line and what was
 * expected and found in err[0..errlen). */
int csv_next(CsvReader *r, CsvRow *row, uint32_t *err_line, char *err, size_t errlen);

/* The bytes of cell [k] of [row] (borrowed). */
const char *csv_cell(const CsvRow *row, uint32_t k, size_t *len);

void csv_row_free(CsvRow *row);

#endif
