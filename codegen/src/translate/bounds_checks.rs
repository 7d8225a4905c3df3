//! Bounds checks of linear-memory accesses: one function decides, for every access, how it
//! stays inside its memory, from what the code assumes of the memory's layout.
//!
//! Notation, for an access of `size` bytes at `index + offset` of a 32-bit memory:
//! `index < 2^32` (zero-extended), `offset < 2^32` (validated), `end = offset + size`, the
//! accessed bytes are `[index + offset, index + end)`, `length` is the memory's current
//! length in bytes and `max_length` the largest its type allows (`maximum * 64 KiB`, or
//! 4 GiB). Lengths only grow, so `length <= max_length`. The cases, in the order tried:
//!
//! 1. `end > max_length`: then `index + end >= end > max_length >= length` for every index,
//!    so the access always traps. The trap is emitted unconditionally and the rest of the
//!    block is unreachable.
//! 2. Guard pages (`reservation >= 2^32` bytes from the base belong to the memory, `guard`
//!    more are inaccessible) and `end <= guard`: the last byte is
//!    `index + end - 1 <= 2^32 - 1 + guard - 1 < reservation + guard`, so every accessed
//!    byte is in bounds or faults. No compare; a fault becomes the trap.
//! 3. Guard pages and `end > guard`: compare `index > reservation + guard - end` (a
//!    constant: the base never moves, so no length is loaded; non-negative, since case 1
//!    caught `end > max_length` and `max_length <= reservation`). When it holds the access
//!    traps; otherwise `index + end <= reservation + guard`, as in case 2.
//! 4. Explicit checks: compare `index + end > length` (no overflow: both sides are below
//!    2^34), the length loaded from the memory's definition.
//!
//! 5. Stores on a target that may tear a faulting store (aarch64), of `size >= 2` bytes,
//!    with guard pages: checked as in case 4, trapping when `index + end > length`, before
//!    anything is written. Cases 2 and 3 rely on the fault, and a store with
//!    `index + offset < length < index + end` straddles the last accessible byte: x86-64
//!    faults before writing any of it, but the Arm architecture lets a store that faults on
//!    its upper bytes commit the lower ones (and Linux runs with unaligned accesses
//!    allowed, so it is not caught as misaligned either), which the spec forbids: a store
//!    that traps writes nothing (the spec's `store` checks `ea + N/8 > |mem.data|` before
//!    writing; WebAssembly/spec#438, WebAssembly/design#1025 and #1490). A one-byte store
//!    cannot straddle (its only byte is in bounds or not), and loads have no side effect,
//!    so both keep cases 2 and 3. On x86-64 every store keeps them. When `end <= guard`
//!    the Spectre guard's select is left out: a store past a mispredicted check writes at
//!    most byte `index + end - 1 < reservation + guard`, inside the reservation or its
//!    guard as in case 2, so it cannot reach past the memory's region.
//!
//! 64-bit memories (memory64) are always checked explicitly: no reservation covers a 64-bit
//! index. `index < 2^64`, `offset < 2^64`, and case 1 uses `max_length = maximum * 64 KiB`
//! (at most 2^64 - 1; computed without overflow), so past it `end < 2^64`. Then, with
//! `min_length` the memory's initial length (`minimum` pages in bytes, a lower bound of `length`):
//!
//! 6. `end <= min_length`: compare `index > length - end` (no underflow, since
//!    `length >= min_length >= end`). The subtraction depends only on the length, which is
//!    loaded once and shared by the function's accesses, so Cranelift computes it once per
//!    length load too: one compare per access, and no overflow check on `index + offset`.
//! 7. `end > min_length`: `index + end` may wrap, so the access is out of bounds when the
//!    addition carries or its sum exceeds `length` (`uadd_overflow`, then one compare and an
//!    `or`: still one trap, no separate overflow trap).
//!
//! An access at a constant index (C's globals and statics) is decided when compiled: it
//! needs no check when it ends within the memory's initial length (`min_length`), or, where
//! it may fault (cases 2 and 3), within the reservation and its guard; any other takes the
//! cases above.
//!
//! Atomic accesses always take case 1, 4, 6 or 7: they must not fault, so that an unaligned
//! access is reported as unaligned whatever its bounds, in the reference interpreter's
//! order.
//!
//! Where a compare is emitted (cases 3, 4, 6, 7, and 5 with `end > guard`) and the Spectre guard
//! is on, the address is also computed as `select_spectre_guard(out_of_bounds, 0, address)`,
//! so a mispredicted check speculates an access at address 0, never past the memory. The
//! static offset is then added before the select instead of being folded into the access.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, Endianness, InstBuilder, MemFlagsData, Value};

use target_lexicon::Architecture;

use super::alias_regions::Region;
use super::block_values::Computed;
use super::FuncTranslator;
use crate::memory_layout::BoundsStrategy;
use crate::trap::TrapKind;
use crate::vmoffsets::VMOffsets;
use cranelift_codegen::cursor::{Cursor, FuncCursor};

