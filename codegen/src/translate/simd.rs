//! Fixed-width SIMD: `v128` operators lowered to Cranelift's vector types.
//!
//! A `v128` travels on the operand stack, in locals and across calls as `i8x16`; each
//! operator reinterprets its operands as the lane type it works on and its result back to
//! `i8x16`. The reinterpretations are free: Cranelift folds them away. The relaxed SIMD
//! operators, whose results may differ by target, are in [`relaxed`].

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, Endianness, InstBuilder, MemFlagsData, Type, Value};
use wasmparser::{MemArg, Operator};

use super::bounds_checks::Check;
use super::heap::HeapAccess;
use super::FuncTranslator;
use crate::error::CompileError;

use types::{F32X4, F64X2, I16, I16X8, I32, I32X4, I64, I64X2, I8, I8X16};

mod relaxed;

/// Flags of a lane reinterpretation.
fn bitcast_flags() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

impl FuncTranslator<'_, '_> {
    /// `value` reinterpreted as `ty`.
    fn cast(&mut self, value: Value, ty: Type) -> Value {
        if self.builder.func.dfg.value_type(value) == ty {
            value
        } else {
            self.builder.ins().bitcast(ty, bitcast_flags(), value)
        }
    }

    /// An all-zero vector of `ty`, as a `vconst`: Cranelift's x64 lowering of the narrowing
    /// `*_zero` conversions only matches a literal zero vector, and without optimisation
    /// nothing would turn a splatted zero into one.
    fn vector_zero(&mut self, ty: Type) -> Value {
        let zero = self.builder.func.dfg.constants.insert(vec![0u8; 16].into());
        self.builder.ins().vconst(ty, zero)
    }

    /// Pops a `v128` as lanes of `ty`.
    fn pop_v(&mut self, ty: Type) -> Value {
        let v = self.pop();
        self.cast(v, ty)
    }

    /// Pushes a vector of any lane type as a `v128`.
    fn push_v(&mut self, value: Value) {
        let v = self.cast(value, I8X16);
        self.push(v);
    }

    fn v_unary(&mut self, ty: Type, f: impl FnOnce(&mut Self, Value) -> Value) {
        let a = self.pop_v(ty);
        let r = f(self, a);
        self.push_v(r);
    }

    fn v_binary(&mut self, ty: Type, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let b = self.pop_v(ty);
        let a = self.pop_v(ty);
        let r = f(self, a, b);
        self.push_v(r);
    }

    fn v_icmp(&mut self, ty: Type, cc: IntCC) {
        self.v_binary(ty, |t, a, b| t.builder.ins().icmp(cc, a, b));
    }

    fn v_fcmp(&mut self, ty: Type, cc: FloatCC) {
        self.v_binary(ty, |t, a, b| t.builder.ins().fcmp(cc, a, b));
    }

    /// Shifts take a scalar `i32` amount, taken modulo the lane width by Cranelift.
    fn v_shift(&mut self, ty: Type, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let amount = self.pop();
        let a = self.pop_v(ty);
        let r = f(self, a, amount);
        self.push_v(r);
    }

    /// A boolean reduction of a vector, widened to `i32`.
    fn v_test(&mut self, ty: Type, f: impl FnOnce(&mut Self, Value) -> Value) {
        let a = self.pop_v(ty);
        let b = f(self, a);
        let r = self.builder.ins().uextend(I32, b);
        self.push(r);
    }

    fn splat(&mut self, ty: Type) {
        let mut x = self.pop();
        let lane = ty.lane_type();
        if lane == I8 || lane == I16 {
            x = self.builder.ins().ireduce(lane, x);
        }
        let r = self.builder.ins().splat(ty, x);
        self.push_v(r);
    }

    fn extract(&mut self, ty: Type, lane: u8, extend: Option<bool>) {
        let v = self.pop_v(ty);
        let x = self.builder.ins().extractlane(v, lane);
        let x = match extend {
            Some(true) => self.builder.ins().sextend(I32, x),
            Some(false) => self.builder.ins().uextend(I32, x),
            None => x,
        };
        self.push(x);
    }

    fn replace(&mut self, ty: Type, lane: u8) {
        let mut x = self.pop();
        let v = self.pop_v(ty);
        let lane_ty = ty.lane_type();
        if lane_ty == I8 || lane_ty == I16 {
            x = self.builder.ins().ireduce(lane_ty, x);
        }
        let r = self.builder.ins().insertlane(v, x, lane);
        self.push_v(r);
    }

    /// Pops the index of a `size`-byte access and checks it as `check` says ([`Check::Store`]
    /// for a store); `None` when it always traps.
    fn v_access(
        &mut self,
        memarg: &MemArg,
        size: u64,
        check: Check,
    ) -> Result<Option<HeapAccess>, CompileError> {
        let index = self.pop();
        self.heap_access(memarg, index, size, check)
    }

