//! Relaxed SIMD: each operator gives the result documented for this target (in
//! `codegen/src/translate/simd/relaxed.rs`) where the allowed results differ, and the same
//! bits whatever the optimisation level, bounds-check mode or loading path; the
//! `Config::wasm_relaxed_simd` switch turns the operators off.

use wasmjit::{BoundsChecks, Config, Engine, Instance, Module, OptLevel, Store, Val};

/// Every relaxed operator, as an export taking and returning `v128`s.
const RELAXED: &str = r#"(module
  (func (export "swizzle") (param v128 v128) (result v128)
    (i8x16.relaxed_swizzle (local.get 0) (local.get 1)))
  (func (export "trunc_f32x4_s") (param v128) (result v128)
    (i32x4.relaxed_trunc_f32x4_s (local.get 0)))
  (func (export "trunc_f32x4_u") (param v128) (result v128)
    (i32x4.relaxed_trunc_f32x4_u (local.get 0)))
  (func (export "trunc_f64x2_s_zero") (param v128) (result v128)
    (i32x4.relaxed_trunc_f64x2_s_zero (local.get 0)))
  (func (export "trunc_f64x2_u_zero") (param v128) (result v128)
    (i32x4.relaxed_trunc_f64x2_u_zero (local.get 0)))
  (func (export "f32x4_madd") (param v128 v128 v128) (result v128)
    (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))
  (func (export "f32x4_nmadd") (param v128 v128 v128) (result v128)
    (f32x4.relaxed_nmadd (local.get 0) (local.get 1) (local.get 2)))
  (func (export "f64x2_madd") (param v128 v128 v128) (result v128)
    (f64x2.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))
  (func (export "f64x2_nmadd") (param v128 v128 v128) (result v128)
    (f64x2.relaxed_nmadd (local.get 0) (local.get 1) (local.get 2)))
  (func (export "i8x16_laneselect") (param v128 v128 v128) (result v128)
    (i8x16.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
  (func (export "i16x8_laneselect") (param v128 v128 v128) (result v128)
    (i16x8.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
  (func (export "i32x4_laneselect") (param v128 v128 v128) (result v128)
    (i32x4.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
  (func (export "i64x2_laneselect") (param v128 v128 v128) (result v128)
    (i64x2.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
  (func (export "f32x4_min") (param v128 v128) (result v128)
    (f32x4.relaxed_min (local.get 0) (local.get 1)))
  (func (export "f32x4_max") (param v128 v128) (result v128)
    (f32x4.relaxed_max (local.get 0) (local.get 1)))
  (func (export "f64x2_min") (param v128 v128) (result v128)
    (f64x2.relaxed_min (local.get 0) (local.get 1)))
  (func (export "f64x2_max") (param v128 v128) (result v128)
    (f64x2.relaxed_max (local.get 0) (local.get 1)))
  (func (export "q15mulr") (param v128 v128) (result v128)
    (i16x8.relaxed_q15mulr_s (local.get 0) (local.get 1)))
  (func (export "dot") (param v128 v128) (result v128)
    (i16x8.relaxed_dot_i8x16_i7x16_s (local.get 0) (local.get 1)))
  (func (export "dot_add") (param v128 v128 v128) (result v128)
    (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get 0) (local.get 1) (local.get 2))))"#;

/// How many `v128` operands each export takes.
const ARITY: [(&str, usize); 20] = [
    ("swizzle", 2),
    ("trunc_f32x4_s", 1),
    ("trunc_f32x4_u", 1),
    ("trunc_f64x2_s_zero", 1),
    ("trunc_f64x2_u_zero", 1),
    ("f32x4_madd", 3),
    ("f32x4_nmadd", 3),
    ("f64x2_madd", 3),
    ("f64x2_nmadd", 3),
    ("i8x16_laneselect", 3),
    ("i16x8_laneselect", 3),
    ("i32x4_laneselect", 3),
    ("i64x2_laneselect", 3),
    ("f32x4_min", 2),
    ("f32x4_max", 2),
    ("f64x2_min", 2),
    ("f64x2_max", 2),
    ("q15mulr", 2),
    ("dot", 2),
    ("dot_add", 3),
];

const X86: bool = cfg!(target_arch = "x86_64");

/// Whether this machine's compiled code fuses `relaxed_madd` (x86-64 with AVX and FMA,
/// which is what the host's code generator detects; always on aarch64).
fn fused() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        true
    }
}

fn bytes(lanes: [u8; 16]) -> u128 {
    u128::from_le_bytes(lanes)
}

fn i16s(lanes: [i16; 8]) -> u128 {
    let mut out = [0u8; 16];
    for (i, x) in lanes.iter().enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&x.to_le_bytes());
    }
    u128::from_le_bytes(out)
}

fn i32s(lanes: [i32; 4]) -> u128 {
    let mut out = [0u8; 16];
    for (i, x) in lanes.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_le_bytes());
    }
    u128::from_le_bytes(out)
}