/// How an access must be checked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// As the memory's bounds strategy allows (plain loads and stores).
    AsAssumed,
    /// Against the current length, always: the access must not fault.
    Explicit,
    /// A plain store: as assumed, except case 5 (a multi-byte store on a target that may
    /// commit part of a faulting store is checked explicitly).
    Store,
}

/// A checked access: the address and the static offset to put in the instruction.
pub(super) type HeapAddress = (Value, i32);

impl FuncTranslator<'_, '_> {
    /// Checks an access of `size` bytes at `index + offset` of `memory` (`index` an `i64`:
    /// the zero-extended index of a 32-bit memory, or a 64-bit memory's index) and computes
    /// its address, by the cases in the module docs. `None` when the access always traps: the trap is emitted and the code
    /// after it is unreachable.
    pub(super) fn bounds_check_and_compute_addr(
        &mut self,
        memory: u32,
        index: Value,
        offset: u64,
        size: u64,
        check: Check,
    ) -> Option<HeapAddress> {
        let ty = &self.env.module.memories[memory as usize];
        let memory64 = ty.memory64;
        // In `u128`: a 64-bit memory's offset and page count reach 2^64 bytes.
        let max_pages = ty.maximum.unwrap_or(ty.index_limit_pages());
        let max_length = ty.pages_to_bytes(max_pages).min(u128::from(u64::MAX));
        let min_length = ty.pages_to_bytes(ty.minimum);
        let end_wide = u128::from(offset) + u128::from(size);
        // Case 1.
        if end_wide > max_length {
            self.builder
                .ins()
                .trap(TrapKind::MemoryOutOfBounds.trap_code());
            self.set_unreachable();
            return None;
        }
        // Below `max_length`, so it fits.
        let end = end_wide as u64;
        let assumed = self.env.memories[memory as usize].strategy;
        // The strategy, and whether a compare it emits needs the Spectre guard's select.
        let (strategy, speculation_may_escape) = match check {
            // Case 5.
            Check::Store if size > 1 && self.stores_may_tear() => {
                let within_guard = matches!(
                    assumed,
                    BoundsStrategy::GuardPages { guard, .. } if end <= guard
                );
                (BoundsStrategy::Explicit, !within_guard)
            }
            Check::AsAssumed | Check::Store => (assumed, true),
            Check::Explicit => (BoundsStrategy::Explicit, true),
        };
        let base = self.memory_base(memory);
        let out_of_bounds = match strategy {
            // Case 2.
            BoundsStrategy::GuardPages { guard, .. } if end <= guard => None,
            // Case 3.
            BoundsStrategy::GuardPages { reservation, guard } => {
                let last_safe_index = reservation + guard - end;
                Some(self.builder.ins().icmp_imm_u(
                    IntCC::UnsignedGreaterThan,
                    index,
                    last_safe_index as i64,
                ))
            }
            // Case 4.
            BoundsStrategy::Explicit if !memory64 => {
                let length = self.memory_length(memory);
                let access_end = self.builder.ins().iadd_imm_u(index, end as i64);
                Some(
                    self.builder
                        .ins()
                        .icmp(IntCC::UnsignedGreaterThan, access_end, length),
                )
            }
            // Case 6.
            BoundsStrategy::Explicit if end_wide <= min_length => {
                let length = self.memory_length(memory);
                let last_safe_index = self
                    .builder
                    .ins()
                    .iadd_imm_s(length, (end as i64).wrapping_neg());
                Some(
                    self.builder
                        .ins()
                        .icmp(IntCC::UnsignedGreaterThan, index, last_safe_index),
                )
            }
            // Case 7.
            BoundsStrategy::Explicit => {
                let length = self.memory_length(memory);
                let end = self.builder.ins().iconst(types::I64, end as i64);
                let (access_end, overflow) = self.builder.ins().uadd_overflow(index, end);
                let beyond =
                    self.builder
                        .ins()
                        .icmp(IntCC::UnsignedGreaterThan, access_end, length);
                Some(self.builder.ins().bor(overflow, beyond))
            }
        };
        // A plain load's address, in terms the addressing mode may absorb (a 32-bit memory's
        // offset and the constant split off are both below 2^32: no overflow). Stores keep
        // the 32-bit add: see `index_bounds` for what the other form cost them.
        let (index, offset) = if memory64 || check != Check::AsAssumed {
            (index, offset)
        } else {
            let (index, more) = self.split_index(index);
            (index, offset + more)
        };
        let addr = self.reuse(Computed::Add(base, index));
        let Some(out_of_bounds) = out_of_bounds else {
            return Some(self.fold_offset(addr, offset));
        };
        self.builder
            .ins()
            .trapnz(out_of_bounds, TrapKind::MemoryOutOfBounds.trap_code());
        if !self.env.config.spectre_guard || !speculation_may_escape {
            return Some(self.fold_offset(addr, offset));
        }
        let addr = self.builder.ins().iadd_imm_u(addr, offset as i64);
        let null = self.builder.ins().iconst(types::I64, 0);
        let addr = self
            .builder
            .ins()
            .select_spectre_guard(out_of_bounds, null, addr);
        Some((addr, 0))
    }

