/* check_model.c - model bindings, policies, prompts and context sources
 * (docs/language.md §3.2, §3.3, §3.5, §3.6). Their bodies are data: each key
 * is looked up in a table that says what it takes and in which range. */
#include <glob.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "check_internal.h"
#include "fetch.h"
#include "suggest.h"

typedef enum ValueKind {
  VK_PROVIDER, VK_STRING, VK_URL, VK_ENVNAME, VK_FLOAT, VK_INT, VK_BOOL, VK_STRINGS,
  VK_DURATION, VK_BACKOFF, VK_MODELS, VK_PRICE, VK_BLOCK,
} ValueKind;

/* One key of a model, policy, limits or price body. */
typedef struct KeySpec {
  const char *key;
  ValueKind kind;
  double min, max;        /* numeric range, inclusive */
  bool in_prompt;         /* may also be set per prompt */
  const struct KeySpec *block; /* VK_BLOCK: its keys */
} KeySpec;

#define NO_MIN (-1e300)
#define NO_MAX (1e300)

static const KeySpec LIMIT_KEYS[] = {
  {"concurrency", VK_INT, 1, 100000, false, NULL},
  {"requests_per_minute", VK_INT, 1, NO_MAX, false, NULL},
  {"tokens_per_minute", VK_INT, 1, NO_MAX, false, NULL},
  {NULL, 0, 0, 0, false, NULL},
};

static const KeySpec PRICE_KEYS[] = {
  {"input", VK_PRICE, 0, NO_MAX, false, NULL},
  {"output", VK_PRICE, 0, NO_MAX, false, NULL},
  {NULL, 0, 0, 0, false, NULL},
};

static const KeySpec MODEL_KEYS[] = {
  {"provider", VK_PROVIDER, 0, 0, false, NULL},
  {"name", VK_STRING, 0, 0, false, NULL},
  {"base_url", VK_URL, 0, 0, false, NULL},
  {"api_key_env", VK_ENVNAME, 0, 0, false, NULL},
  {"temperature", VK_FLOAT, 0, 2, true, NULL},
  {"top_p", VK_FLOAT, 0, 1, true, NULL},
  {"max_tokens", VK_INT, 1, NO_MAX, true, NULL},
  {"seed", VK_INT, NO_MIN, NO_MAX, true, NULL},
  {"stop", VK_STRINGS, 0, 4, true, NULL},
  {"context_window", VK_INT, 1, NO_MAX, false, NULL},
  {"vision", VK_BOOL, 0, 0, false, NULL},
  {"audio", VK_BOOL, 0, 0, false, NULL},
  {"json_mode", VK_BOOL, 0, 0, false, NULL},
  {"limits", VK_BLOCK, 0, 0, false, LIMIT_KEYS},
  {"price", VK_BLOCK, 0, 0, false, PRICE_KEYS},
  {NULL, 0, 0, 0, false, NULL},
};

static const KeySpec POLICY_KEYS[] = {
  {"retry", VK_INT, 0, 100, false, NULL},
  {"backoff", VK_BACKOFF, 0, 0, false, NULL},
  {"timeout", VK_DURATION, 1, NO_MAX, false, NULL},
  {"fallback", VK_MODELS, 0, 0, false, NULL},
  {"cache", VK_BOOL, 0, 0, false, NULL},
  {NULL, 0, 0, 0, false, NULL},
};

static const char *const PROVIDERS[] = {"openai", "anthropic", "ollama", "mock", NULL};

/* "did you mean" among the keys of a table (prompt settings only, when asked). */
static const char *suggest_key(const KeySpec *table, const char *key, bool prompt_only) {
  const char *names[32];
  size_t n = 0;
  if (prompt_only) {
    names[n++] = "model";
    names[n++] = "policy";
  }
  for (const KeySpec *k = table; k->key && n < 32; k++)
    if (!prompt_only || k->in_prompt) names[n++] = k->key;
  return suggest_in(key, names, n);
}

static const KeySpec *find_key(const KeySpec *table, const char *key) {
  for (const KeySpec *k = table; k->key; k++)
    if (strcmp(k->key, key) == 0) return k;
  return NULL;
}

/* The list of keys of a table, for notes: "`a`, `b` and `c`". */
static const char *key_list(Checker *c, const KeySpec *table, bool prompt_only) {
  char buf[512];
  size_t len = 0;
  buf[0] = '\0';
  for (const KeySpec *k = table; k->key && len < sizeof buf - 48; k++) {
    if (prompt_only && !k->in_prompt) continue;
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%s`%s`", len ? ", " : "", k->key);
  }
  return arena_strndup(c->arena, buf, len);
}

/* How a value looks, for "found ..." in messages. */
static const char *describe(Checker *c, const Expr *e) {
  switch (e->kind) {
  case EX_INT: return arena_printf(c->arena, "the integer `%lld`", (long long)e->u.i);
  case EX_FLOAT: return arena_printf(c->arena, "the number `%g`", e->u.f);
  case EX_BOOL: return e->u.b ? "`true`" : "`false`";
  case EX_NONE: return "`none`";
  case EX_STRING: return "a string";
  case EX_NAME: return arena_printf(c->arena, "the name `%s`", e->u.name.id.name);
  case EX_LIST: return "a list";
  case EX_MAP: return "a map";
  case EX_PRICE: return "a price";
  case EX_UNIT:
    switch (unit_kind(e->u.unit.unit)) {
    case UK_DURATION: return arena_printf(c->arena, "the duration `%g%s`", e->u.unit.value, unit_str(e->u.unit.unit));
    case UK_COUNT: return arena_printf(c->arena, "the count `%g%s`", e->u.unit.value, unit_str(e->u.unit.unit));
    case UK_SIZE: return arena_printf(c->arena, "the size `%g%s`", e->u.unit.value, unit_str(e->u.unit.unit));
    case UK_NONE: return "a number with an unknown unit";
    }
    return "a number";
  default: return "an expression";
  }
}

