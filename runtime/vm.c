/* vm.c - the register-machine interpreter (see vm.h).
 *
 * Dispatch is a switch over the opcode. Before an instruction runs, every
 * register it reads is forced: a resolved future is replaced by its value; a
 * pending one suspends the task at this instruction, which runs again from
 * the start when the task resumes (instructions read all operands before
 * writing anything, so re-running is safe). */
#include "vm.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

typedef struct Frame {
  uint32_t fn;
  uint32_t pc;
  uint32_t base;            /* first register of this frame in Task.regs */
  uint32_t ret;             /* caller's register for the result (absolute), or UINT32_MAX */
  uint32_t serial;          /* which call of the task this frame is */
  Value yields;             /* none, or the list yielded so far */
  bool eval_failed;         /* eval frames: an assertion failed */
  Value failures;           /* eval frames: none or list of messages */
  Value scores;             /* eval frames: none or map name -> float */
  uint8_t *asserts;         /* eval frames: per assertion, OUTCOME_* (NULL until one ran) */
} Frame;

/* A running parallel loop: the iterations still to start, those running,
 * and the results so far, by iteration index. */
typedef struct Fork {
  Future *future;           /* owned reference; resolves with the joined list */
  Task *parent;             /* NULL once the parent ended (failed) before the loop */
  uint64_t item;
  uint32_t fn;
  Value list;               /* the items (owned) */
  Value *captures;          /* owned */
  uint32_t ncaptures;
  uint32_t width, n, next, running, done;
  uint64_t seed;            /* the parent's mock seed, inherited by the iterations */
  bool trials;              /* TRIALS: iteration i runs with seed i + 1; the result is the fraction that succeed */
  uint32_t succeeded;       /* TRIALS: iterations that finished without failing or skipping */
  Value *results;           /* per iteration: its yields, or none when skipped */
  TraceEvent *slot_owner_placeholder;
  uint32_t slot;            /* index of the parent's trace slot */
  char **errors;            /* per iteration: failure message or NULL */
  uint32_t *error_pos;
  TraceEvent **traces;      /* per iteration: its trace (moved out of the child) */
  uint32_t *ntraces;
  struct Fork *live_prev, *live_next; /* Vm.forks */
  Vm *vm;
} Fork;

#define RANGE_BIT 0x10      /* reg_mask: operand c is the base of a d-long range */

/* ---- futures ----------------------------------------------------------------------- */

Future *future_new(void) {
  Future *f = xmalloc(sizeof *f);
  memset(f, 0, sizeof *f);
  f->obj.refs = 1;
  f->obj.tag = V_FUTURE;
  f->state = FUT_PENDING;
  return f;
}

/* Called by value_release when the last reference goes (see value.c). */
void future_free_obj(Obj *o);
void future_free_obj(Obj *o) {
  Future *f = (Future *)o;
  value_release(f->value);
  free(f->error);
  free(f->waiters);
  free(f);
}

static void future_wake(Vm *vm, Future *f) {
  Task **waiters = f->waiters;
  uint32_t n = f->nwaiters;
  f->waiters = NULL;
  f->nwaiters = f->cap = 0;
  for (uint32_t i = 0; i < n; i++) {
    Task *t = waiters[i];
    if (t->state != TASK_WAITING || t->waiting != f) continue;
    t->state = TASK_RUNNABLE;
    t->waiting = NULL;
    value_release(value_obj(V_FUTURE, &f->obj));
    vm->host.wake(vm->host.ctx, t);
  }
  free(waiters);
}

void future_resolve(Vm *vm, Future *f, Value v) {
  f->state = FUT_DONE;
  f->value = v;
  future_wake(vm, f);
}

void future_fail(Vm *vm, Future *f, const char *msg, uint32_t pos) {
  f->state = FUT_FAILED;
  f->error = xstrdup(msg);
  f->error_pos = pos;
  future_wake(vm, f);
}

void future_reject(Vm *vm, Future *f, const char *msg, uint32_t pos) {
  f->rejected = true;
  future_fail(vm, f, msg, pos);
}

/* ---- traces ------------------------------------------------------------------------- */

static TraceEvent *trace_push(Task *t) {
  if (t->ntrace == t->trace_cap) {
    t->trace_cap = t->trace_cap ? t->trace_cap * 2 : 8;
    t->trace = xrealloc(t->trace, t->trace_cap * sizeof *t->trace);
  }
  TraceEvent *e = &t->trace[t->ntrace++];
  memset(e, 0, sizeof *e);
  return e;
}

void task_trace(Task *t, char *line, void *data, void (*free_data)(void *)) {
  TraceEvent *e = trace_push(t);
  e->line = line;
  e->data = data;
  e->free_data = free_data;
}

void trace_events_free(TraceEvent *ev, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    free(ev[i].line);
    outcome_free(ev[i].outcome);
    if (ev[i].free_data) ev[i].free_data(ev[i].data);
    trace_events_free(ev[i].sub, ev[i].nsub);
  }
  free(ev);
}

const char *vm_pos_str(const Image *img, uint32_t pos, char *buf, size_t len) {
  if (pos >= img->npositions) {
    snprintf(buf, len, "?");
    return buf;
  }
  const ImgPos *p = &img->positions[pos];
  snprintf(buf, len, "%s:%u:%u", p->file < img->nfiles ? img->files[p->file] : "?", p->line, p->col);
  return buf;
}

/* ---- set-up --------------------------------------------------------------------------- */

