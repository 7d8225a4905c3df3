//! Translation of one WebAssembly function body into Cranelift IR.

use cranelift_codegen::ir;
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilderContext;
use wasmparser::FunctionBody;

use crate::config::CodegenConfig;
use crate::error::CompileError;
use crate::module::ModuleInfo;
use crate::vmoffsets::VMOffsets;

/// What the translator of one function may consult about its module and target.
pub(crate) struct FuncEnv<'a> {
    /// The target's Cranelift backend.
    pub isa: &'a dyn TargetIsa,
    /// The module being compiled.
    pub module: &'a ModuleInfo,
    /// The vmctx layout for the module.
    pub offsets: &'a VMOffsets,
    /// Bounds-check mode, guard size and the like.
    pub config: &'a CodegenConfig,
}

/// Translates the body of function `func_index` into `func`, whose signature is already set.
pub(crate) fn translate_function(
    env: &FuncEnv<'_>,
    func_index: u32,
    body: FunctionBody<'_>,
    func: &mut ir::Function,
    builder_ctx: &mut FunctionBuilderContext,
) -> Result<(), CompileError> {
    let _ = (env, func_index, body, func, builder_ctx);
    Err(CompileError::Unsupported("function translation".into()))
}
