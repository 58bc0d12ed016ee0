/* disasm.c - the listing printed by `flowc disasm` (see disasm.h).
 *
 * Every index is checked before it is followed, so even an Image that was
 * never verified prints without crashing (unknown references show as `?`).
 * Lines are built in a fixed-size buffer first so that the source position
 * can be aligned in a column. */
#include "disasm.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bytecode.h"
#include "sha256.h"

/* Names of the built-in functions, by id. */
static const char *const BUILTIN_NAMES[] = {
#define X(id, name, min_args, max_args) name,
#include "builtins.def"
#undef X
};
#define NBUILTINS ((uint32_t)(sizeof BUILTIN_NAMES / sizeof BUILTIN_NAMES[0]))

static const char *const PROVIDERS[] = {"openai", "anthropic", "ollama", "mock"};
static const char *const BACKOFFS[] = {"none", "exponential", "constant"};
static const char *const SOURCES[] = {"file", "image", "audio", "json", "jsonl",
                                      "csv",  "glob",  "env",   "http"};
static const char *const KIND_NAMES[] = {"any",   "string", "int",      "float", "bool",
                                         "image", "audio",  "duration", "list",  "optional",
                                         "map",   "record", "enum"};

/* Width of the instruction text before the position column. */
#define POS_COLUMN 60
/* Longest text shown of a string constant, in code points. */
#define CONST_PREVIEW 40
/* Deepest nesting of list/optional/map followed when naming a type. */
#define TYPE_DEPTH 16

/* One line of output being built; text past the buffer is dropped. */
typedef struct Line {
  char buf[1024];
  size_t len;
} Line;

static void add(Line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(Line *l, const char *fmt, ...) {
  if (l->len >= sizeof l->buf - 1) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(l->buf + l->len, sizeof l->buf - l->len, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  l->len += (size_t)n;
  if (l->len > sizeof l->buf - 1) l->len = sizeof l->buf - 1;
}

/* Append [s] (NULL shows as `?`). */
static void add_name(Line *l, const char *s) { add(l, "%s", s ? s : "?"); }

/* Append [n] bytes at [s] as a quoted string with escapes, cut after
 * [max] code points with an ellipsis. */
static void add_quoted(Line *l, const char *s, size_t n, size_t max) {
  size_t shown = 0;
  add(l, "\"");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c & 0xC0) != 0x80 && shown++ == max) {
      add(l, "\xe2\x80\xa6"); /* … */
      break;
    }
    switch (c) {
    case '"': add(l, "\\\""); break;
    case '\\': add(l, "\\\\"); break;
    case '\n': add(l, "\\n"); break;
    case '\t': add(l, "\\t"); break;
    case '\r': add(l, "\\r"); break;
    default:
      if (c < 0x20 || c == 0x7f)
        add(l, "\\x%02x", c);
      else
        add(l, "%c", c);
    }
  }
  add(l, "\"");
}

static void add_cquoted(Line *l, const char *s, size_t max) {
  if (!s)
    add(l, "none");
  else
    add_quoted(l, s, strlen(s), max);
}

/* A float in its shortest form that reads back as the same number. */
static void add_float(Line *l, double f) {
  char tmp[40];
  if (f > -1e15 && f < 1e15 && f == (double)(long long)f) {
    snprintf(tmp, sizeof tmp, "%.1f", f); /* 100.0, not 1e+02 */
  } else {
    for (int prec = 1; prec <= 17; prec++) {
      snprintf(tmp, sizeof tmp, "%.*g", prec, f);
      if (strtod(tmp, NULL) == f) break;
    }
  }
  add(l, "%s", tmp);
  if (!strpbrk(tmp, ".eEin")) add(l, ".0");
}

static void add_value(Line *l, Value v) {
  switch (v.tag) {
  case V_NONE: add(l, "none"); break;
  case V_BOOL: add(l, v.u.b ? "true" : "false"); break;
  case V_INT: add(l, "%lld", (long long)v.u.i); break;
  case V_FLOAT: add_float(l, v.u.f); break;
  case V_STR: {
    const Str *s = value_as_str(v);
    add_quoted(l, s->data, s->len, CONST_PREVIEW);
    break;
  }
  default: add(l, "<value of tag %u>", v.tag); break;
  }
}

/* Append the name of type [t] as written in flow (`Ticket`, `string[]`,
 * `map<string, float>`). */
