//! Every optimisation level compiles what the spec run (at the default level) covers.
//!
//! Found by the differential fuzzer: at `OptLevel::None` nothing folded the zero vector of
//! `i32x4.trunc_sat_f64x2_{s,u}_zero` into the literal Cranelift's x64 lowering needs, and
//! compilation failed.

use wasmjit::{Config, Engine, Instance, Module, OptLevel, Store};

const NARROWING: &str = r#"(module
  (func (export "s") (param f64 f64) (result v128)
    (i32x4.trunc_sat_f64x2_s_zero
      (f64x2.replace_lane 1 (f64x2.splat (local.get 0)) (local.get 1))))
  (func (export "u") (param f64 f64) (result v128)
    (i32x4.trunc_sat_f64x2_u_zero
      (f64x2.replace_lane 1 (f64x2.splat (local.get 0)) (local.get 1)))))"#;

#[test]
fn narrowing_conversions_compile_and_agree_at_every_level() {
    for level in [OptLevel::None, OptLevel::Speed, OptLevel::SpeedAndSize] {
        let mut config = Config::new();
        config.opt_level(level);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, NARROWING).unwrap_or_else(|e| panic!("{level:?}: {e}"));
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let s = instance
            .get_typed_func::<(f64, f64), u128>(&mut store, "s")
            .unwrap();
        let u = instance
            .get_typed_func::<(f64, f64), u128>(&mut store, "u")
            .unwrap();
        let lanes = |v: u128| {
            [
                v as u32,
                (v >> 32) as u32,
                (v >> 64) as u32,
                (v >> 96) as u32,
            ]
        };
        assert_eq!(
            lanes(s.call(&mut store, (-3.9, 1e12)).unwrap()),
            [-3i32 as u32, i32::MAX as u32, 0, 0],
            "{level:?}"
        );
        assert_eq!(
            lanes(s.call(&mut store, (f64::NAN, -1e12)).unwrap()),
            [0, i32::MIN as u32, 0, 0],
            "{level:?}"
        );
        assert_eq!(
            lanes(u.call(&mut store, (-3.9, 1e12)).unwrap()),
            [0, u32::MAX, 0, 0],
            "{level:?}"
        );
        assert_eq!(
            lanes(u.call(&mut store, (7.5, f64::NAN)).unwrap()),
            [7, 0, 0, 0],
            "{level:?}"
        );
    }
}
