//! GC operators: structs, arrays, `i31`, casts and `ref.eq`.
//!
//! Objects are laid out as [`crate::gc_layout`] describes. Field and element accesses are
//! inline loads and stores after a null check (and, for arrays, a bounds check against the
//! length in the header); a small struct is allocated inline from the store's bump buffer
//! when it fits there, other allocations and the bulk array operations go through builtins. A
//! type test of a non-null reference is inline: a GC object is told from an `i31` by its low
//! bit and from an internalised host value by the store's GC heap bounds; its kind and type
//! id are in its header, and equal type ids (or an `i31`'s bit) answer. Only a test against
//! a type that is not final, whose ids differ, asks the `ref_test` builtin, which walks the
//! engine's supertype chains.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, BlockArg, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, Value,
};
use wasmparser::Operator;

use super::FuncTranslator;
use crate::abi::value_type;
use crate::builtins::Builtin;
use crate::error::CompileError;
use crate::gc_layout::{
    StructLayout, GC_ARRAY_LENGTH, GC_KIND, GC_KIND_ARRAY, GC_KIND_STRUCT, GC_PAYLOAD, GC_TYPE_ID,
};
use crate::module::{HeapType, RefType, StorageType, TypeKind};
use crate::trap::TrapKind;
use crate::vmoffsets::{VMOffsets, VALRAW_SIZE};

/// Structs up to this size are allocated inline (see `FuncTranslator::alloc_struct`).
const INLINE_STRUCT_LIMIT: u32 = 512;

/// How a packed field is widened to an `i32` when read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extend {
    /// `get_s`.
    Signed,
    /// `get_u`, and `get` of an unpacked field.
    Unsigned,
}

impl FuncTranslator<'_, '_> {
    /// Traps with "null reference" if `r` is null.
    fn null_check(&mut self, r: Value) {
        self.builder
            .ins()
            .trapz(r, TrapKind::NullReference.trap_code());
    }

    /// Reads a field of `storage` at `addr + offset`.
    fn load_field(
        &mut self,
        storage: StorageType,
        addr: Value,
        offset: i32,
        extend: Extend,
    ) -> Value {
        let flags = MemFlagsData::trusted();
        let ins = self.builder.ins();
        match (storage, extend) {
            (StorageType::I8, Extend::Signed) => ins.sload8(types::I32, flags, addr, offset),
            (StorageType::I8, Extend::Unsigned) => ins.uload8(types::I32, flags, addr, offset),
            (StorageType::I16, Extend::Signed) => ins.sload16(types::I32, flags, addr, offset),
            (StorageType::I16, Extend::Unsigned) => ins.uload16(types::I32, flags, addr, offset),
            (StorageType::Val(t), _) => ins.load(value_type(t), flags, addr, offset),
        }
    }

    /// Writes `value` to a field of `storage` at `addr + offset`.
    fn store_field(&mut self, storage: StorageType, value: Value, addr: Value, offset: i32) {
        let flags = MemFlagsData::trusted();
        let ins = self.builder.ins();
        match storage {
            StorageType::I8 => ins.istore8(flags, value, addr, offset),
            StorageType::I16 => ins.istore16(flags, value, addr, offset),
            StorageType::Val(_) => ins.store(flags, value, addr, offset),
        };
    }

    /// Calls an allocating builtin and traps with "GC heap exhausted" on a null result.
    fn call_alloc(&mut self, builtin: Builtin, args: &[Value]) -> Value {
        let object = self.call_builtin(builtin, args)[0];
        self.builder
            .ins()
            .trapz(object, TrapKind::GcHeapExhausted.trap_code());
        object
    }