void vm_init(Vm *vm, const Image *img, VmHost host, uint32_t default_width) {
  memset(vm, 0, sizeof *vm);
  vm->img = img;
  vm->host = host;
  vm->builtins = builtin_ctx_new();
  vm->default_width = default_width ? default_width : 1;
  for (int op = 0; op < OP_COUNT; op++) {
    const char *k = op_kinds((Op)op);
    unsigned char m = 0;
    for (int i = 0; i < 4; i++)
      if (k[i] == 'r') m |= (unsigned char)(1u << i);
    /* "r?rn": a register range c .. c+d-1 (CALL, CALLB, NEWLIST ...) */
    if ((k[1] == 'r' && k[2] == 'n') || (k[2] == 'r' && k[3] == 'n')) m |= RANGE_BIT;
    /* operand a is the destination, except for the ops that read it */
    bool reads_a = op == OP_JMPF || op == OP_JMPT || op == OP_YIELD || op == OP_YIELDALL || op == OP_RET ||
                   op == OP_ASSERT || op == OP_SCORE || op == OP_RETRY || op == OP_FAIL || op == OP_WARN ||
                   op == OP_CHECKED || op == OP_EXPECT || op == OP_MOCKJUDGE;
    if (!reads_a) m &= (unsigned char)~1u;
    vm->reg_mask[op] = m;
  }
  vm->reg_mask[OP_MOVE] = 0; /* moving a future does not need its value */
  vm->eval_of_fn = xmalloc((img->nfuncs ? img->nfuncs : 1) * sizeof *vm->eval_of_fn);
  for (uint32_t i = 0; i < img->nfuncs; i++) vm->eval_of_fn[i] = -1;
  for (uint32_t e = 0; e < img->nevals; e++)
    if (img->evals[e].fn < img->nfuncs) vm->eval_of_fn[img->evals[e].fn] = (int32_t)e;
}

static void fork_free(Fork *k);

void vm_free(Vm *vm) {
  while (vm->live) vm_task_free(vm->live);
  while (vm->forks) fork_free(vm->forks);
  builtin_ctx_free(vm->builtins);
  free(vm->eval_of_fn);
}

static void ensure_regs(Task *t, uint32_t n) {
  if (n <= t->regs_cap) return;
  uint32_t cap = t->regs_cap ? t->regs_cap : 32;
  while (cap < n) cap *= 2;
  t->regs = xrealloc(t->regs, cap * sizeof *t->regs);
  for (uint32_t i = t->regs_cap; i < cap; i++) t->regs[i] = value_none();
  t->regs_cap = cap;
}

/* Push a frame for `fn` whose registers start at `base`. */
static void push_frame(Task *t, const Image *img, uint32_t fn, uint32_t base, uint32_t ret) {
  if (t->nframes == t->frames_cap) {
    t->frames_cap = t->frames_cap ? t->frames_cap * 2 : 8;
    t->frames = xrealloc(t->frames, t->frames_cap * sizeof *t->frames);
  }
  ensure_regs(t, base + img->funcs[fn].nregs);
  Frame *f = &t->frames[t->nframes++];
  memset(f, 0, sizeof *f);
  f->fn = fn;
  f->base = base;
  f->ret = ret;
  f->serial = ++t->frame_serial;
  f->yields = value_none();
  f->failures = value_none();
  f->scores = value_none();
  if (base + img->funcs[fn].nregs > t->nregs) t->nregs = base + img->funcs[fn].nregs;
}

static void release_frame(Task *t, const Image *img, Frame *f) {
  uint32_t n = img->funcs[f->fn].nregs;
  for (uint32_t i = 0; i < n; i++) {
    value_release(t->regs[f->base + i]);
    t->regs[f->base + i] = value_none();
  }
  value_release(f->yields);
  value_release(f->failures);
  value_release(f->scores);
  free(f->asserts);
}

Task *vm_task_new(Vm *vm, uint32_t fn, Value *args, uint32_t nargs, uint64_t item) {
  Task *t = xmalloc(sizeof *t);
  memset(t, 0, sizeof *t);
  t->id = vm->next_task_id++;
  t->item = item;
  t->state = TASK_RUNNABLE;
  t->result = value_none();
  t->vm = vm;
  t->live_next = vm->live;
  if (vm->live) vm->live->live_prev = t;
  vm->live = t;
  push_frame(t, vm->img, fn, 0, UINT32_MAX);
  for (uint32_t i = 0; i < nargs; i++) t->regs[i] = args[i];
  return t;
}

void vm_task_free(Task *t) {
  if (!t) return;
  /* loops this task started go on without it (their results are dropped) */
  for (Fork *k = t->vm->forks; k; k = k->live_next)
    if (k->parent == t) k->parent = NULL;
  if (t->live_prev) t->live_prev->live_next = t->live_next;
  else t->vm->live = t->live_next;
  if (t->live_next) t->live_next->live_prev = t->live_prev;
  for (uint32_t i = 0; i < t->regs_cap; i++) value_release(t->regs[i]);
  for (uint32_t i = 0; i < t->nframes; i++) {
    value_release(t->frames[i].yields);
    value_release(t->frames[i].failures);
    value_release(t->frames[i].scores);
    free(t->frames[i].asserts);
  }
  if (t->waiting) value_release(value_obj(V_FUTURE, &t->waiting->obj));
  value_release(t->result);
  value_release(t->rejection);
  free(t->error);
  free(t->frames);
  free(t->regs);
  trace_events_free(t->trace, t->ntrace);
  free(t);
}

/* ---- ending a task ----------------------------------------------------------------------- */

static void fork_child_finished(Vm *vm, Task *child);

static void task_finish(Vm *vm, Task *t) {
  /* unwind whatever frames remain (failure or skip) */
  while (t->nframes) release_frame(t, vm->img, &t->frames[--t->nframes]);
  if (t->fork) fork_child_finished(vm, t);
  else vm->host.finished(vm->host.ctx, t);
}

static void task_fail(Vm *vm, Task *t, const char *msg, uint32_t pos) {
  t->state = TASK_FAILED;
  free(t->error);
  t->error = xstrdup(msg);
  t->error_pos = pos;
  task_finish(vm, t);
}

/* ---- parallel loops --------------------------------------------------------------------- */

static void fork_start_next(Vm *vm, Fork *k) {
  uint32_t i = k->next++;
  Value *args = xmalloc((1 + k->ncaptures) * sizeof *args);
  args[0] = value_retain(value_as_list(k->list)->items[i]);
  for (uint32_t c = 0; c < k->ncaptures; c++) args[1 + c] = value_retain(k->captures[c]);
  Task *child = vm_task_new(vm, k->fn, args, 1 + k->ncaptures, k->item);
  free(args);
  child->seed = k->trials ? (uint64_t)i + 1 : k->seed;
  child->parent = k->parent;
  child->index = i;
  child->fork = k;
  k->running++;
  vm->host.spawn(vm->host.ctx, child);
}

