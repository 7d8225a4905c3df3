//! The threads proposal: atomic accesses, fences, wait and notify.
//!
//! Every atomic access checks its bounds explicitly, then its alignment, in the spec's
//! order (out of bounds before unaligned), so the access itself never faults.

use cranelift_codegen::ir::{
    types, AtomicRmwOp, Endianness, InstBuilder, MemFlagsData, Type, Value,
};
use wasmparser::{MemArg, Operator};

use super::bounds_checks::Check;
use super::FuncTranslator;
use crate::builtins::Builtin;
use crate::error::CompileError;
use crate::trap::TrapKind;

use types::{I16, I32, I64, I8};

impl FuncTranslator<'_, '_> {
    /// Pops the index of a `size`-byte atomic access and returns the host address and the
    /// effective wasm address, after the alignment check, for a wait the shared-memory check,
    /// and the bounds check, in the reference interpreter's order. `None` when the access
    /// always traps: the code after it is unreachable.
    fn atomic_address(
        &mut self,
        memarg: &MemArg,
        size: u64,
        wait: bool,
    ) -> Result<Option<(Value, Value)>, CompileError> {
        let memory = self.memory_of(memarg)?;
        let index = self.pop();
        let index = self.index_to_i64(memory, index);
        let ea = self.builder.ins().iadd_imm_u(index, memarg.offset as i64);
        // Alignment is checked first, as the reference interpreter does: an access that is
        // both misaligned and out of bounds is an "unaligned atomic".
        if size > 1 {
            let misaligned = self.builder.ins().band_imm_u(ea, (size - 1) as i64);
            self.builder
                .ins()
                .trapnz(misaligned, TrapKind::UnalignedAtomic.trap_code());
        }
        if wait && !self.env.module.memories[memory as usize].shared {
            self.builder
                .ins()
                .trap(TrapKind::AtomicWaitNonSharedMemory.trap_code());
            self.set_unreachable();
            return Ok(None);
        }
        // Checked explicitly, so the access itself never faults.
        let checked =
            self.bounds_check_and_compute_addr(memory, index, memarg.offset, size, Check::Explicit);
        Ok(checked.map(|(addr, offset)| {
            let addr = if offset == 0 {
                addr
            } else {
                self.builder.ins().iadd_imm_s(addr, i64::from(offset))
            };
            (addr, ea)
        }))
    }

    /// Narrows an operand to the access width.
    fn narrow(&mut self, value: Value, access: Type) -> Value {
        if self.builder.func.dfg.value_type(value) == access {
            value
        } else {
            self.builder.ins().ireduce(access, value)
        }
    }

    /// Widens an access-width result to the operator's type, zero-extending.
    fn widen_result(&mut self, value: Value, result: Type) -> Value {
        if self.builder.func.dfg.value_type(value) == result {
            value
        } else {
            self.builder.ins().uextend(result, value)
        }
    }

    fn atomic_load(
        &mut self,
        memarg: &MemArg,
        result: Type,
        access: Type,
    ) -> Result<(), CompileError> {
        let Some((addr, _)) = self.atomic_address(memarg, u64::from(access.bytes()), false)? else {
            return Ok(());
        };
        let v = self.builder.ins().atomic_load(access, atomic_flags(), addr);
        let v = self.widen_result(v, result);
        self.push(v);
        Ok(())
    }

    fn atomic_store(&mut self, memarg: &MemArg, access: Type) -> Result<(), CompileError> {
        let value = self.pop();
        let Some((addr, _)) = self.atomic_address(memarg, u64::from(access.bytes()), false)? else {
            return Ok(());
        };
        let value = self.narrow(value, access);
        self.builder.ins().atomic_store(atomic_flags(), value, addr);
        Ok(())
    }

    fn atomic_rmw(
        &mut self,
        memarg: &MemArg,
        result: Type,
        access: Type,
        op: AtomicRmwOp,
    ) -> Result<(), CompileError> {
        let value = self.pop();
        let Some((addr, _)) = self.atomic_address(memarg, u64::from(access.bytes()), false)? else {
            return Ok(());
        };
        let value = self.narrow(value, access);
        let old = self
            .builder
            .ins()
            .atomic_rmw(access, atomic_flags(), op, addr, value);
        let old = self.widen_result(old, result);
        self.push(old);
        Ok(())
    }