static void wrong_type(Checker *c, DiagCode code, const Expr *v, const char *key, const char *want) {
  Diag *d = diag_add(c->diags, code, v->span, "`%s` must be %s, found %s", key, want, describe(c, v));
  diag_set_label(d, "expected %s", want);
}

/* A number for a message: integers without exponent, others as %g. */
static const char *num(Checker *c, double x) {
  if (x == (double)(long long)x && x > -1e15 && x < 1e15) return arena_printf(c->arena, "%lld", (long long)x);
  return arena_printf(c->arena, "%g", x);
}

static void out_of_range(Checker *c, const Expr *v, const char *key, double x, const KeySpec *k) {
  Diag *d;
  if (k->max >= NO_MAX)
    d = diag_add(c->diags, DIAG_E0304, v->span, "`%s` must be at least %s, found %s", key, num(c, k->min), num(c, x));
  else if (k->min <= NO_MIN)
    d = diag_add(c->diags, DIAG_E0304, v->span, "`%s` must be at most %s, found %s", key, num(c, k->max), num(c, x));
  else
    d = diag_add(c->diags, DIAG_E0304, v->span, "`%s` must be between %s and %s, found %s", key, num(c, k->min),
                 num(c, k->max), num(c, x));
  diag_set_label(d, "out of range");
}

/* Check a duration value; returns its milliseconds or -1. */
static double check_duration(Checker *c, const Expr *v, const char *key) {
  if (v->kind == EX_UNIT && unit_kind(v->u.unit.unit) == UK_DURATION) {
    static const double ms[] = {[UNIT_MS] = 1, [UNIT_S] = 1e3, [UNIT_MIN] = 6e4, [UNIT_H] = 3.6e6};
    return v->u.unit.value * ms[v->u.unit.unit];
  }
  if (v->kind == EX_UNIT && v->u.unit.unit == UNIT_NONE) return -1; /* reported by the scanner */
  double x;
  bool is_int;
  if ((v->kind == EX_UNIT) || expr_const_number(v, &x, &is_int)) {
    Diag *d = diag_add(c->diags, DIAG_E0311, v->span, "`%s` must be a duration, found %s", key, describe(c, v));
    diag_set_label(d, "expected a duration unit: ms, s, m or h");
    if (v->kind == EX_INT || v->kind == EX_FLOAT) diag_set_help(d, "write the unit, e.g. `%gs`", x);
    return -1;
  }
  wrong_type(c, DIAG_E0303, v, key, "a duration such as `30s`");
  return -1;
}

static void check_price(Checker *c, Expr *v, const char *key) {
  if (v->kind != EX_PRICE) {
    double x;
    bool is_int;
    if (expr_const_number(v, &x, &is_int)) {
      Diag *d = diag_add(c->diags, DIAG_E0311, v->span, "`%s` must be a price per a count of tokens, found %s",
                         key, describe(c, v));
      diag_set_label(d, "missing `per COUNT`");
      diag_set_help(d, "write it as `%g per 1M` (USD per million tokens)", x);
      return;
    }
    wrong_type(c, DIAG_E0303, v, key, "a price such as `0.15 per 1M`");
    return;
  }
  check_expr(c, v, NULL);
  double x;
  bool is_int;
  if (expr_const_number(v->u.price.amount, &x, &is_int) && x < 0) {
    Diag *d = diag_add(c->diags, DIAG_E0304, v->u.price.amount->span, "`%s` must not be negative, found %g", key, x);
    diag_set_label(d, "out of range");
  }
}

static void check_backoff(Checker *c, Expr *v) {
  if (v->kind != EX_CALL || v->u.call.callee->kind != EX_NAME) {
    wrong_type(c, DIAG_E0303, v, "backoff", "`exponential(base, factor: F, max: D)` or `constant(D)`");
    return;
  }
  const char *fn = v->u.call.callee->u.name.id.name;
  bool expo = strcmp(fn, "exponential") == 0;
  if (!expo && strcmp(fn, "constant") != 0) {
    Diag *d = diag_add(c->diags, DIAG_E0303, v->u.call.callee->span,
                       "unknown backoff `%s`; expected `exponential` or `constant`", fn);
    diag_set_label(d, "not a backoff");
    return;
  }
  unsigned positional = 0;
  for (unsigned i = 0; i < v->u.call.nargs; i++) {
    Arg *a = &v->u.call.args[i];
    if (!a->name.name) {
      positional++;
      check_duration(c, a->value, arena_printf(c->arena, "the %s delay", expo ? "first" : "constant"));
    } else if (expo && strcmp(a->name.name, "max") == 0) {
      check_duration(c, a->value, "max");
    } else if (expo && strcmp(a->name.name, "factor") == 0) {
      double x;
      bool is_int;
      if (!expr_const_number(a->value, &x, &is_int)) wrong_type(c, DIAG_E0303, a->value, "factor", "a number");
      else if (x < 1 || x > 10) {
        Diag *d = diag_add(c->diags, DIAG_E0304, a->value->span, "`factor` must be between 1 and 10, found %g", x);
        diag_set_label(d, "out of range");
      }
    } else {
      Diag *d = diag_add(c->diags, DIAG_E0214, a->name.span, "`%s` has no parameter `%s`", fn, a->name.name);
      diag_set_label(d, "unknown parameter");
      diag_set_help(d, expo ? "`exponential` takes a base delay, `factor:` and `max:`" : "`constant` takes one delay");
    }
  }
  if (positional != 1) {
    Diag *d = diag_add(c->diags, DIAG_E0202, v->span, "`%s` takes 1 delay, found %u", fn, positional);
    diag_set_label(d, "expected one duration such as `250ms`");
  }
}