static void fork_free(Fork *k) {
  if (k->live_prev) k->live_prev->live_next = k->live_next;
  else k->vm->forks = k->live_next;
  if (k->live_next) k->live_next->live_prev = k->live_prev;
  value_release(k->list);
  for (uint32_t i = 0; i < k->ncaptures; i++) value_release(k->captures[i]);
  free(k->captures);
  for (uint32_t i = 0; i < k->n; i++) {
    value_release(k->results[i]);
    free(k->errors[i]);
    trace_events_free(k->traces[i], k->ntraces[i]);
  }
  free(k->results);
  free(k->errors);
  free(k->error_pos);
  free(k->traces);
  free(k->ntraces);
  value_release(value_obj(V_FUTURE, &k->future->obj));
  free(k);
}

/* All iterations are in: join their yields in iteration order, move their
 * traces into the parent's slot, and resolve (or fail, with the failure of
 * the lowest iteration) the loop's future. */
static void fork_join(Vm *vm, Fork *k) {
  Task *parent = k->parent;
  uint32_t total = 0;
  for (uint32_t i = 0; i < k->n; i++) total += k->ntraces[i];
  if (parent) {
    TraceEvent *slot = &parent->trace[k->slot];
    slot->sub = xmalloc((total + 1) * sizeof *slot->sub);
    for (uint32_t i = 0; i < k->n; i++) {
      if (k->ntraces[i]) memcpy(slot->sub + slot->nsub, k->traces[i], k->ntraces[i] * sizeof *slot->sub);
      slot->nsub += k->ntraces[i];
      free(k->traces[i]);
      k->traces[i] = NULL;
      k->ntraces[i] = 0;
    }
  }
  if (k->trials) { /* failures are what is measured, not errors of the loop */
    future_resolve(vm, k->future, value_float(k->n ? (double)k->succeeded / (double)k->n : 0.0));
    fork_free(k);
    return;
  }
  for (uint32_t i = 0; i < k->n; i++) {
    if (k->errors[i]) {
      future_fail(vm, k->future, k->errors[i], k->error_pos[i]);
      fork_free(k);
      return;
    }
  }
  Value out = value_list(total);
  for (uint32_t i = 0; i < k->n; i++) {
    if (k->results[i].tag != V_LIST) continue;
    List *l = value_as_list(k->results[i]);
    for (uint32_t j = 0; j < l->len; j++) list_push_steal(out, value_retain(l->items[j]));
  }
  future_resolve(vm, k->future, out);
  fork_free(k);
}

static void fork_child_finished(Vm *vm, Task *child) {
  Fork *k = child->fork;
  uint32_t i = child->index;
  if (child->warned && k->parent) k->parent->warned = true;
  if (child->state == TASK_DONE) {
    k->results[i] = child->result;
    child->result = value_none();
    k->succeeded += !child->warned; /* TRIALS: a trial that took a `warn` did not pass */
  } else if (child->state == TASK_FAILED && k->trials) {
    /* a failed trial is counted, not propagated */
  } else if (child->state == TASK_FAILED) {
    k->errors[i] = child->error;
    k->error_pos[i] = child->error_pos;
    child->error = NULL;
  }
  k->traces[i] = child->trace;
  k->ntraces[i] = child->ntrace;
  child->trace = NULL;
  child->ntrace = child->trace_cap = 0;
  vm_task_free(child);
  k->running--;
  k->done++;
  if (k->next < k->n) fork_start_next(vm, k);
  else if (k->done == k->n) fork_join(vm, k);
}

/* FORK: start up to `width` iterations of `fn` over `list`; the loop's future
 * goes into the destination register. */
static Future *fork_begin(Vm *vm, Task *t, uint32_t fn, Value list, int64_t width, const Value *captures,
                          uint32_t ncaptures, bool trials) {
  Fork *k = xmalloc(sizeof *k);
  memset(k, 0, sizeof *k);
  k->future = future_new();
  k->vm = vm;
  k->live_next = vm->forks;
  if (vm->forks) vm->forks->live_prev = k;
  vm->forks = k;
  Future *result = k->future;
  result->obj.refs++; /* one for the register, one for the fork */
  k->parent = t;
  k->item = t->item;
  k->seed = t->seed;
  k->fn = fn;
  k->list = value_retain(list);
  k->trials = trials;
  k->n = value_as_list(list)->len;
  k->width = width > 0 ? (uint32_t)width : vm->default_width;
  k->ncaptures = ncaptures;
  k->captures = xmalloc((ncaptures + 1) * sizeof *k->captures);
  for (uint32_t i = 0; i < ncaptures; i++) k->captures[i] = value_retain(captures[i]);
  k->results = xmalloc((k->n + 1) * sizeof *k->results);
  k->errors = calloc(k->n + 1, sizeof *k->errors);
  k->error_pos = calloc(k->n + 1, sizeof *k->error_pos);
  k->traces = calloc(k->n + 1, sizeof *k->traces);
  k->ntraces = calloc(k->n + 1, sizeof *k->ntraces);
  if (!k->errors || !k->error_pos || !k->traces || !k->ntraces) flow_oom();
  for (uint32_t i = 0; i < k->n; i++) k->results[i] = value_none();
  trace_push(t); /* the slot this loop's trace will fill */
  k->slot = t->ntrace - 1;
  if (k->n == 0) {
    fork_join(vm, k);
    return result;
  }
  while (k->next < k->n && k->running < k->width) fork_start_next(vm, k);
  return result;
}

/* ---- the interpreter ---------------------------------------------------------------------- */

typedef enum Forced { FORCED, FORCE_STOP, FORCE_JUMPED } Forced;

/* Force register `r` of the current frame: FORCED when it holds a value,
 * FORCE_STOP when the task must wait (it is then suspended) or failed,
 * FORCE_JUMPED when a rejected reply sent the frame to its check's failure
 * path. */
