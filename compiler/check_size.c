/* check_size.c - the prompt-size estimate (W0315; docs/language.md §3.6).
 *
 * A prompt needs about F + C + R tokens of its binding's context window:
 *   F  the fixed text of its messages (each template without its holes),
 *      counted as the tokens() built-in counts (runtime/tokens.h);
 *   C  the contexts its holes print, from the size of what they read: a
 *      file at one token per four bytes, a glob the files it matches;
 *   R  the reply cap, `max_tokens` of the prompt or else of the binding.
 * Values known only at run time (parameters, env and http contexts) count
 * nothing. The estimate is checked against the `context_window` of the
 * prompt's binding and of every fallback of its policy.
 *
 * Files are measured once per program: a file source when check_context
 * checks its path, the members of a glob when a prompt first needs them.
 * The fixed text is only counted when its byte length (a bound on its
 * tokens) could make the prompt overflow a window, so prompts that fit
 * easily cost one pass over their parts. */
#include <glob.h>
#include <string.h>
#include <sys/stat.h>

#include "check_internal.h"
#include "tokens.h"

/* A contributor to the estimate, named in a label of the warning. */
typedef enum PartKind { PART_TEXT, PART_CONTEXT, PART_REPLY } PartKind;

typedef struct Part {
  PartKind kind;
  uint64_t tokens;
  Span span;
  const PromptItem *item; /* PART_TEXT: the message */
  const Decl *context;    /* PART_CONTEXT: the context printed */
  bool whole;             /* PART_CONTEXT: all of it, not a field or an element */
} Part;

/* Labels name at most this many contributors; a note names at most this many
 * contexts read at run time. */
#define TOP_PARTS 3
#define MAX_LATE 4

/* The estimate of one prompt, without the reply (which depends on the
 * binding). */
typedef struct Estimate {
  uint64_t text_bytes; /* the fixed text's length: a bound on its tokens */
  uint64_t fixed;      /* the fixed text's tokens, once `counted` */
  bool counted;
  uint64_t contexts;   /* the tokens of the contexts printed */
  Part top[TOP_PARTS]; /* the biggest contributors so far, biggest first */
  unsigned ntop;
  unsigned others; /* holes of other values known only at run time */
} Estimate;

/* Keep `p` among the biggest contributors of `e` (ties keep the earlier
 * one first). */
static void keep_top(Estimate *e, Part p) {
  unsigned at = e->ntop;
  while (at > 0 && e->top[at - 1].tokens < p.tokens)
    at--;
  if (at >= TOP_PARTS) return;
  unsigned last = e->ntop < TOP_PARTS ? e->ntop : TOP_PARTS - 1;
  memmove(&e->top[at + 1], &e->top[at], (last - at) * sizeof *e->top);
  e->top[at] = p;
  if (e->ntop < TOP_PARTS) e->ntop++;
}

/* ---- contexts ----------------------------------------------------------------------- */

/* Stat the members of glob context `r` (folders and other non-files are
 * skipped, as the run skips them). */
static void measure_glob(ContextRead *r) {
  r->measured = true;
  r->bytes = r->largest = r->files = 0;
  glob_t g;
  if (!r->pattern || glob(r->pattern, 0, NULL, &g) != 0) return;
  for (size_t i = 0; i < g.gl_pathc; i++) {
    struct stat st;
    if (stat(g.gl_pathv[i], &st) != 0 || !S_ISREG(st.st_mode)) continue;
    r->bytes += (uint64_t)st.st_size;
    if ((uint64_t)st.st_size > r->largest) r->largest = (uint64_t)st.st_size;
    r->files++;
  }
  globfree(&g);
}

/* The tokens printed from context `r`: all of it, or (a field or an
 * element) at most one file of a glob and at most the file otherwise. */
static uint64_t read_tokens(ContextRead *r, bool whole) {
  if (r->kind == READ_GLOB && !r->measured) measure_glob(r);
  return tokens_of_size(whole ? r->bytes : r->largest);
}