    /// A new struct of module type `index` and `size` bytes with its header written, its
    /// payload zeroed if `zeroed` (else left for the caller to write whole). A small struct
    /// is bumped inline from the store's allocation buffer when it fits there; otherwise,
    /// and for a large one, the builtin allocates it (collecting if need be).
    fn alloc_struct(&mut self, index: u32, size: u32, zeroed: bool) -> Value {
        if size > INLINE_STRUCT_LIMIT {
            let index = self.const_i32(index);
            let size = self.const_i32(size);
            return self.call_alloc(Builtin::GcAllocStruct, &[index, size]);
        }
        let trusted = MemFlagsData::trusted();
        let ctx = self.vmctx_readonly(types::I64, VMOffsets::STORE_CONTEXT);
        let next_offset = VMOffsets::STORE_CONTEXT_GC_ALLOC_NEXT as i32;
        let next = self.builder.ins().load(types::I64, trusted, ctx, next_offset);
        let end = self.builder.ins().load(
            types::I64,
            trusted,
            ctx,
            VMOffsets::STORE_CONTEXT_GC_ALLOC_END as i32,
        );
        let object_end = self.builder.ins().iadd_imm_u(next, i64::from(size));
        let fits = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, object_end, end);
        let inline = self.builder.create_block();
        let call = self.builder.create_block();
        let merge = self.builder.create_block();
        let object = self.builder.append_block_param(merge, types::I64);
        self.builder.set_cold_block(call);
        self.builder.ins().brif(fits, inline, &[], call, &[]);

        self.builder.switch_to_block(inline);
        self.builder.seal_block(inline);
        self.builder
            .ins()
            .store(trusted, object_end, ctx, next_offset);
        // The header as two words: type id and kind, then array length (0) and block size.
        let type_id = self.type_id_value(index);
        let type_id = self.builder.ins().uextend(types::I64, type_id);
        let kind = self.builder.ins().bor_imm_u(type_id, i64::from(GC_KIND_STRUCT) << 32);
        self.builder.ins().store(trusted, kind, next, GC_TYPE_ID as i32);
        let size_word = self
            .builder
            .ins()
            .iconst(types::I64, i64::from(size) << 32);
        self.builder
            .ins()
            .store(trusted, size_word, next, GC_ARRAY_LENGTH as i32);
        if zeroed {
            let zero = self.builder.ins().iconst(types::I64, 0);
            for offset in (GC_PAYLOAD..size).step_by(8) {
                self.builder.ins().store(trusted, zero, next, offset as i32);
            }
        }
        self.builder.ins().jump(merge, &[BlockArg::Value(next)]);

        self.builder.switch_to_block(call);
        self.builder.seal_block(call);
        let index = self.const_i32(index);
        let size = self.const_i32(size);
        let allocated = self.call_alloc(Builtin::GcAllocStruct, &[index, size]);
        self.builder.ins().jump(merge, &[BlockArg::Value(allocated)]);