static Forced force(Vm *vm, Task *t, Value *R, uint32_t r, uint32_t pos) {
  Value v = R[r];
  if (v.tag != V_FUTURE) return FORCED;
  Future *f = (Future *)v.u.o;
  if (f->state == FUT_DONE) {
    R[r] = value_retain(f->value);
    value_release(v);
    return FORCED;
  }
  if (f->state == FUT_FAILED) {
    Frame *top = &t->frames[t->nframes - 1];
    if (f->rejected && f->on_reject && f->task == t->id && f->frame == top->serial) {
      value_release(t->rejection);
      t->rejection = value_cstr(f->error);
      top->pc = f->on_reject;
      return FORCE_JUMPED;
    }
    task_fail(vm, t, f->error, f->error_pos ? f->error_pos : pos);
    return FORCE_STOP;
  }
  if (f->nwaiters == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 4;
    f->waiters = xrealloc(f->waiters, f->cap * sizeof *f->waiters);
  }
  f->waiters[f->nwaiters++] = t;
  t->state = TASK_WAITING;
  t->waiting = (Future *)value_retain(v).u.o;
  return FORCE_STOP;
}

/* Only used before the instruction runs, where restarting it is safe. */
#define FORCE(r)                                                                                                     \
  do {                                                                                                             \
    Forced forced_ = force(vm, t, R, (r), pos);                                                                    \
    if (forced_ == FORCE_JUMPED) goto next;                                                                        \
    if (forced_ == FORCE_STOP) return;                                                                             \
  } while (0)

/* Store a new reference in register r (releasing what was there). */
static inline void set(Value *R, uint32_t r, Value v) {
  value_release(R[r]);
  R[r] = v;
}

static bool truthy(Value v) { return v.tag == V_BOOL && v.u.b; }

static bool is_number(Value v) { return v.tag == V_INT || v.tag == V_FLOAT; }
static double as_double(Value v) { return v.tag == V_INT ? (double)v.u.i : v.u.f; }

/* Arithmetic on two numbers (ADD also concatenates strings and lists). */
static bool arith(const Instr *in, Value a, Value b, Value *out, char *err, size_t errlen) {
  Op op = (Op)in->op;
  if (op == OP_ADD && a.tag == V_STR && b.tag == V_STR) {
    Str *x = value_as_str(a), *y = value_as_str(b);
    Str *s = str_new(NULL, (size_t)x->len + y->len);
    memcpy(s->data, x->data, x->len);
    memcpy(s->data + x->len, y->data, y->len);
    s->data[x->len + y->len] = '\0';
    *out = value_obj(V_STR, &s->obj);
    return true;
  }
  if (op == OP_ADD && a.tag == V_LIST && b.tag == V_LIST) {
    List *x = value_as_list(a), *y = value_as_list(b);
    Value l = value_list(x->len + y->len);
    for (uint32_t i = 0; i < x->len; i++) list_push_steal(l, value_retain(x->items[i]));
    for (uint32_t i = 0; i < y->len; i++) list_push_steal(l, value_retain(y->items[i]));
    *out = l;
    return true;
  }
  if (!is_number(a) || !is_number(b)) {
    snprintf(err, errlen, "`%s` expects numbers", op_name(op));
    return false;
  }
  if (a.tag == V_INT && b.tag == V_INT) {
    int64_t x = a.u.i, y = b.u.i, r = 0;
    switch (op) {
    case OP_ADD: if (__builtin_add_overflow(x, y, &r)) goto overflow; break;
    case OP_SUB: if (__builtin_sub_overflow(x, y, &r)) goto overflow; break;
    case OP_MUL: if (__builtin_mul_overflow(x, y, &r)) goto overflow; break;
    case OP_DIV:
    case OP_MOD:
      if (y == 0) {
        snprintf(err, errlen, "%s by zero", op == OP_DIV ? "division" : "remainder");
        return false;
      }
      if (x == INT64_MIN && y == -1) goto overflow;
      r = op == OP_DIV ? x / y : x % y;
      break;
    default: break;
    }
    *out = value_int(r);
    return true;
  overflow:
    snprintf(err, errlen, "integer overflow in `%s`", op_name(op));
    return false;
  }
  double x = as_double(a), y = as_double(b), r = 0;
  switch (op) {
  case OP_ADD: r = x + y; break;
  case OP_SUB: r = x - y; break;
  case OP_MUL: r = x * y; break;
  case OP_DIV:
    if (y == 0) {
      snprintf(err, errlen, "division by zero");
      return false;
    }
    r = x / y;
    break;
  case OP_MOD:
    if (y == 0) {
      snprintf(err, errlen, "remainder by zero");
      return false;
    }
    r = fmod(x, y);
    break;
  default: break;
  }
  *out = value_float(r);
  return true;
}

static bool compare(Op op, Value a, Value b) {
  if (op == OP_EQ) return value_equal(a, b);
  if (op == OP_NE) return !value_equal(a, b);
  int c = value_compare(a, b);
  switch (op) {
  case OP_LT: return c < 0;
  case OP_LE: return c <= 0;
  case OP_GT: return c > 0;
  default: return c >= 0;
  }
}

/* `x in c`: list membership, map key, substring. */
static bool contains(Value x, Value c) {
  if (c.tag == V_LIST) {
    List *l = value_as_list(c);
    for (uint32_t i = 0; i < l->len; i++)
      if (value_equal(l->items[i], x)) return true;
    return false;
  }
  if (c.tag == V_MAP && x.tag == V_STR) return map_get(c, value_as_str(x)->data, value_as_str(x)->len) != NULL;
  if (c.tag == V_STR && x.tag == V_STR) {
    Str *h = value_as_str(c), *n = value_as_str(x);
    if (n->len == 0) return true;
    for (uint32_t i = 0; i + n->len <= h->len; i++)
      if (memcmp(h->data + i, n->data, n->len) == 0) return true;
    return false;
  }
  return false;
}

/* Return from the current frame with `v` (a new reference). */
static void do_return(Vm *vm, Task *t, Value v) {
  Frame f = t->frames[--t->nframes];
  release_frame(t, vm->img, &f);
  if (t->nframes == 0) {
    value_release(t->result);
    t->result = v;
    t->state = TASK_DONE;
    task_finish(vm, t);
    return;
  }
  set(t->regs, f.ret, v);
}

