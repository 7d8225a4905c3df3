//! The contract between compiled code and the linear memories it accesses.
//!
//! Compiled code leaves accesses unchecked where it can prove them harmless, and the proof
//! rests on the address space around the memory's base: with guard pages, an access at
//! `base + zext(index) + offset` with a small offset is never compared with the memory's
//! length, because every such address lies in the memory's reservation or its guard, which
//! are inaccessible beyond the current length and hold nothing else. Whether that holds is a
//! property of the memory (how it was allocated), not of the code.
//!
//! So both sides write down their half. Every linear memory describes the layout it gives
//! ([`MemoryLayout`]); every compiled module records, per memory, what its code assumes
//! ([`MemoryAssumptions`], derived from the same settings the bounds-check code reads, so
//! the two cannot drift apart); and instantiation refuses a memory whose layout does not
//! satisfy the assumptions ([`MemoryAssumptions::check`]). A memory created by another
//! engine, with other settings, is thereby accepted exactly where it is safe.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::{BoundsChecks, CodegenConfig, MEMORY_RESERVATION};
use crate::module::MemoryType;

/// log2 of the WebAssembly page size, 64 KiB (the custom-page-sizes proposal adds one byte).
pub const WASM_PAGE_SIZE_LOG2: u8 = 16;

/// The address space a linear memory gives compiled code, from its base.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryLayout {
    /// Bytes from the base that belong to the memory: accessible up to its current length,
    /// inaccessible beyond it, and never mapped to anything else while the memory lives.
    pub reservation: u64,
    /// Inaccessible bytes after the reservation.
    pub guard_after: u64,
    /// Inaccessible bytes before the base.
    pub guard_before: u64,
    /// Whether growing may move the base (then code must reload it after every call).
    pub base_can_move: bool,
    /// log2 of the page size in bytes.
    pub page_size_log2: u8,
    /// Whether the memory is indexed with 64-bit addresses.
    pub memory64: bool,
}

impl MemoryLayout {
    /// Bytes from the base at which any access faults or hits the memory's own bytes.
    pub fn protected_reach(&self) -> u64 {
        self.reservation.saturating_add(self.guard_after)
    }
}

/// What compiled code assumes of one linear memory's layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemoryAssumptions {
    /// How the code keeps accesses inside the memory.
    pub strategy: BoundsStrategy,
    /// Inaccessible bytes the code assumes before the base (no access has a negative offset
    /// today, so this is 0).
    pub guard_before: u64,
    /// log2 of the page size `memory.size` and `memory.grow` count in.
    pub page_size_log2: u8,
    /// Whether the code indexes the memory with 64-bit addresses.
    pub memory64: bool,
}

/// How compiled code keeps one memory's accesses in bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BoundsStrategy {
    /// Accesses ending at most `guard` bytes past a 32-bit index are not compared at all,
    /// and larger offsets are compared with the constant `reservation + guard`: the code
    /// assumes `reservation` bytes from the base belong to the memory and `guard` more are
    /// inaccessible.
    GuardPages {
        /// Bytes from the base assumed to belong to the memory.
        reservation: u64,
        /// Inaccessible bytes assumed after the reservation.
        guard: u64,
    },
    /// Every access is compared with the memory's current length, loaded from its
    /// definition: nothing is assumed of the address space.
    Explicit,
}

impl MemoryAssumptions {
    /// What code compiled with `config` assumes of a memory of type `ty`: guard pages where
    /// they can cover every index (32-bit memories of 64 KiB pages), explicit checks
    /// otherwise. A memory of one-byte pages ends where a host page may go on, so the bytes
    /// past its length may be accessible: its accesses are always compared with the length.
    pub fn new(config: &CodegenConfig, ty: &MemoryType) -> Self {
        let guard_pages_sound = !ty.memory64 && ty.page_size_log2 == WASM_PAGE_SIZE_LOG2;
        let strategy = match config.bounds_checks {
            BoundsChecks::GuardPages if guard_pages_sound => BoundsStrategy::GuardPages {
                reservation: MEMORY_RESERVATION,
                guard: config.guard_size,
            },
            _ => BoundsStrategy::Explicit,
        };
        MemoryAssumptions {
            strategy,
            guard_before: 0,
            page_size_log2: ty.page_size_log2,
            memory64: ty.memory64,
        }
    }

    /// Bytes from the base that must fault or belong to the memory: the furthest an
    /// access not compared with the memory's length can reach.
    pub fn unchecked_reach(&self) -> u64 {
        match self.strategy {
            BoundsStrategy::GuardPages { reservation, guard } => reservation + guard,
            BoundsStrategy::Explicit => 0,
        }
    }

    /// Whether a memory laid out as `layout` gives everything this code relies on.
    pub fn check(&self, layout: &MemoryLayout) -> Result<(), LayoutMismatch> {
        let mismatch = |what| {
            Err(LayoutMismatch {
                what,
                assumed: *self,
                given: *layout,
            })
        };
        if layout.memory64 != self.memory64 {
            return mismatch(Mismatch::IndexType);
        }
        if layout.page_size_log2 != self.page_size_log2 {
            return mismatch(Mismatch::PageSize);
        }
        // The code loads the base once and keeps it across calls that may grow.
        if layout.base_can_move {
            return mismatch(Mismatch::MovingBase);
        }
        if layout.guard_before < self.guard_before {
            return mismatch(Mismatch::GuardBefore);
        }
        // Unchecked accesses reach `base + unchecked_reach - 1` at most; every byte up to
        // there must be the memory's own (in bounds, or inaccessible) or guard.
        if layout.protected_reach() < self.unchecked_reach() {
            return mismatch(Mismatch::Reach);
        }
        Ok(())
    }
}

