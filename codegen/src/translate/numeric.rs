//! Constants, arithmetic, comparisons and conversions.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Type, Value};
use wasmparser::Operator;

use super::block_values::Computed;
use super::FuncTranslator;
use crate::error::CompileError;
use crate::trap::TrapKind;

impl FuncTranslator<'_, '_> {
    /// A 128-bit operation of wide arithmetic: pops two numbers given as `i64` halves (low
    /// half first), pushes the result's low and high halves.
    fn wide_128(&mut self, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let (b_lo, b_hi) = self.pop2();
        let (a_lo, a_hi) = self.pop2();
        let a = self.builder.ins().iconcat(a_lo, a_hi);
        let b = self.builder.ins().iconcat(b_lo, b_hi);
        let result = f(self, a, b);
        let (lo, hi) = self.builder.ins().isplit(result);
        self.push(lo);
        self.push(hi);
    }

    /// `i64.mul_wide_s` or `_u`: pops two `i64`s, pushes the low and high halves of their
    /// 128-bit product; `high` computes the high half (`smulhi` or `umulhi`).
    fn mul_wide(&mut self, high: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let (a, b) = self.pop2();
        let lo = self.builder.ins().imul(a, b);
        let hi = high(self, a, b);
        self.push(lo);
        self.push(hi);
    }

    fn unary(&mut self, f: impl FnOnce(&mut Self, Value) -> Value) {
        let a = self.pop();
        let v = f(self, a);
        self.push(v);
    }

    fn binary(&mut self, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let (a, b) = self.pop2();
        let v = f(self, a, b);
        self.push(v);
    }

    /// A comparison: Cranelift's `i8` truth value widened to wasm's `i32`.
    fn bool_to_i32(&mut self, b: Value) -> Value {
        self.builder.ins().uextend(types::I32, b)
    }

    fn icmp(&mut self, cc: IntCC) {
        self.binary(|t, a, b| {
            let c = t.builder.ins().icmp(cc, a, b);
            t.bool_to_i32(c)
        });
    }

    fn fcmp(&mut self, cc: FloatCC) {
        self.binary(|t, a, b| {
            let c = t.builder.ins().fcmp(cc, a, b);
            t.bool_to_i32(c)
        });
    }

    /// Integer division or remainder with wasm's traps checked before the instruction, so
    /// the hardware never faults on them.
    fn divide(&mut self, ty: Type, signed: bool, remainder: bool) {
        let (a, b) = self.pop2();
        self.builder
            .ins()
            .trapz(b, TrapKind::IntegerDivisionByZero.trap_code());
        let ins = self.builder.ins();
        let v = match (signed, remainder) {
            (false, false) => ins.udiv(a, b),
            (false, true) => ins.urem(a, b),
            (true, false) => {
                let min = if ty == types::I32 {
                    i64::from(i32::MIN)
                } else {
                    i64::MIN
                };
                let is_min = self.builder.ins().icmp_imm_s(IntCC::Equal, a, min);
                let is_neg1 = self.builder.ins().icmp_imm_s(IntCC::Equal, b, -1);
                let overflow = self.builder.ins().band(is_min, is_neg1);
                self.builder
                    .ins()
                    .trapnz(overflow, TrapKind::IntegerOverflow.trap_code());
                self.builder.ins().sdiv(a, b)
            }
            (true, true) => {
                // MIN % -1 is 0 in wasm; dividing by 1 instead gives that without a fault.
                let is_neg1 = self.builder.ins().icmp_imm_s(IntCC::Equal, b, -1);
                let one = self.builder.ins().iconst(ty, 1);
                let divisor = self.builder.ins().select(is_neg1, one, b);
                self.builder.ins().srem(a, divisor)
            }
        };
        self.push(v);
    }

    fn sign_extend(&mut self, from: Type, to: Type) {
        self.unary(|t, a| {
            let narrow = t.builder.ins().ireduce(from, a);
            t.builder.ins().sextend(to, narrow)
        });
    }

