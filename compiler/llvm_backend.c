/* llvm_backend.c - the LLVM module of a built executable (see llvm_backend.h). */
#include "llvm_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "llvm_api.h"

typedef struct Gen {
  LlvmApi *api;
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMTargetMachineRef tm;
} Gen;

/* The host target machine (position-independent code, for PIE executables). */
static bool target_machine(Gen *g, char *err, size_t errlen) {
  LlvmApi *a = g->api;
  a->InitTargetInfo();
  a->InitTarget();
  a->InitTargetMC();
  a->InitAsmPrinter();
  char *triple = a->GetDefaultTargetTriple(), *msg = NULL;
  LLVMTargetRef target;
  if (a->GetTargetFromTriple(triple, &target, &msg)) {
    snprintf(err, errlen, "LLVM has no target for %s: %s", triple, msg ? msg : "?");
    a->DisposeMessage(msg);
    a->DisposeMessage(triple);
    return false;
  }
  /* generic CPU: the executable runs on any machine of the host's kind */
  g->tm = a->CreateTargetMachine(target, triple, "generic", "", LLVMCodeGenLevelDefault, LLVMRelocPIC,
                                 LLVMCodeModelDefault);
  a->SetTarget(g->mod, triple);
  LLVMTargetDataRef layout = a->CreateTargetDataLayout(g->tm);
  a->SetModuleDataLayout(g->mod, layout);
  a->DisposeTargetData(layout);
  a->DisposeMessage(triple);
  return true;
}

/* A constant byte array, private to the module (@flow_image, @flow_files). */
static LLVMValueRef bytes_global(Gen *g, const char *name, const unsigned char *bc, size_t len) {
  LlvmApi *a = g->api;
  LLVMValueRef init = a->ConstStringInContext(g->ctx, (const char *)bc, (unsigned)len, true);
  LLVMTypeRef type = a->ArrayType(a->Int8TypeInContext(g->ctx), (unsigned)len);
  LLVMValueRef gv = a->AddGlobal(g->mod, type, name);
  a->SetInitializer(gv, init);
  a->SetGlobalConstant(gv, true);
  a->SetLinkage(gv, LLVMPrivateLinkage);
  a->SetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
  return gv;
}

/* ---- compiled functions ------------------------------------------------------------------------ */

/* The types the generated code uses; values, registers and the VM are
 * opaque pointers to the runtime (i8*). */
typedef struct Types {
  LLVMTypeRef i1, i8, i32, i64, vd, ptr, i32p, native; /* native: NativeFn (vm.h) */
} Types;

static Types types_of(Gen *g) {
  LlvmApi *a = g->api;
  Types t;
  t.i1 = a->Int1TypeInContext(g->ctx);
  t.i8 = a->Int8TypeInContext(g->ctx);
  t.i32 = a->Int32TypeInContext(g->ctx);
  t.i64 = a->Int64TypeInContext(g->ctx);
  t.vd = a->VoidTypeInContext(g->ctx);
  t.ptr = a->PointerType(t.i8, 0);
  t.i32p = a->PointerType(t.i32, 0);
  LLVMTypeRef params[] = {t.ptr, t.ptr, t.ptr, t.ptr, t.i32p};
  t.native = a->FunctionType(t.i1, params, 5, false);
  return t;
}

/* May function `f` be compiled? Only instructions that compute, jumps,
 * returns, FAIL, and calls and loops whose callee or body may be compiled
 * too: nothing that waits, has an effect or touches the task (its trace,
 * its frame) -- those functions stay with the interpreter. */
static bool compilable_op(const Image *img, const Instr *in, const bool *ok) {
  switch ((Op)in->op) {
  case OP_PROMPT: case OP_CONTEXT: case OP_JUDGE: case OP_TRIALS: case OP_ASSERT: case OP_SCORE: case OP_EVALRES:
  case OP_RETRY: case OP_WARN: case OP_SKIP: case OP_REJECTED: case OP_CHECKED: case OP_MOCKVAL: case OP_MOCKFILE:
  case OP_MOCKMODEL: case OP_MOCKJUDGE: case OP_EXPECT: case OP_COUNT:
    return false;
  case OP_CALL: case OP_FORK: return in->b < img->nfuncs && ok[in->b];
  default: return true;
  }
}

/* Which functions are compiled: start from all, drop those with an
 * instruction that may not be, until nothing changes (a call to a dropped
 * function drops its caller). */
