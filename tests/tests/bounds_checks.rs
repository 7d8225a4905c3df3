//! The machine code of heap accesses: no compare against the memory size in guard-page mode
//! when the offset fits in the guard, a compare in explicit mode.

use wasmjit::{BoundsChecks, Config, Engine, Module};

const LOAD: &str = r#"(module (memory 1)
  (func (param i32) (result i32) (i32.load offset=16 (local.get 0))))"#;

fn listing(mode: BoundsChecks) -> String {
    listing_of(LOAD, |c| {
        c.bounds_checks(mode);
    })
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

/// The listing of function 0 of `wat` under `configure`.
fn listing_of(wat: &str, configure: impl FnOnce(&mut Config)) -> String {
    let mut config = Config::new();
    config.emit_disassembly(true);
    configure(&mut config);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, wat).unwrap();
    module.function_disassembly(0).unwrap().to_string()
}

/// Conditional moves or selects: the Spectre guard's `select_spectre_guard`.
fn conditional_selects(listing: &str) -> usize {
    listing
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            l.starts_with("cmov") || l.starts_with("csel")
        })
        .count()
}

#[test]
fn explicit_checks_carry_the_spectre_guard_unless_turned_off() {
    let guarded = listing_of(LOAD, |c| {
        c.bounds_checks(BoundsChecks::Explicit);
    });
    assert_eq!(conditional_selects(&guarded), 1, "{guarded}");
    let unguarded = listing_of(LOAD, |c| {
        c.bounds_checks(BoundsChecks::Explicit).spectre_guard(false);
    });
    assert_eq!(conditional_selects(&unguarded), 0, "{unguarded}");
    // Guard-page accesses within the guard have no compare, so nothing to guard.
    let guard_pages = listing_of(LOAD, |_| {});
    assert_eq!(conditional_selects(&guard_pages), 0, "{guard_pages}");
}

/// Loads at displacement 8 from a register: the memory definition's length field (the
/// function reads nothing else at that displacement).
fn length_loads(listing: &str) -> usize {
    listing
        .lines()
        .map(str::trim_start)
        .filter(|l| {
            (l.starts_with("mov") && l.contains(" 8(%"))
                || (l.starts_with("ldr") && l.ends_with(", #8]"))
        })
        .count()
}

#[test]
fn heap_stores_do_not_reload_the_memory_length() {
    // Three accesses at one index: with heap accesses in their own alias region, the
    // stores do not clobber the length, which is loaded once.
    let wat = r#"(module (memory 1)
      (func (param i32) (result i32)
        (i32.store (local.get 0) (i32.const 1))
        (i32.store offset=4 (local.get 0) (i32.const 2))
        (i32.load offset=8 (local.get 0))))"#;
    let listing = listing_of(wat, |c| {
        c.bounds_checks(BoundsChecks::Explicit);
    });
    assert_eq!(length_loads(&listing), 1, "{listing}");
}

/// The listing of `(func (param i32) BODY)` over a one-page memory, compiled for `triple`
/// with guard pages (the default).
fn listing_for(triple: &str, body: &str) -> String {
    let wat = format!("(module (memory 1) (func (param i32) {body}))");
    listing_of(&wat, |c| {
        c.target(triple).unwrap();
    })
}

#[test]
fn multi_byte_stores_are_checked_explicitly_on_aarch64_only() {
    // A store of two bytes or more can straddle the end of memory, and Arm may commit its
    // in-bounds bytes before the fault: on aarch64 it is compared against the length first.
    let multi_byte = [
        "(i32.store16 (local.get 0) (i32.const -1))",
        "(i32.store offset=3 (local.get 0) (i32.const -1))",
        "(i64.store32 (local.get 0) (i64.const -1))",
        "(f64.store (local.get 0) (f64.const 1))",
        "(v128.store (local.get 0) (v128.const i64x2 -1 -1))",
        "(v128.store64_lane 1 (local.get 0) (v128.const i64x2 -1 -1))",
    ];
    // One byte cannot straddle, and loads write nothing: no compare on either architecture.
    let unchecked = [
        "(i32.store8 (local.get 0) (i32.const -1))",
        "(v128.store8_lane 3 (local.get 0) (v128.const i64x2 -1 -1))",
        "(drop (i64.load (local.get 0)))",
        "(drop (v128.load (local.get 0)))",
    ];
    for body in multi_byte {
        // One compare; no Spectre select, since the access is within the guard anyway.
        let arm = listing_for("aarch64-unknown-linux-gnu", body);
        assert_eq!(compares(&arm), 1, "{body}:\n{arm}");
        assert_eq!(conditional_selects(&arm), 0, "{body}:\n{arm}");
        let x86 = listing_for("x86_64-unknown-linux-gnu", body);
        assert_eq!(compares(&x86), 0, "{body}:\n{x86}");
    }
    for body in unchecked {
        for triple in ["aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"] {
            let listing = listing_for(triple, body);
            assert_eq!(compares(&listing), 0, "{body} for {triple}:\n{listing}");
        }
    }
}
