//! Linear-memory loads, stores and bulk operations (their bounds checks are decided in
//! [`super::bounds_checks`]).

use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Type, Value, ValueDef};
use wasmparser::{MemArg, Operator};

use super::alias_regions::Region;
use super::block_values::Computed;
use super::bounds_checks::Check;
use super::index_bounds::iconst;
use super::loop_indices::Access;
use super::FuncTranslator;
use crate::builtins::Builtin;
use crate::error::CompileError;

/// A checked access to linear memory: where, and with which flags.
pub(super) struct HeapAccess {
    /// The address, to which `offset` is added.
    pub addr: Value,
    /// The static offset to put in the instruction.
    pub offset: i32,
    /// The access's flags (see [`FuncTranslator::heap_flags`]).
    pub flags: MemFlagsData,
}

/// How a load widens its result.
#[derive(Clone, Copy)]
enum Extend {
    None,
    Signed,
    Unsigned,
}

impl FuncTranslator<'_, '_> {
    /// A load of vmctx field `offset` that never changes while the instance lives.
    ///
    /// `can_move` makes it pure for Cranelift: loads of one field merge, and loops hoist
    /// them (the memory base is then loaded once per function, not once per access).
    pub(super) fn vmctx_readonly(&mut self, ty: Type, offset: u32) -> Value {
        let flags = MemFlagsData::trusted().with_readonly().with_can_move();
        self.builder
            .ins()
            .load(ty, flags, self.vmctx, offset as i32)
    }

    /// A load of vmctx field `offset` that never changes while the instance lives, for a
    /// value a function uses at a few places (a global's address, a callee, a signature id,
    /// a table's definition): in an alias region of its own, so that loads of the field
    /// with no call between them merge, but not movable. Movable, Cranelift would load it
    /// once at the top of the function and keep it in a register, or spill it, across the
    /// whole function: a long live range for the register allocator to split around every
    /// call, where reloading it from the vmctx after a call costs one load, as reloading a
    /// spilled copy would (the kernels execute the same instructions either way). The real
    /// programs' compiles execute 0.3% (zlib) to 0.9% (sqlite, rust) fewer instructions.
    pub(super) fn vmctx_field(&mut self, ty: Type, offset: u32) -> Value {
        let region = self.alias_region(Region::VmctxFields);
        let flags = MemFlagsData::trusted()
            .with_readonly()
            .with_alias_region(Some(region));
        self.builder
            .ins()
            .load(ty, flags, self.vmctx, offset as i32)
    }

    /// The access of `size` bytes at `index + memarg.offset` (the memory's index type), after the
    /// check its memory's bounds strategy requires (`check`: [`Check::Store`] for a store,
    /// [`Check::AsAssumed`] for a load); `None` when it always traps (see
    /// [`super::bounds_checks`]), and the code after it is unreachable.
    pub(super) fn heap_access(
        &mut self,
        memarg: &MemArg,
        index: Value,
        size: u64,
        check: Check,
    ) -> Result<Option<HeapAccess>, CompileError> {
        let memory = self.memory_of(memarg)?;
        let constant = iconst(&self.builder.func.dfg, index)
            .and_then(|c| self.constant_address(memory, c, memarg.offset, size, check));
        let checked = match constant {
            Some(address) => Some(address),
            None => {
                let index = self.index_to_i64(memory, index);
                self.bounds_check_and_compute_addr(memory, index, memarg.offset, size, check)
            }
        };
        Ok(checked.map(|(addr, offset)| HeapAccess {
            addr,
            offset,
            flags: self.heap_flags(memory),
        }))
    }

    /// The memory `memarg` accesses, if this translator supports its kind.
    pub(super) fn memory_of(&self, memarg: &MemArg) -> Result<u32, CompileError> {
        let wasmparser::MemArgTarget::Memory(memory) = memarg.target else {
            return Err(CompileError::Unsupported("accesses to GC arrays".into()));
        };
        Ok(memory)
    }

