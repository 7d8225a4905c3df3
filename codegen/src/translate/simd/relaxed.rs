//! The relaxed SIMD operators (Wasm 3.0).
//!
//! Each relaxed operator allows a set of results for some inputs, so that every target can
//! use its fastest instruction. wasmjit picks one per target and always gives that one: the
//! same module on the same engine computes the same bits every time (unoptimised or
//! optimised, guard pages or explicit bounds checks, compiled or precompiled). What each
//! operator gives where the allowed results differ:
//!
//! | operator | x86-64 | aarch64 |
//! | --- | --- | --- |
//! | `i8x16.relaxed_swizzle` | `pshufb`: an index of 16 to 127 selects lane `index % 16`, 128 to 255 gives 0 | 0 for every index of 16 or more (`tbl`, as `i8x16.swizzle`) |
//! | `i32x4.relaxed_trunc_f32x4_s`, `i32x4.relaxed_trunc_f64x2_s_zero` | `cvttps2dq`/`cvttpd2dq`: NaN and out-of-range lanes give `i32::MIN` | saturating, NaN gives 0 (as `trunc_sat`) |
//! | `i32x4.relaxed_trunc_f32x4_u`, `i32x4.relaxed_trunc_f64x2_u_zero` | saturating, NaN gives 0 (as `trunc_sat`) | the same |
//! | `f32x4/f64x2.relaxed_madd`, `relaxed_nmadd` | fused (one rounding) when the CPU has AVX and FMA; otherwise a multiply then an add (two roundings), as for code cross-compiled to the x86-64-v2 baseline | fused (`fmla`) |
//! | `i8x16/i32x4/i64x2.relaxed_laneselect` | `pblendvb`/`blendvps`/`blendvpd`: the top bit of each mask lane picks the whole lane | bitwise select (as `v128.bitselect`) |
//! | `i16x8.relaxed_laneselect` | bitwise select (there is no 16-bit `blendv`) | bitwise select |
//! | `f32x4/f64x2.relaxed_min` | `minps`/`minpd`: `b < a ? b : a` (NaN or two zeros give `a`, as `pmin`) | as `f32x4.min`/`f64x2.min` (NaN propagates, -0 < +0) |
//! | `f32x4/f64x2.relaxed_max` | `maxps`/`maxpd`: `a < b ? b : a` (NaN or two zeros give `a`, as `pmax`) | as `f32x4.max`/`f64x2.max` |
//! | `i16x8.relaxed_q15mulr_s` | `pmulhrsw`: `-32768 * -32768` gives -32768 | saturating, 32767 (`sqrdmulh`, as `q15mulr_sat_s`) |
//! | `i16x8.relaxed_dot_i8x16_i7x16_s`, `i32x4.relaxed_dot_i8x16_i7x16_add_s` | `pmaddubsw`: lanes of the second operand of 128 or more count as unsigned, and each pair's 16-bit sum saturates | the exact signed dot product |
//!
//! The x86-64 column assumes SSSE3 and SSE4.1 (the cross-compilation baseline has them);
//! without them the aarch64 column's results are computed instead. The choices are
//! wasmtime's (with `relaxed_simd_deterministic` off), so the two runtimes agree on a host.

use cranelift_codegen::ir::{InstBuilder, Type, Value};
use target_lexicon::Architecture;
use wasmparser::Operator;

use super::super::FuncTranslator;
use super::{F32X4, F64X2, I16X8, I32X4, I64X2, I8X16};

impl FuncTranslator<'_, '_> {
    /// Whether code is generated for x86-64, whose SIMD instructions give the results the
    /// relaxed operators allow beyond their deterministic counterparts.
    fn is_x86(&self) -> bool {
        self.env.isa.triple().architecture == Architecture::X86_64
    }

