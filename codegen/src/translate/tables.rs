//! References and tables: `ref.*`, `table.*` and `elem.drop`.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Value};
use wasmparser::Operator;

use super::FuncTranslator;
use crate::builtins::Builtin;
use crate::error::CompileError;
use crate::trap::TrapKind;
use crate::vmoffsets::VMOffsets;

impl FuncTranslator<'_, '_> {
    /// The address of element `index` of table `table`, trapping if it is out of bounds.
    pub(super) fn table_element(&mut self, table: u32, index: Value) -> Value {
        let trusted = MemFlagsData::trusted();
        let definition = self.vmctx_field(types::I64, self.env.offsets.table_definition(table));
        let length = self.builder.ins().load(
            types::I64,
            trusted,
            definition,
            VMOffsets::TABLE_DEFINITION_LENGTH as i32,
        );
        let index = self.table_index_to_i64(table, index);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, length);
        self.builder
            .ins()
            .trapnz(oob, TrapKind::TableOutOfBounds.trap_code());
        let elements = self.builder.ins().load(
            types::I64,
            trusted,
            definition,
            VMOffsets::TABLE_DEFINITION_BASE as i32,
        );
        let scaled = self.builder.ins().ishl_imm_u(index, 3);
        self.builder.ins().iadd(elements, scaled)
    }

    /// Whether `table` is indexed with `i64` (a 64-bit table).
    fn is_table64(&self, table: u32) -> bool {
        self.env.module.tables[table as usize].table64
    }

    /// An index or length of `table`'s index type as an `i64`: a 32-bit one zero-extended.
    fn table_index_to_i64(&mut self, table: u32, index: Value) -> Value {
        if self.is_table64(table) {
            index
        } else {
            self.builder.ins().uextend(types::I64, index)
        }
    }

    /// Pops an index or length of `table`'s index type, as an `i64`.
    fn pop_table_index(&mut self, table: u32) -> Value {
        let value = self.pop();
        self.table_index_to_i64(table, value)
    }

    fn index_const(&mut self, index: u32) -> Value {
        self.builder.ins().iconst(types::I32, i64::from(index))
    }

    /// Translates a reference or table operator; `false` if `op` is not one.
    pub(super) fn translate_tables(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        let trusted = MemFlagsData::trusted();
        match op {
            Operator::RefNull { .. } => {
                let null = self.builder.ins().iconst(types::I64, 0);
                self.push(null);
            }
            Operator::RefIsNull => {
                let r = self.pop();
                let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 0);
                let is_null = self.builder.ins().uextend(types::I32, is_null);
                self.push(is_null);
            }
            Operator::RefAsNonNull => {
                let r = *self.stack.last().expect("validated");
                self.builder
                    .ins()
                    .trapz(r, TrapKind::NullReference.trap_code());
            }
            Operator::RefFunc { function_index } => {
                let offset = self.env.offsets.func_ref(*function_index);
                let r = self.builder.ins().iadd_imm_u(self.vmctx, i64::from(offset));
                self.push(r);
            }
            Operator::TableGet { table } => {
                let index = self.pop();
                let slot = self.table_element(*table, index);
                let r = self.builder.ins().load(types::I64, trusted, slot, 0);
                self.push(r);
            }
            Operator::TableSet { table } => {
                let value = self.pop();
                let index = self.pop();
                let slot = self.table_element(*table, index);
                self.builder.ins().store(trusted, value, slot, 0);
            }
            Operator::TableSize { table } => {
                let definition =
                    self.vmctx_field(types::I64, self.env.offsets.table_definition(*table));
                let length = self.builder.ins().load(
                    types::I64,
                    trusted,
                    definition,
                    VMOffsets::TABLE_DEFINITION_LENGTH as i32,
                );
                let length = if self.is_table64(*table) {
                    length
                } else {
                    self.builder.ins().ireduce(types::I32, length)
                };
                self.push(length);
            }
            Operator::TableGrow { table } => {
                let delta = self.pop_table_index(*table);
                let init = self.pop();
                let table64 = self.is_table64(*table);
                let table = self.index_const(*table);
                let old = self.call_builtin(Builtin::TableGrow, &[table, init, delta])[0];
                let old = if table64 {
                    old
                } else {
                    self.builder.ins().ireduce(types::I32, old)
                };
                self.push(old);
            }
            Operator::TableFill { table } => {
                let len = self.pop_table_index(*table);
                let value = self.pop();
                let dst = self.pop_table_index(*table);
                let table = self.index_const(*table);
                self.call_checked_builtin(Builtin::TableFill, &[table, dst, value, len]);
            }
            Operator::TableCopy {
                dst_table,
                src_table,
            } => {
                // The length has the narrower of the two index types.
                let narrower = if self.is_table64(*dst_table) {
                    *src_table
                } else {
                    *dst_table
                };
                let len = self.pop_table_index(narrower);
                let src = self.pop_table_index(*src_table);
                let dst = self.pop_table_index(*dst_table);
                let dst_table = self.index_const(*dst_table);
                let src_table = self.index_const(*src_table);
                self.call_checked_builtin(
                    Builtin::TableCopy,
                    &[dst_table, src_table, dst, src, len],
                );
            }
            Operator::TableInit { elem_index, table } => {
                // Offsets into the segment are `i32`s whatever the table.
                let len = self.pop_address();
                let src = self.pop_address();
                let dst = self.pop_table_index(*table);
                let table = self.index_const(*table);
                let segment = self.index_const(*elem_index);
                self.call_checked_builtin(Builtin::TableInit, &[table, segment, dst, src, len]);
            }
            Operator::ElemDrop { elem_index } => {
                let segment = self.index_const(*elem_index);
                self.call_builtin(Builtin::ElemDrop, &[segment]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