    /// The address of an access of `size` bytes at the constant `index + offset` of
    /// `memory` (a constant index: C's globals and statics), when it needs no check at all:
    /// it ends within the memory's initial length (lengths only grow), or, where the access
    /// may fault (cases 2 and 3 of the module docs), within the reservation and its guard.
    /// The whole constant then goes into the instruction's offset, so the access is one
    /// instruction on the memory's base instead of a zero-extension, an add and a compare.
    /// `None` when a check is needed: the access takes the general path.
    pub(super) fn constant_address(
        &mut self,
        memory: u32,
        index: u64,
        offset: u64,
        size: u64,
        check: Check,
    ) -> Option<HeapAddress> {
        let ty = &self.env.module.memories[memory as usize];
        let end = u128::from(index) + u128::from(offset) + u128::from(size);
        let may_fault = match check {
            Check::AsAssumed => true,
            Check::Store => size == 1 || !self.stores_may_tear(),
            Check::Explicit => false,
        };
        let within_guard = match self.env.memories[memory as usize].strategy {
            BoundsStrategy::GuardPages { reservation, guard } => {
                may_fault && !ty.memory64 && end <= u128::from(reservation + guard)
            }
            BoundsStrategy::Explicit => false,
        };
        if !within_guard && end > ty.pages_to_bytes(ty.minimum) {
            return None;
        }
        let base = self.memory_base(memory);
        // Below `end`, which fits in 64 bits here.
        Some(self.fold_offset(base, index + offset))
    }

    /// Whether the target may commit the in-bounds bytes of a store that faults (case 5 of
    /// the module docs): aarch64 may, x86-64 never does.
    fn stores_may_tear(&self) -> bool {
        matches!(self.env.isa.triple().architecture, Architecture::Aarch64(_))
    }

    /// `addr + offset` as an address and an instruction offset: the offset goes into the
    /// instruction when it fits.
    fn fold_offset(&mut self, addr: Value, offset: u64) -> HeapAddress {
        match i32::try_from(offset) {
            Ok(imm) => (addr, imm),
            Err(_) => (self.builder.ins().iadd_imm_u(addr, offset as i64), 0),
        }
    }

    /// The base address of `memory`. It never moves (the layout check guarantees it), so it
    /// is loaded once per function, at the top of the entry block, the first time an access
    /// needs it: one IR value for all the function's accesses instead of a load per access
    /// for Cranelift to merge (sqlite's compile executes 1.5% fewer instructions).
    pub(super) fn memory_base(&mut self, memory: u32) -> Value {
        let memory = memory as usize;
        if let Some(Some(base)) = self.memory_bases.get(memory) {
            return *base;
        }
        let func = &mut *self.builder.func;
        let entry = func
            .layout
            .entry_block()
            .expect("the entry block is made first");
        let mut pos = FuncCursor::new(func).at_first_insertion_point(entry);
        let base = pos.ins().load(
            types::I64,
            MemFlagsData::trusted().with_readonly().with_can_move(),
            self.vmctx,
            self.env.offsets.memory_base(memory as u32) as i32,
        );
        if self.memory_bases.len() <= memory {
            self.memory_bases.resize(memory + 1, None);
        }
        self.memory_bases[memory] = Some(base);
        base
    }

    /// The current length of `memory` in bytes, loaded from its definition. Tagged with its
    /// own alias region, so two loads with only heap accesses between them are one.
    pub(super) fn memory_length(&mut self, memory: u32) -> Value {
        let definition =
            self.vmctx_readonly(types::I64, self.env.offsets.memory_definition(memory));
        let region = self.alias_region(Region::Definitions);
        let flags = MemFlagsData::trusted().with_alias_region(Some(region));
        self.builder.ins().load(
            types::I64,
            flags,
            definition,
            VMOffsets::MEMORY_DEFINITION_LENGTH as i32,
        )
    }

    /// The flags of an access to `memory`'s bytes: little-endian, possibly unaligned,
    /// trapping out of bounds, and in the memory's own alias region (memories never
    /// overlap, and neither overlaps the runtime's records).
    pub(super) fn heap_flags(&mut self, memory: u32) -> MemFlagsData {
        let region = self.alias_region(Region::Memory(memory));
        MemFlagsData::new()
            .with_endianness(Endianness::Little)
            .with_trap_code(Some(TrapKind::MemoryOutOfBounds.trap_code()))
            .with_alias_region(Some(region))
    }
}