/* Whether `callee` is a built-in that prints about as much as its first
 * argument: json(x), join(xs, sep), str(x), lower, upper, trim. */
static bool prints_its_argument(const Expr *callee) {
  static const char *const names[] = {"json", "join", "str", "lower", "upper", "trim", NULL};
  if (callee->kind != EX_NAME || callee->u.name.local || callee->u.name.decl) return false;
  for (const char *const *n = names; *n; n++)
    if (strcmp(callee->u.name.id.name, *n) == 0) return true;
  return false;
}

/* The context a template hole prints, or NULL: the context itself, or
 * json/join/str/lower/upper/trim of it, or `x ?? default` of such an x,
 * prints all of it (*whole); a field or an element of one prints a part. */
static Decl *hole_context(const Expr *e, bool *whole) {
  *whole = true;
  for (unsigned depth = 0; depth < 32; depth++) {
    switch (e->kind) {
    case EX_NAME: {
      Decl *d = e->u.name.local ? NULL : e->u.name.decl;
      return d && d->kind == D_CONTEXT ? d : NULL;
    }
    case EX_MEMBER:
      *whole = false;
      e = e->u.member.obj;
      break;
    case EX_INDEX:
      *whole = false;
      e = e->u.index.obj;
      break;
    case EX_BINARY:
      if (e->u.binary.op != BIN_COALESCE) return NULL;
      e = e->u.binary.lhs;
      break;
    case EX_CALL:
      if (!prints_its_argument(e->u.call.callee) || e->u.call.nargs == 0 || e->u.call.args[0].name.name)
        return NULL;
      e = e->u.call.args[0].value;
      break;
    default: return NULL;
    }
  }
  return NULL;
}

/* Add what the hole `x` prints to `e`. */
static void add_hole(Estimate *e, const Expr *x) {
  bool whole;
  Decl *ctx = hole_context(x, &whole);
  ContextRead *r = ctx ? ctx->u.context.read : NULL;
  if (!r) {
    if (!ctx) e->others++; /* a context that cannot be read is an error already */
    return;
  }
  if (r->kind == READ_AT_RUN_TIME) return; /* named in a note (note_late) */
  uint64_t t = read_tokens(r, whole);
  e->contexts += t;
  keep_top(e, (Part){PART_CONTEXT, t, x->span, NULL, ctx, whole});
}

/* The fixed text's length and the contexts of prompt `d`. */
static void estimate_prompt(Decl *d, Estimate *e) {
  memset(e, 0, sizeof *e);
  for (unsigned i = 0; i < d->u.prompt.nitems; i++) {
    const PromptItem *it = d->u.prompt.items[i];
    if (it->kind != PI_TEXT || it->value->kind != EX_STRING) continue;
    for (unsigned k = 0; k < it->value->u.str.nparts; k++) {
      const StrPart *part = &it->value->u.str.parts[k];
      if (part->is_expr)
        add_hole(e, part->expr);
      else
        e->text_bytes += part->len;
    }
  }
}

/* Count the fixed text of every message of `d` as tokens() would, each
 * message on its own (its holes left empty). */
static void count_fixed(Decl *d, Estimate *e) {
  e->counted = true;
  e->fixed = 0;
  for (unsigned i = 0; i < d->u.prompt.nitems; i++) {
    const PromptItem *it = d->u.prompt.items[i];
    if (it->kind != PI_TEXT || it->value->kind != EX_STRING) continue;
    TokenEstimate t = TOKENS_START;
    size_t n = 0;
    for (unsigned k = 0; k < it->value->u.str.nparts; k++) {
      const StrPart *part = &it->value->u.str.parts[k];
      if (!part->is_expr) n = tokens_add_text(&t, part->text, part->len);
    }
    e->fixed += n;
    keep_top(e, (Part){PART_TEXT, n, it->span, it, NULL, false});
  }
}

/* ---- bindings ----------------------------------------------------------------------- */

/* The value of `key: N` when N is a constant integer of at least 1, with
 * no unit or a count unit (as check_value requires; a bad value, `128k`
 * included, was reported there and is not used). Values past 10^18 are
 * taken as 10^18, so sums cannot overflow. */
