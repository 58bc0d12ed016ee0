/* diag_render.h - the three renderings of a diagnostic list.
 *
 * text:  rustc-style, with the source line and carets; colour when asked.
 * json:  one JSON document, schema documented in docs/diagnostics.md.
 * sarif: SARIF 2.1.0, for code-review annotations.
 * Renderers write to a FILE*; they are the only code that prints diagnostics. */
#ifndef FLOW_DIAG_RENDER_H
#define FLOW_DIAG_RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include "diag.h"
#include "source.h"

void diag_render_text(FILE *out, SourceMap *sm, const DiagList *dl, bool color);
void diag_render_json(FILE *out, SourceMap *sm, const DiagList *dl);
void diag_render_sarif(FILE *out, SourceMap *sm, const DiagList *dl, const char *tool_version);

#endif