static void add_type(Line *l, const Image *img, uint32_t t, int depth) {
  if (t >= img->ntypes || depth > TYPE_DEPTH) {
    add(l, "?");
    return;
  }
  const ImgType *ty = &img->types[t];
  switch (ty->kind) {
  case IT_LIST:
    add_type(l, img, ty->elem, depth + 1);
    add(l, "[]");
    break;
  case IT_OPT:
    add_type(l, img, ty->elem, depth + 1);
    add(l, "?");
    break;
  case IT_MAP:
    add(l, "map<string, ");
    add_type(l, img, ty->elem, depth + 1);
    add(l, ">");
    break;
  case IT_RECORD:
  case IT_ENUM: add_name(l, ty->name); break;
  default:
    if ((unsigned)ty->kind < sizeof KIND_NAMES / sizeof KIND_NAMES[0])
      add(l, "%s", KIND_NAMES[ty->kind]);
    else
      add(l, "?");
    break;
  }
}

/* "file.flow:12:3" for position index [pos], or "?" */
static void add_pos(Line *l, const Image *img, uint32_t pos) {
  if (pos >= img->npositions) {
    add(l, "?");
    return;
  }
  const ImgPos *p = &img->positions[pos];
  add_name(l, p->file < img->nfiles ? img->files[p->file] : NULL);
  add(l, ":%u:%u", p->line, p->col);
}

static void emit(FILE *out, Line *l) {
  fwrite(l->buf, 1, l->len, out);
  fputc('\n', out);
  l->len = 0;
}

/* Pad [l] with spaces to [col] (at least one space). */
static void pad(Line *l, size_t col) {
  add(l, " ");
  while (l->len < col)
    add(l, " ");
}

static const char *func_name(const Image *img, uint32_t f) {
  return f < img->nfuncs ? img->funcs[f].name : NULL;
}

/* ---- header and tables ------------------------------------------------------------------------- */

static void header(FILE *out, const Image *img) {
  char hex[SHA256_HEX_SIZE];
  sha256_hex(img->hash, hex);
  fprintf(out, "flow bytecode, format version %u\n", BYTECODE_VERSION);
  fprintf(out, "hash       %s\n", hex);
  fprintf(out,
          "counts     %u files, %u positions, %u constants, %u types, %u functions, %u models, "
          "%u policies, %u prompts, %u contexts, %u evals, %u flows, %u tests\n",
          img->nfiles, img->npositions, img->nconsts, img->ntypes, img->nfuncs, img->nmodels, img->npolicies,
          img->nprompts, img->ncontexts, img->nevals, img->nflows, img->ntests);
  if (img->main_flow >= 0 && (uint32_t)img->main_flow < img->nflows)
    fprintf(out, "main       flow %d `%s`\n", img->main_flow,
            img->flows[img->main_flow].name ? img->flows[img->main_flow].name : "?");
  else
    fprintf(out, "main       none\n");
}

static void list_files(FILE *out, const Image *img) {
  Line l = {.len = 0};
  fprintf(out, "\nfiles\n");
  for (uint32_t i = 0; i < img->nfiles; i++) {
    add(&l, "  %-4u ", i);
    add_name(&l, img->files[i]);
    emit(out, &l);
  }
}

static void list_types(FILE *out, const Image *img) {
  Line l = {.len = 0};
  fprintf(out, "\ntypes\n");
  for (uint32_t i = 0; i < img->ntypes; i++) {
    const ImgType *t = &img->types[i];
    add(&l, "  t%-4u ", i);
    if (t->kind == IT_RECORD) {
      add(&l, "record ");
      add_name(&l, t->name);
      add(&l, " {");
      for (uint32_t f = 0; f < t->nfields; f++) {
        add(&l, f ? ", " : " ");
        add_name(&l, t->field_names ? t->field_names[f] : NULL);
        add(&l, ": ");
        add_type(&l, img, t->field_types ? t->field_types[f] : UINT32_MAX, 0);
        if (t->field_docs && t->field_docs[f]) {
          add(&l, " @describe(");
          add_cquoted(&l, t->field_docs[f], CONST_PREVIEW);
          add(&l, ")");
        }
      }
      add(&l, " }");
    } else if (t->kind == IT_ENUM) {
      add(&l, "enum ");
      add_name(&l, t->name);
      add(&l, " {");
      for (uint32_t v = 0; v < t->nvariants; v++) {
        add(&l, v ? ", " : " ");
        add_name(&l, t->variants ? t->variants[v] : NULL);
      }
      add(&l, " }");
    } else {
      add_type(&l, img, i, 0);
    }
    emit(out, &l);
  }
}