/* Record that assertion `idx` of eval frame `f` ran and whether it held. */
static void note_assert(Vm *vm, Frame *f, uint32_t idx, bool ok) {
  int32_t e = vm->eval_of_fn[f->fn];
  if (e < 0 || idx >= vm->img->evals[e].nasserts) return;
  if (!f->asserts) {
    f->asserts = xmalloc(vm->img->evals[e].nasserts);
    memset(f->asserts, OUTCOME_NOT_REACHED, vm->img->evals[e].nasserts);
  }
  f->asserts[idx] = ok ? OUTCOME_PASSED : OUTCOME_FAILED;
}

/* Append outcome `o` (stolen) to the task's trace. */
static void trace_outcome(Task *t, Outcome *o) { trace_push(t)->outcome = o; }

/* Record the outcome of eval frame `f`, which is about to return to the
 * `ensure` that called it (the caller's CALL gives the position). */
static void record_eval(Vm *vm, Task *t, Frame *f) {
  int32_t e = vm->eval_of_fn[f->fn];
  if (e < 0) return;
  Outcome *o = xmalloc(sizeof *o);
  memset(o, 0, sizeof *o);
  o->passed = !f->eval_failed;
  o->eval = (uint32_t)e;
  if (t->nframes >= 2) {
    const Frame *caller = &t->frames[t->nframes - 2];
    const ImgFunc *cf = &vm->img->funcs[caller->fn];
    if (caller->pc > 0 && caller->pc <= cf->ncode) o->pos = cf->pos[caller->pc - 1];
  }
  o->nasserts = vm->img->evals[e].nasserts;
  o->asserts = f->asserts;
  f->asserts = NULL;
  if (!o->asserts && o->nasserts) {
    o->asserts = xmalloc(o->nasserts);
    memset(o->asserts, OUTCOME_NOT_REACHED, o->nasserts);
  }
  if (f->scores.tag == V_MAP) {
    const Map *m = value_as_map(f->scores);
    o->nscores = m->len;
    o->score_names = xmalloc((m->len ? m->len : 1) * sizeof *o->score_names);
    o->score_values = xmalloc((m->len ? m->len : 1) * sizeof *o->score_values);
    for (uint32_t i = 0; i < m->len; i++) {
      o->score_names[i] = xstrdup(m->entries[i].key->data);
      o->score_values[i] = as_double(m->entries[i].value);
    }
  }
  trace_outcome(t, o);
}

void outcome_free(Outcome *o) {
  if (!o) return;
  free(o->asserts);
  for (uint32_t i = 0; i < o->nscores; i++) free(o->score_names[i]);
  free(o->score_names);
  free(o->score_values);
  free(o);
}

static Value eval_result(Frame *f) {
  Value r = value_record(IMG_TYPE_EVALRESULT, 3);
  record_set_steal(r, 0, value_bool(!f->eval_failed));
  record_set_steal(r, 1, f->failures.tag == V_LIST ? value_retain(f->failures) : value_list(0));
  record_set_steal(r, 2, f->scores.tag == V_MAP ? value_retain(f->scores) : value_map(0));
  return r;
}

/* The instructions that only compute: they read registers, write one and
 * may fail with a message (no effect, no control flow, no frame). One
 * definition serves the interpreter and compiled code (vm_native_step).
 * `yields` collects what YIELD appends. */
static inline bool exec_pure(Vm *vm, const Instr *in, Value *R, Value *yields, char *err, size_t errlen) {
  const Image *img = vm->img;
  switch ((Op)in->op) {
    case OP_NOP: return true;
    case OP_MOVE: set(R, in->a, value_retain(R[in->b])); return true;
    case OP_LOADK: set(R, in->a, value_retain(img->consts[in->b])); return true;
    case OP_LOADI: set(R, in->a, value_int((int32_t)in->b)); return true;
    case OP_LOADNONE: set(R, in->a, value_none()); return true;
    case OP_LOADBOOL: set(R, in->a, value_bool(in->b != 0)); return true;
    case OP_LOADENUM: set(R, in->a, value_enum(in->b, in->c)); return true;
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_MOD: {
      Value out;
      if (!arith(in, R[in->b], R[in->c], &out, err, errlen)) return false;
      set(R, in->a, out);
      return true;
    }
    case OP_NEG:
      if (R[in->b].tag == V_INT) set(R, in->a, value_int(-R[in->b].u.i));
      else set(R, in->a, value_float(-as_double(R[in->b])));
      return true;
    case OP_NOT: set(R, in->a, value_bool(!truthy(R[in->b]))); return true;
    case OP_EQ: case OP_NE: case OP_LT: case OP_LE: case OP_GT: case OP_GE:
      set(R, in->a, value_bool(compare((Op)in->op, R[in->b], R[in->c])));
      return true;
    case OP_IN: set(R, in->a, value_bool(contains(R[in->b], R[in->c]))); return true;
    case OP_INRANGE: {
      double x = as_double(R[in->b]), lo = as_double(R[in->c]), hi = as_double(R[in->d]);
      set(R, in->a, value_bool(lo <= x && x <= hi));
      return true;
    }
    case OP_COALESCE:
      set(R, in->a, value_retain(R[in->b].tag == V_NONE ? R[in->c] : R[in->b]));
      return true;
    case OP_NEWLIST: {
      Value l = value_list(in->c);
      for (uint32_t i = 0; i < in->c; i++) list_push_steal(l, value_retain(R[in->b + i]));
      set(R, in->a, l);
      return true;
    }
    case OP_NEWMAP: {
      Value m = value_map(in->c);
      for (uint32_t i = 0; i < in->c; i++)
        map_set_steal(m, value_as_str(R[in->b + 2 * i]), value_retain(R[in->b + 2 * i + 1]));
      set(R, in->a, m);
      return true;
    }
    case OP_NEWREC: {
      uint32_t nf = img->types[in->b].nfields;
      Value r = value_record(in->b, nf);
      for (uint32_t i = 0; i < nf; i++) record_set_steal(r, i, value_retain(R[in->c + i]));
      set(R, in->a, r);
      return true;
    }
    case OP_GETFIELD: {
      Value r = R[in->b];
      if (r.tag != V_RECORD || in->c >= value_as_record(r)->nfields) {
        snprintf(err, errlen, "reading a field of a value that is not a record");
        return false;
      }
      set(R, in->a, value_retain(value_as_record(r)->fields[in->c]));
      return true;
    }
    case OP_INDEX: {
      Value o = R[in->b], i = R[in->c];
      if (o.tag == V_MAP && i.tag == V_STR) {
        const Value *v = map_get(o, value_as_str(i)->data, value_as_str(i)->len);
        set(R, in->a, v ? value_retain(*v) : value_none());
        return true;
      }
      if (i.tag != V_INT) {
        snprintf(err, errlen, "an index must be an int");
        return false;
      }
      if (o.tag == V_LIST) {
        List *l = value_as_list(o);
        int64_t k = i.u.i < 0 ? i.u.i + l->len : i.u.i;
        if (k < 0 || k >= l->len) {
          snprintf(err, errlen, "index %lld is out of range for a list of %u element%s", (long long)i.u.i, l->len,
                   l->len == 1 ? "" : "s");
          return false;
        }
        set(R, in->a, value_retain(l->items[k]));
        return true;
      }
      Value out;
      Value sl[3] = {o, i, value_int(i.u.i + 1)};
      if (o.tag != V_STR) {
        snprintf(err, errlen, "this value cannot be indexed");
        return false;
      }
      if (!builtin_call(vm->builtins, img, BI_SLICE, sl, 3, &out, err, errlen)) return false;
      set(R, in->a, out);
      return true;
    }
    case OP_TOSTR: set(R, in->a, value_to_text(img, R[in->b])); return true;
    case OP_STRCAT: {
      size_t len = 0;
      for (uint32_t i = 0; i < in->c; i++) len += value_as_str(R[in->b + i])->len;
      Str *s = str_new(NULL, len);
      size_t at = 0;
      for (uint32_t i = 0; i < in->c; i++) {
        Str *p = value_as_str(R[in->b + i]);
        memcpy(s->data + at, p->data, p->len);
        at += p->len;
      }
      s->data[len] = '\0';
      set(R, in->a, value_obj(V_STR, &s->obj));
      return true;
    }
    case OP_CALLB: {
      Value out;
      if (!builtin_call(vm->builtins, img, (BuiltinId)in->b, R + in->c, in->d, &out, err, errlen)) return false;
      set(R, in->a, out);
      return true;
    }
    case OP_YIELD: case OP_YIELDALL: {
      if (yields->tag != V_LIST) *yields = value_list(4);
      if (in->op == OP_YIELD) {
        list_push_steal(*yields, value_retain(R[in->a]));
      } else {
        List *l = value_as_list(R[in->a]);
        for (uint32_t i = 0; i < l->len; i++) list_push_steal(*yields, value_retain(l->items[i]));
      }
      return true;
    }
  default:
    snprintf(err, errlen, "internal error: %s is not a computing instruction", op_name((Op)in->op));
    return false;
  }
}