    /// Translates a numeric operator; `false` if `op` is not one.
    pub(super) fn translate_numeric(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use types::{F32, F64, I32, I64};
        match op {
            Operator::I32Const { value } => {
                let v = self.reuse(Computed::Const(I32, i64::from(*value as u32)));
                self.push(v);
            }
            Operator::I64Const { value } => {
                let v = self.reuse(Computed::Const(I64, *value));
                self.push(v);
            }
            Operator::F32Const { value } => {
                let v = self.builder.ins().f32const(Ieee32::with_bits(value.bits()));
                self.push(v);
            }
            Operator::F64Const { value } => {
                let v = self.builder.ins().f64const(Ieee64::with_bits(value.bits()));
                self.push(v);
            }

            Operator::I32Eqz | Operator::I64Eqz => self.unary(|t, a| {
                let c = t.builder.ins().icmp_imm_u(IntCC::Equal, a, 0);
                t.bool_to_i32(c)
            }),
            Operator::I32Eq | Operator::I64Eq => self.icmp(IntCC::Equal),
            Operator::I32Ne | Operator::I64Ne => self.icmp(IntCC::NotEqual),
            Operator::I32LtS | Operator::I64LtS => self.icmp(IntCC::SignedLessThan),
            Operator::I32LtU | Operator::I64LtU => self.icmp(IntCC::UnsignedLessThan),
            Operator::I32GtS | Operator::I64GtS => self.icmp(IntCC::SignedGreaterThan),
            Operator::I32GtU | Operator::I64GtU => self.icmp(IntCC::UnsignedGreaterThan),
            Operator::I32LeS | Operator::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual),
            Operator::I32LeU | Operator::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual),
            Operator::I32GeS | Operator::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual),
            Operator::I32GeU | Operator::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual),
            Operator::F32Eq | Operator::F64Eq => self.fcmp(FloatCC::Equal),
            Operator::F32Ne | Operator::F64Ne => self.fcmp(FloatCC::NotEqual),
            Operator::F32Lt | Operator::F64Lt => self.fcmp(FloatCC::LessThan),
            Operator::F32Gt | Operator::F64Gt => self.fcmp(FloatCC::GreaterThan),
            Operator::F32Le | Operator::F64Le => self.fcmp(FloatCC::LessThanOrEqual),
            Operator::F32Ge | Operator::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual),

            Operator::I32Clz | Operator::I64Clz => self.unary(|t, a| t.builder.ins().clz(a)),
            Operator::I32Ctz | Operator::I64Ctz => self.unary(|t, a| t.builder.ins().ctz(a)),
            Operator::I32Popcnt | Operator::I64Popcnt => {
                self.unary(|t, a| t.builder.ins().popcnt(a))
            }
            Operator::I32Add | Operator::I64Add => {
                self.binary(|t, a, b| t.builder.ins().iadd(a, b))
            }
            Operator::I32Sub | Operator::I64Sub => {
                self.binary(|t, a, b| t.builder.ins().isub(a, b))
            }
            Operator::I32Mul | Operator::I64Mul => {
                self.binary(|t, a, b| t.builder.ins().imul(a, b))
            }
            Operator::I32DivS => self.divide(I32, true, false),
            Operator::I64DivS => self.divide(I64, true, false),
            Operator::I32DivU => self.divide(I32, false, false),
            Operator::I64DivU => self.divide(I64, false, false),
            Operator::I32RemS => self.divide(I32, true, true),
            Operator::I64RemS => self.divide(I64, true, true),
            Operator::I32RemU => self.divide(I32, false, true),
            Operator::I64RemU => self.divide(I64, false, true),
            Operator::I32And | Operator::I64And => {
                self.binary(|t, a, b| t.builder.ins().band(a, b))
            }
            Operator::I32Or | Operator::I64Or => self.binary(|t, a, b| t.builder.ins().bor(a, b)),
            Operator::I32Xor | Operator::I64Xor => {
                self.binary(|t, a, b| t.builder.ins().bxor(a, b))
            }
            Operator::I32Shl | Operator::I64Shl => {
                self.binary(|t, a, b| t.builder.ins().ishl(a, b))
            }
            Operator::I32ShrS | Operator::I64ShrS => {
                self.binary(|t, a, b| t.builder.ins().sshr(a, b))
            }
            Operator::I32ShrU | Operator::I64ShrU => {
                self.binary(|t, a, b| t.builder.ins().ushr(a, b))
            }
            Operator::I32Rotl | Operator::I64Rotl => {
                self.binary(|t, a, b| t.builder.ins().rotl(a, b))
            }
            Operator::I32Rotr | Operator::I64Rotr => {
                self.binary(|t, a, b| t.builder.ins().rotr(a, b))
            }

            Operator::F32Abs | Operator::F64Abs => self.unary(|t, a| t.builder.ins().fabs(a)),
            Operator::F32Neg | Operator::F64Neg => self.unary(|t, a| t.builder.ins().fneg(a)),
            Operator::F32Ceil | Operator::F64Ceil => self.unary(|t, a| t.builder.ins().ceil(a)),
            Operator::F32Floor | Operator::F64Floor => self.unary(|t, a| t.builder.ins().floor(a)),
            Operator::F32Trunc | Operator::F64Trunc => self.unary(|t, a| t.builder.ins().trunc(a)),
            Operator::F32Nearest | Operator::F64Nearest => {
                self.unary(|t, a| t.builder.ins().nearest(a))
            }
            Operator::F32Sqrt | Operator::F64Sqrt => self.unary(|t, a| t.builder.ins().sqrt(a)),
            Operator::F32Add | Operator::F64Add => {
                self.binary(|t, a, b| t.builder.ins().fadd(a, b))
            }
            Operator::F32Sub | Operator::F64Sub => {
                self.binary(|t, a, b| t.builder.ins().fsub(a, b))
            }
            Operator::F32Mul | Operator::F64Mul => {
                self.binary(|t, a, b| t.builder.ins().fmul(a, b))
            }
            Operator::F32Div | Operator::F64Div => {
                self.binary(|t, a, b| t.builder.ins().fdiv(a, b))
            }
            Operator::F32Min | Operator::F64Min => {
                self.binary(|t, a, b| t.builder.ins().fmin(a, b))
            }
            Operator::F32Max | Operator::F64Max => {
                self.binary(|t, a, b| t.builder.ins().fmax(a, b))
            }
            Operator::F32Copysign | Operator::F64Copysign => {
                self.binary(|t, a, b| t.builder.ins().fcopysign(a, b))
            }

            Operator::I64Add128 => self.wide_128(|t, a, b| t.builder.ins().iadd(a, b)),
            Operator::I64Sub128 => self.wide_128(|t, a, b| t.builder.ins().isub(a, b)),
            Operator::I64MulWideS => self.mul_wide(|t, a, b| t.builder.ins().smulhi(a, b)),
            Operator::I64MulWideU => self.mul_wide(|t, a, b| t.builder.ins().umulhi(a, b)),

            Operator::I32WrapI64 => self.unary(|t, a| t.builder.ins().ireduce(I32, a)),
            Operator::I64ExtendI32S => self.unary(|t, a| t.builder.ins().sextend(I64, a)),
            Operator::I64ExtendI32U => self.unary(|t, a| t.builder.ins().uextend(I64, a)),
            Operator::I32Extend8S => self.sign_extend(types::I8, I32),
            Operator::I32Extend16S => self.sign_extend(types::I16, I32),
            Operator::I64Extend8S => self.sign_extend(types::I8, I64),
            Operator::I64Extend16S => self.sign_extend(types::I16, I64),
            Operator::I64Extend32S => self.sign_extend(I32, I64),

            Operator::I32TruncF32S | Operator::I32TruncF64S => {
                self.unary(|t, a| t.builder.ins().fcvt_to_sint(I32, a))
            }
            Operator::I32TruncF32U | Operator::I32TruncF64U => {
                self.unary(|t, a| t.builder.ins().fcvt_to_uint(I32, a))
            }
            Operator::I64TruncF32S | Operator::I64TruncF64S => {
                self.unary(|t, a| t.builder.ins().fcvt_to_sint(I64, a))
            }
            Operator::I64TruncF32U | Operator::I64TruncF64U => {
                self.unary(|t, a| t.builder.ins().fcvt_to_uint(I64, a))
            }
            Operator::I32TruncSatF32S | Operator::I32TruncSatF64S => {
                self.unary(|t, a| t.builder.ins().fcvt_to_sint_sat(I32, a))
            }
            Operator::I32TruncSatF32U | Operator::I32TruncSatF64U => {
                self.unary(|t, a| t.builder.ins().fcvt_to_uint_sat(I32, a))
            }
            Operator::I64TruncSatF32S | Operator::I64TruncSatF64S => {
                self.unary(|t, a| t.builder.ins().fcvt_to_sint_sat(I64, a))
            }
            Operator::I64TruncSatF32U | Operator::I64TruncSatF64U => {
                self.unary(|t, a| t.builder.ins().fcvt_to_uint_sat(I64, a))
            }
            Operator::F32ConvertI32S | Operator::F32ConvertI64S => {
                self.unary(|t, a| t.builder.ins().fcvt_from_sint(F32, a))
            }
            Operator::F32ConvertI32U | Operator::F32ConvertI64U => {
                self.unary(|t, a| t.builder.ins().fcvt_from_uint(F32, a))
            }
            Operator::F64ConvertI32S | Operator::F64ConvertI64S => {
                self.unary(|t, a| t.builder.ins().fcvt_from_sint(F64, a))
            }
            Operator::F64ConvertI32U | Operator::F64ConvertI64U => {
                self.unary(|t, a| t.builder.ins().fcvt_from_uint(F64, a))
            }
            Operator::F32DemoteF64 => self.unary(|t, a| t.builder.ins().fdemote(F32, a)),
            Operator::F64PromoteF32 => self.unary(|t, a| t.builder.ins().fpromote(F64, a)),
            Operator::I32ReinterpretF32 => {
                self.unary(|t, a| t.builder.ins().bitcast(I32, MemFlagsData::new(), a))
            }
            Operator::I64ReinterpretF64 => {
                self.unary(|t, a| t.builder.ins().bitcast(I64, MemFlagsData::new(), a))
            }
            Operator::F32ReinterpretI32 => {
                self.unary(|t, a| t.builder.ins().bitcast(F32, MemFlagsData::new(), a))
            }
            Operator::F64ReinterpretI64 => {
                self.unary(|t, a| t.builder.ins().bitcast(F64, MemFlagsData::new(), a))
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