static void list_consts(FILE *out, const Image *img) {
  Line l = {.len = 0};
  fprintf(out, "\nconstants\n");
  for (uint32_t i = 0; i < img->nconsts; i++) {
    add(&l, "  k%-4u ", i);
    add_value(&l, img->consts[i]);
    emit(out, &l);
  }
}

/* The sampling parameters that are set, as " temperature=0.2 max_tokens=200". */
static void add_params(Line *l, const ImgParams *p) {
  if (p->set & PARAM_TEMPERATURE) {
    add(l, " temperature=");
    add_float(l, p->temperature);
  }
  if (p->set & PARAM_TOP_P) {
    add(l, " top_p=");
    add_float(l, p->top_p);
  }
  if (p->set & PARAM_MAX_TOKENS) add(l, " max_tokens=%lld", (long long)p->max_tokens);
  if (p->set & PARAM_SEED) add(l, " seed=%lld", (long long)p->seed);
  if (p->set & PARAM_STOP) {
    add(l, " stop=[");
    for (uint32_t i = 0; i < p->nstop; i++) {
      if (i) add(l, ", ");
      add_cquoted(l, p->stop ? p->stop[i] : NULL, CONST_PREVIEW);
    }
    add(l, "]");
  }
}

static void list_models(FILE *out, const Image *img) {
  Line l = {.len = 0};
  fprintf(out, "\nmodels\n");
  for (uint32_t i = 0; i < img->nmodels; i++) {
    const ImgModel *m = &img->models[i];
    add(&l, "  m%-4u ", i);
    add_name(&l, m->name);
    add(&l, ": %s", (unsigned)m->provider < 4 ? PROVIDERS[m->provider] : "?");
    if (m->model) {
      add(&l, " ");
      add_cquoted(&l, m->model, CONST_PREVIEW);
    }
    if (m->base_url) {
      add(&l, " base_url=");
      add_cquoted(&l, m->base_url, CONST_PREVIEW);
    }
    if (m->api_key_env) add(&l, " api_key_env=%s", m->api_key_env);
    add_params(&l, &m->params);
    if (m->context_window) add(&l, " context_window=%lld", (long long)m->context_window);
    if (m->vision) add(&l, " vision");
    if (m->audio) add(&l, " audio");
    if (m->json_mode) add(&l, " json_mode");
    if (m->concurrency) add(&l, " concurrency=%lld", (long long)m->concurrency);
    if (m->requests_per_minute) add(&l, " rpm=%lld", (long long)m->requests_per_minute);
    if (m->tokens_per_minute) add(&l, " tpm=%lld", (long long)m->tokens_per_minute);
    if (m->price_input != 0 || m->price_output != 0) {
      add(&l, " price=");
      add_float(&l, m->price_input);
      add(&l, "/");
      add_float(&l, m->price_output);
    }
    emit(out, &l);
  }
}

static void list_policies(FILE *out, const Image *img) {
  Line l = {.len = 0};
  fprintf(out, "\npolicies\n");
  for (uint32_t i = 0; i < img->npolicies; i++) {
    const ImgPolicy *p = &img->policies[i];
    add(&l, "  %-5u ", i);
    add_name(&l, p->name);
    add(&l, ": retry %u, backoff %s", p->retry, (unsigned)p->backoff < 3 ? BACKOFFS[p->backoff] : "?");
    if (p->backoff != BACKOFF_NONE) {
      add(&l, " base ");
      add_float(&l, p->base_ms);
      add(&l, "ms factor ");
      add_float(&l, p->factor);
      add(&l, " max ");
      add_float(&l, p->max_ms);
      add(&l, "ms");
    }
    if (p->timeout_ms != 0) {
      add(&l, ", timeout ");
      add_float(&l, p->timeout_ms);
      add(&l, "ms");
    }
    if (p->nfallback) {
      add(&l, ", fallback");
      for (uint32_t f = 0; f < p->nfallback; f++) {
        uint32_t m = p->fallback ? p->fallback[f] : UINT32_MAX;
        add(&l, f ? ", " : " ");
        add_name(&l, m < img->nmodels ? img->models[m].name : NULL);
      }
    }
    if (p->cache) add(&l, ", cache");
    emit(out, &l);
  }
}