/* ---- compiled code ----------------------------------------------------------------------------- */

void vm_native_enter(Value *R, uint32_t nregs, const Value *args, uint32_t nparams) {
  for (uint32_t i = 0; i < nregs; i++) R[i] = i < nparams ? value_retain(args[i]) : value_none();
}

void vm_native_leave(Value *R, uint32_t nregs) {
  for (uint32_t i = 0; i < nregs; i++) value_release(R[i]);
}

bool vm_native_step(Vm *vm, uint32_t fn, uint32_t pc, Value *R, Value *yields, char *err, uint32_t *pos) {
  const ImgFunc *f = &vm->img->funcs[fn];
  if (exec_pure(vm, &f->code[pc], R, yields, err, VM_ERR_SIZE)) return true;
  *pos = f->pos[pc];
  return false;
}

bool vm_native_truthy(const Value *R, uint32_t r) { return truthy(R[r]); }

void vm_native_loadi(Value *R, uint32_t a, int32_t imm) { set(R, a, value_int(imm)); }

void vm_native_move(Value *R, uint32_t a, uint32_t b) { set(R, a, value_retain(R[b])); }

/* ADD .. MOD and the comparisons: two ints without overflow here, anything
 * else through the interpreter's definition. */
bool vm_native_binop(Vm *vm, uint32_t fn, uint32_t pc, Value *R, uint32_t a, uint32_t b, uint32_t c, char *err,
                     uint32_t *pos) {
  const Instr *in = &vm->img->funcs[fn].code[pc];
  if (R[b].tag == V_INT && R[c].tag == V_INT) {
    int64_t x = R[b].u.i, y = R[c].u.i, r;
    switch ((Op)in->op) {
    case OP_ADD: if (__builtin_add_overflow(x, y, &r)) break; set(R, a, value_int(r)); return true;
    case OP_SUB: if (__builtin_sub_overflow(x, y, &r)) break; set(R, a, value_int(r)); return true;
    case OP_MUL: if (__builtin_mul_overflow(x, y, &r)) break; set(R, a, value_int(r)); return true;
    case OP_EQ: set(R, a, value_bool(x == y)); return true;
    case OP_NE: set(R, a, value_bool(x != y)); return true;
    case OP_LT: set(R, a, value_bool(x < y)); return true;
    case OP_LE: set(R, a, value_bool(x <= y)); return true;
    case OP_GT: set(R, a, value_bool(x > y)); return true;
    case OP_GE: set(R, a, value_bool(x >= y)); return true;
    default: break;
    }
  }
  return vm_native_step(vm, fn, pc, R, NULL, err, pos);
}

void vm_native_ret(const Value *R, uint32_t r, Value *out) {
  value_release(*out);
  *out = value_retain(R[r]);
}

void vm_native_ret_yields(Value *out) {
  if (out->tag != V_LIST) *out = value_list(0); /* yielded nothing */
}

bool vm_native_call(Vm *vm, NativeFn callee, uint32_t fn, uint32_t pc, Value *R, char *err, uint32_t *pos) {
  const Instr *in = &vm->img->funcs[fn].code[pc];
  Value out = value_none();
  if (!callee(vm, R + in->c, &out, err, pos)) {
    value_release(out);
    return false;
  }
  set(R, in->a, out);
  return true;
}

/* A loop whose body is compiled: its iterations run one after another in
 * the caller (they cannot wait on anything), the body's yields joined in
 * iteration order, the first failing iteration's failure reported, as the
 * interpreter's FORK does with child tasks. */
