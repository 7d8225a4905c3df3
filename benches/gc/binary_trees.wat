;; Binary trees (after the Computer Language Benchmarks Game): a long-lived tree of depth n,
;; and at every even depth d from 4 to n, 2^(n-d) short-lived trees of depth d built and
;; walked. Almost all time is allocation and collection of two-field structs.
(module
  (type $node (struct (field $left (ref null $node)) (field $right (ref null $node))))

  ;; A full tree of depth $d.
  (func $make (param $d i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $d))
      (then (struct.new $node (ref.null $node) (ref.null $node)))
      (else
        (struct.new $node
          (call $make (i32.sub (local.get $d) (i32.const 1)))
          (call $make (i32.sub (local.get $d) (i32.const 1)))))))

  ;; The number of nodes of tree $t.
  (func $count (param $t (ref $node)) (result i32)
    (local $left (ref null $node))
    (local.set $left (struct.get $node $left (local.get $t)))
    (if (result i32) (ref.is_null (local.get $left))
      (then (i32.const 1))
      (else
        (i32.add
          (i32.const 1)
          (i32.add
            (call $count (ref.as_non_null (local.get $left)))
            (call $count (ref.as_non_null (struct.get $node $right (local.get $t)))))))))

  ;; Sum of all node counts; traps if a tree has the wrong size.
  (func (export "run") (param $n i32) (result i64)
    (local $long (ref $node))
    (local $d i32)
    (local $i i32)
    (local $iterations i32)
    (local $sum i64)
    (local.set $sum
      (i64.extend_i32_u (call $count (call $make (i32.add (local.get $n) (i32.const 1))))))
    (local.set $long (call $make (local.get $n)))
    (local.set $d (i32.const 4))
    (block $done
      (loop $depths
        (br_if $done (i32.gt_s (local.get $d) (local.get $n)))
        (local.set $iterations (i32.shl (i32.const 1) (i32.sub (local.get $n) (local.get $d))))
        (local.set $i (i32.const 0))
        (loop $trees
          (local.set $sum
            (i64.add (local.get $sum)
              (i64.extend_i32_u (call $count (call $make (local.get $d))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $trees (i32.lt_s (local.get $i) (local.get $iterations))))
        (local.set $d (i32.add (local.get $d) (i32.const 2)))
        (br $depths)))
    ;; The long-lived tree must have survived every collection intact.
    (if (i32.ne (call $count (local.get $long))
                (i32.sub (i32.shl (i32.const 1) (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))
      (then (unreachable)))
    (i64.add (local.get $sum) (i64.extend_i32_u (call $count (local.get $long)))))

  (func (export "full_n") (result i32) (i32.const 20))
  (func (export "smoke_n") (result i32) (i32.const 10)))