static bool entry_count(const Entry *e, uint64_t *out) {
  double x;
  bool is_int;
  if (!e || !e->value || (e->value->kind == EX_UNIT && unit_kind(e->value->u.unit.unit) != UK_COUNT))
    return false;
  if (!expr_const_number(e->value, &x, &is_int) || !is_int || x < 1) return false;
  *out = x < 1e18 ? (uint64_t)x : (uint64_t)1e18;
  return true;
}

/* The `max_tokens` that caps replies of prompt `d` from binding `m`: the
 * prompt's own setting, else the binding's; NULL when neither sets one. */
static const Entry *reply_cap(Decl *d, Decl *m) {
  for (unsigned i = 0; i < d->u.prompt.nitems; i++) {
    const PromptItem *it = d->u.prompt.items[i];
    if (it->kind == PI_SETTING && strcmp(it->setting->key.name, "max_tokens") == 0) return it->setting;
  }
  return check_find_entry(m->u.model.entries, m->u.model.n, "max_tokens");
}

/* ---- the warning ---------------------------------------------------------------------- */

static const char *plural(uint64_t n, const char *one, const char *many) { return n == 1 ? one : many; }

/* Add a secondary label naming contributor `p`. */
static void label_part(Diag *g, const Part *p) {
  unsigned long long t = (unsigned long long)p->tokens;
  if (p->kind == PART_TEXT) {
    diag_add_secondary(g, p->span, "the fixed text of this `%s` message: about %llu tokens",
                       role_str(p->item->role), t);
    return;
  }
  if (p->kind == PART_REPLY) {
    diag_add_secondary(g, p->span, "room for the reply: %llu tokens", t);
    return;
  }
  const ContextRead *r = p->context->u.context.read;
  const char *name = p->context->name.name;
  if (r->kind == READ_FILE && p->whole)
    diag_add_secondary(g, p->span, "context `%s`: \"%s\", %llu bytes, about %llu tokens", name, r->path,
                       (unsigned long long)r->bytes, t);
  else if (r->kind == READ_FILE)
    diag_add_secondary(g, p->span,
                       "part of context `%s`, counted as all of \"%s\": %llu bytes, about %llu tokens", name,
                       r->path, (unsigned long long)r->bytes, t);
  else if (p->whole)
    diag_add_secondary(g, p->span, "context `%s`: %llu %s matching \"%s\", %llu bytes, about %llu tokens",
                       name, (unsigned long long)r->files, plural(r->files, "file", "files"), r->path,
                       (unsigned long long)r->bytes, t);
  else
    diag_add_secondary(g, p->span,
                       "one file of context `%s`, counted as the largest matching \"%s\": %llu bytes, "
                       "about %llu tokens",
                       name, r->path, (unsigned long long)r->largest, t);
}

/* A note naming the contexts that prompt `d` prints but that are read at
 * run time (env, http), each once, when there are any. */
static void note_late(Checker *c, Diag *g, Decl *d) {
  PtrVec late = {0};
  for (unsigned i = 0; i < d->u.prompt.nitems; i++) {
    const PromptItem *it = d->u.prompt.items[i];
    if (it->kind != PI_TEXT || it->value->kind != EX_STRING) continue;
    for (unsigned k = 0; k < it->value->u.str.nparts; k++) {
      const StrPart *part = &it->value->u.str.parts[k];
      bool whole;
      Decl *ctx = part->is_expr ? hole_context(part->expr, &whole) : NULL;
      if (!ctx || !ctx->u.context.read || ctx->u.context.read->kind != READ_AT_RUN_TIME) continue;
      bool seen = false;
      for (unsigned j = 0; j < late.n && !seen; j++)
        seen = late.items[j] == ctx;
      if (!seen) ptrvec_push(c->arena, &late, ctx);
    }
  }
  if (late.n == 1) {
    const Decl *ctx = late.items[0];
    diag_add_note(g, "context `%s` is read with `%s` at run time, so its size is not counted", ctx->name.name,
                  ctx->u.context.read->source);
    return;
  }
  if (late.n == 0) return;
  const char *list = "";
  unsigned shown = late.n <= MAX_LATE ? late.n : MAX_LATE - 1;
  for (unsigned j = 0; j < shown; j++)
    list = arena_printf(c->arena, "%s%s`%s`", list,
                        j == 0            ? ""
                        : j + 1 == late.n ? " and "
                                          : ", ",
                        ((const Decl *)late.items[j])->name.name);
  if (shown < late.n) list = arena_printf(c->arena, "%s and %u more", list, late.n - shown);
  diag_add_note(g, "contexts %s are read at run time (with `env` or `http`), so their sizes are not counted",
                list);
}