static bool native_loop(Vm *vm, NativeFn body, Value list, const Value *captures, uint32_t ncaptures, Value *out,
                        char *err, uint32_t *pos) {
  const List *l = value_as_list(list);
  Value *args = xmalloc((1 + ncaptures) * sizeof *args);
  memcpy(args + 1, captures, ncaptures * sizeof *args);
  Value joined = value_list(l->len); /* every iteration's yields go straight into it */
  bool ok = true;
  for (uint32_t i = 0; i < l->len && ok; i++) {
    args[0] = l->items[i];
    ok = body(vm, args, &joined, err, pos);
  }
  free(args);
  if (ok) *out = joined;
  else value_release(joined);
  return ok;
}

bool vm_native_fork(Vm *vm, NativeFn body, uint32_t fn, uint32_t pc, Value *R, char *err, uint32_t *pos) {
  const Instr *in = &vm->img->funcs[fn].code[pc];
  if (R[in->c].tag != V_LIST) {
    snprintf(err, VM_ERR_SIZE, "`for` needs a list");
    *pos = vm->img->funcs[fn].pos[pc];
    return false;
  }
  Value out;
  if (!native_loop(vm, body, R[in->c], R + in->c + 2, in->d, &out, err, pos)) return false;
  set(R, in->a, out);
  return true;
}

void vm_native_fail(Vm *vm, uint32_t fn, uint32_t pc, const Value *R, char *err, uint32_t *pos) {
  const Instr *in = &vm->img->funcs[fn].code[pc];
  snprintf(err, VM_ERR_SIZE, "%s", value_as_str(R[in->a])->data);
  *pos = vm->img->funcs[fn].pos[pc];
}

/* Run until the task waits or finishes. A finished task may already be
 * freed (by its fork or the scheduler), so every path that can finish it
 * returns at once without touching it again. */