    /// Whether `memory` is indexed with 64-bit addresses (the memory64 proposal).
    pub(super) fn is_memory64(&self, memory: u32) -> bool {
        self.env.module.memories[memory as usize].memory64
    }

    /// An address of `memory`'s index type as an `i64`: a 32-bit one zero-extended.
    pub(super) fn index_to_i64(&mut self, memory: u32, index: Value) -> Value {
        if self.is_memory64(memory) {
            index
        } else {
            self.reuse(Computed::Uextend(index))
        }
    }

    /// Pops an address or length of `memory`'s index type, as an `i64`.
    fn pop_memory_address(&mut self, memory: u32) -> Value {
        let value = self.pop();
        self.index_to_i64(memory, value)
    }

    fn load(
        &mut self,
        memarg: &MemArg,
        ty: Type,
        size: u64,
        extend: Extend,
    ) -> Result<(), CompileError> {
        let index = self.pop();
        let Some(HeapAccess {
            addr,
            offset,
            flags,
        }) = self.heap_access(memarg, index, size, Check::AsAssumed)?
        else {
            return Ok(());
        };
        let ins = self.builder.ins();
        let v = match (extend, size) {
            (Extend::None, _) => ins.load(ty, flags, addr, offset),
            (Extend::Signed, 1) => ins.sload8(ty, flags, addr, offset),
            (Extend::Unsigned, 1) => ins.uload8(ty, flags, addr, offset),
            (Extend::Signed, 2) => ins.sload16(ty, flags, addr, offset),
            (Extend::Unsigned, 2) => ins.uload16(ty, flags, addr, offset),
            (Extend::Signed, _) => ins.sload32(flags, addr, offset),
            (Extend::Unsigned, _) => ins.uload32(flags, addr, offset),
        };
        // Only an access inside a loop can have a loop counter in its index.
        if let (true, ValueDef::Result(inst, _)) =
            (self.in_loop(), self.builder.func.dfg.value_def(v))
        {
            self.heap_accesses.push(Access { inst, store: false });
        }
        self.push(v);
        Ok(())
    }

    fn store(&mut self, memarg: &MemArg, size: u64, narrow: bool) -> Result<(), CompileError> {
        let value = self.pop();
        let index = self.pop();
        let Some(HeapAccess {
            addr,
            offset,
            flags,
        }) = self.heap_access(memarg, index, size, Check::Store)?
        else {
            return Ok(());
        };
        let ins = self.builder.ins();
        let inst = match (narrow, size) {
            (false, _) => ins.store(flags, value, addr, offset),
            (true, 1) => ins.istore8(flags, value, addr, offset),
            (true, 2) => ins.istore16(flags, value, addr, offset),
            (true, _) => ins.istore32(flags, value, addr, offset),
        };
        if self.in_loop() {
            self.heap_accesses.push(Access { inst, store: true });
        }
        Ok(())
    }