/* W0315 for prompt `d` and binding `m` (a fallback of policy `via`, when
 * given), whose window `wnd` (set by `we`) is smaller than the estimate `e`
 * plus the reply cap `reply` (set by `re`; NULL when there is no valid one). */
static void report_overflow(Checker *c, Decl *d, const Estimate *e, Decl *m, Decl *via, const Entry *we,
                            uint64_t wnd, const Entry *re, uint64_t reply) {
  unsigned long long need = (unsigned long long)(e->fixed + e->contexts + reply);
  Diag *g =
      diag_add(c->diags, DIAG_W0315, d->name.span,
               "prompt `%s` needs about %llu tokens (fixed text %llu, contexts %llu, reply %llu) but binding "
               "`%s`%s has a context window of %llu tokens",
               d->name.name, need, (unsigned long long)e->fixed, (unsigned long long)e->contexts,
               (unsigned long long)reply, m->name.name,
               via ? arena_printf(c->arena, " (a fallback of policy `%s`)", via->name.name) : "",
               (unsigned long long)wnd);
  unsigned long long over = need - (unsigned long long)wnd;
  diag_set_label(g, "about %llu %s more than the window", over, plural(over, "token", "tokens"));
  Estimate top = *e;
  if (re) keep_top(&top, (Part){PART_REPLY, reply, re->value->span, NULL, NULL, false});
  for (unsigned i = 0; i < top.ntop; i++)
    if (top.top[i].tokens > 0) label_part(g, &top.top[i]);
  diag_add_secondary(g, we->value->span, "the context window of `%s`", m->name.name);
  note_late(c, g, d);
  if (e->others == 1)
    diag_add_note(g,
                  "the value of 1 hole is known only at run time (such as a parameter) and is not counted");
  else if (e->others > 1)
    diag_add_note(
        g, "the values of %u holes are known only at run time (such as parameters) and are not counted",
        e->others);
  if (!reply_cap(d, m))
    diag_add_note(g, "`%s` sets no `max_tokens`, so the reply is not counted", m->name.name);
  if (e->contexts > 0)
    diag_set_help(
        g,
        "shorten the template, chunk the context with `chunk_tokens`, or bind a model with a larger window");
  else
    diag_set_help(g, "shorten the template, lower `max_tokens`, or bind a model with a larger window");
}

void check_prompt_size(Checker *c, Decl *d) {
  Estimate e;
  bool estimated = false;
  unsigned i = 0;
  Decl *m, *via;
  while ((m = check_prompt_binding(c, d, &i, &via))) {
    const Entry *we = check_find_entry(m->u.model.entries, m->u.model.n, "context_window");
    uint64_t wnd, reply = 0;
    if (!entry_count(we, &wnd)) continue;
    if (!estimated) estimate_prompt(d, &e);
    estimated = true;
    const Entry *re = reply_cap(d, m);
    if (!entry_count(re, &reply)) re = NULL;
    /* tokens never outnumber bytes: a prompt within the bound fits */
    if (!e.counted && e.text_bytes + e.contexts + reply <= wnd) continue;
    if (!e.counted) count_fixed(d, &e);
    if (e.fixed + e.contexts + reply > wnd) report_overflow(c, d, &e, m, via, we, wnd, re, reply);
  }
}