void vm_run(Vm *vm, Task *t) {
  const Image *img = vm->img;
  char err[VM_ERR_SIZE];
  while (t->state == TASK_RUNNABLE) {
    Frame *f = &t->frames[t->nframes - 1];
    const ImgFunc *fn = &img->funcs[f->fn];
    const Instr *in = &fn->code[f->pc];
    Value *R = t->regs + f->base;
    uint32_t pos = fn->pos[f->pc];
    unsigned char mask = vm->reg_mask[in->op];
    if (mask) {
      if (mask & 1) FORCE(in->a);
      if (mask & 2) FORCE(in->b);
      if (mask & RANGE_BIT) {
        uint32_t base = (mask & 4) ? in->c : in->b, n = (mask & 4) ? in->d : in->c;
        if (in->op == OP_NEWMAP) n *= 2;
        for (uint32_t i = 0; i < n; i++) FORCE(base + i);
        if (in->op == OP_FORK) {
          FORCE(in->c);
          FORCE(in->c + 1);
          for (uint32_t i = 0; i < in->d; i++) FORCE(in->c + 2 + i);
        }
      } else {
        if (mask & 4) FORCE(in->c);
        if (mask & 8) FORCE(in->d);
      }
      if (in->op == OP_PROMPT) {
        FORCE(in->c + 1);
        FORCE(in->c + 2);
      } else if (in->op == OP_NEWREC) {
        for (uint32_t i = 0; i < img->types[in->b].nfields; i++) FORCE(in->c + i);
      }
    }
    f->pc++;
    switch ((Op)in->op) {
    case OP_JMP: f->pc = in->a; break;
    case OP_JMPF: if (!truthy(R[in->a])) f->pc = in->b; break;
    case OP_JMPT: if (truthy(R[in->a])) f->pc = in->b; break;
    case OP_CALL: {
      if (vm->native && vm->native[in->b]) { /* compiled: it cannot wait, so it runs to its end here */
        Value out = value_none();
        uint32_t where = pos;
        if (!vm->native[in->b](vm, R + in->c, &out, err, &where)) {
          value_release(out);
          task_fail(vm, t, err, where);
          return;
        }
        set(R, in->a, out);
        break;
      }
      uint32_t base = f->base + fn->nregs, ret = f->base + in->a, src = f->base + in->c, n = in->d;
      push_frame(t, img, in->b, base, ret);
      for (uint32_t i = 0; i < n; i++) t->regs[base + i] = value_retain(t->regs[src + i]);
      break;
    }
    case OP_PROMPT: {
      Value ovr = R[in->c + 2];
      Future *fu = vm->host.call(vm->host.ctx, t, (int32_t)in->b, ovr.tag == V_INT ? (int32_t)ovr.u.i : -1,
                                 R[in->c], R[in->c + 1], pos);
      fu->task = t->id;
      fu->frame = f->serial;
      fu->on_reject = in->d;
      set(R, in->a, value_obj(V_FUTURE, &fu->obj));
      break;
    }
    case OP_JUDGE: {
      Value msgs = value_list(1), m = value_record(IMG_TYPE_MESSAGE, 3);
      record_set_steal(m, 0, value_cstr("user"));
      record_set_steal(m, 1, value_retain(R[in->c]));
      record_set_steal(m, 2, value_none());
      list_push_steal(msgs, m);
      Future *fu = vm->host.call(vm->host.ctx, t, -1, (int32_t)in->b, msgs, value_none(), pos);
      value_release(msgs);
      set(R, in->a, value_obj(V_FUTURE, &fu->obj));
      break;
    }
    case OP_CONTEXT: {
      Value out;
      if (!vm->host.context(vm->host.ctx, in->b, &out, err, sizeof err)) {
        task_fail(vm, t, err, img->contexts[in->b].pos);
        return;
      }
      set(R, in->a, out);
      break;
    }
    case OP_FORK: {
      Value list = R[in->c];
      if (list.tag != V_LIST) {
        task_fail(vm, t, "`for` needs a list", pos);
        return;
      }
      if (vm->native && vm->native[in->b]) { /* a compiled body: the loop runs here, no task per iteration */
        Value out;
        uint32_t where = pos;
        if (!native_loop(vm, vm->native[in->b], list, R + in->c + 2, in->d, &out, err, &where)) {
          task_fail(vm, t, err, where);
          return;
        }
        set(R, in->a, out);
        break;
      }
      int64_t width = R[in->c + 1].tag == V_INT ? R[in->c + 1].u.i : 0;
      Future *fu = fork_begin(vm, t, in->b, list, width, R + in->c + 2, in->d, false);
      set(R, in->a, value_obj(V_FUTURE, &fu->obj));
      break;
    }
    case OP_TRIALS: {
      int64_t n = R[in->c].tag == V_INT ? R[in->c].u.i : -1;
      if (n < 1 || n > 100000) {
        snprintf(err, sizeof err, "pass_rate needs 1 to 100000 seeds, found %lld", (long long)n);
        task_fail(vm, t, err, pos);
        return;
      }
      Value seeds = value_list((uint32_t)n);
      for (int64_t i = 0; i < n; i++) list_push_steal(seeds, value_int(i + 1));
      /* one trial at a time: successive mocked replies are then handed out
       * in trial order, whatever the concurrency */
      Future *fu = fork_begin(vm, t, in->b, seeds, 1, R + in->c + 2, in->d, true);
      value_release(seeds);
      set(R, in->a, value_obj(V_FUTURE, &fu->obj));
      break;
    }
    case OP_MOCKVAL: case OP_MOCKFILE: case OP_MOCKMODEL: case OP_MOCKJUDGE: {
      bool judge = in->op == OP_MOCKJUDGE;
      MockKind kind = in->op == OP_MOCKMODEL ? MOCK_MODEL : in->op == OP_MOCKFILE ? MOCK_CASSETTE
                      : (judge ? in->b : in->c) ? MOCK_SEQUENCE : MOCK_VALUE;
      Value v = in->op == OP_MOCKVAL ? R[in->b] : judge ? R[in->a] : in->op == OP_MOCKFILE ? img->consts[in->b]
                                                                                          : value_none();
      if (!vm->host.mock) {
        task_fail(vm, t, "mocks are only installed by `flowc test`", pos);
        return;
      }
      if (!vm->host.mock(vm->host.ctx, kind, judge ? VM_JUDGE : in->a, v, err, sizeof err)) {
        task_fail(vm, t, err, pos);
        return;
      }
      break;
    }
    case OP_EXPECT:
      if (vm->host.expect) vm->host.expect(vm->host.ctx, t, in->b, truthy(R[in->a]), R[in->c], R[in->d]);
      break;
    case OP_YIELD: case OP_YIELDALL:
      exec_pure(vm, in, R, &f->yields, err, sizeof err); /* cannot fail */
      break;
    case OP_RET:
    case OP_RETYIELDS: {
      /* returning from the last frame finishes the task, which may free it */
      bool last = t->nframes == 1;
      Value v = in->op == OP_RET ? value_retain(R[in->a])
                                 : f->yields.tag == V_LIST ? value_retain(f->yields) : value_list(0);
      do_return(vm, t, v);
      if (last) return;
      break;
    }
    case OP_ASSERT: {
      bool ok = truthy(R[in->a]);
      if (!ok) {
        f->eval_failed = true;
        if (f->failures.tag != V_LIST) f->failures = value_list(2);
        list_push_steal(f->failures, value_retain(img->consts[in->b]));
      }
      note_assert(vm, f, in->c, ok);
      break;
    }
    case OP_SCORE: {
      if (f->scores.tag != V_MAP) f->scores = value_map(2);
      Value v = R[in->a];
      map_set_steal(f->scores, value_as_str(img->consts[in->b]), value_float(as_double(v)));
      break;
    }
    case OP_EVALRES:
      set(R, in->a, eval_result(f));
      record_eval(vm, t, f);
      break;
    case OP_CHECKED: {
      Outcome *o = xmalloc(sizeof *o);
      memset(o, 0, sizeof *o);
      o->is_check = true;
      o->passed = truthy(R[in->a]);
      o->pos = pos;
      o->text = in->b;
      trace_outcome(t, o);
      break;
    }
    case OP_RETRY: {
      /* each check or ensure on the call has its own budget of re-asks */
      uint32_t action = in->b >> 16, limit = in->b & 0xffff;
      const List *counts = R[in->a].tag == V_LIST ? value_as_list(R[in->a]) : NULL;
      int64_t tries = counts && action < counts->len && counts->items[action].tag == V_INT
                          ? counts->items[action].u.i : 0;
      Str *msg = value_as_str(R[in->d]);
      if (tries < (int64_t)limit) {
        uint32_t n = counts && counts->len > action ? counts->len : action + 1;
        Value nc = value_list(n);
        for (uint32_t i = 0; i < n; i++)
          list_push_steal(nc, i == action ? value_int(tries + 1)
                              : counts && i < counts->len ? value_retain(counts->items[i]) : value_int(0));
        set(R, in->a, nc);
        Value fb = R[in->a + 1];
        Value nfb = value_list(fb.tag == V_LIST ? value_as_list(fb)->len + 1 : 1);
        if (fb.tag == V_LIST)
          for (uint32_t i = 0; i < value_as_list(fb)->len; i++) list_push_steal(nfb, value_retain(value_as_list(fb)->items[i]));
        list_push_steal(nfb, value_retain(R[in->d]));
        set(R, in->a + 1, nfb);
        f->pc = in->c;
        break;
      }
      snprintf(err, sizeof err, "%s (after %lld attempt%s)", msg->data, (long long)tries + 1, tries ? "s" : "");
      task_fail(vm, t, err, pos);
      return;
    }
    case OP_FAIL:
      task_fail(vm, t, value_as_str(R[in->a])->data, pos);
      return;
    case OP_WARN: {
      t->warned = true;
      char where[256];
      json_t *ev = json_pack("{s:s, s:s, s:s}", "event", "warning", "at", vm_pos_str(img, pos, where, sizeof where),
                             "message", value_as_str(R[in->a])->data);
      task_trace(t, json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER), NULL, NULL);
      json_decref(ev);
      break;
    }
    case OP_REJECTED:
      set(R, in->a, t->rejection);
      t->rejection = value_none();
      break;
    case OP_SKIP:
      t->state = TASK_SKIPPED;
      task_finish(vm, t);
      return;
    case OP_COUNT: break;
    default:
      if (!exec_pure(vm, in, R, NULL, err, sizeof err)) {
        task_fail(vm, t, err, pos);
        return;
      }
      break;
    }
  next:;
  }
}
