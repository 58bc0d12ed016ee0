/* vm.h - the interpreter of Image functions, as cooperative tasks.
 *
 * A Task runs one call tree (an input item, or one iteration of a parallel
 * loop) on its own register stack. Effects (model calls, judges, parallel
 * loops) do not block: they leave a Future in a register, and the task goes
 * on until an instruction reads that register; then it suspends, and the
 * scheduler (runtime/run.c) resumes it when the future resolves. Everything
 * a task computes depends only on its inputs and on effect results, never on
 * timing, which is the root of the determinism contract (docs/determinism.md).
 *
 * The VM knows nothing of providers: effects go through VmHost callbacks. */
#ifndef FLOW_VM_H
#define FLOW_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "builtins.h"
#include "image.h"
#include "value.h"

typedef struct Task Task;
typedef struct Vm Vm;

/* A function compiled by `flowc build` (compiler/llvm_backend.c): the same
 * computation as the interpreter's, for functions that only compute (no
 * effect, no suspension). `args` holds the parameters (borrowed). *out must
 * hold none, or for a loop body the list its iterations' yields are joined
 * into: YIELD appends to it, and on success it holds the result (a new
 * reference). On failure err[0..VM_ERR_SIZE) says why and *pos where, as the
 * interpreter would, and *out is still the caller's to release. */
#define VM_ERR_SIZE 512
typedef bool (*NativeFn)(Vm *vm, const Value *args, Value *out, char *err, uint32_t *pos);

typedef enum FutureState { FUT_PENDING, FUT_DONE, FUT_FAILED } FutureState;

/* The result of an effect, shared by the registers that hold it. */
typedef struct Future {
  Obj obj;                  /* tag V_FUTURE */
  uint8_t state;
  Value value;              /* FUT_DONE: owned */
  char *error;              /* FUT_FAILED: owned message */
  uint32_t error_pos;       /* position of the failure */
  bool rejected;            /* FUT_FAILED: a reply that does not match the output type */
  uint64_t task;            /* the id of the task whose PROMPT made it */
  uint32_t frame;           /* that PROMPT's frame (its serial) */
  uint32_t on_reject;       /* where that frame goes on a rejected reply (0: nowhere) */
  Task **waiters;           /* tasks suspended on it (borrowed) */
  uint32_t nwaiters, cap;
} Future;

Future *future_new(void);
/* Resolve with a value (stolen) or an error (copied); wakes the waiters. */
void future_resolve(Vm *vm, Future *f, Value v);
void future_fail(Vm *vm, Future *f, const char *msg, uint32_t pos);
/* Fail because the reply does not match the output type: the frame that
 * asked takes its check's failure path (a retry re-asks with `msg` as
 * feedback) instead of failing the item. */
void future_reject(Vm *vm, Future *f, const char *msg, uint32_t pos);

/* One entry of a task's logical trace: a JSON line (owned, without the item
 * number), or the slot of a parallel loop, filled with its iterations'
 * traces in iteration order when the loop completes, so the trace never
 * depends on which iteration finished first. `data` is the scheduler's
 * payload for the entry (an exchange to record), freed with `free_data`. */
typedef struct TraceEvent {
  char *line;
  struct TraceEvent *sub;
  uint32_t nsub;
  void *data;
  void (*free_data)(void *);
  struct Outcome *outcome;  /* an evaluation outcome (then `line` is NULL), owned */
} TraceEvent;

/* The outcome of one evaluation: an eval run by `ensure`, or a `check`.
 * Recorded in the task's trace, so the scheduler sees outcomes in input and
 * iteration order, whatever order tasks ran in. */
typedef struct Outcome {
  bool is_check;
  bool passed;
  uint32_t pos;             /* the ensure's or check's source position */
  uint32_t eval;            /* evals: the eval's index */
  uint32_t text;            /* checks: constant index of the condition's source text */
  uint32_t nasserts;        /* evals: per assertion, OUTCOME_* */
  uint8_t *asserts;
  uint32_t nscores;         /* evals: the scores, by name in byte order */
  char **score_names;
  double *score_values;
} Outcome;

enum { OUTCOME_NOT_REACHED, OUTCOME_PASSED, OUTCOME_FAILED };

void outcome_free(Outcome *o);

typedef enum TaskState { TASK_RUNNABLE, TASK_WAITING, TASK_DONE, TASK_FAILED, TASK_SKIPPED } TaskState;

/* The target of MOCKJUDGE: every judge call. */
#define VM_JUDGE UINT32_MAX

/* What a test mocks (MOCKVAL, MOCKFILE, MOCKMODEL, MOCKJUDGE). */
typedef enum MockKind { MOCK_VALUE, MOCK_SEQUENCE, MOCK_CASSETTE, MOCK_MODEL } MockKind;

