//! Interrupting runaway code: fuel metering and epoch checks.
//!
//! Both are opt-in (`CodegenConfig::consume_fuel`, `CodegenConfig::epoch_interruption`) and
//! cost nothing when off.
//!
//! Fuel counts operators. The store keeps the fuel left complemented (`!left`, as a `u64`),
//! and so does a variable (a register) while a function runs. A function gets it as its
//! last parameter and gives back what is left as its last result (see
//! [`crate::abi::wasm_signature`]), so no load waits for a store on a call or a return.
//! Calls write it to the store too, so a function may read it there instead at entry (those
//! with loops do: see `FuncTranslator::settle_entry_fuel`); returns write it too, so that a
//! trap leaves the fuel counted up to the last call or return as the host sees it (running
//! out of fuel leaves none: the runtime sets it), except the returns of inlined callees
//! ([`drop_inlined_return_fuel_writes`]). Exception handlers read it from the store
//! (`throw` saves it for them). Each straight-line run is charged
//! before the control instruction that ends it with one `uadd_overflow_trap` (x86-64 `add;
//! jb`): the sum overflows exactly when the run needs more fuel than is left, so every charge
//! is a check and no other check is needed. Every cycle of control flow (a loop's back edge,
//! a call) passes a charge of at least one operator, and so does every function before it
//! returns, so a spent store traps at the first charge.
//!
//! Epochs: once the epoch reaches the store's deadline, the runtime sets the store's stack
//! limit above every stack, so the stack check in every function's prologue traps, and
//! makes the store's epoch poll page inaccessible, so the read of it in every loop header
//! traps (`wasmjit_runtime::epochs`).

use cranelift_codegen::ir::{
    types::{I64, I8},
    Block, Function, Inst, InstBuilder, MemFlagsData, Opcode, Value,
};
use wasmparser::Operator;

use super::alias_regions::Region;
use super::FuncTranslator;
use crate::trap::TrapKind;
use crate::vmoffsets::VMOffsets;

/// Removes the writes of the fuel to the store that inlined callees made at their returns,
/// now jumps back into `func`: `func` goes on with the fuel in its variable, and writes it
/// before its own next call or return. Only a trap before then would have seen the write:
/// after a trap, the host sees the fuel counted up to the last call or return that was not
/// inlined. `fib` with fuel, which inlines itself once, makes two writes fewer per call.
pub(crate) fn drop_inlined_return_fuel_writes(func: &mut Function) {
    let Some(region) = func.dfg.alias_regions.get(Region::ReturnFuel.id()) else {
        return;
    };
    let mut dropped = Vec::new();
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            let data = &func.dfg.insts[inst];
            if data.opcode() == Opcode::Store
                && data.alias_region(&func.dfg) == Some(region)
                && func
                    .layout
                    .next_inst(inst)
                    .is_none_or(|next| func.dfg.insts[next].opcode() != Opcode::Return)
            {
                dropped.push(inst);
            }
        }
    }
    for inst in dropped {
        func.layout.remove_inst(inst);
    }
}

