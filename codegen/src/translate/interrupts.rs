//! Interrupting runaway code: fuel metering and epoch checks.
//!
//! Both are opt-in (`CodegenConfig::consume_fuel`, `CodegenConfig::epoch_interruption`) and
//! cost nothing when off. Fuel counts operators: the count of a straight-line run is
//! subtracted from the store's fuel before each control instruction, and function entries and
//! loop headers trap once no fuel is left. Epochs: function entries and loop headers compare
//! the engine's epoch counter with the store's deadline.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types::I64, InstBuilder, MemFlagsData};
use wasmparser::Operator;

use super::FuncTranslator;
use crate::trap::TrapKind;
use crate::vmoffsets::VMOffsets;

impl FuncTranslator<'_, '_> {
    /// Counts `op` against the fuel; before a control instruction, subtracts what was counted
    /// since the last one from the store's fuel.
    pub(super) fn charge_fuel(&mut self, op: &Operator<'_>) {
        if !self.env.config.consume_fuel {
            return;
        }
        self.fuel_pending += 1;
        let control = matches!(
            op,
            Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::Else
                | Operator::End
                | Operator::Br { .. }
                | Operator::BrIf { .. }
                | Operator::BrTable { .. }
                | Operator::Return
                | Operator::Call { .. }
                | Operator::CallIndirect { .. }
                | Operator::Unreachable
        );
        if control {
            self.flush_fuel();
        }
    }

    fn flush_fuel(&mut self) {
        if self.fuel_pending == 0 {
            return;
        }
        let ctx = self.vmctx_readonly(I64, VMOffsets::STORE_CONTEXT);
        let offset = VMOffsets::STORE_CONTEXT_FUEL as i32;
        let fuel = self
            .builder
            .ins()
            .load(I64, MemFlagsData::trusted(), ctx, offset);
        let left = self.builder.ins().iadd_imm_s(fuel, -self.fuel_pending);
        self.builder
            .ins()
            .store(MemFlagsData::trusted(), left, ctx, offset);
        self.fuel_pending = 0;
    }

    /// At a function entry or loop header: traps when the fuel is spent or the epoch
    /// deadline has passed, for whichever of the two is enabled.
    pub(super) fn check_interruption(&mut self) {
        let config = self.env.config;
        if !config.consume_fuel && !config.epoch_interruption {
            return;
        }
        let ctx = self.vmctx_readonly(I64, VMOffsets::STORE_CONTEXT);
        if config.consume_fuel {
            self.flush_fuel();
            let fuel = self.builder.ins().load(
                I64,
                MemFlagsData::trusted(),
                ctx,
                VMOffsets::STORE_CONTEXT_FUEL as i32,
            );
            let spent = self
                .builder
                .ins()
                .icmp_imm_s(IntCC::SignedLessThanOrEqual, fuel, 0);
            self.builder
                .ins()
                .trapnz(spent, TrapKind::OutOfFuel.trap_code());
        }
        if config.epoch_interruption {
            let counter = self.builder.ins().load(
                I64,
                MemFlagsData::trusted().with_readonly(),
                ctx,
                VMOffsets::STORE_CONTEXT_EPOCH_PTR as i32,
            );
            // An atomic load: another thread bumps the counter, and a plain load would be
            // merged with the one at function entry, leaving loops unchecked.
            let epoch = self
                .builder
                .ins()
                .atomic_load(I64, MemFlagsData::trusted(), counter);
            let deadline = self.builder.ins().load(
                I64,
                MemFlagsData::trusted(),
                ctx,
                VMOffsets::STORE_CONTEXT_EPOCH_DEADLINE as i32,
            );
            let reached =
                self.builder
                    .ins()
                    .icmp(IntCC::UnsignedGreaterThanOrEqual, epoch, deadline);
            self.builder
                .ins()
                .trapnz(reached, TrapKind::Interrupt.trap_code());
        }
    }
}