    /// Loads a scalar of `ty` and turns it into a vector with `f`.
    fn load_scalar_then(
        &mut self,
        memarg: &MemArg,
        ty: Type,
        f: impl FnOnce(&mut Self, Value) -> Value,
    ) -> Result<(), CompileError> {
        let Some(at) = self.v_access(memarg, u64::from(ty.bytes()), Check::AsAssumed)? else {
            return Ok(());
        };
        let x = self.builder.ins().load(ty, at.flags, at.addr, at.offset);
        let r = f(self, x);
        self.push_v(r);
        Ok(())
    }

    fn load_lane(&mut self, memarg: &MemArg, ty: Type, lane: u8) -> Result<(), CompileError> {
        let v = self.pop_v(ty);
        let Some(at) =
            self.v_access(memarg, u64::from(ty.lane_type().bytes()), Check::AsAssumed)?
        else {
            return Ok(());
        };
        let x = self
            .builder
            .ins()
            .load(ty.lane_type(), at.flags, at.addr, at.offset);
        let r = self.builder.ins().insertlane(v, x, lane);
        self.push_v(r);
        Ok(())
    }

    fn store_lane(&mut self, memarg: &MemArg, ty: Type, lane: u8) -> Result<(), CompileError> {
        let v = self.pop_v(ty);
        let Some(at) = self.v_access(memarg, u64::from(ty.lane_type().bytes()), Check::Store)?
        else {
            return Ok(());
        };
        let x = self.builder.ins().extractlane(v, lane);
        self.builder.ins().store(at.flags, x, at.addr, at.offset);
        Ok(())
    }

    /// A widening load: eight bytes extended to twice as wide lanes.
    fn load_extend(&mut self, memarg: &MemArg, which: LoadExtend) -> Result<(), CompileError> {
        let Some(HeapAccess {
            addr,
            offset,
            flags,
        }) = self.v_access(memarg, 8, Check::AsAssumed)?
        else {
            return Ok(());
        };
        let ins = self.builder.ins();
        let r = match which {
            LoadExtend::S8x8 => ins.sload8x8(flags, addr, offset),
            LoadExtend::U8x8 => ins.uload8x8(flags, addr, offset),
            LoadExtend::S16x4 => ins.sload16x4(flags, addr, offset),
            LoadExtend::U16x4 => ins.uload16x4(flags, addr, offset),
            LoadExtend::S32x2 => ins.sload32x2(flags, addr, offset),
            LoadExtend::U32x2 => ins.uload32x2(flags, addr, offset),
        };
        self.push_v(r);
        Ok(())
    }

    /// `extmul`: widen the low or high halves of both operands, then multiply.
    fn ext_mul(&mut self, narrow: Type, high: bool, signed: bool) {
        self.v_binary(narrow, |t, a, b| {
            let (a, b) = (t.widen(a, high, signed), t.widen(b, high, signed));
            t.builder.ins().imul(a, b)
        });
    }

    fn widen(&mut self, v: Value, high: bool, signed: bool) -> Value {
        let ins = self.builder.ins();
        match (high, signed) {
            (false, true) => ins.swiden_low(v),
            (true, true) => ins.swiden_high(v),
            (false, false) => ins.uwiden_low(v),
            (true, false) => ins.uwiden_high(v),
        }
    }

    /// `extadd_pairwise`: widen both halves and add neighbouring lanes.
    fn ext_add_pairwise(&mut self, narrow: Type, signed: bool) {
        self.v_unary(narrow, |t, v| {
            let (low, high) = (t.widen(v, false, signed), t.widen(v, true, signed));
            t.builder.ins().iadd_pairwise(low, high)
        });
    }

    /// `pmin` (`b < a ? b : a`) and `pmax` (`a < b ? b : a`), by lane.
    fn pseudo_min_max(&mut self, ty: Type, max: bool) {
        self.v_binary(ty, |t, a, b| {
            let (x, y) = if max { (a, b) } else { (b, a) };
            let mask = t.builder.ins().fcmp(FloatCC::LessThan, x, y);
            let mask = t.cast(mask, ty);
            t.builder.ins().bitselect(mask, b, a)
        });
    }