    fn atomic_cmpxchg(
        &mut self,
        memarg: &MemArg,
        result: Type,
        access: Type,
    ) -> Result<(), CompileError> {
        let replacement = self.pop();
        let expected = self.pop();
        let Some((addr, _)) = self.atomic_address(memarg, u64::from(access.bytes()), false)? else {
            return Ok(());
        };
        let expected = self.narrow(expected, access);
        let replacement = self.narrow(replacement, access);
        let old = self
            .builder
            .ins()
            .atomic_cas(atomic_flags(), addr, expected, replacement);
        let old = self.widen_result(old, result);
        self.push(old);
        Ok(())
    }

    fn atomic_wait(
        &mut self,
        memarg: &MemArg,
        builtin: Builtin,
        size: u64,
    ) -> Result<(), CompileError> {
        let timeout = self.pop();
        let expected = self.pop();
        let memory = self.memory_of(memarg)?;
        let Some((_, ea)) = self.atomic_address(memarg, size, true)? else {
            return Ok(());
        };
        let memory = self.builder.ins().iconst(I32, i64::from(memory));
        let status = self.call_builtin(builtin, &[memory, ea, expected, timeout]);
        self.push(status[0]);
        Ok(())
    }

    /// Translates a threads operator; `false` if `op` is not one.
    pub(super) fn translate_atomics(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use AtomicRmwOp::{Add, And, Or, Sub, Xchg, Xor};
        match op {
            Operator::AtomicFence { .. } => {
                self.builder.ins().fence();
            }
            Operator::MemoryAtomicNotify { memarg } => {
                let count = self.pop();
                let memory = self.memory_of(memarg)?;
                let Some((_, ea)) = self.atomic_address(memarg, 4, false)? else {
                    return Ok(true);
                };
                let memory = self.builder.ins().iconst(I32, i64::from(memory));
                let woken = self.call_builtin(Builtin::AtomicNotify, &[memory, ea, count]);
                self.push(woken[0]);
            }
            Operator::MemoryAtomicWait32 { memarg } => {
                self.atomic_wait(memarg, Builtin::AtomicWait32, 4)?
            }
            Operator::MemoryAtomicWait64 { memarg } => {
                self.atomic_wait(memarg, Builtin::AtomicWait64, 8)?
            }
            Operator::I32AtomicLoad { memarg } => self.atomic_load(memarg, I32, I32)?,
            Operator::I64AtomicLoad { memarg } => self.atomic_load(memarg, I64, I64)?,
            Operator::I32AtomicLoad8U { memarg } => self.atomic_load(memarg, I32, I8)?,
            Operator::I32AtomicLoad16U { memarg } => self.atomic_load(memarg, I32, I16)?,
            Operator::I64AtomicLoad8U { memarg } => self.atomic_load(memarg, I64, I8)?,
            Operator::I64AtomicLoad16U { memarg } => self.atomic_load(memarg, I64, I16)?,
            Operator::I64AtomicLoad32U { memarg } => self.atomic_load(memarg, I64, I32)?,
            Operator::I32AtomicStore { memarg } => self.atomic_store(memarg, I32)?,
            Operator::I64AtomicStore { memarg } => self.atomic_store(memarg, I64)?,
            Operator::I32AtomicStore8 { memarg } | Operator::I64AtomicStore8 { memarg } => {
                self.atomic_store(memarg, I8)?
            }
            Operator::I32AtomicStore16 { memarg } | Operator::I64AtomicStore16 { memarg } => {
                self.atomic_store(memarg, I16)?
            }
            Operator::I64AtomicStore32 { memarg } => self.atomic_store(memarg, I32)?,
            Operator::I32AtomicRmwCmpxchg { memarg } => self.atomic_cmpxchg(memarg, I32, I32)?,
            Operator::I64AtomicRmwCmpxchg { memarg } => self.atomic_cmpxchg(memarg, I64, I64)?,
            Operator::I32AtomicRmw8CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, I32, I8)?,
            Operator::I32AtomicRmw16CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, I32, I16)?,
            Operator::I64AtomicRmw8CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, I64, I8)?,
            Operator::I64AtomicRmw16CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, I64, I16)?,
            Operator::I64AtomicRmw32CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, I64, I32)?,
            _ => return self.translate_rmw(op, [Add, Sub, And, Or, Xor, Xchg]),
        }
        Ok(true)
    }

    /// The read-modify-write family, for every width.
    fn translate_rmw(
        &mut self,
        op: &Operator<'_>,
        ops: [AtomicRmwOp; 6],
    ) -> Result<bool, CompileError> {
        let [add, sub, and, or, xor, xchg] = ops;
        let (memarg, result, access, rmw) = match op {
            Operator::I32AtomicRmwAdd { memarg } => (memarg, I32, I32, add),
            Operator::I64AtomicRmwAdd { memarg } => (memarg, I64, I64, add),
            Operator::I32AtomicRmw8AddU { memarg } => (memarg, I32, I8, add),
            Operator::I32AtomicRmw16AddU { memarg } => (memarg, I32, I16, add),
            Operator::I64AtomicRmw8AddU { memarg } => (memarg, I64, I8, add),
            Operator::I64AtomicRmw16AddU { memarg } => (memarg, I64, I16, add),
            Operator::I64AtomicRmw32AddU { memarg } => (memarg, I64, I32, add),
            Operator::I32AtomicRmwSub { memarg } => (memarg, I32, I32, sub),
            Operator::I64AtomicRmwSub { memarg } => (memarg, I64, I64, sub),
            Operator::I32AtomicRmw8SubU { memarg } => (memarg, I32, I8, sub),
            Operator::I32AtomicRmw16SubU { memarg } => (memarg, I32, I16, sub),
            Operator::I64AtomicRmw8SubU { memarg } => (memarg, I64, I8, sub),
            Operator::I64AtomicRmw16SubU { memarg } => (memarg, I64, I16, sub),
            Operator::I64AtomicRmw32SubU { memarg } => (memarg, I64, I32, sub),
            Operator::I32AtomicRmwAnd { memarg } => (memarg, I32, I32, and),
            Operator::I64AtomicRmwAnd { memarg } => (memarg, I64, I64, and),
            Operator::I32AtomicRmw8AndU { memarg } => (memarg, I32, I8, and),
            Operator::I32AtomicRmw16AndU { memarg } => (memarg, I32, I16, and),
            Operator::I64AtomicRmw8AndU { memarg } => (memarg, I64, I8, and),
            Operator::I64AtomicRmw16AndU { memarg } => (memarg, I64, I16, and),
            Operator::I64AtomicRmw32AndU { memarg } => (memarg, I64, I32, and),
            Operator::I32AtomicRmwOr { memarg } => (memarg, I32, I32, or),
            Operator::I64AtomicRmwOr { memarg } => (memarg, I64, I64, or),
            Operator::I32AtomicRmw8OrU { memarg } => (memarg, I32, I8, or),
            Operator::I32AtomicRmw16OrU { memarg } => (memarg, I32, I16, or),
            Operator::I64AtomicRmw8OrU { memarg } => (memarg, I64, I8, or),
            Operator::I64AtomicRmw16OrU { memarg } => (memarg, I64, I16, or),
            Operator::I64AtomicRmw32OrU { memarg } => (memarg, I64, I32, or),
            Operator::I32AtomicRmwXor { memarg } => (memarg, I32, I32, xor),
            Operator::I64AtomicRmwXor { memarg } => (memarg, I64, I64, xor),
            Operator::I32AtomicRmw8XorU { memarg } => (memarg, I32, I8, xor),
            Operator::I32AtomicRmw16XorU { memarg } => (memarg, I32, I16, xor),
            Operator::I64AtomicRmw8XorU { memarg } => (memarg, I64, I8, xor),
            Operator::I64AtomicRmw16XorU { memarg } => (memarg, I64, I16, xor),
            Operator::I64AtomicRmw32XorU { memarg } => (memarg, I64, I32, xor),
            Operator::I32AtomicRmwXchg { memarg } => (memarg, I32, I32, xchg),
            Operator::I64AtomicRmwXchg { memarg } => (memarg, I64, I64, xchg),
            Operator::I32AtomicRmw8XchgU { memarg } => (memarg, I32, I8, xchg),
            Operator::I32AtomicRmw16XchgU { memarg } => (memarg, I32, I16, xchg),
            Operator::I64AtomicRmw8XchgU { memarg } => (memarg, I64, I8, xchg),
            Operator::I64AtomicRmw16XchgU { memarg } => (memarg, I64, I16, xchg),
            Operator::I64AtomicRmw32XchgU { memarg } => (memarg, I64, I32, xchg),
            _ => return Ok(false),
        };
        self.atomic_rmw(memarg, result, access, rmw)?;
        Ok(true)
    }
}

/// Atomic accesses are little-endian and never fault: their bounds were checked.
fn atomic_flags() -> MemFlagsData {
    MemFlagsData::new()
        .with_endianness(Endianness::Little)
        .with_notrap()
}