static bool *compilable(const Image *img) {
  bool *ok = xmalloc((img->nfuncs + 1) * sizeof *ok);
  for (uint32_t f = 0; f < img->nfuncs; f++) ok[f] = true;
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t f = 0; f < img->nfuncs; f++)
      for (uint32_t pc = 0; ok[f] && pc < img->funcs[f].ncode; pc++)
        if (!compilable_op(img, &img->funcs[f].code[pc], ok)) ok[f] = false, changed = true;
  }
  return ok;
}

/* The runtime helpers the code calls (vm.h, vm_native_*). */
typedef struct Helpers {
  LLVMTypeRef enter_t, leave_t, step_t, truthy_t, ret_t, yields_t, call_t, fail_t, loadi_t, move_t, binop_t;
  LLVMValueRef enter, leave, step, truthy, ret, yields, call, fork, fail, loadi, move, binop;
} Helpers;

static LLVMValueRef declare(Gen *g, const char *name, LLVMTypeRef ret, LLVMTypeRef *params, unsigned n,
                            LLVMTypeRef *type) {
  *type = g->api->FunctionType(ret, params, n, false);
  return g->api->AddFunction(g->mod, name, *type);
}

static Helpers helpers(Gen *g, const Types *t) {
  Helpers h;
  LLVMTypeRef fork_t;
  LLVMTypeRef enter[] = {t->ptr, t->i32, t->ptr, t->i32}, leave[] = {t->ptr, t->i32},
              step[] = {t->ptr, t->i32, t->i32, t->ptr, t->ptr, t->ptr, t->i32p}, truthy[] = {t->ptr, t->i32},
              ret[] = {t->ptr, t->i32, t->ptr}, yields[] = {t->ptr},
              call[] = {t->ptr, t->ptr, t->i32, t->i32, t->ptr, t->ptr, t->i32p},
              fail[] = {t->ptr, t->i32, t->i32, t->ptr, t->ptr, t->i32p}, loadi[] = {t->ptr, t->i32, t->i32},
              move[] = {t->ptr, t->i32, t->i32},
              binop[] = {t->ptr, t->i32, t->i32, t->ptr, t->i32, t->i32, t->i32, t->ptr, t->i32p};
  h.enter = declare(g, "vm_native_enter", t->vd, enter, 4, &h.enter_t);
  h.leave = declare(g, "vm_native_leave", t->vd, leave, 2, &h.leave_t);
  h.step = declare(g, "vm_native_step", t->i1, step, 7, &h.step_t);
  h.truthy = declare(g, "vm_native_truthy", t->i1, truthy, 2, &h.truthy_t);
  h.ret = declare(g, "vm_native_ret", t->vd, ret, 3, &h.ret_t);
  h.yields = declare(g, "vm_native_ret_yields", t->vd, yields, 1, &h.yields_t);
  h.call = declare(g, "vm_native_call", t->i1, call, 7, &h.call_t);
  h.fork = declare(g, "vm_native_fork", t->i1, call, 7, &fork_t);
  h.fail = declare(g, "vm_native_fail", t->vd, fail, 6, &h.fail_t);
  h.loadi = declare(g, "vm_native_loadi", t->vd, loadi, 3, &h.loadi_t);
  h.move = declare(g, "vm_native_move", t->vd, move, 3, &h.move_t);
  h.binop = declare(g, "vm_native_binop", t->i1, binop, 9, &h.binop_t);
  return h;
}

/* One compiled function: a basic block per instruction, jumps as branches,
 * the computing instructions as calls of vm_native_step (the interpreter's
 * own definition of each), calls and loops of compiled functions direct. */
typedef struct FnCtx {
  Gen *g;
  const Types *t;
  const Helpers *h;
  LLVMValueRef *fns;        /* per image function: its LLVM function, or NULL */
  uint32_t k;               /* the function being compiled */
  LLVMValueRef vm, args, out, err, pos, R, Y;
  LLVMBasicBlockRef *blocks, fail;
} FnCtx;

static LLVMValueRef cu32(const FnCtx *c, uint32_t v) { return c->g->api->ConstInt(c->t->i32, v, false); }

/* Where control goes after instruction `pc` falls through. */
static LLVMBasicBlockRef next_block(const FnCtx *c, const ImgFunc *f, uint32_t pc) {
  return pc + 1 < f->ncode ? c->blocks[pc + 1] : c->blocks[f->ncode];
}