    /// Translates a SIMD operator; `false` if `op` is not one.
    pub(super) fn translate_simd(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        match op {
            Operator::V128Load { memarg } => {
                let Some(at) = self.v_access(memarg, 16, Check::AsAssumed)? else {
                    return Ok(true);
                };
                let v = self.builder.ins().load(I8X16, at.flags, at.addr, at.offset);
                self.push(v);
            }
            Operator::V128Store { memarg } => {
                let v = self.pop_v(I8X16);
                let Some(at) = self.v_access(memarg, 16, Check::Store)? else {
                    return Ok(true);
                };
                self.builder.ins().store(at.flags, v, at.addr, at.offset);
            }
            Operator::V128Load8x8S { memarg } => self.load_extend(memarg, LoadExtend::S8x8)?,
            Operator::V128Load8x8U { memarg } => self.load_extend(memarg, LoadExtend::U8x8)?,
            Operator::V128Load16x4S { memarg } => self.load_extend(memarg, LoadExtend::S16x4)?,
            Operator::V128Load16x4U { memarg } => self.load_extend(memarg, LoadExtend::U16x4)?,
            Operator::V128Load32x2S { memarg } => self.load_extend(memarg, LoadExtend::S32x2)?,
            Operator::V128Load32x2U { memarg } => self.load_extend(memarg, LoadExtend::U32x2)?,
            Operator::V128Load8Splat { memarg } => {
                self.load_scalar_then(memarg, I8, |t, x| t.builder.ins().splat(I8X16, x))?
            }
            Operator::V128Load16Splat { memarg } => {
                self.load_scalar_then(memarg, I16, |t, x| t.builder.ins().splat(I16X8, x))?
            }
            Operator::V128Load32Splat { memarg } => {
                self.load_scalar_then(memarg, I32, |t, x| t.builder.ins().splat(I32X4, x))?
            }
            Operator::V128Load64Splat { memarg } => {
                self.load_scalar_then(memarg, I64, |t, x| t.builder.ins().splat(I64X2, x))?
            }
            Operator::V128Load32Zero { memarg } => self.load_scalar_then(memarg, I32, |t, x| {
                t.builder.ins().scalar_to_vector(I32X4, x)
            })?,
            Operator::V128Load64Zero { memarg } => self.load_scalar_then(memarg, I64, |t, x| {
                t.builder.ins().scalar_to_vector(I64X2, x)
            })?,
            Operator::V128Load8Lane { memarg, lane } => self.load_lane(memarg, I8X16, *lane)?,
            Operator::V128Load16Lane { memarg, lane } => self.load_lane(memarg, I16X8, *lane)?,
            Operator::V128Load32Lane { memarg, lane } => self.load_lane(memarg, I32X4, *lane)?,
            Operator::V128Load64Lane { memarg, lane } => self.load_lane(memarg, I64X2, *lane)?,
            Operator::V128Store8Lane { memarg, lane } => self.store_lane(memarg, I8X16, *lane)?,
            Operator::V128Store16Lane { memarg, lane } => self.store_lane(memarg, I16X8, *lane)?,
            Operator::V128Store32Lane { memarg, lane } => self.store_lane(memarg, I32X4, *lane)?,
            Operator::V128Store64Lane { memarg, lane } => self.store_lane(memarg, I64X2, *lane)?,

            Operator::V128Const { value } => {
                let bytes = value.bytes().to_vec();
                let constant = self.builder.func.dfg.constants.insert(bytes.into());
                let v = self.builder.ins().vconst(I8X16, constant);
                self.push(v);
            }
            Operator::I8x16Shuffle { lanes } => {
                let b = self.pop_v(I8X16);
                let a = self.pop_v(I8X16);
                let mask = self.builder.func.dfg.immediates.push(lanes.to_vec().into());
                let r = self.builder.ins().shuffle(a, b, mask);
                self.push(r);
            }
            Operator::I8x16Swizzle => self.v_binary(I8X16, |t, a, b| t.builder.ins().swizzle(a, b)),

            Operator::I8x16Splat => self.splat(I8X16),
            Operator::I16x8Splat => self.splat(I16X8),
            Operator::I32x4Splat => self.splat(I32X4),
            Operator::I64x2Splat => self.splat(I64X2),
            Operator::F32x4Splat => self.splat(F32X4),
            Operator::F64x2Splat => self.splat(F64X2),
            Operator::I8x16ExtractLaneS { lane } => self.extract(I8X16, *lane, Some(true)),
            Operator::I8x16ExtractLaneU { lane } => self.extract(I8X16, *lane, Some(false)),
            Operator::I16x8ExtractLaneS { lane } => self.extract(I16X8, *lane, Some(true)),
            Operator::I16x8ExtractLaneU { lane } => self.extract(I16X8, *lane, Some(false)),
            Operator::I32x4ExtractLane { lane } => self.extract(I32X4, *lane, None),
            Operator::I64x2ExtractLane { lane } => self.extract(I64X2, *lane, None),
            Operator::F32x4ExtractLane { lane } => self.extract(F32X4, *lane, None),
            Operator::F64x2ExtractLane { lane } => self.extract(F64X2, *lane, None),
            Operator::I8x16ReplaceLane { lane } => self.replace(I8X16, *lane),
            Operator::I16x8ReplaceLane { lane } => self.replace(I16X8, *lane),
            Operator::I32x4ReplaceLane { lane } => self.replace(I32X4, *lane),
            Operator::I64x2ReplaceLane { lane } => self.replace(I64X2, *lane),
            Operator::F32x4ReplaceLane { lane } => self.replace(F32X4, *lane),
            Operator::F64x2ReplaceLane { lane } => self.replace(F64X2, *lane),

            Operator::I8x16Eq => self.v_icmp(I8X16, IntCC::Equal),
            Operator::I8x16Ne => self.v_icmp(I8X16, IntCC::NotEqual),
            Operator::I8x16LtS => self.v_icmp(I8X16, IntCC::SignedLessThan),
            Operator::I8x16LtU => self.v_icmp(I8X16, IntCC::UnsignedLessThan),
            Operator::I8x16GtS => self.v_icmp(I8X16, IntCC::SignedGreaterThan),
            Operator::I8x16GtU => self.v_icmp(I8X16, IntCC::UnsignedGreaterThan),
            Operator::I8x16LeS => self.v_icmp(I8X16, IntCC::SignedLessThanOrEqual),
            Operator::I8x16LeU => self.v_icmp(I8X16, IntCC::UnsignedLessThanOrEqual),
            Operator::I8x16GeS => self.v_icmp(I8X16, IntCC::SignedGreaterThanOrEqual),
            Operator::I8x16GeU => self.v_icmp(I8X16, IntCC::UnsignedGreaterThanOrEqual),
            Operator::I16x8Eq => self.v_icmp(I16X8, IntCC::Equal),
            Operator::I16x8Ne => self.v_icmp(I16X8, IntCC::NotEqual),
            Operator::I16x8LtS => self.v_icmp(I16X8, IntCC::SignedLessThan),
            Operator::I16x8LtU => self.v_icmp(I16X8, IntCC::UnsignedLessThan),
            Operator::I16x8GtS => self.v_icmp(I16X8, IntCC::SignedGreaterThan),
            Operator::I16x8GtU => self.v_icmp(I16X8, IntCC::UnsignedGreaterThan),
            Operator::I16x8LeS => self.v_icmp(I16X8, IntCC::SignedLessThanOrEqual),
            Operator::I16x8LeU => self.v_icmp(I16X8, IntCC::UnsignedLessThanOrEqual),
            Operator::I16x8GeS => self.v_icmp(I16X8, IntCC::SignedGreaterThanOrEqual),
            Operator::I16x8GeU => self.v_icmp(I16X8, IntCC::UnsignedGreaterThanOrEqual),
            Operator::I32x4Eq => self.v_icmp(I32X4, IntCC::Equal),
            Operator::I32x4Ne => self.v_icmp(I32X4, IntCC::NotEqual),
            Operator::I32x4LtS => self.v_icmp(I32X4, IntCC::SignedLessThan),
            Operator::I32x4LtU => self.v_icmp(I32X4, IntCC::UnsignedLessThan),
            Operator::I32x4GtS => self.v_icmp(I32X4, IntCC::SignedGreaterThan),
            Operator::I32x4GtU => self.v_icmp(I32X4, IntCC::UnsignedGreaterThan),
            Operator::I32x4LeS => self.v_icmp(I32X4, IntCC::SignedLessThanOrEqual),
            Operator::I32x4LeU => self.v_icmp(I32X4, IntCC::UnsignedLessThanOrEqual),
            Operator::I32x4GeS => self.v_icmp(I32X4, IntCC::SignedGreaterThanOrEqual),
            Operator::I32x4GeU => self.v_icmp(I32X4, IntCC::UnsignedGreaterThanOrEqual),
            Operator::I64x2Eq => self.v_icmp(I64X2, IntCC::Equal),
            Operator::I64x2Ne => self.v_icmp(I64X2, IntCC::NotEqual),
            Operator::I64x2LtS => self.v_icmp(I64X2, IntCC::SignedLessThan),
            Operator::I64x2GtS => self.v_icmp(I64X2, IntCC::SignedGreaterThan),
            Operator::I64x2LeS => self.v_icmp(I64X2, IntCC::SignedLessThanOrEqual),
            Operator::I64x2GeS => self.v_icmp(I64X2, IntCC::SignedGreaterThanOrEqual),
            Operator::F32x4Eq => self.v_fcmp(F32X4, FloatCC::Equal),
            Operator::F32x4Ne => self.v_fcmp(F32X4, FloatCC::NotEqual),
            Operator::F32x4Lt => self.v_fcmp(F32X4, FloatCC::LessThan),
            Operator::F32x4Gt => self.v_fcmp(F32X4, FloatCC::GreaterThan),
            Operator::F32x4Le => self.v_fcmp(F32X4, FloatCC::LessThanOrEqual),
            Operator::F32x4Ge => self.v_fcmp(F32X4, FloatCC::GreaterThanOrEqual),
            Operator::F64x2Eq => self.v_fcmp(F64X2, FloatCC::Equal),
            Operator::F64x2Ne => self.v_fcmp(F64X2, FloatCC::NotEqual),
            Operator::F64x2Lt => self.v_fcmp(F64X2, FloatCC::LessThan),
            Operator::F64x2Gt => self.v_fcmp(F64X2, FloatCC::GreaterThan),
            Operator::F64x2Le => self.v_fcmp(F64X2, FloatCC::LessThanOrEqual),
            Operator::F64x2Ge => self.v_fcmp(F64X2, FloatCC::GreaterThanOrEqual),

            Operator::V128Not => self.v_unary(I8X16, |t, a| t.builder.ins().bnot(a)),
            Operator::V128And => self.v_binary(I8X16, |t, a, b| t.builder.ins().band(a, b)),
            Operator::V128AndNot => self.v_binary(I8X16, |t, a, b| t.builder.ins().band_not(a, b)),
            Operator::V128Or => self.v_binary(I8X16, |t, a, b| t.builder.ins().bor(a, b)),
            Operator::V128Xor => self.v_binary(I8X16, |t, a, b| t.builder.ins().bxor(a, b)),
            Operator::V128Bitselect => {
                let c = self.pop_v(I8X16);
                let b = self.pop_v(I8X16);
                let a = self.pop_v(I8X16);
                let r = self.builder.ins().bitselect(c, a, b);
                self.push(r);
            }
            Operator::V128AnyTrue => self.v_test(I8X16, |t, a| t.builder.ins().vany_true(a)),
            Operator::I8x16AllTrue => self.v_test(I8X16, |t, a| t.builder.ins().vall_true(a)),
            Operator::I16x8AllTrue => self.v_test(I16X8, |t, a| t.builder.ins().vall_true(a)),
            Operator::I32x4AllTrue => self.v_test(I32X4, |t, a| t.builder.ins().vall_true(a)),
            Operator::I64x2AllTrue => self.v_test(I64X2, |t, a| t.builder.ins().vall_true(a)),
            Operator::I8x16Bitmask => self.v_bitmask(I8X16),
            Operator::I16x8Bitmask => self.v_bitmask(I16X8),
            Operator::I32x4Bitmask => self.v_bitmask(I32X4),
            Operator::I64x2Bitmask => self.v_bitmask(I64X2),

            _ => return self.translate_simd_arith(op),
        }
        Ok(true)
    }