    /// Pops three `v128`s as lanes of `ty`, the last popped first.
    fn pop3_v(&mut self, ty: Type) -> (Value, Value, Value) {
        let c = self.pop_v(ty);
        let b = self.pop_v(ty);
        let a = self.pop_v(ty);
        (a, b, c)
    }

    /// `a * b + c`, fused where the target has a fused multiply-add.
    fn relaxed_madd(&mut self, ty: Type, negate: bool) {
        let (a, b, c) = self.pop3_v(ty);
        let a = if negate {
            self.builder.ins().fneg(a)
        } else {
            a
        };
        let r = if self.env.isa.has_native_fma() {
            self.builder.ins().fma(a, b, c)
        } else {
            let product = self.builder.ins().fmul(a, b);
            self.builder.ins().fadd(product, c)
        };
        self.push_v(r);
    }

    /// `relaxed_min` (`max` false) or `relaxed_max`: the target's native minimum.
    fn relaxed_min_max(&mut self, ty: Type, max: bool) {
        if self.is_x86() {
            // The shape of `pmin`/`pmax`, which the x64 backend lowers to `minps`/`maxps`.
            self.pseudo_min_max(ty, max);
        } else if max {
            self.v_binary(ty, |t, a, b| t.builder.ins().fmax(a, b));
        } else {
            self.v_binary(ty, |t, a, b| t.builder.ins().fmin(a, b));
        }
    }

    /// `relaxed_laneselect`: `a` where the mask `c` is set, `b` elsewhere.
    fn relaxed_laneselect(&mut self, ty: Type) {
        let (a, b, c) = self.pop3_v(ty);
        let r = if self.env.isa.has_blendv_lowering(ty) {
            self.builder.ins().blendv(c, a, b)
        } else {
            self.builder.ins().bitselect(c, a, b)
        };
        self.push_v(r);
    }

    /// Signed truncation of `F32X4` or `F64X2` lanes to `i32`, the two `f64` lanes' results
    /// followed by zeros.
    fn relaxed_trunc_s(&mut self, from: Type) {
        self.v_unary(from, |t, a| {
            let native = t.is_x86();
            if from == F32X4 {
                if native {
                    t.builder.ins().x86_cvtt2dq(I32X4, a)
                } else {
                    t.builder.ins().fcvt_to_sint_sat(I32X4, a)
                }
            } else {
                let wide = if native {
                    t.builder.ins().x86_cvtt2dq(I64X2, a)
                } else {
                    t.builder.ins().fcvt_to_sint_sat(I64X2, a)
                };
                let zero = t.vector_zero(I64X2);
                t.builder.ins().snarrow(wide, zero)
            }
        });
    }

    /// The products of the `i8` lanes of `a` and `b` as `i16` lanes (they fit): those of
    /// the low eight lanes, then of the high eight.
    fn i8_products(&mut self, a: Value, b: Value) -> (Value, Value) {
        let low = {
            let (a, b) = (self.widen(a, false, true), self.widen(b, false, true));
            self.builder.ins().imul(a, b)
        };
        let high = {
            let (a, b) = (self.widen(a, true, true), self.widen(b, true, true));
            self.builder.ins().imul(a, b)
        };
        (low, high)
    }

    /// The products of neighbouring `i8` lanes of `a` and `b`, added in pairs to `i16`s.
    fn relaxed_dot_i16(&mut self, a: Value, b: Value) -> Value {
        if self.env.isa.has_x86_pmaddubsw_lowering() {
            return self.builder.ins().x86_pmaddubsw(a, b);
        }
        let (low, high) = self.i8_products(a, b);
        self.builder.ins().iadd_pairwise(low, high)
    }

