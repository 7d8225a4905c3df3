//! Interrupting runaway code: fuel metering and epoch checks.
//!
//! Both are opt-in (`CodegenConfig::consume_fuel`, `CodegenConfig::epoch_interruption`) and
//! cost nothing when off. Fuel counts operators: it lives in a variable (a register) while a
//! function runs, loaded from the store at entry and after calls and written back before
//! calls and returns; the count of a straight-line run is subtracted before each control
//! instruction, and function entries and loop headers trap once no fuel is left. Epochs:
//! function entries and loop headers compare the engine's epoch counter with the store's
//! deadline.

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
                | Operator::BrOnNull { .. }
                | Operator::BrOnNonNull { .. }
                | Operator::Return
                | Operator::Call { .. }
                | Operator::CallIndirect { .. }
                | Operator::ReturnCall { .. }
                | Operator::ReturnCallIndirect { .. }
                | Operator::CallRef { .. }
                | Operator::ReturnCallRef { .. }
                | Operator::Unreachable
                | Operator::TryTable { .. }
                | Operator::Throw { .. }
                | Operator::ThrowRef
        );
        if control {
            self.flush_fuel();
        }
    }

    /// Loads the store's fuel into the function's fuel variable (at entry, after calls).
    pub(super) fn load_fuel(&mut self) {
        if !self.env.config.consume_fuel {
            return;
        }
        let var = *self
            .fuel_var
            .get_or_insert_with(|| self.builder.declare_var(I64));
        let ctx = self.vmctx_readonly(I64, VMOffsets::STORE_CONTEXT);
        let fuel = self.builder.ins().load(
            I64,
            MemFlagsData::trusted(),
            ctx,
            VMOffsets::STORE_CONTEXT_FUEL as i32,
        );
        self.builder.def_var(var, fuel);
    }

    /// Writes the fuel variable back to the store (before calls and returns), so callees
    /// and the host see what is left.
    pub(super) fn save_fuel(&mut self) {
        let Some(var) = self.fuel_var else {
            return;
        };
        self.flush_fuel();
        let fuel = self.builder.use_var(var);
        let ctx = self.vmctx_readonly(I64, VMOffsets::STORE_CONTEXT);
        self.builder.ins().store(
            MemFlagsData::trusted(),
            fuel,
            ctx,
            VMOffsets::STORE_CONTEXT_FUEL as i32,
        );
    }

    /// Subtracts the operators counted since the last flush from the fuel variable.
    fn flush_fuel(&mut self) {
        let Some(var) = self.fuel_var else {
            return;
        };
        if self.fuel_pending == 0 {
            return;
        }
        let fuel = self.builder.use_var(var);
        let left = self.builder.ins().iadd_imm_s(fuel, -self.fuel_pending);
        self.builder.def_var(var, left);
        self.fuel_pending = 0;
    }

    /// At a function entry or loop header: traps when the fuel is spent or the epoch
    /// deadline has passed, for whichever of the two is enabled.
    pub(super) fn check_interruption(&mut self) {
        let config = self.env.config;
        if !config.consume_fuel && !config.epoch_interruption {
            return;
        }
        if let Some(var) = self.fuel_var {
            self.flush_fuel();
            let fuel = self.builder.use_var(var);
            let spent = self
                .builder
                .ins()
                .icmp_imm_s(IntCC::SignedLessThanOrEqual, fuel, 0);
            let out = self.builder.create_block();
            let go_on = self.builder.create_block();
            self.builder.set_cold_block(out);
            self.builder.ins().brif(spent, out, &[], go_on, &[]);
            self.builder.seal_block(out);
            self.builder.seal_block(go_on);
            self.builder.switch_to_block(out);
            self.save_fuel();
            self.builder.ins().trap(TrapKind::OutOfFuel.trap_code());
            self.builder.switch_to_block(go_on);
        }
        if config.epoch_interruption {
            let ctx = self.vmctx_readonly(I64, VMOffsets::STORE_CONTEXT);
            let counter = self.builder.ins().load(
                I64,
                MemFlagsData::trusted().with_readonly().with_can_move(),
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
