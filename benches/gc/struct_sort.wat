;; Array-of-structs sort: n structs {key, payload} with random keys, heap-sorted by key in
;; an array of references, then checked (keys in order, every payload still 3 * its key).
(module
  (type $item (struct (field $key i32) (field $payload i64)))
  (type $items (array (mut (ref null $item))))

  (global $seed (mut i32) (i32.const 2463534))

  (func $random (result i32)
    (global.set $seed
      (i32.add (i32.mul (global.get $seed) (i32.const 1103515245)) (i32.const 12345)))
    (i32.shr_u (global.get $seed) (i32.const 1)))

  (func $key (param $items (ref $items)) (param $i i32) (result i32)
    (struct.get $item $key (array.get $items (local.get $items) (local.get $i))))

  (func $swap (param $items (ref $items)) (param $i i32) (param $j i32)
    (local $t (ref null $item))
    (local.set $t (array.get $items (local.get $items) (local.get $i)))
    (array.set $items (local.get $items) (local.get $i)
      (array.get $items (local.get $items) (local.get $j)))
    (array.set $items (local.get $items) (local.get $j) (local.get $t)))

  ;; Moves element $root down the max-heap of the first $end elements.
  (func $sift (param $items (ref $items)) (param $root i32) (param $end i32)
    (local $child i32)
    (block $done
      (loop $down
        (local.set $child (i32.add (i32.shl (local.get $root) (i32.const 1)) (i32.const 1)))
        (br_if $done (i32.ge_u (local.get $child) (local.get $end)))
        (if (i32.lt_u (i32.add (local.get $child) (i32.const 1)) (local.get $end))
          (then
            (if (i32.lt_s (call $key (local.get $items) (local.get $child))
                          (call $key (local.get $items)
                            (i32.add (local.get $child) (i32.const 1))))
              (then (local.set $child (i32.add (local.get $child) (i32.const 1)))))))
        (br_if $done (i32.ge_s (call $key (local.get $items) (local.get $root))
                               (call $key (local.get $items) (local.get $child))))
        (call $swap (local.get $items) (local.get $root) (local.get $child))
        (local.set $root (local.get $child))
        (br $down))))

  (func (export "run") (param $n i32) (result i64)
    (local $items (ref $items))
    (local $i i32)
    (local $key i32)
    (local $sum i64)
    (global.set $seed (i32.const 2463534))
    (local.set $items (array.new_default $items (local.get $n)))
    (loop $fill
      (local.set $key (call $random))
      (array.set $items (local.get $items) (local.get $i)
        (struct.new $item (local.get $key)
          (i64.mul (i64.extend_i32_u (local.get $key)) (i64.const 3))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (local.get $n))))
    (local.set $i (i32.div_u (local.get $n) (i32.const 2)))
    (loop $heapify
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (call $sift (local.get $items) (local.get $i) (local.get $n))
      (br_if $heapify (i32.gt_s (local.get $i) (i32.const 0))))
    (local.set $i (i32.sub (local.get $n) (i32.const 1)))
    (loop $extract
      (call $swap (local.get $items) (i32.const 0) (local.get $i))
      (call $sift (local.get $items) (i32.const 0) (local.get $i))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $extract (i32.gt_s (local.get $i) (i32.const 0))))
    (local.set $i (i32.const 0))
    (loop $check
      (local.set $key (call $key (local.get $items) (local.get $i)))
      (if (i64.ne (struct.get $item $payload (array.get $items (local.get $items) (local.get $i)))
                  (i64.mul (i64.extend_i32_u (local.get $key)) (i64.const 3)))
        (then (unreachable)))
      (if (i32.gt_u (local.get $i) (i32.const 0))
        (then
          (if (i32.gt_s (call $key (local.get $items) (i32.sub (local.get $i) (i32.const 1)))
                        (local.get $key))
            (then (unreachable)))))
      (local.set $sum
        (i64.add (local.get $sum)
          (i64.mul (i64.extend_i32_u (local.get $key))
            (i64.extend_i32_u (i32.add (local.get $i) (i32.const 1))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $check (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))

  (func (export "full_n") (result i32) (i32.const 500000))
  (func (export "smoke_n") (result i32) (i32.const 10000)))