static void emit_instr(FnCtx *c, LLVMBuilderRef b, const ImgFunc *f, uint32_t pc) {
  LlvmApi *a = c->g->api;
  const Helpers *h = c->h;
  const Instr *in = &f->code[pc];
  LLVMBasicBlockRef next = next_block(c, f, pc);
  switch ((Op)in->op) {
  case OP_NOP: a->BuildBr(b, next); return;
  case OP_LOADI: case OP_MOVE: {
    LLVMValueRef margs[] = {c->R, cu32(c, in->a), cu32(c, in->b)};
    if (in->op == OP_LOADI) a->BuildCall2(b, h->loadi_t, h->loadi, margs, 3, "");
    else a->BuildCall2(b, h->move_t, h->move, margs, 3, "");
    a->BuildBr(b, next);
    return;
  }
  case OP_ADD: case OP_SUB: case OP_MUL: case OP_EQ: case OP_NE: case OP_LT: case OP_LE: case OP_GT: case OP_GE: {
    LLVMValueRef bargs[] = {c->vm, cu32(c, c->k), cu32(c, pc), c->R, cu32(c, in->a), cu32(c, in->b), cu32(c, in->c),
                            c->err, c->pos};
    LLVMValueRef ok = a->BuildCall2(b, h->binop_t, h->binop, bargs, 9, "");
    a->BuildCondBr(b, ok, next, c->fail);
    return;
  }
  case OP_JMP: a->BuildBr(b, c->blocks[in->a]); return;
  case OP_JMPF: case OP_JMPT: {
    LLVMValueRef targs[] = {c->R, cu32(c, in->a)};
    LLVMValueRef v = a->BuildCall2(b, h->truthy_t, h->truthy, targs, 2, "");
    if (in->op == OP_JMPT) a->BuildCondBr(b, v, c->blocks[in->b], next);
    else a->BuildCondBr(b, v, next, c->blocks[in->b]);
    return;
  }
  case OP_RET: case OP_RETYIELDS: {
    if (in->op == OP_RET) {
      LLVMValueRef rargs[] = {c->R, cu32(c, in->a), c->out};
      a->BuildCall2(b, h->ret_t, h->ret, rargs, 3, "");
    } else {
      LLVMValueRef yargs[] = {c->out};
      a->BuildCall2(b, h->yields_t, h->yields, yargs, 1, "");
    }
    LLVMValueRef largs[] = {c->R, cu32(c, f->nregs)};
    a->BuildCall2(b, h->leave_t, h->leave, largs, 2, "");
    a->BuildRet(b, a->ConstInt(c->t->i1, 1, false));
    return;
  }
  case OP_FAIL: {
    LLVMValueRef fargs[] = {c->vm, cu32(c, c->k), cu32(c, pc), c->R, c->err, c->pos};
    a->BuildCall2(b, h->fail_t, h->fail, fargs, 6, "");
    a->BuildBr(b, c->fail);
    return;
  }
  case OP_CALL: case OP_FORK: {
    LLVMValueRef callee = a->ConstBitCast(c->fns[in->b], c->t->ptr);
    LLVMValueRef cargs[] = {c->vm, callee, cu32(c, c->k), cu32(c, pc), c->R, c->err, c->pos};
    LLVMValueRef ok = a->BuildCall2(b, h->call_t, in->op == OP_CALL ? h->call : h->fork, cargs, 7, "");
    a->BuildCondBr(b, ok, next, c->fail);
    return;
  }
  default: {
    LLVMValueRef sargs[] = {c->vm, cu32(c, c->k), cu32(c, pc), c->R, c->Y, c->err, c->pos};
    LLVMValueRef ok = a->BuildCall2(b, h->step_t, h->step, sargs, 7, "");
    a->BuildCondBr(b, ok, next, c->fail);
    return;
  }
  }
}