fn f32s(lanes: [f32; 4]) -> u128 {
    i32s(lanes.map(|x| x.to_bits() as i32))
}

fn f64s(lanes: [f64; 2]) -> u128 {
    u128::from(lanes[0].to_bits()) | u128::from(lanes[1].to_bits()) << 64
}

fn f32_lanes(v: u128) -> [f32; 4] {
    std::array::from_fn(|i| f32::from_bits((v >> (32 * i)) as u32))
}

fn f64_lanes(v: u128) -> [f64; 2] {
    std::array::from_fn(|i| f64::from_bits((v >> (64 * i)) as u64))
}

/// A store with `RELAXED` instantiated by `engine` (compiled, or loaded from its
/// precompiled bytes when `precompiled`).
fn instantiate(engine: &Engine, precompiled: bool) -> (Store<()>, Instance) {
    let mut module = Module::new(engine, RELAXED).unwrap();
    if precompiled {
        let bytes = module.serialize().unwrap();
        // SAFETY: the bytes were serialized just above by the same engine.
        module = unsafe { Module::deserialize(engine, bytes) }.unwrap();
    }
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

/// Calls export `name` with `args`.
fn call(store: &mut Store<()>, instance: &Instance, name: &str, args: &[u128]) -> u128 {
    let func = instance.get_func(&mut *store, name).unwrap();
    let params: Vec<Val> = args.iter().map(|&a| Val::V128(a)).collect();
    let mut results = [Val::V128(0)];
    func.call(&mut *store, &params, &mut results).unwrap();
    match results[0] {
        Val::V128(v) => v,
        ref other => panic!("{name} returned {other:?}"),
    }
}

#[test]
fn each_operator_gives_the_result_documented_for_this_target() {
    let (mut store, instance) = instantiate(&Engine::default(), false);
    let mut run = |name: &str, args: &[u128]| call(&mut store, &instance, name, args);

    // Indices 16, 17 and 127 wrap on x86-64 (`pshufb`); 128 and 255 give 0 everywhere.
    let table = bytes(std::array::from_fn(|i| 0x10 + i as u8));
    let indices = bytes([16, 17, 127, 128, 255, 0, 1, 15, 0, 0, 0, 0, 0, 0, 0, 0]);
    let wrapped = if X86 { [0x10, 0x11, 0x1f] } else { [0, 0, 0] };
    let mut expected = [0x10; 16];
    expected[..5].copy_from_slice(&[wrapped[0], wrapped[1], wrapped[2], 0, 0]);
    expected[5..8].copy_from_slice(&[0x10, 0x11, 0x1f]);
    assert_eq!(
        run("swizzle", &[table, indices]),
        bytes(expected),
        "swizzle"
    );

    let out_of_range = if X86 {
        [i32::MIN, i32::MIN, i32::MIN, 1]
    } else {
        [0, i32::MAX, i32::MIN, 1]
    };
    let x = f32s([f32::NAN, 3e9, -3e9, 1.5]);
    assert_eq!(run("trunc_f32x4_s", &[x]), i32s(out_of_range));
    let x = f64s([f64::NAN, 1e10]);
    let expected = if X86 {
        [i32::MIN, i32::MIN, 0, 0]
    } else {
        [0, i32::MAX, 0, 0]
    };
    assert_eq!(run("trunc_f64x2_s_zero", &[x]), i32s(expected));
    // The unsigned truncations saturate on both.
    let x = f32s([f32::NAN, -1.0, 5e9, 2.5]);
    assert_eq!(run("trunc_f32x4_u", &[x]), i32s([0, 0, -1, 2]));
    let x = f64s([-1.0, 1e10]);
    assert_eq!(run("trunc_f64x2_u_zero", &[x]), i32s([0, -1, 0, 0]));

    // (1 + e)(1 - e) = 1 - e^2 rounds to 1: fused, `a * b - 1` keeps the -e^2.
    let e = 2f32.powi(-13);
    let (a, b) = (f32s([1.0 + e; 4]), f32s([1.0 - e; 4]));
    let fused_f32 = if fused() { e * e } else { 0.0 };
    let madd = f32_lanes(run("f32x4_madd", &[a, b, f32s([-1.0; 4])]));
    assert_eq!(madd, [-fused_f32; 4], "f32x4.relaxed_madd");
    let nmadd = f32_lanes(run("f32x4_nmadd", &[a, b, f32s([1.0; 4])]));
    assert_eq!(nmadd, [fused_f32; 4], "f32x4.relaxed_nmadd");
    let e = 2f64.powi(-30);
    let (a, b) = (f64s([1.0 + e; 2]), f64s([1.0 - e; 2]));
    let fused_f64 = if fused() { e * e } else { 0.0 };
    let madd = f64_lanes(run("f64x2_madd", &[a, b, f64s([-1.0; 2])]));
    assert_eq!(madd, [-fused_f64; 2], "f64x2.relaxed_madd");
    let nmadd = f64_lanes(run("f64x2_nmadd", &[a, b, f64s([1.0; 2])]));
    assert_eq!(nmadd, [fused_f64; 2], "f64x2.relaxed_nmadd");

    // Masks whose lanes are neither all ones nor all zeros: x86-64 follows each lane's top
    // bit (but for 16-bit lanes), aarch64 each bit.
    let (ones, zeros) = (u128::MAX, 0);
    let mask = bytes([
        0x80, 0x7f, 0xff, 0x00, 0x81, 0x01, 0xc0, 0x3c, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    let blend = |lane_bytes: usize| -> u128 {
        let lanes = mask.to_le_bytes();
        let mut out = [0u8; 16];
        for (lane, chunk) in lanes.chunks(lane_bytes).enumerate() {
            let top = chunk[lane_bytes - 1] & 0x80 != 0;
            let fill = if top { 0xff } else { 0 };
            out[lane * lane_bytes..(lane + 1) * lane_bytes].fill(fill);
        }
        u128::from_le_bytes(out)
    };
    for (name, lane_bytes) in [
        ("i8x16_laneselect", 1),
        ("i16x8_laneselect", 2),
        ("i32x4_laneselect", 4),
        ("i64x2_laneselect", 8),
    ] {
        let expected = if X86 && lane_bytes != 2 {
            blend(lane_bytes)
        } else {
            mask
        };
        assert_eq!(run(name, &[ones, zeros, mask]), expected, "{name}");
    }

    // x86-64: `b < a ? b : a` and `a < b ? b : a`; aarch64: IEEE min and max with NaN.
    let a = f32s([1.0, -0.0, 0.0, 2.0]);
    let b = f32s([f32::NAN, 0.0, -0.0, 1.0]);
    let min = f32_lanes(run("f32x4_min", &[a, b]));
    let max = f32_lanes(run("f32x4_max", &[a, b]));
    if X86 {
        assert_eq!(
            min.map(f32::to_bits),
            [1.0, -0.0, 0.0, 1.0f32].map(f32::to_bits)
        );
        assert_eq!(
            max.map(f32::to_bits),
            [1.0, -0.0, 0.0, 2.0f32].map(f32::to_bits)
        );
    } else {
        assert!(min[0].is_nan() && max[0].is_nan());
        assert_eq!(
            min[1..].iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            [(-0.0f32).to_bits(), (-0.0f32).to_bits(), 1.0f32.to_bits()]
        );
        assert_eq!(
            max[1..].iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            [0.0f32.to_bits(), 0.0f32.to_bits(), 2.0f32.to_bits()]
        );
    }
    let a = f64s([1.0, -0.0]);
    let b = f64s([f64::NAN, 0.0]);
    let min = f64_lanes(run("f64x2_min", &[a, b]));
    let max = f64_lanes(run("f64x2_max", &[a, b]));
    if X86 {
        assert_eq!(min.map(f64::to_bits), [1.0, -0.0f64].map(f64::to_bits));
        assert_eq!(max.map(f64::to_bits), [1.0, -0.0f64].map(f64::to_bits));
    } else {
        assert!(min[0].is_nan() && max[0].is_nan());
        assert_eq!(min[1].to_bits(), (-0.0f64).to_bits());
        assert_eq!(max[1].to_bits(), 0.0f64.to_bits());
    }

    let min16 = i16s([i16::MIN; 8]);
    let q15 = if X86 { i16::MIN } else { i16::MAX };
    assert_eq!(run("q15mulr", &[min16, min16]), i16s([q15; 8]));

    // Second operand lanes of 128 and more: unsigned and saturating on x86-64, signed
    // (exact) on aarch64.
    let a = bytes([0x80; 16]); // -128
    let b = bytes([0xff; 16]); // -1, or 255
    let dot = if X86 { i16::MIN } else { 256 };
    assert_eq!(run("dot", &[a, b]), i16s([dot; 8]));
    let dot_add = if X86 {
        2 * i32::from(i16::MIN) + 7
    } else {
        512 + 7
    };
    assert_eq!(run("dot_add", &[a, b, i32s([7; 4])]), i32s([dot_add; 4]));
    // In the i7 range the results agree everywhere.
    let b = bytes(std::array::from_fn(|i| i as u8 * 8));
    let expected: [i16; 8] = std::array::from_fn(|i| -128 * 8 * (4 * i as i16 + 1));
    assert_eq!(run("dot", &[a, b]), i16s(expected));
}

/// A few thousand operand vectors mixing ordinary values with the unusual ones (NaN,
/// infinities, zeros of both signs, extreme integers, out-of-range indices).
fn operands() -> Vec<u128> {
    let special32 = [
        0u32,
        0x8000_0000,
        0x7fc0_0000,
        0xffc0_0001,
        0x7f80_0000,
        0xff80_0000,
        0x4f00_0000,
        0xcf00_0001,
        0x3f80_0000,
        0x8000_8000,
        0xffff_ffff,
        0x7fff_ffff,
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..2000)
        .map(|_| {
            let lanes: [u32; 4] = std::array::from_fn(|_| {
                let r = next();
                if r % 3 == 0 {
                    special32[(r >> 8) as usize % special32.len()]
                } else {
                    (r >> 16) as u32
                }
            });
            lanes
                .iter()
                .enumerate()
                .fold(0u128, |v, (i, &x)| v | u128::from(x) << (32 * i))
        })
        .collect()
}

#[test]
fn results_are_the_same_under_every_setting() {
    let configs = [
        (OptLevel::Speed, BoundsChecks::GuardPages, false),
        (OptLevel::None, BoundsChecks::Explicit, false),
        (OptLevel::None, BoundsChecks::GuardPages, true),
        (OptLevel::SpeedAndSize, BoundsChecks::Explicit, true),
    ];
    let operands = operands();
    let mut reference: Option<Vec<u128>> = None;
    for (opt, bounds, precompiled) in configs {
        let mut config = Config::new();
        config.opt_level(opt).bounds_checks(bounds);
        let engine = Engine::new(&config).unwrap();
        let (mut store, instance) = instantiate(&engine, precompiled);
        let mut results = Vec::new();
        for (name, arity) in ARITY {
            for window in operands.windows(arity) {
                results.push(call(&mut store, &instance, name, window));
            }
        }
        // Again in the same instance: the same bits (`swizzle` comes first).
        let again: Vec<u128> = operands
            .windows(2)
            .map(|w| call(&mut store, &instance, "swizzle", w))
            .collect();
        assert_eq!(again[..], results[..again.len()]);
        match &reference {
            None => reference = Some(results),
            Some(reference) => {
                let differing = reference
                    .iter()
                    .zip(&results)
                    .filter(|(a, b)| a != b)
                    .count();
                assert_eq!(
                    differing, 0,
                    "{differing} results differ under {opt:?}, {bounds:?}, precompiled {precompiled}"
                );
            }
        }
    }
}

#[test]
fn the_switch_turns_relaxed_simd_off() {
    let mut config = Config::new();
    config.wasm_relaxed_simd(false);
    let engine = Engine::new(&config).unwrap();
    let err = Module::new(&engine, RELAXED).unwrap_err().to_string();
    assert!(err.contains("relaxed SIMD"), "{err}");
    // Plain SIMD still compiles.
    Module::new(
        &engine,
        r#"(module (func (param v128 v128) (result v128) (i8x16.swizzle (local.get 0) (local.get 1))))"#,
    )
    .unwrap();
    assert!(Module::new(&Engine::default(), RELAXED).is_ok());
}
