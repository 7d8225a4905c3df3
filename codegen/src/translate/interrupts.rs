//! Interrupting runaway code: fuel metering and epoch checks.
//!
//! Both are opt-in (`CodegenConfig::consume_fuel`, `CodegenConfig::epoch_interruption`) and
//! cost nothing when off.
//!
//! Fuel counts operators. The store keeps the fuel left complemented (`!left`, as a `u64`),
//! and so does a variable (a register) while a function runs: loaded from the store at entry
//! and after calls, written back before calls and returns. Each straight-line run is charged
//! before the control instruction that ends it with one `uadd_overflow_trap` (x86-64 `add;
//! jb`): the sum overflows exactly when the run needs more fuel than is left, so every charge
//! is a check and no other check is needed. Every cycle of control flow (a loop's back edge,
//! a call) passes a charge of at least one operator, and so does every function before it
//! returns, so a spent store traps at the first charge.
//!
//! Epochs: function entries and loop headers compare the engine's epoch counter with the
//! store's deadline.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types::I64, InstBuilder, MemFlagsData};
use wasmparser::Operator;

use super::FuncTranslator;
use crate::trap::TrapKind;
use crate::vmoffsets::VMOffsets;

impl FuncTranslator<'_, '_> {
    /// Counts `op` against the fuel; before a control instruction (a branch, or a point where
    /// control flow merges), charges what was counted since the last one. `block` is neither:
    /// its operators join the run before it.
    pub(super) fn charge_fuel(&mut self, op: &Operator<'_>) {
        if !self.env.config.consume_fuel {
            return;
        }
        self.fuel_pending += 1;
        let control = matches!(
            op,
            Operator::Loop { .. }
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

    /// Loads the store's (complemented) fuel into the function's fuel variable (at entry,
    /// after calls).
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

    /// Charges the operators counted since the last flush: adds them to the complemented
    /// fuel, trapping with "all fuel consumed" when the sum overflows (when they need more
    /// than is left; the variable then keeps the fuel from before the run).
    fn flush_fuel(&mut self) {
        let Some(var) = self.fuel_var else {
            return;
        };
        if self.fuel_pending == 0 {
            return;
        }
        let fuel = self.builder.use_var(var);
        let cost = self.builder.ins().iconst(I64, self.fuel_pending);
        let used = self.builder.ins().uadd_overflow_trap(
            fuel,
            cost,
            TrapKind::OutOfFuel.trap_code(),
        );
        self.builder.def_var(var, used);
        self.fuel_pending = 0;
    }

    /// At a function entry or loop header: traps when the epoch deadline has passed (with
    /// epoch interruption on).
    pub(super) fn check_interruption(&mut self) {
        let config = self.env.config;
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