static void list_prompts(FILE *out, const Image *img) {
  Line l = {.len = 0};
  fprintf(out, "\nprompts\n");
  for (uint32_t i = 0; i < img->nprompts; i++) {
    const ImgPrompt *p = &img->prompts[i];
    add(&l, "  p%-4u ", i);
    add_name(&l, p->name);
    add(&l, "(%u) -> ", p->nparams);
    add_type(&l, img, p->out_type, 0);
    add(&l, ": render f%u, model ", p->render);
    add_name(&l, p->model < img->nmodels ? img->models[p->model].name : NULL);
    if (p->policy >= 0) {
      add(&l, ", policy ");
      add_name(&l, (uint32_t)p->policy < img->npolicies ? img->policies[p->policy].name : NULL);
    }
    if (p->params.set) add(&l, ",");
    add_params(&l, &p->params);
    add(&l, p->schema ? ", schema" : ", plain text");
    add(&l, "  (");
    add_pos(&l, img, p->pos);
    add(&l, ")");
    emit(out, &l);
  }
}

static void list_contexts(FILE *out, const Image *img) {
  Line l = {.len = 0};
  fprintf(out, "\ncontexts\n");
  for (uint32_t i = 0; i < img->ncontexts; i++) {
    const ImgContext *c = &img->contexts[i];
    add(&l, "  c%-4u ", i);
    add_name(&l, c->name);
    add(&l, ": ");
    add_type(&l, img, c->type, 0);
    add(&l, " = %s(", (unsigned)c->source < 9 ? SOURCES[c->source] : "?");
    add_cquoted(&l, c->arg, CONST_PREVIEW);
    if (c->has_default) {
      add(&l, ", default: ");
      if (c->default_const < img->nconsts)
        add_value(&l, img->consts[c->default_const]);
      else
        add(&l, "?");
    }
    if (c->nallow) {
      add(&l, ", allow: [");
      for (uint32_t k = 0; k < c->nallow; k++) {
        if (k) add(&l, ", ");
        add_cquoted(&l, c->allow[k], CONST_PREVIEW);
      }
      add(&l, "]");
    }
    add(&l, ")  (");
    add_pos(&l, img, c->pos);
    add(&l, ")");
    emit(out, &l);
  }
}

static void list_evals(FILE *out, const Image *img) {
  Line l = {.len = 0};
  fprintf(out, "\nevals\n");
  for (uint32_t i = 0; i < img->nevals; i++) {
    const ImgEval *e = &img->evals[i];
    add(&l, "  e%-4u ", i);
    add_name(&l, e->name);
    add(&l, ": f%u, %u assertions", e->fn, e->nasserts);
    emit(out, &l);
    for (uint32_t a = 0; a < e->nasserts; a++) {
      if (!e->assert_messages || !e->assert_messages[a]) continue;
      add(&l, "         assert %u ", a);
      add_cquoted(&l, e->assert_messages ? e->assert_messages[a] : NULL, CONST_PREVIEW);
      emit(out, &l);
    }
  }
}

static void list_flows(FILE *out, const Image *img) {
  Line l = {.len = 0};
  fprintf(out, "\nflows\n");
  for (uint32_t i = 0; i < img->nflows; i++) {
    const ImgFlow *f = &img->flows[i];
    add(&l, "  %-5u ", i);
    add_name(&l, f->name);
    add(&l, "(");
    for (uint32_t p = 0; p < f->nparams; p++) {
      if (p) add(&l, ", ");
      add_name(&l, f->param_names ? f->param_names[p] : NULL);
      add(&l, ": ");
      add_type(&l, img, f->param_types ? f->param_types[p] : UINT32_MAX, 0);
    }
    add(&l, ") -> ");
    add_type(&l, img, f->ret_type, 0);
    add(&l, ": f%u", f->fn);
    emit(out, &l);
    if (f->doc) {
      add(&l, "         doc ");
      add_cquoted(&l, f->doc, CONST_PREVIEW);
      emit(out, &l);
    }
    for (uint32_t p = 0; p < f->nparams; p++) {
      if (!f->param_docs || !f->param_docs[p]) continue;
      add(&l, "         doc ");
      add_name(&l, f->param_names ? f->param_names[p] : NULL);
      add(&l, " ");
      add_cquoted(&l, f->param_docs[p], CONST_PREVIEW);
      emit(out, &l);
    }
  }
}

