;; Linked-list churn: n lists of 100 to 199 cells are built, summed and parked in a ring of
;; 64 slots, each replacing the list parked 64 lists earlier; so most cells die young and a
;; window of some 9,600 cells is always alive. At the end the ring's lists are summed again.
(module
  (type $cell (struct (field $value i32) (field $next (ref null $cell))))
  (type $ring (array (mut (ref null $cell))))

  (global $seed (mut i32) (i32.const 12345))

  (func $random (result i32)
    (global.set $seed
      (i32.add (i32.mul (global.get $seed) (i32.const 1103515245)) (i32.const 12345)))
    (i32.shr_u (global.get $seed) (i32.const 8)))

  ;; A list of $length cells with random values.
  (func $build (param $length i32) (result (ref null $cell))
    (local $list (ref null $cell))
    (block $done
      (loop $cells
        (br_if $done (i32.eqz (local.get $length)))
        (local.set $list (struct.new $cell (call $random) (local.get $list)))
        (local.set $length (i32.sub (local.get $length) (i32.const 1)))
        (br $cells)))
    (local.get $list))

  (func $sum (param $list (ref null $cell)) (result i64)
    (local $sum i64)
    (block $done
      (loop $cells
        (br_if $done (ref.is_null (local.get $list)))
        (local.set $sum
          (i64.add (local.get $sum)
            (i64.extend_i32_u (struct.get $cell $value (local.get $list)))))
        (local.set $list (struct.get $cell $next (local.get $list)))
        (br $cells)))
    (local.get $sum))

  (func (export "run") (param $n i32) (result i64)
    (local $ring (ref $ring))
    (local $list (ref null $cell))
    (local $i i32)
    (local $sum i64)
    (global.set $seed (i32.const 12345))
    (local.set $ring (array.new_default $ring (i32.const 64)))
    (block $done
      (loop $lists
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $list
          (call $build (i32.add (i32.const 100) (i32.rem_u (call $random) (i32.const 100)))))
        (local.set $sum (i64.add (local.get $sum) (call $sum (local.get $list))))
        (array.set $ring (local.get $ring) (i32.and (local.get $i) (i32.const 63))
          (local.get $list))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $lists)))
    (local.set $i (i32.const 0))
    (loop $parked
      (local.set $sum
        (i64.add (local.get $sum)
          (call $sum (array.get $ring (local.get $ring) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $parked (i32.lt_u (local.get $i) (i32.const 64))))
    (local.get $sum))

  (func (export "full_n") (result i32) (i32.const 200000))
  (func (export "smoke_n") (result i32) (i32.const 2000)))
