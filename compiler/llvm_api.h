/* llvm_api.h - the LLVM C API, loaded with dlopen when `flowc build` first
 * needs it: every other command (check, run, test) starts without mapping
 * LLVM's 50 MB library, which keeps their start-up at a millisecond or two.
 * The types come from LLVM's own headers; each entry has the exact type of
 * the function it names. */
#ifndef FLOW_LLVM_API_H
#define FLOW_LLVM_API_H

#include <stdbool.h>
#include <stddef.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#define LLVM_API_FUNCTIONS(X)                                                                                        \
  X(ContextCreate) X(ContextDispose) X(ModuleCreateWithNameInContext) X(DisposeModule) X(SetTarget)                  \
  X(SetModuleDataLayout) X(Int8TypeInContext) X(Int32TypeInContext) X(Int64TypeInContext) X(PointerType)            \
  X(ArrayType) X(FunctionType) X(AddFunction) X(AddGlobal) X(SetInitializer) X(SetGlobalConstant) X(SetLinkage)     \
  X(SetUnnamedAddress) X(ConstStringInContext) X(ConstInt) X(ConstInBoundsGEP2) X(AppendBasicBlockInContext)        \
  X(CreateBuilderInContext) X(DisposeBuilder) X(PositionBuilderAtEnd) X(BuildCall2) X(BuildRet) X(GetParam)         \
  X(VerifyModule) X(PrintModuleToFile) X(DisposeMessage) X(GetDefaultTargetTriple) X(GetTargetFromTriple)           \
  X(CreateTargetMachine) X(DisposeTargetMachine) X(CreateTargetDataLayout) X(DisposeTargetData)                     \
  X(TargetMachineEmitToFile) X(GetHostCPUName) X(GetHostCPUFeatures) X(RunPasses) X(CreatePassBuilderOptions)       \
  X(DisposePassBuilderOptions) X(GetErrorMessage) X(DisposeErrorMessage) X(Int1TypeInContext)                      \
  X(VoidTypeInContext) X(BuildBr) X(BuildCondBr) X(BuildAlloca) X(BuildArrayAlloca) X(SetAlignment) X(ConstArray)    \
  X(ConstPointerNull) X(ConstBitCast) X(BuildUnreachable) X(BuildBitCast)

typedef struct LlvmApi {
  void *lib;
#define LLVM_API_FIELD(name) __typeof__(LLVM##name) *name;
  LLVM_API_FUNCTIONS(LLVM_API_FIELD)
#undef LLVM_API_FIELD
  /* the host target's initialisers (LLVMInitializeX86Target, ...) */
  void (*InitTargetInfo)(void), (*InitTarget)(void), (*InitTargetMC)(void), (*InitAsmPrinter)(void);
} LlvmApi;

/* Load libLLVM and find every function; false with what was expected and
 * found in err[0..errlen). */
bool llvm_api_open(LlvmApi *api, char *err, size_t errlen);
void llvm_api_close(LlvmApi *api); /* forgets the functions; the library stays loaded */

#endif