    fn v_bitmask(&mut self, ty: Type) {
        let a = self.pop_v(ty);
        let r = self.builder.ins().vhigh_bits(I32, a);
        self.push(r);
    }

    /// Lane arithmetic and conversions.
    fn translate_simd_arith(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        match op {
            Operator::I8x16Popcnt => self.v_unary(I8X16, |t, a| t.builder.ins().popcnt(a)),
            Operator::I8x16Abs => self.v_unary(I8X16, |t, a| t.builder.ins().iabs(a)),
            Operator::I16x8Abs => self.v_unary(I16X8, |t, a| t.builder.ins().iabs(a)),
            Operator::I32x4Abs => self.v_unary(I32X4, |t, a| t.builder.ins().iabs(a)),
            Operator::I64x2Abs => self.v_unary(I64X2, |t, a| t.builder.ins().iabs(a)),
            Operator::I8x16Neg => self.v_unary(I8X16, |t, a| t.builder.ins().ineg(a)),
            Operator::I16x8Neg => self.v_unary(I16X8, |t, a| t.builder.ins().ineg(a)),
            Operator::I32x4Neg => self.v_unary(I32X4, |t, a| t.builder.ins().ineg(a)),
            Operator::I64x2Neg => self.v_unary(I64X2, |t, a| t.builder.ins().ineg(a)),
            Operator::I8x16Shl => self.v_shift(I8X16, |t, a, n| t.builder.ins().ishl(a, n)),
            Operator::I16x8Shl => self.v_shift(I16X8, |t, a, n| t.builder.ins().ishl(a, n)),
            Operator::I32x4Shl => self.v_shift(I32X4, |t, a, n| t.builder.ins().ishl(a, n)),
            Operator::I64x2Shl => self.v_shift(I64X2, |t, a, n| t.builder.ins().ishl(a, n)),
            Operator::I8x16ShrS => self.v_shift(I8X16, |t, a, n| t.builder.ins().sshr(a, n)),
            Operator::I16x8ShrS => self.v_shift(I16X8, |t, a, n| t.builder.ins().sshr(a, n)),
            Operator::I32x4ShrS => self.v_shift(I32X4, |t, a, n| t.builder.ins().sshr(a, n)),
            Operator::I64x2ShrS => self.v_shift(I64X2, |t, a, n| t.builder.ins().sshr(a, n)),
            Operator::I8x16ShrU => self.v_shift(I8X16, |t, a, n| t.builder.ins().ushr(a, n)),
            Operator::I16x8ShrU => self.v_shift(I16X8, |t, a, n| t.builder.ins().ushr(a, n)),
            Operator::I32x4ShrU => self.v_shift(I32X4, |t, a, n| t.builder.ins().ushr(a, n)),
            Operator::I64x2ShrU => self.v_shift(I64X2, |t, a, n| t.builder.ins().ushr(a, n)),
            Operator::I8x16Add => self.v_binary(I8X16, |t, a, b| t.builder.ins().iadd(a, b)),
            Operator::I16x8Add => self.v_binary(I16X8, |t, a, b| t.builder.ins().iadd(a, b)),
            Operator::I32x4Add => self.v_binary(I32X4, |t, a, b| t.builder.ins().iadd(a, b)),
            Operator::I64x2Add => self.v_binary(I64X2, |t, a, b| t.builder.ins().iadd(a, b)),
            Operator::I8x16Sub => self.v_binary(I8X16, |t, a, b| t.builder.ins().isub(a, b)),
            Operator::I16x8Sub => self.v_binary(I16X8, |t, a, b| t.builder.ins().isub(a, b)),
            Operator::I32x4Sub => self.v_binary(I32X4, |t, a, b| t.builder.ins().isub(a, b)),
            Operator::I64x2Sub => self.v_binary(I64X2, |t, a, b| t.builder.ins().isub(a, b)),
            Operator::I16x8Mul => self.v_binary(I16X8, |t, a, b| t.builder.ins().imul(a, b)),
            Operator::I32x4Mul => self.v_binary(I32X4, |t, a, b| t.builder.ins().imul(a, b)),
            Operator::I64x2Mul => self.v_binary(I64X2, |t, a, b| t.builder.ins().imul(a, b)),
            Operator::I8x16AddSatS => {
                self.v_binary(I8X16, |t, a, b| t.builder.ins().sadd_sat(a, b))
            }
            Operator::I16x8AddSatS => {
                self.v_binary(I16X8, |t, a, b| t.builder.ins().sadd_sat(a, b))
            }
            Operator::I8x16AddSatU => {
                self.v_binary(I8X16, |t, a, b| t.builder.ins().uadd_sat(a, b))
            }
            Operator::I16x8AddSatU => {
                self.v_binary(I16X8, |t, a, b| t.builder.ins().uadd_sat(a, b))
            }
            Operator::I8x16SubSatS => {
                self.v_binary(I8X16, |t, a, b| t.builder.ins().ssub_sat(a, b))
            }
            Operator::I16x8SubSatS => {
                self.v_binary(I16X8, |t, a, b| t.builder.ins().ssub_sat(a, b))
            }
            Operator::I8x16SubSatU => {
                self.v_binary(I8X16, |t, a, b| t.builder.ins().usub_sat(a, b))
            }
            Operator::I16x8SubSatU => {
                self.v_binary(I16X8, |t, a, b| t.builder.ins().usub_sat(a, b))
            }
            Operator::I8x16MinS => self.v_binary(I8X16, |t, a, b| t.builder.ins().smin(a, b)),
            Operator::I16x8MinS => self.v_binary(I16X8, |t, a, b| t.builder.ins().smin(a, b)),
            Operator::I32x4MinS => self.v_binary(I32X4, |t, a, b| t.builder.ins().smin(a, b)),
            Operator::I8x16MinU => self.v_binary(I8X16, |t, a, b| t.builder.ins().umin(a, b)),
            Operator::I16x8MinU => self.v_binary(I16X8, |t, a, b| t.builder.ins().umin(a, b)),
            Operator::I32x4MinU => self.v_binary(I32X4, |t, a, b| t.builder.ins().umin(a, b)),
            Operator::I8x16MaxS => self.v_binary(I8X16, |t, a, b| t.builder.ins().smax(a, b)),
            Operator::I16x8MaxS => self.v_binary(I16X8, |t, a, b| t.builder.ins().smax(a, b)),
            Operator::I32x4MaxS => self.v_binary(I32X4, |t, a, b| t.builder.ins().smax(a, b)),
            Operator::I8x16MaxU => self.v_binary(I8X16, |t, a, b| t.builder.ins().umax(a, b)),
            Operator::I16x8MaxU => self.v_binary(I16X8, |t, a, b| t.builder.ins().umax(a, b)),
            Operator::I32x4MaxU => self.v_binary(I32X4, |t, a, b| t.builder.ins().umax(a, b)),
            Operator::I8x16AvgrU => self.v_binary(I8X16, |t, a, b| t.builder.ins().avg_round(a, b)),
            Operator::I16x8AvgrU => self.v_binary(I16X8, |t, a, b| t.builder.ins().avg_round(a, b)),
            Operator::I16x8Q15MulrSatS => {
                self.v_binary(I16X8, |t, a, b| t.builder.ins().sqmul_round_sat(a, b))
            }
            Operator::I32x4DotI16x8S => self.v_binary(I16X8, |t, a, b| {
                let low = {
                    let (a, b) = (t.widen(a, false, true), t.widen(b, false, true));
                    t.builder.ins().imul(a, b)
                };
                let high = {
                    let (a, b) = (t.widen(a, true, true), t.widen(b, true, true));
                    t.builder.ins().imul(a, b)
                };
                t.builder.ins().iadd_pairwise(low, high)
            }),
            Operator::I8x16NarrowI16x8S => {
                self.v_binary(I16X8, |t, a, b| t.builder.ins().snarrow(a, b))
            }
            Operator::I8x16NarrowI16x8U => {
                self.v_binary(I16X8, |t, a, b| t.builder.ins().unarrow(a, b))
            }
            Operator::I16x8NarrowI32x4S => {
                self.v_binary(I32X4, |t, a, b| t.builder.ins().snarrow(a, b))
            }
            Operator::I16x8NarrowI32x4U => {
                self.v_binary(I32X4, |t, a, b| t.builder.ins().unarrow(a, b))
            }
            Operator::I16x8ExtendLowI8x16S => self.v_unary(I8X16, |t, a| t.widen(a, false, true)),
            Operator::I16x8ExtendHighI8x16S => self.v_unary(I8X16, |t, a| t.widen(a, true, true)),
            Operator::I16x8ExtendLowI8x16U => self.v_unary(I8X16, |t, a| t.widen(a, false, false)),
            Operator::I16x8ExtendHighI8x16U => self.v_unary(I8X16, |t, a| t.widen(a, true, false)),
            Operator::I32x4ExtendLowI16x8S => self.v_unary(I16X8, |t, a| t.widen(a, false, true)),
            Operator::I32x4ExtendHighI16x8S => self.v_unary(I16X8, |t, a| t.widen(a, true, true)),
            Operator::I32x4ExtendLowI16x8U => self.v_unary(I16X8, |t, a| t.widen(a, false, false)),
            Operator::I32x4ExtendHighI16x8U => self.v_unary(I16X8, |t, a| t.widen(a, true, false)),
            Operator::I64x2ExtendLowI32x4S => self.v_unary(I32X4, |t, a| t.widen(a, false, true)),
            Operator::I64x2ExtendHighI32x4S => self.v_unary(I32X4, |t, a| t.widen(a, true, true)),
            Operator::I64x2ExtendLowI32x4U => self.v_unary(I32X4, |t, a| t.widen(a, false, false)),
            Operator::I64x2ExtendHighI32x4U => self.v_unary(I32X4, |t, a| t.widen(a, true, false)),
            Operator::I16x8ExtMulLowI8x16S => self.ext_mul(I8X16, false, true),
            Operator::I16x8ExtMulHighI8x16S => self.ext_mul(I8X16, true, true),
            Operator::I16x8ExtMulLowI8x16U => self.ext_mul(I8X16, false, false),
            Operator::I16x8ExtMulHighI8x16U => self.ext_mul(I8X16, true, false),
            Operator::I32x4ExtMulLowI16x8S => self.ext_mul(I16X8, false, true),
            Operator::I32x4ExtMulHighI16x8S => self.ext_mul(I16X8, true, true),
            Operator::I32x4ExtMulLowI16x8U => self.ext_mul(I16X8, false, false),
            Operator::I32x4ExtMulHighI16x8U => self.ext_mul(I16X8, true, false),
            Operator::I64x2ExtMulLowI32x4S => self.ext_mul(I32X4, false, true),
            Operator::I64x2ExtMulHighI32x4S => self.ext_mul(I32X4, true, true),
            Operator::I64x2ExtMulLowI32x4U => self.ext_mul(I32X4, false, false),
            Operator::I64x2ExtMulHighI32x4U => self.ext_mul(I32X4, true, false),
            Operator::I16x8ExtAddPairwiseI8x16S => self.ext_add_pairwise(I8X16, true),
            Operator::I16x8ExtAddPairwiseI8x16U => self.ext_add_pairwise(I8X16, false),
            Operator::I32x4ExtAddPairwiseI16x8S => self.ext_add_pairwise(I16X8, true),
            Operator::I32x4ExtAddPairwiseI16x8U => self.ext_add_pairwise(I16X8, false),

            _ => return self.translate_simd_float(op),
        }
        Ok(true)
    }