    /// Translates a memory operator; `false` if `op` is not one.
    pub(super) fn translate_heap(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use types::{F32, F64, I32, I64};
        match op {
            Operator::I32Load { memarg } => self.load(memarg, I32, 4, Extend::None)?,
            Operator::I64Load { memarg } => self.load(memarg, I64, 8, Extend::None)?,
            Operator::F32Load { memarg } => self.load(memarg, F32, 4, Extend::None)?,
            Operator::F64Load { memarg } => self.load(memarg, F64, 8, Extend::None)?,
            Operator::I32Load8S { memarg } => self.load(memarg, I32, 1, Extend::Signed)?,
            Operator::I32Load8U { memarg } => self.load(memarg, I32, 1, Extend::Unsigned)?,
            Operator::I32Load16S { memarg } => self.load(memarg, I32, 2, Extend::Signed)?,
            Operator::I32Load16U { memarg } => self.load(memarg, I32, 2, Extend::Unsigned)?,
            Operator::I64Load8S { memarg } => self.load(memarg, I64, 1, Extend::Signed)?,
            Operator::I64Load8U { memarg } => self.load(memarg, I64, 1, Extend::Unsigned)?,
            Operator::I64Load16S { memarg } => self.load(memarg, I64, 2, Extend::Signed)?,
            Operator::I64Load16U { memarg } => self.load(memarg, I64, 2, Extend::Unsigned)?,
            Operator::I64Load32S { memarg } => self.load(memarg, I64, 4, Extend::Signed)?,
            Operator::I64Load32U { memarg } => self.load(memarg, I64, 4, Extend::Unsigned)?,
            Operator::I32Store { memarg } | Operator::F32Store { memarg } => {
                self.store(memarg, 4, false)?
            }
            Operator::I64Store { memarg } | Operator::F64Store { memarg } => {
                self.store(memarg, 8, false)?
            }
            Operator::I32Store8 { memarg } | Operator::I64Store8 { memarg } => {
                self.store(memarg, 1, true)?
            }
            Operator::I32Store16 { memarg } | Operator::I64Store16 { memarg } => {
                self.store(memarg, 2, true)?
            }
            Operator::I64Store32 { memarg } => self.store(memarg, 4, true)?,
            Operator::MemorySize { mem } => {
                let length = self.memory_length(*mem);
                let page_size_log2 = self.env.memories[*mem as usize].page_size_log2;
                let pages = self
                    .builder
                    .ins()
                    .ushr_imm_u(length, i64::from(page_size_log2));
                let pages = if self.is_memory64(*mem) {
                    pages
                } else {
                    self.builder.ins().ireduce(types::I32, pages)
                };
                self.push(pages);
            }
            Operator::MemoryGrow { mem } => {
                let delta = self.pop_memory_address(*mem);
                let memory64 = self.is_memory64(*mem);
                let mem = self.builder.ins().iconst(types::I32, i64::from(*mem));
                let old = self.call_builtin(Builtin::MemoryGrow, &[mem, delta])[0];
                let old = if memory64 {
                    old
                } else {
                    self.builder.ins().ireduce(types::I32, old)
                };
                self.push(old);
            }
            Operator::MemoryCopy { dst_mem, src_mem } => {
                // The length has the narrower of the two index types.
                let narrower = if self.is_memory64(*dst_mem) {
                    *src_mem
                } else {
                    *dst_mem
                };
                let len = self.pop_memory_address(narrower);
                let src = self.pop_memory_address(*src_mem);
                let dst = self.pop_memory_address(*dst_mem);
                let dst_mem = self.builder.ins().iconst(types::I32, i64::from(*dst_mem));
                let src_mem = self.builder.ins().iconst(types::I32, i64::from(*src_mem));
                self.call_checked_builtin(Builtin::MemoryCopy, &[dst_mem, dst, src_mem, src, len]);
            }
            Operator::MemoryFill { mem } => {
                let len = self.pop_memory_address(*mem);
                let byte = self.pop();
                let dst = self.pop_memory_address(*mem);
                let mem = self.builder.ins().iconst(types::I32, i64::from(*mem));
                self.call_checked_builtin(Builtin::MemoryFill, &[mem, dst, byte, len]);
            }
            Operator::MemoryInit { data_index, mem } => {
                // Offsets into the segment are `i32`s whatever the memory.
                let len = self.pop_address();
                let src = self.pop_address();
                let dst = self.pop_memory_address(*mem);
                let mem = self.builder.ins().iconst(types::I32, i64::from(*mem));
                let segment = self
                    .builder
                    .ins()
                    .iconst(types::I32, i64::from(*data_index));
                self.call_checked_builtin(Builtin::MemoryInit, &[mem, segment, dst, src, len]);
            }
            Operator::DataDrop { data_index } => {
                let segment = self
                    .builder
                    .ins()
                    .iconst(types::I32, i64::from(*data_index));
                self.call_builtin(Builtin::DataDrop, &[segment]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Pops an `i32` address or length, zero-extended to 64 bits.
    pub(super) fn pop_address(&mut self) -> Value {
        let value = self.pop();
        self.builder.ins().uextend(types::I64, value)
    }
}
