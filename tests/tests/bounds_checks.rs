//! The machine code of heap accesses: no compare against the memory size in guard-page mode
//! when the offset fits in the guard, a compare in explicit mode.

use wasmjit::{BoundsChecks, Config, Engine, Module};

const LOAD: &str = r#"(module (memory 1)
  (func (param i32) (result i32) (i32.load offset=16 (local.get 0))))"#;

fn listing(mode: BoundsChecks) -> String {
    let mut config = Config::new();
    config.bounds_checks(mode).emit_disassembly(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, LOAD).unwrap();
    module.function_disassembly(0).unwrap().to_string()
}

/// Compare instructions in the listing, other than the prologue's stack-limit check.
fn compares(listing: &str) -> usize {
    listing
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            (l.starts_with("cmp") || l.starts_with("subs") || l.starts_with("cmn"))
                && !l.contains("%rsp")
                && !l.contains(" sp")
        })
        .count()
}

#[test]
fn guard_pages_need_no_compare() {
    let listing = listing(BoundsChecks::GuardPages);
    assert_eq!(compares(&listing), 0, "{listing}");
}

#[test]
fn explicit_checks_compare_every_access() {
    let listing = listing(BoundsChecks::Explicit);
    assert!(compares(&listing) >= 1, "{listing}");
}