    /// Float lanes and conversions between lane types.
    fn translate_simd_float(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        match op {
            Operator::F32x4Abs => self.v_unary(F32X4, |t, a| t.builder.ins().fabs(a)),
            Operator::F64x2Abs => self.v_unary(F64X2, |t, a| t.builder.ins().fabs(a)),
            Operator::F32x4Neg => self.v_unary(F32X4, |t, a| t.builder.ins().fneg(a)),
            Operator::F64x2Neg => self.v_unary(F64X2, |t, a| t.builder.ins().fneg(a)),
            Operator::F32x4Sqrt => self.v_unary(F32X4, |t, a| t.builder.ins().sqrt(a)),
            Operator::F64x2Sqrt => self.v_unary(F64X2, |t, a| t.builder.ins().sqrt(a)),
            Operator::F32x4Ceil => self.v_unary(F32X4, |t, a| t.builder.ins().ceil(a)),
            Operator::F64x2Ceil => self.v_unary(F64X2, |t, a| t.builder.ins().ceil(a)),
            Operator::F32x4Floor => self.v_unary(F32X4, |t, a| t.builder.ins().floor(a)),
            Operator::F64x2Floor => self.v_unary(F64X2, |t, a| t.builder.ins().floor(a)),
            Operator::F32x4Trunc => self.v_unary(F32X4, |t, a| t.builder.ins().trunc(a)),
            Operator::F64x2Trunc => self.v_unary(F64X2, |t, a| t.builder.ins().trunc(a)),
            Operator::F32x4Nearest => self.v_unary(F32X4, |t, a| t.builder.ins().nearest(a)),
            Operator::F64x2Nearest => self.v_unary(F64X2, |t, a| t.builder.ins().nearest(a)),
            Operator::F32x4Add => self.v_binary(F32X4, |t, a, b| t.builder.ins().fadd(a, b)),
            Operator::F64x2Add => self.v_binary(F64X2, |t, a, b| t.builder.ins().fadd(a, b)),
            Operator::F32x4Sub => self.v_binary(F32X4, |t, a, b| t.builder.ins().fsub(a, b)),
            Operator::F64x2Sub => self.v_binary(F64X2, |t, a, b| t.builder.ins().fsub(a, b)),
            Operator::F32x4Mul => self.v_binary(F32X4, |t, a, b| t.builder.ins().fmul(a, b)),
            Operator::F64x2Mul => self.v_binary(F64X2, |t, a, b| t.builder.ins().fmul(a, b)),
            Operator::F32x4Div => self.v_binary(F32X4, |t, a, b| t.builder.ins().fdiv(a, b)),
            Operator::F64x2Div => self.v_binary(F64X2, |t, a, b| t.builder.ins().fdiv(a, b)),
            Operator::F32x4Min => self.v_binary(F32X4, |t, a, b| t.builder.ins().fmin(a, b)),
            Operator::F64x2Min => self.v_binary(F64X2, |t, a, b| t.builder.ins().fmin(a, b)),
            Operator::F32x4Max => self.v_binary(F32X4, |t, a, b| t.builder.ins().fmax(a, b)),
            Operator::F64x2Max => self.v_binary(F64X2, |t, a, b| t.builder.ins().fmax(a, b)),
            Operator::F32x4PMin => self.pseudo_min_max(F32X4, false),
            Operator::F64x2PMin => self.pseudo_min_max(F64X2, false),
            Operator::F32x4PMax => self.pseudo_min_max(F32X4, true),
            Operator::F64x2PMax => self.pseudo_min_max(F64X2, true),
            Operator::F32x4ConvertI32x4S => {
                self.v_unary(I32X4, |t, a| t.builder.ins().fcvt_from_sint(F32X4, a))
            }
            Operator::F32x4ConvertI32x4U => {
                self.v_unary(I32X4, |t, a| t.builder.ins().fcvt_from_uint(F32X4, a))
            }
            Operator::F64x2ConvertLowI32x4S => self.v_unary(I32X4, |t, a| {
                let wide = t.widen(a, false, true);
                t.builder.ins().fcvt_from_sint(F64X2, wide)
            }),
            Operator::F64x2ConvertLowI32x4U => self.v_unary(I32X4, |t, a| {
                let wide = t.widen(a, false, false);
                t.builder.ins().fcvt_from_uint(F64X2, wide)
            }),
            Operator::I32x4TruncSatF32x4S => {
                self.v_unary(F32X4, |t, a| t.builder.ins().fcvt_to_sint_sat(I32X4, a))
            }
            Operator::I32x4TruncSatF32x4U => {
                self.v_unary(F32X4, |t, a| t.builder.ins().fcvt_to_uint_sat(I32X4, a))
            }
            Operator::I32x4TruncSatF64x2SZero => self.v_unary(F64X2, |t, a| {
                let wide = t.builder.ins().fcvt_to_sint_sat(I64X2, a);
                let zero = t.vector_zero(I64X2);
                t.builder.ins().snarrow(wide, zero)
            }),
            Operator::I32x4TruncSatF64x2UZero => self.v_unary(F64X2, |t, a| {
                let wide = t.builder.ins().fcvt_to_uint_sat(I64X2, a);
                let zero = t.vector_zero(I64X2);
                t.builder.ins().uunarrow(wide, zero)
            }),
            Operator::F32x4DemoteF64x2Zero => {
                self.v_unary(F64X2, |t, a| t.builder.ins().fvdemote(a))
            }
            Operator::F64x2PromoteLowF32x4 => {
                self.v_unary(F32X4, |t, a| t.builder.ins().fvpromote_low(a))
            }
            _ => return Ok(self.translate_relaxed_simd(op)),
        }
        Ok(true)
    }
}

/// The six widening loads.
#[derive(Clone, Copy)]
enum LoadExtend {
    S8x8,
    U8x8,
    S16x4,
    U16x4,
    S32x2,
    U32x2,
}