/* Host callbacks: the scheduler's side of effects. */
typedef struct VmHost {
  void *ctx;
  /* Issue model call: prompt `p` (or -1 and `model` for a judge) with the
   * rendered messages (borrowed), feedback (none or list of strings) and a
   * model override (-1: none). Returns a new pending or resolved future. */
  Future *(*call)(void *ctx, Task *t, int32_t prompt, int32_t model, Value messages, Value feedback, uint32_t pos);
  /* The value of context `c` (read once per run); false + err on failure. */
  bool (*context)(void *ctx, uint32_t c, Value *out, char *err, size_t errlen);
  /* A task is runnable again (the scheduler queues it). */
  void (*wake)(void *ctx, Task *t);
  /* A new task was created by FORK (the scheduler queues it). */
  void (*spawn)(void *ctx, Task *t);
  /* A task finished (done, failed or skipped). */
  void (*finished)(void *ctx, Task *t);
  /* Tests (NULL outside `flowc test`): install a mock of prompt or binding
   * `target` (a value, a list of successive values, or a cassette path), or
   * of every judge (target VM_JUDGE); false + err when it cannot be
   * installed. */
  bool (*mock)(void *ctx, MockKind kind, uint32_t target, Value v, char *err, size_t errlen);
  /* Tests: assertion `index` of the running test held or not; `lhs` and
   * `rhs` are the compared values (both the condition when it is not a
   * comparison), borrowed. */
  void (*expect)(void *ctx, Task *t, uint32_t index, bool passed, Value lhs, Value rhs);
} VmHost;

struct Vm {
  const Image *img;
  VmHost host;
  BuiltinCtx *builtins;
  uint32_t default_width;   /* parallel width of loops without `parallel N` */
  uint64_t next_task_id;
  int32_t *eval_of_fn;      /* per function: the eval it is the body of, or -1 */
  const NativeFn *native;   /* per function: its compiled code, or NULL (interpreted); NULL: none */
  Task *live;               /* every task not yet freed (for teardown) */
  struct Fork *forks;       /* every loop not yet joined */
  unsigned char reg_mask[OP_COUNT]; /* per opcode: which operands are registers to force */
};

struct Task {
  uint64_t id;
  uint64_t item;            /* input item number (0-based) */
  uint64_t seed;            /* the mock seed of a pass_rate trial (0: none); inherited by loops */
  bool warned;              /* a `warn` action ran in it (or in a loop it started) */
  Task *parent;             /* FORK parent, NULL for an item's root task */
  uint32_t index;           /* position among the parent's fork children */
  struct Fork *fork;        /* the fork this task belongs to */
  TaskState state;
  Future *waiting;          /* TASK_WAITING: the future it waits on (a reference) */
  Value result;             /* TASK_DONE: owned */
  char *error;              /* TASK_FAILED: owned */
  uint32_t error_pos;
  struct Frame *frames;
  uint32_t nframes, frames_cap;
  uint32_t frame_serial;    /* frames pushed so far */
  Value rejection;          /* the message OP_REJECTED picks up */
  Value *regs;
  uint32_t nregs, regs_cap;
  TraceEvent *trace;        /* logical trace, in program order */
  uint32_t ntrace, trace_cap;
  void *user;               /* the scheduler's per-task data */
  Task *live_prev, *live_next;
  Vm *vm;
};

void vm_init(Vm *vm, const Image *img, VmHost host, uint32_t default_width);
/* Free the VM and every task and loop still alive (a run that stopped early). */
void vm_free(Vm *vm);

/* A new runnable task calling function `fn` with `args` (stolen). */
Task *vm_task_new(Vm *vm, uint32_t fn, Value *args, uint32_t nargs, uint64_t item);
void vm_task_free(Task *t);

/* Run `t` until it finishes or waits on a future. */
void vm_run(Vm *vm, Task *t);

/* The helpers compiled functions call (one per kind of instruction; R is
 * the function's registers, `fn` and `pc` say which instruction). */
void vm_native_enter(Value *R, uint32_t nregs, const Value *args, uint32_t nparams);
void vm_native_leave(Value *R, uint32_t nregs);
bool vm_native_step(Vm *vm, uint32_t fn, uint32_t pc, Value *R, Value *yields, char *err, uint32_t *pos);
bool vm_native_truthy(const Value *R, uint32_t r);
/* Instructions common in loops, with their operands as arguments: no
 * decoding; the same results as vm_native_step. */
void vm_native_loadi(Value *R, uint32_t a, int32_t imm);
void vm_native_move(Value *R, uint32_t a, uint32_t b);
bool vm_native_binop(Vm *vm, uint32_t fn, uint32_t pc, Value *R, uint32_t a, uint32_t b, uint32_t c, char *err,
                     uint32_t *pos);
void vm_native_ret(const Value *R, uint32_t r, Value *out);
void vm_native_ret_yields(Value *out);
bool vm_native_call(Vm *vm, NativeFn callee, uint32_t fn, uint32_t pc, Value *R, char *err, uint32_t *pos);
bool vm_native_fork(Vm *vm, NativeFn body, uint32_t fn, uint32_t pc, Value *R, char *err, uint32_t *pos);
void vm_native_fail(Vm *vm, uint32_t fn, uint32_t pc, const Value *R, char *err, uint32_t *pos);

/* Append an event to the task's trace (takes ownership of `line` and `data`). */
void task_trace(Task *t, char *line, void *data, void (*free_data)(void *));
void trace_events_free(TraceEvent *ev, uint32_t n);

/* "file.flow:12:3" for a position index (static buffer in `buf`). */
const char *vm_pos_str(const Image *img, uint32_t pos, char *buf, size_t len);

#endif
