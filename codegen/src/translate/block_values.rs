//! Reuse, within a block, of the address arithmetic and constants the translation repeats.
//!
//! C compiled to wasm reads a struct as `local.get p; i32.load offset=4; local.get p;
//! i32.load offset=8`: each access zero-extends `p` and adds the memory's base again, and
//! constants recur the same way. Cranelift's e-graph would merge the copies, but only after
//! the passes before it have processed them. Made once per block instead, they never exist:
//! in sqlite, 13,000 zero-extensions and 20,000 constants of 456,000 instructions (and the
//! locals' initial zeros, one per type: `translate_body`). The real programs' compiles
//! execute 0.5% (quickjs) to 0.95% (zlib) fewer instructions; the code is the same.
//!
//! A value is reused only in the block that computed it, where its definition dominates
//! every later instruction; a block switch forgets them all. The inliner's sizes count each
//! reuse as a value (see [`super::Translation::size`]): with smaller callees, it inlined more,
//! and sqlite's compile took longer than before.

use cranelift_codegen::ir::{types, Block, InstBuilder, Type, Value};

use super::FuncTranslator;

/// How many computations a block remembers, newest first: the copies sit close together
/// (an access reuses the extension of the index the previous access used).
const CAPACITY: usize = 16;

/// A pure computation that is made once per block.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Computed {
    /// A 32-bit value zero-extended to 64 bits: a 32-bit memory's index.
    Uextend(Value),
    /// The sum of two 64-bit values: a memory's base and an index.
    Add(Value, Value),
    /// An integer constant of a type.
    Const(Type, i64),
}

/// The computations made so far in the current block, with their values.
#[derive(Default)]
pub(super) struct BlockValues {
    /// The block they were made in.
    block: Option<Block>,
    /// Each computation and its value, oldest first, at most [`CAPACITY`].
    values: Vec<(Computed, Value)>,
    /// How many times a value was reused instead of computed, in the whole function.
    reused: usize,
}

impl BlockValues {
    /// No computations yet; `reused` values already reused (the zeros locals share).
    pub(super) fn new(reused: usize) -> Self {
        BlockValues {
            reused,
            ..BlockValues::default()
        }
    }

    /// How many values the function would have had without reuse, beyond the ones it has.
    pub(super) fn reused(&self) -> usize {
        self.reused
    }
}

impl FuncTranslator<'_, '_> {
    /// The value of `what`: the one computed earlier in the current block, or a new one.
    pub(super) fn reuse(&mut self, what: Computed) -> Value {
        let cache = &mut self.block_values;
        let block = self.builder.current_block();
        if cache.block != block {
            cache.block = block;
            cache.values.clear();
        }
        if let Some(&(_, value)) = cache.values.iter().rev().find(|(w, _)| *w == what) {
            cache.reused += 1;
            return value;
        }
        let ins = self.builder.ins();
        let value = match what {
            Computed::Uextend(x) => ins.uextend(types::I64, x),
            Computed::Add(a, b) => ins.iadd(a, b),
            Computed::Const(ty, c) => ins.iconst(ty, c),
        };
        if cache.values.len() == CAPACITY {
            cache.values.remove(0);
        }
        cache.values.push((what, value));
        value
    }
}

#[cfg(test)]
mod tests {
    use cranelift_codegen::ir::Opcode;

    use crate::translate::test_util::{count, translate};

    const FIELDS: &str = r#"(module (memory 1)
        (func (param $p i32) (param $q i32) (result i32)
            (i32.add (i32.load offset=4 (local.get $p)) (i32.load offset=8 (local.get $p)))
            (i32.add (i32.load offset=12 (local.get $p)))
            (i32.add (i32.const 7)) (i32.add (i32.const 7))
            (if (local.get $q) (then (drop (i32.load offset=4 (local.get $p)))))
            (i32.add (i32.load (local.get $q)))))"#;

    #[test]
    fn accesses_in_a_block_share_their_address_and_constants() {
        let (func, _) = translate(FIELDS);
        // One extension of `p` in the first block, one in the `then` block, one of `q`.
        assert_eq!(count(&func, Opcode::Uextend), 3);
        // As many base-plus-index sums, and the five `i32.add`s.
        assert_eq!(count(&func, Opcode::Iadd), 3 + 5);
        let sevens = func
            .layout
            .blocks()
            .flat_map(|block| func.layout.block_insts(block))
            .filter(|&inst| {
                func.dfg.insts[inst].opcode() == Opcode::Iconst
                    && crate::translate::index_bounds::iconst(
                        &func.dfg,
                        func.dfg.first_result(inst),
                    ) == Some(7)
            })
            .count();
        assert_eq!(sevens, 1);
    }

    #[test]
    fn the_inliner_size_counts_reused_values_again() {
        let (func, size) = translate(FIELDS);
        // Two extensions and two sums of the first block, and a constant, were reused.
        assert_eq!(size, func.dfg.num_values() + 5);
    }

    #[test]
    fn locals_of_a_type_start_from_one_zero() {
        let (func, size) = translate(
            r#"(module (func (result i64) (local i32 i32 i32 i64 i64)
                (i64.add (i64.extend_i32_u (local.get 1)) (local.get 4))))"#,
        );
        assert_eq!(count(&func, Opcode::Iconst), 2);
        assert_eq!(size, func.dfg.num_values() + 3);
    }
}
