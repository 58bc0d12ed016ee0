/* diag.h - diagnostics as data.
 *
 * The front end never prints. Every problem it finds becomes a Diag record:
 * a code from diag_codes.def, a severity, a message, a primary span with a
 * label, secondary spans with labels, notes and an optional help line. The
 * command-line layer renders the list (diag_render.h) as text, JSON or SARIF. */
#ifndef FLOW_DIAG_H
#define FLOW_DIAG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "source.h"

typedef enum DiagSeverity { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE } DiagSeverity;

typedef enum DiagCode {
#define X(id, str, sev, title) DIAG_##id,
#include "diag_codes.def"
#undef X
  DIAG_CODE_COUNT
} DiagCode;

/* A span with an optional label (label may be NULL). */
typedef struct DiagLabel {
  Span span;
  char *label; /* owned */
} DiagLabel;

typedef struct Diag {
  DiagCode code;
  DiagSeverity severity;
  char *message;          /* owned; one line, no trailing period */
  bool has_span;          /* false for file-level problems without a location */
  DiagLabel primary;
  DiagLabel *secondary;   /* owned array */
  size_t nsecondary;
  char **notes;           /* owned array of owned strings */
  size_t nnotes;
  char *help;             /* owned, may be NULL */
} Diag;

/* The list of diagnostics of one compilation. */
typedef struct DiagList {
  Diag *items;
  size_t n, cap;
  size_t nerrors, nwarnings;  /* every diagnostic reported, kept or not */
  size_t limit;               /* keep at most this many (0: no limit) */
  size_t dropped;             /* reported past the limit and not kept */
  Diag overflow;              /* scratch handed out past the limit */
} DiagList;

void diag_list_init(DiagList *dl);
void diag_list_free(DiagList *dl);

/* Append a diagnostic with a primary span and formatted message; returns a
 * borrowed pointer valid until the next append, for adding labels/notes. */
Diag *diag_add(DiagList *dl, DiagCode code, Span span, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Same, for a problem that has no source location (e.g. unreadable file). */
Diag *diag_add_nospan(DiagList *dl, DiagCode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void diag_set_label(Diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_add_secondary(Diag *d, Span span, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_add_note(Diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_set_help(Diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sort by file, then start offset, then insertion order (diagnostics
 * without a location first), so output is stable whatever order the passes
 * found them in. */
void diag_list_sort(DiagList *dl);

/* Static facts about a code. */
const char *diag_code_str(DiagCode code);         /* "E0101" */
const char *diag_code_title(DiagCode code);       /* "unknown name" */
DiagSeverity diag_code_severity(DiagCode code);
bool diag_code_lookup(const char *str, DiagCode *out);
const char *diag_severity_str(DiagSeverity s);    /* "error" */

#endif
