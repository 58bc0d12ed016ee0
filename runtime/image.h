/* image.h - a compiled flow program, as the VM runs it.
 *
 * The compiler lowers a checked program to an Image (compiler/lower.c); the
 * bytecode format (runtime/bytecode.h) is its serialisation, and the LLVM
 * backend reads the same Image. Everything is indexed by small integers:
 * types, functions, prompts, models, policies, contexts, evals and flows are
 * arrays, and instructions name them by index. An Image owns all its memory
 * (image_free). Strings are NUL-terminated and owned by the image. */
#ifndef FLOW_IMAGE_H
#define FLOW_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "value.h"

typedef enum Op {
#define X(name, kinds, doc) OP_##name,
#include "opcodes.def"
#undef X
  OP_COUNT
} Op;

/* Operand kinds of an opcode ("rr--"), and its name. */
const char *op_kinds(Op op);
const char *op_name(Op op);

typedef struct Instr {
  uint32_t op;
  uint32_t a, b, c, d;
} Instr;

/* A source position, for run-time errors ("triage.flow:42:7"). */
typedef struct ImgPos {
  uint32_t file;     /* index into Image.files */
  uint32_t line, col;
} ImgPos;

typedef enum ImgTypeKind {
  IT_ANY,            /* unknown element (empty list literal) */
  IT_STRING, IT_INT, IT_FLOAT, IT_BOOL, IT_IMAGE, IT_AUDIO, IT_DURATION,
  IT_LIST, IT_OPT, IT_MAP, IT_RECORD, IT_ENUM,
} ImgTypeKind;

/* Type ids 0..IT_DURATION are the built-in types, in ImgTypeKind order. */
typedef struct ImgType {
  ImgTypeKind kind;
  uint32_t elem;            /* list, optional, map: element type id */
  char *name;               /* record, enum */
  uint32_t nfields;         /* record */
  char **field_names;
  uint32_t *field_types;
  char **field_docs;        /* @describe text or NULL */
  uint32_t nvariants;       /* enum */
  char **variants;
} ImgType;

typedef struct ImgFunc {
  char *name;               /* "flow main", "prompt classify (render)", "eval reply_ok", "for@12:3" */
  uint32_t nparams;         /* arguments arrive in registers 0 .. nparams-1 */
  uint32_t nregs;
  uint32_t ncode;
  Instr *code;
  uint32_t *pos;            /* per instruction: index into Image.positions */
} ImgFunc;

typedef enum Provider { PROVIDER_OPENAI, PROVIDER_ANTHROPIC, PROVIDER_OLLAMA, PROVIDER_MOCK } Provider;

/* Sampling parameters; a field is set when its bit is in `set`. */
enum {
  PARAM_TEMPERATURE = 1u << 0, PARAM_TOP_P = 1u << 1, PARAM_MAX_TOKENS = 1u << 2,
  PARAM_SEED = 1u << 3, PARAM_STOP = 1u << 4,
};
typedef struct ImgParams {
  uint32_t set;
  double temperature, top_p;
  int64_t max_tokens, seed;
  uint32_t nstop;
  char **stop;
} ImgParams;

typedef struct ImgModel {
  char *name;               /* the binding's name in the program */
  Provider provider;
  char *model;              /* the provider's model name */
  char *base_url;           /* or NULL */
  char *api_key_env;        /* or NULL: the provider's default variable */
  ImgParams params;
  int64_t context_window;   /* 0 when unknown */
  bool vision, audio, json_mode;
  int64_t concurrency, requests_per_minute, tokens_per_minute; /* 0: no limit */
  double price_input, price_output; /* USD per token */
} ImgModel;

typedef enum Backoff { BACKOFF_NONE, BACKOFF_EXPONENTIAL, BACKOFF_CONSTANT } Backoff;

typedef struct ImgPolicy {
  char *name;
  uint32_t retry;
  Backoff backoff;
  double base_ms, factor, max_ms;
  double timeout_ms;        /* 0: none */
  uint32_t nfallback;
  uint32_t *fallback;       /* model indices */
  bool cache;
} ImgPolicy;

typedef struct ImgPrompt {
  char *name;
  uint32_t render;          /* function: params -> list of message records (see below) */
  uint32_t nparams;
  uint32_t out_type;
  uint32_t model;
  int32_t policy;           /* -1 when none */
  ImgParams params;         /* per-prompt overrides */
  char *schema;             /* JSON Schema of out_type, or NULL for plain text */
  uint32_t pos;
} ImgPrompt;

/* Messages produced by a prompt's render function are records of the
 * built-in type IMG_TYPE_MESSAGE: { role: string, text: string?, media: image? }. */

typedef enum SourceKind { SRC_FILE, SRC_IMAGE, SRC_AUDIO, SRC_JSON, SRC_JSONL, SRC_CSV, SRC_GLOB, SRC_ENV, SRC_HTTP } SourceKind;

typedef struct ImgContext {
  char *name;
  SourceKind source;
  char *arg;                /* path, pattern, variable name or URL (as written) */
  char *base_dir;           /* directory of the declaring file, for relative paths */
  bool has_default;
  uint32_t default_const;   /* env default: constant index */
  uint32_t type;
  uint32_t pos;
  uint32_t nallow;          /* http: the hosts it may reach (allow: [...]), as written */
  char **allow;
} ImgContext;

typedef struct ImgEval {
  char *name;
  uint32_t fn;
  uint32_t nasserts;
  char **assert_messages;
} ImgEval;

typedef struct ImgFlow {
  char *name;
  char *doc;
  uint32_t fn;
  uint32_t nparams;
  char **param_names;
  char **param_docs;
  uint32_t *param_types;
  uint32_t ret_type;
} ImgFlow;

typedef struct ImgTest {
  char *title;
  uint32_t fn;
} ImgTest;

typedef struct Image {
  uint32_t nfiles;   char **files;
  uint32_t npositions; ImgPos *positions;
  uint32_t nconsts;  Value *consts;       /* strings, ints, floats */
  uint32_t ntypes;   ImgType *types;
  uint32_t nfuncs;   ImgFunc *funcs;
  uint32_t nmodels;  ImgModel *models;
  uint32_t npolicies; ImgPolicy *policies;
  uint32_t nprompts; ImgPrompt *prompts;
  uint32_t ncontexts; ImgContext *contexts;
  uint32_t nevals;   ImgEval *evals;
  uint32_t nflows;   ImgFlow *flows;
  uint32_t ntests;   ImgTest *tests;
  int32_t main_flow; /* index into flows, -1 when there is no `main` */
  unsigned char hash[32]; /* SHA-256 of the canonical bytecode: the version id */
} Image;

/* Type ids of the built-in types. */
enum {
  IMG_TYPE_ANY = 0, IMG_TYPE_STRING, IMG_TYPE_INT, IMG_TYPE_FLOAT, IMG_TYPE_BOOL,
  IMG_TYPE_IMAGE, IMG_TYPE_AUDIO, IMG_TYPE_DURATION,
  IMG_TYPE_MESSAGE,     /* record { role: string, text: string?, media: image? } */
  IMG_TYPE_EVALRESULT,  /* record { passed: bool, failures: string[], scores: map<string, float> } */
  IMG_TYPE_FIRST_USER,
};

/* A new image holding only the built-in types. */
Image *image_new(void);
void image_free(Image *img);

/* The id of a type structurally equal to `t` (same kind, element and name),
 * appending a deep copy when there is none. */
uint32_t image_intern_type(Image *img, const ImgType *t);
/* Add constant `v` (stolen); equal strings, ints and floats share one slot. */
uint32_t image_add_const(Image *img, Value v);

#endif
