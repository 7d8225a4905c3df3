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