        self.builder.switch_to_block(merge);
        self.builder.seal_block(merge);
        object
    }

    /// Traps with `kind` if `status` equals `code`.
    fn trap_if_status(&mut self, status: Value, code: i64, kind: TrapKind) {
        let failed = self.builder.ins().icmp_imm_u(IntCC::Equal, status, code);
        self.builder.ins().trapnz(failed, kind.trap_code());
    }

    /// The address of a value slot holding `value`, for builtins that take a value of any
    /// type.
    fn value_slot(&mut self, value: Value) -> Value {
        let slot = self.builder.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            VALRAW_SIZE,
            4,
        ));
        let ty = self.builder.func.dfg.value_type(value);
        self.builder.ins().stack_store(ty, value, slot, 0);
        self.builder.ins().stack_addr(types::I64, slot, 0)
    }

    /// The address of element `index` of the non-null `array` with elements of `size`
    /// bytes, trapping with "out of bounds array access" unless it is in bounds.
    fn array_element(&mut self, array: Value, index: Value, size: u32) -> Value {
        let length = self.builder.ins().load(
            types::I32,
            MemFlagsData::trusted(),
            array,
            GC_ARRAY_LENGTH as i32,
        );
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, length);
        self.builder
            .ins()
            .trapnz(oob, TrapKind::ArrayOutOfBounds.trap_code());
        let index = self.builder.ins().uextend(types::I64, index);
        let offset = self.builder.ins().imul_imm_u(index, i64::from(size));
        self.builder.ins().iadd(array, offset)
    }

    /// The engine-wide id of module type `index`, as an `i32`.
    fn type_id_value(&mut self, index: u32) -> Value {
        self.vmctx_readonly(types::I32, self.env.offsets.type_id(index))
    }

    fn const_i32(&mut self, value: u32) -> Value {
        self.builder.ins().iconst(types::I32, i64::from(value))
    }

    /// A Cranelift boolean that is 1 when the non-null reference `r` is a GC object: not
    /// an `i31` and inside the store's GC heap (an internalised host value lies outside).
    fn is_object(&mut self, r: Value) -> Value {
        let trusted = MemFlagsData::trusted();
        let ctx = self.vmctx_readonly(types::I64, VMOffsets::STORE_CONTEXT);
        let start = self.builder.ins().load(
            types::I64,
            trusted,
            ctx,
            VMOffsets::STORE_CONTEXT_GC_HEAP_START as i32,
        );
        let end = self.builder.ins().load(
            types::I64,
            trusted,
            ctx,
            VMOffsets::STORE_CONTEXT_GC_HEAP_END as i32,
        );
        let ins = self.builder.ins();
        let above = ins.icmp(IntCC::UnsignedGreaterThanOrEqual, r, start);
        let below = self.builder.ins().icmp(IntCC::UnsignedLessThan, r, end);
        let inside = self.builder.ins().band(above, below);
        let tag = self.builder.ins().band_imm_u(r, 1);
        let even = self.builder.ins().icmp_imm_u(IntCC::Equal, tag, 0);
        self.builder.ins().band(inside, even)
    }

    /// Emits `test` in a block entered when `cond` holds and returns the `i32` it gives,
    /// or `otherwise` when `cond` does not hold.
    fn when(
        &mut self,
        cond: Value,
        otherwise: u32,
        test: impl FnOnce(&mut Self) -> Value,
    ) -> Value {
        let taken = self.builder.create_block();
        let merge = self.builder.create_block();
        let result = self.builder.append_block_param(merge, types::I32);
        let otherwise = self.const_i32(otherwise);
        self.builder
            .ins()
            .brif(cond, taken, &[], merge, &[BlockArg::Value(otherwise)]);
        self.builder.switch_to_block(taken);
        self.builder.seal_block(taken);
        let value = test(self);
        self.builder.ins().jump(merge, &[BlockArg::Value(value)]);
        self.builder.switch_to_block(merge);
        self.builder.seal_block(merge);
        result
    }

    /// An `i32` that is 1 when the type id `actual` (of a non-null `r`) is module type
    /// `index` or, for a type that is not final, a declared subtype of it: equal ids answer
    /// inline, the runtime's supertype chains the rest.
    fn test_type_id(&mut self, r: Value, actual: Value, index: u32) -> Value {
        let expected = self.type_id_value(index);
        let equal = self.builder.ins().icmp(IntCC::Equal, actual, expected);
        if self.env.module.types[index as usize].is_final {
            // A final type has no subtypes, in any module.
            return self.builder.ins().uextend(types::I32, equal);
        }
        let different = self.builder.ins().bxor_imm_u(equal, 1);
        self.when(different, 1, |t| {
            t.call_builtin(Builtin::RefTest, &[r, expected])[0]
        })
    }

    /// An `i32` that is 1 when the non-null reference `r` is of heap type `heap`.
    fn test_non_null(&mut self, r: Value, heap: HeapType) -> Value {
        let trusted = MemFlagsData::trusted();
        match heap {
            HeapType::Func | HeapType::Extern | HeapType::Exn | HeapType::Any => self.const_i32(1),
            HeapType::NoFunc | HeapType::NoExtern | HeapType::NoExn | HeapType::None => {
                self.const_i32(0)
            }
            HeapType::I31 => {
                let low = self.builder.ins().band_imm_u(r, 1);
                self.builder.ins().ireduce(types::I32, low)
            }
            HeapType::Eq => {
                let object = self.is_object(r);
                let tag = self.builder.ins().band_imm_u(r, 1);
                let i31 = self.builder.ins().icmp_imm_u(IntCC::NotEqual, tag, 0);
                let eq = self.builder.ins().bor(object, i31);
                self.builder.ins().uextend(types::I32, eq)
            }
            HeapType::Struct | HeapType::Array => {
                let want = if heap == HeapType::Struct {
                    GC_KIND_STRUCT
                } else {
                    GC_KIND_ARRAY
                };
                let object = self.is_object(r);
                self.when(object, 0, |t| {
                    let kind = t.builder.ins().load(types::I32, trusted, r, GC_KIND as i32);
                    let same = t
                        .builder
                        .ins()
                        .icmp_imm_u(IntCC::Equal, kind, i64::from(want));
                    t.builder.ins().uextend(types::I32, same)
                })
            }
            HeapType::Concrete(index) => {
                match self.env.module.types[index as usize].composite.kind() {
                    TypeKind::Func => {
                        let actual = self.builder.ins().load(
                            types::I32,
                            trusted,
                            r,
                            VMOffsets::FUNCREF_TYPE_ID as i32,
                        );
                        self.test_type_id(r, actual, index)
                    }
                    TypeKind::Struct | TypeKind::Array => {
                        let object = self.is_object(r);
                        self.when(object, 0, |t| {
                            let actual =
                                t.builder
                                    .ins()
                                    .load(types::I32, trusted, r, GC_TYPE_ID as i32);
                            t.test_type_id(r, actual, index)
                        })
                    }
                }
            }
        }
    }

    /// An `i32` that is 1 when `r` is a value of `ty` (`ref.test`).
    fn test_ref(&mut self, r: Value, ty: RefType) -> Value {
        let non_null = self.builder.create_block();
        let merge = self.builder.create_block();
        let result = self.builder.append_block_param(merge, types::I32);
        let if_null = self.const_i32(u32::from(ty.nullable));
        self.builder
            .ins()
            .brif(r, non_null, &[], merge, &[BlockArg::Value(if_null)]);
        self.builder.switch_to_block(non_null);
        self.builder.seal_block(non_null);
        let matched = self.test_non_null(r, ty.heap);
        self.builder.ins().jump(merge, &[BlockArg::Value(matched)]);
        self.builder.switch_to_block(merge);
        self.builder.seal_block(merge);
        result
    }

    /// `br_on_cast` (`on_match`) or `br_on_cast_fail` (not `on_match`) to `depth`.
    fn br_on_cast(&mut self, depth: u32, to: RefType, on_match: bool) {
        let r = self.pop();
        let matched = self.test_ref(r, to);
        let (block, count) = self.branch_target(depth);
        let mut values: Vec<BlockArg> = self
            .peek(count - 1)
            .iter()
            .map(|v| BlockArg::Value(*v))
            .collect();
        values.push(BlockArg::Value(r));
        let fallthrough = self.builder.create_block();
        if on_match {
            self.builder
                .ins()
                .brif(matched, block, &values, fallthrough, &[]);
        } else {
            self.builder
                .ins()
                .brif(matched, fallthrough, &[], block, &values);
        }
        self.builder.seal_block(fallthrough);
        self.builder.switch_to_block(fallthrough);
        self.push(r);
    }

    /// Translates a GC operator; `false` if `op` is not one.
    pub(super) fn translate_gc(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        let module = self.env.module;
        match op {
            Operator::StructNew { struct_type_index }
            | Operator::StructNewDefault { struct_type_index } => {
                let fields = module.struct_fields(*struct_type_index);
                let layout = StructLayout::new(fields);
                let values = match op {
                    Operator::StructNew { .. } => {
                        self.stack.split_off(self.stack.len() - fields.len())
                    }
                    _ => Vec::new(),
                };
                let zeroed = matches!(op, Operator::StructNewDefault { .. });
                let object = self.alloc_struct(*struct_type_index, layout.size, zeroed);
                for ((field, offset), value) in fields.iter().zip(&layout.offsets).zip(values) {
                    self.store_field(field.storage, value, object, *offset as i32);
                }
                self.push(object);
            }
            Operator::StructGet {
                struct_type_index,
                field_index,
            }
            | Operator::StructGetS {
                struct_type_index,
                field_index,
            }
            | Operator::StructGetU {
                struct_type_index,
                field_index,
            } => {
                let fields = module.struct_fields(*struct_type_index);
                let offset = StructLayout::new(fields).offsets[*field_index as usize];
                let extend = match op {
                    Operator::StructGetS { .. } => Extend::Signed,
                    _ => Extend::Unsigned,
                };
                let r = self.pop();
                self.null_check(r);
                let value = self.load_field(
                    fields[*field_index as usize].storage,
                    r,
                    offset as i32,
                    extend,
                );
                self.push(value);
            }
            Operator::StructSet {
                struct_type_index,
                field_index,
            } => {
                let fields = module.struct_fields(*struct_type_index);
                let offset = StructLayout::new(fields).offsets[*field_index as usize];
                let (r, value) = self.pop2();
                self.null_check(r);
                self.store_field(
                    fields[*field_index as usize].storage,
                    value,
                    r,
                    offset as i32,
                );
            }
            Operator::ArrayNew { array_type_index }
            | Operator::ArrayNewDefault { array_type_index } => {
                let size = module.array_element(*array_type_index).storage.size();
                let len = self.pop();
                let value = match op {
                    Operator::ArrayNew { .. } => Some(self.pop()),
                    _ => None,
                };
                let index = self.const_i32(*array_type_index);
                let elem_size = self.const_i32(size);
                let array = self.call_alloc(Builtin::GcAllocArray, &[index, len, elem_size]);
                if let Some(value) = value {
                    let slot = self.value_slot(value);
                    let zero = self.const_i32(0);
                    self.call_checked_builtin(
                        Builtin::ArrayFill,
                        &[array, zero, slot, len, elem_size],
                    );
                }
                self.push(array);
            }
            Operator::ArrayNewFixed {
                array_type_index,
                array_size,
            } => {
                let storage = module.array_element(*array_type_index).storage;
                let size = storage.size();
                let values = self
                    .stack
                    .split_off(self.stack.len() - *array_size as usize);
                let index = self.const_i32(*array_type_index);
                let len = self.const_i32(*array_size);
                let elem_size = self.const_i32(size);
                let array = self.call_alloc(Builtin::GcAllocArray, &[index, len, elem_size]);
                for (i, value) in values.into_iter().enumerate() {
                    let offset = GC_PAYLOAD + i as u32 * size;
                    self.store_field(storage, value, array, offset as i32);
                }
                self.push(array);
            }
            Operator::ArrayNewData {
                array_type_index,
                array_data_index,
            } => {
                let size = module.array_element(*array_type_index).storage.size();
                let (offset, len) = self.pop2();
                let index = self.const_i32(*array_type_index);
                let segment = self.const_i32(*array_data_index);
                let elem_size = self.const_i32(size);
                let array = self.call_builtin(
                    Builtin::ArrayNewData,
                    &[index, segment, offset, len, elem_size],
                )[0];
                self.trap_if_status(array, 1, TrapKind::MemoryOutOfBounds);
                self.builder
                    .ins()
                    .trapz(array, TrapKind::GcHeapExhausted.trap_code());
                self.push(array);
            }
            Operator::ArrayNewElem {
                array_type_index,
                array_elem_index,
            } => {
                let (offset, len) = self.pop2();
                let index = self.const_i32(*array_type_index);
                let segment = self.const_i32(*array_elem_index);
                let array =
                    self.call_builtin(Builtin::ArrayNewElem, &[index, segment, offset, len])[0];
                self.trap_if_status(array, 1, TrapKind::TableOutOfBounds);
                self.builder
                    .ins()
                    .trapz(array, TrapKind::GcHeapExhausted.trap_code());
                self.push(array);
            }
            Operator::ArrayGet { array_type_index }
            | Operator::ArrayGetS { array_type_index }
            | Operator::ArrayGetU { array_type_index } => {
                let storage = module.array_element(*array_type_index).storage;
                let extend = match op {
                    Operator::ArrayGetS { .. } => Extend::Signed,
                    _ => Extend::Unsigned,
                };
                let (r, index) = self.pop2();
                self.null_check(r);
                let addr = self.array_element(r, index, storage.size());
                let value = self.load_field(storage, addr, GC_PAYLOAD as i32, extend);
                self.push(value);
            }
            Operator::ArraySet { array_type_index } => {
                let storage = module.array_element(*array_type_index).storage;
                let value = self.pop();
                let (r, index) = self.pop2();
                self.null_check(r);
                let addr = self.array_element(r, index, storage.size());
                self.store_field(storage, value, addr, GC_PAYLOAD as i32);
            }
            Operator::ArrayLen => {
                let r = self.pop();
                self.null_check(r);
                let len = self.builder.ins().load(
                    types::I32,
                    MemFlagsData::trusted(),
                    r,
                    GC_ARRAY_LENGTH as i32,
                );
                self.push(len);
            }
            Operator::ArrayFill { array_type_index } => {
                let size = module.array_element(*array_type_index).storage.size();
                let len = self.pop();
                let value = self.pop();
                let (r, index) = self.pop2();
                self.null_check(r);
                let slot = self.value_slot(value);
                let elem_size = self.const_i32(size);
                self.call_checked_builtin(Builtin::ArrayFill, &[r, index, slot, len, elem_size]);
            }
            Operator::ArrayCopy {
                array_type_index_dst,
                ..
            } => {
                let size = module.array_element(*array_type_index_dst).storage.size();
                let len = self.pop();
                let (src, src_index) = self.pop2();
                let (dst, dst_index) = self.pop2();
                self.null_check(dst);
                self.null_check(src);
                let elem_size = self.const_i32(size);
                self.call_checked_builtin(
                    Builtin::ArrayCopy,
                    &[dst, dst_index, src, src_index, len, elem_size],
                );
            }
            Operator::ArrayInitData {
                array_type_index,
                array_data_index,
            } => {
                let size = module.array_element(*array_type_index).storage.size();
                let len = self.pop();
                let (index, src) = self.pop2();
                let r = self.pop();
                self.null_check(r);
                let segment = self.const_i32(*array_data_index);
                let elem_size = self.const_i32(size);
                let status = self.call_builtin(
                    Builtin::ArrayInitData,
                    &[r, index, segment, src, len, elem_size],
                )[0];
                self.trap_if_status(status, 1, TrapKind::ArrayOutOfBounds);
                self.trap_if_status(status, 2, TrapKind::MemoryOutOfBounds);
            }
            Operator::ArrayInitElem {
                array_elem_index, ..
            } => {
                let len = self.pop();
                let (index, src) = self.pop2();
                let r = self.pop();
                self.null_check(r);
                let segment = self.const_i32(*array_elem_index);
                let status =
                    self.call_builtin(Builtin::ArrayInitElem, &[r, index, segment, src, len])[0];
                self.trap_if_status(status, 1, TrapKind::ArrayOutOfBounds);
                self.trap_if_status(status, 2, TrapKind::TableOutOfBounds);
            }
            Operator::RefI31 => {
                let x = self.pop();
                let shifted = self.builder.ins().ishl_imm_u(x, 1);
                let tagged = self.builder.ins().bor_imm_u(shifted, 1);
                let r = self.builder.ins().uextend(types::I64, tagged);
                self.push(r);
            }
            Operator::I31GetS | Operator::I31GetU => {
                let r = self.pop();
                self.null_check(r);
                let word = self.builder.ins().ireduce(types::I32, r);
                let value = match op {
                    Operator::I31GetS => self.builder.ins().sshr_imm_u(word, 1),
                    _ => self.builder.ins().ushr_imm_u(word, 1),
                };
                self.push(value);
            }
            Operator::RefEq => {
                let (a, b) = self.pop2();
                let eq = self.builder.ins().icmp(IntCC::Equal, a, b);
                let eq = self.builder.ins().uextend(types::I32, eq);
                self.push(eq);
            }
            // The same word, seen from the other hierarchy.
            Operator::AnyConvertExtern | Operator::ExternConvertAny => {}
            Operator::RefTestNonNull { hty } | Operator::RefTestNullable { hty } => {
                let ty = RefType {
                    nullable: matches!(op, Operator::RefTestNullable { .. }),
                    heap: HeapType::from_wasm(*hty)?,
                };
                let r = self.pop();
                let matched = self.test_ref(r, ty);
                self.push(matched);
            }
            Operator::RefCastNonNull { hty } | Operator::RefCastNullable { hty } => {
                let ty = RefType {
                    nullable: matches!(op, Operator::RefCastNullable { .. }),
                    heap: HeapType::from_wasm(*hty)?,
                };
                let r = self.pop();
                let matched = self.test_ref(r, ty);
                self.builder
                    .ins()
                    .trapz(matched, TrapKind::CastFailure.trap_code());
                self.push(r);
            }
            Operator::BrOnCast {
                relative_depth,
                to_ref_type,
                ..
            } => {
                self.br_on_cast(*relative_depth, RefType::from_wasm(*to_ref_type)?, true);
            }
            Operator::BrOnCastFail {
                relative_depth,
                to_ref_type,
                ..
            } => {
                self.br_on_cast(*relative_depth, RefType::from_wasm(*to_ref_type)?, false);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