impl FuncTranslator<'_, '_> {
    /// Counts `op` against the fuel; before a control instruction that needs it, charges
    /// what was counted since the last charge. `br`, `br_if` and `br_table` (to a loop
    /// header: see `branch`), `if`, `else` and `end` charge in their translation, where
    /// control flow merges, and only as needed (see `control::FuelEdge`); `block` does not
    /// end a run.
    pub(super) fn charge_fuel(&mut self, op: &Operator<'_>) {
        if !self.env.config.consume_fuel {
            return;
        }
        self.fuel_pending += 1;
        let control = matches!(
            op,
            Operator::Loop { .. }
                | Operator::BrOnNull { .. }
                | Operator::BrOnNonNull { .. }
                | Operator::BrOnCast { .. }
                | Operator::BrOnCastFail { .. }
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
        if matches!(op, Operator::Loop { .. }) {
            self.fuel_entry = None;
        }
        if control {
            self.flush_fuel();
        }
    }

    /// Starts the fuel variable with the fuel the caller passed (with fuel metering on): the
    /// last parameter of the function's `entry` block, or the store's fuel, which every
    /// caller writes before the call too. Which one is decided at the end of the function
    /// ([`Self::settle_entry_fuel`]); until then the variable starts with a load from the
    /// store.
    pub(super) fn enter_fuel(&mut self, entry: Block) {
        if !self.env.config.consume_fuel {
            return;
        }
        let param = *self
            .builder
            .block_params(entry)
            .last()
            .expect("the fuel parameter");
        self.fuel_var = Some(self.builder.declare_var(I64));
        let load = self.load_fuel().expect("fuel metering is on");
        self.fuel_entry = Some((load, param));
    }

    /// Decides where a function gets its fuel at entry. A function without a `loop` takes the
    /// parameter: it runs briefly, so waiting for the load of what its caller has just
    /// stored would cost it most (recursive `fib` ran 1.24x slower with fuel loading it,
    /// 1.14x with the parameter). A function with a loop keeps the load: it costs nothing
    /// there, and the parameter, taking a register at entry, changed the registers the
    /// interpreter kernel's dispatch loop was given and made it run 1.86x slower than
    /// without fuel (1.0x with the load), with the same instructions.
    pub(super) fn settle_entry_fuel(&mut self) {
        let Some((load, param)) = self.fuel_entry.take() else {
            return;
        };
        let func = &mut *self.builder.func;
        let fuel = func.dfg.first_result(load);
        func.dfg.detach_inst_results(load);
        func.dfg.change_to_alias(fuel, param);
        func.layout.remove_inst(load);
    }

    /// Charges the operators counted so far and returns the fuel left, to pass to a callee
    /// or return to the caller; `None` without fuel metering. Writes it to the store too, so
    /// that a trap leaves the fuel counted up to the last call or return: only a store,
    /// which nothing waits for (the callee or the caller takes the value).
    pub(super) fn pass_fuel(&mut self) -> Option<Value> {
        let var = self.fuel_var?;
        self.save_fuel();
        Some(self.builder.use_var(var))
    }

    /// [`Self::pass_fuel`] at a `return`: the write to the store goes in the alias region
    /// [`drop_inlined_return_fuel_writes`] looks for, once the function is inlined.
    pub(super) fn return_fuel(&mut self) -> Option<Value> {
        let var = self.fuel_var?;
        self.flush_fuel();
        let fuel = self.builder.use_var(var);
        let region = self.alias_region(Region::ReturnFuel);
        self.write_fuel(
            fuel,
            MemFlagsData::trusted().with_alias_region(Some(region)),
        );
        Some(fuel)
    }

    /// Takes the fuel a callee returned as what is left.
    pub(super) fn fuel_returned(&mut self, fuel: Value) {
        if let Some(var) = self.fuel_var {
            self.builder.def_var(var, fuel);
        }
    }

    /// Loads the store's (complemented) fuel into the fuel variable (at entry, and in
    /// exception handlers, which get it from `throw` through the store); returns the load.
    pub(super) fn load_fuel(&mut self) -> Option<Inst> {
        let var = self.fuel_var?;
        let ctx = self.vmctx_readonly(I64, VMOffsets::STORE_CONTEXT);
        let fuel = self.builder.ins().load(
            I64,
            MemFlagsData::trusted(),
            ctx,
            VMOffsets::STORE_CONTEXT_FUEL as i32,
        );
        self.builder.def_var(var, fuel);
        self.builder.func.dfg.value_def(fuel).inst()
    }

    /// Writes the fuel variable back to the store (before calls, returns and `throw`): the
    /// handler of a `throw`, a host function, or the host after a trap, reads it there.
    pub(super) fn save_fuel(&mut self) {
        let Some(var) = self.fuel_var else {
            return;
        };
        self.flush_fuel();
        let fuel = self.builder.use_var(var);
        self.write_fuel(fuel, MemFlagsData::trusted());
    }

    /// Stores `fuel` as the store's fuel, with `flags`.
    fn write_fuel(&mut self, fuel: Value, flags: MemFlagsData) {
        let ctx = self.vmctx_readonly(I64, VMOffsets::STORE_CONTEXT);
        self.builder
            .ins()
            .store(flags, fuel, ctx, VMOffsets::STORE_CONTEXT_FUEL as i32);
    }

    /// Charges the operators counted since the last charge: adds them to the complemented
    /// fuel, trapping with "all fuel consumed" when the sum overflows (when they need more
    /// than is left; the variable then keeps the fuel from before the run).
    pub(super) fn flush_fuel(&mut self) {
        let Some(var) = self.fuel_var else {
            return;
        };
        if self.fuel_pending == 0 {
            return;
        }
        let fuel = self.builder.use_var(var);
        let cost = self.builder.ins().iconst(I64, self.fuel_pending);
        let used =
            self.builder
                .ins()
                .uadd_overflow_trap(fuel, cost, TrapKind::OutOfFuel.trap_code());
        self.builder.def_var(var, used);
        self.fuel_pending = 0;
    }

    /// At a loop header: traps with "interrupt" when the store's epoch deadline has passed
    /// (with epoch interruption on), by reading a byte of the store's epoch poll page, which
    /// the runtime makes inaccessible then: one load per iteration, no compare, no branch.
    /// The load is atomic, so that Cranelift neither merges it with another loop's (leaving
    /// an inner loop unchecked) nor drops it for its unused result. Function entries need no
    /// check of their own: their prologue's stack check traps then too.
    pub(super) fn check_interruption(&mut self) {
        if !self.env.config.epoch_interruption {
            return;
        }
        let ctx = self.vmctx_readonly(I64, VMOffsets::STORE_CONTEXT);
        let page = self.builder.ins().load(
            I64,
            MemFlagsData::trusted().with_readonly().with_can_move(),
            ctx,
            VMOffsets::STORE_CONTEXT_EPOCH_POLL as i32,
        );
        let flags = MemFlagsData::new().with_trap_code(Some(TrapKind::Interrupt.trap_code()));
        self.builder.ins().atomic_load(I8, flags, page);
    }
}
