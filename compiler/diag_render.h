/* diag_render.h - the three renderings of a diagnostic list.
 *
 * text:  rustc-style, with the source line and carets; colour when asked.
 * json:  one JSON document, schema documented in docs/diagnostics.md.
 * sarif: SARIF 2.1.0, for code-review annotations.
 * Renderers write to a FILE*; they are the only code that prints diagnostics.
 *
 * `flowc check` checks each file as its own compilation; the *_units
 * variants render the diagnostics of several compilations as one document
 * (json, sarif), and the text renderer is split so that each compilation can
 * be printed as soon as it is checked, with one summary line at the end. */
#ifndef FLOW_DIAG_RENDER_H
#define FLOW_DIAG_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "diag.h"
#include "source.h"

/* One compilation's diagnostics and the sources their spans point into.
 * Both borrowed. */
typedef struct DiagUnit {
  SourceMap *sources;
  const DiagList *diags;
} DiagUnit;

/* Text: every diagnostic of `dl` in list order, then the summary line
 * ("error: aborting due to 2 previous errors; 1 warning emitted"); prints
 * nothing at all for an empty list. ANSI colour only when `color`. */
void diag_render_text(FILE *out, SourceMap *sm, const DiagList *dl, bool color);

/* Text, the two halves of diag_render_text: the diagnostics without the
 * summary, and the summary alone for the given totals (nothing when both
 * are zero). */
void diag_render_text_diags(FILE *out, SourceMap *sm, const DiagList *dl, bool color);
void diag_render_text_summary(FILE *out, size_t nerrors, size_t nwarnings, bool color);

/* Text, one diagnostic under a heading of the caller's ("failed" instead of
 * "error[E0101]"): `flowc test` shows a failed assertion this way. */
void diag_render_text_titled(FILE *out, SourceMap *sm, const Diag *d, const char *title, bool color);

/* JSON: one document {"version":1,"diagnostics":[...],"errors":N,"warnings":N}
 * followed by a newline. */
void diag_render_json(FILE *out, SourceMap *sm, const DiagList *dl);
void diag_render_json_units(FILE *out, const DiagUnit *units, size_t nunits);

/* SARIF 2.1.0: one log with one run whose tool is flowc `tool_version`,
 * followed by a newline. */
void diag_render_sarif(FILE *out, SourceMap *sm, const DiagList *dl, const char *tool_version);
void diag_render_sarif_units(FILE *out, const DiagUnit *units, size_t nunits,
                             const char *tool_version);

#endif
