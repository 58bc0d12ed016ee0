/* llvm_backend.c - the LLVM module of a built executable (see llvm_backend.h). */
#include "llvm_backend.h"

#include <stdio.h>
#include <string.h>

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

/* @flow_image: the bytecode, constant, private to the module. */
static LLVMValueRef image_global(Gen *g, const unsigned char *bc, size_t len) {
  LlvmApi *a = g->api;
  LLVMValueRef init = a->ConstStringInContext(g->ctx, (const char *)bc, (unsigned)len, true);
  LLVMTypeRef type = a->ArrayType(a->Int8TypeInContext(g->ctx), (unsigned)len);
  LLVMValueRef gv = a->AddGlobal(g->mod, type, "flow_image");
  a->SetInitializer(gv, init);
  a->SetGlobalConstant(gv, true);
  a->SetLinkage(gv, LLVMPrivateLinkage);
  a->SetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
  return gv;
}

/* int main(int argc, char **argv) { return flow_native_main(argc, argv, flow_image, len); } */
static void main_function(Gen *g, LLVMValueRef image, size_t len) {
  LlvmApi *a = g->api;
  LLVMTypeRef i8 = a->Int8TypeInContext(g->ctx), i32 = a->Int32TypeInContext(g->ctx),
              i64 = a->Int64TypeInContext(g->ctx);
  LLVMTypeRef i8p = a->PointerType(i8, 0), i8pp = a->PointerType(i8p, 0);
  LLVMTypeRef entry_params[] = {i32, i8pp, i8p, i64};
  LLVMTypeRef entry_type = a->FunctionType(i32, entry_params, 4, false);
  LLVMValueRef entry = a->AddFunction(g->mod, "flow_native_main", entry_type);
  LLVMTypeRef main_params[] = {i32, i8pp};
  LLVMValueRef fn = a->AddFunction(g->mod, "main", a->FunctionType(i32, main_params, 2, false));
  LLVMBuilderRef b = a->CreateBuilderInContext(g->ctx);
  a->PositionBuilderAtEnd(b, a->AppendBasicBlockInContext(g->ctx, fn, "entry"));
  LLVMValueRef zero = a->ConstInt(i64, 0, false);
  LLVMValueRef idx[] = {zero, zero};
  LLVMValueRef ptr = a->ConstInBoundsGEP2(a->ArrayType(i8, (unsigned)len), image, idx, 2);
  LLVMValueRef args[] = {a->GetParam(fn, 0), a->GetParam(fn, 1), ptr, a->ConstInt(i64, len, false)};
  a->BuildRet(b, a->BuildCall2(b, entry_type, entry, args, 4, "status"));
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

bool llvm_emit(const Image *img, const unsigned char *bc, size_t len, const char *ll_path, const char *obj_path,
               char *err, size_t errlen) {
  (void)img;
  LlvmApi api;
  if (!llvm_api_open(&api, err, errlen)) return false;
  Gen g = {&api, api.ContextCreate(), NULL, NULL};
  g.mod = api.ModuleCreateWithNameInContext("flow program", g.ctx);
  bool ok = target_machine(&g, err, errlen);
  if (ok) {
    main_function(&g, image_global(&g, bc, len), len);
    ok = finish(&g, ll_path, obj_path, err, errlen);
  }
  if (g.tm) api.DisposeTargetMachine(g.tm);
  api.DisposeModule(g.mod);
  api.ContextDispose(g.ctx);
  llvm_api_close(&api);
  return ok;
}