/// Which part of a memory's layout falls short of what code assumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// 32-bit code and a 64-bit memory, or the reverse.
    IndexType,
    /// The memory counts in pages of another size.
    PageSize,
    /// The memory's base may move, the code keeps it.
    MovingBase,
    /// The guard before the base is smaller than the code assumes.
    GuardBefore,
    /// The reservation and guard after the base are smaller than unchecked accesses reach.
    Reach,
}

/// A memory that does not give what compiled code relies on, with both sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutMismatch {
    /// The part that falls short.
    pub what: Mismatch,
    /// What the code assumes.
    pub assumed: MemoryAssumptions,
    /// What the memory gives.
    pub given: MemoryLayout,
}

impl fmt::Display for LayoutMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, g) = (&self.assumed, &self.given);
        let index = |memory64| if memory64 { "64-bit" } else { "32-bit" };
        match self.what {
            Mismatch::IndexType => write!(
                f,
                "the code indexes a {} memory, the memory is {}",
                index(a.memory64),
                index(g.memory64)
            ),
            Mismatch::PageSize => write!(
                f,
                "the code counts in pages of {} bytes, the memory in pages of {} bytes",
                1u64 << a.page_size_log2,
                1u64 << g.page_size_log2
            ),
            Mismatch::MovingBase => f.write_str(
                "the code keeps the memory's base across calls, but the memory's base can move",
            ),
            Mismatch::GuardBefore => write!(
                f,
                "the code assumes a guard of {} bytes before the memory, the memory has {}",
                a.guard_before, g.guard_before
            ),
            Mismatch::Reach => {
                let BoundsStrategy::GuardPages { reservation, guard } = a.strategy else {
                    unreachable!("explicit checks reach nothing unchecked");
                };
                write!(
                    f,
                    "the code was compiled for guard pages and leaves accesses up to {} bytes \
                     past the base unchecked (a reservation of {reservation} bytes and a guard \
                     of {guard}), but the memory reserves {} bytes with a guard of {} (it was \
                     created with {})",
                    a.unchecked_reach(),
                    g.reservation,
                    g.guard_after,
                    if g.reservation < MEMORY_RESERVATION {
                        "explicit bounds checks or a smaller reservation"
                    } else {
                        "a smaller guard"
                    }
                )
            }
        }
    }
}

impl std::error::Error for LayoutMismatch {}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(min: u64, max: Option<u64>) -> MemoryType {
        MemoryType {
            minimum: min,
            maximum: max,
            shared: false,
            memory64: false,
            page_size_log2: WASM_PAGE_SIZE_LOG2,
        }
    }

    fn layout(reservation: u64, guard_after: u64) -> MemoryLayout {
        MemoryLayout {
            reservation,
            guard_after,
            guard_before: 64 << 10,
            base_can_move: false,
            page_size_log2: WASM_PAGE_SIZE_LOG2,
            memory64: false,
        }
    }

    #[test]
    fn guard_page_code_needs_the_whole_reach() {
        let code = MemoryAssumptions::new(&CodegenConfig::default(), &memory(1, Some(1)));
        assert_eq!(code.unchecked_reach(), (1 << 32) + (32 << 20));
        assert!(code.check(&layout(1 << 32, 32 << 20)).is_ok());
        assert!(code.check(&layout((1 << 32) + (32 << 20), 0)).is_ok());
        let short = code.check(&layout(1 << 32, (32 << 20) - 1)).unwrap_err();
        assert_eq!(short.what, Mismatch::Reach);
        assert!(short.to_string().contains("a smaller guard"), "{short}");
        let explicit = code.check(&layout(1 << 16, 32 << 20)).unwrap_err();
        assert!(explicit.to_string().contains("explicit bounds checks"));
    }

    #[test]
    fn explicit_code_assumes_no_reservation() {
        let config = CodegenConfig {
            bounds_checks: BoundsChecks::Explicit,
            ..CodegenConfig::default()
        };
        let code = MemoryAssumptions::new(&config, &memory(1, None));
        assert_eq!(code.unchecked_reach(), 0);
        assert!(code.check(&layout(1 << 16, 0)).is_ok());
    }

    #[test]
    fn every_other_field_is_checked() {
        let code = MemoryAssumptions::new(&CodegenConfig::default(), &memory(1, None));
        let good = layout(1 << 32, 32 << 20);
        let cases = [
            (
                MemoryLayout {
                    memory64: true,
                    ..good
                },
                Mismatch::IndexType,
            ),
            (
                MemoryLayout {
                    page_size_log2: 0,
                    ..good
                },
                Mismatch::PageSize,
            ),
            (
                MemoryLayout {
                    base_can_move: true,
                    ..good
                },
                Mismatch::MovingBase,
            ),
        ];
        for (given, what) in cases {
            assert_eq!(code.check(&given).unwrap_err().what, what);
        }
        let guard_before = MemoryAssumptions {
            guard_before: 1 << 20,
            ..code
        };
        assert_eq!(
            guard_before.check(&good).unwrap_err().what,
            Mismatch::GuardBefore
        );
    }
}