    /// The products of each four neighbouring `i8` lanes of `a` and `b`, added to `i32`s.
    fn relaxed_dot_i32(&mut self, a: Value, b: Value) -> Value {
        if self.env.isa.has_x86_pmaddubsw_lowering() {
            let pairs = self.builder.ins().x86_pmaddubsw(a, b);
            return self.add_pairs_widened(pairs);
        }
        // The exact sums: two products may not fit an `i16` together when `b` is not i7.
        let (low, high) = self.i8_products(a, b);
        let low = self.add_pairs_widened(low);
        let high = self.add_pairs_widened(high);
        self.builder.ins().iadd_pairwise(low, high)
    }

    /// Neighbouring `i16` lanes of `v` added as `i32`s.
    fn add_pairs_widened(&mut self, v: Value) -> Value {
        let (low, high) = (self.widen(v, false, true), self.widen(v, true, true));
        self.builder.ins().iadd_pairwise(low, high)
    }

    /// Translates a relaxed SIMD operator; `false` if `op` is not one.
    pub(in crate::translate) fn translate_relaxed_simd(&mut self, op: &Operator<'_>) -> bool {
        match op {
            Operator::I8x16RelaxedSwizzle => self.v_binary(I8X16, |t, a, b| {
                if t.env.isa.has_x86_pshufb_lowering() {
                    t.builder.ins().x86_pshufb(a, b)
                } else {
                    t.builder.ins().swizzle(a, b)
                }
            }),
            Operator::I32x4RelaxedTruncF32x4S => self.relaxed_trunc_s(F32X4),
            Operator::I32x4RelaxedTruncF64x2SZero => self.relaxed_trunc_s(F64X2),
            Operator::I32x4RelaxedTruncF32x4U => {
                self.v_unary(F32X4, |t, a| t.builder.ins().fcvt_to_uint_sat(I32X4, a))
            }
            Operator::I32x4RelaxedTruncF64x2UZero => self.v_unary(F64X2, |t, a| {
                let wide = t.builder.ins().fcvt_to_uint_sat(I64X2, a);
                let zero = t.vector_zero(I64X2);
                t.builder.ins().uunarrow(wide, zero)
            }),
            Operator::F32x4RelaxedMadd => self.relaxed_madd(F32X4, false),
            Operator::F32x4RelaxedNmadd => self.relaxed_madd(F32X4, true),
            Operator::F64x2RelaxedMadd => self.relaxed_madd(F64X2, false),
            Operator::F64x2RelaxedNmadd => self.relaxed_madd(F64X2, true),
            Operator::I8x16RelaxedLaneselect => self.relaxed_laneselect(I8X16),
            Operator::I16x8RelaxedLaneselect => self.relaxed_laneselect(I16X8),
            Operator::I32x4RelaxedLaneselect => self.relaxed_laneselect(I32X4),
            Operator::I64x2RelaxedLaneselect => self.relaxed_laneselect(I64X2),
            Operator::F32x4RelaxedMin => self.relaxed_min_max(F32X4, false),
            Operator::F32x4RelaxedMax => self.relaxed_min_max(F32X4, true),
            Operator::F64x2RelaxedMin => self.relaxed_min_max(F64X2, false),
            Operator::F64x2RelaxedMax => self.relaxed_min_max(F64X2, true),
            Operator::I16x8RelaxedQ15mulrS => self.v_binary(I16X8, |t, a, b| {
                if t.env.isa.has_x86_pmulhrsw_lowering() {
                    t.builder.ins().x86_pmulhrsw(a, b)
                } else {
                    t.builder.ins().sqmul_round_sat(a, b)
                }
            }),
            Operator::I16x8RelaxedDotI8x16I7x16S => {
                self.v_binary(I8X16, |t, a, b| t.relaxed_dot_i16(a, b))
            }
            Operator::I32x4RelaxedDotI8x16I7x16AddS => {
                let c = self.pop_v(I32X4);
                let b = self.pop_v(I8X16);
                let a = self.pop_v(I8X16);
                let sums = self.relaxed_dot_i32(a, b);
                let r = self.builder.ins().iadd(sums, c);
                self.push_v(r);
            }
            _ => return false,
        }
        true
    }
}