static void check_model_list(Checker *c, Expr *v) {
  if (v->kind != EX_LIST) {
    wrong_type(c, DIAG_E0303, v, "fallback", "a list of model names such as `[smart]`");
    return;
  }
  for (unsigned i = 0; i < v->u.list.n; i++) {
    Expr *item = v->u.list.items[i];
    if (item->kind != EX_NAME) {
      Diag *d = diag_add(c->diags, DIAG_E0308, item->span, "a fallback must name a model binding, found %s",
                         describe(c, item));
      diag_set_label(d, "expected a model name");
      continue;
    }
    Decl *m = program_lookup(c->p, item->u.name.id.name);
    if (!m) {
      check_report_unknown(c, item->u.name.id, D_MODEL, NULL);
      continue;
    }
    check_mark_used(c, m);
    item->u.name.decl = m;
    if (m->kind != D_MODEL) {
      Diag *d = diag_add(c->diags, DIAG_E0308, item->span, "`%s` is a %s, not a model binding",
                         item->u.name.id.name, decl_kind_str(m->kind));
      diag_set_label(d, "a fallback must be a model");
      diag_add_secondary(d, m->name.span, "`%s` is declared here", item->u.name.id.name);
    }
  }
}

static void check_entries(Checker *c, Entry **entries, unsigned n, const KeySpec *table, const char *what,
                          DiagCode unknown_code);