/* The body of compiled function `k`. */
static void emit_function(Gen *g, const Types *t, const Helpers *h, LLVMValueRef *fns, const Image *img, uint32_t k) {
  LlvmApi *a = g->api;
  const ImgFunc *f = &img->funcs[k];
  LLVMValueRef fn = fns[k];
  FnCtx c = {g, t, h, fns, k, a->GetParam(fn, 0), a->GetParam(fn, 1), a->GetParam(fn, 2), a->GetParam(fn, 3),
             a->GetParam(fn, 4), NULL, NULL, NULL, NULL};
  LLVMBuilderRef b = a->CreateBuilderInContext(g->ctx);
  LLVMBasicBlockRef entry = a->AppendBasicBlockInContext(g->ctx, fn, "entry");
  c.blocks = xmalloc((f->ncode + 1) * sizeof *c.blocks);
  for (uint32_t pc = 0; pc < f->ncode; pc++) {
    char name[32];
    snprintf(name, sizeof name, "pc%u", pc);
    c.blocks[pc] = a->AppendBasicBlockInContext(g->ctx, fn, name);
  }
  c.blocks[f->ncode] = a->AppendBasicBlockInContext(g->ctx, fn, "end"); /* never reached: code ends in RET */
  c.fail = a->AppendBasicBlockInContext(g->ctx, fn, "fail");
  a->PositionBuilderAtEnd(b, entry);
  /* registers and the yields: Value is 16 bytes, aligned to 8 (value.h) */
  c.R = a->BuildBitCast(b, a->BuildArrayAlloca(b, t->i64, cu32(&c, 2 * (f->nregs ? f->nregs : 1)), "regs"),
                        t->ptr, "R");
  c.Y = c.out; /* YIELD appends to the caller's list (vm.h NativeFn) */
  LLVMValueRef eargs[] = {c.R, cu32(&c, f->nregs), c.args, cu32(&c, f->nparams)};
  a->BuildCall2(b, h->enter_t, h->enter, eargs, 4, "");
  a->BuildBr(b, c.blocks[0]);
  for (uint32_t pc = 0; pc < f->ncode; pc++) {
    a->PositionBuilderAtEnd(b, c.blocks[pc]);
    emit_instr(&c, b, f, pc);
  }
  a->PositionBuilderAtEnd(b, c.blocks[f->ncode]);
  a->BuildUnreachable(b);
  a->PositionBuilderAtEnd(b, c.fail);
  LLVMValueRef largs[] = {c.R, cu32(&c, f->nregs)};
  a->BuildCall2(b, h->leave_t, h->leave, largs, 2, "");
  a->BuildRet(b, a->ConstInt(t->i1, 0, false));
  a->DisposeBuilder(b);
  free(c.blocks);
}

/* Every compilable function, and @flow_native: per image function, its
 * compiled code or null (the runtime interprets that one). */
static LLVMValueRef native_table(Gen *g, const Types *t, const Image *img) {
  LlvmApi *a = g->api;
  bool *ok = compilable(img);
  LLVMValueRef *fns = xmalloc((img->nfuncs + 1) * sizeof *fns);
  for (uint32_t k = 0; k < img->nfuncs; k++) {
    char name[32];
    snprintf(name, sizeof name, "flow_fn_%u", k);
    fns[k] = ok[k] ? a->AddFunction(g->mod, name, t->native) : NULL;
    if (fns[k]) a->SetLinkage(fns[k], LLVMInternalLinkage);
  }
  Helpers h = helpers(g, t);
  for (uint32_t k = 0; k < img->nfuncs; k++)
    if (ok[k]) emit_function(g, t, &h, fns, img, k);
  LLVMValueRef *entries = xmalloc((img->nfuncs + 1) * sizeof *entries);
  for (uint32_t k = 0; k < img->nfuncs; k++)
    entries[k] = ok[k] ? a->ConstBitCast(fns[k], t->ptr) : a->ConstPointerNull(t->ptr);
  LLVMTypeRef type = a->ArrayType(t->ptr, img->nfuncs);
  LLVMValueRef table = a->AddGlobal(g->mod, type, "flow_native");
  a->SetInitializer(table, a->ConstArray(t->ptr, entries, img->nfuncs));
  a->SetGlobalConstant(table, true);
  a->SetLinkage(table, LLVMPrivateLinkage);
  free(entries);
  free(fns);
  free(ok);
  return table;
}

/* int main(int argc, char **argv) {
 *   return flow_native_main(argc, argv, flow_image, len, flow_native, nfuncs, flow_files, nbytes); } */
