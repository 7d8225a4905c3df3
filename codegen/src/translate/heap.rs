//! Linear-memory accesses and their bounds checks.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, Endianness, InstBuilder, MemFlagsData, Type, Value};
use wasmparser::{MemArg, Operator};

use super::FuncTranslator;
use crate::builtins::Builtin;
use crate::config::{BoundsChecks, MEMORY_RESERVATION};
use crate::error::CompileError;
use crate::trap::TrapKind;
use crate::vmoffsets::VMOffsets;

/// The flags of a heap access: little-endian, possibly unaligned, trapping out of bounds.
pub(super) fn heap_flags() -> MemFlagsData {
    MemFlagsData::new()
        .with_endianness(Endianness::Little)
        .with_trap_code(Some(TrapKind::MemoryOutOfBounds.trap_code()))
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

    /// The address to access `size` bytes at `index + memarg.offset`, after whatever check
    /// the bounds-check mode requires, and the static offset to put in the instruction.
    pub(super) fn heap_address(
        &mut self,
        memarg: &MemArg,
        index: Value,
        size: u64,
    ) -> Result<(Value, i32), CompileError> {
        let wasmparser::MemArgTarget::Memory(memory) = memarg.target else {
            return Err(CompileError::Unsupported("accesses to GC arrays".into()));
        };
        if self.env.module.memories[memory as usize].memory64 {
            return Err(CompileError::Unsupported("64-bit memories".into()));
        }
        let offsets = self.env.offsets;
        let base = self.vmctx_readonly(types::I64, offsets.memory_base(memory));
        let index = self.builder.ins().uextend(types::I64, index);
        let offset = memarg.offset;
        let end = offset + size;
        let guard = self.env.config.guard_size;
        match self.env.config.bounds_checks {
            BoundsChecks::GuardPages if end <= guard => {}
            BoundsChecks::GuardPages => {
                // The offset reaches past the guard: compare against the reservation, a
                // constant because the memory never moves.
                let reach = MEMORY_RESERVATION + guard;
                if end > reach {
                    let always = self.builder.ins().iconst(types::I8, 1);
                    self.builder
                        .ins()
                        .trapnz(always, TrapKind::MemoryOutOfBounds.trap_code());
                } else {
                    let oob = self.builder.ins().icmp_imm_u(
                        IntCC::UnsignedGreaterThan,
                        index,
                        (reach - end) as i64,
                    );
                    self.builder
                        .ins()
                        .trapnz(oob, TrapKind::MemoryOutOfBounds.trap_code());
                }
            }
            BoundsChecks::Explicit => {
                let definition = self.vmctx_readonly(types::I64, offsets.memory_definition(memory));
                let length = self.builder.ins().load(
                    types::I64,
                    MemFlagsData::trusted(),
                    definition,
                    VMOffsets::MEMORY_DEFINITION_LENGTH as i32,
                );
                let last = self.builder.ins().iadd_imm_u(index, end as i64);
                let oob = self
                    .builder
                    .ins()
                    .icmp(IntCC::UnsignedGreaterThan, last, length);
                self.builder
                    .ins()
                    .trapnz(oob, TrapKind::MemoryOutOfBounds.trap_code());
            }
        }
        let addr = self.builder.ins().iadd(base, index);
        Ok(match i32::try_from(offset) {
            Ok(imm) => (addr, imm),
            Err(_) => (self.builder.ins().iadd_imm_u(addr, offset as i64), 0),
        })
    }

    fn load(
        &mut self,
        memarg: &MemArg,
        ty: Type,
        size: u64,
        extend: Extend,
    ) -> Result<(), CompileError> {
        let index = self.pop();
        let (addr, offset) = self.heap_address(memarg, index, size)?;
        let flags = heap_flags();
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
        self.push(v);
        Ok(())
    }

    fn store(&mut self, memarg: &MemArg, size: u64, narrow: bool) -> Result<(), CompileError> {
        let value = self.pop();
        let index = self.pop();
        let (addr, offset) = self.heap_address(memarg, index, size)?;
        let flags = heap_flags();
        let ins = self.builder.ins();
        match (narrow, size) {
            (false, _) => ins.store(flags, value, addr, offset),
            (true, 1) => ins.istore8(flags, value, addr, offset),
            (true, 2) => ins.istore16(flags, value, addr, offset),
            (true, _) => ins.istore32(flags, value, addr, offset),
        };
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
                let definition =
                    self.vmctx_readonly(types::I64, self.env.offsets.memory_definition(*mem));
                let length = self.builder.ins().load(
                    types::I64,
                    MemFlagsData::trusted(),
                    definition,
                    VMOffsets::MEMORY_DEFINITION_LENGTH as i32,
                );
                let pages = self.builder.ins().ushr_imm_u(length, 16);
                let pages = self.builder.ins().ireduce(types::I32, pages);
                self.push(pages);
            }
            Operator::MemoryGrow { mem } => {
                let delta = self.pop();
                let delta = self.builder.ins().uextend(types::I64, delta);
                let mem = self.builder.ins().iconst(types::I32, i64::from(*mem));
                let old = self.call_builtin(Builtin::MemoryGrow, &[mem, delta]);
                let old = self.builder.ins().ireduce(types::I32, old[0]);
                self.push(old);
            }
            Operator::MemoryCopy { dst_mem, src_mem } => {
                let len = self.pop_address();
                let src = self.pop_address();
                let dst = self.pop_address();
                let dst_mem = self.builder.ins().iconst(types::I32, i64::from(*dst_mem));
                let src_mem = self.builder.ins().iconst(types::I32, i64::from(*src_mem));
                self.call_checked_builtin(Builtin::MemoryCopy, &[dst_mem, dst, src_mem, src, len]);
            }
            Operator::MemoryFill { mem } => {
                let len = self.pop_address();
                let byte = self.pop();
                let dst = self.pop_address();
                let mem = self.builder.ins().iconst(types::I32, i64::from(*mem));
                self.call_checked_builtin(Builtin::MemoryFill, &[mem, dst, byte, len]);
            }
            Operator::MemoryInit { data_index, mem } => {
                let len = self.pop_address();
                let src = self.pop_address();
                let dst = self.pop_address();
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