/* Check one `key: value` against its spec. */
static void check_value(Checker *c, Entry *e, const KeySpec *k) {
  Expr *v = e->value;
  const char *key = k->key;
  if (k->kind == VK_BLOCK) {
    if (!e->entries && v) {
      Diag *d = diag_add(c->diags, DIAG_E0303, v->span, "`%s` must be a block `%s { ... }`, found %s", key,
                         key, describe(c, v));
      diag_set_label(d, "expected a block");
      return;
    }
    check_entries(c, e->entries, e->nentries, k->block, key, DIAG_E0302);
    return;
  }
  if (!v) {
    Diag *d = diag_add(c->diags, DIAG_E0303, e->key.span, "`%s` takes a value, not a block", key);
    diag_set_label(d, "expected `%s: value`", key);
    return;
  }
  double x;
  bool is_int;
  const char *s;
  switch (k->kind) {
  case VK_PROVIDER: {
    const char *name = v->kind == EX_NAME ? v->u.name.id.name : expr_const_string(v);
    if (!name) {
      wrong_type(c, DIAG_E0303, v, key, "a provider name");
      return;
    }
    for (const char *const *p = PROVIDERS; *p; p++)
      if (strcmp(*p, name) == 0) return;
    Diag *d = diag_add(c->diags, DIAG_E0301, v->span, "unknown provider `%s`", name);
    diag_set_label(d, "not a supported provider");
    diag_add_note(d, "the providers are `openai` (and any OpenAI-compatible server through `base_url`), "
                     "`anthropic`, `ollama` and `mock`");
    const char *best = suggest_in(name, PROVIDERS, 8);
    if (best) diag_set_help(d, "did you mean `%s`?", best);
    return;
  }
  case VK_STRING:
    if (!(s = expr_const_string(v))) wrong_type(c, DIAG_E0303, v, key, "a string without templates");
    else if (!*s) {
      Diag *d = diag_add(c->diags, DIAG_E0304, v->span, "`%s` must not be empty", key);
      diag_set_label(d, "empty string");
    }
    return;
  case VK_URL:
    if (!(s = expr_const_string(v))) wrong_type(c, DIAG_E0303, v, key, "a URL string");
    else if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) {
      Diag *d = diag_add(c->diags, DIAG_E0304, v->span, "`%s` must start with `http://` or `https://`, found \"%s\"", key, s);
      diag_set_label(d, "not an http(s) URL");
    }
    return;
  case VK_ENVNAME:
    if (!(s = expr_const_string(v))) {
      wrong_type(c, DIAG_E0303, v, key, "the name of an environment variable");
      return;
    }
    for (const char *p = s; *p || p == s; p++) {
      if (!*p || !((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' || (p > s && *p >= '0' && *p <= '9'))) {
        Diag *d = diag_add(c->diags, DIAG_E0304, v->span,
                           "`%s` must name an environment variable (letters, digits, `_`), found \"%s\"", key, s);
        diag_set_label(d, "not a variable name");
        diag_set_help(d, "keys are never written in a .flow file: name the variable that holds it, e.g. \"OPENAI_API_KEY\"");
        return;
      }
    }
    return;
  case VK_FLOAT:
  case VK_INT:
    if (v->kind == EX_UNIT && (unit_kind(v->u.unit.unit) == UK_DURATION || unit_kind(v->u.unit.unit) == UK_SIZE)) {
      Diag *d = diag_add(c->diags, DIAG_E0311, v->span, "`%s` must be %s, found %s", key,
                         k->kind == VK_INT ? "an integer" : "a number", describe(c, v));
      diag_set_label(d, "wrong unit");
      diag_set_help(d, "only counts (K, M, G) may be written with a unit here, e.g. `%s: 500`", key);
      return;
    }
    if (!expr_const_number(v, &x, &is_int)) {
      wrong_type(c, DIAG_E0303, v, key, k->kind == VK_INT ? "an integer" : "a number");
      return;
    }
    if (k->kind == VK_INT && !is_int) {
      wrong_type(c, DIAG_E0303, v, key, "an integer");
      return;
    }
    if (x < k->min || x > k->max) out_of_range(c, v, key, x, k);
    return;
  case VK_BOOL:
    if (v->kind != EX_BOOL) wrong_type(c, DIAG_E0303, v, key, "`true` or `false`");
    return;
  case VK_STRINGS:
    if (v->kind != EX_LIST) {
      wrong_type(c, DIAG_E0303, v, key, "a list of strings");
      return;
    }
    for (unsigned i = 0; i < v->u.list.n; i++)
      if (!expr_const_string(v->u.list.items[i])) wrong_type(c, DIAG_E0303, v->u.list.items[i], key, "a list of strings");
    if (v->u.list.n > (unsigned)k->max) {
      Diag *d = diag_add(c->diags, DIAG_E0304, v->span, "`%s` takes at most %g entries, found %u", key, k->max, v->u.list.n);
      diag_set_label(d, "too many");
    }
    return;
  case VK_DURATION: {
    double ms = check_duration(c, v, key);
    if (ms >= 0 && ms < k->min) {
      Diag *d = diag_add(c->diags, DIAG_E0304, v->span, "`%s` must be longer than zero", key);
      diag_set_label(d, "out of range");
    }
    return;
  }
  case VK_BACKOFF: check_backoff(c, v); return;
  case VK_MODELS: check_model_list(c, v); return;
  case VK_PRICE: check_price(c, v, key); return;
  case VK_BLOCK: return;
  }
}

/* Check each entry of a body against `table`: unknown and duplicate keys,
 * then each value. */
static void check_entries(Checker *c, Entry **entries, unsigned n, const KeySpec *table, const char *what,
                          DiagCode unknown_code) {
  for (unsigned i = 0; i < n; i++) {
    Entry *e = entries[i];
    for (unsigned j = 0; j < i; j++) {
      if (entries[j]->key.name == e->key.name) {
        Diag *d = diag_add(c->diags, DIAG_E0108, e->key.span, "`%s` is set twice in %s", e->key.name, what);
        diag_set_label(d, "set again here");
        diag_add_secondary(d, entries[j]->key.span, "first set here");
        break;
      }
    }
    const KeySpec *k = find_key(table, e->key.name);
    if (!k) {
      Diag *d = diag_add(c->diags, unknown_code, e->key.span, "unknown %s key `%s`",
                         unknown_code == DIAG_E0310 ? "policy" : what, e->key.name);
      diag_set_label(d, "not a known key");
      const char *hint = suggest_key(table, e->key.name, false);
      if (hint) diag_set_help(d, "did you mean `%s`?", hint);
      else diag_add_note(d, "the keys are %s", key_list(c, table, false));
      continue;
    }
    check_value(c, e, k);
  }
}

Entry *check_find_entry(Entry **entries, unsigned n, const char *key) {
  for (unsigned i = 0; i < n; i++)
    if (strcmp(entries[i]->key.name, key) == 0) return entries[i];
  return NULL;
}

void check_model(Checker *c, Decl *d) {
  check_entries(c, d->u.model.entries, d->u.model.n, MODEL_KEYS, "model", DIAG_E0302);
  const char *required[] = {"provider", "name"};
  for (unsigned i = 0; i < 2; i++) {
    if (check_find_entry(d->u.model.entries, d->u.model.n, required[i])) continue;
    Diag *g = diag_add(c->diags, DIAG_E0306, d->name.span, "model `%s` has no `%s`", d->name.name, required[i]);
    diag_set_label(g, "missing `%s: ...`", required[i]);
    diag_set_help(g, i == 0 ? "add `provider: openai` (or anthropic, ollama, mock)" : "add the provider's model name, e.g. `name: \"gpt-4o-mini\"`");
  }
  if (!check_find_entry(d->u.model.entries, d->u.model.n, "max_tokens")) {
    Diag *g = diag_add(c->diags, DIAG_W0305, d->name.span, "model `%s` does not set `max_tokens`", d->name.name);
    diag_set_label(g, "replies are capped only by the provider's default");
    diag_set_help(g, "add `max_tokens: N` so cost and latency have a bound");
  }
}

void check_policy(Checker *c, Decl *d) {
  check_entries(c, d->u.model.entries, d->u.model.n, POLICY_KEYS, "policy", DIAG_E0310);
}

/* ---- prompts ---------------------------------------------------------------------- */

/* Is the boolean key `cap` (vision, audio) set to true on model `m`? */
static bool model_capable(Decl *m, const char *cap) {
  Entry *e = check_find_entry(m->u.model.entries, m->u.model.n, cap);
  return e && e->value && e->value->kind == EX_BOOL && e->value->u.b;
}

/* Resolve `model: NAME` / `policy: NAME` of a prompt. */
static Decl *prompt_ref(Checker *c, Entry *e, DeclKind want, DiagCode code) {
  const char *what = want == D_MODEL ? "model binding" : "policy";
  if (!e->value || e->value->kind != EX_NAME) {
    Diag *d = diag_add(c->diags, code, e->value ? e->value->span : e->key.span, "`%s` must name a %s, found %s",
                       e->key.name, what, e->value ? describe(c, e->value) : "a block");
    diag_set_label(d, "expected a name");
    return NULL;
  }
  Ident id = e->value->u.name.id;
  Decl *m = program_lookup(c->p, id.name);
  if (!m) {
    check_report_unknown(c, id, (int)want, NULL);
    return NULL;
  }
  check_mark_used(c, m);
  e->value->u.name.decl = m;
  if (m->kind != want) {
    Diag *d = diag_add(c->diags, code, id.span, "`%s` is a %s, not a %s", id.name, decl_kind_str(m->kind), what);
    diag_set_label(d, "expected a %s", what);
    diag_add_secondary(d, m->name.span, "`%s` is declared here", id.name);
    return NULL;
  }
  return m;
}

static void check_prompt_setting(Checker *c, Decl *d, Entry *e) {
  const char *key = e->key.name;
  if (strcmp(key, "model") == 0) {
    d->u.prompt.model = prompt_ref(c, e, D_MODEL, DIAG_E0308);
    return;
  }
  if (strcmp(key, "policy") == 0) {
    d->u.prompt.policy = prompt_ref(c, e, D_POLICY, DIAG_E0312);
    return;
  }
  const KeySpec *k = find_key(MODEL_KEYS, key);
  if (k && k->in_prompt) {
    check_value(c, e, k);
    return;
  }
  Diag *g = diag_add(c->diags, DIAG_E0302, e->key.span, "unknown prompt setting `%s`", key);
  diag_set_label(g, k ? "belongs to the model binding" : "not a known setting");
  const char *hint = k ? NULL : suggest_key(MODEL_KEYS, key, true);
  if (hint) diag_set_help(g, "did you mean `%s`?", hint);
  else diag_add_note(g, "a prompt sets `model`, `policy` and %s", key_list(c, MODEL_KEYS, true));
}

/* E0307: media part `it` of prompt `d` may reach binding `m` (through the
 * fallbacks of policy `via`, when given), which does not accept it. */
static void report_incapable(Checker *c, Decl *d, PromptItem *it, Decl *m, Decl *via) {
  bool image = it->kind == PI_IMAGE;
  const char *cap = image ? "vision" : "audio";
  Diag *g = diag_add(c->diags, DIAG_E0307, it->span, "prompt `%s` sends %s part to model `%s`%s, which is not declared %s",
                     d->name.name, image ? "an image" : "an audio", m->name.name,
                     via ? arena_printf(c->arena, " (a fallback of policy `%s`)", via->name.name) : "",
                     image ? "vision-capable" : "audio-capable");
  diag_set_label(g, "%s part", image ? "image" : "audio");
  diag_add_secondary(g, m->name.span, "`%s` has no `%s: true`", m->name.name, cap);
  diag_set_help(g, "add `%s: true` to the binding if the model accepts %s, or use one that does", cap,
                image ? "images" : "audio");
}

/* The model binding named by item `k` of a fallback list, or NULL. */
static Decl *fallback_at(Checker *c, const Expr *list, unsigned k) {
  const Expr *item = list->u.list.items[k];
  Decl *m = item->kind == EX_NAME ? program_lookup(c->p, item->u.name.id.name) : NULL;
  return m && m->kind == D_MODEL ? m : NULL;
}

Decl *check_prompt_binding(Checker *c, Decl *d, unsigned *i, Decl **via) {
  Decl *m = d->u.prompt.model;
  if (*i == 0) {
    (*i)++;
    if (m) {
      *via = NULL;
      return m;
    }
  }
  Decl *pol = d->u.prompt.policy;
  Entry *fb = pol ? check_find_entry(pol->u.model.entries, pol->u.model.n, "fallback") : NULL;
  if (!fb || !fb->value || fb->value->kind != EX_LIST) return NULL;
  const Expr *list = fb->value;
  while (*i <= list->u.list.n) {
    unsigned k = (*i)++ - 1;
    Decl *alt = fallback_at(c, list, k);
    bool seen = !alt || alt == m;
    for (unsigned j = 0; j < k && !seen; j++) seen = fallback_at(c, list, j) == alt;
    if (seen) continue;
    *via = pol;
    return alt;
  }
  return NULL;
}

static void check_media_part(Checker *c, Decl *d, PromptItem *it) {
  bool image = it->kind == PI_IMAGE;
  Type *want = image ? &c->tt.image : &c->tt.audio;
  check_expr_as(c, it->value, want, image ? "an `image` part" : "an `audio` part");
  const char *cap = image ? "vision" : "audio";
  unsigned i = 0;
  Decl *m, *via;
  while ((m = check_prompt_binding(c, d, &i, &via)))
    if (!model_capable(m, cap)) report_incapable(c, d, it, m, via);
}

/* The part of a type that keeps it from being JSON-representable. */
static const Type *non_json_part(const Type *t, int depth) {
  if (depth > 16) return NULL;
  switch (t->kind) {
  case T_LIST: case T_OPT: case T_MAP: return non_json_part(t->elem, depth);
  case T_RECORD:
    for (unsigned i = 0; i < t->decl->u.record.n; i++) {
      const Type *ft = t->decl->u.record.fields[i]->resolved;
      const Type *bad = ft ? non_json_part(ft, depth + 1) : NULL;
      if (bad) return bad;
    }
    return NULL;
  default:
    return type_is_json(t) ? NULL : t;
  }
}

void check_prompt(Checker *c, Decl *d) {
  for (unsigned i = 0; i < d->u.prompt.nparams; i++)
    d->u.prompt.params[i]->local = check_bind(c, d->u.prompt.params[i]->name.name,
                                              d->u.prompt.params[i]->resolved ? d->u.prompt.params[i]->resolved : &c->tt.error,
                                              d->u.prompt.params[i]->name.span, false);
  Entry *model_entry = NULL;
  for (unsigned i = 0; i < d->u.prompt.nitems; i++) {
    PromptItem *it = d->u.prompt.items[i];
    if (it->kind != PI_SETTING) continue;
    for (unsigned j = 0; j < i; j++) {
      PromptItem *prev = d->u.prompt.items[j];
      if (prev->kind == PI_SETTING && prev->setting->key.name == it->setting->key.name) {
        Diag *g = diag_add(c->diags, DIAG_E0108, it->setting->key.span, "`%s` is set twice in prompt `%s`",
                           it->setting->key.name, d->name.name);
        diag_set_label(g, "set again here");
        diag_add_secondary(g, prev->setting->key.span, "first set here");
        break;
      }
    }
    if (strcmp(it->setting->key.name, "model") == 0) model_entry = it->setting;
    check_prompt_setting(c, d, it->setting);
  }
  bool has_user = false;
  for (unsigned i = 0; i < d->u.prompt.nitems; i++) {
    PromptItem *it = d->u.prompt.items[i];
    if (it->kind == PI_TEXT) check_template(c, it->value);
    else if (it->kind == PI_IMAGE || it->kind == PI_AUDIO) check_media_part(c, d, it);
    if (it->kind != PI_SETTING && it->role == ROLE_USER) has_user = true;
  }
  check_unbind(c, NULL);
  if (!model_entry) {
    Diag *g = diag_add(c->diags, DIAG_E0313, d->name.span, "prompt `%s` has no `model`", d->name.name);
    diag_set_label(g, "which binding answers this prompt?");
    diag_set_help(g, "add `model: NAME` naming a `model` declaration");
  }
  if (!has_user) {
    Diag *g = diag_add(c->diags, DIAG_E0314, d->name.span, "prompt `%s` has no `user` message", d->name.name);
    diag_set_label(g, "nothing is asked");
    diag_set_help(g, "add `user \"...\"` with the request");
  }
  const Type *rt = d->type;
  const Type *bad = rt ? non_json_part(rt, 0) : NULL;
  if (bad) {
    Diag *g = diag_add(c->diags, DIAG_E0205, d->u.prompt.ret->span,
                       "prompt `%s` returns `%s`, which a model cannot produce as JSON", d->name.name, tstr(c, rt));
    diag_set_label(g, "contains `%s`", tstr(c, bad));
    diag_add_note(g, "a prompt's output is built from string, int, float, bool, enums, records, lists, optionals and maps");
  }
  check_prompt_size(c, d);
}

/* ---- context sources ------------------------------------------------------------------ */

typedef enum Source { SRC_FILE, SRC_IMAGE, SRC_AUDIO, SRC_JSON, SRC_JSONL, SRC_CSV, SRC_GLOB, SRC_ENV, SRC_HTTP, SRC_NONE } Source;

static const char *const SOURCE_NAMES[] = {"file", "image", "audio", "json", "jsonl", "csv", "glob", "env", "http", NULL};

static bool is_scalar(const Type *t) {
  if (t->kind == T_OPT) t = t->elem;
  return t->kind == T_STRING || t->kind == T_INT || t->kind == T_FLOAT || t->kind == T_BOOL || t->kind == T_ENUM;
}

/* Can source `src` produce type `t`? On failure `why` says what it needs. */
static bool source_produces(Source src, const Type *t, const char **why) {
  if (t->kind == T_ERROR) return true;
  switch (src) {
  case SRC_FILE: *why = "`file` produces a `string`"; return t->kind == T_STRING;
  case SRC_HTTP: *why = "`http` produces a `string`"; return t->kind == T_STRING;
  case SRC_IMAGE: *why = "`image` produces an `image`"; return t->kind == T_IMAGE;
  case SRC_AUDIO: *why = "`audio` produces an `audio`"; return t->kind == T_AUDIO;
  case SRC_JSON: *why = "`json` produces a JSON-representable value"; return type_is_json(t);
  case SRC_JSONL:
    *why = "`jsonl` produces a list of JSON-representable values (`T[]`)";
    return t->kind == T_LIST && type_is_json(t->elem);
  case SRC_CSV:
    *why = "`csv` produces a list of records whose fields are string, int, float, bool or enum (`Row[]`)";
    if (t->kind != T_LIST || t->elem->kind != T_RECORD) return false;
    for (unsigned i = 0; i < t->elem->decl->u.record.n; i++) {
      const Type *ft = t->elem->decl->u.record.fields[i]->resolved;
      if (ft && !is_scalar(ft)) return false;
    }
    return true;
  case SRC_GLOB:
    *why = "`glob` produces `string[]` (the texts) or a list of records with `path: string` and `text: string`";
    if (t->kind != T_LIST) return false;
    if (t->elem->kind == T_STRING) return true;
    if (t->elem->kind != T_RECORD) return false;
    {
      Decl *r = t->elem->decl;
      unsigned found = 0;
      for (unsigned i = 0; i < r->u.record.n; i++) {
        Field *f = r->u.record.fields[i];
        bool named = strcmp(f->name.name, "path") == 0 || strcmp(f->name.name, "text") == 0;
        if (named && f->resolved && f->resolved->kind == T_STRING) found++;
        else if (f->resolved && f->resolved->kind != T_OPT) return false;
      }
      return found == 2;
    }
  case SRC_ENV:
    *why = "`env` produces a `string`, `int`, `float` or `bool`";
    return t->kind == T_STRING || t->kind == T_INT || t->kind == T_FLOAT || t->kind == T_BOOL;
  case SRC_NONE: return true;
  }
  return true;
}

/* Static checks of a literal path: inside the project, and present (see
 * check_project_path). */
static bool check_source_path(Checker *c, Decl *d, Expr *arg, Source src, uint64_t *bytes) {
  if (!expr_const_string(arg)) {
    wrong_type(c, DIAG_E0303, arg, SOURCE_NAMES[src], "a path string without templates");
    return false;
  }
  return check_project_path(c, d, arg, src == SRC_GLOB, "context", bytes);
}

const char *check_project_full(Checker *c, Decl *d, const char *path) {
  const char *file = source_map_file(c->p->sources, d->file)->path;
  if (strncmp(file, "std/", 4) == 0) return NULL;
  const char *slash = strrchr(file, '/');
  return arena_printf(c->arena, "%.*s%s", slash ? (int)(slash - file + 1) : 0, file, path);
}

bool check_project_path(Checker *c, Decl *d, Expr *arg, bool is_glob, const char *what, uint64_t *bytes) {
  const char *path = expr_const_string(arg);
  bool escapes = path[0] == '/' || path[0] == '~';
  for (const char *p = path; *p && !escapes; p++)
    if (p[0] == '.' && p[1] == '.' && (p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0')) escapes = true;
  if (escapes || !*path) {
    Diag *g = diag_add(c->diags, DIAG_E0503, arg->span, "the path \"%s\" %s", path,
                       !*path ? "is empty" : path[0] == '/' || path[0] == '~' ? "is absolute" : "climbs out with `..`");
    diag_set_label(g, "must stay inside the project");
    diag_set_help(g, "%s paths are relative to this file's folder and may not leave it; copy the file into the project",
                  what);
    return false;
  }
  const char *full = check_project_full(c, d, path);
  if (!full) return false;
  if (is_glob) {
    glob_t g;
    int rc = glob(full, 0, NULL, &g);
    size_t n = rc == 0 ? g.gl_pathc : 0;
    globfree(&g);
    if (n == 0) {
      Diag *dg = diag_add(c->diags, DIAG_E0504, arg->span, "no file matches \"%s\"", path);
      diag_set_label(dg, "matches nothing");
      diag_add_note(dg, "looked for `%s`", full);
    }
    return n > 0;
  }
  struct stat st;
  int rc = stat(full, &st);
  if (rc != 0 || !S_ISREG(st.st_mode)) {
    Diag *dg = diag_add(c->diags, DIAG_E0504, arg->span, "%s file \"%s\" %s", what, path,
                        rc != 0 ? "does not exist" : "is not a regular file");
    diag_set_label(dg, "not found");
    diag_add_note(dg, "looked for `%s`", full);
    return false;
  }
  if (bytes) *bytes = (uint64_t)st.st_size;
  return true;
}

/* The host and port of an https URL ("https://[user@]host[:port]/..."),
 * host as the URL spells it (IPv6 in brackets) into `host`. False when
 * there is none. */
static bool url_host_port(const char *url, char *host, size_t size, unsigned *port) {
  const char *p = url + strlen("https://"), *end = p + strcspn(p, "/?#");
  const char *at = memchr(p, '@', (size_t)(end - p));
  if (at) p = at + 1;
  const char *colon = NULL;
  if (*p == '[') {
    const char *close = memchr(p, ']', (size_t)(end - p));
    if (!close) return false;
    colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
    if (!colon && close + 1 != end) return false;
  } else {
    colon = memchr(p, ':', (size_t)(end - p));
  }
  const char *hend = colon ? colon : end;
  if (hend == p || (size_t)(hend - p) >= size) return false;
  memcpy(host, p, (size_t)(hend - p));
  host[hend - p] = '\0';
  *port = 443;
  if (colon) {
    char *stop;
    unsigned long v = strtoul(colon + 1, &stop, 10);
    if (stop != end || v == 0 || v > 65535) return false;
    *port = (unsigned)v;
  }
  return true;
}

/* `http(url, allow: [...])`: every entry is a valid host pattern (E0505),
 * and the URL's own host should be on the list (W0507: otherwise the run
 * refuses the source unless its command line allows the host). */
static void check_http_allow(Checker *c, Expr *url_arg, const char *url, Expr *allow) {
  const char **hosts = NULL;
  size_t n = 0;
  if (allow && allow->kind != EX_LIST) {
    wrong_type(c, DIAG_E0303, allow, "allow", "a list of host strings, `allow: [\"docs.example.com\"]`");
    return;
  }
  bool bad = false; /* a bad entry was reported: no warning about the URL's host on top */
  if (allow) {
    hosts = arena_alloc(c->arena, (allow->u.list.n + 1) * sizeof *hosts);
    for (unsigned i = 0; i < allow->u.list.n; i++) {
      Expr *e = allow->u.list.items[i];
      const char *h = expr_const_string(e);
      char why[256];
      if (!h) {
        wrong_type(c, DIAG_E0303, e, "allow", "a host string without templates");
        bad = true;
      } else if (!fetch_allow_entry_check(h, why, sizeof why)) {
        Diag *g = diag_add(c->diags, DIAG_E0505, e->span, "%s", why);
        diag_set_label(g, "expected a host, `*.domain` or an IP address, with an optional `:port`");
        bad = true;
      } else {
        hosts[n++] = h;
      }
    }
  }
  char host[256];
  unsigned port;
  if (!url_host_port(url, host, sizeof host, &port)) {
    wrong_type(c, DIAG_E0303, url_arg, "http", "an `https://host/...` URL");
    return;
  }
  if (bad || fetch_allow_match(hosts, n, host, port)) return;
  Diag *g = diag_add(c->diags, DIAG_W0507, url_arg->span,
                     "the host `%s` of this URL is not on the source's allow-list, so runs refuse it", host);
  diag_set_label(g, "not allow-listed");
  if (port == 443)
    diag_set_help(g, "add `allow: [\"%s\"]` to the source, or allow it for one run with `flowc run --allow-host %s`",
                  host, host);
  else
    diag_set_help(g, "add `allow: [\"%s:%u\"]` to the source, or allow it for one run with `flowc run --allow-host "
                  "%s:%u`", host, port, host, port);
}

/* Set d->u.context.read, what context `d` reads for the prompt-size
 * estimate (check_size.c): for a file source, the size of the file (`found`
 * says check_source_path found it, `bytes` its size); for a glob, the
 * pattern, measured when a prompt first needs it; for env and http, that
 * it is read at run time. */
static void record_read(Checker *c, Decl *d, Source s, Expr *arg, bool found, uint64_t bytes) {
  if (s == SRC_IMAGE || s == SRC_AUDIO || ((s != SRC_ENV && s != SRC_HTTP) && !found)) return;
  ContextRead *r = ARENA_NEW(c->arena, ContextRead);
  r->source = SOURCE_NAMES[s];
  r->kind = s == SRC_ENV || s == SRC_HTTP ? READ_AT_RUN_TIME : s == SRC_GLOB ? READ_GLOB : READ_FILE;
  if (r->kind != READ_AT_RUN_TIME) r->path = expr_const_string(arg);
  if (r->kind == READ_GLOB) r->pattern = check_project_full(c, d, r->path);
  r->bytes = r->largest = bytes;
  r->files = r->kind == READ_FILE;
  d->u.context.read = r;
}

void check_context(Checker *c, Decl *d) {
  Type *t = check_type_expr(c, d->u.context.type);
  d->type = t;
  Expr *src = d->u.context.source;
  if (src->kind != EX_CALL || src->u.call.callee->kind != EX_NAME) {
    Diag *g = diag_add(c->diags, DIAG_E0502, src->span, "a context must be read from a source, found %s", describe(c, src));
    diag_set_label(g, "expected a source such as `file(\"...\")`");
    diag_add_note(g, "the sources are file, image, audio, json, jsonl, csv, glob, env and http");
    return;
  }
  const char *fn = src->u.call.callee->u.name.id.name;
  Source s = SRC_NONE;
  for (int i = 0; SOURCE_NAMES[i]; i++)
    if (strcmp(SOURCE_NAMES[i], fn) == 0) s = (Source)i;
  if (s == SRC_NONE) {
    Diag *g = diag_add(c->diags, DIAG_E0502, src->u.call.callee->span, "unknown context source `%s`", fn);
    diag_set_label(g, "not a source");
    diag_add_note(g, "the sources are file, image, audio, json, jsonl, csv, glob, env and http");
    const char *hint = suggest_in(fn, SOURCE_NAMES, 16);
    if (hint) diag_set_help(g, "did you mean `%s`?", hint);
    return;
  }
  unsigned positional = 0;
  bool found = false; /* a literal path inside the project that exists */
  uint64_t bytes = 0;
  Expr *first = NULL, *def = NULL, *allow = NULL;
  for (unsigned i = 0; i < src->u.call.nargs; i++) {
    Arg *a = &src->u.call.args[i];
    if (!a->name.name) {
      if (!positional++) first = a->value;
    } else if (s == SRC_ENV && strcmp(a->name.name, "default") == 0) {
      def = a->value;
    } else if (s == SRC_HTTP && strcmp(a->name.name, "allow") == 0) {
      allow = a->value;
    } else {
      Diag *g = diag_add(c->diags, DIAG_E0214, a->name.span, "`%s` has no parameter `%s`", fn, a->name.name);
      diag_set_label(g, "unknown parameter");
    }
  }
  if (positional != 1) {
    Diag *g = diag_add(c->diags, DIAG_E0202, src->span, "`%s` takes 1 argument, found %u", fn, positional);
    diag_set_label(g, "expected one %s", s == SRC_ENV ? "variable name" : s == SRC_HTTP ? "URL" : "path");
  } else if (s == SRC_ENV) {
    const char *name = expr_const_string(first);
    if (!name || !*name) wrong_type(c, DIAG_E0303, first, "env", "the name of an environment variable");
  } else if (s == SRC_HTTP) {
    const char *url = expr_const_string(first);
    if (!url || strncmp(url, "https://", 8) != 0) wrong_type(c, DIAG_E0303, first, "http", "an `https://` URL string");
    else check_http_allow(c, first, url, allow);
  } else {
    found = check_source_path(c, d, first, s, &bytes);
  }
  const char *why = NULL;
  bool produces = source_produces(s, t, &why);
  if (def && produces) check_expr_as(c, def, t, "the default of `env`");
  if (produces && positional == 1) record_read(c, d, s, first, found, bytes);
  if (!produces) {
    Diag *g = diag_add(c->diags, DIAG_E0501, d->u.context.type->span,
                       "context `%s` is declared `%s`, which `%s` cannot produce", d->name.name, tstr(c, t), fn);
    diag_set_label(g, "declared type");
    diag_add_secondary(g, src->u.call.callee->span, "read with `%s`", fn);
    diag_add_note(g, "%s", why);
  }
}
