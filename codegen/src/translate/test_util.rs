//! Helpers for the translator's unit tests.

use cranelift_codegen::ir::{Function, Opcode};

use crate::compile::translate_defined;
use crate::config::CodegenConfig;
use crate::memory_layout::MemoryAssumptions;
use crate::module::ModuleInfo;
use crate::target::Target;
use crate::translate::{FuncEnv, TranslateContext};
use crate::vmoffsets::VMOffsets;

/// The first function of the module in `wat`, translated, and its inliner size.
pub(crate) fn translate(wat: &str) -> (Function, usize) {
    let bytes = wat::parse_str(wat).expect("valid text");
    let config = CodegenConfig::default();
    let info = ModuleInfo::parse(&bytes, config.features).expect("valid module");
    let isa = Target::host().isa(&config).expect("the host is supported");
    let offsets = VMOffsets::new(&info);
    let memories: Vec<_> = info
        .memories
        .iter()
        .map(|ty| MemoryAssumptions::new(&config, ty))
        .collect();
    let env = FuncEnv {
        isa: &*isa,
        module: &info,
        offsets: &offsets,
        memories: &memories,
        config: &config,
        escaping: &info.escaping_functions(),
    };
    let mut func = Function::new();
    let translation =
        translate_defined(&env, &bytes, 0, &mut func, &mut TranslateContext::default())
            .expect("translates");
    (func, translation.size)
}

/// How many instructions of `func`'s layout have `opcode`.
pub(crate) fn count(func: &Function, opcode: Opcode) -> usize {
    func.layout
        .blocks()
        .flat_map(|block| func.layout.block_insts(block))
        .filter(|&inst| func.dfg.insts[inst].opcode() == opcode)
        .count()
}