static void main_function(Gen *g, const Types *t, LLVMValueRef image, size_t len, LLVMValueRef table,
                          uint32_t nfuncs, LLVMValueRef files, size_t files_len) {
  LlvmApi *a = g->api;
  LLVMTypeRef i8pp = a->PointerType(t->ptr, 0);
  LLVMTypeRef entry_params[] = {t->i32, i8pp, t->ptr, t->i64, i8pp, t->i64, t->ptr, t->i64};
  LLVMTypeRef entry_type = a->FunctionType(t->i32, entry_params, 8, false);
  LLVMValueRef entry = a->AddFunction(g->mod, "flow_native_main", entry_type);
  LLVMTypeRef main_params[] = {t->i32, i8pp};
  LLVMValueRef fn = a->AddFunction(g->mod, "main", a->FunctionType(t->i32, main_params, 2, false));
  LLVMBuilderRef b = a->CreateBuilderInContext(g->ctx);
  a->PositionBuilderAtEnd(b, a->AppendBasicBlockInContext(g->ctx, fn, "entry"));
  LLVMValueRef zero = a->ConstInt(t->i64, 0, false);
  LLVMValueRef idx[] = {zero, zero};
  LLVMValueRef ptr = a->ConstInBoundsGEP2(a->ArrayType(t->i8, (unsigned)len), image, idx, 2);
  LLVMValueRef tptr = a->ConstInBoundsGEP2(a->ArrayType(t->ptr, nfuncs), table, idx, 2);
  LLVMValueRef fptr = a->ConstInBoundsGEP2(a->ArrayType(t->i8, (unsigned)files_len), files, idx, 2);
  LLVMValueRef args[] = {a->GetParam(fn, 0), a->GetParam(fn, 1), ptr, a->ConstInt(t->i64, len, false), tptr,
                         a->ConstInt(t->i64, nfuncs, false), fptr, a->ConstInt(t->i64, files_len, false)};
  a->BuildRet(b, a->BuildCall2(b, entry_type, entry, args, 8, "status"));
  a->DisposeBuilder(b);
}

/* Verify, optimise (-O2) and write what was asked for. */
static bool finish(Gen *g, const char *ll_path, const char *obj_path, char *err, size_t errlen) {
  LlvmApi *a = g->api;
  char *msg = NULL;
  if (a->VerifyModule(g->mod, LLVMReturnStatusAction, &msg)) {
    snprintf(err, errlen, "internal error: the generated module is not valid LLVM IR: %s", msg ? msg : "?");
    a->DisposeMessage(msg);
    return false;
  }
  a->DisposeMessage(msg);
  LLVMPassBuilderOptionsRef po = a->CreatePassBuilderOptions();
  LLVMErrorRef e = a->RunPasses(g->mod, "default<O2>", g->tm, po);
  a->DisposePassBuilderOptions(po);
  if (e) {
    char *m = a->GetErrorMessage(e);
    snprintf(err, errlen, "LLVM's -O2 pipeline failed: %s", m);
    a->DisposeErrorMessage(m);
    return false;
  }
  if (ll_path && a->PrintModuleToFile(g->mod, ll_path, &msg)) {
    snprintf(err, errlen, "cannot write `%s`: %s", ll_path, msg ? msg : "?");
    a->DisposeMessage(msg);
    return false;
  }
  if (obj_path && a->TargetMachineEmitToFile(g->tm, g->mod, (char *)obj_path, LLVMObjectFile, &msg)) {
    snprintf(err, errlen, "cannot write the object file `%s`: %s", obj_path, msg ? msg : "?");
    a->DisposeMessage(msg);
    return false;
  }
  return true;
}

bool llvm_emit(const Image *img, const unsigned char *bc, size_t len, const unsigned char *files, size_t nfiles,
               const char *ll_path, const char *obj_path, char *err, size_t errlen) {
  LlvmApi api;
  if (!llvm_api_open(&api, err, errlen)) return false;
  Gen g = {&api, api.ContextCreate(), NULL, NULL};
  g.mod = api.ModuleCreateWithNameInContext("flow program", g.ctx);
  bool ok = target_machine(&g, err, errlen);
  if (ok) {
    Types t = types_of(&g);
    LLVMValueRef image = bytes_global(&g, "flow_image", bc, len);
    LLVMValueRef table = native_table(&g, &t, img);
    main_function(&g, &t, image, len, table, img->nfuncs, bytes_global(&g, "flow_files", files, nfiles), nfiles);
    ok = finish(&g, ll_path, obj_path, err, errlen);
  }
  if (g.tm) api.DisposeTargetMachine(g.tm);
  api.DisposeModule(g.mod);
  api.ContextDispose(g.ctx);
  llvm_api_close(&api);
  return ok;
}