static void list_tests(FILE *out, const Image *img) {
  Line l = {.len = 0};
  fprintf(out, "\ntests\n");
  for (uint32_t i = 0; i < img->ntests; i++) {
    add(&l, "  %-5u ", i);
    add_cquoted(&l, img->tests[i].title, CONST_PREVIEW);
    add(&l, ": f%u", img->tests[i].fn);
    emit(out, &l);
  }
}

/* ---- functions ----------------------------------------------------------------------------------- */

/* Append operand [v] of kind [kind]. */
static void add_operand(Line *l, const Image *img, char kind, uint32_t v) {
  switch (kind) {
  case 'r': add(l, "r%u", v); break;
  case 'k':
    add(l, "k%u ", v);
    if (v < img->nconsts)
      add_value(l, img->consts[v]);
    else
      add(l, "?");
    break;
  case 'i': add(l, "%d", (int32_t)v); break;
  case 'j': add(l, "-> %u", v); break;
  case 'n': add(l, "%u", v); break;
  case 't':
    add(l, "type ");
    add_type(l, img, v, 0);
    break;
  case 'f':
    add(l, "f%u `", v);
    add_name(l, func_name(img, v));
    add(l, "`");
    break;
  case 'p':
    add(l, "prompt ");
    add_name(l, v < img->nprompts ? img->prompts[v].name : NULL);
    break;
  case 'c':
    add(l, "context ");
    add_name(l, v < img->ncontexts ? img->contexts[v].name : NULL);
    break;
  case 'm':
    add(l, "model ");
    add_name(l, v < img->nmodels ? img->models[v].name : NULL);
    break;
  case 'e':
    add(l, "eval ");
    add_name(l, v < img->nevals ? img->evals[v].name : NULL);
    break;
  case 'b':
    add(l, "builtin ");
    add_name(l, v < NBUILTINS ? BUILTIN_NAMES[v] : NULL);
    break;
  default: add(l, "%u", v); break;
  }
}

void disasm_func(FILE *out, const Image *img, uint32_t fn) {
  Line l = {.len = 0};
  if (fn >= img->nfuncs) {
    fprintf(out, "function f%u: no such function\n", fn);
    return;
  }
  const ImgFunc *f = &img->funcs[fn];
  add(&l, "function f%u `", fn);
  add_name(&l, f->name);
  add(&l, "` (params %u, regs %u, %u instructions)", f->nparams, f->nregs, f->ncode);
  emit(out, &l);
  for (uint32_t pc = 0; pc < f->ncode && f->code; pc++) {
    const Instr *in = &f->code[pc];
    const uint32_t v[4] = {in->a, in->b, in->c, in->d};
    add(&l, "  %5u  ", pc);
    if (in->op >= OP_COUNT) {
      add(&l, "<bad opcode %u> %u, %u, %u, %u", in->op, in->a, in->b, in->c, in->d);
    } else {
      const char *kinds = op_kinds((Op)in->op);
      add(&l, "%-10s", op_name((Op)in->op));
      bool first = true;
      for (int k = 0; k < 4 && kinds[k]; k++) {
        if (kinds[k] == '-') continue;
        if (in->op == OP_PROMPT && k == 3 && v[k] == 0) continue; /* no path for a rejected reply */
        add(&l, first ? " " : ", ");
        first = false;
        add_operand(&l, img, kinds[k], v[k]);
      }
    }
    if (f->pos) {
      pad(&l, POS_COLUMN);
      add_pos(&l, img, f->pos[pc]);
    }
    emit(out, &l);
  }
}

void disasm_image(FILE *out, const Image *img) {
  header(out, img);
  list_files(out, img);
  list_types(out, img);
  list_consts(out, img);
  list_models(out, img);
  list_policies(out, img);
  list_prompts(out, img);
  list_contexts(out, img);
  list_evals(out, img);
  list_flows(out, img);
  list_tests(out, img);
  for (uint32_t i = 0; i < img->nfuncs; i++) {
    fputc('\n', out);
    disasm_func(out, img, i);
  }
}
