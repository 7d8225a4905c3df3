;; Stores past the end of its one-page memory: `wasmjit run examples/oob.wat --invoke store 65536`
;; reports the trap "out of bounds memory access" and exits non-zero.
(module
  (memory (export "memory") 1)
  (func (export "store") (param $addr i32)
    (i32.store (local.get $addr) (i32.const 42))))
